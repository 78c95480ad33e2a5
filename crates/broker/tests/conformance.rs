//! MQTT 3.1.1 behaviour of the embedded broker that clients rely on, each case against a
//! broker of its own on loopback, driven by raw packets from the board's codec (so the
//! test sees exactly what the broker sends) or by rumqttc: invalid topics, QoS 2,
//! persistent sessions, the Will, session take-over, oversized messages, the WebSocket
//! Origin check, in-process shutdown, and a flood that must not cost one valid command.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use winter_river_broker::{BrokerConfig, Limits, RunningBroker, start};
use winter_river_mqtt_codec::server::{
    ClientPacket, Qos, ServerPublish, decode_client_packet, encode_server_publish,
};
use winter_river_mqtt_codec::{
    Connect, Packet, Publish, QoS, Will, decode, encode_connect, encode_disconnect, encode_puback,
    encode_publish, encode_subscribe, packet_len,
};

const WAIT: Duration = Duration::from_secs(20);

fn broker() -> RunningBroker {
    start(BrokerConfig::loopback()).expect("embedded broker starts")
}

/// A raw MQTT client over a blocking socket.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
    next_id: u16,
}

impl Raw {
    fn connect_with(addr: SocketAddr, connect: &Connect<'_>) -> (Raw, Packet<'static>) {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        let mut raw = Raw {
            stream,
            buf: Vec::new(),
            next_id: 0,
        };
        let mut packet = [0u8; 512];
        let n = encode_connect(connect, &mut packet).expect("encode CONNECT");
        raw.send(&packet[..n]);
        let ack = raw.next_owned().expect("CONNACK");
        (raw, ack)
    }

    fn connect(addr: SocketAddr, client_id: &str, clean: bool) -> Raw {
        let (raw, ack) = Raw::connect_with(
            addr,
            &Connect {
                client_id,
                keep_alive_s: 0,
                clean_session: clean,
                will: None,
                username: None,
                password: None,
            },
        );
        assert!(matches!(ack, Packet::ConnAck { .. }), "{ack:?}");
        raw
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    fn subscribe(&mut self, filter: &str, qos: QoS) -> u8 {
        self.next_id += 1;
        let mut packet = [0u8; 256];
        let n = encode_subscribe(self.next_id, &[(filter, qos)], &mut packet).expect("SUBSCRIBE");
        self.send(&packet[..n]);
        loop {
            match self.next_owned() {
                Some(Packet::SubAck { return_codes, .. }) => return return_codes[0],
                Some(_) => {}
                None => panic!("no SUBACK"),
            }
        }
    }

    fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS, retain: bool) {
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce => {
                self.next_id = self.next_id.checked_add(1).unwrap_or(1);
                Some(self.next_id)
            }
        };
        let mut packet = vec![0u8; topic.len() + payload.len() + 16];
        let n = encode_publish(
            &Publish {
                topic,
                payload,
                qos,
                retain,
                dup: false,
                packet_id,
            },
            &mut packet,
        )
        .expect("PUBLISH");
        self.send(&packet[..n]);
    }

    /// The next packet, or `None` when the broker closed the connection or nothing came
    /// within the read timeout. Packets live in a leaked buffer (tests only).
    fn next_owned(&mut self) -> Option<Packet<'static>> {
        loop {
            if let Ok(Some(total)) = packet_len(&self.buf)
                && self.buf.len() >= total
            {
                let bytes: &'static [u8] = Box::leak(self.buf.drain(..total).collect());
                let (packet, _) = decode(bytes).expect("a packet a client accepts")?;
                return Some(packet);
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next PUBLISH, acknowledging QoS 1.
    fn next_publish(&mut self) -> Option<Publish<'static>> {
        loop {
            match self.next_owned()? {
                Packet::Publish(p) => {
                    if let Some(id) = p.packet_id {
                        let mut ack = [0u8; 4];
                        let n = encode_puback(id, &mut ack).expect("PUBACK");
                        self.send(&ack[..n]);
                    }
                    return Some(p);
                }
                _ => continue,
            }
        }
    }

    fn set_timeout(&self, timeout: Duration) {
        self.stream
            .set_read_timeout(Some(timeout))
            .expect("timeout");
    }

    /// True if the broker closed the connection (EOF) within `WAIT`.
    fn closed_by_broker(&mut self) -> bool {
        loop {
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) => {
                    return !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    );
                }
            }
        }
    }
}

