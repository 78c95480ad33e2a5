//! A procedure's exposure (docs/scenarios.md, "Exposure"): for each interval between
//! its steps, from the site as the interval began (a [`Snapshot`] the scenario runner
//! kept), each component fails in turn and the run goes on until the site settles,
//! as N-1 does ([`crate::contingency`]); the failures that drop IT load beyond what
//! the state loses by itself, how much and when. Consecutive intervals exposed alike
//! are merged ("steps 3–6"), and each names its state in words from the nodes that
//! are not in their normal position.

use serde::Serialize;
use winter_river_protocol::{Breaker, Mode, NodeState};
use winter_river_sim::Simulator;
use winter_river_sim::scenario::Snapshot;

use crate::contingency::components;
use crate::maintenance::when_words;
use crate::outcome::{LOST_KW_EPS, Outcome, RunConfig, secs, simulate_failure_from};
use crate::par_map;

/// Default longest run after a failure \[s of simulated time\]: 4 h. Longer than
/// any UPS ride-through of the shipped sites (≈ 27 min) with a wide margin; a run
/// still unsettled then is cut and counted ([`ProcedureExposure::cut`]).
pub const DEFAULT_MAX_AFTER_S: f64 = 4.0 * 3600.0;

/// How the exposure is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExposureConfig {
    /// Longest run after a failure \[s\].
    pub max_after_s: f64,
    /// Worker threads (results do not depend on it).
    pub threads: usize,
}

impl Default for ExposureConfig {
    fn default() -> Self {
        ExposureConfig {
            max_after_s: DEFAULT_MAX_AFTER_S,
            threads: crate::default_threads(),
        }
    }
}

/// One node not in its normal position: `ups_a` `on maintenance bypass`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatePart {
    pub node: String,
    /// `on maintenance bypass`, `locked out`, `failed`, …
    pub what: String,
}

/// A single failure that drops IT load from an interval's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exposed {
    /// The component that fails (node id).
    pub failure: String,
    /// Largest IT load lost beyond what the state loses by itself \[kW\].
    pub lost_kw: f64,
    /// `at once`, `after 1549 s (25.8 min) (ride-through)`, with `, back after 10 s`.
    pub when: String,
    /// Seconds after the failure when that extra loss began (0 = at once).
    pub first_loss_after_s: f64,
    /// Seconds after the failure when all of it was back, if it came back.
    pub restored_after_s: Option<f64>,
}

/// One interval of the procedure, from the state it began in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    /// Steps done when it began: 0 = before step 1.
    pub after_step: usize,
    /// When it began \[s of the scenario\].
    pub t_s: f64,
    /// The nodes not in their normal position, in topology order.
    pub state: Vec<StatePart>,
    /// IT load the state loses by itself, with no failure \[kW, the most while it
    /// plays out\] (a UPS left on battery runs out).
    pub it_kw_lost: f64,
    /// When it does, as the exposure says it (`after 2322 s (38.7 min)
    /// (ride-through)`); `none` when it loses nothing.
    pub it_kw_lost_when: String,
    /// The failures that drop IT load beyond that, in topology order.
    pub exposed: Vec<Exposed>,
}

/// Consecutive intervals exposed alike, as the report shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// `before step 1`, `steps 3–6`, `after step 7`, `the whole procedure`.
    pub label: String,
    /// The first and last interval merged (their `after_step`).
    pub first: usize,
    pub last: usize,
    /// When the first of them began \[s\].
    pub t_s: f64,
    /// The state in words: what holds in every interval merged, then what holds in
    /// only some of them (`ups_a on maintenance bypass; at times also ups_a open`).
    pub state: String,
    /// As in the first interval merged (the others are exposed alike).
    pub exposed: Vec<Exposed>,
}

