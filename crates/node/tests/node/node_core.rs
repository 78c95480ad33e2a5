//! NodeCore: what a board publishes for each input, with time passed in.

use winter_river_node::{ConfigError, DEFAULT_STATUS_INTERVAL_MS, NodeConfig, NodeCore};
use winter_river_protocol::{
    Channel, Command, Measurements, NodeKind, NodeState, Qos, UpdateParams, deadband,
    decode_availability, decode_command_via,
};

use crate::util::{
    commands, connected, core, drain, payload, plausible_update, send_update, statuses,
};

#[test]
fn update_values_appear_in_the_status() {
    let mut ups = connected(NodeKind::Ups);
    send_update(&mut ups, 100, plausible_update(NodeKind::Ups));
    let sent = drain(&mut ups, 100);
    let [status] = statuses(&sent).try_into().expect("one status");
    assert_eq!(status.node_id, "ups_a");
    assert_eq!(status.kind, Some(NodeKind::Ups));
    assert_eq!(status.status, NodeState::Ok);
    assert_eq!(status.measured.voltage_in, Some(480.0));
    assert_eq!(status.measured.voltage_out, Some(480.0));
    assert_eq!(status.measured.current, Some(264.1));
    assert_eq!(status.measured.power_kw, Some(219.6));
    assert_eq!(status.measured.load_pct, Some(41.7));
    assert_eq!(status.measured.battery_pct, Some(100.0));
    assert_eq!(status.measured.runtime_s, Some(820.0));
    assert_eq!(status.measured.fuel_pct, None);

    let mut sw = connected(NodeKind::Switchgear);
    send_update(&mut sw, 100, plausible_update(NodeKind::Switchgear));
    let [status] = statuses(&drain(&mut sw, 100))
        .try_into()
        .expect("one status");
    assert_eq!(status.measured.source.as_deref(), Some("util_a"));
}

#[test]
fn an_update_replaces_the_previous_one_whole() {
    let mut ups = connected(NodeKind::Ups);
    send_update(&mut ups, 100, plausible_update(NodeKind::Ups));
    let partial = UpdateParams {
        status: Some(NodeState::OnBattery),
        measured: Measurements {
            battery_pct: Some(99.0),
            ..Measurements::default()
        },
    };
    send_update(&mut ups, 200, partial);
    let status = ups.status(200);
    assert_eq!(status.status, NodeState::OnBattery);
    assert_eq!(status.measured.battery_pct, Some(99.0));
    assert_eq!(
        status.measured.voltage_in, None,
        "a field the update omits is absent"
    );
}

#[test]
fn before_the_first_update_status_is_ok_with_no_electrical_field() {
    let core = core(NodeKind::Pdu);
    let status = core.status(0);
    assert_eq!(status.status, NodeState::Ok);
    assert_eq!(status.kind, Some(NodeKind::Pdu));
    for value in [
        status.measured.voltage_in,
        status.measured.voltage_out,
        status.measured.current,
        status.measured.power_kw,
        status.measured.load_pct,
        status.measured.battery_pct,
        status.measured.runtime_s,
        status.measured.fuel_pct,
    ] {
        assert_eq!(value, None, "no invented numbers");
    }
    assert_eq!(status.measured.source, None);
    let json = String::from_utf8(winter_river_protocol::encode_status(&status).expect("encodes"))
        .expect("utf-8");
    assert!(!json.contains("voltage"), "{json}");
}

#[test]
fn statuses_go_out_exactly_on_the_interval_grid() {
    let mut pdu = connected(NodeKind::Pdu);
    assert_eq!(pdu.poll_timeout(), DEFAULT_STATUS_INTERVAL_MS);
    assert!(drain(&mut pdu, 1).is_empty());
    assert!(drain(&mut pdu, 1_999).is_empty());
    assert_eq!(statuses(&drain(&mut pdu, 2_000)).len(), 1);
    assert_eq!(pdu.poll_timeout(), 4_000);
    assert!(drain(&mut pdu, 2_000).is_empty(), "once per grid point");
    assert!(drain(&mut pdu, 3_999).is_empty());
    assert_eq!(statuses(&drain(&mut pdu, 4_000)).len(), 1);
    // A late tick sends one status, not the missed ones, and keeps the grid.
    assert_eq!(statuses(&drain(&mut pdu, 9_500)).len(), 1);
    assert_eq!(pdu.poll_timeout(), 10_000);
}

