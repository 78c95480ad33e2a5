//! The engine's tokio driver: pumps MQTT messages and timer ticks into
//! [`EngineCore`] and its publishes out through a [`Link`]. Nothing else lives here.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use winter_river_mqtt::{BrokerUrl, Link, LinkEvent, LinkOptions, Will};

use crate::core::{EngineCore, Outgoing};

/// Runs the engine against the broker at `url` until `shutdown` completes, then
/// publishes `offline` and disconnects. Reconnects (and resubscribes, and
/// re-announces) by itself whenever the broker comes back.
pub async fn run(mut core: EngineCore, url: &BrokerUrl, shutdown: impl Future<Output = ()>) {
    let will = core.last_will();
    let mut options = LinkOptions::new(format!("winter-river-engine-{}", std::process::id()));
    options.last_will = Some(Will {
        topic: will.topic,
        payload: will.payload,
        qos: will.qos,
        retain: will.retain,
    });
    options.request_capacity = 50_000 + 4 * core.sim().topology().len();
    let mut link = Link::connect(url, &options);
    let start = Instant::now();
    let now_ms = |start: Instant| start.elapsed().as_millis() as u64;
    let mut dropped: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        let deadline = start + Duration::from_millis(core.poll_timeout());
        tokio::select! {
            () = &mut shutdown => break,
            event = link.recv() => match event {
                None => break,
                Some(LinkEvent::Connected) => {
                    tracing::info!(broker = %url, "engine connected");
                    for (filter, qos) in core.subscriptions() {
                        if let Err(e) = link.subscribe(&filter, qos) {
                            tracing::error!("cannot subscribe to {filter}: {e}");
                        }
                    }
                    core.handle_connected(now_ms(start));
                }
                Some(LinkEvent::Disconnected { reason }) => {
                    tracing::warn!(broker = %url, "engine lost the broker: {reason}");
                }
                Some(LinkEvent::Message { topic, payload }) => core.handle_message(now_ms(start), &topic, &payload),
            },
            () = tokio::time::sleep_until(deadline) => core.handle_tick(now_ms(start)),
        }
        while let Some(out) = core.poll_outgoing() {
            if let Err(e) = send(&link, out) {
                dropped += 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(dropped, "engine could not queue a publish: {e}");
                }
            }
        }
    }
    let _ = send(&link, core.goodbye());
    link.disconnect(Duration::from_secs(2)).await;
}

fn send(link: &Link, out: Outgoing) -> Result<(), winter_river_mqtt::PublishError> {
    link.publish(&out.topic, out.payload, out.qos, out.retain)
}
