//! The one reconnect backoff (firmware, virtual boards and every MQTT link):
//! delays within the doubling ceiling and the cap, reproducible from the seed,
//! reset by a success.
#![allow(clippy::unwrap_used)]

use winter_river_protocol::Backoff;

#[test]
fn ceilings_double_from_half_a_second_to_thirty() {
    let mut backoff = Backoff::new(42);
    let mut ceilings = Vec::new();
    for _ in 0..10 {
        ceilings.push(backoff.ceiling_ms());
        backoff.on_failure(0);
    }
    assert_eq!(
        ceilings,
        [
            500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000
        ]
    );
}

#[test]
fn every_delay_is_within_its_ceiling() {
    for seed in [0, 1, 7, 0xDEAD_BEEF, u64::MAX] {
        let mut backoff = Backoff::new(seed);
        let mut now_ms = 1_000;
        for n in 0..100u32 {
            let ceiling = (500u64 << n.min(10)).min(30_000);
            let at = backoff.on_failure(now_ms);
            assert!(
                at >= now_ms && at - now_ms <= ceiling,
                "seed {seed} failure {n}"
            );
            assert!(!backoff.can_attempt(at - 1));
            assert!(backoff.can_attempt(at));
            now_ms = at;
        }
        assert_eq!(backoff.failures(), 100);
    }
}

#[test]
fn jitter_spreads_over_the_whole_range() {
    let mut low = 0;
    let mut high = 0;
    for seed in 1..=200 {
        let mut backoff = Backoff::new(seed);
        for _ in 0..8 {
            backoff.on_failure(0);
        }
        let delay = backoff.on_failure(0);
        assert!(delay <= 30_000);
        if delay < 15_000 {
            low += 1;
        } else {
            high += 1;
        }
    }
    assert!(low > 60 && high > 60, "low {low}, high {high}");
}

#[test]
fn the_same_seed_gives_the_same_delays() {
    let run = |seed| {
        let mut backoff = Backoff::new(seed);
        (0..20).map(|_| backoff.on_failure(0)).collect::<Vec<_>>()
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
    assert!(run(0).iter().any(|&d| d > 0), "a zero seed still jitters");
}

#[test]
fn success_starts_over() {
    let mut backoff = Backoff::new(3);
    assert!(backoff.can_attempt(0));
    assert_eq!(backoff.poll_timeout(), None);
    for _ in 0..6 {
        backoff.on_failure(0);
    }
    assert!(backoff.poll_timeout().is_some());
    backoff.on_success();
    assert_eq!(backoff.failures(), 0);
    assert_eq!(backoff.ceiling_ms(), 500);
    assert!(backoff.can_attempt(0));
    assert!(backoff.on_failure(10_000) <= 10_500);
}

#[test]
fn custom_bounds_are_kept_sane() {
    let mut backoff = Backoff::with_bounds(0, 0, 5);
    assert_eq!(backoff.ceiling_ms(), 1);
    assert!(backoff.on_failure(0) <= 1);
    let backoff = Backoff::with_bounds(100, 50, 5);
    assert_eq!(backoff.ceiling_ms(), 100, "cap raised to the base");
}
