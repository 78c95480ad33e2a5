//! One failure, simulated: a fresh simulator settles on a healthy site, the chosen
//! components fail together at `prelude_s`, and the run goes on until the site has
//! settled (timers played out, no UPS on battery, no generator starting, no overload)
//! or `max_after_s` has passed. What IT load was lost, which servers, when, and how
//! the site covered the failure when it did. [`simulate_failure_after`] starts the
//! same run from a state operator commands put the site in (a UPS on maintenance
//! bypass, a component out for work); [`simulate_failure_from`] from a simulator
//! copied mid-run (a procedure's interval, crates/analysis/src/procedure.rs).
//!
//! Rooms (docs/physics.md, "Rooms and cooling") count too: a server its thermal
//! protection stops is IT lost like one that loses power, and a run is not settled
//! while a room with running servers is still off its setpoint or its cooling is at
//! full capacity (heat still rising towards a shutdown takes minutes, not the
//! seconds an ATS needs).

use winter_river_protocol::{Command, Event, EventKind, NodeKind, NodeState, Source};
use winter_river_sim::{KindParams, Simulator, Topology};

/// How a failure is simulated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunConfig {
    /// Simulator step \[ms\]. 1,000 ms resolves ride-through times to a second.
    pub step_ms: u32,
    /// Healthy time before the failure \[s\].
    pub prelude_s: f64,
    /// Longest run after the failure \[s\].
    pub max_after_s: f64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            step_ms: 1000,
            prelude_s: 60.0,
            max_after_s: 48.0 * 3600.0,
        }
    }
}

/// A server's power after the failure: live or not from this time [s after the
/// failure].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    pub after_s: f64,
    /// Server index in [`servers_of`] order.
    pub server: u32,
    pub live: bool,
    /// Went dark because its own thermal protection stopped it (status `shutdown`),
    /// not because it lost power.
    pub thermal: bool,
}

/// A room after the failure: how warm its air got and which servers stopped
/// themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomOutcome {
    /// Room node index.
    pub room: usize,
    /// Highest air temperature at any step after the failure \[°C\].
    pub peak_c: f64,
    /// When it was first reached \[s after the failure\].
    pub peak_after_s: f64,
    /// Servers of the room (node indices) its heat shut down, in the order they did.
    pub shut_down: Vec<usize>,
    /// When the first of them shut down \[s after the failure\].
    pub first_shutdown_after_s: Option<f64>,
}

/// What a failure did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Node indices failed.
    pub failed: Vec<usize>,
    /// Servers' power changes after the failure, in time order (servers start live).
    pub transitions: Vec<Transition>,
    /// IT kW lost at the failure's own step.
    pub lost_kw_at_once: f64,
    /// Largest IT kW lost at any step after the failure.
    pub max_lost_kw: f64,
    /// IT kW lost at the end of the run.
    pub final_lost_kw: f64,
    /// Seconds after the failure when IT load was first lost (0 = at once).
    pub first_loss_after_s: Option<f64>,
    /// Seconds after the failure when the last lost IT load came back (if it did).
    pub restored_after_s: Option<f64>,
    /// IT kW lost from each time on: (s after the failure, kW), one entry at the
    /// failure's own step, then one each time the loss changes.
    pub lost_kw_changes: Vec<(f64, f64)>,
    /// IT energy not served during the run \[kWh\].
    pub it_kwh_unserved: f64,
    /// Length of the run after the failure \[s\].
    pub run_s: f64,
    /// Whether the run ended settled (false: cut at `max_after_s`).
    pub settled: bool,
    /// Generators (node indices) that were started after the failure.
    pub gens_started: Vec<usize>,
    /// By node index: whether the node's output was live at any step after the failure.
    pub ever_live: Vec<bool>,
    /// Simulator events after the failure, times relative to it.
    pub events: Vec<Event>,
    /// What carried the IT load at the end.
    pub final_source: Source,
    /// Which of utility, generator and battery delivered power at the end (more than
    /// one when `final_source` is `mixed`).
    pub final_sources: Vec<Source>,
    /// Dual-corded servers that lost a cord but stayed up.
    pub servers_on_one_cord: usize,
    /// One per room that holds a server, in topology order.
    pub rooms: Vec<RoomOutcome>,
}

