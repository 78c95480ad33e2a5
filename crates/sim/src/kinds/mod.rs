//! Component kinds: one module each (docs/architecture.md). A kind's module holds its
//! parameters (names as in topology files, units in the Rust names, defaults and
//! range checks, docs/topology.md), its state, its behaviour in each pass of a step
//! (docs/physics.md), its status words, its transition events and what the commands
//! that apply to it do. What other crates need of a kind — its name, role, feed rule,
//! Status fields and status words — is the protocol's kinds table.
//!
//! A new kind is a module here plus one row of `registry!` below (and its row of the
//! protocol's table). The registry generates [`KindParams`] (every kind's parameters)
//! and `Model` (every kind's state), each dispatching to the kind's `Kind` impl, so
//! the simulator core, the topology parser and `KindParams::named` have no per-kind
//! code. Dispatch is a `match` on an enum, inlined: the hot pass over a large site's
//! racks costs what the hand-written loops did (docs/benchmarks.md).

mod distribution;
mod generator;
mod load;
mod pdu;
pub(crate) mod room;
mod sts;
mod switchgear;
mod switching;
mod transformer;
mod ups;
mod utility;

use winter_river_protocol::{
    Breaker, Command, Event, EventKind, Measurements, Mode, NodeKind, NodeState, Severity,
};

use crate::topology::{ParamReader, Topology, TopologyError};

pub use distribution::Params as DistributionParams;
pub use generator::Params as GeneratorParams;
pub use load::{CoolingParams, LoadParams, ServerParams};
pub use pdu::Params as PduParams;
pub use room::{AIR_KJ_PER_M3_K, Params as RoomParams};
pub use sts::Params as StsParams;
pub use switchgear::Params as SwitchgearParams;
pub use transformer::Params as TransformerParams;
pub use ups::Params as UpsParams;
pub use utility::Params as UtilityParams;

// ── The registry ────────────────────────────────────────────────────────────────────

