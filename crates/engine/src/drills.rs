//! The files of live drills (docs/drills.md): the library folder the instructor
//! loads from, drill files read from disk, and the debriefs written atomically
//! into the debrief folder. The engine core asks for these; this module is the I/O.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use winter_river_engine_core::drill::debrief_file_stem;
use winter_river_engine_core::{DrillRequest, EngineCore, FinishedDrill};
use winter_river_sim::Scenario;

/// Where the engine's drills and debriefs live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillFiles {
    /// The library the instructor can `load` from (`--drills`); `None`: none.
    pub library: Option<PathBuf>,
    /// Where debriefs are written (`--debrief-dir`), created when missing.
    pub debrief_dir: PathBuf,
}

/// The debrief folder when none is given.
pub const DEFAULT_DEBRIEF_DIR: &str = "debriefs";

impl Default for DrillFiles {
    fn default() -> Self {
        DrillFiles {
            library: None,
            debrief_dir: PathBuf::from(DEFAULT_DEBRIEF_DIR),
        }
    }
}

/// Reads a drill file (a scenario; its `topology` is read relative to it).
pub fn read_drill(path: &Path) -> Result<Scenario, String> {
    let text = winter_river_sim::files::read_text(path)?;
    Scenario::from_toml_str(
        &text,
        &path.display().to_string(),
        winter_river_sim::files::read_topology_for_scenario,
    )
    .map_err(|e| e.to_string())
}

/// The drill files of a library folder (`*.toml`), sorted by name; an unreadable
/// folder lists none (and says why).
pub fn list_library(dir: &Path) -> Result<Vec<String>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| winter_river_protocol::is_library_file_name(n))
        .collect();
    names.sort();
    Ok(names)
}

impl DrillFiles {
    /// The library's files, told to the core (empty without a library).
    pub fn refresh_library(&self, core: &mut EngineCore) {
        let files = match &self.library {
            None => Vec::new(),
            Some(dir) => list_library(dir).unwrap_or_else(|e| {
                tracing::warn!("drill library: {e}");
                Vec::new()
            }),
        };
        core.set_drill_library(files);
    }

    /// Does what the core asked: reads a library file and loads it, or says why not.
    pub fn serve(&self, core: &mut EngineCore, request: DrillRequest) {
        match request {
            DrillRequest::Load { file } => {
                self.refresh_library(core);
                let Some(dir) = &self.library else {
                    return core.drill_load_failed(
                        &file,
                        "this engine has no drill library (start it with --drills DIR)",
                    );
                };
                let known = list_library(dir).unwrap_or_default();
                if !known.contains(&file) {
                    let has = if known.is_empty() {
                        "it has none".to_string()
                    } else {
                        format!("it has {}", known.join(", "))
                    };
                    return core.drill_load_failed(
                        &file,
                        &format!("no such drill in the library {} ({has})", dir.display()),
                    );
                }
                match read_drill(&dir.join(&file)) {
                    Ok(scenario) => {
                        let _ = core.load_drill(scenario, &file);
                    }
                    Err(e) => core.drill_load_failed(&file, &e),
                }
            }
        }
    }

    /// Writes a finished drill's debrief and tells the core how it went.
    pub fn write(&self, core: &mut EngineCore, done: &FinishedDrill) {
        let result = write_debrief(&self.debrief_dir, done, SystemTime::now());
        match &result {
            Ok(stem) => tracing::info!(
                "debrief written: {}",
                self.debrief_dir.join(format!("{stem}.html")).display()
            ),
            Err(e) => tracing::error!("{e}"),
        }
        core.debrief_written(result.map(|_| ()));
    }
}

/// Writes `<stem>.json`, `<stem>.html`, `latest.json` and `latest.html` into `dir`
/// (created when missing), each through a temporary file renamed into place, so a
/// reader never sees half a file. Returns the stem (`<drill>-<UTC time>`).
pub fn write_debrief(dir: &Path, done: &FinishedDrill, now: SystemTime) -> Result<String, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the debrief folder {}: {e}", dir.display()))?;
    let unix_s = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let stem = debrief_file_stem(&done.file, unix_s);
    for (name, text) in [
        (format!("{stem}.json"), &done.json),
        (format!("{stem}.html"), &done.html),
        ("latest.json".to_string(), &done.json),
        ("latest.html".to_string(), &done.html),
    ] {
        write_atomically(&dir.join(&name), text)?;
    }
    Ok(stem)
}

fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write {}: {e}", path.display())
        })
}
