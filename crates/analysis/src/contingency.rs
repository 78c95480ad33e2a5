//! Contingency analysis by simulation: N-1 (each component failed in turn, each
//! generator failing to start on demand), N-2 on request (pruned), redundancy per
//! stage and concurrent maintainability, reported as facts about the topology.
//!
//! Every case is a fresh [`simulate_failure`] run, so UPS ride-through, generator
//! start delays, ATS timers and breaker trips all count — not graph reachability —
//! and so does heat: a cooling unit (or the power behind it) whose loss lets a room
//! warm until its servers stop themselves is a thermal single point of failure.

use serde::Serialize;
use winter_river_protocol::{KINDS, NodeKind, Role};
use winter_river_sim::{Simulator, Topology};

pub use crate::maintenance::{Exposure, Maintainability};
use crate::outcome::{
    Outcome, RunConfig, room_cooling_kw, server_demand_kw, servers_of, simulate_failure,
};
use crate::par_map;

/// What to analyse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContingencyConfig {
    pub run: RunConfig,
    /// 1 = N-1 only; 2 = N-1 and pruned N-2.
    pub depth: u8,
    /// Worker threads (results do not depend on it).
    pub threads: usize,
}

impl Default for ContingencyConfig {
    fn default() -> Self {
        ContingencyConfig {
            run: RunConfig::default(),
            depth: 1,
            threads: crate::default_threads(),
        }
    }
}

/// One simulated contingency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// `sw_a`, `gen_a fails to start (util_a lost)`, `trf_a + gen_b`.
    pub label: String,
    /// `fail`, `fail_to_start` or `pair`.
    pub kind: &'static str,
    /// Node ids failed together.
    pub failed: Vec<String>,
    /// Whether any IT load was lost at any time.
    pub drops_it: bool,
    /// `none`, `at once`, or `after 1548 s (25.8 min)`.
    pub when: String,
    /// Seconds after the failure when IT load was first lost (0 = at once).
    pub first_loss_after_s: Option<f64>,
    /// Seconds after the failure when all lost IT load was back, if it came back.
    pub restored_after_s: Option<f64>,
    /// Largest IT load lost \[kW\].
    pub max_lost_kw: f64,
    /// IT load still lost at the end of the run \[kW\].
    pub final_lost_kw: f64,
    /// Servers that lost power.
    pub lost_servers: Vec<String>,
    /// How the site covered the failure (or how it fell).
    pub explanation: String,
    /// Whether the run settled before its time limit.
    pub settled: bool,
    /// Simulated time after the failure \[s\].
    pub run_s: f64,
    /// Seconds after the failure when the first server stopped itself (thermal
    /// shutdown), if one did.
    pub first_thermal_shutdown_after_s: Option<f64>,
    /// Each room that holds a server: how warm it got, who shut down.
    pub rooms: Vec<CaseRoom>,
}

/// A room in one contingency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRoom {
    pub room: String,
    /// Highest air temperature after the failure \[°C\].
    pub peak_c: f64,
    /// When it was reached \[s after the failure\].
    pub peak_after_s: f64,
    /// Servers that stopped themselves, in the order they did.
    pub shut_down: Vec<String>,
    /// When the first did \[s after the failure\].
    pub first_shutdown_after_s: Option<f64>,
}

/// A component whose loss alone makes servers stop themselves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThermalPoint {
    pub component: String,
    pub room: String,
    /// From the failure to the first thermal shutdown in the room \[s\].
    pub first_shutdown_after_s: f64,
    /// Servers of the room that shut down.
    pub servers_shut_down: usize,
    /// Their IT demand \[kW\].
    pub it_kw: f64,
    /// `crah_1 lost: servers in hall_1 shut down after 252 s (4.2 min)`.
    pub finding: String,
}

/// The cooling of one room, on the healthy site and under N-1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomCooling {
    pub room: String,
    /// ASHRAE class word.
    pub class: String,
    /// Cooling units naming the room, with their capacity \[kW\].
    pub units: Vec<(String, f64)>,
    /// Summed capacity \[kW\].
    pub capacity_kw: f64,
    /// Heat the cooling removes on the healthy site \[kW\]: the room's heat load
    /// when `held` (the cooling holds the setpoint), its whole capacity when not.
    pub heat_kw: f64,
    /// Whether the healthy site's cooling holds the setpoint.
    pub held: bool,
    /// How many units, largest first, can be lost with the rest still above
    /// `heat_kw` (the `k` of N+k by capacity).
    pub spare_units: usize,
    /// `N+1 (by capacity)`, `N (by capacity)`, `short`.
    pub redundancy: String,
    /// Components whose loss alone shuts servers of this room down (N-1).
    pub thermal_single_points: Vec<ThermalPoint>,
}