/// One row per kind: `Variant: its parameter table, its model`, then `boxed` for a
/// model larger than 8 bytes, kept out of the per-node array so that it stays 16
/// bytes a node (servers and plain loads, most nodes of a site, are inline).
/// `Variant` is the kind's [`NodeKind`] variant.
macro_rules! registry {
    ($( $variant:ident: $params:ty, $model:ty $(, $boxed:ident)?; )*) => {
        /// Kind-specific parameters of one node, as read from its `[[node]]` with the
        /// defaults applied (docs/topology.md). Each variant is its kind's table.
        #[derive(Debug, Clone, PartialEq)]
        pub enum KindParams {
            $( $variant($params), )*
        }

        impl KindParams {
            pub fn kind(&self) -> NodeKind {
                match self {
                    $( KindParams::$variant(_) => NodeKind::$variant, )*
                }
            }

            /// The parameters named as in the topology file, for the JSON form: the
            /// same table the parser reads.
            pub fn named(&self) -> Vec<(&'static str, f64)> {
                match self {
                    $( KindParams::$variant(p) => ParamTable::named(p), )*
                }
            }

            /// Reads kind `kind`'s parameters from a node's entries, with its checks.
            pub(crate) fn read(kind: NodeKind, r: &mut ParamReader) -> Result<KindParams, TopologyError> {
                Ok(match kind {
                    $( NodeKind::$variant => {
                        let p = <$params as ParamTable>::read(r)?;
                        <$model as Kind>::check(&p, r)?;
                        KindParams::$variant(p)
                    } )*
                })
            }

            /// The voltage this node hands downstream \[V\]; `None` = its feed's.
            pub(crate) fn voltage_out_v(&self) -> Option<f64> {
                match self {
                    $( KindParams::$variant(p) => <$model as Kind>::voltage_out_v(p), )*
                }
            }
        }

        /// What the topology parser and the analysis need of a kind beyond the
        /// protocol's table.
        pub fn traits(kind: NodeKind) -> Traits {
            match kind {
                $( NodeKind::$variant => Traits {
                    power_factor: <$model as Kind>::POWER_FACTOR,
                    feeds_single_phase: <$model as Kind>::FEEDS_SINGLE_PHASE,
                    reliability: <$model as Kind>::RELIABILITY,
                }, )*
            }
        }

        /// One node's kind-specific state and behaviour.
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub(crate) enum Model {
            $( $variant(registry!(@store $model $(, $boxed)?)), )*
        }

        impl Model {
            pub(crate) fn new(params: &KindParams, setup: &Setup<'_>) -> Model {
                match params {
                    $( KindParams::$variant(p) => Model::$variant(<$model as Kind>::new(p, setup).into()), )*
                }
            }

            /// Whether [`Model::integrate`] or [`Model::advance`] do anything.
            pub(crate) fn dynamic(&self) -> bool {
                match self {
                    $( Model::$variant(_) => <$model as Kind>::DYNAMIC, )*
                }
            }

            pub(crate) fn kind(&self) -> NodeKind {
                match self {
                    $( Model::$variant(_) => NodeKind::$variant, )*
                }
            }

            pub(crate) fn is_it(&self) -> bool {
                match self {
                    $( Model::$variant(_) => <$model as Kind>::IT_LOAD, )*
                }
            }

            #[inline]
            pub(crate) fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
                match self {
                    $( Model::$variant(m) => m.energize(cx), )*
                }
            }

            #[inline]
            pub(crate) fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
                match self {
                    $( Model::$variant(m) => m.flow(cx), )*
                }
            }

            #[inline]
            pub(crate) fn status(&self, s: &StatusIn) -> NodeState {
                match self {
                    $( Model::$variant(m) => m.status(s), )*
                }
            }

            pub(crate) fn transition(&self, old: NodeState, new: NodeState, id: &str) -> Option<Said> {
                match self {
                    $( Model::$variant(m) => m.transition(old, new, id), )*
                }
            }

            pub(crate) fn integrate(&mut self, cx: &mut Integrate<'_>) {
                match self {
                    $( Model::$variant(m) => m.integrate(cx), )*
                }
            }

            pub(crate) fn advance(&mut self, t: f64, faulted: bool) {
                match self {
                    $( Model::$variant(m) => m.advance(t, faulted), )*
                }
            }

            pub(crate) fn signal(&mut self, signal: Signal, t: f64, faulted: bool) {
                match self {
                    $( Model::$variant(m) => m.signal(signal, t, faulted), )*
                }
            }

            pub(crate) fn command(&mut self, cmd: &Command, cx: &CommandCx<'_>) -> Answer {
                match self {
                    $( Model::$variant(m) => m.command(cmd, cx), )*
                }
            }

            pub(crate) fn intercept(&mut self, cmd: &Command, cx: &CommandCx<'_>) -> Option<Answer> {
                match self {
                    $( Model::$variant(m) => m.intercept(cmd, cx), )*
                }
            }

            pub(crate) fn voltage_in_v(&self, v: &View<'_>) -> f64 {
                match self {
                    $( Model::$variant(m) => m.voltage_in_v(v), )*
                }
            }

            pub(crate) fn load_pct(&self, v: &View<'_>) -> Option<f64> {
                match self {
                    $( Model::$variant(m) => m.load_pct(v), )*
                }
            }

            pub(crate) fn measure(&self, v: &View<'_>, m: &mut Measurements) {
                match self {
                    $( Model::$variant(k) => k.measure(v, m), )*
                }
            }

            pub(crate) fn battery_kw(&self) -> (f64, f64) {
                match self {
                    $( Model::$variant(m) => m.battery_kw(), )*
                }
            }

            pub(crate) fn removes_heat(&self) -> bool {
                match self {
                    $( Model::$variant(m) => m.removes_heat(), )*
                }
            }
        }
    };
    (@store $model:ty, boxed) => { Box<$model> };
    (@store $model:ty) => { $model };
}

registry! {
    Utility: UtilityParams, utility::Utility;
    Generator: GeneratorParams, generator::Generator, boxed;
    Transformer: TransformerParams, transformer::Transformer, boxed;
    Switchgear: SwitchgearParams, switchgear::Switchgear, boxed;
    Distribution: DistributionParams, distribution::Distribution;
    Ups: UpsParams, ups::Ups, boxed;
    Pdu: PduParams, pdu::Pdu, boxed;
    Server: ServerParams, load::Server;
    Cooling: CoolingParams, load::Cooling, boxed;
    Load: LoadParams, load::Load;
    Sts: StsParams, sts::Sts, boxed;
    Room: RoomParams, room::Room, boxed;
}

// Most nodes are racks: every pass walks this array (docs/benchmarks.md).
const _: () = assert!(
    std::mem::size_of::<Model>() <= 16,
    "a kind's model larger than 8 bytes belongs in a box: add `boxed` to its row"
);

