//! Winter River reliability analysis: which single failure drops IT load, is this
//! really 2N, how many hours of downtime a year to expect, what if the battery were
//! half the size — answered from one topology file, by simulation, reproducibly.
//!
//! - [`reliability`]: MTBF / MTTR / fail-to-start figures per kind and per node, read
//!   from the topology file next to the simulator's parameters.
//! - [`outcome`]: one failure simulated on a healthy site (the building block).
//! - [`contingency`]: N-1, generators failing to start, pruned N-2, redundancy per
//!   stage.
//! - [`maintenance`]: concurrent maintainability — each component taken out as is or
//!   through its maintenance position, and what single failure drops IT load then.
//! - [`procedure`]: a procedure's exposure — for each interval between its steps,
//!   the single failures that would drop IT load from the state it leaves the site in.
//! - [`availability`]: event-driven Monte Carlo with the simulator as the oracle.
//! - [`sweep`]: a scenario run over combinations of parameter values.
//! - [`report`]: text, Markdown, JSON and self-contained HTML, each with the SHA-256 of
//!   its canonical inputs and the program version.
//!
//! Pure: no I/O, no clock. Threads (std only) share the independent simulations out;
//! every result is the same whatever the thread count.

pub mod availability;
pub mod contingency;
pub mod maintenance;
pub mod outcome;
pub mod procedure;
pub mod reliability;
pub mod report;
pub mod svg;
pub mod sweep;

pub use availability::{AvailabilityConfig, AvailabilityResult, Estimate};
pub use contingency::{Case, Contingencies, ContingencyConfig};
pub use outcome::{
    Outcome, RunConfig, SetupError, simulate_failure, simulate_failure_after, simulate_failure_from,
};
pub use procedure::{ExposureConfig, ProcedureExposure};
pub use reliability::{AnalysisError, Reliability, Site, default_for, load_site};

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The program version written into every report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Threads to use by default: the machine's parallelism (at least 1).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f` over `items` on up to `threads` threads; results in `items` order.
pub(crate) fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    par_map_init(items, threads, || (), |_, t| f(t)).0
}

/// As [`par_map`], with a state per thread made by `init` (a cache, say); returns the
/// results in `items` order and the threads' states.
pub(crate) fn par_map_init<T: Sync, R: Send, S: Send>(
    items: &[T],
    threads: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> (Vec<R>, Vec<S>) {
    let threads = threads.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    let states: Mutex<Vec<S>> = Mutex::new(Vec::with_capacity(threads));
    let work = || {
        let mut state = init();
        let mut mine = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(k) else {
                break;
            };
            mine.push((k, f(&mut state, item)));
        }
        done.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
        states.lock().unwrap_or_else(|e| e.into_inner()).push(state);
    };
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|(k, _)| *k);
    let states = states.into_inner().unwrap_or_else(|e| e.into_inner());
    (done.into_iter().map(|(_, r)| r).collect(), states)
}
