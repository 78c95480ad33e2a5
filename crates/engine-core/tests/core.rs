//! The engine core with simulated time and no broker: what it publishes, when, and
//! how it treats commands, boards and bad input (docs/protocol.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use winter_river_engine_core::{EngineConfig, EngineCore, NOT_APPLICABLE, Outgoing};
use winter_river_protocol::{
    Command, EventKind, NodeState, Qos, Source, decode_command, decode_event, decode_system_status,
    decode_topology, encode_command,
};
use winter_river_sim::Topology;

const P: &str = "winter-river";

fn engine() -> EngineCore {
    EngineCore::new(Topology::builtin_default(), EngineConfig::default()).unwrap()
}

fn drain(core: &mut EngineCore) -> Vec<Outgoing> {
    std::iter::from_fn(|| core.poll_outgoing()).collect()
}

fn topic(t: &str) -> String {
    format!("{P}/{t}")
}

/// Ticks every 100 ms from `from_ms` to `to_ms` inclusive, collecting publishes.
fn run(core: &mut EngineCore, from_ms: u64, to_ms: u64) -> Vec<Outgoing> {
    let mut out = Vec::new();
    let mut t = from_ms;
    while t <= to_ms {
        core.handle_tick(t);
        out.extend(drain(core));
        t += 100;
    }
    out
}

fn updates_for(out: &[Outgoing], id: &str) -> Vec<winter_river_protocol::UpdateParams> {
    out.iter()
        .filter(|o| o.topic == topic(&format!("{id}/command")))
        .map(|o| match decode_command(&o.payload).unwrap() {
            Command::Update(p) => p,
            other => panic!("engine sent {other:?}"),
        })
        .collect()
}

fn send(core: &mut EngineCore, now_ms: u64, id: &str, cmd: &Command) {
    core.handle_message(
        now_ms,
        &topic(&format!("{id}/command")),
        &encode_command(cmd).unwrap(),
    );
}

#[test]
fn on_connect_publishes_retained_topology_availability_updates_and_status() {
    let mut core = engine();
    core.handle_connected(0);
    let out = drain(&mut core);
    let topo = out
        .iter()
        .find(|o| o.topic == topic("system/topology"))
        .unwrap();
    assert!(topo.retain);
    assert_eq!(topo.qos, Qos::AtLeastOnce);
    assert_eq!(decode_topology(&topo.payload).unwrap().nodes.len(), 8);
    let avail = out
        .iter()
        .find(|o| o.topic == topic("system/availability"))
        .unwrap();
    assert_eq!(avail.payload, b"online");
    assert!(avail.retain);
    let status = out
        .iter()
        .find(|o| o.topic == topic("system/status"))
        .unwrap();
    assert!(status.retain);
    let sys = decode_system_status(&status.payload).unwrap();
    assert_eq!(sys.it_kw, 30.0);
    // No board has connected yet.
    assert_eq!(sys.nodes.get(NodeState::Offline), 8);
    for id in [
        "util_a", "trf_a", "sw_a", "gen_a", "dist_a", "ups_a", "pdu_a", "srv_a",
    ] {
        let u = updates_for(&out, id);
        assert_eq!(u.len(), 1, "{id}");
        let cmd = out
            .iter()
            .find(|o| o.topic == topic(&format!("{id}/command")))
            .unwrap();
        assert!(!cmd.retain, "commands are never retained");
    }
    assert_eq!(
        updates_for(&out, "gen_a")[0].status,
        Some(NodeState::Standby)
    );
    assert_eq!(
        updates_for(&out, "sw_a")[0].measured.source.as_deref(),
        Some("trf_a")
    );
    let lw = core.last_will();
    assert_eq!(
        (lw.topic.as_str(), lw.payload.as_slice(), lw.retain),
        (topic("system/availability").as_str(), &b"offline"[..], true)
    );
}

