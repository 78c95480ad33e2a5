//! `winter-river topology generate|show`.

use std::path::Path;

use anyhow::{Context, Result};
use winter_river_sim::topology::generate::synthetic_site_toml;

use crate::EXIT_OK;
use crate::live_args::load_topology;
use crate::validate::write_or_print;

/// Prints (or writes) a synthetic site of `racks` racks.
pub fn generate(racks: usize, out: Option<&Path>) -> Result<u8> {
    write_or_print(&synthetic_site_toml(racks), out)?;
    Ok(EXIT_OK)
}

/// Prints a topology (a file, or the built-in default) as pretty JSON.
pub fn show(file: Option<&Path>) -> Result<u8> {
    let topology = load_topology(file)?;
    let json = serde_json::to_string_pretty(&topology.to_json())
        .context("cannot encode the topology as JSON")?;
    println!("{json}");
    Ok(EXIT_OK)
}
