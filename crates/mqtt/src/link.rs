//! [`Link`]: one MQTT client connection. Its rumqttc event loop runs in a task of
//! its own that forwards what arrives over an unbounded channel and reconnects with
//! backoff; the owner publishes through the client from its own task.

use std::time::Duration;

use rumqttc::{AsyncClient, ConnectionError, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use winter_river_protocol::Qos;

use crate::url::{BrokerUrl, Transport};

/// A Last Will: published by the broker if the client vanishes.
pub type Will = winter_river_protocol::Publish;

/// How to connect.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    pub client_id: String,
    /// MQTT keepalive \[s\]; must be > 0 (rumqttd refuses 0).
    pub keep_alive_s: u16,
    pub last_will: Option<Will>,
    /// Largest packet in either direction \[bytes\] (the topology of a large site is big).
    pub max_packet_bytes: usize,
    /// Requests the owner may queue before publishing fails with `Full`.
    pub request_capacity: usize,
    /// Outgoing QoS 1 messages in flight.
    pub inflight: u16,
    /// First reconnect delay \[ms\]; doubles up to `max_backoff_ms`; each wait is
    /// jittered to between half and all of it.
    pub min_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl LinkOptions {
    pub fn new(client_id: impl Into<String>) -> LinkOptions {
        LinkOptions {
            client_id: client_id.into(),
            keep_alive_s: 10,
            last_will: None,
            max_packet_bytes: 64 * 1024 * 1024,
            request_capacity: 10_000,
            inflight: 100,
            min_backoff_ms: 200,
            max_backoff_ms: 5_000,
        }
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
}

/// One MQTT connection with its event loop in its own task.
#[derive(Debug)]
pub struct Link {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<LinkEvent>,
    task: JoinHandle<()>,
    capacity: usize,
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
                let mut o = MqttOptions::new(&options.client_id, url.ws_address(), url.port);
                o.set_transport(rumqttc::Transport::Ws);
                o
            }
        };
        mqtt.set_keep_alive(Duration::from_secs(u64::from(options.keep_alive_s.max(1))))
            .set_clean_session(true)
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
        let (min_ms, max_ms) = (options.min_backoff_ms.max(1), options.max_backoff_ms.max(1));
        let id = options.client_id.clone();
        // Per-client jitter so a fleet does not reconnect in lockstep after a broker restart.
        let mut rng = id.bytes().fold(0x9E37_79B9_7F4A_7C15_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
        }) | 1;
        let task = tokio::spawn(async move {
            let mut backoff_ms = min_ms;
            loop {
                let sent = match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        backoff_ms = min_ms;
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
                        tracing::debug!(client = %id, "mqtt connection lost: {e}; retrying within {backoff_ms} ms");
                        if tx
                            .send(LinkEvent::Disconnected {
                                reason: e.to_string(),
                            })
                            .is_err()
                        {
                            return;
                        }
                        // xorshift64: a delay uniform in [backoff/2, backoff].
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let delay_ms = backoff_ms / 2 + rng % (backoff_ms / 2 + 1);
                        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                        backoff_ms = (backoff_ms * 2).min(max_ms);
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
        }
    }

    /// The next thing the event loop saw; `None` once the link is closed.
    pub async fn recv(&mut self) -> Option<LinkEvent> {
        self.events.recv().await
    }

    /// Queues a publish without waiting; fails when the queue is full.
    pub fn publish(
        &self,
        topic: &str,
        payload: Vec<u8>,
        q: Qos,
        retain: bool,
    ) -> Result<(), PublishError> {
        self.client
            .try_publish(topic, qos(q), retain, payload)
            .map_err(|_| self.refusal())
    }

    /// Queues a subscription without waiting.
    pub fn subscribe(&self, filter: &str, q: Qos) -> Result<(), PublishError> {
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
