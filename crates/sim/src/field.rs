//! Field lookup for scenario expectations: any Status / SystemStatus field by its
//! wire name (DESIGN §6).

use winter_river_protocol::{Status, SystemStatus};

/// Whose field: the whole site or one node (by index in the topology).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    System,
    Node(usize),
}

/// A field's value at one instant.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Num(f64),
    Text(String),
    /// The field is absent at this instant (e.g. `pue` with no IT load).
    Missing,
}

impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Num(v) => write!(f, "{v}"),
            FieldValue::Text(s) => write!(f, "{s:?}"),
            FieldValue::Missing => f.write_str("(absent)"),
        }
    }
}

/// Status fields, by wire name.
pub const NODE_FIELDS: &[&str] = &[
    "node_id",
    "kind",
    "voltage_in",
    "voltage_out",
    "current",
    "power_kw",
    "load_pct",
    "status",
    "wifi_rssi",
    "uptime",
    "seq",
    "battery_pct",
    "runtime_s",
    "fuel_pct",
    "source",
];

/// SystemStatus fields, by wire name.
pub const SYSTEM_FIELDS: &[&str] = &[
    "node_id",
    "it_kw",
    "facility_kw",
    "pue",
    "it_kw_lost",
    "it_kwh_unserved",
    "source",
    "runtime_s",
    "fuel_pct",
    "nodes_ok",
    "nodes_fault",
    "nodes_unpowered",
    "nodes_tripped",
    "nodes_overload",
    "nodes_on_battery",
    "nodes_bypass",
    "nodes_standby",
    "nodes_starting",
    "nodes_cooldown",
    "nodes_out_of_fuel",
    "nodes_offline",
    "rejected_msgs",
    "sim_time_s",
];

/// Whether `name` is a field of the target's payload.
pub fn is_known_field(target: Target, name: &str) -> bool {
    match target {
        Target::System => SYSTEM_FIELDS.contains(&name),
        Target::Node(_) => NODE_FIELDS.contains(&name),
    }
}

fn num(v: Option<f64>) -> FieldValue {
    v.map_or(FieldValue::Missing, FieldValue::Num)
}

fn int<T: Into<f64>>(v: Option<T>) -> FieldValue {
    v.map_or(FieldValue::Missing, |v| FieldValue::Num(v.into()))
}

/// A node status field by wire name.
pub fn node_field(s: &Status, name: &str) -> FieldValue {
    match name {
        "node_id" => FieldValue::Text(s.node_id.clone()),
        "kind" => s
            .kind
            .map_or(FieldValue::Missing, |k| FieldValue::Text(k.as_str().into())),
        "voltage_in" => num(s.voltage_in),
        "voltage_out" => num(s.voltage_out),
        "current" => num(s.current),
        "power_kw" => num(s.power_kw),
        "load_pct" => num(s.load_pct),
        "status" => FieldValue::Text(s.status.as_str().into()),
        "wifi_rssi" => int(s.wifi_rssi),
        "uptime" => num(s.uptime.map(|u| u as f64)),
        "seq" => num(s.seq.map(|u| u as f64)),
        "battery_pct" => num(s.battery_pct),
        "runtime_s" => num(s.runtime_s),
        "fuel_pct" => num(s.fuel_pct),
        "source" => s
            .source
            .clone()
            .map_or(FieldValue::Missing, FieldValue::Text),
        _ => FieldValue::Missing,
    }
}

/// A system status field by wire name.
pub fn system_field(s: &SystemStatus, name: &str) -> FieldValue {
    match name {
        "node_id" => FieldValue::Text(s.node_id.clone()),
        "it_kw" => FieldValue::Num(s.it_kw),
        "facility_kw" => FieldValue::Num(s.facility_kw),
        "pue" => num(s.pue),
        "it_kw_lost" => FieldValue::Num(s.it_kw_lost),
        "it_kwh_unserved" => FieldValue::Num(s.it_kwh_unserved),
        "source" => FieldValue::Text(s.source.clone()),
        "runtime_s" => num(s.runtime_s),
        "fuel_pct" => num(s.fuel_pct),
        "nodes_ok" => int(Some(s.nodes_ok)),
        "nodes_fault" => int(Some(s.nodes_fault)),
        "nodes_unpowered" => int(Some(s.nodes_unpowered)),
        "nodes_tripped" => int(Some(s.nodes_tripped)),
        "nodes_overload" => int(Some(s.nodes_overload)),
        "nodes_on_battery" => int(Some(s.nodes_on_battery)),
        "nodes_bypass" => int(Some(s.nodes_bypass)),
        "nodes_standby" => int(Some(s.nodes_standby)),
        "nodes_starting" => int(Some(s.nodes_starting)),
        "nodes_cooldown" => int(Some(s.nodes_cooldown)),
        "nodes_out_of_fuel" => int(Some(s.nodes_out_of_fuel)),
        "nodes_offline" => int(Some(s.nodes_offline)),
        "rejected_msgs" => FieldValue::Num(s.rejected_msgs as f64),
        "sim_time_s" => FieldValue::Num(s.sim_time_s),
        _ => FieldValue::Missing,
    }
}