#[test]
fn the_grid_counts_from_boot_not_from_connect() {
    let mut pdu = core(NodeKind::Pdu);
    pdu.handle_link(2_500, true);
    assert_eq!(
        statuses(&drain(&mut pdu, 2_500)).len(),
        1,
        "at once on connect"
    );
    assert_eq!(pdu.poll_timeout(), 4_000);
    assert!(drain(&mut pdu, 3_999).is_empty());
    assert_eq!(statuses(&drain(&mut pdu, 4_000)).len(), 1);
}

#[test]
fn a_custom_interval_is_honoured() {
    let mut config = NodeConfig::new("pdu_a", NodeKind::Pdu);
    config.status_interval_ms = 500;
    let mut pdu = NodeCore::new(config, 1_000).expect("valid");
    pdu.handle_link(1_000, true);
    drain(&mut pdu, 1_000);
    assert_eq!(pdu.poll_timeout(), 1_500);
    assert!(drain(&mut pdu, 1_499).is_empty());
    assert_eq!(statuses(&drain(&mut pdu, 1_500)).len(), 1);
}

#[test]
fn a_change_publishes_at_once_and_noise_waits_for_the_interval() {
    let mut ups = connected(NodeKind::Ups);
    let mut update = plausible_update(NodeKind::Ups);
    send_update(&mut ups, 100, update.clone());
    assert_eq!(ups.poll_timeout(), 100, "due now");
    assert_eq!(statuses(&drain(&mut ups, 100)).len(), 1, "first values");

    // The same update again (the engine's periodic refresh): nothing new.
    send_update(&mut ups, 200, update.clone());
    assert!(drain(&mut ups, 200).is_empty());

    // 264.1 A → 265.0 A is within the protocol's 0.5 %: waits for the grid.
    update.measured.current = Some(265.0);
    send_update(&mut ups, 300, update.clone());
    assert!(drain(&mut ups, 300).is_empty());
    assert_eq!(ups.poll_timeout(), 2_000);
    let [status] = statuses(&drain(&mut ups, 2_000))
        .try_into()
        .expect("periodic");
    assert_eq!(
        status.measured.current,
        Some(265.0),
        "the periodic status has the latest value"
    );

    // Beyond the deadband (265.0 → 266.5 A, 0.56 %): at once. The engine sends an
    // update for such a change, so the board reports it at once too.
    update.measured.current = Some(266.5);
    assert!(deadband::moved(Some(265.0), Some(266.5)));
    send_update(&mut ups, 2_100, update.clone());
    assert_eq!(statuses(&drain(&mut ups, 2_100)).len(), 1);

    // The status word changing: at once.
    update.status = Some(NodeState::OnBattery);
    send_update(&mut ups, 2_200, update.clone());
    let [status] = statuses(&drain(&mut ups, 2_200))
        .try_into()
        .expect("at once");
    assert_eq!(status.status, NodeState::OnBattery);

    // A value appearing or vanishing: at once.
    update.measured.fuel_pct = Some(50.0);
    send_update(&mut ups, 2_300, update.clone());
    assert_eq!(statuses(&drain(&mut ups, 2_300)).len(), 1);

    // The grid is not moved by the changes.
    assert_eq!(ups.poll_timeout(), 4_000);
}

