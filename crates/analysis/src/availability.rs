//! Availability by Monte Carlo, jumping from event to event.
//!
//! The model is a set of components that fail and are repaired at random
//! (exponential times with each component's MTBF and MTTR), generators that may fail to
//! start when demanded, and the simulator as the oracle of what a set of failed
//! components does to the IT load. Time jumps from one event to the next — a failure, a
//! repair, or a consequence the oracle predicted (a battery running out, a generator
//! picking up after its timers) — and never steps through the years.
//!
//! The oracle: for a set of failed components, [`simulate_failure`] runs the simulator
//! (1 s steps) from a healthy, settled site with the whole set failing at once, until the
//! site settles. Its server power changes (at once, after the ride-through, back after
//! the generator) are cached per failed set, so the simulator runs once per distinct set.
//! A server that its own thermal protection stops (a room that lost its cooling) is
//! IT lost like one without power, and is counted apart as well; it stays down
//! until the failed set next changes (a repair), when it is taken to be restarted.
//!
//! Limits (docs/analysis.md): each change of the failed set is evaluated from a healthy
//! site with full batteries; a pending battery depletion is carried over to the next
//! change (whichever is sooner wins) but a partial recharge is not; generator fuel is
//! assumed to be replenished; failures are independent (no common cause).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use crate::outcome::{RunConfig, server_demand_kw, servers_of, simulate_failure};
use crate::par_map_init;
use crate::reliability::{H_PER_YEAR, Site};

/// Years simulated as one continuous history (each with its own random stream).
pub const CHUNK_YEARS: u64 = 10;

/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// How to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AvailabilityConfig {
    pub years: u64,
    pub seed: u64,
    /// Worker threads; the result does not depend on it.
    pub threads: usize,
    /// The oracle's simulator runs.
    pub run: RunConfig,
}

impl Default for AvailabilityConfig {
    fn default() -> Self {
        AvailabilityConfig {
            years: 1000,
            seed: 1,
            threads: crate::default_threads(),
            run: RunConfig {
                step_ms: 1000,
                prelude_s: 2.0,
                max_after_s: 48.0 * 3600.0,
            },
        }
    }
}

/// A mean with its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Estimate {
    /// Mean and normal-approximation 95 % interval of per-year samples.
    fn of(samples: &[f64]) -> Estimate {
        let n = samples.len() as f64;
        if samples.is_empty() {
            return Estimate {
                mean: 0.0,
                lo: 0.0,
                hi: 0.0,
            };
        }
        let mean = samples.iter().sum::<f64>() / n;
        let var = if samples.len() > 1 {
            samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        let half = Z95 * (var / n).sqrt();
        Estimate {
            mean,
            lo: mean - half,
            hi: mean + half,
        }
    }

    /// Whether `x` lies in the interval.
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

/// Per-year downtime histogram bin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    pub label: &'static str,
    pub years: u64,
}

/// What the Monte Carlo found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvailabilityResult {
    pub years: u64,
    pub seed: u64,
    /// Share of time with all IT load served [%].
    pub availability_pct: Estimate,
    /// Hours a year with any IT load unserved.
    pub downtime_h_per_year: Estimate,
    /// IT outages (any IT load lost) starting per year.
    pub outages_per_year: Estimate,
    /// IT energy not served [kWh/yr].
    pub unserved_kwh_per_year: Estimate,
    /// Of the downtime, hours a year with some server stopped by its own thermal
    /// protection (its room too hot).
    pub thermal_downtime_h_per_year: Estimate,
    /// Thermal outages: from no server stopped by heat to some, in all the years.
    pub thermal_outages: u64,
    /// Servers that name a room (0: the site has no thermal model).
    pub servers_in_rooms: usize,
    /// Component failures simulated per year (generator failures to start included).
    pub failures_per_year: f64,
    /// Generator starts demanded and how many failed.
    pub generator_demands: u64,
    pub generator_fail_to_start: u64,
    /// Distinct sets of failed components the simulator evaluated.
    pub distinct_states: usize,
    /// Years by IT downtime in that year.
    pub downtime_histogram: Vec<Bin>,
    /// Running estimate: (years simulated, availability %), one point per chunk.
    pub convergence: Vec<(u64, f64)>,
}

/// SplitMix64: small, fast, good enough for Monte Carlo, and reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Exponential with this mean (`inf` → never).
    pub fn exp(&mut self, mean: f64) -> f64 {
        if mean.is_infinite() {
            return f64::INFINITY;
        }
        -mean * (1.0 - self.f64()).ln()
    }
}

/// The oracle's answer for one failed set, in hours.
#[derive(Debug)]
struct Consequence {
    /// (hours after the change, server, live, stopped by heat), in time order.
    transitions: Vec<(f64, u32, bool, bool)>,
    gens_started: Vec<usize>,
}

