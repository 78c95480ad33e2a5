//! Rooms and cooling on a board (issue 14): a room's page shows its air and solid
//! temperatures and no electrical row, a cooling unit's its heat removed, a
//! server's its inlet; "°C" is drawn with a real degree sign; a room's button and
//! knob send nothing, since no command applies to a room. Pages are read back from
//! their pixels (util::read_row), as a person reads the screen.

use winter_river_node::{Frame, Screen};
use winter_river_protocol::{
    Command, KindSpec, Measurements, NodeKind, NodeState, Status, UpdateParams, decode_status,
};

use crate::util::{
    commands, connected, drain, glyph, id_of, payload, plausible_update, read_row, send_update,
    statuses, value_rows,
};

/// The page of a `kind` board whose engine sent `update`.
fn page(kind: NodeKind, update: UpdateParams) -> Frame {
    let mut board = connected(kind);
    board.set_wifi_rssi(-62);
    send_update(&mut board, 100, update);
    drain(&mut board, 100);
    board.render(1_000)
}

fn room_update(air_c: f64, solid_c: f64) -> UpdateParams {
    let mut u = plausible_update(NodeKind::Room);
    u.measured.temperature_c = Some(air_c);
    u.measured.solid_c = Some(solid_c);
    u
}

fn row(left: &str, right: &str) -> (String, String) {
    (left.to_string(), right.to_string())
}

#[test]
fn the_font_draws_the_degree_sign_not_its_replacement() {
    let degree = glyph('°');
    assert_ne!(degree, glyph('?'), "'°' falls back to the font's '?'");
    assert_ne!(degree, glyph(' '), "'°' draws nothing");
    // A small ring at the top of the cell: nothing lit in its lower half.
    assert!(degree[5..].iter().all(|r| r.iter().all(|px| !px)));
}

#[test]
fn a_rooms_page_shows_its_air_and_solid_temperatures_and_no_electrical_row() {
    let frame = page(NodeKind::Room, room_update(24.46, 23.9));
    assert_eq!(read_row(&frame, 0).0, "hall_1");
    assert_eq!(read_row(&frame, 10), row("ROOM", "-62dBm"));
    assert_eq!(
        value_rows(&frame),
        [
            row("Air", "24.5 °C"),
            row("Solid mass", "23.9 °C"),
            row("", "")
        ]
    );
    // Rounded as the dashboard rounds (temperature_c: 1 decimal).
    let hot = page(NodeKind::Room, room_update(35.04, 31.96));
    assert_eq!(value_rows(&hot)[0], row("Air", "35.0 °C"));
    assert_eq!(value_rows(&hot)[1], row("Solid mass", "32.0 °C"));
}

#[test]
fn a_room_page_comes_from_the_kind_table_not_from_what_a_status_carries() {
    // Electrical values a room's status should never carry are not drawn either:
    // the rows are the kind's own fields because the kind is not electrical.
    assert!(!NodeKind::Room.spec().is_electrical());
    let mut status = Status::new("hall_1", NodeState::Ok);
    status.kind = Some(NodeKind::Room);
    status.measured = room_update(22.0, 22.0).measured;
    let clean = Screen::from_status(&status).render();
    status.measured.voltage_in = Some(480.0);
    status.measured.power_kw = Some(10.0);
    status.measured.load_pct = Some(50.0);
    assert_eq!(Screen::from_status(&status).render(), clean);
    // One row per extra field of the kind, in the table's order.
    let rows = value_rows(&clean);
    let extras = NodeKind::Room.spec().extra_fields;
    assert_eq!(extras, ["temperature_c", "solid_c"]);
    assert!(rows[..extras.len()].iter().all(|(_, v)| v.ends_with(" °C")));
}

