//! `utility`: a utility service, the site's normal source (docs/topology.md). Live
//! unless faulted or its output breaker is open; what the site draws from it is
//! utility power.

use super::{Energize, Flow, Kind, Live, POSITIVE, Reliability, Setup, View, params};

params! {
    /// Parameters of a `utility` node.
    pub struct Params {
        /// Line-to-line voltage \[V\].
        voltage_v: "voltage" = 13_800.0, POSITIVE;
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Utility {
    voltage_v: f64,
}

impl Kind for Utility {
    type Params = Params;
    // Single-circuit utility supply: ≈ 1.956 failures/yr, 1.32 h (IEEE 493).
    const RELIABILITY: Reliability = Reliability {
        mtbf_h: 4_478.0,
        mttr_h: 1.32,
        fail_to_start: None,
    };

    fn voltage_out_v(p: &Params) -> Option<f64> {
        Some(p.voltage_v)
    }

    fn new(p: &Params, _setup: &Setup<'_>) -> Utility {
        Utility {
            voltage_v: p.voltage_v,
        }
    }

    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        Live {
            input: cx.up,
            output: cx.up,
        }
    }

    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        let kw = cx.out_kw();
        cx.totals.utility_kw += kw;
        cx.totals.utility_carries |= cx.carries();
        kw
    }

    /// The service voltage, unless the service has failed (a tripped output
    /// breaker leaves it at the terminals).
    fn voltage_in_v(&self, v: &View<'_>) -> f64 {
        if v.faulted { 0.0 } else { self.voltage_v }
    }
}
