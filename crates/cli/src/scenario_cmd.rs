//! `winter-river scenario run FILE`: runs a scenario through the engine core (the
//! path live commands take), prints the event timeline, the procedure's steps and
//! its exposure, and each expectation's verdict, writes `--json`, `--csv` and
//! `--plot` on request. `winter-river mop check FILE` (`scenario run --check-only`)
//! plays only the procedure and reports its steps and exposure.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use winter_river_analysis::procedure::{self, ExposureConfig};
use winter_river_engine::scenario as engine_scenario;
use winter_river_sim::scenario::{DEFAULT_SAMPLE_EVERY_S, RunOptions};

use crate::report::{self, Outcome};
use crate::validate::{load_scenario, write_saying};
use crate::{EXIT_FAILED, EXIT_OK, plot};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario file (TOML, docs/scenarios.md).
    pub file: PathBuf,
    /// Write the verdicts, events and summary as JSON to this file.
    #[arg(long, value_name = "F")]
    pub json: Option<PathBuf>,
    /// Write the sampled series as CSV to this file (one row per sample).
    #[arg(long, value_name = "F")]
    pub csv: Option<PathBuf>,
    /// Write an SVG plot of the chosen series with event markers to this file.
    #[arg(long, value_name = "F.svg")]
    pub plot: Option<PathBuf>,
    /// Series to plot, comma-separated: system fields (`it_kw`, `facility_kw`, `pue`,
    /// `it_kw_lost`, `it_kwh_unserved`, `runtime_s`, `fuel_pct`) or `<node>.power_kw`,
    /// `<node>.battery_pct`. Default: IT, facility and lost kW, UPS battery and fuel %.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub series: Vec<String>,
    /// Sampling interval for --csv and --plot [s of simulated time].
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SAMPLE_EVERY_S, value_parser = crate::numbers::seconds, allow_negative_numbers = true)]
    pub sample_s: f64,
    /// Print only the steps, exposure, verdicts and summary, not the event timeline.
    #[arg(long, short)]
    pub quiet: bool,
    /// Play only the procedure (`[[step]]`): stop when its last step is done or one
    /// fails, check no expectation; report the steps and the exposure (`mop check`).
    #[arg(long)]
    pub check_only: bool,
    /// Do not compute the procedure's exposure (a simulation per component and
    /// interval between steps).
    #[arg(long)]
    pub no_exposure: bool,
}

/// `winter-river mop check FILE`.
#[derive(Debug, clap::Args)]
pub struct MopCheckArgs {
    /// A scenario file with a procedure (`[[step]]`, docs/scenarios.md).
    pub file: PathBuf,
    /// Write the steps, exposure, events and summary as JSON to this file.
    #[arg(long, value_name = "F")]
    pub json: Option<PathBuf>,
    /// Print only the steps, exposure and summary, not the event timeline.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `mop check FILE`: `scenario run FILE --check-only`.
pub fn mop_check(args: &MopCheckArgs) -> Result<u8> {
    run(&RunArgs {
        file: args.file.clone(),
        json: args.json.clone(),
        csv: None,
        plot: None,
        series: Vec::new(),
        sample_s: DEFAULT_SAMPLE_EVERY_S,
        quiet: args.quiet,
        check_only: true,
        no_exposure: false,
    })
}

pub fn run(args: &RunArgs) -> Result<u8> {
    if !(args.sample_s.is_finite() && args.sample_s > 0.0) {
        anyhow::bail!(
            "--sample-s {}: must be a number of seconds > 0",
            args.sample_s
        );
    }
    let scenario = load_scenario(&args.file)?;
    if args.check_only && scenario.steps.is_empty() {
        anyhow::bail!(
            "{}: no [[step]]: a check plays a procedure, and this scenario has none (docs/scenarios.md, \"Procedures\")",
            args.file.display()
        );
    }
    let record = args.csv.is_some() || args.plot.is_some();
    let exposure = !scenario.steps.is_empty() && !args.no_exposure;
    let options = RunOptions {
        sample_every_s: record.then_some(args.sample_s),
        snapshots: exposure,
        check_only: args.check_only,
    };
    // Check the plot's series before spending time on the run.
    if args.plot.is_some() {
        plot::check_series(&scenario, &args.series)?;
    }

    let started = Instant::now();
    let report = engine_scenario::run(&scenario, &options)?;
    let wall_s = started.elapsed().as_secs_f64();
    let exposure = exposure.then(|| {
        let started = Instant::now();
        let e = procedure::exposure(
            &report.snapshots,
            scenario.steps.len(),
            &ExposureConfig::default(),
        );
        (e, started.elapsed().as_secs_f64())
    });
    let outcome = Outcome {
        scenario: &scenario,
        report: &report,
        wall_s,
        exposure: exposure.as_ref().map(|(e, w)| (e, *w)),
    };

    crate::validate::print_text(&report::text(&outcome, !args.quiet))?;

    if let Some(path) = &args.json {
        let json = report::json(&outcome);
        let text =
            serde_json::to_string_pretty(&json).context("cannot encode the report as JSON")?;
        write_saying(
            path,
            &(text + "\n"),
            &if scenario.steps.is_empty() {
                format!(
                    "verdicts of {} expectations, {} events and the summary (JSON)",
                    report.verdicts.len(),
                    report.events.len()
                )
            } else {
                format!(
                    "{} steps, {}verdicts of {} expectations, {} events and the summary (JSON)",
                    report.procedure.len(),
                    if outcome.exposure.is_some() {
                        "the exposure, "
                    } else {
                        ""
                    },
                    report.verdicts.len(),
                    report.events.len()
                )
            },
        )?;
    }
    if let (Some(path), Some(rec)) = (&args.csv, &report.recording) {
        write_saying(
            path,
            &report::csv(rec),
            &format!(
                "{} samples of {} series every {} s (CSV)",
                rec.time_s.len(),
                rec.series.len(),
                args.sample_s
            ),
        )?;
    }
    if let (Some(path), Some(rec)) = (&args.plot, &report.recording) {
        let svg = plot::svg(&scenario, &report, rec, &args.series)?;
        write_saying(path, &svg, "plot with event markers (SVG)")?;
    }
    Ok(if report.passed() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
