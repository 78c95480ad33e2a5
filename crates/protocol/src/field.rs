//! Payload fields described once: name, type, unit, label and how many decimals a
//! person is shown (docs/protocol.md, "Fields"). The Status, update and
//! SystemStatus tables are built from these; scenario expectations, `/metrics`,
//! the OLED page and the dashboard read them instead of lists of their own.

use alloc::string::String;
use core::fmt;
use serde::Serialize;

/// What a field holds on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// A JSON float (electrical values).
    Number,
    /// A JSON integer (`wifi_rssi`, `uptime`, `seq`, counts).
    Integer,
    /// Free text.
    Text,
    /// A node id.
    NodeId,
    /// A kind name (`ups`, …).
    Kind,
    /// A status word (`ok`, `on_battery`, …).
    State,
    /// A mode word (`normal`, `auto`, `maintenance_bypass`, …).
    Mode,
    /// A breaker position (`closed`, `open`, `tripped`, `locked_out`).
    Breaker,
}

/// One field of a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    /// Wire name.
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// Unit symbol (`V`, `kW`, `%`, `s`), empty when it has none.
    pub unit: &'static str,
    /// What a person reads beside the value.
    pub label: &'static str,
    /// Decimals shown to a person (see [`round_for_display`]).
    pub decimals: u8,
}

impl FieldSpec {
    pub const fn new(
        name: &'static str,
        ty: FieldType,
        unit: &'static str,
        label: &'static str,
        decimals: u8,
    ) -> FieldSpec {
        FieldSpec {
            name,
            ty,
            unit,
            label,
            decimals,
        }
    }

    pub const fn number(
        name: &'static str,
        unit: &'static str,
        label: &'static str,
        decimals: u8,
    ) -> FieldSpec {
        FieldSpec::new(name, FieldType::Number, unit, label, decimals)
    }

    pub const fn integer(name: &'static str, unit: &'static str, label: &'static str) -> FieldSpec {
        FieldSpec::new(name, FieldType::Integer, unit, label, 0)
    }
}

/// The one rounding rule for what a person reads (dashboard, OLED page, reports):
/// half away from zero at `decimals` places, computed as `round(v · 10^d) / 10^d`
/// in double precision, which JavaScript's `Math.round` reproduces for the
/// non-negative values we show. A UPS at 99.96 % reads "100.0" everywhere.
pub fn round_for_display(value: f64, decimals: u8) -> f64 {
    let scale = libm_pow10(decimals);
    let scaled = value * scale;
    // `f64::round` is std-only; this is its definition (half away from zero).
    let truncated = scaled as i64 as f64;
    let rounded = if (scaled - truncated).abs() >= 0.5 {
        truncated + scaled.signum()
    } else {
        truncated
    };
    if scaled.abs() >= 9.0e15 {
        value
    } else {
        rounded / scale
    }
}

fn libm_pow10(decimals: u8) -> f64 {
    let mut p = 1.0;
    for _ in 0..decimals.min(15) {
        p *= 10.0;
    }
    p
}

/// A field's value at one instant (scenario expectations, reports).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Num(f64),
    Text(String),
    /// The field is absent at this instant (e.g. `pue` with no IT load).
    Missing,
}

impl FieldValue {
    /// A number, or `Missing` for `None`.
    pub fn num(v: Option<f64>) -> FieldValue {
        v.map_or(FieldValue::Missing, FieldValue::Num)
    }

    /// A text, or `Missing` for `None`.
    pub fn text(v: Option<&str>) -> FieldValue {
        v.map_or(FieldValue::Missing, |s| FieldValue::Text(s.into()))
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Num(v) => write!(f, "{v}"),
            FieldValue::Text(s) => write!(f, "{s:?}"),
            FieldValue::Missing => f.write_str("(absent)"),
        }
    }
}