// ── What a kind implements ─────────────────────────────────────────────────────────

/// A kind's behaviour. Every method has the behaviour of a node that takes its first
/// feed and passes power through (a distribution board) unless the kind says
/// otherwise; a kind overrides what it does differently.
pub(crate) trait Kind: Sized + std::fmt::Debug {
    /// Its parameters, as written in topology files.
    type Params: ParamTable;
    /// Power factor when the file gives none.
    const POWER_FACTOR: f64 = 1.0;
    /// Loads it feeds are single-phase at its output voltage unless set (a PDU's
    /// branch circuits).
    const FEEDS_SINGLE_PHASE: bool = false;
    /// Its served demand is IT load.
    const IT_LOAD: bool = false;
    /// It has state that [`Kind::integrate`] or timers that [`Kind::advance`] move.
    const DYNAMIC: bool = false;
    /// Default failure and repair figures (read by `winter-river analyze`).
    const RELIABILITY: Reliability;

    /// Checks between parameters, once they are read.
    fn check(_p: &Self::Params, _r: &ParamReader) -> Result<(), TopologyError> {
        Ok(())
    }

    /// The voltage this kind hands downstream \[V\]; `None` = its feed's.
    fn voltage_out_v(_p: &Self::Params) -> Option<f64> {
        None
    }

    fn new(p: &Self::Params, setup: &Setup<'_>) -> Self;

    /// Top-down, at each node after its feeds: whether its input and output are live.
    #[inline]
    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        let input = cx.feed_live(0);
        Live {
            input,
            output: cx.up && input,
        }
    }

    /// Bottom-up, at each node after everything it feeds: its input power \[kW\]
    /// for the output its loads drew (`cx.out_kw()`), drawn from its feeds.
    #[inline]
    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        if !cx.live {
            return 0.0;
        }
        let kw = cx.out_kw();
        cx.draw(0, kw);
        kw
    }

    /// Its status word when neither faulted nor with its breaker open.
    #[inline]
    fn status(&self, s: &StatusIn) -> NodeState {
        if !s.live {
            NodeState::Unpowered
        } else if s.breaker_over {
            NodeState::Overload
        } else {
            NodeState::Ok
        }
    }

    /// The event for a change of its status word, for the words that are its own;
    /// `None` leaves it to the common ones (fault, trip, power, overload).
    fn transition(&self, _old: NodeState, _new: NodeState, _id: &str) -> Option<Said> {
        None
    }

    /// Integrates its state over the step just ended.
    fn integrate(&mut self, _cx: &mut Integrate<'_>) {}

    /// Moves its timers at time `t`, before the step is solved.
    fn advance(&mut self, _t: f64, _faulted: bool) {}

    /// Another node's signal (an ATS asking a generator to start or stop).
    fn signal(&mut self, _signal: Signal, _t: f64, _faulted: bool) {}

    /// What a queued command does to its own state, at the step it applies, with
    /// its interlocks checked against the latest step's power (`live`, `in_live`)
    /// and the node's fault and breaker as the commands before it in the same step
    /// left them (docs/physics.md, "Switching, modes and interlocks"): the event that answers it, or the reason it is
    /// refused. `set_fault`, the breaker commands and the breaker part of `reset`
    /// are the core's; a kind sees every command that applies to it.
    fn command(&mut self, _cmd: &Command, _cx: &CommandCx<'_>) -> Answer {
        Ok(None)
    }

    /// A command the kind answers before the core's breaker commands (`open`,
    /// `close`, `lockout`, `epo`) see it: `Some` is the answer and the core does
    /// nothing more (a UPS's maintenance bypass, which an EPO opens and `close`
    /// closes again, is not the module's breaker).
    fn intercept(&mut self, _cmd: &Command, _cx: &CommandCx<'_>) -> Option<Answer> {
        None
    }

    /// Its input voltage \[V\].
    fn voltage_in_v(&self, v: &View<'_>) -> f64 {
        if v.in_live { v.nominal_in_v } else { 0.0 }
    }

    /// Its output against its rating \[%\]; `None` = against its breaker.
    fn load_pct(&self, _v: &View<'_>) -> Option<f64> {
        None
    }

    /// Its Status fields beyond the common measurements.
    fn measure(&self, _v: &View<'_>, _m: &mut Measurements) {}

    /// Battery (discharge, charge) at the latest step \[kW\].
    fn battery_kw(&self) -> (f64, f64) {
        (0.0, 0.0)
    }

    /// A cooling unit that is not restarting: with its output live, it removes its
    /// room's heat (docs/physics.md, "Rooms and cooling").
    fn removes_heat(&self) -> bool {
        false
    }
}

/// A node's output and input, live or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Live {
    pub input: bool,
    pub output: bool,
}

