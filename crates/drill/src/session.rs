//! One live drill: a scenario's injects, checklist and expectations followed on the
//! drill clock while people operate the site (docs/drills.md).

use winter_river_protocol::{
    Channel, Command, DRILL_TIMELINE_KEPT, DrillEntry, DrillExpect, DrillInject, DrillState,
    DrillStatus, DrillStep, EventKind, ExpectVerdict, NodeKind, StepState,
};
use winter_river_sim::scenario::{Expectations, TIME_EPS_S};
use winter_river_sim::{FieldValue, Scenario, Simulator};

use crate::debrief::{
    Debrief, DebriefExpect, DebriefStep, EndedBy, LowestBattery, NO_THERMAL_MODEL,
};
use crate::score::{StepCredit, score};

/// The `what` of a timeline entry ([`DrillEntry::what`]).
pub mod what {
    /// An inject fired (on time or by hand).
    pub const INJECT: &str = "inject";
    /// An operator's command the engine applied (ticking a step in order, or none).
    pub const ACTION: &str = "action";
    /// An operator's command an interlock refused.
    pub const REFUSED: &str = "refused";
    /// An operator's command that ticked a step while an earlier one was pending.
    pub const OUT_OF_ORDER: &str = "out_of_order";
    /// The drill started or ended.
    pub const DRILL: &str = "drill";
}

/// A command the engine accepted, waiting for the step that applies it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Action {
    node: String,
    #[serde(with = "winter_river_sim::snapshot::wire_command")]
    command: Command,
    channel: Channel,
    /// For an inject: its index, and whether the instructor fired it by hand.
    inject: Option<(usize, bool)>,
}

/// A step of the checklist and how it is going.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Step {
    wire: DrillStep,
    late: bool,
    out_of_order: bool,
    due_at_s: Option<f64>,
}

/// One drill session (see the crate docs for the call order).
#[derive(Debug, Clone)]
pub struct Drill {
    scenario: Scenario,
    run: Run,
    changed: bool,
}

/// Everything of a session but its scenario: what changes as the drill runs, and
/// what [`DrillProgress`] saves.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Run {
    file: String,
    state: DrillState,
    /// Simulated time of the drill clock's 0 \[s\].
    start_sim_s: f64,
    /// Drill clock at the latest step \[s\].
    clock_s: f64,
    injects: Vec<DrillInject>,
    /// Fired injects whose command the engine has not handed back yet.
    fired: Vec<(usize, bool)>,
    steps: Vec<Step>,
    expectations: Expectations,
    expects: Vec<DrillExpect>,
    pending: Vec<Action>,
    timeline: Vec<DrillEntry>,
    refused_actions: u32,
    it_kwh_at_start: f64,
    it_kwh_now: f64,
    lowest_battery: Option<LowestBattery>,
    /// The highest server inlet seen \[°C\]; `None` on a site without a server in
    /// a room (and in progress saved before rooms existed).
    #[serde(default)]
    highest_inlet_c: Option<f64>,
    /// The drill topology's UPSs (the site runs that topology from the start on).
    ups_nodes: Vec<usize>,
    score: Option<u32>,
}

impl Drill {
    /// A drill loaded from `scenario`; `file` names it (its library name, or the
    /// path given to `up --drill`).
    pub fn new(scenario: Scenario, file: impl Into<String>) -> Drill {
        let injects = scenario
            .events
            .iter()
            .enumerate()
            .map(|(index, e)| DrillInject {
                index,
                at_s: e.at_s,
                node: e.node.clone(),
                command: e.command.words(),
                fired_at_s: None,
                by_hand: false,
            })
            .collect();
        let steps = scenario
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| Step {
                wire: DrillStep {
                    number: i + 1,
                    note: s.note.clone(),
                    node: s.node.clone(),
                    command: s.command.words(),
                    ..DrillStep::default()
                },
                late: false,
                out_of_order: false,
                due_at_s: None,
            })
            .collect();
        let expects = scenario
            .expects
            .iter()
            .map(|e| DrillExpect {
                description: e.describe(),
                verdict: ExpectVerdict::Pending,
            })
            .collect();
        let ups_nodes = (0..scenario.topology.len())
            .filter(|&i| scenario.topology.node(i).kind() == NodeKind::Ups)
            .collect();
        Drill {
            run: Run {
                expectations: Expectations::new(&scenario.expects),
                file: file.into(),
                state: DrillState::Loaded,
                start_sim_s: 0.0,
                clock_s: 0.0,
                injects,
                fired: Vec::new(),
                steps,
                expects,
                pending: Vec::new(),
                timeline: Vec::new(),
                refused_actions: 0,
                it_kwh_at_start: 0.0,
                it_kwh_now: 0.0,
                lowest_battery: None,
                highest_inlet_c: None,
                ups_nodes,
                score: None,
            },
            scenario,
            changed: true,
        }
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn file(&self) -> &str {
        &self.run.file
    }

