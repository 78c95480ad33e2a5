//! The Winter River power-chain simulator. Pure: no I/O, no clock, no async, no
//! randomness without a seed. Topology files in (DESIGN §4), commands in (DESIGN §2),
//! per-step node statuses, the system status and events out (DESIGN §5).

pub mod field;
mod layout;
pub mod physics;
pub mod scenario;
pub mod simulator;
pub mod topology;

pub use field::{FieldValue, Target};
pub use scenario::{Scenario, ScenarioError};
pub use simulator::{CommandError, Simulator};
pub use topology::{KindParams, Loc, NodeSpec, Override, Topology, TopologyError};
