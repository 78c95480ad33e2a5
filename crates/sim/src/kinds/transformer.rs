//! `transformer`: steps its feed's voltage to `voltage_out` with a loss
//! (docs/physics.md: `P_in = P_out / efficiency + no_load_loss_kw`), overloaded above
//! `rating_kva`. [`Converter`] is that behaviour, shared with the PDU.

use winter_river_protocol::NodeState;

use super::{
    FRACTION, Flow, Kind, NON_NEGATIVE, POSITIVE, Reliability, Setup, StatusIn, View, params,
};
use crate::physics::conversion_input_kw;

params! {
    /// Parameters of a `transformer` node.
    pub struct Params {
        /// Secondary voltage \[V\].
        voltage_out_v: "voltage_out" = 480.0, POSITIVE;
        /// Rating \[kVA\].
        rating_kva: "rating_kva" = 1500.0, POSITIVE;
        /// Full-load efficiency, (0, 1].
        efficiency: "efficiency" = 0.985, FRACTION;
        /// Core loss, drawn whenever it is live \[kW\].
        no_load_loss_kw: "no_load_loss_kw" = 0.0, NON_NEGATIVE;
    }
}

/// A node that converts power with a loss and has a kVA rating.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Converter {
    /// Rating \[kVA\].
    pub rating_kva: f64,
    pub efficiency: f64,
    /// \[kW\]
    pub no_load_loss_kw: f64,
    pub power_factor: f64,
}

impl Converter {
    pub fn flow(&self, cx: &mut Flow<'_>) -> f64 {
        if !cx.live {
            return 0.0;
        }
        let kw = conversion_input_kw(cx.out_kw(), self.efficiency, self.no_load_loss_kw);
        cx.draw(0, kw);
        kw
    }

    pub fn status(&self, s: &StatusIn) -> NodeState {
        if !s.live {
            NodeState::Unpowered
        } else if s.out_kw / self.power_factor > self.rating_kva || s.breaker_over {
            NodeState::Overload
        } else {
            NodeState::Ok
        }
    }

    /// Output \[kVA\] against the rating \[%\].
    pub fn load_pct(&self, v: &View<'_>) -> f64 {
        v.out_kw / self.power_factor / self.rating_kva * 100.0
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Transformer(Converter);

impl Kind for Transformer {
    type Params = Params;
    // Liquid-filled power transformer: ≈ 0.006 failures/yr, ≈ 300 h (replacement).
    const RELIABILITY: Reliability = Reliability {
        mtbf_h: 1_500_000.0,
        mttr_h: 300.0,
        fail_to_start: None,
    };

    fn voltage_out_v(p: &Params) -> Option<f64> {
        Some(p.voltage_out_v)
    }

    fn new(p: &Params, setup: &Setup<'_>) -> Transformer {
        Transformer(Converter {
            rating_kva: p.rating_kva,
            efficiency: p.efficiency,
            no_load_loss_kw: p.no_load_loss_kw,
            power_factor: setup.spec().power_factor,
        })
    }

    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        self.0.flow(cx)
    }

    fn status(&self, s: &StatusIn) -> NodeState {
        self.0.status(s)
    }

    fn load_pct(&self, v: &View<'_>) -> Option<f64> {
        Some(self.0.load_pct(v))
    }
}
