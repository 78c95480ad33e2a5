//! Scenario files (docs/scenarios.md): the model, the parser (`parse`) and the runner (`run`).
//!
//! A scenario names a topology, a duration, timed commands (`[[event]]`) and
//! expectations on Status / SystemStatus fields (`[[expect]]`). Parsing is pure: the
//! caller hands in the scenario text and a function that returns the topology text.

mod expectations;
mod parse;
mod procedure;
mod run;

use std::fmt;

use winter_river_protocol::{Command, Event, EventKind};

use crate::field::{FieldValue, Target};
use crate::topology::{Loc, Override, Topology, TopologyError};

pub use crate::simulator::TIME_EPS_S;
pub use expectations::{Expectations, Verdict};
pub use procedure::{Snapshot, StepOutcome, StepReport};
pub use run::{
    DEFAULT_SAMPLE_EVERY_S, Plant, RECORDED_EXTRA, Recording, RunOptions, RunReport, SYSTEM_SERIES,
    Series, SeriesValues, recorded_extra, run, run_on,
};

/// Default step \[ms\] (docs/physics.md).
pub const DEFAULT_STEP_MS: u32 = 100;
/// Default absolute tolerance for number comparisons.
pub const DEFAULT_TOLERANCE: f64 = 1e-6;

/// A scenario that could not be loaded or run: the file, the line, the key and the
/// reason. Displayed as `file:line: `key`: reason`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {}{reason}", line.map(|l| format!(":{l}")).unwrap_or_default(), key.as_ref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
pub struct ScenarioError {
    pub file: String,
    /// 1-based line, when the error has one.
    pub line: Option<usize>,
    /// The key the error is about (`duration_s`, `event.node`, `expect.field`, …).
    pub key: Option<String>,
    pub reason: String,
}

impl ScenarioError {
    pub(crate) fn at(loc: &Loc, key: &str, reason: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: loc.file.clone(),
            line: Some(loc.line),
            key: Some(key.to_string()),
            reason: reason.into(),
        }
    }
}

impl From<TopologyError> for ScenarioError {
    fn from(e: TopologyError) -> ScenarioError {
        ScenarioError {
            file: e.file,
            line: e.line,
            key: e.key,
            reason: e.reason,
        }
    }
}

/// A checked scenario, its topology loaded with the overrides applied.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// The scenario file, as named by the caller.
    pub file: String,
    /// The topology file, resolved against the scenario's folder; `None` = built-in.
    pub topology_file: Option<String>,
    pub topology: Topology,
    /// Simulated length \[s\]; the last step computed is at or after it.
    pub duration_s: f64,
    /// Step \[ms\].
    pub step_ms: u32,
    /// `[overrides.<id>]` entries, already applied to `topology`.
    pub overrides: Vec<Override>,
    /// `[[event]]` in file order.
    pub events: Vec<ScenarioEvent>,
    /// `[[expect]]` in file order.
    pub expects: Vec<Expect>,
    /// When the procedure starts: its first step is sent at the first step at or
    /// after this time \[s\] (0 by default).
    pub procedure_at_s: f64,
    /// `[[step]]` in file order: an operator's procedure (docs/scenarios.md,
    /// "Procedures").
    pub steps: Vec<ProcedureStep>,
}

/// One step of a procedure: an instruction, the command that carries it out, and
/// what it waits for before the next step.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureStep {
    /// The instruction as a trainee reads it (may be empty).
    pub note: String,
    /// Node id, or `system` for a site-wide command.
    pub node: String,
    pub command: Command,
    /// Earliest: this long after the previous step finished \[s\].
    pub after_s: f64,
    /// Live drills: done later than this after it became due, the step is late \[s\]
    /// (`None`: never late).
    pub late_after_s: Option<f64>,
    pub wait_for: Option<WaitFor>,
    /// Where `[[step]]` is written.
    pub loc: Loc,
}

/// What a step waits for once sent: a condition (an [`Expect`] whose own window is
/// unused) that must hold within `within_s`.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitFor {
    pub condition: Expect,
    /// \[s\] after the step was sent.
    pub within_s: f64,
}

/// A command sent to a node at a simulated time.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioEvent {
    /// \[s\]
    pub at_s: f64,
    pub node: String,
    pub command: Command,
    /// Where `[[event]]` is written.
    pub loc: Loc,
}

/// When an expectation is checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// At the first step at or after `at_s`.
    At,
    /// At some step in `[at_s, until_s]`.
    Eventually { until_s: f64 },
    /// At every step in `[at_s, until_s]`.
    Always { until_s: f64 },
}

/// What an expectation's value must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Equals(Expected),
    /// Inclusive, widened by the tolerance.
    Between {
        lo: f64,
        hi: f64,
    },
}

