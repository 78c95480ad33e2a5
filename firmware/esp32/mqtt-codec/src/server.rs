//! The broker's side of the same wire format: [`decode_client_packet`] reads what a
//! client sends (CONNECT, PUBLISH at QoS 0, 1 and 2, the acknowledgements, SUBSCRIBE,
//! UNSUBSCRIBE, PINGREQ, DISCONNECT) and the `encode_*` functions write the broker's
//! answers. The embedded broker (`crates/broker`) uses it, so the board and the broker
//! share one copy of MQTT 3.1.1 (MQTT 3.1, "MQIsdp" level 3, is read too).

use crate::{
    CONNACK, CONNECT, DISCONNECT, DecodeError, EncodeError, Frame, PINGREQ, PINGRESP, PUBACK,
    PUBCOMP, PUBLISH, PUBREC, PUBREL, Reader, SUBACK, SUBSCRIBE, UNSUBACK, Writer, expect,
    field_len, length_bytes,
};

const UNSUBSCRIBE: u8 = 10;

/// Quality of service as a broker sees it: all three levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Qos {
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

impl Qos {
    /// The level from its two bits; 3 is reserved.
    pub fn from_bits(bits: u8) -> Option<Qos> {
        match bits {
            0 => Some(Qos::AtMostOnce),
            1 => Some(Qos::AtLeastOnce),
            2 => Some(Qos::ExactlyOnce),
            _ => None,
        }
    }

    pub fn bits(self) -> u8 {
        self as u8
    }
}

/// The Last Will of a CONNECT, at any QoS.
pub type ServerWill<'a> = crate::Will<'a, Qos>;

/// A CONNECT as the broker reads it. The protocol name and level are reported, not
/// judged: the broker answers an unknown level with CONNACK return code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectRequest<'a> {
    /// `MQTT` (3.1.1) or `MQIsdp` (3.1).
    pub protocol_name: &'a [u8],
    /// 4 for 3.1.1, 3 for 3.1.
    pub protocol_level: u8,
    pub client_id: &'a str,
    /// Keep alive \[s\]; 0 turns it off.
    pub keep_alive_s: u16,
    pub clean_session: bool,
    pub will: Option<ServerWill<'a>>,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
}

impl ConnectRequest<'_> {
    /// A protocol this broker speaks: MQTT 3.1.1 or 3.1.
    pub fn supported_protocol(&self) -> bool {
        matches!(
            (self.protocol_name, self.protocol_level),
            (b"MQTT", 4) | (b"MQIsdp", 3)
        )
    }
}

/// A PUBLISH at any QoS, received or sent by the broker.
pub type ServerPublish<'a> = crate::Publish<'a, Qos>;

/// The topic filters of a SUBSCRIBE (with the requested QoS bits, 0–3 as sent) or of an
/// UNSUBSCRIBE (QoS absent), read lazily from the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filters<'a> {
    body: &'a [u8],
    with_qos: bool,
}

