//! A minimal MQTT 3.1.1 client codec for the ESP32 firmware, sans-IO, `no_std` and
//! without an allocator: what a board needs and nothing more.
//!
//! - [`encode_connect`] (with Last Will), [`encode_subscribe`], [`encode_publish`]
//!   (QoS 0 and 1), [`encode_puback`], [`encode_pingreq`], [`encode_disconnect`] write
//!   one packet into a caller's buffer and return its length.
//! - [`decode`] reads one packet a client receives (CONNACK, PUBLISH, PUBACK, SUBACK,
//!   UNSUBACK, PINGRESP) from the front of a buffer; [`RxBuffer`] frames packets out of
//!   a TCP byte stream and skips a packet larger than itself instead of failing.
//! - [`KeepAlive`] says when to send PINGREQ and when the broker is gone, with the
//!   time passed in; [`PacketIds`] hands out non-zero packet identifiers.
//! - [`server`] is the broker's side of the same format (all packets a client sends,
//!   QoS 0–2, and the broker's answers), used by the embedded broker.
//!
//! Why hand-written: the board talks to the embedded broker (3.1.1, built on this
//! codec) and Mosquitto; the maintained no_std async clients are MQTT 5 only (rust-mqtt, minimq)
//! or bring their own reconnect policy, and the board's policy is the protocol's
//! `Backoff`. On the client side QoS 2 is not supported (no Winter River topic uses it):
//! a QoS 2 PUBLISH is refused by [`decode`].
#![no_std]

pub mod server;

/// The protocol level byte of MQTT 3.1.1.
pub const PROTOCOL_LEVEL_3_1_1: u8 = 4;
/// Largest remaining length the 4-byte variable length can carry \[bytes\].
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

const CONNECT: u8 = 1;
const CONNACK: u8 = 2;
const PUBLISH: u8 = 3;
const PUBACK: u8 = 4;
const PUBREC: u8 = 5;
const PUBREL: u8 = 6;
const PUBCOMP: u8 = 7;
const SUBSCRIBE: u8 = 8;
const SUBACK: u8 = 9;
const UNSUBACK: u8 = 11;
const PINGREQ: u8 = 12;
const PINGRESP: u8 = 13;
const DISCONNECT: u8 = 14;

/// Quality of service of a publish or a subscription (QoS 2 is not supported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QoS {
    AtMostOnce,
    AtLeastOnce,
}

impl QoS {
    fn bits(self) -> u8 {
        match self {
            QoS::AtMostOnce => 0,
            QoS::AtLeastOnce => 1,
        }
    }
}

/// The Last Will the broker publishes when the client vanishes without DISCONNECT. `Q`
/// is the board's [`QoS`]; the broker reads one at any QoS ([`server::ServerWill`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Will<'a, Q = QoS> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: Q,
    pub retain: bool,
}

/// A CONNECT packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connect<'a> {
    pub client_id: &'a str,
    /// Keep alive \[s\]; 0 turns it off.
    pub keep_alive_s: u16,
    pub clean_session: bool,
    pub will: Option<Will<'a>>,
    pub username: Option<&'a str>,
    /// Only sent with a username (MQTT 3.1.1 §3.1.2.9).
    pub password: Option<&'a [u8]>,
}

/// A PUBLISH packet, sent or received. `Q` is the board's [`QoS`]; the broker's side
/// uses it at any QoS ([`server::ServerPublish`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish<'a, Q = QoS> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: Q,
    pub retain: bool,
    pub dup: bool,
    /// Present exactly when `qos` is not at most once; never 0.
    pub packet_id: Option<u16>,
}

/// The broker's answer to CONNECT (MQTT 3.1.1 §3.2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectReturnCode {
    Accepted,
    UnacceptableProtocolVersion,
    IdentifierRejected,
    ServerUnavailable,
    BadUsernameOrPassword,
    NotAuthorized,
    /// A code 3.1.1 does not define.
    Other(u8),
}