    pub fn state(&self) -> DrillState {
        self.run.state
    }

    pub fn is_running(&self) -> bool {
        self.run.state == DrillState::Running
    }

    /// Drill clock at the latest step \[s\].
    pub fn clock_s(&self) -> f64 {
        self.run.clock_s
    }

    /// The drill clock at simulated time `sim_time_s` \[s\], to the millisecond
    /// (step times are whole milliseconds; the difference of two is not exact).
    pub fn clock_at(&self, sim_time_s: f64) -> f64 {
        ((sim_time_s - self.run.start_sim_s) * 1000.0).round() / 1000.0
    }

    /// Starts the clock: drill time 0 is simulated time `start_sim_s` (the fresh
    /// site's first step); `it_kwh_unserved` is the site's count then \[kWh\].
    /// Only a loaded drill starts (a finished one is loaded again first).
    pub fn start(&mut self, start_sim_s: f64, it_kwh_unserved: f64) {
        if self.run.state != DrillState::Loaded {
            return;
        }
        self.run.state = DrillState::Running;
        self.run.start_sim_s = start_sim_s;
        self.run.clock_s = 0.0;
        self.run.it_kwh_at_start = it_kwh_unserved;
        self.run.it_kwh_now = it_kwh_unserved;
        self.push(DrillEntry {
            t: 0.0,
            what: what::DRILL.into(),
            node: winter_river_protocol::SYSTEM_ID.into(),
            command: "start".into(),
            detail: Some(format!(
                "the site reset to the drill's starting state at simulated t={start_sim_s:.1}s"
            )),
            ..DrillEntry::default()
        });
    }

    /// The injects due by drill time `clock_s` (the next step's), in time order
    /// (file order among equal times), each marked fired. The engine sends each
    /// through its command path with `Channel::Inject`.
    pub fn due_injects(&mut self, clock_s: f64) -> Vec<(String, Command)> {
        if !self.is_running() {
            return Vec::new();
        }
        let mut due: Vec<usize> = (0..self.run.injects.len())
            .filter(|&i| {
                self.run.injects[i].fired_at_s.is_none()
                    && self.run.injects[i].at_s <= clock_s + TIME_EPS_S
            })
            .collect();
        due.sort_by(|&a, &b| {
            self.run.injects[a]
                .at_s
                .total_cmp(&self.run.injects[b].at_s)
        });
        due.into_iter()
            .map(|i| self.fire(i, clock_s, false))
            .collect()
    }

    /// Fires inject `index` now, by the instructor's hand; refused (in words for the
    /// instructor) when the drill is not running, there is no such inject, or it
    /// has fired already.
    pub fn fire_by_hand(
        &mut self,
        index: usize,
        clock_s: f64,
    ) -> Result<(String, Command), String> {
        if !self.is_running() {
            return Err(format!(
                "inject {index}: the drill is not running; start it first"
            ));
        }
        let Some(inject) = self.run.injects.get(index) else {
            return Err(match self.run.injects.len() {
                0 => format!("inject {index}: this drill has no injects"),
                n => format!(
                    "inject {index}: this drill has {n} inject{} (0 to {})",
                    if n == 1 { "" } else { "s" },
                    n - 1
                ),
            });
        };
        if let Some(at) = inject.fired_at_s {
            return Err(format!(
                "inject {index} ({} {}) already fired at t={at:.1}s; an inject fires once",
                inject.node, inject.command
            ));
        }
        Ok(self.fire(index, clock_s, true))
    }

