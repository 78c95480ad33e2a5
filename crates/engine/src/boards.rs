//! Which boards are connected: from `<p>/<id>/availability` (and its Last Will) and
//! from status traffic, for boards such as the seed's plain clients that never
//! publish availability.

/// How long a status keeps a board without availability messages online \[ms\].
pub(crate) const STATUS_FRESH_MS: u64 = 15_000;

/// One board's link as the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoardState {
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

impl BoardState {
    /// Whether the board counts as connected at `now_ms`.
    pub fn is_online(self, now_ms: u64) -> bool {
        match self {
            BoardState::Online => true,
            BoardState::Talking { last_status_ms } => {
                now_ms.saturating_sub(last_status_ms) <= STATUS_FRESH_MS
            }
            BoardState::Unknown | BoardState::Offline => false,
        }
    }

    /// After a valid status from the board at `now_ms`.
    pub(crate) fn on_status(self, now_ms: u64) -> BoardState {
        match self {
            BoardState::Online => BoardState::Online,
            _ => BoardState::Talking {
                last_status_ms: now_ms,
            },
        }
    }
}