/// The value of `equals`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Num(f64),
    Text(String),
    Bool(bool),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Num(v) => write!(f, "{v}"),
            Expected::Text(s) => write!(f, "{s:?}"),
            Expected::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One `[[expect]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// \[s\]
    pub at_s: f64,
    pub window: Window,
    /// Node id as written, or `system`.
    pub node: String,
    pub target: Target,
    pub field: String,
    /// An expectation on an event (`event = "refused"`) instead of a field: it holds
    /// when such an event (for `node`, or any node when `node` is empty) happens in
    /// its window; `field` is then `event` and `check` its name.
    pub event: Option<EventKind>,
    pub check: Check,
    /// Absolute tolerance for numbers.
    pub tolerance: f64,
    /// Where `[[expect]]` is written.
    pub loc: Loc,
}

impl Expect {
    /// Whether `value` satisfies the check.
    pub fn holds(&self, value: &FieldValue) -> bool {
        let tol = self.tolerance;
        match (&self.check, value) {
            (_, FieldValue::Missing) => false,
            (Check::Equals(Expected::Num(x)), FieldValue::Num(a)) => (a - x).abs() <= tol,
            (Check::Equals(Expected::Text(s)), FieldValue::Text(t)) => s == t,
            (Check::Equals(Expected::Bool(b)), FieldValue::Num(a)) => (*a != 0.0) == *b,
            (Check::Equals(Expected::Bool(b)), FieldValue::Text(t)) => {
                t == if *b { "true" } else { "false" }
            }
            (Check::Between { lo, hi }, FieldValue::Num(a)) => *a >= lo - tol && *a <= hi + tol,
            _ => false,
        }
    }

    /// How far a number is from satisfying the check (0 = holds); `None` when the
    /// value is not a number or the check is not numeric.
    pub fn distance(&self, value: &FieldValue) -> Option<f64> {
        let FieldValue::Num(a) = *value else {
            return None;
        };
        match self.check {
            Check::Equals(Expected::Num(x)) => Some((a - x).abs()),
            Check::Between { lo, hi } => Some((lo - a).max(a - hi).max(0.0)),
            _ => None,
        }
    }

    /// `ups_a.status == "on_battery" at t=61s`, for reports.
    pub fn describe(&self) -> String {
        let tol = if self.tolerance != DEFAULT_TOLERANCE && self.is_numeric() {
            format!(" ±{}", self.tolerance)
        } else {
            String::new()
        };
        let when = match self.window {
            Window::At => format!("at t={}s", self.at_s),
            Window::Eventually { until_s } => format!("at some t in [{}, {until_s}] s", self.at_s),
            Window::Always { until_s } => format!("always for t in [{}, {until_s}] s", self.at_s),
        };
        format!("{}{tol} {when}", self.describe_condition())
    }

    /// The condition alone, without its window or tolerance: `ups_a.status ==
    /// "bypass"`, `event mode on ups_a` (a step's `wait_for`).
    pub fn describe_condition(&self) -> String {
        match self.event {
            Some(kind) if self.node.is_empty() => format!("event {kind} on any node"),
            Some(kind) => format!("event {kind} on {}", self.node),
            None => {
                let check = match &self.check {
                    Check::Equals(v) => format!("== {v}"),
                    Check::Between { lo, hi } => format!("in [{lo}, {hi}]"),
                };
                format!("{}.{} {check}", self.node, self.field)
            }
        }
    }

    /// What this expectation sees in a step's events: the event's name if one it
    /// waits for is among them, else absent. Only for an expectation on an event.
    pub fn event_seen(&self, events: &[Event]) -> FieldValue {
        let happened = self.event.is_some_and(|kind| {
            events
                .iter()
                .any(|e| e.event == kind && (self.node.is_empty() || e.node_id == self.node))
        });
        match self.event {
            Some(kind) if happened => FieldValue::Text(kind.as_str().into()),
            _ => FieldValue::Missing,
        }
    }

    /// What this expectation sees in the simulator's latest step: its field's value,
    /// or for one on an event, whether the step raised it.
    pub fn value_in(&self, sim: &crate::simulator::Simulator) -> FieldValue {
        match self.event {
            Some(_) => self.event_seen(sim.events()),
            None => sim.field(self.target, &self.field),
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(
            self.check,
            Check::Between { .. } | Check::Equals(Expected::Num(_))
        )
    }

    /// Last time the expectation looks at \[s\].
    pub fn end_s(&self) -> f64 {
        match self.window {
            Window::At => self.at_s,
            Window::Eventually { until_s } | Window::Always { until_s } => until_s,
        }
    }

    /// `at`, `eventually` or `always`.
    pub fn window_name(&self) -> &'static str {
        match self.window {
            Window::At => "at",
            Window::Eventually { .. } => "eventually",
            Window::Always { .. } => "always",
        }
    }
}
