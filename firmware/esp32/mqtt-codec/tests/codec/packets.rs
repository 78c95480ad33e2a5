//! Packets byte for byte (MQTT 3.1.1 §2–3) and decode of what brokers send.

use winter_river_mqtt_codec::{
    Connect, ConnectReturnCode, DecodeError, EncodeError, Packet, Publish, QoS, Will, decode,
    encode_connect, encode_disconnect, encode_pingreq, encode_puback, encode_publish,
    encode_subscribe,
};

fn connect_bytes(connect: &Connect<'_>) -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = encode_connect(connect, &mut buf).unwrap();
    buf[..n].to_vec()
}

#[test]
fn connect_with_retained_qos1_will() {
    let bytes = connect_bytes(&Connect {
        client_id: "b1",
        keep_alive_s: 30,
        clean_session: true,
        will: Some(Will {
            topic: "p/b1/availability",
            payload: b"offline",
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
        username: None,
        password: None,
    });
    let mut expected = vec![0x10, 0];
    expected.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4]);
    // clean session 0x02 | will 0x04 | will QoS 1 0x08 | will retain 0x20
    expected.push(0x2E);
    expected.extend_from_slice(&[0, 30]);
    expected.extend_from_slice(&[0, 2, b'b', b'1']);
    expected.extend_from_slice(&[0, 17]);
    expected.extend_from_slice(b"p/b1/availability");
    expected.extend_from_slice(&[0, 7]);
    expected.extend_from_slice(b"offline");
    expected[1] = (expected.len() - 2) as u8;
    assert_eq!(bytes, expected);
}

#[test]
fn connect_with_credentials_and_no_will() {
    let bytes = connect_bytes(&Connect {
        client_id: "c",
        keep_alive_s: 0,
        clean_session: false,
        will: None,
        username: Some("u"),
        password: Some(b"pw"),
    });
    assert_eq!(
        bytes,
        [
            0x10, 20, 0, 4, b'M', b'Q', b'T', b'T', 4, 0xC0, 0, 0, 0, 1, b'c', 0, 1, b'u', 0, 2,
            b'p', b'w'
        ]
    );
}

#[test]
fn a_password_without_username_is_not_sent() {
    let bytes = connect_bytes(&Connect {
        client_id: "c",
        keep_alive_s: 60,
        clean_session: true,
        will: None,
        username: None,
        password: Some(b"pw"),
    });
    assert_eq!(bytes[9], 0x02);
    assert_eq!(bytes.len(), 15);
}

#[test]
fn publish_qos0_and_qos1() {
    let mut buf = [0u8; 64];
    let n = encode_publish(
        &Publish {
            topic: "a/b",
            payload: b"hi",
            qos: QoS::AtMostOnce,
            retain: false,
            dup: false,
            packet_id: None,
        },
        &mut buf,
    )
    .unwrap();
    assert_eq!(&buf[..n], [0x30, 7, 0, 3, b'a', b'/', b'b', b'h', b'i']);

    let n = encode_publish(
        &Publish {
            topic: "a/b",
            payload: b"online",
            qos: QoS::AtLeastOnce,
            retain: true,
            dup: false,
            packet_id: Some(0x0102),
        },
        &mut buf,
    )
    .unwrap();
    assert_eq!(
        &buf[..n],
        [
            0x33, 13, 0, 3, b'a', b'/', b'b', 1, 2, b'o', b'n', b'l', b'i', b'n', b'e'
        ]
    );
}

#[test]
fn publish_refuses_a_wrong_packet_id() {
    let mut buf = [0u8; 64];
    let mut publish = Publish {
        topic: "t",
        payload: b"",
        qos: QoS::AtLeastOnce,
        retain: false,
        dup: false,
        packet_id: None,
    };
    assert_eq!(
        encode_publish(&publish, &mut buf),
        Err(EncodeError::BadPacketId)
    );
    publish.packet_id = Some(0);
    assert_eq!(
        encode_publish(&publish, &mut buf),
        Err(EncodeError::BadPacketId)
    );
    publish.qos = QoS::AtMostOnce;
    publish.packet_id = Some(3);
    assert_eq!(
        encode_publish(&publish, &mut buf),
        Err(EncodeError::BadPacketId)
    );
}

#[test]
fn remaining_length_uses_one_to_three_bytes_at_the_boundaries() {
    // (payload so that remaining = 127, 128, 16383, 16384) → header bytes.
    let topic = "t";
    for (remaining, header) in [
        (127usize, vec![0x30, 0x7F]),
        (128, vec![0x30, 0x80, 0x01]),
        (16_383, vec![0x30, 0xFF, 0x7F]),
        (16_384, vec![0x30, 0x80, 0x80, 0x01]),
    ] {
        let payload = vec![b'x'; remaining - 3];
        let mut buf = vec![0u8; remaining + 4];
        let n = encode_publish(
            &Publish {
                topic,
                payload: &payload,
                qos: QoS::AtMostOnce,
                retain: false,
                dup: false,
                packet_id: None,
            },
            &mut buf,
        )
        .unwrap();
        assert_eq!(
            &buf[..header.len()],
            header.as_slice(),
            "remaining {remaining}"
        );
        assert_eq!(n, header.len() + remaining);
        let (packet, used) = decode(&buf[..n]).unwrap().unwrap();
        assert_eq!(used, n);
        let Packet::Publish(p) = packet else {
            panic!("not a publish: {packet:?}");
        };
        assert_eq!(p.payload.len(), remaining - 3);
    }
}

