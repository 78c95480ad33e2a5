//! `GET /metrics`: Prometheus text (OpenMetrics, prometheus-client), rebuilt from
//! the store at every scrape so a node's status series is exactly its current
//! status. Per node (labels `node_id`, `kind`): power, current, voltages, load,
//! battery, runtime, fuel, a status gauge and whether its board is connected. Per
//! site: IT and facility power, PUE, lost IT load, runtime, fuel, nodes by status.
//! With the engine in the same process (`winter-river up`): its message counters by
//! topic kind, rejected messages by reason, and the tick-duration histogram.

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
use winter_river_engine::driver::{TICK_BUCKETS_S, Telemetry};
use winter_river_protocol::{NodeState, Status};

use crate::App;

type Labels = Vec<(String, String)>;
type GaugeFamily = Family<Labels, Gauge<f64, AtomicU64>>;
type CounterFamily = Family<Labels, Counter>;

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

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// A counter per entry of a count map, labelled `label` = its key.
fn counter_family<'a>(
    label: &str,
    counts: impl IntoIterator<Item = (&'a &'static str, &'a u64)>,
) -> CounterFamily {
    let f = CounterFamily::default();
    for (k, v) in counts {
        f.get_or_create(&labels(&[(label, k)])).inc_by(*v);
    }
    f
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: f64) {
    let g = Gauge::<f64, AtomicU64>::default();
    g.set(value);
    registry.register(name, help, g);
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

/// The whole exposition as text.
pub(crate) fn render(
    store: &crate::store::Store,
    telemetry: Option<&Telemetry>,
    live_clients: usize,
    pushes: u64,
) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("winter_river");

    // ── Per node ────────────────────────────────────────────────────────────────
    let power = GaugeFamily::default();
    let current = GaugeFamily::default();
    let v_in = GaugeFamily::default();
    let v_out = GaugeFamily::default();
    let load = GaugeFamily::default();
    let battery = GaugeFamily::default();
    let runtime = GaugeFamily::default();
    let fuel = GaugeFamily::default();
    let status = GaugeFamily::default();
    let online = GaugeFamily::default();
    for (id, kind, st, up) in store.nodes() {
        let l = labels(&[("node_id", id), ("kind", kind.as_str())]);
        if let Some(up) = up {
            online.get_or_create(&l).set(if up { 1.0 } else { 0.0 });
        }
        let Some(s) = st else { continue };
        let set = |f: &GaugeFamily, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                f.get_or_create(&l).set(v);
            }
        };
        let Status {
            power_kw,
            current: amps,
            voltage_in,
            voltage_out,
            load_pct,
            battery_pct,
            runtime_s,
            fuel_pct,
            ..
        } = s;
        set(&power, *power_kw);
        set(&current, *amps);
        set(&v_in, *voltage_in);
        set(&v_out, *voltage_out);
        set(&load, *load_pct);
        set(&battery, *battery_pct);
        set(&runtime, *runtime_s);
        set(&fuel, *fuel_pct);
        status
            .get_or_create(&labels(&[
                ("node_id", id),
                ("kind", kind.as_str()),
                ("status", s.status.as_str()),
            ]))
            .set(1.0);
    }
    registry.register(
        "node_power_kw",
        "Power at the node's input (sources: output; loads: demand served) [kW]",
        power,
    );
    registry.register(
        "node_current_amperes",
        "Current at the node's input (sources: output) [A]",
        current,
    );
    registry.register("node_voltage_in_volts", "Input voltage [V]", v_in);
    registry.register(
        "node_voltage_out_volts",
        "Voltage handed downstream [V]",
        v_out,
    );
    registry.register("node_load_percent", "Output against rating [%]", load);
    registry.register("node_battery_percent", "UPS state of charge [%]", battery);
    registry.register(
        "node_runtime_seconds",
        "UPS battery runtime at the present load [s]",
        runtime,
    );
    registry.register("node_fuel_percent", "Generator fuel left [%]", fuel);
    registry.register(
        "node_status",
        "1 for the node's current status word (label status, DESIGN §3)",
        status,
    );
    registry.register(
        "node_board_online",
        "1 when the node's board is connected to the broker, 0 when not",
        online,
    );

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
            "Sum of source outputs: utility + generators [kW]",
            s.facility_kw,
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
        for name in ["utility", "generator", "battery", "none"] {
            source
                .get_or_create(&labels(&[("source", name)]))
                .set(if s.source == name { 1.0 } else { 0.0 });
        }
        registry.register(
            "site_source",
            "1 for what carries the IT load (label source)",
            source,
        );
        let counts = GaugeFamily::default();
        // The protocol's own state → field mapping (`count_mut` wants a `&mut`).
        let mut tally = s.clone();
        for state in NodeState::ALL {
            counts
                .get_or_create(&labels(&[("status", state.as_str())]))
                .set(f64::from(*tally.count_mut(state)));
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
        for reason in winter_river_protocol::CodecError::REASONS
            .iter()
            .chain(["not_applicable"].iter())
        {
            let _ = rejected.get_or_create(&labels(&[("reason", reason)]));
        }
        for (k, v) in &t.counters.rejected {
            rejected.get_or_create(&labels(&[("reason", k)])).inc_by(*v);
        }
        registry.register(
            "engine_rejected_messages",
            "Messages the engine dropped as bad input, by reason",
            rejected,
        );
        let mut buckets: Vec<(f64, u64)> = TICK_BUCKETS_S
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(t.tick_buckets.iter().copied().chain(std::iter::repeat(0)))
            .collect();
        buckets.truncate(TICK_BUCKETS_S.len() + 1);
        registry.register(
            "engine_tick_duration_seconds",
            "Wall time of one engine tick: simulation steps and queued publishes [s]",
            TickHistogram {
                buckets,
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

    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}
