//! The loads (docs/topology.md): `server` (IT), `cooling` (non-IT, following the IT
//! load) and `load` (other non-IT). A load takes one feed or several (A/B cords):
//! it is live while any feed is, and its demand is shared equally among the live
//! ones (docs/physics.md). `set_load` sets its demand.
//!
//! Most nodes of a large site are racks: these are the hot path of every pass, so
//! their state is a number or two, kept inline in the per-node array.

use winter_river_protocol::{Command, EventKind, NodeState, Severity};

use super::room::TEMPERATURE;
use super::{
    Answer, CommandCx, Energize, Flow, Kind, Live, NON_NEGATIVE, Reliability, Rule, Said, Setup,
    StatusIn, View, params,
};
use crate::simulator::TIME_EPS_S;

/// An offset between temperatures \[K\].
const TEMPERATURE_OFFSET: Rule = Rule {
    ok: |v| (-20.0..=50.0).contains(&v),
    text: "must be between -20 and 50 K",
};

params! {
    /// Parameters of a `server` node (an IT rack).
    pub struct ServerParams {
        /// Demand \[kW\].
        demand_kw: "demand_kw" = 5.0, NON_NEGATIVE;
        /// Inlet temperature at which its thermal protection stops it \[°C\].
        shutdown_c: "shutdown_c" = 40.0, TEMPERATURE;
        /// Inlet = room air + this \[K\] (a hot spot, recirculation).
        inlet_offset_c: "inlet_offset_c" = 0.0, TEMPERATURE_OFFSET;
    }
}

params! {
    /// Parameters of a `cooling` node.
    pub struct CoolingParams {
        /// Base demand \[kW\].
        demand_kw: "demand_kw" = 0.0, NON_NEGATIVE;
        /// Demand per kW of site IT load served [kW/kW].
        per_it_kw: "per_it_kw" = 0.35, NON_NEGATIVE;
        /// Heat it can remove from its room \[kW\], net of its own fans' heat. Left
        /// out of the file, 1.2 × the IT demand of its room, filled in once the
        /// whole topology is read (`crate::thermal::resolve_capacities`).
        capacity_kw: "capacity_kw" = f64::NAN, NON_NEGATIVE;
        /// After its power returns or its fault clears, it removes no heat for
        /// this long \[s\] (chillers 300–600 s, CRAH fans ~30 s).
        restart_s: "restart_s" = 0.0, NON_NEGATIVE;
    }
}

params! {
    /// Parameters of a `load` node (other non-IT load).
    pub struct LoadParams {
        /// Demand \[kW\].
        demand_kw: "demand_kw" = 1.0, NON_NEGATIVE;
    }
}

impl super::KindParams {
    /// A server's IT demand \[kW\]; `None` for other kinds.
    pub fn it_demand_kw(&self) -> Option<f64> {
        match self {
            super::KindParams::Server(p) => Some(p.demand_kw),
            _ => None,
        }
    }

    /// A cooling unit's capacity: the heat it can remove from its room \[kW\];
    /// `None` for other kinds.
    pub fn cooling_capacity_kw(&self) -> Option<f64> {
        match self {
            super::KindParams::Cooling(p) => Some(p.capacity_kw),
            _ => None,
        }
    }
}

/// Live while any feed is.
#[inline]
fn energize(cx: &Energize<'_>) -> Live {
    let input = cx.any_feed_live();
    Live {
        input,
        output: cx.up && input,
    }
}

/// Draws `demand_kw` (when live) shared equally among the live feeds; returns it.
#[inline]
fn flow(demand_kw: f64, cx: &mut Flow<'_>) -> f64 {
    let mut kw = 0.0;
    if cx.live {
        kw = demand_kw;
        let cords = cx.feeds.iter().filter(|&&f| cx.lives[f as usize]).count();
        let share = kw / cords as f64;
        let draws = kw > 0.0;
        for &f in cx.feeds {
            if cx.lives[f as usize] {
                cx.out_kw[f as usize] += share;
                cx.carrying[f as usize] |= draws;
            }
        }
    }
    cx.out_kw[cx.i] = kw;
    kw
}

/// Served against demanded \[%\] (0 with no demand).
fn load_pct(demand_kw: f64, v: &View<'_>) -> Option<f64> {
    Some(if demand_kw > 0.0 {
        v.out_kw / demand_kw * 100.0
    } else {
        0.0
    })
}

/// `set_load`.
fn set_load(demand_kw: &mut f64, cmd: &Command) {
    if let Command::SetLoad { kw } = cmd {
        *demand_kw = *kw;
    }
}

/// An IT rack.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Server {
    /// \[kW\]
    demand_kw: f64,
}