/// Redundancy of one stage of the chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    /// `sources (utility + generator)`, `transformer`, `switchgear`, …
    pub stage: String,
    pub units: Vec<String>,
    /// Independent sides (A/B cords of dual-corded servers) the units split into; 1 when
    /// they do not split.
    pub sides: usize,
    /// Units whose loss alone drops IT load.
    pub single_points: Vec<String>,
    /// Whether losing every unit of one side at once drops no IT load (only with ≥ 2 sides).
    pub side_loss_tolerated: Option<bool>,
    /// `N`, `N+1` or `2N` — a description of this topology, not a Tier rating.
    pub redundancy: String,
    pub reason: String,
}

/// The pruned N-2.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pairs {
    /// Pairs of components that are not themselves single points of failure.
    pub considered: usize,
    /// Pairs skipped because one component is never live when the other is lost (the
    /// pair is the single failure again).
    pub pruned_dominated: usize,
    pub simulated: usize,
    /// Pairs whose loss drops IT load.
    pub dropping: Vec<Case>,
}

/// Everything the contingency analysis found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contingencies {
    /// IT demand of the site \[kW\].
    pub it_demand_kw: f64,
    pub servers: usize,
    /// N-1: one per component (every node but loads), in topology order.
    pub n1: Vec<Case>,
    /// Each generator failing to start when the utility behind its ATS is lost.
    pub fail_to_start: Vec<Case>,
    /// Components whose loss alone drops IT load (by power or by heat).
    pub single_points_of_failure: Vec<String>,
    /// Of those, the components whose loss makes servers stop themselves, with the
    /// room and the time from the failure to the first shutdown.
    pub thermal_single_points: Vec<ThermalPoint>,
    /// One per room that holds a server.
    pub rooms: Vec<RoomCooling>,
    pub stages: Vec<Stage>,
    /// One per component, in N-1 order (docs/analysis.md, "Concurrent maintainability").
    pub maintainability: Vec<Maintainability>,
    pub n2: Option<Pairs>,
    /// Simulator runs made.
    pub runs: usize,
}

/// Components: every node of the power chain that is not a load, and every cooling
/// unit that cools a room (its loss heats the servers). Rooms do not fail, and
/// servers and other loads are what is protected.
pub fn components(topology: &Topology) -> Vec<usize> {
    (0..topology.len())
        .filter(|&i| {
            let node = topology.node(i);
            let role = node.kind().spec().role;
            match role {
                Role::Thermal => false,
                Role::Load => room_cooling_kw(topology, i).is_some(),
                _ => true,
            }
        })
        .collect()
}

fn case(
    topology: &Topology,
    servers: &[usize],
    label: String,
    kind: &'static str,
    o: &Outcome,
) -> Case {
    let when = crate::maintenance::when(o);
    Case {
        label,
        kind,
        failed: o
            .failed
            .iter()
            .map(|&i| topology.node(i).id.clone())
            .collect(),
        drops_it: o.drops_it(),
        when,
        first_loss_after_s: o.first_loss_after_s,
        restored_after_s: o.restored_after_s,
        max_lost_kw: o.max_lost_kw,
        final_lost_kw: o.final_lost_kw,
        lost_servers: o.lost_servers(topology, servers),
        explanation: o.explain(topology),
        settled: o.settled,
        run_s: o.run_s,
        first_thermal_shutdown_after_s: o
            .rooms
            .iter()
            .filter_map(|r| r.first_shutdown_after_s)
            .reduce(f64::min),
        rooms: o
            .rooms
            .iter()
            .map(|r| CaseRoom {
                room: topology.node(r.room).id.clone(),
                peak_c: r.peak_c,
                peak_after_s: r.peak_after_s,
                shut_down: r
                    .shut_down
                    .iter()
                    .map(|&s| topology.node(s).id.clone())
                    .collect(),
                first_shutdown_after_s: r.first_shutdown_after_s,
            })
            .collect(),
    }
}