#[test]
fn publish_topics_with_wildcards_nul_or_nothing_are_refused_and_the_client_closed() {
    let broker = broker();
    let addr = broker.client_addr();
    let mut watcher = Raw::connect(addr, "c1-watch", true);
    assert_eq!(watcher.subscribe("#", QoS::AtMostOnce), 0);
    for (i, topic) in ["c1/+/status", "c1/#", "c1/a\0b", ""].iter().enumerate() {
        let mut bad = Raw::connect(addr, &format!("c1-bad-{i}"), true);
        bad.publish(topic, b"x", QoS::AtMostOnce, false);
        assert!(
            bad.closed_by_broker(),
            "publishing to {topic:?} closes the client"
        );
    }
    // A valid publish afterwards is the first thing the watcher sees.
    let mut good = Raw::connect(addr, "c1-good", true);
    good.publish("c1/ups_a/status", b"ok", QoS::AtMostOnce, false);
    let p = watcher.next_publish().expect("the valid publish");
    assert_eq!(p.topic, "c1/ups_a/status");
    assert_eq!(broker.stats().refused_invalid_topic, 4);
    broker.shutdown();
}

#[test]
fn invalid_subscription_filters_get_a_failure_code() {
    let broker = broker();
    let mut client = Raw::connect(broker.client_addr(), "c2", true);
    assert_eq!(client.subscribe("a/#/b", QoS::AtLeastOnce), 0x80);
    assert_eq!(client.subscribe("a/b+", QoS::AtLeastOnce), 0x80);
    assert_eq!(client.subscribe("a/+/c", QoS::AtLeastOnce), 1);
    broker.shutdown();
}

#[test]
fn qos2_is_delivered_exactly_once_even_when_the_publisher_resends() {
    let broker = broker();
    let addr = broker.client_addr();
    let mut sub = Raw::connect(addr, "c3-sub", true);
    sub.subscribe("c3/x", QoS::AtLeastOnce);
    let mut publisher = Raw::connect(addr, "c3-pub", true);
    let mut packet = [0u8; 64];
    for dup in [false, true] {
        let n = encode_server_publish(
            &ServerPublish {
                topic: "c3/x",
                payload: b"once",
                qos: Qos::ExactlyOnce,
                retain: false,
                dup,
                packet_id: Some(7),
            },
            &mut packet,
        )
        .expect("QoS 2 PUBLISH");
        publisher.send(&packet[..n]);
    }
    // PUBREC twice (one per PUBLISH), then PUBREL → PUBCOMP.
    for _ in 0..2 {
        let mut head = [0u8; 4];
        publisher.stream.read_exact(&mut head).expect("PUBREC");
        assert_eq!(head, [0x50, 2, 0, 7]);
    }
    publisher.send(&[0x62, 2, 0, 7]);
    let mut comp = [0u8; 4];
    publisher.stream.read_exact(&mut comp).expect("PUBCOMP");
    assert_eq!(comp, [0x70, 2, 0, 7]);
    let first = sub.next_publish().expect("delivered");
    assert_eq!(first.payload, b"once");
    sub.set_timeout(Duration::from_millis(500));
    assert!(
        sub.next_publish().is_none(),
        "the resend is not delivered again"
    );
    broker.shutdown();
}

#[test]
fn a_persistent_session_gets_what_was_sent_while_it_was_away() {
    let broker = broker();
    let addr = broker.client_addr();
    let mut board = Raw::connect(addr, "c4-board", false);
    board.subscribe("c4/ups_a/command", QoS::AtLeastOnce);
    drop(board);
    std::thread::sleep(Duration::from_millis(200));
    let mut operator = Raw::connect(addr, "c4-op", true);
    for i in 0..5 {
        operator.publish(
            "c4/ups_a/command",
            format!("{i}").as_bytes(),
            QoS::AtLeastOnce,
            false,
        );
    }
    // Wait until the broker has routed them (PUBACKs).
    for _ in 0..5 {
        assert!(matches!(operator.next_owned(), Some(Packet::PubAck { .. })));
    }
    let (mut board, ack) = Raw::connect_with(
        addr,
        &Connect {
            client_id: "c4-board",
            keep_alive_s: 0,
            clean_session: false,
            will: None,
            username: None,
            password: None,
        },
    );
    assert!(matches!(
        ack,
        Packet::ConnAck {
            session_present: true,
            ..
        }
    ));
    let got: Vec<_> = (0..5)
        .map(|_| {
            board
                .next_publish()
                .expect("queued command")
                .payload
                .to_vec()
        })
        .collect();
    assert_eq!(
        got,
        (0..5)
            .map(|i| format!("{i}").into_bytes())
            .collect::<Vec<_>>()
    );
    assert_eq!(broker.stats().queued_offline, 5);
    broker.shutdown();
}

