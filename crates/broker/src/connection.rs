//! One client connection over any byte stream (TCP, TLS, a WebSocket bridge): CONNECT
//! and its checks, then a reader (this task: packets in, routing, acknowledgements) and
//! a writer task (the link's queue out, QoS 1/2 in flight). On close the Will is
//! published unless the client said DISCONNECT, and a persistent session keeps what was
//! not acknowledged.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::Notify;
use winter_river_mqtt_codec::server::{
    Ack, ClientPacket, ConnectRequest, Qos, ServerPublish, decode_client_packet, encode_ack,
    encode_connack, encode_pingresp, encode_server_publish, encode_suback, publish_len,
    valid_filter, valid_publish_topic,
};
use winter_river_mqtt_codec::{SUBACK_FAILURE, packet_len};

use crate::access::Principal;
use crate::link::{Link, LinkEnds, Out, Undelivered};
use crate::router::{Delivery, Message, Target};
use crate::shared::Shared;
use crate::stats::{Kind, shown};

/// A read buffer starts this big and is shrunk back to it after a large packet (a
/// board's status or command is a few hundred bytes; thousands of boards each hold one).
const READ_BUFFER_BYTES: usize = 512;
/// The writer batches queued packets up to this many bytes per write.
const WRITE_BATCH_BYTES: usize = 64 * 1024;
/// Largest packet read before CONNECT has been accepted \[B\]: a CONNECT with a Will is a
/// few hundred bytes, and no one unknown gets to make the broker hold megabytes.
const MAX_CONNECT_BYTES: usize = 64 * 1024;
/// How long a new connection waits for the one it takes over to hand its session back.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);

static AUTO_IDS: AtomicU64 = AtomicU64::new(1);

/// Serves one connection until it closes.
pub(crate) async fn serve<S>(stream: S, peer: SocketAddr, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf = Vec::with_capacity(READ_BUFFER_BYTES);
    let connect_timeout = Duration::from_millis(shared.config.limits.connect_timeout_ms);
    let first = tokio::time::timeout(
        connect_timeout,
        read_packet(&mut rd, &mut buf, MAX_CONNECT_BYTES),
    )
    .await;
    let len = match first {
        Ok(Ok(Some(len))) => len,
        Ok(Ok(None)) => return,
        Ok(Err(reason)) => {
            shared.stats.refuse(Kind::Protocol, 1, || {
                format!("closed a connection from {peer} before CONNECT: {reason}")
            });
            return;
        }
        Err(_) => {
            shared.stats.refuse(Kind::RefusedConnection, 1, || {
                format!("closed a connection from {peer}: no CONNECT within {connect_timeout:?}")
            });
            return;
        }
    };
    let session = match decode_client_packet(&buf[..len]) {
        Ok(Some((ClientPacket::Connect(request), _))) => {
            match accept(&request, peer, &shared, &mut wr).await {
                Some(session) => session,
                None => return,
            }
        }
        _ => {
            shared.stats.refuse(Kind::Protocol, 1, || {
                format!("closed a connection from {peer}: its first packet is not CONNECT")
            });
            return;
        }
    };
    buf.drain(..len);
    run(session, rd, wr, buf, peer, shared).await;
}

/// What a connection knows about its client after CONNECT.
struct Session {
    client_id: Arc<str>,
    /// Who the client logged in as: what it may publish and subscribe to.
    principal: Principal,
    clean: bool,
    keep_alive_s: u16,
    will: Option<Message>,
}