    fn fire(&mut self, i: usize, clock_s: f64, by_hand: bool) -> (String, Command) {
        self.run.injects[i].fired_at_s = Some(clock_s);
        self.run.injects[i].by_hand = by_hand;
        self.run.fired.push((i, by_hand));
        self.changed = true;
        let e = &self.scenario.events[i];
        (e.node.clone(), e.command.clone())
    }

    /// A command the engine accepted for `node` (a node id or `system`), from
    /// `channel`; the step that applies it settles it ([`Drill::after_step`]).
    pub fn on_command(&mut self, node: &str, command: &Command, channel: Channel, _clock_s: f64) {
        if !self.is_running() {
            return;
        }
        let inject = if channel == Channel::Inject {
            let events = &self.scenario.events;
            self.run
                .fired
                .iter()
                .position(|&(i, _)| events[i].node == node && events[i].command == *command)
                .map(|k| self.run.fired.remove(k))
        } else {
            None
        };
        self.run.pending.push(Action {
            node: node.to_string(),
            command: command.clone(),
            channel,
            inject,
        });
    }

    /// After each step the drill's site computed, at drill time `clock_s`: settles
    /// the commands that step applied against its `refused` events (ticking steps),
    /// follows the expectations, the lowest battery, the highest inlet and the IT
    /// energy lost. Returns
    /// true once the drill clock has reached `duration_s`: the engine then calls
    /// [`Drill::finish`].
    pub fn after_step(&mut self, sim: &Simulator, clock_s: f64) -> bool {
        if !self.is_running() {
            return false;
        }
        self.run.clock_s = clock_s;
        self.settle(sim, clock_s);

        self.run
            .expectations
            .observe(&self.scenario.expects, sim, clock_s);
        for (i, e) in self.run.expects.iter_mut().enumerate() {
            let verdict = match self.run.expectations.decided(i) {
                None => ExpectVerdict::Pending,
                Some(true) => ExpectVerdict::Passed,
                Some(false) => ExpectVerdict::Failed,
            };
            if e.verdict != verdict {
                e.verdict = verdict;
                self.changed = true;
            }
        }

        self.run.it_kwh_now = sim.it_kwh_unserved();
        for &i in &self.run.ups_nodes {
            let Some(pct) = sim.node_update(i).measured.battery_pct else {
                continue;
            };
            if self
                .run
                .lowest_battery
                .as_ref()
                .is_none_or(|low| pct < low.battery_pct)
            {
                self.run.lowest_battery = Some(LowestBattery {
                    node: sim.topology().node(i).id.clone(),
                    battery_pct: pct,
                    t_s: clock_s,
                });
            }
        }
        if let Some(c) = sim.max_inlet_c() {
            self.run.highest_inlet_c = Some(self.run.highest_inlet_c.map_or(c, |h| h.max(c)));
        }
        clock_s + TIME_EPS_S >= self.scenario.duration_s
    }

    /// The commands of this step, each refused when the step raised a `refused`
    /// event for its node and command name (each event answers one command).
    fn settle(&mut self, sim: &Simulator, clock_s: f64) {
        if self.run.pending.is_empty() {
            return;
        }
        let mut refusals: Vec<Option<(&str, &str, String)>> = sim
            .events()
            .iter()
            .filter(|e| e.event == EventKind::Refused)
            .map(|e| {
                Some((
                    e.node_id.as_str(),
                    e.command.as_deref().unwrap_or_default(),
                    e.reason.clone().unwrap_or_else(|| e.message.clone()),
                ))
            })
            .collect();
        let actions = std::mem::take(&mut self.run.pending);
        let mut settled = Vec::with_capacity(actions.len());
        for action in actions {
            let refusal = refusals.iter_mut().find(|r| {
                r.as_ref().is_some_and(|(node, name, _)| {
                    *node == action.node && *name == action.command.name()
                })
            });
            let reason = refusal.and_then(Option::take).map(|(_, _, reason)| reason);
            settled.push((action, reason));
        }
        for (action, reason) in settled {
            self.record(action, reason, clock_s);
        }
    }

