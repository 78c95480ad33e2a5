//! The Winter River wire format — the only copy of it (crate docs: README.md).
#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod availability;
pub mod backoff;
pub mod codec;
pub mod command;
pub mod deadband;
pub mod drill;
pub mod event;
pub mod field;
mod finite;
pub mod id;
pub mod kind;
pub mod kinds;
pub mod link;
pub mod measurements;
pub mod mode;
pub mod schema;
pub mod status;
pub mod system;
pub mod thermal;
pub mod topic;
pub mod topology;

pub use availability::Availability;
pub use backoff::Backoff;
pub use codec::{
    CodecError, MAX_DRILL_STATUS_BYTES, MAX_TOPOLOGY_BYTES, decode_availability, decode_command,
    decode_command_via, decode_drill_command, decode_drill_status, decode_event, decode_status,
    decode_system_status, decode_topology, encode_availability, encode_command, encode_command_via,
    encode_drill_command, encode_drill_status, encode_event, encode_status, encode_system_status,
    encode_topology,
};
pub use command::{
    AppliesTo, COMMANDS, Command, CommandSpec, EPO_OPENS, MAX_LOAD_KW, ParamSpec, ParamType,
    UpdateParams,
};
pub use drill::{
    Channel, DRILL_TIMELINE_KEPT, DrillCommand, DrillEntry, DrillExpect, DrillInject, DrillState,
    DrillStatus, DrillStep, DrillWord, DrillWords, ExpectVerdict, StepState, is_library_file_name,
};
pub use event::{Event, EventKind, Severity};
pub use field::{FieldSpec, FieldType, FieldValue, round_for_display};
pub use id::{IdError, validate_node_id};
pub use kind::{Feeds, KindSpec, NodeKind, NodeState, Role, StateSpec, Tone};
pub use kinds::KINDS;
pub use link::BoardLink;
pub use measurements::Measurements;
pub use mode::{ATS_MODES, Breaker, BreakerSpec, GENERATOR_MODES, Mode, ModeSpec, UPS_MODES};
pub use schema::Schema;
pub use status::Status;
pub use system::{NodeCounts, Source, SystemStatus};
pub use thermal::{AshraeClass, Band, BandSpec, ClassSpec, RECOMMENDED_MAX_C};
pub use topic::{
    Publish, Qos, Topic, TopicError, availability_filter, command_filter, status_filter,
    validate_prefix,
};
pub use topology::{TopologyJson, TopologyNodeJson};

/// Default topic prefix.
pub const DEFAULT_PREFIX: &str = "winter-river";
/// Largest payload accepted from outside \[bytes\] (docs/protocol.md).
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
/// Node id reserved for the engine.
pub const SYSTEM_ID: &str = "system";
