//! `winter-river up`: broker (unless `--broker` names an external one) + engine +
//! virtual fleet + web dashboard in one process, printing what runs where;
//! SIGINT/SIGTERM stop everything cleanly. With `--drill FILE` the engine has that
//! live drill loaded, ready for the instructor's `start` (docs/drills.md).

use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::watch;
use winter_river_engine::EngineCore;
use winter_river_fleet::{FleetConfig, NodesSpec, select_boards};
use winter_river_mqtt::BrokerUrl;

use crate::EXIT_OK;
use crate::live_args::{
    DrillArgs, TopologyArg, check_prefix, init_logging, parse_url, runtime, shutdown_signal,
    site_for,
};
use crate::pieces_cmd::{BrokerArgs, EngineTuning};

/// How long a clean shutdown may take before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// After a clean shutdown, how long the embedded broker is given to hand the last
/// retained `offline`s to subscribers: it ends with this process.
const BROKER_FLUSH: Duration = Duration::from_millis(300);

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// Use this broker (mqtt://host:port or ws://…, over TLS mqtts://host:port or
    /// wss://…) instead of the embedded one.
    #[arg(long, env = "WR_BROKER")]
    pub broker: Option<String>,
    /// With an mqtts:// or wss:// --broker: trust the certificates in this PEM
    /// file (the broker's CA, or the cert.pem of `winter-river cert`) instead of
    /// the system's CAs.
    #[arg(long, env = "WR_CA", value_name = "FILE", requires = "broker")]
    pub ca: Option<std::path::PathBuf>,
    /// The embedded broker's listeners and credentials (unused with --broker).
    #[command(flatten)]
    pub listen: BrokerArgs,
    /// Which nodes get a virtual board: all, none, or id,id,… (real boards take the rest).
    #[arg(long, default_value = "all")]
    pub nodes: String,
    /// Topic prefix.
    #[arg(long, default_value = winter_river_protocol::DEFAULT_PREFIX)]
    pub prefix: String,
    #[command(flatten)]
    pub tuning: EngineTuning,
    #[command(flatten)]
    pub drills: DrillArgs,
    /// The engine's state file: written about once a second, resumed from on start
    /// (the same sim time, faults, loads, fuel, drill); `none` = a fresh site every
    /// start.
    #[arg(long, value_name = "PATH|none", env = "WR_STATE", default_value = winter_river_engine::state_file::DEFAULT_STATE_PATH)]
    pub state: String,
    #[command(flatten)]
    pub web: crate::web_cmd::HttpArgs,
}

