//! The JSON codec: every payload of docs/protocol.md encoded and decoded here, with
//! its validation rules. Decoders never panic; each reason a payload is refused
//! is its own [`CodecError`] variant with a stable [`CodecError::reason`] label
//! for the engine's counters. Encoders refuse what the decoders would refuse, so
//! anything they emit decodes again.
//!
//! Decoding a payload from outside goes: size (≤ [`MAX_PAYLOAD_BYTES`]) → UTF-8 →
//! JSON → shape (must be an object of the right fields; unknown fields ignored) →
//! ids → values. serde_json refuses NaN / Infinity and numbers that overflow f64
//! (`1e999`); those are reported as [`CodecError::NonFinite`], not as not-JSON.

use alloc::borrow::Cow;
use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::availability::Availability;
use crate::command::{Command, CommandSpec, ParamSpec, ParamType, UpdateParams};
use crate::drill::{Channel, DrillCommand, DrillStatus};
use crate::event::Event;
use crate::id::{IdError, validate_node_id};
use crate::mode::Mode;
use crate::status::Status;
use crate::system::SystemStatus;
use crate::topic::TopicError;
use crate::topology::TopologyJson;
use crate::{MAX_PAYLOAD_BYTES, SYSTEM_ID};

/// Largest topology JSON accepted \[bytes\]. The topology is published by the engine,
/// not by boards, and a synthetic site of 100k nodes is tens of MB, so the
/// 16 KiB limit for node traffic does not apply to it.
pub const MAX_TOPOLOGY_BYTES: usize = 64 * 1024 * 1024;

/// Longest offending text kept in an error \[bytes\], so a hostile payload cannot
/// flood the log through it.
const MAX_ECHO_BYTES: usize = 64;

/// Why a payload was refused (decode) or could not be written (encode). One
/// variant per reason; [`CodecError::reason`] is the counter label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Payload over the size limit \[bytes\].
    #[error("payload of {len} bytes is over the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    /// Payload is not UTF-8 (JSON must be).
    #[error("payload is not UTF-8")]
    NotUtf8,
    /// Payload is not JSON (syntax error, truncated, trailing data).
    #[error("payload is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not the expected object: a field of the wrong type, a required
    /// field missing, an unknown status word, an array instead of an object, …
    #[error("payload has the wrong shape: {0}")]
    WrongShape(String),
    /// NaN, ±Infinity, or a number that overflows f64 (`1e999`).
    #[error("non-finite number{}", InField(*.field))]
    NonFinite { field: Option<&'static str> },
    /// A node id that breaks the rules of docs/protocol.md ("Node ids").
    #[error("bad node id: {0}")]
    BadId(IdError),
    /// `system` used as a node id.
    #[error("node id `system` is reserved for the engine")]
    ReservedId,
    /// The payload's `node_id` differs from the id in its topic.
    #[error("payload node_id `{node_id}` differs from topic id `{topic_id}`")]
    IdMismatch { topic_id: String, node_id: String },
    /// The same node id twice in a topology.
    #[error("node id `{0}` appears twice")]
    DuplicateId(String),
    /// A node id that is valid but not in the topology (used by the engine for
    /// traffic from unknown boards, and by the topology codec for unknown feeds).
    #[error("unknown node `{0}`")]
    UnknownNode(String),
    /// A command name that is not one of docs/protocol.md.
    #[error("unknown command `{0}`")]
    UnknownCommand(String),
    /// A command without a parameter it needs (`set_fault` without `state`, …).
    #[error("command `{command}` needs parameter `{param}`")]
    MissingParam {
        command: &'static str,
        param: &'static str,
    },
    /// A finite number outside its allowed range (`set_load` with `kw` < 0).
    #[error("`{field}` is out of range")]
    OutOfRange { field: &'static str },
    /// An availability payload other than `online` / `offline`.
    #[error("availability must be `online` or `offline`")]
    BadAvailability,
    /// A topic that does not parse (for the engine, which reports topic and
    /// payload errors through the same counters).
    #[error("bad topic: {0}")]
    BadTopic(TopicError),
    /// serde_json failed to serialize (not expected with these types).
    #[error("could not encode: {0}")]
    EncodeFailed(String),
}

impl CodecError {
    /// Every reason label, in variant order: for registering counters up front.
    pub const REASONS: [&'static str; 16] = [
        "too_large",
        "not_utf8",
        "not_json",
        "wrong_shape",
        "non_finite",
        "bad_id",
        "reserved_id",
        "id_mismatch",
        "duplicate_id",
        "unknown_node",
        "unknown_command",
        "missing_param",
        "out_of_range",
        "bad_availability",
        "bad_topic",
        "encode_failed",
    ];

    /// Stable, snake_case label for counters and `/metrics` (`reason="too_large"`).
    pub fn reason(&self) -> &'static str {
        match self {
            CodecError::TooLarge { .. } => "too_large",
            CodecError::NotUtf8 => "not_utf8",
            CodecError::NotJson(_) => "not_json",
            CodecError::WrongShape(_) => "wrong_shape",
            CodecError::NonFinite { .. } => "non_finite",
            CodecError::BadId(_) => "bad_id",
            CodecError::ReservedId => "reserved_id",
            CodecError::IdMismatch { .. } => "id_mismatch",
            CodecError::DuplicateId(_) => "duplicate_id",
            CodecError::UnknownNode(_) => "unknown_node",
            CodecError::UnknownCommand(_) => "unknown_command",
            CodecError::MissingParam { .. } => "missing_param",
            CodecError::OutOfRange { .. } => "out_of_range",
            CodecError::BadAvailability => "bad_availability",
            CodecError::BadTopic(_) => "bad_topic",
            CodecError::EncodeFailed(_) => "encode_failed",
        }
    }
}

