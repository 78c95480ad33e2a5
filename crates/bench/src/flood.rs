//! `flood`: what a broker loses when it is pushed (issue 16, parts 1 and 3), against a
//! broker alone (no engine), fresh for each phase:
//!
//! - **flood**: `--clients` clients publish `--per-client` hostile or invalid payloads
//!   each (random bytes, truncated or mangled command JSON, non-finite numbers, deep
//!   nesting, empty, invalid UTF-8, 4 KiB strings) to `<p>/<id>/command`, the even
//!   clients at QoS 0, the odd ones at QoS 1, while a marker client sends `--markers`
//!   valid `set_load` commands at QoS 1, numbered by their `kw` and spread evenly
//!   through the flood, to `<p>/marker/command`. A subscriber like the engine's
//!   (persistent session, QoS 1, `<p>/+/command`) counts the markers it gets (the
//!   target: all of them) and the flood messages it gets.
//! - **fan-out**: one publisher sends `--fanout` statuses to `<p>/fan_<n>/status` as
//!   fast as its client lets it, to 1 and to 10 subscribers on `<p>/+/status`: the
//!   share each subscriber receives and the rate.
//!
//! Every phase is bounded in time (`--max-s` for the publishing, then at most
//! `--drain-s` for the last messages to arrive, ending early once nothing has arrived
//! for 3 s).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::time::Instant;
use winter_river_mqtt::{BrokerUrl, Link, LinkEvent, LinkOptions, PublishError};
use winter_river_protocol::{Command, Qos, codec};

use crate::broker::BrokerProc;
use crate::procfs::{cpu_s, peak_rss_mib};
use crate::sut::{Env, Kind};

const MARKER_TOPIC: &str = "winter-river/marker/command";
const COMMAND_FILTER: &str = "winter-river/+/command";
const STATUS_FILTER: &str = "winter-river/+/status";
/// Nothing received for this long ends the drain early.
const QUIET: Duration = Duration::from_secs(3);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Flooding clients (even ones publish at QoS 0, odd ones at QoS 1).
    #[arg(long, default_value_t = 4)]
    pub clients: u64,
    /// Hostile payloads per flooding client.
    #[arg(long, default_value_t = 250_000)]
    pub per_client: u64,
    /// Valid numbered QoS 1 commands spread through the flood.
    #[arg(long, default_value_t = 1000)]
    pub markers: u64,
    /// Statuses the fan-out publisher sends (0: no fan-out phase).
    #[arg(long, default_value_t = 200_000)]
    pub fanout: u64,
    /// Fan-out subscriber counts to try.
    #[arg(long, value_delimiter = ',', default_value = "1,10")]
    pub fanout_subscribers: Vec<usize>,
    /// QoS of the fan-out (publisher and subscribers): 0, 1 or both (`0,1`).
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub fanout_qos: Vec<u8>,
    /// Skip the flood phase (fan-out only).
    #[arg(long)]
    pub no_flood: bool,
    /// Longest time publishers keep publishing in a phase [s]; what was not sent by
    /// then is reported as not sent.
    #[arg(long, default_value_t = 180)]
    pub max_s: u64,
    /// Longest wait for the last messages after the publishers are done [s].
    #[arg(long, default_value_t = 30)]
    pub drain_s: u64,
    /// Write the figures as JSON here too.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, serde::Serialize)]
