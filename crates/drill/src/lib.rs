//! Live drills (docs/drills.md), pure: no I/O, no clock. A [`Drill`] is one session
//! of a scenario file run live: its `[[event]]`s are the instructor's injects, its
//! `[[step]]`s the checklist that operators' commands tick, its `[[expect]]`s the
//! evaluation on the drill clock. At the end it gives a [`Debrief`] (serde JSON),
//! which [`debrief_html`] renders as one self-contained page, with the [`Score`]
//! and its rule written out.
//!
//! Call order for the engine: [`Drill::new`] on load; [`Drill::start`] with the
//! simulated time of the fresh site's first step; before each step
//! [`Drill::due_injects`] (sent through the engine's command path with
//! [`Channel::Inject`](winter_river_protocol::Channel)); [`Drill::on_command`] for
//! every command the engine accepted; [`Drill::after_step`] after each step, which
//! says when the duration is reached; [`Drill::finish`] at the end. The drill clock
//! is simulated seconds since the start; every `clock_s` below is on it.

mod debrief;
mod html;
mod score;
mod session;
mod site;

pub use debrief::{
    DEBRIEF_PAGE_PATH, Debrief, DebriefExpect, DebriefStep, EndedBy, LowestBattery,
    NO_THERMAL_MODEL, debrief_file_stem,
};
pub use html::debrief_html;
pub use score::{SCORE_RULE, Score, ScorePart, StepCredit, score};
pub use session::{Drill, DrillProgress, what};
pub use site::site_mismatch;
