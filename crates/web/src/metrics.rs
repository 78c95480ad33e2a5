//! `GET /metrics`: Prometheus text (OpenMetrics), rebuilt from the store at every
//! scrape so a node's status series is exactly its current status. Per node (labels
//! `node_id`, `kind`): one gauge per measurement of the protocol's table
//! ([`Measurements::FIELDS`]: power, current, voltages, load, battery, runtime,
//! fuel, a room's temperatures, a server's inlet, a cooling unit's heat removed,
//! …), a status gauge and whether its board is connected. Per site: IT and
//! facility power and what it comes from (utility, generator, battery), PUE, lost
//! IT load, runtime, fuel, the highest server inlet, the source, nodes by status.
//! With the engine in the same process (`winter-river up`): its message counters by
//! topic kind, rejected messages by reason, operator commands refused by an
//! interlock, and the tick-duration histogram.
//!
//! The per-node families — the bulk of a large site's scrape — are written straight
//! into the text with the label sets the store made once per topology; the few
//! site, engine and web series go through prometheus-client.

use std::fmt::Write as _;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use winter_river_protocol::{FieldSpec, FieldType, Measurements, NodeState, Source};

use crate::App;
use crate::store::Store;
use winter_river_telemetry::{TICK_BUCKETS_S, Telemetry};

/// One label, `name="value"`, of static words: nothing allocated per series.
type Label = [(&'static str, &'static str); 1];
type GaugeFamily = Family<Label, Gauge<f64, AtomicU64>>;
type CounterFamily = Family<Label, Counter>;