struct FloodResult {
    broker: String,
    flood_planned: u64,
    flood_sent: u64,
    /// Publishes the client could not hand to the broker (link down) and gave up on.
    flood_not_sent: u64,
    flood_received: u64,
    markers_sent: u64,
    markers_received: u64,
    markers_duplicated: u64,
    /// The first few marker numbers that never arrived.
    markers_missing: Vec<u64>,
    /// Until the last message was handed to its client [s] (before the clients'
    /// DISCONNECT), and until the last message arrived [s].
    publish_s: f64,
    last_arrival_s: f64,
    subscriber_disconnects: u64,
    publisher_disconnects: u64,
    broker_peak_rss_mib: Option<f64>,
    broker_cpu_s: Option<f64>,
    broker_alive: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
struct FanoutResult {
    broker: String,
    qos: u8,
    subscribers: usize,
    sent: u64,
    /// Each subscriber's received share, lowest / median / highest [%].
    received_min_pct: f64,
    received_median_pct: f64,
    received_max_pct: f64,
    duplicates: u64,
    /// Until the last status was handed to the client [s].
    publish_s: f64,
    last_arrival_s: f64,
    /// Messages received by all subscribers together per second, until the last one.
    delivered_per_s: f64,
    broker_peak_rss_mib: Option<f64>,
    broker_alive: bool,
}

pub async fn run(env: &Env, brokers: &[Kind], args: &Args) -> Result<()> {
    let mut floods = Vec::new();
    let mut fanouts = Vec::new();
    for &kind in brokers {
        let label = env.label(kind);
        if !args.no_flood {
            println!(
                "flood: {label}: {} clients × {} hostile payloads, {} markers…",
                args.clients, args.per_client, args.markers
            );
            let mut broker = BrokerProc::start(env, kind)?;
            let r = flood(&mut broker, &label, args).await?;
            print_flood(&r, &broker);
            floods.push(r);
        }
        if args.fanout > 0 {
            for &qos in &args.fanout_qos {
                for &subs in &args.fanout_subscribers {
                    println!(
                        "fan-out: {label}: {} statuses at QoS {qos} to {subs} subscriber(s)…",
                        args.fanout
                    );
                    let mut broker = BrokerProc::start(env, kind)?;
                    let r = fanout(&mut broker, &label, qos, subs, args).await?;
                    print_fanout(&r);
                    fanouts.push(r);
                }
            }
        }
    }
    if let Some(path) = &args.json {
        let all = serde_json::json!({ "flood": floods, "fanout": fanouts });
        std::fs::write(path, serde_json::to_string_pretty(&all)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn print_flood(r: &FloodResult, broker: &BrokerProc) {
    println!(
        "  {}: markers {} of {} received ({} duplicated{}); flood {} of {} sent ({} not sent), {} received ({:.1} %); published in {:.1} s, last arrival {:.1} s; disconnects: subscriber {}, publishers {}; broker peak RSS {}, CPU {}{}",
        r.broker,
        r.markers_received,
        r.markers_sent,
        r.markers_duplicated,
        if r.markers_missing.is_empty() {
            String::new()
        } else {
            format!(", missing e.g. {:?}", r.markers_missing)
        },
        r.flood_sent,
        r.flood_planned,
        r.flood_not_sent,
        r.flood_received,
        r.flood_received as f64 / (r.flood_sent.max(1)) as f64 * 100.0,
        r.publish_s,
        r.last_arrival_s,
        r.subscriber_disconnects,
        r.publisher_disconnects,
        r.broker_peak_rss_mib
            .map_or("?".into(), |m| format!("{m:.0} MiB")),
        r.broker_cpu_s.map_or("?".into(), |c| format!("{c:.1} s")),
        if r.broker_alive { "" } else { "; BROKER DIED" }
    );
    let log = broker.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    if !lines.is_empty() {
        println!(
            "  broker log: {} lines, last: {}",
            lines.len(),
            lines[lines.len().saturating_sub(3)..].join(" | ")
        );
    }
}

fn print_fanout(r: &FanoutResult) {
    println!(
        "  {} QoS {} × {}: received min {:.1} % / median {:.1} % / max {:.1} % of {} ({} duplicates); published in {:.1} s ({:.0}/s), last arrival {:.1} s, delivered {:.0} msg/s; broker peak RSS {}{}",
        r.broker,
        r.qos,
        r.subscribers,
        r.received_min_pct,
        r.received_median_pct,
        r.received_max_pct,
        r.sent,
        r.duplicates,
        r.publish_s,
        r.sent as f64 / r.publish_s.max(1e-9),
        r.last_arrival_s,
        r.delivered_per_s,
        r.broker_peak_rss_mib
            .map_or("?".into(), |m| format!("{m:.0} MiB")),
        if r.broker_alive { "" } else { "; BROKER DIED" }
    );
}

/// What a subscriber has heard.
#[derive(Debug, Default)]
struct Heard {
    probe: bool,
    markers: Vec<u32>,
    flood: u64,
    /// Fan-out: times each sequence number arrived.
    seen: Vec<u8>,
    total: u64,
    duplicates: u64,
    disconnects: u64,
    last: Option<Instant>,
}

fn lock(h: &Mutex<Heard>) -> std::sync::MutexGuard<'_, Heard> {
    h.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A subscriber on `filter` at `qos` whose messages `absorb` counts.
fn subscriber(
    url: &BrokerUrl,
    id: String,
    persistent: bool,
    filter: &'static str,
    qos: Qos,
    heard: Arc<Mutex<Heard>>,
    absorb: fn(&mut Heard, &str, &[u8]),
) -> tokio::task::JoinHandle<()> {
    let mut options = LinkOptions::new(id);
    options.keep_alive_s = 30;
    options.persistent_session = persistent;
    let mut link = Link::connect(url, &options);
    tokio::spawn(async move {
        while let Some(ev) = link.recv().await {
            match ev {
                LinkEvent::Connected => {
                    let _ = link.subscribe(filter, qos);
                }
                LinkEvent::Disconnected { .. } => lock(&heard).disconnects += 1,
                LinkEvent::Message { topic, payload } => {
                    let mut g = lock(&heard);
                    g.last = Some(Instant::now());
                    absorb(&mut g, &topic, &payload);
                }
            }
        }
    })
}

fn absorb_command(g: &mut Heard, topic: &str, payload: &[u8]) {
    if topic == MARKER_TOPIC {
        if let Ok(Command::SetLoad { kw }) = codec::decode_command(payload) {
            let n = kw as usize;
            if n < g.markers.len() {
                g.markers[n] += 1;
            }
        }
    } else if topic == "winter-river/probe/command" {
        g.probe = true;
    } else {
        g.flood += 1;
    }
}

fn absorb_status(g: &mut Heard, topic: &str, payload: &[u8]) {
    if topic == "winter-river/probe/status" {
        g.probe = true;
        return;
    }
    // `{"node_id":"fan_N","seq":S,…}`: S is the publisher's count.
    let seq = std::str::from_utf8(payload)
        .ok()
        .and_then(|s| s.split("\"seq\":").nth(1))
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse::<usize>().ok());
    g.total += 1;
    if let Some(s) = seq
        && let Some(slot) = g.seen.get_mut(s)
    {
        if *slot > 0 {
            g.duplicates += 1;
        }
        *slot = slot.saturating_add(1);
    }
}

/// A publishing client; `publish` retries while the client's queue is full and, after
/// a dropped connection, until it is back (at most until `give_up`). It never reads
/// the link's events: a client that subscribes to nothing gets only `Connected` and
/// `Disconnected`, which `disconnects` counts from the outside (link seen down).
struct Publisher {
    link: Link,
    disconnects: Arc<AtomicU64>,
}

impl Publisher {
    fn connect(url: &BrokerUrl, id: String) -> Publisher {
        let mut options = LinkOptions::new(id);
        options.keep_alive_s = 30;
        Publisher {
            link: Link::connect(url, &options),
            disconnects: Arc::new(AtomicU64::new(0)),
        }
    }

    async fn wait_connected(&self, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        while !self.link.is_connected() {
            anyhow::ensure!(Instant::now() < deadline, "not connected within {within:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// Hands one message to the client: `true` once queued, `false` if the link stayed
    /// down until `give_up`.
    async fn publish(
        &self,
        topic: &str,
        payload: Vec<u8>,
        qos: Qos,
        give_up: Instant,
    ) -> Result<bool> {
        let mut down = false;
        loop {
            match self.link.publish(topic, payload.clone(), qos, false) {
                Ok(()) => return Ok(true),
                Err(PublishError::Full(_)) => tokio::time::sleep(Duration::from_millis(1)).await,
                Err(PublishError::Offline) => {
                    if !down {
                        down = true;
                        self.disconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    if Instant::now() >= give_up {
                        return Ok(false);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(PublishError::Closed) => anyhow::bail!("the publisher's link closed"),
            }
        }
    }
}

/// Waits until `heard.probe`, publishing a probe on `topic` every 100 ms (the
/// subscription is in place once a probe arrives).
async fn await_subscribed(
    probe: &Publisher,
    topic: &str,
    heard: &[Arc<Mutex<Heard>>],
) -> Result<()> {
    probe.wait_connected(Duration::from_secs(10)).await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if heard.iter().all(|h| lock(h).probe) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the subscribers did not receive a probe on {topic} within 15 s"
        );
        let _ = probe
            .link
            .publish(topic, b"probe".to_vec(), Qos::AtLeastOnce, false);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the last messages: until `done(heard)`, nothing new for [`QUIET`], or
/// `drain_s`. Returns the time of the last arrival since `t0` [s].
async fn drain(
    heard: &[Arc<Mutex<Heard>>],
    t0: Instant,
    drain_s: u64,
    done: impl Fn(&Heard) -> bool,
) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(drain_s);
    loop {
        let (all_done, last) = {
            let gs: Vec<_> = heard.iter().map(|h| lock(h)).collect();
            (
                gs.iter().all(|g| done(g)),
                gs.iter().filter_map(|g| g.last).max(),
            )
        };
        let quiet = last.is_none_or(|l| l.elapsed() >= QUIET);
        if all_done || quiet || Instant::now() >= deadline {
            return last.map_or(0.0, |l| (l - t0).as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Moves `handed` on to now (the latest time a publisher finished handing over).
fn note_handed(handed: &Mutex<Instant>) {
    let mut h = handed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *h = (*h).max(Instant::now());
}

/// Payload `i` of flooding client `k`: hostile or invalid, never a valid command.
fn hostile(k: u64, i: u64) -> Vec<u8> {
    // xorshift64*, seeded per message: reproducible and cheap.
    let mut x = (k << 40) ^ i ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let valid = br#"{"command":"set_load","params":{"kw":12.5}}"#;
    match i % 8 {
        0 => (0..(next() % 512 + 1)).map(|_| next() as u8).collect(),
        1 => valid[..(next() as usize % (valid.len() - 1))].to_vec(),
        2 => br#"{"command":"explode","params":{"kw":12.5}}"#.to_vec(),
        3 => br#"{"command":"set_load","params":{"kw":1e999}}"#.to_vec(),
        4 => {
            let depth = 200;
            let mut v = vec![b'['; depth];
            v.extend(std::iter::repeat_n(b']', depth));
            v
        }
        5 => Vec::new(),
        6 => vec![0xff, 0xfe, b'{', 0xc0, 0x80, b'}'],
        _ => {
            let mut v = br#"{"command":"set_load","params":{"kw":""#.to_vec();
            v.extend(std::iter::repeat_n(b'A', 4096));
            v.extend(br#""}}"#);
            v
        }
    }
}

async fn flood(broker: &mut BrokerProc, label: &str, args: &Args) -> Result<FloodResult> {
    let url = broker.url();
    let pid = std::process::id();
    let markers = usize::try_from(args.markers)?;
    let heard = Arc::new(Mutex::new(Heard {
        markers: vec![0; markers + 1],
        ..Heard::default()
    }));
    let sub = subscriber(
        &url,
        format!("bench-flood-engine-{pid}"),
        true,
        COMMAND_FILTER,
        Qos::AtLeastOnce,
        heard.clone(),
        absorb_command,
    );
    let marker = Publisher::connect(&url, format!("bench-flood-marker-{pid}"));
    await_subscribed(
        &marker,
        "winter-river/probe/command",
        std::slice::from_ref(&heard),
    )
    .await?;
    let cpu0 = broker.pid().and_then(cpu_s);

    let planned = args.clients * args.per_client;
    let sent = Arc::new(AtomicU64::new(0));
    let not_sent = Arc::new(AtomicU64::new(0));
    let flooding_done = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let stop_at = t0 + Duration::from_secs(args.max_s);
    let mut floods = Vec::new();
    let mut publisher_disconnects = Vec::new();
    let handed = Arc::new(Mutex::new(t0));
    for k in 0..args.clients {
        let p = Publisher::connect(&url, format!("bench-flood-{k}-{pid}"));
        p.wait_connected(Duration::from_secs(10)).await?;
        publisher_disconnects.push(p.disconnects.clone());
        let (sent, not_sent, per_client) = (sent.clone(), not_sent.clone(), args.per_client);
        let handed = handed.clone();
        let qos = if k % 2 == 0 {
            Qos::AtMostOnce
        } else {
            Qos::AtLeastOnce
        };
        floods.push(tokio::spawn(async move {
            for i in 0..per_client {
                if Instant::now() >= stop_at {
                    break;
                }
                let topic = format!("winter-river/flood{k}_{}/command", i % 200);
                if p.publish(&topic, hostile(k, i), qos, stop_at).await? {
                    sent.fetch_add(1, Ordering::Relaxed);
                } else {
                    not_sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            note_handed(&handed);
            p.link.disconnect(Duration::from_secs(30)).await;
            anyhow::Ok(())
        }));
    }
    // The markers, one each time the flood has advanced by planned ÷ (markers + 1).
    let (msent, fdone) = (sent.clone(), flooding_done.clone());
    let total_markers = args.markers;
    let marker_handed = handed.clone();
    let markers_task = tokio::spawn(async move {
        let mut n = 0;
        for j in 1..=total_markers {
            let due = planned * j / (total_markers + 1);
            while msent.load(Ordering::Relaxed) < due && !fdone.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let payload = codec::encode_command(&Command::SetLoad { kw: j as f64 })?;
            let give_up = Instant::now() + Duration::from_secs(10);
            if marker
                .publish(MARKER_TOPIC, payload, Qos::AtLeastOnce, give_up)
                .await?
            {
                n += 1;
            }
        }
        note_handed(&marker_handed);
        marker.link.disconnect(Duration::from_secs(30)).await;
        anyhow::Ok(n)
    });
    for f in floods {
        f.await??;
    }
    flooding_done.store(true, Ordering::Relaxed);
    let markers_sent = markers_task.await??;
    let publish_s = (*handed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        - t0)
        .as_secs_f64();
    let last_arrival_s = drain(std::slice::from_ref(&heard), t0, args.drain_s, |g| {
        g.markers[1..].iter().all(|&c| c > 0) && g.flood >= sent.load(Ordering::Relaxed)
    })
    .await;
    sub.abort();
    let alive = broker.check_running().is_ok();
    let g = lock(&heard);
    let missing: Vec<u64> = (1..=args.markers)
        .filter(|&j| g.markers[j as usize] == 0)
        .collect();
    Ok(FloodResult {
        broker: label.to_string(),
        flood_planned: planned,
        flood_sent: sent.load(Ordering::Relaxed),
        flood_not_sent: not_sent.load(Ordering::Relaxed),
        flood_received: g.flood,
        markers_sent,
        markers_received: args.markers - missing.len() as u64,
        markers_duplicated: g
            .markers
            .iter()
            .map(|&c| u64::from(c.saturating_sub(1)))
            .sum(),
        markers_missing: missing.iter().take(10).copied().collect(),
        publish_s,
        last_arrival_s,
        subscriber_disconnects: g.disconnects,
        publisher_disconnects: publisher_disconnects
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .sum(),
        broker_peak_rss_mib: broker.pid().and_then(peak_rss_mib),
        broker_cpu_s: match (cpu0, broker.pid().and_then(cpu_s)) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        },
        broker_alive: alive,
    })
}

async fn fanout(
    broker: &mut BrokerProc,
    label: &str,
    qos_n: u8,
    subscribers: usize,
    args: &Args,
) -> Result<FanoutResult> {
    let url = broker.url();
    let pid = std::process::id();
    let qos = match qos_n {
        0 => Qos::AtMostOnce,
        1 => Qos::AtLeastOnce,
        q => anyhow::bail!("--fanout-qos {q}: 0 or 1"),
    };
    let n = usize::try_from(args.fanout)?;
    let heard: Vec<Arc<Mutex<Heard>>> = (0..subscribers)
        .map(|_| {
            Arc::new(Mutex::new(Heard {
                seen: vec![0; n],
                ..Heard::default()
            }))
        })
        .collect();
    let subs: Vec<_> = heard
        .iter()
        .enumerate()
        .map(|(s, h)| {
            subscriber(
                &url,
                format!("bench-fanout-{s}-{pid}"),
                false,
                STATUS_FILTER,
                qos,
                h.clone(),
                absorb_status,
            )
        })
        .collect();
    let publisher = Publisher::connect(&url, format!("bench-fanout-pub-{pid}"));
    await_subscribed(&publisher, "winter-river/probe/status", &heard).await?;

    let t0 = Instant::now();
    let stop_at = t0 + Duration::from_secs(args.max_s);
    let mut sent = 0u64;
    for i in 0..args.fanout {
        if Instant::now() >= stop_at {
            break;
        }
        let node = i % 2000;
        let payload = format!(
            r#"{{"node_id":"fan_{node}","seq":{i},"status":"normal","kind":"rack","measured":{{"kw":12.5,"v":230.0,"a":54.3,"pf":0.98}},"uptime_s":{i}}}"#
        );
        if publisher
            .publish(
                &format!("winter-river/fan_{node}/status"),
                payload.into_bytes(),
                qos,
                stop_at,
            )
            .await?
        {
            sent += 1;
        }
    }
    let publish_s = t0.elapsed().as_secs_f64();
    publisher.link.disconnect(Duration::from_secs(30)).await;
    let last_arrival_s = drain(&heard, t0, args.drain_s, |g| g.total >= sent).await;
    for s in subs {
        s.abort();
    }
    let alive = broker.check_running().is_ok();
    let mut pct: Vec<f64> = heard
        .iter()
        .map(|h| {
            let g = lock(h);
            g.seen.iter().filter(|&&c| c > 0).count() as f64 / sent.max(1) as f64 * 100.0
        })
        .collect();
    pct.sort_by(f64::total_cmp);
    let total: u64 = heard.iter().map(|h| lock(h).total).sum();
    Ok(FanoutResult {
        broker: label.to_string(),
        qos: qos_n,
        subscribers,
        sent,
        received_min_pct: pct.first().copied().unwrap_or(0.0),
        received_median_pct: pct.get(pct.len() / 2).copied().unwrap_or(0.0),
        received_max_pct: pct.last().copied().unwrap_or(0.0),
        duplicates: heard.iter().map(|h| lock(h).duplicates).sum(),
        publish_s,
        last_arrival_s,
        delivered_per_s: total as f64 / last_arrival_s.max(1e-9),
        broker_peak_rss_mib: broker.pid().and_then(peak_rss_mib),
        broker_alive: alive,
    })
}