impl ConnectReturnCode {
    fn from_byte(code: u8) -> ConnectReturnCode {
        match code {
            0 => ConnectReturnCode::Accepted,
            1 => ConnectReturnCode::UnacceptableProtocolVersion,
            2 => ConnectReturnCode::IdentifierRejected,
            3 => ConnectReturnCode::ServerUnavailable,
            4 => ConnectReturnCode::BadUsernameOrPassword,
            5 => ConnectReturnCode::NotAuthorized,
            other => ConnectReturnCode::Other(other),
        }
    }
}

/// SUBACK return code for a refused subscription.
pub const SUBACK_FAILURE: u8 = 0x80;

/// A packet a client receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    ConnAck {
        session_present: bool,
        return_code: ConnectReturnCode,
    },
    Publish(Publish<'a>),
    PubAck {
        packet_id: u16,
    },
    SubAck {
        packet_id: u16,
        /// One per filter: the granted QoS (0, 1, 2) or [`SUBACK_FAILURE`].
        return_codes: &'a [u8],
    },
    UnsubAck {
        packet_id: u16,
    },
    PingResp,
}

/// Why a packet could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The buffer holds fewer bytes than the packet needs.
    BufferTooSmall { needed: usize },
    /// A string or binary field is longer than 65,535 bytes.
    FieldTooLong,
    /// The packet is longer than [`MAX_REMAINING_LENGTH`].
    PacketTooLarge,
    /// QoS 1 needs a non-zero packet id, QoS 0 must have none.
    BadPacketId,
    /// SUBSCRIBE needs at least one filter.
    NoFilters,
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed } => {
                write!(f, "buffer too small: the packet needs {needed} bytes")
            }
            EncodeError::FieldTooLong => f.write_str("a field is longer than 65535 bytes"),
            EncodeError::PacketTooLarge => f.write_str("packet longer than MQTT allows"),
            EncodeError::BadPacketId => {
                f.write_str("QoS 1 needs a non-zero packet id and QoS 0 none")
            }
            EncodeError::NoFilters => f.write_str("SUBSCRIBE without a topic filter"),
        }
    }
}

/// Why received bytes are not a packet this client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The remaining length runs past 4 bytes.
    MalformedLength,
    /// A packet type a client never receives (CONNECT, SUBSCRIBE, …) or reserved.
    UnexpectedType(u8),
    /// Fixed-header flags that 3.1.1 forbids for the type.
    BadFlags,
    /// A field runs past the end of the packet, or bytes are left over.
    Malformed,
    /// A topic that is not UTF-8.
    BadUtf8,
    /// A QoS 2 PUBLISH, PUBREC, PUBREL or PUBCOMP: QoS 2 is not supported.
    UnsupportedQos,
    /// A packet id of 0.
    ZeroPacketId,
    /// A packet longer than the receive buffer [bytes, header included]; [`RxBuffer`]
    /// skips it.
    TooLarge { len: usize },
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::MalformedLength => f.write_str("malformed remaining length"),
            DecodeError::UnexpectedType(t) => write!(f, "unexpected packet type {t}"),
            DecodeError::BadFlags => f.write_str("bad fixed-header flags"),
            DecodeError::Malformed => f.write_str("malformed packet"),
            DecodeError::BadUtf8 => f.write_str("topic is not UTF-8"),
            DecodeError::UnsupportedQos => f.write_str("QoS 2 is not supported"),
            DecodeError::ZeroPacketId => f.write_str("packet id 0"),
            DecodeError::TooLarge { len } => {
                write!(f, "packet of {len} bytes is larger than the receive buffer")
            }
        }
    }
}

// ------------------------------------------------------------------ encoding

