//! The virtual fleet: a board for every node that has no physical one. Each board
//! is its own MQTT client with its own Last Will, driving [`NodeCore`](winter_river_node::NodeCore) — the same
//! logic the ESP32 firmware runs — so the engine cannot tell them apart.

mod board;
mod select;

pub use board::{BoardConfig, board_link_options, board_seed, run_board};
pub use select::{NodesSpec, SelectError, select_boards};
pub use winter_river_node::DEFAULT_STATUS_INTERVAL_MS;

use std::collections::BTreeMap;
use std::future::Future;

use tokio::sync::watch;
use winter_river_mqtt::BrokerUrl;
use winter_river_protocol::NodeKind;

/// How the fleet runs.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub prefix: String,
    /// Boards to run: (node id, kind).
    pub boards: Vec<(String, NodeKind)>,
    /// Time between periodic statuses \[ms\].
    pub status_interval_ms: u64,
    /// Boards start spread over this window so they don't all connect at once \[ms\].
    pub start_spread_ms: u64,
    /// Per-board passwords (docs/security.md, "MQTT roles"): a board listed here logs
    /// in with its node id as user name and this password, instead of the URL's
    /// credentials.
    pub passwords: BoardPasswords,
}

/// Board id → password, from the auth file. `Debug` prints the ids only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BoardPasswords(BTreeMap<String, String>);

impl BoardPasswords {
    pub fn new() -> BoardPasswords {
        BoardPasswords::default()
    }

    /// Sets board `id`'s password.
    pub fn insert(&mut self, id: impl Into<String>, password: impl Into<String>) {
        self.0.insert(id.into(), password.into());
    }

    /// Board `id`'s password, if it has one.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.0.get(id).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `url` with board `id`'s credentials, when it has a password here.
    pub fn url_for(&self, id: &str, url: &BrokerUrl) -> BrokerUrl {
        let mut url = url.clone();
        if let Some(password) = self.get(id) {
            url.credentials = Some((id.to_owned(), password.to_owned()));
        }
        url
    }
}

impl std::fmt::Debug for BoardPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|id| (id, "***")))
            .finish()
    }
}

impl FleetConfig {
    /// A fleet whose boards start spread over 1 ms a board, at least 1 s and at most
    /// 5 s: thousands of boards connecting in the same millisecond overflow a broker's
    /// accept backlog (1,024 for the embedded broker, as for Mosquitto).
    pub fn new(
        prefix: impl Into<String>,
        boards: Vec<(String, NodeKind)>,
        status_interval_ms: u64,
    ) -> FleetConfig {
        FleetConfig {
            prefix: prefix.into(),
            start_spread_ms: (boards.len() as u64).clamp(1_000, 5_000),
            boards,
            status_interval_ms,
            passwords: BoardPasswords::default(),
        }
    }
}

/// Runs every board until `shutdown` completes; then each publishes `offline` and
/// disconnects cleanly.
pub async fn run(config: FleetConfig, url: &BrokerUrl, shutdown: impl Future<Output = ()>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let n = config.boards.len().max(1) as u64;
    let mut tasks = Vec::with_capacity(config.boards.len());
    for (k, (id, kind)) in config.boards.iter().enumerate() {
        // Deterministic spread: board k of n starts at k/n of the window.
        let delay_ms = config.start_spread_ms * k as u64 / n;
        tasks.push(tokio::spawn(run_board(
            BoardConfig {
                id: id.clone(),
                kind: *kind,
                prefix: config.prefix.clone(),
                status_interval_ms: config.status_interval_ms,
                start_delay_ms: delay_ms,
            },
            config.passwords.url_for(id, url),
            stop_rx.clone(),
        )));
    }
    shutdown.await;
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_board_with_a_password_logs_in_as_its_node_id() {
        let mut passwords = BoardPasswords::new();
        passwords.insert("ups_a", "ups-secret");
        let mut url = BrokerUrl::tcp("127.0.0.1", 1883);
        url.credentials = Some(("shared".into(), "shared-secret".into()));
        assert_eq!(
            passwords.url_for("ups_a", &url).credentials,
            Some(("ups_a".into(), "ups-secret".into()))
        );
        // A board without one keeps the URL's login.
        assert_eq!(
            passwords.url_for("pdu_a", &url).credentials,
            url.credentials
        );
        let shown = format!("{passwords:?}");
        assert!(
            shown.contains("ups_a") && !shown.contains("secret"),
            "{shown}"
        );
        let config = FleetConfig::new("winter-river", Vec::new(), 2_000);
        assert!(config.passwords.is_empty());
    }
}
