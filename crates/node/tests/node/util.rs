//! Helpers: cores at known times, update payloads, draining and decoding what a
//! core publishes, and reading a page's text rows back from its pixels.

use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::iso_8859_1::FONT_6X10;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::text::{Baseline, Text};
use winter_river_node::frame::WIDTH_PX;
use winter_river_node::{Frame, NodeConfig, NodeCore, Transmit};
use winter_river_protocol::{
    Breaker, Command, NodeKind, NodeState, Status, UpdateParams, decode_command, decode_status,
    encode_command,
};

/// A conventional id per kind, as in the default topology.
pub fn id_of(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Utility => "util_a",
        NodeKind::Generator => "gen_a",
        NodeKind::Transformer => "trf_a",
        NodeKind::Switchgear => "sw_a",
        NodeKind::Distribution => "dist_a",
        NodeKind::Ups => "ups_a",
        NodeKind::Pdu => "pdu_a",
        NodeKind::Server => "srv_a",
        NodeKind::Cooling => "crac_a",
        NodeKind::Load => "light_a",
        NodeKind::Sts => "sts_a",
        NodeKind::Room => "hall_1",
    }
}

/// A core built at t = 0, link down.
pub fn core(kind: NodeKind) -> NodeCore {
    match NodeCore::new(NodeConfig::new(id_of(kind), kind), 0) {
        Ok(core) => core,
        Err(e) => panic!("default config refused: {e}"),
    }
}

/// A core built at t = 0, connected at t = 0, with `online` and the first status
/// drained.
pub fn connected(kind: NodeKind) -> NodeCore {
    let mut core = core(kind);
    core.handle_link(0, true);
    let sent = drain(&mut core, 0);
    assert_eq!(sent.len(), 2, "online + first status: {sent:?}");
    core
}

/// Everything due at `now_ms`.
pub fn drain(core: &mut NodeCore, now_ms: u64) -> Vec<Transmit> {
    let mut out = Vec::new();
    while let Some(t) = core.poll_transmit(now_ms) {
        out.push(t);
        assert!(out.len() < 100, "poll_transmit never runs dry");
    }
    out
}

/// The statuses among `sent`, decoded as a reader would.
pub fn statuses(sent: &[Transmit]) -> Vec<Status> {
    sent.iter()
        .filter(|t| t.topic.ends_with("/status"))
        .map(|t| {
            let id = t.topic.split('/').nth(1).unwrap_or_default();
            decode_status(id, &t.payload).unwrap_or_else(|e| panic!("bad status: {e}"))
        })
        .collect()
}

/// The commands among `sent`, decoded as the engine would.
pub fn commands(sent: &[Transmit]) -> Vec<Command> {
    sent.iter()
        .filter(|t| t.topic.ends_with("/command"))
        .map(|t| decode_command(&t.payload).unwrap_or_else(|e| panic!("bad command: {e}")))
        .collect()
}

/// A command's wire bytes, as the engine or an operator sends it.
pub fn payload(command: Command) -> Vec<u8> {
    encode_command(&command).unwrap_or_else(|e| panic!("cannot encode: {e}"))
}

/// Feeds `update` to `core` at `now_ms`.
pub fn send_update(core: &mut NodeCore, now_ms: u64, update: UpdateParams) {
    core.handle_command(now_ms, &payload(Command::Update(update)))
        .unwrap_or_else(|e| panic!("update refused: {e}"));
}

