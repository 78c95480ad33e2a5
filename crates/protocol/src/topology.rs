//! The loaded topology as JSON, retained on `<p>/system/topology` (docs/protocol.md).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::kind::NodeKind;

/// A whole site: every node with its feeds and its resolved parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopologyJson {
    /// Site name from `[site] name`.
    pub site: String,
    /// Nodes in file order.
    pub nodes: Vec<TopologyNodeJson>,
}

/// One node of [`TopologyJson`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopologyNodeJson {
    pub id: String,
    pub kind: NodeKind,
    /// Upstream node ids, in order of preference.
    pub feeds: Vec<String>,
    /// The room its served power or losses heat (a cooling unit: the room it
    /// cools); absent when it names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// A room's ASHRAE class (`A1` … `A4`); absent for other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Every parameter with defaults applied, named as in the topology file
    /// (units in the names: `rating_kva`, `start_delay_s`, …). Non-finite values
    /// are left out when serialized.
    #[serde(serialize_with = "crate::finite::finite_map")]
    pub params: BTreeMap<String, f64>,
}
