//! The `winter-river` command: the live system (`up`, `broker`, `engine`, `nodes`,
//! operator commands, `watch`, live drills), scenarios, validation of topology and scenario
//! files, synthetic topologies. Glue only: the work is done by the library crates.
//!
//! Exit codes: 0 success (every expectation held, every procedure step done), 1 an
//! expectation or a procedure step failed (the switching commands: an interlock
//! refused it), 2 the input is invalid or cannot
//! be read or written, 3 (switching commands) no answer from the engine in time.
#![allow(
    rustdoc::broken_intra_doc_links,
    reason = "clap turns doc comments into --help text, so units stay written [kW], not \\[kW\\]"
)]

mod analyze_cmd;
mod auth_cmd;
mod cert_cmd;
mod client_cmd;
mod drill_cmd;
mod fd_budget;
mod invocation;
mod live_args;
mod numbers;
mod operate_cmd;
mod pieces_cmd;
mod plot;
mod recent_events;
mod report;
mod scenario_cmd;
mod sweep_cmd;
mod tls_args;
mod topology_cmd;
mod up_cmd;
mod validate;
mod watch_cmd;
mod web_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use operate_cmd::{Target, Words};

/// Exit code: every expectation held / the command succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code: at least one expectation or procedure step failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the file is invalid (or cannot be read / written).
pub const EXIT_INVALID: u8 = 2;