/// Electrical state a kind plausibly has in the default chain at a ~225 kW load.
pub fn plausible_update(kind: NodeKind) -> UpdateParams {
    let mut u = UpdateParams {
        status: Some(NodeState::Ok),
        ..UpdateParams::default()
    };
    if kind == NodeKind::Room {
        u.measured.temperature_c = Some(22.4);
        u.measured.solid_c = Some(22.1);
        return u;
    }
    let (vin, vout, current, power_kw, load_pct) = match kind {
        NodeKind::Utility => (None, Some(13800.0), 9.6, 229.8, None),
        NodeKind::Generator => (None, Some(480.0), 270.6, 225.0, Some(22.5)),
        NodeKind::Transformer => (Some(13800.0), Some(480.0), 9.6, 229.8, Some(15.1)),
        NodeKind::Switchgear => (Some(480.0), Some(480.0), 276.4, 229.8, None),
        NodeKind::Distribution => (Some(480.0), Some(480.0), 276.4, 229.8, Some(45.2)),
        NodeKind::Ups => (Some(480.0), Some(480.0), 264.1, 219.6, Some(41.7)),
        NodeKind::Pdu => (Some(480.0), Some(208.0), 7.5, 6.2, Some(12.4)),
        NodeKind::Server => (Some(208.0), Some(208.0), 25.3, 5.0, Some(100.0)),
        NodeKind::Cooling => (Some(480.0), Some(480.0), 2.1, 1.75, Some(100.0)),
        NodeKind::Load => (Some(480.0), Some(480.0), 1.2, 1.0, Some(100.0)),
        NodeKind::Sts => (Some(480.0), Some(480.0), 132.0, 109.8, Some(33.0)),
        NodeKind::Room => unreachable!("a room has no electrical values"),
    };
    u.measured.voltage_in = vin;
    u.measured.voltage_out = vout;
    u.measured.current = Some(current);
    u.measured.power_kw = Some(power_kw);
    u.measured.load_pct = load_pct;
    // As the engine sends them: every breaker closed, a selector in its normal
    // position.
    u.measured.breaker = Some(Breaker::Closed);
    u.measured.mode = kind.spec().modes.iter().copied().find(|m| m.spec().normal);
    match kind {
        NodeKind::Ups => {
            u.measured.battery_pct = Some(100.0);
            u.measured.runtime_s = Some(820.0);
        }
        NodeKind::Generator => u.measured.fuel_pct = Some(96.5),
        NodeKind::Switchgear => u.measured.source = Some(String::from("util_a")),
        NodeKind::Sts => u.measured.source = Some(String::from("ups_a")),
        _ => {}
    }
    u
}

/// The characters the page may draw: printable ASCII and `°`.
fn page_chars() -> impl Iterator<Item = char> {
    (' '..='~').chain(['°'])
}

/// The 6 × 10 cell of glyph `c` as the page's font draws it, lit pixels `true`.
pub fn glyph(c: char) -> [[bool; 6]; 10] {
    let mut frame = Frame::new();
    let style = MonoTextStyle::new(&FONT_6X10, BinaryColor::On);
    let mut buf = [0u8; 4];
    Text::with_baseline(c.encode_utf8(&mut buf), Point::zero(), style, Baseline::Top)
        .draw(&mut frame)
        .unwrap_or_else(|e| match e {});
    cell(&frame, 0, 0)
}

fn cell(frame: &Frame, x: u32, y: u32) -> [[bool; 6]; 10] {
    let mut out = [[false; 6]; 10];
    for (dy, row) in out.iter_mut().enumerate() {
        for (dx, px) in row.iter_mut().enumerate() {
            *px = frame.pixel(x + dx as u32, y + dy as u32);
        }
    }
    out
}

/// The character whose glyph fills the cell at (`x`, `y`), if one does.
fn read_cell(frame: &Frame, x: u32, y: u32) -> Option<char> {
    let seen = cell(frame, x, y);
    page_chars().find(|&c| glyph(c) == seen)
}

/// The text row whose glyphs' tops are at `y`, read back from the pixels as a
/// person reads it: (the left-aligned text, the right-aligned text). Glyphs sit on
/// a 6 px grid from the left edge or from the right one (128 = 21 · 6 + 2), so each
/// is read on its grid until a cell that is no glyph of the font.
pub fn read_row(frame: &Frame, y: u32) -> (String, String) {
    let columns = WIDTH_PX / 6;
    let left: String = (0..columns)
        .map_while(|c| read_cell(frame, 6 * c, y))
        .collect();
    let right: String = (1..=columns)
        .map_while(|c| read_cell(frame, WIDTH_PX - 6 * c, y))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (left.trim_end().to_string(), right.trim_start().to_string())
}

/// The three value rows of a page (tops at y = 33, 43, 53), read back.
pub fn value_rows(frame: &Frame) -> [(String, String); 3] {
    [33, 43, 53].map(|y| read_row(frame, y))
}
