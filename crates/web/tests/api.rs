//! The HTTP API, the live stream and /metrics against a live system in-process
//! (embedded broker, engine, virtual boards, web). The /metrics check runs Debian's
//! `promtool` (package `prometheus`); missing, it fails with what to install.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use util::{INSTRUCTOR, Stack, TOKEN, get, request, request_full};

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn post_command(stack: &Stack, id: &str, auth: Option<&str>, body: &str) -> (u16, Value) {
    let auth_header = auth.map(bearer);
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth_header {
        headers.push(("Authorization", a.as_str()));
    }
    let (status, body) = request(
        stack.http,
        "POST",
        &format!("/api/nodes/{id}/command"),
        &headers,
        body.as_bytes(),
    )
    .await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_api_answers_each_case_with_its_status_code() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let fail = r#"{"command": "set_fault", "params": {"state": true}}"#;

    let (s, v) = post_command(&stack, "util_a", None, fail).await;
    assert_eq!(s, 401, "{v}");
    let (s, _) = post_command(&stack, "util_a", Some("wrong-token"), fail).await;
    assert_eq!(s, 403);
    let (s, _) = post_command(&stack, "util_a", Some(TOKEN), "{not json").await;
    assert_eq!(s, 400);
    let (s, v) = post_command(&stack, "util_a", Some(TOKEN), r#"{"command": "set_fault"}"#).await;
    assert_eq!(s, 422, "{v}");
    let (s, _) = post_command(
        &stack,
        "util_a",
        Some(TOKEN),
        r#"{"command": "explode", "params": {}}"#,
    )
    .await;
    assert_eq!(s, 422);
    let (s, v) = post_command(
        &stack,
        "pdu_a",
        Some(TOKEN),
        r#"{"command": "set_load", "params": {"kw": 5.0}}"#,
    )
    .await;
    assert_eq!(s, 422, "set_load on a PDU: {v}");
    // EPO is for the site as a whole: refused on a node (it is sent to `system`).
    let (s, v) = post_command(
        &stack,
        "ups_a",
        Some(TOKEN),
        r#"{"command": "epo", "params": {}}"#,
    )
    .await;
    assert_eq!(s, 422, "epo on a node: {v}");
    // A mode that is not one of the command's choices.
    let (s, v) = post_command(
        &stack,
        "ups_a",
        Some(TOKEN),
        r#"{"command": "ups_mode", "params": {"mode": "auto"}}"#,
    )
    .await;
    assert_eq!(s, 422, "ups_mode auto: {v}");
    let (s, _) = post_command(&stack, "no_such_node", Some(TOKEN), fail).await;
    assert_eq!(s, 404);
    // Nothing of the above reached the model.
    assert_eq!(stack.node_status("util_a").await.as_deref(), Some("ok"));

    let (s, v) = post_command(&stack, "util_a", Some(TOKEN), fail).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["topic"], format!("{}/util_a/command", stack.prefix));
    let deadline = Instant::now() + Duration::from_secs(2);
    while stack.node_status("ups_a").await.as_deref() != Some("on_battery") {
        assert!(Instant::now() < deadline, "ups_a not on battery within 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stack.node_status("util_a").await.as_deref(), Some("fault"));

    // set_load on a load, reset on the engine: accepted.
    let (s, _) = post_command(
        &stack,
        "srv_a",
        Some(TOKEN),
        r#"{"command": "set_load", "params": {"kw": 12.5}}"#,
    )
    .await;
    assert_eq!(s, 202);
    let (s, _) = post_command(
        &stack,
        "system",
        Some(TOKEN),
        r#"{"command": "reset", "params": {}}"#,
    )
    .await;
    assert_eq!(s, 202);

    // The session endpoint tells the page whether its token controls.
    let auth = bearer(TOKEN);
    let (_, body) = request(
        stack.http,
        "GET",
        "/api/session",
        &[("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["control"],
        true
    );
    let (_, body) = get(stack.http, "/api/session").await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["control"],
        false
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_state_events_history_and_screen() {
    let stack = Stack::start().await;
    let state = stack.wait_all_reporting(Duration::from_secs(10)).await;
    assert_eq!(state["site"], "winter-river-a");
    assert_eq!(state["link"]["broker"], true);
    let ids: Vec<&str> = state["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, util::DEFAULT_NODES);

    // The shared description the page builds itself from: every kind with its
    // label, fields and commands; the status words with their tone; field units.
    let (s, body) = get(stack.http, "/api/schema").await;
    assert_eq!(s, 200);
    let schema: Value = serde_json::from_slice(&body).unwrap();
    let kind = |name: &str| {
        schema["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no kind {name} in /api/schema"))
    };
    assert_eq!(kind("sts")["label"], "Static transfer switch");
    assert_eq!(kind("sts")["extra_fields"], serde_json::json!(["source"]));
    assert_eq!(kind("ups")["summary"], "batt {battery_pct} · {runtime_s}");
    assert_eq!(
        kind("server")["commands"],
        serde_json::json!(["set_fault", "set_load", "reset", "open", "close", "lockout"])
    );
    assert_eq!(
        kind("pdu")["commands"],
        serde_json::json!(["set_fault", "reset", "open", "close", "lockout"])
    );
    // What the page builds its switching controls, badges and risk banner from: a
    // kind's selector positions, a command's choices and node-id parameter, each
    // mode's normal position and risk, each breaker position's tone.
    assert_eq!(
        kind("switchgear")["commands"],
        serde_json::json!([
            "set_fault",
            "reset",
            "open",
            "close",
            "lockout",
            "ats_mode",
            "transfer",
            "ats_test"
        ])
    );
    assert_eq!(
        kind("ups")["modes"],
        serde_json::json!(["normal", "static_bypass", "maintenance_bypass"])
    );
    let command = |name: &str| {
        schema["commands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(command("ups_mode")["params"][0]["type"], "choice");
    assert_eq!(
        command("gen_mode")["params"][0]["choices"],
        serde_json::json!(["auto", "off", "run"])
    );
    assert_eq!(command("transfer")["params"][0]["type"], "node_id");
    assert_eq!(command("epo")["applies_to"], "site");
    assert_eq!(command("epo")["site_wide"], true);
    let mode = |word: &str| {
        schema["modes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["word"] == word)
            .cloned()
            .unwrap()
    };
    assert_eq!(mode("auto")["normal"], true);
    assert_eq!(mode("auto")["risk"], Value::Null);
    assert_eq!(mode("manual")["normal"], false);
    assert!(mode("maintenance_bypass")["risk"].is_string());
    assert_eq!(
        schema["breakers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["word"].as_str().unwrap(), b["tone"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [
            ("closed", "good"),
            ("open", "warn"),
            ("tripped", "bad"),
            ("locked_out", "warn")
        ]
    );
    let state = |word: &str| {
        schema["states"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["word"] == word)
            .cloned()
            .unwrap()
    };
    assert_eq!(state("fault")["tone"], "bad");
    assert_eq!(state("on_battery")["label"], "ON BATTERY");
    let field = |name: &str| {
        schema["status_fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(field("power_kw")["unit"], "kW");
    assert_eq!(field("battery_pct")["decimals"], 1);

    let (s, body) = get(stack.http, "/api/topology").await;
    assert_eq!(s, 200);
    let topo: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(topo["nodes"].as_array().unwrap().len(), 8);
    assert_eq!(
        topo["nodes"][3]["feeds"],
        serde_json::json!(["trf_a", "gen_a"])
    );

    // A fault gives events, in order, with severities.
    let (s, _) = post_command(
        &stack,
        "util_a",
        Some(TOKEN),
        r#"{"command": "set_fault", "params": {"state": true}}"#,
    )
    .await;
    assert_eq!(s, 202);
    let deadline = Instant::now() + Duration::from_secs(3);
    let events = loop {
        let (_, body) = get(stack.http, "/api/events?since=0").await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        let list = v["events"].as_array().unwrap().clone();
        if list.iter().any(|e| e["event"] == "on_battery") {
            break list;
        }
        assert!(Instant::now() < deadline, "no on_battery event: {list:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let fault = events
        .iter()
        .find(|e| e["node_id"] == "util_a" && e["event"] == "fault")
        .unwrap();
    assert_eq!(fault["severity"], "critical");
    let last_seq = events.last().unwrap()["seq"].as_u64().unwrap();
    let (_, body) = get(stack.http, &format!("/api/events?since={last_seq}")).await;
    let newer: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        newer["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["seq"].as_u64().unwrap() > last_seq)
    );

    // History: one sample a second, the system series and every UPS's battery.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, body) = get(stack.http, "/api/history?node=ups_a").await;
    assert_eq!(s, 200);
    let h: Value = serde_json::from_slice(&body).unwrap();
    let n = h["t_ms"].as_array().unwrap().len();
    assert!(n >= 1, "{h}");
    assert_eq!(h["it_kw"].as_array().unwrap().len(), n);
    assert_eq!(h["battery_pct"]["ups_a"].as_array().unwrap().len(), n);
    assert_eq!(h["node"]["id"], "ups_a");
    assert_eq!(h["node"]["power_kw"].as_array().unwrap().len(), n);

    // The OLED frame: 1024 bytes as the node core draws them, and as PBM.
    let (s, headers, frame) =
        request_full(stack.http, "GET", "/api/nodes/ups_a/screen", &[], b"").await;
    assert_eq!(s, 200);
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert_eq!(frame.len(), 1024);
    assert!(
        frame.iter().map(|b| b.count_ones()).sum::<u32>() > 200,
        "a lit screen"
    );
    let (s, pbm) = get(stack.http, "/api/nodes/ups_a/screen?format=pbm").await;
    assert_eq!(s, 200);
    assert!(pbm.starts_with(b"P4\n128 64\n"));
    assert_eq!(pbm.len(), "P4\n128 64\n".len() + 1024);
    let (s, _) = get(stack.http, "/api/nodes/nope/screen").await;
    assert_eq!(s, 404);

    // The page and its assets are served from the binary.
    for (path, kind) in [
        ("/", "text/html"),
        ("/app.js", "javascript"),
        ("/app.css", "text/css"),
        ("/favicon.svg", "svg"),
        // What a browser fetches by itself on an error page.
        ("/favicon.ico", "svg"),
    ] {
        let (s, headers, body) = request_full(stack.http, "GET", path, &[], b"").await;
        assert_eq!(s, 200, "{path}");
        assert!(
            headers["content-type"].contains(kind),
            "{path}: {headers:?}"
        );
        assert!(!body.is_empty());
        // Nothing is loaded from outside (the SVG namespace is a name, not a load).
        let text = String::from_utf8_lossy(&body).replace("http://www.w3.org/2000/svg", "");
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{path} refers to another host"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool_check() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let needles = [
        "winter_river_node_power_kw{node_id=\"srv_a\",kind=\"server\"} 30",
        "winter_river_node_status{node_id=\"util_a\",kind=\"utility\",status=\"ok\"} 1",
        "winter_river_node_current_amperes{",
        "winter_river_node_voltage_in_volts{",
        "winter_river_node_load_percent{",
        "winter_river_it_power_kw 30",
        "winter_river_facility_power_kw ",
        "winter_river_utility_power_kw ",
        "winter_river_generator_power_kw ",
        "winter_river_battery_power_kw ",
        "winter_river_pue_ratio ",
        "winter_river_ups_runtime_min_seconds ",
        "winter_river_generator_fuel_min_percent 100",
        "winter_river_engine_messages_in_total{topic_kind=\"status\"}",
        "winter_river_engine_messages_out_total{topic_kind=\"update\"}",
        "winter_river_engine_rejected_messages_total{reason=\"not_json\"} 0",
        "winter_river_engine_commands_refused_total 0",
        "winter_river_engine_tick_duration_seconds_bucket{le=\"+Inf\"}",
        "winter_river_engine_tick_duration_seconds_count ",
    ];
    // Boards show values after the engine's first update to them (at the latest its
    // 5 s refresh); the engine's telemetry comes about once a second.
    let text = scrape_until(&stack, &needles, Duration::from_secs(8)).await;
    promtool_check(&text).await;

    // A Prometheus server asking for OpenMetrics gets it.
    let (s, headers, body) = request_full(
        stack.http,
        "GET",
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )],
        b"",
    )
    .await;
    assert_eq!(s, 200);
    assert!(headers["content-type"].starts_with("application/openmetrics-text"));
    assert!(String::from_utf8(body).unwrap().ends_with("# EOF\n"));
}

/// Scrapes `/metrics` (Prometheus text) until it holds every one of `needles`,
/// within `timeout`.
async fn scrape_until(stack: &Stack, needles: &[&str], timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let (s, headers, body) = request_full(stack.http, "GET", "/metrics", &[], b"").await;
        assert_eq!(s, 200);
        assert!(headers["content-type"].starts_with("text/plain; version=0.0.4"));
        let text = String::from_utf8(body).unwrap();
        let missing: Vec<&str> = needles
            .iter()
            .copied()
            .filter(|n| !text.contains(n))
            .collect();
        if missing.is_empty() {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "/metrics lacks {missing:?}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `promtool check metrics` passes on `text`.
async fn promtool_check(text: &str) {
    let mut child = match tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot run `promtool` ({e}): install Debian's `prometheus` package \
             (`apt-get install -y prometheus`, as scripts/test does)"
        ),
    };
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Rooms (issue 14) on the hall: the schema's classes and the room kind, the
/// topology's `room` and `class`, a room's state without electrical fields, the
/// rooms' air and the highest inlet in the history, and the temperatures as
/// `/metrics` series a user scrapes (promtool-clean).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_in_the_schema_topology_state_history_and_metrics() {
    let stack = Stack::start_repo("hall.toml").await;
    stack.wait_all_reporting(Duration::from_secs(20)).await;

    let (s, body) = get(stack.http, "/api/schema").await;
    assert_eq!(s, 200);
    let schema: Value = serde_json::from_slice(&body).unwrap();
    let classes: Vec<(String, f64, f64)> = schema["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["word"].as_str().unwrap().to_string(),
                c["recommended_max_c"].as_f64().unwrap(),
                c["allowable_max_c"].as_f64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, f64, f64)> =
        [("A1", 32.0), ("A2", 35.0), ("A3", 40.0), ("A4", 45.0)]
            .iter()
            .map(|(w, a)| (w.to_string(), 27.0, *a))
            .collect();
    assert_eq!(classes, expected, "ASHRAE 2021 classes in /api/schema");
    let bands: Vec<(&str, &str)> = schema["bands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["word"].as_str().unwrap(), b["tone"].as_str().unwrap()))
        .collect();
    assert_eq!(
        bands,
        [("normal", "good"), ("high", "warn"), ("critical", "bad")],
        "the bands and their tones in /api/schema"
    );
    let room = schema["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "room")
        .cloned()
        .unwrap();
    assert_eq!(room["role"], "thermal");
    assert_eq!(
        room["extra_fields"],
        serde_json::json!(["temperature_c", "solid_c"])
    );
    assert_eq!(room["commands"], serde_json::json!([]));

    let (s, body) = get(stack.http, "/api/topology").await;
    assert_eq!(s, 200);
    let topo: Value = serde_json::from_slice(&body).unwrap();
    let node = |id: &str| {
        topo["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} in /api/topology"))
    };
    assert_eq!(node("hall_1")["class"], "A2");
    for id in ["srv_101", "crah_1", "pdu_a1"] {
        assert_eq!(node(id)["room"], "hall_1", "{id} names its room");
    }
    assert!(node("ups_a1").get("room").is_none());

    // The room's state: its temperatures, no power of its own; the racks' inlet.
    let deadline = Instant::now() + Duration::from_secs(10);
    let state = loop {
        let (_, body) = get(stack.http, "/api/state").await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        let has = |id: &str, field: &str| {
            v["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["node_id"] == id && n[field].is_number())
        };
        if has("hall_1", "temperature_c")
            && has("srv_101", "inlet_c")
            && has("crah_1", "cooling_kw")
            && v["system"]["max_inlet_c"].is_number()
        {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "no temperatures in /api/state: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let hall = state["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_id"] == "hall_1")
        .unwrap();
    let air = hall["temperature_c"].as_f64().unwrap();
    assert!(
        (21.5..=22.5).contains(&air),
        "the cooled hall near its 22 °C setpoint: {air}"
    );
    for field in ["power_kw", "voltage_in", "current", "breaker"] {
        assert!(hall.get(field).is_none(), "a room has no {field}: {hall}");
    }

    // The history keeps the room's air and the highest inlet, a sample a second.
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let (_, body) = get(stack.http, "/api/history").await;
        let h: Value = serde_json::from_slice(&body).unwrap();
        let numbers = |v: &Value| {
            v.as_array()
                .map_or(0, |a| a.iter().filter(|x| x.is_number()).count())
        };
        if numbers(&h["temperature_c"]["hall_1"]) >= 2 && numbers(&h["max_inlet_c"]) >= 2 {
            assert_eq!(
                h["temperature_c"].as_object().unwrap().len(),
                1,
                "one series per room: {}",
                h["temperature_c"]
            );
            break;
        }
        assert!(Instant::now() < deadline, "no temperature history: {h}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let text = scrape_until(
        &stack,
        &[
            "winter_river_node_temperature_celsius{node_id=\"hall_1\",kind=\"room\"} 2",
            "winter_river_node_solid_celsius{node_id=\"hall_1\",kind=\"room\"} 2",
            "winter_river_node_inlet_celsius{node_id=\"srv_101\",kind=\"server\"} 2",
            "winter_river_node_cooling_kw{node_id=\"crah_1\",kind=\"cooling\"} ",
            "winter_river_server_inlet_max_celsius 2",
            "winter_river_nodes{status=\"shutdown\"} 0",
            "# HELP winter_river_node_temperature_celsius Air temperature [°C]",
        ],
        Duration::from_secs(8),
    )
    .await;
    assert!(
        !text.contains("winter_river_node_power_kw{node_id=\"hall_1\""),
        "a room has no power series"
    );
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap_or("");
        assert!(name.is_ascii(), "a metric name of ASCII only: {line}");
    }
    promtool_check(&text).await;
}

/// Reads the live stream for `window` and returns each `delta` payload.
async fn read_live(stack: &Stack, window: Duration, pause_first: Duration) -> Vec<Value> {
    let mut stream = tokio::net::TcpStream::connect(stack.http).await.unwrap();
    let req = format!(
        "GET /api/live HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        stack.http
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    // A slow browser: nothing is read for a while.
    tokio::time::sleep(pause_first).await;
    let mut raw = Vec::new();
    let deadline = tokio::time::Instant::now() + window;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            r = stream.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    let text = String::from_utf8_lossy(&raw);
    text.split("event: delta\n")
        .skip(1)
        .filter_map(|chunk| {
            let line = chunk.lines().find(|l| l.starts_with("data: "))?;
            serde_json::from_str(&line["data: ".len()..]).ok()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_stream_starts_full_and_pushes_at_most_10_a_second() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    // Keep things changing: a load ramps while we watch.
    let ramp = {
        let http = stack.http;
        tokio::spawn(async move {
            let auth = format!("Bearer {TOKEN}");
            for i in 0..40 {
                let body = format!(
                    r#"{{"command": "set_load", "params": {{"kw": {}}}}}"#,
                    10 + i
                );
                request(
                    http,
                    "POST",
                    "/api/nodes/srv_a/command",
                    &[("Authorization", &auth)],
                    body.as_bytes(),
                )
                .await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let window = Duration::from_secs(3);
    let deltas = read_live(&stack, window, Duration::ZERO).await;
    ramp.await.unwrap();
    assert!(!deltas.is_empty());
    assert_eq!(deltas[0]["full"], true);
    assert_eq!(deltas[0]["nodes"].as_array().unwrap().len(), 8);
    assert!(
        deltas.len() >= 5,
        "the stream goes on: {} pushes",
        deltas.len()
    );
    // ≤ 10 a second, with one push of slack for the window's edges.
    assert!(deltas.len() <= 31, "{} pushes in {window:?}", deltas.len());
    assert!(deltas.iter().skip(1).all(|d| d["full"] == false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_gets_the_latest_state_not_a_backlog() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let auth = format!("Bearer {TOKEN}");
    // While the reader sleeps, srv_a's demand changes 100 times, far faster than
    // the 10 pushes a second a browser may get.
    let http = stack.http;
    let writer = tokio::spawn(async move {
        for i in 0..100 {
            let body = format!(
                r#"{{"command": "set_load", "params": {{"kw": {}}}}}"#,
                10 + i
            );
            request(
                http,
                "POST",
                "/api/nodes/srv_a/command",
                &[("Authorization", &auth)],
                body.as_bytes(),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let stall = Duration::from_millis(2500);
    let window = Duration::from_millis(1000);
    let deltas = read_live(&stack, window, stall).await;
    writer.await.unwrap();
    // Pushes are bounded by time, not by the number of changes; the last one
    // carries the final demand.
    let limit = ((stall + window).as_secs_f64() * 10.0).ceil() as usize + 1;
    assert!(
        deltas.len() <= limit,
        "{} pushes in {:?}",
        deltas.len(),
        stall + window
    );
    let last_srv = deltas
        .iter()
        .rev()
        .filter_map(|d| d["nodes"].as_array())
        .flatten()
        .find(|n| n["node_id"] == "srv_a")
        .expect("srv_a in a push");
    assert!(
        (last_srv["power_kw"].as_f64().unwrap() - 109.0).abs() < 0.5,
        "{last_srv}"
    );
}

// ── Roles and live drills (issue 13) ────────────────────────────────────────

/// `/api/session` as the page asks it: (control, instructor).
async fn session_of(stack: &Stack, token: Option<&str>) -> (bool, bool) {
    let auth = token.map(bearer);
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    let (s, body) = request(stack.http, "GET", "/api/session", &headers, b"").await;
    assert_eq!(s, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    (
        v["control"].as_bool().unwrap(),
        v["instructor"].as_bool().unwrap(),
    )
}

/// Publishes the seed's topology as the engine would, and waits until the web has it.
async fn play_topology(stack: &Stack, engine: &winter_river_testkit::Client) {
    engine
        .publish(
            &format!("{}/system/topology", stack.prefix),
            util::SEED_TOPOLOGY_JSON,
            winter_river_protocol::Qos::AtLeastOnce,
            true,
        )
        .unwrap();
    // A bound, not a timing: on a loaded machine the web's MQTT session takes a
    // few seconds to come up before the retained topology reaches it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(stack.http, "/api/topology").await.0 != 200 {
        assert!(Instant::now() < deadline, "the web has no topology");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instructor_s_token_is_needed_for_fault_injection_and_drill_control() {
    let stack = Stack::web_only_with(Stack::with_instructor).await;
    let p = stack.prefix.clone();
    let engine = stack.client("engine").await;
    engine.subscribe(&format!("{p}/+/command")).unwrap();
    engine
        .subscribe(&format!("{p}/system/drill/command"))
        .unwrap();
    play_topology(&stack, &engine).await;

    assert_eq!(session_of(&stack, Some(TOKEN)).await, (true, false));
    assert_eq!(session_of(&stack, Some(INSTRUCTOR)).await, (true, true));
    assert_eq!(session_of(&stack, Some("nope")).await, (false, false));
    assert_eq!(session_of(&stack, None).await, (false, false));

    let fail = r#"{"command": "set_fault", "params": {"state": true}}"#;
    let (s, v) = post_command(&stack, "util_a", Some(TOKEN), fail).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"], "fault injection needs the instructor's token");
    let (s, v) = post_command(&stack, "util_a", Some("nope"), fail).await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = util::post_json(
        stack.http,
        "/api/drill",
        Some(TOKEN),
        r#"{"command": "start"}"#,
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"], "drill control needs the instructor's token");

    // The operator still switches; the instructor injects faults and switches too.
    // What the web publishes says it came from the dashboard.
    let mark = engine.mark();
    let (s, v) = post_command(
        &stack,
        "ups_a",
        Some(TOKEN),
        r#"{"command": "ups_mode", "params": {"mode": "static_bypass"}}"#,
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = post_command(&stack, "util_a", Some(INSTRUCTOR), fail).await;
    assert_eq!(s, 202, "{v}");
    let (s, _) = post_command(&stack, "pdu_a", Some(INSTRUCTOR), r#"{"command": "open"}"#).await;
    assert_eq!(s, 202);
    for (topic, name) in [
        ("ups_a", "ups_mode"),
        ("util_a", "set_fault"),
        ("pdu_a", "open"),
    ] {
        let m = engine
            .wait_json_from(
                &format!("{name} on {topic}"),
                Duration::from_secs(5),
                mark,
                &format!("{p}/{topic}/command"),
                |v| v["command"] == name,
            )
            .await
            .unwrap();
        assert_eq!(m.json().unwrap()["channel"], "dashboard", "{}", m.text());
    }
    // Nothing the operator was refused reached the broker.
    assert!(
        engine
            .on_topic(&format!("{p}/system/drill/command"))
            .is_empty()
    );
    assert_eq!(
        engine
            .on_topic(&format!("{p}/util_a/command"))
            .iter()
            .filter(|m| m.json().is_some_and(|v| v["command"] == "set_fault"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_instructor_token_the_operator_does_both() {
    let stack = Stack::web_only().await;
    let p = stack.prefix.clone();
    let engine = stack.client("engine").await;
    engine
        .subscribe(&format!("{p}/system/drill/command"))
        .unwrap();
    play_topology(&stack, &engine).await;
    assert_eq!(session_of(&stack, Some(TOKEN)).await, (true, true));
    let (s, v) = post_command(
        &stack,
        "util_a",
        Some(TOKEN),
        r#"{"command": "set_fault", "params": {"state": true}}"#,
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = util::post_json(
        stack.http,
        "/api/drill",
        Some(TOKEN),
        r#"{"command": "stop"}"#,
    )
    .await;
    assert_eq!(s, 202, "{v}");
    engine
        .wait_json_from(
            "the stop",
            Duration::from_secs(5),
            0,
            &format!("{p}/system/drill/command"),
            |v| v["command"] == "stop",
        )
        .await
        .unwrap();
    // No debrief directory was given to this dashboard: it says so.
    let (s, body) = get(stack.http, "/drill/debrief").await;
    assert_eq!(s, 404);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("no debrief directory"),
        "{v}"
    );
}

/// A drill status as an engine running `utility-loss.toml` would retain it.
fn drill_status(state: &str, clock_s: f64) -> winter_river_protocol::DrillStatus {
    let v = serde_json::json!({
        "state": state, "name": "Utility loss, generator fails to start", "file": "utility-loss.toml",
        "clock_s": clock_s, "duration_s": 600.0,
        "injects": [
            {"index": 0, "at_s": 30.0, "node": "util_a", "command": "set_fault state=true"},
            {"index": 1, "at_s": 31.0, "node": "gen_a", "command": "set_fault state=true"}],
        "steps": [
            {"number": 1, "note": "Confirm UPS A on battery", "node": "ups_a", "command": "reset", "state": "pending"}],
        "expects": [{"description": "ups_a.status == \"on_battery\" at t=35s", "verdict": "pending"}],
        "library": ["utility-loss.toml", "ups-maintenance.toml"],
    });
    serde_json::from_value(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_status_commands_live_stream_and_debrief() {
    let debriefs = util::fresh_dir("debriefs");
    let stack = Stack::web_only_with(|c| {
        Stack::with_instructor(c);
        c.debrief_dir = Some(debriefs.clone());
    })
    .await;
    let p = stack.prefix.clone();
    let engine = stack.client("engine").await;
    engine
        .subscribe(&format!("{p}/system/drill/command"))
        .unwrap();
    let drill_topic = format!("{p}/system/drill/command");

    let (s, body) = get(stack.http, "/api/drill").await;
    assert_eq!(s, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        serde_json::json!({"state": "none"})
    );

    let post = |body: &'static str, token: Option<&'static str>| {
        let http = stack.http;
        async move { util::post_json(http, "/api/drill", token, body).await }
    };
    assert_eq!(post(r#"{"command": "start"}"#, None).await.0, 401);
    assert_eq!(post("{not json", Some(INSTRUCTOR)).await.0, 400);
    let (s, v) = post(r#"{"command": "explode"}"#, Some(INSTRUCTOR)).await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = post(
        r#"{"command": "inject", "params": {"event": "x"}}"#,
        Some(INSTRUCTOR),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = post(
        r#"{"command": "load", "params": {"file": "../../etc/passwd"}}"#,
        Some(INSTRUCTOR),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(v["error"].as_str().unwrap().contains("not a path"), "{v}");
    assert!(
        engine.on_topic(&drill_topic).is_empty(),
        "nothing refused was sent"
    );

    // The engine's retained status: served as it came, and pushed on the live stream.
    let loaded = drill_status("loaded", 0.0);
    engine
        .publish(
            &format!("{p}/system/drill"),
            winter_river_protocol::encode_drill_status(&loaded).unwrap(),
            winter_river_protocol::Qos::AtLeastOnce,
            true,
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, body) = get(stack.http, "/api/drill").await;
        if let Ok(d) = winter_river_protocol::decode_drill_status(&body)
            && d == loaded
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/api/drill never showed the drill"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Checked against it, then published as the engine reads them.
    let (s, v) = post(
        r#"{"command": "inject", "params": {"event": 2}}"#,
        Some(INSTRUCTOR),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        v["error"],
        "the drill `Utility loss, generator fails to start` has 2 injects (0 to 1)"
    );
    let (s, v) = post(
        r#"{"command": "load", "params": {"file": "nope.toml"}}"#,
        Some(INSTRUCTOR),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("ups-maintenance.toml"),
        "{v}"
    );
    for (body, wire) in [
        (
            r#"{"command": "load", "params": {"file": "ups-maintenance.toml"}}"#,
            serde_json::json!({"command": "load", "params": {"file": "ups-maintenance.toml"}}),
        ),
        (
            r#"{"command": "start"}"#,
            serde_json::json!({"command": "start", "params": {}}),
        ),
        (
            r#"{"command": "inject", "params": {"event": 1}}"#,
            serde_json::json!({"command": "inject", "params": {"event": 1}}),
        ),
        (
            r#"{"command": "stop", "params": {}}"#,
            serde_json::json!({"command": "stop", "params": {}}),
        ),
    ] {
        let mark = engine.mark();
        let (s, v) = post(body, Some(INSTRUCTOR)).await;
        assert_eq!(s, 202, "{body}: {v}");
        assert_eq!(v["topic"], drill_topic);
        let heard = engine
            .wait_json_from(body, Duration::from_secs(5), mark, &drill_topic, |_| true)
            .await
            .unwrap();
        assert_eq!(heard.json().unwrap(), wire);
        assert!(
            winter_river_protocol::decode_drill_command(heard.text().as_bytes()).is_ok(),
            "the engine can read {}",
            heard.text()
        );
    }

    // A change of the drill reaches a live client without it asking.
    let live = tokio::spawn({
        let http = stack.http;
        async move {
            let mut stream = tokio::net::TcpStream::connect(http).await.unwrap();
            let req = format!(
                "GET /api/live HTTP/1.1\r\nHost: {http}\r\nAccept: text/event-stream\r\n\r\n"
            );
            stream.write_all(req.as_bytes()).await.unwrap();
            let mut raw = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            loop {
                tokio::select! {
                    r = stream.read(&mut buf) => match r {
                        Ok(0) | Err(_) => break,
                        Ok(n) => raw.extend_from_slice(&buf[..n]),
                    },
                    () = tokio::time::sleep_until(deadline) => break,
                }
                if String::from_utf8_lossy(&raw).contains("\"state\":\"running\"") {
                    break;
                }
            }
            String::from_utf8_lossy(&raw).to_string()
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let running = drill_status("running", 12.5);
    engine
        .publish(
            &format!("{p}/system/drill"),
            winter_river_protocol::encode_drill_status(&running).unwrap(),
            winter_river_protocol::Qos::AtLeastOnce,
            true,
        )
        .unwrap();
    let text = live.await.unwrap();
    let deltas: Vec<Value> = text
        .split("event: delta\n")
        .skip(1)
        .filter_map(|chunk| {
            let line = chunk.lines().find(|l| l.starts_with("data: "))?;
            serde_json::from_str(&line["data: ".len()..]).ok()
        })
        .collect();
    assert_eq!(
        deltas[0]["drill"]["state"], "loaded",
        "the first push is full"
    );
    let pushed = deltas
        .iter()
        .skip(1)
        .find_map(|d| d.get("drill"))
        .expect("a push with the drill's change");
    assert_eq!(pushed["state"], "running");
    assert_eq!(pushed["clock_s"], 12.5);

    // The debrief page: none yet, then the engine's latest.html as it wrote it.
    let (s, body) = get(stack.http, "/drill/debrief").await;
    assert_eq!(s, 404);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("no debrief written yet"),
        "{v}"
    );
    let page = "<!doctype html><title>Debrief</title><p>Score 80 / 100</p>";
    std::fs::write(debriefs.join("latest.html"), page).unwrap();
    let (s, headers, body) = request_full(stack.http, "GET", "/drill/debrief", &[], b"").await;
    assert_eq!(s, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(headers["content-security-policy"].starts_with("default-src 'none'"));
    assert_eq!(String::from_utf8(body).unwrap(), page);
}

// ── The hardened dashboard (issue 16) ───────────────────────────────────────

/// The viewers' token, for stacks started with one.
const VIEWER: &str = "test-viewer-token";

/// `GET /?token=token`: the `name=value` of the cookie it sets (panics without one)
/// and the whole `Set-Cookie`.
async fn exchange(stack: &Stack, token: &str) -> (String, String) {
    let (s, h, _) = request_full(stack.http, "GET", &format!("/?token={token}"), &[], b"").await;
    assert_eq!(s, 303, "{h:?}");
    let set = h.get("set-cookie").cloned().expect("a Set-Cookie");
    let pair = set.split(';').next().unwrap().trim().to_string();
    (pair, set)
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_url_token_is_exchanged_for_an_httponly_samesite_strict_cookie() {
    let stack = Stack::web_only_with(Stack::with_instructor).await;
    let port = stack.http.port();
    let (s, h, _) = request_full(
        stack.http,
        "GET",
        &format!("/?token={INSTRUCTOR}"),
        &[],
        b"",
    )
    .await;
    // A redirect: the page that loads has no token in its URL.
    assert_eq!(s, 303);
    assert_eq!(h["location"], "/");
    assert_eq!(h["cache-control"], "no-store");
    let set = &h["set-cookie"];
    let attrs: Vec<&str> = set.split(';').map(str::trim).collect();
    assert!(attrs[0].starts_with(&format!("wr_token_{port}=")), "{set}");
    assert!(
        !attrs[0].contains(INSTRUCTOR),
        "the cookie holds the token hex-encoded: {set}"
    );
    for a in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attrs.contains(&a), "{a} in {set}");
    }
    assert!(
        !set.contains("Secure"),
        "no HTTPS yet, so not Secure: {set}"
    );
    // The cookie carries the token's role.
    let cookie = attrs[0].to_string();
    let (_, body) = request(
        stack.http,
        "GET",
        "/api/session",
        &[("Cookie", &cookie)],
        b"",
    )
    .await;
    let v = json_of(&body);
    assert_eq!(
        (v["control"].as_bool(), v["instructor"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(v["role"], "instructor");
    let (operator, _) = exchange(&stack, TOKEN).await;
    let (_, body) = request(
        stack.http,
        "GET",
        "/api/session",
        &[("Cookie", &operator)],
        b"",
    )
    .await;
    assert_eq!(json_of(&body)["role"], "operator");
    assert_eq!(json_of(&body)["instructor"], false);
    // Other query parameters stay; a wrong token gets no cookie and says why.
    let (s, h, _) =
        request_full(stack.http, "GET", &format!("/?a=1&token={TOKEN}"), &[], b"").await;
    assert_eq!((s, h["location"].as_str()), (303, "/?a=1"));
    let (s, h, body) = request_full(stack.http, "GET", "/?token=nope", &[], b"").await;
    assert_eq!(s, 403);
    assert!(!h.contains_key("set-cookie"));
    assert!(
        String::from_utf8_lossy(&body).contains("not one of this dashboard's"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    // The page's sign-in sets and clears the same cookie, from its own origin only.
    let origin = format!("http://{}", stack.http);
    let json_from_page = [
        ("Content-Type", "application/json"),
        ("Origin", origin.as_str()),
    ];
    let (s, h, body) = request_full(
        stack.http,
        "POST",
        "/api/session",
        &json_from_page,
        format!(r#"{{"token": "{TOKEN}"}}"#).as_bytes(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(json_of(&body)["role"], "operator");
    assert_eq!(h["set-cookie"].split(';').next().unwrap(), operator);
    let (s, h, _) = request_full(
        stack.http,
        "POST",
        "/api/session",
        &json_from_page,
        br#"{"token": ""}"#,
    )
    .await;
    assert_eq!(s, 200);
    assert!(h["set-cookie"].contains("Max-Age=0"), "{h:?}");
    let (s, _, body) = request_full(
        stack.http,
        "POST",
        "/api/session",
        &[
            ("Content-Type", "application/json"),
            ("Origin", "http://evil.example"),
        ],
        format!(r#"{{"token": "{TOKEN}"}}"#).as_bytes(),
    )
    .await;
    assert_eq!(s, 403, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_commands_come_only_from_the_dashboard_s_own_page() {
    let stack = Stack::web_only_with(Stack::with_instructor).await;
    let engine = stack.client("engine").await;
    play_topology(&stack, &engine).await;
    let (cookie, _) = exchange(&stack, INSTRUCTOR).await;
    let (operator, _) = exchange(&stack, TOKEN).await;
    let origin = format!("http://{}", stack.http);
    let fail = br#"{"command": "set_fault", "params": {"state": true}}"#;
    let post = |headers: Vec<(&'static str, String)>, path: &'static str, body: &'static [u8]| {
        let addr = stack.http;
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (s, body) = request(addr, "POST", path, &h, body).await;
            (
                s,
                json_of(&body)["error"].as_str().unwrap_or("").to_string(),
            )
        }
    };
    let cmd = "/api/nodes/util_a/command";
    let json = ("Content-Type", "application/json".to_string());
    // From the page: the cookie, JSON, its own Origin.
    let page = vec![
        json.clone(),
        ("Cookie", cookie.clone()),
        ("Origin", origin.clone()),
    ];
    assert_eq!(post(page.clone(), cmd, fail).await.0, 202);
    let drill = br#"{"command": "stop"}"#;
    assert_ne!(post(page.clone(), "/api/drill", drill).await.0, 403);
    // The cookie's role is the token's: the operator's cookie injects no fault.
    let (s, why) = post(
        vec![
            json.clone(),
            ("Cookie", operator),
            ("Origin", origin.clone()),
        ],
        cmd,
        fail,
    )
    .await;
    assert_eq!(
        (s, why.as_str()),
        (403, "fault injection needs the instructor's token")
    );
    // The cookie from anywhere else: refused, saying why.
    let (s, why) = post(vec![json.clone(), ("Cookie", cookie.clone())], cmd, fail).await;
    assert_eq!(s, 403);
    assert!(
        why.starts_with("no Origin header") && why.contains("Authorization: Bearer"),
        "{why}"
    );
    let (s, why) = post(
        vec![
            json.clone(),
            ("Cookie", cookie.clone()),
            ("Origin", "http://evil.example".into()),
        ],
        cmd,
        fail,
    )
    .await;
    assert_eq!(s, 403);
    assert!(
        why.contains("from another origin (http://evil.example)"),
        "{why}"
    );
    // Another port of the same host is the same site (SameSite lets the cookie go)
    // but another origin.
    let other_port = format!("http://127.0.0.1:{}", stack.http.port() ^ 1);
    let (s, _) = post(
        vec![
            json.clone(),
            ("Cookie", cookie.clone()),
            ("Origin", other_port),
        ],
        cmd,
        fail,
    )
    .await;
    assert_eq!(s, 403);
    let (s, why) = post(
        vec![
            json.clone(),
            ("Cookie", cookie.clone()),
            ("Origin", origin.clone()),
            ("Sec-Fetch-Site", "same-site".into()),
        ],
        cmd,
        fail,
    )
    .await;
    assert_eq!(s, 403, "{why}");
    // A form post (text/plain) with the cookie, even from the page's origin.
    let (s, why) = post(
        vec![
            ("Content-Type", "text/plain".into()),
            ("Cookie", cookie.clone()),
            ("Origin", origin.clone()),
        ],
        cmd,
        fail,
    )
    .await;
    assert_eq!(s, 403);
    assert!(
        why.starts_with("not Content-Type: application/json"),
        "{why}"
    );
    // A cross-site form post as a browser sends it: SameSite=Strict keeps the
    // cookie home, so it carries no token at all.
    let (s, _) = post(
        vec![
            ("Content-Type", "text/plain".into()),
            ("Origin", "http://evil.example".into()),
        ],
        cmd,
        fail,
    )
    .await;
    assert_eq!(s, 401);
    // A bearer header needs no Origin (scripts, curl), in any case of the scheme.
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let auth = format!("{scheme} {INSTRUCTOR}");
        let (s, why) = post(vec![json.clone(), ("Authorization", auth)], cmd, fail).await;
        assert_eq!(s, 202, "{scheme}: {why}");
    }
    let (s, why) = post(
        vec![json.clone(), ("Authorization", format!("Basic {TOKEN}"))],
        cmd,
        fail,
    )
    .await;
    assert_eq!(s, 401);
    assert!(why.contains("Bearer scheme"), "{why}");
    // A bearer header wins over the cookie, wrong or right.
    let (s, _) = post(
        vec![
            json,
            ("Cookie", cookie),
            ("Origin", origin),
            ("Authorization", "Bearer nope".into()),
        ],
        cmd,
        fail,
    )
    .await;
    assert_eq!(s, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_viewer_token_every_read_needs_a_token() {
    let stack = Stack::web_only_with(|c| {
        Stack::with_instructor(c);
        c.viewer_token = Some(VIEWER.to_string());
        c.debrief_dir = Some(util::fresh_dir("viewer-gate"));
    })
    .await;
    let engine = stack.client("engine").await;
    engine
        .publish(
            &format!("{}/system/topology", stack.prefix),
            util::SEED_TOPOLOGY_JSON,
            winter_river_protocol::Qos::AtLeastOnce,
            true,
        )
        .unwrap();
    let reads = [
        "/",
        "/app.js",
        "/app.css",
        "/favicon.svg",
        "/api/schema",
        "/api/topology",
        "/api/state",
        "/api/events",
        "/api/history",
        "/api/session",
        "/api/drill",
        "/api/nodes/util_a/screen",
        "/drill/debrief",
        "/metrics",
    ];
    let (viewer_cookie, _) = exchange(&stack, VIEWER).await;
    let viewer = bearer(VIEWER);
    let lower = format!("bearer {TOKEN}");
    for path in reads {
        let (s, h, body) = request_full(stack.http, "GET", path, &[], b"").await;
        assert_eq!(s, 401, "{path} without a token");
        assert!(h.contains_key("www-authenticate"), "{path}");
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("?token="), "{path}: {text}");
        let (s, _) = request(
            stack.http,
            "GET",
            path,
            &[("Authorization", "Bearer nope")],
            b"",
        )
        .await;
        assert_eq!(s, 403, "{path} with a wrong token");
        for auth in [
            ("Authorization", viewer.as_str()),
            ("Cookie", viewer_cookie.as_str()),
            ("Authorization", lower.as_str()),
        ] {
            let (s, body) = request(stack.http, "GET", path, &[auth], b"").await;
            // Readable: what the handler says (the debrief is not written yet, the
            // screen has no status yet), never a refusal for the token.
            assert!(
                ![401, 403].contains(&s),
                "{path} with {auth:?}: {s} {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    // The live stream too.
    assert_eq!(util::head_of(stack.http, "/api/live", &[]).await.0, 401);
    let (s, h) = util::head_of(stack.http, "/api/live", &[("Cookie", &viewer_cookie)]).await;
    assert_eq!(s, 200);
    assert!(h["content-type"].starts_with("text/event-stream"), "{h:?}");
    // The page's own refusal is for a person; a stale cookie is cleared.
    let (_, body) = get(stack.http, "/").await;
    assert!(String::from_utf8_lossy(&body).contains("--viewer-token"));
    let stale = format!("wr_token_{}=6e6f7065", stack.http.port());
    let (s, h, _) = request_full(stack.http, "GET", "/", &[("Cookie", &stale)], b"").await;
    assert_eq!(s, 403);
    assert!(h["set-cookie"].contains("Max-Age=0"), "{h:?}");
    // The viewer reads only.
    let (s, v) = post_command(
        &stack,
        "util_a",
        Some(VIEWER),
        r#"{"command": "reset", "params": {}}"#,
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(
        v["error"],
        "the viewer token only reads: control needs the operator token"
    );
    let (_, body) = request(
        stack.http,
        "GET",
        "/api/session",
        &[("Cookie", &viewer_cookie)],
        b"",
    )
    .await;
    let v = json_of(&body);
    assert_eq!(
        (v["role"].as_str(), v["control"].as_bool()),
        (Some("viewer"), Some(false))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_open_leaves_only_metrics_open() {
    let gated = Stack::web_only_with(|c| {
        c.viewer_token = Some(VIEWER.to_string());
        c.metrics_open = true;
    })
    .await;
    assert_eq!(get(gated.http, "/metrics").await.0, 200);
    assert_eq!(get(gated.http, "/api/state").await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_viewer_token_reads_stay_open() {
    let open = Stack::web_only().await;
    for path in ["/", "/api/state", "/api/schema", "/metrics"] {
        assert_eq!(get(open.http, path).await.0, 200, "{path}");
    }
    assert_eq!(util::head_of(open.http, "/api/live", &[]).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let stack = Stack::web_only_with(|c| c.viewer_token = Some(VIEWER.to_string())).await;
    let viewer = bearer(VIEWER);
    let evil = format!("evil.example:{}", stack.http.port());
    let with = |name, value| vec![(name, value)];
    let none = Vec::new;
    // GETs: path, headers, the status expected.
    let cases = [
        ("/", with("Authorization", viewer.as_str()), 200),
        ("/app.js", with("Authorization", &viewer), 200),
        ("/api/state", with("Authorization", &viewer), 200),
        ("/no/such/page", with("Authorization", &viewer), 404),
        ("/api/state", none(), 401),
        ("/", with("Host", &evil), 421),
        ("/?token=nope", none(), 403),
    ];
    for (path, headers, want) in cases {
        let (s, h, _) = request_full(stack.http, "GET", path, &headers, b"").await;
        assert_eq!(s, want, "{path} {headers:?}");
        let csp = h
            .get("content-security-policy")
            .map(String::as_str)
            .unwrap_or("");
        for d in [
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(d), "{path}: {d} in `{csp}`");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(
            h.get("x-frame-options").map(String::as_str),
            Some("DENY"),
            "{path}"
        );
        assert_eq!(
            h.get("x-content-type-options").map(String::as_str),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            h.get("referrer-policy").map(String::as_str),
            Some("no-referrer"),
            "{path}"
        );
    }
    // The page loads no inline script (the policy would block it).
    let (_, body) = request(stack.http, "GET", "/", &[("Authorization", &viewer)], b"").await;
    let html = String::from_utf8_lossy(&body);
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=").count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_dashboard_s_own_names_are_answered() {
    let stack = Stack::web_only_with(|c| {
        c.allowed_hosts = vec!["pi.local".into(), "wr.example.org:443".into()]
    })
    .await;
    let port = stack.http.port();
    for ok in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LocalHost:{port}"),
        format!("[::1]:{port}"),
        format!("pi.local:{port}"),
        "wr.example.org:443".to_string(),
        // No port: HTTP/1.0 tools, nginx's `$host`.
        "localhost".to_string(),
        "pi.local".to_string(),
    ] {
        let (s, _) = request(stack.http, "GET", "/api/state", &[("Host", &ok)], b"").await;
        assert_eq!(s, 200, "Host: {ok}");
    }
    for bad in [
        format!("evil.example:{port}"),
        format!("localhost:{}", port ^ 1),
        "evil.example".to_string(),
        format!("pi.local.evil.example:{port}"),
        format!("10.1.2.3:{port}"),
    ] {
        let (s, h, body) =
            request_full(stack.http, "GET", "/api/state", &[("Host", &bad)], b"").await;
        assert_eq!(s, 421, "Host: {bad}");
        assert!(h["content-type"].starts_with("text/plain"));
        let text = String::from_utf8_lossy(&body);
        let name = bad.rsplit_once(':').map_or(bad.as_str(), |(n, _)| n);
        if name == "localhost" {
            assert!(
                text.contains(&format!("listens on port {port}")),
                "{bad}: {text}"
            );
            continue;
        }
        assert!(
            text.contains(&format!("--allowed-host {name}")),
            "{bad}: {text}"
        );
    }
    // Before the token: a rebound page gets neither the cookie nor a command in.
    let (s, h, _) = request_full(
        stack.http,
        "GET",
        &format!("/?token={TOKEN}"),
        &[("Host", &format!("evil.example:{port}"))],
        b"",
    )
    .await;
    assert_eq!(s, 421);
    assert!(!h.contains_key("set-cookie"));
    let auth = bearer(TOKEN);
    let (s, _) = request(
        stack.http,
        "POST",
        "/api/nodes/util_a/command",
        &[
            ("Host", "evil.example"),
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        br#"{"command": "reset", "params": {}}"#,
    )
    .await;
    assert_eq!(s, 421);
}
