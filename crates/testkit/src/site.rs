//! A whole live site inside one test process (feature `site`): the embedded broker
//! (one per test binary), and per site an engine and a virtual board for every node
//! under a topic prefix of its own, all on 127.0.0.1. For end-to-end tests of a
//! client that must not depend on the engine or the simulator itself — the web
//! dashboard (docs/architecture.md): it gets a broker URL and a prefix and talks
//! MQTT, as it does in production. A site may run a live drill as `up --drill`
//! does ([`SiteTopology::Drill`]).
//!
//! One site at a time per test binary: [`LiveSite::start`] waits for the one before
//! to end. (The engine's and the boards' MQTT client ids are made from the prefix,
//! `winter-river-engine@<prefix>`, and each site has a prefix of its own; two
//! clients with one id would take turns kicking each other off the broker.)

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::{OwnedMutexGuard, watch};
use winter_river_broker::{BrokerConfig, RunningBroker};
use winter_river_engine::driver::DrillFiles;
use winter_river_engine::{EngineConfig, EngineCore};
use winter_river_fleet::{FleetConfig, NodesSpec, select_boards};
use winter_river_mqtt::BrokerUrl;
use winter_river_sim::Topology;

use crate::TestkitError;

pub use winter_river_sim::topology::generate::synthetic_site_toml;
use winter_river_telemetry::Telemetry;

/// How often each virtual board sends its status \[ms\] (the boards' default).
const STATUS_INTERVAL_MS: u64 = 2_000;
/// Boards start spread over this window \[ms\].
const START_SPREAD_MS: u64 = 200;

/// What runs besides the broker.
#[derive(Debug, Clone)]
pub enum SiteTopology<'a> {
    /// The built-in default topology (the seed's chain of eight nodes).
    Default,
    /// A topology file's text; `name` is how errors refer to it.
    Toml { text: &'a str, name: &'a str },
    /// No engine and no boards: the test publishes what they would.
    BrokerOnly,
    /// A live drill, as `up --drill FILE --drills LIBRARY --debrief-dir DIR` runs
    /// it: the drill's own topology, the drill loaded (not started), the engine
    /// reading the library and writing debriefs into `debrief_dir`.
    Drill {
        file: &'a Path,
        library: Option<PathBuf>,
        debrief_dir: PathBuf,
    },
}

/// The broker, engine and boards of one test; everything stops when dropped.
#[derive(Debug)]
pub struct LiveSite {
    /// The embedded broker (`mqtt://127.0.0.1:PORT`).
    pub url: BrokerUrl,
    /// This site's topic prefix, unique in the test binary.
    pub prefix: String,
    /// Number of nodes with a virtual board (0 without an engine).
    pub nodes: usize,
    telemetry: Option<watch::Receiver<Telemetry>>,
    stop: watch::Sender<bool>,
    _one_at_a_time: OwnedMutexGuard<()>,
}

fn broker() -> Result<&'static RunningBroker, TestkitError> {
    static BROKER: OnceLock<Result<RunningBroker, String>> = OnceLock::new();
    BROKER
        .get_or_init(|| {
            winter_river_broker::start(BrokerConfig {
                ws_addr: None,
                ..BrokerConfig::loopback()
            })
            .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| TestkitError::Site {
            what: format!("the embedded broker did not start on loopback: {e}"),
        })
}

/// A unique topic prefix per site, so sites share the broker without meeting.
fn unique_prefix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "wr-site-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn site_lock() -> Arc<tokio::sync::Mutex<()>> {
    static LOCK: OnceLock<Arc<tokio::sync::Mutex<()>>> = OnceLock::new();
    LOCK.get_or_init(Arc::default).clone()
}

impl LiveSite {
    /// Starts the site on the current tokio runtime, in real time.
    pub async fn start(topology: SiteTopology<'_>) -> Result<LiveSite, TestkitError> {
        LiveSite::start_at_speed(topology, 1.0).await
    }

