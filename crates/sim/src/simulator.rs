//! The simulator core: a topology, the state every node has, and the order of the
//! passes of a step (docs/physics.md). Commands in, statuses, the system status and
//! events out. What a node of each kind does in each pass is its kind's module
//! (`crate::kinds`); the core keeps what every node shares — live or not, power in
//! and out, current, fault, breaker — the breaker model, the site totals and the
//! event list.
//!
//! Each step at time `t`:
//! 1. integrate the previous step's flows over the step just ended (breaker heat,
//!    unserved energy, each kind's state: battery charge, fuel; then the rooms'
//!    temperatures and the servers' inlets, `crate::thermal`) — so a timer of T s
//!    fires on the first step at or after T;
//! 2. apply queued commands;
//! 3. advance the kinds' timers (generators);
//! 4. energize top-down, each node after its feeds (a switch decides its feed as it
//!    is reached);
//! 5. flow bottom-up (loads → conversions → sources);
//! 6. derive each node's status word and raise events for the changes.

use std::sync::Arc;

use winter_river_protocol::{
    Breaker, Command, EPO_OPENS, Event, EventKind, Measurements, NodeState, Role, Severity, Source,
    Status, SystemStatus, UpdateParams,
};

use crate::field::{FieldValue, Target, node_field, system_field};
use crate::kinds::{
    CommandCx, Energize, Flow, Integrate, Model, Said, Setup, Signal, StatusIn, Totals, View,
};
use crate::layout::Layout;
use crate::physics::{S_PER_H, iec_standard_inverse_s};
use crate::thermal::{Pass, Thermal};
use crate::topology::Topology;

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
        /// Which nodes it applies to.
        reason: String,
    },
    #[error("set_load: {0} kW is not a valid demand (must be finite and >= 0)")]
    BadLoad(f64),
}

/// The whole simulated site. A clone carries on from the same state (what-if runs:
/// a procedure's exposure).
#[derive(Debug, Clone)]
pub struct Simulator {
    topology: Arc<Topology>,
    layout: Layout,
    pub(crate) step_ms: u32,
    /// Index of the latest computed step; until `started`, of the first step to compute.
    pub(crate) step_index: u64,
    pub(crate) started: bool,
    pub(crate) pending: Vec<(usize, Command)>,
    pub(crate) events: Vec<Event>,
    /// Signals raised while energizing one node, delivered before the next.
    signals: Vec<(usize, Signal)>,

    // Per node, by topology index.
    /// Kind-specific state and behaviour.
    pub(crate) models: Vec<Model>,
    nominal_in_v: Vec<f64>,
    nominal_out_v: Vec<f64>,
    pub(crate) faulted: Vec<bool>,
    /// A server stopped by its own thermal protection, until `reset`.
    pub(crate) shutdown: Vec<bool>,
    /// Its own isolating device: closed, opened by an operator, tripped by its
    /// protection, locked out.
    pub(crate) breaker: Vec<Breaker>,
    /// Locked out where it tripped: released, it is tripped again (reset to close).
    pub(crate) locked_tripped: Vec<bool>,
    /// ∫ dt / t(M) of the breaker; trips at 1.
    pub(crate) breaker_heat: Vec<f64>,
    pub(crate) in_live: Vec<bool>,
    pub(crate) live: Vec<bool>,
    /// Power at the input (sources: output) \[kW\].
    pub(crate) in_kw: Vec<f64>,
    /// Power delivered downstream \[kW\].
    pub(crate) out_kw: Vec<f64>,
    pub(crate) current_a: Vec<f64>,
    /// Its output reaches a load that draws power (see `Flow::carrying`).
    pub(crate) carrying: Vec<bool>,
    pub(crate) status: Vec<NodeState>,

    /// Nodes whose kind integrates state or moves timers.
    dynamic: Vec<usize>,
    /// Nodes that report a `runtime_s` / `fuel_pct` (the site shows the least).
    runtime_nodes: Vec<usize>,
    fuel_nodes: Vec<usize>,

    /// Rooms: heat in, cooling, server inlets (empty without rooms).
    pub(crate) thermal: Thermal,

