//! Winter River's embedded MQTT 3.1.1 broker: rumqttd 0.20, configured for thousands of
//! boards, started on its own threads after checking that its ports are free, and reported
//! ready only once a raw MQTT CONNECT gets its CONNACK. See `docs/broker.md` for the
//! defaults and for the rumqttd gaps this crate works around.
//!
//! rumqttd cannot be stopped in-process: a started broker runs until the process exits.
//! Tests that restart a broker run it as a subprocess (`winter-river broker …`).
//!
//! This crate logs through `tracing` and installs no subscriber. rumqttd logs every accept
//! at info and every dropped link at error; binaries should add [`QUIET_RUMQTTD`] to their
//! default filter.

mod access;
mod config;
mod probe;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use access::{Access, AccessError, Denied, Principal, Refused, Role};
pub use config::{BrokerConfig, Sizing};
pub use probe::{probe, probe_with_credentials, probe_ws};

/// A `tracing` filter directive that keeps rumqttd's per-connection noise out of the log
/// (`EnvFilter::new(format!("info,{QUIET_RUMQTTD}"))`). Its real failures are logged at warn
/// or error.
pub const QUIET_RUMQTTD: &str = "rumqttd=warn";

/// How long [`start`] waits for rumqttd to answer after spawning it.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Boards the embedded broker carries comfortably on a 2-core machine (measured at
/// 2,003: 191 MiB for `up`, docs/benchmarks.md). Above it, memory grows by about
/// 100 KiB a board and readers of the `<p>/+/command` wildcard can skip messages
/// during bursts: such sites want Mosquitto.
pub const COMFORTABLE_BOARDS: usize = 2_000;

/// Errors of the embedded broker and of the probe. Each names the address involved.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// A listener's port is taken, most often by another MQTT broker.
    #[error(
        "cannot listen for {listener} on {addr}: port {port} is already in use. \
         If an MQTT broker is already running there, use it with `--broker {scheme}://{host}:{port}`; \
         otherwise choose another port"
    )]
    PortInUse {
        /// `MQTT` or `WebSocket`.
        listener: &'static str,
        addr: SocketAddr,
        port: u16,
        scheme: &'static str,
        /// Host to suggest in `--broker` (loopback when the listener is a wildcard address).
        host: String,
    },
    /// A listener cannot bind for another reason (permission, address not on this host).
    #[error("cannot listen for {listener} on {addr}: {source}")]
    Bind {
        listener: &'static str,
        addr: SocketAddr,
        source: io::Error,
    },
    /// The configuration cannot work (both listeners on one port, empty username, …).
    #[error("invalid broker configuration: {0}")]
    Config(String),
    /// The broker's threads could not be spawned.
    #[error("cannot start the broker thread: {0}")]
    Spawn(io::Error),
    /// rumqttd was started but did not answer in time; the last probe error says why.
    #[error("the embedded broker did not become ready on {addr} within {waited:?}: {last}")]
    NotReady {
        addr: SocketAddr,
        waited: Duration,
        last: Box<BrokerError>,
    },
    /// rumqttd's thread ended (it only does so on a fatal error; details are in its log).
    #[error("the embedded broker stopped unexpectedly (see the rumqttd log above)")]
    Stopped,
    /// Probe: nothing accepts TCP connections there (closed port, unreachable host).
    #[error("no MQTT broker reachable at {addr}: {source}")]
    Unreachable { addr: SocketAddr, source: io::Error },
    /// Probe: the exchange did not finish in time.
    #[error("no MQTT answer from {addr} within {timeout:?}")]
    ProbeTimeout { addr: SocketAddr, timeout: Duration },
    /// Probe: the broker closed the connection instead of sending CONNACK. rumqttd does
    /// this for missing or wrong credentials and for keepalive 0.
    #[error(
        "the broker at {addr} closed the connection without a CONNACK \
         (wrong or missing credentials?)"
    )]
    ConnectionClosed { addr: SocketAddr },
    /// Probe: the broker answered CONNACK with a refusal (MQTT 3.1.1 return code).
    #[error("the broker at {addr} refused the connection: {}", connack_reason(*.code))]
    Refused { addr: SocketAddr, code: u8 },
    /// Probe: something answered, but not an MQTT 3.1.1 broker.
    #[error("{addr} does not speak MQTT 3.1.1: {detail}")]
    NotMqtt { addr: SocketAddr, detail: String },
}

fn connack_reason(code: u8) -> String {
    let reason = match code {
        1 => "unacceptable protocol version",
        2 => "client identifier rejected",
        3 => "server unavailable",
        4 => "bad user name or password",
        5 => "not authorized",
        _ => "unknown return code",
    };
    format!("{reason} (CONNACK return code {code})")
}

/// A started embedded broker. Dropping it does not stop the broker (rumqttd cannot be
/// stopped in-process); it runs until the process exits.
pub struct RunningBroker {
    mqtt_addr: SocketAddr,
    ws_addr: Option<SocketAddr>,
    credentials: Option<(String, String)>,
    thread: JoinHandle<()>,
}

impl RunningBroker {
    /// The MQTT/TCP listener's address (port resolved if the config asked for port 0).
    pub fn mqtt_addr(&self) -> SocketAddr {
        self.mqtt_addr
    }

    /// The WebSocket listener's address, if enabled.
    pub fn ws_addr(&self) -> Option<SocketAddr> {
        self.ws_addr
    }

    /// The address a client on this host should connect to: the listener's, with a
    /// wildcard IP (`0.0.0.0`, `::`) replaced by loopback.
    pub fn client_addr(&self) -> SocketAddr {
        local_client_addr(self.mqtt_addr)
    }

