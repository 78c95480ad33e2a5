//! What the broker refused or dropped, counted, and logged at most once per kind every
//! ten seconds (with the count since the last line), so a flood costs no log storm and
//! no loss goes unsaid.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Between two log lines of one kind.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The broker's counters since it started.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BrokerStats {
    /// Connections that completed CONNECT.
    pub connected: u64,
    /// Connections refused before or at CONNECT (limits, credentials, protocol, timeout).
    pub refused_connections: u64,
    /// PUBLISH packets received and routed.
    pub published: u64,
    /// Messages handed to subscribers' queues.
    pub delivered: u64,
    /// PUBLISH packets refused: larger than their topic's limit.
    pub refused_oversized: u64,
    /// PUBLISH packets refused: a topic with `+`, `#`, NUL or empty (the connection is
    /// closed, as MQTT 3.1.1 §4.7.3 asks).
    pub refused_invalid_topic: u64,
    /// PUBLISH packets or subscriptions the access rules refused.
    pub refused_access: u64,
    /// Messages dropped for a subscriber that stopped reading (its queue full for the
    /// slow-subscriber wait).
    pub dropped_slow: u64,
    /// Messages dropped from a persistent session's offline queue (full).
    pub dropped_offline: u64,
    /// Messages queued for persistent sessions whose client was away.
    pub queued_offline: u64,
}

/// A kind of event worth a rate-limited log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    RefusedConnection,
    Oversized,
    InvalidTopic,
    Access,
    Slow,
    Offline,
    Protocol,
}

const KINDS: usize = 7;

#[derive(Debug, Default)]
pub(crate) struct Stats {
    connected: AtomicU64,
    refused_connections: AtomicU64,
    published: AtomicU64,
    delivered: AtomicU64,
    refused_oversized: AtomicU64,
    refused_invalid_topic: AtomicU64,
    refused_access: AtomicU64,
    dropped_slow: AtomicU64,
    dropped_offline: AtomicU64,
    queued_offline: AtomicU64,
    /// Per kind: when it was last logged and how many since.
    logged: Mutex<[(Option<Instant>, u64); KINDS]>,
}

impl Stats {
    pub fn snapshot(&self) -> BrokerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BrokerStats {
            connected: get(&self.connected),
            refused_connections: get(&self.refused_connections),
            published: get(&self.published),
            delivered: get(&self.delivered),
            refused_oversized: get(&self.refused_oversized),
            refused_invalid_topic: get(&self.refused_invalid_topic),
            refused_access: get(&self.refused_access),
            dropped_slow: get(&self.dropped_slow),
            dropped_offline: get(&self.dropped_offline),
            queued_offline: get(&self.queued_offline),
        }
    }

    pub fn connected(&self) {
        self.connected.fetch_add(1, Ordering::Relaxed);
    }

    pub fn published(&self) {
        self.published.fetch_add(1, Ordering::Relaxed);
    }

    pub fn delivered(&self, n: u64) {
        self.delivered.fetch_add(n, Ordering::Relaxed);
    }

    pub fn queued_offline(&self, n: u64) {
        self.queued_offline.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts one event of `kind` (`n` messages) and logs `what` unless a line of this
    /// kind went out less than ten seconds ago.
    pub fn refuse(&self, kind: Kind, n: u64, what: impl FnOnce() -> String) {
        if n == 0 {
            return;
        }
        let counter = match kind {
            Kind::RefusedConnection | Kind::Protocol => &self.refused_connections,
            Kind::Oversized => &self.refused_oversized,
            Kind::InvalidTopic => &self.refused_invalid_topic,
            Kind::Access => &self.refused_access,
            Kind::Slow => &self.dropped_slow,
            Kind::Offline => &self.dropped_offline,
        };
        counter.fetch_add(n, Ordering::Relaxed);
        let now = Instant::now();
        let since = {
            let Ok(mut logged) = self.logged.lock() else {
                return;
            };
            let (last, count) = &mut logged[kind as usize];
            *count += n;
            if last.is_some_and(|at| now.duration_since(at) < LOG_EVERY) {
                return;
            }
            *last = Some(now);
            std::mem::take(count)
        };
        if since > n {
            tracing::warn!("{} ({since} such in the last {LOG_EVERY:?})", what());
        } else {
            tracing::warn!("{}", what());
        }
    }
}

/// A client id or topic as it may appear in a log line: at most 64 characters, control
/// characters escaped (a hostile client chooses them).
pub(crate) fn shown(text: &str) -> String {
    const MAX: usize = 64;
    let mut out: String = text
        .chars()
        .take(MAX)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_text_from_clients_is_bounded_and_escaped() {
        assert_eq!(shown("util_a"), "util_a");
        assert_eq!(shown("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
        let long = "x".repeat(10_000);
        assert_eq!(shown(&long).chars().count(), 65);
    }

    #[test]
    fn every_refusal_is_counted_even_when_not_logged() {
        let stats = Stats::default();
        for _ in 0..1000 {
            stats.refuse(Kind::Slow, 1, || "dropped".to_owned());
        }
        stats.refuse(Kind::Offline, 0, || unreachable!("nothing to say for 0"));
        assert_eq!(stats.snapshot().dropped_slow, 1000);
        assert_eq!(stats.snapshot().dropped_offline, 0);
    }
}
