//! The dashboard in a real browser: Debian's headless Chromium, driven over the
//! DevTools protocol, against a live system in-process (embedded broker, engine,
//! virtual boards, web). Chromium missing is a failure, not a skip: scripts/test
//! installs it. Stacks (and so browsers) run one at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::time::Duration;

use util::{Browser, DEFAULT_NODES, Stack, TOKEN};
use winter_river_protocol::Qos;

const W: u32 = 1600;
const H: u32 = 1300;

/// JavaScript: the status a diagram element shows for `id`.
fn shown_status(id: &str) -> String {
    format!("(document.querySelector('[data-id=\"{id}\"]') || {{}}).getAttribute?.('data-status')")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_loads_without_console_errors_and_shows_every_default_node() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut b = Browser::launch(W, H).await;
    b.goto(&format!("{}/?token={TOKEN}", stack.base())).await;
    let every_node_shown = DEFAULT_NODES
        .iter()
        .map(|id| format!("['ok','standby'].includes({})", shown_status(id)))
        .collect::<Vec<_>>()
        .join(" && ");
    b.wait_for(
        &every_node_shown,
        Duration::from_secs(10),
        "every default node shown with its status",
    )
    .await;
    // The KPIs are filled in and the connection indicator says live.
    b.wait_for(
        "document.getElementById('conn').dataset.state === 'live' && \
         document.querySelector('#kpi-it .value span').textContent === '30.0' && \
         document.querySelector('#kpi-source .value span').textContent === 'Utility'",
        Duration::from_secs(5),
        "KPIs and the connection indicator",
    )
    .await;
    // The OLED frame is drawn from the node core's bytes: lit pixels on the canvas.
    b.wait_for(
        "(() => { const c = document.getElementById('oled'); const d = c.getContext('2d').getImageData(0, 0, 128, 64).data; \
         let lit = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 128) lit++; return lit > 200; })()",
        Duration::from_secs(5),
        "the selected board's OLED frame on the canvas",
    )
    .await;
    // Give charts and late requests a moment, then look for any error.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let path = util::target_tmp().join("web-dashboard.png");
    b.screenshot(&path).await;
    assert!(
        std::fs::metadata(&path).unwrap().len() > 20_000,
        "a real screenshot at {}",
        path.display()
    );
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_util_a_from_the_page_puts_ups_a_on_battery_within_2_s() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut b = Browser::launch(W, H).await;
    b.goto(&format!("{}/?token={TOKEN}", stack.base())).await;
    b.wait_for(
        &format!(
            "{} === 'ok' && document.getElementById('mode').textContent === 'Operator'",
            shown_status("util_a")
        ),
        Duration::from_secs(10),
        "util_a shown and operator mode",
    )
    .await;
    // The token is not left in the address bar.
    assert_eq!(b.eval("location.search").await, "");
    b.click("[data-id=\"util_a\"] .box").await;
    b.wait_for(
        "document.getElementById('d-id').textContent === 'util_a' && !document.getElementById('btn-fail').disabled",
        Duration::from_secs(5),
        "util_a selected with its Fail button enabled",
    )
    .await;
    b.click("#btn-fail").await;
    let took = b
        .wait_for(
            &format!(
                "{} === 'fault' && {} === 'on_battery'",
                shown_status("util_a"),
                shown_status("ups_a")
            ),
            Duration::from_secs(2),
            "util_a fault and ups_a on battery after Fail",
        )
        .await;
    eprintln!(
        "util_a fault and ups_a on_battery shown {} ms after the click",
        took.as_millis()
    );
    assert_eq!(stack.node_status("util_a").await.as_deref(), Some("fault"));
    // The energized path follows: the utility's edge is dead, the UPS feeds on battery.
    assert_eq!(
        b.eval("document.querySelectorAll('#edges-live .edge.battery').length > 0")
            .await,
        true
    );
    let path = util::target_tmp().join("web-dashboard-utility-failed.png");
    b.screenshot(&path).await;
    // Fail is not an answered command (the schema says so): no "no answer from the
    // engine" once the wait for operator commands has passed.
    tokio::time::sleep(Duration::from_millis(5_600)).await;
    assert_eq!(
        b.eval("document.getElementById('answer').textContent.includes('no answer')")
            .await,
        false,
        "a false 'no answer' after Fail"
    );
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_token_the_page_is_read_only_and_control_is_refused() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut b = Browser::launch(W, H).await;
    b.goto(&stack.base()).await;
    b.wait_for(
        &format!("{} === 'ok'", shown_status("util_a")),
        Duration::from_secs(10),
        "util_a shown",
    )
    .await;
    assert_eq!(
        b.eval("document.getElementById('mode').textContent").await,
        "Read-only"
    );
    b.click("[data-id=\"util_a\"] .box").await;
    b.wait_for(
        "document.getElementById('d-id').textContent === 'util_a'",
        Duration::from_secs(5),
        "util_a selected",
    )
    .await;
    assert_eq!(
        b.eval("document.getElementById('btn-fail').disabled").await,
        true
    );
    assert_eq!(
        b.eval("document.getElementById('btn-reset').disabled")
            .await,
        true
    );
    assert_eq!(
        b.eval("document.getElementById('site-epo').disabled").await,
        true,
        "EPO needs the token too"
    );
    // Clicking the disabled button does nothing; the API itself refuses the page.
    b.click("#btn-fail").await;
    let refused = b
        .eval(
            "fetch('/api/nodes/util_a/command', {method: 'POST', headers: {'Content-Type': 'application/json'}, \
             body: JSON.stringify({command: 'set_fault', params: {state: true}})}).then(r => r.status)",
        )
        .await;
    assert_eq!(refused, 401);
    assert_eq!(
        b.eval("window.winterRiver.sendCommand('util_a', 'set_fault', {state: true})")
            .await,
        false
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(stack.node_status("util_a").await.as_deref(), Some("ok"));
    assert_eq!(b.eval(&shown_status("util_a")).await, "ok");
    // The refusal (401) is logged by Chromium as a failed resource load: expected here.
    let unexpected: Vec<String> = b
        .errors()
        .into_iter()
        .filter(|e| !e.contains("401"))
        .collect();
    assert_eq!(unexpected, Vec::<String>::new(), "the page logged errors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_layout_stacks_and_stays_usable() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut b = Browser::launch(390, 844).await;
    b.goto(&format!("{}/?token={TOKEN}", stack.base())).await;
    b.wait_for(
        &format!("{} === 'ok'", shown_status("srv_a")),
        Duration::from_secs(10),
        "srv_a shown on a phone",
    )
    .await;
    // No horizontal scrolling of the page itself; the diagram pans inside its box.
    assert_eq!(
        b.eval("document.documentElement.scrollWidth <= window.innerWidth + 1")
            .await,
        true
    );
    // The switchgear has the most controls (three selectors, seven buttons): they
    // wrap within the panel.
    b.eval("window.winterRiver.select('sw_a')").await;
    b.wait_for(
        "document.getElementById('commands').dataset.node === 'sw_a' && !!document.querySelector('[data-command=\"transfer\"]')",
        Duration::from_secs(5),
        "sw_a's controls on a phone",
    )
    .await;
    assert_eq!(
        b.eval("document.documentElement.scrollWidth <= window.innerWidth + 1")
            .await,
        true,
        "sw_a's controls make the page wider than the phone"
    );
    b.screenshot(&util::target_tmp().join("web-dashboard-phone.png"))
        .await;
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
}

/// A kind app.js has never been told about — the static transfer switch, added to
/// the protocol's table and the simulator with no change to the page — shows on
/// the diagram, in the panel and with its controls, from /api/schema alone. The test
/// plays the engine and the boards: a topology and statuses over MQTT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_known_only_to_the_protocol_shows_with_its_fields_and_controls() {
    let stack = Stack::web_only().await;
    let mqtt = stack.client("sts").await;
    let p = &stack.prefix;
    let topology = r#"{"site":"sts-site","nodes":[
        {"id":"util_a","kind":"utility","feeds":[],"params":{}},
        {"id":"util_b","kind":"utility","feeds":[],"params":{}},
        {"id":"sts_a","kind":"sts","feeds":["util_a","util_b"],"params":{}},
        {"id":"srv_a","kind":"server","feeds":["sts_a"],"params":{}}]}"#;
    mqtt.publish(
        &format!("{p}/system/topology"),
        topology,
        Qos::AtLeastOnce,
        true,
    )
    .unwrap();
    let statuses = [
        r#"{"node_id":"util_a","kind":"utility","voltage_out":480.0,"power_kw":0.0,"status":"ok"}"#,
        r#"{"node_id":"util_b","kind":"utility","voltage_out":480.0,"power_kw":12.5,"status":"ok"}"#,
        r#"{"node_id":"sts_a","kind":"sts","voltage_in":480.0,"voltage_out":480.0,"current":15.04,"power_kw":12.5,"load_pct":25.0,"source":"util_b","status":"ok","wifi_rssi":-58,"uptime":42}"#,
        r#"{"node_id":"srv_a","kind":"server","voltage_in":480.0,"power_kw":12.5,"status":"ok"}"#,
    ];
    let _boards = util::boards(mqtt, p, &statuses);
    let mut b = Browser::launch(W, H).await;
    b.goto(&format!("{}/?token={TOKEN}", stack.base())).await;
    // The diagram: the box, its status and its summary line from the kind's template.
    b.wait_for(
        &format!(
            "{} === 'ok' && document.querySelector('[data-id=\"sts_a\"] .sub').textContent === 'STS on util_b'",
            shown_status("sts_a")
        ),
        Duration::from_secs(10),
        "sts_a on the diagram with its summary line",
    )
    .await;
    // The feed in use (its `source`) is the live one.
    assert_eq!(
        b.eval("document.querySelectorAll('#edges-live .edge').length")
            .await,
        2,
        "util_b → sts_a → srv_a live"
    );
    b.click("[data-id=\"sts_a\"] .box").await;
    b.wait_for(
        "document.getElementById('d-id').textContent === 'sts_a'",
        Duration::from_secs(5),
        "sts_a selected",
    )
    .await;
    // The panel, as a person reads it: the kind's label, its own `source` row among
    // the common readings, and the controls of its commands.
    let kind = b
        .eval("document.getElementById('d-kind').textContent")
        .await;
    assert_eq!(kind, "Static transfer switch · fed by util_a, util_b");
    let rows = b
        .eval(
            "Object.fromEntries([...document.getElementById('d-values').rows].map(r => [r.cells[0].textContent, r.cells[1].textContent]))",
        )
        .await;
    assert_eq!(rows["Source"], "util_b", "{rows}");
    assert_eq!(rows["Power"], "12.50 kW", "{rows}");
    assert_eq!(rows["Current"], "15.0 A", "{rows}");
    assert_eq!(rows["Board"], "connected", "{rows}");
    assert!(
        rows.get("Battery").is_none(),
        "a UPS's row on an STS: {rows}"
    );
    assert_eq!(
        b.eval("document.getElementById('d-status').textContent")
            .await,
        "OK"
    );
    for button in ["btn-fail", "btn-restore", "btn-reset"] {
        assert_eq!(
            b.eval(&format!("!document.getElementById('{button}').disabled"))
                .await,
            true,
            "{button}"
        );
    }
    assert_eq!(
        b.eval("document.querySelector('#commands form') === null")
            .await,
        true,
        "no demand field: set_load is for loads"
    );
    b.screenshot(&util::target_tmp().join("web-dashboard-sts.png"))
        .await;
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
}

/// `m:ss` or `h h mm m` as the page shows a duration, in seconds.
fn shown_seconds(text: &str) -> u64 {
    let parts: Vec<u64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap())
        .collect();
    match parts[..] {
        [m, s] if text.contains(':') => m * 60 + s,
        [h, m] => h * 3600 + m * 60,
        _ => panic!("not a duration: {text}"),
    }
}

