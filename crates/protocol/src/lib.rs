//! The Winter River wire format — the only copy of it. Topics, node ids, the
//! Status / Command / SystemStatus / Event payloads, the topology-as-JSON form, and
//! the JSON codec with the validation rules of DESIGN §2.
//!
//! `no_std` + `alloc`; the `std` feature (default) is for host builds.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod command;
pub mod event;
pub mod id;
pub mod kind;
pub mod status;
pub mod system;
pub mod topology;

pub use command::{Command, UpdateParams};
pub use event::{Event, Severity};
pub use id::{IdError, validate_node_id};
pub use kind::{NodeKind, NodeState};
pub use status::Status;
pub use system::SystemStatus;
pub use topology::{TopologyJson, TopologyNodeJson};

/// Default topic prefix.
pub const DEFAULT_PREFIX: &str = "winter-river";
/// Largest payload accepted from outside [bytes] (DESIGN §2).
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
/// Node id reserved for the engine.
pub const SYSTEM_ID: &str = "system";