#[test]
fn fault_command_propagates_at_the_next_step() {
    let mut core = engine();
    core.handle_connected(0);
    drain(&mut core);
    run(&mut core, 100, 1000);
    send(
        &mut core,
        1050,
        "util_a",
        &Command::SetFault { state: true },
    );
    core.handle_tick(1100);
    let out = drain(&mut core);
    assert_eq!(
        updates_for(&out, "util_a")[0].status,
        Some(NodeState::Fault)
    );
    assert_eq!(
        updates_for(&out, "ups_a")[0].status,
        Some(NodeState::OnBattery)
    );
    let events: Vec<_> = out
        .iter()
        .filter(|o| o.topic == topic("system/events"))
        .map(|o| decode_event(&o.payload).unwrap())
        .collect();
    assert!(
        events.iter().any(|e| e.node_id == "util_a"
            && e.event == EventKind::Fault
            && (e.t - 1.1).abs() < 1e-9)
    );
    let sys = out
        .iter()
        .find(|o| o.topic == topic("system/status"))
        .unwrap();
    assert_eq!(
        decode_system_status(&sys.payload).unwrap().source,
        Source::Battery
    );

    // 3 s ATS delay + 7 s generator start: on the generator at 11.1 s.
    let out = run(&mut core, 1200, 11_100);
    let sw = updates_for(&out, "sw_a");
    assert_eq!(sw.last().unwrap().measured.source.as_deref(), Some("gen_a"));
    assert_eq!(core.sim().time_s(), 11.1);
}

#[test]
fn updates_respect_the_deadband_and_refresh() {
    let mut core = engine();
    core.handle_connected(0);
    drain(&mut core);
    // Steady state: nothing changes, so each node is refreshed every 5 s only.
    let out = run(&mut core, 100, 10_000);
    assert_eq!(
        updates_for(&out, "pdu_a").len(),
        2,
        "refresh at 5 s and 10 s"
    );
    // The system status goes out once a second.
    let n = out
        .iter()
        .filter(|o| o.topic == topic("system/status"))
        .count();
    assert_eq!(n, 10);
}

#[test]
fn speed_scales_simulated_time() {
    let mut core = EngineCore::new(
        Topology::builtin_default(),
        EngineConfig {
            speed: 10.0,
            ..EngineConfig::default()
        },
    )
    .unwrap();
    core.handle_tick(1000);
    assert!((core.sim().time_s() - 10.0).abs() < 1e-9);
    assert_eq!(core.poll_timeout(), 1010);
}

#[test]
fn set_load_from_an_operator_changes_the_model() {
    let mut core = engine();
    send(&mut core, 10, "srv_a", &Command::SetLoad { kw: 45.0 });
    core.handle_tick(100);
    assert_eq!(core.sim().it_kw(), 45.0);
}

#[test]
fn boards_online_from_availability_and_offline_from_last_will() {
    let mut core = engine();
    core.handle_connected(0);
    drain(&mut core);
    for id in [
        "util_a", "trf_a", "sw_a", "gen_a", "dist_a", "ups_a", "pdu_a", "srv_a",
    ] {
        core.handle_message(50, &topic(&format!("{id}/availability")), b"online");
    }
    core.handle_tick(100);
    assert_eq!(core.system_status().nodes.get(NodeState::Offline), 0);
    core.handle_message(150, &topic("pdu_a/availability"), b"offline");
    core.handle_tick(200);
    let out = drain(&mut core);
    let sys = core.system_status();
    assert_eq!(sys.nodes.get(NodeState::Offline), 1);
    assert_eq!(sys.nodes.get(NodeState::Ok), 6); // gen_a is in standby
    let e = out
        .iter()
        .filter(|o| o.topic == topic("system/events"))
        .map(|o| decode_event(&o.payload).unwrap())
        .rfind(|e| e.node_id == "pdu_a")
        .unwrap();
    assert_eq!(e.event, EventKind::Offline);
    // The offline board keeps its electrical role: IT is still served.
    assert_eq!(core.sim().it_kw(), 30.0);
}

