//! The Winter River engine core. [`EngineCore`] is sans-IO: MQTT messages and time
//! go in through `handle_*`, publishes come out of `poll_outgoing` — it never
//! touches a socket or reads the clock (this crate depends on no async runtime and
//! no MQTT client, so that is a compile-time fact), and it is tested with simulated
//! time and no broker. [`scenario::run`] runs a scenario file through it. The tokio
//! driver is the `winter-river-engine` crate (docs/architecture.md).

mod changes;
mod core;
pub mod scenario;

pub use core::{
    DrillRequest, ENGINE_STATE_FORMAT, EngineConfig, EngineCore, EngineState, FinishedDrill,
    Outgoing, Resumed,
};
pub use winter_river_drill as drill;
pub use winter_river_protocol::BoardLink;
pub use winter_river_telemetry::{Counters, NOT_APPLICABLE};
