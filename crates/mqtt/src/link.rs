//! [`Link`]: one MQTT client connection. Its rumqttc event loop runs in a task of
//! its own that forwards what arrives over an unbounded channel and reconnects with
//! the protocol's [`Backoff`] — the firmware's algorithm, so a virtual board
//! reconnects as a real one does; the owner publishes through the client from its
//! own task.
//!
//! Nothing is queued across an outage: while the link is down a publish is refused
//! ([`PublishError::Offline`]), and whatever was queued or in flight when the
//! connection dropped is discarded, so after a reconnect the broker gets only what
//! the owner publishes from then on — its current state — never a backlog of stale
//! ones. A link may keep a persistent session ([`LinkOptions::persistent_session`]):
//! the broker then keeps its subscriptions and queues QoS 1 messages for it while it
//! is away (docs/protocol.md, "Sessions").

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectionError, Event, LastWill, MqttOptions, Packet, QoS, TlsConfiguration,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use winter_river_protocol::{Backoff, Qos};

use crate::tls::{ClientTls, describe, not_tls};
use crate::url::{BrokerUrl, Transport};

/// Why the connection failed: for a TLS failure, a sentence saying what to do
/// (an untrusted certificate, a name it lacks, a plain port); else rumqttc's.
fn why(e: &ConnectionError, (host, port, tls): &(String, u16, Option<ClientTls>)) -> String {
    let Some(tls) = tls else {
        return e.to_string();
    };
    match (describe(e, host, *port, tls), e) {
        (Some(sentence), _) => sentence,
        // The handshake failed below TLS: a plain MQTT port just hangs up.
        (None, ConnectionError::Tls(inner)) => not_tls(host, *port, inner),
        (None, _) => e.to_string(),
    }
}

/// A Last Will: published by the broker if the client vanishes.
pub type Will = winter_river_protocol::Publish;

/// First reconnect ceiling of [`LinkOptions::new`] \[ms\]. Short: the engine, the
/// web and the CLI are one client each, usually beside the broker, so there is no
/// crowd to spread out and a short wait puts them back soon after a restart.
/// Boards use the firmware's bounds ([`Backoff::new`]).
pub const LOCAL_BACKOFF_BASE_MS: u64 = 200;
/// Largest reconnect ceiling of [`LinkOptions::new`] \[ms\].
pub const LOCAL_BACKOFF_CAP_MS: u64 = 5_000;

/// A reconnect seed from a client id (FNV-1a): clients with different ids do not
/// retry in lockstep after a broker restart, and one id always retries the same way.
pub fn client_seed(client_id: &str) -> u64 {
    client_id.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    })
}

/// The client id of a program that keeps a persistent session: the same on every
/// run, so the broker hands it back the session (and what it queued) after a
/// restart, and distinct per piece and topic prefix, e.g. `winter-river-engine@site`.
/// Two programs with one id take turns kicking each other off the broker: one engine
/// per prefix, one board per node.
pub fn session_client_id(piece: &str, prefix: &str) -> String {
    format!("winter-river-{piece}@{prefix}")
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    pub client_id: String,
    /// MQTT keepalive \[s\]; 0 turns it off (no Winter River client does).
    pub keep_alive_s: u16,
    pub last_will: Option<Will>,
    /// Largest packet in either direction \[bytes\] (the topology of a large site is big).
    pub max_packet_bytes: usize,
    /// Requests the owner may queue before publishing fails with `Full`.
    pub request_capacity: usize,
    /// Outgoing QoS 1 messages in flight.
    pub inflight: u16,
    /// When to try again after the connection fails or drops: the protocol's one
    /// back-off (full jitter under a doubling ceiling), in the state it starts from.
    /// The link runs its own copy; a ConnAck starts it over.
    pub reconnect: Backoff,
    /// Keep the session on the broker (MQTT `clean_session` false): subscriptions
    /// survive a reconnect and the broker queues QoS 1 messages for them while the
    /// client is away (and across its own restart, if it persists sessions). Needs a
    /// client id stable across restarts of the program, unique to it.
    pub persistent_session: bool,
}

