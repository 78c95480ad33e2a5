//! A stable-Rust fuzzer for Winter River's decoders of outside input (docs/fuzzing.md):
//! each [`Target`] has a seed corpus of real payloads and a property; [`fuzz`] feeds
//! it mutated seeds, catches a panic, and returns the input that caused it so it can
//! be saved and replayed.

pub mod mutate;
pub mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

pub use mutate::{Rng, mutate};
pub use targets::{TARGETS, Target, find};

/// A run's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub inputs: u64,
    /// Inputs the target accepted (decoded, parsed).
    pub accepted: u64,
    pub elapsed: Duration,
}

impl Stats {
    pub fn per_s(&self) -> f64 {
        self.inputs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Accepted inputs \[%\].
    pub fn accepted_pct(&self) -> f64 {
        100.0 * self.accepted as f64 / (self.inputs.max(1)) as f64
    }
}

/// An input that made a target panic.
#[derive(Debug, Clone)]
pub struct Crash {
    pub target: &'static str,
    pub input: Vec<u8>,
    /// The panic's message.
    pub message: String,
    /// Inputs tried before it.
    pub after: u64,
}

/// Runs `target` on its seeds first, then on `iters` mutated inputs drawn with
/// `seed`; stops at the first panic.
pub fn fuzz(target: &'static Target, iters: u64, seed: u64) -> Result<Stats, Crash> {
    let seeds = (target.seeds)();
    assert!(!seeds.is_empty(), "target {} has no seeds", target.name);
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let mut inputs = 0;
    let mut accepted = 0;
    // The seeds themselves must pass.
    let corpus = seeds.iter().cloned();
    let mutated = (0..iters).map(|_| mutate(&seeds, &mut rng));
    for input in corpus.chain(mutated) {
        match run_one(target, &input) {
            Ok(ok) => accepted += u64::from(ok),
            Err(message) => {
                return Err(Crash {
                    target: target.name,
                    input,
                    message,
                    after: inputs,
                });
            }
        }
        inputs += 1;
    }
    Ok(Stats {
        inputs,
        accepted,
        elapsed: start.elapsed(),
    })
}

/// One input: whether the target accepted it; `Err` holds the panic's message.
pub fn run_one(target: &Target, input: &[u8]) -> Result<bool, String> {
    catch_unwind(AssertUnwindSafe(|| (target.run)(input))).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

/// Silences the default panic message while fuzzing (a caught panic is reported as
/// a [`Crash`]); returns the previous hook's effect when dropped.
/// A panic hook, as `std::panic::take_hook` returns it.
type Hook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send>;

pub struct QuietPanics(Option<Hook>);

impl std::fmt::Debug for QuietPanics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QuietPanics")
    }
}

impl QuietPanics {
    pub fn new() -> QuietPanics {
        let old = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        QuietPanics(Some(old))
    }
}

impl Default for QuietPanics {
    fn default() -> Self {
        QuietPanics::new()
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if let Some(old) = self.0.take() {
            std::panic::set_hook(old);
        }
    }
}