impl From<IdError> for CodecError {
    fn from(e: IdError) -> CodecError {
        match e {
            IdError::Reserved => CodecError::ReservedId,
            other => CodecError::BadId(other),
        }
    }
}

impl From<TopicError> for CodecError {
    fn from(e: TopicError) -> CodecError {
        CodecError::BadTopic(e)
    }
}

/// Formats ` in `field`` after a message when the field is known.
struct InField(Option<&'static str>);

impl fmt::Display for InField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(field) => write!(f, " in `{field}`"),
            None => Ok(()),
        }
    }
}

// ---------------------------------------------------------------- Status

/// Decodes a node's Status from `<p>/<topic_id>/status`: size, UTF-8, JSON, shape,
/// a valid `node_id` equal to `topic_id`, a valid `source` id if present.
pub fn decode_status(topic_id: &str, payload: &[u8]) -> Result<Status, CodecError> {
    let status: Status = parse_object(payload, MAX_PAYLOAD_BYTES)?;
    validate_node_id(&status.node_id)?;
    if status.node_id != topic_id {
        return Err(CodecError::IdMismatch {
            topic_id: echo(topic_id),
            node_id: status.node_id,
        });
    }
    if let Some(source) = &status.measured.source {
        validate_node_id(source)?;
    }
    check_link_fields(&status)?;
    Ok(status)
}

/// A board's link fields within what a real board can report (docs/protocol.md,
/// "Status"): `wifi_rssi` in −127…0 dBm, `uptime` at most a century, `seq` within
/// a signed 64-bit integer.
fn check_link_fields(status: &Status) -> Result<(), CodecError> {
    use crate::status::{MAX_SEQ, MAX_UPTIME_S, WIFI_RSSI_RANGE_DBM};
    if status
        .wifi_rssi
        .is_some_and(|r| !WIFI_RSSI_RANGE_DBM.contains(&r))
    {
        return Err(CodecError::OutOfRange { field: "wifi_rssi" });
    }
    if status.uptime.is_some_and(|u| u > MAX_UPTIME_S) {
        return Err(CodecError::OutOfRange { field: "uptime" });
    }
    if status.seq.is_some_and(|q| q > MAX_SEQ) {
        return Err(CodecError::OutOfRange { field: "seq" });
    }
    Ok(())
}

/// Encodes a Status. Non-finite numbers are omitted; refuses a bad `node_id` or
/// `source`.
pub fn encode_status(status: &Status) -> Result<Vec<u8>, CodecError> {
    validate_node_id(&status.node_id)?;
    if let Some(source) = &status.measured.source {
        validate_node_id(source)?;
    }
    check_link_fields(status)?;
    to_json(status, MAX_PAYLOAD_BYTES)
}

// ---------------------------------------------------------------- Command

/// A command's name alone, read first (the rest is skipped, not built).
#[derive(Deserialize)]
struct WireCommandName<'a> {
    #[serde(borrow)]
    command: Cow<'a, str>,
}

