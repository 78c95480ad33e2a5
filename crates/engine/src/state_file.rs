//! The engine's state file (docs/live.md, "The state file"): the core's whole
//! state ([`EngineState`], JSON) written through a temporary file renamed into
//! place about once a second, so a reader — the next engine after a crash — finds
//! either the previous state or the new one, never half of one; and read back on
//! start, before the first tick.
//!
//! A state file that cannot be used (unreadable, corrupt, truncated, of another
//! format, another site or another step) is a warning and a fresh start, not a
//! refusal to start: the site must come up. The file is set aside as
//! `<name>.refused` (the previous one replaced), so the next writes do not destroy
//! what an operator may want to look at, and the warning says why and where.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use winter_river_engine_core::{EngineCore, EngineState, Resumed};
use winter_river_sim::Scenario;

use crate::drills::{DrillFiles, read_drill};

/// How often the driver writes the state file \[ms, wall\]: at least once a second.
pub const STATE_PERIOD_MS: u64 = 1_000;

/// Where the state file of `up` lives when `--state` is not given: a data folder
/// in the working directory, beside `debriefs/`.
pub const DEFAULT_STATE_PATH: &str = "winter-river-state/engine.json";

/// The word of `--state` that turns the state file off.
pub const STATE_OFF: &str = "none";

/// The state file at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFile {
    pub path: PathBuf,
}

/// What starting from the state file did.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// No state file yet: a fresh start.
    Fresh,
    /// Resumed.
    Resumed(Resumed),
    /// The file could not be used (why), set aside (where, if it could be): a
    /// fresh start.
    Refused {
        reason: String,
        set_aside: Option<PathBuf>,
    },
}

/// How long the last write took and how big it was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Written {
    pub bytes: usize,
    /// Encoding the state \[s\].
    pub encode: Duration,
    /// Writing and renaming the file \[s\].
    pub write: Duration,
}

impl StateFile {
    /// `--state PATH`, or `None` for [`STATE_OFF`].
    pub fn from_arg(arg: &str) -> Option<StateFile> {
        (arg != STATE_OFF).then(|| StateFile {
            path: PathBuf::from(arg),
        })
    }

    /// Reads the state file: `Ok(None)` when there is none yet.
    pub fn read(&self) -> Result<Option<EngineState>, String> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("it cannot be read: {e}")),
        };
        EngineState::from_json(&text).map(Some)
    }

    /// Writes `core`'s state through a temporary file in the same folder (created
    /// when missing), renamed over the state file.
    pub fn write(&self, core: &EngineCore) -> Result<Written, String> {
        let began = Instant::now();
        let text = core.snapshot().to_json()?;
        let encode = began.elapsed();
        let began = Instant::now();
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create the state folder {}: {e}", dir.display()))?;
        }
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = self
            .path
            .with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, &text)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("cannot write the state file {}: {e}", self.path.display())
            })?;
        Ok(Written {
            bytes: text.len(),
            encode,
            write: began.elapsed(),
        })
    }

    /// Resumes `core` from the state file, if there is one it can use (see the
    /// module docs); a drill in it is read again from `drills`' library or from
    /// its path (`--drill`). Call before the driver's first tick.
    pub fn start(&self, core: &mut EngineCore, drills: &DrillFiles) -> Start {
        let refused = |reason: String| {
            let set_aside = self.set_aside();
            Start::Refused { reason, set_aside }
        };
        match self.read() {
            Ok(None) => Start::Fresh,
            Err(reason) => refused(reason),
            Ok(Some(state)) => match core.resume(state, |file| drill_scenario(drills, file)) {
                Ok(resumed) => Start::Resumed(resumed),
                Err(reason) => refused(reason),
            },
        }
    }

    /// Renames an unusable state file to `<name>.refused`.
    fn set_aside(&self) -> Option<PathBuf> {
        let mut name = self.path.file_name()?.to_os_string();
        name.push(".refused");
        let to = self.path.with_file_name(name);
        std::fs::rename(&self.path, &to).ok().map(|()| to)
    }

    /// [`StateFile::start`], and what it did in one line for the banner (a state
    /// file not used, and what a resume left out, are logged as warnings too).
    pub fn start_and_say(&self, core: &mut EngineCore, drills: &DrillFiles) -> String {
        let path = self.path.display();
        match self.start(core, drills) {
            Start::Fresh => format!("no state file yet at {path}: a fresh start"),
            Start::Resumed(r) => {
                for w in &r.warnings {
                    tracing::warn!("state file {path}: {w}");
                }
                let faults = if r.faulted.is_empty() {
                    "no faults".to_string()
                } else {
                    format!("faults on {}", r.faulted.join(", "))
                };
                let drill = match &r.drill {
                    Some((name, state)) => {
                        let state = format!("{state:?}").to_lowercase();
                        format!(", drill \"{name}\" {state}")
                    }
                    None => String::new(),
                };
                // Printed by the CLI's banner; warnings go to the log as well.
                format!(
                    "resumed from {path} at simulated t={:.1}s ({faults}{drill})",
                    r.sim_time_s
                )
            }
            Start::Refused { reason, set_aside } => {
                let aside = match set_aside {
                    Some(to) => format!("; it is kept as {}", to.display()),
                    None => String::new(),
                };
                let line =
                    format!("the state file {path} is not used ({reason}): a fresh start{aside}");
                tracing::warn!("{line}");
                line
            }
        }
    }
}

/// A drill's scenario by the file it was loaded from: a library file by name, or
/// the path given to `--drill`.
fn drill_scenario(drills: &DrillFiles, file: &str) -> Result<Scenario, String> {
    if let Some(dir) = &drills.library {
        let in_library = dir.join(file);
        if !file.contains(['/', '\\']) && in_library.is_file() {
            return read_drill(&in_library);
        }
    }
    read_drill(Path::new(file))
}
