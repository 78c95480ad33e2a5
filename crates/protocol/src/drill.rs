//! Live drills on the wire (docs/drills.md, docs/protocol.md "Drills"): who sent an
//! operator's command (its channel), the instructor's drill commands on
//! `<p>/system/drill/command`, and the retained progress on `<p>/system/drill`.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::kind::Tone;

macro_rules! channels {
    ($( $(#[$doc:meta])* $variant:ident = $word:literal, $label:literal; )*) => {
        /// Where an operator's command came from: the optional `channel` field of a
        /// Command JSON. Absent or unknown words read as [`Channel::Mqtt`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Channel {
            $( $(#[$doc])* #[serde(rename = $word)] $variant, )*
        }

        impl Channel {
            pub const ALL: &'static [Channel] = &[ $( Channel::$variant, )* ];

            /// The word on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $( Channel::$variant => $word, )* }
            }

            /// As a debrief names it.
            pub fn label(self) -> &'static str {
                match self { $( Channel::$variant => $label, )* }
            }
        }
    };
}

channels! {
    /// Any MQTT client that did not say (scripts, `mosquitto_pub`).
    #[default]
    Mqtt = "mqtt", "MQTT";
    /// The dashboard's buttons.
    Dashboard = "dashboard", "dashboard";
    /// The `winter-river` command line.
    Cli = "cli", "command line";
    /// A board's own button or knob.
    Board = "board", "board";
    /// A drill's inject, fired by the engine (on time or by the instructor's hand).
    Inject = "inject", "inject";
    /// A scenario played headless (`scenario run`).
    Scenario = "scenario", "scenario";
}

impl Channel {
    /// The channel a word names; unknown words (a newer sender) are `mqtt`.
    pub fn parse(word: &str) -> Channel {
        Channel::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == word)
            .unwrap_or(Channel::Mqtt)
    }
}

impl core::fmt::Display for Channel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The instructor's command on `<p>/system/drill/command`:
/// `{"command": "start"|"stop"|"inject"|"load", "params": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", content = "params", rename_all = "snake_case")]
pub enum DrillCommand {
    /// Reset the site to the drill's starting state and start its clock.
    Start {},
    /// End the drill now and write its debrief.
    Stop {},
    /// Fire inject `event` (0-based index into the drill's `[[event]]`s) now.
    Inject { event: usize },
    /// Load a drill of the engine's library by file name (`utility-loss.toml`).
    Load { file: String },
}

impl DrillCommand {
    pub fn name(&self) -> &'static str {
        match self {
            DrillCommand::Start {} => "start",
            DrillCommand::Stop {} => "stop",
            DrillCommand::Inject { .. } => "inject",
            DrillCommand::Load { .. } => "load",
        }
    }
}

/// Where a drill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillState {
    /// No drill loaded (the library is still listed).
    #[default]
    None,
    /// Loaded, clock not started.
    Loaded,
    Running,
    /// Ended (duration reached or `stop`); the debrief is written.
    Finished,
}

/// A step of the checklist, as the trainee sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not done yet.
    #[default]
    Pending,
    /// Done, in order and in time.
    Done,
    /// Done after its allowance ran out.
    Late,
    /// Done before an earlier step was.
    OutOfOrder,
    /// Not done by the end.
    Missed,
}

/// An expectation's verdict so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectVerdict {
    #[default]
    Pending,
    Passed,
    Failed,
}

/// One inject of the drill (an `[[event]]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DrillInject {
    /// Index for `inject {event}`.
    pub index: usize,
    /// Drill clock time it is due \[s\].
    pub at_s: f64,
    pub node: String,
    /// `set_fault state=true`, as an operator types it.
    pub command: String,
    /// When it fired (drill clock \[s\]); `None` = not yet.
    #[serde(default)]
    pub fired_at_s: Option<f64>,
    /// Fired by the instructor's hand rather than on time.
    #[serde(default)]
    pub by_hand: bool,
}

/// One `[[step]]` and how it went.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DrillStep {
    /// 1-based, as the checklist numbers it.
    pub number: usize,
    pub note: String,
    pub node: String,
    /// `ups_mode mode=static_bypass`.
    pub command: String,
    pub state: StepState,
    /// Drill clock time it was done \[s\].
    #[serde(default)]
    pub done_at_s: Option<f64>,
    /// The channel of the command that ticked it.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// Refused attempts at this step.
    #[serde(default)]
    pub refused: u32,
}

/// One `[[expect]]` and its verdict so far.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DrillExpect {
    /// `ups_a.status == "on_battery" at t=61s`.
    pub description: String,
    pub verdict: ExpectVerdict,
}

/// One line of the drill's timeline: an inject, an operator's action (accepted or
/// refused) or a drill command.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DrillEntry {
    /// Drill clock \[s\].
    pub t: f64,
    /// `inject`, `action`, `refused`, `out_of_order`, `drill`.
    pub what: String,
    pub node: String,
    pub command: String,
    pub channel: Channel,
    /// The step it ticked (1-based), if any.
    #[serde(default)]
    pub step: Option<usize>,
    /// Why it was refused, or what it means.
    #[serde(default)]
    pub detail: Option<String>,
}

