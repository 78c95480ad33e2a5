//! A 24-hour scenario on the default topology at 100 ms steps (864,000 steps; issue
//! target ≤ 2 s wall), run on the bare simulator and through the engine core (each
//! command as an MQTT message, every publish encoded), in the same run so the ratio
//! is the cost of the live path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use winter_river_engine_core::scenario as engine_scenario;
use winter_river_sim::scenario::{self, RunOptions, Scenario};

/// A day with a one-hour utility outage (generator start, transfer, retransfer,
/// cooldown) and one expectation watched all day.
const DAY: &str = r#"
name = "a day with a one-hour utility outage"
duration_s = 86400
[[event]]
at_s = 3600
node = "util_a"
command = "set_fault"
params = { state = true }
[[event]]
at_s = 7200
node = "util_a"
command = "set_fault"
params = { state = false }
[[expect]]
at_s = 0
until_s = 86400
always = true
node = "srv_a"
field = "status"
equals = "ok"
"#;

fn day(c: &mut Criterion) {
    let sc = Scenario::from_toml_str(DAY, "day.toml", |_| Err("no topology file".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    let options = RunOptions::default();
    let mut group = c.benchmark_group("scenario_day_default_24h_100ms");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15));
    group.bench_function("simulator", |b| {
        b.iter(|| {
            let report = scenario::run(&sc, &options).unwrap();
            assert!(report.passed());
            black_box(report.steps)
        });
    });
    group.bench_function("engine", |b| {
        b.iter(|| {
            let report = engine_scenario::run(&sc, &options).unwrap();
            assert!(report.passed());
            black_box(report.steps)
        });
    });
    group.finish();
}

criterion_group!(benches, day);
criterion_main!(benches);
