//! One target per decoder of outside input, each with its seed corpus built from
//! real payloads (what the simulator, the engine and the firmware codec emit, and the
//! repository's own topology, scenario and drill files) and the property it checks
//! beyond "does not panic": what decodes, encodes again to the same value
//! (docs/protocol.md: encoders refuse what decoders refuse), and what the engine
//! publishes in answer to anything decodes.

use std::path::{Path, PathBuf};

use winter_river_engine_core::{EngineConfig, EngineCore};
use winter_river_mqtt_codec as mqtt;
use winter_river_mqtt_codec::server::{
    ClientPacket, Qos, ServerPublish, decode_client_packet, encode_server_publish, filter_matches,
    valid_filter, valid_publish_topic,
};
use winter_river_protocol::{
    COMMANDS, DrillCommand, DrillStatus, Topic, decode_availability, decode_command,
    decode_command_via, decode_drill_command, decode_drill_status, decode_event, decode_status,
    decode_system_status, decode_topology, encode_command, encode_drill_command,
    encode_drill_status, encode_event, encode_status, encode_system_status, encode_topology,
};
use winter_river_sim::{Scenario, Simulator, Topology};

/// A fuzz target.
#[derive(Debug)]
pub struct Target {
    pub name: &'static str,
    /// What it feeds.
    pub about: &'static str,
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Must not panic; asserts its property. `true` when the input was accepted
    /// (decoded, parsed): the share of accepted inputs shows how far past the syntax
    /// check the mutations reach.
    pub run: fn(&[u8]) -> bool,
}

/// Every target, in the order `--target all` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "status",
        about: "a board's Status JSON (decode_status), re-encoded",
        seeds: status_seeds,
        run: run_status,
    },
    Target {
        name: "command",
        about: "a Command JSON on <p>/<id>/command (decode_command_via), re-encoded",
        seeds: command_seeds,
        run: run_command,
    },
    Target {
        name: "system",
        about: "SystemStatus, Event, topology and availability payloads, re-encoded",
        seeds: system_seeds,
        run: run_system,
    },
    Target {
        name: "drill",
        about: "drill commands and the retained drill status, re-encoded",
        seeds: drill_seeds,
        run: run_drill,
    },
    Target {
        name: "topic",
        about: "topic strings (Topic::parse), built back",
        seeds: topic_seeds,
        run: run_topic,
    },
    Target {
        name: "topology",
        about: "topology TOML files (Topology::from_toml_str)",
        seeds: topology_seeds,
        run: run_topology,
    },
    Target {
        name: "scenario",
        about: "scenario, MOP and drill TOML files (Scenario::from_toml_str)",
        seeds: scenario_seeds,
        run: run_scenario,
    },
    Target {
        name: "engine",
        about: "MQTT messages into the engine core; everything it publishes decodes",
        seeds: engine_seeds,
        run: run_engine,
    },
    Target {
        name: "mqtt",
        about: "the firmware's MQTT codec: packets from the broker, framed from a byte stream",
        seeds: mqtt_seeds,
        run: run_mqtt,
    },
    Target {
        name: "broker-mqtt",
        about: "the embedded broker's side of the codec: every packet a client sends, re-encoded",
        seeds: broker_mqtt_seeds,
        run: run_broker_mqtt,
    },
];

pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `.toml` files of a folder of the repository.
fn repo_files(dir: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(repo_root().join(dir)) {
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|x| x == "toml")
                && let Ok(bytes) = std::fs::read(&p)
            {
                out.push(bytes);
            }
        }
    }
    out
}

/// A simulator on the seed chain after a utility failure: statuses with battery,
/// events of every common kind.
fn seed_site() -> Simulator {
    let mut sim = Simulator::new(Topology::builtin_default(), 100);
    sim.step();
    let _ = sim.command(
        "util_a",
        &winter_river_protocol::Command::SetFault { state: true },
    );
    sim.step();
    sim
}

// ── status ─────────────────────────────────────────────────────────────────────────

