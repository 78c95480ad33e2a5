//! Integration tests of the embedded broker against real MQTT clients (rumqttc over TCP and
//! WebSocket), on loopback with free ports. The anonymous tests share one broker (each on
//! its own topics); tests of other settings start their own.

use std::net::{SocketAddr, TcpListener};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS, Transport};
use tokio::sync::mpsc;
use winter_river_broker::{BrokerConfig, BrokerError, RunningBroker, probe, start};

const WAIT: Duration = Duration::from_secs(20);

/// The anonymous broker shared by the tests of this binary.
fn shared_broker() -> &'static RunningBroker {
    static BROKER: OnceLock<RunningBroker> = OnceLock::new();
    BROKER.get_or_init(|| start(BrokerConfig::loopback()).expect("embedded broker starts"))
}

fn tcp_options(broker: &RunningBroker, id: &str) -> MqttOptions {
    let addr = broker.client_addr();
    let mut options = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options.set_keep_alive(Duration::from_secs(30));
    options
}

/// Runs a client's event loop, forwarding every incoming packet (or the first error).
fn drive(mut eventloop: EventLoop) -> mpsc::UnboundedReceiver<Result<Packet, String>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(packet)) => {
                    if tx.send(Ok(packet)).is_err() {
                        return;
                    }
                }
                Ok(Event::Outgoing(_)) => {}
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            }
        }
    });
    rx
}

/// A connected client and its incoming packets (after the CONNACK).
async fn connect(
    options: MqttOptions,
) -> (AsyncClient, mpsc::UnboundedReceiver<Result<Packet, String>>) {
    let (client, eventloop) = AsyncClient::new(options, 1000);
    let mut rx = drive(eventloop);
    match next(&mut rx).await {
        Packet::ConnAck(_) => {}
        other => panic!("expected CONNACK, got {other:?}"),
    }
    (client, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Result<Packet, String>>) -> Packet {
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(Ok(packet))) => packet,
        Ok(Some(Err(e))) => panic!("client error: {e}"),
        Ok(None) => panic!("client event loop ended"),
        Err(_) => panic!("nothing received within {WAIT:?}"),
    }
}

/// Waits for the next PUBLISH, skipping acks.
async fn next_publish(rx: &mut mpsc::UnboundedReceiver<Result<Packet, String>>) -> Publish {
    loop {
        if let Packet::Publish(p) = next(rx).await {
            return p;
        }
    }
}

async fn subscribe(
    client: &AsyncClient,
    rx: &mut mpsc::UnboundedReceiver<Result<Packet, String>>,
    filter: &str,
    qos: QoS,
) {
    client
        .subscribe(filter, qos)
        .await
        .expect("subscribe queued");
    loop {
        if let Packet::SubAck(_) = next(rx).await {
            return;
        }
    }
}

#[tokio::test]
async fn tcp_subscriber_receives_publish() {
    let broker = shared_broker();
    let (sub, mut sub_rx) = connect(tcp_options(broker, "t1-sub")).await;
    subscribe(&sub, &mut sub_rx, "t1/+/status", QoS::AtLeastOnce).await;
    let (publisher, _pub_rx) = connect(tcp_options(broker, "t1-pub")).await;
    publisher
        .publish(
            "t1/pdu_a/status",
            QoS::AtLeastOnce,
            false,
            &b"{\"seq\":1}"[..],
        )
        .await
        .expect("publish queued");
    let p = next_publish(&mut sub_rx).await;
    assert_eq!(p.topic, "t1/pdu_a/status");
    assert_eq!(&p.payload[..], b"{\"seq\":1}");
}

#[tokio::test]
async fn late_subscriber_gets_a_retained_message() {
    let broker = shared_broker();
    let (publisher, mut pub_rx) = connect(tcp_options(broker, "t2-pub")).await;
    publisher
        .publish("t2/ups_a/availability", QoS::AtLeastOnce, true, "online")
        .await
        .expect("publish queued");
    while !matches!(next(&mut pub_rx).await, Packet::PubAck(_)) {}

    let (sub, mut sub_rx) = connect(tcp_options(broker, "t2-sub")).await;
    subscribe(&sub, &mut sub_rx, "t2/+/availability", QoS::AtLeastOnce).await;
    let p = next_publish(&mut sub_rx).await;
    assert_eq!(p.topic, "t2/ups_a/availability");
    assert_eq!(&p.payload[..], b"online");
    assert!(
        p.retain,
        "a retained message is delivered with the retain flag"
    );
}

/// Publishes `count` retained availability messages under `prefix` and waits for their acks.
async fn publish_retained(broker: &RunningBroker, prefix: &str, count: usize) {
    let (publisher, mut pub_rx) = connect(tcp_options(broker, &format!("{prefix}-pub"))).await;
    for i in 0..count {
        publisher
            .publish(
                format!("{prefix}/node-{i}/availability"),
                QoS::AtLeastOnce,
                true,
                "online",
            )
            .await
            .expect("publish queued");
    }
    let mut acked = 0;
    while acked < count {
        if let Packet::PubAck(_) = next(&mut pub_rx).await {
            acked += 1;
        }
    }
    publisher.disconnect().await.expect("disconnect queued");
}

