//! Concurrent maintainability: can each component be taken out for work without
//! dropping IT load, and what single failure would drop it while the component is
//! out (its exposure)? A component whose loss drops nothing is taken out as is; one
//! whose kind has a maintenance position (a UPS's maintenance bypass, an ATS's
//! bypass switch, docs/operations.md) is taken out through it, by the operator commands of
//! [`MAINTENANCE_POSITIONS`]. Then each other component fails in turn, from that
//! state, by simulation: always through a maintenance position (few components),
//! for `as is` with `--depth 2` only (a run per pair, like N-2; docs/analysis.md,
//! "Concurrent maintainability").

use serde::Serialize;
use winter_river_protocol::{Command, Mode, NodeKind};
use winter_river_sim::Topology;

use crate::contingency::Case;
use crate::outcome::{Outcome, RunConfig, SetupError, secs, simulate_failure_after};
use crate::par_map;

/// How a component of one kind is taken out for work through its own bypass,
/// without dropping its load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaintenancePosition {
    pub kind: NodeKind,
    /// The positions of its mode selector to pass through, in order: the interlocks
    /// allow no shortcut (a UPS goes to maintenance bypass only from static bypass).
    pub modes: &'static [Mode],
    /// Also opened for the work once it is failed: a UPS module is isolated on its
    /// maintenance bypass; a switchgear is not (its bypass switch is inside it, so
    /// opening it drops the load).
    pub open: bool,
    /// `via maintenance bypass`: how the report says it is taken out.
    pub how: &'static str,
}

/// The kinds that have a maintenance position, and how each is reached. Every mode
/// named is one of its kind's selector positions (`KindSpec::modes`, tested).
pub const MAINTENANCE_POSITIONS: &[MaintenancePosition] = &[
    MaintenancePosition {
        kind: NodeKind::Ups,
        modes: &[Mode::StaticBypass, Mode::MaintenanceBypass],
        open: true,
        how: "via maintenance bypass",
    },
    MaintenancePosition {
        kind: NodeKind::Switchgear,
        modes: &[Mode::Bypass],
        open: false,
        how: "via ATS bypass",
    },
];

/// How a component that drops nothing when it fails is taken out.
pub const AS_IS: &str = "as is";

impl MaintenancePosition {
    /// The position of `kind`, if it has one.
    pub fn of(kind: NodeKind) -> Option<&'static MaintenancePosition> {
        MAINTENANCE_POSITIONS.iter().find(|p| p.kind == kind)
    }

    /// The operator commands that take a component of this kind out, in order: the
    /// mode commands (each the protocol's command that sets this kind's selector to
    /// that mode), then `set_fault` (the work) and, when the position says so, `open`.
    pub fn commands(&self) -> Vec<Command> {
        let mut out: Vec<Command> = self
            .modes
            .iter()
            .filter_map(|&m| Command::set_mode(self.kind, m))
            .collect();
        out.push(Command::SetFault { state: true });
        if self.open {
            out.push(Command::Open);
        }
        out
    }
}

/// One single failure that drops IT load while a component is out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exposure {
    /// The component that fails.
    pub failure: String,
    /// Largest IT load lost \[kW\].
    pub lost_kw: f64,
    /// `at once`, `after 1549 s (25.8 min) (ride-through)`, `…, back after 10 s`.
    pub when: String,
    /// Seconds after the failure when IT load was first lost (0 = at once).
    pub first_loss_after_s: f64,
    /// Seconds after the failure when all of it was back, if it came back.
    pub restored_after_s: Option<f64>,
    /// The same failure on the healthy site (its N-1 case): `none`, `at once`, ….
    pub normally: String,
}

