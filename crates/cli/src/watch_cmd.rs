//! `winter-river watch`: a live terminal table of nodes (status, V, A, kW, load %),
//! the system KPIs and the latest events — starting with those from before it
//! started, read from the dashboard (events are not retained on the broker);
//! `--json` prints one JSON line per message instead.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use anyhow::Result;
use winter_river_mqtt::LinkEvent;
use winter_river_protocol::kinds::COMMON_FIELDS;
use winter_river_protocol::{
    Event, FieldSpec, FieldValue, Measurements, Qos, Status, SystemStatus, Topic, decode_event,
    decode_status, decode_system_status, round_for_display,
};

use crate::EXIT_OK;
use crate::live_args::{ClientArgs, connect, runtime, shutdown_signal};
use crate::recent_events::{DEFAULT_DASHBOARD, Dashboard};

/// Events the table shows.
const EVENTS_SHOWN: usize = 8;

/// How long the dashboard may take to hand over the earlier events.
const RECENT_EVENTS_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// One JSON line per message ({"topic": …, "payload": …}) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Exit after this many messages (with --json).
    #[arg(long)]
    pub count: Option<u64>,
    /// The dashboard (`up` or `web`) to read the events from before watch started
    /// (GET /api/events); `none` to skip. Not used with --json.
    #[arg(long, env = "WR_DASHBOARD", default_value = DEFAULT_DASHBOARD, value_name = "URL")]
    pub dashboard: String,
    /// With an https:// --dashboard: trust the certificates in this PEM file (the
    /// dashboard's cert.pem from `winter-river cert`) instead of the system's CAs.
    #[arg(long, env = "WR_DASHBOARD_CA", value_name = "FILE")]
    pub dashboard_ca: Option<std::path::PathBuf>,
}

/// What the table shows.
#[derive(Debug, Default)]
struct View {
    nodes: BTreeMap<String, Status>,
    online: BTreeMap<String, bool>,
    system: Option<SystemStatus>,
    events: Vec<Event>,
    /// Where the events before watch started came from, or why there are none.
    note: Option<String>,
}

impl View {
    /// Adds an event, dropping the oldest past [`EVENTS_SHOWN`]; an event already
    /// shown (heard live and read from the dashboard) is not shown twice.
    fn push_event(&mut self, e: Event) {
        if self.events.contains(&e) {
            return;
        }
        self.events.push(e);
        if self.events.len() > EVENTS_SHOWN {
            self.events.remove(0);
        }
    }

    /// Puts the events from before watch started ahead of any heard since.
    fn add_earlier(&mut self, earlier: Vec<Event>) {
        let live = std::mem::take(&mut self.events);
        for e in earlier.into_iter().chain(live) {
            self.push_event(e);
        }
    }
}

/// `--dashboard`: `None` for `none`.
fn dashboard_arg(text: &str) -> Result<Option<Dashboard>> {
    if text == "none" {
        return Ok(None);
    }
    Dashboard::parse(text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("--dashboard {e}"))
}

/// The events from before watch started, and the line that says where they came
/// from — or, when the dashboard cannot be read, where to find them.
fn earlier_events(dashboard: &Dashboard) -> (Vec<Event>, String) {
    let url = dashboard.events_url();
    match dashboard.recent_events(EVENTS_SHOWN, RECENT_EVENTS_TIMEOUT) {
        Ok(events) => {
            let note = match events.len() {
                0 => format!("no events before watch started ({url})"),
                n => format!("events before watch started: the last {n} from {url}"),
            };
            (events, note)
        }
        Err(e) => (
            Vec::new(),
            format!(
                "events before watch started: not read from {url} ({e}); the dashboard's \
                 event list has them (pass --dashboard URL if it is elsewhere)"
            ),
        ),
    }
}

pub fn run(args: &WatchArgs) -> Result<u8> {
    args.client.check_prefix()?;
    let url = args.client.url()?;
    let dashboard = if args.json {
        None
    } else {
        dashboard_arg(&args.dashboard)?.map(|mut d| {
            d.ca = args.dashboard_ca.clone();
            d
        })
    };
    let prefix = args.client.prefix.clone();
    runtime()?.block_on(async {
        let mut link = connect(
            &url,
            format!("winter-river-watch-{}", std::process::id()),
            Duration::from_secs(5),
        )
        .await?;
        let subscribe = |link: &winter_river_mqtt::Link| {
            for filter in [
                format!("{prefix}/+/status"),
                format!("{prefix}/+/availability"),
                format!("{prefix}/system/events"),
            ] {
                // QoS 0: only the latest matters (and some brokers cap the retained
                // messages a QoS 1 subscription gets).
                let _ = link.subscribe(&filter, Qos::AtMostOnce);
            }
        };
        subscribe(&link);
        let mut view = View::default();
        // After subscribing, so no event falls between the two; one heard both ways
        // is shown once.
        if let Some(d) = dashboard {
            let (earlier, note) = tokio::task::spawn_blocking(move || earlier_events(&d))
                .await
                .unwrap_or_else(|e| (Vec::new(), format!("events before watch started: {e}")));
            view.add_earlier(earlier);
            view.note = Some(note);
        }
        let mut seen: u64 = 0;
        let mut redraw = tokio::time::interval(Duration::from_secs(1));
        let stop = shutdown_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                _ = redraw.tick(), if !args.json => draw(&view),
                ev = link.recv() => match ev {
                    None => break,
                    Some(LinkEvent::Connected) => subscribe(&link),
                    Some(LinkEvent::Disconnected { reason }) => {
                        if !args.json { eprintln!("broker connection lost: {reason}; retrying"); }
                    }
                    Some(LinkEvent::Message { topic, payload }) => {
                        seen += 1;
                        if args.json {
                            print_json(&topic, &payload);
                        } else {
                            absorb(&mut view, &prefix, &topic, &payload);
                        }
                        if args.count.is_some_and(|n| seen >= n) { break; }
                    }
                },
            }
        }
        link.disconnect(Duration::from_secs(1)).await;
        anyhow::Ok(())
    })?;
    Ok(EXIT_OK)
}

