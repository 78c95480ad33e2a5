//! The Winter River wire format — the only copy of it (crate docs: README.md).
#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod availability;
pub mod codec;
pub mod command;
pub mod event;
mod finite;
pub mod id;
pub mod kind;
pub mod status;
pub mod system;
pub mod topic;
pub mod topology;

pub use availability::Availability;
pub use codec::{
    CodecError, MAX_TOPOLOGY_BYTES, decode_availability, decode_command, decode_event,
    decode_status, decode_system_status, decode_topology, encode_availability, encode_command,
    encode_event, encode_status, encode_system_status, encode_topology,
};
pub use command::{Command, UpdateParams};
pub use event::{Event, Severity};
pub use id::{IdError, validate_node_id};
pub use kind::{NodeKind, NodeState};
pub use status::Status;
pub use system::SystemStatus;
pub use topic::{
    Publish, Qos, Topic, TopicError, availability_filter, command_filter, status_filter,
    validate_prefix,
};
pub use topology::{TopologyJson, TopologyNodeJson};

/// Default topic prefix.
pub const DEFAULT_PREFIX: &str = "winter-river";
/// Largest payload accepted from outside \[bytes\] (DESIGN §2).
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
/// Node id reserved for the engine.
pub const SYSTEM_ID: &str = "system";