#[test]
fn nothing_is_published_while_the_link_is_down() {
    let mut pdu = core(NodeKind::Pdu);
    assert_eq!(pdu.poll_timeout(), u64::MAX);
    send_update(&mut pdu, 100, plausible_update(NodeKind::Pdu));
    assert!(drain(&mut pdu, 100).is_empty());
    assert!(drain(&mut pdu, 10_000).is_empty());

    pdu.handle_link(10_500, true);
    assert_eq!(pdu.poll_timeout(), 10_500);
    let sent = drain(&mut pdu, 10_500);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].topic, "winter-river/pdu_a/availability");
    assert_eq!(
        decode_availability(&sent[0].payload),
        Ok(winter_river_protocol::Availability::Online)
    );
    assert!(sent[0].retain);
    let [status] = statuses(&sent).try_into().expect("one status, the latest");
    assert_eq!(status.measured.power_kw, Some(6.2));
    assert_eq!(status.seq, Some(0), "no status was queued while down");

    pdu.handle_link(11_000, false);
    assert!(drain(&mut pdu, 12_000).is_empty());
    pdu.handle_link(13_000, true);
    let sent = drain(&mut pdu, 13_000);
    assert_eq!(sent.len(), 2, "online again, then the status");
}

#[test]
fn the_button_sends_set_fault_on_its_own_command_topic_and_shows_fault_at_once() {
    let mut pdu = connected(NodeKind::Pdu);
    send_update(&mut pdu, 100, plausible_update(NodeKind::Pdu));
    drain(&mut pdu, 100);

    pdu.press_fault_button(500);
    let sent = drain(&mut pdu, 500);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].topic, "winter-river/pdu_a/command");
    assert_eq!(sent[0].qos, Qos::AtLeastOnce);
    assert!(!sent[0].retain, "commands are never retained");
    assert_eq!(commands(&sent), [Command::SetFault { state: true }]);
    let [status] = statuses(&sent).try_into().expect("status at once");
    assert_eq!(status.status, NodeState::Fault);
    assert_eq!(
        status.measured.power_kw,
        Some(6.2),
        "the engine's values stay until it updates"
    );

    // The engine echo of its own command changes nothing.
    pdu.handle_command(600, &payload(Command::SetFault { state: true }))
        .expect("valid");
    assert_eq!(pdu.status(600).status, NodeState::Fault);
    drain(&mut pdu, 600);

    // The engine's update (status fault) does not undo it either.
    let mut faulted = plausible_update(NodeKind::Pdu);
    faulted.status = Some(NodeState::Fault);
    send_update(&mut pdu, 700, faulted);
    drain(&mut pdu, 700);
    assert!(pdu.local_fault(), "still the board's own fault");

    // Press again: restore.
    pdu.press_fault_button(1_000);
    let sent = drain(&mut pdu, 1_000);
    assert_eq!(commands(&sent), [Command::SetFault { state: false }]);
    assert!(!pdu.local_fault());
}

#[test]
fn a_local_fault_without_an_engine_fault_clears_at_once() {
    let mut pdu = connected(NodeKind::Pdu);
    send_update(&mut pdu, 100, plausible_update(NodeKind::Pdu));
    drain(&mut pdu, 100);
    pdu.press_fault_button(200);
    drain(&mut pdu, 200);
    pdu.press_fault_button(300);
    let [status] = statuses(&drain(&mut pdu, 300))
        .try_into()
        .expect("status at once");
    assert_eq!(status.status, NodeState::Ok);
}

#[test]
fn the_button_restores_a_fault_the_engine_reports() {
    let mut pdu = connected(NodeKind::Pdu);
    let mut update = plausible_update(NodeKind::Pdu);
    update.status = Some(NodeState::Fault);
    send_update(&mut pdu, 100, update);
    drain(&mut pdu, 100);
    assert!(!pdu.local_fault());

    pdu.press_fault_button(200);
    assert_eq!(
        commands(&drain(&mut pdu, 200)),
        [Command::SetFault { state: false }]
    );
}

#[test]
fn button_presses_while_down_send_the_latest_on_reconnect() {
    let mut pdu = core(NodeKind::Pdu);
    pdu.press_fault_button(100);
    pdu.press_fault_button(200);
    pdu.press_fault_button(300);
    assert!(drain(&mut pdu, 300).is_empty());
    assert_eq!(
        pdu.status(300).status,
        NodeState::Fault,
        "shown at once even offline"
    );

    pdu.handle_link(1_000, true);
    let sent = drain(&mut pdu, 1_000);
    assert_eq!(sent.len(), 3, "online, one set_fault, status: {sent:?}");
    assert!(sent[0].topic.ends_with("/availability"));
    assert_eq!(commands(&sent), [Command::SetFault { state: true }]);
    assert!(sent[2].topic.ends_with("/status"));
}

