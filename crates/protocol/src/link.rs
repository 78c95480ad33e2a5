//! Whether a board is connected, decided one way by every reader (engine, web):
//! from `<p>/<id>/availability` (and its Last Will), or from status traffic for
//! boards that never publish availability (the seed's plain clients).

/// How long a status keeps a board that publishes no availability online \[ms\].
pub const STATUS_FRESH_MS: u64 = 15_000;

/// One board's link as a reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoardLink {
    /// Nothing heard yet.
    #[default]
    Unknown,
    /// Retained `online`: connected until `offline` (its Last Will) arrives.
    Online,
    /// `offline` received.
    Offline,
    /// Heard through status messages only, last at this time \[ms\].
    Talking { last_status_ms: u64 },
}

impl BoardLink {
    /// Whether the board counts as connected at `now_ms`.
    pub fn is_online(self, now_ms: u64) -> bool {
        match self {
            BoardLink::Online => true,
            BoardLink::Talking { last_status_ms } => {
                now_ms.saturating_sub(last_status_ms) <= STATUS_FRESH_MS
            }
            BoardLink::Unknown | BoardLink::Offline => false,
        }
    }

    /// After a valid status from the board at `now_ms`.
    pub fn on_status(self, now_ms: u64) -> BoardLink {
        match self {
            BoardLink::Online => BoardLink::Online,
            _ => BoardLink::Talking {
                last_status_ms: now_ms,
            },
        }
    }

    /// After an availability message.
    pub fn on_availability(online: bool) -> BoardLink {
        if online {
            BoardLink::Online
        } else {
            BoardLink::Offline
        }
    }
}