/// Prefix of every metric name.
const PREFIX: &str = "winter_river";

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// OpenMetrics → Prometheus text 0.0.4: a counter family `x` has samples `x_total`,
/// which the older format wants in its HELP and TYPE lines too; no `# EOF`.
pub(crate) fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 64);
    for line in openmetrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((p, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(p);
                out.push_str(name);
                if counters.contains(name) {
                    out.push_str("_total");
                }
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// `GET /metrics`: OpenMetrics when the scraper asks for it (Prometheus does),
/// else the classic Prometheus text format 0.0.4 (what `promtool check metrics`
/// and older scrapers read).
pub(crate) async fn scrape(State(app): State<App>, headers: HeaderMap) -> Response {
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    let telemetry = app.telemetry.as_ref().map(|rx| rx.borrow().clone());
    let text = {
        let store = app.store();
        render(
            &store,
            telemetry.as_ref(),
            app.live_clients.load(Ordering::Relaxed),
            app.pushes.load(Ordering::Relaxed),
        )
    };
    match text {
        Ok(body) if openmetrics => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Ok(body) => (
            [(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)],
            to_prometheus_text(&body),
        )
            .into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics").into_response(),
    }
}

/// A counter per entry of a count map, labelled `label` = its key.
fn counter_family<'a>(
    label: &'static str,
    counts: impl IntoIterator<Item = (&'a &'static str, &'a u64)>,
) -> CounterFamily {
    let f = CounterFamily::default();
    for (k, v) in counts {
        f.get_or_create(&[(label, *k)]).inc_by(*v);
    }
    f
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: f64) {
    let g = Gauge::<f64, AtomicU64>::default();
    g.set(value);
    registry.register(name, help, g);
}

/// A per-node gauge: one measurement of the protocol's table.
#[derive(Debug)]
struct NodeGauge {
    /// Position among the numeric fields ([`Measurements::numbers`]).
    index: usize,
    /// `winter_river_node_power_kw`, …
    name: String,
    help: String,
}

/// The per-node gauges, from [`Measurements::FIELDS`], made once.
static NODE_GAUGES: LazyLock<Vec<NodeGauge>> = LazyLock::new(|| {
    Measurements::FIELDS
        .iter()
        .filter(|f| f.ty == FieldType::Number)
        .enumerate()
        .map(|(index, f)| NodeGauge {
            index,
            name: format!("{PREFIX}_node_{}", metric_base(f)),
            help: format!(
                "{} [{}]: Status field `{}` (docs/protocol.md)",
                f.label, f.unit, f.name
            ),
        })
        .collect()
});

/// A measurement's metric name after `node_`: its field name with the unit
/// spelled as Prometheus does (`current` [A] → `current_amperes`, `load_pct` →
/// `load_percent`, `runtime_s` → `runtime_seconds`, `inlet_c` [°C] →
/// `inlet_celsius`; `power_kw` stays). A unit not in the table leaves the field
/// name as it is: field names are `[a-z0-9_]`, so a metric name never carries a
/// unit's symbol.
fn metric_base(f: &FieldSpec) -> String {
    // (unit symbol, how a field name ends with it, Prometheus suffix)
    const UNITS: [(&str, &str, &str); 6] = [
        ("kW", "_kw", "_kw"),
        ("A", "_a", "_amperes"),
        ("V", "_v", "_volts"),
        ("%", "_pct", "_percent"),
        ("s", "_s", "_seconds"),
        ("°C", "_c", "_celsius"),
    ];
    match UNITS.iter().find(|(unit, _, _)| *unit == f.unit) {
        Some((_, short, long)) => {
            let stem = f.name.strip_suffix(short).unwrap_or(f.name);
            format!("{stem}{long}")
        }
        None => f.name.to_string(),
    }
}

/// The header of a gauge family, as prometheus-client writes one.
fn family_header(out: &mut String, name: &str, help: &str) -> std::fmt::Result {
    writeln!(out, "# HELP {name} {help}.")?;
    writeln!(out, "# TYPE {name} gauge")
}

/// One sample: `name{labels} value`.
fn sample(out: &mut String, name: &str, labels: &str, extra: &str, value: f64) {
    out.push_str(name);
    out.push('{');
    out.push_str(labels);
    out.push_str(extra);
    out.push_str("} ");
    // `{:?}` keeps a decimal point or exponent, as OpenMetrics floats are written.
    let _ = write!(out, "{value:?}");
    out.push('\n');
}

/// The per-node families, written straight into `out`.
fn node_families(out: &mut String, store: &Store) -> std::fmt::Result {
    for g in NODE_GAUGES.iter() {
        family_header(out, &g.name, &g.help)?;
        for node in store.readings() {
            let value = node.measured.and_then(|m| m.numbers()[g.index]);
            if let Some(v) = value.filter(|v| v.is_finite()) {
                sample(out, &g.name, node.labels, "", v);
            }
        }
    }
    let status = format!("{PREFIX}_node_status");
    family_header(
        out,
        &status,
        "1 for the node's current status word (label status, docs/protocol.md)",
    )?;
    let mut extra = String::new();
    for node in store.readings() {
        if let Some(word) = node.word {
            extra.clear();
            let _ = write!(extra, ",status=\"{word}\"");
            sample(out, &status, node.labels, &extra, 1.0);
        }
    }
    let online = format!("{PREFIX}_node_board_online");
    family_header(
        out,
        &online,
        "1 when the node's board is connected to the broker, 0 when not",
    )?;
    for node in store.readings() {
        if let Some(up) = node.online {
            sample(out, &online, node.labels, "", if up { 1.0 } else { 0.0 });
        }
    }
    Ok(())
}

/// The tick-duration histogram from the driver's precomputed buckets.
#[derive(Debug)]
struct TickHistogram {
    buckets: Vec<(f64, u64)>,
    sum: f64,
    count: u64,
}

impl EncodeMetric for TickHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// The whole exposition as OpenMetrics text.
pub(crate) fn render(
    store: &Store,
    telemetry: Option<&Telemetry>,
    live_clients: usize,
    pushes: u64,
) -> Result<String, std::fmt::Error> {
    // About 60 bytes a series, 10 series a node.
    let mut out = String::with_capacity(4096 + 600 * store.readings().len());
    node_families(&mut out, store)?;

    let mut registry = Registry::with_prefix(PREFIX);
    // ── Site ────────────────────────────────────────────────────────────────────
    if let Some(s) = store.system() {
        gauge(
            &mut registry,
            "it_power_kw",
            "IT (server) load served [kW]",
            s.it_kw,
        );
        gauge(
            &mut registry,
            "facility_power_kw",
            "All power used in the facility: source outputs + net battery discharge [kW]",
            s.facility_kw,
        );
        gauge(
            &mut registry,
            "utility_power_kw",
            "Power drawn from the utility feeds [kW]",
            s.utility_kw,
        );
        gauge(
            &mut registry,
            "generator_power_kw",
            "Power delivered by the generators [kW]",
            s.generator_kw,
        );
        gauge(
            &mut registry,
            "battery_power_kw",
            "Net UPS battery discharge (negative while charging) [kW]",
            s.battery_kw,
        );
        if let Some(pue) = s.pue {
            gauge(
                &mut registry,
                "pue_ratio",
                "Power usage effectiveness: facility / IT",
                pue,
            );
        }
        gauge(
            &mut registry,
            "it_power_lost_kw",
            "IT demand not served [kW]",
            s.it_kw_lost,
        );
        gauge(
            &mut registry,
            "it_energy_unserved_kwh",
            "Cumulative IT energy not served [kWh]",
            s.it_kwh_unserved,
        );
        if let Some(r) = s.runtime_s {
            gauge(
                &mut registry,
                "ups_runtime_min_seconds",
                "Shortest UPS runtime at the present load [s]",
                r,
            );
        }
        if let Some(f) = s.fuel_pct {
            gauge(
                &mut registry,
                "generator_fuel_min_percent",
                "Lowest generator fuel level [%]",
                f,
            );
        }
        if let Some(c) = s.max_inlet_c {
            gauge(
                &mut registry,
                "server_inlet_max_celsius",
                "Highest server inlet temperature of the site (max_inlet_c) [°C]",
                c,
            );
        }
        gauge(
            &mut registry,
            "sim_time_seconds",
            "Simulated time [s]",
            s.sim_time_s,
        );
        gauge(
            &mut registry,
            "system_rejected_messages",
            "Messages the engine dropped as bad input, all reasons (rejected_msgs of system/status)",
            s.rejected_msgs as f64,
        );
        let source = GaugeFamily::default();
        for word in Source::ALL {
            source
                .get_or_create(&[("source", word.as_str())])
                .set(if s.source == word { 1.0 } else { 0.0 });
        }
        registry.register(
            "site_source",
            "1 for what carries the IT load (label source)",
            source,
        );
        let counts = GaugeFamily::default();
        for state in NodeState::ALL {
            counts
                .get_or_create(&[("status", state.as_str())])
                .set(f64::from(s.nodes.get(state)));
        }
        registry.register("nodes", "Nodes by status word", counts);
    }
    if let Some(up) = store.engine_online() {
        gauge(
            &mut registry,
            "engine_online",
            "1 when the engine announces itself online",
            if up { 1.0 } else { 0.0 },
        );
    }

    // ── The engine, when it runs in this process ─────────────────────────────────
    if let Some(t) = telemetry {
        registry.register(
            "engine_messages_in",
            "MQTT messages the engine received, by topic kind",
            counter_family("topic_kind", &t.counters.messages_in),
        );
        registry.register(
            "engine_messages_out",
            "MQTT messages the engine published, by topic kind",
            counter_family("topic_kind", &t.counters.messages_out),
        );
        let rejected = CounterFamily::default();
        // Every reason from the start, so a rate over a new reason has a zero.
        for reason in winter_river_protocol::CodecError::REASONS
            .iter()
            .chain([winter_river_telemetry::NOT_APPLICABLE].iter())
        {
            let _ = rejected.get_or_create(&[("reason", *reason)]);
        }
        for (k, v) in &t.counters.rejected {
            rejected.get_or_create(&[("reason", *k)]).inc_by(*v);
        }
        registry.register(
            "engine_rejected_messages",
            "Messages the engine dropped as bad input, by reason",
            rejected,
        );
        let refused = Counter::<u64>::default();
        refused.inc_by(t.counters.commands_refused);
        registry.register(
            "engine_commands_refused",
            "Operator commands an interlock refused (each a `refused` event; not bad input)",
            refused,
        );
        registry.register(
            "engine_tick_duration_seconds",
            "Wall time of one engine tick: simulation steps and queued publishes [s]",
            TickHistogram {
                buckets: TICK_BUCKETS_S
                    .iter()
                    .copied()
                    .chain([f64::INFINITY])
                    .zip(t.tick_buckets.iter().copied().chain(std::iter::repeat(0)))
                    .collect(),
                sum: t.tick_sum_s,
                count: t.tick_count,
            },
        );
    }

    // ── The web itself ──────────────────────────────────────────────────────────
    registry.register(
        "web_messages_in",
        "MQTT messages the web received, by topic kind",
        counter_family("topic_kind", &store.messages_in),
    );
    registry.register(
        "web_rejected_messages",
        "MQTT messages the web could not use, by reason",
        counter_family("reason", &store.rejected),
    );
    gauge(
        &mut registry,
        "web_broker_connected",
        "1 when the web's MQTT link is up",
        if store.broker_connected() { 1.0 } else { 0.0 },
    );
    gauge(
        &mut registry,
        "web_live_clients",
        "Browsers connected to the live stream",
        live_clients as f64,
    );
    let pushes_counter = Counter::<u64>::default();
    pushes_counter.inc_by(pushes);
    registry.register(
        "web_live_pushes",
        "Live-stream messages sent to browsers",
        pushes_counter,
    );

    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_gauges_keep_their_metric_names() {
        let names: Vec<&str> = NODE_GAUGES.iter().map(|g| g.name.as_str()).collect();
        for name in [
            "winter_river_node_voltage_in_volts",
            "winter_river_node_voltage_out_volts",
            "winter_river_node_current_amperes",
            "winter_river_node_power_kw",
            "winter_river_node_load_percent",
            "winter_river_node_battery_percent",
            "winter_river_node_runtime_seconds",
            "winter_river_node_fuel_percent",
            "winter_river_node_temperature_celsius",
            "winter_river_node_solid_celsius",
            "winter_river_node_inlet_celsius",
            "winter_river_node_cooling_kw",
        ] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        // Prometheus names: `[a-zA-Z_:][a-zA-Z0-9_:]*`, whatever a unit's symbol.
        for name in names {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
                    && !name.as_bytes()[0].is_ascii_digit(),
                "{name} is not a Prometheus metric name"
            );
        }
    }

    #[test]
    fn a_room_its_servers_and_its_cooling_are_series() {
        let mut store = Store::new("wr");
        let topo = br#"{"site":"s","nodes":[
            {"id":"util_a","kind":"utility","feeds":[],"params":{}},
            {"id":"hall_1","kind":"room","feeds":[],"class":"A2","params":{}},
            {"id":"crah_1","kind":"cooling","feeds":["util_a"],"room":"hall_1","params":{}},
            {"id":"srv_1","kind":"server","feeds":["util_a"],"room":"hall_1","params":{}}]}"#;
        store.handle_message(1, "wr/system/topology", topo);
        for (topic, payload) in [
            (
                "wr/hall_1/command",
                r#"{"command":"update","params":{"status":"ok","temperature_c":36.5,"solid_c":24.25}}"#,
            ),
            (
                "wr/crah_1/command",
                r#"{"command":"update","params":{"status":"starting","power_kw":3.0,"cooling_kw":0.0}}"#,
            ),
            (
                "wr/srv_1/command",
                r#"{"command":"update","params":{"status":"shutdown","power_kw":0.0,"inlet_c":40.5}}"#,
            ),
            (
                "wr/system/status",
                r#"{"node_id":"system","it_kw":0.0,"facility_kw":3.0,"it_kw_lost":10.0,"it_kwh_unserved":0.1,"source":"utility","max_inlet_c":40.5,"rejected_msgs":0,"sim_time_s":90.0,"nodes_ok":2,"nodes_shutdown":1,"nodes_starting":1}"#,
            ),
        ] {
            store.handle_message(2, topic, payload.as_bytes());
        }
        let text = render(&store, None, 0, 0).unwrap_or_default();
        for line in [
            "winter_river_node_temperature_celsius{node_id=\"hall_1\",kind=\"room\"} 36.5\n",
            "winter_river_node_solid_celsius{node_id=\"hall_1\",kind=\"room\"} 24.25\n",
            "winter_river_node_inlet_celsius{node_id=\"srv_1\",kind=\"server\"} 40.5\n",
            "winter_river_node_cooling_kw{node_id=\"crah_1\",kind=\"cooling\"} 0.0\n",
            "winter_river_node_status{node_id=\"srv_1\",kind=\"server\",status=\"shutdown\"} 1.0\n",
            "winter_river_node_status{node_id=\"crah_1\",kind=\"cooling\",status=\"starting\"} 1.0\n",
            "winter_river_server_inlet_max_celsius 40.5\n",
            "winter_river_nodes{status=\"shutdown\"} 1.0\n",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        // A room carries no power: no electrical series for it.
        assert!(
            !text.contains("winter_river_node_power_kw{node_id=\"hall_1\""),
            "{text}"
        );
        // Every metric name is ASCII (units such as °C only in the help text).
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(
                line.split(['{', ' ']).next().unwrap_or("").is_ascii(),
                "{line}"
            );
        }
    }

    #[test]
    fn every_measurement_of_a_node_is_a_series() {
        let mut store = Store::new("wr");
        let topo = br#"{"site":"s","nodes":[{"id":"ups_a","kind":"ups","feeds":[],"params":{}}]}"#;
        store.handle_message(1, "wr/system/topology", topo);
        store.handle_message(
            2,
            "wr/ups_a/status",
            br#"{"node_id":"ups_a","status":"on_battery","power_kw":30.5,"battery_pct":99.5,"runtime_s":600.0}"#,
        );
        let text = render(&store, None, 0, 0).unwrap_or_default();
        for line in [
            "winter_river_node_power_kw{node_id=\"ups_a\",kind=\"ups\"} 30.5\n",
            "winter_river_node_battery_percent{node_id=\"ups_a\",kind=\"ups\"} 99.5\n",
            "winter_river_node_runtime_seconds{node_id=\"ups_a\",kind=\"ups\"} 600.0\n",
            "winter_river_node_status{node_id=\"ups_a\",kind=\"ups\",status=\"on_battery\"} 1.0\n",
            "winter_river_node_board_online{node_id=\"ups_a\",kind=\"ups\"} 1.0\n",
            "# TYPE winter_river_node_fuel_percent gauge\n",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
