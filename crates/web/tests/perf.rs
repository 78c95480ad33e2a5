//! Performance of the web part, run by hand (docs/benchmarks.md, "Web dashboard"):
//! the release binary runs `winter-river up` (broker, engine, boards) in one process
//! and `winter-river web` in another, so the dashboard's CPU is its own. For each
//! site, three windows: the web process with no browser; one headless Chromium on
//! the page of a healthy site left alone; the same while operators work (servers'
//! demand changed 20 times a second, utility A failed and restored: see [`churn`]).
//! CPU from /proc/PID/stat, RSS, live pushes, frame times, long tasks and the
//! page's main-thread time (DevTools `Performance.getMetrics`). Figures go to
//! stderr and target/tmp/web-perf-NAME.json.
//!
//! ```sh
//! cargo build --release -p winter-river
//! cargo test --release -p winter-river-web --test perf -- --ignored --test-threads=1 --nocapture
//! ```
//!
//! `WR_BIN` names another binary; `WR_PERF_SECS` shortens the 60 s windows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use util::{Browser, TOKEN, get, target_tmp};

const W: u32 = 1600;
const H: u32 = 1300;

/// Yardsticks: the web part under a tenth of one core with a browser on it, and no
/// frame slower than three missed vsyncs (p99 < 50 ms).
const WEB_CPU_MAX_PERCENT: f64 = 10.0;
const FRAME_P99_MAX_MS: f64 = 50.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "about 3.5 min, needs the release binary: run by hand"]
async fn web_perf_hall() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topologies/hall.toml");
    measure("hall", &path).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "about 4 min, 999 virtual boards, needs the release binary: run by hand"]