/// The retained payload of `<p>/system/drill`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DrillStatus {
    pub state: DrillState,
    /// The drill's `name`.
    #[serde(default)]
    pub name: String,
    /// Its file name in the library (or as given to `up --drill`).
    #[serde(default)]
    pub file: String,
    /// Drill clock: simulated seconds since `start` \[s\].
    #[serde(default)]
    pub clock_s: f64,
    #[serde(default)]
    pub duration_s: f64,
    #[serde(default)]
    pub injects: Vec<DrillInject>,
    #[serde(default)]
    pub steps: Vec<DrillStep>,
    #[serde(default)]
    pub expects: Vec<DrillExpect>,
    /// The latest entries of the timeline (at most [`DRILL_TIMELINE_KEPT`]).
    #[serde(default)]
    pub timeline: Vec<DrillEntry>,
    /// Out of 100, once finished.
    #[serde(default)]
    pub score: Option<u32>,
    /// The debrief page's path under the web (`/drill/debrief`), once written.
    #[serde(default)]
    pub debrief: Option<String>,
    /// Drill files the instructor can `load`.
    #[serde(default)]
    pub library: Vec<String>,
    /// Why the last drill command was refused, in words an instructor can act on.
    #[serde(default)]
    pub message: Option<String>,
    /// Drill commands the engine has answered (done or refused) since it started: a
    /// client that sent one waits for this to grow, so a refresh of the clock, an
    /// earlier refusal or someone else's is not taken for its answer.
    #[serde(default)]
    pub answered: u64,
}

/// Whether `name` may name a drill of an engine's library in `load {file}`: a plain
/// file name ending in `.toml` — no path, no hidden file, no control character, at
/// most 255 bytes — so a command from the network never reads outside the library
/// folder. The web, the engine core and the engine's folder listing all use this.
pub fn is_library_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
        && name.ends_with(".toml")
}

/// Timeline entries kept in the retained status (the debrief has them all).
pub const DRILL_TIMELINE_KEPT: usize = 50;

// ---------------------------------------------------------------- Words

/// One word of a drill's vocabulary as a person reads it: a state, a step's state,
/// a verdict or a channel (`drill` of `/api/schema`, docs/api.md). The dashboard
/// and the debrief name them from here, not from copies of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DrillWord {
    /// On the wire.
    pub word: &'static str,
    /// What a person reads.
    pub label: &'static str,
    pub tone: Tone,
}

macro_rules! words {
    ($ty:ident { $( $variant:ident = $word:literal, $label:literal, $tone:ident; )* }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[ $( $ty::$variant, )* ];

            /// The word, its label and its tone.
            pub fn spec(self) -> DrillWord {
                match self {
                    $( $ty::$variant => DrillWord { word: $word, label: $label, tone: Tone::$tone }, )*
                }
            }

            /// The word on the wire.
            pub fn as_str(self) -> &'static str {
                self.spec().word
            }

            /// As a person reads it.
            pub fn label(self) -> &'static str {
                self.spec().label
            }
        }
    };
}

words!(DrillState {
    None = "none", "No drill", Off;
    Loaded = "loaded", "Loaded", Off;
    Running = "running", "Running", Good;
    Finished = "finished", "Finished", Off;
});

words!(StepState {
    Pending = "pending", "To do", Off;
    Done = "done", "Done", Good;
    Late = "late", "Late", Warn;
    OutOfOrder = "out_of_order", "Out of order", Warn;
    Missed = "missed", "Missed", Bad;
});

words!(ExpectVerdict {
    Pending = "pending", "Pending", Off;
    Passed = "passed", "Passed", Good;
    Failed = "failed", "Failed", Bad;
});

/// Every drill word, for `/api/schema`.
#[derive(Debug, Clone, Serialize)]
pub struct DrillWords {
    pub states: Vec<DrillWord>,
    pub steps: Vec<DrillWord>,
    pub verdicts: Vec<DrillWord>,
    /// Where a command came from; `tone` is `off` for all.
    pub channels: Vec<DrillWord>,
}

impl DrillWords {
    pub fn new() -> DrillWords {
        DrillWords {
            states: DrillState::ALL.iter().map(|s| s.spec()).collect(),
            steps: StepState::ALL.iter().map(|s| s.spec()).collect(),
            verdicts: ExpectVerdict::ALL.iter().map(|v| v.spec()).collect(),
            channels: Channel::ALL
                .iter()
                .map(|c| DrillWord {
                    word: c.as_str(),
                    label: c.label(),
                    tone: Tone::Off,
                })
                .collect(),
        }
    }
}

impl Default for DrillWords {
    fn default() -> DrillWords {
        DrillWords::new()
    }
}