/// Wire form of an `update`: its params decoded straight into [`UpdateParams`] in
/// one pass, the hot path of every board and of the dashboard.
#[derive(Deserialize)]
struct WireUpdateIn<'a> {
    #[serde(borrow)]
    command: Cow<'a, str>,
    #[serde(default)]
    params: Option<UpdateParams>,
}

/// Wire form of a command as received; `params` is checked per command.
#[derive(Deserialize)]
struct WireCommandIn {
    command: String,
    #[serde(default)]
    params: Option<Value>,
    /// Who sent it (docs/protocol.md, "Drills"); any word, unknown ones read as `mqtt`.
    #[serde(default)]
    channel: Option<String>,
}

/// Wire form of a command as sent.
#[derive(Serialize)]
struct WireCommandOut<'a, P: Serialize> {
    command: &'a str,
    params: P,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<&'static str>,
}

/// Decodes a Command (`{"command": NAME, "params": {...}}`) from a node's or the
/// engine's command topic. The command's row of [`COMMANDS`](crate::command::COMMANDS)
/// says which parameters it needs: each must be present with its type (a number
/// finite and at least its minimum). `params` may be absent for a command without
/// parameters; `update` needs an object of [`UpdateParams`] fields (a `source`
/// must be a valid id).
pub fn decode_command(payload: &[u8]) -> Result<Command, CodecError> {
    decode_command_via(payload).map(|(command, _)| command)
}

/// The row of [`COMMANDS`](crate::command::COMMANDS) a command payload names
/// (`{"command": NAME, …}`), without checking its parameters; `None` when it names no
/// known command. For a gate that needs only which command it is (the broker's access
/// rules: a command the engine alone sends).
pub fn command_spec_of(payload: &[u8]) -> Option<&'static CommandSpec> {
    let name: WireCommandName<'_> = parse_object(payload, MAX_PAYLOAD_BYTES).ok()?;
    CommandSpec::find(&name.command)
}

/// [`decode_command`], with the channel the sender named (`mqtt` when it named none).
pub fn decode_command_via(payload: &[u8]) -> Result<(Command, Channel), CodecError> {
    // An update in one pass; anything else (or a payload that is no update) is
    // told apart by its name and decoded by its row below.
    match parse_object::<WireUpdateIn<'_>>(payload, MAX_PAYLOAD_BYTES) {
        Ok(wire) if wire.command == "update" => {
            let update = wire.params.ok_or(CodecError::MissingParam {
                command: "update",
                param: "params",
            })?;
            check_update(&update)?;
            return Ok((Command::Update(update), Channel::Mqtt));
        }
        Ok(_) => {}
        Err(e) => {
            let name: WireCommandName<'_> = parse_object(payload, MAX_PAYLOAD_BYTES)?;
            if name.command == "update" {
                return Err(e);
            }
        }
    }
    let wire: WireCommandIn = parse_object(payload, MAX_PAYLOAD_BYTES)?;
    let spec = CommandSpec::find(&wire.command)
        .ok_or_else(|| CodecError::UnknownCommand(echo(&wire.command)))?;
    let needs_object = !spec.params.is_empty();
    let params = match wire.params {
        None | Some(Value::Null) if needs_object => {
            return Err(CodecError::MissingParam {
                command: spec.name,
                param: spec.params.first().map_or("params", |p| p.name),
            });
        }
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(CodecError::WrongShape(alloc::format!(
                "`params` of {} must be an object",
                spec.name
            )));
        }
    };
    for param in spec.params {
        check_param(spec, param, params.get(param.name))?;
    }
    let channel = wire
        .channel
        .as_deref()
        .map_or(Channel::Mqtt, Channel::parse);
    Ok((Command::from_params(spec, params)?, channel))
}

/// One declared parameter against its type.
fn check_param(
    spec: &CommandSpec,
    param: &ParamSpec,
    value: Option<&Value>,
) -> Result<(), CodecError> {
    let (command, name) = (spec.name, param.name);
    let value = match value {
        None | Some(Value::Null) => {
            return Err(CodecError::MissingParam {
                command,
                param: name,
            });
        }
        Some(v) => v,
    };
    match param.ty {
        ParamType::Bool if value.is_boolean() => Ok(()),
        ParamType::Bool => Err(CodecError::WrongShape(alloc::format!(
            "`{name}` of {command} must be a bool"
        ))),
        ParamType::Number { min, max, .. } => {
            let Value::Number(n) = value else {
                return Err(CodecError::WrongShape(alloc::format!(
                    "`{name}` of {command} must be a number"
                )));
            };
            let v = n
                .as_f64()
                .ok_or(CodecError::NonFinite { field: Some(name) })?;
            check_number(name, v, min, max)
        }
        ParamType::Choice { choices } => match value.as_str().and_then(Mode::parse) {
            Some(mode) if choices.contains(&mode) => Ok(()),
            _ => {
                let words: alloc::vec::Vec<&str> = choices.iter().map(|m| m.as_str()).collect();
                Err(CodecError::WrongShape(alloc::format!(
                    "`{name}` of {command} must be one of {}",
                    words.join(", ")
                )))
            }
        },
        ParamType::NodeId => match value.as_str() {
            Some(id) if crate::id::validate_node_id(id).is_ok() => Ok(()),
            _ => Err(CodecError::WrongShape(alloc::format!(
                "`{name}` of {command} must be a node id"
            ))),
        },
    }
}