/// The panel's Uptime rises with the board's, between pushes too: a status whose
/// only news is its uptime is not pushed, so the page moves it on with the clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_s_uptime_rises_as_the_api_s_does() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut b = Browser::launch(W, H).await;
    b.goto(&stack.base()).await;
    let uptime_row = "[...document.getElementById('d-values').rows].find(r => r.cells[0].textContent === 'Uptime')";
    b.wait_for(
        &format!("(document.getElementById('d-id') || {{}}).textContent === 'ups_a' && ({uptime_row} || {{}}).cells?.[1].textContent !== '—'"),
        Duration::from_secs(10),
        "ups_a selected with its uptime",
    )
    .await;
    let shown = format!("{uptime_row}.cells[1].textContent");
    let first = shown_seconds(b.eval(&shown).await.as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(4_200)).await;
    let later = shown_seconds(b.eval(&shown).await.as_str().unwrap());
    assert!(
        (3..=6).contains(&(later - first)),
        "the panel's uptime went from {first} s to {later} s in 4.2 s"
    );
    let (_, body) = util::get(stack.http, "/api/state").await;
    let state: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let api = state["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_id"] == "ups_a")
        .and_then(|n| n["uptime"].as_u64())
        .unwrap();
    assert!(
        later.abs_diff(api) <= 3,
        "panel {later} s, API {api} s (the API's is up to one status interval old)"
    );
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
}

/// One rounding rule: the page rounds as the protocol's `round_for_display` does,
/// and the diagram and the panel show a UPS at 99.96 % alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_rounds_as_the_protocol_does() {
    let stack = Stack::web_only().await;
    let mqtt = stack.client("ups").await;
    let p = &stack.prefix;
    let topology =
        r#"{"site":"round","nodes":[{"id":"ups_a","kind":"ups","feeds":[],"params":{}}]}"#;
    mqtt.publish(
        &format!("{p}/system/topology"),
        topology,
        Qos::AtLeastOnce,
        true,
    )
    .unwrap();
    let _board = util::boards(
        mqtt,
        p,
        &[
            r#"{"node_id":"ups_a","kind":"ups","voltage_out":480.0,"power_kw":33.055,"battery_pct":99.96,"runtime_s":1547.6,"status":"on_battery"}"#,
        ],
    );
    let mut b = Browser::launch(W, H).await;
    b.goto(&stack.base()).await;
    b.wait_for(
        "(document.getElementById('d-id') || {}).textContent === 'ups_a' && (document.querySelector('[data-id=\"ups_a\"] .sub') || {}).textContent === 'batt 100.0 % · 25:48'",
        Duration::from_secs(10),
        "ups_a shown and selected",
    )
    .await;
    let rows = b
        .eval(
            "Object.fromEntries([...document.getElementById('d-values').rows].map(r => [r.cells[0].textContent, r.cells[1].textContent]))",
        )
        .await;
    assert_eq!(rows["Battery"], "100.0 %", "{rows}");
    assert_eq!(rows["Power"], "33.06 kW", "{rows}");
    assert_eq!(rows["Runtime"], "25:48", "{rows}");
    for (v, d) in [
        (99.96, 1),
        (99.94, 1),
        (0.05, 1),
        (0.25, 1),
        (2.5, 0),
        (1.005, 2),
        (2.675, 2),
        (33.055, 2),
        (-0.04, 1),
        (-2.5, 0),
        (13_799.5, 0),
        (1e17, 2),
    ] {
        let js = b
            .eval(&format!("window.winterRiver.roundForDisplay({v:?}, {d})"))
            .await;
        let rust = winter_river_protocol::round_for_display(v, d);
        assert_eq!(js.as_f64(), Some(rust), "{v} at {d} decimals");
    }
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
}

/// A live site on a topology file of the repository.
async fn repo_site(name: &str) -> Stack {
    Stack::start_repo(name).await
}

