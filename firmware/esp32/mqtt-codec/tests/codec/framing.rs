//! RxBuffer: packets out of a byte stream however it is cut, and oversized packets
//! skipped without losing the ones around them.

use winter_river_mqtt_codec::{DecodeError, Packet, Publish, QoS, RxBuffer, encode_publish};

fn publish_bytes(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; payload.len() + topic.len() + 8];
    let n = encode_publish(
        &Publish {
            topic,
            payload,
            qos: QoS::AtMostOnce,
            retain: false,
            dup: false,
            packet_id: None,
        },
        &mut buf,
    )
    .unwrap();
    buf.truncate(n);
    buf
}

/// Feeds `stream` in chunks of `chunk` bytes; returns the payloads and errors seen.
fn feed<const N: usize>(stream: &[u8], chunk: usize) -> (Vec<Vec<u8>>, Vec<DecodeError>) {
    let mut rx = RxBuffer::<N>::new();
    let mut payloads = Vec::new();
    let mut errors = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let space = rx.unfilled();
        assert!(!space.is_empty());
        let n = chunk.min(space.len()).min(rest.len());
        space[..n].copy_from_slice(&rest[..n]);
        rest = &rest[n..];
        rx.commit(n);
        loop {
            match rx.next_packet() {
                Ok(Some(Packet::Publish(p))) => payloads.push(p.payload.to_vec()),
                Ok(Some(other)) => panic!("unexpected {other:?}"),
                Ok(None) => break,
                Err(e) => errors.push(e),
            }
        }
    }
    assert_eq!(rx.pending(), 0);
    (payloads, errors)
}

#[test]
fn any_cut_of_the_stream_gives_the_same_packets() {
    let mut stream = Vec::new();
    for i in 0..20u8 {
        stream.extend(publish_bytes("wr/x/command", &vec![i; usize::from(i) * 7]));
    }
    for chunk in [1, 2, 3, 7, 64, 1000] {
        let (payloads, errors) = feed::<256>(&stream, chunk);
        assert!(errors.is_empty());
        assert_eq!(payloads.len(), 20, "chunk {chunk}");
        for (i, p) in payloads.iter().enumerate() {
            assert_eq!(p.len(), i * 7);
        }
    }
}

#[test]
fn an_oversized_packet_is_skipped_and_reported_once() {
    let mut stream = publish_bytes("t", b"before");
    let big = publish_bytes("t", &[b'z'; 500]);
    stream.extend(&big);
    stream.extend(publish_bytes("t", b"after"));
    for chunk in [1, 5, 64, 100, 2000] {
        let (payloads, errors) = feed::<64>(&stream, chunk);
        assert_eq!(
            payloads,
            [b"before".to_vec(), b"after".to_vec()],
            "chunk {chunk}"
        );
        assert_eq!(errors, [DecodeError::TooLarge { len: big.len() }]);
    }
}
