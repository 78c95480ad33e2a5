//! `latency`: fault-to-status latency. On the default topology at speed 1, `set_fault`
//! on util_a alternates between fault and restore. An injection's latency runs from
//! just before the bench publishes the command to the moment its subscriber holds the
//! new status of every affected board:
//!
//! | board  | after `set_fault {state: true}`   | after `{state: false}` |
//! |--------|-----------------------------------|------------------------|
//! | util_a | `fault`, `voltage_out` 0          | `ok`, `voltage_out` > 0 |
//! | trf_a  | `unpowered`, `voltage_out` 0      | `ok`, `voltage_out` > 0 |
//! | sw_a   | `unpowered`, `voltage_out` 0      | `ok`, `voltage_out` > 0 |
//! | dist_a | `unpowered`, `voltage_out` 0      | `ok`, `voltage_out` > 0 |
//! | ups_a  | `on_battery`, `voltage_out` > 0   | `ok`, `voltage_out` > 0 |
//!
//! (`voltage_out` tells the engine's values from util_a's own fault button, which
//! reports `fault` before the engine has stepped.) gen_a, pdu_a and srv_a do not
//! change: the restore comes well before the ATS's 3 s start delay. Path: bench →
//! broker → engine (applies it at its next 100 ms step) → `update` → broker → board →
//! status → broker → bench.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::time::Instant;
use winter_river_protocol::Qos;
use winter_river_testkit::{Client, Msg};

use crate::stats::{Summary, summarize};
use crate::sut::{Env, Kind, Sut};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Injections per broker, alternating fault and restore.
    #[arg(long, default_value_t = 200)]
    pub injections: usize,
    /// Pause after an injection has settled [ms]; the actual pause is spread over
    /// [pause, 2·pause] so injections do not lock onto the engine's step grid.
    #[arg(long, default_value_t = 150)]
    pub pause_ms: u64,
    /// Write the figures as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Engine step [ms]: the target is one step + 10 ms.
const STEP_MS: f64 = 100.0;
const AFFECTED: [&str; 5] = ["util_a", "trf_a", "sw_a", "dist_a", "ups_a"];

/// The new state of `id` after a fault (`true`) or restore: status and whether its
/// output is live.
fn expected(id: &str, fault: bool) -> (&'static str, bool) {
    match (id, fault) {
        (_, false) => ("ok", true),
        ("util_a", true) => ("fault", false),
        ("ups_a", true) => ("on_battery", true),
        (_, true) => ("unpowered", false),
    }
}

fn shows(m: &Msg, id: &str, fault: bool) -> bool {
    let (state, live) = expected(id, fault);
    let Some(v) = m.json() else { return false };
    v["status"] == state && v["voltage_out"].as_f64().is_some_and(|x| (x > 0.0) == live)
}

fn update_shows(m: &Msg, id: &str, fault: bool) -> bool {
    let (state, live) = expected(id, fault);
    let Some(v) = m.json() else { return false };
    let p = &v["params"];
    v["command"] == "update"
        && p["status"] == state
        && p["voltage_out"].as_f64().is_some_and(|x| (x > 0.0) == live)
}

#[derive(Debug, serde::Serialize)]
struct BrokerResult {
    broker: Kind,
    /// Publish → last affected board's new status [ms].
    status: Summary,
    /// Publish → last affected board's `update` from the engine [ms].
    update: Summary,
    /// Publish → first affected board's new status [ms].
    first_status: Summary,
}