/// The README's picture: the hall, a minute of normal running, then utility A lost
/// and its generator picking up. Run by hand (about 90 s) and copy
/// target/tmp/docs-screenshot.png to docs/screenshot.png:
/// `cargo test -p winter-river-web --test browser -- --ignored docs_screenshot`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "makes docs/screenshot.png by hand: about 90 s"]
async fn docs_screenshot() {
    let stack = repo_site("hall.toml").await;
    stack.wait_all_reporting(Duration::from_secs(20)).await;
    let mut b = Browser::launch(W, H).await;
    b.goto(&format!("{}/?token={TOKEN}", stack.base())).await;
    b.wait_for(
        &format!("{} === 'ok'", shown_status("util_a")),
        Duration::from_secs(20),
        "hall shown",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    b.click("[data-id=\"util_a\"] .box").await;
    b.wait_for(
        "!document.getElementById('btn-fail').disabled",
        Duration::from_secs(5),
        "util_a selected",
    )
    .await;
    b.click("#btn-fail").await;
    b.wait_for(
        &format!("{} === 'ok'", shown_status("gen_a")),
        Duration::from_secs(20),
        "gen_a running",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    b.click("[data-id=\"ups_a1\"] .box").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    b.screenshot(&util::target_tmp().join("docs-screenshot.png"))
        .await;
    assert_eq!(b.errors(), Vec::<String>::new());
}

/// A 1,000-node synthetic site: the page builds its diagram, stays responsive
/// (frame times measured in the page) and folds PDUs and racks into their UPS.
/// Run by hand: it starts 1,043 virtual boards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "1,043 virtual boards: run by hand"]
async fn large_site_stays_responsive() {
    let toml = winter_river_testkit::site::synthetic_site_toml(900);
    let stack = Stack::start_toml(&toml, "synthetic-900").await;
    let n = stack.nodes();
    stack.wait_all_reporting(Duration::from_secs(60)).await;
    let mut b = Browser::launch(W, H).await;
    let start = std::time::Instant::now();
    b.goto(&format!("{}/?token={TOKEN}", stack.base())).await;
    b.wait_for(
        &format!("{} === 'ok'", shown_status("ups_0001_a")),
        Duration::from_secs(30),
        "big site shown",
    )
    .await;
    eprintln!(
        "{n} nodes: diagram shown {} ms after navigation",
        start.elapsed().as_millis()
    );
    b.eval(
        "window.__frames = []; (function f(t0) { requestAnimationFrame((t) => { window.__frames.push(t - t0); f(t); }); })(performance.now())",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let stats = b
        .eval("(() => { const f = window.__frames.slice(1).sort((a, b) => a - b); return [f.length, f[Math.floor(f.length / 2)], f[Math.floor(f.length * 0.99)], f[f.length - 1]]; })()")
        .await;
    eprintln!("frames in 10 s, median / p99 / max frame time [ms]: {stats}");
    b.eval("window.winterRiver.focus('ups_0001_a')").await;
    b.click("[data-fold=\"ups_0001_a\"] rect").await;
    b.wait_for(
        &format!("{} === 'ok'", shown_status("pdu_00001_a")),
        Duration::from_secs(5),
        "ups_0001_a unfolded",
    )
    .await;
    b.screenshot(&util::target_tmp().join("web-dashboard-1000-nodes.png"))
        .await;
    assert_eq!(b.errors(), Vec::<String>::new());
    let frames = stats[0].as_u64().unwrap();
    assert!(
        frames > 100,
        "the page kept drawing: {frames} frames in 10 s"
    );
}

// ── Operator switching (issue 12) ────────────────────────────────────────────

/// JavaScript: whether the first element matching `selector` is rendered (it and
/// every ancestor displayed; `checkVisibility` says true of an SVG element that is
/// `display: none`).
fn visible(selector: &str) -> String {
    format!(
        "((e) => {{ if (!e) return false; for (let x = e; x; x = x.parentElement) if (getComputedStyle(x).display === 'none') return false; return true; }})(document.querySelector({}))",
        serde_json::to_string(selector).unwrap()
    )
}

/// JavaScript: a diagram element's attribute for `id` (`data-breaker`, `data-mode`).
fn shown_attr(id: &str, attr: &str) -> String {
    format!("(document.querySelector('[data-id=\"{id}\"]') || {{}}).getAttribute?.('{attr}')")
}

/// JavaScript: the text of the first element matching `selector`, or null.
fn text_of(selector: &str) -> String {
    format!(
        "((document.querySelector({}) || {{}}).textContent ?? null)",
        serde_json::to_string(selector).unwrap()
    )
}

/// The page as an operator sees it on the default site, every node shown.
async fn operator_page(stack: &Stack) -> Browser {
    let mut b = Browser::launch(W, H).await;
    b.goto(&format!("{}/?token={TOKEN}", stack.base())).await;
    b.wait_for(
        &format!(
            "{} === 'ok' && document.getElementById('mode').textContent === 'Operator'",
            shown_status("srv_a")
        ),
        Duration::from_secs(10),
        "the site shown in operator mode",
    )
    .await;
    b
}

/// Clicks `id` on the diagram and waits for its panel.
async fn select(b: &mut Browser, id: &str) {
    b.click(&format!("[data-id=\"{id}\"] .box")).await;
    b.wait_for(
        &format!(
            "document.getElementById('d-id').textContent === '{id}' && document.getElementById('commands').dataset.node === '{id}'"
        ),
        Duration::from_secs(5),
        &format!("{id} selected"),
    )
    .await;
}

/// The reason of the engine's latest `refused` event for `node` and `command`, as
/// `/api/events` has it.
async fn refusal_reason(stack: &Stack, node: &str, command: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, body) = util::get(stack.http, "/api/events?limit=1000").await;
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let found = v["events"].as_array().and_then(|events| {
            events
                .iter()
                .rev()
                .find(|e| {
                    e["event"] == "refused" && e["node_id"] == node && e["command"] == command
                })
                .and_then(|e| e["reason"].as_str().map(str::to_string))
        });
        if let Some(reason) = found {
            return reason;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no refused event for {node} {command} in /api/events"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the answer box next to the controls shows a refusal of `command`
/// for `node`, and returns the reason it shows.
async fn shown_refusal(b: &mut Browser, node: &str, command: &str) -> String {
    b.wait_for(
        &format!(
            "(() => {{ const a = document.getElementById('answer'); return !a.hidden && a.classList.contains('refused') && \
             a.dataset.node === '{node}' && a.dataset.command === '{command}'; }})()"
        ),
        Duration::from_secs(5),
        &format!("{node}'s refusal of {command} shown"),
    )
    .await;
    b.eval(&text_of("#answer .refused .reason"))
        .await
        .as_str()
        .unwrap()
        .to_string()
}

/// What the risk banner says of a mode, from /api/schema: its label and its risk.
async fn risk_of(stack: &Stack, mode: &str) -> String {
    let (_, body) = util::get(stack.http, "/api/schema").await;
    let schema: serde_json::Value = serde_json::from_slice(&body).unwrap();
    schema["modes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["word"] == mode)
        .and_then(|m| Some(format!("{}: {}", m["label"].as_str()?, m["risk"].as_str()?)))
        .unwrap_or_else(|| panic!("mode {mode} has no risk in /api/schema"))
}

/// UPS maintenance from the mode selector: the interlock refuses maintenance
/// bypass straight from normal (the reason shown to this operator), static bypass
/// then maintenance bypass put the "not normal" badge on ups_a and the risk banner
/// up naming it, normal straight from maintenance bypass is refused, and the way
/// back through static bypass takes both down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ups_maintenance_bypass_from_the_selector_with_badge_risk_banner_and_refusals() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut b = operator_page(&stack).await;
    select(&mut b, "ups_a").await;
    let choice = |mode: &str| format!("[data-command=\"ups_mode\"] [data-choice=\"{mode}\"]");
    // The selector offers the UPS's positions, normal marked.
    assert_eq!(
        b.eval("[...document.querySelectorAll('[data-command=\"ups_mode\"] [data-choice]')].map(e => e.textContent)")
            .await,
        serde_json::json!(["Normal", "Static bypass", "Maintenance bypass"])
    );
    b.wait_for(
        &format!(
            "document.querySelector({:?}).getAttribute('aria-checked') === 'true'",
            choice("normal")
        ),
        Duration::from_secs(5),
        "normal marked",
    )
    .await;
    assert_eq!(
        b.eval(&visible("#risk")).await,
        false,
        "no risk at the start"
    );

    // Maintenance bypass straight from normal: refused, the reason shown here.
    b.click(&choice("maintenance_bypass")).await;
    let shown = shown_refusal(&mut b, "ups_a", "ups_mode").await;
    assert_eq!(shown, refusal_reason(&stack, "ups_a", "ups_mode").await);
    assert!(!shown.is_empty());
    assert_eq!(b.eval(&shown_status("ups_a")).await, "ok");
    assert_eq!(b.eval(&visible("#risk")).await, false);

    // Static bypass: the badge on the diagram, the banner names ups_a.
    b.click(&choice("static_bypass")).await;
    b.wait_for(
        &format!(
            "{} === 'bypass' && {} === 'static_bypass' && {}",
            shown_status("ups_a"),
            shown_attr("ups_a", "data-mode"),
            visible("[data-id=\"ups_a\"] .mode-badge")
        ),
        Duration::from_secs(5),
        "ups_a on static bypass with its badge",
    )
    .await;
    assert_eq!(
        b.eval(&text_of("[data-id=\"ups_a\"] .mode-badge text"))
            .await,
        "STATIC BYPASS"
    );
    let static_risk = risk_of(&stack, "static_bypass").await;
    b.wait_for(
        &format!(
            "{} && {} === 'ups_a — ' + {:?}",
            visible("#risk"),
            text_of("#risk li[data-node=\"ups_a\"]"),
            static_risk
        ),
        Duration::from_secs(5),
        "the risk banner names ups_a on static bypass",
    )
    .await;
    assert_eq!(
        b.eval(&text_of("#d-mode")).await,
        "not in normal: Static bypass"
    );
    // The answer to this operator: what was done.
    b.wait_for(
        "document.getElementById('answer').classList.contains('done')",
        Duration::from_secs(5),
        "the accepted mode change answered",
    )
    .await;

    // Maintenance bypass from static bypass: accepted.
    b.click(&choice("maintenance_bypass")).await;
    let maint_risk = risk_of(&stack, "maintenance_bypass").await;
    b.wait_for(
        &format!(
            "{} === 'maintenance_bypass' && {} === 'MAINTENANCE BYPASS' && {} === 'ups_a — ' + {:?}",
            shown_status("ups_a"),
            text_of("[data-id=\"ups_a\"] .mode-badge text"),
            text_of("#risk li[data-node=\"ups_a\"]"),
            maint_risk
        ),
        Duration::from_secs(5),
        "ups_a on maintenance bypass, badge and banner",
    )
    .await;
    assert_eq!(
        b.eval(&format!(
            "document.querySelector({:?}).getAttribute('aria-checked')",
            choice("maintenance_bypass")
        ))
        .await,
        "true"
    );
    // The load is still served (wired around the UPS).
    assert_eq!(b.eval(&shown_status("srv_a")).await, "ok");
    b.screenshot(&util::target_tmp().join("web-ups-maintenance-bypass.png"))
        .await;

    // Normal straight from maintenance bypass: refused, the reason shown here.
    b.click(&choice("normal")).await;
    let shown = shown_refusal(&mut b, "ups_a", "ups_mode").await;
    assert_eq!(shown, refusal_reason(&stack, "ups_a", "ups_mode").await);
    assert_eq!(b.eval(&shown_status("ups_a")).await, "maintenance_bypass");
    assert_eq!(b.eval(&visible("#risk")).await, true);
    // The selector still says where the UPS is, not what was asked.
    assert_eq!(
        b.eval(&format!(
            "document.querySelector({:?}).getAttribute('aria-checked')",
            choice("maintenance_bypass")
        ))
        .await,
        "true"
    );

    // Back the right way: static bypass, then normal. Badge and banner go.
    b.click(&choice("static_bypass")).await;
    b.wait_for(
        &format!("{} === 'bypass'", shown_status("ups_a")),
        Duration::from_secs(5),
        "ups_a back on static bypass",
    )
    .await;
    b.click(&choice("normal")).await;
    b.wait_for(
        &format!(
            "{} === 'ok' && !{} && !{} && document.getElementById('d-mode').hidden",
            shown_status("ups_a"),
            visible("#risk"),
            visible("[data-id=\"ups_a\"] .mode-badge")
        ),
        Duration::from_secs(5),
        "ups_a normal, no badge, no banner",
    )
    .await;
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
}

/// Lock-out/tag-out from the page: Open draws pdu_a's breaker open and srv_a goes
/// unpowered; Lock out adds the padlock; Close is refused with the reason; Release
/// then Close restore the rack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_and_locking_out_pdu_a_is_drawn_and_close_is_refused() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut b = operator_page(&stack).await;
    select(&mut b, "pdu_a").await;
    assert_eq!(
        b.eval(&visible("[data-id=\"pdu_a\"] .breaker")).await,
        false,
        "a closed breaker is not drawn"
    );
    b.click("#btn-open").await;
    b.wait_for(
        &format!(
            "{} === 'open' && {} === 'open' && {} === 'unpowered'",
            shown_attr("pdu_a", "data-breaker"),
            shown_status("pdu_a"),
            shown_status("srv_a")
        ),
        Duration::from_secs(5),
        "pdu_a open, srv_a unpowered",
    )
    .await;
    assert_eq!(
        b.eval(&visible("[data-id=\"pdu_a\"] .breaker .blade"))
            .await,
        true,
        "the open blade is drawn"
    );
    assert_eq!(
        b.eval(&visible("[data-id=\"pdu_a\"] .breaker .lock")).await,
        false,
        "no padlock while only open"
    );
    let rows = "Object.fromEntries([...document.getElementById('d-values').rows].map(r => [r.cells[0].textContent, r.cells[1].textContent]))";
    assert_eq!(b.eval(rows).await["Breaker"], "Open");
    // Nothing in the chain below it is live: no live line into srv_a's PDU output.
    assert_eq!(
        stack.node_status("srv_a").await.as_deref(),
        Some("unpowered")
    );

    b.click("#btn-lock-out").await;
    b.wait_for(
        &format!(
            "{} === 'locked_out' && {}",
            shown_attr("pdu_a", "data-breaker"),
            visible("[data-id=\"pdu_a\"] .breaker .lock")
        ),
        Duration::from_secs(5),
        "pdu_a locked out with its padlock and tag",
    )
    .await;
    assert_eq!(b.eval(rows).await["Breaker"], "Locked out");

    b.click("#btn-close").await;
    let shown = shown_refusal(&mut b, "pdu_a", "close").await;
    assert_eq!(shown, refusal_reason(&stack, "pdu_a", "close").await);
    assert!(shown.contains("locked out"), "{shown}");
    assert_eq!(
        b.eval(&shown_attr("pdu_a", "data-breaker")).await,
        "locked_out"
    );
    b.screenshot(&util::target_tmp().join("web-pdu-locked-out.png"))
        .await;

    b.click("#btn-release").await;
    b.wait_for(
        &format!("{} === 'open'", shown_attr("pdu_a", "data-breaker")),
        Duration::from_secs(5),
        "pdu_a released",
    )
    .await;
    b.click("#btn-close").await;
    b.wait_for(
        &format!(
            "{} === 'closed' && {} === 'ok' && !{}",
            shown_attr("pdu_a", "data-breaker"),
            shown_status("srv_a"),
            visible("[data-id=\"pdu_a\"] .breaker")
        ),
        Duration::from_secs(5),
        "pdu_a closed, srv_a powered",
    )
    .await;
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
}

/// EPO asks for a confirming click: Cancel sends nothing; confirmed, every UPS
/// opens (ups_a drawn open, srv_a unpowered) and this operator sees the answer;
/// closing ups_a from its panel brings the load back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epo_needs_a_confirming_click_and_opens_the_ups() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut b = operator_page(&stack).await;
    assert_eq!(b.eval(&visible("#confirm")).await, false);
    assert_eq!(b.eval(&text_of("#site-epo")).await, "Emergency power off");
    b.click("#site-epo").await;
    b.wait_for(
        &visible("#confirm"),
        Duration::from_secs(2),
        "the confirmation",
    )
    .await;
    assert_eq!(
        b.eval(&text_of("#confirm-text")).await,
        "Send “Emergency power off” to the whole site?"
    );
    // Asking is not sending.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(stack.node_status("ups_a").await.as_deref(), Some("ok"));
    b.click("#confirm-no").await;
    b.wait_for(
        &format!("!{}", visible("#confirm")),
        Duration::from_secs(2),
        "cancelled",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.node_status("ups_a").await.as_deref(), Some("ok"));
    assert_eq!(b.eval(&shown_attr("ups_a", "data-breaker")).await, "closed");

    b.click("#site-epo").await;
    b.wait_for(
        &visible("#confirm"),
        Duration::from_secs(2),
        "the confirmation again",
    )
    .await;
    b.click("#confirm-yes").await;
    b.wait_for(
        &format!(
            "{} === 'open' && {} === 'open' && {} === 'unpowered' && {}",
            shown_attr("ups_a", "data-breaker"),
            shown_status("ups_a"),
            shown_status("srv_a"),
            visible("[data-id=\"ups_a\"] .breaker")
        ),
        Duration::from_secs(5),
        "EPO: ups_a open, srv_a unpowered",
    )
    .await;
    b.wait_for(
        "(() => { const a = document.getElementById('answer'); return !a.hidden && a.dataset.command === 'epo' && !!a.querySelector('.done[data-node=\"ups_a\"]'); })()",
        Duration::from_secs(5),
        "the EPO's answer shown",
    )
    .await;
    assert_eq!(
        stack.node_status("srv_a").await.as_deref(),
        Some("unpowered")
    );
    b.screenshot(&util::target_tmp().join("web-epo.png")).await;

    select(&mut b, "ups_a").await;
    b.click("#btn-close").await;
    b.wait_for(
        &format!(
            "{} === 'closed' && {} === 'ok'",
            shown_attr("ups_a", "data-breaker"),
            shown_status("srv_a")
        ),
        Duration::from_secs(5),
        "ups_a closed again, srv_a powered",
    )
    .await;
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
}

/// The switchgear's controls: its feeds offered for a manual transfer (the feed in
/// use marked), a transfer refused in auto, "not in auto" badges and the risk
/// banner for the ATS in manual and the generator in OFF, gone when both are back
/// in auto; the transfer test answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ats_in_manual_and_generator_in_off_raise_badges_and_the_risk_window() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut b = operator_page(&stack).await;
    select(&mut b, "sw_a").await;
    let (_, body) = util::get(stack.http, "/api/topology").await;
    let topo: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let feeds = topo["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "sw_a")
        .unwrap()["feeds"]
        .clone();
    assert_eq!(
        b.eval("[...document.querySelectorAll('[data-command=\"transfer\"] [data-choice]')].map(e => e.dataset.choice)")
            .await,
        feeds,
        "Transfer offers sw_a's own feeds"
    );
    let preferred = feeds[0].as_str().unwrap().to_string();
    b.wait_for(
        &format!(
            "document.querySelector('[data-command=\"transfer\"] [data-choice=\"{preferred}\"]').getAttribute('aria-checked') === 'true' && \
             document.querySelector('[data-command=\"ats_mode\"] [data-choice=\"auto\"]').getAttribute('aria-checked') === 'true'"
        ),
        Duration::from_secs(5),
        "the feed in use and auto marked",
    )
    .await;
    // A manual transfer in auto: refused, the reason shown.
    b.click("[data-command=\"transfer\"] [data-choice=\"gen_a\"]")
        .await;
    let shown = shown_refusal(&mut b, "sw_a", "transfer").await;
    assert_eq!(shown, refusal_reason(&stack, "sw_a", "transfer").await);

    b.click("[data-command=\"ats_mode\"] [data-choice=\"manual\"]")
        .await;
    let manual_risk = risk_of(&stack, "manual").await;
    b.wait_for(
        &format!(
            "{} === 'manual' && {} === 'MANUAL' && {} === 'sw_a — ' + {:?}",
            shown_attr("sw_a", "data-mode"),
            text_of("[data-id=\"sw_a\"] .mode-badge text"),
            text_of("#risk li[data-node=\"sw_a\"]"),
            manual_risk
        ),
        Duration::from_secs(5),
        "sw_a in manual: badge and banner",
    )
    .await;
    assert_eq!(b.eval(&text_of("#d-mode")).await, "not in auto: Manual");

    select(&mut b, "gen_a").await;
    b.click("[data-command=\"gen_mode\"] [data-choice=\"off\"]")
        .await;
    let off_risk = risk_of(&stack, "off").await;
    b.wait_for(
        &format!(
            "{} === 'off' && {} === 'OFF' && {} === 'gen_a — ' + {:?} && document.querySelectorAll('#risk li').length === 2",
            shown_status("gen_a"),
            text_of("[data-id=\"gen_a\"] .mode-badge text"),
            text_of("#risk li[data-node=\"gen_a\"]"),
            off_risk
        ),
        Duration::from_secs(5),
        "gen_a in OFF: badge, and the banner lists both",
    )
    .await;
    b.screenshot(&util::target_tmp().join("web-risk-window.png"))
        .await;

    b.click("[data-command=\"gen_mode\"] [data-choice=\"auto\"]")
        .await;
    b.wait_for(
        &format!(
            "{} === null && document.querySelectorAll('#risk li').length === 1",
            shown_attr("gen_a", "data-mode")
        ),
        Duration::from_secs(5),
        "gen_a back in auto",
    )
    .await;
    // The banner's link selects the node it names.
    b.click("#risk li[data-node=\"sw_a\"] a").await;
    b.wait_for(
        "document.getElementById('d-id').textContent === 'sw_a'",
        Duration::from_secs(5),
        "sw_a selected from the banner",
    )
    .await;
    b.click("[data-command=\"ats_mode\"] [data-choice=\"auto\"]")
        .await;
    b.wait_for(
        &format!(
            "!{} && !{}",
            visible("#risk"),
            visible("[data-id=\"sw_a\"] .mode-badge")
        ),
        Duration::from_secs(5),
        "all back in auto: no banner, no badge",
    )
    .await;
    // The monthly transfer test, in auto: accepted and answered.
    b.click("#btn-transfer-test-on").await;
    b.wait_for(
        "(() => { const a = document.getElementById('answer'); return !a.hidden && a.classList.contains('done') && a.dataset.command === 'ats_test'; })()",
        Duration::from_secs(5),
        "the transfer test answered",
    )
    .await;
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
}

/// A refusal is shown to the operator who asked, not to every viewer: two
/// operators watch pdu_a; one clicks Close; the test plays the engine and refuses
/// it. Both see the event in the timeline and the padlock on the diagram, and both
/// see the risk banner for a UPS on maintenance bypass; only the one who asked sees
/// the reason next to the controls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_shown_to_the_operator_who_asked_only() {
    let stack = Stack::web_only().await;
    let p = stack.prefix.clone();
    let engine = stack.client("engine").await;
    engine.subscribe(&format!("{p}/pdu_a/command")).unwrap();
    let topology = r#"{"site":"lockout","nodes":[
        {"id":"util_a","kind":"utility","feeds":[],"params":{}},
        {"id":"ups_a","kind":"ups","feeds":["util_a"],"params":{}},
        {"id":"pdu_a","kind":"pdu","feeds":["ups_a"],"params":{}},
        {"id":"srv_a","kind":"server","feeds":["pdu_a"],"params":{}}]}"#;
    engine
        .publish(
            &format!("{p}/system/topology"),
            topology,
            Qos::AtLeastOnce,
            true,
        )
        .unwrap();
    let _boards = util::boards(
        stack.client("boards").await,
        &p,
        &[
            r#"{"node_id":"util_a","kind":"utility","voltage_out":480.0,"power_kw":5.3,"status":"ok","breaker":"closed"}"#,
            r#"{"node_id":"ups_a","kind":"ups","voltage_in":480.0,"voltage_out":480.0,"power_kw":5.3,"status":"maintenance_bypass","mode":"maintenance_bypass","breaker":"closed","battery_pct":100.0}"#,
            r#"{"node_id":"pdu_a","kind":"pdu","voltage_in":480.0,"voltage_out":0.0,"power_kw":0.0,"status":"open","breaker":"locked_out"}"#,
            r#"{"node_id":"srv_a","kind":"server","power_kw":0.0,"status":"unpowered","breaker":"closed"}"#,
        ],
    );
    let mut asker = Browser::launch(W, H).await;
    let mut viewer = Browser::launch(W, H).await;
    for b in [&mut asker, &mut viewer] {
        b.goto(&format!("{}/?token={TOKEN}", stack.base())).await;
        b.wait_for(
            &format!(
                "{} === 'locked_out' && document.getElementById('mode').textContent === 'Operator'",
                shown_attr("pdu_a", "data-breaker")
            ),
            Duration::from_secs(10),
            "pdu_a shown locked out",
        )
        .await;
        assert_eq!(
            b.eval(&visible("[data-id=\"pdu_a\"] .breaker .lock")).await,
            true
        );
        assert_eq!(
            b.eval(&visible("[data-id=\"srv_a\"] .breaker")).await,
            false
        );
        // Every viewer sees the risk window.
        assert_eq!(b.eval(&visible("#risk")).await, true);
        assert_eq!(
            b.eval(&text_of("#risk li[data-node=\"ups_a\"]")).await,
            format!("ups_a — {}", risk_of(&stack, "maintenance_bypass").await)
        );
        assert_eq!(
            b.eval(&text_of("[data-id=\"ups_a\"] .mode-badge text"))
                .await,
            "MAINTENANCE BYPASS"
        );
        select(b, "pdu_a").await;
    }
    let mark = engine.mark();
    asker.click("#btn-close").await;
    engine
        .wait_json_from(
            "the page's close",
            Duration::from_secs(5),
            mark,
            &format!("{p}/pdu_a/command"),
            |v| v["command"] == "close",
        )
        .await
        .unwrap();
    let reason = "pdu_a is locked out: release the lock-out first";
    let event = serde_json::json!({"t": 12.0, "node_id": "pdu_a", "event": "refused", "severity": "warning",
        "message": format!("pdu_a refused close: {reason}"), "command": "close", "reason": reason});
    engine
        .publish(
            &format!("{p}/system/events"),
            event.to_string(),
            Qos::AtLeastOnce,
            false,
        )
        .unwrap();
    assert_eq!(shown_refusal(&mut asker, "pdu_a", "close").await, reason);
    // The banner stays in view above the scrolled page.
    asker
        .eval("window.scrollTo(0, document.body.scrollHeight); window.scrollY > 100")
        .await;
    assert_eq!(
        asker
            .eval("(() => { const r = document.getElementById('risk').getBoundingClientRect(); return window.scrollY > 100 && r.top >= 0 && r.bottom < 200; })()")
            .await,
        true,
        "the risk banner pinned in view after scrolling"
    );
    asker
        .screenshot(&util::target_tmp().join("web-refusal.png"))
        .await;
    viewer
        .wait_for(
            &format!("[...document.querySelectorAll('#timeline li')].some(li => li.textContent.includes({:?}))", reason),
            Duration::from_secs(5),
            "the refusal in the other viewer's timeline",
        )
        .await;
    assert_eq!(
        viewer
            .eval("document.getElementById('answer').hidden")
            .await,
        true
    );
    // The answer came: the asker waits for nothing more (no "no answer" later).
    assert_eq!(
        asker.eval("window.winterRiver.state.pending.length").await,
        0
    );
    assert_eq!(
        asker.errors(),
        Vec::<String>::new(),
        "the asker's page logged errors"
    );
    assert_eq!(
        viewer.errors(),
        Vec::<String>::new(),
        "the viewer's page logged errors"
    );
}

