//! Readiness probe: a raw MQTT 3.1.1 CONNECT → CONNACK exchange over TCP, or over a
//! WebSocket, with a deadline. The CONNECT is written by the firmware's codec
//! (`winter-river-mqtt-codec`); the CONNACK and the WebSocket framing are read here.
//! Any broker (the embedded one, Mosquitto, EMQX) can be checked this way before clients
//! start.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use winter_river_mqtt_codec::{Connect, encode_connect};

use crate::BrokerError;

/// Keepalive sent in the probe's CONNECT \[s\] (not 0: some brokers, rumqttd among them,
/// refuse keepalive 0).
const PROBE_KEEPALIVE_S: u16 = 30;

/// The HTTP upgrade response is a few hundred bytes; more than this is not a WebSocket server.
const MAX_UPGRADE_RESPONSE_BYTES: usize = 4096;

/// Checks that an MQTT 3.1.1 broker answers on `addr` (TCP): connects, sends an anonymous
/// CONNECT, waits for a CONNACK that accepts it, and closes the socket. The whole exchange
/// must finish within `timeout` (no DISCONNECT: the probe has no Will, and some brokers
/// log a clean DISCONNECT noisily). A closed port fails at once with
/// [`BrokerError::Unreachable`].
pub fn probe(addr: SocketAddr, timeout: Duration) -> Result<(), BrokerError> {
    probe_with_credentials(addr, None, timeout)
}

/// [`probe`] with a username and password in the CONNECT (for a broker that requires them;
/// the embedded broker and Mosquitto answer wrong ones with CONNACK code 4 or 5, some
/// brokers just close the connection).
pub fn probe_with_credentials(
    addr: SocketAddr,
    credentials: Option<(&str, &str)>,
    timeout: Duration,
) -> Result<(), BrokerError> {
    let mut conn = Conn::open(addr, timeout)?;
    conn.write(&connect_packet(addr, &probe_client_id(), credentials)?)?;
    conn.fill(4)?;
    check_connack(addr, &conn.buf[..4])
}

/// Checks that an MQTT 3.1.1 broker answers over WebSocket on `addr` (`ws://addr/mqtt`):
/// HTTP upgrade with the `mqtt` subprotocol, then the same CONNECT/CONNACK exchange as
/// [`probe`] in binary frames, all within `timeout`.
pub fn probe_ws(
    addr: SocketAddr,
    credentials: Option<(&str, &str)>,
    timeout: Duration,
) -> Result<(), BrokerError> {
    let mut conn = Conn::open(addr, timeout)?;
    let request = format!(
        "GET /mqtt HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: mqtt\r\n\r\n"
    );
    conn.write(request.as_bytes())?;
    let head_len = loop {
        if let Some(end) = find(&conn.buf, b"\r\n\r\n") {
            break end + 4;
        }
        if conn.buf.len() > MAX_UPGRADE_RESPONSE_BYTES {
            return Err(not_mqtt(addr, "no end to the HTTP upgrade response"));
        }
        conn.fill(conn.buf.len() + 1)?;
    };
    let head = String::from_utf8_lossy(&conn.buf[..head_len]).into_owned();
    if !head.starts_with("HTTP/1.1 101") {
        let line = head.lines().next().unwrap_or_default();
        return Err(not_mqtt(
            addr,
            &format!("WebSocket upgrade refused: {line}"),
        ));
    }
    conn.buf.drain(..head_len);
    let connect = connect_packet(addr, &probe_client_id(), credentials)?;
    conn.write(&ws_frame(&connect))?;
    // Server frames are unmasked: 0x82 (final, binary), a 7-bit length, the bytes. The
    // CONNACK may in principle be split over frames, so collect payload until 4 bytes.
    let mut payload = Vec::new();
    while payload.len() < 4 {
        conn.fill(2)?;
        let len = usize::from(conn.buf[1] & 0x7f);
        if conn.buf[0] & 0x0f > 0x2 || conn.buf[1] & 0x80 != 0 || len >= 126 {
            return Err(not_mqtt(addr, "unexpected WebSocket frame"));
        }
        conn.fill(2 + len)?;
        payload.extend(conn.buf.drain(..2 + len).skip(2));
    }
    check_connack(addr, &payload[..4])
}

/// A probe's TCP connection with its deadline and received bytes.
struct Conn {
    addr: SocketAddr,
    stream: TcpStream,
    buf: Vec<u8>,
    deadline: Instant,
    timeout: Duration,
}

