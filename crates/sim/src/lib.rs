//! The Winter River power-chain simulator. Pure: no I/O, no clock, no async, no
//! randomness without a seed. Topology files in (docs/topology.md), commands in
//! (docs/protocol.md), per-step node statuses, the system status and events out
//! (docs/physics.md). Each component kind is one module of [`kinds`]
//! (docs/architecture.md).

pub mod field;
pub mod files;
pub mod kinds;
mod layout;
pub mod physics;
pub mod scenario;
pub mod simulator;
pub mod snapshot;
pub mod thermal;
pub mod topology;
pub mod words;

pub use field::{FieldValue, Target};
pub use kinds::KindParams;
pub use scenario::{Scenario, ScenarioError};
pub use simulator::{CommandError, Simulator};
pub use snapshot::{RestoreError, SimState, topology_fingerprint};
pub use topology::{Loc, NodeSpec, Override, Topology, TopologyError};
