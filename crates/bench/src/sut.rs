//! The system under test: one `up` with its embedded broker, or one `up --broker`
//! against a fresh Mosquitto or a broker started by `--broker-cmd`, on free 127.0.0.1
//! ports; optionally a separate `nodes` process as the load.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use winter_river_mqtt::BrokerUrl;
use winter_river_testkit::{Proc, embedded_broker_args, free_port};

use crate::broker::BrokerProc;

/// Which broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The broker built into `winter-river` (`up` embeds it; `winter-river broker`
    /// alone).
    Embedded,
    /// A fresh Mosquitto (`mosquitto` on the PATH).
    Mosquitto,
    /// Any broker started by `--broker-cmd` (named by `--broker-name`).
    Command,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Embedded => "embedded",
            Kind::Mosquitto => "mosquitto",
            Kind::Command => "command",
        })
    }
}

/// What every run shares: the binary, the Mosquitto config extras and the command
/// broker.
#[derive(Debug, Clone)]
pub struct Env {
    pub bin: PathBuf,
    pub mosquitto_conf: Vec<String>,
    /// `--broker-cmd`: the command line of `Kind::Command`, with `{port}`.
    pub broker_cmd: Option<String>,
    /// `--broker-name`: how `Kind::Command` is labelled in the figures.
    pub broker_name: String,
}

impl Env {
    /// The broker's name in the figures: `embedded`, `mosquitto`, or `--broker-name`.
    pub fn label(&self, kind: Kind) -> String {
        match kind {
            Kind::Command => self.broker_name.clone(),
            k => k.to_string(),
        }
    }
}

/// One running system.
#[derive(Debug)]
pub struct Sut {
    pub port: u16,
    bin: PathBuf,
    pub up: Proc,
    pub fleet: Option<Proc>,
    /// The broker when it is not `up`'s own.
    pub broker: Option<BrokerProc>,
}

impl Sut {
    /// Starts `up` (+ Mosquitto or the command broker) and waits for its banner.
    /// `extra` goes to `up`.
    pub async fn start(env: &Env, kind: Kind, extra: &[String]) -> Result<Sut> {
        let bin = env.bin.as_path();
        let mut args: Vec<String> = vec!["up".into()];
        let mut broker = None;
        let port = match kind {
            Kind::Embedded => {
                let p = free_port()?;
                args.extend(embedded_broker_args(p, 0));
                p
            }
            Kind::Mosquitto | Kind::Command => {
                let b = BrokerProc::start(env, kind)?;
                let p = b.port();
                args.extend(["--broker".into(), format!("mqtt://127.0.0.1:{p}")]);
                broker = Some(b);
                p
            }
        };
        // A loopback dashboard port of its own, never the default 0.0.0.0:8080.
        args.extend(["--http".into(), format!("127.0.0.1:{}", free_port()?)]);
        args.extend(extra.iter().cloned());
        let mut up = Proc::spawn("up", bin, &args)?;
        up.wait_stdout("Ctrl-C stops everything.", Duration::from_secs(30))
            .await
            .context("`up` did not start")?;
        Ok(Sut {
            port,
            bin: bin.to_path_buf(),
            up,
            fleet: None,
            broker,
        })
    }

    pub fn url(&self) -> BrokerUrl {
        BrokerUrl::tcp("127.0.0.1", self.port)
    }

    /// Starts `winter-river nodes ARGS… --broker URL` as the load.
    pub fn spawn_fleet(&mut self, args: &[String]) -> Result<()> {
        let mut all = vec!["nodes".to_string()];
        all.extend(args.iter().cloned());
        all.extend(["--broker".into(), format!("mqtt://127.0.0.1:{}", self.port)]);
        self.fleet = Some(Proc::spawn("nodes", &self.bin, &all)?);
        Ok(())
    }

    /// The separate broker's process id (none for the embedded one).
    pub fn broker_pid(&self) -> Option<u32> {
        self.broker.as_ref().and_then(BrokerProc::pid)
    }

    /// Fails if `up`, the fleet or the separate broker has died.
    pub fn check_running(&mut self) -> Result<()> {
        self.up.check_running()?;
        if let Some(f) = &mut self.fleet {
            f.check_running()?;
        }
        if let Some(b) = &mut self.broker {
            b.check_running()?;
        }
        Ok(())
    }

    /// Stops everything: SIGINT to `up` and the fleet (clean exit), then kill.
    pub async fn stop(mut self) {
        for p in self.fleet.iter_mut().chain(std::iter::once(&mut self.up)) {
            if p.signal("INT").is_ok() {
                let _ = p.wait_exit(Duration::from_secs(6)).await;
            }
            p.kill();
        }
    }
}

/// A synthetic 2N site of `racks` racks written into `dir` by `winter-river topology
/// generate`: its path (as the CLI takes it), its text and how many nodes it has.
pub async fn generated_site(
    env: &Env,
    dir: &std::path::Path,
    racks: u64,
) -> Result<(String, String, usize)> {
    let topo = dir.join(format!("site-{racks}.toml"));
    let topo_s = topo.display().to_string();
    let (status, _, err) = Proc::run(
        "generate",
        &env.bin,
        &[
            "topology",
            "generate",
            "--racks",
            &racks.to_string(),
            "--out",
            &topo_s,
        ],
        Duration::from_secs(60),
    )
    .await?;
    anyhow::ensure!(status.success(), "topology generate --racks {racks}: {err}");
    let text = std::fs::read_to_string(&topo)?;
    let nodes = text.lines().filter(|l| l.trim() == "[[node]]").count();
    Ok((topo_s, text, nodes))
}
