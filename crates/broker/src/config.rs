//! The embedded broker's configuration: what it listens on, who may connect, and every
//! limit, each with the reason for its default (docs/broker.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio_rustls::rustls::ServerConfig;

use crate::{Access, BrokerError};

/// What the embedded broker listens on and who may connect.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// MQTT 3.1.1 over TCP. Port 0 picks a free port (see `RunningBroker::mqtt_addr`).
    pub mqtt_addr: SocketAddr,
    /// MQTT 3.1.1 over WebSocket (any path; `/mqtt` by convention), or none.
    pub ws_addr: Option<SocketAddr>,
    /// MQTT over TLS (`mqtts`, 8883 by convention) and over secure WebSocket (`wss`),
    /// with the certificate of `winter_river_tls::server_config`.
    pub tls: Option<TlsListeners>,
    /// Username and password every client must present; `None` = anonymous.
    pub credentials: Option<(String, String)>,
    /// Who may connect and what each client may publish and subscribe to
    /// (docs/security.md, "MQTT roles"): anonymous admins, the shared credential, or
    /// the roles of an auth file.
    pub access: Access,
    /// Concurrent client connections over every listener.
    pub max_connections: usize,
    /// Concurrent connections from one address other than loopback (the virtual fleet
    /// connects thousands of boards from 127.0.0.1; a hotspot gives each board its own
    /// address).
    pub max_connections_per_address: usize,
    /// Browser origins (`http://host:port`, exactly as the browser sends them) whose pages
    /// may open the WebSocket listener. A WebSocket request without an `Origin` header
    /// (not a browser) is always accepted; one from any other origin is refused, so a web
    /// page an operator happens to open cannot drive the testbed.
    pub ws_allowed_origins: Vec<String>,
    /// Buffers and limits; the defaults suit ten thousand boards.
    pub limits: Limits,
    /// Where retained messages and persistent sessions are kept across restarts
    /// (written at most once a second and on shutdown); `None`: in memory only.
    pub state_file: Option<PathBuf>,
}

impl Default for BrokerConfig {
    /// TCP `0.0.0.0:1883`, WebSocket `0.0.0.0:9001`, anonymous, 10,000 connections
    /// (docs/architecture.md), 64 from one non-loopback address, no browser origin.
    fn default() -> Self {
        BrokerConfig {
            mqtt_addr: ([0, 0, 0, 0], 1883).into(),
            ws_addr: Some(([0, 0, 0, 0], 9001).into()),
            tls: None,
            credentials: None,
            access: Access::anonymous(),
            max_connections: 10_000,
            max_connections_per_address: 64,
            ws_allowed_origins: Vec::new(),
            limits: Limits::default(),
            state_file: None,
        }
    }
}

impl BrokerConfig {
    /// Both listeners on loopback with free ports (for tests and benchmarks).
    pub fn loopback() -> Self {
        BrokerConfig {
            mqtt_addr: ([127, 0, 0, 1], 0).into(),
            ws_addr: Some(([127, 0, 0, 1], 0).into()),
            ..BrokerConfig::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), BrokerError> {
        if self.max_connections == 0 {
            return Err(BrokerError::Config(
                "max_connections is 0: no client could connect".to_owned(),
            ));
        }
        if self.max_connections_per_address == 0 {
            return Err(BrokerError::Config(
                "max_connections_per_address is 0: no board on the network could connect"
                    .to_owned(),
            ));
        }
        if let Some((user, _)) = &self.credentials
            && user.is_empty()
        {
            return Err(BrokerError::Config("the username is empty".to_owned()));
        }
        if let Some(ws) = self.ws_addr
            && ws.port() != 0
            && ws == self.mqtt_addr
        {
            return Err(BrokerError::Config(format!(
                "MQTT and WebSocket listeners both on {ws}"
            )));
        }
        self.limits.validate()
    }
}

impl std::fmt::Debug for BrokerConfig {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("mqtt_addr", &self.mqtt_addr)
            .field("ws_addr", &self.ws_addr)
            .field("tls", &self.tls)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(user, _)| (user, "***")),
            )
            .field("access", &self.access)
            .field("max_connections", &self.max_connections)
            .field(
                "max_connections_per_address",
                &self.max_connections_per_address,
            )
            .field("ws_allowed_origins", &self.ws_allowed_origins)
            .field("limits", &self.limits)
            .field("state_file", &self.state_file)
            .finish()
    }
}

