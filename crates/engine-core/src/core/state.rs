//! The engine's whole state as data (docs/live.md, "The state file"): the
//! simulator's state, a drill's progress and where its debrief is. The driver
//! writes it to the state file; a restarted engine resumes from it before its
//! first tick, at the saved simulated time.
//!
//! Not kept: the message counters (they count this process's traffic, as a
//! Prometheus counter does, and start at 0 with it) and the boards' links (each
//! board is heard again: its status or availability).

use serde::{Deserialize, Serialize};
use winter_river_drill::DrillProgress;
use winter_river_sim::{SimState, topology_fingerprint};

use super::*;

/// The version of [`EngineState`]'s layout; a state file of another version is
/// refused (a fresh start, with the reason).
pub const ENGINE_STATE_FORMAT: u32 = 1;

/// The engine's whole state (see the module docs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineState {
    /// [`ENGINE_STATE_FORMAT`] when written.
    pub format: u32,
    pub sim: SimState,
    /// The drill loaded, if any: its progress (the scenario is read again).
    pub drill: Option<DrillProgress>,
    /// The web's path of the last debrief page written.
    pub debrief: Option<String>,
}

impl EngineState {
    /// The state file's text: JSON.
    pub fn to_json(&self) -> Result<String, String> {
        serde_json::to_string(self).map_err(|e| format!("cannot encode the engine state: {e}"))
    }

    /// Reads a state file's text. A text that is not a whole state (corrupt,
    /// truncated, of another format) is refused with where and why.
    pub fn from_json(text: &str) -> Result<EngineState, String> {
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        match serde_json::from_str::<Format>(text) {
            Ok(f) if f.format != ENGINE_STATE_FORMAT => {
                return Err(format!(
                    "it is format {} and this engine reads format {ENGINE_STATE_FORMAT}",
                    f.format
                ));
            }
            _ => {}
        }
        serde_json::from_str(text).map_err(|e| {
            let what = if e.is_eof() {
                "it is truncated"
            } else {
                "it is not a valid state"
            };
            format!("{what} (line {}, column {}: {e})", e.line(), e.column())
        })
    }
}

/// What a resume brought back, for the driver to tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Resumed {
    /// The simulated time resumed at \[s\].
    pub sim_time_s: f64,
    /// Faulted nodes, by id.
    pub faulted: Vec<String>,
    /// The drill resumed (its name and state), if any.
    pub drill: Option<(String, DrillState)>,
    /// What could not be brought back and why (the rest was).
    pub warnings: Vec<String>,
}

impl EngineCore {
    /// The engine's whole state, to resume from with [`EngineCore::resume`].
    pub fn snapshot(&self) -> EngineState {
        EngineState {
            format: ENGINE_STATE_FORMAT,
            sim: self.sim.snapshot_with(self.sim_fingerprint()),
            drill: self.drill.session.as_ref().map(Drill::progress),
            debrief: self.drill.debrief.clone(),
        }
    }

    /// The running site's topology fingerprint (computed when the site is put in
    /// place, not at every snapshot).
    fn sim_fingerprint(&self) -> String {
        self.site_fingerprint.clone()
    }

    /// Resumes from `state` before the first tick: the site at the saved simulated
    /// time (time runs on from there), its faults, loads, modes, breakers, timers,
    /// batteries, fuel and unserved energy, and the drill's progress. `drill_file`
    /// reads a drill's scenario again by the file it was loaded from (a drill that
    /// cannot be read, or is not the same drill, is dropped with a warning; the site
    /// is resumed all the same).
    ///
    /// Refused, changing nothing, when the state belongs to another site (neither
    /// this engine's topology nor its drill's), or was saved with another step.
    pub fn resume(
        &mut self,
        state: EngineState,
        drill_file: impl FnOnce(&str) -> Result<Scenario, String>,
    ) -> Result<Resumed, String> {
        let mut warnings = Vec::new();
        if state.sim.step_ms != self.config.step_ms.max(1) {
            return Err(format!(
                "it was saved with a {} ms step and this engine steps {} ms (--step-ms)",
                state.sim.step_ms, self.config.step_ms
            ));
        }
        let drill = match state.drill {
            None => None,
            Some(progress) => {
                let file = progress.file().to_string();
                match drill_file(&file).and_then(|scenario| Drill::restore(scenario, progress)) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        warnings.push(format!("the drill of {file} is not resumed: {e}"));
                        None
                    }
                }
            }
        };
        let own = self.sim_fingerprint();
        let drill_site = drill.as_ref().filter(|d| {
            // A drill that started reset the site to its own topology (overrides).
            state.sim.topology_fingerprint != own
                && d.state() != DrillState::Loaded
                && topology_fingerprint(&d.scenario().topology) == state.sim.topology_fingerprint
        });
        match drill_site {
            Some(d) => {
                let sim = Simulator::restore(d.scenario().topology.clone(), state.sim)
                    .map_err(|e| e.to_string())?;
                self.replace_site(sim);
            }
            None => {
                self.sim =
                    Simulator::restore_with(self.sim.topology().clone(), state.sim, Some(&own))
                        .map_err(|e| e.to_string())?;
            }
        }
        self.sim_origin_s = self.sim.time_s();
        self.last_update.iter_mut().for_each(|u| *u = None);
        self.last_system = None;
        let resumed_drill = drill
            .as_ref()
            .map(|d| (d.scenario().name.clone(), d.state()));
        if let Some(d) = drill {
            self.drill.session = Some(d);
            self.drill.debrief = state.debrief;
        }
        self.drill.dirty = true;
        let topology = self.sim.topology();
        let faulted = (0..topology.len())
            .filter(|&i| self.sim.node_state(i) == NodeState::Fault)
            .map(|i| topology.node(i).id.clone())
            .collect();
        Ok(Resumed {
            sim_time_s: self.sim.time_s(),
            faulted,
            drill: resumed_drill,
            warnings,
        })
    }
}
