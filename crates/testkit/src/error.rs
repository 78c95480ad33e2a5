//! The test kit's one error type: what failed, and what was seen while waiting.

use std::time::Duration;

/// Why a helper gave up. Each variant says what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A wait ran out; `seen` summarises what did arrive.
    #[error("timed out after {waited:?} waiting for {what}; {seen}")]
    Timeout {
        what: String,
        waited: Duration,
        seen: String,
    },
    /// A file, socket or process operation failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// A subprocess ended when it should still run, or failed.
    #[error("{what}")]
    Process { what: String },
    /// Mosquitto is not installed.
    #[error(
        "mosquitto not found on PATH (install it: apt-get install -y mosquitto mosquitto-clients; scripts/test does)"
    )]
    MosquittoMissing,
    /// A live site (feature `site`) could not start: its broker, topology, engine
    /// or boards.
    #[error("{what}")]
    Site { what: String },
    /// The MQTT link closed or refused a request.
    #[error("mqtt client {client}: {what}")]
    Mqtt { client: String, what: String },
}

impl TestkitError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> TestkitError {
        TestkitError::Io {
            what: what.into(),
            source,
        }
    }
}