/// A signal from one node to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// An ATS asks a generator behind one of its alternates to run.
    Start,
    /// An ATS no longer needs it.
    Stop,
}

/// An event's name, severity and message, before the core dates it.
pub(crate) type Said = (EventKind, Severity, String);

/// A mode as a person reads it in a sentence ("static bypass").
pub(crate) fn mode_words(mode: Mode) -> String {
    mode.spec().label.to_lowercase()
}

/// The refusal of a mode command that would change nothing.
pub(crate) fn already_in(id: &str, mode: Mode) -> String {
    format!("{id} is already in {}", mode_words(mode))
}

/// The `mode` event of a selector moved to `mode`: a warning with the risk it
/// carries ("ups_a to maintenance bypass: an input loss drops the load at once"),
/// or `info` back in a position without one (`back`: "back to", "back in").
/// `note` follows the mode's name (" (transfer test ended)").
pub(crate) fn mode_changed(id: &str, mode: Mode, back: &str, note: &str) -> Said {
    match mode.spec().risk {
        Some(risk) => (
            EventKind::Mode,
            Severity::Warning,
            format!("{id} to {}{note}: {risk}", mode_words(mode)),
        ),
        None => (
            EventKind::Mode,
            Severity::Info,
            format!("{id} {back} {}{note}", mode_words(mode)),
        ),
    }
}

/// A kind's answer to an operator's command: the event that says what it did
/// (with the feed now in use, for a transfer), nothing, or why it is refused — a
/// sentence a trainee can act on.
pub(crate) type Answer = Result<Option<(Said, Option<String>)>, String>;

/// A command's interlocks see the node and the site at the latest step.
pub(crate) struct CommandCx<'a> {
    pub topology: &'a Topology,
    pub i: usize,
    /// Time of the step it applies at \[s\].
    pub t: f64,
    /// Step length \[s\].
    pub step_s: f64,
    /// Every node's output at the latest step.
    pub live: &'a [bool],
    /// This node's input at the latest step.
    pub in_live: bool,
    pub faulted: bool,
    pub breaker: Breaker,
}

impl CommandCx<'_> {
    pub fn id(&self) -> &str {
        &self.topology.node(self.i).id
    }

    /// The node's feeds, in order of preference.
    pub fn feeds(&self) -> &[usize] {
        &self.topology.node(self.i).feeds
    }

    pub fn node_id(&self, i: usize) -> &str {
        &self.topology.node(i).id
    }

    /// Why a node whose module must be healthy is not, if it is not: faulted, or its
    /// breaker not closed.
    pub fn unhealthy(&self) -> Option<String> {
        let id = self.id();
        if self.faulted {
            Some(format!("{id} has a fault: restore it first"))
        } else if !self.breaker.is_closed() {
            Some(format!(
                "{id} is {}: close it first",
                self.breaker.spec().label.to_lowercase()
            ))
        } else {
            None
        }
    }
}

/// Default failure and repair figures of a kind (docs/analysis.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reliability {
    /// Mean time between failures \[h\]; `inf` = never fails.
    pub mtbf_h: f64,
    /// Mean time to repair \[h\].
    pub mttr_h: f64,
    /// Probability of failing to start on demand; `None` for a kind that is never
    /// started (the topology refuses `fail_to_start` on it).
    pub fail_to_start: Option<f64>,
}

impl Reliability {
    /// Loads never fail: the analysis is about the power chain.
    pub const NEVER_FAILS: Reliability = Reliability {
        mtbf_h: f64::INFINITY,
        mttr_h: 0.0,
        fail_to_start: None,
    };
}

/// What the parser and the analysis need of a kind beyond the protocol's table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traits {
    /// Power factor when the file gives none.
    pub power_factor: f64,
    /// Loads it feeds are single-phase unless set.
    pub feeds_single_phase: bool,
    pub reliability: Reliability,
}

impl Traits {
    /// It is started on demand (an ATS's start signal reaches it), and so can fail
    /// to start: a kind with a `fail_to_start` figure (a standby generator).
    pub fn starts_on_demand(&self) -> bool {
        self.reliability.fail_to_start.is_some()
    }
}

