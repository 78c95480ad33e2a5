//! What `/metrics` shows of an engine running in the same process (`winter-river
//! up`): its message counters and its tick-duration histogram. The web does not
//! depend on the engine (docs/architecture.md): it defines here what it reads, and
//! whoever runs both hands it a [`TelemetrySource`] that fills an
//! [`EngineTelemetry`] from the engine's own figures at each scrape.

use std::collections::BTreeMap;
use std::fmt;

/// The engine's figures at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineTelemetry {
    /// MQTT messages the engine received, by topic kind (`status`, `command`, …).
    pub messages_in: BTreeMap<&'static str, u64>,
    /// MQTT messages the engine published, by topic kind (`update`, …).
    pub messages_out: BTreeMap<&'static str, u64>,
    /// Messages the engine dropped as bad input, by reason (`not_json`, …).
    pub rejected: BTreeMap<&'static str, u64>,
    /// Tick durations: (upper bound \[s\], ticks in this bucket — not cumulative),
    /// bounds increasing, the last one `f64::INFINITY`.
    pub tick_buckets: Vec<(f64, u64)>,
    /// Sum of all tick durations \[s\].
    pub tick_sum_s: f64,
    pub tick_count: u64,
}

/// Reads the engine's figures when `/metrics` is scraped.
pub struct TelemetrySource(Box<dyn Fn() -> EngineTelemetry + Send + Sync>);

impl TelemetrySource {
    /// A source that calls `read` at each scrape (it should be quick: it runs on
    /// the HTTP handler, e.g. a copy out of a `watch` channel).
    pub fn new(read: impl Fn() -> EngineTelemetry + Send + Sync + 'static) -> TelemetrySource {
        TelemetrySource(Box::new(read))
    }

    /// The figures now.
    pub fn read(&self) -> EngineTelemetry {
        (self.0)()
    }
}

impl fmt::Debug for TelemetrySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TelemetrySource(..)")
    }
}
