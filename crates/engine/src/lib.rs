//! The Winter River engine. [`EngineCore`] is sans-IO: MQTT messages and time go
//! in through `handle_*`, publishes come out of `poll_outgoing` — it never touches
//! a socket or reads the clock, so it is tested with simulated time and no broker.
//! [`driver::run`] is the short tokio driver around it; [`scenario::run`] runs a
//! scenario file through it.

mod boards;
mod core;
mod counters;
mod deadband;
pub mod driver;
pub mod scenario;

pub use boards::BoardState;
pub use core::{EngineConfig, EngineCore, Outgoing};
pub use counters::Counters;
