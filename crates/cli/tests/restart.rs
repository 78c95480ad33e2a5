//! An engine killed mid-drill carries on (issue 15, part 1): broker, `engine
//! --state FILE` and `nodes` as separate processes of the real binary on free
//! loopback ports; util_a is failed and srv_a's load set, the generator carries,
//! the engine is SIGKILLed and started again with the same state file. The
//! restarted engine resumes at (about) the same simulated time with the same
//! faults, load and fuel, and no board shows `fault` while the engine says `ok`.
//! Restarted without a state file, the board that holds the fault re-asserts it
//! when the engine comes online, so engine and boards agree again.

// Shared with live.rs; this test uses part of it.
#[allow(dead_code)]
#[path = "live/system.rs"]
mod system;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use system::{BrokerKind, Live, WAIT};
use winter_river_protocol::Qos;
use winter_river_testkit::{Client, DEFAULT_NODES, Msg, TempDir};

const SYSTEM_STATUS: &str = "winter-river/system/status";
/// Simulated seconds per wall second: the generator (10 s start) carries in ~3 s.
const SPEED: &str = "5";

fn command(id: &str) -> String {
    format!("winter-river/{id}/command")
}

fn json(m: &Msg) -> Value {
    m.json().unwrap_or(Value::Null)
}

fn num(v: &Value, field: &str) -> f64 {
    v[field].as_f64().unwrap_or(f64::NAN)
}

/// The node status words boards show and the engine sent them (its latest
/// `update`), from message index `from` on.
fn board_and_engine_words(
    c: &Client,
    from: usize,
) -> Vec<(String, Option<String>, Option<String>)> {
    let messages = c.messages();
    let tail = messages.get(from..).unwrap_or(&[]);
    DEFAULT_NODES
        .iter()
        .map(|id| {
            let status = format!("winter-river/{id}/status");
            let board = tail
                .iter()
                .rev()
                .find(|m| m.topic == status)
                .and_then(|m| m.str_field("status"));
            let engine = tail
                .iter()
                .rev()
                .filter(|m| m.topic == command(id))
                .filter_map(|m| m.json())
                .find(|v| v["command"] == "update")
                .and_then(|v| v["params"]["status"].as_str().map(str::to_string));
            (id.to_string(), board, engine)
        })
        .collect()
}

/// Fails when a board shows `fault` while the engine's latest update to it says
/// otherwise.
fn no_split_fault(c: &Client, from: usize) -> Result<()> {
    for (id, board, engine) in board_and_engine_words(c, from) {
        ensure!(
            !(board.as_deref() == Some("fault") && engine.as_deref() != Some("fault")),
            "{id}: the board shows fault, the engine says {engine:?}"
        );
    }
    Ok(())
}