// ── Live drills (issue 13) ──────────────────────────────────────────────────

/// Statuses of the seed's eight boards, all well, for a test that plays the engine.
const SEED_BOARDS: [&str; 8] = [
    r#"{"node_id":"util_a","kind":"utility","voltage_out":13800.0,"power_kw":34.2,"status":"ok","breaker":"closed"}"#,
    r#"{"node_id":"trf_a","kind":"transformer","voltage_in":13800.0,"voltage_out":480.0,"power_kw":34.2,"status":"ok","breaker":"closed"}"#,
    r#"{"node_id":"gen_a","kind":"generator","voltage_out":0.0,"power_kw":0.0,"status":"standby","mode":"auto","fuel_pct":100.0,"breaker":"closed"}"#,
    r#"{"node_id":"sw_a","kind":"switchgear","voltage_in":480.0,"voltage_out":480.0,"power_kw":34.2,"status":"ok","source":"trf_a","mode":"auto","breaker":"closed"}"#,
    r#"{"node_id":"dist_a","kind":"distribution","voltage_in":480.0,"voltage_out":480.0,"power_kw":34.2,"status":"ok","breaker":"closed"}"#,
    r#"{"node_id":"ups_a","kind":"ups","voltage_in":480.0,"voltage_out":480.0,"power_kw":33.1,"status":"ok","mode":"normal","battery_pct":100.0,"breaker":"closed"}"#,
    r#"{"node_id":"pdu_a","kind":"pdu","voltage_in":480.0,"voltage_out":208.0,"power_kw":30.6,"status":"ok","breaker":"closed"}"#,
    r#"{"node_id":"srv_a","kind":"server","voltage_in":208.0,"power_kw":30.0,"status":"ok","breaker":"closed"}"#,
];

/// A drill word's label as `/api/schema` serves it (`steps`, `done` → `Done`): the
/// page must show the server's words, not copies of its own.
fn drill_label(schema: &serde_json::Value, list: &str, word: &str) -> String {
    schema["drill"][list]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["word"] == word)
        .and_then(|w| w["label"].as_str())
        .unwrap_or_else(|| panic!("no {list} word `{word}` in the schema"))
        .to_string()
}

/// A DrillStatus as an engine running the UPS maintenance MOP would retain it, at
/// `state` and `clock_s`, with `steps` (each `[state, done_at_s, refused]`).
fn drill_json(
    state: &str,
    clock_s: f64,
    steps: [(&str, Option<f64>, u32); 3],
) -> serde_json::Value {
    let notes = [
        (
            "Transfer UPS A to static bypass",
            "ups_a",
            "ups_mode mode=static_bypass",
        ),
        (
            "Close the maintenance bypass",
            "ups_a",
            "ups_mode mode=maintenance_bypass",
        ),
        ("Open UPS A's output breaker", "ups_a", "open"),
    ];
    let steps: Vec<serde_json::Value> = notes
        .iter()
        .zip(steps)
        .enumerate()
        .map(|(i, ((note, node, command), (st, done, refused)))| {
            serde_json::json!({"number": i + 1, "note": note, "node": node, "command": command,
                "state": st, "done_at_s": done, "channel": done.map(|_| "dashboard"), "refused": refused})
        })
        .collect();
    serde_json::json!({
        "state": state, "name": "UPS A maintenance via bypass (MOP)", "file": "ups-maintenance-bypass.toml",
        "clock_s": clock_s, "duration_s": 600.0,
        "injects": [{"index": 0, "at_s": 120.0, "node": "util_a", "command": "set_fault state=true"}],
        "steps": steps,
        "expects": [
            {"description": "system.it_kw_lost == 0 always", "verdict": if state == "finished" { "passed" } else { "pending" }},
            {"description": "ups_a.mode == \"normal\" at t=590s", "verdict": if state == "finished" { "failed" } else { "pending" }}],
        "timeline": [
            {"t": 0.0, "what": "drill", "node": "system", "command": "start", "channel": "dashboard"},
            {"t": 3.2, "what": "action", "node": "ups_a", "command": "ups_mode mode=static_bypass", "channel": "dashboard", "step": 1},
            {"t": 4.0, "what": "refused", "node": "ups_a", "command": "ups_mode mode=normal", "channel": "cli",
             "detail": "ups_a is on static bypass already"}],
        "library": ["ups-maintenance-bypass.toml", "utility-loss-generator-fails.toml"],
    })
}