/// Server node indices, in topology order: the index space of [`Transition::server`].
pub fn servers_of(topology: &Topology) -> Vec<usize> {
    topology
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind() == NodeKind::Server)
        .map(|(i, _)| i)
        .collect()
}

/// Server demand \[kW\] by server index.
pub fn server_demand_kw(topology: &Topology, servers: &[usize]) -> Vec<f64> {
    servers
        .iter()
        .map(|&i| topology.node(i).params.it_demand_kw().unwrap_or(0.0))
        .collect()
}

/// Quiet time after the last event before a run may stop \[s\]: long enough for any
/// ATS start delay to run out without an event.
fn quiet_s(topology: &Topology, step_s: f64) -> f64 {
    let ats = topology
        .nodes
        .iter()
        .filter_map(|n| match &n.params {
            KindParams::Switchgear(p) => Some(p.start_delay_s),
            _ => None,
        })
        .fold(0.0, f64::max);
    ats + 2.0 * step_s + 1.0
}

/// What a run watches in each room that holds a server: whether the room has
/// settled, and how warm it gets.
#[derive(Debug, Clone)]
struct RoomWatch {
    room: usize,
    setpoint_c: f64,
    servers: Vec<usize>,
    /// Cooling units naming the room: (node index, capacity \[kW\]).
    coolers: Vec<(usize, f64)>,
}

/// Air within this of the setpoint counts as held \[K\].
const SETPOINT_BAND_K: f64 = 0.05;

/// Node `i`'s capacity \[kW\] if it is a cooling unit that cools a room (names one
/// and can remove heat from it): a component whose loss heats servers.
pub(crate) fn room_cooling_kw(topology: &Topology, i: usize) -> Option<f64> {
    let node = topology.node(i);
    node.room?;
    node.params.cooling_capacity_kw().filter(|&kw| kw > 0.0)
}

fn room_watches(topology: &Topology) -> Vec<RoomWatch> {
    let mut out: Vec<RoomWatch> = topology
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            n.params.room().map(|p| RoomWatch {
                room: i,
                setpoint_c: p.setpoint_c,
                servers: Vec::new(),
                coolers: Vec::new(),
            })
        })
        .collect();
    for (i, n) in topology.nodes.iter().enumerate() {
        let Some(w) = n.room.and_then(|r| out.iter_mut().find(|w| w.room == r)) else {
            continue;
        };
        if n.params.it_demand_kw().is_some() {
            w.servers.push(i);
        } else if let Some(kw) = room_cooling_kw(topology, i) {
            w.coolers.push((i, kw));
        }
    }
    out.retain(|w| !w.servers.is_empty());
    out
}

/// The room's air temperature \[°C\].
fn air_c(sim: &Simulator, room: usize) -> Option<f64> {
    sim.node_status(room).measured.temperature_c
}

impl RoomWatch {
    /// Nothing thermal left to play out: no running server left in the room to
    /// stop, or its cooling holds the setpoint with capacity to spare (a room whose
    /// cooling runs at full capacity is still warming, or still cooling down).
    fn settled(&self, sim: &Simulator) -> bool {
        if !self.servers.iter().any(|&s| sim.is_live(s)) {
            return true;
        }
        let mut running = false;
        for &(c, capacity_kw) in &self.coolers {
            if !matches!(sim.node_state(c), NodeState::Ok | NodeState::Overload) {
                continue;
            }
            running = true;
            let removed = sim.node_status(c).measured.cooling_kw.unwrap_or(0.0);
            if removed >= capacity_kw * (1.0 - 1e-9) {
                return false;
            }
        }
        running && air_c(sim, self.room).is_some_and(|t| t <= self.setpoint_c + SETPOINT_BAND_K)
    }
}

/// Simulates the failure of `failed` (node indices) on a healthy site.
pub fn simulate_failure(topology: &Topology, failed: &[usize], cfg: &RunConfig) -> Outcome {
    let mut sim = Simulator::new(topology.clone(), cfg.step_ms);
    let eps = 1e-9;
    while sim.next_time_s() + eps < cfg.prelude_s {
        sim.step();
    }
    run_failure(topology, sim, failed, cfg)
}

