//! Availability: the `online` / `offline` payload on `<p>/<id>/availability` and
//! `<p>/system/availability` (docs/protocol.md), retained and used as the Last Will.

use core::fmt;

/// Whether a node (or the engine) is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Availability {
    /// Published (retained) on connect.
    Online,
    /// Published by the broker as the Last Will, or on a clean shutdown.
    Offline,
}

impl Availability {
    /// The payload on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Online => "online",
            Availability::Offline => "offline",
        }
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
