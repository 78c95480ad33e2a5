//! Event: engine → all on `<p>/system/events`, one per message (docs/protocol.md,
//! "Events"), and the vocabulary of event names.

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

macro_rules! event_kinds {
    ($( $(#[$doc:meta])* $variant:ident = $word:literal, )*) => {
        /// What happened: the `event` field of an [`Event`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum EventKind {
            $( $(#[$doc])* #[serde(rename = $word)] $variant, )*
        }

        impl EventKind {
            /// Every event name, in the order of docs/protocol.md.
            pub const ALL: &'static [EventKind] = &[ $( EventKind::$variant, )* ];

            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $( EventKind::$variant => $word, )* }
            }
        }
    };
}

event_kinds! {
    /// A component failed (or a fault was injected).
    Fault = "fault",
    /// A failed component works again.
    Restored = "restored",
    /// A breaker tripped.
    Trip = "trip",
    /// A tripped breaker was reset.
    Reset = "reset",
    /// A node lost its upstream power.
    Unpowered = "unpowered",
    /// A node has power again.
    Repowered = "repowered",
    /// A UPS carries its load from its battery.
    OnBattery = "on_battery",
    /// A UPS is back on its input.
    OnMains = "on_mains",
    /// A UPS battery ran empty.
    BatteryDepleted = "battery_depleted",
    /// A UPS went to static bypass.
    Bypass = "bypass",
    /// A node is above its rating.
    Overload = "overload",
    /// A node left bypass or overload.
    Normal = "normal",
    /// A generator is starting.
    Start = "start",
    /// A generator is running.
    Running = "running",
    /// A generator runs unloaded before it stops.
    Cooldown = "cooldown",
    /// A generator is ready, not running.
    Standby = "standby",
    /// A generator ran out of fuel.
    OutOfFuel = "out_of_fuel",
    /// A switchgear or STS moved to an alternate feed.
    Transfer = "transfer",
    /// A switchgear or STS went back to its preferred feed.
    Retransfer = "retransfer",
    /// A board connected.
    Online = "online",
    /// A board disconnected.
    Offline = "offline",
    /// An interlock refused an operator's command (`command`, `reason`).
    Refused = "refused",
    /// A UPS's, switchgear's or generator's mode changed (or an ATS transfer test
    /// started or ended); a warning when it leaves the normal position.
    Mode = "mode",
    /// A node's breaker was opened (by an operator or by `epo`).
    Open = "open",
    /// A node's breaker was closed.
    Close = "close",
    /// A node was locked out and tagged, or released.
    Lockout = "lockout",
    /// A room's air is above its class's recommended maximum (or fell back below
    /// the allowable maximum but not yet below the recommended one).
    TemperatureHigh = "temperature_high",
    /// A room's air is above its class's allowable maximum.
    TemperatureCritical = "temperature_critical",
    /// A room's air is back at or below its class's recommended maximum.
    TemperatureNormal = "temperature_normal",
    /// A server stopped itself: its inlet reached its `shutdown_c`.
    ThermalShutdown = "thermal_shutdown",
}

impl Event {
    /// An event about `node_id` at `t` \[s\], without a `to`.
    pub fn new(
        t: f64,
        node_id: impl Into<String>,
        event: EventKind,
        severity: Severity,
        message: String,
    ) -> Event {
        Event {
            t,
            node_id: node_id.into(),
            event,
            severity,
            message,
            to: None,
            command: None,
            reason: None,
        }
    }

    /// The same event, saying which operator command caused it.
    pub fn caused_by(self, command: &str) -> Event {
        Event {
            command: Some(command.into()),
            ..self
        }
    }
}

impl EventKind {
    /// Parses an event name; `None` for an unknown one.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|e| e.as_str() == name)
    }
}

impl core::fmt::Display for EventKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened at a simulated time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Simulated time \[s\].
    pub t: f64,
    pub node_id: String,
    pub event: EventKind,
    pub severity: Severity,
    pub message: String,
    /// For `transfer` / `retransfer`: the feed now in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The operator command this event answers (`refused`, `open`, `mode`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// For `refused`: why, in words a trainee can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
