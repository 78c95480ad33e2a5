//! `winter-river validate FILE`: checks a topology or a scenario, told apart by
//! content, and prints a one-line summary.

use std::path::Path;

use anyhow::{Context, Result};
use winter_river_protocol::NodeKind;
use winter_river_sim::topology::DEFAULT_TOPOLOGY_TOML;
use winter_river_sim::{Scenario, Topology};

use crate::EXIT_OK;

/// What a file holds, judged by its top-level keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Topology,
    Scenario,
}

/// A scenario has `duration_s`, `[[event]]` or `[[expect]]`; a topology `[[node]]`.
/// `None` when the text is not TOML or has neither.
pub fn classify(text: &str) -> Option<FileKind> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let scenario_keys = ["duration_s", "event", "expect"];
    if scenario_keys.iter().any(|k| table.contains_key(*k)) {
        Some(FileKind::Scenario)
    } else if table.contains_key("node") {
        Some(FileKind::Topology)
    } else {
        None
    }
}

/// Reads a topology or scenario file as text, naming it on failure; a file over
/// the size limit is refused before it is read (`winter_river_sim::files`).
pub fn read(path: &Path) -> Result<String> {
    winter_river_sim::files::read_text(path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A topology's text and the name to report it by: the file, or the built-in default
/// when there is none.
pub fn topology_text(path: Option<&Path>) -> Result<(String, String)> {
    match path {
        Some(p) => Ok((read(p)?, p.display().to_string())),
        None => Ok((
            DEFAULT_TOPOLOGY_TOML.to_string(),
            "<built-in default>".to_string(),
        )),
    }
}

/// Writes a file, naming it on failure.
pub fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a file and says so on standard error: `wrote PATH: WHAT`.
pub fn write_saying(path: &Path, text: &str, what: &str) -> Result<()> {
    write(path, text)?;
    eprintln!("wrote {}: {what}", path.display());
    Ok(())
}

/// Prints `text` on stdout. A reader that went away (`… | head`) is not an error:
/// the rest is simply not wanted (Rust ignores SIGPIPE, so `print!` would panic).
pub fn print_text(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to stdout"))
        }
        _ => Ok(()),
    }
}

/// Writes a report to `out` (saying so, with `what` it is), or prints it when there
/// is none.
pub fn write_or_print(text: &str, out: Option<&Path>, what: &str) -> Result<()> {
    match out {
        Some(path) => write_saying(path, text, what),
        None => print_text(text),
    }
}

/// Loads a scenario from disk: its topology path is read relative to it.
pub fn load_scenario(path: &Path) -> Result<Scenario> {
    let text = read(path)?;
    let scenario = Scenario::from_toml_str(
        &text,
        &path.display().to_string(),
        winter_river_sim::files::read_topology_for_scenario,
    )?;
    Ok(scenario)
}

pub fn validate(path: &Path) -> Result<u8> {
    let text = read(path)?;
    let name = path.display().to_string();
    match classify(&text) {
        Some(FileKind::Scenario) => {
            let s = load_scenario(path)?;
            println!(
                "{name}: valid scenario \"{}\": {}",
                s.name,
                scenario_summary(&s)
            );
        }
        Some(FileKind::Topology) => {
            let t = Topology::from_toml_str(&text, &name)?;
            // The `[reliability.<kind>]` tables only `analyze` reads: checked here too, so
            // a typo there is found before an analysis.
            winter_river_analysis::reliability::load_site(&text, &name, &[])?;
            println!(
                "{name}: valid topology \"{}\": {}",
                t.site_name,
                topology_summary(&t)
            );
        }
        None => {
            // Not TOML: let the topology parser name the line. TOML without the
            // telltale keys: say what was looked for.
            if toml::from_str::<toml::Table>(&text).is_err() {
                Topology::from_toml_str(&text, &name)?;
            }
            anyhow::bail!(
                "{name}: neither a topology (no [[node]]) nor a scenario (no duration_s, [[event]] or [[expect]])"
            );
        }
    }
    Ok(EXIT_OK)
}

/// `8 nodes (1 utility, 1 generator, …)`.
pub fn topology_summary(t: &Topology) -> String {
    let counts: Vec<String> = NodeKind::ALL
        .iter()
        .filter_map(|&k| {
            let n = t.nodes.iter().filter(|n| n.kind() == k).count();
            (n > 0).then(|| format!("{n} {k}"))
        })
        .collect();
    format!("{} nodes ({})", t.len(), counts.join(", "))
}

/// `900 s at 100 ms steps on topologies/default.toml (8 nodes), 2 events, 6
/// expectations` (and `, 5 procedure steps` when it has a procedure).
pub fn scenario_summary(s: &Scenario) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let steps = match s.steps.len() {
        0 => String::new(),
        n => format!(", {n} procedure step{}", plural(n)),
    };
    format!(
        "{} s at {} ms steps on {} ({} nodes), {} event{}, {} expectation{}{steps}",
        s.duration_s,
        s.step_ms,
        s.topology_file
            .as_deref()
            .unwrap_or("the built-in default topology"),
        s.topology.len(),
        s.events.len(),
        plural(s.events.len()),
        s.expects.len(),
        plural(s.expects.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_before_it_is_read() {
        let dir = std::env::temp_dir().join(format!("wr-validate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let big = dir.join("big.toml");
        // A sparse 50 MB file: its size is known without writing it.
        let f = std::fs::File::create(&big).expect("create");
        f.set_len(50_000_000).expect("set_len");
        let started = std::time::Instant::now();
        let e = read(&big).expect_err("refused").to_string();
        assert!(e.contains("big.toml is 50.0 MB"), "{e}");
        assert!(e.contains("at most 32 MiB"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // At the limit it is read (and then parsed as usual).
        let ok = dir.join("ok.toml");
        std::fs::write(&ok, "[site]\nname = \"x\"\n").expect("write");
        assert!(read(&ok).is_ok());
        // A scenario whose topology is too big names the scenario's line and key.
        let scenario = dir.join("s.toml");
        std::fs::write(&scenario, "duration_s = 10\ntopology = \"big.toml\"\n").expect("write");
        let e = format!("{:#}", load_scenario(&scenario).expect_err("refused"));
        assert!(e.contains("s.toml:2: `topology`: cannot read"), "{e}");
        assert!(e.contains("is 50.0 MB"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