/// Why a site could not be put in the state a run was to start from.
#[derive(Debug, Clone, PartialEq)]
pub enum SetupError {
    /// An interlock refused an operator command (the simulator's `refused` event).
    Refused {
        node: String,
        command: &'static str,
        reason: String,
    },
    /// The command does not apply to the node at all.
    NotApplicable {
        node: String,
        command: &'static str,
        reason: String,
    },
    /// The state itself drops IT load, before any failure.
    DropsIt {
        /// Largest IT load lost while the commands were applied and the site settled
        /// \[kW\].
        max_lost_kw: f64,
    },
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::Refused {
                node,
                command,
                reason,
            } => write!(f, "{node} refused {command}: {reason}"),
            SetupError::NotApplicable {
                node,
                command,
                reason,
            } => write!(f, "{command} does not apply to {node}: {reason}"),
            SetupError::DropsIt { max_lost_kw } => {
                write!(f, "it drops {max_lost_kw} kW of IT load by itself")
            }
        }
    }
}

impl std::error::Error for SetupError {}

/// Simulates the failure of `failed` from a state an operator put the site in: a
/// healthy site takes `setup` (node index, command) one command a step, each checked
/// against its answer (a refusal is an error), then settles — `prelude_s` at least,
/// and until nothing is left to play out — with no IT load lost; then `failed` fail
/// together, as in [`simulate_failure`]. With `failed` empty the run only checks the
/// state.
pub fn simulate_failure_after(
    topology: &Topology,
    setup: &[(usize, Command)],
    failed: &[usize],
    cfg: &RunConfig,
) -> Result<Outcome, SetupError> {
    let mut sim = Simulator::new(topology.clone(), cfg.step_ms);
    let step_s = f64::from(sim.step_ms()) / 1000.0;
    let eps = 1e-9;
    let n = topology.len();
    sim.step();
    let mut max_lost_kw = sim.it_kw_lost();
    for (i, cmd) in setup {
        let node = topology.node(*i).id.clone();
        let command = cmd.name();
        sim.command(&node, cmd)
            .map_err(|e| SetupError::NotApplicable {
                node: node.clone(),
                command,
                reason: e.to_string(),
            })?;
        sim.step();
        max_lost_kw = max_lost_kw.max(sim.it_kw_lost());
        if let Some(e) = sim.events().iter().find(|e| {
            e.event == EventKind::Refused
                && e.node_id == node
                && e.command.as_deref() == Some(command)
        }) {
            return Err(SetupError::Refused {
                node,
                command,
                reason: e.reason.clone().unwrap_or_default(),
            });
        }
    }
    // Settle: the prelude's length at least, then until calm and quiet (a UPS left
    // on battery by the state runs down first), as long as a run may last.
    let quiet = quiet_s(topology, step_s);
    let watches = room_watches(topology);
    let mut last_event_s = sim.time_s();
    let limit = cfg.prelude_s + cfg.max_after_s;
    loop {
        let t = sim.next_time_s();
        if t + eps >= cfg.prelude_s
            && t - last_event_s >= quiet
            && is_calm(&sim, n)
            && watches.iter().all(|w| w.settled(&sim))
        {
            break;
        }
        if t >= limit {
            break;
        }
        sim.step();
        max_lost_kw = max_lost_kw.max(sim.it_kw_lost());
        if !sim.events().is_empty() {
            last_event_s = sim.time_s();
        }
    }
    if max_lost_kw > 0.0 {
        return Err(SetupError::DropsIt { max_lost_kw });
    }
    Ok(run_failure(topology, sim, failed, cfg))
}

/// Simulates the failure of `failed` (node indices) from `sim` as it is — a site a
/// procedure has put in some state, copied mid-run: they fail together at its next
/// step and the run goes on until the site settles or `cfg.max_after_s` has passed,
/// as in [`simulate_failure`]. The run keeps `sim`'s step (`cfg.step_ms` and
/// `cfg.prelude_s` are not used). With `failed` empty it only plays the state out.
pub fn simulate_failure_from(sim: Simulator, failed: &[usize], cfg: &RunConfig) -> Outcome {
    let topology = sim.topology().clone();
    run_failure(&topology, sim, failed, cfg)
}

