//! OLED frames against golden text art in tests/golden/ (`#` lit, `.` dark).
//! `UPDATE_GOLDEN=1 cargo test -p winter-river-node` rewrites the files; review
//! the diff before committing it.

use std::path::PathBuf;

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use winter_river_node::frame::{FRAME_BYTES, HEIGHT_PX, WIDTH_PX};
use winter_river_node::{Frame, NodeCore, Screen};
use winter_river_protocol::{
    Breaker, Command, Measurements, Mode, NodeKind, NodeState, Status, UpdateParams, decode_status,
    round_for_display,
};

use crate::util::{connected, core, drain, id_of, payload, plausible_update, send_update};

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.txt"))
}

/// Compares `frame` with the golden file `name`, or rewrites it under
/// `UPDATE_GOLDEN=1`.
pub(crate) fn check_golden(name: &str, frame: &Frame) {
    let path = golden_path(name);
    let art = frame.to_text_art();
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, &art).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if want != art {
        let first = want
            .lines()
            .zip(art.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "frame {name} differs from {} from row {first}; got:\n{art}",
            path.display()
        );
    }
}

/// A connected board with a plausible update and a typical Wi-Fi signal.
fn ok_board(kind: NodeKind) -> NodeCore {
    let mut board = connected(kind);
    board.set_wifi_rssi(-62);
    send_update(&mut board, 100, plausible_update(kind));
    if kind == NodeKind::Server {
        board.set_load_knob(100, 5.0);
    }
    drain(&mut board, 100);
    board
}

#[test]
fn every_kind_in_the_ok_state_matches_its_golden_frame() {
    for kind in NodeKind::ALL {
        check_golden(kind.as_str(), &ok_board(kind).render(1_000));
    }
}

#[test]
fn a_faulted_board_matches_its_golden_frame() {
    let mut pdu = ok_board(NodeKind::Pdu);
    pdu.press_fault_button(200);
    check_golden("pdu_fault", &pdu.render(1_000));
}

#[test]
fn an_unpowered_board_matches_its_golden_frame() {
    let mut srv = ok_board(NodeKind::Server);
    let unpowered = UpdateParams {
        status: Some(NodeState::Unpowered),
        measured: Measurements {
            voltage_in: Some(0.0),
            voltage_out: Some(0.0),
            current: Some(0.0),
            power_kw: Some(0.0),
            load_pct: Some(0.0),
            ..Measurements::default()
        },
    };
    send_update(&mut srv, 200, unpowered);
    check_golden("server_unpowered", &srv.render(1_000));
}

#[test]
fn a_board_without_link_matches_its_golden_frame() {
    let mut ups = ok_board(NodeKind::Ups);
    let mut on_battery = plausible_update(NodeKind::Ups);
    on_battery.measured.voltage_in = Some(0.0);
    on_battery.status = Some(NodeState::OnBattery);
    on_battery.measured.battery_pct = Some(87.3);
    on_battery.measured.runtime_s = Some(725.0);
    send_update(&mut ups, 200, on_battery);
    ups.handle_link(300, false);
    check_golden("ups_on_battery_no_link", &ups.render(1_000));
}

#[test]
fn a_ups_in_maintenance_bypass_matches_its_golden_frame() {
    // The module isolated for service: the load on the wrap-around bypass, the
    // UPS's own breaker open and locked out.
    let mut ups = ok_board(NodeKind::Ups);
    let mut update = plausible_update(NodeKind::Ups);
    update.status = Some(NodeState::MaintenanceBypass);
    update.measured.mode = Some(Mode::MaintenanceBypass);
    update.measured.breaker = Some(Breaker::LockedOut);
    send_update(&mut ups, 200, update);
    let frame = ups.render(1_000);
    check_golden("ups_maintenance_bypass", &frame);
    // The mode is inverted on the kind row (not the normal position), beside
    // what the board showed in normal.
    let normal = ok_board(NodeKind::Ups).render(1_000);
    assert!(frame.pixel(127, 15) && !normal.pixel(127, 15));
}

