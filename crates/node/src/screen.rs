//! The board's OLED page (SSD1306, 128×64, one bit), drawn with embedded-graphics'
//! built-in FONT_6X10 (21 columns × 6 rows) on any `DrawTarget<Color =
//! BinaryColor>`: the firmware's display driver, or a [`crate::Frame`] on a host.
//! The font is its ISO 8859-1 variant: the same ASCII glyphs as the ASCII one, plus
//! `°` for the temperatures' unit "°C" (the ASCII font would draw `?C`).
//! A [`Screen`] is built from a [`Status`], so the web dashboard can draw the
//! exact frame a board shows from the status it received.
//!
//! Layout (rows of 10 px, top y in px):
//! ```text
//!  0  ups_a                 ▂▄▆█   id; signal bars, or NO LINK inverted when down
//! 10  UPS         [MAINT BYPASS]   kind; its mode (inverted when not the normal
//!                                  position), or the signal in dBm for a kind with none
//! 21  [ OPEN BRK LOCKED OUT  ]     status word, then the breaker when it is not
//!                                  closed; inverted when either is not well
//! 33  In 480 V      Out 208 V      voltages
//! 43  7.5 A           6.20 kW      current, power
//! 53  Batt 87.3%       12m05s      the kind's own fields, then the demand set or
//!                                  load %, as many as fit
//! ```
//! A kind that carries no power (a room: [`KindSpec::is_electrical`] is false) has no
//! voltage, current, power or load rows: its own fields take the value rows, one a
//! row, its label at the left and its value at the right:
//! ```text
//! 33  Air                 24.5 °C
//! 43  Solid mass          23.9 °C
//! ```
//! Nothing here is per kind: the kind row, the status word and the value rows come
//! from the protocol's kind description ([`NodeKind::spec`]: its name, whether it is
//! electrical, its extra fields), field table ([`Measurements::FIELDS`]: units,
//! decimals) and mode and breaker tables ([`Mode::spec`], [`Breaker::spec`]). Every
//! number is rounded with [`round_for_display`] at its field's decimals, the rule
//! the dashboard uses, so a board and the dashboard read the same. Before the
//! engine's first update the value rows read "awaiting engine".

use alloc::format;
use alloc::string::String;

use embedded_graphics::draw_target::DrawTarget;
use embedded_graphics::geometry::{Point, Size};
use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::iso_8859_1::FONT_6X10;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Baseline, Text};
use winter_river_protocol::{
    Breaker, Command, Feeds, FieldSpec, FieldType, FieldValue, KindSpec, Measurements, Mode,
    NodeKind, Status, Tone, round_for_display,
};

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
const ROW_KIND_LINE_Y: i32 = 53;

/// The rows of measurements every electrical kind reports: top y \[px\], then the
/// fields drawn at the left and at the right.
const COMMON_ROWS: [(i32, [&str; 2]); 2] = [
    (33, ["voltage_in", "voltage_out"]),
    (43, ["current", "power_kw"]),
];
/// Top y of the value rows of a kind that is not electrical, one field a row \[px\].
const FIELD_ROWS_Y: [i32; 3] = [33, 43, ROW_KIND_LINE_Y];
/// Fills the last row after the kind's own fields.
const LAST_ROW_FILL: &str = "load_pct";

/// Longest id shown \[chars\]; the signal bars take the rest of the top row.
const ID_COLUMNS: usize = 17;
/// Longest id shown beside NO LINK \[chars\].
const ID_COLUMNS_NO_LINK: usize = COLUMNS - NO_LINK.len() - 1;
const NO_LINK: &str = "NO LINK";

/// Decimals of the demand a load's knob or `set_load` set \[kW\]: the knob's
/// resolution (it sends a change of 0.1 kW or more).
const DEMAND_DECIMALS: u8 = 1;

/// Signal bars: 4 bars 3 px wide, 1 px apart, bottoms on this row \[px\].
const BARS_X: i32 = 112;
const BARS_BOTTOM_Y: i32 = 8;
/// RSSI at or above which 4, 3, 2, 1 bars show \[dBm\] (common Wi-Fi quality bands).
const BAR_THRESHOLDS_DBM: [i32; 4] = [-55, -67, -78, -89];