fn publish_retained(mqtt: &winter_river_testkit::Client, topic: &str, v: &serde_json::Value) {
    mqtt.publish(topic, v.to_string(), Qos::AtLeastOnce, true)
        .unwrap();
}

/// JavaScript: the checklist as a person reads it, one
/// `[number, tick, note, command, flags…]` per step.
const CHECKLIST: &str = "[...document.querySelectorAll('#drill-steps li.step')].map(li => [li.querySelector('.num').textContent, \
    li.querySelector('.tick').textContent, li.querySelector('.note').textContent, li.querySelector('.cmd').textContent, \
    ...[...li.querySelectorAll('.flags > *')].map(f => f.textContent)])";

/// The instructor loads a drill from the library and starts it from the panel,
/// fires an inject by hand; a trainee (operator token) sees the same checklist
/// tick, flagged late and with its refused attempts, without the instructor's
/// controls and without fault injection; at the end both see the score and the
/// debrief link, which opens the engine's page. The test plays the engine: what
/// the panel sends is read from `<p>/system/drill/command`, what it shows is the
/// DrillStatus the test retains on `<p>/system/drill`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drill_panel_for_the_instructor_and_a_trainee() {
    let debriefs = util::fresh_dir("debriefs");
    let stack = Stack::web_only_with(|c| {
        Stack::with_instructor(c);
        c.debrief_dir = Some(debriefs.clone());
    })
    .await;
    let p = stack.prefix.clone();
    let engine = stack.client("engine").await;
    let commands = format!("{p}/system/drill/command");
    engine.subscribe(&commands).unwrap();
    engine
        .publish(
            &format!("{p}/system/topology"),
            util::SEED_TOPOLOGY_JSON,
            Qos::AtLeastOnce,
            true,
        )
        .unwrap();
    let _boards = util::boards(stack.client("boards").await, &p, &SEED_BOARDS);
    let drill_topic = format!("{p}/system/drill");
    let pending = ("pending", None, 0);
    // No drill loaded yet: the engine lists its library.
    publish_retained(
        &engine,
        &drill_topic,
        &serde_json::json!({"state": "none", "library": ["ups-maintenance-bypass.toml"]}),
    );
    let (_, body) = util::get(stack.http, "/api/schema").await;
    let schema: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let label = |list: &str, word: &str| drill_label(&schema, list, word);

    // The instructor's page: with no drill loaded, the loader alone.
    let mut instructor = Browser::launch(W, H).await;
    instructor
        .goto(&format!("{}/?token={}", stack.base(), util::INSTRUCTOR))
        .await;
    instructor
        .wait_for(
            &format!(
                "{} && {} && !{} && !{} && document.querySelectorAll('#drill-library option').length === 1",
                visible("#drill"),
                visible("#drill-load"),
                visible(".drill-checklist"),
                visible("#drill-chip")
            ),
            Duration::from_secs(10),
            "the instructor's loader with no drill loaded",
        )
        .await;
    publish_retained(
        &engine,
        &drill_topic,
        &drill_json("loaded", 0.0, [pending; 3]),
    );
    // Loaded: the library, Load, Start, the checklist.
    instructor
        .wait_for(
            &format!(
                "{} === 'Instructor' && {} && {} === 'UPS A maintenance via bypass (MOP)' && {} === {:?}",
                text_of("#mode"),
                visible("#drill-instructor"),
                text_of("#drill-name"),
                text_of("#drill-state"),
                label("states", "loaded")
            ),
            Duration::from_secs(10),
            "the instructor's drill panel",
        )
        .await;
    assert_eq!(
        instructor
            .eval("[...document.querySelectorAll('#drill-library option')].map(o => o.value)")
            .await,
        serde_json::json!([
            "ups-maintenance-bypass.toml",
            "utility-loss-generator-fails.toml"
        ])
    );
    assert_eq!(
        instructor.eval(&text_of("#drill-clock")).await,
        "00:00 / 10:00"
    );
    assert_eq!(
        instructor
            .eval("document.getElementById('drill-stop').disabled")
            .await,
        true,
        "nothing to stop"
    );
    // Choose the other drill of the library and load it.
    instructor
        .eval("(() => { const s = document.getElementById('drill-library'); s.value = 'utility-loss-generator-fails.toml'; s.dispatchEvent(new Event('change')); })()")
        .await;
    let mark = engine.mark();
    instructor.click("#drill-load").await;
    engine
        .wait_json_from("the panel's load", Duration::from_secs(5), mark, &commands, |v| {
            *v == serde_json::json!({"command": "load", "params": {"file": "utility-loss-generator-fails.toml"}})
        })
        .await
        .unwrap();
    let mark = engine.mark();
    instructor.click("#drill-start").await;
    engine
        .wait_json_from(
            "the panel's start",
            Duration::from_secs(5),
            mark,
            &commands,
            |v| v["command"] == "start",
        )
        .await
        .unwrap();

    // Running: step 1 done, step 2 refused once, the clock from the engine's.
    let running = drill_json(
        "running",
        65.0,
        [("done", Some(3.2), 0), ("pending", None, 1), pending],
    );
    publish_retained(&engine, &drill_topic, &running);
    instructor
        .wait_for(
            &format!(
                "{} === '01:05 / 10:00' && !document.querySelector('[data-fire=\"0\"]').disabled",
                text_of("#drill-clock")
            ),
            Duration::from_secs(5),
            "the drill running on the instructor's page",
        )
        .await;
    let mark = engine.mark();
    instructor.click("[data-fire=\"0\"]").await;
    engine
        .wait_json_from(
            "the inject fired by hand",
            Duration::from_secs(5),
            mark,
            &commands,
            |v| *v == serde_json::json!({"command": "inject", "params": {"event": 0}}),
        )
        .await
        .unwrap();

    // A trainee: the checklist, no instructor's part, no fault injection.
    let mut trainee = Browser::launch(W, H).await;
    trainee
        .goto(&format!("{}/?token={TOKEN}", stack.base()))
        .await;
    trainee
        .wait_for(
            &format!(
                "{} === 'Operator' && {} && !{} && document.querySelectorAll('#drill-steps li.step').length === 3",
                text_of("#mode"),
                visible("#drill"),
                visible("#drill-instructor")
            ),
            Duration::from_secs(10),
            "the trainee's checklist",
        )
        .await;
    let done = label("steps", "done");
    let todo = label("steps", "pending");
    assert_eq!(
        trainee.eval(CHECKLIST).await,
        serde_json::json!([
            [
                "1",
                "✓",
                "Transfer UPS A to static bypass",
                "ups_a ups_mode mode=static_bypass",
                done,
                "00:03 · dashboard"
            ],
            [
                "2",
                "",
                "Close the maintenance bypass",
                "ups_a ups_mode mode=maintenance_bypass",
                todo,
                "1 refused"
            ],
            ["3", "", "Open UPS A's output breaker", "ups_a open", todo],
        ])
    );
    assert_eq!(
        trainee
            .eval("document.querySelector('#drill-steps li.next').dataset.step")
            .await,
        "2",
        "the next step to do is marked"
    );
    assert_eq!(
        trainee
            .eval("[...document.querySelectorAll('#drill-timeline li')].map(li => li.dataset.what)")
            .await,
        serde_json::json!(["refused", "action", "drill"]),
        "the drill's timeline, newest first"
    );
    assert!(
        trainee
            .eval(&text_of("#drill-timeline li[data-what=\"refused\"]"))
            .await
            .as_str()
            .unwrap()
            .contains("ups_a is on static bypass already")
    );
    // Fault injection is the instructor's: Fail is disabled, switching is not.
    select(&mut trainee, "util_a").await;
    assert_eq!(
        trainee
            .eval("document.getElementById('btn-fail').disabled")
            .await,
        true
    );
    assert_eq!(
        trainee
            .eval("document.getElementById('btn-open').disabled")
            .await,
        false
    );
    assert!(
        trainee
            .eval(&text_of("#control-hint"))
            .await
            .as_str()
            .unwrap()
            .contains("instructor's token"),
        "the hint says why"
    );
    assert_eq!(
        trainee
            .eval("window.winterRiver.sendCommand('util_a', 'set_fault', {state: true})")
            .await,
        false,
        "the API refuses it"
    );
    assert_eq!(
        trainee
            .eval("fetch('/api/drill', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{\"command\": \"stop\"}'}).then(r => r.status)")
            .await,
        403
    );
    // The instructor's page fails util_a; the button is live there.
    select(&mut instructor, "util_a").await;
    assert_eq!(
        instructor
            .eval("document.getElementById('btn-fail').disabled")
            .await,
        false
    );

    // Step 2 late and step 3 out of order; the clock on the trainee's page too.
    let later = drill_json(
        "running",
        250.0,
        [
            ("done", Some(3.2), 0),
            ("late", Some(240.0), 1),
            ("out_of_order", Some(200.0), 0),
        ],
    );
    publish_retained(&engine, &drill_topic, &later);
    trainee
        .wait_for(
            &format!("{} === '04:10' && document.querySelector('#drill-steps li[data-step=\"2\"]').dataset.state === 'late'", text_of("#drill-chip-clock")),
            Duration::from_secs(5),
            "the late step",
        )
        .await;
    let flags = trainee
        .eval("[...document.querySelectorAll('#drill-steps li.step .flag.state')].map(f => f.textContent)")
        .await;
    assert_eq!(
        flags,
        serde_json::json!([done, label("steps", "late"), label("steps", "out_of_order")])
    );

    // Finished: the score and the debrief, for everyone.
    std::fs::write(
        debriefs.join("latest.html"),
        "<!doctype html><title>Debrief</title><h1>UPS A maintenance via bypass (MOP)</h1><p id=score>Score 71 / 100</p>",
    )
    .unwrap();
    let mut finished = drill_json(
        "finished",
        600.0,
        [
            ("done", Some(3.2), 0),
            ("late", Some(240.0), 1),
            ("out_of_order", Some(200.0), 0),
        ],
    );
    finished["score"] = 71.into();
    finished["debrief"] = "/drill/debrief".into();
    publish_retained(&engine, &drill_topic, &finished);
    for b in [&mut instructor, &mut trainee] {
        b.wait_for(
            &format!(
                "{} && {} === '71' && {}",
                visible("#drill-result"),
                text_of("#drill-score"),
                visible("#drill-debrief")
            ),
            Duration::from_secs(5),
            "the score and the debrief link",
        )
        .await;
        assert_eq!(
            b.eval(
                "[...document.querySelectorAll('#drill-expects li')].map(li => li.dataset.verdict)"
            )
            .await,
            serde_json::json!(["passed", "failed"])
        );
    }
    trainee
        .screenshot(&util::target_tmp().join("web-drill-finished.png"))
        .await;
    let href = trainee
        .eval("document.getElementById('drill-debrief').href")
        .await;
    assert_eq!(href, format!("{}/drill/debrief", stack.base()));
    trainee.goto(href.as_str().unwrap()).await;
    trainee
        .wait_for(
            "(document.getElementById('score') || {}).textContent === 'Score 71 / 100'",
            Duration::from_secs(5),
            "the debrief page",
        )
        .await;
    assert_eq!(
        instructor.errors(),
        Vec::<String>::new(),
        "the instructor's page logged errors"
    );
    // The trainee's two refusals (403s) are logged by Chromium as failed loads.
    let unexpected: Vec<String> = trainee
        .errors()
        .into_iter()
        .filter(|e| !e.contains("403"))
        .collect();
    assert_eq!(
        unexpected,
        Vec::<String>::new(),
        "the trainee's page logged errors"
    );
}

