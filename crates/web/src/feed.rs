//! The web's MQTT link: subscribes to what the dashboard shows, pours every message
//! into the store, samples history once a second, and publishes operators'
//! commands. It wakes live streams through the `changes` watch, which holds only the
//! latest version: a burst of messages wakes a client once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};
use winter_river_mqtt::{BrokerUrl, Link, LinkEvent, LinkOptions};
use winter_river_protocol::{Qos, Topic};

use crate::{App, PublishRequest};

/// Wall time [ms since the Unix epoch]: history is plotted against it.
pub(crate) fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What the dashboard subscribes to. Availability is retained for every node and only
/// the latest matters, so it is taken at QoS 0 (some brokers, rumqttd among them, once
/// capped retained delivery to a QoS 1 subscription at 100 messages).
fn subscriptions(prefix: &str) -> Vec<(String, Qos)> {
    vec![
        (Topic::SystemTopology.to_topic(prefix), Qos::AtLeastOnce),
        (Topic::SystemEvents.to_topic(prefix), Qos::AtLeastOnce),
        // A live drill's progress, retained (docs/protocol.md, "Drills").
        (Topic::SystemDrill.to_topic(prefix), Qos::AtLeastOnce),
        (
            winter_river_protocol::status_filter(prefix),
            Qos::AtMostOnce,
        ),
        (
            winter_river_protocol::availability_filter(prefix),
            Qos::AtMostOnce,
        ),
        // The engine's `update`s: the state of nodes whose board is silent.
        (
            winter_river_protocol::command_filter(prefix),
            Qos::AtMostOnce,
        ),
    ]
}

pub(crate) async fn run(
    app: App,
    url: BrokerUrl,
    client_id: String,
    mut publish: mpsc::Receiver<PublishRequest>,
    mut stop: watch::Receiver<bool>,
) {
    let mut options = LinkOptions::new(client_id);
    options.backoff_bounds(100, 2_000);
    options.request_capacity = 1_000;
    let mut link = Link::connect(&url, &options);
    let prefix = app.store().prefix().to_string();
    let mut sampler = tokio::time::interval(Duration::from_secs(1));
    sampler.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            ev = link.recv() => match ev {
                None => break,
                Some(LinkEvent::Connected) => {
                    tracing::info!(broker = %url, "web connected to the broker");
                    for (filter, qos) in subscriptions(&prefix) {
                        if let Err(e) = link.subscribe(&filter, qos) {
                            tracing::error!("web cannot subscribe to {filter}: {e}");
                        }
                    }
                    app.store().set_broker_connected(true);
                }
                Some(LinkEvent::Disconnected { reason }) => {
                    let mut store = app.store();
                    if store.broker_connected() {
                        tracing::warn!(broker = %url, "web lost the broker: {reason}");
                    }
                    store.set_broker_connected(false);
                }
                Some(LinkEvent::Message { topic, payload }) => {
                    app.store().handle_message(wall_ms(), &topic, &payload);
                }
            },
            Some(req) = publish.recv() => {
                let result = if app.store().broker_connected() {
                    link.publish(&req.topic, req.payload, Qos::AtLeastOnce, false)
                        .map_err(|e| e.to_string())
                } else {
                    Err(format!("not connected to the broker at {url}"))
                };
                let _ = req.reply.send(result);
            }
            _ = sampler.tick() => app.store().sample(wall_ms()),
        }
        let version = app.store().version();
        app.changes.send_if_modified(|v| {
            let changed = *v != version;
            *v = version;
            changed
        });
    }
    link.disconnect(Duration::from_millis(500)).await;
}
