//! `winter-river topology generate|show`.

use std::path::Path;

use anyhow::{Context, Result};
use winter_river_sim::Topology;
use winter_river_sim::topology::generate::synthetic_site_toml;

use crate::EXIT_OK;

/// Prints (or writes) a synthetic site of `racks` racks.
pub fn generate(racks: usize, out: Option<&Path>) -> Result<u8> {
    let text = synthetic_site_toml(racks);
    match out {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}

/// Prints a topology (a file, or the built-in default) as pretty JSON.
pub fn show(file: Option<&Path>) -> Result<u8> {
    let topology = match file {
        None => Topology::builtin_default(),
        Some(path) => {
            let text = crate::validate::read(path)?;
            Topology::from_toml_str(&text, &path.display().to_string())?
        }
    };
    let json = serde_json::to_string_pretty(&topology.to_json())
        .context("cannot encode the topology as JSON")?;
    println!("{json}");
    Ok(EXIT_OK)
}