#[test]
fn a_pdu_locked_out_matches_its_golden_frame() {
    let mut pdu = ok_board(NodeKind::Pdu);
    let locked = UpdateParams {
        status: Some(NodeState::Open),
        measured: Measurements {
            voltage_in: Some(480.0),
            voltage_out: Some(0.0),
            current: Some(0.0),
            power_kw: Some(0.0),
            load_pct: Some(0.0),
            breaker: Some(Breaker::LockedOut),
            ..Measurements::default()
        },
    };
    send_update(&mut pdu, 200, locked);
    check_golden("pdu_locked_out", &pdu.render(1_000));
}

/// The page of `status` on a UPS with the plausible values.
fn ups_screen(status: NodeState, mode: Option<Mode>, breaker: Option<Breaker>) -> Frame {
    let mut s = Status::new("ups_a", status);
    s.kind = Some(NodeKind::Ups);
    s.measured = plausible_update(NodeKind::Ups).measured;
    s.measured.mode = mode;
    s.measured.breaker = breaker;
    Screen::from_status(&s).render()
}

#[test]
fn every_mode_and_breaker_position_draws_differently() {
    // Each mode word and each breaker position changes the page: none is
    // clipped into another or left out.
    let mut frames = Vec::new();
    for mode in Mode::ALL {
        frames.push(ups_screen(NodeState::Ok, Some(mode), Some(Breaker::Closed)));
    }
    // (Closed: the first frame of the modes.)
    for breaker in Breaker::ALL.into_iter().filter(|b| !b.is_closed()) {
        frames.push(ups_screen(NodeState::Ok, Some(Mode::Normal), Some(breaker)));
    }
    for (i, a) in frames.iter().enumerate() {
        for b in &frames[i + 1..] {
            assert_ne!(a, b, "two modes or breaker positions draw the same");
        }
    }
    // A closed breaker draws as no breaker field at all; so does one the status
    // word already names (TRIPPED).
    assert_eq!(
        ups_screen(NodeState::Ok, Some(Mode::Normal), Some(Breaker::Closed)),
        ups_screen(NodeState::Ok, Some(Mode::Normal), None)
    );
    assert_eq!(
        ups_screen(NodeState::Tripped, None, Some(Breaker::Tripped)),
        ups_screen(NodeState::Tripped, None, None)
    );
}

#[test]
fn the_mode_is_not_repeated_on_the_last_row() {
    // The UPS's last row keeps its battery and runtime (the mode is on the kind
    // row): the same with and without a mode.
    let with = ups_screen(NodeState::Ok, Some(Mode::Normal), None);
    let without = ups_screen(NodeState::Ok, None, None);
    let last_row = |f: &Frame| {
        (0..128)
            .flat_map(|x| (53..63).map(move |y| (x, y)))
            .map(|(x, y)| f.pixel(x, y))
            .collect::<Vec<_>>()
    };
    assert_eq!(last_row(&with), last_row(&without));
}

#[test]
fn a_board_awaiting_its_first_update_matches_its_golden_frame() {
    let mut trf = core(NodeKind::Transformer);
    trf.handle_link(0, true);
    check_golden("transformer_awaiting_engine", &trf.render(1_000));
}

#[test]
fn the_screen_drawn_from_a_received_status_is_the_boards_own() {
    // The dashboard's path: decode the published status, draw it.
    let mut gen_a = ok_board(NodeKind::Generator);
    gen_a
        .handle_command(200, &payload(Command::SetFault { state: true }))
        .expect("valid");
    let sent = drain(&mut gen_a, 200);
    let status = decode_status("gen_a", &sent[0].payload).expect("decodes");
    assert_eq!(Screen::from_status(&status).render(), gen_a.render(200));
}

/// A UPS board showing `battery_pct` = `pct`, as the dashboard would draw it.
fn ups_page(pct: f64) -> Frame {
    let mut status = Status::new("ups_a", NodeState::Ok);
    status.kind = Some(NodeKind::Ups);
    status.measured = plausible_update(NodeKind::Ups).measured;
    status.measured.battery_pct = Some(pct);
    Screen::from_status(&status).render()
}