/// Counts distinct retained topics received until `expected` or a quiet second.
async fn count_retained(
    rx: &mut mpsc::UnboundedReceiver<Result<Packet, String>>,
    expected: usize,
) -> usize {
    let mut topics = std::collections::HashSet::new();
    while topics.len() < expected {
        match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
            Ok(Some(Ok(Packet::Publish(p)))) => {
                assert!(p.retain);
                topics.insert(p.topic);
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => panic!("client error: {e}"),
            Ok(None) | Err(_) => break,
        }
    }
    topics.len()
}

/// 2,000 boards' retained availability reaches a new QoS 0 subscriber in full.
#[tokio::test]
async fn late_qos0_subscriber_gets_all_2000_retained_messages() {
    let broker = shared_broker();
    publish_retained(broker, "t3", 2000).await;
    let (sub, mut sub_rx) = connect(tcp_options(broker, "t3-sub")).await;
    subscribe(&sub, &mut sub_rx, "t3/+/availability", QoS::AtMostOnce).await;
    assert_eq!(count_retained(&mut sub_rx, 2000).await, 2000);
}

/// A QoS 1 subscription gets every retained message too, beyond the in-flight window
/// (rumqttd 0.20 sent only 100 of them and never the rest).
#[tokio::test]
async fn late_qos1_subscriber_gets_all_2000_retained_messages() {
    let broker = shared_broker();
    publish_retained(broker, "t4", 2000).await;
    let (sub, mut sub_rx) = connect(tcp_options(broker, "t4-sub")).await;
    subscribe(&sub, &mut sub_rx, "t4/+/availability", QoS::AtLeastOnce).await;
    assert_eq!(count_retained(&mut sub_rx, 2000).await, 2000);
}

#[tokio::test]
async fn websocket_client_receives_a_tcp_publish() {
    let broker = shared_broker();
    let url = broker.ws_url().expect("WebSocket listener enabled");
    let port = broker.ws_addr().expect("WebSocket listener enabled").port();
    let mut options = MqttOptions::new("t5-ws", url, port);
    options.set_transport(Transport::Ws);
    options.set_keep_alive(Duration::from_secs(30));
    let (sub, mut sub_rx) = connect(options).await;
    subscribe(&sub, &mut sub_rx, "t5/#", QoS::AtLeastOnce).await;

    let (publisher, _pub_rx) = connect(tcp_options(broker, "t5-pub")).await;
    publisher
        .publish("t5/system/status", QoS::AtMostOnce, false, "{}")
        .await
        .expect("publish queued");
    let p = next_publish(&mut sub_rx).await;
    assert_eq!(p.topic, "t5/system/status");
}

/// Keepalive 0 is legal MQTT (and paho's default): the client is accepted and never
/// timed out.
#[tokio::test]
async fn keepalive_zero_is_accepted() {
    let broker = shared_broker();
    let mut options = tcp_options(broker, "t6-ka0");
    options.set_keep_alive(Duration::ZERO);
    let (client, mut rx) = connect(options).await;
    subscribe(&client, &mut rx, "t6/x", QoS::AtLeastOnce).await;
}

#[test]
fn port_in_use_is_an_error_naming_the_port() {
    let squatter = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let taken = squatter.local_addr().expect("local addr");
    let config = BrokerConfig {
        mqtt_addr: taken,
        ws_addr: None,
        ..BrokerConfig::loopback()
    };
    let err = start(config).expect_err("the port is taken");
    assert!(matches!(err, BrokerError::PortInUse { port, .. } if port == taken.port()));
    let message = err.to_string();
    assert!(
        message.contains(&format!("port {}", taken.port())),
        "{message}"
    );
    assert!(
        message.contains(&format!("--broker mqtt://127.0.0.1:{}", taken.port())),
        "{message}"
    );

    // The WebSocket listener is checked the same way.
    let config = BrokerConfig {
        ws_addr: Some(taken),
        ..BrokerConfig::loopback()
    };
    let message = start(config).expect_err("the port is taken").to_string();
    assert!(message.contains("WebSocket"), "{message}");
    assert!(
        message.contains(&format!("ws://127.0.0.1:{}", taken.port())),
        "{message}"
    );
}

