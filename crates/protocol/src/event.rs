//! Event: engine → all on `<p>/system/events`, one per message (DESIGN §2).

use alloc::string::String;
use serde::{Deserialize, Serialize};

/// How much an event matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Something that happened at a simulated time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Simulated time \[s\].
    pub t: f64,
    pub node_id: String,
    /// Event name: `fault`, `restored`, `unpowered`, `repowered`, `on_battery`, …
    pub event: String,
    pub severity: Severity,
    pub message: String,
}