pub fn run(args: &UpArgs) -> Result<u8> {
    init_logging();
    check_prefix(&args.prefix)?;
    let drill = args.drills.drill()?;
    let topology = site_for(args.topology.topology.as_deref(), drill.as_ref())?;
    let drill_files = args.drills.files()?;
    let spec: NodesSpec = args.nodes.parse()?;
    let boards = select_boards(&topology, &spec)?;
    // Before anything opens a socket: a site too large for the open-file limit is
    // refused here, with the numbers, not by "Too many open files" mid-start.
    let limits = crate::fd_budget::raise_nofile();
    crate::fd_budget::check(
        crate::fd_budget::Need {
            boards: boards.len() as u64,
            embedded_broker: args.broker.is_none(),
        },
        limits,
    )?;
    let site = topology.site_name.clone();
    let node_count = topology.len();
    let virtual_ids: std::collections::HashSet<&str> =
        boards.iter().map(|(id, _)| id.as_str()).collect();
    let real: Vec<String> = topology
        .nodes
        .iter()
        .filter(|n| !virtual_ids.contains(n.id.as_str()))
        .map(|n| n.id.clone())
        .collect();
    let config = args.tuning.engine_config(&args.prefix)?;
    let mut core =
        EngineCore::new(topology, config.clone()).context("cannot encode the topology")?;
    // `"name" (file): loaded, 3 steps, 2 injects`; the command to start it follows
    // once the broker's address is known.
    let drill_line = match (drill, &args.drills.drill) {
        (Some(drill), Some(path)) => {
            let plural =
                |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
            let line = format!(
                "  drill      \"{}\" ({}): loaded, {}, {}",
                drill.name,
                path.display(),
                plural(drill.steps.len(), "step"),
                plural(drill.events.len(), "inject"),
            );
            core.load_drill(drill, &path.display().to_string())
                .map_err(|e| anyhow::anyhow!("--drill: {e}"))?;
            Some(line)
        }
        _ => None,
    };

    let state = crate::live_args::state_file(&args.state);
    let state_line = match &state {
        Some(file) => file.start_and_say(&mut core, &drill_files),
        None => "none (a fresh site every start)".to_string(),
    };

    let (web_listener, web_token) = args.web.listen()?;
    let mut web_config = args.web.web_config(&config.prefix, web_token)?;
    // The web serves the debrief the engine writes: the same folder.
    web_config.debrief_dir = Some(drill_files.debrief_dir.clone());
    let web_addr = web_listener.local_addr()?;
    let access = args.listen.access(&args.prefix)?;
    // With --auth each piece logs in as its own role (docs/security.md); found before
    // the broker opens a port, so a login the file lacks is refused first.
    let logins = match &args.listen.auth {
        Some(file) => Some(crate::auth_cmd::piece_logins(&access, file, &boards)?),
        None => None,
    };
    let mut lines = Vec::new();
    let url: BrokerUrl = match &args.broker {
        Some(text) => {
            let url = crate::live_args::parse_url_with_ca(text, args.ca.as_deref())?;
            lines.push(format!("  broker     {url}  (external)"));
            url
        }
        None => {
            let broker = winter_river_broker::start(
                args.listen
                    .broker_config(access.clone(), args.web.tls.server_config()?),
            )?;
            let mut url = parse_url(&broker.mqtt_url())?;
            url.credentials = args.listen.credentials();
            lines.push(format!(
                "  broker     mqtt://{}  (embedded; on this host: {})",
                broker.mqtt_addr(),
                broker.mqtt_url()
            ));
            if let (Some(ws), Some(local)) = (broker.ws_addr(), broker.ws_url()) {
                lines.push(format!(
                    "  websocket  ws://{ws}/mqtt  (on this host: {local})"
                ));
            }
            lines.extend(
                tls_listener_lines(&broker)
                    .into_iter()
                    .map(|l| format!("  {l}")),
            );
            // Dropping the handle leaves the broker running: it ends with the process.
            url
        }
    };
    if let Some(logins) = &logins {
        lines.push(format!("  auth       {}", logins.line));
    }
    println!("Winter River up: site `{site}`, {node_count} nodes");
    for l in lines {
        println!("{l}");
    }
    println!(
        "  engine     step {} ms, speed {}x, prefix `{}`",
        config.step_ms, config.speed, config.prefix
    );
    let ids: Vec<&str> = boards.iter().map(|(id, _)| id.as_str()).collect();
    println!("  boards     {} virtual: {}", boards.len(), summarize(&ids));
    if !real.is_empty() {
        let real: Vec<&str> = real.iter().map(String::as_str).collect();
        println!("             waiting for real boards: {}", summarize(&real));
    }
    for line in crate::web_cmd::dashboard_lines(web_addr, &web_config) {
        println!("{line}");
    }
    let library = drill_files
        .library
        .as_ref()
        .map_or_else(|| "none".to_string(), |d| d.display().to_string());
    println!(
        "  drills     library {library}, debriefs into {}",
        drill_files.debrief_dir.display()
    );
    println!("  state      {state_line}");
    // The form that works for how this was started (`cargo run --release --`, a
    // path, or `winter-river` on PATH); flags only where the clients' defaults differ.
    let mut client_flags = String::new();
    if logins.is_some() {
        // Placeholders, never a password: the user picks a login of the auth file.
        client_flags.push_str(&format!(
            " --broker mqtt://USER:PASSWORD@{}:{}",
            url.host, url.port
        ));
    } else if url.to_string() != crate::live_args::DEFAULT_BROKER {
        client_flags.push_str(&format!(" --broker {url}"));
    }
    if let Some(ca) = url.tls.as_ref().and_then(|t| t.ca()) {
        client_flags.push_str(&format!(" --ca {}", ca.display()));
    }
    if args.prefix != winter_river_protocol::DEFAULT_PREFIX {
        client_flags.push_str(&format!(" --prefix {}", args.prefix));
    }
    if let Some(line) = drill_line {
        println!(
            "{line}; start it with `{} drill start{client_flags}`",
            crate::invocation::self_command()
        );
    }
    let mut watch = format!("{} watch{client_flags}", crate::invocation::self_command());
    let dashboard = crate::web_cmd::base_url(web_addr, web_config.tls.is_some());
    if dashboard != crate::recent_events::DEFAULT_DASHBOARD {
        watch.push_str(&format!(" --dashboard {dashboard}"));
    }
    if let Some(cert) = &args.web.tls.tls_cert {
        // A self-signed certificate (`winter-river cert`) is its own CA.
        watch.push_str(&format!(" --dashboard-ca {}", cert.display()));
    }
    let cafile = match url.tls.as_ref() {
        Some(tls) => match tls.ca() {
            Some(ca) => format!(" --cafile {}", ca.display()),
            None => " --capath /etc/ssl/certs".to_string(),
        },
        None => String::new(),
    };
    let login = if logins.is_some() {
        " -u VIEWER -P PASSWORD"
    } else {
        ""
    };
    println!(
        "  watch      {watch}   or   mosquitto_sub -h {} -p {}{cafile}{login} -t '{}/#' -v",
        url.host, url.port, args.prefix
    );
    println!("Ctrl-C stops everything.");

    let mut fleet_config = FleetConfig::new(
        &args.prefix,
        boards,
        winter_river_fleet::DEFAULT_STATUS_INTERVAL_MS,
    );
    let (engine_url, web_url) = match logins {
        Some(logins) => {
            fleet_config.passwords = logins.boards;
            (
                crate::auth_cmd::with_login(&url, &logins.engine),
                crate::auth_cmd::with_login(&url, &logins.web),
            )
        }
        None => (url.clone(), url.clone()),
    };
    let embedded_broker = args.broker.is_none();
    runtime()?.block_on(async move {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let engine_stop = stopped(stop_rx.clone());
        let (telemetry_tx, telemetry_rx) = watch::channel(Default::default());
        let engine = tokio::spawn(async move {
            winter_river_engine::driver::run_with_state(
                core,
                &engine_url,
                engine_stop,
                Some(telemetry_tx),
                &drill_files,
                state.as_ref(),
            )
            .await
        });
        let web = crate::web_cmd::spawn(
            web_listener,
            web_url,
            web_config,
            Some(telemetry_rx),
            stopped(stop_rx.clone()),
        )?;
        let fleet_stop = stopped(stop_rx);
        let fleet =
            tokio::spawn(
                async move { winter_river_fleet::run(fleet_config, &url, fleet_stop).await },
            );
        shutdown_signal().await;
        println!("stopping…");
        let _ = stop_tx.send(true);
        let joined = tokio::time::timeout(SHUTDOWN_GRACE, async {
            let _ = engine.await;
            let _ = fleet.await;
            let _ = web.await;
        })
        .await;
        if joined.is_err() {
            eprintln!(
                "warning: shutdown took longer than {} s; exiting anyway",
                SHUTDOWN_GRACE.as_secs()
            );
        }
        if embedded_broker {
            tokio::time::sleep(BROKER_FLUSH).await;
        }
        anyhow::Ok(())
    })?;
    Ok(EXIT_OK)
}