/// The exit codes of the switching commands, shown under their --help.
const OPERATE_EXIT_CODES: &str = "\
Waits for the engine's answer on <prefix>/system/events (--wait-s, default 3 s).
Exit codes: 0 done (the engine's message is printed), 1 refused by an interlock
(`refused: <reason>` is printed), 2 invalid input or no broker, 3 no answer from
the engine in time (is it running?).";

/// The exit codes of `send`, `fault`, `load` and `reset`, shown under their --help.
const COMMAND_EXIT_CODES: &str = "\
Waits for the engine to show the command applied (--wait-s, default 6 s): an event
naming it, or the node's next state (docs/live.md, \"Commands\").
Exit codes: 0 `applied: …`, 1 `refused: <reason>`, 2 invalid input or no broker,
3 `not confirmed within N s` (the engine is not running, or did not show it).";

/// The exit codes of `drill`, shown under its --help.
const DRILL_EXIT_CODES: &str = "\
Waits for the engine's answer on <prefix>/system/drill (--wait-s, default 3 s).
Exit codes: 0 done (the drill's progress is printed), 1 refused by the engine
(`refused: <why>` is printed), 2 invalid input or no broker, 3 no answer from
the engine in time (is it running?).";

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
    /// Run everything: embedded broker (unless --broker), engine, virtual boards and the
    /// web dashboard (HTTP API, /metrics).
    Up(Box<up_cmd::UpArgs>),
    /// The embedded MQTT broker alone (TCP and WebSocket).
    Broker(pieces_cmd::BrokerCmdArgs),
    /// The simulation engine alone, against a broker.
    Engine(pieces_cmd::EngineArgs),
    /// The virtual boards alone, against a broker.
    Nodes(pieces_cmd::NodesArgs),
    /// Publish any command of the protocol to a node (or `system`) and wait for the
    /// engine to show it applied.
    #[command(after_help = COMMAND_EXIT_CODES)]
    Send {
        #[command(flatten)]
        client: client_cmd::CommandArgs,
        /// Node id, or `system` for the engine.
        node: String,
        /// Command name.
        command: String,
        /// Its params as JSON, e.g. '{"state": true}'.
        params: Option<String>,
    },
    /// Fail (on) or restore (off) a component.
    #[command(after_help = COMMAND_EXIT_CODES)]
    Fault {
        #[command(flatten)]
        client: client_cmd::CommandArgs,
        node: String,
        #[arg(value_enum)]
        state: client_cmd::OnOff,
    },
    /// Set the demand of a load [kW].
    #[command(after_help = COMMAND_EXIT_CODES)]
    Load {
        #[command(flatten)]
        client: client_cmd::CommandArgs,
        node: String,
        kw: f64,
    },
    /// Clear a tripped breaker or latched alarm (`system` resets everything).
    #[command(after_help = COMMAND_EXIT_CODES)]
    Reset {
        #[command(flatten)]
        client: client_cmd::CommandArgs,
        node: String,
    },
    /// Open a node's own breaker (a source's output breaker): everything fed only
    /// through it loses power.
    #[command(after_help = OPERATE_EXIT_CODES)]
    Open {
        #[command(flatten)]
        op: operate_cmd::OperateArgs,
        /// Node id, as in the topology.
        node: String,
    },
    /// Close a node's breaker again (refused while locked out or tripped: `reset` a trip).
    #[command(after_help = OPERATE_EXIT_CODES)]
    Close {
        #[command(flatten)]
        op: operate_cmd::OperateArgs,
        /// Node id, as in the topology.
        node: String,
    },
    /// Lock out and tag an open breaker (on), or release it (off).
    #[command(after_help = OPERATE_EXIT_CODES)]
    Lockout {
        #[command(flatten)]
        op: operate_cmd::OperateArgs,
        /// Node id, as in the topology.
        node: String,
        #[arg(value_enum)]
        state: client_cmd::OnOff,
    },
    /// Set a node's mode: its kind's mode command (a UPS's ups_mode, a switchgear's
    /// ats_mode, a generator's gen_mode), e.g. `mode ups_a static_bypass`.
    #[command(after_help = OPERATE_EXIT_CODES)]
    Mode {
        #[command(flatten)]
        op: operate_cmd::OperateArgs,
        /// Node id, as in the topology.
        node: String,
        #[arg(help = operate_cmd::mode_help())]
        mode: String,
    },
    /// Transfer a switchgear in manual mode to one of its feeds.
    #[command(after_help = OPERATE_EXIT_CODES)]
    Transfer {
        #[command(flatten)]
        op: operate_cmd::OperateArgs,
        /// Node id, as in the topology.
        node: String,
        /// The feed to transfer to.
        to: String,
    },
    /// Start (on) or end (off) a transfer test under load on a switchgear in auto.
    #[command(after_help = OPERATE_EXIT_CODES)]
    AtsTest {
        #[command(flatten)]
        op: operate_cmd::OperateArgs,
        /// Node id, as in the topology.
        node: String,
        #[arg(value_enum)]
        state: client_cmd::OnOff,
    },
    /// Emergency power off: every UPS and STS opens (sent on system/command).
    #[command(after_help = OPERATE_EXIT_CODES)]
    Epo {
        #[command(flatten)]
        op: operate_cmd::OperateArgs,
    },
    /// A live drill: start, stop, fire an inject by hand, load one of the engine's
    /// library, or print its progress (sent on system/drill/command).
    #[command(subcommand, after_help = DRILL_EXIT_CODES)]
    Drill(drill_cmd::DrillVerb),
    /// Live table of the boards, the site and the latest events (with those from before
    /// it started, read from the dashboard); --json for one line per message.
    Watch(watch_cmd::WatchArgs),
    /// The web dashboard, HTTP API and /metrics alone, against a broker.
    Web(web_cmd::WebArgs),
    /// MQTT roles (docs/security.md): check an auth file, or write the Mosquitto
    /// password_file and acl_file of its roles.
    #[command(subcommand)]
    Auth(auth_cmd::AuthCmd),
    /// Scenarios: timed commands and expectations against the simulator.
    #[command(subcommand)]
    Scenario(ScenarioCmd),
    /// Methods of procedure (MOPs): a scenario's `[[step]]`s checked for order and
    /// exposure.
    #[command(subcommand)]
    Mop(MopCmd),
    /// Check a topology or scenario file (told apart by content).
    Validate {
        /// A topology (`[[node]]`) or scenario (`duration_s`, `[[event]]`, `[[expect]]`) file.
        file: PathBuf,
    },
    /// Topologies: show one as JSON, generate synthetic sites.
    #[command(subcommand)]
    Topology(TopologyCmd),
    /// Reliability analysis: single points of failure (N-1, N-2), redundancy per stage,
    /// maintainability, availability by Monte Carlo (docs/analysis.md).
    Analyze(analyze_cmd::AnalyzeArgs),
    /// Run a scenario over combinations of parameter values and tabulate the outputs.
    Sweep(sweep_cmd::SweepArgs),
    /// A self-signed TLS certificate and key for a hotspot (cert.pem, key.pem), for
    /// the dashboard's HTTPS and a broker's mqtts/wss; prints what to give to whom.
    Cert(cert_cmd::CertArgs),
}

#[derive(Debug, Subcommand)]
enum ScenarioCmd {
    /// Run a scenario as fast as possible; print the event timeline and verdicts.
    Run(scenario_cmd::RunArgs),
}

#[derive(Debug, Subcommand)]
enum MopCmd {
    /// Play a scenario's procedure only (`scenario run FILE --check-only`): each step
    /// done, refused or timed out, and the single failures that would drop IT load
    /// between steps. Exit 0 every step done, 1 one failed, 2 invalid file.
    Check(scenario_cmd::MopCheckArgs),
}

#[derive(Debug, Subcommand)]
enum TopologyCmd {
    /// Print a synthetic 2N site of N racks as topology TOML.
    Generate {
        /// Number of server racks (5 kW each).
        #[arg(long, value_parser = crate::numbers::whole::<u64, 1, { u64::MAX }>, allow_negative_numbers = true)]
        racks: u64,
        /// Make each group of 100 racks a data hall: a room holding its racks, PDUs
        /// and cooling unit (docs/topology.md, "Synthetic sites").
        #[arg(long)]
        rooms: bool,
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

/// A switching command of the protocol's table to one node.
fn operate(
    op: &operate_cmd::OperateArgs,
    node: &str,
    command: &'static str,
    words: &[&str],
) -> anyhow::Result<u8> {
    operate_cmd::run(op, Target::Node(node), Words::Of(command, words))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Up(args) => up_cmd::run(&args),
        Cmd::Broker(args) => pieces_cmd::broker(&args),
        Cmd::Engine(args) => pieces_cmd::engine(&args),
        Cmd::Nodes(args) => pieces_cmd::nodes(&args),
        Cmd::Send {
            client,
            node,
            command,
            params,
        } => client_cmd::build(&command, params.as_deref())
            .and_then(|c| client_cmd::send(&client, &node, &c)),
        Cmd::Fault {
            client,
            node,
            state,
        } => client_cmd::fault(&client, &node, state),
        Cmd::Load { client, node, kw } => client_cmd::load(&client, &node, kw),
        Cmd::Reset { client, node } => client_cmd::reset(&client, &node),
        Cmd::Open { op, node } => operate(&op, &node, "open", &[]),
        Cmd::Close { op, node } => operate(&op, &node, "close", &[]),
        Cmd::Lockout { op, node, state } => operate(&op, &node, "lockout", &[state.word()]),
        Cmd::Mode { op, node, mode } => {
            operate_cmd::run(&op, Target::Node(&node), Words::Mode(&mode))
        }
        Cmd::Transfer { op, node, to } => operate(&op, &node, "transfer", &[&to]),
        Cmd::AtsTest { op, node, state } => operate(&op, &node, "ats_test", &[state.word()]),
        Cmd::Epo { op } => operate_cmd::run(&op, Target::Site, Words::Of("epo", &[])),
        Cmd::Drill(args) => drill_cmd::run(&args),
        Cmd::Watch(args) => watch_cmd::run(&args),
        Cmd::Web(args) => web_cmd::run(&args),
        Cmd::Auth(cmd) => auth_cmd::run(&cmd),
        Cmd::Scenario(ScenarioCmd::Run(args)) => scenario_cmd::run(&args),
        Cmd::Mop(MopCmd::Check(args)) => scenario_cmd::mop_check(&args),
        Cmd::Validate { file } => validate::validate(&file),
        Cmd::Topology(TopologyCmd::Generate { racks, rooms, out }) => topology_cmd::generate(
            usize::try_from(racks).unwrap_or(usize::MAX),
            rooms,
            out.as_deref(),
        ),
        Cmd::Topology(TopologyCmd::Show { file }) => topology_cmd::show(file.as_deref()),
        Cmd::Analyze(args) => analyze_cmd::run(&args),
        Cmd::Sweep(args) => sweep_cmd::run(&args),
        Cmd::Cert(args) => cert_cmd::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}