/// Checks the CONNECT; answers a refusal with its CONNACK code and returns `None`.
async fn accept<W: AsyncWrite + Unpin>(
    request: &ConnectRequest<'_>,
    peer: SocketAddr,
    shared: &Shared,
    wr: &mut W,
) -> Option<Session> {
    let refuse = |code: u8, why: &str| {
        shared.stats.refuse(Kind::RefusedConnection, 1, || {
            format!(
                "refused client {:?} from {peer}: {why}",
                shown(request.client_id)
            )
        });
        code
    };
    let login = shared
        .access
        .authenticate(request.username, request.password);
    let code = if !request.supported_protocol() {
        refuse(1, "not MQTT 3.1.1 or 3.1")
    } else if request.client_id.is_empty() && !request.clean_session {
        refuse(
            2,
            "an empty client id needs a clean session (MQTT 3.1.1 §3.1.3.1)",
        )
    } else if let Err(refused) = &login {
        refuse(refused.connack_code(), &refused.to_string())
    } else if request.will.is_some_and(|w| !valid_publish_topic(w.topic)) {
        refuse(2, "its Will topic is empty or has a wildcard")
    } else if let (Ok(who), Some(will)) = (&login, request.will)
        && let Err(denied) = shared.access.may_publish(who, will.topic, will.payload)
    {
        refuse(5, &format!("its Will may not be published: {denied}"))
    } else {
        0
    };
    let principal = match login {
        Ok(principal) if code == 0 => principal,
        _ => {
            let mut ack = [0u8; 4];
            if let Ok(n) = encode_connack(false, code, &mut ack) {
                let _ = wr.write_all(&ack[..n]).await;
            }
            return None;
        }
    };
    let client_id: Arc<str> = if request.client_id.is_empty() {
        format!("wr-auto-{}", AUTO_IDS.fetch_add(1, Ordering::Relaxed)).into()
    } else {
        request.client_id.into()
    };
    let will = request.will.map(|w| Message {
        topic: w.topic.into(),
        payload: Bytes::copy_from_slice(w.payload),
        qos: w.qos,
        retain: w.retain,
    });
    Some(Session {
        client_id,
        principal,
        clean: request.clean_session,
        keep_alive_s: request.keep_alive_s,
        will,
    })
}

