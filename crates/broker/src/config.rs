//! The embedded broker's configuration and its translation into rumqttd's `Config`, with
//! every limit set explicitly (rumqttd's `RouterConfig::default()` accepts no connection).

use std::collections::HashMap;
use std::net::SocketAddr;

use rumqttd::{Config, ConnectionSettings, RouterConfig, SegmentConfig, ServerSettings};

use crate::{Access, BrokerError};

/// What the embedded broker listens on and who may connect.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// MQTT 3.1.1 over TCP. Port 0 picks a free port (see `RunningBroker::mqtt_addr`).
    pub mqtt_addr: SocketAddr,
    /// MQTT 3.1.1 over WebSocket (any path; `/mqtt` by convention), or none.
    pub ws_addr: Option<SocketAddr>,
    /// Username and password every client must present; `None` = anonymous.
    pub credentials: Option<(String, String)>,
    /// Who may connect and what each client may publish and subscribe to
    /// (docs/security.md, "MQTT roles"): anonymous admins, the shared credential, or
    /// the roles of an auth file.
    pub access: Access,
    /// Concurrent client connections over both listeners.
    pub max_connections: usize,
    /// Buffers and limits; the defaults suit a few thousand boards.
    pub sizing: Sizing,
}

impl Default for BrokerConfig {
    /// TCP `0.0.0.0:1883`, WebSocket `0.0.0.0:9001`, anonymous, 10,000 connections
    /// (docs/architecture.md).
    fn default() -> Self {
        BrokerConfig {
            mqtt_addr: ([0, 0, 0, 0], 1883).into(),
            ws_addr: Some(([0, 0, 0, 0], 9001).into()),
            credentials: None,
            access: Access::anonymous(),
            max_connections: 10_000,
            sizing: Sizing::default(),
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
        if let Some((user, _)) = &self.credentials {
            if user.is_empty() {
                return Err(BrokerError::Config("the username is empty".to_owned()));
            }
        }
        if let Some(ws) = self.ws_addr {
            if ws.port() != 0 && ws == self.mqtt_addr {
                return Err(BrokerError::Config(format!(
                    "MQTT and WebSocket listeners both on {ws}"
                )));
            }
        }
        self.sizing.validate()
    }
}

impl std::fmt::Debug for BrokerConfig {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("mqtt_addr", &self.mqtt_addr)
            .field("ws_addr", &self.ws_addr)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(user, _)| (user, "***")),
            )
            .field("access", &self.access)
            .field("max_connections", &self.max_connections)
            .field("sizing", &self.sizing)
            .finish()
    }
}

/// rumqttd's buffers. rumqttd keeps one in-memory commit log per distinct subscription
/// filter; a consumer that falls further behind than its filter's log skips ahead (loses
/// messages). Sizes count topic + payload bytes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizing {
    /// Largest accepted PUBLISH payload \[B\]. Well above the 16 KiB contract limit so that
    /// oversized payloads reach the engine, which counts and drops them (docs/protocol.md),
    /// and large enough for a big site's retained `system/topology`.
    pub max_payload_bytes: usize,
    /// Messages handed to a QoS 0 subscription per read, which is also the most retained
    /// messages a new QoS 0 subscription receives (rumqttd truncates, see docs/broker.md).
    pub max_outgoing_packet_count: u64,
    /// Segment size of a filter's commit log \[B\].
    pub segment_bytes: usize,
    /// Segments a filter's commit log keeps besides the active one.
    pub segment_count: usize,
    /// Segment size \[B\] for filters matching `+/+/command`: a board's own command topic,
    /// one per board, so kept small (≤ `(count + 1) × bytes` each, thousands of them).
    pub command_segment_bytes: usize,
    /// Segments kept for `+/+/command` filters besides the active one.
    pub command_segment_count: usize,
    /// Time a new TCP connection has to send CONNECT \[ms\] (rumqttd's field is a `u16`).
    pub connect_timeout_ms: u16,
    /// Packets read from one connection in one batch.
    pub read_batch: usize,
}

impl Default for Sizing {
    fn default() -> Self {
        Sizing {
            // The retained topology of a 10,000-node site is a few MiB.
            max_payload_bytes: 32 * 1024 * 1024,
            max_outgoing_packet_count: 10_000,
            // 5 × 256 KiB ≈ 2.5 s of 2,000 boards' statuses at 1 Hz × ~250 B for a wildcard
            // consumer (engine, watch, web) to fall behind before it skips.
            segment_bytes: 256 * 1024,
            segment_count: 4,
            // 3 × 16 KiB ≈ 150 updates of ~300 B per board; 2,000 boards ≤ 96 MiB worst case.
            command_segment_bytes: 16 * 1024,
            command_segment_count: 2,
            connect_timeout_ms: 10_000,
            read_batch: 500,
        }
    }
}

impl Sizing {
    fn validate(&self) -> Result<(), BrokerError> {
        // rumqttd panics on segments under 1 KiB or zero segments.
        if self.segment_bytes < 1024 || self.command_segment_bytes < 1024 {
            return Err(BrokerError::Config(
                "segment sizes must be at least 1024 bytes".to_owned(),
            ));
        }
        if self.segment_count == 0 || self.command_segment_count == 0 {
            return Err(BrokerError::Config(
                "segment counts must be at least 1".to_owned(),
            ));
        }
        if self.max_outgoing_packet_count == 0 || self.read_batch == 0 {
            return Err(BrokerError::Config(
                "max_outgoing_packet_count and read_batch must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}

/// rumqttd's configuration for listeners already checked at `mqtt_addr` and `ws_addr`.
pub(crate) fn rumqttd_config(
    config: &BrokerConfig,
    mqtt_addr: SocketAddr,
    ws_addr: Option<SocketAddr>,
) -> Config {
    let sizing = &config.sizing;
    let connections = ConnectionSettings {
        connection_timeout_ms: sizing.connect_timeout_ms,
        max_payload_size: sizing.max_payload_bytes,
        // Despite the name: packets read per batch from one connection, not a QoS window.
        max_inflight_count: sizing.read_batch,
        auth: config
            .credentials
            .as_ref()
            .map(|(user, pass)| HashMap::from([(user.clone(), pass.clone())])),
        external_auth: None,
        // Publishing to a topic nobody subscribes to must not create a commit log per topic.
        dynamic_filters: false,
    };
    let server = |name: &str, listen: SocketAddr| ServerSettings {
        name: name.to_owned(),
        listen,
        tls: None,
        // rumqttd sleeps this long after every accept; 0 lets 2,000 boards connect at once.
        next_connection_delay_ms: 0,
        connections: connections.clone(),
    };
    let router = RouterConfig {
        max_connections: config.max_connections,
        max_outgoing_packet_count: sizing.max_outgoing_packet_count,
        max_segment_size: sizing.segment_bytes,
        max_segment_count: sizing.segment_count,
        custom_segment: Some(HashMap::from([(
            "+/+/command".to_owned(),
            SegmentConfig {
                max_segment_size: sizing.command_segment_bytes,
                max_segment_count: sizing.command_segment_count,
            },
        )])),
        initialized_filters: None,
        shared_subscriptions_strategy: Default::default(),
    };
    Config {
        id: 0,
        router,
        v4: Some(HashMap::from([(
            "1".to_owned(),
            server("wr-mqtt", mqtt_addr),
        )])),
        v5: None,
        ws: ws_addr.map(|addr| HashMap::from([("1".to_owned(), server("wr-ws", addr))])),
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    }
}
