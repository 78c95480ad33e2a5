//! Commands: `{"command": NAME, "params": {...}}` (docs/protocol.md, "Commands"),
//! to a node on `<p>/<id>/command` or to the engine on `<p>/system/command`.
//!
//! A command is one variant of [`Command`] plus one row of [`COMMANDS`] (its name,
//! parameters and where it applies) and its arms in `Command::from_params` and
//! `Command::params`: the codec, the engine's policy, the CLI and the dashboard
//! (through `/api/schema`) read the row.

use alloc::string::{String, ToString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::codec::CodecError;
use crate::kind::{NodeKind, NodeState, Role};
use crate::kinds::KINDS;
use crate::measurements::Measurements;
use crate::mode::{ATS_MODES, GENERATOR_MODES, Mode, UPS_MODES};
use alloc::vec::Vec;

/// A command, decoded. The wire form is `{"command": NAME, "params": {...}}`.
// `Update` carries every measurement and is far larger than the rest: commands are
// handled one at a time, and boxing it would cost a board an allocation per update.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Fail (`true`) or restore (`false`) the component.
    SetFault { state: bool },
    /// Demand of a load \[kW\].
    SetLoad { kw: f64 },
    /// Clear a tripped breaker or latched alarm.
    Reset,
    /// Engine → node: the node's computed electrical state.
    Update(UpdateParams),
    /// Open the node's own isolating device.
    Open,
    /// Close it again.
    Close,
    /// Lock out and tag (`true`, only when open) or release (`false`).
    Lockout { state: bool },
    /// A UPS's mode: one of [`UPS_MODES`].
    UpsMode { mode: Mode },
    /// A switchgear's ATS mode: one of [`ATS_MODES`].
    AtsMode { mode: Mode },
    /// A manual transfer to feed `to` (ATS in manual only).
    Transfer { to: String },
    /// A transfer test under load (ATS in auto only): on while `state`.
    AtsTest { state: bool },
    /// A generator's mode: one of [`GENERATOR_MODES`].
    GenMode { mode: Mode },
    /// Emergency power off: every UPS and STS opens (site-wide only).
    Epo,
}

/// Parameters of `update`: the status word and measured values the engine
/// computed for a node.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UpdateParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeState>,
    #[serde(flatten)]
    pub measured: Measurements,
}

/// The type of one command parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamType {
    Bool,
    /// A finite number in `min ..= max`, in `unit`.
    Number {
        unit: &'static str,
        min: f64,
        max: f64,
    },
    /// One of these mode words.
    Choice {
        choices: &'static [Mode],
    },
    /// A node id (for `transfer`: one of the switch's feeds).
    NodeId,
}

/// One parameter of a command.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParamSpec {
    pub name: &'static str,
    #[serde(flatten)]
    pub ty: ParamType,
    /// What a person reads.
    pub label: &'static str,
}

/// Which nodes a command applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    /// Every electrical kind (every kind but a room: a room has no breaker,
    /// fault or load of its own).
    Every,
    /// The kinds of one role (e.g. loads).
    Role(Role),
    /// One kind.
    Kind(NodeKind),
    /// No node: the site as a whole, on `<p>/system/command` only (`epo`).
    Site,
    /// No node: the engine sends it (`update`).
    EngineOnly,
}

/// What every crate needs of one command.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CommandSpec {
    /// Name on the wire.
    pub name: &'static str,
    /// What a person reads (a button, a help line).
    pub label: &'static str,
    /// Parameters, required unless the command has none; `update` checks its own.
    pub params: &'static [ParamSpec],
    pub applies_to: AppliesTo,
    /// Also accepted on `<p>/system/command`, for every node at once.
    pub site_wide: bool,
    /// The engine answers it with an event that names it (`command`): the
    /// operator commands, accepted or refused. `set_fault`, `set_load` and `reset`
    /// show in status words and their own events instead.
    pub answered: bool,
    /// Fault injection: when the dashboard has an instructor's token, only the
    /// instructor may send it (docs/api.md, "Roles"). MQTT itself has no roles.
    pub instructor: bool,
}

/// The most a `set_load` may ask of one load \[kW\]: a gigawatt, more than the
/// largest data-center campus draws. Any larger demand is a typo or an attack (a
/// `1e308` would overflow the site's unserved energy to infinity).
pub const MAX_LOAD_KW: f64 = 1_000_000.0;

/// The kinds an `epo` opens (docs/protocol.md): every UPS and static transfer switch.
pub const EPO_OPENS: &[NodeKind] = &[NodeKind::Ups, NodeKind::Sts];

