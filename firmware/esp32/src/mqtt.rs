//! The board's MQTT 3.1.1 session over an embassy-net TCP socket, through the pure
//! codec: CONNECT with the node's Last Will, SUBSCRIBE to its command topic, PUBLISH
//! at QoS 0/1, PUBACK for QoS 1 deliveries, PINGREQ when idle. Any error ends the
//! session; the caller marks the link down in the node core and reconnects with the
//! protocol's `Backoff`.
//!
//! Clean sessions only: a QoS 1 publish is sent once and its PUBACK is consumed but
//! not awaited. What matters after a reconnect (`online`, the board's fault, a fresh
//! status) is re-sent by the node core on every connect.

use embassy_futures::select::{Either, select};
use embassy_net::IpEndpoint;
use embassy_net::tcp::{self, TcpSocket};
use embassy_time::{Duration, Instant, Timer, with_timeout};
use embedded_io_async::Write;
use winter_river_mqtt_codec::{
    self as codec, ConnectReturnCode, DecodeError, EncodeError, KeepAlive, KeepAliveAction, Packet,
    PacketIds, Publish, QoS, RxBuffer, SUBACK_FAILURE, Will,
};
use winter_river_node::Transmit;
use winter_river_protocol::Qos;

/// Largest packet the board sends \[bytes\]: a status is ~350 bytes of JSON.
pub const TX_BUF_BYTES: usize = 1024;
/// Largest packet the board keeps \[bytes\]: an engine `update` is ~300 bytes; larger
/// packets are skipped (docs/protocol.md: bad input never stops anything).
pub const RX_BUF_BYTES: usize = 2048;
/// How long the TCP connect and the CONNACK may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The session's TCP socket buffers \[bytes\].
pub const TCP_RX_BYTES: usize = RX_BUF_BYTES;
pub const TCP_TX_BYTES: usize = 1536;
/// How long [`close_at_once`] waits for a reset connection's RST to go out.
pub const RST_WAIT: Duration = Duration::from_secs(1);

/// Why a session ended.
#[derive(Debug)]
pub enum SessionError {
    Connect(tcp::ConnectError),
    Tcp(tcp::Error),
    /// The broker closed the connection.
    Closed,
    /// No TCP connection or no CONNACK within [`CONNECT_TIMEOUT`].
    Timeout,
    /// CONNACK with a refusal (e.g. `NotAuthorized` from a Mosquitto without
    /// `allow_anonymous true`).
    Refused(ConnectReturnCode),
    /// SUBACK refused the command topic or the engine's availability.
    SubscribeRefused,
    /// A PINGREQ went unanswered for a keep-alive interval.
    KeepAliveTimeout,
    Encode(EncodeError),
    /// Bytes that are not MQTT: the stream cannot be trusted any more.
    Decode(DecodeError),
    /// A packet a connected client never gets (a second CONNACK).
    Unexpected,
    /// The Wi-Fi link or the board's IP address went away.
    WifiLost,
}

impl From<tcp::Error> for SessionError {
    fn from(e: tcp::Error) -> SessionError {
        SessionError::Tcp(e)
    }
}

impl From<EncodeError> for SessionError {
    fn from(e: EncodeError) -> SessionError {
        SessionError::Encode(e)
    }
}

/// A connected session. Borrows the socket (and so its buffers) for its lifetime.
pub struct Session<'s, 'a> {
    socket: &'s mut TcpSocket<'a>,
    tx: [u8; TX_BUF_BYTES],
    rx: RxBuffer<RX_BUF_BYTES>,
    keep_alive: KeepAlive,
    ids: PacketIds,
    subscribe_id: Option<u16>,
}

/// Milliseconds since boot, the node core's clock.
pub fn now_ms() -> u64 {
    Instant::now().as_millis()
}