/// What the screen shows: a status (as [`crate::NodeCore::status`] builds it, or
/// as received over MQTT), whether the board's link is up, and the demand set on
/// a load by its knob or `set_load` \[kW\] (a status does not carry it).
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

        let id_columns = if self.link_up {
            ID_COLUMNS
        } else {
            ID_COLUMNS_NO_LINK
        };
        put(
            target,
            &clip(&s.node_id, id_columns),
            0,
            ROW_ID_Y,
            BinaryColor::On,
        )?;
        if self.link_up {
            self.draw_bars(target)?;
        } else {
            put_inverted_right(target, NO_LINK, ROW_ID_Y)?;
        }

        // The kind's name, not its label: "Static transfer switch" does not fit
        // beside a mode on 21 columns, "STS" does.
        let kind = s
            .kind
            .map(|k| k.as_str().to_ascii_uppercase())
            .unwrap_or_else(|| String::from("?"));
        put(target, &kind, 0, ROW_KIND_Y, BinaryColor::On)?;
        let room = COLUMNS.saturating_sub(kind.chars().count() + 1);
        match s.measured.mode {
            Some(mode) => {
                let text = clip(&page_mode(mode), room);
                if mode.spec().normal {
                    put_right(target, &text, ROW_KIND_Y, BinaryColor::On)?;
                } else {
                    put_inverted_right(target, &text, ROW_KIND_Y)?;
                }
            }
            None if self.link_up => {
                let link = match s.wifi_rssi {
                    Some(dbm) => format!("{dbm}dBm"),
                    None => String::from("link ok"),
                };
                put_right(target, &clip(&link, room), ROW_KIND_Y, BinaryColor::On)?;
            }
            None => {}
        }

        self.draw_status_word(target)?;

        if s.measured == Measurements::default() {
            return put_centered(target, "awaiting engine", COMMON_ROWS[1].0, BinaryColor::On);
        }
        if !self.kind_spec().is_none_or(KindSpec::is_electrical) {
            return self.draw_field_rows(target);
        }
        for (y, [left, right]) in COMMON_ROWS {
            let left = self.field_slot(left);
            let right = self.field_slot(right);
            draw_row(target, y, left.as_ref(), right.as_ref())?;
        }
        let [left, right] = self.kind_line();
        draw_row(target, ROW_KIND_LINE_Y, left.as_ref(), right.as_ref())
    }

    /// The page in a fresh [`Frame`].
    pub fn render(&self) -> Frame {
        let mut frame = Frame::new();
        let Ok(()) = self.draw(&mut frame);
        frame
    }

    /// Outlined box with the word when all is well; filled box, word in black,
    /// otherwise. A breaker that is not closed follows the word (`OPEN BRK
    /// LOCKED OUT`) unless the word already says it (`TRIPPED`).
    fn draw_status_word<D>(&self, target: &mut D) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = BinaryColor>,
    {
        let word = self.status.status.spec();
        let area = Rectangle::new(
            Point::new(0, STATUS_BOX_Y),
            Size::new(WIDTH_PX, STATUS_BOX_H),
        );
        let breaker = self.status.measured.breaker.filter(|b| !b.is_closed());
        let text = status_text(word.label, breaker);
        if word.tone == Tone::Good && breaker.is_none() {
            area.into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
                .draw(target)?;
            put_centered(target, &text, STATUS_BOX_Y + 1, BinaryColor::On)
        } else {
            area.into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
                .draw(target)?;
            put_centered(target, &text, STATUS_BOX_Y + 1, BinaryColor::Off)
        }
    }

    /// Signal bars by RSSI, when it is known.
    fn draw_bars<D>(&self, target: &mut D) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = BinaryColor>,
    {
        let Some(dbm) = self.status.wifi_rssi else {
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

    /// The value rows of a kind that carries no power: its own fields (its
    /// description's extra fields, in order), one a row, the label at the left and
    /// the value at the right.
    fn draw_field_rows<D>(&self, target: &mut D) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = BinaryColor>,
    {
        let extras = self.kind_spec().map_or(&[][..], |k| k.extra_fields);
        let slots = extras
            .iter()
            .filter(|name| !shown_above(name))
            .filter_map(|name| self.field_slot(name));
        for (y, slot) in FIELD_ROWS_Y.into_iter().zip(slots) {
            let (label, value) = slot.split();
            draw_row(target, y, Some(&label), Some(&value))?;
        }
        Ok(())
    }

    /// The last row: the kind's own measurements (its description's extra
    /// fields, in order, but for its mode: the kind row shows that, and those the
    /// status does not carry: a server outside any room has no inlet), then load %.
    /// The first takes the left-hand place; the right-hand one goes to the demand
    /// set on a kind that takes `set_load`, once known, else to the next field,
    /// whichever fits beside the first (load % is left out where it does not).
    fn kind_line(&self) -> [Option<Slot>; 2] {
        let extras = self.kind_spec().map_or(&[][..], |k| k.extra_fields);
        let mut slots = extras
            .iter()
            .copied()
            .filter(|name| !shown_above(name))
            .filter(|name| !matches!(self.status.measured.field(name), Some(FieldValue::Missing)))
            .chain([LAST_ROW_FILL])
            .filter_map(|name| self.field_slot(name));
        let left = slots.next();
        let fits = |right: &Slot| left.as_ref().is_none_or(|l| row_fits(l, right));
        let right = self
            .demand_slot()
            .filter(fits)
            .or_else(|| slots.next().filter(fits));
        [left, right]
    }

    fn kind_spec(&self) -> Option<&'static KindSpec> {
        self.status.kind.map(NodeKind::spec)
    }

    /// Field `name` of the status with its page label and unit; `None` for a name
    /// that is not a measurement, and for the input voltage of a kind that takes
    /// no feed (a source has no input side).
    fn field_slot(&self, name: &str) -> Option<Slot> {
        let field = Measurements::FIELDS.iter().find(|f| f.name == name)?;
        if name == "voltage_in" && self.kind_spec().is_some_and(|k| k.feeds == Feeds::None) {
            return None;
        }
        let value = self.status.measured.field(name)?;
        Some(Slot::of(field, &value))
    }

    /// The demand set on this board, if it is known and `set_load` applies.
    fn demand_slot(&self) -> Option<Slot> {
        let kw = self.demand_kw?;
        let kind = self.status.kind?;
        if !(Command::SetLoad { kw }).applies_to(kind) {
            return None;
        }
        Some(Slot {
            label: "set",
            value: number(kw, DEMAND_DECIMALS),
            unit: "kW",
        })
    }
}