#[test]
fn a_fault_on_is_reasserted_on_every_reconnect() {
    let mut pdu = connected(NodeKind::Pdu);
    pdu.press_fault_button(100);
    drain(&mut pdu, 100);
    pdu.handle_link(200, false);
    pdu.handle_link(300, true);
    assert_eq!(
        commands(&drain(&mut pdu, 300)),
        [Command::SetFault { state: true }]
    );

    // With the fault off, a reconnect sends no set_fault (an operator's fault set
    // while the board was away stays in force).
    pdu.press_fault_button(400);
    drain(&mut pdu, 400);
    pdu.handle_link(500, false);
    pdu.handle_link(600, true);
    assert!(commands(&drain(&mut pdu, 600)).is_empty());
}

#[test]
fn set_fault_commands_set_and_clear_the_fault() {
    let mut pdu = connected(NodeKind::Pdu);
    pdu.handle_command(100, &payload(Command::SetFault { state: true }))
        .expect("valid");
    let sent = drain(&mut pdu, 100);
    assert!(
        commands(&sent).is_empty(),
        "an operator's command is not echoed back"
    );
    assert_eq!(statuses(&sent)[0].status, NodeState::Fault);
    pdu.handle_command(200, &payload(Command::SetFault { state: false }))
        .expect("valid");
    assert_eq!(statuses(&drain(&mut pdu, 200))[0].status, NodeState::Ok);
}

#[test]
fn set_load_sets_the_demand_and_is_acknowledged() {
    let mut srv = connected(NodeKind::Server);
    srv.handle_command(100, &payload(Command::SetLoad { kw: 7.5 }))
        .expect("valid");
    assert_eq!(srv.demand_kw(), Some(7.5));
    assert_eq!(statuses(&drain(&mut srv, 100)).len(), 1);
}

#[test]
fn set_load_is_ignored_where_it_does_not_apply() {
    let mut pdu = connected(NodeKind::Pdu);
    assert!(!Command::SetLoad { kw: 7.5 }.applies_to(NodeKind::Pdu));
    pdu.handle_command(100, &payload(Command::SetLoad { kw: 7.5 }))
        .expect("valid, if not for a PDU");
    assert_eq!(pdu.demand_kw(), None);
    assert!(drain(&mut pdu, 100).is_empty(), "not acknowledged");
}

/// A drill's debrief names who acted (docs/protocol.md, "Drills"): a board's
/// button and knob say `"channel": "board"`.
#[test]
fn the_button_and_the_knob_say_they_come_from_the_board() {
    let mut srv = connected(NodeKind::Server);
    srv.press_fault_button(100);
    assert!(srv.set_load_knob(200, 5.0));
    let sent = drain(&mut srv, 200);
    let channels: Vec<(Command, Channel)> = sent
        .iter()
        .filter(|t| t.topic.ends_with("/command"))
        .map(|t| decode_command_via(&t.payload).expect("a command"))
        .collect();
    assert_eq!(
        channels,
        [
            (Command::SetFault { state: true }, Channel::Board),
            (Command::SetLoad { kw: 5.0 }, Channel::Board)
        ]
    );
}

#[test]
fn the_knob_sends_set_load_only_beyond_its_deadband() {
    let mut srv = connected(NodeKind::Server);
    assert!(srv.set_load_knob(100, 5.0), "first reading");
    assert_eq!(
        commands(&drain(&mut srv, 100)),
        [Command::SetLoad { kw: 5.0 }]
    );
    assert!(!srv.set_load_knob(200, 5.09), "within 0.1 kW");
    assert!(!srv.set_load_knob(200, 4.91));
    assert!(drain(&mut srv, 200).is_empty());
    assert!(srv.set_load_knob(300, 5.2));
    assert_eq!(
        commands(&drain(&mut srv, 300)),
        [Command::SetLoad { kw: 5.2 }]
    );

    // At 50 kW the 2 % band (1 kW) is the wider one.
    assert!(srv.set_load_knob(400, 50.0));
    drain(&mut srv, 400);
    assert!(!srv.set_load_knob(500, 50.9));
    assert!(srv.set_load_knob(600, 51.1));
    assert_eq!(
        commands(&drain(&mut srv, 600)),
        [Command::SetLoad { kw: 51.1 }]
    );

    // Slow drift is measured from the last value sent, not the last reading.
    assert!(!srv.set_load_knob(700, 51.9));
    assert!(srv.set_load_knob(800, 52.2));
    drain(&mut srv, 800);

    // Bad readings.
    assert!(!srv.set_load_knob(900, f64::NAN));
    assert!(srv.set_load_knob(900, -3.0));
    assert_eq!(
        commands(&drain(&mut srv, 900)),
        [Command::SetLoad { kw: 0.0 }]
    );
}