type Cache = HashMap<Vec<u32>, Arc<Consequence>>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum What {
    Fail(u32),
    Repair(u32),
    Server {
        version: u64,
        server: u32,
        live: bool,
        thermal: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Ev {
    t_h: f64,
    seq: u64,
    /// Component version for Fail/Repair (stale ones are skipped).
    ver: u32,
    what: What,
}

impl PartialEq for Ev {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}
impl Eq for Ev {}
impl PartialOrd for Ev {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ev {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.t_h.total_cmp(&o.t_h).then(self.seq.cmp(&o.seq))
    }
}

/// Per-year tallies of one chunk.
#[derive(Debug, Default, Clone)]
struct Tally {
    downtime_h: Vec<f64>,
    unserved_kwh: Vec<f64>,
    outages: Vec<f64>,
    thermal_downtime_h: Vec<f64>,
    thermal_outages: u64,
    failures: u64,
    demands: u64,
    fts: u64,
}

struct Model<'a> {
    site: &'a Site,
    servers: Vec<usize>,
    demand_kw: Vec<f64>,
    run: RunConfig,
}

impl Model<'_> {
    fn consequence(&self, cache: &mut Cache, key: &[u32]) -> Arc<Consequence> {
        if let Some(c) = cache.get(key) {
            return Arc::clone(c);
        }
        let failed: Vec<usize> = key.iter().map(|&i| i as usize).collect();
        let o = simulate_failure(&self.site.topology, &failed, &self.run);
        let c = Arc::new(Consequence {
            transitions: o
                .transitions
                .iter()
                .map(|t| (t.after_s / 3600.0, t.server, t.live, t.thermal))
                .collect(),
            gens_started: o.gens_started,
        });
        cache.insert(key.to_vec(), Arc::clone(&c));
        c
    }
}

struct Chunk<'m, 'a> {
    model: &'m Model<'a>,
    rng: Rng,
    heap: BinaryHeap<Reverse<Ev>>,
    seq: u64,
    failed: Vec<bool>,
    comp_ver: Vec<u32>,
    live: Vec<bool>,
    /// By server: down because its thermal protection stopped it.
    hot: Vec<bool>,
    pending_drop: Vec<Option<f64>>,
    lost_kw: f64,
    /// Servers down.
    down: usize,
    /// Servers down by heat.
    down_hot: usize,
    version: u64,
    running_gens: Vec<usize>,
    tally: Tally,
}

impl Chunk<'_, '_> {
    fn push(&mut self, t_h: f64, ver: u32, what: What) {
        if t_h.is_finite() {
            self.seq += 1;
            self.heap.push(Reverse(Ev {
                t_h,
                seq: self.seq,
                ver,
                what,
            }));
        }
    }

    /// Adds `[a, b)` at the present IT loss to the per-year tallies.
    fn accumulate(&mut self, a: f64, b: f64, first_year: u64) {
        if self.lost_kw <= 0.0 || b <= a {
            return;
        }
        let mut t = a;
        while t < b {
            let y = (t / H_PER_YEAR).floor();
            let end = ((y + 1.0) * H_PER_YEAR).min(b);
            let k = (y as u64).saturating_sub(first_year) as usize;
            if let Some(d) = self.tally.downtime_h.get_mut(k) {
                *d += end - t;
                self.tally.unserved_kwh[k] += self.lost_kw * (end - t);
                if self.down_hot > 0 {
                    self.tally.thermal_downtime_h[k] += end - t;
                }
            }
            t = end;
        }
    }

    fn set_live(&mut self, s: usize, live: bool, thermal: bool, t_h: f64, first_year: u64) {
        let hot = !live && thermal;
        if self.hot[s] != hot {
            self.hot[s] = hot;
            if hot {
                if self.down_hot == 0 {
                    self.tally.thermal_outages += 1;
                }
                self.down_hot += 1;
            } else {
                self.down_hot -= 1;
            }
        }
        if self.live[s] == live {
            return;
        }
        let before = self.lost_kw;
        self.live[s] = live;
        let d = self.model.demand_kw[s];
        if live {
            self.down -= 1;
            self.lost_kw -= d;
        } else {
            self.down += 1;
            self.lost_kw += d;
        }
        if self.down == 0 {
            // No rounding residue once everything is back.
            self.lost_kw = 0.0;
        }
        if before <= 0.0 && self.lost_kw > 0.0 {
            let k = ((t_h / H_PER_YEAR).floor() as u64).saturating_sub(first_year) as usize;
            if let Some(o) = self.tally.outages.get_mut(k) {
                *o += 1.0;
            }
        }
    }

    fn key(&self) -> Vec<u32> {
        self.failed
            .iter()
            .enumerate()
            .filter(|(_, f)| **f)
            .map(|(i, _)| i as u32)
            .collect()
    }