#[tokio::test]
async fn credentials_are_required_when_configured() {
    let config = BrokerConfig {
        credentials: Some(("operator".to_owned(), "s3cret".to_owned())),
        ..BrokerConfig::loopback()
    };
    let broker = tokio::task::spawn_blocking(move || start(config))
        .await
        .expect("start task")
        .expect("broker with credentials starts");

    // Anonymous: CONNACK "not authorized" (return code 5), then closed.
    let (_anon, eventloop) = AsyncClient::new(tcp_options(&broker, "t7-anon"), 10);
    let mut rx = drive(eventloop);
    match tokio::time::timeout(WAIT, rx.recv()).await {
        Ok(Some(Err(_))) => {}
        other => panic!("an anonymous client should be refused, got {other:?}"),
    }
    let err = probe(broker.client_addr(), Duration::from_secs(2)).expect_err("anonymous probe");
    assert!(matches!(err, BrokerError::Refused { code: 5, .. }), "{err}");

    // Wrong password: refused too.
    let mut wrong = tcp_options(&broker, "t7-wrong");
    wrong.set_credentials("operator", "guess");
    let (_wrong, eventloop) = AsyncClient::new(wrong, 10);
    let mut rx = drive(eventloop);
    assert!(matches!(
        tokio::time::timeout(WAIT, rx.recv()).await,
        Ok(Some(Err(_)))
    ));

    // Right credentials: accepted, over TCP and WebSocket.
    let mut right = tcp_options(&broker, "t7-right");
    right.set_credentials("operator", "s3cret");
    let (_client, _rx) = connect(right).await;
    let ws = broker.ws_addr().expect("WebSocket listener");
    winter_river_broker::probe_ws(ws, Some(("operator", "s3cret")), Duration::from_secs(2))
        .expect("WebSocket probe with credentials");
    broker
        .probe(Duration::from_secs(2))
        .expect("probe with the broker's own credentials");
}

#[test]
fn probe_on_a_closed_port_fails_fast() {
    let closed: SocketAddr = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        l.local_addr().expect("local addr")
    };
    let started = Instant::now();
    let err = probe(closed, Duration::from_secs(5)).expect_err("nothing listens there");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(err, BrokerError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&closed.to_string()), "{err}");
}

#[test]
fn probe_of_a_silent_server_times_out() {
    // Accepts TCP but never answers: the probe gives up at its deadline.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let addr = silent.local_addr().expect("local addr");
    let started = Instant::now();
    let err = probe(addr, Duration::from_millis(300)).expect_err("no CONNACK");
    assert!(matches!(err, BrokerError::ProbeTimeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(silent);
}

#[test]
fn running_broker_reports_its_addresses() {
    let broker = shared_broker();
    assert!(broker.is_running());
    assert_ne!(broker.mqtt_addr().port(), 0);
    assert_eq!(broker.mqtt_url(), format!("mqtt://{}", broker.mqtt_addr()));
    let ws = broker.ws_url().expect("WebSocket listener");
    assert!(
        ws.starts_with("ws://127.0.0.1:") && ws.ends_with("/mqtt"),
        "{ws}"
    );
    probe(broker.client_addr(), Duration::from_secs(2)).expect("probe");
}

/// Open-file limit of this process (Linux), to size the many-clients test to it: each
/// client costs two descriptors here (its socket and the broker's).
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(1024)
}

/// Thousands of boards: each connects, subscribes to its own command topic and receives
/// the command addressed to it (2,000 clients when the open-file limit allows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_boards_connect_and_each_gets_its_command() {
    const WAVE: usize = 100;
    let boards = 2000.min(open_file_limit().saturating_sub(256) / 2);
    let broker = shared_broker();
    let started = Instant::now();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let mut clients = Vec::new();
    // In waves, as the fleet's jittered start does: a burst of 2,000 SYNs at once overflows
    // the listen backlog (1,024) and the retried SYNs outlast rumqttc's connect timeout.
    for i in 0..boards {
        let mut options = tcp_options(broker, &format!("t8-board-{i}"));
        options.set_keep_alive(Duration::from_secs(60));
        let (client, mut eventloop) = AsyncClient::new(options, 10);
        let topic = format!("t8/board-{i}/command");
        client
            .subscribe(topic.clone(), QoS::AtLeastOnce)
            .await
            .expect("subscribe queued");
        let (ready_tx, done_tx) = (ready_tx.clone(), done_tx.clone());
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ready_tx.send(i);
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topic => {
                        let _ = done_tx.send(i);
                    }
                    Ok(_) => {}
                    Err(e) => panic!("board {i}: {e}"),
                }
            }
        });
        clients.push(client);
        if (i + 1) % WAVE == 0 || i + 1 == boards {
            for _ in 0..(i % WAVE + 1) {
                tokio::time::timeout(Duration::from_secs(30), ready_rx.recv())
                    .await
                    .expect("every board of a wave subscribes within 30 s");
            }
        }
    }
    let connected = started.elapsed();

    let (engine, _engine_rx) = connect(tcp_options(broker, "t8-engine")).await;
    for i in 0..boards {
        engine
            .publish(
                format!("t8/board-{i}/command"),
                QoS::AtLeastOnce,
                false,
                "{\"command\":\"update\",\"params\":{}}",
            )
            .await
            .expect("publish queued");
    }
    let mut got = std::collections::HashSet::new();
    while got.len() < boards {
        let i = tokio::time::timeout(Duration::from_secs(60), done_rx.recv())
            .await
            .expect("every board gets its command within 60 s")
            .expect("board tasks alive");
        got.insert(i);
    }
    eprintln!(
        "{boards} boards: connected and subscribed in {connected:?}, all commands delivered after {:?}",
        started.elapsed()
    );
}