/// A procedure's exposure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcedureExposure {
    /// Steps of the procedure.
    pub steps: usize,
    /// Components failed in turn from each state.
    pub components: usize,
    /// One per snapshot, in order.
    pub intervals: Vec<Interval>,
    pub rows: Vec<Row>,
    /// Simulator runs made (a run per component and state, and one per state
    /// without a failure, to tell what the failure adds).
    pub runs: usize,
    /// Runs cut at `max_after_s` before the site settled.
    pub cut: usize,
    /// Simulated time of all the runs together \[s\] (what the exposure costs).
    pub simulated_s: f64,
    pub max_after_s: f64,
}

/// The exposure of a procedure of `steps` steps from the runner's snapshots.
pub fn exposure(snapshots: &[Snapshot], steps: usize, cfg: &ExposureConfig) -> ProcedureExposure {
    let Some(first) = snapshots.first() else {
        return ProcedureExposure {
            steps,
            components: 0,
            intervals: Vec::new(),
            rows: Vec::new(),
            runs: 0,
            cut: 0,
            simulated_s: 0.0,
            max_after_s: cfg.max_after_s,
        };
    };
    let topology = first.sim.topology();
    let comps = components(topology);
    let run = RunConfig {
        max_after_s: cfg.max_after_s,
        ..RunConfig::default()
    };
    // (snapshot, component failed; None = the state alone). A component already
    // failed in a state cannot fail again.
    let jobs: Vec<(usize, Option<usize>)> = snapshots
        .iter()
        .enumerate()
        .flat_map(|(k, s)| {
            std::iter::once((k, None)).chain(
                comps
                    .iter()
                    .filter(|&&c| s.sim.node_state(c) != NodeState::Fault)
                    .map(move |&c| (k, Some(c))),
            )
        })
        .collect();
    let outs: Vec<Outcome> = par_map(&jobs, cfg.threads.max(1), |&(k, c)| {
        let failed: Vec<usize> = c.into_iter().collect();
        simulate_failure_from(snapshots[k].sim.clone(), &failed, &run)
    });

    let mut intervals: Vec<Interval> = Vec::with_capacity(snapshots.len());
    let mut base: Option<&Outcome> = None;
    for (&(k, c), o) in jobs.iter().zip(&outs) {
        let Some(c) = c else {
            base = Some(o);
            let s = &snapshots[k];
            intervals.push(Interval {
                after_step: s.after_step,
                t_s: s.t_s,
                state: state_of(&s.sim),
                it_kw_lost: o.max_lost_kw,
                it_kw_lost_when: when_words(
                    o.first_loss_after_s.map(whole_ms),
                    o.restored_after_s.map(whole_ms),
                    o.first_loss_after_s.is_some_and(|t| o.thermal_at(t)),
                ),
                exposed: Vec::new(),
            });
            continue;
        };
        let (Some(b), Some(interval)) = (base, intervals.last_mut()) else {
            continue;
        };
        if let Some(mut e) = beyond(&b.lost_kw_changes, &o.lost_kw_changes) {
            e.first_s = whole_ms(e.first_s);
            e.restored_s = e.restored_s.map(whole_ms);
            // Lost "until" the state would have lost it anyway: say so, not "back".
            let caught_up = match (e.restored_s, b.first_loss_after_s) {
                (Some(r), Some(own)) => (r - whole_ms(own)).abs() < 1e-6,
                _ => false,
            };
            let thermal = o.thermal_at(e.first_s);
            let when = if caught_up {
                format!(
                    "{}, {} before the state would lose it anyway",
                    when_words(Some(e.first_s), None, thermal),
                    crate::outcome::secs(e.restored_s.unwrap_or(0.0) - e.first_s)
                )
            } else {
                when_words(Some(e.first_s), e.restored_s, thermal)
            };
            interval.exposed.push(Exposed {
                failure: topology.node(c).id.clone(),
                lost_kw: e.lost_kw,
                when,
                first_loss_after_s: e.first_s,
                restored_after_s: e.restored_s,
            });
        }
    }
    let rows = merge(&intervals, steps);
    ProcedureExposure {
        steps,
        components: comps.len(),
        intervals,
        rows,
        runs: outs.len(),
        cut: outs.iter().filter(|o| !o.settled).count(),
        simulated_s: outs.iter().map(|o| o.run_s).sum(),
        max_after_s: cfg.max_after_s,
    }
}

