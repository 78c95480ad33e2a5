//! Tests of the wire format (docs/protocol.md): the seed's and the design's examples
//! decode to their exact values, every payload round-trips, each class of bad
//! input is refused with its own reason, topics build and parse, and no input
//! makes a decoder panic.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use winter_river_protocol::{
    Availability, Breaker, CodecError, Command, CommandSpec, Event, EventKind, IdError,
    Measurements, Mode, NodeCounts, NodeKind, NodeState, Qos, Severity, Source, Status,
    SystemStatus, Topic, TopicError, TopologyJson, TopologyNodeJson, UpdateParams,
    availability_filter, command_filter, decode_availability, decode_command, decode_event,
    decode_status, decode_system_status, decode_topology, encode_availability, encode_command,
    encode_event, encode_status, encode_system_status, encode_topology, status_filter,
    validate_prefix,
};

// ------------------------------------------------------------------ helpers

const P: &str = "winter-river";

/// Decodes a status that must be refused and returns the reason label.
fn status_reason(topic_id: &str, payload: &str) -> &'static str {
    decode_status(topic_id, payload.as_bytes())
        .expect_err("payload should be refused")
        .reason()
}

/// Decodes a command that must be refused and returns the reason label.
fn command_reason(payload: &str) -> &'static str {
    decode_command(payload.as_bytes())
        .expect_err("payload should be refused")
        .reason()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

fn full_status() -> Status {
    Status {
        node_id: "ups_a".into(),
        kind: Some(NodeKind::Ups),
        measured: Measurements {
            voltage_in: Some(480.0),
            voltage_out: Some(480.0),
            current: Some(601.4),
            power_kw: Some(500.25),
            load_pct: Some(95.5),
            battery_pct: Some(63.2),
            runtime_s: Some(307.8),
            fuel_pct: Some(88.0),
            temperature_c: Some(26.4),
            solid_c: Some(24.9),
            inlet_c: Some(27.2),
            cooling_kw: Some(120.5),
            source: Some("trf_a".into()),
            mode: Some(Mode::MaintenanceBypass),
            breaker: Some(Breaker::LockedOut),
        },
        status: NodeState::OnBattery,
        wifi_rssi: Some(-71),
        uptime: Some(86_400),
        seq: Some(43_200),
    }
}

fn system_status() -> SystemStatus {
    SystemStatus {
        node_id: "system".into(),
        it_kw: 1000.0,
        facility_kw: 1500.0,
        utility_kw: 0.0,
        generator_kw: 1450.0,
        battery_kw: 50.0,
        pue: Some(1.5),
        it_kw_lost: 0.0,
        it_kwh_unserved: 81.17,
        source: Source::Generator,
        runtime_s: Some(307.8),
        fuel_pct: Some(97.5),
        max_inlet_c: Some(31.4),
        nodes: counts(&[
            (NodeState::Ok, 6),
            (NodeState::Fault, 1),
            (NodeState::OnBattery, 1),
        ]),
        rejected_msgs: 3,
        sim_time_s: 660.5,
    }
}

fn counts(of: &[(NodeState, u32)]) -> NodeCounts {
    let mut c = NodeCounts::default();
    for &(state, n) in of {
        *c.get_mut(state) = n;
    }
    c
}

fn topology() -> TopologyJson {
    let node = |id: &str, kind, feeds: &[&str], params: &[(&str, f64)]| TopologyNodeJson {
        id: id.into(),
        kind,
        feeds: feeds.iter().map(|f| f.to_string()).collect(),
        room: None,
        class: None,
        params: params.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    };
    TopologyJson {
        site: "winter-river-a".into(),
        nodes: vec![
            node("util_a", NodeKind::Utility, &[], &[("voltage", 13800.0)]),
            node("gen_a", NodeKind::Generator, &[], &[("rating_kw", 1000.0)]),
            node(
                "trf_a",
                NodeKind::Transformer,
                &["util_a"],
                &[("voltage_out", 480.0), ("efficiency", 0.985)],
            ),
            node(
                "sw_a",
                NodeKind::Switchgear,
                &["trf_a", "gen_a"],
                &[("start_delay_s", 3.0)],
            ),
        ],
    }
}

// ------------------------------------------------------------------ examples

#[test]
fn seed_status_example_decodes_exactly() {
    let payload = br#"{"node_id":"pdu_a","voltage_in":480.0,"current":12.5,"power_kw":6.0,"status":"ok","wifi_rssi":-62,"uptime":3600}"#;
    let s = decode_status("pdu_a", payload).unwrap();
    let mut want = Status::new("pdu_a", NodeState::Ok);
    want.measured.voltage_in = Some(480.0);
    want.measured.current = Some(12.5);
    want.measured.power_kw = Some(6.0);
    want.wifi_rssi = Some(-62);
    want.uptime = Some(3600);
    assert_eq!(s, want);
}

#[test]
fn design_status_example_decodes_exactly() {
    let payload =
        br#"{"node_id":"pdu_a","kind":"pdu","voltage_in":480.0,"voltage_out":208.0,"current":7.2,
 "power_kw":6.0,"load_pct":12.0,"status":"ok","wifi_rssi":-62,"uptime":3600,"seq":1800}"#;
    let s = decode_status("pdu_a", payload).unwrap();
    let mut want = Status::new("pdu_a", NodeState::Ok);
    want.kind = Some(NodeKind::Pdu);
    want.measured.voltage_in = Some(480.0);
    want.measured.voltage_out = Some(208.0);
    want.measured.current = Some(7.2);
    want.measured.power_kw = Some(6.0);
    want.measured.load_pct = Some(12.0);
    want.wifi_rssi = Some(-62);
    want.uptime = Some(3600);
    want.seq = Some(1800);
    assert_eq!(s, want);
}