impl Kind for Server {
    type Params = ServerParams;
    const POWER_FACTOR: f64 = 0.95;
    const IT_LOAD: bool = true;
    const RELIABILITY: Reliability = Reliability::NEVER_FAILS;

    fn new(p: &ServerParams, _setup: &Setup<'_>) -> Server {
        Server {
            demand_kw: p.demand_kw,
        }
    }

    #[inline]
    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        let live = energize(cx);
        cx.totals.it_demand_kw += self.demand_kw;
        if live.output {
            cx.totals.it_kw += self.demand_kw;
        }
        live
    }

    #[inline]
    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        flow(self.demand_kw, cx)
    }

    fn load_pct(&self, v: &View<'_>) -> Option<f64> {
        load_pct(self.demand_kw, v)
    }

    fn command(&mut self, cmd: &Command, _cx: &CommandCx<'_>) -> Answer {
        set_load(&mut self.demand_kw, cmd);
        Ok(None)
    }
}

/// A cooling unit: its base demand plus `per_it_kw` per kW of IT load served; in
/// a room, it removes heat once it has run `restart_s` since its output came back.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Cooling {
    /// Base demand \[kW\].
    demand_kw: f64,
    /// [kW/kW]
    per_it_kw: f64,
    /// \[s\]
    restart_s: f64,
    /// Its output was live at the latest step.
    running: bool,
    /// When it removes heat again after its output came back \[s\] (−∞: it has
    /// run since the start).
    #[serde(with = "crate::snapshot::lossless_f64")]
    ready_at_s: f64,
    /// Live, but inside its restart time.
    restarting: bool,
}

impl Cooling {
    fn demand_kw(&self, it_kw: f64) -> f64 {
        self.demand_kw + self.per_it_kw * it_kw
    }
}

impl Kind for Cooling {
    type Params = CoolingParams;
    const RELIABILITY: Reliability = Reliability::NEVER_FAILS;

    fn new(p: &CoolingParams, _setup: &Setup<'_>) -> Cooling {
        // Running from the start: the site is settled in its normal state.
        Cooling {
            demand_kw: p.demand_kw,
            per_it_kw: p.per_it_kw,
            restart_s: p.restart_s,
            running: true,
            ready_at_s: f64::NEG_INFINITY,
            restarting: false,
        }
    }

    #[inline]
    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        let live = energize(cx);
        if live.output && !self.running {
            self.ready_at_s = cx.t + self.restart_s;
        }
        self.running = live.output;
        self.restarting = live.output && cx.t + TIME_EPS_S < self.ready_at_s;
        live
    }

    #[inline]
    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        flow(self.demand_kw(cx.totals.it_kw), cx)
    }

    fn status(&self, s: &StatusIn) -> NodeState {
        if !s.live {
            NodeState::Unpowered
        } else if s.breaker_over {
            NodeState::Overload
        } else if self.restarting {
            NodeState::Starting
        } else {
            NodeState::Ok
        }
    }

    fn transition(&self, old: NodeState, new: NodeState, id: &str) -> Option<Said> {
        match (old, new) {
            (NodeState::Starting, NodeState::Ok | NodeState::Overload) => Some((
                EventKind::Running,
                Severity::Info,
                format!("{id} restarted: removing heat again"),
            )),
            (_, NodeState::Starting) => Some((
                EventKind::Start,
                Severity::Warning,
                format!(
                    "{id} restarting: it removes no heat for {:.0} s",
                    self.restart_s
                ),
            )),
            _ => None,
        }
    }

    fn removes_heat(&self) -> bool {
        self.running && !self.restarting
    }

    fn load_pct(&self, v: &View<'_>) -> Option<f64> {
        load_pct(self.demand_kw(v.it_kw), v)
    }

    fn command(&mut self, cmd: &Command, _cx: &CommandCx<'_>) -> Answer {
        set_load(&mut self.demand_kw, cmd);
        Ok(None)
    }
}

/// Any other load.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Load {
    /// \[kW\]
    demand_kw: f64,
}

impl Kind for Load {
    type Params = LoadParams;
    const RELIABILITY: Reliability = Reliability::NEVER_FAILS;

    fn new(p: &LoadParams, _setup: &Setup<'_>) -> Load {
        Load {
            demand_kw: p.demand_kw,
        }
    }

    #[inline]
    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        energize(cx)
    }

    #[inline]
    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        flow(self.demand_kw, cx)
    }

    fn load_pct(&self, v: &View<'_>) -> Option<f64> {
        load_pct(self.demand_kw, v)
    }

    fn command(&mut self, cmd: &Command, _cx: &CommandCx<'_>) -> Answer {
        set_load(&mut self.demand_kw, cmd);
        Ok(None)
    }
}
