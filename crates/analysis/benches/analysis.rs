//! Analysis benchmarks (criterion): N-1 against site size (synthetic 2N sites), and the
//! availability Monte Carlo against simulated years on the shipped topologies. Figures
//! and targets: docs/benchmarks.md ("Analysis").
//!
//! Run with `cargo bench -p winter-river-analysis --bench analysis`; a subset with a
//! filter, e.g. `cargo bench -p winter-river-analysis --bench analysis -- n1/`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use winter_river_analysis::{
    AvailabilityConfig, ContingencyConfig, Site, availability, contingency, load_site,
};
use winter_river_sim::topology::DEFAULT_TOPOLOGY_TOML;
use winter_river_sim::topology::generate::{synthetic_node_count, synthetic_site_toml};

fn site(src: &str, name: &str) -> Site {
    load_site(src, name, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// N-1 (with generator fail-to-start cases and the side-loss runs of each stage) of
/// synthetic sites from 25 to ~3,500 nodes.
fn n1_synthetic(c: &mut Criterion) {
    let mut group = c.benchmark_group("n1/synthetic");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for racks in [10, 100, 1_000, 3_000] {
        let s = site(&synthetic_site_toml(racks), "synthetic");
        let nodes = synthetic_node_count(racks);
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{nodes}_nodes")),
            &s,
            |b, s| {
                b.iter(|| {
                    black_box(contingency::analyze(
                        &s.topology,
                        &ContingencyConfig::default(),
                    ))
                });
            },
        );
    }
    group.finish();
}

/// The Monte Carlo: simulated years of the default chain and of 2N.
fn availability_years(c: &mut Criterion) {
    let mut group = c.benchmark_group("availability");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1));
    let two_n_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../topologies/2n.toml");
    let two_n = std::fs::read_to_string(two_n_path).unwrap_or_else(|e| panic!("{two_n_path}: {e}"));
    let sites = [
        ("default", site(DEFAULT_TOPOLOGY_TOML, "default")),
        ("2n", site(&two_n, "2n")),
    ];
    for (name, s) in &sites {
        for years in [1_000u64, 10_000, 100_000] {
            group.bench_with_input(
                BenchmarkId::new(*name, format!("{years}_years")),
                &years,
                |b, &years| {
                    b.iter(|| {
                        black_box(availability::simulate(
                            s,
                            &AvailabilityConfig {
                                years,
                                ..AvailabilityConfig::default()
                            },
                        ))
                    });
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, n1_synthetic, availability_years);
criterion_main!(benches);
