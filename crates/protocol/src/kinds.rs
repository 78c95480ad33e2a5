//! The shared description of every component kind (docs/topology.md): its name,
//! label, role in the chain, how it takes feeds, its Status fields beyond the
//! common ones, the status words it can show and the line the one-line diagram
//! prints for it. The simulator holds each kind's parameters and behaviour
//! (`crates/sim/src/kinds/`); everything else — topology and scenario parsers,
//! engine, node core, `/metrics`, the dashboard (through `/api/schema`) — reads
//! this table. A new kind is one row here and one module there.

use serde::{Deserialize, Serialize};

use crate::kind::NodeState;
use crate::mode::{ATS_MODES, GENERATOR_MODES, Mode, UPS_MODES};

/// A kind's place in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Produces power; no feeds (utility, generator).
    Source,
    /// Converts power with a loss (transformer, UPS, PDU).
    Conversion,
    /// Selects one of its feeds (switchgear/ATS, STS).
    Switch,
    /// Passes power through (distribution).
    PassThrough,
    /// Consumes power (server, cooling, load).
    Load,
    /// A thermal zone: no feeds and no power of its own; loads and conversion
    /// losses that name it heat it, cooling units that name it cool it (room).
    Thermal,
}

impl Role {
    /// The kinds of this role, in words ("loads").
    pub fn plural(self) -> &'static str {
        match self {
            Role::Source => "sources",
            Role::Conversion => "conversions",
            Role::Switch => "switches",
            Role::PassThrough => "pass-through nodes",
            Role::Load => "loads",
            Role::Thermal => "rooms",
        }
    }
}

/// How many feeds a kind takes, and what it does with several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feeds {
    /// None: a source.
    None,
    /// Exactly one.
    One,
    /// One or more in order of preference; one is used at a time.
    Select,
    /// One or more; the demand is shared among the energized ones (A/B cords).
    Share,
}

/// What every crate needs of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KindSpec {
    #[serde(skip)]
    pub kind: NodeKind,
    /// Name in topology files and payloads.
    pub name: &'static str,
    /// What a person reads.
    pub label: &'static str,
    pub role: Role,
    pub feeds: Feeds,
    /// Status fields beyond the common measurements (voltages, current, power,
    /// load) that this kind reports, in the order a panel shows them.
    pub extra_fields: &'static [&'static str],
    /// Status words this kind can show, besides `offline` (engine-side, any kind).
    pub states: &'static [NodeState],
    /// The positions of its mode selector (Status field `mode`); empty when it
    /// has none.
    pub modes: &'static [Mode],
    /// The one-line diagram's line for a node of this kind: `{field}` is replaced
    /// by the field's value, formatted by its unit and decimals.
    pub summary: &'static str,
}

impl KindSpec {
    /// Whether a node of this kind reports Status field `name` (identity and link
    /// fields, common measurements — electrical kinds only — and this kind's extras).
    pub fn has_field(&self, name: &str) -> bool {
        crate::status::IDENTITY_AND_LINK_FIELDS
            .iter()
            .any(|f| f.name == name)
            || (self.is_electrical() && COMMON_FIELDS.contains(&name))
            || self.extra_fields.contains(&name)
    }

    /// Whether it carries power (every kind but a room): it reports the common
    /// measurements and has a breaker.
    pub fn is_electrical(&self) -> bool {
        self.role != Role::Thermal
    }
}

/// Measurements every electrical kind reports (a room reports only its extras).
pub const COMMON_FIELDS: &[&str] = &[
    "voltage_in",
    "voltage_out",
    "current",
    "power_kw",
    "load_pct",
    "breaker",
];

/// Defines [`NodeKind`], [`NodeKind::ALL`] and [`KINDS`] from one row per kind, so
/// a kind is named once.
macro_rules! kinds {
    ($( $(#[$doc:meta])* $variant:ident {
        name: $name:literal,
        label: $label:literal,
        role: $role:expr,
        feeds: $feeds:expr,
        extra_fields: $extra:expr,
        states: $states:expr,
        $( modes: $modes:expr, )?
        summary: $summary:literal,
    } )*) => {
        /// What a node stands for in the power chain.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum NodeKind {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        impl NodeKind {
            /// Every kind, in the order of docs/topology.md.
            pub const ALL: [NodeKind; [$( NodeKind::$variant ),*].len()] = [$( NodeKind::$variant ),*];
        }

        /// Every kind's description, in the order of [`NodeKind::ALL`].
        pub const KINDS: [KindSpec; NodeKind::ALL.len()] = [$(
            KindSpec {
                kind: NodeKind::$variant,
                name: $name,
                label: $label,
                role: $role,
                feeds: $feeds,
                extra_fields: $extra,
                states: $states,
                modes: kinds!(@modes $($modes)?),
                summary: $summary,
            },
        )*];
    };
    (@modes) => { &[] };
    (@modes $modes:expr) => { $modes };
}