/// The thermal single points among the N-1 cases: a component whose loss alone
/// shut servers of a room down, one per (component, room).
fn thermal_points(topology: &Topology, comps: &[usize], n1: &[Outcome]) -> Vec<ThermalPoint> {
    let mut out = Vec::new();
    for (&c, o) in comps.iter().zip(n1) {
        for r in &o.rooms {
            let Some(t) = r.first_shutdown_after_s else {
                continue;
            };
            let it_kw: f64 = server_demand_kw(topology, &r.shut_down).iter().sum();
            let component = topology.node(c).id.clone();
            let room = topology.node(r.room).id.clone();
            out.push(ThermalPoint {
                finding: format!(
                    "{component} lost: servers in {room} shut down after {}",
                    crate::outcome::secs(t)
                ),
                component,
                room,
                first_shutdown_after_s: t,
                servers_shut_down: r.shut_down.len(),
                it_kw,
            });
        }
    }
    out
}

/// Each room's cooling on the healthy site (what it removes after `prelude_s`) and
/// its thermal single points.
fn room_cooling(topology: &Topology, run: &RunConfig, points: &[ThermalPoint]) -> Vec<RoomCooling> {
    let rooms: Vec<usize> = (0..topology.len())
        .filter(|&i| {
            topology.node(i).kind().spec().role == Role::Thermal
                && topology
                    .nodes
                    .iter()
                    .any(|n| n.room == Some(i) && n.kind() == NodeKind::Server)
        })
        .collect();
    if rooms.is_empty() {
        return Vec::new();
    }
    let mut sim = Simulator::new(topology.clone(), run.step_ms);
    while sim.next_time_s() + 1e-9 < run.prelude_s.max(1.0) {
        sim.step();
    }
    rooms
        .into_iter()
        .map(|r| {
            let room = topology.node(r);
            let units: Vec<(usize, f64)> = (0..topology.len())
                .filter(|&i| topology.node(i).room == Some(r))
                .filter_map(|i| room_cooling_kw(topology, i).map(|kw| (i, kw)))
                .collect();
            let capacity_kw: f64 = units.iter().map(|u| u.1).sum();
            let removed: f64 = units
                .iter()
                .map(|&(i, _)| sim.node_status(i).measured.cooling_kw.unwrap_or(0.0))
                .sum();
            let setpoint = room.params.room().map_or(0.0, |p| p.setpoint_c);
            let air = sim
                .node_status(r)
                .measured
                .temperature_c
                .unwrap_or(f64::NAN);
            let held = air <= setpoint + 0.05 && removed < capacity_kw * (1.0 - 1e-9);
            let mut sizes: Vec<f64> = units.iter().map(|u| u.1).collect();
            sizes.sort_by(|a, b| b.total_cmp(a));
            let mut left = capacity_kw;
            let mut spare_units = 0;
            if held {
                for size in &sizes {
                    if left - size + 1e-9 < removed {
                        break;
                    }
                    left -= size;
                    spare_units += 1;
                }
            }
            let redundancy = if !held {
                "short".to_string()
            } else if spare_units == 0 {
                "N (by capacity)".to_string()
            } else {
                format!("N+{spare_units} (by capacity)")
            };
            RoomCooling {
                room: room.id.clone(),
                class: room
                    .params
                    .class()
                    .map_or(String::new(), |c| c.as_str().to_string()),
                units: units
                    .iter()
                    .map(|&(i, kw)| (topology.node(i).id.clone(), kw))
                    .collect(),
                capacity_kw,
                heat_kw: removed,
                held,
                spare_units,
                redundancy,
                thermal_single_points: points
                    .iter()
                    .filter(|p| p.room == room.id)
                    .cloned()
                    .collect(),
            }
        })
        .collect()
}

/// The utility upstream of `node`, walking preferred feeds.
fn utility_above(topology: &Topology, mut node: usize) -> Option<usize> {
    for _ in 0..topology.len() {
        let n = topology.node(node);
        if n.kind() == NodeKind::Utility {
            return Some(node);
        }
        node = *n.feeds.first()?;
    }
    None
}

/// The generator reached from `node` through single-feed nodes, if any.
fn generator_above(topology: &Topology, mut node: usize) -> Option<usize> {
    for _ in 0..topology.len() {
        let n = topology.node(node);
        match n.kind() {
            NodeKind::Generator => return Some(node),
            k if k.spec().role == Role::Switch => return None,
            _ if n.feeds.len() == 1 => node = n.feeds[0],
            _ => return None,
        }
    }
    None
}

/// (generator, utility) pairs: each generator with the utility that its ATS prefers.
pub fn generator_demands(topology: &Topology) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for sw in topology
        .nodes
        .iter()
        .filter(|n| n.kind() == NodeKind::Switchgear)
    {
        let Some(&preferred) = sw.feeds.first() else {
            continue;
        };
        let Some(util) = utility_above(topology, preferred) else {
            continue;
        };
        for &alt in sw.feeds.iter().skip(1) {
            if let Some(g) = generator_above(topology, alt)
                && !out.iter().any(|&(og, ou)| og == g && ou == util)
            {
                out.push((g, util));
            }
        }
    }
    out.sort_unstable();
    out
}