    fn record(&mut self, action: Action, refused: Option<String>, clock_s: f64) {
        let mut entry = DrillEntry {
            t: clock_s,
            node: action.node.clone(),
            command: action.command.words(),
            channel: action.channel,
            ..DrillEntry::default()
        };
        if let Some((index, by_hand)) = action.inject {
            entry.what = what::INJECT.into();
            let how = if by_hand { "by hand" } else { "on time" };
            entry.detail = Some(match refused {
                Some(reason) => format!("inject {index} ({how}) refused: {reason}"),
                None => format!("inject {index} ({how})"),
            });
            return self.push(entry);
        }
        let matches = |j: usize| {
            let step = &self.scenario.steps[j];
            step.node == action.node && same_action(&step.command, &action.command)
        };
        let step = (0..self.run.steps.len())
            .find(|&j| self.run.steps[j].wire.state == StepState::Pending && matches(j));
        // A repeat of a step already done (a double click, a retry) is not an attempt
        // at a later step that happens to use the same command — unless that later
        // step is the next one due.
        let next = self
            .run
            .steps
            .iter()
            .position(|s| s.wire.state == StepState::Pending);
        if let Some(j) = step
            && Some(j) != next
            && let Some(k) =
                (0..j).find(|&k| self.run.steps[k].wire.state != StepState::Pending && matches(k))
        {
            entry.what = what::ACTION.into();
            entry.detail = Some(match refused {
                Some(reason) => {
                    format!("repeat of step {} (done already), refused: {reason}", k + 1)
                }
                None => format!("repeat of step {} (done already)", k + 1),
            });
            return self.push(entry);
        }
        if let Some(reason) = refused {
            self.run.refused_actions += 1;
            entry.what = what::REFUSED.into();
            entry.detail = Some(reason);
            if let Some(j) = step {
                self.run.steps[j].wire.refused += 1;
                entry.step = Some(j + 1);
            }
            return self.push(entry);
        }
        let Some(j) = step else {
            entry.what = what::ACTION.into();
            return self.push(entry);
        };
        let out_of_order = self.run.steps[..j]
            .iter()
            .any(|s| s.wire.state == StepState::Pending);
        let due = self.due_at_s(j);
        let allowance = self.scenario.steps[j].late_after_s;
        let late = match (due, allowance) {
            (Some(due), Some(allow)) => clock_s > due + allow + TIME_EPS_S,
            _ => false,
        };
        let step = &mut self.run.steps[j];
        step.late = late;
        step.out_of_order = out_of_order;
        step.due_at_s = due;
        step.wire.done_at_s = Some(clock_s);
        step.wire.channel = Some(action.channel);
        step.wire.state = if out_of_order {
            StepState::OutOfOrder
        } else if late {
            StepState::Late
        } else {
            StepState::Done
        };
        entry.step = Some(j + 1);
        let mut detail = format!("step {} done", j + 1);
        if let (true, Some(due), Some(allow)) = (late, due, allowance) {
            detail.push_str(&format!(
                ", late: {:.1} s after it was due (allowed {allow} s)",
                clock_s - due
            ));
        }
        if out_of_order {
            let earlier: Vec<String> = self.run.steps[..j]
                .iter()
                .filter(|s| s.wire.state == StepState::Pending)
                .map(|s| s.wire.number.to_string())
                .collect();
            detail.push_str(&format!(
                ", out of order: step{} {} not done yet",
                if earlier.len() == 1 { "" } else { "s" },
                earlier.join(", ")
            ));
            entry.what = what::OUT_OF_ORDER.into();
        } else {
            entry.what = what::ACTION.into();
        }
        entry.detail = Some(detail);
        self.push(entry);
    }

    /// When step `j` (0-based) became due: step 1 at `procedure_at_s` plus its
    /// `after_s`; a later step when every step before it was done (the last of them,
    /// so one step done out of order does not make the next late too), plus its
    /// `after_s`; `None` while an earlier step is not done.
    fn due_at_s(&self, j: usize) -> Option<f64> {
        let after = self.scenario.steps[j].after_s;
        if j == 0 {
            return Some(self.scenario.procedure_at_s + after);
        }
        self.run.steps[..j]
            .iter()
            .map(|s| s.wire.done_at_s)
            .try_fold(f64::NEG_INFINITY, |latest, done| {
                done.map(|t| latest.max(t))
            })
            .map(|t| t + after)
    }

