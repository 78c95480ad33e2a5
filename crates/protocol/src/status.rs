//! Status: node → all, on `<p>/<id>/status` (docs/protocol.md, "Status"). Flat JSON
//! so Telegraf's `json` parser keeps every field.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::command::UpdateParams;
use crate::field::{FieldSpec, FieldType, FieldValue};
use crate::kind::{NodeKind, NodeState};
use crate::measurements::Measurements;

/// One node's reported state: its identity, the measurements (the same set an
/// engine `update` carries, flattened), its status word and the board's link
/// fields. Fields a board may not send are optional; `None` is omitted on the
/// wire, as is any non-finite number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub node_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<NodeKind>,
    #[serde(flatten)]
    pub measured: Measurements,
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
}

/// A board's Wi-Fi signal as a radio can report it \[dBm\] (the ESP32 gives −127…0).
pub const WIFI_RSSI_RANGE_DBM: core::ops::RangeInclusive<i32> = -127..=0;
/// Longest a board can have been up \[s\]: a century. Beyond it an `uptime` is a
/// counter gone wrong, and InfluxDB's signed integers would not hold 2^64 − 1.
pub const MAX_UPTIME_S: u64 = 100 * 365 * 24 * 3600;
/// Largest `seq`: what InfluxDB's signed 64-bit integers hold.
pub const MAX_SEQ: u64 = i64::MAX as u64;

/// Status fields that are not measurements, in wire order.
pub const IDENTITY_AND_LINK_FIELDS: &[FieldSpec] = &[
    FieldSpec::new("node_id", FieldType::NodeId, "", "Node", 0),
    FieldSpec::new("kind", FieldType::Kind, "", "Kind", 0),
    FieldSpec::new("status", FieldType::State, "", "Status", 0),
    FieldSpec::integer("wifi_rssi", "dBm", "Wi-Fi"),
    FieldSpec::integer("uptime", "s", "Uptime"),
    FieldSpec::integer("seq", "", "Sequence"),
];

impl Status {
    /// A status with only the id and status word set.
    pub fn new(node_id: impl Into<String>, status: NodeState) -> Status {
        Status {
            node_id: node_id.into(),
            kind: None,
            measured: Measurements::default(),
            status,
            wifi_rssi: None,
            uptime: None,
            seq: None,
        }
    }

    /// Sets the measured values an engine `update` carries (not its status word:
    /// a board may show its own fault over the engine's word).
    pub fn set_measurements(&mut self, u: &UpdateParams) {
        self.measured.clone_from(&u.measured);
    }

    /// A field by wire name; `None` if Status has no such field.
    pub fn field(&self, name: &str) -> Option<FieldValue> {
        let int = |v: Option<u64>| FieldValue::num(v.map(|v| v as f64));
        Some(match name {
            "node_id" => FieldValue::Text(self.node_id.clone()),
            "kind" => FieldValue::text(self.kind.map(NodeKind::as_str)),
            "status" => FieldValue::Text(self.status.as_str().into()),
            "wifi_rssi" => FieldValue::num(self.wifi_rssi.map(f64::from)),
            "uptime" => int(self.uptime),
            "seq" => int(self.seq),
            other => return self.measured.field(other),
        })
    }

    /// Every Status field, in wire order.
    pub fn fields() -> impl Iterator<Item = &'static FieldSpec> {
        IDENTITY_AND_LINK_FIELDS.iter().chain(Measurements::FIELDS)
    }
}
