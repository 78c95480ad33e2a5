//! Each piece of the live system alone: `broker`, `engine`, `nodes` — how a real Pi
//! with Mosquitto, or a site that has outgrown one machine, runs Winter River.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, Result};
use winter_river_broker::{Access, BrokerConfig};
use winter_river_engine::{EngineConfig, EngineCore};
use winter_river_fleet::{FleetConfig, NodesSpec, select_boards};

use crate::EXIT_OK;
use crate::live_args::{
    ClientArgs, DrillArgs, TopologyArg, init_logging, load_topology, runtime, shutdown_signal,
    site_for, state_file,
};

/// Simulation speed and step, shared by `up` and `engine`.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineTuning {
    /// Simulated seconds per wall second (1 = real time; > 0, at most 1000000).
    #[arg(long, default_value_t = 1.0, value_parser = crate::numbers::speed, allow_negative_numbers = true)]
    pub speed: f64,
    /// Simulation step [ms] (at least 1).
    #[arg(
        long,
        default_value_t = 100,
        value_parser = crate::numbers::whole::<u32, 1, { u32::MAX as u64 }>,
        allow_negative_numbers = true
    )]
    pub step_ms: u32,
}

impl EngineTuning {
    pub fn engine_config(&self, prefix: &str) -> Result<EngineConfig> {
        if !(self.speed.is_finite() && self.speed > 0.0) {
            anyhow::bail!("--speed {}: must be a number > 0", self.speed);
        }
        if self.step_ms == 0 {
            anyhow::bail!("--step-ms 0: must be at least 1");
        }
        Ok(EngineConfig {
            prefix: prefix.to_string(),
            step_ms: self.step_ms,
            speed: self.speed,
            ..EngineConfig::default()
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct BrokerArgs {
    /// Embedded broker: address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: IpAddr,
    /// Embedded broker: MQTT/TCP port.
    #[arg(long, default_value_t = 1883, value_parser = crate::numbers::whole::<u16, 0, 65535>, allow_negative_numbers = true)]
    pub mqtt_port: u16,
    /// Embedded broker: MQTT over TLS (mqtts) port, opened with --tls-cert/--tls-key
    /// (0 = none).
    #[arg(long, default_value_t = 8883, value_parser = crate::numbers::whole::<u16, 0, 65535>, allow_negative_numbers = true)]
    pub mqtts_port: u16,
    /// Embedded broker: MQTT over secure WebSocket (wss) port, opened with
    /// --tls-cert/--tls-key (0 = none).
    #[arg(long, default_value_t = 8884, value_parser = crate::numbers::whole::<u16, 0, 65535>, allow_negative_numbers = true)]
    pub wss_port: u16,
    /// Embedded broker: MQTT/WebSocket port (0 = none).
    #[arg(long, default_value_t = 9001, value_parser = crate::numbers::whole::<u16, 0, 65535>, allow_negative_numbers = true)]
    pub ws_port: u16,
    /// Embedded broker: require this username (with --password).
    #[arg(long, env = "WR_USERNAME", requires = "password")]
    pub username: Option<String>,
    /// Embedded broker: the password for --username.
    #[arg(
        long,
        env = "WR_PASSWORD",
        requires = "username",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Embedded broker: a browser origin (`http://host:port`, as the browser sends it)
    /// whose pages may open the WebSocket listener (repeatable). Pages from any other
    /// origin are refused; clients that are not browsers send no origin and are accepted.
    #[arg(long = "ws-allowed-origin", value_name = "ORIGIN")]
    pub ws_allowed_origins: Vec<String>,
    /// Embedded broker: most connections from one address other than loopback.
    #[arg(long, default_value_t = 64, value_parser = crate::numbers::whole::<usize, 1, 100000>)]
    pub max_connections_per_address: usize,
    /// MQTT users, boards and their roles (docs/security.md, "The auth file"): the
    /// embedded broker lets each client do only what its role may; `up`'s engine,
    /// dashboard and virtual boards log in with it (with --broker too).
    #[arg(
        long,
        value_name = "FILE",
        env = "WR_AUTH",
        conflicts_with = "username"
    )]
    pub auth: Option<PathBuf>,
}

impl BrokerArgs {
    pub fn credentials(&self) -> Option<(String, String)> {
        self.username.clone().zip(self.password.clone())
    }

    /// Who may do what: the roles of `--auth FILE`, the one admin of
    /// `--username/--password`, or anonymous admins.
    pub fn access(&self, prefix: &str) -> Result<Access> {
        match (&self.auth, self.credentials()) {
            (Some(file), _) => crate::auth_cmd::load(file, prefix),
            (None, Some((user, pass))) => Ok(Access::single_user(&user, &pass)),
            (None, None) => Ok(Access::anonymous()),
        }
    }

    /// The embedded broker's config, enforcing `access`; with `tls` (the certificate of
    /// --tls-cert/--tls-key) it opens the mqtts and wss listeners too.
    pub fn broker_config(
        &self,
        access: Access,
        tls: Option<std::sync::Arc<winter_river_tls::rustls::ServerConfig>>,
    ) -> BrokerConfig {
        let port = |p: u16| (p != 0).then(|| SocketAddr::new(self.bind, p));
        BrokerConfig {
            mqtt_addr: SocketAddr::new(self.bind, self.mqtt_port),
            ws_addr: port(self.ws_port),
            tls: tls.map(|server| winter_river_broker::TlsListeners {
                server,
                mqtts_addr: port(self.mqtts_port),
                wss_addr: port(self.wss_port),
            }),
            credentials: self.credentials(),
            ws_allowed_origins: self.ws_allowed_origins.clone(),
            max_connections_per_address: self.max_connections_per_address,
            access,
            ..BrokerConfig::default()
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct BrokerCmdArgs {
    #[command(flatten)]
    pub listen: BrokerArgs,
    /// Topic prefix the roles of --auth are written for.
    #[arg(long, default_value = winter_river_protocol::DEFAULT_PREFIX)]
    pub prefix: String,
    /// Keep retained messages and persistent sessions (with the commands queued for
    /// them) in this file across restarts: written at most once a second and on
    /// Ctrl-C/SIGTERM (docs/broker.md). Without it they live in memory only.
    #[arg(long, value_name = "PATH")]
    pub state: Option<std::path::PathBuf>,
    /// The certificate for the mqtts and wss listeners.
    #[command(flatten)]
    pub tls: crate::tls_args::TlsFiles,
}

/// `winter-river broker`: the embedded broker alone, until Ctrl-C or SIGTERM (which
/// close every connection and write the state file).
pub fn broker(args: &BrokerCmdArgs) -> Result<u8> {
    init_logging();
    crate::live_args::check_prefix(&args.prefix)?;
    let access = args.listen.access(&args.prefix)?;
    let auth_line = args
        .listen
        .auth
        .as_ref()
        .map(|file| format!("auth       {} (roles and ACLs)", file.display()));
    let config = winter_river_broker::BrokerConfig {
        state_file: args.state.clone(),
        ..args.listen.broker_config(access, args.tls.server_config()?)
    };
    let broker = winter_river_broker::start(config)?;
    println!(
        "broker     mqtt://{}  (on this host: {})",
        broker.mqtt_addr(),
        broker.mqtt_url()
    );
    if let Some(ws) = broker.ws_url() {
        println!("websocket  {ws}");
    }
    for line in crate::up_cmd::tls_listener_lines(&broker) {
        println!("{line}");
    }
    if let Some(line) = auth_line {
        println!("{line}");
    }
    if let Some(state) = &args.state {
        println!("state      {}", state.display());
    }
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    signals.block_on(crate::live_args::shutdown_signal());
    broker.shutdown();
    Ok(0)
}

#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub tuning: EngineTuning,
    #[command(flatten)]
    pub drills: DrillArgs,
    /// The state file: written about once a second, resumed from on start (the
    /// same sim time, faults, loads, fuel, drill); `none` = no state file.
    #[arg(long, value_name = "PATH|none", env = "WR_STATE", default_value = winter_river_engine::state_file::STATE_OFF)]
    pub state: String,
    /// Log in as the first `engine` user of this auth file (docs/security.md, "The
    /// auth file") instead of the URL's credentials.
    #[arg(long, value_name = "FILE", env = "WR_AUTH")]
    pub auth: Option<PathBuf>,
}

/// `winter-river engine`: the simulation engine against a broker.
pub fn engine(args: &EngineArgs) -> Result<u8> {
    init_logging();
    args.client.check_prefix()?;
    let mut url = args.client.url()?;
    if let Some(file) = &args.auth {
        let access = crate::auth_cmd::load(file, &args.client.prefix)?;
        url = crate::auth_cmd::engine_login(&access, file, &url)?;
    }
    let drill = args.drills.drill()?;
    let topology = site_for(args.topology.topology.as_deref(), drill.as_ref())?;
    let files = args.drills.files()?;
    let config = args.tuning.engine_config(&args.client.prefix)?;
    println!(
        "engine     {} nodes, step {} ms, speed {}x, broker {url}",
        topology.len(),
        config.step_ms,
        config.speed
    );
    let mut core = EngineCore::new(topology, config).context("cannot encode the topology")?;
    if let (Some(drill), Some(path)) = (drill, &args.drills.drill) {
        println!("drill      \"{}\" ({}): loaded", drill.name, path.display());
        core.load_drill(drill, &path.display().to_string())
            .map_err(|e| anyhow::anyhow!("--drill: {e}"))?;
    }
    let state = state_file(&args.state);
    match &state {
        Some(file) => println!("state      {}", file.start_and_say(&mut core, &files)),
        None => println!("state      none (--state PATH keeps the state across restarts)"),
    }
    runtime()?.block_on(winter_river_engine::driver::run_with_state(
        core,
        &url,
        shutdown_signal(),
        None,
        &files,
        state.as_ref(),
    ));
    Ok(EXIT_OK)
}

#[derive(Debug, clap::Args)]
pub struct NodesArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub topology: TopologyArg,
    /// Which nodes get a virtual board: all, none, or id,id,…
    #[arg(long, default_value = "all")]
    pub nodes: String,
    /// Time between periodic statuses [s].
    #[arg(long, default_value_t = 2.0, value_parser = crate::numbers::seconds, allow_negative_numbers = true)]
    pub status_interval_s: f64,
    /// Each board logs in with its node id and its password from this auth file
    /// (docs/security.md, "The auth file").
    #[arg(long, value_name = "FILE", env = "WR_AUTH")]
    pub auth: Option<PathBuf>,
}

/// `winter-river nodes`: the virtual boards alone.
pub fn nodes(args: &NodesArgs) -> Result<u8> {
    init_logging();
    args.client.check_prefix()?;
    let url = args.client.url()?;
    let topology = load_topology(args.topology.topology.as_deref())?;
    let spec: NodesSpec = args.nodes.parse()?;
    let boards = select_boards(&topology, &spec)?;
    if !(args.status_interval_s.is_finite() && args.status_interval_s >= 0.01) {
        anyhow::bail!(
            "--status-interval-s {}: must be at least 0.01",
            args.status_interval_s
        );
    }
    println!("boards     {} virtual, broker {url}", boards.len());
    let interval_ms = (args.status_interval_s * 1000.0).round() as u64;
    let mut config = FleetConfig::new(&args.client.prefix, boards, interval_ms);
    if let Some(file) = &args.auth {
        let access = crate::auth_cmd::load(file, &args.client.prefix)?;
        config.passwords = crate::auth_cmd::board_passwords(&access, file, &config.boards)?;
        println!(
            "auth       {}: each board logs in with its node id",
            file.display()
        );
    }
    runtime()?.block_on(winter_river_fleet::run(config, &url, shutdown_signal()));
    Ok(EXIT_OK)
}