    /// [`LiveSite::start`] with the engine's clock at `speed` × real time (as `up
    /// --speed`): a test of minutes of simulated heat-up in seconds.
    pub async fn start_at_speed(
        topology: SiteTopology<'_>,
        speed: f64,
    ) -> Result<LiveSite, TestkitError> {
        let one_at_a_time = site_lock().lock_owned().await;
        let url: BrokerUrl = broker()?
            .mqtt_url()
            .parse()
            .map_err(|e| TestkitError::Site {
                what: format!("the embedded broker's URL: {e}"),
            })?;
        let prefix = unique_prefix();
        let (stop, _) = watch::channel(false);
        let mut drill = None;
        let topology = match topology {
            SiteTopology::Default => Some(Topology::builtin_default()),
            SiteTopology::Toml { text, name } => Some(
                Topology::from_toml_str(text, name).map_err(|e| TestkitError::Site {
                    what: format!("topology {name}: {e}"),
                })?,
            ),
            SiteTopology::BrokerOnly => None,
            SiteTopology::Drill {
                file,
                library,
                debrief_dir,
            } => {
                let scenario = winter_river_engine::drills::read_drill(file)
                    .map_err(|what| TestkitError::Site { what })?;
                let topology = scenario.topology.clone();
                let files = DrillFiles {
                    library,
                    debrief_dir,
                };
                drill = Some((scenario, file.display().to_string(), files));
                Some(topology)
            }
        };
        let mut site = LiveSite {
            url,
            prefix,
            nodes: 0,
            telemetry: None,
            stop,
            _one_at_a_time: one_at_a_time,
        };
        if let Some(topology) = topology {
            site.run_engine_and_boards(topology, drill, speed)?;
        }
        Ok(site)
    }

    fn run_engine_and_boards(
        &mut self,
        topology: Topology,
        drill: Option<(winter_river_sim::Scenario, String, DrillFiles)>,
        speed: f64,
    ) -> Result<(), TestkitError> {
        let boards = select_boards(&topology, &NodesSpec::All).map_err(|e| TestkitError::Site {
            what: format!("boards: {e}"),
        })?;
        self.nodes = boards.len();
        let config = EngineConfig {
            prefix: self.prefix.clone(),
            speed,
            ..EngineConfig::default()
        };
        let mut core = EngineCore::new(topology, config).map_err(|e| TestkitError::Site {
            what: format!("engine: {e}"),
        })?;
        let files = match drill {
            Some((scenario, file, files)) => {
                core.load_drill(scenario, &file)
                    .map_err(|e| TestkitError::Site {
                        what: format!("drill {file}: {e}"),
                    })?;
                files
            }
            None => DrillFiles::default(),
        };
        let (telemetry_tx, telemetry_rx) = watch::channel(Telemetry::default());
        self.telemetry = Some(telemetry_rx);
        let (url, stop) = (self.url.clone(), self.stopped());
        tokio::spawn(async move {
            winter_river_engine::driver::run_with(core, &url, stop, Some(telemetry_tx), &files)
                .await
        });
        let fleet = FleetConfig {
            prefix: self.prefix.clone(),
            boards,
            status_interval_ms: STATUS_INTERVAL_MS,
            start_spread_ms: START_SPREAD_MS,
            passwords: Default::default(),
        };
        let (url, stop) = (self.url.clone(), self.stopped());
        tokio::spawn(async move { winter_river_fleet::run(fleet, &url, stop).await });
        Ok(())
    }

    /// The engine's telemetry (message counters, tick histogram), as a `/metrics`
    /// in the same process reads it; `None` without an engine.
    pub fn telemetry(&self) -> Option<watch::Receiver<Telemetry>> {
        self.telemetry.clone()
    }

    /// Completes when the site stops: for what a test runs beside it.
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }
}

impl Drop for LiveSite {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
