//! The shared description as one JSON document, served by the dashboard at
//! `GET /api/schema` (docs/api.md): kinds, commands, status words, fields, event
//! names and sources. The dashboard builds its labels, panels and controls from
//! it and keeps no list of its own.

use alloc::vec::Vec;
use serde::Serialize;

use crate::command::{COMMANDS, CommandSpec};
use crate::drill::DrillWords;
use crate::event::EventKind;
use crate::field::FieldSpec;
use crate::kind::{KindSpec, NodeKind, NodeState, StateSpec};
use crate::kinds::KINDS;
use crate::measurements::Measurements;
use crate::mode::{Breaker, BreakerSpec, Mode, ModeSpec};
use crate::status::IDENTITY_AND_LINK_FIELDS;
use crate::system::{Source, SystemStatus};
use crate::thermal::{AshraeClass, Band, BandSpec, ClassSpec};

/// The whole description.
#[derive(Debug, Clone, Serialize)]
pub struct Schema {
    pub kinds: Vec<KindEntry>,
    pub commands: &'static [CommandSpec],
    pub states: Vec<StateSpec>,
    /// Status fields: identity and link, then the measurements.
    pub status_fields: Vec<FieldSpec>,
    /// SystemStatus fields but the `nodes_<state>` counts.
    pub system_fields: &'static [FieldSpec],
    pub events: Vec<&'static str>,
    pub sources: Vec<&'static str>,
    /// Every mode word: label, whether it is its kind's normal position, the risk.
    pub modes: Vec<ModeSpec>,
    /// Every breaker position.
    pub breakers: Vec<BreakerSpec>,
    /// Live drills' words: drill states, step states, verdicts, channels.
    pub drill: DrillWords,
    /// Rooms' ASHRAE classes and their temperature limits.
    pub classes: Vec<ClassSpec>,
    /// Where a temperature is against its class (`normal`, `high`, `critical`),
    /// with the tone each is shown in.
    pub bands: Vec<BandSpec>,
}

/// One kind with the commands that apply to it.
#[derive(Debug, Clone, Serialize)]
pub struct KindEntry {
    #[serde(flatten)]
    pub spec: &'static KindSpec,
    /// Names of the commands an operator may send to a node of this kind.
    pub commands: Vec<&'static str>,
}

impl Schema {
    pub fn new() -> Schema {
        Schema {
            kinds: KINDS
                .iter()
                .map(|spec| KindEntry {
                    spec,
                    commands: commands_for(spec.kind),
                })
                .collect(),
            commands: COMMANDS,
            states: NodeState::ALL.iter().map(|s| s.spec()).collect(),
            status_fields: IDENTITY_AND_LINK_FIELDS
                .iter()
                .chain(Measurements::FIELDS)
                .copied()
                .collect(),
            system_fields: SystemStatus::FIELDS,
            events: EventKind::ALL.iter().map(|e| e.as_str()).collect(),
            sources: Source::ALL.iter().map(|s| s.as_str()).collect(),
            modes: Mode::ALL.iter().map(|m| m.spec()).collect(),
            breakers: Breaker::ALL.iter().map(|b| b.spec()).collect(),
            drill: DrillWords::new(),
            classes: AshraeClass::ALL.iter().map(|c| c.spec()).collect(),
            bands: Band::ALL.iter().map(|b| b.spec()).collect(),
        }
    }
}

impl Default for Schema {
    fn default() -> Schema {
        Schema::new()
    }
}

fn commands_for(kind: NodeKind) -> Vec<&'static str> {
    COMMANDS
        .iter()
        .filter(|c| c.applies_to(kind))
        .map(|c| c.name)
        .collect()
}
