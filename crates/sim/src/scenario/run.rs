//! The scenario runner: drives a [`Plant`] as fast as it goes, applies the
//! scenario's commands at their times, plays its procedure's steps
//! (`super::procedure`), checks the expectations and (on request) records series for
//! CSV and plots and keeps the snapshots a procedure's exposure is computed from.
//! Pure: no I/O, no clock.
//!
//! The plant is the [`Simulator`] itself ([`run`]), or the live engine's core around
//! it (`winter_river_engine::scenario`), which takes each command as the MQTT
//! message a board or an operator would publish: the path live commands take.
//!
//! Per step it only builds statuses for the expectations whose window holds the
//! current time and for samples, so a long scenario costs little more than stepping.

use winter_river_protocol::{Command, Event, SYSTEM_ID, SystemStatus};

use super::expectations::{Expectations, Verdict};
use super::procedure::{Player, Snapshot, StepOutcome, StepReport};
use super::{Scenario, ScenarioError, TIME_EPS_S};
use crate::field::{FieldValue, system_field};
use crate::simulator::Simulator;

/// Default sampling interval of the recorder [s of simulated time].
pub const DEFAULT_SAMPLE_EVERY_S: f64 = 1.0;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Record series every this many simulated seconds; `None` = no recording.
    pub sample_every_s: Option<f64>,
    /// Keep a copy of the simulator as each interval of the procedure begins
    /// ([`RunReport::snapshots`]), for its exposure.
    pub snapshots: bool,
    /// Stop when the procedure ends (its last step done, or one failed), without
    /// checking the expectations (`mop check`).
    pub check_only: bool,
}

/// A recorded series, one value per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `it_kw` for the system, `<node>.<field>` for a node.
    pub name: String,
    pub values: SeriesValues,
}

/// The values of a [`Series`].
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesValues {
    /// `None` where the field is absent (e.g. `pue` with no IT load).
    Num(Vec<Option<f64>>),
    /// Status words.
    Text(Vec<&'static str>),
}

/// Series sampled at fixed simulated times.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recording {
    /// Sample times \[s\].
    pub time_s: Vec<f64>,
    pub series: Vec<Series>,
}

impl Recording {
    /// A series by name.
    pub fn get(&self, name: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.name == name)
    }
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Every event the simulator raised, in order.
    pub events: Vec<Event>,
    /// One per expectation, in file order.
    pub verdicts: Vec<Verdict>,
    pub recording: Option<Recording>,
    /// Steps computed.
    pub steps: u64,
    /// Time of the last step \[s\].
    pub end_time_s: f64,
    /// The site at the last step.
    pub final_system: SystemStatus,
    /// The most IT demand unserved at any step \[kW\] (0 if none was ever lost).
    pub peak_it_kw_lost: f64,
    /// When that peak was first reached \[s\]; `None` if no IT load was ever lost.
    pub peak_it_kw_lost_t_s: Option<f64>,
    /// One per `[[step]]`, in file order.
    pub procedure: Vec<StepReport>,
    /// With [`RunOptions::snapshots`]: the site as each interval of the procedure
    /// began (before step 1, then after each step done), in order.
    pub snapshots: Vec<Snapshot>,
    /// The run stopped when the procedure ended and checked no expectation
    /// ([`RunOptions::check_only`]).
    pub check_only: bool,
}

impl RunReport {
    /// Whether every expectation held and every step of the procedure was done.
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed) && self.failed_step().is_none()
    }

    /// The first step that was not done (refused, timed out or not reached).
    pub fn failed_step(&self) -> Option<&StepReport> {
        self.procedure
            .iter()
            .find(|s| s.outcome != StepOutcome::Done)
    }

    pub fn failed_count(&self) -> usize {
        self.verdicts.iter().filter(|v| !v.passed).count()
    }
}