/// The TLS listeners and their certificate.
#[derive(Clone)]
pub struct TlsListeners {
    pub server: Arc<ServerConfig>,
    /// `mqtts`: MQTT over TLS, or none.
    pub mqtts_addr: Option<SocketAddr>,
    /// `wss`: MQTT over WebSocket over TLS, or none.
    pub wss_addr: Option<SocketAddr>,
}

impl PartialEq for TlsListeners {
    /// The same listeners with the same certificate configuration (by identity).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.server, &other.server)
            && self.mqtts_addr == other.mqtts_addr
            && self.wss_addr == other.wss_addr
    }
}

impl Eq for TlsListeners {}

impl std::fmt::Debug for TlsListeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListeners")
            .field("mqtts_addr", &self.mqtts_addr)
            .field("wss_addr", &self.wss_addr)
            .finish_non_exhaustive()
    }
}

/// Sizes of messages and queues. A PUBLISH is refused (logged and counted, the
/// connection kept) when its packet is larger than the limit of its topic's class; any
/// packet larger than `max_packet_bytes` closes the connection (nothing that large is
/// ever legitimate, and reading it would hold the memory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest packet of any kind \[B\]: the retained `system/topology` of a very large
    /// site (≈ 1.3 MB at 8,000 nodes) with room to spare.
    pub max_packet_bytes: usize,
    /// Largest PUBLISH on a `…/command` topic \[B\]: four times the 16 KiB contract limit,
    /// so a slightly oversized command still reaches the engine, which counts and drops
    /// it (docs/protocol.md), while no board is sent more than its client accepts
    /// (256 KiB for the virtual fleet, and the firmware skips what does not fit).
    pub max_command_bytes: usize,
    /// Largest PUBLISH on any other topic \[B\] except `system/topology`.
    pub max_message_bytes: usize,
    /// Messages waiting for one connected client before a publisher has to wait.
    pub queue_messages: usize,
    /// QoS 1/2 messages kept for a persistent session while its client is away; the
    /// oldest is dropped (logged and counted) beyond it.
    pub offline_messages: usize,
    /// Unacknowledged QoS 1/2 messages sent to one client; the rest wait in its queue.
    pub max_inflight: usize,
    /// How long a publisher waits for room in a subscriber's full queue before that
    /// subscriber is marked slow and messages for it are dropped (logged and counted)
    /// until its queue has drained \[ms\].
    pub slow_subscriber_wait_ms: u64,
    /// Time a new connection has to send CONNECT \[ms\].
    pub connect_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_packet_bytes: 32 * 1024 * 1024,
            max_command_bytes: 64 * 1024,
            max_message_bytes: 1024 * 1024,
            queue_messages: 10_000,
            offline_messages: 1_000,
            max_inflight: 1_000,
            slow_subscriber_wait_ms: 2_000,
            connect_timeout_ms: 10_000,
        }
    }
}

impl Limits {
    fn validate(&self) -> Result<(), BrokerError> {
        let zero = [
            ("max_packet_bytes", self.max_packet_bytes),
            ("max_command_bytes", self.max_command_bytes),
            ("max_message_bytes", self.max_message_bytes),
            ("queue_messages", self.queue_messages),
            ("max_inflight", self.max_inflight),
        ]
        .into_iter()
        .find(|(_, value)| *value == 0);
        if let Some((name, _)) = zero {
            return Err(BrokerError::Config(format!("{name} must be at least 1")));
        }
        Ok(())
    }

    /// The largest PUBLISH packet accepted on `topic` \[B\].
    pub(crate) fn publish_limit(&self, topic: &str) -> usize {
        if topic.ends_with("/system/topology") || topic == "system/topology" {
            self.max_packet_bytes
        } else if topic.ends_with("/command") {
            self.max_command_bytes
        } else {
            self.max_message_bytes
        }
    }
}