fn print_json(topic: &str, payload: &[u8]) {
    let value = serde_json::from_slice::<serde_json::Value>(payload).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(payload).into_owned())
    });
    let line = serde_json::json!({ "topic": topic, "payload": value });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn absorb(view: &mut View, prefix: &str, topic: &str, payload: &[u8]) {
    match Topic::parse(prefix, topic) {
        Ok(Topic::NodeStatus(id)) => {
            if let Ok(s) = decode_status(&id, payload) {
                view.nodes.insert(id, s);
            }
        }
        Ok(Topic::SystemStatus) => view.system = decode_system_status(payload).ok(),
        Ok(Topic::NodeAvailability(id)) => {
            view.online.insert(id, payload == b"online");
        }
        Ok(Topic::SystemEvents) => {
            if let Ok(e) = decode_event(payload) {
                view.push_event(e);
            }
        }
        _ => {}
    }
}

/// A Status field as a person reads it: the protocol's rounding at its decimals.
fn field_text(st: &Status, f: &FieldSpec) -> String {
    value_text(st.field(f.name), f)
}

/// ` [unit]` after a label, nothing for a field without one.
fn unit_suffix(f: &FieldSpec) -> String {
    if f.unit.is_empty() {
        String::new()
    } else {
        format!(" {}", f.unit)
    }
}

/// A field's value as a person reads it: the protocol's rounding at its decimals.
fn value_text(value: Option<FieldValue>, f: &FieldSpec) -> String {
    match value {
        Some(FieldValue::Num(v)) => {
            let decimals = usize::from(f.decimals);
            format!("{:.decimals$}", round_for_display(v, f.decimals))
        }
        Some(FieldValue::Text(t)) => t,
        _ => "-".into(),
    }
}

fn draw(view: &View) {
    let mut s = String::from("\x1b[2J\x1b[H");
    if let Some(sys) = &view.system {
        // The site line from the SystemStatus field table: label, value, unit.
        let parts: Vec<String> = [
            "it_kw",
            "facility_kw",
            "pue",
            "source",
            "runtime_s",
            "fuel_pct",
            "it_kw_lost",
            "sim_time_s",
        ]
        .iter()
        .filter_map(|name| SystemStatus::FIELDS.iter().find(|f| f.name == *name))
        .map(|f| {
            let value = value_text(sys.field(f.name), f);
            format!("{} {value}{}", f.label, unit_suffix(f))
        })
        .collect();
        let _ = writeln!(s, "{}", parts.join("   "));
    } else {
        s.push_str("waiting for system/status…\n");
    }
    // The common measurements as columns, each kind's extra fields after them
    // (the protocol's field table: labels, units, decimals).
    let columns: Vec<&FieldSpec> = COMMON_FIELDS
        .iter()
        .filter_map(|name| Measurements::FIELDS.iter().find(|f| f.name == *name))
        .collect();
    let headers: Vec<String> = columns
        .iter()
        .map(|f| format!("{}{}", f.label, unit_suffix(f)))
        .collect();
    let _ = write!(s, "\n{:<16} {:<13} {:<12}", "node", "kind", "status");
    for h in &headers {
        let _ = write!(s, " {h:>12}");
    }
    s.push_str("  extra\n");
    for (id, st) in &view.nodes {
        let link = if view.online.get(id) == Some(&false) {
            " (offline)"
        } else {
            ""
        };
        let _ = write!(
            s,
            "{:<16} {:<13} {:<12}",
            id,
            st.kind.map_or("-", |k| k.as_str()),
            st.status.as_str(),
        );
        for (f, h) in columns.iter().zip(&headers) {
            let width = h.chars().count().max(12);
            let _ = write!(s, " {:>width$}", field_text(st, f));
        }
        let extra: Vec<String> = st
            .kind
            .map(|k| k.spec().extra_fields)
            .unwrap_or_default()
            .iter()
            .filter_map(|name| Measurements::FIELDS.iter().find(|f| f.name == *name))
            .map(|f| {
                format!(
                    "{} {} {}",
                    f.label.to_lowercase(),
                    field_text(st, f),
                    f.unit
                )
            })
            .collect();
        let _ = writeln!(s, "  {}{link}", extra.join(", ").trim_end());
    }
    if !view.events.is_empty() || view.note.is_some() {
        s.push_str("\nevents\n");
        if let Some(note) = &view.note {
            let _ = writeln!(s, "  ({note})");
        }
        for e in &view.events {
            let _ = writeln!(
                s,
                "  t={:>8.1}s  {:<8}  {:<10} {}",
                e.t,
                e.severity.as_str(),
                e.node_id,
                e.message
            );
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}
