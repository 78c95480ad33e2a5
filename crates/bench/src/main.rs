//! `winter-river-bench`: benchmarks of the live system (issue 3, item 7) against the
//! embedded broker, a real Mosquitto and any broker started by a command in the same
//! run — `latency` (fault to status), `fleet` (how many boards at 1 status/s one `up`
//! sustains), `pacing`, and `flood` (loss under a hostile flood and fan-out, broker
//! alone; issue 16). Run it from a release build; figures go to docs/benchmarks.md
//! ("Live system") and docs/broker.md. Not part of scripts/test.
#![allow(
    rustdoc::broken_intra_doc_links,
    reason = "clap turns doc comments into --help text, so units stay written [kW], not \\[kW\\]"
)]

mod broker;
mod fleet;
mod flood;
mod latency;
mod pacing;
mod procfs;
mod stats;
mod sut;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::sut::Kind;

#[derive(Debug, Parser)]
#[command(
    name = "winter-river-bench",
    about = "Benchmarks of the live Winter River system"
)]
struct Cli {
    /// The winter-river binary (default: next to this one, i.e. the same build profile).
    #[arg(long, global = true)]
    bin: Option<PathBuf>,
    /// Brokers to compare: `embedded` (`up`'s own; `winter-river broker` when no
    /// engine is needed), `mosquitto`, `command` (`--broker-cmd`).
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        default_value = "embedded,mosquitto"
    )]
    brokers: Vec<Kind>,
    /// An extra line for the generated mosquitto.conf (repeatable), e.g.
    /// `--mosquitto-conf 'max_queued_messages 100000'` (`set_tcp_nodelay true` is
    /// already there).
    #[arg(long, global = true)]
    mosquitto_conf: Vec<String>,
    /// The command line that starts the `command` broker, run by `sh -c 'exec …'`:
    /// `{port}` becomes a free 127.0.0.1 port for its MQTT/TCP listener (and
    /// `{ws_port}` one for WebSocket), e.g. `--broker-cmd '/path/rmqtt-broker --port
    /// {port}'`. `up` then runs with `--broker mqtt://127.0.0.1:{port}`, and the
    /// broker's RSS and CPU are read from its process id. It must listen on that port
    /// within 20 s and stop on SIGKILL.
    #[arg(long, global = true)]
    broker_cmd: Option<String>,
    /// The `command` broker's name in the figures.
    #[arg(long, global = true, default_value = "command")]
    broker_name: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Fault-to-status latency: set_fault on util_a, alternating fault/restore, until a
    /// subscriber has every affected board's new status.
    Latency(latency::Args),
    /// Fleet scale: boards at one status per second against one `up`.
    Fleet(fleet::Args),
    /// Fault-to-update latency on large sites: set_fault on util_a until the
    /// engine's `update` of every affected node shows it (issue 15, part 6).
    Pacing(pacing::Args),
    /// Loss under a hostile flood (valid QoS 1 commands among 1M invalid payloads to
    /// a subscriber like the engine's) and fan-out (200,000 statuses to 1 and 10
    /// subscribers), against each broker alone (issue 16).
    Flood(flood::Args),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let bin = match cli.bin {
        Some(b) => b,
        None => std::env::current_exe()
            .context("cannot locate this executable")?
            .with_file_name("winter-river"),
    };
    anyhow::ensure!(
        bin.exists(),
        "{} not found: build it first (cargo build --release -p winter-river -p winter-river-bench) or pass --bin",
        bin.display()
    );
    println!("machine: {}", procfs::machine());
    println!("winter-river: {}", bin.display());
    let env = sut::Env {
        bin,
        mosquitto_conf: cli.mosquitto_conf.clone(),
        broker_cmd: cli.broker_cmd.clone(),
        broker_name: cli.broker_name.clone(),
    };
    if let Some(cmd) = &env.broker_cmd {
        println!("{}: {cmd}", env.broker_name);
    }
    if !env.mosquitto_conf.is_empty() {
        println!("mosquitto.conf extra: {:?}", env.mosquitto_conf);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        match &cli.cmd {
            Cmd::Latency(a) => latency::run(&env, &cli.brokers, a).await,
            Cmd::Fleet(a) => fleet::run(&env, &cli.brokers, a).await,
            Cmd::Pacing(a) => pacing::run(&env, &cli.brokers, a).await,
            Cmd::Flood(a) => flood::run(&env, &cli.brokers, a).await,
        }
    })
}