/// Whether a component can be taken out (for maintenance) without IT loss, how, and
/// what it is exposed to while it is out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Maintainability {
    pub component: String,
    pub maintainable: bool,
    /// `as is` (failing it drops nothing), `via maintenance bypass`, `via ATS bypass`;
    /// `null` when it cannot be taken out without IT loss.
    pub how: Option<&'static str>,
    /// The commands that take it out through its maintenance position, in order, as
    /// an operator types them (`ups_mode static_bypass`, `set_fault on`, `open`);
    /// empty for `as is` and when not maintainable.
    pub steps: Vec<String>,
    /// While it is out: each other component whose failure (alone, from that state)
    /// drops IT load, in topology order. Empty when not maintainable or not simulated.
    pub exposure: Vec<Exposure>,
    /// Whether the exposure was simulated: always through a maintenance position;
    /// for `as is` only with `--depth 2` (it is a run per pair of components).
    pub exposure_simulated: bool,
    /// How the site carries on while it is out, or why it cannot be taken out.
    pub remark: String,
}

/// `ups_mode static_bypass`, `set_fault on`, `open`.
fn step_words(cmd: &Command) -> String {
    match cmd {
        Command::UpsMode { mode } | Command::AtsMode { mode } | Command::GenMode { mode } => {
            format!("{} {mode}", cmd.name())
        }
        Command::SetFault { state } => format!("set_fault {}", if *state { "on" } else { "off" }),
        _ => cmd.name().to_string(),
    }
}

/// How a component is taken out, once decided.
struct Plan {
    /// Position in `comps`.
    k: usize,
    component: usize,
    how: &'static str,
    setup: Vec<(usize, Command)>,
}

