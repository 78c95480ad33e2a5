//! MQTT topics (docs/protocol.md): building `<prefix>/<id>/<suffix>`, parsing a received
//! topic back into a [`Topic`], the engine's subscription filters, and the QoS /
//! retain flag each topic is published with.

use alloc::string::String;
use core::fmt;

use crate::SYSTEM_ID;
use crate::id::{IdError, validate_node_id};

/// One concrete topic of docs/protocol.md, without its prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `<p>/<id>/status`: node → all, Status JSON.
    NodeStatus(String),
    /// `<p>/<id>/command`: engine, operators → node, Command JSON.
    NodeCommand(String),
    /// `<p>/<id>/availability`: node and its Last Will, `online` / `offline`.
    NodeAvailability(String),
    /// `<p>/system/status`: engine, SystemStatus JSON.
    SystemStatus,
    /// `<p>/system/topology`: engine, the loaded topology as JSON.
    SystemTopology,
    /// `<p>/system/events`: engine, one Event JSON per message.
    SystemEvents,
    /// `<p>/system/command`: operators → engine, Command JSON.
    SystemCommand,
    /// `<p>/system/availability`: engine and its Last Will, `online` / `offline`.
    SystemAvailability,
    /// `<p>/system/drill`: engine, the loaded drill and its progress (retained).
    SystemDrill,
    /// `<p>/system/drill/command`: instructor → engine, a drill command.
    SystemDrillCommand,
}

/// MQTT quality of service level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Qos {
    /// QoS 0.
    AtMostOnce,
    /// QoS 1.
    AtLeastOnce,
    /// QoS 2 (not used by any Winter River topic; here for completeness).
    ExactlyOnce,
}

impl Qos {
    /// The level as the number MQTT uses (0, 1, 2).
    pub fn as_u8(self) -> u8 {
        match self {
            Qos::AtMostOnce => 0,
            Qos::AtLeastOnce => 1,
            Qos::ExactlyOnce => 2,
        }
    }
}

/// Why a topic (or a prefix) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// The topic does not start with `<prefix>/`.
    #[error("topic does not start with the prefix")]
    WrongPrefix,
    /// A concrete topic holds `+` or `#` (those belong in subscription filters only).
    #[error("topic holds an MQTT wildcard (`+` or `#`)")]
    Wildcard,
    /// Not exactly two levels (`<id>/<suffix>`) after the prefix (but
    /// `system/drill/command`).
    #[error("topic must be `<prefix>/<id>/<suffix>`")]
    WrongLevels,
    /// The last level is not one of `status`, `command`, `availability`,
    /// `topology`, `events`.
    #[error("unknown topic suffix")]
    UnknownSuffix,
    /// `topology` and `events` exist only under `system`.
    #[error("`topology` and `events` exist only under `system`")]
    SystemOnly,
    /// The id level is not a valid node id.
    #[error("bad node id in topic: {0}")]
    BadId(IdError),
    /// A prefix that is empty, has an empty level, or holds a wildcard or NUL.
    #[error("bad topic prefix")]
    BadPrefix,
}

impl Topic {
    /// Builds the full topic string, e.g. `winter-river/pdu_a/status`.
    ///
    /// The id is not checked here: build topics from validated ids (a node whose
    /// id is `system` would produce the engine's topic). [`Topic::parse`] of the
    /// result gives back `self` for every valid id.
    pub fn to_topic(&self, prefix: &str) -> String {
        let (id, suffix) = self.levels();
        let mut s = String::with_capacity(prefix.len() + id.len() + suffix.len() + 2);
        s.push_str(prefix);
        s.push('/');
        s.push_str(id);
        s.push('/');
        s.push_str(suffix);
        s
    }

    /// Parses a received topic. Refuses a wrong prefix, wildcards, extra or missing
    /// levels (`<p>/a/b/status`), an invalid id, an unknown suffix, and
    /// `topology` / `events` under a node id.
    pub fn parse(prefix: &str, topic: &str) -> Result<Topic, TopicError> {
        if topic.contains(['+', '#']) {
            return Err(TopicError::Wildcard);
        }
        let rest = topic
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or(TopicError::WrongPrefix)?;
        let (id, suffix) = rest.split_once('/').ok_or(TopicError::WrongLevels)?;
        if id == SYSTEM_ID && suffix == "drill/command" {
            return Ok(Topic::SystemDrillCommand);
        }
        if suffix.contains('/') {
            return Err(TopicError::WrongLevels);
        }
        if id == SYSTEM_ID {
            return match suffix {
                "status" => Ok(Topic::SystemStatus),
                "drill" => Ok(Topic::SystemDrill),
                "topology" => Ok(Topic::SystemTopology),
                "events" => Ok(Topic::SystemEvents),
                "command" => Ok(Topic::SystemCommand),
                "availability" => Ok(Topic::SystemAvailability),
                _ => Err(TopicError::UnknownSuffix),
            };
        }
        validate_node_id(id).map_err(TopicError::BadId)?;
        let id = String::from(id);
        match suffix {
            "status" => Ok(Topic::NodeStatus(id)),
            "command" => Ok(Topic::NodeCommand(id)),
            "availability" => Ok(Topic::NodeAvailability(id)),
            "topology" | "events" => Err(TopicError::SystemOnly),
            _ => Err(TopicError::UnknownSuffix),
        }
    }