#[test]
fn seed_command_example_decodes() {
    let c = decode_command(br#"{"command":"set_fault","params":{"state":true}}"#).unwrap();
    assert_eq!(c, Command::SetFault { state: true });
}

#[test]
fn design_event_example_decodes_exactly() {
    let payload = br#"{"t": 60.0, "node_id": "util_a", "event": "fault", "severity": "critical", "message": "util_a failed"}"#;
    let e = decode_event(payload).unwrap();
    assert_eq!(
        e,
        Event {
            t: 60.0,
            node_id: "util_a".into(),
            event: EventKind::Fault,
            severity: Severity::Critical,
            message: "util_a failed".into(),
            to: None,
            command: None,
            reason: None,
        }
    );
}

#[test]
fn unknown_fields_are_ignored() {
    let s = decode_status(
        "pdu_a",
        br#"{"node_id":"pdu_a","status":"ok","firmware":"1.2.3","extra":{"a":[1,2]}}"#,
    )
    .unwrap();
    assert_eq!(s, Status::new("pdu_a", NodeState::Ok));
    let c = decode_command(br#"{"command":"reset","params":{"why":"drill"},"from":"op"}"#).unwrap();
    assert_eq!(c, Command::Reset);
}

#[test]
fn integer_electrical_values_are_accepted() {
    let s = decode_status(
        "pdu_a",
        br#"{"node_id":"pdu_a","voltage_in":480,"status":"ok"}"#,
    )
    .unwrap();
    assert_eq!(s.measured.voltage_in, Some(480.0));
}

#[test]
fn reset_params_are_optional() {
    for payload in [
        r#"{"command":"reset"}"#,
        r#"{"command":"reset","params":null}"#,
        r#"{"command":"reset","params":{}}"#,
    ] {
        assert_eq!(decode_command(payload.as_bytes()).unwrap(), Command::Reset);
    }
}

#[test]
fn set_load_accepts_integer_and_zero_kw() {
    let c = decode_command(br#"{"command":"set_load","params":{"kw":5}}"#).unwrap();
    assert_eq!(c, Command::SetLoad { kw: 5.0 });
    let c = decode_command(br#"{"command":"set_load","params":{"kw":0.0}}"#).unwrap();
    assert_eq!(c, Command::SetLoad { kw: 0.0 });
}

// ------------------------------------------------------------------ round trips

#[test]
fn status_round_trips() {
    for s in [full_status(), Status::new("srv_a", NodeState::Unpowered)] {
        let bytes = encode_status(&s).unwrap();
        assert_eq!(decode_status(&s.node_id, &bytes).unwrap(), s);
    }
}

#[test]
fn floats_round_trip_bit_exactly() {
    // serde_json's default float parser can be 1 ULP off; the crate enables
    // `float_roundtrip` so an engine value reads back exactly on the node.
    for v in [
        -5.870549879146544e227,
        6.3862169805081476e299,
        0.1 + 0.2,
        f64::MIN_POSITIVE,
        f64::MAX,
    ] {
        let mut s = Status::new("pdu_a", NodeState::Ok);
        s.measured.power_kw = Some(v);
        let back = decode_status("pdu_a", &encode_status(&s).unwrap()).unwrap();
        assert_eq!(
            back.measured.power_kw.map(f64::to_bits),
            Some(v.to_bits()),
            "{v:e}"
        );
    }
}

#[test]
fn status_encodes_electrical_values_as_floats() {
    let mut s = Status::new("pdu_a", NodeState::Ok);
    s.measured.voltage_in = Some(480.0);
    s.uptime = Some(3600);
    assert_eq!(
        text(&encode_status(&s).unwrap()),
        r#"{"node_id":"pdu_a","voltage_in":480.0,"status":"ok","uptime":3600}"#
    );
}

#[test]
fn every_command_round_trips() {
    let update = UpdateParams {
        status: Some(NodeState::OnBattery),
        measured: Measurements {
            voltage_in: Some(480.0),
            voltage_out: Some(208.0),
            current: Some(7.2),
            power_kw: Some(6.0),
            load_pct: Some(12.0),
            battery_pct: Some(99.5),
            runtime_s: Some(1800.0),
            fuel_pct: Some(50.0),
            temperature_c: None,
            solid_c: None,
            inlet_c: Some(23.5),
            cooling_kw: None,
            source: Some("gen_a".into()),
            mode: Some(Mode::Manual),
            breaker: Some(Breaker::Closed),
        },
    };
    for c in [
        Command::SetFault { state: true },
        Command::SetFault { state: false },
        Command::SetLoad { kw: 12.5 },
        Command::SetLoad { kw: 0.0 },
        Command::Reset,
        Command::Update(update),
        Command::Update(UpdateParams::default()),
        Command::Open,
        Command::Close,
        Command::Lockout { state: true },
        Command::UpsMode {
            mode: Mode::MaintenanceBypass,
        },
        Command::AtsMode { mode: Mode::Manual },
        Command::Transfer { to: "gen_a".into() },
        Command::AtsTest { state: false },
        Command::GenMode { mode: Mode::Off },
        Command::Epo,
    ] {
        let bytes = encode_command(&c).unwrap();
        assert_eq!(decode_command(&bytes).unwrap(), c, "{}", text(&bytes));
    }
}

#[test]
fn commands_encode_in_the_seed_form() {
    let enc = |c: Command| String::from_utf8(encode_command(&c).unwrap()).unwrap();
    assert_eq!(
        enc(Command::SetFault { state: true }),
        r#"{"command":"set_fault","params":{"state":true}}"#
    );
    assert_eq!(
        enc(Command::SetLoad { kw: 5.0 }),
        r#"{"command":"set_load","params":{"kw":5.0}}"#
    );
    assert_eq!(enc(Command::Reset), r#"{"command":"reset","params":{}}"#);
}

#[test]
fn system_status_round_trips() {
    let mut s = system_status();
    let bytes = encode_system_status(&s).unwrap();
    assert_eq!(decode_system_status(&bytes).unwrap(), s);
    s.pue = None;
    s.runtime_s = None;
    s.fuel_pct = None;
    let bytes = encode_system_status(&s).unwrap();
    assert!(!text(&bytes).contains("pue"));
    assert_eq!(decode_system_status(&bytes).unwrap(), s);
}

#[test]
fn event_round_trips() {
    for (node_id, severity) in [
        ("ups_a", Severity::Warning),
        ("system", Severity::Info),
        ("gen_a", Severity::Critical),
    ] {
        let e = Event {
            t: 61.3,
            node_id: node_id.into(),
            event: EventKind::parse("on_battery").unwrap(),
            severity,
            message: "ups_a on battery: \"utility lost\"".into(),
            to: None,
            command: Some("ups_mode".into()),
            reason: Some("a reason".into()),
        };
        let bytes = encode_event(&e).unwrap();
        assert_eq!(decode_event(&bytes).unwrap(), e);
    }
}

#[test]
fn topology_round_trips() {
    let t = topology();
    let bytes = encode_topology(&t).unwrap();
    assert_eq!(decode_topology(&bytes).unwrap(), t);
}

#[test]
fn availability_round_trips() {
    for a in [Availability::Online, Availability::Offline] {
        assert_eq!(decode_availability(encode_availability(a)).unwrap(), a);
    }
    assert_eq!(encode_availability(Availability::Online), b"online");
    assert_eq!(
        decode_availability(b"offline\n").unwrap(),
        Availability::Offline
    );
}

// ------------------------------------------------------------------ never NaN on the wire

#[test]
fn encode_status_omits_non_finite_fields() {
    let mut s = Status::new("pdu_a", NodeState::Ok);
    s.measured.voltage_in = Some(f64::NAN);
    s.measured.current = Some(f64::INFINITY);
    s.measured.power_kw = Some(f64::NEG_INFINITY);
    s.measured.load_pct = Some(12.0);
    let bytes = encode_status(&s).unwrap();
    assert_eq!(
        text(&bytes),
        r#"{"node_id":"pdu_a","load_pct":12.0,"status":"ok"}"#
    );
}

#[test]
fn encode_update_and_topology_omit_non_finite_values() {
    let update = UpdateParams {
        measured: Measurements {
            power_kw: Some(f64::NAN),
            voltage_in: Some(480.0),
            ..Measurements::default()
        },
        ..UpdateParams::default()
    };
    let bytes = encode_command(&Command::Update(update)).unwrap();
    assert_eq!(
        text(&bytes),
        r#"{"command":"update","params":{"voltage_in":480.0}}"#
    );

    let mut t = topology();
    t.nodes[0].params.insert("bad".into(), f64::NAN);
    let bytes = encode_topology(&t).unwrap();
    assert!(!text(&bytes).contains("bad"));
    assert!(!text(&bytes).contains("null"));
}

#[test]
fn encode_system_status_omits_optional_and_refuses_required_non_finite() {
    let mut s = system_status();
    s.pue = Some(f64::NAN);
    let bytes = encode_system_status(&s).unwrap();
    assert!(!text(&bytes).contains("pue"));

    s.it_kw = f64::INFINITY;
    assert_eq!(
        encode_system_status(&s).unwrap_err(),
        CodecError::NonFinite {
            field: Some("it_kw")
        }
    );
}

#[test]
fn encoders_refuse_what_decoders_refuse() {
    assert_eq!(
        encode_command(&Command::SetLoad { kw: f64::NAN }).unwrap_err(),
        CodecError::NonFinite { field: Some("kw") }
    );
    assert_eq!(
        encode_command(&Command::SetLoad { kw: -1.0 })
            .unwrap_err()
            .reason(),
        "out_of_range"
    );
    let mut e = Event {
        t: f64::NAN,
        node_id: "ups_a".into(),
        event: EventKind::Fault,
        severity: Severity::Info,
        message: String::new(),
        to: None,
        command: None,
        reason: None,
    };
    assert_eq!(encode_event(&e).unwrap_err().reason(), "non_finite");
    e.t = 1.0;
    e.node_id = "UPS".into();
    assert_eq!(encode_event(&e).unwrap_err().reason(), "bad_id");
    assert_eq!(
        encode_status(&Status::new("system", NodeState::Ok))
            .unwrap_err()
            .reason(),
        "reserved_id"
    );
    let mut sys = system_status();
    sys.node_id = "pdu_a".into();
    assert_eq!(
        encode_system_status(&sys).unwrap_err().reason(),
        "id_mismatch"
    );
    let mut big = Status::new("pdu_a", NodeState::Ok);
    big.measured.source = Some("x".repeat(40));
    assert_eq!(encode_status(&big).unwrap_err().reason(), "bad_id");
}

// ------------------------------------------------------------------ bad input, one reason each

#[test]
fn refuses_not_json() {
    for payload in [
        "",
        "hello",
        r#"{"node_id":"pdu_a","status":"ok""#,
        r#"{"node_id":"pdu_a","status":"ok"} trailing"#,
        r#"{node_id:"pdu_a"}"#,
    ] {
        assert_eq!(status_reason("pdu_a", payload), "not_json", "{payload}");
    }
    assert_eq!(command_reason("set_fault true"), "not_json");
}

#[test]
fn refuses_not_utf8() {
    let err = decode_status("pdu_a", b"{\"node_id\":\"pdu_a\xff\"}").unwrap_err();
    assert_eq!(err, CodecError::NotUtf8);
    assert_eq!(err.reason(), "not_utf8");
}

#[test]
fn refuses_wrong_types() {
    for payload in [
        r#"{"node_id":"pdu_a","power_kw":"6.0","status":"ok"}"#,
        r#"{"node_id":"pdu_a","status":"exploded"}"#,
        r#"{"node_id":"pdu_a"}"#,
        r#"{"node_id":7,"status":"ok"}"#,
        r#"{"node_id":"pdu_a","status":"ok","wifi_rssi":"weak"}"#,
        r#"{"node_id":"pdu_a","status":"ok","uptime":-1}"#,
        r#"["pdu_a",null,null,null,null,null,null,"ok"]"#,
        "42",
        r#""pdu_a""#,
    ] {
        assert_eq!(status_reason("pdu_a", payload), "wrong_shape", "{payload}");
    }
    for payload in [
        r#"{"command":"set_fault","params":{"state":"yes"}}"#,
        r#"{"command":"set_load","params":{"kw":"5"}}"#,
        r#"{"command":"set_load","params":[5]}"#,
        r#"{"command":"update","params":{"power_kw":"6"}}"#,
        r#"{"command":5}"#,
        r#"{"params":{}}"#,
    ] {
        assert_eq!(command_reason(payload), "wrong_shape", "{payload}");
    }
}

#[test]
fn refuses_payload_over_16_kib() {
    let head = r#"{"node_id":"pdu_a","status":"ok","pad":""#;
    let tail = r#""}"#;
    let fill = |total: usize| {
        format!(
            "{head}{}{tail}",
            "x".repeat(total - head.len() - tail.len())
        )
    };
    // Exactly 16 KiB is still accepted.
    assert!(decode_status("pdu_a", fill(16 * 1024).as_bytes()).is_ok());
    let err = decode_status("pdu_a", fill(16 * 1024 + 1).as_bytes()).unwrap_err();
    assert_eq!(
        err,
        CodecError::TooLarge {
            len: 16 * 1024 + 1,
            max: 16 * 1024
        }
    );
    assert_eq!(err.reason(), "too_large");
    // Size is checked before anything else: not even UTF-8 is looked at.
    assert_eq!(
        decode_command(&vec![0xff; 20_000]).unwrap_err().reason(),
        "too_large"
    );
}

#[test]
fn refuses_id_topic_mismatch() {
    let err = decode_status("pdu_a", br#"{"node_id":"pdu_b","status":"ok"}"#).unwrap_err();
    assert_eq!(
        err,
        CodecError::IdMismatch {
            topic_id: "pdu_a".into(),
            node_id: "pdu_b".into()
        }
    );
    assert_eq!(err.reason(), "id_mismatch");
    assert_eq!(
        decode_system_status(br#"{"node_id":"pdu_a"}"#)
            .unwrap_err()
            .reason(),
        "wrong_shape"
    );
    let mut bytes = encode_system_status(&system_status()).unwrap();
    let s = text(&bytes).replace(r#""node_id":"system""#, r#""node_id":"pdu_a""#);
    bytes = s.into_bytes();
    assert_eq!(
        decode_system_status(&bytes).unwrap_err().reason(),
        "id_mismatch"
    );
}

#[test]
fn refuses_bad_ids() {
    let cases = [
        ("a/b", IdError::BadChar),
        ("+", IdError::BadFirstChar),
        ("#", IdError::BadFirstChar),
        ("", IdError::Empty),
        ("abcdefghijklmnopqrstuvwxyz0123456", IdError::TooLong), // 33 chars
        ("PDU_A", IdError::BadFirstChar),
        ("pdu_A", IdError::BadChar),
        ("_pdu", IdError::BadFirstChar),
        ("pdu a", IdError::BadChar),
        ("pdü", IdError::BadChar),
    ];
    for (id, want) in cases {
        let payload = format!(r#"{{"node_id":"{id}","status":"ok"}}"#);
        let err = decode_status(id, payload.as_bytes()).unwrap_err();
        assert_eq!(err, CodecError::BadId(want), "{id:?}");
        assert_eq!(err.reason(), "bad_id");
    }
    // 32 characters is the longest allowed.
    let id = "abcdefghijklmnopqrstuvwxyz012345";
    let payload = format!(r#"{{"node_id":"{id}","status":"ok"}}"#);
    assert!(decode_status(id, payload.as_bytes()).is_ok());
    // A switchgear's `source` is a node id too.
    assert_eq!(
        status_reason(
            "sw_a",
            r#"{"node_id":"sw_a","status":"ok","source":"Gen A"}"#
        ),
        "bad_id"
    );
}

#[test]
fn refuses_system_as_a_node() {
    let err = decode_status("system", br#"{"node_id":"system","status":"ok"}"#).unwrap_err();
    assert_eq!(err, CodecError::ReservedId);
    assert_eq!(err.reason(), "reserved_id");
}

#[test]
fn refuses_non_finite_numbers() {
    for number in [
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "+Infinity",
        "inf",
        "1e999",
        "-1e999",
        "1E+400",
        &format!("1{}", "0".repeat(400)),
    ] {
        let payload = format!(r#"{{"node_id":"pdu_a","power_kw":{number},"status":"ok"}}"#);
        let err = decode_status("pdu_a", payload.as_bytes()).unwrap_err();
        assert_eq!(err, CodecError::NonFinite { field: None }, "{number}");
        assert_eq!(err.reason(), "non_finite");

        let payload = format!(r#"{{"command":"set_load","params":{{"kw":{number}}}}}"#);
        assert_eq!(command_reason(&payload), "non_finite", "{number}");
    }
    // The words inside strings are just text; a tiny number underflows to 0.
    let e = decode_event(
        br#"{"t":1e-999,"node_id":"system","event":"fault","severity":"info","message":"NaN Infinity 1e999"}"#,
    )
    .unwrap();
    assert_eq!(e.t, 0.0);
    assert_eq!(e.message, "NaN Infinity 1e999");
}

#[test]
fn refuses_unknown_command() {
    let err = decode_command(br#"{"command":"self_destruct","params":{}}"#).unwrap_err();
    assert_eq!(err, CodecError::UnknownCommand("self_destruct".into()));
    assert_eq!(err.reason(), "unknown_command");
    // The echoed name is capped.
    let long = format!(r#"{{"command":"{}"}}"#, "é".repeat(1000));
    match decode_command(long.as_bytes()).unwrap_err() {
        CodecError::UnknownCommand(name) => assert!(name.len() <= 64),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn refuses_missing_params() {
    for (payload, command, param) in [
        (r#"{"command":"set_fault"}"#, "set_fault", "state"),
        (
            r#"{"command":"set_fault","params":{}}"#,
            "set_fault",
            "state",
        ),
        (
            r#"{"command":"set_fault","params":{"state":null}}"#,
            "set_fault",
            "state",
        ),
        (r#"{"command":"set_load","params":null}"#, "set_load", "kw"),
        (
            r#"{"command":"set_load","params":{"w":5}}"#,
            "set_load",
            "kw",
        ),
        (r#"{"command":"update"}"#, "update", "params"),
    ] {
        let err = decode_command(payload.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            CodecError::MissingParam { command, param },
            "{payload}"
        );
        assert_eq!(err.reason(), "missing_param");
    }
}

#[test]
fn refuses_negative_load() {
    let err = decode_command(br#"{"command":"set_load","params":{"kw":-0.5}}"#).unwrap_err();
    assert_eq!(err, CodecError::OutOfRange { field: "kw" });
    assert_eq!(err.reason(), "out_of_range");
}

#[test]
fn refuses_bad_topologies() {
    let mut t = topology();
    t.nodes[1].id = "util_a".into();
    let bytes = serde_json::to_vec(&t).unwrap();
    assert_eq!(
        decode_topology(&bytes).unwrap_err(),
        CodecError::DuplicateId("util_a".into())
    );
    assert_eq!(encode_topology(&t).unwrap_err().reason(), "duplicate_id");

    let mut t = topology();
    t.nodes[2].feeds = vec!["util_z".into()];
    let bytes = serde_json::to_vec(&t).unwrap();
    let err = decode_topology(&bytes).unwrap_err();
    assert_eq!(err, CodecError::UnknownNode("util_z".into()));
    assert_eq!(err.reason(), "unknown_node");

    let mut t = topology();
    t.nodes[0].id = "system".into();
    let bytes = serde_json::to_vec(&t).unwrap();
    assert_eq!(decode_topology(&bytes).unwrap_err().reason(), "reserved_id");
}

#[test]
fn refuses_bad_availability() {
    for payload in [&b""[..], b"ONLINE", b"on", b"\"online\"", b"\xff"] {
        let err = decode_availability(payload).unwrap_err();
        assert_eq!(err, CodecError::BadAvailability);
        assert_eq!(err.reason(), "bad_availability");
    }
    assert_eq!(
        decode_availability(&[b' '; 20_000]).unwrap_err().reason(),
        "too_large"
    );
}

#[test]
fn topic_errors_count_as_bad_topic() {
    let err: CodecError = Topic::parse(P, "winter-river/a/b/status")
        .unwrap_err()
        .into();
    assert_eq!(err.reason(), "bad_topic");
}

#[test]
fn reason_labels_are_distinct_and_listed() {
    let mut seen = std::collections::BTreeSet::new();
    for r in CodecError::REASONS {
        assert!(seen.insert(r), "duplicate reason {r}");
        assert!(
            r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
    }
    let samples = [
        CodecError::TooLarge { len: 1, max: 0 },
        CodecError::NotUtf8,
        CodecError::NotJson(String::new()),
        CodecError::WrongShape(String::new()),
        CodecError::NonFinite { field: None },
        CodecError::BadId(IdError::Empty),
        CodecError::ReservedId,
        CodecError::IdMismatch {
            topic_id: String::new(),
            node_id: String::new(),
        },
        CodecError::DuplicateId(String::new()),
        CodecError::UnknownNode(String::new()),
        CodecError::UnknownCommand(String::new()),
        CodecError::MissingParam {
            command: "",
            param: "",
        },
        CodecError::OutOfRange { field: "" },
        CodecError::BadAvailability,
        CodecError::BadTopic(TopicError::Wildcard),
        CodecError::EncodeFailed(String::new()),
    ];
    let labels: Vec<_> = samples.iter().map(CodecError::reason).collect();
    assert_eq!(labels, CodecError::REASONS);
}

// ------------------------------------------------------------------ topics

fn all_topics(id: &str) -> Vec<Topic> {
    vec![
        Topic::NodeStatus(id.into()),
        Topic::NodeCommand(id.into()),
        Topic::NodeAvailability(id.into()),
        Topic::SystemStatus,
        Topic::SystemTopology,
        Topic::SystemEvents,
        Topic::SystemCommand,
        Topic::SystemAvailability,
        Topic::SystemDrill,
        Topic::SystemDrillCommand,
    ]
}

#[test]
fn topics_build_and_parse_back() {
    for prefix in [P, "site-1/winter-river"] {
        for id in ["pdu_a", "0", "a-b_c", "abcdefghijklmnopqrstuvwxyz012345"] {
            for topic in all_topics(id) {
                let s = topic.to_topic(prefix);
                assert_eq!(Topic::parse(prefix, &s), Ok(topic), "{s}");
            }
        }
    }
}

#[test]
fn topics_have_the_design_strings() {
    let built: Vec<String> = all_topics("pdu_a").iter().map(|t| t.to_topic(P)).collect();
    assert_eq!(
        built,
        [
            "winter-river/pdu_a/status",
            "winter-river/pdu_a/command",
            "winter-river/pdu_a/availability",
            "winter-river/system/status",
            "winter-river/system/topology",
            "winter-river/system/events",
            "winter-river/system/command",
            "winter-river/system/availability",
            "winter-river/system/drill",
            "winter-river/system/drill/command",
        ]
    );
    assert_eq!(
        Topic::NodeStatus("pdu_a".into()).to_string(),
        "pdu_a/status"
    );
    assert_eq!(Topic::NodeCommand("ups_a".into()).node_id(), Some("ups_a"));
    assert_eq!(Topic::SystemCommand.node_id(), None);
}

#[test]
fn topics_are_refused() {
    let cases = [
        ("winter-river/a/b/status", TopicError::WrongLevels),
        ("winter-river/pdu_a", TopicError::WrongLevels),
        ("winter-river/pdu_a/status/", TopicError::WrongLevels),
        ("winter-river", TopicError::WrongPrefix),
        ("other/pdu_a/status", TopicError::WrongPrefix),
        ("winter-riverx/pdu_a/status", TopicError::WrongPrefix),
        ("/winter-river/pdu_a/status", TopicError::WrongPrefix),
        ("winter-river/+/status", TopicError::Wildcard),
        ("winter-river/#", TopicError::Wildcard),
        ("winter-river/pdu_a/#", TopicError::Wildcard),
        ("winter-river/pdu_a/topology", TopicError::SystemOnly),
        ("winter-river/pdu_a/events", TopicError::SystemOnly),
        ("winter-river/pdu_a/state", TopicError::UnknownSuffix),
        ("winter-river/system/bogus", TopicError::UnknownSuffix),
        (
            "winter-river/PDU_A/status",
            TopicError::BadId(IdError::BadFirstChar),
        ),
        ("winter-river//status", TopicError::BadId(IdError::Empty)),
        (
            "winter-river/abcdefghijklmnopqrstuvwxyz0123456/status",
            TopicError::BadId(IdError::TooLong),
        ),
    ];
    for (topic, want) in cases {
        assert_eq!(Topic::parse(P, topic), Err(want), "{topic}");
    }
}

#[test]
fn subscription_filters() {
    assert_eq!(status_filter(P), "winter-river/+/status");
    assert_eq!(command_filter(P), "winter-river/+/command");
    assert_eq!(availability_filter(P), "winter-river/+/availability");
    // What the status filter also delivers: the engine's own system status.
    assert_eq!(
        Topic::parse(P, "winter-river/system/status"),
        Ok(Topic::SystemStatus)
    );
}

#[test]
fn qos_and_retain_follow_the_design_table() {
    let table: Vec<(u8, bool)> = all_topics("pdu_a")
        .iter()
        .map(|t| (t.qos().as_u8(), t.retain()))
        .collect();
    assert_eq!(
        table,
        [
            (0, false), // node status
            (1, false), // node command: never retained
            (1, true),  // node availability
            (0, true),  // system status
            (1, true),  // system topology
            (1, false), // system events
            (1, false), // system command: never retained
            (1, true),  // system availability
            (1, true),  // drill (retained progress)
            (1, false), // drill command
        ]
    );
    assert_eq!(Topic::SystemStatus.qos(), Qos::AtMostOnce);
}

#[test]
fn prefixes_are_validated() {
    assert_eq!(validate_prefix(P), Ok(()));
    assert_eq!(validate_prefix("site-1/winter-river"), Ok(()));
    for bad in ["", "/wr", "wr/", "a//b", "wr/+", "wr/#", "w\0r"] {
        assert_eq!(validate_prefix(bad), Err(TopicError::BadPrefix), "{bad:?}");
    }
}

// ------------------------------------------------------------------ properties

/// Runs every decoder and the topic parser; only panics count as failures.
fn decode_everything(bytes: &[u8]) {
    let _ = decode_status("pdu_a", bytes);
    let _ = decode_command(bytes);
    let _ = decode_system_status(bytes);
    let _ = decode_event(bytes);
    let _ = decode_topology(bytes);
    let _ = decode_availability(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        let _ = Topic::parse(P, s);
        let _ = decode_status(s, bytes);
    }
}

fn finite_or_not() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        any::<f64>().prop_map(Some),
        Just(Some(f64::NAN)),
        Just(Some(f64::INFINITY)),
    ]
}

proptest! {
    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }

    #[test]
    fn decode_never_panics_on_arbitrary_strings(s in any::<String>()) {
        decode_everything(s.as_bytes());
    }

    #[test]
    fn decode_never_panics_on_json_like_text(
        s in r#"[{}\[\]":,0-9eE+\-. a-zA-Z_\\]{0,200}"#,
    ) {
        decode_everything(s.as_bytes());
    }

    #[test]
    fn decode_never_panics_on_mutated_valid_payloads(
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        which in 0usize..4,
    ) {
        let valid = [
            encode_status(&full_status()).unwrap(),
            encode_command(&Command::SetFault { state: true }).unwrap(),
            encode_system_status(&system_status()).unwrap(),
            encode_topology(&topology()).unwrap(),
        ];
        let mut bytes = valid[which].clone();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        decode_everything(&bytes);
        bytes.truncate(i);
        decode_everything(&bytes);
    }

    #[test]
    fn status_encode_decode_round_trips(
        id in "[a-z0-9][a-z0-9_-]{0,31}",
        voltage_in in finite_or_not(),
        power_kw in finite_or_not(),
        wifi_rssi in prop::option::of(-127i32..=0),
        uptime in prop::option::of(0u64..=3_153_600_000),
        state in prop::sample::select(NodeState::ALL.to_vec()),
    ) {
        prop_assume!(id != "system");
        let mut s = Status::new(id.clone(), state);
        s.measured.voltage_in = voltage_in;
        s.measured.power_kw = power_kw;
        s.wifi_rssi = wifi_rssi;
        s.uptime = uptime;
        let bytes = encode_status(&s).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        prop_assert!(!text.contains("null") && !text.contains("NaN"));
        // Non-finite values were omitted; everything else comes back exactly.
        s.measured.voltage_in = voltage_in.filter(|v| v.is_finite());
        s.measured.power_kw = power_kw.filter(|v| v.is_finite());
        prop_assert_eq!(decode_status(&id, &bytes).unwrap(), s);
    }

    #[test]
    fn set_load_round_trips(kw in 0.0f64..=1e6) {
        let c = Command::SetLoad { kw };
        prop_assert_eq!(decode_command(&encode_command(&c).unwrap()).unwrap(), c);
    }
}

#[test]
fn topology_params_keep_their_names() {
    let t = topology();
    let bytes = encode_topology(&t).unwrap();
    let back = decode_topology(&bytes).unwrap();
    let want: BTreeMap<String, f64> = [
        ("efficiency".to_string(), 0.985),
        ("voltage_out".to_string(), 480.0),
    ]
    .into();
    assert_eq!(back.nodes[2].params, want);
}

// ------------------------------------------------------------------ shared description

#[test]
fn every_kind_names_fields_it_has() {
    for kind in &NodeKind::ALL {
        assert_eq!(NodeKind::parse(kind.as_str()), Some(*kind));
        // Every extra field is a Status field.
        for f in kind.spec().extra_fields {
            assert!(Status::fields().any(|s| s.name == *f), "{kind}: {f}");
        }
        // Every `{field}` of the diagram line is a Status field the kind reports.
        let summary = kind.spec().summary;
        for part in summary.split('{').skip(1) {
            let name = part.split('}').next().unwrap();
            assert!(kind.spec().has_field(name), "{kind}: {name} in {summary:?}");
        }
    }
    assert_eq!(NodeKind::Sts.as_str(), "sts");
    assert!(NodeKind::Sts.spec().has_field("source"));
    assert!(!NodeKind::Server.spec().has_field("battery_pct"));
    assert!(NodeKind::Server.spec().has_field("uptime"));
    assert!(!NodeKind::Server.spec().has_field("nonsense"));
}

#[test]
fn every_state_count_is_a_field_and_round_trips() {
    let mut s = system_status();
    for (i, state) in NodeState::ALL.iter().enumerate() {
        *s.count_mut(*state) = i as u32 + 1;
    }
    let bytes = encode_system_status(&s).unwrap();
    for (i, state) in NodeState::ALL.iter().enumerate() {
        let needle = format!("\"nodes_{}\":{}", state.as_str(), i + 1);
        assert!(text(&bytes).contains(&needle), "{needle}");
        assert_eq!(
            s.field(&format!("nodes_{state}")),
            Some(winter_river_protocol::FieldValue::Num((i + 1) as f64))
        );
    }
    assert_eq!(decode_system_status(&bytes).unwrap(), s);
    assert_eq!(s.field("nodes_nonsense"), None);
    assert_eq!(
        s.field("source"),
        Some(winter_river_protocol::FieldValue::Text("generator".into()))
    );
}

#[test]
fn commands_apply_by_their_rows() {
    let load = Command::SetLoad { kw: 1.0 };
    assert!(load.applies_to(NodeKind::Server));
    assert!(load.applies_to(NodeKind::Cooling));
    assert!(!load.applies_to(NodeKind::Ups));
    assert!(Command::SetFault { state: true }.applies_to(NodeKind::Sts));
    assert!(!Command::Update(UpdateParams::default()).applies_to(NodeKind::Ups));
    for c in [
        Command::SetFault { state: true },
        Command::SetLoad { kw: 1.0 },
        Command::Reset,
        Command::Update(UpdateParams::default()),
    ] {
        assert_eq!(c.spec().name, c.name());
    }
    // A command's declared parameter is checked by its row: a bool, a number ≥ min.
    assert_eq!(
        command_reason(r#"{"command":"set_fault","params":{"state":"yes"}}"#),
        "wrong_shape"
    );
    assert_eq!(
        command_reason(r#"{"command":"set_load","params":{"kw":-1}}"#),
        "out_of_range"
    );
    assert_eq!(command_reason(r#"{"command":"update"}"#), "missing_param");
    assert!(encode_command(&Command::SetLoad { kw: -1.0 }).is_err());
    // A mode is one of its command's choices: a generator has no `manual`.
    assert_eq!(
        decode_command(br#"{"command":"gen_mode","params":{"mode":"manual"}}"#)
            .unwrap_err()
            .to_string(),
        "payload has the wrong shape: `mode` of gen_mode must be one of auto, off, run"
    );
    assert_eq!(
        command_reason(r#"{"command":"ups_mode","params":{"mode":7}}"#),
        "wrong_shape"
    );
    assert_eq!(
        command_reason(r#"{"command":"transfer","params":{"to":"Gen A"}}"#),
        "wrong_shape"
    );
    assert_eq!(command_reason(r#"{"command":"transfer"}"#), "missing_param");
    // Where the operator commands apply.
    assert!(Command::Open.applies_to(NodeKind::Utility));
    assert!(Command::Lockout { state: true }.applies_to(NodeKind::Server));
    let ups = Command::UpsMode { mode: Mode::Normal };
    assert!(ups.applies_to(NodeKind::Ups) && !ups.applies_to(NodeKind::Sts));
    let ats = Command::AtsTest { state: true };
    assert!(ats.applies_to(NodeKind::Switchgear) && !ats.applies_to(NodeKind::Sts));
    assert!(Command::GenMode { mode: Mode::Run }.applies_to(NodeKind::Generator));
    // `epo` is the site's: no node takes it, `system/command` does.
    assert!(NodeKind::ALL.iter().all(|&k| !Command::Epo.applies_to(k)));
    assert!(Command::Epo.spec().site_wide);
    // The command that sets a kind's selector, from the rows.
    assert_eq!(
        Command::set_mode(NodeKind::Ups, Mode::MaintenanceBypass),
        Some(Command::UpsMode {
            mode: Mode::MaintenanceBypass
        })
    );
    assert_eq!(
        Command::set_mode(NodeKind::Switchgear, Mode::Bypass),
        Some(Command::AtsMode { mode: Mode::Bypass })
    );
    assert_eq!(Command::set_mode(NodeKind::Generator, Mode::Manual), None);
    assert_eq!(Command::set_mode(NodeKind::Pdu, Mode::Auto), None);
    let selectors: Vec<&str> = CommandSpec::mode_selectors().map(|(c, _)| c.name).collect();
    assert_eq!(selectors, ["ups_mode", "ats_mode", "gen_mode"]);
    // Each kind's selector positions are its selector command's choices.
    for kind in NodeKind::ALL {
        let choices = CommandSpec::mode_selector(kind).map_or(&[][..], |(_, c)| c);
        assert_eq!(kind.spec().modes, choices, "{kind}");
        assert_eq!(kind.spec().has_field("mode"), !choices.is_empty(), "{kind}");
    }
}

#[test]
fn one_rounding_rule() {
    use winter_river_protocol::round_for_display;
    assert_eq!(round_for_display(99.85, 1), 99.9);
    assert_eq!(round_for_display(99.96, 1), 100.0);
    assert_eq!(round_for_display(99.94, 1), 99.9);
    assert_eq!(round_for_display(2.5, 0), 3.0);
    assert_eq!(round_for_display(-2.5, 0), -3.0);
    assert_eq!(round_for_display(1234.5678, 2), 1234.57);
    assert_eq!(round_for_display(1e300, 2), 1e300);
}

#[test]
fn the_schema_lists_everything_once() {
    let schema = serde_json::to_value(winter_river_protocol::Schema::new()).unwrap();
    // No name twice in any list a reader looks things up in.
    for (list, key) in [
        ("kinds", "name"),
        ("commands", "name"),
        ("states", "word"),
        ("status_fields", "name"),
        ("system_fields", "name"),
    ] {
        let names: Vec<&str> = schema[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[key].as_str().unwrap())
            .collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "{list}: {names:?}");
    }
    // Every state's count is a SystemStatus field that no other field shadows.
    for state in NodeState::ALL {
        let count = format!("nodes_{state}");
        assert!(
            !schema["system_fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == count.as_str())
        );
    }
    let kinds = schema["kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), NodeKind::ALL.len());
    let ups = kinds.iter().find(|k| k["name"] == "ups").unwrap();
    assert_eq!(ups["label"], "UPS");
    assert_eq!(
        ups["extra_fields"],
        serde_json::json!(["mode", "battery_pct", "runtime_s"])
    );
    assert_eq!(
        ups["modes"],
        serde_json::json!(["normal", "static_bypass", "maintenance_bypass"])
    );
    assert_eq!(
        ups["commands"],
        serde_json::json!(["set_fault", "reset", "open", "close", "lockout", "ups_mode"])
    );
    let ats_mode = schema["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ats_mode")
        .unwrap();
    assert_eq!(
        ats_mode["params"][0],
        serde_json::json!({"name": "mode", "type": "choice", "choices": ["auto", "manual", "bypass"], "label": "Mode"})
    );
    let maintenance = schema["modes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["word"] == "maintenance_bypass")
        .unwrap();
    assert_eq!(maintenance["normal"], false);
    assert!(maintenance["risk"].as_str().unwrap().contains("input loss"));
    let server = kinds.iter().find(|k| k["name"] == "server").unwrap();
    assert_eq!(
        server["commands"],
        serde_json::json!(["set_fault", "set_load", "reset", "open", "close", "lockout"])
    );
    let states = schema["states"].as_array().unwrap();
    assert_eq!(states.len(), NodeState::ALL.len());
    assert_eq!(
        states[5],
        serde_json::json!({"word": "on_battery", "label": "ON BATTERY", "tone": "warn"})
    );
    let battery = schema["status_fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "battery_pct")
        .unwrap();
    assert_eq!(battery["unit"], "%");
    assert_eq!(battery["decimals"], 1);
    assert_eq!(
        schema["sources"],
        serde_json::json!(["utility", "generator", "battery", "mixed", "none"])
    );
    let set_load = schema["commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "set_load")
        .unwrap();
    assert_eq!(
        set_load["params"],
        serde_json::json!([{"name": "kw", "type": "number", "unit": "kW", "min": 0.0, "max": 1e6, "label": "Demand"}])
    );
}

#[test]
fn one_deadband() {
    use winter_river_protocol::deadband::moved_by;
    assert!(!moved_by(100.0, 100.4));
    assert!(moved_by(100.0, 100.6));
    assert!(!moved_by(0.0, 0.01));
    assert!(moved_by(0.0, 0.011));
    let a = Measurements {
        power_kw: Some(10.0),
        ..Measurements::default()
    };
    let mut b = a.clone();
    assert!(!a.moved(&b));
    b.source = Some("gen_a".into());
    assert!(a.moved(&b));
}

#[test]
fn drill_topics_are_three_levels_only_for_the_command() {
    assert_eq!(
        Topic::SystemDrillCommand.to_topic(P),
        format!("{P}/system/drill/command")
    );
    assert_eq!(
        Topic::parse(P, &format!("{P}/system/drill")),
        Ok(Topic::SystemDrill)
    );
    assert!(Topic::SystemDrill.retain());
    assert!(!Topic::SystemDrillCommand.retain());
    // Only the engine's drill has a third level.
    assert_eq!(
        Topic::parse(P, &format!("{P}/pdu_a/drill/command")),
        Err(TopicError::WrongLevels)
    );
    assert_eq!(
        Topic::parse(P, &format!("{P}/system/events/command")),
        Err(TopicError::WrongLevels)
    );
}

#[test]
fn a_command_names_its_channel_and_old_readers_ignore_it() {
    use winter_river_protocol::{Channel, decode_command_via, encode_command_via};
    let open = Command::Open;
    let bytes = encode_command_via(&open, Channel::Cli).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains(r#""channel":"cli""#), "{text}");
    assert_eq!(
        decode_command_via(&bytes).unwrap(),
        (Command::Open, Channel::Cli)
    );
    assert_eq!(decode_command(&bytes).unwrap(), Command::Open);
    // No channel, or a word from a newer sender: plain MQTT.
    let plain = br#"{"command":"open","params":{}}"#;
    assert_eq!(decode_command_via(plain).unwrap().1, Channel::Mqtt);
    let newer = br#"{"command":"open","params":{},"channel":"voice"}"#;
    assert_eq!(decode_command_via(newer).unwrap().1, Channel::Mqtt);
    // encode_command writes no channel at all.
    let seed = String::from_utf8(encode_command(&open).unwrap()).unwrap();
    assert!(!seed.contains("channel"), "{seed}");
}

#[test]
fn drill_commands_decode_with_or_without_params() {
    use winter_river_protocol::{DrillCommand, decode_drill_command, encode_drill_command};
    assert_eq!(
        decode_drill_command(br#"{"command":"start"}"#).unwrap(),
        DrillCommand::Start {}
    );
    assert_eq!(
        decode_drill_command(br#"{"command":"stop","params":null,"by":"x"}"#).unwrap(),
        DrillCommand::Stop {}
    );
    assert_eq!(
        decode_drill_command(br#"{"command":"inject","params":{"event":2}}"#).unwrap(),
        DrillCommand::Inject { event: 2 }
    );
    for cmd in [
        DrillCommand::Start {},
        DrillCommand::Inject { event: 0 },
        DrillCommand::Load {
            file: "utility-loss.toml".into(),
        },
    ] {
        let bytes = encode_drill_command(&cmd).unwrap();
        assert_eq!(decode_drill_command(&bytes).unwrap(), cmd);
    }
    assert!(matches!(
        decode_drill_command(br#"{"command":"inject","params":{}}"#),
        Err(CodecError::WrongShape(_))
    ));
    assert!(matches!(
        decode_drill_command(br#"{"command":"pause"}"#),
        Err(CodecError::UnknownCommand(_))
    ));
    assert!(matches!(
        decode_drill_command(br#"{"command":"inject","params":{"event":-1}}"#),
        Err(CodecError::WrongShape(_))
    ));
    assert!(decode_drill_command(b"[1]").is_err());
}

#[test]
fn drill_status_round_trips() {
    use winter_river_protocol::{
        DrillState, DrillStatus, DrillStep, StepState, decode_drill_status, encode_drill_status,
    };
    let status = DrillStatus {
        state: DrillState::Running,
        name: "UPS maintenance".into(),
        clock_s: 12.5,
        duration_s: 600.0,
        steps: vec![DrillStep {
            number: 1,
            note: "Transfer UPS A to static bypass".into(),
            node: "ups_a".into(),
            command: "ups_mode mode=static_bypass".into(),
            state: StepState::OutOfOrder,
            ..DrillStep::default()
        }],
        ..DrillStatus::default()
    };
    let bytes = encode_drill_status(&status).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains(r#""state":"out_of_order""#), "{text}");
    assert_eq!(decode_drill_status(&bytes).unwrap(), status);
    let bad = DrillStatus {
        clock_s: f64::NAN,
        ..status
    };
    assert!(encode_drill_status(&bad).is_err());
}

#[test]
fn drill_words_are_the_wire_words_with_a_label_each() {
    use winter_river_protocol::{DrillState, DrillWords, ExpectVerdict, StepState};
    let wire = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
    for s in DrillState::ALL {
        assert_eq!(wire(serde_json::to_value(s).unwrap()), s.as_str());
    }
    for s in StepState::ALL {
        assert_eq!(wire(serde_json::to_value(s).unwrap()), s.as_str());
    }
    for v in ExpectVerdict::ALL {
        assert_eq!(wire(serde_json::to_value(v).unwrap()), v.as_str());
    }
    let words = serde_json::to_value(DrillWords::new()).unwrap();
    assert_eq!(words["steps"][3]["word"], "out_of_order");
    assert_eq!(words["steps"][3]["label"], "Out of order");
    assert_eq!(words["steps"][4]["tone"], "bad");
    assert_eq!(words["channels"][1]["label"], "dashboard");
    assert!(
        words["states"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| !w["label"].as_str().unwrap().is_empty())
    );
}

#[test]
fn fault_injection_is_the_instructor_s_command() {
    let schema = serde_json::to_value(winter_river_protocol::Schema::new()).unwrap();
    let instructor: Vec<&str> = schema["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["instructor"] == true)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(instructor, ["set_fault"]);
}

#[test]
fn link_fields_out_of_what_a_board_can_report_are_refused() {
    let status = |extra: &str| {
        format!(r#"{{"node_id":"pdu_a","status":"ok","power_kw":6.0{extra}}}"#).into_bytes()
    };
    for ok in [
        r#","wifi_rssi":-127"#,
        r#","wifi_rssi":0"#,
        r#","uptime":3153600000"#,
        r#","seq":9223372036854775807"#,
    ] {
        assert!(decode_status("pdu_a", &status(ok)).is_ok(), "{ok}");
    }
    for (bad, field) in [
        (r#","wifi_rssi":2147483647"#, "wifi_rssi"),
        (r#","wifi_rssi":-128"#, "wifi_rssi"),
        (r#","wifi_rssi":1"#, "wifi_rssi"),
        (r#","uptime":18446744073709551615"#, "uptime"),
        (r#","uptime":3153600001"#, "uptime"),
        (r#","seq":9223372036854775808"#, "seq"),
    ] {
        let e = decode_status("pdu_a", &status(bad)).expect_err(bad);
        assert_eq!(e, CodecError::OutOfRange { field }, "{bad}");
        assert_eq!(e.reason(), "out_of_range");
    }
    // What cannot be received cannot be sent either.
    let mut s = decode_status("pdu_a", &status("")).unwrap();
    s.wifi_rssi = Some(5);
    assert!(encode_status(&s).is_err());
}

#[test]
fn a_demand_beyond_a_gigawatt_is_refused_everywhere_a_command_is_read() {
    use winter_river_protocol::MAX_LOAD_KW;
    let ok = format!(r#"{{"command":"set_load","params":{{"kw":{MAX_LOAD_KW}}}}}"#);
    assert_eq!(
        decode_command(ok.as_bytes()).unwrap(),
        Command::SetLoad { kw: MAX_LOAD_KW }
    );
    for kw in ["1e308", "1000000.001"] {
        let bad = format!(r#"{{"command":"set_load","params":{{"kw":{kw}}}}}"#);
        assert_eq!(
            decode_command(bad.as_bytes()),
            Err(CodecError::OutOfRange { field: "kw" }),
            "{kw}"
        );
    }
    // Nor can one be written.
    assert!(encode_command(&Command::SetLoad { kw: 1e308 }).is_err());
}

#[test]
fn commands_read_as_an_operator_types_them() {
    use winter_river_protocol::Mode;
    assert_eq!(
        Command::UpsMode {
            mode: Mode::StaticBypass
        }
        .words(),
        "ups_mode mode=static_bypass"
    );
    assert_eq!(
        Command::SetFault { state: true }.words(),
        "set_fault state=true"
    );
    assert_eq!(Command::SetLoad { kw: 20.0 }.words(), "set_load kw=20.0");
    assert_eq!(Command::Open.words(), "open");
    assert_eq!(
        Command::Transfer { to: "gen_a".into() }.words(),
        "transfer to=gen_a"
    );
}
