//! Flags shared by the commands that talk to a broker, and their helpers:
//! broker URL (`--broker`, env `WR_BROKER`), topic prefix, topology, live drills,
//! logging and the shutdown signal.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use winter_river_engine::drills::{DEFAULT_DEBRIEF_DIR, DrillFiles, read_drill};
use winter_river_mqtt::{BrokerUrl, Link, LinkEvent, LinkOptions};
use winter_river_sim::{Scenario, Topology};

/// `--state PATH|none`: the engine's state file (docs/live.md, "The state file").
/// Written about once a second; a restarted engine resumes from it. `none` turns
/// it off. Env `WR_STATE` (the tests set `none`).
pub fn state_file(arg: &str) -> Option<winter_river_engine::state_file::StateFile> {
    winter_river_engine::state_file::StateFile::from_arg(arg)
}

/// The broker the client commands use when given none (`up`'s embedded one).
pub const DEFAULT_BROKER: &str = "mqtt://127.0.0.1:1883";

/// Where the broker is and which topics are ours.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// Broker URL: mqtt://host:port or ws://host:port/path, over TLS
    /// mqtts://host:port (8883) or wss://host:port/path (user:pass@ allowed).
    #[arg(long, env = "WR_BROKER", default_value = DEFAULT_BROKER)]
    pub broker: String,
    /// With mqtts:// or wss://: trust the certificates in this PEM file (the
    /// broker's CA, or the cert.pem of `winter-river cert`) instead of the
    /// system's CAs.
    #[arg(long, env = "WR_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Topic prefix.
    #[arg(long, default_value = winter_river_protocol::DEFAULT_PREFIX)]
    pub prefix: String,
}

impl ClientArgs {
    pub fn url(&self) -> Result<BrokerUrl> {
        parse_url_with_ca(&self.broker, self.ca.as_deref())
    }

    pub fn check_prefix(&self) -> Result<()> {
        check_prefix(&self.prefix)
    }
}

/// Refuses a `--prefix` that is not a valid topic prefix, naming it.
pub fn check_prefix(prefix: &str) -> Result<()> {
    winter_river_protocol::validate_prefix(prefix)
        .map_err(|e| anyhow::anyhow!("--prefix `{prefix}`: {e}"))
}

pub fn parse_url(text: &str) -> Result<BrokerUrl> {
    parse_url_with_ca(text, None)
}

/// `--broker` with `--ca` (for mqtts:// and wss://; refused with a plain URL).
pub fn parse_url_with_ca(text: &str, ca: Option<&Path>) -> Result<BrokerUrl> {
    BrokerUrl::parse_with_ca(text, ca).map_err(|e| anyhow::anyhow!("--broker: {e}"))
}

/// A topology file, or the built-in default.
pub fn load_topology(path: Option<&Path>) -> Result<Topology> {
    match path {
        None => Ok(Topology::builtin_default()),
        Some(p) => {
            let text = crate::validate::read(p)?;
            Ok(Topology::from_toml_str(&text, &p.display().to_string())?)
        }
    }
}

/// `--topology FILE` (built-in default when omitted).
#[derive(Debug, Clone, clap::Args)]
pub struct TopologyArg {
    /// Topology file; the built-in default (the seed's eight nodes) when omitted.
    #[arg(long)]
    pub topology: Option<PathBuf>,
}

/// The library a live engine loads drills from when `--drills` is not given.
pub const DEFAULT_DRILLS_DIR: &str = "drills";

/// Live drills (docs/drills.md): one loaded at start, the library the instructor
/// loads from, and where debriefs go.
#[derive(Debug, Clone, clap::Args)]
pub struct DrillArgs {
    /// A drill (a scenario file) loaded at start; the instructor starts it. Without
    /// --topology the site is the drill's topology with its overrides.
    #[arg(long, value_name = "FILE")]
    pub drill: Option<PathBuf>,
    /// The drill library the instructor can load from by file name (default:
    /// `drills/` when it exists).
    #[arg(long, value_name = "DIR")]
    pub drills: Option<PathBuf>,
    /// Where each finished drill's debrief is written (JSON and HTML, plus
    /// latest.json and latest.html).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DEBRIEF_DIR)]
    pub debrief_dir: PathBuf,
}

impl DrillArgs {
    /// The drill of `--drill`, read with its topology.
    pub fn drill(&self) -> Result<Option<Scenario>> {
        let Some(path) = &self.drill else {
            return Ok(None);
        };
        let scenario = read_drill(path).map_err(|e| anyhow::anyhow!("--drill: {e}"))?;
        Ok(Some(scenario))
    }

    /// The library and the debrief folder; a `--drills` folder that does not exist
    /// is refused, naming it.
    pub fn files(&self) -> Result<DrillFiles> {
        let library = match &self.drills {
            Some(dir) => {
                if !dir.is_dir() {
                    anyhow::bail!(
                        "--drills {}: not a folder (the drill library is a folder of drill files)",
                        dir.display()
                    );
                }
                Some(dir.clone())
            }
            None => {
                let default = PathBuf::from(DEFAULT_DRILLS_DIR);
                default.is_dir().then_some(default)
            }
        };
        Ok(DrillFiles {
            library,
            debrief_dir: self.debrief_dir.clone(),
        })
    }
}

/// The site to run: `--topology`, else the drill's own (with its overrides), else
/// the built-in default. A drill whose site differs from `--topology`'s is refused.
pub fn site_for(topology: Option<&Path>, drill: Option<&Scenario>) -> Result<Topology> {
    let Some(drill) = drill else {
        return load_topology(topology);
    };
    let Some(path) = topology else {
        return Ok(drill.topology.clone());
    };
    let site = load_topology(Some(path))?;
    if let Some(mismatch) = winter_river_engine::drill::site_mismatch(&site, &drill.topology) {
        anyhow::bail!(
            "--drill {}: its site is not the one of --topology {} ({mismatch}); leave --topology out to run the drill's own",
            drill.file,
            path.display()
        );
    }
    Ok(site)
}

/// Logs to stderr; `RUST_LOG` overrides (rumqttc's own chatter is kept to warnings).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rumqttc=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A multi-threaded tokio runtime.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Connects and waits for the ConnAck, failing with the broker named.
pub async fn connect(url: &BrokerUrl, client_id: String, timeout: Duration) -> Result<Link> {
    let mut options = LinkOptions::new(client_id);
    options.backoff_bounds(100, winter_river_mqtt::LOCAL_BACKOFF_CAP_MS);
    let mut link = Link::connect(url, &options);
    let mut last_error = String::from("no answer");
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        tokio::select! {
            ev = link.recv() => match ev {
                Some(LinkEvent::Connected) => return Ok(link),
                Some(LinkEvent::Disconnected { reason }) => last_error = reason,
                Some(LinkEvent::Message { .. }) => {}
                None => break,
            },
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    let me = crate::invocation::self_command();
    anyhow::bail!(
        "cannot reach the MQTT broker at {url}: {last_error} (is it running? start one with `{me} up` or `{me} broker`, or pass --broker)"
    )
}