use NodeState as S;

/// The words of a node that is only powered or not, overloaded or not.
const POWERED_STATES: &[NodeState] = &[
    S::Ok,
    S::Fault,
    S::Unpowered,
    S::Tripped,
    S::Overload,
    S::Open,
];

kinds! {
    Utility {
        name: "utility",
        label: "Utility feed",
        role: Role::Source,
        feeds: Feeds::None,
        extra_fields: &[],
        states: &[S::Ok, S::Fault, S::Tripped, S::Overload, S::Open],
        summary: "{voltage_out} feed",
    }
    Generator {
        name: "generator",
        label: "Generator",
        role: Role::Source,
        feeds: Feeds::None,
        extra_fields: &["mode", "fuel_pct"],
        states: &[
            S::Ok,
            S::Fault,
            S::Tripped,
            S::Overload,
            S::Standby,
            S::Starting,
            S::Cooldown,
            S::OutOfFuel,
            S::Open,
            S::Off,
        ],
        modes: GENERATOR_MODES,
        summary: "fuel {fuel_pct}",
    }
    Transformer {
        name: "transformer",
        label: "Transformer",
        role: Role::Conversion,
        feeds: Feeds::One,
        extra_fields: &[],
        states: POWERED_STATES,
        summary: "{voltage_in} → {voltage_out}",
    }
    Switchgear {
        name: "switchgear",
        label: "Switchgear / ATS",
        role: Role::Switch,
        feeds: Feeds::Select,
        extra_fields: &["mode", "source"],
        states: POWERED_STATES,
        modes: ATS_MODES,
        summary: "ATS on {source}",
    }
    Distribution {
        name: "distribution",
        label: "Distribution board",
        role: Role::PassThrough,
        feeds: Feeds::One,
        extra_fields: &[],
        states: POWERED_STATES,
        summary: "bus {voltage_out}",
    }
    Ups {
        name: "ups",
        label: "UPS",
        role: Role::Conversion,
        feeds: Feeds::One,
        extra_fields: &["mode", "battery_pct", "runtime_s"],
        states: &[
            S::Ok,
            S::Fault,
            S::Unpowered,
            S::Tripped,
            S::Overload,
            S::OnBattery,
            S::Bypass,
            S::Open,
            S::MaintenanceBypass,
        ],
        modes: UPS_MODES,
        summary: "batt {battery_pct} · {runtime_s}",
    }
    Pdu {
        name: "pdu",
        label: "PDU",
        role: Role::Conversion,
        feeds: Feeds::One,
        extra_fields: &[],
        states: POWERED_STATES,
        summary: "{voltage_in} → {voltage_out}",
    }
    Server {
        name: "server",
        label: "Server rack",
        role: Role::Load,
        feeds: Feeds::Share,
        extra_fields: &["inlet_c"],
        states: &[
            S::Ok,
            S::Fault,
            S::Unpowered,
            S::Tripped,
            S::Overload,
            S::Open,
            S::Shutdown,
        ],
        summary: "Server rack",
    }
    Cooling {
        name: "cooling",
        label: "Cooling",
        role: Role::Load,
        feeds: Feeds::Share,
        extra_fields: &["cooling_kw"],
        states: &[
            S::Ok,
            S::Fault,
            S::Unpowered,
            S::Tripped,
            S::Overload,
            S::Open,
            S::Starting,
        ],
        summary: "Cooling",
    }
    Load {
        name: "load",
        label: "Load",
        role: Role::Load,
        feeds: Feeds::Share,
        extra_fields: &[],
        states: POWERED_STATES,
        summary: "Load",
    }
    /// Static transfer switch.
    Sts {
        name: "sts",
        label: "Static transfer switch",
        role: Role::Switch,
        feeds: Feeds::Select,
        extra_fields: &["source"],
        states: POWERED_STATES,
        summary: "STS on {source}",
    }
    /// A room: the air and the solid mass that loads heat and cooling units cool.
    Room {
        name: "room",
        label: "Room",
        role: Role::Thermal,
        feeds: Feeds::None,
        extra_fields: &["temperature_c", "solid_c"],
        states: &[S::Ok],
        summary: "air {temperature_c}",
    }
}

/// The description of `kind`.
pub(crate) fn spec(kind: NodeKind) -> &'static KindSpec {
    // One macro builds both, in the same order.
    &KINDS[kind as usize]
}
