//! The engine's tokio driver: pumps MQTT messages and timer ticks into
//! [`EngineCore`] and its publishes out through a [`Link`], and does the core's
//! file work for drills ([`DrillFiles`]: reading the library, writing debriefs)
//! and for its state file ([`StateFile`], about once a second). Nothing else lives
//! here, except an optional [`Telemetry`] snapshot (message counters and how long
//! each tick took) for a `/metrics` endpoint in the same process.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use winter_river_engine_core::{EngineCore, Outgoing};
use winter_river_mqtt::{BrokerUrl, Link, LinkEvent, LinkOptions, PublishError, session_client_id};
pub use winter_river_telemetry::{TICK_BUCKETS_S, Telemetry};

pub use crate::drills::DrillFiles;
use crate::state_file::{STATE_PERIOD_MS, StateFile};

/// How often the telemetry snapshot is refreshed \[ms\].
const TELEMETRY_PERIOD_MS: u64 = 1_000;

/// Runs the engine against the broker at `url` until `shutdown` completes, then
/// publishes `offline` and disconnects. Reconnects (and resubscribes, and
/// re-announces) by itself whenever the broker comes back.
pub async fn run(core: EngineCore, url: &BrokerUrl, shutdown: impl Future<Output = ()>) {
    run_with_telemetry(core, url, shutdown, None).await
}

/// [`run`], also publishing a [`Telemetry`] snapshot about once a second.
pub async fn run_with_telemetry(
    core: EngineCore,
    url: &BrokerUrl,
    shutdown: impl Future<Output = ()>,
    telemetry_tx: Option<watch::Sender<Telemetry>>,
) {
    run_with(core, url, shutdown, telemetry_tx, &DrillFiles::default()).await
}

/// [`run_with_telemetry`] with the drill library and the debrief folder.
pub async fn run_with(
    core: EngineCore,
    url: &BrokerUrl,
    shutdown: impl Future<Output = ()>,
    telemetry_tx: Option<watch::Sender<Telemetry>>,
    drills: &DrillFiles,
) {
    run_with_state(core, url, shutdown, telemetry_tx, drills, None).await
}

/// [`run_with`], writing the engine's state to `state` about once a second and
/// at the end (docs/live.md, "The state file"). Resuming from it is the caller's,
/// before this (see [`StateFile::start_and_say`]).
pub async fn run_with_state(
    mut core: EngineCore,
    url: &BrokerUrl,
    shutdown: impl Future<Output = ()>,
    telemetry_tx: Option<watch::Sender<Telemetry>>,
    drills: &DrillFiles,
    state: Option<&StateFile>,
) {
    let mut state_written_ms = 0;
    let mut state_failures: u64 = 0;
    let mut save = |core: &EngineCore| {
        let Some(file) = state else { return };
        match file.write(core) {
            Ok(w) => tracing::trace!(bytes = w.bytes, "state file written"),
            Err(e) => {
                state_failures += 1;
                if state_failures.is_power_of_two() {
                    tracing::error!(failures = state_failures, "{e}");
                }
            }
        }
    };
    drills.refresh_library(&mut core);
    // A persistent session under a stable id: the broker queues the commands sent
    // while the engine is away (docs/protocol.md, "Sessions").
    let mut options = LinkOptions::new(session_client_id("engine", &core.config().prefix));
    options.persistent_session = true;
    options.last_will = Some(core.last_will());
    options.request_capacity = 50_000 + 4 * core.sim().topology().len();
    let mut link = Link::connect(url, &options);
    let start = Instant::now();
    let now_ms = |start: Instant| start.elapsed().as_millis() as u64;
    let mut dropped: u64 = 0;
    let mut telemetry = Telemetry::default();
    let mut telemetry_sent_ms = 0;
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
            () = tokio::time::sleep_until(deadline) => {
                let began = std::time::Instant::now();
                core.handle_tick(now_ms(start));
                telemetry.observe_tick(began.elapsed().as_secs_f64());
            }
        }
        // Small files, rarely: read and written in place.
        while let Some(request) = core.poll_drill_request() {
            drills.serve(&mut core, request);
        }
        while let Some(done) = core.poll_debrief() {
            drills.write(&mut core, &done);
            // The link to the page goes out with the files, not a tick later.
            core.flush_drill_status(now_ms(start));
        }
        while let Some(out) = core.poll_outgoing() {
            // While the broker is away nothing is queued: the state is sent afresh
            // on the next connect.
            if let Err(e) = send(&link, out)
                && e != PublishError::Offline
            {
                dropped += 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(dropped, "engine could not queue a publish: {e}");
                }
            }
        }
        if now_ms(start) >= state_written_ms + STATE_PERIOD_MS {
            state_written_ms = now_ms(start);
            save(&core);
        }
        if let Some(tx) = &telemetry_tx
            && now_ms(start) >= telemetry_sent_ms + TELEMETRY_PERIOD_MS
        {
            telemetry_sent_ms = now_ms(start);
            telemetry.counters = core.counters().clone();
            tx.send_replace(telemetry.clone());
        }
    }
    if state.is_some() {
        // The state file keeps a running drill: the next engine resumes it.
        save(&core);
    } else {
        // Nowhere to resume from: a drill still running ends here, with its debrief
        // written and its last status sent, rather than left "running" on the
        // broker with no debrief.
        core.end_drill_at_shutdown(now_ms(start));
        while let Some(done) = core.poll_debrief() {
            drills.write(&mut core, &done);
        }
        core.flush_drill_status(now_ms(start));
        while let Some(out) = core.poll_outgoing() {
            let _ = send(&link, out);
        }
    }
    let _ = send(&link, core.goodbye());
    link.disconnect(Duration::from_secs(2)).await;
}

fn send(link: &Link, out: Outgoing) -> Result<(), PublishError> {
    link.publish(&out.topic, out.payload, out.qos, out.retain)
}