/// Which series the recorder keeps for each node.
struct NodeColumns {
    idx: usize,
    /// Index into `Recording::series` of `<id>.power_kw`, then `.status`, then
    /// its [`RECORDED_EXTRA`] field if it reports one (a UPS's battery, a room's air).
    first: usize,
    extra: Option<&'static str>,
}

/// Kind-specific Status fields the recorder keeps as `<id>.<field>` for the nodes
/// that report them: a UPS's `battery_pct`, a room's air `temperature_c`.
pub const RECORDED_EXTRA: &[&str] = &["battery_pct", "temperature_c"];

/// The [`RECORDED_EXTRA`] field a node of this kind reports, if any.
pub fn recorded_extra(kind: winter_river_protocol::NodeKind) -> Option<&'static str> {
    RECORDED_EXTRA
        .iter()
        .copied()
        .find(|f| kind.spec().extra_fields.contains(f))
}

/// System series the recorder keeps (and a plot may show).
pub const SYSTEM_SERIES: &[&str] = &[
    "it_kw",
    "facility_kw",
    "pue",
    "it_kw_lost",
    "it_kwh_unserved",
    "runtime_s",
    "fuel_pct",
    "max_inlet_c",
];

struct Recorder {
    every_s: f64,
    next_s: f64,
    rec: Recording,
    nodes: Vec<NodeColumns>,
}

impl Recorder {
    fn new(sim: &Simulator, every_s: f64) -> Recorder {
        let mut series: Vec<Series> = SYSTEM_SERIES
            .iter()
            .map(|n| Series {
                name: (*n).to_string(),
                values: SeriesValues::Num(Vec::new()),
            })
            .collect();
        let mut nodes = Vec::new();
        for (idx, n) in sim.topology().nodes.iter().enumerate() {
            let extra = recorded_extra(n.kind());
            nodes.push(NodeColumns {
                idx,
                first: series.len(),
                extra,
            });
            series.push(Series {
                name: format!("{}.power_kw", n.id),
                values: SeriesValues::Num(Vec::new()),
            });
            series.push(Series {
                name: format!("{}.status", n.id),
                values: SeriesValues::Text(Vec::new()),
            });
            if let Some(field) = extra {
                series.push(Series {
                    name: format!("{}.{field}", n.id),
                    values: SeriesValues::Num(Vec::new()),
                });
            }
        }
        Recorder {
            every_s: every_s.max(1e-3),
            next_s: 0.0,
            rec: Recording {
                time_s: Vec::new(),
                series,
            },
            nodes,
        }
    }

    fn maybe_sample(&mut self, sim: &Simulator, t: f64) {
        if t + TIME_EPS_S < self.next_s {
            return;
        }
        while self.next_s <= t + TIME_EPS_S {
            self.next_s += self.every_s;
        }
        self.rec.time_s.push(t);
        let sys = sim.system_status();
        for (s, name) in self.rec.series.iter_mut().zip(SYSTEM_SERIES) {
            let value = match system_field(&sys, name) {
                FieldValue::Num(v) => Some(v),
                _ => None,
            };
            push_num(s, value);
        }
        for n in &self.nodes {
            // The values without the Status around them (no id to clone per sample).
            let u = sim.node_update(n.idx);
            push_num(&mut self.rec.series[n.first], u.measured.power_kw);
            if let SeriesValues::Text(v) = &mut self.rec.series[n.first + 1].values {
                v.push(sim.node_state(n.idx).as_str());
            }
            if let Some(field) = n.extra {
                let value = u.measured.number(field).flatten();
                push_num(&mut self.rec.series[n.first + 2], value);
            }
        }
    }
}

fn push_num(s: &mut Series, v: Option<f64>) {
    if let SeriesValues::Num(values) = &mut s.values {
        values.push(v.filter(|x| x.is_finite()));
    }
}