#[test]
fn the_seed_plain_client_status_is_accepted_and_keeps_the_board_online() {
    let mut core = engine();
    let seed = br#"{"node_id":"pdu_a","voltage_in":480.0,"current":12.5,"power_kw":6.0,"status":"ok","wifi_rssi":-62,"uptime":3600}"#;
    core.handle_message(100, &topic("pdu_a/status"), seed);
    core.handle_tick(100);
    assert_eq!(core.counters().rejected_total(), 0);
    assert_eq!(core.system_status().nodes.get(NodeState::Offline), 7);
    // Without availability messages, silence for 15 s means offline.
    core.handle_tick(15_200);
    assert_eq!(core.system_status().nodes.get(NodeState::Offline), 8);
}

#[test]
fn every_bad_input_class_is_counted_by_reason_and_nothing_stops() {
    let mut core = engine();
    let big = format!(
        r#"{{"node_id":"pdu_a","status":"ok","pad":"{}"}}"#,
        "x".repeat(17 * 1024)
    );
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (topic("pdu_a/status"), b"not json".to_vec(), "not_json"),
        (
            topic("pdu_a/status"),
            br#"{"node_id":"pdu_a","status":"ok","power_kw":"six"}"#.to_vec(),
            "wrong_shape",
        ),
        (topic("pdu_a/status"), big.into_bytes(), "too_large"),
        (
            topic("pdu_a/status"),
            br#"{"node_id":"ups_a","status":"ok"}"#.to_vec(),
            "id_mismatch",
        ),
        (
            topic("nope_x/status"),
            br#"{"node_id":"nope_x","status":"ok"}"#.to_vec(),
            "unknown_node",
        ),
        (
            topic("pdu_a/command"),
            br#"{"command":"explode","params":{}}"#.to_vec(),
            "unknown_command",
        ),
        (
            topic("pdu_a/status"),
            br#"{"node_id":"pdu_a","status":"ok","power_kw":NaN}"#.to_vec(),
            "non_finite",
        ),
        (
            topic("Bad/status"),
            br#"{"node_id":"Bad","status":"ok"}"#.to_vec(),
            "bad_topic",
        ),
        (
            topic("pdu_a/command"),
            br#"{"command":"set_load","params":{"kw":5.0}}"#.to_vec(),
            "not_applicable",
        ),
    ];
    for (t, payload, _) in &cases {
        core.handle_message(10, t, payload);
    }
    core.handle_tick(100);
    let rejected = &core.counters().rejected;
    for (t, _, reason) in &cases {
        assert_eq!(
            rejected.get(reason),
            Some(&1),
            "{t}: {reason} in {rejected:?}"
        );
    }
    assert_eq!(core.system_status().rejected_msgs, cases.len() as u64);
    // The engine's own publishes heard back are not rejections.
    core.handle_connected(200);
    for o in drain(&mut core) {
        core.handle_message(300, &o.topic, &o.payload);
    }
    assert_eq!(core.counters().rejected_total(), cases.len() as u64);
}

#[test]
fn periodic_refreshes_are_spread_over_the_period_not_sent_at_once() {
    let mut core = engine();
    core.handle_connected(0);
    drain(&mut core);
    let mut first_refresh_ms = Vec::new();
    let mut t = 100;
    while t <= 5000 {
        core.handle_tick(t);
        for o in drain(&mut core) {
            if o.topic.ends_with("/command") {
                first_refresh_ms.push(t);
            }
        }
        t += 100;
    }
    // Each of the 8 nodes refreshed once within the period, at 8 different times.
    assert_eq!(first_refresh_ms.len(), 8, "{first_refresh_ms:?}");
    first_refresh_ms.dedup();
    assert_eq!(first_refresh_ms.len(), 8, "{first_refresh_ms:?}");
}

#[test]
fn a_board_coming_online_gets_its_update_at_once() {
    let mut core = engine();
    core.handle_connected(0);
    drain(&mut core);
    run(&mut core, 100, 1000);
    core.handle_message(1050, &topic("pdu_a/availability"), b"online");
    core.handle_tick(1100);
    let out = drain(&mut core);
    assert_eq!(updates_for(&out, "pdu_a").len(), 1);
}