    // Site aggregates at the latest step.
    pub(crate) totals: Totals,
    pub(crate) it_kwh_unserved: f64,
}

impl Simulator {
    /// A simulator at t = 0, settled in its initial state, before its first step.
    /// `step_ms` must be > 0 (a zero step is taken as 1 ms).
    pub fn new(topology: Topology, step_ms: u32) -> Simulator {
        Simulator::starting_at(topology, step_ms, 0)
    }

    /// A fresh site, settled in its initial state, whose first step is step number
    /// `first_step` (at `first_step · step_ms`): how a live drill resets the site
    /// while simulated time keeps running forward (docs/drills.md). Every timer of a
    /// fresh site is idle, so none depends on when it starts.
    pub fn starting_at(topology: Topology, step_ms: u32, first_step: u64) -> Simulator {
        let n = topology.len();
        let step_ms = step_ms.max(1);
        let step_s = f64::from(step_ms) / 1000.0;
        let models: Vec<Model> = (0..n)
            .map(|i| {
                let setup = Setup {
                    topology: &topology,
                    node: i,
                    step_s,
                };
                Model::new(&topology.node(i).params, &setup)
            })
            .collect();
        let dynamic = (0..n).filter(|&i| models[i].dynamic()).collect();
        let reporting = |field: &str| -> Vec<usize> {
            (0..n)
                .filter(|&i| topology.node(i).kind().spec().extra_fields.contains(&field))
                .collect()
        };
        let runtime_nodes = reporting("runtime_s");
        let fuel_nodes = reporting("fuel_pct");
        let (nominal_in_v, nominal_out_v) = nominal_voltages(&topology);
        let layout = Layout::new(&topology, &nominal_in_v, &nominal_out_v);
        let thermal = Thermal::new(&topology, &models);
        let mut sim = Simulator {
            step_ms,
            step_index: first_step,
            started: false,
            pending: Vec::new(),
            events: Vec::new(),
            signals: Vec::new(),
            models,
            nominal_in_v,
            nominal_out_v,
            faulted: vec![false; n],
            shutdown: vec![false; n],
            breaker: vec![Breaker::Closed; n],
            locked_tripped: vec![false; n],
            breaker_heat: vec![0.0; n],
            in_live: vec![false; n],
            live: vec![false; n],
            in_kw: vec![0.0; n],
            out_kw: vec![0.0; n],
            current_a: vec![0.0; n],
            carrying: vec![false; n],
            status: vec![NodeState::Ok; n],
            dynamic,
            runtime_nodes,
            fuel_nodes,
            thermal,
            totals: Totals::default(),
            it_kwh_unserved: 0.0,
            topology: Arc::new(topology),
            layout,
        };
        // Settle the initial state so the first step's events are changes from it.
        let t0 = sim.time_s();
        sim.solve(t0);
        sim.update_statuses(t0, false);
        sim
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Step length \[ms\].
    pub fn step_ms(&self) -> u32 {
        self.step_ms
    }

    fn step_s(&self) -> f64 {
        f64::from(self.step_ms) / 1000.0
    }

    /// Time of the latest computed step \[s\] (before the first: when the first
    /// will be, 0 for [`Simulator::new`]).
    pub fn time_s(&self) -> f64 {
        self.step_index as f64 * f64::from(self.step_ms) / 1000.0
    }

    /// Time the next [`Simulator::step`] computes \[s\]: 0 for the first step (of
    /// [`Simulator::new`]; `first_step · step_ms` of [`Simulator::starting_at`]).
    pub fn next_time_s(&self) -> f64 {
        let next = if self.started {
            self.step_index + 1
        } else {
            self.step_index
        };
        next as f64 * f64::from(self.step_ms) / 1000.0
    }

    /// Queues a command for a node by id; it takes effect at the next step. A
    /// command that does not apply to the node's kind is refused.
    pub fn command(&mut self, node_id: &str, cmd: &Command) -> Result<(), CommandError> {
        let idx = self
            .topology
            .node_index(node_id)
            .ok_or_else(|| CommandError::UnknownNode(node_id.to_string()))?;
        let kind = self.topology.node(idx).kind();
        if !cmd.applies_to(kind) {
            let spec = cmd.spec();
            return Err(CommandError::NotApplicable {
                command: spec.name,
                node: node_id.to_string(),
                kind: kind.as_str(),
                reason: format!("it applies to {}", spec.applies_to_words()),
            });
        }
        if let Command::SetLoad { kw } = cmd
            && (!kw.is_finite() || *kw < 0.0)
        {
            return Err(CommandError::BadLoad(*kw));
        }
        self.pending.push((idx, cmd.clone()));
        Ok(())
    }

    /// Queues a command for the whole site, as sent to `<p>/system/command`: a
    /// `site_wide` command of the protocol's table. `reset` goes to every node;
    /// `epo` opens every UPS and STS. It takes effect at the next step.
    pub fn site_command(&mut self, cmd: &Command) -> Result<(), CommandError> {
        let spec = cmd.spec();
        if !spec.site_wide {
            return Err(CommandError::NotApplicable {
                command: spec.name,
                node: winter_river_protocol::SYSTEM_ID.to_string(),
                kind: winter_river_protocol::SYSTEM_ID,
                reason: format!(
                    "it is not a site-wide command: it applies to {}",
                    spec.applies_to_words()
                ),
            });
        }
        for (i, node) in self.topology.nodes.iter().enumerate() {
            let kind = node.kind();
            let takes = match cmd {
                Command::Epo => EPO_OPENS.contains(&kind),
                _ => cmd.applies_to(kind),
            };
            if takes {
                self.pending.push((i, cmd.clone()));
            }
        }
        Ok(())
    }

    /// Computes the next step: the first call computes t = 0, later calls advance
    /// by `step_ms`.
    pub fn step(&mut self) {
        self.events.clear();
        if self.started {
            self.integrate(self.step_s());
            self.step_index += 1;
        } else {
            self.started = true;
        }
        let t = self.time_s();
        self.apply_commands(t);
        for &i in &self.dynamic {
            self.models[i].advance(t, self.faulted[i]);
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

    fn view(&self, i: usize) -> View<'_> {
        View {
            topology: &self.topology,
            i,
            live: self.live[i],
            in_live: self.in_live[i],
            faulted: self.faulted[i],
            breaker: self.breaker[i],
            out_kw: self.out_kw[i],
            nominal_in_v: self.nominal_in_v[i],
            it_kw: self.totals.it_kw,
        }
    }

    /// Node `idx`'s measured values and state at the latest step, as the engine
    /// sends them to its board in an `update` (docs/protocol.md):
    /// [`Simulator::node_status`] without the identity, and without allocating but
    /// for a switch's source.
    pub fn node_update(&self, idx: usize) -> UpdateParams {
        let v = self.view(idx);
        let model = &self.models[idx];
        if !self.topology.node(idx).kind().spec().is_electrical() {
            let mut m = Measurements::default();
            model.measure(&v, &mut m);
            return UpdateParams {
                status: Some(self.status[idx]),
                measured: m,
            };
        }
        let load_pct =
            model
                .load_pct(&v)
                .unwrap_or_else(|| match self.topology.node(idx).breaker_a {
                    Some(a) => self.current_a[idx] / a * 100.0,
                    None => 0.0,
                });
        let mut m = Measurements {
            voltage_in: Some(model.voltage_in_v(&v)),
            voltage_out: Some(if v.live { self.nominal_out_v[idx] } else { 0.0 }),
            current: Some(self.current_a[idx]),
            power_kw: Some(self.in_kw[idx]),
            load_pct: Some(load_pct),
            breaker: Some(self.breaker[idx]),
            ..Measurements::default()
        };
        model.measure(&v, &mut m);
        self.thermal.measure(idx, &mut m);
        UpdateParams {
            status: Some(self.status[idx]),
            measured: m,
        }
    }

    /// The kind-specific Status fields of node `i`.
    fn extras(&self, i: usize) -> Measurements {
        let mut m = Measurements::default();
        self.models[i].measure(&self.view(i), &mut m);
        m
    }

    /// The site's status at the latest step.
    pub fn system_status(&self) -> SystemStatus {
        let Totals {
            it_kw,
            utility_kw,
            generator_kw,
            battery_net_kw,
            ..
        } = self.totals;
        // All power used in the facility: what the sources give and the batteries
        // give net (= loads served + losses), so PUE ≥ 1 on battery too.
        let facility_kw = utility_kw + generator_kw + battery_net_kw;
        let pue = (it_kw > 0.0 && facility_kw > 0.0).then(|| facility_kw / it_kw);
        let runtime_s = self
            .runtime_nodes
            .iter()
            .filter_map(|&i| self.extras(i).runtime_s)
            .reduce(f64::min);
        let fuel_pct = self
            .fuel_nodes
            .iter()
            .filter_map(|&i| self.extras(i).fuel_pct)
            .reduce(f64::min);
        let mut system = SystemStatus {
            node_id: winter_river_protocol::SYSTEM_ID.to_string(),
            it_kw,
            facility_kw,
            utility_kw,
            generator_kw,
            battery_kw: battery_net_kw,
            pue,
            it_kw_lost: self.it_kw_lost(),
            it_kwh_unserved: self.it_kwh_unserved,
            source: self.source(),
            runtime_s,
            fuel_pct,
            max_inlet_c: self.thermal.max_inlet_c(),
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
        self.totals.it_kw
    }

    /// IT demand not served at the latest step \[kW\].
    pub fn it_kw_lost(&self) -> f64 {
        (self.totals.it_demand_kw - self.totals.it_kw).max(0.0)
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
            match node.kind().spec().role {
                Role::Source => supply += self.out_kw[i],
                Role::Load => demand += self.in_kw[i],
                Role::Thermal => {}
                _ => {
                    // Losses = input − output (− charging).
                    let (draw, charge) = self.models[i].battery_kw();
                    supply += draw;
                    let loss = self.in_kw[i] + draw - self.out_kw[i] - charge;
                    demand += loss + charge;
                }
            }
        }
        (supply, demand)
    }

    /// The highest server inlet at the latest step \[°C\]; `None` without a server
    /// in a room (the SystemStatus's `max_inlet_c`).
    pub fn max_inlet_c(&self) -> Option<f64> {
        self.thermal.max_inlet_c()
    }

    /// Each room's heat balance since t = 0 (docs/physics.md, "Rooms and cooling").
    pub fn room_heat_balance(&self) -> Vec<crate::thermal::HeatBalance> {
        self.thermal.heat_balance(&self.models)
    }

    /// What carries the load: utility, generators or batteries whose output reaches
    /// a load that draws power (a utility keeping only an idle transformer energized
    /// carries none), `mixed` when more than one of them does, `none` without IT
    /// load served.
    fn source(&self) -> Source {
        let t = &self.totals;
        if t.it_kw <= 0.0 {
            return Source::None;
        }
        let carrying = [
            (t.utility_carries, Source::Utility),
            (t.generator_carries, Source::Generator),
            (t.battery_out_kw > 0.0, Source::Battery),
        ];
        let mut on = carrying.iter().filter(|(on, _)| *on).map(|(_, s)| *s);
        match (on.next(), on.next()) {
            (Some(one), None) => one,
            (Some(_), Some(_)) => Source::Mixed,
            (None, _) => Source::Utility,
        }
    }

    /// Applies the queued commands at time `t`, each checked against the latest
    /// step's state: an operator command is answered by an event (`open`, `mode`, …)
    /// or refused by an interlock with `refused` and its reason, changing nothing.
    fn apply_commands(&mut self, t: f64) {
        let step_s = self.step_s();
        let mut opened_by_epo = false;
        let mut epo_sent = false;
        for (idx, cmd) in std::mem::take(&mut self.pending) {
            // What the command's interlocks see, as the commands before it left the
            // node (the models are borrowed apart from the rest).
            macro_rules! cx {
                () => {
                    Simulator::command_cx_of(
                        &self.topology,
                        &self.live,
                        &self.in_live,
                        &self.faulted,
                        &self.breaker,
                        (idx, t, step_s),
                    )
                };
            }
            let intercepted = self.models[idx].intercept(&cmd, &cx!());
            let answer = match intercepted.or_else(|| {
                self.breaker_command(idx, &cmd)
                    .map(|answer| answer.map(|said| said.map(|s| (s, None))))
            }) {
                Some(answer) => answer,
                None if matches!(cmd, Command::Reset) && self.shutdown[idx] => {
                    self.restart_server(idx)
                }
                None => {
                    if let Command::SetFault { state } = cmd {
                        self.faulted[idx] = state;
                    }
                    if let Command::Reset = cmd {
                        if self.breaker[idx] == Breaker::Tripped {
                            self.breaker[idx] = Breaker::Closed;
                        }
                        self.breaker_heat[idx] = 0.0;
                    }
                    self.models[idx].command(&cmd, &cx!())
                }
            };
            let id = &self.topology.node(idx).id;
            let name = cmd.name();
            if let Command::Epo = cmd {
                epo_sent = true;
                opened_by_epo |= matches!(answer, Ok(Some(_)));
            }
            match answer {
                Ok(None) => {}
                Ok(Some(((event, severity, message), to))) => {
                    let e = Event::new(t, id, event, severity, message).caused_by(name);
                    self.events.push(Event { to, ..e });
                }
                Err(reason) => self.refuse(t, idx, name, reason),
            }
        }
        if epo_sent && !opened_by_epo {
            // Every operator command gets an answer: this one on the site's id.
            let reason =
                "every UPS and STS is already open: the EPO has nothing to open".to_string();
            self.refuse_site(t, "epo", reason);
        }
    }

    /// `reset` of a server its thermal protection stopped: restarted (and its
    /// breaker reset, as any `reset` does) once its inlet is below its
    /// `shutdown_c`, refused while it is not.
    fn restart_server(&mut self, i: usize) -> crate::kinds::Answer {
        let id = &self.topology.node(i).id;
        let message = self.thermal.restart(i, id)?;
        self.shutdown[i] = false;
        if self.breaker[i] == Breaker::Tripped {
            self.breaker[i] = Breaker::Closed;
        }
        self.breaker_heat[i] = 0.0;
        Ok(Some(((EventKind::Reset, Severity::Info, message), None)))
    }

    /// What a command's interlocks see of node `i` at time `t`.
    fn command_cx_of<'a>(
        topology: &'a Topology,
        live: &'a [bool],
        in_live: &[bool],
        faulted: &[bool],
        breaker: &[Breaker],
        (i, t, step_s): (usize, f64, f64),
    ) -> CommandCx<'a> {
        CommandCx {
            topology,
            i,
            t,
            step_s,
            live,
            in_live: in_live[i],
            faulted: faulted[i],
            breaker: breaker[i],
        }
    }