// ── What a kind sees in each pass ──────────────────────────────────────────────────

/// Building a node's model.
pub(crate) struct Setup<'a> {
    pub topology: &'a Topology,
    /// The node's index.
    pub node: usize,
    /// Step length \[s\].
    pub step_s: f64,
}

impl Setup<'_> {
    pub fn spec(&self) -> &crate::topology::NodeSpec {
        self.topology.node(self.node)
    }
}

/// Site totals the kinds add to as a step is solved.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Totals {
    /// IT load served \[kW\] (energize).
    pub it_kw: f64,
    /// IT demand \[kW\] (energize).
    pub it_demand_kw: f64,
    /// Utility outputs \[kW\] (flow).
    pub utility_kw: f64,
    /// Generator outputs \[kW\] (flow).
    pub generator_kw: f64,
    /// Output carried by UPS batteries to loads that draw power \[kW\] (flow).
    pub battery_out_kw: f64,
    /// Battery discharge − charging, all UPSs \[kW\] (flow).
    pub battery_net_kw: f64,
    /// A utility's output reaches a load (not only idle conversion losses) (flow).
    pub utility_carries: bool,
    /// A generator's output reaches a load (flow).
    pub generator_carries: bool,
}

/// The top-down pass at node `i`.
pub(crate) struct Energize<'a> {
    pub topology: &'a Topology,
    pub i: usize,
    /// Time of the step \[s\].
    pub t: f64,
    /// Neither faulted nor open: `!faulted && closed`.
    pub up: bool,
    /// Failed (or a fault injected).
    pub faulted: bool,
    /// Its breaker is closed (not open, tripped or locked out).
    pub closed: bool,
    /// Its feeds, in order of preference.
    pub feeds: &'a [u32],
    /// Every node's output at this step (decided for every node before this one;
    /// the core writes this node's after its kind has decided).
    pub live: &'a mut [bool],
    pub totals: &'a mut Totals,
    pub events: &'a mut Vec<Event>,
    /// Signals to other nodes, delivered by the core after this node.
    pub signals: &'a mut Vec<(usize, Signal)>,
}

impl Energize<'_> {
    /// Whether feed `k` (0 = preferred) is live.
    #[inline]
    pub fn feed_live(&self, k: usize) -> bool {
        self.live[self.feeds[k] as usize]
    }

    /// Whether any feed is live.
    #[inline]
    pub fn any_feed_live(&self) -> bool {
        self.feeds.iter().any(|&f| self.live[f as usize])
    }

    /// The id of feed `k`.
    pub fn feed_id(&self, k: usize) -> &str {
        &self.topology.node(self.feeds[k] as usize).id
    }

    pub fn id(&self) -> &str {
        &self.topology.node(self.i).id
    }

    /// Raises an event for this node at this step.
    pub fn event(&mut self, said: Said, to: Option<String>) {
        let (event, severity, message) = said;
        let node_id = &self.topology.node(self.i).id;
        self.events.push(Event {
            to,
            ..Event::new(self.t, node_id, event, severity, message)
        });
    }
}

/// The bottom-up pass at node `i`.
pub(crate) struct Flow<'a> {
    pub i: usize,
    /// Its output is live.
    pub live: bool,
    /// Its input is live.
    pub in_live: bool,
    pub feeds: &'a [u32],
    /// Every node's output.
    pub lives: &'a [bool],
    /// Power delivered downstream by every node \[kW\]: complete for this node, being
    /// added to for its feeds.
    pub out_kw: &'a mut [f64],
    /// Whether a node's output reaches a load that draws power (not only the idle
    /// losses of the conversions below it): complete for this node, being set for
    /// its feeds. `source` reads it: a utility feeding only an idle transformer
    /// carries no load.
    pub carrying: &'a mut [bool],
    pub totals: &'a mut Totals,
    /// Step length \[s\].
    pub step_s: f64,
}

impl Flow<'_> {
    /// What its loads drew from it \[kW\].
    #[inline]
    pub fn out_kw(&self) -> f64 {
        self.out_kw[self.i]
    }

    /// Draws `kw` from feed `k`.
    #[inline]
    pub fn draw(&mut self, k: usize, kw: f64) {
        let f = self.feeds[k] as usize;
        self.out_kw[f] += kw;
        self.carrying[f] |= self.carrying[self.i];
    }

    /// Its output reaches a load that draws power.
    #[inline]
    pub fn carries(&self) -> bool {
        self.carrying[self.i]
    }
}

