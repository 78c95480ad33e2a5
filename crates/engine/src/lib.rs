//! The Winter River engine: [`driver::run`], the short tokio driver around the
//! sans-IO [`EngineCore`] (crate `winter-river-engine-core`, re-exported here so
//! users of the engine need one crate), and [`scenario::run`], a scenario file
//! through the core (docs/architecture.md).

pub mod driver;

pub use winter_river_engine_core::{
    BoardLink, Counters, EngineConfig, EngineCore, NOT_APPLICABLE, Outgoing, scenario,
};
