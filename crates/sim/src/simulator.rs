//! The simulator: a topology, its dynamic state and the solver, stepped in fixed
//! steps (DESIGN §5). Commands in, statuses, the system status and events out.
//!
//! Each step at time `t`:
//! 1. integrate the previous step's flows over the step just ended (battery state of
//!    charge, fuel, breaker heat, unserved energy) — so a timer of T s fires on the
//!    first step at or after T;
//! 2. apply queued commands;
//! 3. advance generator timers;
//! 4. energize top-down (the ATS decides its feed as it is reached);
//! 5. flow bottom-up (loads → conversions → sources);
//! 6. derive each node's status word and raise events for the changes.

use std::sync::Arc;

use winter_river_protocol::{
    Command, Event, EventKind, Measurements, NodeKind, NodeState, Severity, Source, Status,
    SystemStatus, UpdateParams,
};

use crate::field::{FieldValue, Target, node_field, system_field};
use crate::layout::Layout;
use crate::physics::{
    S_PER_H, battery_draw_kw, battery_runtime_s, conversion_input_kw, generator_fuel_l_per_h,
    iec_standard_inverse_s, peukert_soc_rate_per_h,
};
use crate::topology::{KindParams, Topology};

/// Slack when comparing simulated times \[s\]: step times are multiples of
/// `step_ms`, but times written in files and sums of steps are not exact in floating
/// point.
pub const TIME_EPS_S: f64 = 1e-9;

/// A command the simulator refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown node `{0}`")]
    UnknownNode(String),
    #[error("`{command}` does not apply to `{node}` ({kind}): {reason}")]
    NotApplicable {
        command: &'static str,
        node: String,
        kind: &'static str,
        reason: &'static str,
    },
    #[error("set_load: {0} kW is not a valid demand (must be finite and >= 0)")]
    BadLoad(f64),
}

/// Generator engine state.
#[derive(Debug, Clone, Copy, PartialEq)]
enum GenPhase {
    Standby,
    Starting { ready_at_s: f64 },
    Running,
    Cooldown { until_s: f64 },
    OutOfFuel,
}

#[derive(Debug, Clone)]
struct GenState {
    node: usize,
    phase: GenPhase,
    fuel_l: f64,
    /// Number of ATSs asking this generator to run.
    run_requests: u32,
}

#[derive(Debug, Clone)]
struct AtsState {
    /// Index into the switchgear's feeds: 0 = preferred.
    selected: usize,
    /// When the preferred feed was first seen dead (while on preferred) \[s\].
    preferred_dead_since_s: Option<f64>,
    /// When the preferred feed was first seen live (while on an alternate) \[s\].
    preferred_live_since_s: Option<f64>,
    start_sent: bool,
    /// Generator slots behind the alternate feeds.
    generators: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum UpsMode {
    Off,
    Normal,
    OnBattery,
    Bypass,
}

#[derive(Debug, Clone)]
struct UpsState {
    node: usize,
    /// State of charge, 0..=1.
    soc: f64,
    mode: UpsMode,
    /// Battery discharge \[kW\].
    draw_kw: f64,
    /// Battery charging \[kW\].
    charge_kw: f64,
}

/// Where a node's kind-specific state lives.
#[derive(Debug, Clone, Copy)]
enum Slot {
    None,
    Gen(usize),
    Ats(usize),
    Ups(usize),
}

/// The whole simulated site.
#[derive(Debug)]
pub struct Simulator {
    topology: Arc<Topology>,
    layout: Layout,
    step_ms: u32,
    /// Index of the latest computed step; meaningless until `started`.
    step_index: u64,
    started: bool,
    pending: Vec<(usize, Command)>,
    events: Vec<Event>,

    // Per node, by topology index.
    slot: Vec<Slot>,
    nominal_in_v: Vec<f64>,
    nominal_out_v: Vec<f64>,
    faulted: Vec<bool>,
    tripped: Vec<bool>,
    /// ∫ dt / t(M) of the breaker; trips at 1.
    breaker_heat: Vec<f64>,
    /// Demand of loads \[kW\] (set_load).
    demand_kw: Vec<f64>,
    in_live: Vec<bool>,
    live: Vec<bool>,
    /// Power at the input (sources: output) \[kW\].
    in_kw: Vec<f64>,
    /// Power delivered downstream \[kW\].
    out_kw: Vec<f64>,
    current_a: Vec<f64>,
    status: Vec<NodeState>,

    gens: Vec<GenState>,
    ats: Vec<AtsState>,
    ups: Vec<UpsState>,

