//! Status: node → all, on `<p>/<id>/status` (DESIGN §2). Flat JSON so Telegraf's
//! `json` parser keeps every field.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::command::UpdateParams;
use crate::kind::{NodeKind, NodeState};

/// One node's reported state. The seed's fields first, then ours. Fields a board may
/// not send (the seed's example omits several) are optional; `None` is omitted on
/// the wire, as is any non-finite number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub node_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<NodeKind>,
    /// Input voltage \[V\].
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub voltage_in: Option<f64>,
    /// Voltage handed downstream \[V\].
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub voltage_out: Option<f64>,
    /// Current at the input (sources: at the output) \[A\].
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub current: Option<f64>,
    /// Power at the input (sources: output; loads: demand served) \[kW\].
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub power_kw: Option<f64>,
    /// Output against rating [%].
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub load_pct: Option<f64>,
    pub status: NodeState,
    /// Wi-Fi signal \[dBm\].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wifi_rssi: Option<i32>,
    /// Board uptime \[s\].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime: Option<u64>,
    /// Message sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// UPS state of charge [%].
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub battery_pct: Option<f64>,
    /// UPS battery runtime at the present load \[s\].
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub runtime_s: Option<f64>,
    /// Generator fuel left [%].
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub fuel_pct: Option<f64>,
    /// Switchgear: id of the feed in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Status {
    /// A status with only the id and status word set.
    pub fn new(node_id: impl Into<String>, status: NodeState) -> Status {
        Status {
            node_id: node_id.into(),
            kind: None,
            voltage_in: None,
            voltage_out: None,
            current: None,
            power_kw: None,
            load_pct: None,
            status,
            wifi_rssi: None,
            uptime: None,
            seq: None,
            battery_pct: None,
            runtime_s: None,
            fuel_pct: None,
            source: None,
        }
    }

    /// Sets the measured values an engine `update` carries (not its status word:
    /// a board may show its own fault over the engine's word).
    pub fn set_measurements(&mut self, u: &UpdateParams) {
        self.voltage_in = u.voltage_in;
        self.voltage_out = u.voltage_out;
        self.current = u.current;
        self.power_kw = u.power_kw;
        self.load_pct = u.load_pct;
        self.battery_pct = u.battery_pct;
        self.runtime_s = u.runtime_s;
        self.fuel_pct = u.fuel_pct;
        self.source.clone_from(&u.source);
    }
}
