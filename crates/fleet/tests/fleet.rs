//! A virtual board reconnects exactly as the firmware does: the protocol's
//! `Backoff` with the firmware's bounds, seeded per board, and its link waits what
//! that back-off draws (tokio's clock paused, against a port that refuses).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use tokio::time::Instant;
use winter_river_fleet::{BoardConfig, board_link_options, board_seed};
use winter_river_mqtt::{Backoff, BrokerUrl, Link, LinkEvent};
use winter_river_protocol::{NodeKind, Publish, Qos, backoff};

fn board(id: &str) -> BoardConfig {
    BoardConfig {
        id: id.to_string(),
        kind: NodeKind::Pdu,
        prefix: "winter-river".to_string(),
        status_interval_ms: 2_000,
        start_delay_ms: 0,
    }
}

fn will(id: &str) -> Publish {
    Publish {
        topic: format!("winter-river/{id}/availability"),
        payload: b"offline".to_vec(),
        qos: Qos::AtLeastOnce,
        retain: true,
    }
}

#[test]
fn a_board_backs_off_as_the_firmware_seeded_per_board() {
    let options = board_link_options(&board("pdu_a"), will("pdu_a"));
    assert_eq!(options.reconnect, Backoff::new(board_seed("pdu_a")));
    // The firmware's bounds: 0.5 s first, doubling to 30 s.
    let mut b = options.reconnect.clone();
    let mut ceilings = Vec::new();
    for _ in 0..8 {
        ceilings.push(b.ceiling_ms());
        b.on_failure(0);
    }
    assert_eq!(ceilings[0], backoff::DEFAULT_BASE_MS);
    assert_eq!(
        ceilings,
        [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
    );
    assert_eq!(ceilings[7], backoff::DEFAULT_CAP_MS);
    // Boards are seeded apart, so a fleet does not retry in lockstep.
    let ids: Vec<String> = (0..1_000).map(|k| format!("srv_{k}")).collect();
    let seeds: BTreeSet<u64> = ids.iter().map(|id| board_seed(id)).collect();
    assert_eq!(seeds.len(), ids.len());
    let first_delays: BTreeSet<u64> = ids
        .iter()
        .map(|id| {
            board_link_options(&board(id), will(id))
                .reconnect
                .on_failure(0)
        })
        .collect();
    assert!(first_delays.len() > 300, "{} distinct", first_delays.len());
}

#[tokio::test(start_paused = true)]
async fn a_board_link_waits_what_its_backoff_draws() {
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = board_link_options(&board("ups_a"), will("ups_a"));
    let start = Instant::now();
    let mut link = Link::connect(&BrokerUrl::tcp("127.0.0.1", refused), &options);
    let mut failures_ms = Vec::new();
    while failures_ms.len() < 10 {
        match link.recv().await.unwrap() {
            LinkEvent::Disconnected { .. } => failures_ms.push(start.elapsed().as_millis() as u64),
            other => panic!("no broker, yet {other:?}"),
        }
    }
    link.kill();
    let gaps: Vec<u64> = failures_ms.windows(2).map(|w| w[1] - w[0]).collect();
    let mut firmware = Backoff::new(board_seed("ups_a"));
    let mut now = 0;
    let prescribed: Vec<u64> = (0..gaps.len())
        .map(|_| {
            let at = firmware.on_failure(now);
            let gap = at - now;
            now = at;
            gap
        })
        .collect();
    assert_eq!(gaps, prescribed, "failures at {failures_ms:?}");
}
