//! Reading topology and scenario files from disk, with the size limit of
//! docs/topology.md ("Size"). Parsing stays pure (`Topology::from_toml_str`,
//! `Scenario::from_toml_str` take text); this is the one place that reads the text,
//! for the CLI and the engine alike.

use std::path::Path;

use crate::topology::MAX_FILE_BYTES;

/// A topology or scenario file's text; a file over [`MAX_FILE_BYTES`] is refused
/// before it is read. The error names the file and the reason.
pub fn read_text(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {shown}: {e}"))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(format!(
            "{shown} is {:.1} MB: a topology or scenario file may be at most {} MiB (a generated 100,000-node site is about 10 MB); refused before parsing",
            len as f64 / 1e6,
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))
}

/// What a scenario's topology loader gives the parser: the text, or the reason
/// without the file's name (the scenario's error names it already).
pub fn read_topology_for_scenario(path: &Path) -> Result<String, String> {
    read_text(path).map_err(|e| {
        e.strip_prefix(&format!("cannot read {}: ", path.display()))
            .map_or_else(|| e.clone(), str::to_string)
    })
}