/// A running drill on a phone: the panel stacks over the diagram, the clock is in
/// the header, and nothing makes the page scroll sideways, for the trainee and the
/// instructor alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drill_panel_reads_on_a_phone() {
    let stack = Stack::web_only_with(Stack::with_instructor).await;
    let p = stack.prefix.clone();
    let engine = stack.client("engine").await;
    engine
        .publish(
            &format!("{p}/system/topology"),
            util::SEED_TOPOLOGY_JSON,
            Qos::AtLeastOnce,
            true,
        )
        .unwrap();
    let _boards = util::boards(stack.client("boards").await, &p, &SEED_BOARDS);
    let running = drill_json(
        "running",
        65.0,
        [
            ("done", Some(3.2), 0),
            ("pending", None, 2),
            ("pending", None, 0),
        ],
    );
    publish_retained(&engine, &format!("{p}/system/drill"), &running);
    for (token, who) in [(TOKEN, "trainee"), (util::INSTRUCTOR, "instructor")] {
        let mut b = Browser::launch(390, 844).await;
        b.goto(&format!("{}/?token={token}", stack.base())).await;
        b.wait_for(
            &format!(
                "document.querySelectorAll('#drill-steps li.step').length === 3 && {} === '01:05' && {}",
                text_of("#drill-chip-clock"),
                visible("#drill-chip")
            ),
            Duration::from_secs(10),
            &format!("the {who}'s drill panel on a phone"),
        )
        .await;
        assert_eq!(
            b.eval("document.documentElement.scrollWidth <= window.innerWidth + 1")
                .await,
            true,
            "the {who}'s page scrolls sideways"
        );
        // The panel comes before the diagram, one column.
        assert_eq!(
            b.eval("document.getElementById('drill').getBoundingClientRect().bottom <= document.getElementById('diagram').getBoundingClientRect().top").await,
            true
        );
        b.screenshot(&util::target_tmp().join(format!("web-drill-phone-{who}.png")))
            .await;
        assert_eq!(
            b.errors(),
            Vec::<String>::new(),
            "the {who}'s page logged errors"
        );
    }
}

// ── A whole drill, end to end (issue 13) ────────────────────────────────────

/// The short MOP of the end-to-end drill, in a library folder of its own (the
/// copy names the seed topology by its full path).
fn drill_library() -> (std::path::PathBuf, std::path::PathBuf) {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ups-bypass-short.toml");
    let topology = repo.join("topologies/default.toml").canonicalize().unwrap();
    let text = std::fs::read_to_string(&fixture).unwrap().replace(
        "../../../../topologies/default.toml",
        &topology.display().to_string(),
    );
    let library = util::fresh_dir("drill-library");
    std::fs::write(library.join("ups-bypass-short.toml"), text).unwrap();
    (fixture, library)
}

/// JavaScript: the state of checklist step `n` as the page marks it.
fn step_state(n: usize) -> String {
    format!(
        "(document.querySelector('#drill-steps li[data-step=\"{n}\"]') || {{dataset: {{}}}}).dataset.state"
    )
}

/// A trainee's click on the dashboard that carries out checklist step `n`: the
/// step ticks, done from the dashboard.
async fn do_step(b: &mut Browser, n: usize, control: &str, dashboard: &str) {
    b.click(control).await;
    b.wait_for(
        &format!(
            "{} === 'done' && (document.querySelector('#drill-steps li[data-step=\"{n}\"] .tick') || {{}}).textContent === '✓' && \
             ((document.querySelector('#drill-steps li[data-step=\"{n}\"] .when') || {{}}).textContent || '').endsWith('· ' + {dashboard:?})",
            step_state(n)
        ),
        Duration::from_secs(5),
        &format!("step {n} ticked after `{control}`"),
    )
    .await;
}

/// A live drill run as a class runs it: the site of `up --drill` (the short UPS
/// bypass MOP loaded, a library, a debrief folder, an instructor's token), the
/// instructor's page loads the drill from the library and starts it from the
/// panel; a trainee's page (operator token only) carries the steps out with the
/// dashboard's own controls — a refused attempt first, shown with the interlock's
/// reason and counted on its step — and the checklist ticks; the instructor fires
/// an inject by hand and stops the drill; the debrief link opens the engine's
/// page, whose figures (steps done, score) match the debrief's JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_end_to_end_with_an_instructor_and_a_trainee() {
    let (fixture, library) = drill_library();
    let debriefs = util::fresh_dir("drill-debriefs");
    let stack = Stack::start_drill(&fixture, Some(library), &debriefs).await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let (_, body) = util::get(stack.http, "/api/schema").await;
    let schema: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let label = |list: &str, word: &str| drill_label(&schema, list, word);
    let dashboard = label("channels", "dashboard");

    let mut instructor = Browser::launch(W, H).await;
    instructor
        .goto(&format!("{}/?token={}", stack.base(), util::INSTRUCTOR))
        .await;
    instructor
        .wait_for(
            &format!(
                "{} === 'Instructor' && {} === 'UPS A onto maintenance bypass (short MOP)' && \
                 [...document.querySelectorAll('#drill-library option')].some(o => o.value === 'ups-bypass-short.toml')",
                text_of("#mode"),
                text_of("#drill-name")
            ),
            Duration::from_secs(10),
            "the instructor's panel with the drill loaded and the library",
        )
        .await;
    // Load it again, from the library this time, and start it.
    instructor.click("#drill-load").await;
    instructor
        .wait_for(
            "window.winterRiver.state.drill.file === 'ups-bypass-short.toml'",
            Duration::from_secs(5),
            "the drill loaded from the library",
        )
        .await;
    instructor.click("#drill-start").await;
    instructor
        .wait_for(
            &format!(
                "{} === {:?} && !document.getElementById('drill-stop').disabled",
                text_of("#drill-state"),
                label("states", "running")
            ),
            Duration::from_secs(5),
            "the drill running",
        )
        .await;
    let clock = "document.getElementById('drill-clock').textContent";
    let first = instructor.eval(clock).await;
    instructor
        .wait_for(
            &format!("{clock} !== {first} && {clock}.endsWith(' / 15:00')"),
            Duration::from_secs(5),
            "the drill clock moving",
        )
        .await;

    // The trainee: the checklist, every step to do; fault injection not theirs.
    let mut trainee = operator_page(&stack).await;
    trainee
        .wait_for(
            &format!(
                "document.querySelectorAll('#drill-steps li.step').length === 4 && [1, 2, 3, 4].every(n => {}) && !{}",
                "document.querySelector(`#drill-steps li[data-step=\"${n}\"]`).dataset.state === 'pending'",
                visible("#drill-instructor")
            ),
            Duration::from_secs(10),
            "the trainee's checklist",
        )
        .await;
    select(&mut trainee, "ups_a").await;
    let choice = |mode: &str| format!("[data-command=\"ups_mode\"] [data-choice=\"{mode}\"]");
    // Maintenance bypass straight from normal: the interlock refuses it; the reason
    // is shown, and counted on step 2.
    trainee.click(&choice("maintenance_bypass")).await;
    let reason = shown_refusal(&mut trainee, "ups_a", "ups_mode").await;
    trainee
        .wait_for(
            &format!(
                "{} === 'pending' && (document.querySelector('#drill-steps li[data-step=\"2\"] .flag.refused') || {{}}).textContent === '1 refused' && \
                 [...document.querySelectorAll('#drill-timeline li[data-what=\"refused\"]')].some(li => li.textContent.includes({reason:?}))",
                step_state(2)
            ),
            Duration::from_secs(5),
            "the refused attempt on the checklist and the drill's timeline",
        )
        .await;
    do_step(&mut trainee, 1, &choice("static_bypass"), &dashboard).await;
    do_step(&mut trainee, 2, &choice("maintenance_bypass"), &dashboard).await;
    do_step(&mut trainee, 3, "#btn-open", &dashboard).await;
    do_step(&mut trainee, 4, "#btn-lock-out", &dashboard).await;
    assert_eq!(
        trainee
            .eval("document.getElementById('btn-fail').disabled")
            .await,
        true,
        "fault injection is the instructor's"
    );
    // The instructor's page ticked too.
    instructor
        .wait_for(
            "[1, 2, 3, 4].every(n => document.querySelector(`#drill-steps li[data-step=\"${n}\"]`).dataset.state === 'done')",
            Duration::from_secs(5),
            "every step done on the instructor's page",
        )
        .await;

    // The module fails while isolated: the instructor's inject, by hand.
    instructor.click("[data-fire=\"0\"]").await;
    instructor
        .wait_for(
            "document.querySelector('#drill-injects li[data-inject=\"0\"]').classList.contains('fired') && \
             document.querySelector('#drill-injects li[data-inject=\"0\"] .when').textContent.includes('by hand') && \
             document.querySelector('[data-fire=\"0\"]').disabled",
            Duration::from_secs(5),
            "the inject fired by hand",
        )
        .await;
    trainee
        .wait_for(
            &format!(
                "{} === 'fault' && {} === 'ok'",
                shown_status("ups_a"),
                shown_status("srv_a")
            ),
            Duration::from_secs(5),
            "ups_a failed on maintenance bypass, the load still served",
        )
        .await;
    instructor
        .screenshot(&util::target_tmp().join("web-drill-instructor.png"))
        .await;

    // Stop: the score and the debrief on both pages.
    instructor.click("#drill-stop").await;
    for b in [&mut instructor, &mut trainee] {
        b.wait_for(
            &format!(
                "{} === {:?} && {} && {} !== '—' && {}",
                text_of("#drill-state"),
                label("states", "finished"),
                visible("#drill-result"),
                text_of("#drill-score"),
                visible("#drill-debrief")
            ),
            Duration::from_secs(10),
            "the drill finished with its score and debrief",
        )
        .await;
    }
    let json_path = debriefs.join("latest.json");
    let debrief: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let total = debrief["score"]["total"].as_u64().unwrap();
    let steps = debrief["steps"].as_array().unwrap();
    let done = steps.iter().filter(|s| s["state"] == "done").count();
    assert_eq!((done, steps.len()), (4, 4), "{debrief}");
    assert_eq!(debrief["refused_actions"], 1);
    assert_eq!(debrief["ended_by"], "stop");
    assert_eq!(
        steps
            .iter()
            .map(|s| s["refused"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 0, 0]
    );
    assert!(
        steps.iter().all(|s| s["channel"] == "dashboard"),
        "{debrief}"
    );
    assert_eq!(
        trainee.eval(&text_of("#drill-score")).await,
        total.to_string()
    );

    // The debrief page, from the panel's link: its figures are the JSON's.
    let href = trainee
        .eval("document.getElementById('drill-debrief').href")
        .await;
    trainee.goto(href.as_str().unwrap()).await;
    trainee
        .wait_for(
            "!!document.getElementById('score') && !!document.getElementById('steps')",
            Duration::from_secs(5),
            "the debrief page",
        )
        .await;
    assert_eq!(
        trainee.eval(&text_of("#score")).await,
        format!("{total} / 100")
    );
    let how = trainee
        .eval(
            "[...document.querySelectorAll('#steps tbody tr')].map(tr => tr.cells[3].textContent)",
        )
        .await;
    let how: Vec<&str> = how
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(how.len(), steps.len());
    let done_label = winter_river_protocol::StepState::Done.label();
    assert_eq!(how.iter().filter(|h| **h == done_label).count(), done);
    assert!(
        trainee
            .eval(&text_of("#it-lost"))
            .await
            .as_str()
            .unwrap()
            .contains(&format!(
                "{:.3} kWh",
                debrief["it_kwh_lost"].as_f64().unwrap()
            )),
        "the IT energy lost"
    );
    assert_eq!(
        instructor.errors(),
        Vec::<String>::new(),
        "the instructor's page logged errors"
    );
    assert_eq!(
        trainee.errors(),
        Vec::<String>::new(),
        "the trainee's page logged errors"
    );
}

