//! The link reconnects on the schedule of its `reconnect` back-off, and of nothing
//! else: against a port that refuses, with tokio's clock paused, each retry comes
//! exactly as long after the last failure as the same `Backoff` draws.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tokio::time::Instant;
use winter_river_mqtt::{Backoff, BrokerUrl, Link, LinkEvent, LinkOptions};

/// A loopback port nothing listens on.
fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Virtual times \[ms\] of the first `n` failures seen by a link with `options`.
async fn failure_times_ms(options: &LinkOptions, n: usize) -> Vec<u64> {
    let url = BrokerUrl::tcp("127.0.0.1", refused_port());
    let start = Instant::now();
    let mut link = Link::connect(&url, options);
    let mut times = Vec::new();
    while times.len() < n {
        match link.recv().await.unwrap() {
            LinkEvent::Disconnected { reason } => {
                assert!(reason.to_lowercase().contains("refused"), "{reason}");
                times.push(start.elapsed().as_millis() as u64);
            }
            other => panic!("no broker, yet {other:?}"),
        }
    }
    link.kill();
    times
}

/// The gaps between `n` consecutive failures that `backoff` prescribes \[ms\].
fn prescribed_gaps_ms(mut backoff: Backoff, n: usize) -> Vec<u64> {
    let mut now = 0;
    (0..n)
        .map(|_| {
            let at = backoff.on_failure(now);
            let gap = at - now;
            now = at;
            gap
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn reconnect_delays_are_the_backoff_draws() {
    for (base_ms, cap_ms, seed) in [(500, 30_000, 7), (200, 5_000, 99), (1, 4, 3)] {
        let mut options = LinkOptions::new("wr-test-backoff");
        options.reconnect = Backoff::with_bounds(base_ms, cap_ms, seed);
        let times = failure_times_ms(&options, 9).await;
        let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(
            gaps,
            prescribed_gaps_ms(options.reconnect.clone(), 8),
            "bounds {base_ms}..{cap_ms} ms, seed {seed}; failures at {times:?}"
        );
    }
}

#[test]
fn local_links_are_seeded_by_client_id_and_bounded_short() {
    let a = LinkOptions::new("engine-1");
    let b = LinkOptions::new("engine-2");
    assert_ne!(
        a.reconnect, b.reconnect,
        "same jitter for different clients"
    );
    assert_eq!(a.reconnect, LinkOptions::new("engine-1").reconnect);
    assert_eq!(
        a.reconnect.ceiling_ms(),
        winter_river_mqtt::LOCAL_BACKOFF_BASE_MS
    );
    let mut c = LinkOptions::new("web");
    c.backoff_bounds(100, 2_000);
    assert_eq!(
        c.reconnect,
        Backoff::with_bounds(100, 2_000, winter_river_mqtt::client_seed("web"))
    );
}

/// Nothing is queued for a reconnect: while the link is down a publish (and a
/// subscription) is refused at once, so it can never go out stale later.
#[tokio::test]
async fn a_link_that_is_down_refuses_to_queue() {
    let url = BrokerUrl::tcp("127.0.0.1", refused_port());
    let mut link = Link::connect(&url, &LinkOptions::new("wr-test-offline"));
    assert!(matches!(
        link.recv().await,
        Some(LinkEvent::Disconnected { .. })
    ));
    assert!(!link.is_connected());
    assert_eq!(
        link.publish(
            "t/x",
            b"stale".to_vec(),
            winter_river_protocol::Qos::AtLeastOnce,
            false
        ),
        Err(winter_river_mqtt::PublishError::Offline)
    );
    assert_eq!(
        link.subscribe("t/#", winter_river_protocol::Qos::AtLeastOnce),
        Err(winter_river_mqtt::PublishError::Offline)
    );
    link.kill();
}