/// Cord labels: for each node, the set of server cord positions (0 = first feed) it
/// supplies, as a bit mask. Only dual- (or more) corded servers count.
fn cord_sides(topology: &Topology, servers: &[usize]) -> Vec<u32> {
    let n = topology.len();
    let mut mask = vec![0u32; n];
    let mut stack = Vec::new();
    for &s in servers {
        let feeds = &topology.node(s).feeds;
        if feeds.len() < 2 {
            continue;
        }
        for (cord, &f) in feeds.iter().enumerate().take(32) {
            let bit = 1u32 << cord;
            stack.push(f);
            while let Some(i) = stack.pop() {
                if mask[i] & bit != 0 {
                    continue;
                }
                mask[i] |= bit;
                stack.extend_from_slice(&topology.node(i).feeds);
            }
        }
    }
    mask
}

/// The stages of the chain, in the order of the kinds table: the sources together
/// (`sources (utility + generator)`), then each kind that is neither a source nor a
/// load.
fn stages_of_the_chain() -> Vec<(String, Vec<NodeKind>)> {
    let sources: Vec<NodeKind> = KINDS
        .iter()
        .filter(|k| k.role == Role::Source)
        .map(|k| k.kind)
        .collect();
    let names: Vec<&str> = sources.iter().map(|k| k.as_str()).collect();
    let mut stages = vec![(format!("sources ({})", names.join(" + ")), sources)];
    stages.extend(
        KINDS
            .iter()
            .filter(|k| !matches!(k.role, Role::Source | Role::Load | Role::Thermal))
            .map(|k| (k.name.to_string(), vec![k.kind])),
    );
    stages
}