#[test]
fn a_buffer_too_small_says_how_much_is_needed() {
    let mut buf = [0u8; 8];
    assert_eq!(
        encode_subscribe(1, &[("a/b/command", QoS::AtLeastOnce)], &mut buf),
        Err(EncodeError::BufferTooSmall { needed: 18 })
    );
}

#[test]
fn subscribe_puback_ping_disconnect() {
    let mut buf = [0u8; 64];
    let n = encode_subscribe(
        10,
        &[("a/+", QoS::AtLeastOnce), ("b", QoS::AtMostOnce)],
        &mut buf,
    )
    .unwrap();
    assert_eq!(
        &buf[..n],
        [0x82, 12, 0, 10, 0, 3, b'a', b'/', b'+', 1, 0, 1, b'b', 0]
    );
    assert_eq!(
        encode_subscribe(0, &[("a", QoS::AtMostOnce)], &mut buf),
        Err(EncodeError::BadPacketId)
    );
    assert_eq!(
        encode_subscribe(1, &[], &mut buf),
        Err(EncodeError::NoFilters)
    );
    let n = encode_puback(0xABCD, &mut buf).unwrap();
    assert_eq!(&buf[..n], [0x40, 2, 0xAB, 0xCD]);
    let n = encode_pingreq(&mut buf).unwrap();
    assert_eq!(&buf[..n], [0xC0, 0]);
    let n = encode_disconnect(&mut buf).unwrap();
    assert_eq!(&buf[..n], [0xE0, 0]);
}

#[test]
fn decodes_what_a_broker_sends() {
    assert_eq!(
        decode(&[0x20, 2, 0, 0]).unwrap(),
        Some((
            Packet::ConnAck {
                session_present: false,
                return_code: ConnectReturnCode::Accepted
            },
            4
        ))
    );
    assert_eq!(
        decode(&[0x20, 2, 1, 5]).unwrap(),
        Some((
            Packet::ConnAck {
                session_present: true,
                return_code: ConnectReturnCode::NotAuthorized
            },
            4
        ))
    );
    assert_eq!(
        decode(&[0x90, 4, 0, 7, 1, 0x80]).unwrap(),
        Some((
            Packet::SubAck {
                packet_id: 7,
                return_codes: &[1, 0x80]
            },
            6
        ))
    );
    assert_eq!(
        decode(&[0x40, 2, 0, 9]).unwrap(),
        Some((Packet::PubAck { packet_id: 9 }, 4))
    );
    assert_eq!(
        decode(&[0xB0, 2, 0, 9]).unwrap(),
        Some((Packet::UnsubAck { packet_id: 9 }, 4))
    );
    assert_eq!(decode(&[0xD0, 0]).unwrap(), Some((Packet::PingResp, 2)));
    // A retained QoS 1 PUBLISH with DUP set.
    let (packet, used) = decode(&[0x3B, 8, 0, 1, b't', 0, 5, b'x', b'y', b'z'])
        .unwrap()
        .unwrap();
    assert_eq!(used, 10);
    assert_eq!(
        packet,
        Packet::Publish(Publish {
            topic: "t",
            payload: b"xyz",
            qos: QoS::AtLeastOnce,
            retain: true,
            dup: true,
            packet_id: Some(5)
        })
    );
}

#[test]
fn incomplete_packets_ask_for_more() {
    let full = [0x30, 7, 0, 3, b'a', b'/', b'b', b'h', b'i'];
    for cut in 0..full.len() {
        assert_eq!(decode(&full[..cut]).unwrap(), None, "cut at {cut}");
    }
    // A length still continuing after 1 byte.
    assert_eq!(decode(&[0x30, 0x80]).unwrap(), None);
}

#[test]
fn refuses_what_a_client_must_not_accept() {
    assert_eq!(
        decode(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        Err(DecodeError::MalformedLength)
    );
    assert_eq!(decode(&[0x10, 0]), Err(DecodeError::UnexpectedType(1)));
    assert_eq!(decode(&[0xD1, 0]), Err(DecodeError::BadFlags));
    assert_eq!(decode(&[0x20, 3, 0, 0, 0]), Err(DecodeError::Malformed));
    assert_eq!(decode(&[0x20, 2, 2, 0]), Err(DecodeError::Malformed));
    assert_eq!(
        decode(&[0x34, 5, 0, 1, b't', 0, 1]),
        Err(DecodeError::UnsupportedQos)
    );
    assert_eq!(decode(&[0x50, 2, 0, 1]), Err(DecodeError::UnsupportedQos));
    assert_eq!(
        decode(&[0x32, 5, 0, 1, b't', 0, 0]),
        Err(DecodeError::ZeroPacketId)
    );
    assert_eq!(
        decode(&[0x30, 4, 0, 2, 0xC3, 0x28]),
        Err(DecodeError::BadUtf8)
    );
    // Topic length past the end of the packet.
    assert_eq!(decode(&[0x30, 3, 0, 9, b't']), Err(DecodeError::Malformed));
    assert_eq!(decode(&[0x90, 2, 0, 1]), Err(DecodeError::Malformed));
}