#[test]
fn updates_are_paced_so_a_large_site_does_not_burst() {
    let site = winter_river_sim::topology::generate::synthetic_site_toml(300);
    let topology = Topology::from_toml_str(&site, "synthetic").unwrap();
    let n = topology.len();
    let mut core = EngineCore::new(
        topology,
        EngineConfig {
            max_updates_per_tick: 50,
            ..EngineConfig::default()
        },
    )
    .unwrap();
    core.handle_connected(0);
    let first: Vec<String> = drain(&mut core)
        .into_iter()
        .filter(|o| o.topic.ends_with("/command"))
        .map(|o| o.topic)
        .collect();
    assert_eq!(first.len(), 50);
    // Every node gets its first update within ⌈n / 50⌉ ticks, each exactly once.
    let mut seen: std::collections::BTreeSet<String> = first.into_iter().collect();
    let ticks = n.div_ceil(50) as u64;
    for k in 1..ticks {
        core.handle_tick(k * 10);
        for o in drain(&mut core) {
            if o.topic.ends_with("/command") {
                assert!(seen.insert(o.topic.clone()), "{} twice", o.topic);
            }
        }
    }
    assert_eq!(seen.len(), n);
}

#[test]
fn a_change_is_never_paced_behind_refreshes_at_4000_nodes() {
    // ≈ 4,000 nodes: at 50 refreshes a tick (500/s) a 5 s refresh round never
    // catches up, so the refresh queue is always full, as it was live at 3,987
    // boards when a fault took 4–8 s to reach its boards.
    let site = winter_river_sim::topology::generate::synthetic_site_toml(3440);
    let topology = Topology::from_toml_str(&site, "synthetic").unwrap();
    let n = topology.len();
    assert!(n >= 3_900, "{n} nodes");
    let config = EngineConfig {
        max_updates_per_tick: 50,
        ..EngineConfig::default()
    };
    let mut core = EngineCore::new(topology, config).unwrap();
    core.handle_connected(0);
    drain(&mut core);
    // 30 s: the first round and then steady refreshes, paced.
    for out in (1..=300).map(|k| {
        core.handle_tick(k * 100);
        drain(&mut core)
    }) {
        let updates = out.iter().filter(|o| o.topic.ends_with("/command")).count();
        assert!(updates <= 50, "{updates} updates in one quiet tick");
    }
    let before: Vec<Option<NodeState>> = (0..n).map(|i| core.sim().node_update(i).status).collect();

    send(
        &mut core,
        30_050,
        "util_a",
        &Command::SetFault { state: true },
    );
    core.handle_tick(30_100);
    let out = drain(&mut core);
    let sent: std::collections::BTreeMap<String, Option<NodeState>> = out
        .iter()
        .filter_map(|o| {
            let id = o
                .topic
                .strip_prefix(&format!("{P}/"))?
                .strip_suffix("/command")?;
            match decode_command(&o.payload).unwrap() {
                Command::Update(p) => Some((id.to_string(), p.status)),
                other => panic!("engine sent {other:?}"),
            }
        })
        .collect();
    assert_eq!(sent.get("util_a"), Some(&Some(NodeState::Fault)));
    let mut changed = 0;
    for (i, old) in before.iter().enumerate() {
        let now = core.sim().node_update(i).status;
        if now != *old {
            changed += 1;
            let id = &core.sim().topology().node(i).id;
            assert_eq!(sent.get(id.as_str()), Some(&now), "{id}: {old:?} → {now:?}");
        }
    }
    // The fault's consequences are many more than one tick's refresh budget.
    assert!(changed > 50, "{changed} nodes changed");
}

/// A command of `spec` with plausible params, built from the row (so a new
/// command of the table is checked without an edit here).
fn sample_command(spec: &winter_river_protocol::CommandSpec) -> Option<Command> {
    use winter_river_protocol::ParamType;
    let mut params = serde_json::Map::new();
    for p in spec.params {
        let value = match p.ty {
            ParamType::Bool => serde_json::json!(false),
            ParamType::Number { min, .. } => serde_json::json!(min + 1.0),
            ParamType::Choice { choices } => serde_json::json!(choices[0].as_str()),
            ParamType::NodeId => serde_json::json!("util_a"),
        };
        params.insert(p.name.into(), value);
    }
    let wire = serde_json::json!({ "command": spec.name, "params": params });
    decode_command(wire.to_string().as_bytes()).ok()
}