impl<'a> Filters<'a> {
    /// Reads every filter once to check the list is well formed and not empty.
    fn checked(body: &'a [u8], with_qos: bool) -> Result<Filters<'a>, DecodeError> {
        let filters = Filters { body, with_qos };
        let mut count = 0usize;
        for item in filters.iter() {
            let (_, qos) = item?;
            if qos > 2 {
                return Err(DecodeError::Malformed);
            }
            count += 1;
        }
        if count == 0 {
            return Err(DecodeError::Malformed);
        }
        Ok(filters)
    }

    /// Each filter and its requested QoS bits (0 for UNSUBSCRIBE).
    pub fn iter(&self) -> impl Iterator<Item = Result<(&'a str, u8), DecodeError>> + 'a {
        let mut r = Reader {
            body: self.body,
            pos: 0,
        };
        let with_qos = self.with_qos;
        core::iter::from_fn(move || {
            if r.pos >= r.body.len() {
                return None;
            }
            let item = (|| {
                let filter = core::str::from_utf8(r.field()?).map_err(|_| DecodeError::BadUtf8)?;
                let qos = if with_qos { r.u8()? } else { 0 };
                Ok((filter, qos))
            })();
            if item.is_err() {
                r.pos = r.body.len();
            }
            Some(item)
        })
    }
}

/// A packet a broker receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientPacket<'a> {
    Connect(ConnectRequest<'a>),
    Publish(ServerPublish<'a>),
    PubAck {
        packet_id: u16,
    },
    PubRec {
        packet_id: u16,
    },
    PubRel {
        packet_id: u16,
    },
    PubComp {
        packet_id: u16,
    },
    Subscribe {
        packet_id: u16,
        filters: Filters<'a>,
    },
    Unsubscribe {
        packet_id: u16,
        filters: Filters<'a>,
    },
    PingReq,
    Disconnect,
}

/// Decodes the client packet at the front of `buf`: `Ok(None)` if it is not complete
/// yet, else the packet and its total length \[bytes\]. Any error means the stream cannot
/// be trusted: close the connection (MQTT 3.1.1 §4.8).
pub fn decode_client_packet(buf: &[u8]) -> Result<Option<(ClientPacket<'_>, usize)>, DecodeError> {
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
        CONNECT => {
            expect_flags(0)?;
            let request = connect(&mut r)?;
            r.end()?;
            ClientPacket::Connect(request)
        }
        PUBLISH => {
            let qos = Qos::from_bits((flags >> 1) & 0x03).ok_or(DecodeError::BadFlags)?;
            let topic = core::str::from_utf8(r.field()?).map_err(|_| DecodeError::BadUtf8)?;
            let packet_id = match qos {
                Qos::AtMostOnce => None,
                _ => Some(r.packet_id()?),
            };
            ClientPacket::Publish(ServerPublish {
                topic,
                payload: r.rest(),
                qos,
                retain: flags & 0x01 != 0,
                dup: flags & 0x08 != 0,
                packet_id,
            })
        }
        PUBACK | PUBREC | PUBCOMP | PUBREL => {
            // PUBREL carries the reserved flags 0b0010 (§3.6.1).
            expect_flags(if kind == PUBREL { 0x02 } else { 0 })?;
            let packet_id = r.packet_id()?;
            r.end()?;
            match kind {
                PUBACK => ClientPacket::PubAck { packet_id },
                PUBREC => ClientPacket::PubRec { packet_id },
                PUBREL => ClientPacket::PubRel { packet_id },
                _ => ClientPacket::PubComp { packet_id },
            }
        }
        SUBSCRIBE | UNSUBSCRIBE => {
            expect_flags(0x02)?;
            let packet_id = r.packet_id()?;
            let filters = Filters::checked(r.rest(), kind == SUBSCRIBE)?;
            if kind == SUBSCRIBE {
                ClientPacket::Subscribe { packet_id, filters }
            } else {
                ClientPacket::Unsubscribe { packet_id, filters }
            }
        }
        PINGREQ | DISCONNECT => {
            expect_flags(0)?;
            r.end()?;
            if kind == PINGREQ {
                ClientPacket::PingReq
            } else {
                ClientPacket::Disconnect
            }
        }
        other => return Err(DecodeError::UnexpectedType(other)),
    };
    Ok(Some((packet, total)))
}

fn connect<'a>(r: &mut Reader<'a>) -> Result<ConnectRequest<'a>, DecodeError> {
    let protocol_name = r.field()?;
    let protocol_level = r.u8()?;
    let flags = r.u8()?;
    // Bit 0 is reserved and must be 0 (§3.1.2.3).
    if flags & 0x01 != 0 {
        return Err(DecodeError::BadFlags);
    }
    let keep_alive_s = r.u16()?;
    let utf8 = |bytes: &'a [u8]| core::str::from_utf8(bytes).map_err(|_| DecodeError::BadUtf8);
    let client_id = utf8(r.field()?)?;
    let will = if flags & 0x04 != 0 {
        let qos = Qos::from_bits((flags >> 3) & 0x03).ok_or(DecodeError::BadFlags)?;
        let topic = utf8(r.field()?)?;
        let payload = r.field()?;
        Some(ServerWill {
            topic,
            payload,
            qos,
            retain: flags & 0x20 != 0,
        })
    } else {
        // Without a will its QoS and retain bits must be 0 (§3.1.2.6).
        if flags & 0x38 != 0 {
            return Err(DecodeError::BadFlags);
        }
        None
    };
    let username = if flags & 0x80 != 0 {
        Some(utf8(r.field()?)?)
    } else {
        None
    };
    let password = if flags & 0x40 != 0 {
        Some(r.field()?)
    } else {
        None
    };
    Ok(ConnectRequest {
        protocol_name,
        protocol_level,
        client_id,
        keep_alive_s,
        clean_session: flags & 0x02 != 0,
        will,
        username,
        password,
    })
}