/// A number parameter: finite and in `min ..= max`.
fn check_number(field: &'static str, v: f64, min: f64, max: f64) -> Result<(), CodecError> {
    if !v.is_finite() {
        return Err(CodecError::NonFinite { field: Some(field) });
    }
    if v < min || v > max {
        return Err(CodecError::OutOfRange { field });
    }
    Ok(())
}

/// Encodes a Command in the seed's wire form (`params` always present, `{}` for a
/// command without parameters). Refuses what [`decode_command`] would refuse
/// (a non-finite or negative `set_load` `kw`, …); non-finite `update` values are
/// omitted.
pub fn encode_command(command: &Command) -> Result<Vec<u8>, CodecError> {
    encode(command, None)
}

/// [`encode_command`] with the sender's channel (`"channel": "cli"`).
pub fn encode_command_via(command: &Command, channel: Channel) -> Result<Vec<u8>, CodecError> {
    encode(command, Some(channel.as_str()))
}

fn encode(command: &Command, channel: Option<&'static str>) -> Result<Vec<u8>, CodecError> {
    let name = command.name();
    if let Command::Update(update) = command {
        // The hot path: serialized directly, not through a `Value`.
        check_update(update)?;
        return to_json(
            &WireCommandOut {
                command: name,
                params: update,
                channel,
            },
            MAX_PAYLOAD_BYTES,
        );
    }
    let params = command.params()?;
    let spec = command.spec();
    for param in spec.params {
        check_param(spec, param, params.get(param.name))?;
    }
    to_json(
        &WireCommandOut {
            command: name,
            params,
            channel,
        },
        MAX_PAYLOAD_BYTES,
    )
}

fn check_update(update: &UpdateParams) -> Result<(), CodecError> {
    if let Some(source) = &update.measured.source {
        validate_node_id(source)?;
    }
    Ok(())
}

impl Command {
    /// The command as an operator types it — `ups_mode mode=static_bypass`,
    /// `set_load kw=20.0`, `open` — its name and its parameters from its wire form,
    /// so every command of the table is written the same way in every report (the
    /// checklist, the timeline, `mop check`, the debrief).
    pub fn words(&self) -> String {
        let mut words = String::from(self.name());
        let params = match self.params() {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        for (name, value) in &params {
            words.push(' ');
            words.push_str(name);
            words.push('=');
            match value {
                Value::String(s) => words.push_str(s),
                other => words.push_str(&other.to_string()),
            }
        }
        words
    }
}

// ---------------------------------------------------------------- Drills

/// Largest `system/drill` payload \[bytes\]: the engine's own, with a checklist and
/// the latest timeline entries.
pub const MAX_DRILL_STATUS_BYTES: usize = 256 * 1024;

/// Decodes an instructor's command from `<p>/system/drill/command`:
/// `{"command": "start"}`, `{"command": "inject", "params": {"event": 2}}`, … (`params`
/// may be absent for `start` and `stop`).
pub fn decode_drill_command(payload: &[u8]) -> Result<DrillCommand, CodecError> {
    let mut wire: Map<String, Value> = parse_object(payload, MAX_PAYLOAD_BYTES)?;
    let name = match wire.get("command") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(CodecError::WrongShape(
                "a drill command needs `command` (start, stop, inject, load)".to_string(),
            ));
        }
    };
    if !matches!(wire.get("params"), Some(Value::Object(_))) {
        wire.insert("params".to_string(), Value::Object(Map::new()));
    }
    wire.retain(|k, _| k == "command" || k == "params");
    serde_json::from_value(Value::Object(wire)).map_err(|e| match name.as_str() {
        "start" | "stop" | "inject" | "load" => {
            CodecError::WrongShape(alloc::format!("drill command `{}`: {e}", echo(&name)))
        }
        _ => CodecError::UnknownCommand(echo(&name)),
    })
}

