//! Reconnect policy (Wi-Fi or broker lost): exponential backoff with a cap and
//! full jitter, as a pure state machine. Time is passed in and the jitter comes
//! from a xorshift generator seeded by the caller, so a run is reproducible in
//! tests and boards seeded differently (e.g. from their MAC) do not reconnect in
//! lockstep after the broker restarts.

/// First ceiling \[ms\].
pub const DEFAULT_BASE_MS: u64 = 500;
/// Largest ceiling \[ms\].
pub const DEFAULT_CAP_MS: u64 = 30_000;

/// Replaces a zero seed, which xorshift would never leave.
const ZERO_SEED_SUBSTITUTE: u64 = 0x9E37_79B9_7F4A_7C15;

/// Backoff state. After the n-th consecutive failure (n from 0) the next attempt
/// waits a delay drawn uniformly from `[0, min(cap, base · 2ⁿ)]` ms ("full
/// jitter"); a success starts over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    base_ms: u64,
    cap_ms: u64,
    failures: u32,
    rng: u64,
    retry_at_ms: Option<u64>,
}

impl Backoff {
    /// 0.5 s doubling up to 30 s.
    pub fn new(seed: u64) -> Backoff {
        Backoff::with_bounds(DEFAULT_BASE_MS, DEFAULT_CAP_MS, seed)
    }

    /// Custom bounds \[ms\]; `base_ms` is at least 1 and `cap_ms` at least `base_ms`.
    pub fn with_bounds(base_ms: u64, cap_ms: u64, seed: u64) -> Backoff {
        let base_ms = base_ms.max(1);
        Backoff {
            base_ms,
            cap_ms: cap_ms.max(base_ms),
            failures: 0,
            rng: if seed == 0 {
                ZERO_SEED_SUBSTITUTE
            } else {
                seed
            },
            retry_at_ms: None,
        }
    }

    /// An attempt failed (or a working link dropped) at `now_ms`: draws the delay
    /// and returns when to try again \[ms\].
    pub fn on_failure(&mut self, now_ms: u64) -> u64 {
        let ceiling = self.ceiling_ms();
        let delay_ms = self.next_random() % ceiling.saturating_add(1);
        self.failures = self.failures.saturating_add(1);
        let at = now_ms.saturating_add(delay_ms);
        self.retry_at_ms = Some(at);
        at
    }

    /// Connected: the next failure starts from the base again.
    pub fn on_success(&mut self) {
        self.failures = 0;
        self.retry_at_ms = None;
    }

    /// Whether an attempt may be made at `now_ms`.
    pub fn can_attempt(&self, now_ms: u64) -> bool {
        self.retry_at_ms.is_none_or(|at| now_ms >= at)
    }

    /// When the next attempt may be made \[ms\]; `None` if at once.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.retry_at_ms
    }

    /// Consecutive failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Largest delay the next failure can draw \[ms\]: `min(cap, base · 2^failures)`.
    pub fn ceiling_ms(&self) -> u64 {
        let doubled = 1u64
            .checked_shl(self.failures)
            .and_then(|factor| self.base_ms.checked_mul(factor))
            .unwrap_or(u64::MAX);
        doubled.min(self.cap_ms)
    }

    /// xorshift64 (Marsaglia 2003, shifts 13/7/17).
    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }
}