/// Bytes a PUBLISH of this topic and payload takes on the wire, header included.
pub fn publish_len(topic: &str, payload_len: usize, qos: Qos) -> usize {
    let id_len = if qos == Qos::AtMostOnce { 0 } else { 2 };
    let remaining = 2 + topic.len() + id_len + payload_len;
    1 + length_bytes(remaining) + remaining
}

/// Writes CONNACK (MQTT 3.1.1 return code 0–5); returns its length (4).
pub fn encode_connack(
    session_present: bool,
    return_code: u8,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut w = Writer::start(buf, CONNACK << 4, 2)?;
    w.u8(u8::from(session_present));
    w.u8(return_code);
    Ok(w.finish())
}

/// Writes a PUBLISH at any QoS; returns its length.
pub fn encode_server_publish(
    publish: &ServerPublish<'_>,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    match (publish.qos, publish.packet_id) {
        (Qos::AtMostOnce, None) => {}
        (Qos::AtLeastOnce | Qos::ExactlyOnce, Some(id)) if id != 0 => {}
        _ => return Err(EncodeError::BadPacketId),
    }
    let id_len = if publish.packet_id.is_some() { 2 } else { 0 };
    let remaining = field_len(publish.topic.as_bytes())? + id_len + publish.payload.len();
    let mut first = (PUBLISH << 4) | (publish.qos.bits() << 1);
    if publish.dup {
        first |= 0x08;
    }
    if publish.retain {
        first |= 0x01;
    }
    let mut w = Writer::start(buf, first, remaining)?;
    w.field(publish.topic.as_bytes());
    if let Some(id) = publish.packet_id {
        w.u16(id);
    }
    w.raw(publish.payload);
    Ok(w.finish())
}

/// The acknowledgements a broker sends that carry only a packet id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    UnsubAck,
}

/// Writes a PUBACK, PUBREC, PUBREL, PUBCOMP or UNSUBACK; returns its length (4).
pub fn encode_ack(ack: Ack, packet_id: u16, buf: &mut [u8]) -> Result<usize, EncodeError> {
    if packet_id == 0 {
        return Err(EncodeError::BadPacketId);
    }
    let first = match ack {
        Ack::PubAck => PUBACK << 4,
        Ack::PubRec => PUBREC << 4,
        Ack::PubRel => (PUBREL << 4) | 0x02,
        Ack::PubComp => PUBCOMP << 4,
        Ack::UnsubAck => UNSUBACK << 4,
    };
    let mut w = Writer::start(buf, first, 2)?;
    w.u16(packet_id);
    Ok(w.finish())
}

/// Writes SUBACK with one return code per filter (granted QoS or
/// [`crate::SUBACK_FAILURE`]); returns its length.
pub fn encode_suback(
    packet_id: u16,
    return_codes: &[u8],
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    if packet_id == 0 {
        return Err(EncodeError::BadPacketId);
    }
    let mut w = Writer::start(buf, SUBACK << 4, 2 + return_codes.len())?;
    w.u16(packet_id);
    w.raw(return_codes);
    Ok(w.finish())
}

/// Writes PINGRESP; returns its length (2).
pub fn encode_pingresp(buf: &mut [u8]) -> Result<usize, EncodeError> {
    Ok(Writer::start(buf, PINGRESP << 4, 0)?.finish())
}

/// Whether `topic` may be published to: not empty, no wildcard, no NUL (§4.7).
pub fn valid_publish_topic(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['+', '#', '\0'])
}

/// Whether `filter` is a well-formed topic filter: not empty, no NUL, `+` alone in its
/// level, `#` alone in the last level (§4.7.1).
pub fn valid_filter(filter: &str) -> bool {
    if filter.is_empty() || filter.contains('\0') {
        return false;
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let last = levels.peek().is_none();
        match level {
            "+" => {}
            "#" if last => {}
            _ if level.contains(['+', '#']) => return false,
            _ => {}
        }
    }
    true
}

/// Whether `topic` matches `filter` (§4.7): `+` one level, `#` the rest (including the
/// parent level); a filter starting with a wildcard does not match a topic starting
/// with `$`.
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}
