//! A board's identity and settings, checked once when its core is built.

use alloc::string::String;

use winter_river_protocol::{DEFAULT_PREFIX, IdError, NodeKind, TopicError};

/// Default time between periodic statuses \[ms\] (docs/protocol.md: `status_interval_s` 2).
pub const DEFAULT_STATUS_INTERVAL_MS: u64 = 2_000;

/// Who a board is and how often it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// Node id (`^[a-z0-9][a-z0-9_-]{0,31}$`, not `system`).
    pub id: String,
    pub kind: NodeKind,
    /// Topic prefix (`winter-river` by default).
    pub prefix: String,
    /// Time between periodic statuses \[ms\]; > 0.
    pub status_interval_ms: u64,
}

impl NodeConfig {
    /// A config with the default prefix and status interval.
    pub fn new(id: impl Into<String>, kind: NodeKind) -> NodeConfig {
        NodeConfig {
            id: id.into(),
            kind,
            prefix: String::from(DEFAULT_PREFIX),
            status_interval_ms: DEFAULT_STATUS_INTERVAL_MS,
        }
    }

    /// Checks the id, the prefix and the interval.
    pub fn validate(&self) -> Result<(), ConfigError> {
        winter_river_protocol::validate_node_id(&self.id).map_err(ConfigError::BadId)?;
        winter_river_protocol::validate_prefix(&self.prefix).map_err(ConfigError::BadPrefix)?;
        if self.status_interval_ms == 0 {
            return Err(ConfigError::ZeroInterval);
        }
        Ok(())
    }
}

/// Why a [`NodeConfig`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("bad node id: {0}")]
    BadId(IdError),
    #[error("bad topic prefix: {0}")]
    BadPrefix(TopicError),
    #[error("status interval must be more than 0 ms")]
    ZeroInterval,
}
