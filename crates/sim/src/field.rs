//! Field lookup for scenario expectations: any Status / SystemStatus field by its
//! wire name (docs/scenarios.md), through the protocol's field tables.

use winter_river_protocol::{NodeCounts, NodeState, Status, SystemStatus};

pub use winter_river_protocol::FieldValue;

/// Whose field: the whole site or one node (by index in the topology).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    System,
    Node(usize),
}

/// Every field name of the target's payload, in wire order.
pub fn known_fields(target: Target) -> Vec<String> {
    match target {
        Target::System => SystemStatus::FIELDS
            .iter()
            .map(|f| f.name.to_string())
            .chain(NodeState::ALL.iter().map(|s| format!("nodes_{s}")))
            .collect(),
        Target::Node(_) => Status::fields().map(|f| f.name.to_string()).collect(),
    }
}

/// Whether `name` is a field of the target's payload.
pub fn is_known_field(target: Target, name: &str) -> bool {
    match target {
        Target::System => {
            SystemStatus::FIELDS.iter().any(|f| f.name == name)
                || NodeCounts::state_of(name).is_some()
        }
        Target::Node(_) => Status::fields().any(|f| f.name == name),
    }
}

/// A node status field by wire name.
pub fn node_field(s: &Status, name: &str) -> FieldValue {
    s.field(name).unwrap_or(FieldValue::Missing)
}

/// A system status field by wire name.
pub fn system_field(s: &SystemStatus, name: &str) -> FieldValue {
    s.field(name).unwrap_or(FieldValue::Missing)
}