pub fn encode_drill_command(command: &DrillCommand) -> Result<Vec<u8>, CodecError> {
    to_json(command, MAX_PAYLOAD_BYTES)
}

/// Decodes the engine's retained `<p>/system/drill`.
pub fn decode_drill_status(payload: &[u8]) -> Result<DrillStatus, CodecError> {
    parse_object(payload, MAX_DRILL_STATUS_BYTES)
}

/// Encodes the drill's progress; non-finite clock values are refused (serde_json
/// writes them as `null`).
pub fn encode_drill_status(status: &DrillStatus) -> Result<Vec<u8>, CodecError> {
    if !status.clock_s.is_finite() || !status.duration_s.is_finite() {
        return Err(CodecError::NonFinite {
            field: Some("clock_s"),
        });
    }
    to_json(status, MAX_DRILL_STATUS_BYTES)
}

// ---------------------------------------------------------------- SystemStatus

/// Decodes the engine's SystemStatus from `<p>/system/status`; `node_id` must be
/// `system`.
pub fn decode_system_status(payload: &[u8]) -> Result<SystemStatus, CodecError> {
    let system: SystemStatus = parse_object(payload, MAX_PAYLOAD_BYTES)?;
    check_system_id(&system.node_id)?;
    Ok(system)
}

/// Encodes a SystemStatus. Optional numbers that are non-finite are omitted; a
/// non-finite required number (`it_kw`, …) is refused, as is a `node_id` other
/// than `system`.
pub fn encode_system_status(system: &SystemStatus) -> Result<Vec<u8>, CodecError> {
    check_system_id(&system.node_id)?;
    for (field, value) in [
        ("it_kw", system.it_kw),
        ("facility_kw", system.facility_kw),
        ("it_kw_lost", system.it_kw_lost),
        ("it_kwh_unserved", system.it_kwh_unserved),
        ("sim_time_s", system.sim_time_s),
    ] {
        if !value.is_finite() {
            return Err(CodecError::NonFinite { field: Some(field) });
        }
    }
    to_json(system, MAX_PAYLOAD_BYTES)
}