fn engine_args(state: &str) -> Vec<String> {
    ["engine", "--speed", SPEED, "--state", state]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn spawn_engine(live: &mut Live, state: &str) -> Result<usize> {
    let args = engine_args(state);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Ok(live.spawn("engine", &args)?)
}

/// Fails util_a, sets srv_a to 45 kW and waits until the generator carries it.
async fn outage_on_generator(c: &Client) -> Result<Value> {
    c.publish(
        &command("util_a"),
        br#"{"command":"set_fault","params":{"state":true}}"#,
        Qos::AtLeastOnce,
        false,
    )?;
    c.publish(
        &command("srv_a"),
        br#"{"command":"set_load","params":{"kw":45}}"#,
        Qos::AtLeastOnce,
        false,
    )?;
    let m = c
        .wait_json_from(
            "the generator carrying 45 kW",
            WAIT,
            0,
            SYSTEM_STATUS,
            |v| v["source"] == "generator" && (num(v, "it_kw") - 45.0).abs() < 0.5,
        )
        .await?;
    Ok(json(&m))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_engine_resumes_from_its_state_file() -> Result<()> {
    let began = std::time::Instant::now();
    let dir = TempDir::new("state-restart")?;
    let state = dir.path().join("engine.json");
    let state_arg = state.display().to_string();
    let mut live = Live::broker_only(BrokerKind::Embedded).await?;
    let c = live.client("watch", &["winter-river/#"]).await?;
    let engine = spawn_engine(&mut live, &state_arg)?;
    live.spawn("nodes", &["nodes"])?;
    // Commands only once the engine hears every board (so it has subscribed).
    c.wait_json_from("every board online", WAIT, 0, SYSTEM_STATUS, |v| {
        v["nodes_offline"] == 0
    })
    .await?;

    let on_generator = outage_on_generator(&c).await?;
    // Let the generator burn some fuel and the state file catch up (≥ once a second).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let saved_at = std::fs::metadata(&state).context("the state file exists")?;
    ensure!(
        saved_at.len() > 1_000,
        "state file of {} bytes",
        saved_at.len()
    );
    let before = c
        .last_on(SYSTEM_STATUS)
        .map(|m| json(&m))
        .context("a system status before the kill")?;
    ensure!(before["source"] == "generator", "before the kill: {before}");
    ensure!(
        num(&before, "fuel_pct") < num(&on_generator, "fuel_pct").min(100.0),
        "the generator burnt fuel: {before}"
    );

    live.procs.remove(engine).kill();
    // Down for a while: an engine that started afresh would be far from this.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let mark = c.mark();
    spawn_engine(&mut live, &state_arg)?;
    let after = c
        .wait_json_from(
            "a system status from the restarted engine",
            WAIT,
            mark,
            SYSTEM_STATUS,
            |_| true,
        )
        .await?;
    let after = json(&after);
    let (t_before, t_after) = (num(&before, "sim_time_s"), num(&after, "sim_time_s"));
    // The state is at most ~1 s (wall) older than the last status: 5 s simulated.
    ensure!(
        t_after >= t_before - 6.0 && t_after <= t_before + 6.0,
        "resumed at t={t_after}, the last status before the kill was t={t_before}"
    );
    ensure!(after["source"] == "generator", "after the restart: {after}");
    ensure!(
        (num(&after, "it_kw") - 45.0).abs() < 0.5,
        "load after the restart: {after}"
    );
    let (fuel_before, fuel_after) = (num(&before, "fuel_pct"), num(&after, "fuel_pct"));
    ensure!(
        fuel_after < 100.0 && (fuel_after - fuel_before).abs() < 0.05,
        "fuel {fuel_before} % before, {fuel_after} % after"
    );
    // Every board heard again (none counted offline), util_a still failed.
    c.wait_json_from(
        "util_a failed, every board online",
        WAIT,
        mark,
        SYSTEM_STATUS,
        |v| v["nodes_fault"] == 1 && v["nodes_offline"] == 0,
    )
    .await?;
    // The engine's restored state reaches the boards, and a board agrees with it.
    c.wait_for_from("util_a's board showing fault", WAIT, mark, |m| {
        m.topic == "winter-river/util_a/status" && m.str_field("status").as_deref() == Some("fault")
    })
    .await?;
    c.wait_for_from("srv_a's board at 45 kW", WAIT, mark, |m| {
        m.topic == "winter-river/srv_a/status"
            && m.f64_field("power_kw")
                .is_some_and(|kw| (kw - 45.0).abs() < 0.5)
    })
    .await?;
    c.wait_each_from(
        "an update for every board from the restarted engine",
        WAIT,
        mark,
        &DEFAULT_NODES
            .iter()
            .map(|id| command(id))
            .collect::<Vec<_>>(),
        |m| m.json().is_some_and(|v| v["command"] == "update"),
    )
    .await?;
    no_split_fault(&c, mark)?;
    let banner = live
        .procs
        .last_mut()
        .map(|p| p.stdout())
        .unwrap_or_default();
    ensure!(banner.contains("resumed from"), "engine banner: {banner}");
    live.check_running()?;
    eprintln!(
        "killed_engine_resumes_from_its_state_file: {:.1} s",
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_reasserts_its_fault_to_an_engine_started_afresh() -> Result<()> {
    let mut live = Live::broker_only(BrokerKind::Embedded).await?;
    let c = live.client("watch", &["winter-river/#"]).await?;
    let engine = spawn_engine(&mut live, "none")?;
    live.spawn("nodes", &["nodes"])?;
    // Commands only once the engine hears every board (so it has subscribed).
    c.wait_json_from("every board online", WAIT, 0, SYSTEM_STATUS, |v| {
        v["nodes_offline"] == 0
    })
    .await?;
    c.publish(
        &command("util_a"),
        br#"{"command":"set_fault","params":{"state":true}}"#,
        Qos::AtLeastOnce,
        false,
    )?;
    c.wait_json_from("util_a failed", WAIT, 0, SYSTEM_STATUS, |v| {
        v["nodes_fault"] == 1
    })
    .await?;
    let killed = c.mark();
    live.procs.remove(engine).kill();
    c.wait_for_from("the engine's Last Will", WAIT, killed, |m| {
        m.topic == "winter-river/system/availability" && m.text() == "offline"
    })
    .await?;
    let mark = c.mark();
    spawn_engine(&mut live, "none")?;
    // A fresh engine (t = 0, nothing failed) hears util_a's board re-assert its fault.
    c.wait_for_from("util_a's board re-asserting its fault", WAIT, mark, |m| {
        m.topic == command("util_a")
            && m.json()
                .is_some_and(|v| v["command"] == "set_fault" && v["channel"] == "board")
    })
    .await?;
    let status = c
        .wait_json_from(
            "the fresh engine showing util_a failed",
            WAIT,
            mark,
            SYSTEM_STATUS,
            |v| v["nodes_fault"] == 1,
        )
        .await?;
    ensure!(
        num(&json(&status), "sim_time_s") < 30.0,
        "a fresh start: {}",
        status.text()
    );
    // Boards holding nothing asserted nothing.
    let others: Vec<String> = c.messages()[mark..]
        .iter()
        .filter(|m| m.topic.ends_with("/command") && m.topic != command("util_a"))
        .filter_map(|m| m.json())
        .filter(|v| v["channel"] == "board")
        .map(|v| v.to_string())
        .collect();
    ensure!(others.is_empty(), "other boards asserted: {others:?}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    no_split_fault(&c, mark)?;
    live.check_running()?;
    Ok(())
}
