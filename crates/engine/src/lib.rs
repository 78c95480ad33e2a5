//! The Winter River engine: [`driver::run`], the short tokio driver around the
//! sans-IO [`EngineCore`] (crate `winter-river-engine-core`, re-exported here so
//! users of the engine need one crate), [`scenario::run`], a scenario file through
//! the core, and [`drills`], the files of live drills (docs/architecture.md,
//! docs/drills.md).

pub mod drills;
pub mod driver;

pub use winter_river_engine_core::{
    BoardLink, Counters, DrillRequest, EngineConfig, EngineCore, FinishedDrill, NOT_APPLICABLE,
    Outgoing, drill, scenario,
};