#[test]
fn command_policy_is_the_protocol_table() {
    use winter_river_protocol::{AppliesTo, COMMANDS, NodeKind};
    let topology = Topology::builtin_default();
    let mut checked = 0;
    for spec in COMMANDS {
        if spec.applies_to == AppliesTo::EngineOnly {
            continue; // `update`: checked below
        }
        let cmd = sample_command(spec).unwrap_or_else(|| panic!("{} decodes", spec.name));
        for node in &topology.nodes {
            let mut core = engine();
            send(&mut core, 10, &node.id, &cmd);
            let refused = core.counters().rejected.get(NOT_APPLICABLE).copied();
            let kind: NodeKind = node.kind();
            assert_eq!(
                refused.is_none(),
                cmd.applies_to(kind),
                "{} to {} ({kind:?})",
                spec.name,
                node.id
            );
            // Nothing else is bad input: an interlock's no, at the step the command
            // applies, is an event.
            core.handle_tick(1_000);
            assert_eq!(
                core.counters().rejected_total(),
                u64::from(refused.is_some())
            );
            checked += 1;
        }
    }
    assert!(checked >= 12 * topology.nodes.len());
    // The engine's own `update`s heard back on `<p>/<id>/command` are not refused.
    let mut core = engine();
    send(
        &mut core,
        10,
        "pdu_a",
        &Command::Update(winter_river_protocol::UpdateParams::default()),
    );
    assert_eq!(core.counters().rejected_total(), 0);
}

#[test]
fn the_system_topic_takes_site_wide_commands_only() {
    let mut core = engine();
    core.handle_message(
        300,
        &topic("system/command"),
        &encode_command(&Command::SetFault { state: true }).unwrap(),
    );
    assert_eq!(core.counters().rejected.get(NOT_APPLICABLE), Some(&1));
    let (_, detail) = core.last_rejection().unwrap();
    assert!(detail.contains("set_fault"), "{detail}");
    core.handle_message(
        300,
        &topic("system/command"),
        &encode_command(&Command::Reset).unwrap(),
    );
    core.handle_message(
        300,
        &topic("system/command"),
        &encode_command(&Command::Epo).unwrap(),
    );
    assert_eq!(core.counters().rejected_total(), 1);
    // `epo` is the site's: sent to one node it does not apply.
    send(&mut core, 300, "ups_a", &Command::Epo);
    assert_eq!(core.counters().rejected.get(NOT_APPLICABLE), Some(&2));
}

/// The events published in `out`.
fn events(out: &[Outgoing]) -> Vec<winter_river_protocol::Event> {
    out.iter()
        .filter(|o| o.topic == topic("system/events"))
        .map(|o| decode_event(&o.payload).unwrap())
        .collect()
}

#[test]
fn epo_on_the_system_topic_opens_ups_a() {
    let mut core = engine();
    core.handle_connected(0);
    drain(&mut core);
    core.handle_message(
        50,
        &topic("system/command"),
        &encode_command(&Command::Epo).unwrap(),
    );
    let out = run(&mut core, 100, 1_000);
    let opened: Vec<_> = events(&out)
        .into_iter()
        .filter(|e| e.event == EventKind::Open)
        .collect();
    assert!(
        opened
            .iter()
            .any(|e| e.node_id == "ups_a" && e.command.as_deref() == Some("epo")),
        "events: {opened:?}"
    );
    // Every `open` event says it was the EPO; only the UPS opened on this site.
    assert!(opened.iter().all(|e| e.command.as_deref() == Some("epo")));
    let ups = updates_for(&out, "ups_a");
    let last = ups.last().unwrap();
    assert_eq!(last.status, Some(NodeState::Open));
    assert_eq!(
        last.measured.breaker,
        Some(winter_river_protocol::Breaker::Open)
    );
    // IT load is lost until the UPS is closed again.
    let status = out
        .iter()
        .rev()
        .find(|o| o.topic == topic("system/status"))
        .unwrap();
    let sys = decode_system_status(&status.payload).unwrap();
    assert_eq!(sys.it_kw, 0.0);
    assert_eq!(sys.it_kw_lost, 30.0);
    assert_eq!(core.counters().rejected_total(), 0);
    assert_eq!(core.counters().commands_refused, 0);
}

