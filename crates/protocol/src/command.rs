//! Commands: `{"command": NAME, "params": {...}}` (DESIGN §2), to a node on
//! `<p>/<id>/command` or to the engine on `<p>/system/command`.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::kind::NodeState;

/// A command, decoded. The wire form is `{"command": NAME, "params": {...}}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Fail (`true`) or restore (`false`) the component.
    SetFault { state: bool },
    /// Demand of a load \[kW\].
    SetLoad { kw: f64 },
    /// Clear a tripped breaker or latched alarm.
    Reset,
    /// Engine → node: the node's computed electrical state.
    Update(UpdateParams),
}

impl Command {
    /// The command's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Command::SetFault { .. } => "set_fault",
            Command::SetLoad { .. } => "set_load",
            Command::Reset => "reset",
            Command::Update(_) => "update",
        }
    }
}

/// Parameters of `update`: the electrical values the engine computed for a node.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UpdateParams {
    /// \[V\]
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub voltage_in: Option<f64>,
    /// \[V\]
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub voltage_out: Option<f64>,
    /// \[A\]
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub current: Option<f64>,
    /// \[kW\]
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub power_kw: Option<f64>,
    /// [%]
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub load_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeState>,
    /// [%]
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub battery_pct: Option<f64>,
    /// \[s\]
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub runtime_s: Option<f64>,
    /// [%]
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub fuel_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}
