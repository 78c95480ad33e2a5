//! SystemStatus: engine → all on `<p>/system/status` (DESIGN §2). Flat, with
//! `"node_id":"system"` so Telegraf tags it like a node.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::kind::NodeState;

/// The whole site's state at one instant. `Default` is all zeros with an empty
/// `node_id`: a base to fill in, not a valid payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    /// Always `"system"`.
    pub node_id: String,
    /// IT (server) load served \[kW\].
    pub it_kw: f64,
    /// Sum of source outputs: utility + generators \[kW\].
    pub facility_kw: f64,
    /// `facility_kw / it_kw`; absent when either is 0.
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub pue: Option<f64>,
    /// IT demand not served \[kW\].
    pub it_kw_lost: f64,
    /// Cumulative IT energy not served \[kWh\].
    pub it_kwh_unserved: f64,
    /// What carries the IT load: `utility` / `generator` / `battery` / `none`.
    pub source: String,
    /// Shortest UPS runtime at present load \[s\]; absent without UPS.
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub runtime_s: Option<f64>,
    /// Lowest generator fuel level [%]; absent without generator.
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub fuel_pct: Option<f64>,
    /// Number of nodes by status word (`nodes_ok`, `nodes_fault`, …).
    pub nodes_ok: u32,
    pub nodes_fault: u32,
    pub nodes_unpowered: u32,
    pub nodes_tripped: u32,
    pub nodes_overload: u32,
    pub nodes_on_battery: u32,
    pub nodes_bypass: u32,
    pub nodes_standby: u32,
    pub nodes_starting: u32,
    pub nodes_cooldown: u32,
    pub nodes_out_of_fuel: u32,
    pub nodes_offline: u32,
    /// Messages dropped as bad input, all reasons.
    pub rejected_msgs: u64,
    /// Simulated time \[s\].
    pub sim_time_s: f64,
}

impl SystemStatus {
    /// The count of nodes in `state` (`nodes_ok` for `Ok`, …).
    pub fn count_mut(&mut self, state: NodeState) -> &mut u32 {
        match state {
            NodeState::Ok => &mut self.nodes_ok,
            NodeState::Fault => &mut self.nodes_fault,
            NodeState::Unpowered => &mut self.nodes_unpowered,
            NodeState::Tripped => &mut self.nodes_tripped,
            NodeState::Overload => &mut self.nodes_overload,
            NodeState::OnBattery => &mut self.nodes_on_battery,
            NodeState::Bypass => &mut self.nodes_bypass,
            NodeState::Standby => &mut self.nodes_standby,
            NodeState::Starting => &mut self.nodes_starting,
            NodeState::Cooldown => &mut self.nodes_cooldown,
            NodeState::OutOfFuel => &mut self.nodes_out_of_fuel,
            NodeState::Offline => &mut self.nodes_offline,
        }
    }
}
