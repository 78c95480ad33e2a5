//! Winter River's embedded MQTT 3.1.1 broker: its own, on tokio, sharing the board's
//! codec (`winter-river-mqtt-codec`, its `server` module). It listens on TCP and
//! WebSocket, keeps persistent sessions and retained messages in memory, delivers QoS 0,
//! 1 and 2, and never drops a message without saying so: a publisher waits for room in a
//! subscriber's queue, and what is refused or dropped is counted ([`BrokerStats`]) and
//! logged at most once per kind every ten seconds. See `docs/broker.md` for the choice
//! (measured against rumqttd, rmqtt and Mosquitto), the limits and their defaults.
//!
//! [`start`] binds the listeners (a taken port is an error naming it), runs the broker on
//! a runtime of its own (two threads), and returns once a raw MQTT CONNECT gets its
//! CONNACK. [`RunningBroker::shutdown`] stops it in-process.
//!
//! This crate logs through `tracing` and installs no subscriber.

mod access;
mod config;
mod connection;
mod link;
mod listener;
mod persist;
mod probe;
mod router;
mod shared;
mod stats;
mod websocket;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use access::{Access, AccessError, Denied, Principal, Refused, Role};
pub use config::{BrokerConfig, Limits, TlsListeners};
pub use persist::StateFileError;
pub use probe::{probe, probe_with_credentials, probe_ws};
pub use stats::BrokerStats;

use crate::listener::Transport;
use crate::shared::Shared;