impl<'s, 'a> Session<'s, 'a> {
    /// Opens TCP to `broker`, sends CONNECT (clean session, `will` as Last Will,
    /// optional credentials) and waits for an accepting CONNACK.
    pub async fn connect(
        socket: &'s mut TcpSocket<'a>,
        broker: IpEndpoint,
        client_id: &str,
        keep_alive_s: u16,
        will: &Transmit,
        credentials: Option<(&str, &str)>,
    ) -> Result<Session<'s, 'a>, SessionError> {
        // A broker that vanishes mid-write must not hang the board.
        socket.set_timeout(Some(Duration::from_secs(u64::from(keep_alive_s) * 2)));
        with_timeout(CONNECT_TIMEOUT, socket.connect(broker))
            .await
            .map_err(|_| SessionError::Timeout)?
            .map_err(SessionError::Connect)?;

        let mut session = Session {
            socket,
            tx: [0; TX_BUF_BYTES],
            rx: RxBuffer::new(),
            keep_alive: KeepAlive::new(keep_alive_s, now_ms()),
            ids: PacketIds::new(),
            subscribe_id: None,
        };
        let will_topic = will.topic.as_str();
        let n = codec::encode_connect(
            &codec::Connect {
                client_id,
                keep_alive_s,
                clean_session: true,
                will: Some(Will {
                    topic: will_topic,
                    payload: &will.payload,
                    qos: qos_of(will.qos),
                    retain: will.retain,
                }),
                username: credentials.map(|(user, _)| user),
                password: credentials.map(|(_, password)| password.as_bytes()),
            },
            &mut session.tx,
        )?;
        session.send(n).await?;

        with_timeout(CONNECT_TIMEOUT, session.await_connack())
            .await
            .map_err(|_| SessionError::Timeout)??;
        Ok(session)
    }

    async fn await_connack(&mut self) -> Result<(), SessionError> {
        loop {
            self.fill().await?;
            match self.rx.next_packet() {
                Ok(None) => continue,
                Ok(Some(Packet::ConnAck { return_code, .. })) => {
                    self.keep_alive.on_received();
                    return match return_code {
                        ConnectReturnCode::Accepted => Ok(()),
                        refused => Err(SessionError::Refused(refused)),
                    };
                }
                Ok(Some(_)) => return Err(SessionError::Unexpected),
                Err(e) => return Err(SessionError::Decode(e)),
            }
        }
    }

    /// Sends one SUBSCRIBE for the board's two filters at QoS 1 — its command topic
    /// and the engine's availability (`<p>/system/availability`, so it re-asserts
    /// what it holds when the engine comes back); the SUBACK is checked in
    /// [`Session::poll`].
    pub async fn subscribe(&mut self, command: &str, engine: &str) -> Result<(), SessionError> {
        let id = self.ids.next_id();
        let filters = [(command, QoS::AtLeastOnce), (engine, QoS::AtLeastOnce)];
        let n = codec::encode_subscribe(id, &filters, &mut self.tx)?;
        self.subscribe_id = Some(id);
        self.send(n).await
    }

