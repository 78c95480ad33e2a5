//! The Winter River engine. [`EngineCore`] is sans-IO: MQTT messages and time go
//! in through `handle_*`, publishes come out of `poll_outgoing` — it never touches
//! a socket or reads the clock, so it is tested with simulated time and no broker.
//! The tokio driver around it lives with the MQTT plumbing.

mod boards;
mod core;
mod counters;
mod deadband;

pub use boards::BoardState;
pub use core::{EngineConfig, EngineCore, Outgoing};
pub use counters::Counters;