/// Bytes the variable remaining length takes for `len`.
fn length_bytes(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes a packet into a buffer whose size was checked up front.
struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> Writer<'b> {
    /// Checks that the packet fits and writes its fixed header.
    fn start(
        buf: &'b mut [u8],
        first_byte: u8,
        remaining: usize,
    ) -> Result<Writer<'b>, EncodeError> {
        if remaining > MAX_REMAINING_LENGTH {
            return Err(EncodeError::PacketTooLarge);
        }
        let needed = 1 + length_bytes(remaining) + remaining;
        if buf.len() < needed {
            return Err(EncodeError::BufferTooSmall { needed });
        }
        let mut w = Writer { buf, pos: 0 };
        w.u8(first_byte);
        let mut rest = remaining;
        loop {
            // Seven bits a byte, least significant first, top bit = more follows.
            let mut byte = (rest % 128) as u8;
            rest /= 128;
            if rest > 0 {
                byte |= 0x80;
            }
            w.u8(byte);
            if rest == 0 {
                break;
            }
        }
        Ok(w)
    }

    fn u8(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.pos) {
            *slot = b;
        }
        self.pos += 1;
    }

    fn u16(&mut self, v: u16) {
        for b in v.to_be_bytes() {
            self.u8(b);
        }
    }

    fn raw(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end;
    }

    /// A length-prefixed string or binary field (lengths checked by the caller).
    fn field(&mut self, bytes: &[u8]) {
        self.u16(bytes.len() as u16);
        self.raw(bytes);
    }

    fn finish(self) -> usize {
        self.pos
    }
}

/// Size of a length-prefixed field \[bytes\]; refuses one over 65,535 bytes.
fn field_len(bytes: &[u8]) -> Result<usize, EncodeError> {
    if bytes.len() > usize::from(u16::MAX) {
        return Err(EncodeError::FieldTooLong);
    }
    Ok(2 + bytes.len())
}

/// Writes CONNECT (protocol "MQTT", level 4) into `buf`; returns its length.
pub fn encode_connect(connect: &Connect<'_>, buf: &mut [u8]) -> Result<usize, EncodeError> {
    // A password without a username is forbidden by 3.1.1: it is not sent.
    let password = connect.username.and(connect.password);
    let mut remaining = 10 + field_len(connect.client_id.as_bytes())?;
    if let Some(will) = &connect.will {
        remaining += field_len(will.topic.as_bytes())? + field_len(will.payload)?;
    }
    if let Some(username) = connect.username {
        remaining += field_len(username.as_bytes())?;
    }
    if let Some(password) = password {
        remaining += field_len(password)?;
    }

    let mut flags = 0u8;
    if connect.clean_session {
        flags |= 0x02;
    }
    if let Some(will) = &connect.will {
        flags |= 0x04 | (will.qos.bits() << 3);
        if will.retain {
            flags |= 0x20;
        }
    }
    if password.is_some() {
        flags |= 0x40;
    }
    if connect.username.is_some() {
        flags |= 0x80;
    }

    let mut w = Writer::start(buf, CONNECT << 4, remaining)?;
    w.field(b"MQTT");
    w.u8(PROTOCOL_LEVEL_3_1_1);
    w.u8(flags);
    w.u16(connect.keep_alive_s);
    w.field(connect.client_id.as_bytes());
    if let Some(will) = &connect.will {
        w.field(will.topic.as_bytes());
        w.field(will.payload);
    }
    if let Some(username) = connect.username {
        w.field(username.as_bytes());
    }
    if let Some(password) = password {
        w.field(password);
    }
    Ok(w.finish())
}

/// Writes PUBLISH into `buf`; returns its length. (The broker's encoder, at QoS 0 or 1.)
pub fn encode_publish(publish: &Publish<'_>, buf: &mut [u8]) -> Result<usize, EncodeError> {
    server::encode_server_publish(
        &server::ServerPublish {
            topic: publish.topic,
            payload: publish.payload,
            qos: match publish.qos {
                QoS::AtMostOnce => server::Qos::AtMostOnce,
                QoS::AtLeastOnce => server::Qos::AtLeastOnce,
            },
            retain: publish.retain,
            dup: publish.dup,
            packet_id: publish.packet_id,
        },
        buf,
    )
}

/// Writes SUBSCRIBE for `filters` (each with its requested QoS); returns its length.
pub fn encode_subscribe(
    packet_id: u16,
    filters: &[(&str, QoS)],
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    if packet_id == 0 {
        return Err(EncodeError::BadPacketId);
    }
    if filters.is_empty() {
        return Err(EncodeError::NoFilters);
    }
    let mut remaining = 2;
    for (filter, _) in filters {
        remaining += field_len(filter.as_bytes())? + 1;
    }
    // Reserved flags 0b0010 (MQTT 3.1.1 §3.8.1).
    let mut w = Writer::start(buf, (SUBSCRIBE << 4) | 0x02, remaining)?;
    w.u16(packet_id);
    for (filter, qos) in filters {
        w.field(filter.as_bytes());
        w.u8(qos.bits());
    }
    Ok(w.finish())
}