    /// Publishes what the node core handed out.
    pub async fn publish(&mut self, transmit: &Transmit) -> Result<(), SessionError> {
        let qos = qos_of(transmit.qos);
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce => Some(self.ids.next_id()),
        };
        let n = codec::encode_publish(
            &Publish {
                topic: &transmit.topic,
                payload: &transmit.payload,
                qos,
                retain: transmit.retain,
                dup: false,
                packet_id,
            },
            &mut self.tx,
        )?;
        self.send(n).await
    }

    /// Sends DISCONNECT (the broker then drops the Will) and closes the socket.
    pub async fn disconnect(mut self) {
        if let Ok(n) = codec::encode_disconnect(&mut self.tx) {
            let _ = self.send(n).await;
        }
        self.socket.close();
        let _ = self.socket.flush().await;
    }

    /// Waits until `until_ms` or until bytes arrive, whichever is first; hands every
    /// received PUBLISH to `on_publish(topic, payload)`, acknowledges QoS 1 ones and
    /// keeps the connection alive.
    pub async fn poll(
        &mut self,
        until_ms: u64,
        mut on_publish: impl FnMut(&str, &[u8]),
    ) -> Result<(), SessionError> {
        match self.keep_alive.poll(now_ms()) {
            KeepAliveAction::Idle => {}
            KeepAliveAction::SendPing => {
                let n = codec::encode_pingreq(&mut self.tx)?;
                self.send(n).await?;
                self.keep_alive.on_ping_sent(now_ms());
            }
            KeepAliveAction::TimedOut => return Err(SessionError::KeepAliveTimeout),
        }

        // Packets that came in with an earlier read (e.g. right behind CONNACK).
        if self.drain(&mut on_publish).await? > 0 {
            return Ok(());
        }
        let deadline_ms = until_ms.min(self.keep_alive.poll_timeout());
        let read = self.socket.read(self.rx.unfilled());
        match select(read, Timer::at(Instant::from_millis(deadline_ms))).await {
            Either::First(Ok(0)) => return Err(SessionError::Closed),
            Either::First(Ok(n)) => self.rx.commit(n),
            Either::First(Err(e)) => return Err(SessionError::Tcp(e)),
            Either::Second(()) => return Ok(()),
        }
        self.drain(&mut on_publish).await?;
        Ok(())
    }

    /// Handles every complete packet in the RX buffer; returns how many.
    async fn drain(
        &mut self,
        on_publish: &mut impl FnMut(&str, &[u8]),
    ) -> Result<usize, SessionError> {
        let mut handled = 0;
        loop {
            let ack = match self.rx.next_packet() {
                Ok(None) => break,
                Ok(Some(Packet::Publish(p))) => {
                    on_publish(p.topic, p.payload);
                    p.packet_id
                }
                Ok(Some(Packet::SubAck {
                    packet_id,
                    return_codes,
                })) => {
                    if Some(packet_id) == self.subscribe_id
                        && return_codes.contains(&SUBACK_FAILURE)
                    {
                        return Err(SessionError::SubscribeRefused);
                    }
                    None
                }
                Ok(Some(Packet::PubAck { .. } | Packet::UnsubAck { .. } | Packet::PingResp)) => {
                    None
                }
                Ok(Some(Packet::ConnAck { .. })) => return Err(SessionError::Unexpected),
                Err(DecodeError::TooLarge { len }) => {
                    log::warn!("mqtt: skipped a {len}-byte packet (buffer {RX_BUF_BYTES})");
                    None
                }
                Err(e) => return Err(SessionError::Decode(e)),
            };
            handled += 1;
            self.keep_alive.on_received();
            if let Some(id) = ack {
                let n = codec::encode_puback(id, &mut self.tx)?;
                self.send(n).await?;
            }
        }
        Ok(handled)
    }

    /// Writes the first `n` bytes of the TX buffer.
    async fn send(&mut self, n: usize) -> Result<(), SessionError> {
        self.socket.write_all(&self.tx[..n]).await?;
        self.keep_alive.on_sent(now_ms());
        Ok(())
    }

    /// Reads at least one byte into the RX buffer.
    async fn fill(&mut self) -> Result<(), SessionError> {
        match self.socket.read(self.rx.unfilled()).await? {
            0 => Err(SessionError::Closed),
            n => {
                self.rx.commit(n);
                Ok(())
            }
        }
    }
}

/// Resets the connection and waits (briefly) until the RST is out: embassy-net sends
/// it only when the stack next polls the socket, and a socket dropped before that
/// leaves the broker waiting 1.5 keep-alives before it publishes the Will.
pub async fn close_at_once(socket: &mut TcpSocket<'_>) {
    socket.abort();
    let _ = with_timeout(RST_WAIT, socket.flush()).await;
}

fn qos_of(qos: Qos) -> QoS {
    match qos {
        Qos::AtMostOnce => QoS::AtMostOnce,
        // No Winter River topic uses QoS 2; at least once is the closest promise.
        Qos::AtLeastOnce | Qos::ExactlyOnce => QoS::AtLeastOnce,
    }
}