#[test]
fn a_refused_command_is_a_refused_event_and_not_bad_input() {
    use winter_river_protocol::Mode;
    let mut core = engine();
    core.handle_connected(0);
    drain(&mut core);
    // Straight from normal to maintenance bypass: the interlock wants static
    // bypass first.
    let cmd = Command::UpsMode {
        mode: Mode::MaintenanceBypass,
    };
    send(&mut core, 50, "ups_a", &cmd);
    let out = run(&mut core, 100, 1_000);
    let refused: Vec<_> = events(&out)
        .into_iter()
        .filter(|e| e.event == EventKind::Refused)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    let e = &refused[0];
    assert_eq!(e.node_id, "ups_a");
    assert_eq!(e.command.as_deref(), Some("ups_mode"));
    assert!(
        e.reason.as_deref().is_some_and(|r| !r.is_empty()),
        "a reason: {e:?}"
    );
    assert_eq!(core.counters().rejected_total(), 0);
    assert_eq!(core.counters().commands_refused, 1);
    // It changed nothing: no update went to the UPS, which is still in normal on
    // its inverter.
    assert!(updates_for(&out, "ups_a").is_empty());
    let ups = core.sim().topology().node_index("ups_a").unwrap();
    let now = core.sim().node_update(ups);
    assert_eq!(now.status, Some(NodeState::Ok));
    assert_eq!(now.measured.mode, Some(Mode::Normal));
    // And system/status says nothing was dropped.
    let status = out
        .iter()
        .rev()
        .find(|o| o.topic == topic("system/status"))
        .unwrap();
    assert_eq!(
        decode_system_status(&status.payload).unwrap().rejected_msgs,
        0
    );
}

#[test]
fn boards_coming_and_going_raise_typed_online_and_offline_events() {
    let mut core = engine();
    core.handle_message(50, &topic("pdu_a/availability"), b"online");
    core.handle_message(60, &topic("pdu_a/availability"), b"offline");
    let events: Vec<_> = drain(&mut core)
        .iter()
        .filter(|o| o.topic == topic("system/events"))
        .map(|o| decode_event(&o.payload).unwrap())
        .map(|e| (e.node_id, e.event))
        .collect();
    assert_eq!(
        events,
        [
            ("pdu_a".to_string(), EventKind::Online),
            ("pdu_a".to_string(), EventKind::Offline)
        ]
    );
}

/// The core is sans-IO by construction: it may not depend on an async runtime or
/// an MQTT client (docs/architecture.md). A guard on the manifest, so adding one is
/// a decision rather than an accident.
#[test]
fn the_core_depends_on_no_runtime_and_no_mqtt_client() {
    let manifest = include_str!("../Cargo.toml");
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap();
    let names: Vec<&str> = deps
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split(['=', '.']).next())
        .map(str::trim)
        .collect();
    assert_eq!(
        names,
        [
            "winter-river-protocol",
            "winter-river-sim",
            "winter-river-drill",
            "winter-river-telemetry",
            // The state's data form (the state file, docs/live.md): no I/O.
            "serde",
            "serde_json",
            "tracing"
        ]
    );
}

#[test]
fn a_change_inside_the_deadband_waits_for_the_refresh_and_one_beyond_goes_at_once() {
    let mut core = engine();
    core.handle_connected(0);
    drain(&mut core);
    run(&mut core, 100, 1000);
    // 30 → 30.1 kW is 0.33 %: inside the 0.5 % band.
    send(&mut core, 1050, "srv_a", &Command::SetLoad { kw: 30.1 });
    let out = run(&mut core, 1100, 1500);
    assert!(
        updates_for(&out, "srv_a").is_empty(),
        "sent inside the band"
    );
    // 30 → 31 kW is 3.3 %: beyond it, sent at the next step.
    send(&mut core, 1550, "srv_a", &Command::SetLoad { kw: 31.0 });
    core.handle_tick(1600);
    let u = updates_for(&drain(&mut core), "srv_a");
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].measured.power_kw, Some(31.0));
}