/// What a scenario drives: a simulator, directly or behind something that takes
/// commands and time the way the live system does.
pub trait Plant {
    /// The model: expectations and recordings read it after each step.
    fn simulator(&self) -> &Simulator;
    /// Applies `command` to node `node_id` (`system`: the site as a whole) at the
    /// next step; the error says why it was refused.
    fn command(&mut self, node_id: &str, command: &Command) -> Result<(), String>;
    /// Computes exactly one step (the first computes t = 0).
    fn step(&mut self);
}

impl Plant for Simulator {
    fn simulator(&self) -> &Simulator {
        self
    }

    fn command(&mut self, node_id: &str, command: &Command) -> Result<(), String> {
        let done = if node_id == SYSTEM_ID {
            Simulator::site_command(self, command)
        } else {
            Simulator::command(self, node_id, command)
        };
        done.map_err(|e| e.to_string())
    }

    fn step(&mut self) {
        Simulator::step(self);
    }
}

/// Runs a scenario to its end on a fresh simulator. Fails only if the simulator
/// takes one of its commands as bad input (the error names the `[[event]]` or
/// `[[step]]`); an interlock's refusal is an event, and fails a step.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<RunReport, ScenarioError> {
    let mut sim = Simulator::new(scenario.topology.clone(), scenario.step_ms);
    run_on(&mut sim, scenario, options)
}

/// Runs a scenario to its end on `plant` (with [`RunOptions::check_only`], until its
/// procedure ends), which must not have stepped yet and must step
/// `scenario.step_ms` at a time.
pub fn run_on<P: Plant>(
    plant: &mut P,
    scenario: &Scenario,
    options: &RunOptions,
) -> Result<RunReport, ScenarioError> {
    // Events in time order, file order among equal times.
    let mut event_order: Vec<usize> = (0..scenario.events.len()).collect();
    event_order.sort_by(|&a, &b| scenario.events[a].at_s.total_cmp(&scenario.events[b].at_s));
    let mut next_event = 0;

    let mut expectations = Expectations::new(&scenario.expects);
    let mut player = Player::new(&scenario.steps, scenario.procedure_at_s, options.snapshots);

    let mut recorder = options
        .sample_every_s
        .map(|s| Recorder::new(plant.simulator(), s));
    let mut timeline = Vec::new();
    let mut steps = 0u64;
    let mut peak_it_kw_lost = 0.0_f64;
    let mut peak_it_kw_lost_t_s = None;

    loop {
        player.start_if_due(plant.simulator());
        let t_next = plant.simulator().next_time_s();
        while next_event < event_order.len()
            && scenario.events[event_order[next_event]].at_s <= t_next + TIME_EPS_S
        {
            let ev = &scenario.events[event_order[next_event]];
            plant
                .command(&ev.node, &ev.command)
                .map_err(|reason| ScenarioError::at(&ev.loc, "event", reason))?;
            next_event += 1;
        }
        player.send_due(plant)?;

        plant.step();
        steps += 1;
        let sim = plant.simulator();
        let t = sim.time_s();
        timeline.extend_from_slice(sim.events());
        let it_kw_lost = sim.it_kw_lost();
        if it_kw_lost > peak_it_kw_lost {
            peak_it_kw_lost = it_kw_lost;
            peak_it_kw_lost_t_s = Some(t);
        }

        player.observe(sim);
        if !options.check_only {
            expectations.observe(&scenario.expects, sim, t);
        }

        if let Some(r) = recorder.as_mut() {
            r.maybe_sample(sim, t);
        }
        if t + TIME_EPS_S >= scenario.duration_s || (options.check_only && player.ended()) {
            break;
        }
    }

    let verdicts = if options.check_only {
        Vec::new()
    } else {
        expectations.verdicts()
    };
    let (procedure, snapshots) = player.finish_run();
    Ok(RunReport {
        events: timeline,
        verdicts,
        recording: recorder.map(|r| r.rec),
        steps,
        end_time_s: plant.simulator().time_s(),
        final_system: plant.simulator().system_status(),
        peak_it_kw_lost,
        peak_it_kw_lost_t_s,
        procedure,
        snapshots,
        check_only: options.check_only,
    })
}
