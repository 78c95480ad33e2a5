//! A board's session, through the codec only, against the embedded broker
//! and Mosquitto: CONNECT with a retained QoS 1 Last Will, retained `online` at QoS 1
//! (PUBACK), SUBSCRIBE to its command topic, a QoS 1 command delivered and
//! acknowledged, a QoS 0 status, PINGREQ/PINGRESP, and the Will published when the
//! board vanishes without DISCONNECT.

use std::net::SocketAddr;

use winter_river_broker::BrokerConfig;
use winter_river_mqtt_codec::{QoS, Will};
use winter_river_testkit::{Mosquitto, mosquitto_available};

use crate::util::{Client, Got};

fn board_session(addr: SocketAddr, prefix: &str) {
    let availability = format!("{prefix}/pdu_t/availability");
    let command = format!("{prefix}/pdu_t/command");
    let status = format!("{prefix}/pdu_t/status");

    let mut board = Client::connect(
        addr,
        "wr-codec-board",
        Some(Will {
            topic: &availability,
            payload: b"offline",
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
    );
    board.publish(&availability, b"online", QoS::AtLeastOnce, true);
    board.subscribe(&command, QoS::AtLeastOnce);

    // An operator who arrives later sees the retained `online`.
    let mut operator = Client::connect(addr, "wr-codec-operator", None);
    operator.subscribe(&format!("{prefix}/+/availability"), QoS::AtLeastOnce);
    match operator.recv_publish_on(&availability) {
        Got::Publish {
            payload, retain, ..
        } => {
            assert_eq!(payload, b"online");
            assert!(retain, "a late subscriber gets it as retained");
        }
        other => panic!("{other:?}"),
    }
    operator.subscribe(&status, QoS::AtMostOnce);

    // A QoS 1 command reaches the board with a packet id it acknowledges.
    let set_fault = br#"{"command":"set_fault","params":{"state":true}}"#;
    operator.publish(&command, set_fault, QoS::AtLeastOnce, false);
    match board.recv() {
        Got::Publish {
            topic,
            payload,
            qos,
            packet_id,
            ..
        } => {
            assert_eq!(topic, command);
            assert_eq!(payload, set_fault);
            assert_eq!(qos, QoS::AtLeastOnce);
            board.puback(packet_id.expect("QoS 1 has a packet id"));
        }
        other => panic!("{other:?}"),
    }

    // A QoS 0 status reaches the operator.
    board.publish(
        &status,
        br#"{"node_id":"pdu_t","status":"fault"}"#,
        QoS::AtMostOnce,
        false,
    );
    match operator.recv_publish_on(&status) {
        Got::Publish { payload, .. } => assert!(payload.starts_with(br#"{"node_id":"pdu_t""#)),
        other => panic!("{other:?}"),
    }

    board.ping();

    // The board loses power: the broker publishes its Will, retained.
    board.vanish();
    match operator.recv_publish_on(&availability) {
        Got::Publish { payload, .. } => assert_eq!(payload, b"offline"),
        other => panic!("{other:?}"),
    }
    let mut late = Client::connect(addr, "wr-codec-late", None);
    late.subscribe(&availability, QoS::AtMostOnce);
    match late.recv_publish_on(&availability) {
        Got::Publish {
            payload, retain, ..
        } => {
            assert_eq!(payload, b"offline");
            assert!(retain);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_board_session_against_the_embedded_broker() {
    let broker = winter_river_broker::start(BrokerConfig::loopback()).unwrap();
    board_session(broker.client_addr(), "wr-codec");
}

#[test]
fn a_board_session_against_mosquitto() {
    if !mosquitto_available() {
        // scripts/test installs Mosquitto; a bare developer machine may not have it.
        eprintln!("mosquitto not installed: skipped");
        return;
    }
    let mosquitto = Mosquitto::start().unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], mosquitto.port()).into();
    board_session(addr, "wr-codec");
}
