//! A procedure's `[[step]]`s played headless (docs/scenarios.md, "Procedures"): from
//! the first step of the simulation at or after `procedure_at_s`, each step is sent
//! `after_s` after the previous one finished; it finishes when its `wait_for` holds
//! (at once without one). A step refused by an interlock, or whose `wait_for` does not
//! hold within `within_s`, fails, and no later step is sent. On request the player
//! keeps a copy of the site as each interval between steps begins: what the
//! procedure's exposure is computed from (crates/analysis).

use winter_river_protocol::EventKind;

use super::run::Plant;
use super::{ProcedureStep, ScenarioError, TIME_EPS_S};
use crate::field::FieldValue;
use crate::simulator::Simulator;

/// How one step of a procedure ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// Sent, accepted, and its `wait_for` (if any) held.
    Done,
    /// The interlocks refused the command (the simulator's `refused` event).
    Refused {
        /// The refusal's reason, as the simulator gives it.
        reason: String,
    },
    /// Its `wait_for` did not hold within `within_s` (or by the end of the run).
    TimedOut {
        /// The condition's value at the last step it was checked.
        seen: FieldValue,
        /// When that was \[s\].
        seen_t_s: f64,
        /// The run ended before `within_s` had passed.
        by_end: bool,
    },
    /// Never sent: the run ended first, or an earlier step failed.
    NotReached,
}

impl StepOutcome {
    /// `done`, `refused`, `timed_out` or `not_reached` (JSON).
    pub fn name(&self) -> &'static str {
        match self {
            StepOutcome::Done => "done",
            StepOutcome::Refused { .. } => "refused",
            StepOutcome::TimedOut { .. } => "timed_out",
            StepOutcome::NotReached => "not_reached",
        }
    }
}

/// What became of one `[[step]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// Index into [`super::Scenario::steps`] (step number − 1).
    pub index: usize,
    /// When it was sent \[s\]: the step at which the command applies.
    pub sent_at_s: Option<f64>,
    /// When it finished \[s\]: done, refused or timed out.
    pub finished_at_s: Option<f64>,
    pub outcome: StepOutcome,
}

impl StepReport {
    /// Why the step failed, in words (`None` when it was done): `refused: <reason>`,
    /// `timed out: ups_a.status == "bypass" not met within 5 s (seen "ok" at
    /// t=35.0s)`, `not reached: …`. `step` is the step reported on; `run_end_s` is
    /// when the run ended \[s\].
    pub fn why(&self, step: &ProcedureStep, run_end_s: f64) -> Option<String> {
        match &self.outcome {
            StepOutcome::Done => None,
            StepOutcome::Refused { reason } => Some(format!("refused: {reason}")),
            StepOutcome::TimedOut {
                seen,
                seen_t_s,
                by_end,
            } => {
                let (condition, within_s) =
                    step.wait_for.as_ref().map_or((String::new(), 0.0), |w| {
                        (w.condition.describe_condition(), w.within_s)
                    });
                let limit = if *by_end {
                    format!(
                        "by the end of the run at t={run_end_s:.1}s ({:.1} s of its {within_s} s)",
                        run_end_s - self.sent_at_s.unwrap_or(run_end_s)
                    )
                } else {
                    format!("within {within_s} s")
                };
                Some(format!(
                    "timed out: {condition} not met {limit} (seen {seen} at t={seen_t_s:.1}s)"
                ))
            }
            StepOutcome::NotReached => Some(format!(
                "not reached: the run ended at t={run_end_s:.1}s before it was sent"
            )),
        }
    }
}

/// A copy of the site as an interval of the procedure begins: before step 1 (when
/// the procedure starts), then each time a step is done.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Steps done when it was taken: 0 = the procedure's start, before step 1.
    pub after_step: usize,
    /// When the interval begins \[s\].
    pub t_s: f64,
    /// The simulator then; a failure simulated from it applies at its next step.
    pub sim: Simulator,
}

impl ProcedureStep {
    /// `ups_a ups_mode mode=maintenance_bypass`, as reports name a step (the command
    /// in the protocol's words, as the checklist and the debrief write it).
    pub fn describe(&self) -> String {
        format!("{} {}", self.node, self.command.words())
    }
}

/// Where the procedure is.
#[derive(Debug, Clone)]
enum Phase {
    /// Before `procedure_at_s`.
    Waiting,
    /// Step `k` is sent at the first step at or after `at_s`.
    Due { k: usize, at_s: f64 },
    /// Step `k` was sent at `sent_at_s` and waits for its condition.
    Sent {
        k: usize,
        sent_at_s: f64,
        seen: FieldValue,
        seen_t_s: f64,
    },
    /// Every step done, or one failed.
    Ended,
}

/// Plays a scenario's steps on a [`Plant`], step by step of the run.
#[derive(Debug)]
pub(crate) struct Player<'a> {
    steps: &'a [ProcedureStep],
    start_at_s: f64,
    phase: Phase,
    reports: Vec<StepReport>,
    /// `None`: not asked for.
    snapshots: Option<Vec<Snapshot>>,
}

