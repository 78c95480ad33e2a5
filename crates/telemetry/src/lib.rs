//! What the engine counts, shared with a `/metrics` endpoint in the same process
//! (`winter-river up`): message counters by topic kind and reason, commands refused
//! by an interlock, and a histogram of tick durations. A crate of its own so the web can read the engine's numbers
//! without depending on the engine or the simulator (docs/architecture.md). Not
//! part of the wire format: it crosses a channel, never MQTT.

use std::collections::BTreeMap;

/// Upper bounds of the tick-duration histogram buckets \[s\].
pub const TICK_BUCKETS_S: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
];

/// The reason the engine counts when a command does not apply to its node's kind
/// (or, on `<p>/system/command`, is not site-wide). Every other reason is a codec
/// error's label (`CodecError::REASONS` in the protocol).
pub const NOT_APPLICABLE: &str = "not_applicable";

/// What the engine has seen and sent since it started. Shown in `system/status`
/// (`rejected_msgs`) and on `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// Messages received, by topic kind (`status`, `command`, `availability`, …).
    pub messages_in: BTreeMap<&'static str, u64>,
    /// Messages published, by topic kind (`update`, `system_status`, `events`, …).
    pub messages_out: BTreeMap<&'static str, u64>,
    /// Messages dropped as bad input, by reason (`not_json`, `unknown_node`, …).
    pub rejected: BTreeMap<&'static str, u64>,
    /// Operator commands an interlock refused (each answered by a `refused`
    /// event): well-formed input the model said no to, so not in `rejected`.
    pub commands_refused: u64,
}

impl Counters {
    pub fn count_in(&mut self, kind: &'static str) {
        *self.messages_in.entry(kind).or_default() += 1;
    }

    pub fn count_out(&mut self, kind: &'static str) {
        *self.messages_out.entry(kind).or_default() += 1;
    }

    pub fn count_rejected(&mut self, reason: &'static str) {
        *self.rejected.entry(reason).or_default() += 1;
    }

    /// One operator command refused by an interlock.
    pub fn count_refused(&mut self) {
        self.commands_refused += 1;
    }

    /// All rejected messages, every reason.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// What the engine's driver has counted: the core's message counters and a
/// histogram of how long each tick (simulation steps + queued publishes) took \[s\].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Telemetry {
    pub counters: Counters,
    /// Ticks per bucket of [`TICK_BUCKETS_S`] (not cumulative); the last entry counts
    /// the ticks above the largest bound.
    pub tick_buckets: Vec<u64>,
    /// Sum of all tick durations \[s\].
    pub tick_sum_s: f64,
    pub tick_count: u64,
}

impl Telemetry {
    /// Counts one tick that took `seconds`.
    pub fn observe_tick(&mut self, seconds: f64) {
        if self.tick_buckets.len() != TICK_BUCKETS_S.len() + 1 {
            self.tick_buckets = vec![0; TICK_BUCKETS_S.len() + 1];
        }
        let i = TICK_BUCKETS_S
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(TICK_BUCKETS_S.len());
        self.tick_buckets[i] += 1;
        self.tick_sum_s += seconds;
        self.tick_count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_lands_in_the_first_bucket_that_holds_it_and_slow_ones_in_the_last() {
        let mut t = Telemetry::default();
        t.observe_tick(0.000_05); // on a bound: that bucket (Prometheus `le`)
        t.observe_tick(0.003);
        t.observe_tick(1.0);
        assert_eq!(t.tick_buckets.len(), TICK_BUCKETS_S.len() + 1);
        assert_eq!(t.tick_buckets[0], 1);
        assert_eq!(t.tick_buckets[6], 1); // ≤ 5 ms
        assert_eq!(t.tick_buckets[TICK_BUCKETS_S.len()], 1);
        assert_eq!(t.tick_count, 3);
        assert!((t.tick_sum_s - 1.003_05).abs() < 1e-12);
    }

    #[test]
    fn rejected_total_sums_every_reason() {
        let mut c = Counters::default();
        c.count_rejected("not_json");
        c.count_rejected("not_json");
        c.count_rejected("unknown_node");
        c.count_in("status");
        c.count_refused();
        assert_eq!(c.rejected_total(), 3, "a refused command is not bad input");
        assert_eq!(c.commands_refused, 1);
        assert_eq!(c.rejected.get("not_json"), Some(&2));
    }
}
