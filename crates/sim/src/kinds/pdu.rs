//! `pdu`: a power distribution unit — a transformer to the racks' voltage and their
//! branch circuits (docs/topology.md). It converts like a transformer
//! ([`Converter`]); the loads it feeds are single-phase at its output voltage unless
//! they say otherwise.

use winter_river_protocol::NodeState;

use super::transformer::Converter;
use super::{
    FRACTION, Flow, Kind, NON_NEGATIVE, POSITIVE, Reliability, Setup, StatusIn, View, params,
};

params! {
    /// Parameters of a `pdu` node.
    pub struct Params {
        /// Output voltage \[V\].
        voltage_out_v: "voltage_out" = 208.0, POSITIVE;
        /// Rating \[kVA\].
        rating_kva: "rating_kva" = 50.0, POSITIVE;
        /// Full-load efficiency, (0, 1].
        efficiency: "efficiency" = 0.97, FRACTION;
        /// Loss whenever it is live \[kW\].
        no_load_loss_kw: "no_load_loss_kw" = 0.0, NON_NEGATIVE;
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pdu(Converter);

impl Kind for Pdu {
    type Params = Params;
    const FEEDS_SINGLE_PHASE: bool = true;
    // PDU (transformer + panel): ≈ 0.018 failures/yr, 4 h.
    const RELIABILITY: Reliability = Reliability {
        mtbf_h: 500_000.0,
        mttr_h: 4.0,
        fail_to_start: None,
    };

    fn voltage_out_v(p: &Params) -> Option<f64> {
        Some(p.voltage_out_v)
    }

    fn new(p: &Params, setup: &Setup<'_>) -> Pdu {
        Pdu(Converter {
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