    /// Raises `refused` for node `i`'s command `name`, with why.
    fn refuse(&mut self, t: f64, i: usize, name: &str, reason: String) {
        let id = self.topology.node(i).id.clone();
        self.push_refusal(t, &id, name, reason);
    }

    /// Raises `refused` for a site-wide command, on node `system`.
    fn refuse_site(&mut self, t: f64, name: &str, reason: String) {
        self.push_refusal(t, winter_river_protocol::SYSTEM_ID, name, reason);
    }

    fn push_refusal(&mut self, t: f64, id: &str, name: &str, reason: String) {
        let message = format!("{id} refused {name}: {reason}");
        self.events.push(Event {
            reason: Some(reason),
            ..Event::new(t, id, EventKind::Refused, Severity::Warning, message).caused_by(name)
        });
    }

    /// The commands that operate a node's own breaker (every node): `open`,
    /// `close`, `lockout`, and `epo` for the nodes it opens. `None` for any other
    /// command.
    fn breaker_command(&mut self, i: usize, cmd: &Command) -> Option<Result<Option<Said>, String>> {
        use Breaker as B;
        let id = &self.topology.node(i).id;
        let now = self.breaker[i];
        let (next, said) = match (cmd, now) {
            (Command::Open, B::Closed) => (
                B::Open,
                (EventKind::Open, Severity::Warning, format!("{id} opened")),
            ),
            (Command::Open, B::Open) => return Some(Err(format!("{id} is already open"))),
            (Command::Open, B::LockedOut | B::Tripped) => {
                return Some(Err(format!(
                    "{id} is already open ({})",
                    now.spec().label.to_lowercase()
                )));
            }
            (Command::Epo, B::Closed) => (
                B::Open,
                (
                    EventKind::Open,
                    Severity::Critical,
                    format!("{id} opened by the emergency power off"),
                ),
            ),
            (Command::Epo, _) => return Some(Ok(None)),
            (Command::Close, B::Open) => (
                B::Closed,
                (EventKind::Close, Severity::Info, format!("{id} closed")),
            ),
            (Command::Close, B::Closed) => return Some(Err(format!("{id} is already closed"))),
            (Command::Close, B::LockedOut) => {
                return Some(Err(format!(
                    "{id} is locked out: release the lock-out (lockout off) before closing it"
                )));
            }
            (Command::Close, B::Tripped) => {
                return Some(Err(format!(
                    "{id}'s breaker has tripped: find the cause, then reset it (reset clears the trip and re-closes it)"
                )));
            }
            (Command::Lockout { state: true }, B::Open | B::Tripped) => (
                B::LockedOut,
                (
                    EventKind::Lockout,
                    Severity::Info,
                    format!("{id} locked out and tagged"),
                ),
            ),
            (Command::Lockout { state: true }, B::LockedOut) => {
                return Some(Err(format!("{id} is already locked out")));
            }
            (Command::Lockout { state: true }, B::Closed) => {
                return Some(Err(format!(
                    "{id} is closed: open it before locking it out"
                )));
            }
            (Command::Lockout { state: false }, B::LockedOut) if self.locked_tripped[i] => (
                B::Tripped,
                (
                    EventKind::Lockout,
                    Severity::Info,
                    format!("{id} lock-out released (still tripped: reset it to close it)"),
                ),
            ),
            (Command::Lockout { state: false }, B::LockedOut) => (
                B::Open,
                (
                    EventKind::Lockout,
                    Severity::Info,
                    format!("{id} lock-out released (still open)"),
                ),
            ),
            (Command::Lockout { state: false }, _) => {
                return Some(Err(format!("{id} is not locked out")));
            }
            _ => return None,
        };
        self.locked_tripped[i] = next == B::LockedOut && now == B::Tripped;
        self.breaker[i] = next;
        self.breaker_heat[i] = 0.0;
        Some(Ok(Some(said)))
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
                    if self.breaker_heat[i] >= 1.0 && self.breaker[i] == Breaker::Closed {
                        self.breaker[i] = Breaker::Tripped;
                    }
                }
                None => self.breaker_heat[i] = 0.0,
            }
        }

        for &i in &self.dynamic {
            let mut cx = Integrate {
                topology: &self.topology,
                i,
                dt_s,
                t_end,
                out_kw: self.out_kw[i],
                faulted: self.faulted[i],
                events: &mut self.events,
            };
            self.models[i].integrate(&mut cx);
        }

        self.thermal.integrate(&mut Pass {
            topology: &self.topology,
            models: &mut self.models,
            live: &self.live,
            in_kw: &self.in_kw,
            out_kw: &self.out_kw,
            shutdown: &mut self.shutdown,
            events: &mut self.events,
            dt_s,
            t_end,
        });
    }

    /// Energizes top-down, then flows bottom-up, at time `t`.
    fn solve(&mut self, t: f64) {
        self.energize(t);
        self.flow();
    }

    fn energize(&mut self, t: f64) {
        let Simulator {
            topology,
            layout,
            models,
            faulted,
            shutdown,
            breaker,
            live,
            in_live,
            events,
            signals,
            totals,
            ..
        } = self;
        totals.it_kw = 0.0;
        totals.it_demand_kw = 0.0;
        // One context for the pass, moved from node to node (not rebuilt per node).
        let mut cx = Energize {
            topology,
            i: 0,
            t,
            up: false,
            faulted: false,
            closed: false,
            feeds: &[],
            live,
            totals,
            events,
            signals,
        };
        for &i in &layout.order {
            cx.i = i;
            cx.faulted = faulted[i];
            cx.closed = breaker[i].is_closed();
            cx.up = !cx.faulted && cx.closed && !shutdown[i];
            cx.feeds = layout.feeds(i);
            let l = models[i].energize(&mut cx);
            in_live[i] = l.input;
            cx.live[i] = l.output;
            if !cx.signals.is_empty() {
                for (target, signal) in cx.signals.drain(..) {
                    models[target].signal(signal, t, faulted[target]);
                }
            }
        }
    }

    fn flow(&mut self) {
        let step_s = self.step_s();
        let Simulator {
            layout,
            models,
            live,
            in_live,
            in_kw,
            out_kw,
            current_a,
            carrying,
            totals,
            ..
        } = self;
        out_kw.fill(0.0);
        carrying.fill(false);
        totals.utility_carries = false;
        totals.generator_carries = false;
        totals.utility_kw = 0.0;
        totals.generator_kw = 0.0;
        totals.battery_out_kw = 0.0;
        totals.battery_net_kw = 0.0;
        let mut cx = Flow {
            i: 0,
            live: false,
            in_live: false,
            feeds: &[],
            lives: live,
            out_kw,
            carrying,
            totals,
            step_s,
        };
        for &i in layout.order.iter().rev() {
            cx.i = i;
            cx.live = cx.lives[i];
            cx.in_live = in_live[i];
            cx.feeds = layout.feeds(i);
            let kw = models[i].flow(&mut cx);
            in_kw[i] = kw;
            current_a[i] = kw * layout.amps_per_kw[i];
        }
    }

    /// Derives every node's status word; with `emit`, raises events for changes.
    fn update_statuses(&mut self, t: f64, emit: bool) {
        for oi in 0..self.layout.order.len() {
            let i = self.layout.order[oi];
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

    #[inline]
    fn derive_status(&self, i: usize) -> NodeState {
        if self.faulted[i] {
            return NodeState::Fault;
        }
        match self.breaker[i] {
            Breaker::Closed => {}
            Breaker::Tripped => return NodeState::Tripped,
            Breaker::Open | Breaker::LockedOut => return NodeState::Open,
        }
        if self.shutdown[i] {
            return NodeState::Shutdown;
        }
        let pickup_a = self.layout.breaker_a[i];
        self.models[i].status(&StatusIn {
            live: self.live[i],
            out_kw: self.out_kw[i],
            breaker_over: pickup_a > 0.0 && self.current_a[i] > pickup_a,
        })
    }

    /// The event for node `i`'s status word going from `old` to `new`: the words
    /// every node has first, then its kind's own, then overload.
    fn transition_event(&self, i: usize, old: NodeState, new: NodeState, t: f64) -> Option<Event> {
        use NodeState as S;
        let node = &self.topology.nodes[i];
        let id = &node.id;
        let model = &self.models[i];
        let (event, severity, message) = match (old, new) {
            // Locked out where it tripped, or released: the `lockout` event says so.
            (S::Tripped, S::Open) | (S::Open, S::Tripped) => return None,
            // Opening or closing a dead breaker changes no power.
            (S::Unpowered, S::Open) | (S::Open, S::Unpowered) => return None,
            (_, S::Fault) => (EventKind::Fault, Severity::Critical, format!("{id} failed")),
            (_, S::Shutdown) => (
                EventKind::ThermalShutdown,
                Severity::Critical,
                self.thermal.shutdown_message(i, id),
            ),
            // The `reset` that restarted it says so.
            (S::Shutdown, _) => return None,
            (S::Fault, _) => (
                EventKind::Restored,
                Severity::Info,
                format!("{id} restored ({new})"),
            ),
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
                if model.is_it() {
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
            _ => match model.transition(old, new, id) {
                Some(said) => said,
                None => match (old, new) {
                    (_, S::Overload) => (
                        EventKind::Overload,
                        Severity::Warning,
                        format!("{id} overloaded"),
                    ),
                    (S::Overload, S::Ok) => (
                        EventKind::Normal,
                        Severity::Info,
                        format!("{id} back to normal"),
                    ),
                    _ => return None,
                },
            },
        };
        Some(Event::new(t, id, event, severity, message))
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
        v_out[i] = node.params.voltage_out_v().unwrap_or(feed_v);
    }
    (v_in, v_out)
}