/// A SystemStatus's `node_id` must be `system` (its topic's id).
fn check_system_id(node_id: &str) -> Result<(), CodecError> {
    if node_id != SYSTEM_ID {
        return Err(CodecError::IdMismatch {
            topic_id: SYSTEM_ID.to_string(),
            node_id: echo(node_id),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------- Event

/// Decodes an Event from `<p>/system/events`; `node_id` is a valid node id or
/// `system` (site-wide events).
pub fn decode_event(payload: &[u8]) -> Result<Event, CodecError> {
    let event: Event = parse_object(payload, MAX_PAYLOAD_BYTES)?;
    check_event_id(&event.node_id)?;
    Ok(event)
}

/// Encodes an Event; refuses a non-finite `t` or a bad `node_id`.
pub fn encode_event(event: &Event) -> Result<Vec<u8>, CodecError> {
    check_event_id(&event.node_id)?;
    if !event.t.is_finite() {
        return Err(CodecError::NonFinite { field: Some("t") });
    }
    to_json(event, MAX_PAYLOAD_BYTES)
}

fn check_event_id(id: &str) -> Result<(), CodecError> {
    if id == SYSTEM_ID {
        return Ok(());
    }
    validate_node_id(id)?;
    Ok(())
}

// ---------------------------------------------------------------- Topology

/// Decodes the topology JSON from `<p>/system/topology` (limit
/// [`MAX_TOPOLOGY_BYTES`]): ids valid and unique, every feed a node of the file.
pub fn decode_topology(payload: &[u8]) -> Result<TopologyJson, CodecError> {
    let topology: TopologyJson = parse_object(payload, MAX_TOPOLOGY_BYTES)?;
    check_topology(&topology)?;
    Ok(topology)
}

/// Encodes a topology; non-finite parameters are omitted. Refuses bad, duplicate
/// or unknown ids.
pub fn encode_topology(topology: &TopologyJson) -> Result<Vec<u8>, CodecError> {
    check_topology(topology)?;
    to_json(topology, MAX_TOPOLOGY_BYTES)
}

fn check_topology(topology: &TopologyJson) -> Result<(), CodecError> {
    let mut ids = BTreeSet::new();
    for node in &topology.nodes {
        validate_node_id(&node.id)?;
        if !ids.insert(node.id.as_str()) {
            return Err(CodecError::DuplicateId(node.id.clone()));
        }
    }
    for node in &topology.nodes {
        for feed in &node.feeds {
            validate_node_id(feed)?;
            if !ids.contains(feed.as_str()) {
                return Err(CodecError::UnknownNode(feed.clone()));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- Availability

/// Decodes `online` / `offline`; surrounding ASCII whitespace (a shell's newline)
/// is tolerated.
pub fn decode_availability(payload: &[u8]) -> Result<Availability, CodecError> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(CodecError::TooLarge {
            len: payload.len(),
            max: MAX_PAYLOAD_BYTES,
        });
    }
    match payload.trim_ascii() {
        b"online" => Ok(Availability::Online),
        b"offline" => Ok(Availability::Offline),
        _ => Err(CodecError::BadAvailability),
    }
}

/// The availability payload: `online` or `offline`.
pub fn encode_availability(availability: Availability) -> &'static [u8] {
    availability.as_str().as_bytes()
}

// ---------------------------------------------------------------- Helpers

/// Size → UTF-8 → JSON → shape. The payload must be a JSON object (serde would
/// also accept an array for a struct).
fn parse_object<'a, T: Deserialize<'a>>(payload: &'a [u8], max: usize) -> Result<T, CodecError> {
    if payload.len() > max {
        return Err(CodecError::TooLarge {
            len: payload.len(),
            max,
        });
    }
    let text = core::str::from_utf8(payload).map_err(|_| CodecError::NotUtf8)?;
    match serde_json::from_str::<'a, T>(text) {
        Ok(value) => {
            if text.trim_start().starts_with('{') {
                Ok(value)
            } else {
                Err(CodecError::WrongShape("expected a JSON object".to_string()))
            }
        }
        Err(e) => Err(classify(text, &e)),
    }
}

/// Maps a serde_json error to its reason. Non-finite tokens come first: serde_json
/// reports `NaN` as a syntax error and `1e999` as "number out of range".
fn classify(text: &str, e: &serde_json::Error) -> CodecError {
    let message = e.to_string();
    if has_non_finite(text) || message.contains("number out of range") {
        return CodecError::NonFinite { field: None };
    }
    match e.classify() {
        serde_json::error::Category::Data => CodecError::WrongShape(message),
        _ => CodecError::NotJson(message),
    }
}

/// True if, outside JSON strings, the text holds `NaN`, `Infinity`, `inf` (any
/// case, any sign) or a number that overflows f64.
fn has_non_finite(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'"' {
            // Skip the string, escapes included.
            i += 1;
            while let Some(&c) = bytes.get(i) {
                i += if c == b'\\' { 2 } else { 1 };
                if c == b'"' {
                    break;
                }
            }
        } else if is_token_byte(b) {
            let start = i;
            while bytes.get(i).is_some_and(|&c| is_token_byte(c)) {
                i += 1;
            }
            if bytes.get(start..i).is_some_and(token_is_non_finite) {
                return true;
            }
        } else {
            i += 1;
        }
    }
    false
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
}

fn token_is_non_finite(token: &[u8]) -> bool {
    let unsigned = match token.first() {
        Some(b'+' | b'-') => token.get(1..).unwrap_or_default(),
        _ => token,
    };
    if [&b"nan"[..], b"infinity", b"inf"]
        .iter()
        .any(|word| unsigned.eq_ignore_ascii_case(word))
    {
        return true;
    }
    if !unsigned
        .first()
        .is_some_and(|b| b.is_ascii_digit() || *b == b'.')
    {
        return false;
    }
    // Tokens are ASCII, so this is valid UTF-8; a malformed number stays not-JSON.
    core::str::from_utf8(token)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .is_some_and(|v| !v.is_finite())
}

/// Serializes and checks the result against the size limit the decoder applies.
fn to_json<T: Serialize + ?Sized>(value: &T, max: usize) -> Result<Vec<u8>, CodecError> {
    let bytes = serde_json::to_vec(value).map_err(|e| CodecError::EncodeFailed(e.to_string()))?;
    if bytes.len() > max {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    Ok(bytes)
}

/// At most [`MAX_ECHO_BYTES`] of outside text, cut on a char boundary.
fn echo(text: &str) -> String {
    let mut end = text.len().min(MAX_ECHO_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_string()
}
