//! One `/metrics` render (the OpenMetrics text a Prometheus scrape gets) of a
//! synthetic site of 1k and 10k nodes, every node with its values and status.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use winter_river_web::store::Store;

fn metrics(c: &mut Criterion) {
    let mut group = c.benchmark_group("web_metrics");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for n in [1_000, 10_000] {
        let s = util::site(n);
        let mut store = Store::new(util::PREFIX);
        store.handle_message(1, "wr/system/topology", &s.topology);
        for (topic, payload) in util::updates(&s, 0.0)
            .into_iter()
            .chain(util::statuses(&s, 1, 0.0))
        {
            store.handle_message(2_000, &topic, &payload);
        }
        store.handle_message(2_000, "wr/system/status", &util::system_status(n));
        group.bench_function(BenchmarkId::new("render", format!("{n}_nodes")), |b| {
            b.iter(|| black_box(winter_river_web::metrics_text(&store).len()));
        });
    }
    group.finish();
}

criterion_group!(benches, metrics);
criterion_main!(benches);