#[test]
fn the_knob_is_ignored_on_boards_that_are_not_loads() {
    let mut pdu = connected(NodeKind::Pdu);
    assert!(!pdu.set_load_knob(100, 5.0));
    assert!(drain(&mut pdu, 100).is_empty());
}

#[test]
fn knob_moves_while_down_send_only_the_latest() {
    let mut srv = core(NodeKind::Server);
    srv.set_load_knob(100, 1.0);
    srv.set_load_knob(200, 2.0);
    srv.press_fault_button(250);
    srv.set_load_knob(300, 3.0);
    srv.handle_link(400, true);
    let sent = drain(&mut srv, 400);
    assert_eq!(
        commands(&sent),
        [
            Command::SetFault { state: true },
            Command::SetLoad { kw: 3.0 }
        ]
    );
}

#[test]
fn reset_is_acknowledged_and_leaves_the_fault_as_the_engine_does() {
    let mut pdu = connected(NodeKind::Pdu);
    let mut tripped = plausible_update(NodeKind::Pdu);
    tripped.status = Some(NodeState::Tripped);
    send_update(&mut pdu, 100, tripped);
    pdu.press_fault_button(150);
    drain(&mut pdu, 150);

    pdu.handle_command(200, &payload(Command::Reset))
        .expect("valid");
    let sent = drain(&mut pdu, 200);
    assert_eq!(statuses(&sent).len(), 1, "acknowledged at once");
    assert!(commands(&sent).is_empty());
    assert!(
        pdu.local_fault(),
        "reset clears trips and alarms, not a fault"
    );

    // The engine's update after the reset clears the trip.
    pdu.press_fault_button(300);
    send_update(&mut pdu, 400, plausible_update(NodeKind::Pdu));
    assert_eq!(pdu.status(400).status, NodeState::Ok);
}