#[test]
fn numbers_read_as_the_protocol_rounds_them() {
    // The board once read 100 % where the dashboard read 99.9 %: both now show
    // round_for_display at the field's decimals (battery_pct: 1).
    let decimals = Measurements::FIELDS
        .iter()
        .find(|f| f.name == "battery_pct")
        .map(|f| f.decimals)
        .expect("battery_pct is a field");
    for pct in [99.85, 99.96, 99.94, 87.25, 50.0, 0.04] {
        let shown = round_for_display(pct, decimals);
        assert_eq!(ups_page(pct), ups_page(shown), "{pct} reads as {shown}");
        assert_ne!(ups_page(pct), ups_page(shown - 0.1), "{pct}");
        assert_ne!(ups_page(pct), ups_page(shown + 0.1), "{pct}");
    }
    assert_eq!(ups_page(99.96), ups_page(100.0));
}

#[test]
fn the_demand_shows_only_where_set_load_applies() {
    for kind in NodeKind::ALL {
        let mut status = Status::new(id_of(kind), NodeState::Ok);
        status.kind = Some(kind);
        status.measured = plausible_update(kind).measured;
        let without = Screen::from_status(&status);
        let with = Screen {
            demand_kw: Some(5.0),
            ..without
        };
        let applies = Command::SetLoad { kw: 5.0 }.applies_to(kind);
        assert_eq!(with.render() != without.render(), applies, "{kind}");
    }
}

#[test]
fn every_status_word_fits_and_differs_from_ok() {
    let mut frames = Vec::new();
    for word in NodeState::ALL {
        let mut status = Status::new("x", word);
        status.kind = Some(NodeKind::Load);
        let frame = Screen::from_status(&status).render();
        // The status row spans the screen; its corners are lit (box edge or fill).
        assert!(frame.pixel(0, 20) && frame.pixel(127, 31), "{word}");
        frames.push(frame);
    }
    for (i, a) in frames.iter().enumerate() {
        for b in &frames[i + 1..] {
            assert_ne!(a, b, "two status words draw the same");
        }
    }
}

#[test]
fn long_ids_and_sources_are_clipped_not_wrapped() {
    let id = "a2345678901234567890123456789012";
    let mut status = Status::new(id, NodeState::Ok);
    status.kind = Some(NodeKind::Switchgear);
    status.measured.source = Some(String::from(id));
    status.wifi_rssi = Some(-40);
    let frame = Screen::from_status(&status).render();
    // Nothing drawn past the right edge wraps onto the left; rows stay in place.
    let art = frame.to_text_art();
    assert_eq!(art.lines().count(), HEIGHT_PX as usize);
    assert!(art.lines().all(|l| l.len() == WIDTH_PX as usize));
    // Id row: 17 glyphs = 102 px, then a gap before the bars at x = 112.
    assert!((102..111).all(|x| (0..10).all(|y| !frame.pixel(x, y))));
}

#[test]
fn frame_bytes_are_row_major_msb_first() {
    let mut frame = Frame::new();
    frame.set_pixel(0, 0, true);
    frame.set_pixel(9, 0, true);
    frame.set_pixel(127, 63, true);
    frame.set_pixel(128, 0, true); // off screen: ignored
    let bytes = frame.as_bytes();
    assert_eq!(bytes.len(), FRAME_BYTES);
    assert_eq!(bytes[0], 0x80);
    assert_eq!(bytes[1], 0x40);
    assert_eq!(bytes[FRAME_BYTES - 1], 0x01);
    assert_eq!(frame.lit_count(), 3);
    assert_eq!(Frame::from_bytes(*bytes), frame);

    Pixel(Point::new(-1, 5), BinaryColor::On)
        .draw(&mut frame)
        .expect("infallible");
    assert_eq!(frame.lit_count(), 3, "negative coordinates are off screen");
    frame.clear(BinaryColor::On).expect("infallible");
    assert_eq!(frame.lit_count(), WIDTH_PX * HEIGHT_PX);
}