/// Fails `failed` at the simulator's next step and runs until the site settles (or
/// `max_after_s`).
fn run_failure(
    topology: &Topology,
    mut sim: Simulator,
    failed: &[usize],
    cfg: &RunConfig,
) -> Outcome {
    let servers = servers_of(topology);
    let step_s = f64::from(sim.step_ms()) / 1000.0;
    let eps = 1e-9;
    let t0 = sim.next_time_s();
    for &i in failed {
        let id = topology.node(i).id.clone();
        // Every node takes set_fault.
        let _ = sim.command(&id, &Command::SetFault { state: true });
    }
    let quiet = quiet_s(topology, step_s);
    let n = topology.len();
    let watches = room_watches(topology);
    let mut rooms: Vec<RoomOutcome> = watches
        .iter()
        .map(|w| RoomOutcome {
            room: w.room,
            peak_c: f64::NEG_INFINITY,
            peak_after_s: 0.0,
            shut_down: Vec::new(),
            first_shutdown_after_s: None,
        })
        .collect();
    let mut ever_live = vec![false; n];
    let mut live: Vec<bool> = vec![true; servers.len()];
    let mut transitions = Vec::new();
    let mut events = Vec::new();
    let mut gens_started = Vec::new();
    let mut lost_kw_at_once = 0.0;
    let mut max_lost_kw: f64 = 0.0;
    let mut first_loss_after_s = None;
    let mut lost_kw_changes: Vec<(f64, f64)> = Vec::new();
    let mut last_loss_change = None;
    let mut last_event_s = 0.0;
    let mut settled = false;
    let kwh_before = sim.it_kwh_unserved();
    loop {
        sim.step();
        let rel = sim.time_s() - t0;
        for (i, l) in ever_live.iter_mut().enumerate() {
            *l |= sim.is_live(i);
        }
        for (k, &s) in servers.iter().enumerate() {
            let now = sim.is_live(s);
            if now != live[k] {
                live[k] = now;
                let thermal = !now && sim.node_state(s) == NodeState::Shutdown;
                transitions.push(Transition {
                    after_s: rel,
                    server: k as u32,
                    live: now,
                    thermal,
                });
                last_loss_change = Some(rel);
                if thermal
                    && let Some(r) = topology.node(s).room
                    && let Some(ro) = rooms.iter_mut().find(|ro| ro.room == r)
                {
                    ro.shut_down.push(s);
                    ro.first_shutdown_after_s.get_or_insert(rel);
                }
            }
        }
        for ro in &mut rooms {
            if let Some(t) = air_c(&sim, ro.room)
                && t > ro.peak_c
            {
                ro.peak_c = t;
                ro.peak_after_s = rel;
            }
        }
        let lost = sim.it_kw_lost();
        if rel < eps {
            lost_kw_at_once = lost;
        }
        if lost_kw_changes
            .last()
            .is_none_or(|&(_, kw)| (kw - lost).abs() > LOST_KW_EPS)
        {
            lost_kw_changes.push((rel, lost));
        }
        if lost > 0.0 && first_loss_after_s.is_none() {
            first_loss_after_s = Some(rel);
        }
        max_lost_kw = max_lost_kw.max(lost);
        if !sim.events().is_empty() {
            last_event_s = rel;
            for e in sim.events() {
                // A cooling unit restarting says `start` too: generators only.
                if e.event == EventKind::Start
                    && let Some(i) = topology.node_index(&e.node_id)
                    && topology.node(i).kind() == NodeKind::Generator
                    && !gens_started.contains(&i)
                {
                    gens_started.push(i);
                }
                let mut e = e.clone();
                e.t = rel;
                events.push(e);
            }
        }
        if rel - last_event_s >= quiet
            && is_calm(&sim, n)
            && watches.iter().all(|w| w.settled(&sim))
        {
            settled = true;
            break;
        }
        if rel >= cfg.max_after_s {
            break;
        }
    }
    let final_lost_kw = sim.it_kw_lost();
    let restored_after_s = match (first_loss_after_s, final_lost_kw > 0.0) {
        (Some(_), false) => last_loss_change,
        _ => None,
    };
    let servers_on_one_cord = servers
        .iter()
        .filter(|&&s| {
            let node = topology.node(s);
            node.feeds.len() > 1 && sim.is_live(s) && node.feeds.iter().any(|&f| !sim.is_live(f))
        })
        .count();
    gens_started.sort_unstable();
    let system = sim.system_status();
    let mut failed = failed.to_vec();
    failed.sort_unstable();
    Outcome {
        failed,
        transitions,
        lost_kw_at_once,
        max_lost_kw,
        final_lost_kw,
        first_loss_after_s,
        restored_after_s,
        lost_kw_changes,
        it_kwh_unserved: sim.it_kwh_unserved() - kwh_before,
        run_s: sim.time_s() - t0,
        settled,
        gens_started,
        ever_live,
        events,
        final_source: system.source,
        final_sources: [
            (system.utility_kw, Source::Utility),
            (system.generator_kw, Source::Generator),
            (system.battery_kw, Source::Battery),
        ]
        .into_iter()
        .filter(|(kw, _)| *kw > 0.0)
        .map(|(_, s)| s)
        .collect(),
        servers_on_one_cord,
        rooms,
    }
}

