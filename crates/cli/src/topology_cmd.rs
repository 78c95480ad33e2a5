//! `winter-river topology generate|show`.

use std::path::Path;

use anyhow::{Context, Result};
use winter_river_sim::Topology;
use winter_river_sim::topology::generate::{synthetic_site_toml, synthetic_site_with_rooms_toml};

use crate::EXIT_OK;
use crate::live_args::load_topology;
use crate::validate::{topology_summary, write_saying};

/// Prints a synthetic site of `racks` racks (with a room per 100 racks with
/// `rooms`), or writes it to `out` and says what it wrote (as `validate` would
/// summarise it).
pub fn generate(racks: usize, rooms: bool, out: Option<&Path>) -> Result<u8> {
    let text = if rooms {
        synthetic_site_with_rooms_toml(racks)
    } else {
        synthetic_site_toml(racks)
    };
    let Some(path) = out else {
        crate::validate::print_text(&text)?;
        return Ok(EXIT_OK);
    };
    let name = path.display().to_string();
    let site = Topology::from_toml_str(&text, &name)
        .with_context(|| format!("the generated site of {racks} racks does not load"))?;
    write_saying(
        path,
        &text,
        &format!(
            "synthetic 2N site \"{}\", {racks} rack{}: {}",
            site.site_name,
            if racks == 1 { "" } else { "s" },
            topology_summary(&site)
        ),
    )?;
    Ok(EXIT_OK)
}

/// Prints a topology (a file, or the built-in default) as pretty JSON.
pub fn show(file: Option<&Path>) -> Result<u8> {
    let topology = load_topology(file)?;
    let json = serde_json::to_string_pretty(&topology.to_json())
        .context("cannot encode the topology as JSON")?;
    crate::validate::print_text(&format!("{json}\n"))?;
    Ok(EXIT_OK)
}
