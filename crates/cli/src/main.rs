//! The `winter-river` command: run scenarios, validate topology and scenario files,
//! show and generate topologies. Glue only: the work is done by `winter-river-sim`.
//!
//! Exit codes: 0 success (every expectation held), 1 an expectation failed, 2 the
//! input is invalid or cannot be read or written.

mod plot;
mod report;
mod scenario_cmd;
mod topology_cmd;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code: every expectation held / the command succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code: at least one expectation failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the file is invalid (or cannot be read / written).
pub const EXIT_INVALID: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "winter-river",
    version,
    about = "Winter River: a data-center power-chain testbed"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Scenarios: timed commands and expectations against the simulator.
    #[command(subcommand)]
    Scenario(ScenarioCmd),
    /// Check a topology or scenario file (told apart by content).
    Validate {
        /// A topology (`[[node]]`) or scenario (`duration_s`, `[[event]]`, `[[expect]]`) file.
        file: PathBuf,
    },
    /// Topologies: show one as JSON, generate synthetic sites.
    #[command(subcommand)]
    Topology(TopologyCmd),
}

#[derive(Debug, Subcommand)]
enum ScenarioCmd {
    /// Run a scenario as fast as possible; print the event timeline and verdicts.
    Run(scenario_cmd::RunArgs),
}

#[derive(Debug, Subcommand)]
enum TopologyCmd {
    /// Print a synthetic 2N site of N racks as topology TOML.
    Generate {
        /// Number of server racks (5 kW each).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        racks: u64,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print a topology as JSON (the `<p>/system/topology` form), every default applied.
    Show {
        /// Topology file; the built-in default when omitted.
        file: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Scenario(ScenarioCmd::Run(args)) => scenario_cmd::run(&args),
        Cmd::Validate { file } => validate::validate(&file),
        Cmd::Topology(TopologyCmd::Generate { racks, out }) => {
            topology_cmd::generate(usize::try_from(racks).unwrap_or(usize::MAX), out.as_deref())
        }
        Cmd::Topology(TopologyCmd::Show { file }) => topology_cmd::show(file.as_deref()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}
