//! Component kinds and what every crate needs of them (docs/topology.md), and the
//! status vocabulary (docs/protocol.md, "Status words").

use serde::{Deserialize, Serialize};

pub use crate::kinds::{Feeds, KindSpec, NodeKind, Role};

impl NodeKind {
    /// The name used in topology files and payloads.
    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// Parses a kind name; `None` for an unknown one.
    pub fn parse(name: &str) -> Option<NodeKind> {
        NodeKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Sources have no feeds and produce power.
    pub fn is_source(self) -> bool {
        self.spec().role == Role::Source
    }

    /// Loads consume power and may be dual-corded.
    pub fn is_load(self) -> bool {
        self.spec().role == Role::Load
    }

    /// What every crate needs of this kind (docs/topology.md).
    pub fn spec(self) -> &'static KindSpec {
        crate::kinds::spec(self)
    }
}

impl core::fmt::Display for NodeKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Defines [`NodeState`], [`NodeState::ALL`] and each word's [`StateSpec`] from one
/// row per status word, so a word is named once (and `ALL` cannot miss one).
macro_rules! states {
    ($( $(#[$doc:meta])* $variant:ident = $word:literal, $label:literal, $tone:ident; )*) => {
        /// A node's status word (docs/protocol.md, "Status words").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum NodeState {
            $( $(#[$doc])* #[serde(rename = $word)] $variant, )*
        }

        impl NodeState {
            /// Every status word, in the order of docs/protocol.md.
            pub const ALL: [NodeState; [$( NodeState::$variant ),*].len()] =
                [$( NodeState::$variant ),*];

            /// The word, what a person reads, and how bad it is.
            pub fn spec(self) -> StateSpec {
                match self {
                    $( NodeState::$variant => StateSpec {
                        word: $word,
                        label: $label,
                        tone: Tone::$tone,
                    }, )*
                }
            }
        }
    };
}

states! {
    Ok = "ok", "OK", Good;
    /// Failed or injected fault.
    Fault = "fault", "FAULT", Bad;
    /// No upstream power.
    Unpowered = "unpowered", "UNPOWERED", Off;
    /// Breaker open, latched until `reset`.
    Tripped = "tripped", "TRIPPED", Bad;
    /// Above rating, not yet tripped.
    Overload = "overload", "OVERLOAD", Warn;
    OnBattery = "on_battery", "ON BATTERY", Warn;
    /// UPS static bypass.
    Bypass = "bypass", "BYPASS", Warn;
    /// Generator ready, not running.
    Standby = "standby", "STANDBY", Off;
    Starting = "starting", "STARTING", Warn;
    Cooldown = "cooldown", "COOLDOWN", Off;
    OutOfFuel = "out_of_fuel", "NO FUEL", Bad;
    /// Board not connected (engine-side only).
    Offline = "offline", "OFFLINE", Off;
    /// Isolated by an operator (`open`, `epo`), or locked out.
    Open = "open", "OPEN", Warn;
    /// UPS module isolated, its load on the wrap-around bypass.
    MaintenanceBypass = "maintenance_bypass", "MAINT BYPASS", Warn;
    /// Generator control switch in OFF: it will not start.
    Off = "off", "OFF", Bad;
    /// Server stopped by its own thermal protection (inlet at `shutdown_c`);
    /// `reset` restarts it once the inlet is below `shutdown_c`.
    Shutdown = "shutdown", "SHUTDOWN", Bad;
}

impl NodeState {
    /// The word used on the wire.
    pub fn as_str(self) -> &'static str {
        self.spec().word
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

/// How a status word is shown: a good, warning, bad or quiet (not running) state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Good,
    Warn,
    Bad,
    Off,
}

/// A status word as the schema describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StateSpec {
    /// On the wire.
    pub word: &'static str,
    /// What a person reads (upper case, as on a panel).
    pub label: &'static str,
    pub tone: Tone,
}