    fn push(&mut self, entry: DrillEntry) {
        self.run.timeline.push(entry);
        self.changed = true;
    }

    /// Ends the drill (duration reached or `stop`) at the latest step's clock:
    /// steps not done are missed, every expectation gets its verdict, and the
    /// debrief is made. A drill that is not running has nothing to end: `None`.
    pub fn finish(&mut self, ended_by: EndedBy) -> Option<Debrief> {
        if !self.is_running() {
            return None;
        }
        self.run.state = DrillState::Finished;
        let clock_s = self.run.clock_s;
        self.push(DrillEntry {
            t: clock_s,
            what: what::DRILL.into(),
            node: winter_river_protocol::SYSTEM_ID.into(),
            command: match ended_by {
                EndedBy::Duration => "end",
                EndedBy::Stop => "stop",
                EndedBy::Shutdown => "shutdown",
            }
            .into(),
            detail: Some(match ended_by {
                EndedBy::Duration => format!(
                    "the drill's duration ({} s) was reached",
                    self.scenario.duration_s
                ),
                EndedBy::Stop => "stopped by the instructor".into(),
                EndedBy::Shutdown => "the engine was stopped while the drill ran".into(),
            }),
            ..DrillEntry::default()
        });
        // Actions whose step never came are not settled: nothing applied them.
        self.run.pending.clear();
        for j in 0..self.run.steps.len() {
            if self.run.steps[j].wire.state == StepState::Pending {
                self.run.steps[j].due_at_s = self.due_at_s(j);
                self.run.steps[j].wire.state = StepState::Missed;
            }
        }
        let verdicts = self.run.expectations.verdicts();
        for (e, v) in self.run.expects.iter_mut().zip(&verdicts) {
            e.verdict = if v.passed {
                ExpectVerdict::Passed
            } else {
                ExpectVerdict::Failed
            };
        }
        let it_kwh_lost = (self.run.it_kwh_now - self.run.it_kwh_at_start).max(0.0);
        let credits: Vec<StepCredit> = self
            .run
            .steps
            .iter()
            .map(|s| StepCredit::of(s.wire.done_at_s.is_some(), s.late, s.out_of_order))
            .collect();
        let passed: Vec<bool> = verdicts.iter().map(|v| v.passed).collect();
        let score = score(&credits, &passed, it_kwh_lost, self.run.refused_actions);
        self.run.score = Some(score.total);
        let steps = self
            .run
            .steps
            .iter()
            .zip(&self.scenario.steps)
            .map(|(s, spec)| DebriefStep {
                number: s.wire.number,
                note: s.wire.note.clone(),
                node: s.wire.node.clone(),
                command: s.wire.command.clone(),
                state: s.wire.state,
                late: s.late,
                out_of_order: s.out_of_order,
                due_at_s: s.due_at_s,
                late_after_s: spec.late_after_s,
                done_at_s: s.wire.done_at_s,
                channel: s.wire.channel,
                refused: s.wire.refused,
            })
            .collect();
        let expects = self
            .run
            .expects
            .iter()
            .zip(&verdicts)
            .zip(&self.scenario.expects)
            .map(|((e, v), spec)| DebriefExpect {
                description: e.description.clone(),
                verdict: e.verdict,
                seen: (v.seen != FieldValue::Missing || v.seen_t_s.is_some())
                    .then(|| v.seen.to_string()),
                seen_t_s: v.seen_t_s,
                line: spec.loc.line,
            })
            .collect();
        Some(Debrief {
            drill: self.scenario.name.clone(),
            file: self.run.file.clone(),
            site: self.scenario.topology.site_name.clone(),
            started_at_sim_s: self.run.start_sim_s,
            duration_s: self.scenario.duration_s,
            ended_at_s: clock_s,
            ended_by,
            procedure_at_s: self.scenario.procedure_at_s,
            timeline: self.run.timeline.clone(),
            injects: self.run.injects.clone(),
            steps,
            expects,
            it_kwh_lost,
            lowest_battery: self.run.lowest_battery.clone(),
            highest_inlet_c: self.run.highest_inlet_c,
            highest_inlet_note: self
                .run
                .highest_inlet_c
                .is_none()
                .then(|| NO_THERMAL_MODEL.into()),
            refused_actions: self.run.refused_actions,
            score,
        })
    }