/// `a, b, c` — or the first few and a count for large sites.
fn summarize(ids: &[&str]) -> String {
    const SHOWN: usize = 12;
    if ids.is_empty() {
        return "(none)".into();
    }
    if ids.len() <= SHOWN {
        ids.join(", ")
    } else {
        format!(
            "{}, … and {} more",
            ids[..SHOWN].join(", "),
            ids.len() - SHOWN
        )
    }
}

/// The banner lines of the embedded broker's TLS listeners, with the URLs a client on
/// this host uses (`--ca` with the certificate of --tls-cert).
pub fn tls_listener_lines(broker: &winter_river_broker::RunningBroker) -> Vec<String> {
    let local = |addr: std::net::SocketAddr| match addr.ip() {
        ip if ip.is_unspecified() => format!("127.0.0.1:{}", addr.port()),
        _ => addr.to_string(),
    };
    let mut lines = Vec::new();
    if let Some(addr) = broker.mqtts_addr() {
        lines.push(format!(
            "mqtts      mqtts://{addr}  (on this host: mqtts://{}, with --ca CERT)",
            local(addr)
        ));
    }
    if let Some(addr) = broker.wss_addr() {
        lines.push(format!(
            "wss        wss://{addr}/mqtt  (on this host: wss://{}/mqtt, with --ca CERT)",
            local(addr)
        ));
    }
    lines
}