pub async fn run(env: &Env, brokers: &[Kind], args: &Args) -> Result<()> {
    println!(
        "latency: {} injections per broker on util_a (fault/restore), affected {:?}",
        args.injections, AFFECTED
    );
    let mut results = Vec::new();
    for &kind in brokers {
        let sut = Sut::start(env, kind, &[]).await?;
        let r = measure(&sut, kind, args).await;
        sut.stop().await;
        let r = r.with_context(|| format!("latency against {kind}"))?;
        println!("{kind:>9} status  {}", r.status);
        println!("{kind:>9} update  {}", r.update);
        println!("{kind:>9} first   {}", r.first_status);
        results.push(r);
    }
    let target = STEP_MS + 10.0;
    for r in &results {
        let verdict = if r.status.p99 <= target {
            "meets"
        } else {
            "misses"
        };
        println!(
            "{}: p99 {:.1} ms {verdict} the target {target:.0} ms (one step + 10 ms) by {:.1} ms",
            r.broker,
            r.status.p99,
            (r.status.p99 - target).abs()
        );
    }
    if let [a, b] = &results[..] {
        println!(
            "ratio {}/{}: p50 {:.2}, p99 {:.2}",
            a.broker,
            b.broker,
            a.status.p50 / b.status.p50,
            a.status.p99 / b.status.p99
        );
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

async fn measure(sut: &Sut, kind: Kind, args: &Args) -> Result<BrokerResult> {
    let url = sut.url();
    let sub = Client::connect(
        &url,
        &format!("bench-sub-{kind}"),
        &["winter-river/+/status", "winter-river/+/command"],
    )
    .await?;
    let publisher = Client::connect(&url, &format!("bench-pub-{kind}"), &[]).await?;
    let status_topics: Vec<String> = AFFECTED
        .iter()
        .map(|id| format!("winter-river/{id}/status"))
        .collect();
    let command_topics: Vec<String> = AFFECTED
        .iter()
        .map(|id| format!("winter-river/{id}/command"))
        .collect();
    // Settled: every affected board shows the engine's values (first refresh ≤ 5 s).
    sub.wait_each_from(
        "affected boards with engine values",
        Duration::from_secs(15),
        0,
        &status_topics,
        |m| {
            let id = m.topic.split('/').nth(1).unwrap_or_default();
            shows(m, id, false)
        },
    )
    .await?;

    let (mut status, mut update, mut first) = (Vec::new(), Vec::new(), Vec::new());
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..args.injections {
        let Injection {
            fault,
            mark,
            t0,
            what,
        } = inject(&publisher, &sub, i)?;
        let got = sub
            .wait_each_from(&what, Duration::from_secs(5), mark, &status_topics, |m| {
                let id = m.topic.split('/').nth(1).unwrap_or_default();
                shows(m, id, fault)
            })
            .await?;
        let ms = |at: Instant| (at - t0).as_secs_f64() * 1000.0;
        status.push(got.iter().map(|m| ms(m.at)).fold(0.0, f64::max));
        first.push(got.iter().map(|m| ms(m.at)).fold(f64::INFINITY, f64::min));
        let ups = sub
            .wait_each_from(
                &format!("{what}: updates"),
                Duration::from_secs(1),
                mark,
                &command_topics,
                |m| {
                    let id = m.topic.split('/').nth(1).unwrap_or_default();
                    update_shows(m, id, fault)
                },
            )
            .await?;
        update.push(ups.iter().map(|m| ms(m.at)).fold(0.0, f64::max));
        // xorshift: a pause in [p, 2p] ms.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let pause = args.pause_ms + rng % (args.pause_ms + 1);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    Ok(BrokerResult {
        broker: kind,
        status: summarize(&status),
        update: summarize(&update),
        first_status: summarize(&first),
    })
}

/// One injection of a latency bench: util_a fails (even `i`) or is restored (odd),
/// with where the subscriber's log stood and when it was sent.
pub(crate) struct Injection {
    pub fault: bool,
    /// The subscriber's message count before it was sent.
    pub mark: usize,
    pub t0: Instant,
    /// `injection 3 (restore)`, for errors.
    pub what: String,
}

/// Publishes injection `i` on `util_a`'s command topic.
pub(crate) fn inject(publisher: &Client, sub: &Client, i: usize) -> Result<Injection> {
    let fault = i % 2 == 0;
    let payload = format!(r#"{{"command":"set_fault","params":{{"state":{fault}}}}}"#);
    let mark = sub.mark();
    let t0 = Instant::now();
    publisher.publish(
        "winter-river/util_a/command",
        payload,
        Qos::AtLeastOnce,
        false,
    )?;
    let what = format!(
        "injection {i} ({})",
        if fault { "fault" } else { "restore" }
    );
    Ok(Injection {
        fault,
        mark,
        t0,
        what,
    })
}