fn status_seeds() -> Vec<Vec<u8>> {
    let sim = seed_site();
    let mut out: Vec<Vec<u8>> = (0..sim.topology().len())
        .filter_map(|i| encode_status(&sim.node_status(i)).ok())
        .collect();
    out.push(
        br#"{"node_id":"pdu_a","kind":"pdu","voltage_in":480.0,"voltage_out":208.0,"current":7.2,"power_kw":6.0,"load_pct":12.0,"status":"ok","wifi_rssi":-62,"uptime":3600,"seq":1800}"#
            .to_vec(),
    );
    out
}

fn run_status(data: &[u8]) -> bool {
    let mut accepted = false;
    for id in ["pdu_a", "ups_a"] {
        if let Ok(s) = decode_status(id, data) {
            let again = encode_status(&s).expect("a decoded status encodes");
            assert_eq!(
                decode_status(id, &again).as_ref(),
                Ok(&s),
                "status round trip"
            );
            accepted = true;
        }
    }
    accepted
}

// ── command ────────────────────────────────────────────────────────────────────────

fn command_seeds() -> Vec<Vec<u8>> {
    let mut out = vec![
        br#"{"command":"set_fault","params":{"state":true},"channel":"dashboard"}"#.to_vec(),
        br#"{"command":"set_load","params":{"kw":30.0}}"#.to_vec(),
        br#"{"command":"reset","params":{}}"#.to_vec(),
        br#"{"command":"ups_mode","params":{"mode":"static_bypass"},"channel":"cli"}"#.to_vec(),
        br#"{"command":"ats_mode","params":{"mode":"manual"}}"#.to_vec(),
        br#"{"command":"gen_mode","params":{"mode":"off"}}"#.to_vec(),
        br#"{"command":"transfer","params":{"to":"gen_a"}}"#.to_vec(),
        br#"{"command":"ats_test","params":{"state":true}}"#.to_vec(),
        br#"{"command":"lockout","params":{"state":false},"channel":"board"}"#.to_vec(),
        br#"{"command":"open"}"#.to_vec(),
        br#"{"command":"epo","params":{}}"#.to_vec(),
    ];
    // What the engine sends boards: an update per node.
    let sim = seed_site();
    for i in 0..sim.topology().len() {
        let cmd = winter_river_protocol::Command::Update(sim.node_update(i));
        if let Ok(bytes) = encode_command(&cmd) {
            out.push(bytes);
        }
    }
    for spec in COMMANDS {
        out.push(format!(r#"{{"command":"{}","params":{{}}}}"#, spec.name).into_bytes());
    }
    out
}

fn run_command(data: &[u8]) -> bool {
    let Ok((cmd, channel)) = decode_command_via(data) else {
        return false;
    };
    {
        assert_eq!(
            decode_command(data).as_ref(),
            Ok(&cmd),
            "the channel changes nothing"
        );
        let again = winter_river_protocol::encode_command_via(&cmd, channel)
            .expect("a decoded command encodes");
        assert_eq!(
            decode_command_via(&again),
            Ok((cmd, channel)),
            "command round trip"
        );
    }
    true
}

// ── system ─────────────────────────────────────────────────────────────────────────

fn system_seeds() -> Vec<Vec<u8>> {
    let sim = seed_site();
    let mut out = Vec::new();
    out.extend(encode_system_status(&sim.system_status()).ok());
    out.extend(sim.events().iter().filter_map(|e| encode_event(e).ok()));
    out.extend(encode_topology(&sim.topology().to_json()).ok());
    out.push(b"online".to_vec());
    out.push(b"offline".to_vec());
    out
}

fn run_system(data: &[u8]) -> bool {
    let mut accepted = false;
    if let Ok(s) = decode_system_status(data) {
        let again = encode_system_status(&s).expect("a decoded system status encodes");
        assert_eq!(
            decode_system_status(&again).as_ref(),
            Ok(&s),
            "system round trip"
        );
        accepted = true;
    }
    if let Ok(e) = decode_event(data) {
        let again = encode_event(&e).expect("a decoded event encodes");
        assert_eq!(decode_event(&again).as_ref(), Ok(&e), "event round trip");
        accepted = true;
    }
    if let Ok(t) = decode_topology(data) {
        let again = encode_topology(&t).expect("a decoded topology encodes");
        assert_eq!(
            decode_topology(&again).as_ref(),
            Ok(&t),
            "topology round trip"
        );
        accepted = true;
    }
    decode_availability(data).is_ok() || accepted
}

// ── drill ──────────────────────────────────────────────────────────────────────────

fn drill_seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [
        DrillCommand::Start {},
        DrillCommand::Stop {},
        DrillCommand::Inject { event: 2 },
        DrillCommand::Load {
            file: "generator-found-in-off.toml".into(),
        },
    ]
    .iter()
    .filter_map(|c| encode_drill_command(c).ok())
    .collect();
    out.push(br#"{"command":"start"}"#.to_vec());
    let status = DrillStatus {
        state: winter_river_protocol::DrillState::Running,
        name: "Generator found in OFF".into(),
        clock_s: 61.5,
        duration_s: 900.0,
        steps: vec![winter_river_protocol::DrillStep {
            number: 1,
            note: "Put gen_a back in AUTO".into(),
            node: "gen_a".into(),
            command: "gen_mode mode=auto".into(),
            ..Default::default()
        }],
        library: vec!["generator-found-in-off.toml".into()],
        ..DrillStatus::default()
    };
    out.extend(encode_drill_status(&status).ok());
    out
}

fn run_drill(data: &[u8]) -> bool {
    let mut accepted = false;
    if let Ok(c) = decode_drill_command(data) {
        let again = encode_drill_command(&c).expect("a decoded drill command encodes");
        assert_eq!(
            decode_drill_command(&again).as_ref(),
            Ok(&c),
            "drill command round trip"
        );
        accepted = true;
    }
    if let Ok(s) = decode_drill_status(data) {
        // A status whose clock is not finite cannot be written: the engine never
        // publishes one, and refusing it is the encoder's job.
        if let Ok(again) = encode_drill_status(&s) {
            assert_eq!(
                decode_drill_status(&again).as_ref(),
                Ok(&s),
                "drill status round trip"
            );
        }
        accepted = true;
    }
    accepted
}

// ── topic ──────────────────────────────────────────────────────────────────────────

const PREFIX: &str = "winter-river";

fn topic_seeds() -> Vec<Vec<u8>> {
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
        "winter-river/+/status",
        "winter-river/#",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn run_topic(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(topic) = Topic::parse(PREFIX, text) else {
        return false;
    };
    assert_eq!(
        topic.to_topic(PREFIX),
        text,
        "a parsed topic builds back the same"
    );
    true
}

// ── topology and scenario files ────────────────────────────────────────────────────

fn topology_seeds() -> Vec<Vec<u8>> {
    let mut out = repo_files("topologies");
    out.push(
        winter_river_sim::topology::DEFAULT_TOPOLOGY_TOML
            .as_bytes()
            .to_vec(),
    );
    out
}

fn run_topology(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(t) = Topology::from_toml_str(text, "fuzz.toml") else {
        return false;
    };
    // What parses runs and encodes.
    let mut sim = Simulator::new(t, 1000);
    sim.step();
    sim.step();
    encode_system_status(&sim.system_status()).expect("a parsed site's status encodes");
    true
}

fn scenario_seeds() -> Vec<Vec<u8>> {
    let mut out = repo_files("scenarios");
    out.extend(repo_files("drills"));
    out
}

fn run_scenario(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    // Topologies resolve against the repository's folders; reading other paths is
    // refused, so a mutated `topology = "/dev/zero"` costs nothing.
    let file = repo_root().join("scenarios/fuzz.toml");
    Scenario::from_toml_str(text, &file.display().to_string(), |p: &Path| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let known = repo_root().join("topologies").join(name);
        if name.ends_with(".toml") && known.is_file() {
            std::fs::read_to_string(known).map_err(|e| e.to_string())
        } else {
            Err("not a topology of the repository".into())
        }
    })
    .is_ok()
}

// ── engine intake ──────────────────────────────────────────────────────────────────

/// Topics an input's first byte picks from; the rest of the input is the payload.
const ENGINE_TOPICS: &[&str] = &[
    "winter-river/ups_a/status",
    "winter-river/srv_a/command",
    "winter-river/ups_a/command",
    "winter-river/sw_a/command",
    "winter-river/gen_a/command",
    "winter-river/util_a/availability",
    "winter-river/system/command",
    "winter-river/system/drill/command",
    "winter-river/nobody/status",
    "winter-river/system/status",
    "elsewhere/ups_a/status",
];

fn engine_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (k, payloads) in [
        (0u8, status_seeds()),
        (1, command_seeds()),
        (6, command_seeds()),
        (7, drill_seeds()),
    ] {
        for p in payloads {
            let mut v = vec![k];
            v.extend(p);
            out.push(v);
        }
    }
    out.push([&[5u8][..], b"offline"].concat());
    out
}

fn run_engine(data: &[u8]) -> bool {
    let Some((&pick, payload)) = data.split_first() else {
        return false;
    };
    let topic = ENGINE_TOPICS[usize::from(pick) % ENGINE_TOPICS.len()];
    let config = EngineConfig {
        speed: 10.0,
        ..EngineConfig::default()
    };
    let Ok(mut core) = EngineCore::new(Topology::builtin_default(), config) else {
        return false;
    };
    core.handle_connected(0);
    let rejected_before = core.counters().rejected_total();
    // The same message twice, between ticks: a command applies and is answered.
    for now_ms in [0u64, 150, 300] {
        core.handle_message(now_ms, topic, payload);
        core.handle_tick(now_ms + 100);
    }
    while let Some(out) = core.poll_outgoing() {
        let parsed = Topic::parse(PREFIX, &out.topic).expect("the engine publishes valid topics");
        let ok = match parsed {
            Topic::SystemStatus => decode_system_status(&out.payload).is_ok(),
            Topic::SystemEvents => decode_event(&out.payload).is_ok(),
            Topic::SystemTopology => decode_topology(&out.payload).is_ok(),
            Topic::SystemAvailability => decode_availability(&out.payload).is_ok(),
            Topic::NodeCommand(_) => decode_command(&out.payload).is_ok(),
            Topic::SystemDrill => decode_drill_status(&out.payload).is_ok(),
            _ => true,
        };
        assert!(
            ok,
            "the engine published what does not decode on {}",
            out.topic
        );
    }
    core.counters().rejected_total() == rejected_before
}

// ── firmware MQTT codec ────────────────────────────────────────────────────────────

fn mqtt_seeds() -> Vec<Vec<u8>> {
    let mut out = vec![
        vec![0x20, 0x02, 0x00, 0x00],             // CONNACK accepted
        vec![0x20, 0x02, 0x01, 0x05],             // CONNACK not authorized
        vec![0x90, 0x04, 0x00, 0x01, 0x01, 0x80], // SUBACK
        vec![0x40, 0x02, 0x00, 0x07],             // PUBACK
        vec![0xB0, 0x02, 0x00, 0x02],             // UNSUBACK
        vec![0xD0, 0x00],                         // PINGRESP
    ];
    let mut buf = [0u8; 512];
    for (qos, id) in [
        (mqtt::QoS::AtMostOnce, None),
        (mqtt::QoS::AtLeastOnce, Some(9)),
    ] {
        let publish = mqtt::Publish {
            topic: "winter-river/ups_a/command",
            payload: br#"{"command":"set_fault","params":{"state":true}}"#,
            qos,
            retain: false,
            dup: false,
            packet_id: id,
        };
        if let Ok(n) = mqtt::encode_publish(&publish, &mut buf) {
            out.push(buf[..n].to_vec());
        }
    }
    // Two packets back to back, as a stream delivers them.
    let joined = [out[0].clone(), out[6].clone()].concat();
    out.push(joined);
    out
}

fn run_mqtt(data: &[u8]) -> bool {
    let _ = mqtt::packet_len(data);
    let decoded = match mqtt::decode(data) {
        Ok(Some((_, used))) => {
            assert!(used <= data.len(), "decode used more bytes than it had");
            true
        }
        _ => false,
    };
    // Framed from a stream in uneven chunks into a small buffer.
    let mut rx = mqtt::RxBuffer::<256>::new();
    let mut rest = data;
    let mut chunk = 1 + usize::from(data.first().copied().unwrap_or(0) % 7);
    let mut rounds = 0;
    while !rest.is_empty() && rounds < 10_000 {
        rounds += 1;
        let space = rx.unfilled();
        let n = chunk.min(rest.len()).min(space.len());
        space[..n].copy_from_slice(&rest[..n]);
        rx.commit(n);
        rest = &rest[n..];
        chunk = chunk % 13 + 1;
        let mut packets = 0;
        while let Ok(Some(_)) = rx.next_packet() {
            packets += 1;
            assert!(
                packets <= 256,
                "a 256-byte buffer framed more than 256 packets"
            );
        }
    }
    decoded
}

// ── the broker's side of the MQTT codec ───────────────────────────────────────────────

fn broker_mqtt_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    let will = mqtt::Will {
        topic: "winter-river/ups_a/availability",
        payload: b"offline",
        qos: mqtt::QoS::AtLeastOnce,
        retain: true,
    };
    for (will, username, password) in [
        (None, None, None),
        (Some(will), Some("ups_a"), Some(&b"pw"[..])),
    ] {
        let connect = mqtt::Connect {
            client_id: "winter-river-node-ups_a@winter-river",
            keep_alive_s: 30,
            clean_session: will.is_none(),
            will,
            username,
            password,
        };
        if let Ok(n) = mqtt::encode_connect(&connect, &mut buf) {
            out.push(buf[..n].to_vec());
        }
    }
    for qos in [Qos::AtMostOnce, Qos::AtLeastOnce, Qos::ExactlyOnce] {
        let publish = ServerPublish {
            topic: "winter-river/ups_a/status",
            payload: br#"{"node_id":"ups_a","status":"ok"}"#,
            qos,
            retain: qos == Qos::AtLeastOnce,
            dup: false,
            packet_id: (qos != Qos::AtMostOnce).then_some(7),
        };
        if let Ok(n) = encode_server_publish(&publish, &mut buf) {
            out.push(buf[..n].to_vec());
        }
    }
    let filters = [
        ("winter-river/+/status", mqtt::QoS::AtMostOnce),
        ("winter-river/#", mqtt::QoS::AtLeastOnce),
    ];
    if let Ok(n) = mqtt::encode_subscribe(3, &filters, &mut buf) {
        out.push(buf[..n].to_vec());
    }
    out.extend([
        vec![0xA2, 0x07, 0x00, 0x04, 0x00, 0x03, b'a', b'/', b'b'], // UNSUBSCRIBE
        vec![0x40, 0x02, 0x00, 0x07],                               // PUBACK
        vec![0x50, 0x02, 0x00, 0x07],                               // PUBREC
        vec![0x62, 0x02, 0x00, 0x07],                               // PUBREL
        vec![0x70, 0x02, 0x00, 0x07],                               // PUBCOMP
        vec![0xC0, 0x00],                                           // PINGREQ
        vec![0xE0, 0x00],                                           // DISCONNECT
    ]);
    out
}

fn run_broker_mqtt(data: &[u8]) -> bool {
    let Ok(Some((packet, used))) = decode_client_packet(data) else {
        return false;
    };
    assert!(used <= data.len(), "decode used more bytes than it had");
    match packet {
        ClientPacket::Publish(p) => {
            // A PUBLISH the broker read, written back by the broker, reads the same.
            let mut buf = vec![0u8; used + 8];
            let n = encode_server_publish(&p, &mut buf).expect("a decoded PUBLISH encodes");
            match decode_client_packet(&buf[..n]) {
                Ok(Some((ClientPacket::Publish(q), m))) => {
                    assert_eq!((p, n), (q, m), "PUBLISH round trip");
                }
                other => panic!("re-encoded PUBLISH reads back as {other:?}"),
            }
            // The topic checks never panic, whatever the bytes.
            let _ = valid_publish_topic(p.topic);
        }
        ClientPacket::Subscribe { filters, .. } | ClientPacket::Unsubscribe { filters, .. } => {
            for (filter, _) in filters.iter().flatten() {
                if valid_filter(filter) {
                    let _ = filter_matches(filter, "winter-river/ups_a/status");
                }
            }
        }
        _ => {}
    }
    true
}