/// The picture of the drill panel in docs/live.md: the library's UPS maintenance
/// MOP on the seed chain, seen by the instructor after a trainee's first steps (one
/// refused). Run by hand (about 30 s) and copy target/tmp/docs-drill-panel.png to
/// docs/drill-panel.png:
/// `cargo test -p winter-river-web --test browser -- --ignored docs_drill_panel_screenshot`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "makes docs/drill-panel.png by hand: about 30 s"]
async fn docs_drill_panel_screenshot() {
    let drills = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../drills");
    let debriefs = util::fresh_dir("docs-debriefs");
    let stack = Stack::start_drill(
        &drills.join("ups-maintenance-bypass.toml"),
        Some(drills),
        &debriefs,
    )
    .await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut instructor = Browser::launch(W, H).await;
    instructor
        .goto(&format!("{}/?token={}", stack.base(), util::INSTRUCTOR))
        .await;
    instructor
        .wait_for(
            "document.querySelectorAll('#drill-steps li.step').length > 4 && !document.getElementById('drill-start').disabled",
            Duration::from_secs(10),
            "the drill loaded",
        )
        .await;
    instructor.click("#drill-start").await;
    let mut trainee = operator_page(&stack).await;
    trainee
        .wait_for(
            "window.winterRiver.state.drill.state === 'running'",
            Duration::from_secs(10),
            "the drill running",
        )
        .await;
    select(&mut trainee, "ups_a").await;
    let choice = |mode: &str| format!("[data-command=\"ups_mode\"] [data-choice=\"{mode}\"]");
    trainee.click(&choice("maintenance_bypass")).await;
    shown_refusal(&mut trainee, "ups_a", "ups_mode").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    trainee.click(&choice("static_bypass")).await;
    trainee
        .wait_for(
            &format!("{} === 'done'", step_state(1)),
            Duration::from_secs(5),
            "step 1",
        )
        .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    trainee.click(&choice("maintenance_bypass")).await;
    trainee
        .wait_for(
            &format!("{} === 'done'", step_state(2)),
            Duration::from_secs(5),
            "step 2",
        )
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    trainee.click("#btn-open").await;
    trainee
        .wait_for(
            &format!("{} === 'done'", step_state(3)),
            Duration::from_secs(5),
            "step 3",
        )
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    instructor
        .screenshot_of("#drill", &util::target_tmp().join("docs-drill-panel.png"))
        .await;
    assert_eq!(instructor.errors(), Vec::<String>::new());
    assert_eq!(trainee.errors(), Vec::<String>::new());
}

// ── Rooms and cooling (issue 14) ────────────────────────────────────────────

/// JavaScript: counts the canvas `id`'s pixels near colour `rgb` (within `tol` on
/// each channel).
fn pixels_near(id: &str, rgb: (u8, u8, u8), tol: u8) -> String {
    let (r, g, b) = rgb;
    format!(
        "(() => {{ const c = document.getElementById('{id}'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
         let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && Math.abs(d[i] - {r}) <= {tol} && Math.abs(d[i + 1] - {g}) <= {tol} && Math.abs(d[i + 2] - {b}) <= {tol}) n++; return n; }})()"
    )
}

/// JavaScript: the number an element's text starts with ("24.3 °C" → 24.3), or null.
fn number_in(selector: &str) -> String {
    format!("parseFloat({}) || null", text_of(selector))
}

/// Clicks tile `id` of a group of loads (brought into view first) and waits for
/// its panel.
async fn select_tile(b: &mut Browser, id: &str) {
    b.eval(&format!("window.winterRiver.focus('{id}')")).await;
    b.click(&format!("rect.tile[data-id=\"{id}\"]")).await;
    b.wait_for(
        &format!(
            "document.getElementById('d-id').textContent === '{id}' && document.getElementById('commands').dataset.node === '{id}'"
        ),
        Duration::from_secs(5),
        &format!("{id} selected"),
    )
    .await;
}

/// The hall with all six CRAHs failed from the page, as an operator reads it: the
/// room hall_1 is a zone round its PDUs, racks and CRAHs with a tile of its air
/// temperature and class (A2) — within recommended at first, above the recommended
/// 27 °C (≈ 14 s after the last CRAH), above the allowable 35 °C (≈ 48 s); the
/// temperature chart draws the air with the class's limits; the racks stop
/// themselves at their 40 °C inlet (≈ 88 s) and show SHUTDOWN. The site runs at
/// 4 × real time (times below are simulated unless said).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hall_heats_up_when_its_crahs_fail_until_its_racks_shut_down() {
    const SPEED: f64 = 4.0;
    let stack = Stack::start_repo_at_speed("hall.toml", SPEED).await;
    stack.wait_all_reporting(Duration::from_secs(20)).await;
    let mut b = Browser::launch(W, H).await;
    b.goto(&format!("{}/?token={TOKEN}", stack.base())).await;
    let room = "[data-id=\"hall_1\"]";
    let zone = "g.zone[data-room=\"hall_1\"]";
    b.wait_for(
        &format!(
            "{} === 'normal' && {} === 'normal' && document.getElementById('mode').textContent === 'Operator'",
            shown_attr("hall_1", "data-band"),
            format_args!("document.querySelector('{zone}').getAttribute('data-band')"),
        ),
        Duration::from_secs(10),
        "hall_1 shown within its class",
    )
    .await;
    // The tile: the room's id, its class, its air with the schema's unit, the band
    // in the class's numbers; the zone labelled with the room and round its nodes.
    assert_eq!(b.eval(&text_of(&format!("{room} .id"))).await, "hall_1");
    assert_eq!(b.eval(&text_of(&format!("{room} .chiptext"))).await, "A2");
    let air = b.eval(&text_of(&format!("{room} .air"))).await;
    assert!(
        air.as_str().is_some_and(|t| t.ends_with(" °C")),
        "air shown with its unit: {air}"
    );
    let air0 = b
        .eval(&number_in(&format!("{room} .air")))
        .await
        .as_f64()
        .unwrap();
    assert!(
        (21.5..=22.5).contains(&air0),
        "the cooled hall at 22 °C: {air0}"
    );
    assert_eq!(
        b.eval(&text_of(&format!("{room} .band"))).await,
        "≤ 27 °C recommended"
    );
    assert!(
        b.eval(&text_of(&format!("{room} .sub")))
            .await
            .as_str()
            .is_some_and(|t| t.starts_with("air ") && t.contains("solid mass")),
        "the summary line: air and solid mass"
    );
    assert_eq!(
        b.eval(&text_of(&format!("{zone} .zone-label"))).await,
        "hall_1"
    );
    // The zone encloses the room's nodes and not the UPS above them.
    let inside = |id: &str| {
        format!(
            "(() => {{ const z = [...document.querySelectorAll('{zone} .zone-fill rect')].map((r) => r.getBoundingClientRect()); \
             const e = document.querySelector('[data-id=\"{id}\"]').getBoundingClientRect(); const cx = e.left + e.width / 2, cy = e.top + e.height / 2; \
             return z.some((r) => cx >= r.left && cx <= r.right && cy >= r.top && cy <= r.bottom); }})()"
        )
    };
    for id in ["pdu_a1", "pdu_b4", "srv_101", "crah_1", "hall_1"] {
        assert_eq!(b.eval(&inside(id)).await, true, "{id} inside hall_1's zone");
    }
    for id in ["ups_a1", "dist_b", "house"] {
        assert_eq!(
            b.eval(&inside(id)).await,
            false,
            "{id} outside hall_1's zone"
        );
    }
    // The KPI and the chart are there with a room.
    assert_eq!(
        b.eval("document.getElementById('kpi-inlet').hidden").await,
        false
    );
    b.wait_for(
        "!document.getElementById('chart-temp').hidden && (window.winterRiver.state.hist.air.get('hall_1') || []).some((v) => typeof v === 'number')",
        Duration::from_secs(5),
        "the temperature chart with hall_1's air",
    )
    .await;
    // A CRAH shows the heat it removes; a rack its inlet.
    select_tile(&mut b, "crah_1").await;
    assert!(
        b.eval(&text_of(
            "#d-values tr[data-field=\"cooling_kw\"] td:last-child"
        ))
        .await
        .as_str()
        .is_some_and(|t| t.ends_with(" kW")),
        "crah_1's heat removed in its panel"
    );
    select_tile(&mut b, "srv_101").await;
    assert!(
        b.eval(&text_of(
            "#d-values tr[data-field=\"inlet_c\"] td:last-child"
        ))
        .await
        .as_str()
        .is_some_and(|t| t.ends_with(" °C")),
        "srv_101's inlet in its panel"
    );

    // Fail every CRAH from the page.
    for i in 1..=6 {
        let id = format!("crah_{i}");
        select_tile(&mut b, &id).await;
        b.click("#btn-fail").await;
        b.wait_for(
            &format!("{} === 'fault'", shown_status(&id)),
            Duration::from_secs(5),
            &format!("{id} failed"),
        )
        .await;
    }
    let failed = std::time::Instant::now();
    b.wait_for(
        &format!(
            "{} === 'high' && document.querySelector('{zone}').getAttribute('data-band') === 'high' && \
             document.querySelector('{room}').classList.contains('tone-warn')",
            shown_attr("hall_1", "data-band")
        ),
        Duration::from_secs(40),
        "hall_1 above its recommended 27 °C",
    )
    .await;
    eprintln!(
        "hall_1 high {} s after the last CRAH failed",
        failed.elapsed().as_secs_f64()
    );
    let air_high = b
        .eval(&number_in(&format!("{room} .air")))
        .await
        .as_f64()
        .unwrap();
    // The band is the simulator's (strictly above 27 °C); the tile shows the air
    // rounded to the field's decimal, so 27.04 °C reads 27.0.
    assert!((27.0..=35.0).contains(&air_high), "high: {air_high} °C");
    assert_eq!(
        b.eval(&text_of(&format!("{room} .band"))).await,
        "> 27 °C recommended"
    );
    b.wait_for(
        &format!(
            "{} === 'critical' && document.querySelector('{zone}').classList.contains('tone-bad') && \
             document.querySelector('{room}').classList.contains('tone-bad') && \
             document.getElementById('kpi-inlet').classList.contains('bad')",
            shown_attr("hall_1", "data-band")
        ),
        Duration::from_secs(60),
        "hall_1 above its allowable 35 °C (class A2)",
    )
    .await;
    eprintln!(
        "hall_1 critical {} s after the last CRAH failed",
        failed.elapsed().as_secs_f64()
    );
    let air_critical = b
        .eval(&number_in(&format!("{room} .air")))
        .await
        .as_f64()
        .unwrap();
    assert!(air_critical >= 35.0, "critical: {air_critical} °C");
    assert_eq!(
        b.eval(&text_of(&format!("{room} .band"))).await,
        "> 35 °C allowable"
    );
    // The chart: the air risen past both limits in the history, the air's line
    // (cyan) and the allowable limit's dashed red line drawn.
    // (The history takes a sample a second: it passes 35 °C within one.)
    b.wait_for(
        "window.winterRiver.state.hist.air.get('hall_1').some((v) => v > 35)",
        Duration::from_secs(3),
        "hall_1's air past 35 °C in the chart's history",
    )
    .await;
    b.wait_for(
        &format!(
            "{} > 20 && {} > 20 && {} > 20",
            pixels_near("ch-temp", (0x22, 0xd3, 0xee), 40),
            pixels_near("ch-temp", (0xef, 0x44, 0x44), 40),
            pixels_near("ch-temp", (0xf5, 0xa5, 0x24), 40),
        ),
        Duration::from_secs(5),
        "the air and the recommended and allowable lines on the chart",
    )
    .await;

    // The racks stop themselves at their 40 °C inlet.
    b.wait_for(
        &format!("{} === 'shutdown'", shown_status("srv_101")),
        Duration::from_secs(70),
        "srv_101 shut down by its thermal protection",
    )
    .await;
    eprintln!(
        "srv_101 shutdown {} s after the last CRAH failed",
        failed.elapsed().as_secs_f64()
    );
    select_tile(&mut b, "srv_101").await;
    b.wait_for(
        "document.getElementById('d-status').textContent === 'SHUTDOWN'",
        Duration::from_secs(5),
        "srv_101's panel says SHUTDOWN",
    )
    .await;
    let inlet = b
        .eval(&number_in(
            "#d-values tr[data-field=\"inlet_c\"] td:last-child",
        ))
        .await
        .as_f64()
        .unwrap();
    // Once the racks stop, the hall cools at once (no heat left in it): the panel
    // shows the inlet of now; the events say it stopped at its 40 °C.
    assert!(
        inlet > 27.0,
        "srv_101's inlet just after its shutdown: {inlet}"
    );
    b.wait_for(
        "[...document.querySelectorAll('#timeline li')].some((li) => li.textContent.includes('srv_101 shut itself down: inlet 40.0 °C reached its shutdown_c 40 °C'))",
        Duration::from_secs(5),
        "the shutdown in the events, with its inlet",
    )
    .await;
    // Its group says how many racks are down; the site has lost IT load.
    b.wait_for(
        "[...document.querySelectorAll('g.group .gsub')].some((t) => /^12 shutdown/.test(t.textContent))",
        Duration::from_secs(10),
        "a row of 12 racks shown shut down",
    )
    .await;
    b.wait_for(
        "document.getElementById('kpi-lost').classList.contains('bad')",
        Duration::from_secs(5),
        "IT load lost",
    )
    .await;
    // The room's own panel: its temperatures, class and band, no electrical rows.
    b.eval("window.winterRiver.focus('hall_1')").await;
    select(&mut b, "hall_1").await;
    let rows = b
        .eval("[...document.querySelectorAll('#d-values tr')].map((r) => r.cells[0].textContent)")
        .await;
    let rows: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for label in ["Air temperature", "Solid mass", "Class", "Band"] {
        assert!(rows.contains(&label), "{label} in hall_1's panel: {rows:?}");
    }
    for label in ["Input voltage", "Power", "Breaker"] {
        assert!(!rows.contains(&label), "no {label} for a room: {rows:?}");
    }
    // Its chart is its air, not a power it does not have.
    assert_eq!(
        b.eval("document.getElementById('ch-node-title').textContent")
            .await,
        "hall_1 [°C]"
    );
    assert_eq!(
        b.eval("window.winterRiver.state.nodeHist.kw.some((v) => v > 35)")
            .await,
        true,
        "hall_1's air in the selected component's chart"
    );
    b.screenshot(&util::target_tmp().join("web-dashboard-hall-hot.png"))
        .await;
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
}