/// What a kind's status word is derived from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StatusIn {
    pub live: bool,
    /// Output \[kW\].
    pub out_kw: f64,
    /// Its current is above its breaker's pickup.
    pub breaker_over: bool,
}

/// Integrating the step just ended, at node `i`.
pub(crate) struct Integrate<'a> {
    pub topology: &'a Topology,
    pub i: usize,
    /// Length of the step \[s\].
    pub dt_s: f64,
    /// Time at the end of it \[s\].
    pub t_end: f64,
    /// Output during it \[kW\].
    pub out_kw: f64,
    pub faulted: bool,
    pub events: &'a mut Vec<Event>,
}

impl Integrate<'_> {
    pub fn id(&self) -> &str {
        &self.topology.node(self.i).id
    }

    /// Raises an event for this node at the end of the step.
    pub fn event(&mut self, said: Said) {
        let (event, severity, message) = said;
        let node_id = &self.topology.node(self.i).id;
        self.events
            .push(Event::new(self.t_end, node_id, event, severity, message));
    }
}

/// A node at the latest step, read for its Status.
pub(crate) struct View<'a> {
    pub topology: &'a Topology,
    pub i: usize,
    pub live: bool,
    pub in_live: bool,
    pub faulted: bool,
    pub breaker: Breaker,
    /// Output \[kW\].
    pub out_kw: f64,
    /// Nominal input voltage \[V\].
    pub nominal_in_v: f64,
    /// Site IT load served \[kW\].
    pub it_kw: f64,
}

impl View<'_> {
    /// The id of feed `k`.
    pub fn feed_id(&self, k: usize) -> &str {
        let f = self.topology.node(self.i).feeds[k];
        &self.topology.node(f).id
    }
}

// ── Parameter tables ───────────────────────────────────────────────────────────────

/// A range a parameter must be in, and how a refusal says it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub ok: fn(f64) -> bool,
    pub text: &'static str,
}

pub(crate) const POSITIVE: Rule = Rule {
    ok: |v| v > 0.0,
    text: "must be > 0",
};
pub(crate) const NON_NEGATIVE: Rule = Rule {
    ok: |v| v >= 0.0,
    text: "must be >= 0",
};
/// An efficiency or a power factor.
pub(crate) const FRACTION: Rule = Rule {
    ok: |v| v > 0.0 && v <= 1.0,
    text: "must be in (0, 1]",
};

/// A kind's parameter table: read from a node's entries, named for the JSON form.
pub(crate) trait ParamTable: Sized + Clone + PartialEq + std::fmt::Debug {
    fn read(r: &mut ParamReader) -> Result<Self, TopologyError>;
    fn named(&self) -> Vec<(&'static str, f64)>;
}

/// Declares a kind's parameter table: one row per parameter,
/// `rust_name: "file_name" = default, RULE;`. A default may use the parameters
/// above it (`recharge_kw: "recharge_kw" = 0.1 * rating_kw, NON_NEGATIVE;`).
///
/// Flags (true/false in the file) follow the struct in a `flags { … }` block,
/// `rust_name: "file_name" = default;`; the topology JSON, whose parameters are
/// numbers, carries a flag as 1 or 0.
macro_rules! params {
    ($(#[$meta:meta])* pub struct $name:ident {
        $( $(#[$doc:meta])* $field:ident: $key:literal = $default:expr, $rule:expr; )*
    }
    $( flags { $( $(#[$fdoc:meta])* $flag:ident: $fkey:literal = $fdefault:expr; )* } )?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $( $(#[$doc])* pub $field: f64, )*
            $( $( $(#[$fdoc])* pub $flag: bool, )* )?
        }

        impl $crate::kinds::ParamTable for $name {
            #[allow(unused_variables)]
            fn read(
                r: &mut $crate::topology::ParamReader,
            ) -> Result<Self, $crate::topology::TopologyError> {
                $( let $field = r.num($key, $default, $rule)?; )*
                $( $( let $flag = r.flag($fkey, $fdefault)?; )* )?
                Ok($name { $( $field, )* $( $( $flag, )* )? })
            }

            fn named(&self) -> Vec<(&'static str, f64)> {
                vec![
                    $( ($key, self.$field), )*
                    $( $( ($fkey, if self.$flag { 1.0 } else { 0.0 }), )* )?
                ]
            }
        }
    };
}
pub(crate) use params;