/// One value on the page: "label value unit".
#[derive(Debug, Clone, PartialEq)]
struct Slot {
    label: &'static str,
    value: String,
    unit: &'static str,
}

impl Slot {
    /// `field`'s value as a person reads it: numbers rounded at the field's
    /// decimals, seconds as a duration, `--` when the status does not carry it.
    fn of(field: &FieldSpec, value: &FieldValue) -> Slot {
        let label = page_label(field);
        let (value, unit) = match value {
            FieldValue::Num(v) if field.unit == "s" => (duration(*v), ""),
            FieldValue::Num(v) => (number(*v, field.decimals), field.unit),
            FieldValue::Text(text) => (text.clone(), field.unit),
            FieldValue::Missing => (String::from("--"), field.unit),
        };
        Slot { label, value, unit }
    }

    /// The label alone, and the value with its unit alone: for a row that puts the
    /// label at the left and the value at the right.
    fn split(self) -> (Slot, Slot) {
        let label = Slot {
            label: self.label,
            value: String::new(),
            unit: "",
        };
        let value = Slot { label: "", ..self };
        (label, value)
    }

    /// The text; `tight` sets every unit against its value.
    fn text(&self, tight: bool) -> String {
        let mut text = String::new();
        text.push_str(self.label);
        if !self.label.is_empty() && !self.value.is_empty() {
            text.push(' ');
        }
        text.push_str(&self.value);
        if !self.unit.is_empty() {
            if !tight && self.unit != "%" {
                text.push(' ');
            }
            text.push_str(self.unit);
        }
        text
    }
}

