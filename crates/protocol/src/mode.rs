//! Operating modes and breaker positions (docs/protocol.md, "Operator commands";
//! docs/operations.md): one row per word, with what a person reads and whether the
//! position leaves a load less protected than normal (the dashboard's risk window
//! and "not in auto" badge read this table).

use serde::{Deserialize, Serialize};

use crate::kind::Tone;

/// What one mode word means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ModeSpec {
    /// On the wire.
    pub word: &'static str,
    /// What a person reads.
    pub label: &'static str,
    /// The normal, automatic position of its kind (`normal`, `auto`).
    pub normal: bool,
    /// While in this mode, what protection the load has lost (the risk window), as
    /// a phrase to follow the mode's name ("Maintenance bypass: an input loss drops
    /// the load at once"); `None` when it loses none.
    pub risk: Option<&'static str>,
}

macro_rules! modes {
    ($( $(#[$doc:meta])* $variant:ident = $word:literal, $label:literal, $normal:literal, $risk:expr; )*) => {
        /// The position of a UPS's, a switchgear's or a generator's mode selector.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Mode {
            $( $(#[$doc])* #[serde(rename = $word)] $variant, )*
        }

        impl Mode {
            /// Every mode word, in the order of docs/protocol.md.
            pub const ALL: [Mode; [$( Mode::$variant ),*].len()] = [$( Mode::$variant ),*];

            pub fn spec(self) -> ModeSpec {
                match self {
                    $( Mode::$variant => ModeSpec {
                        word: $word,
                        label: $label,
                        normal: $normal,
                        risk: $risk,
                    }, )*
                }
            }
        }
    };
}

modes! {
    /// UPS: on its inverter, battery behind it.
    Normal = "normal", "Normal", true, None;
    /// UPS: load fed from the input through the static switch.
    StaticBypass = "static_bypass", "Static bypass", false,
        Some("no battery behind the load");
    /// UPS: module isolated, load wired around it to its input.
    MaintenanceBypass = "maintenance_bypass", "Maintenance bypass", false,
        Some("an input loss drops the load at once");
    /// Switchgear, generator: automatic.
    Auto = "auto", "Auto", true, None;
    /// Switchgear: transfers only by hand.
    Manual = "manual", "Manual", false,
        Some("no automatic transfer on a utility loss");
    /// Switchgear: load held on the feed in use by the bypass switch.
    Bypass = "bypass", "Bypass", false,
        Some("no transfer on a loss of the feed in use");
    /// Generator: control switch in OFF.
    Off = "off", "Off", false, Some("it will not start");
    /// Generator: running by hand.
    Run = "run", "Run", false, None;
}

/// A UPS's modes.
pub const UPS_MODES: &[Mode] = &[Mode::Normal, Mode::StaticBypass, Mode::MaintenanceBypass];
/// A switchgear's (ATS's) modes.
pub const ATS_MODES: &[Mode] = &[Mode::Auto, Mode::Manual, Mode::Bypass];
/// A generator's modes.
pub const GENERATOR_MODES: &[Mode] = &[Mode::Auto, Mode::Off, Mode::Run];

impl Mode {
    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        self.spec().word
    }

    /// Parses a mode word; `None` for an unknown one.
    pub fn parse(word: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == word)
    }
}

impl core::fmt::Display for Mode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one breaker position means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BreakerSpec {
    pub word: &'static str,
    pub label: &'static str,
    pub tone: Tone,
}

macro_rules! breakers {
    ($( $(#[$doc:meta])* $variant:ident = $word:literal, $label:literal, $tone:ident; )*) => {
        /// The position of a node's own isolating device (every node; a source's
        /// output breaker).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Breaker {
            $( $(#[$doc])* #[serde(rename = $word)] $variant, )*
        }

        impl Breaker {
            pub const ALL: [Breaker; [$( Breaker::$variant ),*].len()] = [$( Breaker::$variant ),*];

            pub fn spec(self) -> BreakerSpec {
                match self {
                    $( Breaker::$variant => BreakerSpec { word: $word, label: $label, tone: Tone::$tone }, )*
                }
            }
        }
    };
}

breakers! {
    #[default]
    Closed = "closed", "Closed", Good;
    /// Opened by an operator (or by `epo`).
    Open = "open", "Open", Warn;
    /// Opened by its protection; latched until `reset`.
    Tripped = "tripped", "Tripped", Bad;
    /// Open, locked and tagged: `close` is refused until released.
    LockedOut = "locked_out", "Locked out", Warn;
}

impl Breaker {
    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        self.spec().word
    }

    pub fn parse(word: &str) -> Option<Breaker> {
        Breaker::ALL.into_iter().find(|b| b.as_str() == word)
    }

    /// It passes power.
    pub fn is_closed(self) -> bool {
        self == Breaker::Closed
    }
}

impl core::fmt::Display for Breaker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