// ── The hardened dashboard (issue 16) ───────────────────────────────────────

/// Before any page script: records every Content-Security-Policy violation in
/// `window.__csp` (DevTools' own scripts are exempt from the policy).
const CSP_WATCH: &str = "window.__csp = []; document.addEventListener('securitypolicyviolation', \
    (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));";

/// JavaScript: every default node shown with a status.
fn every_node_shown() -> String {
    DEFAULT_NODES
        .iter()
        .map(|id| format!("['ok','standby'].includes({})", shown_status(id)))
        .collect::<Vec<_>>()
        .join(" && ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_url_token_becomes_a_cookie_the_page_cannot_read_and_commands_carry_it() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut b = Browser::launch(W, H).await;
    b.goto(&format!("{}/?token={TOKEN}", stack.base())).await;
    b.wait_for(
        &format!(
            "{} === 'ok' && document.getElementById('mode').textContent === 'Operator'",
            shown_status("util_a")
        ),
        Duration::from_secs(10),
        "util_a shown and operator mode from the cookie",
    )
    .await;
    // The server redirected: the address bar and the history never kept the token.
    assert_eq!(b.eval("location.href").await, format!("{}/", stack.base()));
    let history = b
        .call("Page.getNavigationHistory", serde_json::json!({}))
        .await;
    let urls: Vec<&str> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["url"].as_str())
        .collect();
    assert!(urls.iter().all(|u| !u.contains("token")), "{urls:?}");
    // No script sees the token: not in document.cookie, not in localStorage.
    assert_eq!(b.eval("document.cookie").await, "");
    assert_eq!(
        b.eval("JSON.stringify(Object.entries(localStorage))").await,
        "[]"
    );
    let cookies = b
        .call(
            "Network.getCookies",
            serde_json::json!({"urls": [format!("{}/", stack.base())]}),
        )
        .await;
    let cookies = cookies["cookies"].as_array().unwrap();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let c = &cookies[0];
    assert_eq!(c["name"], format!("wr_token_{}", stack.http.port()));
    assert_eq!(c["httpOnly"], true);
    assert_eq!(c["sameSite"], "Strict");
    assert_eq!(c["path"], "/");
    assert_eq!(c["secure"], false);
    // The page's commands go with the cookie alone (no Authorization header).
    assert_eq!(
        b.eval("window.winterRiver.sendCommand('util_a', 'set_fault', {state: true})")
            .await,
        true
    );
    b.wait_for(
        &format!("{} === 'fault'", shown_status("util_a")),
        Duration::from_secs(3),
        "util_a failed by the cookie's command",
    )
    .await;
    assert_eq!(stack.node_status("util_a").await.as_deref(), Some("fault"));
    // Signing out from the badge's prompt clears the cookie: read-only again.
    assert_eq!(
        b.eval("fetch('/api/session', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{\"token\": \"\"}'}).then(r => r.json()).then(s => s.control)")
            .await,
        false
    );
    assert_eq!(
        b.eval("fetch('/api/nodes/util_a/command', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{\"command\": \"reset\", \"params\": {}}'}).then(r => r.status)")
            .await,
        401
    );
    let unexpected: Vec<String> = b
        .errors()
        .into_iter()
        .filter(|e| !e.contains("401"))
        .collect();
    assert_eq!(unexpected, Vec::<String>::new(), "the page logged errors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_works_under_its_content_security_policy_without_a_violation() {
    let stack = Stack::start().await;
    stack.wait_all_reporting(Duration::from_secs(10)).await;
    let mut b = Browser::launch(W, H).await;
    b.call(
        "Page.addScriptToEvaluateOnNewDocument",
        serde_json::json!({"source": CSP_WATCH}),
    )
    .await;
    b.goto(&format!("{}/?token={TOKEN}", stack.base())).await;
    b.wait_for(
        &format!(
            "{} && document.getElementById('conn').dataset.state === 'live'",
            every_node_shown()
        ),
        Duration::from_secs(10),
        "every node shown, the stream live",
    )
    .await;
    // Exercise the page: a node's detail (history chart, OLED frame), the site list.
    b.click("[data-id=\"ups_a\"] .box").await;
    b.wait_for(
        "document.getElementById('d-id').textContent === 'ups_a'",
        Duration::from_secs(5),
        "ups_a selected",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(b.eval("window.__csp").await, serde_json::json!([]));
    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
    // The policy is in force: an injected inline script does not run.
    b.eval(
        "(() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.appendChild(s); })()",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(b.eval("typeof window.__inline").await, "undefined");
    assert_eq!(
        b.eval("window.__csp.some(v => v.startsWith('script-src'))")
            .await,
        true,
        "{}",
        b.eval("JSON.stringify(window.__csp)").await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_viewer_token_the_page_needs_it_and_then_reads_only() {
    let stack = Stack::start_configured(winter_river_testkit::site::SiteTopology::Default, |c| {
        c.viewer_token = Some("test-viewer-token".into())
    })
    .await;
    // The web's own reads need a token now: wait through the viewer's.
    let auth = "Bearer test-viewer-token";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = util::request(
            stack.http,
            "GET",
            "/api/state",
            &[("Authorization", auth)],
            b"",
        )
        .await;
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let nodes = v["nodes"].as_array().cloned().unwrap_or_default();
        if !nodes.is_empty() && nodes.iter().all(|n| n["status"].is_string()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every node reported"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut b = Browser::launch(W, H).await;
    b.goto(&stack.base()).await;
    b.wait_for(
        "document.body && document.body.innerText.includes('--viewer-token')",
        Duration::from_secs(5),
        "the refusal says how to read the dashboard",
    )
    .await;
    b.goto(&format!("{}/?token=test-viewer-token", stack.base()))
        .await;
    b.wait_for(
        &format!(
            "{} && document.getElementById('conn').dataset.state === 'live' && document.getElementById('mode').textContent === 'Read-only'",
            every_node_shown()
        ),
        Duration::from_secs(10),
        "the viewer's page: every node, the stream live, read-only",
    )
    .await;
    assert_eq!(
        b.eval("fetch('/api/nodes/util_a/command', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{\"command\": \"set_fault\", \"params\": {\"state\": true}}'}).then(r => r.status)")
            .await,
        403
    );
    // Only the first page's refusal (401) and the viewer's refused command (403).
    let unexpected: Vec<String> = b
        .errors()
        .into_iter()
        .filter(|e| !e.contains("401") && !e.contains("403"))
        .collect();
    assert_eq!(unexpected, Vec::<String>::new(), "the page logged errors");
    let (_, body) = util::request(
        stack.http,
        "GET",
        "/api/state",
        &[("Authorization", auth)],
        b"",
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let util_a = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_id"] == "util_a")
        .unwrap();
    assert_eq!(
        util_a["status"], "ok",
        "the viewer's command changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebound_name_gets_the_refusal_not_the_dashboard() {
    let stack =
        Stack::start_configured(winter_river_testkit::site::SiteTopology::BrokerOnly, |c| {
            c.allowed_hosts = vec!["pi.test".into()]
        })
        .await;
    // Chromium resolves both names to loopback, as DNS rebinding would turn
    // evil.test into this machine's address.
    let mut b = Browser::launch_with(
        W,
        H,
        &["--host-resolver-rules=MAP evil.test 127.0.0.1, MAP pi.test 127.0.0.1"],
    )
    .await;
    let port = stack.http.port();
    b.goto(&format!("http://evil.test:{port}/?token={TOKEN}"))
        .await;
    b.wait_for(
        "document.body && document.body.innerText.includes('--allowed-host evil.test')",
        Duration::from_secs(5),
        "the refusal naming the flag",
    )
    .await;
    // No cookie was set for the rebound name, and no script of the dashboard ran.
    let cookies = b
        .call(
            "Network.getCookies",
            serde_json::json!({"urls": [format!("http://evil.test:{port}/")]}),
        )
        .await;
    assert_eq!(cookies["cookies"], serde_json::json!([]));
    assert_eq!(b.eval("typeof window.winterRiver").await, "undefined");
    // A name given with --allowed-host is the dashboard.
    b.goto(&format!("http://pi.test:{port}/?token={TOKEN}"))
        .await;
    b.wait_for(
        "typeof window.winterRiver === 'object' && document.getElementById('mode').textContent === 'Operator'",
        Duration::from_secs(10),
        "the dashboard by its allowed name, signed in",
    )
    .await;
}
