//! A broker alone, for the benchmarks that need no engine (`flood`) and for `up
//! --broker` against a broker that is not embedded: the embedded one as
//! `winter-river broker`, a fresh Mosquitto, or any broker started by a command
//! (`--broker-cmd`, e.g. rmqtt), each on a free 127.0.0.1 port.

use std::time::Duration;

use anyhow::{Context, Result};
use winter_river_mqtt::BrokerUrl;
use winter_river_testkit::{
    Mosquitto, MosquittoOptions, Proc, embedded_broker_args, free_port, wait_port_open,
};

use crate::sut::{Env, Kind};

/// How long a broker may take to open its port.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// One running broker process.
#[derive(Debug)]
pub enum BrokerProc {
    /// `winter-river broker` (or `--broker-cmd`): a child process of ours.
    Child {
        port: u16,
        proc: Proc,
    },
    Mosquitto(Mosquitto),
}

impl BrokerProc {
    /// Starts `kind` alone (for `Embedded`: `winter-river broker`, TCP only).
    pub fn start(env: &Env, kind: Kind) -> Result<BrokerProc> {
        match kind {
            Kind::Embedded => {
                let port = free_port()?;
                let mut args = vec!["broker".to_string()];
                args.extend(embedded_broker_args(port, 0));
                let proc = Proc::spawn("broker", &env.bin, &args)?;
                BrokerProc::ready(port, proc)
            }
            Kind::Mosquitto => Ok(BrokerProc::Mosquitto(Mosquitto::start_with(
                &MosquittoOptions {
                    websockets: false,
                    extra_config: env.mosquitto_conf.clone(),
                    ..MosquittoOptions::default()
                },
            )?)),
            Kind::Command => BrokerProc::command(env),
        }
    }

    /// `--broker-cmd` with `{port}` (and `{ws_port}`) replaced by free ports, run by
    /// `sh -c 'exec …'` so that the process we watch is the broker itself.
    fn command(env: &Env) -> Result<BrokerProc> {
        let template = env
            .broker_cmd
            .as_deref()
            .context("--brokers command needs --broker-cmd 'PROGRAM … {port} …'")?;
        anyhow::ensure!(
            template.contains("{port}"),
            "--broker-cmd must contain {{port}} (the MQTT/TCP port to listen on, 127.0.0.1)"
        );
        let port = free_port()?;
        let cmd = template
            .replace("{port}", &port.to_string())
            .replace("{ws_port}", &free_port()?.to_string());
        let proc = Proc::spawn(&env.broker_name, "sh", &["-c", &format!("exec {cmd}")])?;
        BrokerProc::ready(port, proc)
    }

    fn ready(port: u16, mut proc: Proc) -> Result<BrokerProc> {
        if let Err(e) = wait_port_open(port, START_TIMEOUT) {
            let running = proc.is_running();
            anyhow::bail!(
                "{} did not open 127.0.0.1:{port} within {START_TIMEOUT:?} (running: {running}): {e}\nstderr: {}",
                proc.name(),
                proc.stderr()
            );
        }
        Ok(BrokerProc::Child { port, proc })
    }

    pub fn port(&self) -> u16 {
        match self {
            BrokerProc::Child { port, .. } => *port,
            BrokerProc::Mosquitto(m) => m.port(),
        }
    }

    pub fn url(&self) -> BrokerUrl {
        BrokerUrl::tcp("127.0.0.1", self.port())
    }

    pub fn pid(&self) -> Option<u32> {
        match self {
            BrokerProc::Child { proc, .. } => Some(proc.pid()),
            BrokerProc::Mosquitto(m) => m.pid(),
        }
    }

    pub fn check_running(&mut self) -> Result<()> {
        match self {
            BrokerProc::Child { proc, .. } => proc.check_running()?,
            BrokerProc::Mosquitto(m) => m.check_running()?,
        }
        Ok(())
    }

    /// The broker's stderr (or Mosquitto's log) so far.
    pub fn log(&self) -> String {
        match self {
            BrokerProc::Child { proc, .. } => proc.stderr(),
            BrokerProc::Mosquitto(m) => m.log(),
        }
    }
}
