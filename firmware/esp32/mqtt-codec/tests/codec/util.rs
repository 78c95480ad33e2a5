//! A blocking test client over std TCP that speaks only through the codec, as the
//! firmware does over embassy-net.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use winter_river_mqtt_codec::{
    Connect, ConnectReturnCode, Packet, PacketIds, Publish, QoS, RxBuffer, Will, encode_connect,
    encode_pingreq, encode_puback, encode_publish, encode_subscribe,
};

/// How long a test waits for one packet.
pub const WAIT: Duration = Duration::from_secs(5);

/// A received packet, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    ConnAck(ConnectReturnCode),
    Publish {
        topic: String,
        payload: Vec<u8>,
        qos: QoS,
        retain: bool,
        packet_id: Option<u16>,
    },
    PubAck(u16),
    SubAck(u16, Vec<u8>),
    PingResp,
    Other,
}

pub struct Client {
    stream: TcpStream,
    rx: RxBuffer<2048>,
    pub ids: PacketIds,
}

impl Client {
    /// Connects and waits for an accepting CONNACK.
    pub fn connect(addr: SocketAddr, client_id: &str, will: Option<Will<'_>>) -> Client {
        let stream = TcpStream::connect_timeout(&addr, WAIT).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut client = Client {
            stream,
            rx: RxBuffer::new(),
            ids: PacketIds::new(),
        };
        let mut buf = [0u8; 512];
        let n = encode_connect(
            &Connect {
                client_id,
                keep_alive_s: 30,
                clean_session: true,
                will,
                username: None,
                password: None,
            },
            &mut buf,
        )
        .unwrap();
        client.send(&buf[..n]);
        assert_eq!(
            client.recv(),
            Got::ConnAck(ConnectReturnCode::Accepted),
            "{client_id}"
        );
        client
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn subscribe(&mut self, filter: &str, qos: QoS) {
        let id = self.ids.next_id();
        let mut buf = [0u8; 256];
        let n = encode_subscribe(id, &[(filter, qos)], &mut buf).unwrap();
        self.send(&buf[..n]);
        let got = self.recv_skipping_publishes();
        assert_eq!(
            got,
            Got::SubAck(
                id,
                vec![match qos {
                    QoS::AtMostOnce => 0,
                    QoS::AtLeastOnce => 1,
                }]
            )
        );
    }

    /// Publishes; at QoS 1 waits for the PUBACK of its packet id.
    pub fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS, retain: bool) {
        let packet_id = (qos == QoS::AtLeastOnce).then(|| self.ids.next_id());
        let mut buf = vec![0u8; payload.len() + topic.len() + 16];
        let n = encode_publish(
            &Publish {
                topic,
                payload,
                qos,
                retain,
                dup: false,
                packet_id,
            },
            &mut buf,
        )
        .unwrap();
        self.send(&buf[..n]);
        if let Some(id) = packet_id {
            assert_eq!(self.recv_skipping_publishes(), Got::PubAck(id));
        }
    }

    pub fn puback(&mut self, packet_id: u16) {
        let mut buf = [0u8; 4];
        let n = encode_puback(packet_id, &mut buf).unwrap();
        self.send(&buf[..n]);
    }

    pub fn ping(&mut self) {
        let mut buf = [0u8; 2];
        let n = encode_pingreq(&mut buf).unwrap();
        self.send(&buf[..n]);
        assert_eq!(self.recv_skipping_publishes(), Got::PingResp);
    }

    /// The next packet; panics after [`WAIT`].
    pub fn recv(&mut self) -> Got {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(got) = self.rx.next_packet().unwrap().map(own) {
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no packet within {WAIT:?}");
            self.stream.set_read_timeout(Some(left)).unwrap();
            let n = self.stream.read(self.rx.unfilled()).unwrap();
            assert!(n > 0, "broker closed the connection");
            self.rx.commit(n);
        }
    }

    /// The next packet that is not a PUBLISH (acks may interleave with deliveries).
    fn recv_skipping_publishes(&mut self) -> Got {
        loop {
            match self.recv() {
                Got::Publish { .. } => continue,
                other => return other,
            }
        }
    }

    /// The next PUBLISH on `topic`, acknowledged if QoS 1.
    pub fn recv_publish_on(&mut self, topic: &str) -> Got {
        loop {
            let got = self.recv();
            if let Got::Publish {
                topic: t,
                packet_id,
                ..
            } = &got
            {
                if let Some(id) = packet_id {
                    self.puback(*id);
                }
                if t == topic {
                    return got;
                }
            }
        }
    }

    /// Closes the TCP connection without DISCONNECT, as a board losing power does.
    pub fn vanish(self) {
        self.stream.shutdown(std::net::Shutdown::Both).unwrap();
    }
}

fn own(packet: Packet<'_>) -> Got {
    match packet {
        Packet::ConnAck { return_code, .. } => Got::ConnAck(return_code),
        Packet::Publish(p) => Got::Publish {
            topic: p.topic.to_owned(),
            payload: p.payload.to_vec(),
            qos: p.qos,
            retain: p.retain,
            packet_id: p.packet_id,
        },
        Packet::PubAck { packet_id } => Got::PubAck(packet_id),
        Packet::SubAck {
            packet_id,
            return_codes,
        } => Got::SubAck(packet_id, return_codes.to_vec()),
        Packet::PingResp => Got::PingResp,
        Packet::UnsubAck { .. } => Got::Other,
    }
}