/// Runs the N-1 analysis (and N-2 with `depth` 2).
pub fn analyze(topology: &Topology, cfg: &ContingencyConfig) -> Contingencies {
    let servers = servers_of(topology);
    let it_demand_kw: f64 = server_demand_kw(topology, &servers).iter().sum();
    let comps = components(topology);
    let threads = cfg.threads.max(1);
    let mut runs = 0;

    // N-1.
    let n1_out: Vec<Outcome> = par_map(&comps, threads, |&c| {
        simulate_failure(topology, &[c], &cfg.run)
    });
    runs += n1_out.len();
    let n1: Vec<Case> = comps
        .iter()
        .zip(&n1_out)
        .map(|(&c, o)| case(topology, &servers, topology.node(c).id.clone(), "fail", o))
        .collect();

    // Generators failing to start on demand.
    let demands = generator_demands(topology);
    let fts_out: Vec<Outcome> = par_map(&demands, threads, |&(g, u)| {
        simulate_failure(topology, &[g, u], &cfg.run)
    });
    runs += fts_out.len();
    let fail_to_start: Vec<Case> = demands
        .iter()
        .zip(&fts_out)
        .map(|(&(g, u), o)| {
            let label = format!(
                "{} fails to start ({} lost)",
                topology.node(g).id,
                topology.node(u).id
            );
            case(topology, &servers, label, "fail_to_start", o)
        })
        .collect();

    let single_points_of_failure: Vec<String> = n1
        .iter()
        .filter(|c| c.drops_it)
        .map(|c| c.label.clone())
        .collect();
    let thermal_single_points = thermal_points(topology, &comps, &n1_out);
    let rooms = room_cooling(topology, &cfg.run, &thermal_single_points);

    // Stages.
    let sides = cord_sides(topology, &servers);
    let stage_defs = stages_of_the_chain();
    let mut stage_units: Vec<(String, Vec<usize>, Vec<u32>)> = Vec::new();
    let mut side_sets: Vec<Vec<usize>> = Vec::new();
    for (name, kinds) in stage_defs {
        let units: Vec<usize> = comps
            .iter()
            .copied()
            .filter(|&c| kinds.contains(&topology.node(c).kind()))
            .collect();
        if units.is_empty() {
            continue;
        }
        let mut labels: Vec<u32> = units.iter().map(|&u| sides[u]).collect();
        labels.sort_unstable();
        labels.dedup();
        let split = labels.len() >= 2 && labels.iter().all(|m| m.count_ones() == 1);
        let side_masks = if split { labels } else { Vec::new() };
        for &m in &side_masks {
            side_sets.push(units.iter().copied().filter(|&u| sides[u] == m).collect());
        }
        stage_units.push((name, units, side_masks));
    }
    let side_out: Vec<Outcome> = par_map(&side_sets, threads, |set| {
        simulate_failure(topology, set, &cfg.run)
    });
    runs += side_out.len();
    let mut side_iter = side_out.iter();
    let mut stages = Vec::new();
    for (name, units, side_masks) in stage_units {
        let single_points: Vec<String> = units
            .iter()
            .filter(|&&u| {
                comps
                    .iter()
                    .position(|&c| c == u)
                    .is_some_and(|k| n1[k].drops_it)
            })
            .map(|&u| topology.node(u).id.clone())
            .collect();
        let side_results: Vec<bool> = side_masks
            .iter()
            .filter_map(|_| side_iter.next().map(|o| !o.drops_it()))
            .collect();
        let side_loss_tolerated =
            (!side_results.is_empty()).then(|| side_results.iter().all(|&b| b));
        let ids: Vec<String> = units.iter().map(|&u| topology.node(u).id.clone()).collect();
        let (redundancy, reason) = if !single_points.is_empty() {
            (
                "N".to_string(),
                format!(
                    "{} of {} unit{} a single point of failure: {}",
                    single_points.len(),
                    units.len(),
                    if single_points.len() == 1 {
                        " is"
                    } else {
                        "s are"
                    },
                    single_points.join(", ")
                ),
            )
        } else if side_loss_tolerated == Some(true) {
            (
                format!("{}N", side_masks.len()),
                format!(
                    "{} independent sides; losing every unit of one side drops no IT load",
                    side_masks.len()
                ),
            )
        } else if side_loss_tolerated == Some(false) {
            (
                "N+1".to_string(),
                "any one unit can be lost, but not a whole side".to_string(),
            )
        } else if units.len() == 1 {
            (
                "N (covered)".to_string(),
                "the only unit, but its loss is covered by another path (standby generation, UPS)"
                    .to_string(),
            )
        } else {
            (
                "N+1".to_string(),
                format!(
                    "any one of the {} units can be lost without IT loss",
                    units.len()
                ),
            )
        };
        stages.push(Stage {
            stage: name.to_string(),
            units: ids,
            sides: side_masks.len().max(1),
            single_points,
            side_loss_tolerated,
            redundancy,
            reason,
        });
    }

    // N-2, pruned.
    let n2 = (cfg.depth >= 2).then(|| {
        let candidates: Vec<usize> = (0..comps.len()).filter(|&k| !n1[k].drops_it).collect();
        let mut pairs = Vec::new();
        let mut considered = 0;
        let mut pruned = 0;
        for (x, &a) in candidates.iter().enumerate() {
            for &b in &candidates[x + 1..] {
                considered += 1;
                let (ca, cb) = (comps[a], comps[b]);
                // If b is never live while a is lost (or the other way round), failing
                // both is the same as failing one: no IT loss, already simulated.
                if !n1_out[a].ever_live[cb] || !n1_out[b].ever_live[ca] {
                    pruned += 1;
                    continue;
                }
                pairs.push([ca, cb]);
            }
        }
        let out: Vec<Outcome> =
            par_map(&pairs, threads, |p| simulate_failure(topology, p, &cfg.run));
        let dropping = pairs
            .iter()
            .zip(&out)
            .filter(|(_, o)| o.drops_it())
            .map(|(p, o)| {
                let label = format!("{} + {}", topology.node(p[0]).id, topology.node(p[1]).id);
                case(topology, &servers, label, "pair", o)
            })
            .collect();
        Pairs {
            considered,
            pruned_dominated: pruned,
            simulated: pairs.len(),
            dropping,
        }
    });
    if let Some(p) = &n2 {
        runs += p.simulated;
    }

    // Concurrent maintainability: each component taken out (as is or through its
    // maintenance position) and every other one failed from that state (for `as is`
    // only at depth 2: a run per pair).
    let (maintainability, maintenance_runs) = crate::maintenance::analyze(
        topology,
        &comps,
        &n1,
        &n1_out,
        &cfg.run,
        threads,
        cfg.depth >= 2,
    );
    runs += maintenance_runs;

    Contingencies {
        it_demand_kw,
        servers: servers.len(),
        n1,
        fail_to_start,
        single_points_of_failure,
        thermal_single_points,
        rooms,
        stages,
        maintainability,
        n2,
        runs,
    }
}
