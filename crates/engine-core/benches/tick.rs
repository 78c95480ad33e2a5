//! One engine tick on a quiet synthetic site of 1k and 10k nodes: a 100 ms simulation
//! step, the deadband check of every node's `update`, the system status, and the
//! publishes that fall due (the refreshes, spread over 5 s), drained as a driver
//! would. What the live engine pays every 100 ms besides the broker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use winter_river_engine_core::{EngineConfig, EngineCore};
use winter_river_sim::Topology;
use winter_river_sim::topology::generate::{synthetic_racks_for_nodes, synthetic_site_toml};

const STEP_MS: u64 = 100;

fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_tick/synthetic");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for nodes in [1_000, 10_000] {
        let racks = synthetic_racks_for_nodes(nodes);
        let topology = Topology::from_toml_str(&synthetic_site_toml(racks), "synthetic").unwrap();
        let n = topology.len();
        let mut core = EngineCore::new(topology, EngineConfig::default()).unwrap();
        core.handle_connected(0);
        // Past the first round of updates (at most 50 a tick), into steady refreshes.
        let mut now_ms = 0;
        let warm_ticks = (n as u64 / 50 + 60).max(100);
        for _ in 0..warm_ticks {
            now_ms += STEP_MS;
            core.handle_tick(now_ms);
            while core.poll_outgoing().is_some() {}
        }
        group.bench_function(BenchmarkId::from_parameter(format!("{n}_nodes")), |b| {
            b.iter(|| {
                now_ms += STEP_MS;
                core.handle_tick(now_ms);
                let mut published = 0usize;
                while let Some(p) = core.poll_outgoing() {
                    published += p.payload.len();
                }
                black_box(published)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