/// `t` \[s\] rounded to the millisecond: step times are whole milliseconds, their
/// differences in floating point are not (1548.2000000000003).
fn whole_ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

/// The IT load a failure loses beyond its state's own loss.
struct Beyond {
    lost_kw: f64,
    first_s: f64,
    restored_s: Option<f64>,
}

/// Compares the loss of a run with a failure (`with`) against the state alone
/// (`base`), both step functions of (s after the failure, kW) from the same start.
/// After its last change a run's loss stays as it was (the site settled).
fn beyond(base: &[(f64, f64)], with: &[(f64, f64)]) -> Option<Beyond> {
    let mut times: Vec<f64> = base.iter().chain(with).map(|&(t, _)| t).collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let at = |f: &[(f64, f64)], t: f64| -> f64 {
        f.iter()
            .take_while(|&&(ft, _)| ft <= t)
            .last()
            .map_or(0.0, |&(_, kw)| kw)
    };
    let mut out: Option<Beyond> = None;
    let mut above = false;
    for t in times {
        let extra = at(with, t) - at(base, t);
        if extra > LOST_KW_EPS {
            let b = out.get_or_insert(Beyond {
                lost_kw: 0.0,
                first_s: t,
                restored_s: None,
            });
            b.lost_kw = b.lost_kw.max(extra);
            b.restored_s = None;
            above = true;
        } else if above {
            above = false;
            if let Some(b) = out.as_mut() {
                b.restored_s = Some(t);
            }
        }
    }
    out
}

/// The nodes of `sim` not in their normal position, in topology order: a mode that
/// is not its kind's normal one, a breaker not closed, a fault set.
pub fn state_of(sim: &Simulator) -> Vec<StatePart> {
    let mut out = Vec::new();
    for (i, node) in sim.topology().nodes.iter().enumerate() {
        let m = sim.node_update(i).measured;
        let mut push = |what: String| {
            out.push(StatePart {
                node: node.id.clone(),
                what,
            });
        };
        if let Some(mode) = m.mode.filter(|m| !m.spec().normal) {
            push(mode_words(mode));
        }
        if let Some(b) = m.breaker.filter(|b| *b != Breaker::Closed) {
            push(b.spec().label.to_lowercase());
        }
        if sim.node_state(i) == NodeState::Fault {
            push("failed".into());
        }
    }
    out
}

/// `on maintenance bypass`, `in manual`, `in OFF`: a mode as it follows a node's id.
fn mode_words(mode: Mode) -> String {
    let label = mode.spec().label;
    match mode {
        Mode::StaticBypass | Mode::MaintenanceBypass | Mode::Bypass => {
            format!("on {}", label.to_lowercase())
        }
        // A generator's control switch is labelled AUTO / OFF / RUN.
        Mode::Off | Mode::Run => format!("in {}", label.to_uppercase()),
        Mode::Normal | Mode::Auto | Mode::Manual => format!("in {}", label.to_lowercase()),
    }
}

