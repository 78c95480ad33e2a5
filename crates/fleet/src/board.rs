//! One virtual board: a [`NodeCore`] pumped by MQTT messages and its own timer,
//! connected and reconnected as the firmware does.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use winter_river_mqtt::{BrokerUrl, Link, LinkEvent, LinkOptions, client_seed, session_client_id};
use winter_river_node::{NodeConfig, NodeCore, Transmit};
use winter_river_protocol::{Backoff, NodeKind};

/// One board's identity and timing.
#[derive(Debug, Clone)]
pub struct BoardConfig {
    pub id: String,
    pub kind: NodeKind,
    pub prefix: String,
    pub status_interval_ms: u64,
    pub start_delay_ms: u64,
}

/// A believable, stable Wi-Fi signal for a virtual board \[dBm\]: −45 … −74.
fn virtual_rssi_dbm(id: &str) -> i32 {
    let h = id.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    -45 - (h % 30) as i32
}

/// A board's MQTT options. It reconnects as the firmware does: the protocol's
/// [`Backoff`] with its defaults (0.5 s doubling to 30 s, full jitter), seeded per
/// board — from its node id here, where a real board uses its MAC and RNG — so a
/// fleet does not come back in lockstep after a broker restart. It keeps a
/// persistent session under an id stable across runs (node id and prefix), so the
/// broker queues the commands sent to it while it is away.
pub fn board_link_options(
    config: &BoardConfig,
    last_will: winter_river_protocol::Publish,
) -> LinkOptions {
    let mut options = LinkOptions::new(session_client_id(
        &format!("node-{}", config.id),
        &config.prefix,
    ));
    options.persistent_session = true;
    options.last_will = Some(last_will);
    options.request_capacity = 256;
    options.max_packet_bytes = 256 * 1024;
    options.reconnect = Backoff::new(board_seed(&config.id));
    options
}

/// The reconnect seed of the board for node `id`.
pub fn board_seed(id: &str) -> u64 {
    client_seed(id)
}

/// Runs one board until `stop` turns true; then publishes `offline` and
/// disconnects.
pub async fn run_board(config: BoardConfig, url: BrokerUrl, mut stop: watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_millis(config.start_delay_ms)) => {}
        _ = stop.wait_for(|s| *s) => return,
    }
    let start = Instant::now();
    let now_ms = move || start.elapsed().as_millis() as u64;
    let mut node_config = NodeConfig::new(config.id.clone(), config.kind);
    node_config.prefix = config.prefix.clone();
    node_config.status_interval_ms = config.status_interval_ms;
    let mut core = match NodeCore::new(node_config, now_ms()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(board = %config.id, "cannot start board: {e}");
            return;
        }
    };
    core.set_wifi_rssi(virtual_rssi_dbm(&config.id));
    let options = board_link_options(&config, core.last_will());
    let mut link = Link::connect(&url, &options);
    let command_topic = core.command_topic().to_string();
    let engine_topic = core.engine_availability_topic().to_string();
    loop {
        let wake = match core.poll_timeout() {
            u64::MAX => start + Duration::from_secs(3600),
            ms => start + Duration::from_millis(ms),
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            event = link.recv() => match event {
                None => return,
                Some(LinkEvent::Connected) => {
                    for topic in [&command_topic, &engine_topic] {
                        if let Err(e) = link.subscribe(topic, winter_river_protocol::Qos::AtLeastOnce) {
                            tracing::warn!(board = %config.id, "cannot subscribe to {topic}: {e}");
                        }
                    }
                    core.handle_link(now_ms(), true);
                }
                Some(LinkEvent::Disconnected { .. }) => core.handle_link(now_ms(), false),
                Some(LinkEvent::Message { topic, payload }) => {
                    if let Err(e) = core.handle_message(now_ms(), &topic, &payload) {
                        tracing::debug!(board = %config.id, "command refused: {e}");
                    }
                }
            },
            () = tokio::time::sleep_until(wake) => {}
        }
        while let Some(t) = core.poll_transmit(now_ms()) {
            send(&link, t);
        }
    }
    send(&link, core.availability_offline());
    link.disconnect(Duration::from_secs(2)).await;
}

fn send(link: &Link, t: Transmit) {
    if let Err(e) = link.publish(&t.topic, t.payload, t.qos, t.retain) {
        tracing::debug!("board publish dropped: {e}");
    }
}