#[test]
fn a_room_before_the_engines_first_update_awaits_it() {
    let board = connected(NodeKind::Room);
    let frame = board.render(0);
    assert!(
        (0..128).any(|x| frame.pixel(x, 47)),
        "the awaiting-engine line is drawn"
    );
    // No temperature row has been drawn: the top value row is blank.
    assert_eq!(read_row(&frame, 33), row("", ""));
}

/// A cooling unit in a room: its electrical rows, then what it removes.
fn cooling_in_room(status: NodeState, cooling_kw: f64) -> UpdateParams {
    let mut u = plausible_update(NodeKind::Cooling);
    u.status = Some(status);
    u.measured.cooling_kw = Some(cooling_kw);
    u
}

#[test]
fn a_cooling_units_page_shows_the_heat_it_removes() {
    let frame = page(NodeKind::Cooling, cooling_in_room(NodeState::Ok, 80.0));
    let rows = value_rows(&frame);
    assert_eq!(rows[0], row("In 480 V", "Out 480 V"));
    assert_eq!(rows[1], row("2.1 A", "1.75 kW"));
    // "Heat removed 80.0 kW" fills the row: load % is left out, not squeezed in.
    assert_eq!(rows[2], row("Heat removed 80.0 kW", ""));
    // A CRAH of hall.toml at full capacity still fits 21 columns.
    let full = page(NodeKind::Cooling, cooling_in_room(NodeState::Ok, 120.0));
    assert_eq!(value_rows(&full)[2], row("Heat removed 120.0 kW", ""));
}

#[test]
fn a_cooling_unit_restarting_shows_starting_and_removes_nothing() {
    let ok = page(NodeKind::Cooling, cooling_in_room(NodeState::Ok, 80.0));
    let starting = page(NodeKind::Cooling, cooling_in_room(NodeState::Starting, 0.0));
    assert_eq!(value_rows(&starting)[2], row("Heat removed 0.0 kW", ""));
    // `starting` is not a good word: the status box is filled, not outlined.
    assert!(!ok.pixel(2, 22) && starting.pixel(2, 22));
    assert_eq!(NodeState::Starting.spec().label, "STARTING");
    crate::golden::check_golden("cooling_starting", &starting);
}

#[test]
fn a_cooling_unit_outside_any_room_keeps_its_load_row() {
    // No room, no `cooling_kw`: the field is left out, load % takes its place.
    let frame = page(NodeKind::Cooling, plausible_update(NodeKind::Cooling));
    assert_eq!(value_rows(&frame)[2], row("Load 100.0%", ""));
}

#[test]
fn a_servers_page_shows_its_inlet_in_a_room() {
    let mut u = plausible_update(NodeKind::Server);
    u.measured.inlet_c = Some(25.14);
    let frame = page(NodeKind::Server, u.clone());
    // Load % does not fit beside the inlet (24 columns even set tight): left out.
    assert_eq!(value_rows(&frame)[2], row("Inlet 25.1 °C", ""));
    // Nor does its knob's set point; the inlet stays whole.
    let mut board = connected(NodeKind::Server);
    send_update(&mut board, 100, u);
    board.set_load_knob(100, 5.0);
    drain(&mut board, 100);
    assert_eq!(
        value_rows(&board.render(1_000))[2],
        row("Inlet 25.1 °C", "")
    );
    // Outside any room: no inlet, the row is as before rooms existed.
    let mut board = connected(NodeKind::Server);
    send_update(&mut board, 100, plausible_update(NodeKind::Server));
    board.set_load_knob(100, 5.0);
    drain(&mut board, 100);
    assert_eq!(
        value_rows(&board.render(1_000))[2],
        row("Load 100.0%", "set 5.0kW")
    );
}

#[test]
fn a_server_stopped_by_its_thermal_protection_says_shutdown() {
    let mut u = plausible_update(NodeKind::Server);
    u.status = Some(NodeState::Shutdown);
    u.measured.inlet_c = Some(40.0);
    u.measured.power_kw = Some(0.0);
    u.measured.current = Some(0.0);
    u.measured.load_pct = Some(0.0);
    let frame = page(NodeKind::Server, u);
    assert_eq!(value_rows(&frame)[2], row("Inlet 40.0 °C", ""));
    assert!(frame.pixel(2, 22), "SHUTDOWN is a bad word: a filled box");
    crate::golden::check_golden("server_shutdown", &frame);
}

