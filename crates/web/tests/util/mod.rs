//! Helpers for the web tests: a live site in-process (testkit's `LiveSite`: the
//! embedded broker, an engine and a virtual board per node under a prefix of their
//! own) with the web on a free 127.0.0.1 port beside it, a tiny HTTP/1.1 client,
//! and a headless Chromium driven over the DevTools protocol. The web itself knows
//! no engine: it is fed by MQTT, as in production.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::oneshot;
use winter_river_mqtt::BrokerUrl;
use winter_river_testkit::site::{LiveSite, SiteTopology};
use winter_river_web::WebConfig;

pub const TOKEN: &str = "test-operator-token";
/// The instructor's token, for stacks started with [`Stack::with_instructor`].
pub const INSTRUCTOR: &str = "test-instructor-token";

#[allow(unused_imports)] // not every test binary uses it
pub use winter_river_testkit::DEFAULT_NODES;

/// A live site and the web on it, for one test; everything stops when dropped.
pub struct Stack {
    pub http: SocketAddr,
    pub prefix: String,
    pub url: BrokerUrl,
    site: LiveSite,
}

/// Boards played by a test: each status (a Status JSON) is published every 500 ms
/// on its node's topic, with a retained `online` first, until the handle is
/// dropped — as real boards repeat theirs, so a web that subscribes late still
/// hears them.
pub fn boards(mqtt: winter_river_testkit::Client, prefix: &str, statuses: &[&str]) -> Boards {
    let statuses: Vec<(String, String)> = statuses
        .iter()
        .map(|s| {
            let v: Value = serde_json::from_str(s).unwrap();
            (v["node_id"].as_str().unwrap().to_string(), s.to_string())
        })
        .collect();
    let prefix = prefix.to_string();
    Boards(tokio::spawn(async move {
        use winter_river_protocol::Qos;
        for (id, _) in &statuses {
            let topic = format!("{prefix}/{id}/availability");
            mqtt.publish(&topic, "online", Qos::AtLeastOnce, true)
                .unwrap();
        }
        loop {
            for (id, status) in &statuses {
                let topic = format!("{prefix}/{id}/status");
                mqtt.publish(&topic, status.as_str(), Qos::AtMostOnce, false)
                    .unwrap();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }))
}

/// Stops the boards of [`boards`] when dropped.
pub struct Boards(tokio::task::JoinHandle<()>);

impl Drop for Boards {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Stack {
    /// The default topology with a virtual board for every node.
    pub async fn start() -> Stack {
        Stack::start_with(SiteTopology::Default).await
    }

    /// A topology file's text, with a virtual board for every node.
    pub async fn start_toml(text: &str, name: &str) -> Stack {
        Stack::start_with(SiteTopology::Toml { text, name }).await
    }

    /// A topology file of the repository's `topologies/` (`hall.toml`), with a
    /// virtual board for every node.
    pub async fn start_repo(name: &str) -> Stack {
        Stack::start_repo_at_speed(name, 1.0).await
    }

    /// [`Stack::start_repo`] with the engine at `speed` × real time.
    pub async fn start_repo_at_speed(name: &str, speed: f64) -> Stack {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../topologies")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        Stack::start_configured_at(
            SiteTopology::Toml {
                text: &text,
                name: &name,
            },
            speed,
            |_| {},
        )
        .await
    }

    /// The broker and the web alone: the test publishes what an engine and boards
    /// would (through [`Stack::client`]).
    pub async fn web_only() -> Stack {
        Stack::start_with(SiteTopology::BrokerOnly).await
    }

    async fn start_with(topology: SiteTopology<'_>) -> Stack {
        Stack::start_configured(topology, |_| {}).await
    }

    /// The broker and the web alone, the web configured by `configure` (an
    /// instructor's token, a debrief directory).
    pub async fn web_only_with(configure: impl FnOnce(&mut WebConfig)) -> Stack {
        Stack::start_configured(SiteTopology::BrokerOnly, configure).await
    }

    /// Sets the instructor's token to [`INSTRUCTOR`]: for `web_only_with`.
    pub fn with_instructor(config: &mut WebConfig) {
        config.instructor_token = Some(INSTRUCTOR.to_string());
    }

    /// A live drill as `up --drill FILE --drills LIBRARY --debrief-dir DIR
    /// --instructor-token` runs it: the drill's site, the drill loaded, the web
    /// with [`INSTRUCTOR`] and the engine's debrief folder.
    pub async fn start_drill(file: &Path, library: Option<PathBuf>, debrief_dir: &Path) -> Stack {
        let site = SiteTopology::Drill {
            file,
            library,
            debrief_dir: debrief_dir.to_path_buf(),
        };
        Stack::start_configured(site, |c| {
            Stack::with_instructor(c);
            c.debrief_dir = Some(debrief_dir.to_path_buf());
        })
        .await
    }

    /// A site (`topology`) and the web on it, configured by `configure`.
    pub async fn start_configured(
        topology: SiteTopology<'_>,
        configure: impl FnOnce(&mut WebConfig),
    ) -> Stack {
        Stack::start_configured_at(topology, 1.0, configure).await
    }

    /// [`Stack::start_configured`] with the engine at `speed` × real time.
    pub async fn start_configured_at(
        topology: SiteTopology<'_>,
        speed: f64,
        configure: impl FnOnce(&mut WebConfig),
    ) -> Stack {
        let site = LiveSite::start_at_speed(topology, speed).await.unwrap();
        let listener = winter_river_web::bind(([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        let http = listener.local_addr().unwrap();
        let mut config = WebConfig::new(&site.prefix, TOKEN.to_string());
        config.client_id = format!("{}-web", site.prefix);
        configure(&mut config);
        let telemetry = site.telemetry();
        let (url, stop) = (site.url.clone(), site.stopped());
        tokio::spawn(async move {
            winter_river_web::serve(listener, url, config, telemetry, stop)
                .await
                .unwrap()
        });
        Stack {
            http,
            prefix: site.prefix.clone(),
            url: site.url.clone(),
            site,
        }
    }

    /// An MQTT client on the site's broker, for a test that plays the engine or a
    /// board.
    pub async fn client(&self, name: &str) -> winter_river_testkit::Client {
        winter_river_testkit::Client::connect(&self.url, &format!("{}-{name}", self.prefix), &[])
            .await
            .unwrap()
    }

    /// Number of nodes with a virtual board.
    pub fn nodes(&self) -> usize {
        self.site.nodes
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Waits until `/api/state` shows every node with a status word.
    pub async fn wait_all_reporting(&self, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) = get(self.http, "/api/state").await;
            if status == 200 {
                let v: Value = serde_json::from_slice(&body).unwrap();
                let nodes = v["nodes"].as_array().cloned().unwrap_or_default();
                if !nodes.is_empty() && nodes.iter().all(|n| n["status"].is_string()) {
                    return v;
                }
            }
            assert!(
                Instant::now() < deadline,
                "not every node reported within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A node's status word from `/api/state`.
    pub async fn node_status(&self, id: &str) -> Option<String> {
        let (_, body) = get(self.http, "/api/state").await;
        let v: Value = serde_json::from_slice(&body).ok()?;
        v["nodes"]
            .as_array()?
            .iter()
            .find(|n| n["node_id"] == id)
            .and_then(|n| n["status"].as_str().map(str::to_string))
    }
}

// ── HTTP ────────────────────────────────────────────────────────────────────

/// One HTTP/1.1 request (`Connection: close`): status, body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let (status, _, body) = request_full(addr, method, path, headers, body).await;
    (status, body)
}

/// One HTTP/1.1 request: status, headers (lower-case names), body.
pub async fn request_full(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, HashMap<String, String>, Vec<u8>) {
    let stream = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    request_over(stream, addr, method, path, headers, body).await
}

/// A client that trusts `ca` (a PEM file) over TLS to `addr`, as `server_name`.
pub async fn tls_connect(
    addr: SocketAddr,
    ca: &Path,
    server_name: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let config = winter_river_tls::client_config(Some(ca)).unwrap();
    let connector = tokio_rustls::TlsConnector::from(config);
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name =
        tokio_rustls::rustls::pki_types::ServerName::try_from(server_name.to_string()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
        .await
        .expect("a TLS handshake in time")
}

/// [`request_full`] over HTTPS, trusting `ca`.
pub async fn request_tls(
    addr: SocketAddr,
    ca: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, HashMap<String, String>, Vec<u8>) {
    let stream = tls_connect(addr, ca, &addr.ip().to_string())
        .await
        .expect("a TLS connection");
    request_over(stream, addr, method, path, headers, body).await
}

/// One HTTP/1.1 request on `stream`, connected to `addr`.
pub async fn request_over(
    mut stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, HashMap<String, String>, Vec<u8>) {
    // A `Host` among `headers` replaces the default (the address connected to).
    let host = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map_or_else(|| addr.to_string(), |(_, v)| v.to_string());
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
    {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    // Read until the body is complete: some servers (Chromium's DevTools) keep the
    // connection open despite `Connection: close`.
    let mut raw = Vec::new();
    let complete = |raw: &[u8]| -> bool {
        let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            return false;
        };
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let body = &raw[split + 4..];
        if let Some(len) = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            return body.len() >= len;
        }
        if head.contains("transfer-encoding: chunked") {
            return body.ends_with(b"0\r\n\r\n");
        }
        false
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 16 * 1024];
        loop {
            // A TLS peer may hang up without close_notify after `Connection: close`.
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            if complete(&raw) {
                break;
            }
        }
    })
    .await
    .expect("response in time");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        body = dechunk(&body);
    }
    (status, headers, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// The status line and headers of a GET whose body may never end (the live
/// stream), then the connection is dropped.
pub async fn head_of(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, HashMap<String, String>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the connection closed before the response head");
            raw.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("a response head in time");
    let head = String::from_utf8_lossy(&raw).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

pub async fn get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    request(addr, "GET", path, &[], b"").await
}

/// A POST with `Authorization: Bearer token` (none when `None`): status and the
/// JSON answer (`null` when it is none).
pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let (status, body) = request(addr, "POST", path, &headers, body.as_bytes()).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A fresh, empty folder under target/tmp for one test (a debrief directory).
pub fn fresh_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = target_tmp().join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A site's topology for a test that plays the engine: the seed's chain as the
/// engine publishes it (its ids, kinds and feeds).
pub const SEED_TOPOLOGY_JSON: &str = r#"{"site":"drill-site","nodes":[
    {"id":"util_a","kind":"utility","feeds":[],"params":{}},
    {"id":"trf_a","kind":"transformer","feeds":["util_a"],"params":{}},
    {"id":"gen_a","kind":"generator","feeds":[],"params":{}},
    {"id":"sw_a","kind":"switchgear","feeds":["trf_a","gen_a"],"params":{}},
    {"id":"dist_a","kind":"distribution","feeds":["sw_a"],"params":{}},
    {"id":"ups_a","kind":"ups","feeds":["dist_a"],"params":{}},
    {"id":"pdu_a","kind":"pdu","feeds":["ups_a"],"params":{}},
    {"id":"srv_a","kind":"server","feeds":["pdu_a"],"params":{}}]}"#;

// ── Chromium over the DevTools protocol ─────────────────────────────────────

/// The Chromium to run: `$CHROMIUM`, else Debian's `chromium`.
fn chromium_binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_string())
}

/// Where tests write (screenshots, browser profiles): under target/.
pub fn target_tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A headless Chromium with one page, driven over the DevTools protocol. Console
/// errors, uncaught exceptions and error log entries (failed loads) are collected.
pub struct Browser {
    child: tokio::process::Child,
    profile: PathBuf,
    out: futures_util::stream::SplitSink<
        async_tungstenite::WebSocketStream<async_tungstenite::tokio::ConnectStream>,
        async_tungstenite::tungstenite::Message,
    >,
    pending: Pending,
    pub errors: Arc<Mutex<Vec<String>>>,
    next_id: u64,
}

impl Browser {
    /// Starts Chromium (headless, no network beyond loopback, a fresh profile).
    /// Panics with what to install when it is missing: scripts/test installs it.
    pub async fn launch(width: u32, height: u32) -> Browser {
        Browser::launch_with(width, height, &[]).await
    }

    /// [`Browser::launch`] with more Chromium flags (`--host-resolver-rules=…`).
    pub async fn launch_with(width: u32, height: u32, extra: &[&str]) -> Browser {
        static N: AtomicU64 = AtomicU64::new(0);
        let profile = target_tmp().join(format!(
            "chromium-profile-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let bin = chromium_binary();
        let mut child = match tokio::process::Command::new(&bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--mute-audio",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.display()),
            ])
            .args(extra)
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => panic!(
                "cannot run `{bin}` ({e}): the browser tests need Debian's Chromium \
                 (`apt-get install -y chromium`, as scripts/test does), or set CHROMIUM to a Chromium binary"
            ),
        };
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let ws_browser = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(i) = line.find("ws://") {
                    return Some(line[i..].trim().to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("`{bin}` did not open its DevTools port within 20 s"));
        // Keep draining stderr so Chromium never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let port: u16 = ws_browser
            .trim_start_matches("ws://")
            .split(['/', ':'])
            .nth(1)
            .and_then(|p| p.parse().ok())
            .expect("a DevTools port");
        let devtools: SocketAddr = ([127, 0, 0, 1], port).into();
        let (_, list) = get(devtools, "/json/list").await;
        let targets: Value = serde_json::from_slice(&list).expect("DevTools target list");
        let page_ws = targets
            .as_array()
            .and_then(|a| a.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_string();
        let (ws, _) = async_tungstenite::tokio::connect_async(page_ws.as_str())
            .await
            .expect("DevTools websocket");
        let (out, mut incoming) = ws.split();
        let pending: Pending = Arc::default();
        let errors: Arc<Mutex<Vec<String>>> = Arc::default();
        {
            let pending = pending.clone();
            let errors = errors.clone();
            tokio::spawn(async move {
                while let Some(Ok(msg)) = incoming.next().await {
                    let Ok(text) = msg.into_text() else { continue };
                    let Ok(v) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    if let Some(id) = v["id"].as_u64() {
                        if let Some(tx) = pending.lock().unwrap().remove(&id) {
                            let _ = tx.send(v);
                        }
                        continue;
                    }
                    let p = &v["params"];
                    let error = match v["method"].as_str() {
                        Some("Runtime.consoleAPICalled") if p["type"] == "error" => Some(format!(
                            "console.error: {}",
                            p["args"]
                                .as_array()
                                .map(|a| a
                                    .iter()
                                    .map(|x| x["value"]
                                        .as_str()
                                        .map(str::to_string)
                                        .unwrap_or_else(|| x["description"].to_string()))
                                    .collect::<Vec<_>>()
                                    .join(" "))
                                .unwrap_or_default()
                        )),
                        Some("Runtime.exceptionThrown") => Some(format!(
                            "uncaught exception: {}",
                            p["exceptionDetails"]["exception"]["description"]
                                .as_str()
                                .unwrap_or_else(|| p["exceptionDetails"]["text"]
                                    .as_str()
                                    .unwrap_or("?"))
                        )),
                        Some("Log.entryAdded") if p["entry"]["level"] == "error" => Some(format!(
                            "log error: {} {}",
                            p["entry"]["text"].as_str().unwrap_or(""),
                            p["entry"]["url"].as_str().unwrap_or("")
                        )),
                        _ => None,
                    };
                    if let Some(e) = error {
                        errors.lock().unwrap().push(e);
                    }
                }
            });
        }
        let mut b = Browser {
            child,
            profile,
            out,
            pending,
            errors,
            next_id: 0,
        };
        b.call("Runtime.enable", json!({})).await;
        b.call("Log.enable", json!({})).await;
        b.call("Page.enable", json!({})).await;
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
        b
    }

    /// Sends one DevTools command and waits for its result (panics on a protocol
    /// error, which is a bug in the test).
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        self.out
            .send(async_tungstenite::tungstenite::Message::text(msg))
            .await
            .expect("DevTools send");
        let v = tokio::time::timeout(Duration::from_secs(20), rx)
            .await
            .unwrap_or_else(|_| panic!("DevTools `{method}` timed out"))
            .expect("DevTools answer");
        if let Some(e) = v.get("error") {
            panic!("DevTools `{method}` failed: {e}");
        }
        v["result"].clone()
    }

    pub async fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
    }

    /// Evaluates JavaScript (promises awaited) and returns its value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if let Some(e) = r.get("exceptionDetails") {
            panic!("script `{expression}` threw: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Polls `expression` until it is `true`; the time it took, or a panic naming
    /// `what` after `timeout`.
    pub async fn wait_for(&mut self, expression: &str, timeout: Duration, what: &str) -> Duration {
        let start = Instant::now();
        loop {
            if self.eval(expression).await == Value::Bool(true) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < timeout,
                "{what}: not within {timeout:?} (`{expression}`); page errors: {:?}",
                self.errors()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A real mouse click at the centre of the first element matching `selector`.
    pub async fn click(&mut self, selector: &str) {
        let sel = serde_json::to_string(selector).unwrap();
        let r = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({sel}); if (!e) return null; \
                 e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
                 return [r.left + r.width / 2, r.top + r.height / 2]; }})()"
            ))
            .await;
        let (x, y) = match r.as_array() {
            Some(a) if a.len() == 2 => (a[0].as_f64().unwrap(), a[1].as_f64().unwrap()),
            _ => panic!("nothing to click: no element matches `{selector}`"),
        };
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "buttons": if kind == "mousePressed" { 1 } else { 0 }, "clickCount": 1}),
            )
            .await;
        }
    }

    /// Writes a PNG screenshot of the viewport to `path`.
    pub async fn screenshot(&mut self, path: &Path) {
        self.capture(path, json!({"format": "png"})).await;
    }

    /// Writes a PNG of the first element matching `selector` alone (scrolled to
    /// the top of the page first) to `path`.
    pub async fn screenshot_of(&mut self, selector: &str, path: &Path) {
        let sel = serde_json::to_string(selector).unwrap();
        let r = self
            .eval(&format!(
                "(() => {{ window.scrollTo(0, 0); const r = document.querySelector({sel}).getBoundingClientRect(); \
                 return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; }})()"
            ))
            .await;
        let n = |i: usize| r[i].as_f64().unwrap_or(0.0);
        let clip = json!({"x": n(0), "y": n(1), "width": n(2), "height": n(3), "scale": 1});
        self.capture(
            path,
            json!({"format": "png", "clip": clip, "captureBeyondViewport": true}),
        )
        .await;
    }

    async fn capture(&mut self, path: &Path, params: Value) {
        use base64::Engine as _;
        let r = self.call("Page.captureScreenshot", params).await;
        let data = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("screenshot data"))
            .expect("base64 screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, data).unwrap();
    }

    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().unwrap().clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