/// Writes PUBACK for a received QoS 1 PUBLISH; returns its length (4).
pub fn encode_puback(packet_id: u16, buf: &mut [u8]) -> Result<usize, EncodeError> {
    if packet_id == 0 {
        return Err(EncodeError::BadPacketId);
    }
    let mut w = Writer::start(buf, PUBACK << 4, 2)?;
    w.u16(packet_id);
    Ok(w.finish())
}

/// Writes PINGREQ; returns its length (2).
pub fn encode_pingreq(buf: &mut [u8]) -> Result<usize, EncodeError> {
    Ok(Writer::start(buf, PINGREQ << 4, 0)?.finish())
}

/// Writes DISCONNECT (the broker then discards the Will); returns its length (2).
pub fn encode_disconnect(buf: &mut [u8]) -> Result<usize, EncodeError> {
    Ok(Writer::start(buf, DISCONNECT << 4, 0)?.finish())
}

// ------------------------------------------------------------------ decoding

/// The fixed header at the front of `buf`: (first byte, header length, remaining
/// length), or `None` if more bytes are needed.
fn fixed_header(buf: &[u8]) -> Result<Option<(u8, usize, usize)>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let mut remaining = 0usize;
    for i in 0..4 {
        let Some(&byte) = buf.get(1 + i) else {
            return Ok(None);
        };
        remaining |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((first, 2 + i, remaining)));
        }
    }
    Err(DecodeError::MalformedLength)
}

/// Total length of the packet at the front of `buf` [bytes, header included], once
/// its fixed header is complete.
pub fn packet_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    Ok(fixed_header(buf)?.map(|(_, header, remaining)| header + remaining))
}

/// One whole packet at the front of a buffer: its type, its fixed-header flags, a reader
/// over its body, and its total length \[bytes\]. Both decoders (the board's and the
/// broker's) start here.
struct Frame<'a> {
    kind: u8,
    flags: u8,
    r: Reader<'a>,
    total: usize,
}

impl<'a> Frame<'a> {
    /// `Ok(None)` while the packet is not complete.
    fn read(buf: &'a [u8]) -> Result<Option<Frame<'a>>, DecodeError> {
        let Some((first, header, remaining)) = fixed_header(buf)? else {
            return Ok(None);
        };
        let total = header + remaining;
        let Some(body) = buf.get(header..total) else {
            return Ok(None);
        };
        Ok(Some(Frame {
            kind: first >> 4,
            flags: first & 0x0F,
            r: Reader { body, pos: 0 },
            total,
        }))
    }
}

/// The fixed-header flags 3.1.1 requires of a packet type.
fn expect(flags: u8, wanted: u8) -> Result<(), DecodeError> {
    if flags == wanted {
        Ok(())
    } else {
        Err(DecodeError::BadFlags)
    }
}

/// Reads the body of one packet.
struct Reader<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self.body.get(self.pos).ok_or(DecodeError::Malformed)?;
        self.pos += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn packet_id(&mut self) -> Result<u16, DecodeError> {
        match self.u16()? {
            0 => Err(DecodeError::ZeroPacketId),
            id => Ok(id),
        }
    }

    fn field(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = usize::from(self.u16()?);
        let bytes = self
            .body
            .get(self.pos..self.pos + len)
            .ok_or(DecodeError::Malformed)?;
        self.pos += len;
        Ok(bytes)
    }

    fn rest(&mut self) -> &'a [u8] {
        let rest = self.body.get(self.pos..).unwrap_or_default();
        self.pos = self.body.len();
        rest
    }

    fn end(self) -> Result<(), DecodeError> {
        if self.pos == self.body.len() {
            Ok(())
        } else {
            Err(DecodeError::Malformed)
        }
    }
}