    /// The retained `<p>/system/drill` payload as far as the drill knows it (the
    /// engine adds the library, the debrief's path and its own message).
    pub fn status(&self) -> DrillStatus {
        let kept = self.run.timeline.len().saturating_sub(DRILL_TIMELINE_KEPT);
        DrillStatus {
            state: self.run.state,
            name: self.scenario.name.clone(),
            file: self.run.file.clone(),
            clock_s: self.run.clock_s,
            duration_s: self.scenario.duration_s,
            injects: self.run.injects.clone(),
            steps: self.run.steps.iter().map(|s| s.wire.clone()).collect(),
            expects: self.run.expects.clone(),
            timeline: self.run.timeline[kept..].to_vec(),
            score: self.run.score,
            ..DrillStatus::default()
        }
    }

    /// Whether anything an instructor or trainee sees changed since the last call
    /// (a step ticked, an entry, an inject fired, a verdict, the state); the clock
    /// alone is not a change.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }
}

/// Whether an operator's command carries out a step's: the same command, or for a
/// demand (`set_load`) one within 5 % (at least 0.5 kW) of the step's — a board's
/// knob does not land on 30.0 kW exactly (docs/drills.md, "How actions count").
fn same_action(step: &Command, done: &Command) -> bool {
    match (step, done) {
        (Command::SetLoad { kw: want }, Command::SetLoad { kw: got }) => {
            (want - got).abs() <= (0.05 * want.abs()).max(SET_LOAD_SLACK_KW)
        }
        _ => step == done,
    }
}

/// The least slack of a `set_load` step \[kW\].
const SET_LOAD_SLACK_KW: f64 = 0.5;

/// A drill's progress without its scenario: what the engine's state file keeps of
/// a drill (docs/live.md, "The state file"). The scenario is read again from its
/// file on restore and checked against the progress ([`Drill::restore`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DrillProgress {
    /// The scenario's name, injects, steps and expectations as loaded, to check the
    /// file read again on restore is the same drill.
    scenario_name: String,
    scenario_shape: (usize, usize, usize),
    /// The rest, as the session holds it (flat in the state file, as before).
    #[serde(flatten)]
    run: Run,
}

fn shape(s: &Scenario) -> (usize, usize, usize) {
    (s.events.len(), s.steps.len(), s.expects.len())
}

impl Drill {
    /// The drill's progress, to resume with [`Drill::restore`].
    pub fn progress(&self) -> DrillProgress {
        DrillProgress {
            scenario_name: self.scenario.name.clone(),
            scenario_shape: shape(&self.scenario),
            run: self.run.clone(),
        }
    }

    /// The drill of `scenario` resumed at `progress`: its clock, ticked steps, fired
    /// injects, timeline and verdicts so far. Refused when `scenario` is not the
    /// drill the progress was saved for (another name, or other injects, steps or
    /// expectations).
    pub fn restore(scenario: Scenario, progress: DrillProgress) -> Result<Drill, String> {
        if scenario.name != progress.scenario_name || shape(&scenario) != progress.scenario_shape {
            let (e, s, x) = progress.scenario_shape;
            let (ne, ns, nx) = shape(&scenario);
            return Err(format!(
                "the saved drill is \"{}\" ({e} injects, {s} steps, {x} expectations), \
                 its file {} now holds \"{}\" ({ne} injects, {ns} steps, {nx} expectations)",
                progress.scenario_name, progress.run.file, scenario.name
            ));
        }
        Ok(Drill {
            scenario,
            run: progress.run,
            changed: true,
        })
    }

    /// Where the drill's clock started \[s, simulated\].
    pub fn start_sim_s(&self) -> f64 {
        self.run.start_sim_s
    }
}

impl DrillProgress {
    /// The drill's file, as loaded (its library name or the path given to `up --drill`).
    pub fn file(&self) -> &str {
        &self.run.file
    }

    pub fn state(&self) -> DrillState {
        self.run.state
    }
}