#[test]
fn a_rooms_button_and_knob_send_nothing() {
    let mut room = connected(NodeKind::Room);
    send_update(&mut room, 100, room_update(22.4, 22.1));
    drain(&mut room, 100);
    let before = room.render(200);
    assert!(!room.press_fault_button(200), "a room has nothing to fail");
    assert!(!room.set_load_knob(200, 5.0), "a room has no load");
    let sent = drain(&mut room, 200);
    assert!(commands(&sent).is_empty(), "{sent:?}");
    assert!(!room.local_fault());
    assert_eq!(room.render(200), before);
    // Nor do operator commands change what it shows or make it answer.
    for command in [
        Command::SetFault { state: true },
        Command::Reset,
        Command::SetLoad { kw: 5.0 },
    ] {
        room.handle_command(300, &payload(command.clone()))
            .expect("a valid command");
        assert!(
            statuses(&drain(&mut room, 300)).is_empty(),
            "{command:?} answered"
        );
    }
    assert_eq!(room.render(300), before);
}

#[test]
fn the_button_sends_set_fault_exactly_where_it_applies() {
    for kind in NodeKind::ALL {
        let mut board = connected(kind);
        let pressed = board.press_fault_button(100);
        let sent = commands(&drain(&mut board, 100));
        let applies = Command::SetFault { state: true }.applies_to(kind);
        assert_eq!(pressed, applies, "{kind}");
        assert_eq!(sent.len(), usize::from(applies), "{kind}: {sent:?}");
        assert_eq!(
            applies,
            kind.spec().is_electrical(),
            "{kind}: set_fault applies to every electrical kind"
        );
    }
}

#[test]
fn every_kind_without_power_has_a_page_of_its_own_fields() {
    // Whatever kinds the table grows, a non-electrical one draws its extras.
    for kind in NodeKind::ALL
        .into_iter()
        .filter(|k| !KindSpec::is_electrical(k.spec()))
    {
        let mut status = Status::new(id_of(kind), NodeState::Ok);
        status.kind = Some(kind);
        status.measured = Measurements::default();
        for name in kind.spec().extra_fields {
            let value = 21.5;
            match *name {
                "temperature_c" => status.measured.temperature_c = Some(value),
                "solid_c" => status.measured.solid_c = Some(value),
                other => panic!("{kind}: teach this test the field `{other}`"),
            }
        }
        let rows = value_rows(&Screen::from_status(&status).render());
        let n = kind.spec().extra_fields.len();
        for (i, (_, value)) in rows.iter().take(n).enumerate() {
            assert_eq!(value, "21.5 °C", "{kind}: row {i}");
        }
    }
}

#[test]
fn the_protocol_docs_room_status_draws_a_room_page() {
    // docs/protocol.md's example of a room's Status, as a board or dashboard reads it.
    let doc = include_str!("../../../../docs/protocol.md");
    let at = doc
        .find("A **room** is a node")
        .expect("the room paragraph");
    let rest = &doc[at..];
    let start = rest.find("```json\n").expect("a json block") + "```json\n".len();
    let len = rest[start..].find("```").expect("its end");
    let json = &rest.as_bytes()[start..start + len];
    let status = decode_status("hall_1", json).expect("decodes");
    assert_eq!(status.kind, Some(NodeKind::Room));
    assert_eq!(status.measured.voltage_in, None);
    assert_eq!(status.measured.breaker, None);
    let rows = value_rows(&Screen::from_status(&status).render());
    assert_eq!(rows[0], row("Air", "24.5 °C"));
    assert_eq!(rows[1], row("Solid mass", "23.9 °C"));
}
