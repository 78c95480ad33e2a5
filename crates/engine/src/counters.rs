//! Message counters: in and out by topic kind, rejected by reason. Shown in
//! `system/status` (`rejected_msgs`) and on `/metrics`.

use std::collections::BTreeMap;

/// What the engine has seen and sent since it started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// Messages received, by topic kind (`status`, `command`, `availability`, …).
    pub messages_in: BTreeMap<&'static str, u64>,
    /// Messages published, by topic kind (`update`, `system_status`, `events`, …).
    pub messages_out: BTreeMap<&'static str, u64>,
    /// Messages dropped as bad input, by reason (`not_json`, `unknown_node`, …).
    pub rejected: BTreeMap<&'static str, u64>,
}

impl Counters {
    pub(crate) fn count_in(&mut self, kind: &'static str) {
        *self.messages_in.entry(kind).or_default() += 1;
    }

    pub(crate) fn count_out(&mut self, kind: &'static str) {
        *self.messages_out.entry(kind).or_default() += 1;
    }

    pub(crate) fn count_rejected(&mut self, reason: &'static str) {
        *self.rejected.entry(reason).or_default() += 1;
    }

    /// All rejected messages, every reason.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}