impl LinkOptions {
    pub fn new(client_id: impl Into<String>) -> LinkOptions {
        let client_id = client_id.into();
        LinkOptions {
            keep_alive_s: 10,
            last_will: None,
            max_packet_bytes: 64 * 1024 * 1024,
            request_capacity: 10_000,
            inflight: 100,
            reconnect: Backoff::with_bounds(
                LOCAL_BACKOFF_BASE_MS,
                LOCAL_BACKOFF_CAP_MS,
                client_seed(&client_id),
            ),
            client_id,
            persistent_session: false,
        }
    }

    /// Reconnects with these bounds \[ms\] (first ceiling, largest ceiling), seeded
    /// from the client id.
    pub fn backoff_bounds(&mut self, base_ms: u64, cap_ms: u64) -> &mut LinkOptions {
        self.reconnect = Backoff::with_bounds(base_ms, cap_ms, client_seed(&self.client_id));
        self
    }
}

/// What the event loop reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    /// ConnAck received: (re)subscribe and (re)announce now.
    Connected,
    /// The connection dropped; the link retries by itself.
    Disconnected {
        reason: String,
    },
    Message {
        topic: String,
        payload: Vec<u8>,
    },
}

/// A publish the link could not queue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("the request queue is full ({0} pending): message dropped")]
    Full(usize),
    #[error("the link is closed")]
    Closed,
    #[error("not connected to the broker: message dropped")]
    Offline,
}

/// One MQTT connection with its event loop in its own task.
#[derive(Debug)]
pub struct Link {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<LinkEvent>,
    task: JoinHandle<()>,
    capacity: usize,
    /// Whether the connection is up. Held while a request is queued and while the
    /// event loop discards what an outage left queued, so no request slips between.
    online: Arc<Mutex<bool>>,
}

fn lock(online: &Mutex<bool>) -> MutexGuard<'_, bool> {
    online.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn qos(q: Qos) -> QoS {
    match q {
        Qos::AtMostOnce => QoS::AtMostOnce,
        Qos::AtLeastOnce => QoS::AtLeastOnce,
        Qos::ExactlyOnce => QoS::ExactlyOnce,
    }
}

