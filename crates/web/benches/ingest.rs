//! The web's ingest: MQTT messages into the store, on a synthetic site of 1k and 10k
//! nodes. One iteration is one 2 s round of a live site: every board's status and
//! the engine's `update` of every node. `steady`: nothing changes but uptime and
//! sequence numbers (a healthy site); `changing`: every node's power moves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use winter_river_web::store::Store;

const ROUND_MS: u64 = 2_000;

fn ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("web_ingest");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for n in [1_000, 10_000] {
        let s = util::site(n);
        for (name, wiggle_step) in [("steady", 0.0), ("changing", 0.25)] {
            let mut store = Store::new(util::PREFIX);
            store.handle_message(1, "wr/system/topology", &s.topology);
            let mut round = 0u64;
            // Warm: every node known, with an update and a status.
            for _ in 0..3 {
                round += 1;
                feed(&mut store, round, &util::updates(&s, 0.0));
                feed(&mut store, round, &util::statuses(&s, round, 0.0));
            }
            group.bench_function(BenchmarkId::new(name, format!("{n}_nodes")), |b| {
                b.iter_batched(
                    || {
                        round += 1;
                        let wiggle = wiggle_step * (round % 2) as f64;
                        let mut msgs = util::updates(&s, wiggle);
                        msgs.extend(util::statuses(&s, round, wiggle));
                        (round, msgs)
                    },
                    |(round, msgs)| {
                        feed(&mut store, round, &msgs);
                        black_box(store.version())
                    },
                    BatchSize::PerIteration,
                );
            });
        }
    }
    group.finish();
}

/// Pours one round's messages into the store at the round's wall time.
fn feed(store: &mut Store, round: u64, msgs: &[(String, Vec<u8>)]) {
    let now_ms = round * ROUND_MS;
    for (topic, payload) in msgs {
        store.handle_message(now_ms, topic, payload);
    }
}

criterion_group!(benches, ingest);
criterion_main!(benches);
