//! SystemStatus: engine → all on `<p>/system/status` (docs/protocol.md,
//! "SystemStatus"). Flat, with `"node_id":"system"` so Telegraf tags it like a node.

use alloc::string::String;
use core::fmt;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::field::{FieldSpec, FieldType, FieldValue};
use crate::kind::NodeState;

/// What carries the IT load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Utility,
    Generator,
    Battery,
    /// More than one of utility, generator and battery carries load (a 2N site
    /// with one side on its generator).
    Mixed,
    /// No IT load is served.
    #[default]
    None,
}

impl Source {
    /// Every source, in the order of docs/protocol.md.
    pub const ALL: [Source; 5] = [
        Source::Utility,
        Source::Generator,
        Source::Battery,
        Source::Mixed,
        Source::None,
    ];

    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Utility => "utility",
            Source::Generator => "generator",
            Source::Battery => "battery",
            Source::Mixed => "mixed",
            Source::None => "none",
        }
    }

    /// Parses a source word; `None` for an unknown one.
    pub fn parse(word: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The whole site's state at one instant. `Default` is all zeros with an empty
/// `node_id`: a base to fill in, not a valid payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    /// Always `"system"`.
    pub node_id: String,
    /// IT (server) load served \[kW\].
    pub it_kw: f64,
    /// All power used in the facility: source outputs + net battery discharge
    /// (= loads served + losses, so `pue` ≥ 1 on battery too) \[kW\].
    pub facility_kw: f64,
    /// Drawn from utility services \[kW\].
    #[serde(default)]
    pub utility_kw: f64,
    /// Produced by generators \[kW\].
    #[serde(default)]
    pub generator_kw: f64,
    /// Net UPS battery discharge (negative while the batteries charge) \[kW\].
    #[serde(default)]
    pub battery_kw: f64,
    /// `facility_kw / it_kw`; absent when either is 0.
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub pue: Option<f64>,
    /// IT demand not served \[kW\].
    pub it_kw_lost: f64,
    /// Cumulative IT energy not served \[kWh\].
    pub it_kwh_unserved: f64,
    /// What carries the IT load.
    pub source: Source,
    /// Shortest UPS runtime at present load \[s\]; absent without UPS.
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub runtime_s: Option<f64>,
    /// Lowest generator fuel level \[%\]; absent without generator.
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub fuel_pct: Option<f64>,
    /// Highest server inlet temperature \[°C\]; absent without a server in a room.
    #[serde(default, skip_serializing_if = "crate::finite::skip_f64")]
    pub max_inlet_c: Option<f64>,
    /// Number of nodes by status word, on the wire as `nodes_ok`, `nodes_fault`, …
    #[serde(flatten)]
    pub nodes: NodeCounts,
    /// Messages dropped as bad input, all reasons.
    pub rejected_msgs: u64,
    /// Simulated time \[s\].
    pub sim_time_s: f64,
}

/// Fields other than the node counts: one row each, with how to read it.
macro_rules! system_fields {
    (|$s:ident| $( $name:ident: $ty:ident, $unit:literal, $label:literal, $decimals:literal => $get:expr; )*) => {
        impl SystemStatus {
            /// Every field but the `nodes_<state>` counts, in wire order.
            pub const FIELDS: &'static [FieldSpec] = &[
                $( FieldSpec::new(stringify!($name), FieldType::$ty, $unit, $label, $decimals), )*
            ];

            /// A field by wire name (counts included); `None` if there is no such field.
            pub fn field(&self, name: &str) -> Option<FieldValue> {
                let $s = self;
                match name {
                    $( stringify!($name) => Some($get), )*
                    _ => NodeCounts::state_of(name).map(|st| FieldValue::Num(f64::from($s.nodes.get(st)))),
                }
            }
        }
    };
}

system_fields! {
    |s|
    node_id: Text, "", "Node", 0 => FieldValue::Text(s.node_id.clone());
    it_kw: Number, "kW", "IT load", 1 => FieldValue::Num(s.it_kw);
    facility_kw: Number, "kW", "Facility", 1 => FieldValue::Num(s.facility_kw);
    utility_kw: Number, "kW", "Utility", 1 => FieldValue::Num(s.utility_kw);
    generator_kw: Number, "kW", "Generator", 1 => FieldValue::Num(s.generator_kw);
    battery_kw: Number, "kW", "Battery", 1 => FieldValue::Num(s.battery_kw);
    pue: Number, "", "PUE", 2 => FieldValue::num(s.pue);
    it_kw_lost: Number, "kW", "IT lost", 1 => FieldValue::Num(s.it_kw_lost);
    it_kwh_unserved: Number, "kWh", "IT energy unserved", 2 => FieldValue::Num(s.it_kwh_unserved);
    source: Text, "", "Source", 0 => FieldValue::Text(s.source.as_str().into());
    runtime_s: Number, "s", "Runtime", 0 => FieldValue::num(s.runtime_s);
    fuel_pct: Number, "%", "Fuel", 1 => FieldValue::num(s.fuel_pct);
    max_inlet_c: Number, "°C", "Highest inlet", 1 => FieldValue::num(s.max_inlet_c);
    rejected_msgs: Integer, "", "Rejected messages", 0 => FieldValue::Num(s.rejected_msgs as f64);
    sim_time_s: Number, "s", "Simulated time", 1 => FieldValue::Num(s.sim_time_s);
}

impl SystemStatus {
    /// The count of nodes in `state` (`nodes_ok` for `Ok`, …).
    pub fn count_mut(&mut self, state: NodeState) -> &mut u32 {
        self.nodes.get_mut(state)
    }
}

/// Nodes by status word, one count per word of [`NodeState::ALL`]; on the wire as
/// flat `nodes_<word>` integers (every word, zeros included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeCounts([u32; NodeState::ALL.len()]);

impl NodeCounts {
    /// The count of nodes in `state`.
    pub fn get(&self, state: NodeState) -> u32 {
        self.0[state as usize]
    }

    pub fn get_mut(&mut self, state: NodeState) -> &mut u32 {
        &mut self.0[state as usize]
    }

    /// The state counted by field `nodes_<word>`.
    pub fn state_of(field: &str) -> Option<NodeState> {
        field.strip_prefix("nodes_").and_then(NodeState::parse)
    }
}

impl Serialize for NodeCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (state, count) in NodeState::ALL.iter().zip(self.0.iter()) {
            map.serialize_entry(&Prefixed(state.as_str()), count)?;
        }
        map.end()
    }
}

/// `nodes_<word>` without allocating.
struct Prefixed(&'static str);

impl Serialize for Prefixed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("nodes_{}", self.0))
    }
}

impl<'de> Deserialize<'de> for NodeCounts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NodeCounts, D::Error> {
        struct CountsVisitor;
        impl<'de> Visitor<'de> for CountsVisitor {
            type Value = NodeCounts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("nodes_<status> counts")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeCounts, A::Error> {
                let mut counts = NodeCounts::default();
                while let Some(CountKey(key)) = map.next_key::<CountKey>()? {
                    match key {
                        Some(state) => *counts.get_mut(state) = map.next_value()?,
                        // Unknown fields are ignored (forward compatible).
                        None => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(counts)
            }
        }
        deserializer.deserialize_map(CountsVisitor)
    }
}

/// A key of the flattened map: the state it counts, if it is a `nodes_<word>`.
struct CountKey(Option<NodeState>);

impl<'de> Deserialize<'de> for CountKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CountKey, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = CountKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<CountKey, E> {
                Ok(CountKey(NodeCounts::state_of(key)))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}
