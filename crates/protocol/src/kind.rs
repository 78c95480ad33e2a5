//! Component kinds (DESIGN §4) and the status vocabulary (DESIGN §3).

use serde::{Deserialize, Serialize};

/// What a node stands for in the power chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Utility,
    Generator,
    Transformer,
    Switchgear,
    Distribution,
    Ups,
    Pdu,
    Server,
    Cooling,
    Load,
}

impl NodeKind {
    /// Every kind, in the order of DESIGN §4.
    pub const ALL: [NodeKind; 10] = [
        NodeKind::Utility,
        NodeKind::Generator,
        NodeKind::Transformer,
        NodeKind::Switchgear,
        NodeKind::Distribution,
        NodeKind::Ups,
        NodeKind::Pdu,
        NodeKind::Server,
        NodeKind::Cooling,
        NodeKind::Load,
    ];

    /// The name used in topology files and payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Utility => "utility",
            NodeKind::Generator => "generator",
            NodeKind::Transformer => "transformer",
            NodeKind::Switchgear => "switchgear",
            NodeKind::Distribution => "distribution",
            NodeKind::Ups => "ups",
            NodeKind::Pdu => "pdu",
            NodeKind::Server => "server",
            NodeKind::Cooling => "cooling",
            NodeKind::Load => "load",
        }
    }

    /// Parses a kind name; `None` for an unknown one.
    pub fn parse(name: &str) -> Option<NodeKind> {
        NodeKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Sources have no feeds and produce power.
    pub fn is_source(self) -> bool {
        matches!(self, NodeKind::Utility | NodeKind::Generator)
    }

    /// Loads consume power and may be dual-corded.
    pub fn is_load(self) -> bool {
        matches!(self, NodeKind::Server | NodeKind::Cooling | NodeKind::Load)
    }
}

impl core::fmt::Display for NodeKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node's status word (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    Ok,
    /// Failed or injected fault.
    Fault,
    /// No upstream power.
    Unpowered,
    /// Breaker open, latched until `reset`.
    Tripped,
    /// Above rating, not yet tripped.
    Overload,
    OnBattery,
    /// UPS static bypass.
    Bypass,
    /// Generator ready, not running.
    Standby,
    Starting,
    Cooldown,
    OutOfFuel,
    /// Board not connected (engine-side only).
    Offline,
}

impl NodeState {
    /// Every status word, in the order of DESIGN §3.
    pub const ALL: [NodeState; 12] = [
        NodeState::Ok,
        NodeState::Fault,
        NodeState::Unpowered,
        NodeState::Tripped,
        NodeState::Overload,
        NodeState::OnBattery,
        NodeState::Bypass,
        NodeState::Standby,
        NodeState::Starting,
        NodeState::Cooldown,
        NodeState::OutOfFuel,
        NodeState::Offline,
    ];

    /// The word used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Ok => "ok",
            NodeState::Fault => "fault",
            NodeState::Unpowered => "unpowered",
            NodeState::Tripped => "tripped",
            NodeState::Overload => "overload",
            NodeState::OnBattery => "on_battery",
            NodeState::Bypass => "bypass",
            NodeState::Standby => "standby",
            NodeState::Starting => "starting",
            NodeState::Cooldown => "cooldown",
            NodeState::OutOfFuel => "out_of_fuel",
            NodeState::Offline => "offline",
        }
    }

    /// Parses a status word; `None` for an unknown one.
    pub fn parse(word: &str) -> Option<NodeState> {
        NodeState::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl core::fmt::Display for NodeState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