impl Conn {
    /// Connects; refused or unroutable fails at once, naming the address.
    fn open(addr: SocketAddr, timeout: Duration) -> Result<Self, BrokerError> {
        let deadline = Instant::now() + timeout;
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|source| {
            if source.kind() == io::ErrorKind::TimedOut {
                BrokerError::ProbeTimeout { addr, timeout }
            } else {
                BrokerError::Unreachable { addr, source }
            }
        })?;
        let conn = Conn {
            addr,
            stream,
            buf: Vec::new(),
            deadline,
            timeout,
        };
        conn.stream
            .set_nodelay(true)
            .map_err(|e| conn.io_error(e))?;
        conn.stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| conn.io_error(e))?;
        Ok(conn)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), BrokerError> {
        self.stream.write_all(bytes).map_err(|e| self.io_error(e))
    }

    /// Reads until `buf` holds at least `len` bytes or the deadline passes.
    fn fill(&mut self, len: usize) -> Result<(), BrokerError> {
        let mut chunk = [0u8; 512];
        while self.buf.len() < len {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out());
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| self.io_error(e))?;
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(BrokerError::ConnectionClosed { addr: self.addr }),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e)),
            }
        }
        Ok(())
    }

    fn timed_out(&self) -> BrokerError {
        BrokerError::ProbeTimeout {
            addr: self.addr,
            timeout: self.timeout,
        }
    }

    fn io_error(&self, source: io::Error) -> BrokerError {
        match source.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => self.timed_out(),
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => BrokerError::ConnectionClosed { addr: self.addr },
            _ => BrokerError::Unreachable {
                addr: self.addr,
                source,
            },
        }
    }
}

/// Accepts a 4-byte CONNACK with return code 0.
fn check_connack(addr: SocketAddr, bytes: &[u8]) -> Result<(), BrokerError> {
    match bytes {
        [0x20, 0x02, _, 0] => Ok(()),
        [0x20, 0x02, _, code] => Err(BrokerError::Refused { addr, code: *code }),
        [first, ..] => Err(not_mqtt(
            addr,
            &format!("expected a CONNACK, got a packet starting 0x{first:02x}"),
        )),
        [] => Err(BrokerError::ConnectionClosed { addr }),
    }
}

fn not_mqtt(addr: SocketAddr, detail: &str) -> BrokerError {
    BrokerError::NotMqtt {
        addr,
        detail: detail.to_owned(),
    }
}

/// A client id that does not collide with another probe (a broker closes the older of two
/// connections with the same id).
fn probe_client_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "wr-probe-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// MQTT 3.1.1 CONNECT with clean session, keepalive [`PROBE_KEEPALIVE_S`] and optional
/// username/password, written by the workspace's MQTT codec (the firmware's).
fn connect_packet(
    addr: SocketAddr,
    client_id: &str,
    credentials: Option<(&str, &str)>,
) -> Result<Vec<u8>, BrokerError> {
    let connect = Connect {
        client_id,
        keep_alive_s: PROBE_KEEPALIVE_S,
        clean_session: true,
        will: None,
        username: credentials.map(|(user, _)| user),
        password: credentials.map(|(_, pass)| pass.as_bytes()),
    };
    // Fixed header (at most 5 bytes), "MQTT", level, flags and keepalive (10), and up
    // to three length-prefixed strings.
    let strings = client_id.len() + credentials.map_or(0, |(u, p)| 4 + u.len() + p.len());
    let mut packet = vec![0; 5 + 10 + 2 + strings];
    let len = encode_connect(&connect, &mut packet).map_err(|e| {
        BrokerError::Config(format!("cannot write the probe's CONNECT for {addr}: {e}"))
    })?;
    packet.truncate(len);
    Ok(packet)
}

/// A client-to-server WebSocket binary frame. Clients must mask; a zero mask key leaves the
/// payload as is (RFC 6455 §5.3 allows any key).
fn ws_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x82];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn addr() -> SocketAddr {
        ([127, 0, 0, 1], 1883).into()
    }

    #[test]
    fn connect_packet_matches_the_spec_example() {
        // MQTT 3.1.1 §3.1: "MQTT", level 4, clean session, keepalive 30, client id "ab".
        let packet = connect_packet(addr(), "ab", None).unwrap();
        assert_eq!(
            packet,
            [
                0x10, 14, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 30, 0, 2, b'a', b'b'
            ]
        );
    }

    #[test]
    fn connect_packet_carries_credentials() {
        let packet = connect_packet(addr(), "c", Some(("u", "pw"))).unwrap();
        assert_eq!(packet[9], 0xc2);
        assert!(packet.ends_with(&[0, 1, b'u', 0, 2, b'p', b'w']));
    }

    #[test]
    fn connect_packet_fits_long_credentials() {
        let user = "u".repeat(100);
        let pass = "p".repeat(200);
        let packet = connect_packet(addr(), "wr-probe-1-2", Some((&user, &pass))).unwrap();
        // Remaining length 10 + 14 + 102 + 202 = 328 takes two bytes.
        assert_eq!(packet[..3], [0x10, 0xc8, 0x02]);
        assert_eq!(packet.len(), 3 + 328);
        assert!(packet.ends_with(pass.as_bytes()));
    }

    #[test]
    fn connack_codes() {
        let addr = addr();
        assert!(check_connack(addr, &[0x20, 2, 0, 0]).is_ok());
        assert!(matches!(
            check_connack(addr, &[0x20, 2, 0, 5]),
            Err(BrokerError::Refused { code: 5, .. })
        ));
        assert!(matches!(
            check_connack(addr, &[0x48, 0x54, 0x54, 0x50]),
            Err(BrokerError::NotMqtt { .. })
        ));
    }
}