/// `ups_a on maintenance bypass, locked out; sw_a in manual`: each node once, its
/// parts in order; `every node in its normal position` for none.
pub fn state_words(parts: &[StatePart]) -> String {
    if parts.is_empty() {
        return "every node in its normal position".into();
    }
    let mut nodes: Vec<(&str, Vec<&str>)> = Vec::new();
    for p in parts {
        match nodes.iter_mut().find(|(n, _)| *n == p.node) {
            Some((_, whats)) => whats.push(&p.what),
            None => nodes.push((&p.node, vec![&p.what])),
        }
    }
    nodes
        .iter()
        .map(|(n, whats)| format!("{n} {}", whats.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether two intervals are exposed alike: the same failures, the same kW (to
/// 0.1 kW, as reports print them), the same when.
fn alike(a: &[Exposed], b: &[Exposed]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.failure == y.failure
                && (x.lost_kw * 10.0).round() == (y.lost_kw * 10.0).round()
                && x.when == y.when
        })
}

fn merge(intervals: &[Interval], steps: usize) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut start = 0;
    for k in 1..=intervals.len() {
        if k < intervals.len() && alike(&intervals[start].exposed, &intervals[k].exposed) {
            continue;
        }
        let group = &intervals[start..k];
        let first = group[0].after_step;
        let last = group[group.len() - 1].after_step;
        let common: Vec<StatePart> = group[0]
            .state
            .iter()
            .filter(|p| group.iter().all(|i| i.state.contains(p)))
            .cloned()
            .collect();
        let mut at_times: Vec<StatePart> = Vec::new();
        for p in group.iter().flat_map(|i| &i.state) {
            if !common.contains(p) && !at_times.contains(p) {
                at_times.push(p.clone());
            }
        }
        let mut state = state_words(&common);
        if !at_times.is_empty() {
            if common.is_empty() {
                state = format!("at times {}", state_words(&at_times));
            } else {
                state.push_str(&format!("; at times also {}", state_words(&at_times)));
            }
        }
        rows.push(Row {
            label: label(first, last, steps),
            first,
            last,
            t_s: group[0].t_s,
            state,
            exposed: group[0].exposed.clone(),
        });
        start = k;
    }
    rows
}

/// `before step 1`, `steps 3–4`, `steps 3–6`, `after step 7`, `the whole procedure`:
/// intervals `first..=last` of a procedure of `steps` steps (interval k runs from step
/// k done to step k + 1 done).
fn label(first: usize, last: usize, steps: usize) -> String {
    match (first, last) {
        (0, l) if l >= steps => "the whole procedure".into(),
        (0, 0) => "before step 1".into(),
        (0, l) => format!("from the start to step {}", l + 1),
        (f, l) if l >= steps && f >= steps => format!("after step {f}"),
        (f, l) if l >= steps => format!("from step {f} to the end"),
        (f, l) => format!("steps {f}–{}", l + 1),
    }
}

impl Exposed {
    /// `a loss of util_a drops 30.0 kW at once, back after 10 s`.
    pub fn sentence(&self) -> String {
        format!(
            "a loss of {} drops {:.1} kW {}",
            self.failure, self.lost_kw, self.when
        )
    }
}

impl ProcedureExposure {
    /// `max 4.0 h after a failure`, for reports.
    pub fn limit_words(&self) -> String {
        secs(self.max_after_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_steps_around_each_interval() {
        assert_eq!(label(0, 0, 5), "before step 1");
        assert_eq!(label(3, 5, 7), "steps 3–6");
        assert_eq!(label(3, 3, 7), "steps 3–4");
        assert_eq!(label(7, 7, 7), "after step 7");
        assert_eq!(label(0, 7, 7), "the whole procedure");
        assert_eq!(label(0, 2, 7), "from the start to step 3");
        assert_eq!(label(5, 7, 7), "from step 5 to the end");
    }

    #[test]
    fn the_extra_loss_is_measured_against_the_state_alone() {
        // The state loses 10 kW from 5 s; the failure 30 kW at once, back to the
        // state's 10 kW at 20 s.
        let base = [(0.0, 0.0), (5.0, 10.0)];
        let with = [(0.0, 30.0), (20.0, 10.0)];
        let b = beyond(&base, &with).unwrap_or_else(|| panic!("no extra loss"));
        assert_eq!(b.lost_kw, 30.0);
        assert_eq!(b.first_s, 0.0);
        assert_eq!(b.restored_s, Some(20.0));
        // The same loss as the state's is no exposure.
        assert!(beyond(&base, &base).is_none());
    }

    #[test]
    fn state_words_name_each_node_once() {
        let p = |n: &str, w: &str| StatePart {
            node: n.into(),
            what: w.into(),
        };
        let parts = [
            p("ups_a", "on maintenance bypass"),
            p("ups_a", "locked out"),
            p("sw_a", "in manual"),
        ];
        assert_eq!(
            state_words(&parts),
            "ups_a on maintenance bypass, locked out; sw_a in manual"
        );
        assert_eq!(state_words(&[]), "every node in its normal position");
    }
}