/// IT kW lost that count as a change (below it, rounding of demand − served).
pub(crate) const LOST_KW_EPS: f64 = 1e-6;

/// Nothing left to play out: no UPS on battery, no generator starting, no breaker
/// carrying more than its pickup (it would trip in time). An overload of a rating
/// alone (kVA, kW) never trips anything and does not keep the run going.
fn is_calm(sim: &Simulator, n: usize) -> bool {
    (0..n).all(|i| match sim.node_state(i) {
        NodeState::OnBattery | NodeState::Starting => false,
        NodeState::Overload => {
            let pickup = sim.topology().node(i).breaker_a;
            let current = sim.node_status(i).measured.current.unwrap_or(0.0);
            !pickup.is_some_and(|a| current > a)
        }
        _ => true,
    })
}

impl Outcome {
    /// Whether any IT load was lost at any time.
    pub fn drops_it(&self) -> bool {
        self.first_loss_after_s.is_some()
    }

    /// Whether any server was stopped by its own thermal protection.
    pub fn shuts_down_servers(&self) -> bool {
        self.rooms.iter().any(|r| !r.shut_down.is_empty())
    }

    /// Whether the IT load lost at `after_s` \[s after the failure\] was lost to
    /// thermal shutdowns only (not to power).
    pub fn thermal_at(&self, after_s: f64) -> bool {
        let mut dark = self
            .transitions
            .iter()
            .filter(|t| !t.live && (t.after_s - after_s).abs() < 1e-3)
            .peekable();
        dark.peek().is_some() && dark.all(|t| t.thermal)
    }

    /// The rooms in words: where servers shut themselves down and when, and how
    /// warm the air got where it left its setpoint.
    pub fn thermal_words(&self, topology: &Topology) -> Vec<String> {
        let mut parts = Vec::new();
        for r in &self.rooms {
            let room = topology.node(r.room);
            let Some(p) = room.params.room() else {
                continue;
            };
            let spec = p.class.spec();
            let id = &room.id;
            if let Some(t) = r.first_shutdown_after_s {
                let n = r.shut_down.len();
                let servers = topology
                    .nodes
                    .iter()
                    .filter(|x| x.room == Some(r.room) && x.kind() == NodeKind::Server)
                    .count();
                parts.push(format!(
                    "servers in {id} shut down after {} ({n} of {servers} stopped themselves; air peaked at {:.1} °C)",
                    secs(t),
                    r.peak_c
                ));
            } else if r.peak_c > spec.allowable_max_c {
                parts.push(format!(
                    "{id} air peaked at {:.1} °C at +{}, above the {} allowable {:.0} °C",
                    r.peak_c,
                    secs(r.peak_after_s),
                    spec.word,
                    spec.allowable_max_c
                ));
            } else if r.peak_c > spec.recommended_max_c {
                parts.push(format!(
                    "{id} air peaked at {:.1} °C at +{}, above the {} recommended {:.0} °C (allowable {:.0} °C)",
                    r.peak_c,
                    secs(r.peak_after_s),
                    spec.word,
                    spec.recommended_max_c,
                    spec.allowable_max_c
                ));
            } else if r.peak_c > p.setpoint_c + 0.5 {
                parts.push(format!(
                    "{id} air peaked at {:.1} °C at +{}",
                    r.peak_c,
                    secs(r.peak_after_s)
                ));
            }
        }
        parts
    }

    /// Ids of the servers that lost power (or stopped themselves) at some time.
    pub fn lost_servers(&self, topology: &Topology, servers: &[usize]) -> Vec<String> {
        let mut seen = vec![false; servers.len()];
        let mut out = Vec::new();
        for t in &self.transitions {
            let k = t.server as usize;
            if !t.live && !seen[k] {
                seen[k] = true;
                out.push(topology.node(servers[k]).id.clone());
            }
        }
        out
    }

