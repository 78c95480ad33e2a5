//! Simulator benchmarks (criterion): step time against site size, simulated seconds per
//! wall second for the shipped topologies, a 24 h scenario-style run, and the cost of
//! generating and parsing large synthetic sites. Figures and targets: docs/benchmarks.md.
//!
//! Run with `cargo bench -p winter-river-sim --bench step`; a subset with a filter, e.g.
//! `cargo bench -p winter-river-sim --bench step -- step/synthetic`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use winter_river_protocol::Command;
use winter_river_sim::topology::generate::{
    synthetic_node_count, synthetic_node_count_with_rooms, synthetic_racks_for_nodes,
    synthetic_racks_for_nodes_with_rooms, synthetic_site_toml, synthetic_site_with_rooms_toml,
};
use winter_river_sim::{Simulator, Topology};

/// Step length of every run here \[ms\] (the default of docs/physics.md).
const STEP_MS: u32 = 100;

/// Node counts of the synthetic sites stepped (the smallest site has 16 nodes).
const SITE_NODES: [usize; 4] = [10, 1_000, 10_000, 100_000];

fn hall_toml() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../topologies/hall.toml");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(src: &str, name: &str) -> Topology {
    Topology::from_toml_str(src, name).unwrap_or_else(|e| panic!("{e}"))
}

/// A simulator past its first steps (t = 0 settles the initial state).
fn warmed(topology: Topology) -> Simulator {
    let mut sim = Simulator::new(topology, STEP_MS);
    for _ in 0..10 {
        sim.step();
    }
    sim
}

/// One step of synthetic sites of ~10 to ~100k nodes; throughput is node-steps/s.
fn step_synthetic(c: &mut Criterion) {
    let mut group = c.benchmark_group("step/synthetic");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for target in SITE_NODES {
        let racks = synthetic_racks_for_nodes(target);
        let nodes = synthetic_node_count(racks);
        let mut sim = warmed(parse(&synthetic_site_toml(racks), "synthetic"));
        group.throughput(Throughput::Elements(nodes as u64));
        group.bench_function(BenchmarkId::from_parameter(format!("{nodes}_nodes")), |b| {
            b.iter(|| {
                sim.step();
                black_box(sim.events().len());
            });
        });
    }
    // The largest site again with a room per 100 racks (docs/physics.md, "Rooms and
    // cooling"): the thermal pass's cost, measured in the same run.
    let racks = synthetic_racks_for_nodes_with_rooms(100_000);
    let nodes = synthetic_node_count_with_rooms(racks);
    let mut sim = warmed(parse(&synthetic_site_with_rooms_toml(racks), "synthetic"));
    group.throughput(Throughput::Elements(nodes as u64));
    group.bench_function(
        BenchmarkId::from_parameter(format!("{nodes}_nodes_with_rooms")),
        |b| {
            b.iter(|| {
                sim.step();
                black_box(sim.events().len());
            });
        },
    );
    group.finish();
}

/// Simulated seconds per wall second: each iteration simulates 10 s (100 steps of
/// 100 ms), so criterion's "elem/s" reads directly as simulated s per wall s.
fn realtime_factor(c: &mut Criterion) {
    const SIM_S_PER_ITER: u64 = 10;
    let steps = SIM_S_PER_ITER * 1000 / u64::from(STEP_MS);
    let mut group = c.benchmark_group("sim_s_per_wall_s");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(SIM_S_PER_ITER));
    let hall = hall_toml();
    for (name, topology) in [
        ("default", Topology::builtin_default()),
        ("hall", parse(&hall, "hall.toml")),
    ] {
        let mut sim = warmed(topology);
        group.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..steps {
                    sim.step();
                }
                black_box(sim.system_status().it_kw);
            });
        });
    }
    group.finish();
}

/// 24 simulated hours on the default topology at 100 ms (864,000 steps), driven as a
/// scenario is: commands at their times (a one-hour utility outage), the system
/// status and events read every step.
fn day_on_default(c: &mut Criterion) {
    const STEPS: u64 = 24 * 3600 * 1000 / STEP_MS as u64;
    const OUTAGE_AT: u64 = 3600 * 1000 / STEP_MS as u64;
    const RESTORE_AT: u64 = 2 * OUTAGE_AT;
    let topology = Topology::builtin_default();
    let mut group = c.benchmark_group("day");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("default_24h_100ms", |b| {
        b.iter(|| {
            let mut sim = Simulator::new(topology.clone(), STEP_MS);
            let mut events = 0usize;
            let mut lost_kwh = 0.0;
            for i in 0..STEPS {
                if i == OUTAGE_AT || i == RESTORE_AT {
                    let cmd = Command::SetFault {
                        state: i == OUTAGE_AT,
                    };
                    sim.command("util_a", &cmd)
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                sim.step();
                events += sim.events().len();
                lost_kwh = sim.system_status().it_kwh_unserved;
            }
            black_box((events, lost_kwh))
        });
    });
    group.finish();
}

/// Generating and parsing synthetic sites: the set-up cost of a scale run.
fn generate_and_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("topology");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for target in [1_000, 10_000, 100_000] {
        let racks = synthetic_racks_for_nodes(target);
        let nodes = synthetic_node_count(racks);
        group.throughput(Throughput::Elements(nodes as u64));
        group.bench_function(
            BenchmarkId::new("generate", format!("{nodes}_nodes")),
            |b| {
                b.iter(|| black_box(synthetic_site_toml(racks)));
            },
        );
        let src = synthetic_site_toml(racks);
        group.bench_function(BenchmarkId::new("parse", format!("{nodes}_nodes")), |b| {
            b.iter(|| black_box(parse(&src, "synthetic")));
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    step_synthetic,
    realtime_factor,
    day_on_default,
    generate_and_parse
);
criterion_main!(benches);