/// Every command, in the order of docs/protocol.md.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "set_fault",
        label: "Fail / restore",
        params: &[ParamSpec {
            name: "state",
            ty: ParamType::Bool,
            label: "Failed",
        }],
        applies_to: AppliesTo::Every,
        site_wide: false,
        answered: false,
        instructor: true,
    },
    CommandSpec {
        name: "set_load",
        label: "Set demand",
        params: &[ParamSpec {
            name: "kw",
            ty: ParamType::Number {
                unit: "kW",
                min: 0.0,
                max: MAX_LOAD_KW,
            },
            label: "Demand",
        }],
        applies_to: AppliesTo::Role(Role::Load),
        site_wide: false,
        answered: false,
        instructor: false,
    },
    CommandSpec {
        name: "reset",
        label: "Reset",
        params: &[],
        applies_to: AppliesTo::Every,
        site_wide: true,
        answered: false,
        instructor: false,
    },
    CommandSpec {
        name: "update",
        label: "Update",
        params: &[],
        applies_to: AppliesTo::EngineOnly,
        site_wide: false,
        answered: false,
        instructor: false,
    },
    CommandSpec {
        name: "open",
        label: "Open",
        params: &[],
        applies_to: AppliesTo::Every,
        site_wide: false,
        answered: true,
        instructor: false,
    },
    CommandSpec {
        name: "close",
        label: "Close",
        params: &[],
        applies_to: AppliesTo::Every,
        site_wide: false,
        answered: true,
        instructor: false,
    },
    CommandSpec {
        name: "lockout",
        label: "Lock out / release",
        params: &[ParamSpec {
            name: "state",
            ty: ParamType::Bool,
            label: "Locked out",
        }],
        applies_to: AppliesTo::Every,
        site_wide: false,
        answered: true,
        instructor: false,
    },
    CommandSpec {
        name: "ups_mode",
        label: "UPS mode",
        params: &[ParamSpec {
            name: "mode",
            ty: ParamType::Choice { choices: UPS_MODES },
            label: "Mode",
        }],
        applies_to: AppliesTo::Kind(NodeKind::Ups),
        site_wide: false,
        answered: true,
        instructor: false,
    },
    CommandSpec {
        name: "ats_mode",
        label: "ATS mode",
        params: &[ParamSpec {
            name: "mode",
            ty: ParamType::Choice { choices: ATS_MODES },
            label: "Mode",
        }],
        applies_to: AppliesTo::Kind(NodeKind::Switchgear),
        site_wide: false,
        answered: true,
        instructor: false,
    },
    CommandSpec {
        name: "transfer",
        label: "Transfer",
        params: &[ParamSpec {
            name: "to",
            ty: ParamType::NodeId,
            label: "To feed",
        }],
        applies_to: AppliesTo::Kind(NodeKind::Switchgear),
        site_wide: false,
        answered: true,
        instructor: false,
    },
    CommandSpec {
        name: "ats_test",
        label: "Transfer test",
        params: &[ParamSpec {
            name: "state",
            ty: ParamType::Bool,
            label: "Testing",
        }],
        applies_to: AppliesTo::Kind(NodeKind::Switchgear),
        site_wide: false,
        answered: true,
        instructor: false,
    },
    CommandSpec {
        name: "gen_mode",
        label: "Generator mode",
        params: &[ParamSpec {
            name: "mode",
            ty: ParamType::Choice {
                choices: GENERATOR_MODES,
            },
            label: "Mode",
        }],
        applies_to: AppliesTo::Kind(NodeKind::Generator),
        site_wide: false,
        answered: true,
        instructor: false,
    },
    CommandSpec {
        name: "epo",
        label: "Emergency power off",
        params: &[],
        applies_to: AppliesTo::Site,
        site_wide: true,
        answered: true,
        instructor: false,
    },
];

impl CommandSpec {
    /// The command named `name`, if there is one.
    pub fn find(name: &str) -> Option<&'static CommandSpec> {
        COMMANDS.iter().find(|c| c.name == name)
    }

    /// Where it applies, in words for an error message: "loads (server, cooling,
    /// load)".
    pub fn applies_to_words(&self) -> String {
        match self.applies_to {
            AppliesTo::Every => "every node but rooms".into(),
            AppliesTo::Kind(kind) => alloc::format!("{} nodes only", kind.as_str()),
            AppliesTo::Site => "the site as a whole (send it to `system`)".into(),
            AppliesTo::EngineOnly => "no node (the engine sends it to boards)".into(),
            AppliesTo::Role(role) => {
                let kinds: Vec<&str> = KINDS
                    .iter()
                    .filter(|k| k.role == role)
                    .map(|k| k.name)
                    .collect();
                alloc::format!("{} ({})", role.plural(), kinds.join(", "))
            }
        }
    }

    /// The commands that set a mode selector (`ups_mode`, `ats_mode`, `gen_mode`),
    /// each with its choices: the rows whose one parameter is a choice of modes.
    pub fn mode_selectors() -> impl Iterator<Item = (&'static CommandSpec, &'static [Mode])> {
        COMMANDS.iter().filter_map(|c| match c.params {
            [
                ParamSpec {
                    ty: ParamType::Choice { choices },
                    ..
                },
            ] => Some((c, *choices)),
            _ => None,
        })
    }

    /// The command that sets the mode selector of a node of `kind`, with its
    /// choices; `None` for a kind without one.
    pub fn mode_selector(kind: NodeKind) -> Option<(&'static CommandSpec, &'static [Mode])> {
        CommandSpec::mode_selectors().find(|(c, _)| c.applies_to(kind))
    }

    /// Whether an operator may send this command to a node of `kind`.
    pub fn applies_to(&self, kind: NodeKind) -> bool {
        match self.applies_to {
            AppliesTo::Every => kind.spec().is_electrical(),
            AppliesTo::Role(role) => kind.spec().role == role,
            AppliesTo::Kind(k) => k == kind,
            AppliesTo::Site | AppliesTo::EngineOnly => false,
        }
    }
}