#[test]
fn the_will_is_published_when_a_client_vanishes_but_not_after_disconnect() {
    let broker = broker();
    let addr = broker.client_addr();
    let mut watcher = Raw::connect(addr, "c5-watch", true);
    watcher.subscribe("c5/+/availability", QoS::AtLeastOnce);
    let with_will = |id: &'static str| Connect {
        client_id: id,
        keep_alive_s: 0,
        clean_session: true,
        will: Some(Will {
            topic: if id == "c5-a" {
                "c5/a/availability"
            } else {
                "c5/b/availability"
            },
            payload: b"offline",
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
        username: None,
        password: None,
    };
    let (polite, _) = Raw::connect_with(addr, &with_will("c5-a"));
    let mut polite = polite;
    let mut bye = [0u8; 2];
    let n = encode_disconnect(&mut bye).expect("DISCONNECT");
    polite.send(&bye[..n]);
    drop(polite);
    let (vanishing, _) = Raw::connect_with(addr, &with_will("c5-b"));
    drop(vanishing);
    let p = watcher.next_publish().expect("the Will");
    assert_eq!(p.topic, "c5/b/availability");
    assert_eq!(p.payload, b"offline");
    watcher.set_timeout(Duration::from_millis(500));
    assert!(watcher.next_publish().is_none(), "no Will after DISCONNECT");
    broker.shutdown();
}

#[test]
fn a_second_connection_with_the_same_client_id_takes_the_session_over() {
    let broker = broker();
    let addr = broker.client_addr();
    let mut first = Raw::connect(addr, "c6-board", false);
    first.subscribe("c6/x/command", QoS::AtLeastOnce);
    let mut second = Raw::connect(addr, "c6-board", false);
    assert!(first.closed_by_broker(), "the first connection is closed");
    let mut op = Raw::connect(addr, "c6-op", true);
    op.publish("c6/x/command", b"hi", QoS::AtLeastOnce, false);
    let p = second
        .next_publish()
        .expect("the session's subscription carried over");
    assert_eq!(p.payload, b"hi");
    broker.shutdown();
}

#[test]
fn an_oversized_command_is_refused_without_disconnecting_anyone() {
    let config = BrokerConfig {
        limits: Limits {
            max_command_bytes: 1024,
            ..Limits::default()
        },
        ..BrokerConfig::loopback()
    };
    let broker = start(config).expect("broker");
    let addr = broker.client_addr();
    let mut board = Raw::connect(addr, "c7-board", true);
    board.subscribe("c7/pdu_a/command", QoS::AtLeastOnce);
    let mut op = Raw::connect(addr, "c7-op", true);
    op.publish("c7/pdu_a/command", &[b'x'; 4096], QoS::AtLeastOnce, false);
    assert!(
        matches!(op.next_owned(), Some(Packet::PubAck { .. })),
        "the sender stays connected and gets its PUBACK"
    );
    op.publish("c7/pdu_a/command", b"small", QoS::AtLeastOnce, false);
    let p = board.next_publish().expect("the board stays connected");
    assert_eq!(
        p.payload, b"small",
        "the oversized one never reached the board"
    );
    // A large retained topology (2 MiB) still goes through.
    let mut engine = Raw::connect(addr, "c7-engine", true);
    let topology = vec![b'{'; 2 * 1024 * 1024];
    engine.publish("c7/system/topology", &topology, QoS::AtLeastOnce, true);
    let mut late = Raw::connect(addr, "c7-late", true);
    late.subscribe("c7/system/topology", QoS::AtLeastOnce);
    let p = late.next_publish().expect("retained topology");
    assert_eq!(p.payload.len(), topology.len());
    assert_eq!(broker.stats().refused_oversized, 1);
    broker.shutdown();
}

#[test]
fn shutdown_closes_every_connection_and_frees_the_port() {
    let broker = broker();
    let addr = broker.client_addr();
    let mut client = Raw::connect(addr, "c8", true);
    let started = Instant::now();
    broker.shutdown();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(client.closed_by_broker());
    std::net::TcpListener::bind(addr).expect("the port is free again");
}

/// The flood of issue 16: four clients publish a million hostile payloads (control
/// characters, not JSON) to a command topic as fast as they can, two at QoS 0 and two at
/// QoS 1, while an operator sends 1,000 numbered valid commands among them; an
/// engine-like persistent QoS 1 subscriber to `+/command` must receive every valid one,
/// and every flood message too: nothing vanishes uncounted (rumqttd lost 3–48 % of such a
/// flood and valid commands with it). About 30 s in a debug build.
#[test]
fn a_flood_of_hostile_payloads_costs_no_valid_command() {
    const FLOODERS: usize = 4;
    const FLOOD_EACH: usize = 250_000;
    const VALID: usize = 1_000;
    let broker = broker();
    let addr = broker.client_addr();
    let mut engine = Raw::connect(addr, "c9-engine", false);
    assert_eq!(engine.subscribe("c9/+/command", QoS::AtLeastOnce), 1);
    let started = Instant::now();
    let flooders: Vec<_> = (0..FLOODERS)
        .map(|f| {
            std::thread::spawn(move || {
                let mut raw = Raw::connect(addr, &format!("c9-flood-{f}"), true);
                let qos = if f % 2 == 0 {
                    QoS::AtMostOnce
                } else {
                    QoS::AtLeastOnce
                };
                // A QoS 1 flooder reads its PUBACKs on a thread of its own.
                let acks = (qos == QoS::AtLeastOnce).then(|| {
                    let mut reader = raw.stream.try_clone().expect("clone socket");
                    std::thread::spawn(move || {
                        let mut sink = [0u8; 65536];
                        while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
                    })
                });
                let mut batch = Vec::new();
                for i in 0..FLOOD_EACH {
                    let payload = format!("\u{1}garbage {f} {i} {{{{{{ not json");
                    let mut packet = [0u8; 128];
                    let n = encode_publish(
                        &Publish {
                            topic: "c9/ups_a/command",
                            payload: payload.as_bytes(),
                            qos,
                            retain: false,
                            dup: false,
                            packet_id: (qos == QoS::AtLeastOnce)
                                .then(|| u16::try_from(i % 65_535 + 1).unwrap_or(1)),
                        },
                        &mut packet,
                    )
                    .expect("flood PUBLISH");
                    batch.extend_from_slice(&packet[..n]);
                    if batch.len() > 32 * 1024 {
                        raw.send(&batch);
                        batch.clear();
                    }
                }
                raw.send(&batch);
                (raw, acks)
            })
        })
        .collect();
    let operator = std::thread::spawn(move || {
        let mut op = Raw::connect(addr, "c9-operator", true);
        for i in 0..VALID {
            let command = format!("{{\"command\":\"set_load\",\"params\":{{\"kw\":{i}}}}}");
            op.publish(
                "c9/rack_1/command",
                command.as_bytes(),
                QoS::AtLeastOnce,
                false,
            );
            if i % 50 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let mut acked = 0;
        while acked < VALID {
            match op.next_owned() {
                Some(Packet::PubAck { .. }) => acked += 1,
                Some(_) => {}
                None => panic!("operator: {acked} of {VALID} PUBACKs"),
            }
        }
    });
    let mut valid = std::collections::BTreeSet::new();
    let mut flood = 0usize;
    while valid.len() < VALID || flood < FLOODERS * FLOOD_EACH {
        let Some(p) = engine.next_publish() else {
            panic!(
                "the engine stopped receiving: {} valid of {VALID}, {flood} flood of {}",
                valid.len(),
                FLOODERS * FLOOD_EACH
            );
        };
        if p.topic == "c9/rack_1/command" {
            valid.insert(p.payload.to_vec());
        } else {
            flood += 1;
        }
    }
    operator.join().expect("operator");
    for f in flooders {
        let (raw, acks) = f.join().expect("flooder");
        let _ = raw.stream.shutdown(std::net::Shutdown::Both);
        if let Some(acks) = acks {
            acks.join().expect("ack reader");
        }
    }
    let stats = broker.stats();
    eprintln!(
        "flood: {} messages in {:?}; broker stats {stats:?}",
        FLOODERS * FLOOD_EACH + VALID,
        started.elapsed()
    );
    assert_eq!(valid.len(), VALID);
    assert_eq!(stats.dropped_slow, 0);
    broker.shutdown();
}

#[test]
fn the_codec_reads_back_what_the_broker_side_writes() {
    let mut buf = [0u8; 64];
    let n = encode_server_publish(
        &ServerPublish {
            topic: "a/b",
            payload: b"p",
            qos: Qos::ExactlyOnce,
            retain: true,
            dup: false,
            packet_id: Some(3),
        },
        &mut buf,
    )
    .expect("encode");
    match decode_client_packet(&buf[..n]) {
        Ok(Some((ClientPacket::Publish(p), used))) => {
            assert_eq!(used, n);
            assert_eq!(
                (p.topic, p.payload, p.qos, p.retain),
                ("a/b", &b"p"[..], Qos::ExactlyOnce, true)
            );
        }
        other => panic!("{other:?}"),
    }
}

/// The HTTP status line the WebSocket listener answers an upgrade from `origin` with.
fn ws_upgrade_status(addr: SocketAddr, origin: Option<&str>) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET /mqtt HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: mqtt\r\n{origin}\r\n"
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    let mut chunk = [0u8; 1024];
    while !response.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_web_page_from_another_origin_cannot_open_the_websocket() {
    let config = BrokerConfig {
        ws_allowed_origins: vec!["http://127.0.0.1:8080".to_owned()],
        ..BrokerConfig::loopback()
    };
    let broker = start(config).expect("broker");
    let ws = broker.ws_addr().expect("WebSocket listener");
    assert!(
        ws_upgrade_status(ws, Some("http://evil.example")).contains("403"),
        "a foreign origin is refused"
    );
    assert!(ws_upgrade_status(ws, Some("http://127.0.0.1:8080")).contains("101"));
    assert!(
        ws_upgrade_status(ws, None).contains("101"),
        "a client that is not a browser sends no Origin and is accepted"
    );
    // Counted once the handshake has ended, just after the 403 went out.
    let deadline = Instant::now() + WAIT;
    while broker.stats().refused_connections == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(broker.stats().refused_connections, 1);
    broker.shutdown();
}

/// With a state file, a restart keeps the retained messages and the persistent sessions
/// with what was queued for them: the commands sent to an engine that was away arrive
/// after the broker restarted. A damaged file is an error naming it.
#[test]
fn a_state_file_keeps_sessions_and_retained_messages_across_a_restart() {
    let dir = std::env::temp_dir().join(format!("wr-broker-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = dir.join("broker.bin");
    let config = || BrokerConfig {
        state_file: Some(state.clone()),
        ..BrokerConfig::loopback()
    };
    let broker = start(config()).expect("broker");
    let addr = broker.client_addr();
    let mut engine = Raw::connect(addr, "c10-engine", false);
    engine.subscribe("c10/+/command", QoS::AtLeastOnce);
    drop(engine);
    std::thread::sleep(Duration::from_millis(200));
    let mut op = Raw::connect(addr, "c10-op", true);
    for i in 0..3 {
        op.publish(
            "c10/ups_a/command",
            format!("{i}").as_bytes(),
            QoS::AtLeastOnce,
            false,
        );
    }
    op.publish(
        "c10/system/topology",
        b"{\"site\":\"x\"}",
        QoS::AtLeastOnce,
        true,
    );
    for _ in 0..4 {
        assert!(matches!(op.next_owned(), Some(Packet::PubAck { .. })));
    }
    broker.shutdown();

    let broker = start(config()).expect("broker restarts from its state file");
    let addr = broker.client_addr();
    let (mut engine, ack) = Raw::connect_with(
        addr,
        &Connect {
            client_id: "c10-engine",
            keep_alive_s: 0,
            clean_session: false,
            will: None,
            username: None,
            password: None,
        },
    );
    assert!(
        matches!(
            ack,
            Packet::ConnAck {
                session_present: true,
                ..
            }
        ),
        "{ack:?}"
    );
    let got: Vec<Vec<u8>> = (0..3)
        .map(|_| {
            engine
                .next_publish()
                .expect("queued across the restart")
                .payload
                .to_vec()
        })
        .collect();
    assert_eq!(got, vec![b"0".to_vec(), b"1".to_vec(), b"2".to_vec()]);
    // Its subscription survived too: a new command reaches it.
    let mut op = Raw::connect(addr, "c10-op", true);
    op.publish("c10/ups_a/command", b"3", QoS::AtLeastOnce, false);
    assert_eq!(engine.next_publish().expect("live command").payload, b"3");
    let mut late = Raw::connect(addr, "c10-late", true);
    late.subscribe("c10/system/#", QoS::AtMostOnce);
    assert_eq!(
        late.next_publish().expect("retained").payload,
        b"{\"site\":\"x\"}"
    );
    broker.shutdown();

    std::fs::write(&state, b"WRBROKER1\n\xff\xff").expect("damage the file");
    let err = start(config()).expect_err("a damaged state file");
    let text = err.to_string();
    assert!(
        text.contains("broker.bin") && text.contains("damaged at byte"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A client that publishes at QoS 1 to a topic it subscribes to and never reads fills
/// its own queue (the echoes and its PUBACKs); a new connection under its client id still
/// takes over at once, not after the 5 s the broker would otherwise wait for the old one
/// to hand its session back.
#[test]
fn a_client_that_never_reads_cannot_block_a_take_over() {
    let broker = broker();
    let addr = broker.client_addr();
    let mut deaf = Raw::connect(addr, "c11-deaf", false);
    deaf.subscribe("c11/x/status", QoS::AtLeastOnce);
    let mut stream = deaf.stream.try_clone().expect("clone socket");
    let writer = std::thread::spawn(move || {
        let payload = vec![b'x'; 4096];
        let mut packet = vec![0u8; 4200];
        for i in 0..20_000u32 {
            let n = encode_publish(
                &Publish {
                    topic: "c11/x/status",
                    payload: &payload,
                    qos: QoS::AtLeastOnce,
                    retain: false,
                    dup: false,
                    packet_id: Some(u16::try_from(i % 65_535 + 1).unwrap_or(1)),
                },
                &mut packet,
            )
            .expect("PUBLISH");
            if stream.write_all(&packet[..n]).is_err() {
                return;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(3500));
    let started = Instant::now();
    let _second = Raw::connect(addr, "c11-deaf", false);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "take-over took {:?}",
        started.elapsed()
    );
    drop(deaf);
    broker.shutdown();
    writer.join().expect("writer");
}

/// Under an auth file the broker refuses what a role may not do, and `deny_subscribe`
/// closes a filter to everyone (SUBACK 0x80: paho's `test_subscribe_failure`).
#[test]
fn the_access_rules_refuse_subscriptions_with_a_failure_code() {
    let access = winter_river_broker::Access::from_toml_str(
        "anonymous = \"admin\"\ndeny_subscribe = [\"test/nosubscribe\"]\n",
        "paho.toml",
        "winter-river",
    )
    .expect("auth file");
    let broker = start(BrokerConfig {
        access,
        ..BrokerConfig::loopback()
    })
    .expect("broker");
    let mut client = Raw::connect(broker.client_addr(), "c12", true);
    assert_eq!(client.subscribe("test/nosubscribe", QoS::AtLeastOnce), 0x80);
    assert_eq!(client.subscribe("TopicA", QoS::AtLeastOnce), 1);
    assert_eq!(broker.stats().refused_access, 1);
    broker.shutdown();
}

/// Before CONNECT a client gets no more than 64 KiB of the broker's memory: a larger
/// first packet closes the connection at once.
#[test]
fn a_huge_packet_before_connect_closes_the_connection() {
    let broker = broker();
    let before = broker.stats();
    let mut raw = TcpStream::connect(broker.client_addr()).expect("connect");
    // Well inside the 10 s the broker gives a connection to send CONNECT.
    raw.set_read_timeout(Some(Duration::from_secs(8)))
        .expect("timeout");
    // A CONNECT header announcing 16 MiB.
    raw.write_all(&[0x10, 0x80, 0x80, 0x80, 0x08])
        .expect("write");
    let mut byte = [0u8; 1];
    match raw.read(&mut byte) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the broker should close the connection at once, got {other:?}"),
    }
    let after = broker.stats();
    assert_eq!(after.connected, before.connected);
    assert_eq!(after.refused_connections, before.refused_connections + 1);
    broker.shutdown();
}