/// Decodes the packet at the front of `buf`: `Ok(None)` if it is not complete yet,
/// else the packet and its total length \[bytes\].
pub fn decode(buf: &[u8]) -> Result<Option<(Packet<'_>, usize)>, DecodeError> {
    let Some(Frame {
        kind,
        flags,
        mut r,
        total,
    }) = Frame::read(buf)?
    else {
        return Ok(None);
    };
    let expect_flags = |wanted: u8| expect(flags, wanted);
    let packet = match kind {
        CONNACK => {
            expect_flags(0)?;
            let ack_flags = r.u8()?;
            if ack_flags & 0xFE != 0 {
                return Err(DecodeError::Malformed);
            }
            let code = r.u8()?;
            r.end()?;
            Packet::ConnAck {
                session_present: ack_flags & 0x01 != 0,
                return_code: ConnectReturnCode::from_byte(code),
            }
        }
        PUBLISH => {
            let qos = match (flags >> 1) & 0x03 {
                0 => QoS::AtMostOnce,
                1 => QoS::AtLeastOnce,
                2 => return Err(DecodeError::UnsupportedQos),
                _ => return Err(DecodeError::BadFlags),
            };
            let topic = core::str::from_utf8(r.field()?).map_err(|_| DecodeError::BadUtf8)?;
            let packet_id = match qos {
                QoS::AtMostOnce => None,
                QoS::AtLeastOnce => Some(r.packet_id()?),
            };
            Packet::Publish(Publish {
                topic,
                payload: r.rest(),
                qos,
                retain: flags & 0x01 != 0,
                dup: flags & 0x08 != 0,
                packet_id,
            })
        }
        PUBACK => {
            expect_flags(0)?;
            let packet_id = r.packet_id()?;
            r.end()?;
            Packet::PubAck { packet_id }
        }
        SUBACK => {
            expect_flags(0)?;
            let packet_id = r.packet_id()?;
            let return_codes = r.rest();
            if return_codes.is_empty() {
                return Err(DecodeError::Malformed);
            }
            Packet::SubAck {
                packet_id,
                return_codes,
            }
        }
        UNSUBACK => {
            expect_flags(0)?;
            let packet_id = r.packet_id()?;
            r.end()?;
            Packet::UnsubAck { packet_id }
        }
        PINGRESP => {
            expect_flags(0)?;
            r.end()?;
            Packet::PingResp
        }
        PUBREC | PUBREL | PUBCOMP => return Err(DecodeError::UnsupportedQos),
        other => return Err(DecodeError::UnexpectedType(other)),
    };
    Ok(Some((packet, total)))
}

// ------------------------------------------------------------------ framing

/// Frames packets out of a TCP byte stream in a fixed buffer of `N` bytes. Read into
/// [`RxBuffer::unfilled`], report the count with [`RxBuffer::commit`], then call
/// [`RxBuffer::next_packet`] until it returns `Ok(None)`. A packet longer than `N`
/// is reported once as [`DecodeError::TooLarge`] and its bytes are skipped as they
/// arrive, so one oversized message does not cost the connection.
#[derive(Debug, Clone)]
pub struct RxBuffer<const N: usize> {
    buf: [u8; N],
    /// Bytes held, from the start of `buf`.
    len: usize,
    /// Bytes at the front already handed out as packets.
    consumed: usize,
    /// Bytes of an oversized packet still to drop as they arrive.
    skip: usize,
}

impl<const N: usize> RxBuffer<N> {
    pub const fn new() -> RxBuffer<N> {
        RxBuffer {
            buf: [0; N],
            len: 0,
            consumed: 0,
            skip: 0,
        }
    }

    /// Forgets everything (a new connection).
    pub fn clear(&mut self) {
        self.len = 0;
        self.consumed = 0;
        self.skip = 0;
    }

    /// Free space to read into; moves unread bytes to the front first. Never empty
    /// while `N` > 0 (a packet that would not fit is skipped, not kept).
    pub fn unfilled(&mut self) -> &mut [u8] {
        if self.consumed > 0 {
            self.buf.copy_within(self.consumed..self.len, 0);
            self.len -= self.consumed;
            self.consumed = 0;
        }
        &mut self.buf[self.len..]
    }

    /// `n` bytes were read into [`RxBuffer::unfilled`].
    pub fn commit(&mut self, n: usize) {
        let n = n.min(N - self.len);
        let dropped = n.min(self.skip);
        self.skip -= dropped;
        self.buf
            .copy_within(self.len + dropped..self.len + n, self.len);
        self.len += n - dropped;
    }