    fn fail(&mut self, c: usize, t_h: f64) {
        self.failed[c] = true;
        self.comp_ver[c] += 1;
        self.tally.failures += 1;
        let mttr = self.model.site.reliability[c].mttr_h;
        let r = t_h + self.rng.exp(mttr);
        self.push(r, self.comp_ver[c], What::Repair(c as u32));
    }

    /// The failed set changed at `t_h`: ask the oracle, draw generator starts, schedule
    /// the consequences.
    fn apply_state(&mut self, t_h: f64, cache: &mut Cache, first_year: u64) {
        let model = self.model;
        let cons = loop {
            let cons = model.consequence(cache, &self.key());
            let mut newly_failed = false;
            for &g in &cons.gens_started {
                if self.failed[g] || self.running_gens.contains(&g) {
                    continue;
                }
                self.tally.demands += 1;
                if self.rng.f64() < model.site.reliability[g].fail_to_start {
                    self.tally.fts += 1;
                    self.fail(g, t_h);
                    newly_failed = true;
                }
            }
            if !newly_failed {
                break cons;
            }
        };
        self.running_gens = cons.gens_started.clone();
        self.version += 1;
        let n = self.live.len();
        let mut now_live = vec![true; n];
        let mut now_hot = vec![false; n];
        let mut first_future: Vec<Option<usize>> = vec![None; n];
        for (k, &(dt, s, live, thermal)) in cons.transitions.iter().enumerate() {
            let s = s as usize;
            if dt <= 0.0 {
                now_live[s] = live;
                now_hot[s] = !live && thermal;
            } else if first_future[s].is_none() {
                first_future[s] = Some(k);
            }
        }
        let mut new_pending = vec![None; n];
        for (k, &(dt, s, live, thermal)) in cons.transitions.iter().enumerate() {
            let s = s as usize;
            if dt <= 0.0 {
                continue;
            }
            let mut at = t_h + dt;
            if first_future[s] == Some(k) && !live {
                // Still on battery from an earlier change: whichever runs out first.
                if now_live[s]
                    && self.live[s]
                    && let Some(d) = self.pending_drop[s]
                {
                    at = at.min(d.max(t_h));
                }
                new_pending[s] = Some(at);
            }
            self.push(
                at,
                0,
                What::Server {
                    version: self.version,
                    server: s as u32,
                    live,
                    thermal,
                },
            );
        }
        self.pending_drop = new_pending;
        for (s, &l) in now_live.iter().enumerate() {
            self.set_live(s, l, now_hot[s], t_h, first_year);
        }
    }

    fn run(&mut self, first_year: u64, years: u64, cache: &mut Cache) {
        let start_h = first_year as f64 * H_PER_YEAR;
        let end_h = (first_year + years) as f64 * H_PER_YEAR;
        let n = self.model.site.topology.len();
        for c in 0..n {
            let mtbf = self.model.site.reliability[c].mtbf_h;
            let t = start_h + self.rng.exp(mtbf);
            self.push(t, 0, What::Fail(c as u32));
        }
        let mut t_prev = start_h;
        while let Some(Reverse(ev)) = self.heap.pop() {
            if ev.t_h >= end_h {
                break;
            }
            self.accumulate(t_prev, ev.t_h, first_year);
            t_prev = ev.t_h;
            match ev.what {
                What::Fail(c) => {
                    let c = c as usize;
                    if ev.ver != self.comp_ver[c] || self.failed[c] {
                        continue;
                    }
                    self.fail(c, ev.t_h);
                    self.apply_state(ev.t_h, cache, first_year);
                }
                What::Repair(c) => {
                    let c = c as usize;
                    if ev.ver != self.comp_ver[c] {
                        continue;
                    }
                    self.failed[c] = false;
                    self.comp_ver[c] += 1;
                    let mtbf = self.model.site.reliability[c].mtbf_h;
                    let t = ev.t_h + self.rng.exp(mtbf);
                    self.push(t, self.comp_ver[c], What::Fail(c as u32));
                    self.apply_state(ev.t_h, cache, first_year);
                }
                What::Server {
                    version,
                    server,
                    live,
                    thermal,
                } => {
                    if version != self.version {
                        continue;
                    }
                    let s = server as usize;
                    if !live {
                        self.pending_drop[s] = None;
                    }
                    self.set_live(s, live, thermal, ev.t_h, first_year);
                }
            }
        }
        self.accumulate(t_prev, end_h, first_year);
    }
}

