//! Winter River's web dashboard: a live one-line diagram, each board's OLED screen,
//! controls, a live drill's panel, 15 minutes of history, an HTTP API and Prometheus
//! `/metrics`. It is fed
//! by MQTT like any other client (docs/protocol.md), so it runs inside `winter-river
//! up` or alone against a remote broker. Every asset is embedded in the binary. It
//! depends on neither the engine nor the simulator (docs/architecture.md): what it
//! knows of kinds, fields, status words and commands comes from the protocol's
//! shared description, which the page reads from `GET /api/schema`.
//!
//! Pieces: [`store`] (sans-IO state built from MQTT), `feed` (the MQTT link that
//! fills it and publishes commands), `api` (HTTP routes), `live` (the batched
//! server-sent-events stream), `metrics` (Prometheus text, with the engine's
//! telemetry when it runs in the same process), `assets` (the page), `guard` (roles,
//! the token cookie, the Host allow-list and the security headers: docs/security.md),
//! `https` (the same over TLS, with [`WebConfig::tls`]).

mod api;
mod assets;
mod feed;
mod guard;
mod https;
mod live;
mod metrics;
pub mod store;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use winter_river_mqtt::BrokerUrl;
use winter_river_telemetry::Telemetry;

use crate::store::Store;

/// Fastest rate of pushes to one browser: at most 10 a second.
pub const PUSH_PERIOD: Duration = Duration::from_millis(100);

/// How the web piece runs.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Topic prefix (`winter-river`).
    pub prefix: String,
    /// Operator token: a request that controls anything must carry it.
    pub token: String,
    /// Instructor token: when set, fault injection and drill control need it
    /// instead of the operator's, and it may do everything the operator's does
    /// (docs/api.md, "Roles"); unset, the operator token does both.
    pub instructor_token: Option<String>,
    /// Viewer token: when set, every read (the page, the API, the live stream,
    /// `/metrics` unless `metrics_open`) needs it or another role's token; unset,
    /// reads are open (docs/security.md).
    pub viewer_token: Option<String>,
    /// `/metrics` stays open even with a viewer token (for a Prometheus without
    /// credentials).
    pub metrics_open: bool,
    /// Host names the dashboard answers to besides its listening address,
    /// `localhost`, `127.0.0.1` and `[::1]`: `NAME` (with the listening port) or
    /// `NAME:PORT` (a reverse proxy's).
    pub allowed_hosts: Vec<String>,
    /// Where the engine writes drill debriefs: `GET /drill/debrief` serves its
    /// `latest.html`.
    pub debrief_dir: Option<PathBuf>,
    /// MQTT client id.
    pub client_id: String,
    /// Serve HTTPS with this configuration (`--tls-cert`/`--tls-key`, read by
    /// `winter_river_tls::server_config`); `None`: plain HTTP. Over HTTPS the
    /// session cookie is `Secure` and cookie writes must come from an `https://`
    /// origin.
    pub tls: Option<Arc<winter_river_tls::rustls::ServerConfig>>,
}

impl WebConfig {
    pub fn new(prefix: &str, token: String) -> WebConfig {
        WebConfig {
            prefix: prefix.to_string(),
            token,
            instructor_token: None,
            viewer_token: None,
            metrics_open: false,
            allowed_hosts: Vec::new(),
            debrief_dir: None,
            client_id: format!("winter-river-web-{}", std::process::id()),
            tls: None,
        }
    }
}

/// A random operator token: 128 bits as 32 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness (should not happen on Linux): fall back to the clock
        // and process id, hashed, which is at least not guessable from outside.
        use std::hash::{BuildHasher, RandomState};
        let h = RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()));
        bytes[..8].copy_from_slice(&h.to_le_bytes());
        bytes[8..].copy_from_slice(&RandomState::new().hash_one(h).to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The dashboard URL to print: `http://host:port/?token=…` (`https://` when
/// `tls`), with a wildcard bind address replaced by loopback.
pub fn dashboard_url(addr: SocketAddr, token: &str, tls: bool) -> String {
    let host = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
        ip if ip.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{host}:{}/?token={token}", addr.port())
}

/// The `/metrics` text (OpenMetrics) of `store` alone, as a scrape of a standalone
/// `winter-river web` with no browser connected gets it (for the benches).
pub fn metrics_text(store: &Store) -> String {
    metrics::render(store, None, 0, 0).unwrap_or_default()
}

/// A command the HTTP side asks the MQTT side to publish.
#[derive(Debug)]
pub(crate) struct PublishRequest {
    pub topic: String,
    pub payload: Vec<u8>,
    pub reply: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub changes: watch::Sender<u64>,
    pub publish: mpsc::Sender<PublishRequest>,
    pub guard: guard::Guard,
    pub debrief_dir: Option<PathBuf>,
    pub telemetry: Option<watch::Receiver<Telemetry>>,
    pub stop: watch::Receiver<bool>,
    pub live_clients: AtomicUsize,
    pub pushes: AtomicU64,
}

impl Shared {
    /// The store; a panic elsewhere while holding it does not take the web down.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) type App = Arc<Shared>;

/// Binds the HTTP listener (`0.0.0.0:8080` by default; tests use `127.0.0.1:0`).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves the dashboard on `listener`, fed by the broker at `url`, until `shutdown`
/// completes. `telemetry` adds the engine's counters and tick histogram to
/// `/metrics` when the engine runs in the same process (`winter-river up`): the
/// engine's driver publishes them on that channel (crates/telemetry, shared by both
/// without the web depending on the engine).
pub async fn serve(
    listener: TcpListener,
    url: BrokerUrl,
    config: WebConfig,
    telemetry: Option<watch::Receiver<Telemetry>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (changes, _) = watch::channel(0);
    let (publish_tx, publish_rx) = mpsc::channel(256);
    let app: App = Arc::new(Shared {
        store: Mutex::new(Store::new(&config.prefix)),
        changes,
        publish: publish_tx,
        guard: guard::Guard::new(&config, listener.local_addr()?),
        debrief_dir: config.debrief_dir.clone(),
        telemetry,
        stop: stop_rx.clone(),
        live_clients: AtomicUsize::new(0),
        pushes: AtomicU64::new(0),
    });
    let feed = tokio::spawn(feed::run(
        app.clone(),
        url,
        config.client_id.clone(),
        publish_rx,
        stop_rx.clone(),
    ));
    let router = api::router(app);
    let mut stopped = stop_rx;
    let shutdown = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
        // Live streams end on the stop signal; give them a moment.
        let _ = stopped.wait_for(|s| *s).await;
    };
    let result = match config.tls {
        Some(tls) => https::serve(listener, router, tls, shutdown).await,
        None => {
            let service = router.into_make_service_with_connect_info::<guard::Local>();
            axum::serve(listener, service)
                .with_graceful_shutdown(shutdown)
                .await
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), feed).await;
    result
}
