//! The board's OLED page (SSD1306, 128×64, one bit), drawn with embedded-graphics'
//! built-in FONT_6X10 (21 columns × 6 rows) on any `DrawTarget<Color =
//! BinaryColor>`: the firmware's display driver, or a [`crate::Frame`] on a host.
//! A [`Screen`] is built from a [`Status`], so the web dashboard can draw the
//! exact frame a board shows from the status it received.
//!
//! Layout (rows of 10 px, top y in px):
//! ```text
//!  0  pdu_a                 ▂▄▆█   id, signal bars when the link is up
//! 10  PDU              -62dBm      kind, link (NO LINK inverted when down)
//! 21  [      ON BATTERY      ]     status word, inverted when not ok
//! 33  In 480 V      Out 208 V      voltages
//! 43  7.2 A            6.0 kW      current, power
//! 53  Batt 87%         12m05s      kind line: UPS battery / generator fuel /
//!                                  switchgear source / load %
//! ```
//! Before the engine's first update the value rows read "awaiting engine".

use alloc::format;
use alloc::string::String;

use embedded_graphics::draw_target::DrawTarget;
use embedded_graphics::geometry::{Point, Size};
use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::ascii::FONT_6X10;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Baseline, Text};
use winter_river_protocol::{NodeKind, NodeState, Status};

use crate::frame::{Frame, WIDTH_PX};

/// Glyph cell width \[px\] of FONT_6X10.
const CHAR_W: i32 = 6;
/// Columns of text across the screen.
const COLUMNS: usize = (WIDTH_PX as i32 / CHAR_W) as usize;
const SCREEN_W: i32 = WIDTH_PX as i32;

const ROW_ID_Y: i32 = 0;
const ROW_KIND_Y: i32 = 10;
/// Status box: 12 px from y 20, text 1 px inside.
const STATUS_BOX_Y: i32 = 20;
const STATUS_BOX_H: u32 = 12;
const ROW_VOLTS_Y: i32 = 33;
const ROW_POWER_Y: i32 = 43;
const ROW_KIND_LINE_Y: i32 = 53;

/// Longest id shown \[chars\]; the signal bars take the rest of the top row.
const ID_COLUMNS: usize = 17;

/// Signal bars: 4 bars 3 px wide, 1 px apart, bottoms on this row \[px\].
const BARS_X: i32 = 112;
const BARS_BOTTOM_Y: i32 = 8;
/// RSSI at or above which 4, 3, 2, 1 bars show \[dBm\] (common Wi-Fi quality bands).
const BAR_THRESHOLDS_DBM: [i32; 4] = [-55, -67, -78, -89];

/// What the screen shows: a status (as [`crate::NodeCore::status`] builds it, or
/// as received over MQTT), whether the board's link is up, and the demand set on
/// a load by its knob or `set_load` \[kW\].
#[derive(Debug, Clone, Copy)]
pub struct Screen<'a> {
    pub status: &'a Status,
    pub link_up: bool,
    pub demand_kw: Option<f64>,
}

