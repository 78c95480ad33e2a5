//! Starting the live system under test on free loopback ports, with either broker:
//! the embedded one (inside `up`, or as a `winter-river broker` subprocess) or a real
//! Mosquitto started by the test kit.

use std::time::Duration;

use winter_river_mqtt::BrokerUrl;
use winter_river_testkit::{
    Client, Mosquitto, Proc, TestkitError, embedded_broker_args, free_port, wait_port_open,
};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_winter-river");

/// How long one wait may take (the node-status interval is 2 s).
pub const WAIT: Duration = Duration::from_secs(15);

/// Which broker the scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    Embedded,
    Mosquitto,
}

/// The broker of a test: an embedded one lives inside `up` or in its own
/// `winter-river broker` subprocess; Mosquitto in its own process.
#[derive(Debug)]
pub enum Broker {
    InUp,
    Subprocess(Proc),
    Mosquitto(Mosquitto),
}

/// The live system under test.
#[derive(Debug)]
pub struct Live {
    pub mqtt_port: u16,
    pub ws_port: u16,
    /// The dashboard's port (`up --http 127.0.0.1:PORT`); 0 without `up`.
    pub http_port: u16,
    /// Processes of the system (`up`, or `engine` and `nodes`), killed on drop.
    pub procs: Vec<Proc>,
    // Dropped after the processes.
    pub broker: Broker,
}

impl Live {
    /// One `up` process: with its embedded broker on free loopback ports, or against
    /// a fresh Mosquitto. `extra` goes to `up` (`--speed`, `--nodes`, …).
    pub async fn up(kind: BrokerKind, extra: &[&str]) -> Result<Live, TestkitError> {
        let mut args: Vec<String> = vec!["up".into()];
        let (broker, mqtt_port, ws_port) = match kind {
            BrokerKind::Embedded => {
                let (p, w) = (free_port()?, free_port()?);
                args.extend(embedded_broker_args(p, w));
                (Broker::InUp, p, w)
            }
            BrokerKind::Mosquitto => {
                let m = Mosquitto::start()?;
                let (p, w) = (m.port(), m.ws_port().unwrap_or(0));
                args.extend(["--broker".to_string(), m.url()]);
                (Broker::Mosquitto(m), p, w)
            }
        };
        // A loopback dashboard port of its own: parallel tests never share 8080.
        let http_port = free_port()?;
        args.extend(["--http".to_string(), format!("127.0.0.1:{http_port}")]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut up = Proc::spawn("up", BIN, &args)?;
        up.wait_stdout("Ctrl-C stops everything.", WAIT).await?;
        Ok(Live {
            mqtt_port,
            ws_port,
            http_port,
            procs: vec![up],
            broker,
        })
    }

    /// A broker alone (embedded as a `winter-river broker` subprocess, or Mosquitto)
    /// with no engine or boards yet: for scenarios that run the pieces separately.
    pub async fn broker_only(kind: BrokerKind) -> Result<Live, TestkitError> {
        let (broker, mqtt_port, ws_port) = match kind {
            BrokerKind::Embedded => {
                let (p, w) = (free_port()?, free_port()?);
                let proc = start_broker_proc(p, w).await?;
                (Broker::Subprocess(proc), p, w)
            }
            BrokerKind::Mosquitto => {
                let m = Mosquitto::start()?;
                let (p, w) = (m.port(), m.ws_port().unwrap_or(0));
                (Broker::Mosquitto(m), p, w)
            }
        };
        Ok(Live {
            mqtt_port,
            ws_port,
            http_port: 0,
            procs: Vec::new(),
            broker,
        })
    }

    /// Starts `winter-river ARGS… --broker URL` as one more process of the system.
    pub fn spawn(&mut self, name: &str, args: &[&str]) -> Result<usize, TestkitError> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["--broker".to_string(), self.url()]);
        self.procs.push(Proc::spawn(name, BIN, &all)?);
        Ok(self.procs.len() - 1)
    }

    /// SIGKILLs the broker (the embedded variant's `broker` subprocess, or Mosquitto).
    pub fn kill_broker(&mut self) {
        match &mut self.broker {
            Broker::InUp => panic!("the broker inside `up` cannot be killed alone"),
            Broker::Subprocess(p) => p.kill(),
            Broker::Mosquitto(m) => m.kill(),
        }
    }

    /// Starts the broker again on the same ports and waits until it accepts.
    pub async fn restart_broker(&mut self) -> Result<(), TestkitError> {
        match &mut self.broker {
            Broker::InUp => panic!("the broker inside `up` cannot be restarted alone"),
            Broker::Subprocess(p) => {
                p.kill();
                *p = start_broker_proc(self.mqtt_port, self.ws_port).await?;
                Ok(())
            }
            Broker::Mosquitto(m) => m.restart(),
        }
    }

    /// `mqtt://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.mqtt_port)
    }

    pub fn broker_url(&self) -> BrokerUrl {
        BrokerUrl::tcp("127.0.0.1", self.mqtt_port)
    }

    /// `ws://127.0.0.1:WSPORT/mqtt`.
    pub fn ws_url(&self) -> BrokerUrl {
        BrokerUrl::ws("127.0.0.1", self.ws_port)
    }

    /// A test client over TCP, subscribed to `filters`.
    pub async fn client(&self, name: &str, filters: &[&str]) -> Result<Client, TestkitError> {
        Client::connect(&self.broker_url(), name, filters).await
    }

    /// The main process (`up`).
    pub fn up_proc(&mut self) -> &mut Proc {
        &mut self.procs[0]
    }

    /// Fails if any process of the system has ended.
    pub fn check_running(&mut self) -> Result<(), TestkitError> {
        self.procs.iter_mut().try_for_each(Proc::check_running)
    }

    /// Runs `winter-river ARGS… --broker URL` to its end: its exit code (`None`
    /// when a signal ended it), standard output and standard error.
    pub async fn run_cli_status(
        &self,
        args: &[&str],
    ) -> Result<(Option<i32>, String, String), TestkitError> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["--broker".to_string(), self.url()]);
        let (status, out, err) = Proc::run(args[0], BIN, &all, Duration::from_secs(10)).await?;
        Ok((status.code(), out, err))
    }

    /// Runs `winter-river ARGS… --broker URL` to its end; fails unless it exits 0.
    pub async fn run_cli(&self, args: &[&str]) -> Result<String, TestkitError> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["--broker".to_string(), self.url()]);
        let (status, out, err) = Proc::run(args[0], BIN, &all, Duration::from_secs(10)).await?;
        if !status.success() {
            return Err(TestkitError::Process {
                what: format!("winter-river {} exited {status}: {err}", all.join(" ")),
            });
        }
        Ok(out)
    }
}

async fn start_broker_proc(port: u16, ws: u16) -> Result<Proc, TestkitError> {
    let mut args = vec!["broker".to_string()];
    args.extend(embedded_broker_args(port, ws));
    let mut p = Proc::spawn("broker", BIN, &args)?;
    p.wait_stdout("broker", WAIT).await?;
    wait_port_open(port, WAIT)?;
    Ok(p)
}

/// `<prefix>/<id>/status` for each id.
pub fn status_topics(ids: &[&str]) -> Vec<String> {
    ids.iter()
        .map(|id| format!("winter-river/{id}/status"))
        .collect()
}
