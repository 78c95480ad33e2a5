//! The fuzz targets' short run in CI (docs/fuzzing.md): every target's seeds and a
//! fixed budget of mutated inputs, deterministic, without a panic or a broken
//! property. The long run (≥ 1,000,000 inputs a target) is by hand.

use winter_river_fuzz::{QuietPanics, TARGETS, fuzz, run_one};

/// Inputs per target in CI; `WR_FUZZ_ITERS` overrides.
fn budget() -> u64 {
    std::env::var("WR_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000)
}

#[test]
fn every_target_survives_its_short_run() {
    let _quiet = QuietPanics::new();
    let mut failures = Vec::new();
    for t in TARGETS {
        match fuzz(t, budget(), 20261201) {
            Ok(stats) => {
                assert!(stats.inputs >= budget(), "{}: {stats:?}", t.name);
                // Mutations that all fail the syntax check would test nothing.
                assert!(
                    stats.accepted_pct() > 1.0,
                    "{}: only {:.2} % of inputs accepted",
                    t.name,
                    stats.accepted_pct()
                );
            }
            Err(c) => failures.push(format!(
                "{}: {} (after {} inputs; input {:?})",
                c.target,
                c.message,
                c.after,
                String::from_utf8_lossy(&c.input)
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_target_has_seeds_from_real_payloads() {
    for t in TARGETS {
        let seeds = (t.seeds)();
        assert!(seeds.len() >= 2, "{}: {} seeds", t.name, seeds.len());
    }
    // The file parsers are seeded with the repository's own files.
    let scenario = winter_river_fuzz::find("scenario").expect("target");
    assert!((scenario.seeds)().len() >= 15, "scenarios and drills");
}

#[test]
fn a_target_that_panics_is_caught_and_named() {
    // The harness itself: a property that fails is reported, not swallowed.
    let _quiet = QuietPanics::new();
    let topic = winter_river_fuzz::find("topic").expect("target");
    assert_eq!(run_one(topic, b"winter-river/pdu_a/status"), Ok(true));
    assert_eq!(run_one(topic, b"winter-river/pdu_a/stat"), Ok(false));
    fn explode(_: &[u8]) -> bool {
        panic!("boom");
    }
    let bad = winter_river_fuzz::Target {
        name: "bad",
        about: "",
        seeds: || vec![b"x".to_vec()],
        run: explode,
    };
    assert_eq!(run_one(&bad, b"x"), Err("boom".to_string()));
}