impl<'a> Screen<'a> {
    /// A screen of `status` with the link up and no demand known (the dashboard's
    /// view of a board that reports).
    pub fn from_status(status: &'a Status) -> Screen<'a> {
        Screen {
            status,
            link_up: true,
            demand_kw: None,
        }
    }

    /// Clears `target` and draws the page.
    pub fn draw<D>(&self, target: &mut D) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = BinaryColor>,
    {
        target.clear(BinaryColor::Off)?;
        let s = self.status;

        put(
            target,
            &clip(&s.node_id, ID_COLUMNS),
            0,
            ROW_ID_Y,
            BinaryColor::On,
        )?;
        self.draw_bars(target)?;

        let kind = s
            .kind
            .map(|k| k.as_str().to_ascii_uppercase())
            .unwrap_or_else(|| String::from("?"));
        put(target, &kind, 0, ROW_KIND_Y, BinaryColor::On)?;
        if self.link_up {
            let link = match s.wifi_rssi {
                Some(dbm) => format!("{dbm}dBm"),
                None => String::from("link ok"),
            };
            put_right(target, &link, ROW_KIND_Y, BinaryColor::On)?;
        } else {
            put_inverted_right(target, "NO LINK", ROW_KIND_Y)?;
        }

        self.draw_status_word(target)?;

        if !has_values(s) {
            return put_centered(target, "awaiting engine", ROW_POWER_Y, BinaryColor::On);
        }
        match (s.measured.voltage_in, s.measured.voltage_out) {
            (None, None) => put(target, "V --", 0, ROW_VOLTS_Y, BinaryColor::On)?,
            (vin, vout) => {
                if let Some(v) = vin {
                    let text = format!("In {} V", num(v));
                    put(target, &text, 0, ROW_VOLTS_Y, BinaryColor::On)?;
                }
                if let Some(v) = vout {
                    let text = format!("Out {} V", num(v));
                    put_right(target, &text, ROW_VOLTS_Y, BinaryColor::On)?;
                }
            }
        }
        let current = format!("{} A", opt_num(s.measured.current));
        put(target, &current, 0, ROW_POWER_Y, BinaryColor::On)?;
        let power = format!("{} kW", opt_num(s.measured.power_kw));
        put_right(target, &power, ROW_POWER_Y, BinaryColor::On)?;

        let (left, right) = self.kind_line();
        put(target, &left, 0, ROW_KIND_LINE_Y, BinaryColor::On)?;
        if let Some(right) = right {
            put_right(target, &right, ROW_KIND_LINE_Y, BinaryColor::On)?;
        }
        Ok(())
    }

    /// The page in a fresh [`Frame`].
    pub fn render(&self) -> Frame {
        let mut frame = Frame::new();
        let Ok(()) = self.draw(&mut frame);
        frame
    }

    /// Outlined box with the word when `ok`; filled box, word in black, otherwise.
    fn draw_status_word<D>(&self, target: &mut D) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = BinaryColor>,
    {
        let word = self.status.status;
        let area = Rectangle::new(
            Point::new(0, STATUS_BOX_Y),
            Size::new(WIDTH_PX, STATUS_BOX_H),
        );
        let text = word.as_str().replace('_', " ").to_ascii_uppercase();
        if word == NodeState::Ok {
            area.into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
                .draw(target)?;
            put_centered(target, &text, STATUS_BOX_Y + 1, BinaryColor::On)
        } else {
            area.into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
                .draw(target)?;
            put_centered(target, &text, STATUS_BOX_Y + 1, BinaryColor::Off)
        }
    }

    /// Signal bars by RSSI, when the link is up and the RSSI known.
    fn draw_bars<D>(&self, target: &mut D) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = BinaryColor>,
    {
        let (true, Some(dbm)) = (self.link_up, self.status.wifi_rssi) else {
            return Ok(());
        };
        let lit = BAR_THRESHOLDS_DBM.iter().filter(|&&t| dbm >= t).count();
        for (i, x) in (0..4).map(|i| (i, BARS_X + 4 * i)) {
            let height = if (i as usize) < lit { 2 * (i + 1) } else { 1 };
            let bar = Rectangle::new(
                Point::new(x, BARS_BOTTOM_Y - height + 1),
                Size::new(3, height.unsigned_abs()),
            );
            bar.into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
                .draw(target)?;
        }
        Ok(())
    }

    /// The kind-specific bottom row: (left, right).
    fn kind_line(&self) -> (String, Option<String>) {
        let s = self.status;
        let load = || format!("Load {}%", opt_num(s.measured.load_pct));
        match s.kind {
            Some(NodeKind::Ups) => (
                format!("Batt {}%", opt_num(s.measured.battery_pct)),
                Some(
                    s.measured
                        .runtime_s
                        .map_or_else(|| String::from("--"), runtime),
                ),
            ),
            Some(NodeKind::Generator) => (
                format!("Fuel {}%", opt_num(s.measured.fuel_pct)),
                Some(load()),
            ),
            Some(NodeKind::Switchgear) => {
                let source = s.measured.source.as_deref().unwrap_or("--");
                (format!("Src {}", clip(source, COLUMNS - 4)), None)
            }
            Some(kind) if kind.is_load() => (
                load(),
                self.demand_kw.map(|kw| format!("set {} kW", num(kw))),
            ),
            _ => (load(), None),
        }
    }
}

/// True if the status carries any electrical value (i.e. the engine has spoken).
fn has_values(s: &Status) -> bool {
    s.measured != winter_river_protocol::Measurements::default()
}

/// A value with 1 decimal below 100 and none from 100 up; `--` if not finite.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return String::from("--");
    }
    // Adding 0.0 turns -0.0 into 0.0.
    let v = v + 0.0;
    if v.abs() >= 99.95 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn opt_num(v: Option<f64>) -> String {
    v.map_or_else(|| String::from("--"), num)
}

/// Runtime as `45s`, `12m05s` or `3h07m`.
fn runtime(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return String::from("--");
    }
    // Saturating float → int conversion; runtimes are far below u64::MAX.
    let total = s as u64;
    let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{sec:02}s")
    } else {
        format!("{sec}s")
    }
}

/// The first `columns` characters of `text`.
fn clip(text: &str, columns: usize) -> String {
    text.chars().take(columns).collect()
}

fn text_width(text: &str) -> i32 {
    i32::try_from(text.chars().count())
        .unwrap_or(i32::MAX / CHAR_W)
        .saturating_mul(CHAR_W)
}

fn put<D>(target: &mut D, text: &str, x: i32, y: i32, color: BinaryColor) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    let style = MonoTextStyle::new(&FONT_6X10, color);
    Text::with_baseline(text, Point::new(x, y), style, Baseline::Top).draw(target)?;
    Ok(())
}

fn put_right<D>(target: &mut D, text: &str, y: i32, color: BinaryColor) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    put(target, text, SCREEN_W - text_width(text), y, color)
}

fn put_centered<D>(target: &mut D, text: &str, y: i32, color: BinaryColor) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    put(target, text, (SCREEN_W - text_width(text)) / 2, y, color)
}

/// Right-aligned text in black on a lit box one pixel larger all round.
fn put_inverted_right<D>(target: &mut D, text: &str, y: i32) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    let width = text_width(text);
    let x = SCREEN_W - width;
    Rectangle::new(
        Point::new(x - 1, y - 1),
        Size::new(width.unsigned_abs() + 1, 11),
    )
    .into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
    .draw(target)?;
    put(target, text, x, y, BinaryColor::Off)
}