    /// `mqtt://host:port` for clients on this host (the `--broker` form).
    pub fn mqtt_url(&self) -> String {
        let addr = self.client_addr();
        format!("mqtt://{addr}")
    }

    /// `ws://host:port/mqtt` for WebSocket clients on this host. rumqttd serves MQTT on any
    /// path; `/mqtt` is the conventional one (Mosquitto, MQTT.js).
    pub fn ws_url(&self) -> Option<String> {
        self.ws_addr
            .map(|addr| format!("ws://{}/mqtt", local_client_addr(addr)))
    }

    /// False once rumqttd's thread has ended (a fatal error; see its log).
    pub fn is_running(&self) -> bool {
        !self.thread.is_finished()
    }

    /// Probes the broker again (for supervision), with its own credentials.
    pub fn probe(&self, timeout: Duration) -> Result<(), BrokerError> {
        probe_with_credentials(self.client_addr(), self.credentials(), timeout)
    }

    fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(user, pass)| (user.as_str(), pass.as_str()))
    }

    /// Blocks until the broker stops, which only happens on a fatal error.
    pub fn wait(self) -> BrokerError {
        let _ = self.thread.join();
        BrokerError::Stopped
    }
}

impl std::fmt::Debug for RunningBroker {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningBroker")
            .field("mqtt_addr", &self.mqtt_addr)
            .field("ws_addr", &self.ws_addr)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(user, _)| (user, "***")),
            )
            .field("running", &self.is_running())
            .finish()
    }
}

/// Starts the embedded broker: checks that each listener's port is free, starts rumqttd on
/// its own threads, and returns once a raw MQTT CONNECT over TCP gets its CONNACK and the
/// WebSocket listener completes an MQTT handshake (within [`READY_TIMEOUT`]).
pub fn start(config: BrokerConfig) -> Result<RunningBroker, BrokerError> {
    config.validate()?;
    let mqtt_addr = reserve("MQTT", "mqtt", config.mqtt_addr)?;
    let ws_addr = match config.ws_addr {
        Some(addr) => Some(reserve("WebSocket", "ws", addr)?),
        None => None,
    };
    if Some(mqtt_addr) == ws_addr {
        return Err(BrokerError::Config(format!(
            "MQTT and WebSocket listeners both on {mqtt_addr}"
        )));
    }

    let rumqttd_config = config::rumqttd_config(&config, mqtt_addr, ws_addr);
    let thread = thread::Builder::new()
        .name("broker".to_owned())
        .spawn(move || {
            // `Broker::new` spawns the router thread; `start` spawns one thread per listener
            // and joins them, so it returns only if every listener has failed.
            let mut broker = rumqttd::Broker::new(rumqttd_config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })
        .map_err(BrokerError::Spawn)?;

    let broker = RunningBroker {
        mqtt_addr,
        ws_addr,
        credentials: config.credentials.clone(),
        thread,
    };
    wait_ready(&broker)?;
    tracing::info!(
        mqtt = %broker.mqtt_addr,
        ws = ?broker.ws_addr,
        auth = broker.credentials.is_some(),
        "embedded MQTT broker ready"
    );
    Ok(broker)
}

/// Starts the broker and blocks while it runs (for `winter-river broker`). Returns only on
/// a start error or if the broker stops on its own; the process ends it with a signal.
pub fn run_blocking(config: BrokerConfig) -> Result<(), BrokerError> {
    Err(start(config)?.wait())
}

/// Probes until the TCP and then the WebSocket listener answer, rumqttd's thread dies, or
/// [`READY_TIMEOUT`] passes. A refused connection or a timeout is retried (rumqttd binds
/// shortly after its thread starts); any other answer is final.
fn wait_ready(broker: &RunningBroker) -> Result<(), BrokerError> {
    let started = Instant::now();
    let mut targets = vec![(broker.client_addr(), false)];
    targets.extend(broker.ws_addr.map(|addr| (local_client_addr(addr), true)));
    for (addr, ws) in targets {
        loop {
            let attempt = Duration::from_millis(500)
                .min(READY_TIMEOUT.saturating_sub(started.elapsed()))
                .max(Duration::from_millis(1));
            let result = if ws {
                probe_ws(addr, broker.credentials(), attempt)
            } else {
                broker.probe(attempt)
            };
            let Err(e) = result else { break };
            if !broker.is_running() {
                return Err(BrokerError::Stopped);
            }
            let retry = matches!(
                e,
                BrokerError::Unreachable { .. } | BrokerError::ProbeTimeout { .. }
            );
            if !retry || started.elapsed() >= READY_TIMEOUT {
                return Err(BrokerError::NotReady {
                    addr,
                    waited: started.elapsed(),
                    last: Box::new(e),
                });
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(())
}

/// Checks that `addr` can be bound and, for port 0, picks a free port. The listener is
/// closed again before rumqttd binds: rumqttd binds inside its own thread and only logs a
/// failure, so this is where a taken port becomes an error.
fn reserve(
    listener: &'static str,
    scheme: &'static str,
    addr: SocketAddr,
) -> Result<SocketAddr, BrokerError> {
    match TcpListener::bind(addr) {
        Ok(l) => l.local_addr().map_err(|source| BrokerError::Bind {
            listener,
            addr,
            source,
        }),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Err(BrokerError::PortInUse {
            listener,
            addr,
            port: addr.port(),
            scheme,
            host: local_client_addr(addr).ip().to_string(),
        }),
        Err(source) => Err(BrokerError::Bind {
            listener,
            addr,
            source,
        }),
    }
}

/// A wildcard listener address as a client on this host reaches it.
fn local_client_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}