    /// The node id of a node topic; `None` for the system topics.
    pub fn node_id(&self) -> Option<&str> {
        match self {
            Topic::NodeStatus(id) | Topic::NodeCommand(id) | Topic::NodeAvailability(id) => {
                Some(id)
            }
            _ => None,
        }
    }

    /// QoS this topic is published with (docs/protocol.md, "Topics").
    pub fn qos(&self) -> Qos {
        match self {
            Topic::NodeStatus(_) | Topic::SystemStatus => Qos::AtMostOnce,
            Topic::NodeCommand(_)
            | Topic::NodeAvailability(_)
            | Topic::SystemTopology
            | Topic::SystemEvents
            | Topic::SystemCommand
            | Topic::SystemAvailability
            | Topic::SystemDrill
            | Topic::SystemDrillCommand => Qos::AtLeastOnce,
        }
    }

    /// Whether messages on this topic are retained (docs/protocol.md, "Topics"). Commands are
    /// never retained: a retained command would replay on every reconnect.
    pub fn retain(&self) -> bool {
        match self {
            Topic::NodeAvailability(_)
            | Topic::SystemStatus
            | Topic::SystemTopology
            | Topic::SystemAvailability
            | Topic::SystemDrill => true,
            Topic::NodeStatus(_)
            | Topic::NodeCommand(_)
            | Topic::SystemEvents
            | Topic::SystemCommand
            | Topic::SystemDrillCommand => false,
        }
    }

    /// (id level, suffix level).
    fn levels(&self) -> (&str, &'static str) {
        match self {
            Topic::NodeStatus(id) => (id, "status"),
            Topic::NodeCommand(id) => (id, "command"),
            Topic::NodeAvailability(id) => (id, "availability"),
            Topic::SystemStatus => (SYSTEM_ID, "status"),
            Topic::SystemTopology => (SYSTEM_ID, "topology"),
            Topic::SystemEvents => (SYSTEM_ID, "events"),
            Topic::SystemCommand => (SYSTEM_ID, "command"),
            Topic::SystemAvailability => (SYSTEM_ID, "availability"),
            Topic::SystemDrill => (SYSTEM_ID, "drill"),
            Topic::SystemDrillCommand => (SYSTEM_ID, "drill/command"),
        }
    }
}

/// Writes the topic without its prefix (`pdu_a/status`); for logs.
impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (id, suffix) = self.levels();
        write!(f, "{id}/{suffix}")
    }
}

/// Checks a configured prefix: non-empty, no empty level (`a//b`, leading or
/// trailing `/`), no `+`, `#` or NUL.
pub fn validate_prefix(prefix: &str) -> Result<(), TopicError> {
    if prefix.is_empty()
        || prefix.split('/').any(str::is_empty)
        || prefix.contains(['+', '#', '\0'])
    {
        return Err(TopicError::BadPrefix);
    }
    Ok(())
}

/// `<p>/+/status`: every node's status (also matches `<p>/system/status`, which
/// [`Topic::parse`] returns as [`Topic::SystemStatus`]).
pub fn status_filter(prefix: &str) -> String {
    filter(prefix, "status")
}

/// `<p>/+/command`: commands to every node (and `<p>/system/command`).
pub fn command_filter(prefix: &str) -> String {
    filter(prefix, "command")
}

/// `<p>/+/availability`: every node's availability (and the engine's own).
pub fn availability_filter(prefix: &str) -> String {
    filter(prefix, "availability")
}

fn filter(prefix: &str, suffix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + suffix.len() + 3);
    s.push_str(prefix);
    s.push_str("/+/");
    s.push_str(suffix);
    s
}

/// One MQTT message to publish (or a Last Will): the full topic, prefix included, the
/// payload, and the QoS and retain flag its topic calls for. What every sans-IO core
/// (node, engine) hands its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub topic: alloc::string::String,
    pub payload: alloc::vec::Vec<u8>,
    pub qos: Qos,
    pub retain: bool,
}