impl<'a> Player<'a> {
    pub(crate) fn new(steps: &'a [ProcedureStep], start_at_s: f64, keep: bool) -> Player<'a> {
        Player {
            steps,
            start_at_s,
            phase: Phase::Waiting,
            reports: (0..steps.len())
                .map(|index| StepReport {
                    index,
                    sent_at_s: None,
                    finished_at_s: None,
                    outcome: StepOutcome::NotReached,
                })
                .collect(),
            snapshots: keep.then(Vec::new),
        }
    }

    /// Whether the procedure is over: every step done, or one failed.
    pub(crate) fn ended(&self) -> bool {
        matches!(self.phase, Phase::Ended)
    }

    /// Before the scenario's events of the next step are sent: the procedure starts
    /// at the first step at or after `procedure_at_s`, and the site as it is then is
    /// the first interval's.
    pub(crate) fn start_if_due(&mut self, sim: &Simulator) {
        let Phase::Waiting = self.phase else {
            return;
        };
        let t_next = sim.next_time_s();
        if t_next + TIME_EPS_S < self.start_at_s {
            return;
        }
        self.keep(0, t_next, sim);
        self.phase = match self.steps.first() {
            Some(s) => Phase::Due {
                k: 0,
                at_s: t_next + s.after_s,
            },
            None => Phase::Ended,
        };
    }

    /// Sends the step that is due at the plant's next step, if one is. Fails only if
    /// the plant drops the command (the error names the `[[step]]`).
    pub(crate) fn send_due<P: Plant>(&mut self, plant: &mut P) -> Result<(), ScenarioError> {
        let Phase::Due { k, at_s } = self.phase else {
            return Ok(());
        };
        let t_next = plant.simulator().next_time_s();
        if at_s > t_next + TIME_EPS_S {
            return Ok(());
        }
        let step = &self.steps[k];
        plant
            .command(&step.node, &step.command)
            .map_err(|reason| ScenarioError::at(&step.loc, "step", reason))?;
        self.reports[k].sent_at_s = Some(t_next);
        self.phase = Phase::Sent {
            k,
            sent_at_s: t_next,
            seen: FieldValue::Missing,
            seen_t_s: t_next,
        };
        Ok(())
    }

    /// After the plant computed a step: a refusal at the step the command applied, or
    /// the `wait_for` holding, or its time running out, ends the step sent.
    pub(crate) fn observe(&mut self, sim: &Simulator) {
        let Phase::Sent {
            k,
            sent_at_s,
            ref mut seen,
            ref mut seen_t_s,
        } = self.phase
        else {
            return;
        };
        let t = sim.time_s();
        let step = &self.steps[k];
        if (t - sent_at_s).abs() <= TIME_EPS_S
            && let Some(reason) = refusal(sim, step)
        {
            self.finish(k, t, StepOutcome::Refused { reason });
            self.phase = Phase::Ended;
            return;
        }
        if let Some(w) = &step.wait_for {
            let value = w.condition.value_in(sim);
            if !w.condition.holds(&value) {
                *seen = value;
                *seen_t_s = t;
                if t + TIME_EPS_S >= sent_at_s + w.within_s {
                    let outcome = StepOutcome::TimedOut {
                        seen: seen.clone(),
                        seen_t_s: t,
                        by_end: false,
                    };
                    self.finish(k, t, outcome);
                    self.phase = Phase::Ended;
                }
                return;
            }
        }
        self.finish(k, t, StepOutcome::Done);
        self.keep(k + 1, t, sim);
        self.phase = match self.steps.get(k + 1) {
            Some(next) => Phase::Due {
                k: k + 1,
                at_s: t + next.after_s,
            },
            None => Phase::Ended,
        };
    }

    /// The steps' outcomes and the snapshots, once the run is over: a step still
    /// waiting for its condition timed out by the end; those never sent stay not
    /// reached.
    pub(crate) fn finish_run(mut self) -> (Vec<StepReport>, Vec<Snapshot>) {
        if let Phase::Sent {
            k,
            ref seen,
            seen_t_s,
            ..
        } = self.phase
        {
            let outcome = StepOutcome::TimedOut {
                seen: seen.clone(),
                seen_t_s,
                by_end: true,
            };
            self.reports[k].outcome = outcome;
        }
        (self.reports, self.snapshots.unwrap_or_default())
    }

    fn finish(&mut self, k: usize, t: f64, outcome: StepOutcome) {
        self.reports[k].finished_at_s = Some(t);
        self.reports[k].outcome = outcome;
    }

    fn keep(&mut self, after_step: usize, t_s: f64, sim: &Simulator) {
        if let Some(s) = self.snapshots.as_mut() {
            s.push(Snapshot {
                after_step,
                t_s,
                sim: sim.clone(),
            });
        }
    }
}

/// The reason of the simulator's `refused` event for this step's node and command in
/// its latest step, if it raised one.
fn refusal(sim: &Simulator, step: &ProcedureStep) -> Option<String> {
    let name = step.command.name();
    sim.events()
        .iter()
        .find(|e| {
            e.event == EventKind::Refused
                && e.node_id == step.node
                && e.command.as_deref() == Some(name)
        })
        .map(|e| e.reason.clone().unwrap_or_else(|| e.message.clone()))
}