    /// How the site covered (or failed to cover) the failure, in words, from the events.
    pub fn explain(&self, topology: &Topology) -> String {
        // (what, when) → nodes, so that ten UPSes bridging alike make one phrase.
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        let mut add = |what: String, node: &str| match groups.iter_mut().find(|(w, _)| *w == what) {
            Some((_, nodes)) => nodes.push(node.to_string()),
            None => groups.push((what, vec![node.to_string()])),
        };
        let mut on_battery: Vec<(String, f64)> = Vec::new();
        // Each switch's feed in use, by node id: its preferred feed until it moves.
        let mut feed_in_use: Vec<(&str, &str)> = Vec::new();
        for e in &self.events {
            let Some(node) = topology.node_index(&e.node_id).map(|i| topology.node(i)) else {
                continue;
            };
            let at = secs(e.t);
            match e.event {
                EventKind::OnBattery => on_battery.push((e.node_id.clone(), e.t)),
                EventKind::OnMains => {
                    if let Some(p) = on_battery.iter().position(|(id, _)| *id == e.node_id) {
                        let (id, from) = on_battery.remove(p);
                        add(format!("bridged {} on battery", secs(e.t - from)), &id);
                    }
                }
                EventKind::BatteryDepleted => add(format!("battery depleted at +{at}"), &e.node_id),
                EventKind::Transfer | EventKind::Retransfer => {
                    let Some(to) = e.to.as_deref() else {
                        continue;
                    };
                    let slot = match feed_in_use.iter().position(|(id, _)| *id == e.node_id) {
                        Some(k) => k,
                        None => {
                            let preferred =
                                node.feeds.first().map_or("", |&f| &topology.node(f).id);
                            feed_in_use.push((&e.node_id, preferred));
                            feed_in_use.len() - 1
                        }
                    };
                    let from = std::mem::replace(&mut feed_in_use[slot].1, to);
                    if e.event == EventKind::Transfer {
                        add(
                            format!("transferred from {from} to {to} at +{at}"),
                            &e.node_id,
                        );
                    }
                }
                EventKind::Trip => {
                    let amps = node.breaker_a.unwrap_or(0.0);
                    add(
                        format!("breaker tripped ({amps:.0} A pickup) at +{at}"),
                        &e.node_id,
                    );
                }
                EventKind::OutOfFuel => add(format!("out of fuel at +{at}"), &e.node_id),
                EventKind::Bypass if node.kind() == NodeKind::Ups => {
                    add(format!("on static bypass at +{at}"), &e.node_id);
                }
                _ => {}
            }
        }
        for (id, _) in on_battery {
            if !self
                .events
                .iter()
                .any(|e| e.node_id == id && e.event == EventKind::BatteryDepleted)
            {
                add("still on battery when the run ended".into(), &id);
            }
        }
        let mut parts: Vec<String> = groups
            .into_iter()
            .map(|(what, nodes)| {
                let names = if nodes.len() > 3 {
                    format!("{} and {} more", nodes[..3].join(", "), nodes.len() - 3)
                } else {
                    nodes.join(", ")
                };
                format!("{names} {what}")
            })
            .collect();
        if self.servers_on_one_cord > 0 {
            parts.push(format!(
                "{} dual-corded server{} carried on the other cord",
                self.servers_on_one_cord,
                if self.servers_on_one_cord == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        parts.extend(self.thermal_words(topology));
        if parts.is_empty() {
            parts.push(if self.drops_it() {
                "no other supply path: the IT load behind it is lost with it".into()
            } else {
                "no effect on the IT supply".into()
            });
        }
        let mut s = parts.join("; ");
        match self.final_source {
            _ if self.drops_it() => {}
            Source::Utility => {}
            Source::Mixed => {
                let names: Vec<&str> = self.final_sources.iter().map(|s| s.as_str()).collect();
                s.push_str(&format!("; IT carried by {}", names.join(" and ")));
            }
            other => s.push_str(&format!("; IT carried by {other}")),
        }
        s
    }
}

/// `10 s`, `25.8 min`, `3.2 h`.
pub fn secs(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{s:.0} s ({:.1} min)", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}