async fn web_perf_1000_nodes() {
    // `winter-river topology generate --racks 860`: 999 nodes.
    let path = target_tmp().join("web-perf-synthetic-860.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, winter_river_testkit::site::synthetic_site_toml(860)).unwrap();
    measure("synthetic-860", &path).await;
}

/// Length of each measuring window \[s\].
fn window_s() -> u64 {
    std::env::var("WR_PERF_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

/// The release binary: `$WR_BIN`, else target/release/winter-river.
fn binary() -> PathBuf {
    if let Ok(bin) = std::env::var("WR_BIN") {
        return PathBuf::from(bin);
    }
    let bin = target_tmp()
        .parent()
        .expect("target/tmp has a parent")
        .join("release/winter-river");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build --release -p winter-river` first (or set WR_BIN)",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ── /proc ───────────────────────────────────────────────────────────────────

/// Clock ticks a second (`getconf CLK_TCK`; 100 on Linux).
fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// (parent pid, utime + stime [ticks]) of a process.
fn proc_stat(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields count from after its `)`.
    let rest: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let ppid = rest.get(1)?.parse().ok()?;
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

fn cpu_ticks(pid: u32) -> u64 {
    proc_stat(pid).map_or(0, |(_, t)| t)
}

/// A /proc/PID/status field in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU ticks of every live descendant of this test process except `skip` (and
/// theirs): the browser's processes.
fn browser_ticks(skip: &[u32]) -> u64 {
    let procs: Vec<(u32, u32, u64)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| proc_stat(pid).map(|(ppid, t)| (pid, ppid, t)))
        .collect();
    let mut tree = vec![std::process::id()];
    let mut total = 0;
    let mut i = 0;
    while i < tree.len() {
        for &(pid, ppid, t) in &procs {
            if ppid == tree[i] && !skip.contains(&pid) {
                tree.push(pid);
                total += t;
            }
        }
        i += 1;
    }
    total
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

// ── The system under test ───────────────────────────────────────────────────

/// `up` and `web` as child processes; both are killed when dropped.
struct System {
    up: tokio::process::Child,
    web: tokio::process::Child,
    /// The web under test.
    http: SocketAddr,
    /// `up`'s own dashboard: the churn's commands go through it.
    up_http: SocketAddr,
}

impl System {
    async fn start(name: &str, topology: &Path) -> System {
        let bin = binary();
        let mqtt = free_port();
        let up_http: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let log = |what: &str| {
            let path = target_tmp().join(format!("web-perf-{name}-{what}.log"));
            Stdio::from(std::fs::File::create(path).unwrap())
        };
        let up = tokio::process::Command::new(&bin)
            .args(["up", "--topology"])
            .arg(topology)
            .args(["--bind", "127.0.0.1", "--mqtt-port", &mqtt.to_string()])
            .args(["--ws-port", "0", "--token", TOKEN])
            .args(["--http", &up_http.to_string()])
            // A fresh site every run: no state file resumed from an earlier one.
            .env("WR_STATE", "none")
            .stdin(Stdio::null())
            .stdout(log("up"))
            .stderr(log("up-err"))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let broker: SocketAddr = ([127, 0, 0, 1], mqtt).into();
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(broker).await.is_err() {
            assert!(Instant::now() < deadline, "`up` broker not listening");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let http: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let web = tokio::process::Command::new(&bin)
            .args(["web", "--broker", &format!("mqtt://{broker}")])
            .args(["--http", &http.to_string(), "--token", TOKEN])
            .stdin(Stdio::null())
            .stdout(log("web"))
            .stderr(log("web-err"))
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let system = System {
            up,
            web,
            http,
            up_http,
        };
        system.wait_all_reporting(Duration::from_secs(90)).await;
        system
    }

    fn up_pid(&self) -> u32 {
        self.up.id().expect("up runs")
    }

    fn web_pid(&self) -> u32 {
        self.web.id().expect("web runs")
    }

    /// Waits until the web process's `/api/state` shows every node with a status.
    async fn wait_all_reporting(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Ok(stream)) = tokio::time::timeout(
                Duration::from_millis(200),
                tokio::net::TcpStream::connect(self.http),
            )
            .await
            {
                drop(stream);
                let (status, body) = get(self.http, "/api/state").await;
                if status == 200 {
                    let v: Value = serde_json::from_slice(&body).unwrap();
                    let nodes = v["nodes"].as_array().cloned().unwrap_or_default();
                    if !nodes.is_empty() && nodes.iter().all(|n| n["status"].is_string()) {
                        return nodes.len();
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "not every node reported to the web within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The web's own count of live-stream pushes (from /metrics).
    async fn pushes(&self) -> u64 {
        let (_, body) = get(self.http, "/metrics").await;
        String::from_utf8_lossy(&body)
            .lines()
            .find_map(|l| l.strip_prefix("winter_river_web_live_pushes_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }
}

/// CPU and memory of the processes over one window.
#[derive(Debug)]
struct Window {
    wall_s: f64,
    /// Web process: 1 s samples [% of one core].
    web_samples: Vec<f64>,
    web_cpu_s: f64,
    web_rss_mib: f64,
    up_cpu_s: f64,
    browser_cpu_s: f64,
    load_before: String,
    load_after: String,
}

impl Window {
    fn web_median(&self) -> f64 {
        percentile(&self.web_samples, 0.5)
    }

    fn web_max(&self) -> f64 {
        percentile(&self.web_samples, 1.0)
    }

    fn json(&self) -> Value {
        json!({
            "wall_s": self.wall_s,
            "web_cpu_percent_median": self.web_median(),
            "web_cpu_percent_max": self.web_max(),
            "web_cpu_percent_mean": 100.0 * self.web_cpu_s / self.wall_s,
            "web_cpu_s": self.web_cpu_s,
            "web_rss_mib": self.web_rss_mib,
            "up_cpu_s": self.up_cpu_s,
            "browser_cpu_s": self.browser_cpu_s,
            "load_before": self.load_before,
            "load_after": self.load_after,
            "web_samples": self.web_samples,
        })
    }
}

fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Samples the web process's CPU once a second for `secs` seconds.
async fn watch(system: &System, secs: u64) -> Window {
    let tck = clk_tck();
    let (web, up) = (system.web_pid(), system.up_pid());
    let load_before = loadavg();
    let start = Instant::now();
    let (web0, up0, browser0) = (cpu_ticks(web), cpu_ticks(up), browser_ticks(&[web, up]));
    let mut samples = Vec::new();
    let (mut last_t, mut last_ticks) = (start, web0);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    for _ in 0..secs {
        tick.tick().await;
        let (now, ticks) = (Instant::now(), cpu_ticks(web));
        let dt = now.duration_since(last_t).as_secs_f64();
        samples.push(100.0 * (ticks - last_ticks) as f64 / tck / dt);
        (last_t, last_ticks) = (now, ticks);
    }
    Window {
        wall_s: start.elapsed().as_secs_f64(),
        web_samples: samples,
        web_cpu_s: (cpu_ticks(web) - web0) as f64 / tck,
        web_rss_mib: status_kib(web, "VmRSS") as f64 / 1024.0,
        up_cpu_s: (cpu_ticks(up) - up0) as f64 / tck,
        browser_cpu_s: browser_ticks(&[web, up]).saturating_sub(browser0) as f64 / tck,
        load_before,
        load_after: loadavg(),
    }
}

/// Installed before the page's own script: counts live deltas (and their bytes)
/// and long tasks.
const PAGE_PROBE: &str = r#"
window.__perf = { deltas: 0, bytes: 0, longtasks: [] };
(() => {
  const ES = window.EventSource;
  window.EventSource = class extends ES {
    constructor(url, opts) {
      super(url, opts);
      this.addEventListener("delta", (e) => { window.__perf.deltas++; window.__perf.bytes += e.data.length; });
    }
  };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__perf.longtasks.push(e.duration);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) {}
})();
"#;

/// DevTools `Performance.getMetrics` as name → value.
async fn page_metrics(b: &mut Browser) -> std::collections::HashMap<String, f64> {
    let r = b.call("Performance.getMetrics", json!({})).await;
    r["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| Some((m["name"].as_str()?.to_string(), m["value"].as_f64()?)))
        .collect()
}

/// Operators at work, through the `up` process's own dashboard (so not the web
/// under test): every 200 ms four servers get a new demand (0.7–1.3× nominal), and
/// utility A fails 5 s in and is restored 30 s later.
async fn churn(up_http: SocketAddr, secs: u64, stop: tokio::sync::watch::Receiver<bool>) -> u64 {
    let (_, body) = get(up_http, "/api/topology").await;
    let topology: Value = serde_json::from_slice(&body).expect("up's /api/topology");
    let servers: Vec<(String, f64)> = topology["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "server")
        .map(|n| {
            let kw = n["params"]["demand_kw"].as_f64().unwrap_or(5.0);
            (n["id"].as_str().unwrap().to_string(), kw)
        })
        .collect();
    assert!(!servers.is_empty(), "servers to churn");
    let auth = format!("Bearer {TOKEN}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rand = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut sent = 0;
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let (mut failed, mut restored) = (false, false);
    while start.elapsed() < Duration::from_secs(secs) && !*stop.borrow() {
        tick.tick().await;
        let t = start.elapsed().as_secs_f64();
        let fault = if !failed && t >= 5.0 {
            failed = true;
            Some(true)
        } else if failed && !restored && t >= 35.0 {
            restored = true;
            Some(false)
        } else {
            None
        };
        if let Some(state) = fault {
            let body = json!({"command": "set_fault", "params": {"state": state}}).to_string();
            let (status, _) = util::request(
                up_http,
                "POST",
                "/api/nodes/util_a/command",
                &headers,
                body.as_bytes(),
            )
            .await;
            assert!((200..300).contains(&status), "util_a set_fault: {status}");
            sent += 1;
        }
        for _ in 0..4 {
            let (id, kw) = &servers[(rand() * servers.len() as f64) as usize % servers.len()];
            let body = json!({"command": "set_load", "params": {"kw": kw * (0.7 + 0.6 * rand())}})
                .to_string();
            let (status, _) = util::request(
                up_http,
                "POST",
                &format!("/api/nodes/{id}/command"),
                &headers,
                body.as_bytes(),
            )
            .await;
            assert!((200..300).contains(&status), "{id} set_load: {status}");
            sent += 1;
        }
    }
    sent
}

/// One browser on the page for a window: the web process's CPU, pushes, frame
/// times, long tasks and the page's main-thread time.
async fn browse(name: &str, phase: &str, system: &System, b: &mut Browser, secs: u64) -> Value {
    b.eval(
        "window.__perf.deltas = 0; window.__perf.bytes = 0; window.__perf.longtasks = []; window.__stop = true; \
         setTimeout(() => { window.__stop = false; window.__frames = []; \
           (function f(t0) { requestAnimationFrame((t) => { if (window.__stop) return; window.__frames.push(t - t0); f(t); }); })(performance.now()); }, 50); true",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let m0 = page_metrics(b).await;
    let pushes0 = system.pushes().await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let churner = (phase == "churn").then(|| tokio::spawn(churn(system.up_http, secs, stop_rx)));
    let w = watch(system, secs).await;
    let _ = stop_tx.send(true);
    let commands = match churner {
        Some(h) => h.await.unwrap(),
        None => 0,
    };
    let pushes = system.pushes().await - pushes0;
    let m1 = page_metrics(b).await;
    let page = b
        .eval(
            "(() => { window.__stop = true; const f = window.__frames.slice(1).sort((a, b) => a - b); const q = (p) => f[Math.min(f.length - 1, Math.floor(f.length * p))]; \
             const lt = window.__perf.longtasks; \
             return { frames: f.length, median_ms: q(0.5), p99_ms: q(0.99), max_ms: f[f.length - 1], \
               over_50ms: f.filter((x) => x > 50).length, deltas: window.__perf.deltas, bytes: window.__perf.bytes, \
               longtasks: lt.length, longtask_total_ms: lt.reduce((a, b) => a + b, 0), longtask_max_ms: Math.max(0, ...lt), \
               dom_elements: document.getElementsByTagName('*').length }; })()",
        )
        .await;
    let d = |k: &str| m1.get(k).unwrap_or(&0.0) - m0.get(k).unwrap_or(&0.0);
    let wall = w.wall_s;
    let (task_s, script_s, layout_s) = (
        d("TaskDuration"),
        d("ScriptDuration"),
        d("LayoutDuration") + d("RecalcStyleDuration"),
    );
    let heap_mib = m1.get("JSHeapUsedSize").unwrap_or(&0.0) / 1_048_576.0;
    eprintln!(
        "{name} {phase}: web {:.1} % median, {:.1} % max, {:.2} CPU s in {wall:.0} s, RSS {:.1} MiB; up {:.2} CPU s; browser {:.2} CPU s; load {} -> {}",
        w.web_median(),
        w.web_max(),
        w.web_cpu_s,
        w.web_rss_mib,
        w.up_cpu_s,
        w.browser_cpu_s,
        w.load_before,
        w.load_after
    );
    eprintln!(
        "{name} {phase}: {commands} commands; pushes sent {pushes} ({:.2}/s), received {} ({:.2}/s, {:.0} B/s); page {page}",
        pushes as f64 / wall,
        page["deltas"],
        page["deltas"].as_f64().unwrap_or(0.0) / wall,
        page["bytes"].as_f64().unwrap_or(0.0) / wall,
    );
    eprintln!(
        "{name} {phase}: page main thread busy {task_s:.2} s ({:.1} %): script {script_s:.2} s, style+layout {layout_s:.2} s; JS heap {heap_mib:.1} MiB",
        100.0 * task_s / wall
    );
    assert!(
        page["frames"].as_u64().unwrap_or(0) > 10 * secs,
        "the page kept drawing"
    );
    assert!(pushes > 0, "the page was sent live pushes");
    assert!(
        pushes as f64 / wall <= 10.5,
        "at most 10 pushes a second to one browser"
    );
    json!({
        "web": w.json(),
        "commands": commands,
        "pushes_sent": pushes,
        "page": page,
        "page_task_s": task_s,
        "page_script_s": script_s,
        "page_style_layout_s": layout_s,
        "page_js_heap_mib": heap_mib,
    })
}

async fn measure(name: &str, topology: &Path) {
    let secs = window_s();
    let system = System::start(name, topology).await;
    let nodes = system.wait_all_reporting(Duration::from_secs(5)).await;
    eprintln!("{name}: {nodes} nodes reporting; settling 5 s");
    tokio::time::sleep(Duration::from_secs(5)).await;

    // Baseline: the web fed by MQTT, nobody watching.
    let idle = watch(&system, secs).await;
    eprintln!(
        "{name} no browser: web {:.1} % median, {:.1} % max, {:.2} CPU s in {:.0} s, RSS {:.1} MiB; up {:.2} CPU s; load {} -> {}",
        idle.web_median(),
        idle.web_max(),
        idle.web_cpu_s,
        idle.wall_s,
        idle.web_rss_mib,
        idle.up_cpu_s,
        idle.load_before,
        idle.load_after
    );

    let mut b = Browser::launch(W, H).await;
    b.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": PAGE_PROBE }),
    )
    .await;
    b.call("Performance.enable", json!({})).await;
    let t0 = Instant::now();
    b.goto(&format!("http://{}/?token={TOKEN}", system.http))
        .await;
    b.wait_for(
        "!!(window.winterRiver && window.winterRiver.state.layout) && \
         document.querySelectorAll('[data-id][data-status]').length > 0 && \
         document.getElementById('conn').dataset.state === 'live'",
        Duration::from_secs(60),
        "the diagram drawn and live",
    )
    .await;
    let shown_ms = t0.elapsed().as_millis() as u64;
    eprintln!("{name}: diagram live {shown_ms} ms after navigation; settling 5 s");
    tokio::time::sleep(Duration::from_secs(5)).await;

    // A healthy site left alone, then operators at work.
    let steady = browse(name, "steady", &system, &mut b, secs).await;
    let busy = browse(name, "churn", &system, &mut b, secs).await;
    let report = json!({
        "site": name,
        "nodes": nodes,
        "window_s": secs,
        "diagram_live_ms": shown_ms,
        "no_browser": idle.json(),
        "steady": steady,
        "churn": busy,
    });
    let out = target_tmp().join(format!("web-perf-{name}.json"));
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    eprintln!("{name}: written {}", out.display());

    assert_eq!(b.errors(), Vec::<String>::new(), "the page logged errors");
    for (phase, v) in [("steady", &steady), ("churn", &busy)] {
        let cpu = v["web"]["web_cpu_percent_median"].as_f64().unwrap();
        assert!(
            cpu < WEB_CPU_MAX_PERCENT,
            "{phase}: web part {cpu:.1} % of one core (median), yardstick {WEB_CPU_MAX_PERCENT} %"
        );
        let p99 = v["page"]["p99_ms"].as_f64().unwrap_or(f64::NAN);
        assert!(
            p99 < FRAME_P99_MAX_MS,
            "{phase}: frame p99 {p99:.1} ms, yardstick {FRAME_P99_MAX_MS} ms"
        );
    }
}
