//! `winter-river sweep SCENARIO --set NODE.KEY=V1,V2,… [--set …]`: runs the scenario
//! for every combination of values and tabulates the chosen outputs as text,
//! Markdown, CSV, JSON or HTML.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use winter_river_analysis::report::{Format, SweepReport};
use winter_river_analysis::sweep::{self, COLUMNS};

use crate::EXIT_OK;
use crate::validate::{load_scenario, topology_text};

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The scenario file (TOML, docs/scenarios.md).
    pub scenario: PathBuf,
    /// A parameter and its values, e.g. `ups_a.battery_kwh=0,50,100` or
    /// `crah_1.feeds=["ups_a","ups_b"],["dist_a","dist_b"]`; repeat for a grid (the
    /// first --set varies slowest).
    #[arg(long = "set", value_name = "NODE.KEY=V1,V2,…", required = true)]
    pub set: Vec<String>,
    /// Output columns: passed, failed, it_kwh_unserved, first_it_loss_s, ride_through_s,
    /// peak_it_kw_lost, final_it_kw_lost, final_source, peak_inlet_c,
    /// first_thermal_shutdown_s, thermal_shutdowns.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "passed,failed,it_kwh_unserved,first_it_loss_s,ride_through_s,peak_it_kw_lost"
    )]
    pub columns: Vec<String>,
    /// Report format.
    #[arg(long, default_value = "text", value_parser = ["text", "markdown", "csv", "json", "html"])]
    pub format: String,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "F")]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long, value_parser = crate::numbers::whole::<u64, 1, { u64::MAX }>, allow_negative_numbers = true)]
    pub threads: Option<u64>,
}

pub fn run(args: &SweepArgs) -> Result<u8> {
    for c in &args.columns {
        if !COLUMNS.contains(&c.as_str()) {
            anyhow::bail!(
                "--columns: unknown column `{c}` (known: {})",
                COLUMNS.join(", ")
            );
        }
    }
    let sets = args
        .set
        .iter()
        .map(|s| sweep::parse_set(s))
        .collect::<Result<Vec<_>, _>>()?;
    let scenario = load_scenario(&args.scenario)?;
    let (text, name) = topology_text(scenario.topology_file.as_deref().map(Path::new))?;
    let threads = crate::analyze_cmd::threads(args.threads);
    let result = sweep::sweep(&scenario, &text, &name, &sets, threads)?;
    let report = SweepReport::new(&scenario, &args.set, &args.columns, result);
    let format = Format::parse(&args.format)
        .with_context(|| format!("--format {}: unknown format", args.format))?;
    let out = report.render(format)?;
    crate::validate::write_or_print(
        &out,
        args.out.as_deref(),
        &format!(
            "sweep of \"{}\", {} combinations ({})",
            report.sweep.scenario,
            report.sweep.rows.len(),
            format.as_str()
        ),
    )?;
    Ok(EXIT_OK)
}