/// Reads into `buf` until it holds one whole packet; its length, or `None` at EOF.
/// A packet above `max_bytes` is refused before it is read.
async fn read_packet<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut Vec<u8>,
    max_bytes: usize,
) -> Result<Option<usize>, String> {
    loop {
        match packet_len(buf) {
            Ok(Some(total)) if total > max_bytes => {
                return Err(format!(
                    "a packet of {total} bytes, above the {max_bytes} byte limit"
                ));
            }
            Ok(Some(total)) if buf.len() >= total => return Ok(Some(total)),
            Ok(Some(total)) => buf.reserve(total - buf.len()),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        if buf.capacity() == buf.len() {
            buf.reserve(READ_BUFFER_BYTES);
        }
        match rd.read_buf(buf).await {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// QoS 1/2 messages sent to the client and not yet acknowledged, oldest first.
#[derive(Debug, Default)]
struct Inflight {
    sent: VecDeque<(u16, Delivery, bool)>,
    last_id: u16,
}

impl Inflight {
    fn next_id(&mut self) -> u16 {
        loop {
            self.last_id = self.last_id.checked_add(1).unwrap_or(1);
            let id = self.last_id;
            if !self.sent.iter().any(|(used, ..)| *used == id) {
                return id;
            }
        }
    }

    /// PUBACK or PUBCOMP: done with `id`.
    fn complete(&mut self, id: u16) -> bool {
        match self.sent.iter().position(|(used, ..)| *used == id) {
            Some(at) => {
                self.sent.remove(at);
                true
            }
            None => false,
        }
    }

    /// PUBREC: the client has the QoS 2 message; PUBREL follows.
    fn received(&mut self, id: u16) {
        if let Some(entry) = self.sent.iter_mut().find(|(used, ..)| *used == id) {
            entry.2 = true;
        }
    }

    /// What a persistent session keeps: every message the client has not received
    /// (a QoS 2 message acknowledged with PUBREC is the client's already).
    fn unacknowledged(self) -> Vec<Delivery> {
        self.sent
            .into_iter()
            .filter(|(_, _, received)| !received)
            .map(|(_, mut delivery, _)| {
                delivery.dup = true;
                delivery
            })
            .collect()
    }
}

async fn run<S>(
    session: Session,
    mut rd: ReadHalf<S>,
    wr: WriteHalf<S>,
    mut buf: Vec<u8>,
    peer: SocketAddr,
    shared: Arc<Shared>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let clean = session.clean;
    let limits = &shared.config.limits;
    // Take over a connection under the same client id (MQTT 3.1.1 §3.1.4).
    let previous = shared.router().current_link(&session.client_id);
    if let Some(previous) = previous {
        previous.close();
        previous.wait_closed(TAKEOVER_WAIT).await;
    }
    let (link, LinkEnds { rx, closed }) = Link::new(limits.queue_messages);
    let connected = shared
        .router()
        .connect(&session.client_id, clean, link.clone());
    shared.stats.connected();
    tracing::debug!(client = %shown(&session.client_id), %peer, clean, "client connected");

    let inflight = Arc::new(Mutex::new(Inflight::default()));
    let acked = Arc::new(Notify::new());
    let stop = Arc::new(Notify::new());
    let mut connack = [0u8; 4];
    let n = encode_connack(connected.session_present, 0, &mut connack).unwrap_or(0);
    let writer = tokio::spawn(write_loop(
        wr,
        Bytes::copy_from_slice(&connack[..n]),
        connected.backlog,
        rx,
        WriterState {
            link: link.clone(),
            inflight: inflight.clone(),
            acked: acked.clone(),
            stop: stop.clone(),
            max_inflight: limits.max_inflight,
        },
    ));

    let keep_alive = (session.keep_alive_s > 0)
        .then(|| Duration::from_millis(u64::from(session.keep_alive_s) * 1500));
    let mut shutdown = shared.shutdown.clone();
    let mut graceful = false;
    let end = loop {
        let read = read_packet(&mut rd, &mut buf, limits.max_packet_bytes);
        let next = tokio::select! {
            biased;
            _ = link.close_requested() => break "taken over by a new connection with its client id, or the broker stops",
            _ = shutdown.wait_for(|stop| *stop) => break "the broker stops",
            result = async {
                match keep_alive {
                    Some(limit) => tokio::time::timeout(limit, read).await.ok(),
                    None => Some(read.await),
                }
            } => result,
        };
        let len = match next {
            None => break "keepalive expired",
            Some(Ok(None)) => break "closed by the client",
            Some(Ok(Some(len))) => len,
            Some(Err(reason)) => {
                let reason = format!(
                    "closed client {:?} from {peer}: {reason}",
                    shown(&session.client_id)
                );
                shared.stats.refuse(Kind::Protocol, 1, || reason);
                break "protocol error";
            }
        };
        // A client that sends without reading can fill its own queue: handling its packet
        // then waits, and must still give way to a take-over or a shutdown.
        let step = tokio::select! {
            biased;
            _ = link.close_requested() => Step::Close("taken over by a new connection with its client id"),
            _ = shutdown.wait_for(|stop| *stop) => Step::Close("the broker stops"),
            step = handle(&buf[..len], &session, &link, &inflight, &acked, &shared, peer) => step,
        };
        buf.drain(..len);
        if buf.capacity() > 8 * READ_BUFFER_BYTES && buf.len() < READ_BUFFER_BYTES {
            buf.shrink_to(READ_BUFFER_BYTES);
        }
        match step {
            Step::Go => {}
            Step::Disconnect => {
                graceful = true;
                break "DISCONNECT";
            }
            Step::Close(reason) => break reason,
        }
    };
    tracing::debug!(client = %shown(&session.client_id), %peer, reason = end, "client disconnected");

    stop.notify_one();
    let mut rx = match writer.await {
        Ok(rx) => rx,
        Err(_) => return,
    };
    rx.close();
    let mut unsent = match Arc::try_unwrap(inflight) {
        Ok(inflight) => inflight
            .into_inner()
            .map(Inflight::unacknowledged)
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    while let Ok(out) = rx.try_recv() {
        if let Out::Deliver(delivery) = out {
            unsent.push(delivery);
        }
    }
    let dropped = shared.router().disconnect(
        &session.client_id,
        connected.generation,
        unsent,
        limits.offline_messages,
    );
    shared.stats.refuse(Kind::Offline, dropped, || {
        format!(
            "dropped {dropped} queued messages of client {:?}: more than {} kept while it is away",
            shown(&session.client_id),
            limits.offline_messages
        )
    });
    let _ = closed.send(true);
    if !graceful && let Some(will) = session.will {
        route(will, &shared, &session.client_id).await;
    }
}

enum Step {
    Go,
    Disconnect,
    Close(&'static str),
}

async fn handle(
    packet: &[u8],
    session: &Session,
    link: &Link,
    inflight: &Mutex<Inflight>,
    acked: &Notify,
    shared: &Shared,
    peer: SocketAddr,
) -> Step {
    let who = &session.client_id;
    let packet_bytes = packet.len();
    let Ok(Some((packet, _))) = decode_client_packet(packet) else {
        shared.stats.refuse(Kind::Protocol, 1, || {
            format!(
                "closed client {:?} from {peer}: a malformed packet",
                shown(who)
            )
        });
        return Step::Close("malformed packet");
    };
    let ack = |kind: Ack, id: u16| {
        let mut bytes = [0u8; 4];
        let n = encode_ack(kind, id, &mut bytes).unwrap_or(0);
        Bytes::copy_from_slice(&bytes[..n])
    };
    match packet {
        ClientPacket::Publish(publish) => {
            if !valid_publish_topic(publish.topic) {
                shared.stats.refuse(Kind::InvalidTopic, 1, || {
                    format!(
                        "closed client {:?} from {peer}: it published to {:?}, a topic with a wildcard, NUL or nothing in it",
                        shown(who),
                        shown(publish.topic)
                    )
                });
                return Step::Close("invalid PUBLISH topic");
            }
            let limit = shared.config.limits.publish_limit(publish.topic);
            let refused = if packet_bytes > limit {
                shared.stats.refuse(Kind::Oversized, 1, || {
                    format!(
                        "refused a {packet_bytes} B message from client {:?} on {:?}: above the {limit} B limit for such topics",
                        shown(who),
                        shown(publish.topic)
                    )
                });
                true
            } else {
                false
            };
            let refused = refused
                || match shared.access.may_publish(
                    &session.principal,
                    publish.topic,
                    publish.payload,
                ) {
                    Ok(()) => false,
                    Err(denied) => {
                        shared.stats.refuse(Kind::Access, 1, || {
                            format!(
                                "refused a message from client {:?} ({}) on {:?}: {denied}",
                                shown(who),
                                session.principal.role,
                                shown(publish.topic)
                            )
                        });
                        true
                    }
                };
            let route_it = !refused
                && match (publish.qos, publish.packet_id) {
                    (Qos::ExactlyOnce, Some(id)) => shared.router().first_qos2(who, id),
                    _ => true,
                };
            if route_it {
                route(owned(&publish), shared, who).await;
            }
            let answer = match (publish.qos, publish.packet_id) {
                (Qos::AtLeastOnce, Some(id)) => Some(ack(Ack::PubAck, id)),
                (Qos::ExactlyOnce, Some(id)) => Some(ack(Ack::PubRec, id)),
                _ => None,
            };
            if let Some(answer) = answer
                && !link.send_packet(answer).await
            {
                return Step::Close("queue closed");
            }
        }
        ClientPacket::PubAck { packet_id } | ClientPacket::PubComp { packet_id } => {
            if lock(inflight).complete(packet_id) {
                acked.notify_one();
            }
        }
        ClientPacket::PubRec { packet_id } => {
            lock(inflight).received(packet_id);
            if !link.send_packet(ack(Ack::PubRel, packet_id)).await {
                return Step::Close("queue closed");
            }
        }
        ClientPacket::PubRel { packet_id } => {
            shared.router().release_qos2(who, packet_id);
            if !link.send_packet(ack(Ack::PubComp, packet_id)).await {
                return Step::Close("queue closed");
            }
        }
        ClientPacket::Subscribe { packet_id, filters } => {
            let mut codes = Vec::new();
            let mut retained = Vec::new();
            for item in filters.iter() {
                let Ok((filter, requested)) = item else {
                    return Step::Close("malformed SUBSCRIBE");
                };
                if !valid_filter(filter) {
                    codes.push(SUBACK_FAILURE);
                    continue;
                }
                if let Err(denied) = shared.access.may_subscribe(&session.principal, filter) {
                    shared.stats.refuse(Kind::Access, 1, || {
                        format!(
                            "refused a subscription of client {:?} ({}) to {:?}: {denied}",
                            shown(who),
                            session.principal.role,
                            shown(filter)
                        )
                    });
                    codes.push(SUBACK_FAILURE);
                    continue;
                }
                let qos = Qos::from_bits(requested).unwrap_or(Qos::ExactlyOnce);
                retained.extend(shared.router().subscribe(who, filter, qos));
                codes.push(qos.bits());
            }
            let mut suback = vec![0u8; 4 + codes.len() + 4];
            let n = encode_suback(packet_id, &codes, &mut suback).unwrap_or(0);
            suback.truncate(n);
            if !link.send_packet(suback.into()).await {
                return Step::Close("queue closed");
            }
            for message in retained {
                if !link
                    .send_own(Delivery {
                        message,
                        dup: false,
                    })
                    .await
                {
                    return Step::Close("queue closed");
                }
            }
        }
        ClientPacket::Unsubscribe { packet_id, filters } => {
            for (filter, _) in filters.iter().flatten() {
                shared.router().unsubscribe(who, filter);
            }
            if !link.send_packet(ack(Ack::UnsubAck, packet_id)).await {
                return Step::Close("queue closed");
            }
        }
        ClientPacket::PingReq => {
            let mut bytes = [0u8; 2];
            let n = encode_pingresp(&mut bytes).unwrap_or(0);
            if !link.send_packet(Bytes::copy_from_slice(&bytes[..n])).await {
                return Step::Close("queue closed");
            }
        }
        ClientPacket::Disconnect => return Step::Disconnect,
        ClientPacket::Connect(_) => {
            shared.stats.refuse(Kind::Protocol, 1, || {
                format!(
                    "closed client {:?} from {peer}: a second CONNECT",
                    shown(who)
                )
            });
            return Step::Close("second CONNECT");
        }
    }
    Step::Go
}

fn owned(publish: &ServerPublish<'_>) -> Message {
    Message {
        topic: publish.topic.into(),
        payload: Bytes::copy_from_slice(publish.payload),
        qos: publish.qos,
        retain: publish.retain,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Routes one message from `from` to every matching subscriber, waiting for room in
/// their queues (docs/broker.md, "No silent loss").
pub(crate) async fn route(message: Message, shared: &Shared, from: &str) {
    let limits = &shared.config.limits;
    let mut targets: Vec<Target> = Vec::new();
    let routed = shared
        .router()
        .route(&message, limits.offline_messages, &mut targets);
    shared.stats.published();
    shared.stats.queued_offline(routed.queued_offline);
    shared.stats.refuse(Kind::Offline, routed.dropped_offline, || {
        format!(
            "dropped the oldest queued message of a session that is away: more than {} queued (topic {:?})",
            limits.offline_messages,
            shown(&message.topic)
        )
    });
    let wait = Duration::from_millis(limits.slow_subscriber_wait_ms);
    let mut delivered = 0;
    for target in targets {
        let delivery = Delivery {
            message: message.at(target.qos, false),
            dup: false,
        };
        match target.link.deliver(delivery, wait).await {
            Ok(()) => delivered += 1,
            Err(Undelivered::Slow) => shared.stats.refuse(Kind::Slow, 1, || {
                format!(
                    "dropped a message on {:?} from {:?} for client {:?}: it has not read its {} queued messages for {wait:?}",
                    shown(&message.topic),
                    shown(from),
                    shown(&target.client_id),
                    limits.queue_messages
                )
            }),
            Err(Undelivered::Closed(delivery)) => {
                shared
                    .router()
                    .requeue(&target.client_id, delivery, limits.offline_messages);
            }
        }
    }
    shared.stats.delivered(delivered);
}

struct WriterState {
    link: Link,
    inflight: Arc<Mutex<Inflight>>,
    acked: Arc<Notify>,
    stop: Arc<Notify>,
    max_inflight: usize,
}

/// Writes the CONNACK, the session's backlog, then whatever is queued, batching it,
/// until asked to stop or the socket fails. A QoS 1/2 message waits for a free in-flight
/// slot (after what is already batched has been written). Returns the queue for the
/// clean-up.
async fn write_loop<S>(
    mut wr: WriteHalf<S>,
    connack: Bytes,
    backlog: VecDeque<Delivery>,
    mut rx: tokio::sync::mpsc::Receiver<Out>,
    state: WriterState,
) -> tokio::sync::mpsc::Receiver<Out>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let mut out: Vec<u8> = connack.to_vec();
    let mut backlog = backlog;
    // A delivery waiting for an in-flight slot.
    let mut waiting: Option<Delivery> = None;
    loop {
        // Fill a batch without waiting once something is in hand.
        while out.len() < WRITE_BATCH_BYTES {
            let next = match waiting.take().or_else(|| backlog.pop_front()) {
                Some(delivery) => Out::Deliver(delivery),
                None => match rx.try_recv() {
                    Ok(next) => next,
                    Err(_) => break,
                },
            };
            if let Err(delivery) = encode(next, &mut out, &state) {
                waiting = Some(delivery);
                break;
            }
        }
        if out.is_empty() {
            let next = tokio::select! {
                biased;
                _ = state.stop.notified() => return rx,
                _ = state.acked.notified(), if waiting.is_some() => continue,
                next = rx.recv(), if waiting.is_none() => next,
            };
            let Some(next) = next else { return rx };
            state.link.caught_up();
            if let Err(delivery) = encode(next, &mut out, &state) {
                waiting = Some(delivery);
            }
            continue;
        }
        let written = tokio::select! {
            biased;
            _ = state.stop.notified() => return rx,
            written = async {
                wr.write_all(&out).await?;
                wr.flush().await
            } => written,
        };
        if written.is_err() {
            // Nothing will drain the queue any more: whoever waits for room in it (the
            // reader's own acknowledgements, publishers) gets an error at once. The reader
            // notices the closed socket and ends the connection.
            rx.close();
            state.stop.notified().await;
            return rx;
        }
        out.clear();
        // Thousands of boards each keep one: back to small once a burst is over.
        if out.capacity() > 4096 && rx.is_empty() {
            out.shrink_to(1024);
        }
    }
}

/// Appends one packet to `out`. A QoS 1/2 message needs a free in-flight slot: without
/// one it is handed back.
fn encode(next: Out, out: &mut Vec<u8>, state: &WriterState) -> Result<(), Delivery> {
    let delivery = match next {
        Out::Packet(bytes) => {
            out.extend_from_slice(&bytes);
            return Ok(());
        }
        Out::Deliver(delivery) => delivery,
    };
    let packet_id = if delivery.message.qos == Qos::AtMostOnce {
        None
    } else {
        let mut inflight = lock(&state.inflight);
        if inflight.sent.len() >= state.max_inflight {
            return Err(delivery);
        }
        let id = inflight.next_id();
        inflight.sent.push_back((id, delivery.clone(), false));
        Some(id)
    };
    let message = &delivery.message;
    let publish = ServerPublish {
        topic: &message.topic,
        payload: &message.payload,
        qos: message.qos,
        retain: message.retain,
        dup: delivery.dup,
        packet_id,
    };
    let start = out.len();
    out.resize(
        start + publish_len(&message.topic, message.payload.len(), message.qos),
        0,
    );
    match encode_server_publish(&publish, &mut out[start..]) {
        Ok(n) => out.truncate(start + n),
        Err(_) => out.truncate(start),
    }
    Ok(())
}
