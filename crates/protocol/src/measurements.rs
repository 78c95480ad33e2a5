//! The measurement set — the values the engine computes for a node, which the node
//! shows and reports back — defined once (docs/protocol.md, "Status").
//!
//! One table row per field: the `measurements!` invocation below generates the
//! [`Measurements`] struct (flattened into both [`Status`](crate::Status) and
//! [`UpdateParams`](crate::UpdateParams)), its field table [`Measurements::FIELDS`]
//! (name, unit, label, decimals: used by the deadband, scenario field access,
//! `/metrics`, the OLED page and the dashboard) and field access by name. A struct
//! flattened into both payloads, rather than a table of names alone, keeps typed
//! access (`status.measured.battery_pct`) in Rust and one wire shape for both.

use alloc::string::String;
use serde::{Deserialize, Serialize};

use crate::field::{FieldSpec, FieldType, FieldValue};
use crate::mode::{Breaker, Mode};

macro_rules! measurements {
    ($( $(#[$doc:meta])* $name:ident: $unit:literal, $label:literal, $decimals:literal; )*) => {
        /// A node's measured values (all optional: a board may send none of them;
        /// `None` and non-finite numbers are omitted on the wire).
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        pub struct Measurements {
            $(
                $(#[$doc])*
                #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
                pub $name: Option<f64>,
            )*
            /// Switchgear or STS: id of the feed in use.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub source: Option<String>,
            /// UPS, switchgear, generator: the position of its mode selector.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub mode: Option<Mode>,
            /// Every node: its own isolating device.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub breaker: Option<Breaker>,
        }

        impl Measurements {
            /// The numeric fields, in wire order, then `source`, `mode`, `breaker`.
            pub const FIELDS: &'static [FieldSpec] = &[
                $( FieldSpec::number(stringify!($name), $unit, $label, $decimals), )*
                FieldSpec::new("source", FieldType::NodeId, "", "Source", 0),
                FieldSpec::new("mode", FieldType::Mode, "", "Mode", 0),
                FieldSpec::new("breaker", FieldType::Breaker, "", "Breaker", 0),
            ];

            /// The numeric fields' values, in the order of [`Measurements::FIELDS`].
            pub fn numbers(&self) -> [Option<f64>; measurements!(@count $($name)*)] {
                [ $( self.$name, )* ]
            }

            /// A numeric field by wire name; `None` if it is not one of them.
            pub fn number(&self, name: &str) -> Option<Option<f64>> {
                match name {
                    $( stringify!($name) => Some(self.$name), )*
                    _ => None,
                }
            }
        }
    };
    (@count) => { 0 };
    (@count $head:ident $($tail:ident)*) => { 1 + measurements!(@count $($tail)*) };
}

measurements! {
    /// Input voltage \[V\].
    voltage_in: "V", "Input voltage", 0;
    /// Voltage handed downstream \[V\].
    voltage_out: "V", "Output voltage", 0;
    /// Current at the input (sources: at the output) \[A\].
    current: "A", "Current", 1;
    /// Power at the input (sources: output; loads: demand served) \[kW\].
    power_kw: "kW", "Power", 2;
    /// Output against rating \[%\].
    load_pct: "%", "Load", 1;
    /// UPS state of charge \[%\].
    battery_pct: "%", "Battery", 1;
    /// UPS battery runtime at the present load \[s\].
    runtime_s: "s", "Runtime", 0;
    /// Generator fuel left \[%\].
    fuel_pct: "%", "Fuel", 1;
    /// Room: air temperature \[°C\].
    temperature_c: "°C", "Air temperature", 1;
    /// Room: temperature of the solid mass (racks, floor, walls) \[°C\].
    solid_c: "°C", "Solid mass", 1;
    /// Server in a room: inlet air temperature \[°C\].
    inlet_c: "°C", "Inlet", 1;
    /// Cooling unit in a room: heat it removes \[kW\].
    cooling_kw: "kW", "Heat removed", 1;
}

impl Measurements {
    /// A field by wire name (numbers, `source`, `mode`, `breaker`); `None` if it is
    /// not one of them.
    pub fn field(&self, name: &str) -> Option<FieldValue> {
        match name {
            "source" => Some(FieldValue::text(self.source.as_deref())),
            "mode" => Some(FieldValue::text(self.mode.map(Mode::as_str))),
            "breaker" => Some(FieldValue::text(self.breaker.map(Breaker::as_str))),
            _ => self.number(name).map(FieldValue::num),
        }
    }

    /// Whether `new` differs from `self` beyond the [deadband](crate::deadband):
    /// `source`, `mode` or `breaker` changed, or a number moved beyond it.
    pub fn moved(&self, new: &Measurements) -> bool {
        self.source != new.source
            || self.mode != new.mode
            || self.breaker != new.breaker
            || self
                .numbers()
                .iter()
                .zip(new.numbers().iter())
                .any(|(a, b)| crate::deadband::moved(*a, *b))
    }
}
