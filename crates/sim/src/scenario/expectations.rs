//! Expectations followed step by step: which windows are open, what each has seen,
//! and the verdicts. Shared by the headless runner and live drills, which feed it the
//! simulator after every step with the time on their own clock.

use super::{Expect, TIME_EPS_S, Window};
use crate::field::FieldValue;
use crate::simulator::Simulator;

/// One expectation's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Index into [`super::Scenario::expects`].
    pub index: usize,
    pub passed: bool,
    /// The value that decided: at `at`, the value then; for `eventually`, the
    /// matching value or else the closest (numbers) / last (words) seen; for
    /// `always`, the first violating value or else the last seen.
    pub seen: FieldValue,
    /// When `seen` was taken \[s\]; `None` if the window held no step.
    pub seen_t_s: Option<f64>,
}

/// Progress of one expectation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Pending {
    done: bool,
    passed: bool,
    #[serde(with = "crate::snapshot::field_value")]
    seen: FieldValue,
    seen_t_s: Option<f64>,
    /// Distance of `seen` from holding, for `eventually` on numbers.
    #[serde(with = "crate::snapshot::lossless_f64")]
    best: f64,
}

impl Pending {
    fn new() -> Pending {
        Pending {
            done: false,
            passed: false,
            seen: FieldValue::Missing,
            seen_t_s: None,
            best: f64::INFINITY,
        }
    }

    /// Looks at one step inside the window.
    fn observe(&mut self, e: &Expect, value: FieldValue, t: f64) {
        let holds = e.holds(&value);
        match e.window {
            Window::At => {
                self.finish(holds, value, t);
            }
            Window::Eventually { .. } => {
                if holds {
                    self.finish(true, value, t);
                } else {
                    let d = e.distance(&value).unwrap_or(f64::INFINITY);
                    // Numbers: keep the closest; anything else: keep the last.
                    if d < self.best || d == f64::INFINITY {
                        self.best = d;
                        self.seen = value;
                        self.seen_t_s = Some(t);
                    }
                }
            }
            Window::Always { .. } => {
                if holds {
                    self.passed = true;
                    self.seen = value;
                    self.seen_t_s = Some(t);
                } else {
                    self.finish(false, value, t);
                }
            }
        }
    }

    fn finish(&mut self, passed: bool, value: FieldValue, t: f64) {
        self.done = true;
        self.passed = passed;
        self.seen = value;
        self.seen_t_s = Some(t);
    }
}

/// Every expectation of a scenario, followed step by step (serializable: a live
/// drill's progress is kept in the engine's state file).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Expectations {
    /// By start time, file order among equal times.
    order: Vec<usize>,
    next: usize,
    /// Those whose window is open.
    active: Vec<usize>,
    pending: Vec<Pending>,
}

impl Expectations {
    pub fn new(expects: &[Expect]) -> Expectations {
        let mut order: Vec<usize> = (0..expects.len()).collect();
        order.sort_by(|&a, &b| expects[a].at_s.total_cmp(&expects[b].at_s));
        Expectations {
            order,
            next: 0,
            active: Vec::new(),
            pending: expects.iter().map(|_| Pending::new()).collect(),
        }
    }

    /// Looks at the simulator after a step; `t` is the time on the expectations'
    /// clock (the scenario's time, or a drill's clock) \[s\]. `expects` must be
    /// the slice this was made for.
    pub fn observe(&mut self, expects: &[Expect], sim: &Simulator, t: f64) {
        while self.next < self.order.len() && expects[self.order[self.next]].at_s <= t + TIME_EPS_S
        {
            self.active.push(self.order[self.next]);
            self.next += 1;
        }
        if self.active.is_empty() {
            return;
        }
        let pending = &mut self.pending;
        self.active.retain(|&i| {
            let e = &expects[i];
            let p = &mut pending[i];
            if e.window != Window::At && t > e.end_s() + TIME_EPS_S {
                // Window closed between steps.
                p.done = true;
                return false;
            }
            p.observe(e, e.value_in(sim), t);
            if e.window != Window::At && t + TIME_EPS_S >= e.end_s() {
                p.done = true;
            }
            !p.done
        });
    }

    /// Expectation `i` so far: `None` while its window is open or ahead, else
    /// whether it held.
    pub fn decided(&self, i: usize) -> Option<bool> {
        let p = &self.pending[i];
        p.done.then_some(p.passed && p.seen_t_s.is_some())
    }

    /// One verdict per expectation, in file order, as if the run ended now.
    pub fn verdicts(&self) -> Vec<Verdict> {
        self.pending
            .iter()
            .enumerate()
            .map(|(index, p)| Verdict {
                index,
                // An `always` window that saw no step, or any unfinished check, fails.
                passed: p.passed && p.seen_t_s.is_some(),
                seen: p.seen.clone(),
                seen_t_s: p.seen_t_s,
            })
            .collect()
    }
}