/// How long [`start`] waits for the broker to answer after spawning it.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`RunningBroker::shutdown`] waits for the connections to close.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

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
    /// The state file cannot be read back.
    #[error(transparent)]
    State(#[from] StateFileError),
    /// The configuration cannot work (both listeners on one port, empty username, …).
    #[error("invalid broker configuration: {0}")]
    Config(String),
    /// The broker's threads could not be spawned.
    #[error("cannot start the broker thread: {0}")]
    Spawn(io::Error),
    /// The broker was started but did not answer in time; the last probe error says why.
    #[error("the embedded broker did not become ready on {addr} within {waited:?}: {last}")]
    NotReady {
        addr: SocketAddr,
        waited: Duration,
        last: Box<BrokerError>,
    },
    /// The broker's thread ended (shut down, or a fatal error logged above).
    #[error("the embedded broker stopped (see the log above)")]
    Stopped,
    /// Probe: nothing accepts TCP connections there (closed port, unreachable host).
    #[error("no MQTT broker reachable at {addr}: {source}")]
    Unreachable { addr: SocketAddr, source: io::Error },
    /// Probe: the exchange did not finish in time.
    #[error("no MQTT answer from {addr} within {timeout:?}")]
    ProbeTimeout { addr: SocketAddr, timeout: Duration },
    /// Probe: the broker closed the connection instead of sending CONNACK (some brokers
    /// do this for missing or wrong credentials).
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

/// A started embedded broker. Dropping it leaves the broker running until the process
/// exits; [`RunningBroker::shutdown`] stops it.
pub struct RunningBroker {
    mqtt_addr: SocketAddr,
    ws_addr: Option<SocketAddr>,
    mqtts_addr: Option<SocketAddr>,
    wss_addr: Option<SocketAddr>,
    credentials: Option<(String, String)>,
    shared: Arc<Shared>,
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

    /// The `mqtts` (MQTT over TLS) listener's address, if enabled.
    pub fn mqtts_addr(&self) -> Option<SocketAddr> {
        self.mqtts_addr
    }

    /// The `wss` (MQTT over secure WebSocket) listener's address, if enabled.
    pub fn wss_addr(&self) -> Option<SocketAddr> {
        self.wss_addr
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

    /// `ws://host:port/mqtt` for WebSocket clients on this host. The broker serves MQTT
    /// on any path; `/mqtt` is the conventional one (Mosquitto, MQTT.js).
    pub fn ws_url(&self) -> Option<String> {
        self.ws_addr
            .map(|addr| format!("ws://{}/mqtt", local_client_addr(addr)))
    }

    /// False once the broker's thread has ended.
    pub fn is_running(&self) -> bool {
        !self.thread.is_finished()
    }

    /// What the broker has refused and dropped since it started, and what it carried.
    pub fn stats(&self) -> BrokerStats {
        self.shared.stats.snapshot()
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

    /// Stops the broker: closes the listeners and every connection (no Will is sent for a
    /// connection the broker closes itself) and waits for its thread. The ports are free
    /// again when this returns.
    pub fn shutdown(self) {
        self.shared.stop();
        let _ = self.thread.join();
    }

    /// Blocks until the broker stops, which only happens on [`RunningBroker::shutdown`]
    /// from elsewhere or a fatal error.
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

/// Starts the embedded broker: binds each listener (a taken port is an error naming it),
/// runs the broker on its own two-thread runtime, and returns once a raw MQTT CONNECT
/// over TCP gets its CONNACK and the WebSocket listener completes an MQTT handshake
/// (within [`READY_TIMEOUT`]).
pub fn start(config: BrokerConfig) -> Result<RunningBroker, BrokerError> {
    config.validate()?;
    let mqtt = bind("MQTT", "mqtt", config.mqtt_addr)?;
    let ws = match config.ws_addr {
        Some(addr) => Some(bind("WebSocket", "ws", addr)?),
        None => None,
    };
    let addr_of = |listener: &TcpListener, addr: SocketAddr, name: &'static str| {
        listener.local_addr().map_err(|source| BrokerError::Bind {
            listener: name,
            addr,
            source,
        })
    };
    let mqtt_addr = addr_of(&mqtt, config.mqtt_addr, "MQTT")?;
    let ws_addr = match (&ws, config.ws_addr) {
        (Some(listener), Some(addr)) => Some(addr_of(listener, addr, "WebSocket")?),
        _ => None,
    };
    let mut tls_listeners = Vec::new();
    let mut mqtts_addr = None;
    let mut wss_addr = None;
    if let Some(tls) = &config.tls {
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server.clone());
        for (addr, name, scheme, slot, transport) in [
            (
                tls.mqtts_addr,
                "mqtts",
                "mqtts",
                &mut mqtts_addr,
                Transport::Mqtts(acceptor.clone()),
            ),
            (
                tls.wss_addr,
                "wss",
                "wss",
                &mut wss_addr,
                Transport::Wss(acceptor.clone()),
            ),
        ] {
            let Some(addr) = addr else { continue };
            let listener = bind(name, scheme, addr)?;
            *slot = Some(addr_of(&listener, addr, name)?);
            tls_listeners.push((listener, transport));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("broker")
        .enable_all()
        .build()
        .map_err(BrokerError::Spawn)?;
    let credentials = config.credentials.clone();
    let router = match &config.state_file {
        Some(path) => router::Router::restored(persist::load(path)?),
        None => router::Router::default(),
    };
    let shared = Shared::with_router(config, router);
    let thread = {
        let shared = shared.clone();
        thread::Builder::new()
            .name("broker".to_owned())
            .spawn(move || runtime.block_on(serve(mqtt, ws, tls_listeners, shared)))
            .map_err(BrokerError::Spawn)?
    };
    let broker = RunningBroker {
        mqtt_addr,
        ws_addr,
        mqtts_addr,
        wss_addr,
        credentials,
        shared,
        thread,
    };
    wait_ready(&broker)?;
    tracing::info!(
        mqtt = %broker.mqtt_addr,
        ws = ?broker.ws_addr,
        login_required = broker.credentials.is_some() || broker.shared.access.requires_login(),
        "embedded MQTT broker ready"
    );
    Ok(broker)
}

/// The broker's life on its runtime: the accept loops until the stop signal, then every
/// connection closed (they watch the same signal) within [`SHUTDOWN_WAIT`].
async fn serve(
    mqtt: TcpListener,
    ws: Option<TcpListener>,
    tls: Vec<(TcpListener, Transport)>,
    shared: Arc<Shared>,
) {
    let mut loops = Vec::new();
    for (listener, transport) in std::iter::once((mqtt, Transport::Tcp))
        .chain(ws.map(|ws| (ws, Transport::WebSocket)))
        .chain(tls)
    {
        let name = transport.name();
        match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => loops.push(tokio::spawn(listener::accept_loop(
                listener,
                transport,
                shared.clone(),
            ))),
            Err(e) => tracing::error!(error = %e, "the broker cannot use its {name} listener"),
        }
    }
    let saver = shared
        .config
        .state_file
        .clone()
        .map(|path| tokio::spawn(keep_state(path, shared.clone())));
    for accept in loops {
        let _ = accept.await;
    }
    // Connections see the same signal; give them a moment to close their sockets (and
    // hand their sessions back).
    let deadline = Instant::now() + SHUTDOWN_WAIT;
    let others = 2 + usize::from(saver.is_some());
    while Arc::strong_count(&shared) > others && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(saver) = saver {
        let _ = saver.await;
    }
}

/// Writes the state file at most once a second while the router changes, and once more
/// when the broker stops.
async fn keep_state(path: std::path::PathBuf, shared: Arc<Shared>) {
    let mut saved = shared.router().changes();
    let mut shutdown = shared.shutdown.clone();
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => false,
            _ = shutdown.wait_for(|stop| *stop) => true,
        };
        if stopping {
            // Let the connections hand their sessions back first.
            let deadline = Instant::now() + SHUTDOWN_WAIT;
            while Arc::strong_count(&shared) > 3 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let (changes, snapshot) = {
            let router = shared.router();
            let changes = router.changes();
            (
                changes,
                (changes != saved || stopping).then(|| router.snapshot()),
            )
        };
        if let Some(snapshot) = snapshot {
            let file = path.clone();
            let written =
                tokio::task::spawn_blocking(move || persist::save(&file, &snapshot)).await;
            match written {
                Ok(Ok(())) => saved = changes,
                Ok(Err(e)) => tracing::warn!(
                    file = %path.display(),
                    error = %e,
                    "cannot write the broker's state file; retrying in a second"
                ),
                Err(_) => {}
            }
        }
        if stopping {
            return;
        }
    }
}

/// Starts the broker and blocks while it runs (for `winter-river broker`). Returns only on
/// a start error or if the broker stops on its own; the process ends it with a signal.
pub fn run_blocking(config: BrokerConfig) -> Result<(), BrokerError> {
    Err(start(config)?.wait())
}

/// Probes until the TCP and then the WebSocket listener answer, the broker's thread dies,
/// or [`READY_TIMEOUT`] passes.
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
            // Under an auth file the probe has no login of its own: a CONNACK refusing it
            // shows the broker answers MQTT all the same.
            if matches!(e, BrokerError::Refused { .. })
                && broker.credentials.is_none()
                && broker.shared.access.requires_login()
            {
                break;
            }
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

/// Binds `addr` for a listener, non-blocking, ready for tokio; a taken port becomes
/// [`BrokerError::PortInUse`].
fn bind(
    listener: &'static str,
    scheme: &'static str,
    addr: SocketAddr,
) -> Result<TcpListener, BrokerError> {
    let bound = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            return Err(BrokerError::PortInUse {
                listener,
                addr,
                port: addr.port(),
                scheme,
                host: local_client_addr(addr).ip().to_string(),
            });
        }
        Err(source) => {
            return Err(BrokerError::Bind {
                listener,
                addr,
                source,
            });
        }
    };
    bound
        .set_nonblocking(true)
        .map_err(|source| BrokerError::Bind {
            listener,
            addr,
            source,
        })?;
    Ok(bound)
}

/// A wildcard listener address as a client on this host reaches it.
fn local_client_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}