impl Link {
    /// Starts connecting to `url` in the background (call inside a tokio runtime).
    /// Watch [`Link::recv`] for `Connected`.
    pub fn connect(url: &BrokerUrl, options: &LinkOptions) -> Link {
        let mut mqtt = match url.transport {
            Transport::Tcp => MqttOptions::new(&options.client_id, &url.host, url.port),
            Transport::WebSocket => {
                MqttOptions::new(&options.client_id, url.ws_address(), url.port)
            }
        };
        mqtt.set_transport(match (url.transport, &url.tls) {
            (Transport::Tcp, None) => rumqttc::Transport::Tcp,
            (Transport::WebSocket, None) => rumqttc::Transport::Ws,
            (Transport::Tcp, Some(tls)) => {
                rumqttc::Transport::Tls(TlsConfiguration::Rustls(tls.config()))
            }
            (Transport::WebSocket, Some(tls)) => {
                rumqttc::Transport::Wss(TlsConfiguration::Rustls(tls.config()))
            }
        });
        mqtt.set_keep_alive(Duration::from_secs(u64::from(options.keep_alive_s.max(1))))
            .set_clean_session(!options.persistent_session)
            .set_max_packet_size(options.max_packet_bytes, options.max_packet_bytes)
            .set_inflight(options.inflight.max(1))
            .set_request_channel_capacity(options.request_capacity);
        if let Some((user, pass)) = &url.credentials {
            mqtt.set_credentials(user, pass);
        }
        if let Some(w) = &options.last_will {
            mqtt.set_last_will(LastWill::new(
                &w.topic,
                w.payload.clone(),
                qos(w.qos),
                w.retain,
            ));
        }
        let (client, mut eventloop) = AsyncClient::new(mqtt, options.request_capacity);
        // Without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold a small publish
        // that follows another for ~40 ms: a board's status after an update.
        let mut network = eventloop.network_options();
        network.set_tcp_nodelay(true);
        eventloop.set_network_options(network);
        let (tx, events) = mpsc::unbounded_channel();
        let mut backoff = options.reconnect.clone();
        let id = options.client_id.clone();
        let server = (url.host.clone(), url.port, url.tls.clone());
        let online = Arc::new(Mutex::new(false));
        let gate = Arc::clone(&online);
        let task = tokio::spawn(async move {
            // The back-off's clock: milliseconds since the link started.
            let start = tokio::time::Instant::now();
            loop {
                let sent = match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        *lock(&gate) = true;
                        backoff.on_success();
                        tx.send(LinkEvent::Connected)
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => tx.send(LinkEvent::Message {
                        topic: p.topic,
                        payload: p.payload.to_vec(),
                    }),
                    Ok(_) => Ok(()),
                    Err(e) => {
                        if matches!(e, ConnectionError::RequestsDone) {
                            return;
                        }
                        {
                            // Stale by the time the broker is back: drop what was
                            // queued or in flight (rumqttc would send it first).
                            let mut up = lock(&gate);
                            *up = false;
                            eventloop.clean();
                            let stale = eventloop.pending.len();
                            eventloop.pending.clear();
                            if stale > 0 {
                                tracing::debug!(client = %id, stale, "dropped requests queued before the outage");
                            }
                        }
                        let now_ms = start.elapsed().as_millis() as u64;
                        let retry_at_ms = backoff.on_failure(now_ms);
                        let reason = why(&e, &server);
                        tracing::debug!(
                            client = %id,
                            "mqtt connection lost: {reason}; retrying in {} ms",
                            retry_at_ms - now_ms
                        );
                        if tx.send(LinkEvent::Disconnected { reason }).is_err() {
                            return;
                        }
                        tokio::time::sleep_until(start + Duration::from_millis(retry_at_ms)).await;
                        Ok(())
                    }
                };
                if sent.is_err() {
                    return; // the owner is gone
                }
            }
        });
        Link {
            client,
            events,
            task,
            capacity: options.request_capacity,
            online,
        }
    }

    /// The next thing the event loop saw; `None` once the link is closed.
    pub async fn recv(&mut self) -> Option<LinkEvent> {
        self.events.recv().await
    }

    /// Whether the connection is up (between a ConnAck and the next drop).
    pub fn is_connected(&self) -> bool {
        *lock(&self.online)
    }

    /// Queues a publish without waiting; fails when the queue is full, and while
    /// the link is down ([`PublishError::Offline`]: nothing waits for a reconnect).
    pub fn publish(
        &self,
        topic: &str,
        payload: Vec<u8>,
        q: Qos,
        retain: bool,
    ) -> Result<(), PublishError> {
        let up = lock(&self.online);
        if !*up {
            return Err(PublishError::Offline);
        }
        self.client
            .try_publish(topic, qos(q), retain, payload)
            .map_err(|_| self.refusal())
    }

    /// Queues a subscription without waiting; refused while the link is down
    /// (subscribe again on [`LinkEvent::Connected`]).
    pub fn subscribe(&self, filter: &str, q: Qos) -> Result<(), PublishError> {
        let up = lock(&self.online);
        if !*up {
            return Err(PublishError::Offline);
        }
        self.client
            .try_subscribe(filter, qos(q))
            .map_err(|_| self.refusal())
    }

    /// Why a request was refused: rumqttc's `try_*` calls report a full queue and a
    /// closed one with the same error, so the event loop's task tells them apart.
    fn refusal(&self) -> PublishError {
        if self.task.is_finished() {
            PublishError::Closed
        } else {
            PublishError::Full(self.capacity)
        }
    }

    /// Sends DISCONNECT (after what is queued) and waits up to `timeout` for the
    /// event loop to finish flushing.
    pub async fn disconnect(mut self, timeout: Duration) {
        let _ = self.client.try_disconnect();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            tokio::select! {
                ev = self.events.recv() => if ev.is_none() || matches!(ev, Some(LinkEvent::Disconnected { .. })) { break },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        self.task.abort();
    }

    /// Drops the connection at once, without DISCONNECT (the broker then sends
    /// the Last Will) — what a board losing power looks like.
    pub fn kill(self) {
        self.task.abort();
    }
}