/// Whether field `name` has its own place above the value rows: the mode on the
/// kind row, the breaker in the status box.
fn shown_above(name: &str) -> bool {
    Measurements::FIELDS
        .iter()
        .find(|f| f.name == name)
        .is_some_and(|f| matches!(f.ty, FieldType::Mode | FieldType::Breaker))
}

/// A mode as the kind row prints it: its label in capitals, the longest one
/// shortened as its status word is (`MAINT BYPASS`: "UPS" and 18 letters do not
/// fit 21 columns).
fn page_mode(mode: Mode) -> String {
    match mode {
        Mode::MaintenanceBypass => String::from("MAINT BYPASS"),
        _ => mode.spec().label.to_ascii_uppercase(),
    }
}

/// The status box's text: the status word's label, then `BRK` and the breaker's
/// position when it is not closed and the word does not already say it; when
/// that does not fit, a locked-out breaker reads `LOTO` (lock-out/tag-out).
fn status_text(label: &str, breaker: Option<Breaker>) -> String {
    let Some(b) = breaker else {
        return clip(label, COLUMNS);
    };
    let position = b.spec().label.to_ascii_uppercase();
    if position == label {
        return clip(label, COLUMNS);
    }
    let full = format!("{label} BRK {position}");
    if full.chars().count() <= COLUMNS {
        return full;
    }
    let short = match b {
        Breaker::LockedOut => "LOTO",
        _ => position.as_str(),
    };
    clip(&format!("{label} BRK {short}"), COLUMNS)
}

/// What the page prints before a field's value. The field table's labels are
/// for panels ("Input voltage"); 21 columns need shorter ones, and some values
/// say what they are by their unit. A field not named here prints its table label.
fn page_label(field: &FieldSpec) -> &'static str {
    match field.name {
        "voltage_in" => "In",
        "voltage_out" => "Out",
        "battery_pct" => "Batt",
        "source" => "Src",
        // "Air temperature" and "24.5 °C" do not fit one row; "Solid mass" does.
        "temperature_c" => "Air",
        "current" | "power_kw" | "runtime_s" => "",
        _ => field.label,
    }
}

/// Draws a row's two slots, left- and right-aligned with at least one column
/// between them: units are set tight if that makes them fit, and the left one is
/// clipped if even that does not.
fn draw_row<D>(
    target: &mut D,
    y: i32,
    left: Option<&Slot>,
    right: Option<&Slot>,
) -> Result<(), D::Error>
where
    D: DrawTarget<Color = BinaryColor>,
{
    let texts = |tight| {
        let l = left.map(|s| s.text(tight)).unwrap_or_default();
        let r = right.map(|s| s.text(tight)).unwrap_or_default();
        (l, r)
    };
    let mut row = texts(false);
    if !texts_fit(&row.0, &row.1) {
        row = texts(true);
    }
    let (mut l, r) = row;
    let r = clip(&r, COLUMNS);
    let room = COLUMNS.saturating_sub(r.chars().count() + usize::from(!r.is_empty()));
    l = clip(&l, room);
    put(target, &l, 0, y, BinaryColor::On)?;
    put_right(target, &r, y, BinaryColor::On)
}

/// Whether `left` and `right` fit one row, units set tight if need be.
fn row_fits(left: &Slot, right: &Slot) -> bool {
    texts_fit(&left.text(true), &right.text(true))
}

/// Whether texts `l` and `r` fit one row with a column between them.
fn texts_fit(l: &str, r: &str) -> bool {
    let gap = usize::from(!l.is_empty() && !r.is_empty());
    l.chars().count() + gap + r.chars().count() <= COLUMNS
}

/// `v` rounded at `decimals` by the one display rule; `--` if not finite.
fn number(v: f64, decimals: u8) -> String {
    if !v.is_finite() {
        return String::from("--");
    }
    // Adding 0.0 turns -0.0 into 0.0.
    let v = round_for_display(v, decimals) + 0.0;
    format!("{v:.*}", usize::from(decimals))
}

/// Seconds as `45s`, `12m05s` or `3h07m`, from the whole seconds nearest `s`.
fn duration(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return String::from("--");
    }
    // Saturating float → int conversion; runtimes are far below u64::MAX.
    let total = round_for_display(s, 0) as u64;
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
