//! The Winter River engine: [`driver::run`], the short tokio driver around the
//! sans-IO [`EngineCore`] (crate `winter-river-engine-core`, re-exported here so
//! users of the engine need one crate), [`scenario::run`], a scenario file through
//! the core, [`drills`], the files of live drills, and [`state_file`], the state a
//! restarted engine resumes from (docs/architecture.md, docs/drills.md, docs/live.md).

pub mod drills;
pub mod driver;
pub mod state_file;

pub use winter_river_engine_core::{
    BoardLink, Counters, DrillRequest, EngineConfig, EngineCore, EngineState, FinishedDrill,
    NOT_APPLICABLE, Outgoing, Resumed, drill, scenario,
};
