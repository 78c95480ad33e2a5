//! The loads (docs/topology.md): `server` (IT), `cooling` (non-IT, following the IT
//! load) and `load` (other non-IT). A load takes one feed or several (A/B cords):
//! it is live while any feed is, and its demand is shared equally among the live
//! ones (docs/physics.md). `set_load` sets its demand.
//!
//! Most nodes of a large site are racks: these are the hot path of every pass, so
//! their state is a number or two, kept inline in the per-node array.

use winter_river_protocol::Command;

use super::{
    Answer, CommandCx, Energize, Flow, Kind, Live, NON_NEGATIVE, Reliability, Setup, View, params,
};

params! {
    /// Parameters of a `server` node (an IT rack).
    pub struct ServerParams {
        /// Demand \[kW\].
        demand_kw: "demand_kw" = 5.0, NON_NEGATIVE;
    }
}

params! {
    /// Parameters of a `cooling` node.
    pub struct CoolingParams {
        /// Base demand \[kW\].
        demand_kw: "demand_kw" = 0.0, NON_NEGATIVE;
        /// Demand per kW of site IT load served [kW/kW].
        per_it_kw: "per_it_kw" = 0.35, NON_NEGATIVE;
    }
}

params! {
    /// Parameters of a `load` node (other non-IT load).
    pub struct LoadParams {
        /// Demand \[kW\].
        demand_kw: "demand_kw" = 1.0, NON_NEGATIVE;
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

/// A cooling unit: its base demand plus `per_it_kw` per kW of IT load served.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Cooling {
    /// Base demand \[kW\].
    demand_kw: f64,
    /// [kW/kW]
    per_it_kw: f64,
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
        Cooling {
            demand_kw: p.demand_kw,
            per_it_kw: p.per_it_kw,
        }
    }

    #[inline]
    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        energize(cx)
    }

    #[inline]
    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        flow(self.demand_kw(cx.totals.it_kw), cx)
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