    // Site aggregates at the latest step.
    it_kw: f64,
    it_demand_kw: f64,
    facility_kw: f64,
    generator_kw: f64,
    battery_out_kw: f64,
    it_kwh_unserved: f64,
}

impl Simulator {
    /// A simulator at t = 0, settled in its initial state, before its first step.
    /// `step_ms` must be > 0 (a zero step is taken as 1 ms).
    pub fn new(topology: Topology, step_ms: u32) -> Simulator {
        let n = topology.len();
        let mut slot = vec![Slot::None; n];
        let mut gens = Vec::new();
        let mut ups = Vec::new();
        let mut demand_kw = vec![0.0; n];
        for (i, node) in topology.nodes.iter().enumerate() {
            match node.params {
                KindParams::Generator { fuel_l, .. } => {
                    slot[i] = Slot::Gen(gens.len());
                    gens.push(GenState {
                        node: i,
                        phase: GenPhase::Standby,
                        fuel_l,
                        run_requests: 0,
                    });
                }
                KindParams::Ups { .. } => {
                    slot[i] = Slot::Ups(ups.len());
                    ups.push(UpsState {
                        node: i,
                        soc: 1.0,
                        mode: UpsMode::Off,
                        draw_kw: 0.0,
                        charge_kw: 0.0,
                    });
                }
                KindParams::Server { demand_kw: d }
                | KindParams::Load { demand_kw: d }
                | KindParams::Cooling { demand_kw: d, .. } => demand_kw[i] = d,
                _ => {}
            }
        }
        let mut ats = Vec::new();
        for (i, node) in topology.nodes.iter().enumerate() {
            if node.kind() == NodeKind::Switchgear {
                let mut generators = Vec::new();
                for &alt in node.feeds.iter().skip(1) {
                    collect_generators(&topology, &slot, alt, &mut generators);
                }
                slot[i] = Slot::Ats(ats.len());
                ats.push(AtsState {
                    selected: 0,
                    preferred_dead_since_s: None,
                    preferred_live_since_s: None,
                    start_sent: false,
                    generators,
                });
            }
        }
        let (nominal_in_v, nominal_out_v) = nominal_voltages(&topology);
        let layout = Layout::new(&topology, &nominal_in_v, &nominal_out_v);
        let mut sim = Simulator {
            step_ms: step_ms.max(1),
            step_index: 0,
            started: false,
            pending: Vec::new(),
            events: Vec::new(),
            slot,
            nominal_in_v,
            nominal_out_v,
            faulted: vec![false; n],
            tripped: vec![false; n],
            breaker_heat: vec![0.0; n],
            demand_kw,
            in_live: vec![false; n],
            live: vec![false; n],
            in_kw: vec![0.0; n],
            out_kw: vec![0.0; n],
            current_a: vec![0.0; n],
            status: vec![NodeState::Ok; n],
            gens,
            ats,
            ups,
            it_kw: 0.0,
            it_demand_kw: 0.0,
            facility_kw: 0.0,
            generator_kw: 0.0,
            battery_out_kw: 0.0,
            it_kwh_unserved: 0.0,
            topology: Arc::new(topology),
            layout,
        };
        // Settle the initial state so the first step's events are changes from it.
        sim.solve(0.0);
        sim.update_statuses(0.0, false);
        sim
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Step length \[ms\].
    pub fn step_ms(&self) -> u32 {
        self.step_ms
    }

    /// Time of the latest computed step \[s\] (0 before the first).
    pub fn time_s(&self) -> f64 {
        self.step_index as f64 * f64::from(self.step_ms) / 1000.0
    }

    /// Time the next [`Simulator::step`] computes \[s\]: 0 for the first step.
    pub fn next_time_s(&self) -> f64 {
        if self.started {
            (self.step_index + 1) as f64 * f64::from(self.step_ms) / 1000.0
        } else {
            0.0
        }
    }

    /// Queues a command for a node by id; it takes effect at the next step.
    pub fn command(&mut self, node_id: &str, cmd: &Command) -> Result<(), CommandError> {
        let idx = self
            .topology
            .node_index(node_id)
            .ok_or_else(|| CommandError::UnknownNode(node_id.to_string()))?;
        let kind = self.topology.node(idx).kind();
        match cmd {
            Command::SetFault { .. } | Command::Reset => {}
            Command::SetLoad { kw } => {
                if !kind.is_load() {
                    return Err(CommandError::NotApplicable {
                        command: "set_load",
                        node: node_id.to_string(),
                        kind: kind.as_str(),
                        reason: "only server, cooling and load nodes have a demand",
                    });
                }
                if !kw.is_finite() || *kw < 0.0 {
                    return Err(CommandError::BadLoad(*kw));
                }
            }
            Command::Update(_) => {
                return Err(CommandError::NotApplicable {
                    command: "update",
                    node: node_id.to_string(),
                    kind: kind.as_str(),
                    reason: "update is sent by the engine to boards, not to the model",
                });
            }
        }
        self.pending.push((idx, cmd.clone()));
        Ok(())
    }

    /// Computes the next step: the first call computes t = 0, later calls advance
    /// by `step_ms`.
    pub fn step(&mut self) {
        self.events.clear();
        if self.started {
            self.integrate(f64::from(self.step_ms) / 1000.0);
            self.step_index += 1;
        } else {
            self.started = true;
        }
        let t = self.time_s();
        self.apply_commands();
        for g in 0..self.gens.len() {
            self.advance_generator(g, t);
        }
        self.solve(t);
        self.update_statuses(t, true);
    }

    /// Events raised by the latest step, in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// A node's status word at the latest step.
    pub fn node_state(&self, idx: usize) -> NodeState {
        self.status[idx]
    }

    /// A node's status at the latest step (electrical fields only: no `wifi_rssi`,
    /// `uptime` or `seq` — those belong to boards).
    pub fn node_status(&self, idx: usize) -> Status {
        let node = self.topology.node(idx);
        let mut s = Status::new(node.id.clone(), self.status[idx]);
        s.kind = Some(node.kind());
        s.set_measurements(&self.node_update(idx));
        s
    }

    /// Node `idx`'s measured values and state at the latest step, as the engine
    /// sends them to its board in an `update` (DESIGN §2): [`Simulator::node_status`]
    /// without the identity, and without allocating but for a switchgear's source.
    pub fn node_update(&self, idx: usize) -> UpdateParams {
        let node = self.topology.node(idx);
        let source = node.kind().is_source();
        let mut m = Measurements {
            voltage_in: Some(match node.params {
                KindParams::Utility { voltage_v } if !self.faulted[idx] => voltage_v,
                _ if !source && self.in_live[idx] => self.nominal_in_v[idx],
                _ => 0.0,
            }),
            voltage_out: Some(if self.live[idx] {
                self.nominal_out_v[idx]
            } else {
                0.0
            }),
            current: Some(self.current_a[idx]),
            power_kw: Some(self.in_kw[idx]),
            load_pct: Some(self.load_pct(idx)),
            ..Measurements::default()
        };
        match self.slot[idx] {
            Slot::Ups(ups) => {
                let st = &self.ups[ups];
                m.battery_pct = Some(st.soc * 100.0);
                m.runtime_s = self.ups_runtime_s(idx, ups);
            }
            Slot::Gen(g) => m.fuel_pct = Some(self.fuel_pct(g)),
            Slot::Ats(a) => {
                let feed = node.feeds[self.ats[a].selected];
                m.source = Some(self.topology.node(feed).id.clone());
            }
            Slot::None => {}
        }
        UpdateParams {
            status: Some(self.status[idx]),
            measured: m,
        }
    }

    /// The site's status at the latest step.
    pub fn system_status(&self) -> SystemStatus {
        let pue =
            (self.it_kw > 0.0 && self.facility_kw > 0.0).then(|| self.facility_kw / self.it_kw);
        let runtime_s = (0..self.ups.len())
            .filter_map(|u| self.ups_runtime_s(self.ups_node(u), u))
            .reduce(f64::min);
        let fuel_pct = (0..self.gens.len())
            .map(|g| self.fuel_pct(g))
            .reduce(f64::min);
        let mut system = SystemStatus {
            node_id: winter_river_protocol::SYSTEM_ID.to_string(),
            it_kw: self.it_kw,
            facility_kw: self.facility_kw,
            pue,
            it_kw_lost: self.it_kw_lost(),
            it_kwh_unserved: self.it_kwh_unserved,
            source: self.source(),
            runtime_s,
            fuel_pct,
            sim_time_s: self.time_s(),
            ..SystemStatus::default()
        };
        for &state in &self.status {
            *system.count_mut(state) += 1;
        }
        system
    }

    /// A field by wire name, for expectations.
    pub fn field(&self, target: Target, name: &str) -> FieldValue {
        match target {
            Target::System => system_field(&self.system_status(), name),
            Target::Node(i) => node_field(&self.node_status(i), name),
        }
    }

    /// IT (server) load served at the latest step \[kW\].
    pub fn it_kw(&self) -> f64 {
        self.it_kw
    }

    /// IT demand not served at the latest step \[kW\].
    pub fn it_kw_lost(&self) -> f64 {
        (self.it_demand_kw - self.it_kw).max(0.0)
    }

    /// Cumulative IT energy not served \[kWh\].
    pub fn it_kwh_unserved(&self) -> f64 {
        self.it_kwh_unserved
    }

    /// Whether a node's output is energized at the latest step.
    pub fn is_live(&self, idx: usize) -> bool {
        self.live[idx]
    }

    /// The energy balance of the latest step \[kW\]: (sources + battery discharge,
    /// loads served + losses + battery charging). Equal up to rounding.
    pub fn power_balance_kw(&self) -> (f64, f64) {
        let mut supply = 0.0;
        let mut demand = 0.0;
        for (i, node) in self.topology.nodes.iter().enumerate() {
            let kind = node.kind();
            if kind.is_source() {
                supply += self.out_kw[i];
            } else if kind.is_load() {
                demand += self.in_kw[i];
            } else {
                // Conversion or pass-through: losses = input − output (− charging).
                let (draw, charge) = match self.slot[i] {
                    Slot::Ups(u) => (self.ups[u].draw_kw, self.ups[u].charge_kw),
                    _ => (0.0, 0.0),
                };
                supply += draw;
                let loss = self.in_kw[i] + draw - self.out_kw[i] - charge;
                demand += loss + charge;
            }
        }
        (supply, demand)
    }

    /// What carries the IT load.
    fn source(&self) -> Source {
        if self.it_kw <= 0.0 {
            Source::None
        } else if self.battery_out_kw > 0.0 {
            Source::Battery
        } else if self.generator_kw > 0.0 {
            Source::Generator
        } else {
            Source::Utility
        }
    }

    /// Fuel left in generator slot `g`, as a share of its tank \[%\] (0 with no tank).
    fn fuel_pct(&self, g: usize) -> f64 {
        match self.topology.node(self.gens[g].node).params {
            KindParams::Generator { fuel_l, .. } if fuel_l > 0.0 => {
                self.gens[g].fuel_l / fuel_l * 100.0
            }
            _ => 0.0,
        }
    }

    fn ups_node(&self, u: usize) -> usize {
        self.ups[u].node
    }

    /// Battery runtime of a UPS at its present output \[s\]: how long the battery
    /// would last (on battery: will last) at this load. `None` with no load.
    fn ups_runtime_s(&self, idx: usize, u: usize) -> Option<f64> {
        let KindParams::Ups {
            efficiency,
            battery_kwh,
            discharge_efficiency,
            peukert_k,
            battery_rated_h,
            ..
        } = self.topology.node(idx).params
        else {
            return None;
        };
        if self.faulted[idx] || self.tripped[idx] {
            return Some(0.0);
        }
        let draw = battery_draw_kw(self.out_kw[idx], efficiency, discharge_efficiency);
        battery_runtime_s(
            self.ups[u].soc,
            draw,
            battery_kwh,
            battery_rated_h,
            peukert_k,
        )
    }

    fn load_pct(&self, idx: usize) -> f64 {
        let node = self.topology.node(idx);
        let out = self.out_kw[idx];
        match node.params {
            KindParams::Transformer { rating_kva, .. } | KindParams::Pdu { rating_kva, .. } => {
                out / node.power_factor / rating_kva * 100.0
            }
            KindParams::Generator { rating_kw, .. } | KindParams::Ups { rating_kw, .. } => {
                out / rating_kw * 100.0
            }
            KindParams::Server { .. } | KindParams::Load { .. } | KindParams::Cooling { .. } => {
                let demand = self.load_demand_kw(idx);
                if demand > 0.0 {
                    out / demand * 100.0
                } else {
                    0.0
                }
            }
            _ => match node.breaker_a {
                Some(a) => self.current_a[idx] / a * 100.0,
                None => 0.0,
            },
        }
    }

    /// Demand of a load at the latest step \[kW\] (cooling follows the IT load).
    fn load_demand_kw(&self, idx: usize) -> f64 {
        match self.topology.node(idx).params {
            KindParams::Cooling { per_it_kw, .. } => self.demand_kw[idx] + per_it_kw * self.it_kw,
            _ => self.demand_kw[idx],
        }
    }

    fn apply_commands(&mut self) {
        for (idx, cmd) in std::mem::take(&mut self.pending) {
            match cmd {
                Command::SetFault { state } => self.faulted[idx] = state,
                Command::SetLoad { kw } => self.demand_kw[idx] = kw,
                Command::Reset => {
                    self.tripped[idx] = false;
                    self.breaker_heat[idx] = 0.0;
                    if let Slot::Gen(g) = self.slot[idx]
                        && let KindParams::Generator { fuel_l, .. } = self.topology.node(idx).params
                    {
                        // A reset generator has been refuelled and its alarm cleared.
                        self.gens[g].fuel_l = fuel_l;
                        if self.gens[g].phase == GenPhase::OutOfFuel {
                            self.gens[g].phase = GenPhase::Standby;
                        }
                    }
                }
                Command::Update(_) => {}
            }
        }
    }

    /// Integrates the latest step's flows over `dt_s`.
    fn integrate(&mut self, dt_s: f64) {
        let dt_h = dt_s / S_PER_H;
        let t_end = self.next_time_s();
        self.it_kwh_unserved += self.it_kw_lost() * dt_h;

        for &i in &self.layout.breaker_nodes {
            let pickup_a = self.layout.breaker_a[i];
            let tms = self.topology.nodes[i].breaker_tms;
            match iec_standard_inverse_s(self.current_a[i] / pickup_a, tms) {
                Some(operate_s) => {
                    self.breaker_heat[i] += dt_s / operate_s;
                    if self.breaker_heat[i] >= 1.0 && !self.tripped[i] {
                        self.tripped[i] = true;
                    }
                }
                None => self.breaker_heat[i] = 0.0,
            }
        }

        for u in 0..self.ups.len() {
            let idx = self.ups_node(u);
            let KindParams::Ups {
                battery_kwh,
                peukert_k,
                battery_rated_h,
                ..
            } = self.topology.nodes[idx].params
            else {
                continue;
            };
            let st = &mut self.ups[u];
            match st.mode {
                UpsMode::OnBattery => {
                    let rate =
                        peukert_soc_rate_per_h(st.draw_kw, battery_kwh, battery_rated_h, peukert_k);
                    st.soc -= rate * dt_h;
                    if st.soc <= 1e-12 {
                        st.soc = 0.0;
                        let id = self.topology.nodes[idx].id.clone();
                        self.events.push(Event {
                            t: t_end,
                            message: format!("{id} battery depleted"),
                            node_id: id,
                            event: EventKind::BatteryDepleted,
                            severity: Severity::Critical,
                            to: None,
                        });
                    }
                }
                UpsMode::Normal if battery_kwh > 0.0 => {
                    st.soc = (st.soc + st.charge_kw * dt_h / battery_kwh).min(1.0);
                }
                _ => {}
            }
        }

        for g in 0..self.gens.len() {
            let idx = self.gens[g].node;
            let KindParams::Generator {
                rating_kw,
                fuel_l_per_h_idle,
                fuel_l_per_h_full,
                ..
            } = self.topology.nodes[idx].params
            else {
                continue;
            };
            let gen_state = &mut self.gens[g];
            let burning = matches!(
                gen_state.phase,
                GenPhase::Running | GenPhase::Cooldown { .. }
            ) && !self.faulted[idx];
            if burning {
                let rate = generator_fuel_l_per_h(
                    self.out_kw[idx],
                    rating_kw,
                    fuel_l_per_h_idle,
                    fuel_l_per_h_full,
                );
                gen_state.fuel_l -= rate * dt_h;
                if gen_state.fuel_l <= 1e-12 {
                    gen_state.fuel_l = 0.0;
                    gen_state.phase = GenPhase::OutOfFuel;
                }
            }
        }
    }

    /// Moves a generator through standby → starting → running → cooldown as its
    /// run requests, timers, fault and fuel say.
    fn advance_generator(&mut self, g: usize, t: f64) {
        let idx = self.gens[g].node;
        let KindParams::Generator {
            start_delay_s,
            cooldown_s,
            ..
        } = self.topology.nodes[idx].params
        else {
            return;
        };
        let faulted = self.faulted[idx];
        // A zero delay may pass through several phases in one step.
        for _ in 0..4 {
            let st = &self.gens[g];
            let requested = st.run_requests > 0;
            let next = match st.phase {
                GenPhase::OutOfFuel => GenPhase::OutOfFuel,
                _ if faulted => GenPhase::Standby,
                _ if st.fuel_l <= 0.0 => GenPhase::OutOfFuel,
                GenPhase::Standby if requested => GenPhase::Starting {
                    ready_at_s: t + start_delay_s,
                },
                GenPhase::Standby => GenPhase::Standby,
                GenPhase::Starting { .. } if !requested => GenPhase::Standby,
                GenPhase::Starting { ready_at_s } if t + TIME_EPS_S >= ready_at_s => {
                    GenPhase::Running
                }
                p @ GenPhase::Starting { .. } => p,
                GenPhase::Running if !requested => GenPhase::Cooldown {
                    until_s: t + cooldown_s,
                },
                GenPhase::Running => GenPhase::Running,
                GenPhase::Cooldown { .. } if requested => GenPhase::Running,
                GenPhase::Cooldown { until_s } if t + TIME_EPS_S >= until_s => GenPhase::Standby,
                p @ GenPhase::Cooldown { .. } => p,
            };
            if next == self.gens[g].phase {
                break;
            }
            self.gens[g].phase = next;
        }
    }

    /// Energizes top-down, then flows bottom-up, at time `t`.
    fn solve(&mut self, t: f64) {
        self.energize(t);
        self.flow();
    }

    fn energize(&mut self, t: f64) {
        // Moved out for the loop (run_ats needs `&mut self`); no copy, no refcount.
        let layout = std::mem::take(&mut self.layout);
        let mut it_served = 0.0;
        let mut it_demand = 0.0;
        for &i in &layout.order {
            let up = !self.faulted[i] && !self.tripped[i];
            let kind = layout.kind[i];
            let (in_live, live) = match kind {
                NodeKind::Server | NodeKind::Cooling | NodeKind::Load => {
                    let in_live = layout.feeds(i).iter().any(|&f| self.live[f as usize]);
                    (in_live, up && in_live)
                }
                NodeKind::Transformer | NodeKind::Distribution | NodeKind::Pdu | NodeKind::Sts => {
                    let in_live = self.live[layout.feed0(i)];
                    (in_live, up && in_live)
                }
                NodeKind::Utility => (up, up),
                NodeKind::Generator => {
                    let Slot::Gen(g) = self.slot[i] else {
                        unreachable!("generator has a slot")
                    };
                    let running = matches!(
                        self.gens[g].phase,
                        GenPhase::Running | GenPhase::Cooldown { .. }
                    );
                    (false, up && running)
                }
                NodeKind::Switchgear => {
                    let Slot::Ats(a) = self.slot[i] else {
                        unreachable!("switchgear has a slot")
                    };
                    let feed = self.run_ats(i, a, t);
                    let in_live = self.live[feed];
                    (in_live, up && in_live)
                }
                NodeKind::Ups => {
                    let Slot::Ups(u) = self.slot[i] else {
                        unreachable!("ups has a slot")
                    };
                    let in_live = self.live[layout.feed0(i)];
                    (in_live, up && (in_live || self.ups[u].soc > 0.0))
                }
            };
            self.in_live[i] = in_live;
            self.live[i] = live;
            if kind == NodeKind::Server {
                it_demand += self.demand_kw[i];
                if live {
                    it_served += self.demand_kw[i];
                }
            }
        }
        self.layout = layout;
        self.it_kw = it_served;
        self.it_demand_kw = it_demand;
    }

    /// The automatic transfer switch of switchgear node `i` (slot `a`) at time `t`:
    /// decides which feed it uses and signals its generators. Returns the feed node.
    fn run_ats(&mut self, i: usize, a: usize, t: f64) -> usize {
        let node = &self.topology.nodes[i];
        let feeds = &node.feeds;
        let KindParams::Switchgear {
            start_delay_s,
            retransfer_delay_s,
        } = node.params
        else {
            return feeds[0];
        };
        if feeds.len() < 2 {
            return feeds[0];
        }
        let preferred_live = self.live[feeds[0]];
        let first_live_alternate = (1..feeds.len()).find(|&k| self.live[feeds[k]]);
        let st = &mut self.ats[a];
        let mut transfer_to: Option<usize> = None;
        let mut signal: Option<bool> = None; // Some(true) = start, Some(false) = stop
        if st.selected == 0 {
            if preferred_live {
                st.preferred_dead_since_s = None;
                if st.start_sent {
                    // Preferred came back before any transfer: call the generators off.
                    st.start_sent = false;
                    signal = Some(false);
                }
            } else {
                let since = *st.preferred_dead_since_s.get_or_insert(t);
                if t + TIME_EPS_S >= since + start_delay_s {
                    if !st.start_sent {
                        st.start_sent = true;
                        signal = Some(true);
                    }
                    if let Some(k) = first_live_alternate {
                        transfer_to = Some(k);
                    }
                }
            }
        } else {
            let alternate_live = self.live[feeds[st.selected]];
            if preferred_live {
                let since = *st.preferred_live_since_s.get_or_insert(t);
                if !alternate_live || t + TIME_EPS_S >= since + retransfer_delay_s {
                    transfer_to = Some(0);
                }
            } else {
                st.preferred_live_since_s = None;
                if !alternate_live && let Some(k) = first_live_alternate {
                    transfer_to = Some(k);
                }
            }
        }
        if let Some(k) = transfer_to {
            let from = st.selected;
            st.selected = k;
            st.preferred_dead_since_s = None;
            st.preferred_live_since_s = None;
            if k == 0 && st.start_sent {
                st.start_sent = false;
                signal = Some(false);
            }
            let id = &node.id;
            let to_id = &self.topology.nodes[feeds[k]].id;
            let from_id = &self.topology.nodes[feeds[from]].id;
            let (event, severity, message) = if k == 0 {
                (
                    EventKind::Retransfer,
                    Severity::Info,
                    format!("{id} retransferred from {from_id} to {to_id}"),
                )
            } else {
                (
                    EventKind::Transfer,
                    Severity::Warning,
                    format!("{id} transferred from {from_id} to {to_id}"),
                )
            };
            self.events.push(Event {
                t,
                node_id: id.clone(),
                event,
                severity,
                message,
                to: Some(to_id.clone()),
            });
        }
        let selected_feed = feeds[self.ats[a].selected];
        if let Some(start) = signal {
            for gi in 0..self.ats[a].generators.len() {
                let g = self.ats[a].generators[gi];
                if start {
                    self.gens[g].run_requests += 1;
                } else {
                    self.gens[g].run_requests = self.gens[g].run_requests.saturating_sub(1);
                }
                self.advance_generator(g, t);
            }
        }
        selected_feed
    }

    fn flow(&mut self) {
        self.out_kw.fill(0.0);
        let mut facility_kw = 0.0;
        let mut generator_kw = 0.0;
        let mut battery_out_kw = 0.0;
        let layout = std::mem::take(&mut self.layout);
        for &i in layout.order.iter().rev() {
            let live = self.live[i];
            let mut in_kw = 0.0;
            let kind = layout.kind[i];
            if kind.is_load() {
                // The hot path: most nodes of a large site are racks.
                if live {
                    in_kw = if kind == NodeKind::Cooling {
                        self.load_demand_kw(i)
                    } else {
                        self.demand_kw[i]
                    };
                    let feeds = layout.feeds(i);
                    let cords = feeds.iter().filter(|&&f| self.live[f as usize]).count();
                    let share = in_kw / cords as f64;
                    for &f in feeds {
                        if self.live[f as usize] {
                            self.out_kw[f as usize] += share;
                        }
                    }
                }
                self.out_kw[i] = in_kw;
                self.in_kw[i] = in_kw;
                self.current_a[i] = in_kw * layout.amps_per_kw[i];
                continue;
            }
            let node = &self.topology.nodes[i];
            match node.params {
                KindParams::Server { .. }
                | KindParams::Load { .. }
                | KindParams::Cooling { .. } => {
                    unreachable!("loads take the path above")
                }
                KindParams::Transformer {
                    efficiency,
                    no_load_loss_kw,
                    ..
                }
                | KindParams::Pdu {
                    efficiency,
                    no_load_loss_kw,
                    ..
                } => {
                    if live {
                        in_kw = conversion_input_kw(self.out_kw[i], efficiency, no_load_loss_kw);
                        self.out_kw[layout.feed0(i)] += in_kw;
                    }
                }
                KindParams::Distribution => {
                    if live {
                        in_kw = self.out_kw[i];
                        self.out_kw[layout.feed0(i)] += in_kw;
                    }
                }
                KindParams::Switchgear { .. } => {
                    if live {
                        in_kw = self.out_kw[i];
                        let Slot::Ats(a) = self.slot[i] else {
                            unreachable!("switchgear has a slot")
                        };
                        self.out_kw[layout.feeds(i)[self.ats[a].selected] as usize] += in_kw;
                    }
                }
                KindParams::Ups {
                    rating_kw,
                    efficiency,
                    no_load_loss_kw,
                    battery_kwh,
                    discharge_efficiency,
                    recharge_kw,
                    ..
                } => {
                    let Slot::Ups(u) = self.slot[i] else {
                        unreachable!("ups has a slot")
                    };
                    let out = self.out_kw[i];
                    let in_live = self.in_live[i];
                    let step_h = f64::from(self.step_ms) / 1000.0 / S_PER_H;
                    let st = &mut self.ups[u];
                    st.draw_kw = 0.0;
                    st.charge_kw = 0.0;
                    st.mode = if !live {
                        UpsMode::Off
                    } else if in_live && out > rating_kw {
                        in_kw = out;
                        UpsMode::Bypass
                    } else if in_live {
                        // Recharge, but not past full within this step.
                        let room_kwh = (1.0 - st.soc) * battery_kwh;
                        st.charge_kw = recharge_kw.min(room_kwh / step_h).max(0.0);
                        in_kw =
                            conversion_input_kw(out, efficiency, no_load_loss_kw) + st.charge_kw;
                        UpsMode::Normal
                    } else {
                        st.draw_kw = battery_draw_kw(out, efficiency, discharge_efficiency);
                        battery_out_kw += out;
                        UpsMode::OnBattery
                    };
                    if in_kw > 0.0 {
                        self.out_kw[layout.feed0(i)] += in_kw;
                    }
                }
                KindParams::Utility { .. } => {
                    in_kw = self.out_kw[i];
                    facility_kw += in_kw;
                }
                KindParams::Generator { .. } => {
                    in_kw = self.out_kw[i];
                    facility_kw += in_kw;
                    generator_kw += in_kw;
                }
            }
            self.in_kw[i] = in_kw;
            self.current_a[i] = in_kw * layout.amps_per_kw[i];
        }
        self.layout = layout;
        self.facility_kw = facility_kw;
        self.generator_kw = generator_kw;
        self.battery_out_kw = battery_out_kw;
    }

    /// Derives every node's status word; with `emit`, raises events for changes.
    fn update_statuses(&mut self, t: f64, emit: bool) {
        for oi in 0..self.topology.order.len() {
            let i = self.topology.order[oi];
            let new = self.derive_status(i);
            let old = self.status[i];
            if new != old {
                self.status[i] = new;
                if emit && let Some(event) = self.transition_event(i, old, new, t) {
                    self.events.push(event);
                }
            }
        }
    }

    fn derive_status(&self, i: usize) -> NodeState {
        if self.faulted[i] {
            return NodeState::Fault;
        }
        if self.tripped[i] {
            return NodeState::Tripped;
        }
        let pickup_a = self.layout.breaker_a[i];
        let breaker_over = pickup_a > 0.0 && self.current_a[i] > pickup_a;
        if self.layout.kind[i].is_load() {
            // The hot path: a load is live, dead or over its breaker.
            return if !self.live[i] {
                NodeState::Unpowered
            } else if breaker_over {
                NodeState::Overload
            } else {
                NodeState::Ok
            };
        }
        let node = &self.topology.nodes[i];
        let out = self.out_kw[i];
        match (&node.params, self.slot[i]) {
            (KindParams::Generator { rating_kw, .. }, Slot::Gen(g)) => match self.gens[g].phase {
                GenPhase::OutOfFuel => NodeState::OutOfFuel,
                GenPhase::Standby => NodeState::Standby,
                GenPhase::Starting { .. } => NodeState::Starting,
                GenPhase::Cooldown { .. } => NodeState::Cooldown,
                GenPhase::Running if out > *rating_kw || breaker_over => NodeState::Overload,
                GenPhase::Running => NodeState::Ok,
            },
            _ if !self.live[i] => NodeState::Unpowered,
            (KindParams::Ups { .. }, Slot::Ups(u)) => match self.ups[u].mode {
                UpsMode::OnBattery => NodeState::OnBattery,
                UpsMode::Bypass => NodeState::Bypass,
                _ if breaker_over => NodeState::Overload,
                _ => NodeState::Ok,
            },
            (
                KindParams::Transformer { rating_kva, .. } | KindParams::Pdu { rating_kva, .. },
                _,
            ) if out / node.power_factor > *rating_kva => NodeState::Overload,
            _ if breaker_over => NodeState::Overload,
            _ => NodeState::Ok,
        }
    }

    fn transition_event(&self, i: usize, old: NodeState, new: NodeState, t: f64) -> Option<Event> {
        use NodeState as S;
        let node = &self.topology.nodes[i];
        let id = &node.id;
        let is_it = node.kind() == NodeKind::Server;
        let (event, severity, message) = match (old, new) {
            (_, S::Fault) => (EventKind::Fault, Severity::Critical, format!("{id} failed")),
            (S::Fault, _) => (EventKind::Restored, Severity::Info, format!("{id} restored ({new})")),
            (_, S::Tripped) => {
                let amps = node.breaker_a.unwrap_or(0.0);
                (
                    EventKind::Trip,
                    Severity::Critical,
                    format!("{id} breaker tripped ({amps:.0} A pickup)"),
                )
            }
            (S::Tripped, _) => (
                EventKind::Reset,
                Severity::Info,
                format!("{id} breaker reset ({new})"),
            ),
            (_, S::Unpowered) => (
                EventKind::Unpowered,
                if is_it {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                format!("{id} lost power"),
            ),
            (S::Unpowered, _) => (
                EventKind::Repowered,
                Severity::Info,
                format!("{id} power restored ({new})"),
            ),
            (_, S::OnBattery) => (EventKind::OnBattery, Severity::Warning, format!("{id} on battery")),
            (_, S::Bypass) => (
                EventKind::Bypass,
                Severity::Warning,
                format!("{id} on static bypass"),
            ),
            (_, S::Overload) => (EventKind::Overload, Severity::Warning, format!("{id} overloaded")),
            (_, S::Starting) => (EventKind::Start, Severity::Info, format!("{id} starting")),
            (S::Starting, S::Ok) => (EventKind::Running, Severity::Info, format!("{id} running")),
            (_, S::Cooldown) => (EventKind::Cooldown, Severity::Info, format!("{id} cooling down")),
            (_, S::Standby) => (EventKind::Standby, Severity::Info, format!("{id} in standby")),
            (_, S::OutOfFuel) => (
                EventKind::OutOfFuel,
                Severity::Critical,
                format!("{id} out of fuel"),
            ),
            (S::OnBattery, S::Ok) => (EventKind::OnMains, Severity::Info, format!("{id} back on mains")),
            (S::Bypass | S::Overload, S::Ok) => {
                (EventKind::Normal, Severity::Info, format!("{id} back to normal"))
            }
            _ => return None,
        };
        Some(Event {
            t,
            node_id: id.clone(),
            event,
            severity,
            message,
            to: None,
        })
    }
}

/// Generator slots reached by walking up from `node` through single-feed nodes.
fn collect_generators(topology: &Topology, slot: &[Slot], node: usize, out: &mut Vec<usize>) {
    let mut at = node;
    loop {
        if let Slot::Gen(g) = slot[at] {
            if !out.contains(&g) {
                out.push(g);
            }
            return;
        }
        let n = topology.node(at);
        if n.feeds.len() != 1 || n.kind() == NodeKind::Switchgear {
            return;
        }
        at = n.feeds[0];
    }
}

/// Nominal input and output voltages of every node \[V\], from the sources down.
fn nominal_voltages(topology: &Topology) -> (Vec<f64>, Vec<f64>) {
    let n = topology.len();
    let mut v_in = vec![0.0; n];
    let mut v_out = vec![0.0; n];
    for &i in &topology.order {
        let node = topology.node(i);
        let feed_v = node.feeds.first().map_or(0.0, |&f| v_out[f]);
        v_in[i] = feed_v;
        v_out[i] = match node.params {
            KindParams::Utility { voltage_v } | KindParams::Generator { voltage_v, .. } => {
                voltage_v
            }
            KindParams::Transformer { voltage_out_v, .. }
            | KindParams::Pdu { voltage_out_v, .. } => voltage_out_v,
            _ => feed_v,
        };
    }
    (v_in, v_out)
}