#[test]
fn bad_command_payloads_are_refused_with_their_reason_and_change_nothing() {
    let mut ups = connected(NodeKind::Ups);
    send_update(&mut ups, 100, plausible_update(NodeKind::Ups));
    drain(&mut ups, 100);
    let before = ups.status(100);

    let too_large = vec![b' '; 16 * 1024 + 1];
    let cases: [(&[u8], &str); 9] = [
        (b"not json", "not_json"),
        (b"[1,2]", "wrong_shape"),
        (br#"{"command":"explode","params":{}}"#, "unknown_command"),
        (br#"{"command":"set_fault"}"#, "missing_param"),
        (
            br#"{"command":"set_fault","params":{"state":"yes"}}"#,
            "wrong_shape",
        ),
        (
            br#"{"command":"set_load","params":{"kw":-1.0}}"#,
            "out_of_range",
        ),
        (
            br#"{"command":"update","params":{"current":NaN}}"#,
            "non_finite",
        ),
        (b"\xff\xfe", "not_utf8"),
        (&too_large, "too_large"),
    ];
    for (bad, reason) in cases {
        let err = ups.handle_command(200, bad).expect_err("refused");
        assert_eq!(err.reason(), reason, "{err}");
        assert_eq!(ups.status(100), before, "after {reason}");
        assert!(drain(&mut ups, 200).is_empty(), "after {reason}");
    }
    assert!(!ups.local_fault());
    assert_eq!(ups.demand_kw(), None);
}

#[test]
fn seq_counts_published_statuses_and_uptime_counts_seconds() {
    let mut pdu = core(NodeKind::Pdu);
    pdu.handle_link(0, true);
    let mut seqs = Vec::new();
    let mut uptimes = Vec::new();
    for now in (0..=10_000).step_by(250) {
        if now == 3_250 || now == 7_250 {
            pdu.press_fault_button(now);
        }
        for status in statuses(&drain(&mut pdu, now)) {
            seqs.push(status.seq.expect("seq"));
            uptimes.push(status.uptime.expect("uptime"));
        }
    }
    // t = 0, 2, 4, 6, 8, 10 s plus two presses.
    assert_eq!(seqs, (0..8).collect::<Vec<u64>>());
    assert_eq!(uptimes, [0, 2, 3, 4, 6, 7, 8, 10]);
    assert_eq!(pdu.status(10_999).uptime, Some(10));
    assert_eq!(pdu.status(10_999).seq, Some(8), "the next publish's seq");
}

#[test]
fn uptime_counts_from_the_core_and_tolerates_time_going_back() {
    let pdu = NodeCore::new(NodeConfig::new("pdu_a", NodeKind::Pdu), 5_000).expect("valid");
    assert_eq!(pdu.uptime_s(4_000), 0);
    assert_eq!(pdu.uptime_s(7_999), 2);
}

#[test]
fn wifi_rssi_is_reported_without_forcing_a_status() {
    let mut pdu = connected(NodeKind::Pdu);
    pdu.set_wifi_rssi(-62);
    assert!(drain(&mut pdu, 100).is_empty());
    let [status] = statuses(&drain(&mut pdu, 2_000))
        .try_into()
        .expect("periodic");
    assert_eq!(status.wifi_rssi, Some(-62));
}

#[test]
fn availability_and_last_will_are_retained_qos1_on_the_availability_topic() {
    let pdu = core(NodeKind::Pdu);
    for (t, word) in [
        (pdu.availability_online(), "online"),
        (pdu.availability_offline(), "offline"),
        (pdu.last_will(), "offline"),
    ] {
        assert_eq!(t.topic, "winter-river/pdu_a/availability");
        assert_eq!(t.payload, word.as_bytes());
        assert_eq!(t.qos, Qos::AtLeastOnce);
        assert!(t.retain);
    }
    assert_eq!(pdu.command_topic(), "winter-river/pdu_a/command");
    assert_eq!(pdu.status_topic(), "winter-river/pdu_a/status");
}

#[test]
fn statuses_are_qos0_not_retained_under_the_configured_prefix() {
    let mut config = NodeConfig::new("srv_a", NodeKind::Server);
    config.prefix = String::from("lab/wr");
    let mut srv = NodeCore::new(config, 0).expect("valid");
    srv.handle_link(0, true);
    let sent = drain(&mut srv, 0);
    assert_eq!(sent[0].topic, "lab/wr/srv_a/availability");
    assert_eq!(sent[1].topic, "lab/wr/srv_a/status");
    assert_eq!(sent[1].qos, Qos::AtMostOnce);
    assert!(!sent[1].retain);
}

#[test]
fn bad_configs_are_refused() {
    let bad_id = NodeConfig::new("System", NodeKind::Pdu);
    assert!(matches!(
        NodeCore::new(bad_id, 0),
        Err(ConfigError::BadId(_))
    ));
    let reserved = NodeConfig::new("system", NodeKind::Pdu);
    assert!(matches!(
        NodeCore::new(reserved, 0),
        Err(ConfigError::BadId(_))
    ));
    let mut bad_prefix = NodeConfig::new("pdu_a", NodeKind::Pdu);
    bad_prefix.prefix = String::from("a/+/b");
    assert!(matches!(
        NodeCore::new(bad_prefix, 0),
        Err(ConfigError::BadPrefix(_))
    ));
    let mut zero = NodeConfig::new("pdu_a", NodeKind::Pdu);
    zero.status_interval_ms = 0;
    assert_eq!(
        NodeCore::new(zero, 0).err(),
        Some(ConfigError::ZeroInterval)
    );
}