/// Runs the Monte Carlo. Deterministic for a seed whatever the thread count: years are
/// cut into chunks of [`CHUNK_YEARS`], each with its own random stream, and summed in
/// chunk order.
pub fn simulate(site: &Site, cfg: &AvailabilityConfig) -> AvailabilityResult {
    let servers = servers_of(&site.topology);
    let model = Model {
        demand_kw: server_demand_kw(&site.topology, &servers),
        servers,
        site,
        run: cfg.run,
    };
    let years = cfg.years.max(1);
    let chunks: Vec<(u64, u64)> = (0..years.div_ceil(CHUNK_YEARS))
        .map(|k| {
            let first = k * CHUNK_YEARS;
            (first, CHUNK_YEARS.min(years - first))
        })
        .collect();
    let n = site.topology.len();
    let (tallies, caches) = par_map_init(
        &chunks,
        cfg.threads.max(1),
        Cache::new,
        |cache, &(first, count)| {
            let mut chunk = Chunk {
                model: &model,
                rng: Rng::new(cfg.seed, first / CHUNK_YEARS),
                heap: BinaryHeap::new(),
                seq: 0,
                failed: vec![false; n],
                comp_ver: vec![0; n],
                live: vec![true; model.servers.len()],
                hot: vec![false; model.servers.len()],
                pending_drop: vec![None; model.servers.len()],
                lost_kw: 0.0,
                down: 0,
                down_hot: 0,
                version: 0,
                running_gens: Vec::new(),
                tally: Tally {
                    downtime_h: vec![0.0; count as usize],
                    unserved_kwh: vec![0.0; count as usize],
                    outages: vec![0.0; count as usize],
                    thermal_downtime_h: vec![0.0; count as usize],
                    ..Tally::default()
                },
            };
            chunk.run(first, count, cache);
            chunk.tally
        },
    );
    let distinct: HashSet<&Vec<u32>> = caches.iter().flat_map(|c| c.keys()).collect();

    let mut downtime = Vec::with_capacity(years as usize);
    let mut unserved = Vec::with_capacity(years as usize);
    let mut outages = Vec::with_capacity(years as usize);
    let mut thermal_downtime = Vec::with_capacity(years as usize);
    let mut thermal_outages = 0;
    let (mut failures, mut demands, mut fts) = (0, 0, 0);
    let mut convergence = Vec::with_capacity(tallies.len());
    let mut running_down = 0.0;
    for t in &tallies {
        downtime.extend_from_slice(&t.downtime_h);
        unserved.extend_from_slice(&t.unserved_kwh);
        outages.extend_from_slice(&t.outages);
        thermal_downtime.extend_from_slice(&t.thermal_downtime_h);
        thermal_outages += t.thermal_outages;
        failures += t.failures;
        demands += t.demands;
        fts += t.fts;
        running_down += t.downtime_h.iter().sum::<f64>();
        let y = downtime.len() as u64;
        convergence.push((y, 100.0 * (1.0 - running_down / (y as f64 * H_PER_YEAR))));
    }
    let down = Estimate::of(&downtime);
    let pct = |h: f64| 100.0 * (1.0 - h / H_PER_YEAR);
    let availability_pct = Estimate {
        mean: pct(down.mean),
        lo: pct(down.hi),
        hi: pct(down.lo),
    };
    let bins: [(&'static str, f64); 6] = [
        ("0", 0.0),
        ("≤ 1 min", 1.0 / 60.0),
        ("≤ 10 min", 10.0 / 60.0),
        ("≤ 1 h", 1.0),
        ("≤ 10 h", 10.0),
        ("> 10 h", f64::INFINITY),
    ];
    let downtime_histogram = bins
        .iter()
        .enumerate()
        .map(|(k, &(label, hi))| {
            let lo = if k == 0 {
                f64::NEG_INFINITY
            } else {
                bins[k - 1].1
            };
            let years = downtime
                .iter()
                .filter(|&&d| if k == 0 { d <= 0.0 } else { d > lo && d <= hi })
                .count() as u64;
            Bin { label, years }
        })
        .collect();
    AvailabilityResult {
        years,
        seed: cfg.seed,
        availability_pct,
        downtime_h_per_year: down,
        outages_per_year: Estimate::of(&outages),
        unserved_kwh_per_year: Estimate::of(&unserved),
        thermal_downtime_h_per_year: Estimate::of(&thermal_downtime),
        thermal_outages,
        servers_in_rooms: model
            .servers
            .iter()
            .filter(|&&i| site.topology.node(i).room.is_some())
            .count(),
        failures_per_year: failures as f64 / years as f64,
        generator_demands: demands,
        generator_fail_to_start: fts,
        distinct_states: distinct.len(),
        downtime_histogram,
        convergence,
    }
}

/// Availability of blocks in series (all needed): `A1 · A2 · …`.
pub fn series(a: &[f64]) -> f64 {
    a.iter().product()
}

/// Availability of blocks in parallel (any one enough): `1 − (1 − A1)(1 − A2)…`.
pub fn parallel(a: &[f64]) -> f64 {
    1.0 - a.iter().map(|x| 1.0 - x).product::<f64>()
}
