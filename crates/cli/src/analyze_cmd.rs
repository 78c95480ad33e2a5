//! `winter-river analyze [--topology F]`: contingencies by simulation (N-1, generators
//! failing to start, N-2 with `--depth 2`), redundancy per stage, concurrent
//! maintainability and, with `--availability`, availability by Monte Carlo; as text,
//! Markdown, JSON or HTML.

use std::path::PathBuf;

use anyhow::{Context, Result};
use winter_river_analysis::report::{AnalyzeParams, AnalyzeReport, Format};
use winter_river_analysis::{
    AvailabilityConfig, ContingencyConfig, RunConfig, availability, contingency,
};

use crate::EXIT_OK;
use crate::validate::topology_text;

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Topology file (docs/topology.md, with optional reliability keys: docs/analysis.md); the
    /// built-in default when omitted.
    #[arg(long, value_name = "F")]
    pub topology: Option<PathBuf>,
    /// 1 = N-1; 2 = N-1 and pairs of components (N-2, pruned).
    #[arg(long, default_value_t = 1, value_parser = crate::numbers::whole::<u8, 1, 2>, allow_negative_numbers = true)]
    pub depth: u8,
    /// Also estimate availability by Monte Carlo.
    #[arg(long)]
    pub availability: bool,
    /// Simulated years for --availability.
    #[arg(long, default_value_t = 1000, value_parser = crate::numbers::whole::<u64, 1, { u64::MAX }>, allow_negative_numbers = true)]
    pub years: u64,
    /// Random seed for --availability (same seed, same numbers).
    #[arg(long, default_value_t = 1, value_parser = crate::numbers::whole::<u64, 0, { u64::MAX }>, allow_negative_numbers = true)]
    pub seed: u64,
    /// Only the Monte Carlo (with --availability): skip the contingency analysis.
    #[arg(long)]
    pub availability_only: bool,
    /// Report format (no CSV: an analysis is several tables; `sweep` writes CSV).
    #[arg(long, default_value = "text", value_parser = ["text", "markdown", "json", "html"])]
    pub format: String,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "F")]
    pub out: Option<PathBuf>,
    /// Simulator step for the analysis runs [ms].
    #[arg(long, default_value_t = 1000, value_parser = crate::numbers::whole::<u32, 1, { u32::MAX as u64 }>, allow_negative_numbers = true)]
    pub step_ms: u32,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long, value_parser = crate::numbers::whole::<u64, 1, { u64::MAX }>, allow_negative_numbers = true)]
    pub threads: Option<u64>,
}

/// `--threads`, or every core when omitted.
pub fn threads(arg: Option<u64>) -> usize {
    arg.map_or_else(winter_river_analysis::default_threads, |t| {
        usize::try_from(t).unwrap_or(1)
    })
}

pub fn run(args: &AnalyzeArgs) -> Result<u8> {
    let (text, name) = topology_text(args.topology.as_deref())?;
    let site = winter_river_analysis::load_site(&text, &name, &[])?;
    let threads = threads(args.threads);
    let run = RunConfig {
        step_ms: args.step_ms,
        ..RunConfig::default()
    };
    let contingencies = (!(args.availability && args.availability_only)).then(|| {
        contingency::analyze(
            &site.topology,
            &ContingencyConfig {
                run,
                depth: args.depth,
                threads,
            },
        )
    });
    let avail = args.availability.then(|| {
        let defaults = AvailabilityConfig::default();
        availability::simulate(
            &site,
            &AvailabilityConfig {
                years: args.years,
                seed: args.seed,
                threads,
                run: RunConfig {
                    step_ms: args.step_ms,
                    ..defaults.run
                },
            },
        )
    });
    let params = AnalyzeParams {
        depth: if contingencies.is_some() {
            args.depth
        } else {
            0
        },
        step_ms: args.step_ms,
        years: args.availability.then_some(args.years),
        seed: args.availability.then_some(args.seed),
    };
    let report = AnalyzeReport::new(&site, &name, params, contingencies, avail);
    let format = Format::parse(&args.format)
        .with_context(|| format!("--format {}: unknown format", args.format))?;
    let out = report.render(format)?;
    crate::validate::write_or_print(
        &out,
        args.out.as_deref(),
        &format!(
            "reliability analysis of \"{}\" ({})",
            report.site,
            format.as_str()
        ),
    )?;
    Ok(EXIT_OK)
}
