//! `distribution`: a distribution board, passing power from its feed through its
//! breaker (docs/topology.md). Every behaviour is the [`Kind`] default.

use super::{Kind, Reliability, Setup, params};

params! {
    /// Parameters of a `distribution` node: none beyond every node's.
    pub struct Params {}
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Distribution;

impl Kind for Distribution {
    type Params = Params;
    // Distribution board / switchboard: ≈ 0.009 failures/yr, 8 h.
    const RELIABILITY: Reliability = Reliability {
        mtbf_h: 1_000_000.0,
        mttr_h: 8.0,
        fail_to_start: None,
    };

    fn new(_p: &Params, _setup: &Setup<'_>) -> Distribution {
        Distribution
    }
}
