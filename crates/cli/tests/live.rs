//! The live system end to end against real brokers (issue 3, item 6): every scenario
//! runs twice, against the embedded broker (`embedded_*`) and against a real
//! Mosquitto started in a temp dir (`mosquitto_*`), with processes of the real
//! `winter-river` binary on free 127.0.0.1 ports and an MQTT client watching.

#[path = "live/system.rs"]
mod system;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use system::{BrokerKind, Live, WAIT, status_topics};
use winter_river_protocol::Qos;
use winter_river_testkit::{Client, DEFAULT_NODES, Msg, nodes_except};

/// Defines `$embedded` and `$mosquitto` tests running `scenario(BrokerKind)`.
macro_rules! both_brokers {
    ($($scenario:ident => $embedded:ident, $mosquitto:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $embedded() -> Result<()> {
            timed(stringify!($embedded), $scenario(BrokerKind::Embedded)).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $mosquitto() -> Result<()> {
            timed(stringify!($mosquitto), $scenario(BrokerKind::Mosquitto)).await
        }
    )*};
}

both_brokers! {
    all_default_boards_report => embedded_all_default_boards_report, mosquitto_all_default_boards_report;
    seed_payload_from_a_plain_client_is_accepted => embedded_seed_payload_from_a_plain_client_is_accepted, mosquitto_seed_payload_from_a_plain_client_is_accepted;
    fault_propagates_in_order => embedded_fault_propagates_in_order, mosquitto_fault_propagates_in_order;
    killed_board_is_reported_offline => embedded_killed_board_is_reported_offline, mosquitto_killed_board_is_reported_offline;
    broker_restart_recovers_without_help => embedded_broker_restart_recovers_without_help, mosquitto_broker_restart_recovers_without_help;
    every_bad_input_class_is_counted => embedded_every_bad_input_class_is_counted, mosquitto_every_bad_input_class_is_counted;
    websocket_client_receives_statuses => embedded_websocket_client_receives_statuses, mosquitto_websocket_client_receives_statuses;
    sigint_stops_up_and_boards_go_offline => embedded_sigint_stops_up_and_boards_go_offline, mosquitto_sigint_stops_up_and_boards_go_offline;
    sigterm_stops_up_and_boards_go_offline => embedded_sigterm_stops_up_and_boards_go_offline, mosquitto_sigterm_stops_up_and_boards_go_offline;
    switching_from_the_cli_is_answered => embedded_switching_from_the_cli_is_answered, mosquitto_switching_from_the_cli_is_answered;
    switching_without_an_engine_says_so => embedded_switching_without_an_engine_says_so, mosquitto_switching_without_an_engine_says_so;
}

/// Runs a scenario and reports its wall time (shown with `--nocapture`).
async fn timed(name: &str, scenario: impl std::future::Future<Output = Result<()>>) -> Result<()> {
    let start = std::time::Instant::now();
    let result = scenario.await;
    eprintln!("{name}: {:.1} s", start.elapsed().as_secs_f64());
    result
}

/// The seed's exact status payload for pdu_a.
const SEED_PDU_STATUS: &str = r#"{"node_id":"pdu_a","voltage_in":480.0,"current":12.5,"power_kw":6.0,"status":"ok","wifi_rssi":-62,"uptime":3600}"#;

const SYSTEM_STATUS: &str = "winter-river/system/status";

fn topic(id: &str, leaf: &str) -> String {
    format!("winter-river/{id}/{leaf}")
}

fn is_status(m: &Msg, id: &str, state: &str) -> bool {
    m.topic == topic(id, "status") && m.str_field("status").as_deref() == Some(state)
}

/// Waits for a status from each default board (any state).
async fn wait_all_boards(c: &Client, from: usize) -> Result<Vec<Msg>> {
    Ok(c.wait_each_from(
        "a status from each of the 8 default boards",
        WAIT,
        from,
        &status_topics(&DEFAULT_NODES),
        |m| m.json().is_some(),
    )
    .await?)
}

// ── Scenarios ───────────────────────────────────────────────────────────────────

/// `up` prints where things run; every default board reports, the engine announces
/// itself, and the topology is retained (a client arriving later still gets it).
async fn all_default_boards_report(kind: BrokerKind) -> Result<()> {
    let mut live = Live::up(kind, &[]).await?;
    let banner = live.up_proc().stdout();
    ensure!(
        banner.contains("8 nodes") && banner.contains("8 virtual"),
        "banner: {banner}"
    );
    ensure!(
        banner.contains(&format!("127.0.0.1:{}", live.mqtt_port)),
        "banner names the broker: {banner}"
    );
    if kind == BrokerKind::Embedded {
        ensure!(
            banner.contains(&format!("ws://127.0.0.1:{}/mqtt", live.ws_port)),
            "banner names the websocket: {banner}"
        );
    }
    let warnings = live.up_proc().stderr();
    ensure!(
        !warnings.contains("prefer Mosquitto"),
        "no size warning for 8 boards: {warnings}"
    );

    let c = live.client("watch", &["winter-river/#"]).await?;
    for m in wait_all_boards(&c, 0).await? {
        let id = m.topic.split('/').nth(1).unwrap_or_default();
        ensure!(
            m.str_field("node_id").as_deref() == Some(id),
            "node_id of {}: {}",
            m.topic,
            m.text()
        );
        ensure!(
            m.str_field("kind").is_some() && m.u64_field("seq").is_some(),
            "kind and seq in {}",
            m.text()
        );
    }
    let sys = c
        .wait_for("system/status", WAIT, |m| m.topic == SYSTEM_STATUS)
        .await?;
    ensure!(
        sys.str_field("node_id").as_deref() == Some("system"),
        "system/status: {}",
        sys.text()
    );
    c.wait_for("system/availability online", WAIT, |m| {
        m.topic == "winter-river/system/availability" && m.payload == b"online"
    })
    .await?;

    // Retained: a client that subscribes now, long after the engine published it.
    let late = live
        .client("late", &["winter-river/system/topology"])
        .await?;
    let topo = late
        .wait_for("the retained system/topology", WAIT, |m| {
            m.topic == "winter-river/system/topology"
        })
        .await?;
    let json = topo.json().context("topology is not JSON")?;
    let ids: Vec<&str> = json["nodes"]
        .as_array()
        .context("topology has no nodes array")?
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    ensure!(
        ids.len() == 8 && DEFAULT_NODES.iter().all(|n| ids.contains(n)),
        "topology nodes: {ids:?}"
    );
    live.check_running()?;
    Ok(())
}

/// A plain MQTT client speaking the seed's payload as pdu_a (its virtual board left
/// out) is accepted — nothing rejected, nobody offline — and receives `update`s.
async fn seed_payload_from_a_plain_client_is_accepted(kind: BrokerKind) -> Result<()> {
    let without_pdu = nodes_except("pdu_a");
    let mut live = Live::up(kind, &["--nodes", &without_pdu]).await?;
    let watch = live.client("watch", &[SYSTEM_STATUS]).await?;
    let board = live
        .client("pdu-board", &["winter-river/pdu_a/command"])
        .await?;
    // The subscription is live once anything arrives: the engine refreshes every 5 s.
    let update = board
        .wait_for("an update command on pdu_a/command", WAIT, |m| {
            m.str_field("command").as_deref() == Some("update")
        })
        .await?;
    ensure!(
        update.json().is_some_and(|v| v["params"].is_object()),
        "update: {}",
        update.text()
    );

    let mark = watch.mark();
    for _ in 0..3 {
        board.publish(
            &topic("pdu_a", "status"),
            SEED_PDU_STATUS,
            Qos::AtMostOnce,
            false,
        )?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The engine heard the board (nobody offline) and refused nothing.
    let seen = watch
        .wait_json_from(
            "system/status with pdu_a counted online",
            WAIT,
            mark,
            SYSTEM_STATUS,
            |v| v["nodes_offline"] == 0,
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let last = watch.last_on(SYSTEM_STATUS).context("no system/status")?;
    for m in [&seen, &last] {
        ensure!(
            m.u64_field("rejected_msgs") == Some(0),
            "rejected_msgs must stay 0: {}",
            m.text()
        );
    }
    let update_mark = board.mark();
    board
        .wait_for_from(
            "another update after the seed status",
            WAIT,
            update_mark,
            |m| m.str_field("command").as_deref() == Some("update"),
        )
        .await?;
    live.check_running()?;
    Ok(())
}

/// `winter-river fault util_a on` → util_a `fault` and ups_a `on_battery`, then sw_a
/// transfers to gen_a after the ATS and generator delays (3 s + 7 s simulated; 2 s
/// wall at --speed 5), as a subscriber sees it.
async fn fault_propagates_in_order(kind: BrokerKind) -> Result<()> {
    const SPEED: f64 = 5.0;
    let mut live = Live::up(kind, &["--speed", "5"]).await?;
    let c = live.client("watch", &["winter-river/+/status"]).await?;
    wait_all_boards(&c, 0).await?;
    let before = c
        .wait_for("sw_a on its preferred feed", WAIT, |m| {
            m.topic == topic("sw_a", "status")
                && m.str_field("source").is_some_and(|s| s != "gen_a")
        })
        .await?;
    ensure!(
        before.str_field("status").as_deref() == Some("ok"),
        "sw_a before: {}",
        before.text()
    );

    let mark = c.mark();
    let sent = tokio::time::Instant::now();
    let out = live.run_cli(&["fault", "util_a", "on"]).await?;
    // Confirmed by the engine: its `fault` event's message.
    ensure!(
        out.trim() == "applied: util_a failed",
        "fault output: {out}"
    );
    let util = c
        .wait_for_from("util_a status fault", WAIT, mark, |m| {
            is_status(m, "util_a", "fault")
        })
        .await?;
    let ups = c
        .wait_for_from("ups_a status on_battery", WAIT, mark, |m| {
            is_status(m, "ups_a", "on_battery")
        })
        .await?;
    let sw = c
        .wait_for_from("sw_a source gen_a", WAIT, mark, |m| {
            m.topic == topic("sw_a", "status") && m.str_field("source").as_deref() == Some("gen_a")
        })
        .await?;
    let first = util.at.max(ups.at);
    ensure!(sw.at > first, "sw_a transferred before the fault was seen");
    // Transfer needs start_delay_s 3 + generator start 7 = 10 s simulated.
    let gap_s = (sw.at - first).as_secs_f64();
    let expected_s = 10.0 / SPEED;
    ensure!(
        gap_s >= 0.6 * expected_s,
        "sw_a transferred {gap_s:.2} s after the outage; expected about {expected_s:.1} s"
    );
    eprintln!(
        "fault seen {:.2} s after the command was sent; transfer {gap_s:.2} s after the outage",
        (first - sent).as_secs_f64()
    );
    // No transfer-to-gen_a status before the UPS went on battery.
    let early = c.messages()[mark..]
        .iter()
        .filter(|m| m.at < ups.at)
        .any(|m| {
            m.topic == topic("sw_a", "status") && m.str_field("source").as_deref() == Some("gen_a")
        });
    ensure!(!early, "sw_a reported gen_a before ups_a went on battery");
    live.check_running()?;
    Ok(())
}

/// A board process SIGKILLed (no DISCONNECT) → its Last Will `offline` and the
/// engine's `nodes_offline` = 1.
async fn killed_board_is_reported_offline(kind: BrokerKind) -> Result<()> {
    let without_pdu = nodes_except("pdu_a");
    let mut live = Live::up(kind, &["--nodes", &without_pdu]).await?;
    let c = live
        .client(
            "watch",
            &[
                "winter-river/pdu_a/availability",
                "winter-river/pdu_a/status",
                SYSTEM_STATUS,
            ],
        )
        .await?;
    let board = live.spawn("nodes-pdu_a", &["nodes", "--nodes", "pdu_a"])?;
    c.wait_for("pdu_a availability online", WAIT, |m| {
        m.topic == topic("pdu_a", "availability") && m.payload == b"online"
    })
    .await?;
    c.wait_for("a status from pdu_a", WAIT, |m| {
        m.topic == topic("pdu_a", "status")
    })
    .await?;
    c.wait_json_from(
        "system/status with nobody offline",
        WAIT,
        0,
        SYSTEM_STATUS,
        |v| v["nodes_offline"] == 0,
    )
    .await?;

    let mark = c.mark();
    live.procs[board].kill();
    c.wait_for_from(
        "pdu_a availability offline (its Last Will)",
        WAIT,
        mark,
        |m| m.topic == topic("pdu_a", "availability") && m.payload == b"offline",
    )
    .await?;
    c.wait_json_from(
        "system/status nodes_offline = 1",
        WAIT,
        mark,
        SYSTEM_STATUS,
        |v| v["nodes_offline"] == 1,
    )
    .await?;
    live.procs.remove(board);
    live.check_running()?;
    Ok(())
}

/// The broker killed and started again on the same ports: the engine and the boards
/// come back by themselves — within 10 s a new subscriber sees fresh statuses from
/// every board and the retained topology again.
async fn broker_restart_recovers_without_help(kind: BrokerKind) -> Result<()> {
    const RECOVERY: Duration = Duration::from_secs(10);
    let mut live = Live::broker_only(kind).await?;
    live.spawn("engine", &["engine"])?;
    live.spawn("nodes", &["nodes"])?;
    let before = live.client("before", &["winter-river/+/status"]).await?;
    wait_all_boards(&before, 0).await?;
    before.kill();

    live.kill_broker();
    tokio::time::sleep(Duration::from_millis(500)).await;
    live.restart_broker().await?;
    let restarted = tokio::time::Instant::now();

    let after = live
        .client(
            "after",
            &["winter-river/+/status", "winter-river/system/topology"],
        )
        .await?;
    let mut wanted = status_topics(&DEFAULT_NODES);
    wanted.push("winter-river/system/topology".into());
    let left = RECOVERY.saturating_sub(restarted.elapsed());
    after
        .wait_each_from(
            "statuses from every board and the topology after the restart",
            left,
            0,
            &wanted,
            |_| true,
        )
        .await
        .with_context(|| format!("{kind:?} broker restarted; no recovery within {RECOVERY:?}"))?;
    live.check_running()?;
    Ok(())
}

/// Each bad-input class of docs/protocol.md is dropped and counted in `rejected_msgs`; the
/// engine keeps running and still takes a normal fault command.
async fn every_bad_input_class_is_counted(kind: BrokerKind) -> Result<()> {
    let mut live = Live::up(kind, &[]).await?;
    let c = live
        .client("watch", &[SYSTEM_STATUS, "winter-river/+/status"])
        .await?;
    wait_all_boards(&c, 0).await?;
    c.wait_json_from(
        "system/status with nothing rejected",
        WAIT,
        0,
        SYSTEM_STATUS,
        |v| v["rejected_msgs"] == 0,
    )
    .await?;

    let util_status = topic("util_a", "status");
    let big = format!(
        r#"{{"node_id":"util_a","status":"ok","pad":"{}"}}"#,
        "x".repeat(17 * 1024)
    );
    let bad: [(&str, String, String); 7] = [
        ("not JSON", util_status.clone(), "this is not json {".into()),
        (
            "wrong shape",
            util_status.clone(),
            r#"{"node_id":"util_a","status":42}"#.into(),
        ),
        ("over 16 KiB", util_status.clone(), big),
        (
            "node_id differs from topic",
            util_status.clone(),
            r#"{"node_id":"trf_a","status":"ok"}"#.into(),
        ),
        (
            "unknown node",
            topic("ghost_z", "status"),
            r#"{"node_id":"ghost_z","status":"ok"}"#.into(),
        ),
        (
            "unknown command",
            topic("util_a", "command"),
            r#"{"command":"explode","params":{}}"#.into(),
        ),
        (
            "non-finite number",
            util_status.clone(),
            r#"{"node_id":"util_a","status":"ok","voltage_in":1e999}"#.into(),
        ),
    ];
    let count = bad.len() as u64;
    let mark = c.mark();
    for (_, t, payload) in &bad {
        c.publish(t, payload.as_bytes(), Qos::AtLeastOnce, false)?;
    }
    let names: Vec<&str> = bad.iter().map(|b| b.0).collect();
    c.wait_json_from(
        &format!("rejected_msgs = {count} ({})", names.join(", ")),
        WAIT,
        mark,
        SYSTEM_STATUS,
        |v| v["rejected_msgs"] == count,
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let last = c.last_on(SYSTEM_STATUS).context("no system/status")?;
    ensure!(
        last.u64_field("rejected_msgs") == Some(count),
        "each counted once: {}",
        last.text()
    );
    live.check_running()?;

    let mark = c.mark();
    live.run_cli(&["fault", "util_a", "on"]).await?;
    c.wait_for_from("util_a status fault after the bad input", WAIT, mark, |m| {
        is_status(m, "util_a", "fault")
    })
    .await?;
    live.check_running()?;
    Ok(())
}

/// The switching commands end to end (docs/live.md): `open pdu_a` is answered with
/// the engine's event and heard on MQTT as pdu_a's breaker `open` and srv_a
/// `unpowered`; with pdu_a locked out, `close pdu_a` exits 1 printing the
/// interlock's reason (and is not counted as bad input); `epo` on system/command
/// opens ups_a.
async fn switching_from_the_cli_is_answered(kind: BrokerKind) -> Result<()> {
    let mut live = Live::up(kind, &[]).await?;
    let c = live
        .client(
            "watch",
            &[
                "winter-river/+/status",
                "winter-river/system/events",
                SYSTEM_STATUS,
            ],
        )
        .await?;
    wait_all_boards(&c, 0).await?;

    let mark = c.mark();
    let sent = tokio::time::Instant::now();
    let (code, out, err) = live.run_cli_status(&["open", "pdu_a"]).await?;
    let answered = sent.elapsed();
    ensure!(code == Some(0), "open pdu_a exited {code:?}: {out}{err}");
    let event = c
        .wait_for_from("the open event for pdu_a", WAIT, mark, |m| {
            m.topic == "winter-river/system/events"
                && m.str_field("node_id").as_deref() == Some("pdu_a")
                && m.str_field("command").as_deref() == Some("open")
        })
        .await?;
    let message = event.str_field("message").unwrap_or_default();
    ensure!(
        !message.is_empty() && out.trim() == message,
        "open prints the engine's message `{message}`: {out}"
    );
    c.wait_for_from("pdu_a status with breaker open", WAIT, mark, |m| {
        m.topic == topic("pdu_a", "status") && m.str_field("breaker").as_deref() == Some("open")
    })
    .await?;
    c.wait_for_from("srv_a unpowered", WAIT, mark, |m| {
        is_status(m, "srv_a", "unpowered")
    })
    .await?;
    eprintln!("open pdu_a answered in {:.2} s", answered.as_secs_f64());

    let (code, out, err) = live.run_cli_status(&["lockout", "pdu_a", "on"]).await?;
    ensure!(
        code == Some(0),
        "lockout pdu_a on exited {code:?}: {out}{err}"
    );
    let mark = c.mark();
    let (code, out, err) = live.run_cli_status(&["close", "pdu_a"]).await?;
    ensure!(
        code == Some(1),
        "close pdu_a while locked out exited {code:?}: {out}{err}"
    );
    let refused = c
        .wait_for_from("the refused event for pdu_a", WAIT, mark, |m| {
            m.topic == "winter-river/system/events"
                && m.str_field("event").as_deref() == Some("refused")
                && m.str_field("node_id").as_deref() == Some("pdu_a")
        })
        .await?;
    let reason = refused
        .str_field("reason")
        .context("a refusal has a reason")?;
    ensure!(
        out.trim() == format!("refused: {reason}") && reason.contains("locked out"),
        "close prints the interlock's reason `{reason}`: {out}"
    );
    // Still open, and the refusal is no bad input.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let last = c
        .messages()
        .into_iter()
        .rev()
        .find(|m| m.topic == topic("pdu_a", "status"))
        .context("a pdu_a status")?;
    ensure!(
        last.str_field("breaker").as_deref() == Some("locked_out"),
        "pdu_a after the refused close: {}",
        last.text()
    );
    let sys = c.last_on(SYSTEM_STATUS).context("no system/status")?;
    ensure!(
        sys.u64_field("rejected_msgs") == Some(0),
        "a refusal is not bad input: {}",
        sys.text()
    );

    let mark = c.mark();
    let (code, out, err) = live.run_cli_status(&["epo"]).await?;
    ensure!(code == Some(0), "epo exited {code:?}: {out}{err}");
    c.wait_for_from("the epo's open event for ups_a", WAIT, mark, |m| {
        m.topic == "winter-river/system/events"
            && m.str_field("node_id").as_deref() == Some("ups_a")
            && m.str_field("event").as_deref() == Some("open")
            && m.str_field("command").as_deref() == Some("epo")
    })
    .await?;
    c.wait_for_from("ups_a open after the epo", WAIT, mark, |m| {
        is_status(m, "ups_a", "open")
    })
    .await?;
    ensure!(out.contains("ups_a"), "epo prints what it opened: {out}");
    live.check_running()?;
    Ok(())
}

/// With a broker and no engine, a switching command waits `--wait-s`, says that no
/// engine answered, and exits 3; one that names a mode no kind has exits 2.
async fn switching_without_an_engine_says_so(kind: BrokerKind) -> Result<()> {
    let live = Live::broker_only(kind).await?;
    let sent = tokio::time::Instant::now();
    let (code, out, err) = live
        .run_cli_status(&["open", "pdu_a", "--wait-s", "0.5"])
        .await?;
    ensure!(
        code == Some(3),
        "open with no engine exited {code:?}: {out}{err}"
    );
    ensure!(
        err.contains("no answer to open") && err.contains("is it running?"),
        "says why: {err}"
    );
    ensure!(
        sent.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        sent.elapsed()
    );
    let (code, _, err) = live.run_cli_status(&["mode", "ups_a", "sideways"]).await?;
    ensure!(code == Some(2), "an unknown mode exited {code:?}: {err}");
    ensure!(
        err.contains("`sideways` is not a mode word"),
        "names the word: {err}"
    );
    Ok(())
}

/// A client over MQTT-over-WebSocket (ws://127.0.0.1:WSPORT/mqtt) receives statuses.
async fn websocket_client_receives_statuses(kind: BrokerKind) -> Result<()> {
    let mut live = Live::up(kind, &[]).await?;
    let ws = Client::connect(&live.ws_url(), "ws-watch", &["winter-river/+/status"]).await?;
    wait_all_boards(&ws, 0).await?;
    live.check_running()?;
    Ok(())
}

async fn sigint_stops_up_and_boards_go_offline(kind: BrokerKind) -> Result<()> {
    signal_stops_up(kind, "INT").await
}

async fn sigterm_stops_up_and_boards_go_offline(kind: BrokerKind) -> Result<()> {
    signal_stops_up(kind, "TERM").await
}

/// SIGINT / SIGTERM end `up` within 5 s, and every board's retained availability
/// (and the engine's) turns `offline`. With Mosquitto, which outlives `up`, a client
/// arriving afterwards reads the retained `offline`s.
async fn signal_stops_up(kind: BrokerKind, sig: &str) -> Result<()> {
    let mut live = Live::up(kind, &[]).await?;
    let c = live
        .client("watch", &["winter-river/+/availability"])
        .await?;
    let mut ids: Vec<&str> = DEFAULT_NODES.to_vec();
    ids.push("system");
    let topics: Vec<String> = ids.iter().map(|id| topic(id, "availability")).collect();
    c.wait_each_from(
        "availability online from all boards and the engine",
        WAIT,
        0,
        &topics,
        |m| m.payload == b"online",
    )
    .await?;

    let mark = c.mark();
    let up = live.up_proc();
    up.signal(sig)?;
    let sent = std::time::Instant::now();
    let status = up.wait_exit(Duration::from_secs(5)).await?;
    let took = sent.elapsed();
    ensure!(status.success(), "up after SIG{sig}: {status}");
    ensure!(
        up.stdout().contains("stopping"),
        "up did not say it was stopping"
    );
    c.wait_each_from(
        &format!("availability offline after SIG{sig}"),
        Duration::from_secs(5),
        mark,
        &topics,
        |m| m.payload == b"offline",
    )
    .await?;
    eprintln!("up ended {took:?} after SIG{sig}");

    if kind == BrokerKind::Mosquitto {
        let late = live
            .client("late", &["winter-river/+/availability"])
            .await?;
        late.wait_each_from(
            "retained offline from all boards and the engine",
            WAIT,
            0,
            &topics,
            |m| m.payload == b"offline",
        )
        .await?;
    }
    Ok(())
}

/// `watch` started after a fault shows the events from before it (MQTT events are
/// not retained: they come from the dashboard's `GET /api/events`), and says where
/// they came from. With no dashboard there it still runs, and says where to find
/// them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_shows_the_events_from_before_it_started() -> Result<()> {
    let mut live = Live::up(BrokerKind::Embedded, &[]).await?;
    let banner = live.up_proc().stdout();
    let dashboard = format!("http://127.0.0.1:{}", live.http_port);
    ensure!(
        banner.contains(&format!(
            "watch --broker {} --dashboard {dashboard}",
            live.url()
        )),
        "the banner's watch command names this broker and dashboard: {banner}"
    );
    // Every board up first: their `board connected` events would otherwise come
    // after the fault's and push it out of the eight shown.
    let statuses = live.client("statuses", &["winter-river/+/status"]).await?;
    wait_all_boards(&statuses, 0).await?;
    let events = live
        .client("events", &["winter-river/system/events"])
        .await?;
    live.run_cli(&["fault", "util_a", "on"]).await?;
    for message in ["util_a failed", "ups_a on battery"] {
        events
            .wait_for(message, WAIT, |m| {
                m.str_field("message").as_deref() == Some(message)
            })
            .await?;
    }
    // The dashboard hears the same messages; give it a moment to file them.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let url = live.url();
    live.spawn("watch", &["watch", "--dashboard", &dashboard])?;
    let watch = live.procs.len() - 1;
    let shown = live.procs[watch]
        .wait_stdout("ups_a on battery", WAIT)
        .await
        .context("watch shows the UPS going on battery, which happened before it started")?;
    ensure!(
        shown.contains("critical  util_a     util_a failed"),
        "watch shows the utility failure: {shown}"
    );
    // Two or more: the generator may have started by now.
    ensure!(
        shown.contains("events before watch started: the last ")
            && shown.contains(&format!(" from {dashboard}/api/events)")),
        "watch says where the earlier events came from: {shown}"
    );

    // Nothing listens on this port: watch runs on and says where the events are.
    let nowhere = format!("http://127.0.0.1:{}", winter_river_testkit::free_port()?);
    let mut blind = winter_river_testkit::Proc::spawn(
        "watch-without-dashboard",
        system::BIN,
        &["watch", "--broker", &url, "--dashboard", &nowhere],
    )?;
    let shown = blind
        .wait_stdout("the dashboard's event list has them", WAIT)
        .await?;
    ensure!(
        shown.contains(&format!(
            "events before watch started: not read from {nowhere}/api/events ("
        )),
        "watch says which dashboard it could not read: {shown}"
    );
    blind
        .wait_stdout("sw_a", WAIT)
        .await
        .context("watch still shows the boards")?;
    blind.check_running()?;
    ensure!(
        !blind.stdout().contains("util_a failed"),
        "no earlier events without a dashboard"
    );
    live.check_running()?;
    Ok(())
}

/// A site of more than 2,000 nodes (rumqttd's comfortable size, which once earned a
/// warning) starts on the embedded broker without a warning or an error: its retained
/// topology goes through and the engine runs (no boards here: `--nodes none`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker_carries_a_large_site_without_warnings() -> Result<()> {
    let dir = winter_river_testkit::TempDir::new("large-site")?;
    let site = dir.path().join("site.toml");
    let site = site.to_str().context("temp path is not UTF-8")?;
    let generate = std::process::Command::new(system::BIN)
        .args(["topology", "generate", "--racks", "1800", "--out", site])
        .output()?;
    ensure!(generate.status.success(), "generate: {generate:?}");

    let mut live = Live::up(
        BrokerKind::Embedded,
        &["--topology", site, "--nodes", "none"],
    )
    .await?;
    let banner = live.up_proc().stdout();
    let nodes: usize = banner
        .split_once("site `")
        .and_then(|(_, rest)| rest.split_once("`, "))
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("node count in the banner: {banner}"))?;
    ensure!(nodes > 2_000, "the generated site has {nodes} nodes");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let log = live.up_proc().stderr();
    ensure!(
        !log.contains("warning") && !log.contains("WARN") && !log.contains("ERROR"),
        "stderr: {log}"
    );
    live.check_running()?;
    Ok(())
}