/// Runs the maintainability analysis: `comps` are the components, `n1` their N-1
/// cases (same order) and `n1_out` the outcomes; `as_is_exposure` also simulates the
/// exposure of the components taken out as is (a run per pair: `--depth 2`).
/// Returns one row per component and the simulator runs made.
pub(crate) fn analyze(
    topology: &Topology,
    comps: &[usize],
    n1: &[Case],
    n1_out: &[Outcome],
    run: &RunConfig,
    threads: usize,
    as_is_exposure: bool,
) -> (Vec<Maintainability>, usize) {
    let mut runs = 0;
    // Components whose loss drops IT but whose kind has a maintenance position: check
    // that the position holds the load (commands accepted, nothing lost).
    let tried: Vec<(usize, &'static MaintenancePosition)> = comps
        .iter()
        .zip(n1)
        .filter(|(_, c)| c.drops_it)
        .filter_map(|(&i, _)| MaintenancePosition::of(topology.node(i).kind()).map(|p| (i, p)))
        .collect();
    let setups: Vec<Vec<(usize, Command)>> = tried
        .iter()
        .map(|&(i, p)| p.commands().into_iter().map(|c| (i, c)).collect())
        .collect();
    let checks: Vec<Result<Outcome, SetupError>> = par_map(&setups, threads, |setup| {
        simulate_failure_after(topology, setup, &[], run)
    });
    runs += checks.len();

    let mut plans: Vec<Plan> = Vec::new();
    let mut refused: Vec<(usize, &'static str, SetupError)> = Vec::new();
    for (k, (&i, c)) in comps.iter().zip(n1).enumerate() {
        if !c.drops_it {
            plans.push(Plan {
                k,
                component: i,
                how: AS_IS,
                setup: vec![(i, Command::SetFault { state: true })],
            });
            continue;
        }
        let Some(t) = tried.iter().position(|&(j, _)| j == i) else {
            continue;
        };
        match &checks[t] {
            Ok(_) => plans.push(Plan {
                k,
                component: i,
                how: tried[t].1.how,
                setup: setups[t].clone(),
            }),
            Err(e) => refused.push((k, tried[t].1.how, e.clone())),
        }
    }

    // Exposure: from each plan's state, every other component fails in turn. A
    // component never live while one taken out as is was lost (its N-1 run) cannot
    // change anything by failing: skipped, as N-2 skips such pairs.
    let mut jobs: Vec<(usize, usize)> = Vec::new();
    for (p, plan) in plans.iter().enumerate() {
        if plan.how == AS_IS && !as_is_exposure {
            continue;
        }
        for &x in comps {
            if x == plan.component || (plan.how == AS_IS && !n1_out[plan.k].ever_live[x]) {
                continue;
            }
            jobs.push((p, x));
        }
    }
    let outs: Vec<Result<Outcome, SetupError>> = par_map(&jobs, threads, |&(p, x)| {
        simulate_failure_after(topology, &plans[p].setup, &[x], run)
    });
    runs += outs.len();

    let normally = |x: usize| -> String {
        comps
            .iter()
            .position(|&c| c == x)
            .map_or_else(|| "none".into(), |k| n1[k].when.clone())
    };
    let mut rows: Vec<Maintainability> = Vec::with_capacity(comps.len());
    for (k, (&i, c)) in comps.iter().zip(n1).enumerate() {
        let id = &topology.node(i).id;
        if let Some(p) = plans.iter().position(|pl| pl.k == k) {
            let plan = &plans[p];
            let mut exposure = Vec::new();
            let mut errors = Vec::new();
            for ((_, x), o) in jobs.iter().zip(&outs).filter(|((q, _), _)| *q == p) {
                match o {
                    Ok(o) if o.drops_it() => exposure.push(Exposure {
                        failure: topology.node(*x).id.clone(),
                        lost_kw: o.max_lost_kw,
                        when: when(o),
                        first_loss_after_s: o.first_loss_after_s.unwrap_or(0.0),
                        restored_after_s: o.restored_after_s,
                        normally: normally(*x),
                    }),
                    Ok(_) => {}
                    // The state was checked once; a run that cannot reach it again
                    // would be a simulator that is not deterministic.
                    Err(e) => errors.push(format!("{}: {e}", topology.node(*x).id)),
                }
            }
            let steps = if plan.how == AS_IS {
                Vec::new()
            } else {
                plan.setup.iter().map(|(_, cmd)| step_words(cmd)).collect()
            };
            let mut remark = if plan.how == AS_IS {
                c.explanation.clone()
            } else {
                format!("taken out by {}", steps.join(" → "))
            };
            if !errors.is_empty() {
                remark.push_str(&format!("; not simulated: {}", errors.join("; ")));
            }
            rows.push(Maintainability {
                component: id.clone(),
                maintainable: true,
                how: Some(plan.how),
                steps,
                exposure,
                exposure_simulated: plan.how != AS_IS || as_is_exposure,
                remark,
            });
        } else {
            let mut remark = format!("IT lost {}", c.when);
            if let Some((_, how, e)) = refused.iter().find(|(kk, _, _)| *kk == k) {
                remark.push_str(&format!("; {how} not possible: {e}"));
            }
            rows.push(Maintainability {
                component: id.clone(),
                maintainable: false,
                how: None,
                steps: Vec::new(),
                exposure: Vec::new(),
                exposure_simulated: false,
                remark,
            });
        }
    }
    (rows, runs)
}

/// `at once`, `after 1549 s (25.8 min) (ride-through)`, with `, back after T`.
pub(crate) fn when(o: &Outcome) -> String {
    let thermal = o.first_loss_after_s.is_some_and(|t| o.thermal_at(t));
    when_words(o.first_loss_after_s, o.restored_after_s, thermal)
}

/// [`when`] from the times: first loss and restoration \[s after the failure\], and
/// whether the first loss was servers stopping themselves (thermal shutdown) rather
/// than a battery running out.
pub(crate) fn when_words(
    first_loss_after_s: Option<f64>,
    restored_after_s: Option<f64>,
    thermal: bool,
) -> String {
    match (first_loss_after_s, restored_after_s) {
        (None, _) => "none".to_string(),
        (Some(t), r) => {
            let at = if t < 1e-9 {
                "at once".to_string()
            } else if thermal {
                format!("after {} (thermal shutdown)", secs(t))
            } else {
                format!("after {} (ride-through)", secs(t))
            };
            match r {
                Some(r) => format!("{at}, back after {}", secs(r)),
                None => at,
            }
        }
    }
}
