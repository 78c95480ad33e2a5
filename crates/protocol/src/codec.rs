//! The JSON codec: every payload of DESIGN §2 encoded and decoded here, with the
//! validation rules of §2. Decoders never panic; each reason a payload is refused
//! is its own [`CodecError`] variant with a stable [`CodecError::reason`] label
//! for the engine's counters. Encoders refuse what the decoders would refuse, so
//! anything they emit decodes again.
//!
//! Decoding a payload from outside goes: size (≤ [`MAX_PAYLOAD_BYTES`]) → UTF-8 →
//! JSON → shape (must be an object of the right fields; unknown fields ignored) →
//! ids → values. serde_json refuses NaN / Infinity and numbers that overflow f64
//! (`1e999`); those are reported as [`CodecError::NonFinite`], not as not-JSON.

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::availability::Availability;
use crate::command::{Command, UpdateParams};
use crate::event::Event;
use crate::id::{IdError, validate_node_id};
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
    /// A node id that breaks the rules of DESIGN §2.
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
    /// A command name that is not one of DESIGN §2.
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
    if let Some(source) = &status.source {
        validate_node_id(source)?;
    }
    Ok(status)
}

/// Encodes a Status. Non-finite numbers are omitted; refuses a bad `node_id` or
/// `source`.
pub fn encode_status(status: &Status) -> Result<Vec<u8>, CodecError> {
    validate_node_id(&status.node_id)?;
    if let Some(source) = &status.source {
        validate_node_id(source)?;
    }
    to_json(status, MAX_PAYLOAD_BYTES)
}

// ---------------------------------------------------------------- Command

/// Wire form of a command as received; `params` is checked per command.
#[derive(Deserialize)]
struct WireCommandIn {
    command: String,
    #[serde(default)]
    params: Option<Value>,
}

/// Wire form of a command as sent.
#[derive(Serialize)]
struct WireCommandOut<'a, P: Serialize> {
    command: &'a str,
    params: P,
}

#[derive(Serialize)]
struct SetFaultParams {
    state: bool,
}

#[derive(Serialize)]
struct SetLoadParams {
    /// \[kW\]
    kw: f64,
}

#[derive(Serialize)]
struct NoParams {}

/// Decodes a Command (`{"command": NAME, "params": {...}}`) from a node's or the
/// engine's command topic. `params` may be absent for `reset`; `set_fault` needs a
/// bool `state`; `set_load` a number `kw` ≥ 0 \[kW\]; `update` an object of
/// [`UpdateParams`] fields (a `source` must be a valid id).
pub fn decode_command(payload: &[u8]) -> Result<Command, CodecError> {
    let wire: WireCommandIn = parse_object(payload, MAX_PAYLOAD_BYTES)?;
    match wire.command.as_str() {
        "set_fault" => {
            let params = params_object("set_fault", "state", wire.params)?;
            match params.get("state") {
                None | Some(Value::Null) => Err(CodecError::MissingParam {
                    command: "set_fault",
                    param: "state",
                }),
                Some(Value::Bool(state)) => Ok(Command::SetFault { state: *state }),
                Some(_) => Err(CodecError::WrongShape(
                    "`state` of set_fault must be a bool".to_string(),
                )),
            }
        }
        "set_load" => {
            let params = params_object("set_load", "kw", wire.params)?;
            match params.get("kw") {
                None | Some(Value::Null) => Err(CodecError::MissingParam {
                    command: "set_load",
                    param: "kw",
                }),
                Some(Value::Number(n)) => {
                    let kw = n
                        .as_f64()
                        .ok_or(CodecError::NonFinite { field: Some("kw") })?;
                    check_load_kw(kw)?;
                    Ok(Command::SetLoad { kw })
                }
                Some(_) => Err(CodecError::WrongShape(
                    "`kw` of set_load must be a number".to_string(),
                )),
            }
        }
        "reset" => match wire.params {
            None | Some(Value::Null) | Some(Value::Object(_)) => Ok(Command::Reset),
            Some(_) => Err(CodecError::WrongShape(
                "`params` of reset must be an object".to_string(),
            )),
        },
        "update" => {
            let params = params_object("update", "params", wire.params)?;
            let update: UpdateParams = serde_json::from_value(Value::Object(params))
                .map_err(|e| CodecError::WrongShape(e.to_string()))?;
            check_update(&update)?;
            Ok(Command::Update(update))
        }
        other => Err(CodecError::UnknownCommand(echo(other))),
    }
}

/// Encodes a Command in the seed's wire form (`params` always present, `{}` for
/// `reset`). Refuses a non-finite or negative `set_load` `kw`; non-finite
/// `update` values are omitted.
pub fn encode_command(command: &Command) -> Result<Vec<u8>, CodecError> {
    let name = command.name();
    match command {
        Command::SetFault { state } => to_json(
            &WireCommandOut {
                command: name,
                params: SetFaultParams { state: *state },
            },
            MAX_PAYLOAD_BYTES,
        ),
        Command::SetLoad { kw } => {
            check_load_kw(*kw)?;
            to_json(
                &WireCommandOut {
                    command: name,
                    params: SetLoadParams { kw: *kw },
                },
                MAX_PAYLOAD_BYTES,
            )
        }
        Command::Reset => to_json(
            &WireCommandOut {
                command: name,
                params: NoParams {},
            },
            MAX_PAYLOAD_BYTES,
        ),
        Command::Update(update) => {
            check_update(update)?;
            to_json(
                &WireCommandOut {
                    command: name,
                    params: update,
                },
                MAX_PAYLOAD_BYTES,
            )
        }
    }
}

/// The params object of a command that needs one; absent or `null` is reported as
/// missing `first` (its first required parameter).
fn params_object(
    command: &'static str,
    first: &'static str,
    params: Option<Value>,
) -> Result<Map<String, Value>, CodecError> {
    match params {
        None | Some(Value::Null) => Err(CodecError::MissingParam {
            command,
            param: first,
        }),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(CodecError::WrongShape(alloc::format!(
            "`params` of {command} must be an object"
        ))),
    }
}

/// A load's demand \[kW\]: finite and ≥ 0.
fn check_load_kw(kw: f64) -> Result<(), CodecError> {
    if !kw.is_finite() {
        return Err(CodecError::NonFinite { field: Some("kw") });
    }
    if kw < 0.0 {
        return Err(CodecError::OutOfRange { field: "kw" });
    }
    Ok(())
}

fn check_update(update: &UpdateParams) -> Result<(), CodecError> {
    if let Some(source) = &update.source {
        validate_node_id(source)?;
    }
    Ok(())
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
fn parse_object<T: DeserializeOwned>(payload: &[u8], max: usize) -> Result<T, CodecError> {
    if payload.len() > max {
        return Err(CodecError::TooLarge {
            len: payload.len(),
            max,
        });
    }
    let text = core::str::from_utf8(payload).map_err(|_| CodecError::NotUtf8)?;
    match serde_json::from_str::<T>(text) {
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