    /// Bytes held and not yet handed out.
    pub fn pending(&self) -> usize {
        self.len - self.consumed
    }

    /// The next complete packet, `Ok(None)` if none is complete yet. After an error
    /// other than [`DecodeError::TooLarge`] the stream cannot be re-synchronised:
    /// close the connection.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, DecodeError> {
        let held = &self.buf[self.consumed..self.len];
        if let Some(total) = packet_len(held)?
            && total > N
        {
            self.skip = total - held.len();
            self.len = 0;
            self.consumed = 0;
            return Err(DecodeError::TooLarge { len: total });
        }
        match decode(&self.buf[self.consumed..self.len]) {
            Ok(Some((packet, used))) => {
                self.consumed += used;
                Ok(Some(packet))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl<const N: usize> Default for RxBuffer<N> {
    fn default() -> RxBuffer<N> {
        RxBuffer::new()
    }
}

// ------------------------------------------------------------------ keep alive

/// What the keep-alive wants now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepAliveAction {
    Idle,
    /// Send PINGREQ (then call [`KeepAlive::on_ping_sent`], which starts the timeout).
    SendPing,
    /// A PINGREQ went unanswered for a whole keep-alive interval: the broker or the
    /// path to it is gone; close the connection.
    TimedOut,
}

/// Keep-alive bookkeeping (MQTT 3.1.1 §3.1.2.10), time passed in \[ms\]. A PINGREQ
/// goes out after half the interval without sending, so the broker (which allows
/// 1.5 intervals) never drops a healthy client; any packet received answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepAlive {
    interval_ms: u64,
    last_sent_ms: u64,
    ping_sent_ms: Option<u64>,
}

impl KeepAlive {
    /// A connection whose CONNECT (with `keep_alive_s`) was sent at `now_ms`.
    pub fn new(keep_alive_s: u16, now_ms: u64) -> KeepAlive {
        KeepAlive {
            interval_ms: u64::from(keep_alive_s) * 1000,
            last_sent_ms: now_ms,
            ping_sent_ms: None,
        }
    }

    /// A packet was sent at `now_ms`.
    pub fn on_sent(&mut self, now_ms: u64) {
        self.last_sent_ms = self.last_sent_ms.max(now_ms);
    }

    /// PINGREQ was sent at `now_ms`.
    pub fn on_ping_sent(&mut self, now_ms: u64) {
        self.on_sent(now_ms);
        self.ping_sent_ms = Some(now_ms);
    }

    /// A packet was received (any packet shows the broker is there).
    pub fn on_received(&mut self) {
        self.ping_sent_ms = None;
    }

    /// What to do at `now_ms`.
    pub fn poll(&self, now_ms: u64) -> KeepAliveAction {
        if self.interval_ms == 0 {
            return KeepAliveAction::Idle;
        }
        match self.ping_sent_ms {
            Some(at) if now_ms >= at.saturating_add(self.interval_ms) => KeepAliveAction::TimedOut,
            Some(_) => KeepAliveAction::Idle,
            None if now_ms >= self.last_sent_ms.saturating_add(self.interval_ms / 2) => {
                KeepAliveAction::SendPing
            }
            None => KeepAliveAction::Idle,
        }
    }

    /// When [`KeepAlive::poll`] next has something to say \[ms\]; `u64::MAX` if off.
    pub fn poll_timeout(&self) -> u64 {
        if self.interval_ms == 0 {
            return u64::MAX;
        }
        match self.ping_sent_ms {
            Some(at) => at.saturating_add(self.interval_ms),
            None => self.last_sent_ms.saturating_add(self.interval_ms / 2),
        }
    }
}

// ------------------------------------------------------------------ packet ids

/// Hands out packet identifiers 1, 2, … 65535, 1, … (0 is not allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacketIds {
    last: u16,
}

impl PacketIds {
    pub const fn new() -> PacketIds {
        PacketIds { last: 0 }
    }

    pub fn next_id(&mut self) -> u16 {
        self.last = self.last.checked_add(1).unwrap_or(1);
        self.last
    }
}