impl Command {
    /// The command's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Command::SetFault { .. } => "set_fault",
            Command::SetLoad { .. } => "set_load",
            Command::Reset => "reset",
            Command::Update(_) => "update",
            Command::Open => "open",
            Command::Close => "close",
            Command::Lockout { .. } => "lockout",
            Command::UpsMode { .. } => "ups_mode",
            Command::AtsMode { .. } => "ats_mode",
            Command::Transfer { .. } => "transfer",
            Command::AtsTest { .. } => "ats_test",
            Command::GenMode { .. } => "gen_mode",
            Command::Epo => "epo",
        }
    }

    /// This command's row of [`COMMANDS`].
    pub fn spec(&self) -> &'static CommandSpec {
        // Every variant has a row (tested).
        CommandSpec::find(self.name()).unwrap_or(&COMMANDS[0])
    }

    /// Whether an operator may send this command to a node of `kind`.
    pub fn applies_to(&self, kind: NodeKind) -> bool {
        self.spec().applies_to(kind)
    }

    /// The command that puts a node of `kind` in `mode` (`ups_mode` for a UPS, …);
    /// `None` when `mode` is not one of its kind's selector positions.
    pub fn set_mode(kind: NodeKind, mode: Mode) -> Option<Command> {
        let (spec, choices) = CommandSpec::mode_selector(kind)?;
        if !choices.contains(&mode) {
            return None;
        }
        let mut params = Map::new();
        params.insert(
            spec.params[0].name.into(),
            Value::String(mode.as_str().into()),
        );
        Command::from_params(spec, params).ok()
    }

    /// Builds an operator command from its row and its `params` object, whose
    /// declared parameters the codec has already checked against the row.
    pub(crate) fn from_params(
        spec: &'static CommandSpec,
        params: Map<String, Value>,
    ) -> Result<Command, CodecError> {
        let bool_param = |name| params.get(name).and_then(Value::as_bool).unwrap_or(false);
        let num_param = |name| params.get(name).and_then(Value::as_f64).unwrap_or(0.0);
        let text_param = |name| params.get(name).and_then(Value::as_str).unwrap_or("");
        // Checked against the row's choices by the codec.
        let mode_param = || Mode::parse(text_param("mode")).unwrap_or(Mode::Normal);
        Ok(match spec.name {
            "set_fault" => Command::SetFault {
                state: bool_param("state"),
            },
            "set_load" => Command::SetLoad {
                kw: num_param("kw"),
            },
            "reset" => Command::Reset,
            "open" => Command::Open,
            "close" => Command::Close,
            "lockout" => Command::Lockout {
                state: bool_param("state"),
            },
            "ups_mode" => Command::UpsMode { mode: mode_param() },
            "ats_mode" => Command::AtsMode { mode: mode_param() },
            "transfer" => Command::Transfer {
                to: text_param("to").into(),
            },
            "ats_test" => Command::AtsTest {
                state: bool_param("state"),
            },
            "gen_mode" => Command::GenMode { mode: mode_param() },
            "epo" => Command::Epo,
            // `update` is decoded straight into its params by the codec.
            other => return Err(CodecError::UnknownCommand(other.into())),
        })
    }

    /// The `params` object on the wire.
    pub(crate) fn params(&self) -> Result<Value, CodecError> {
        let mut map = Map::new();
        match self {
            Command::SetFault { state }
            | Command::Lockout { state }
            | Command::AtsTest { state } => {
                map.insert("state".into(), Value::Bool(*state));
            }
            Command::UpsMode { mode } | Command::AtsMode { mode } | Command::GenMode { mode } => {
                map.insert("mode".into(), Value::String(mode.as_str().into()));
            }
            Command::Transfer { to } => {
                map.insert("to".into(), Value::String(to.clone()));
            }
            Command::SetLoad { kw } => {
                let n = serde_json::Number::from_f64(*kw)
                    .ok_or(CodecError::NonFinite { field: Some("kw") })?;
                map.insert("kw".into(), Value::Number(n));
            }
            Command::Reset | Command::Open | Command::Close | Command::Epo => {}
            Command::Update(update) => {
                return serde_json::to_value(update)
                    .map_err(|e| CodecError::EncodeFailed(e.to_string()));
            }
        }
        Ok(Value::Object(map))
    }
}
