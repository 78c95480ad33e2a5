//! `winter-river web`: the dashboard, HTTP API and /metrics alone, against any
//! broker; and the `--http` / `--token` flags that `up` shares.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use winter_river_engine::driver::Telemetry;
use winter_river_mqtt::BrokerUrl;
use winter_river_web::WebConfig;

use crate::EXIT_OK;
use crate::live_args::{ClientArgs, init_logging, runtime, shutdown_signal};

/// Where the dashboard listens and who may control.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// Dashboard, HTTP API and /metrics: address to listen on.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub http: SocketAddr,
    /// Operator token for control from the dashboard and the API (default: a random
    /// one, printed in the dashboard URL).
    #[arg(long, env = "WR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl HttpArgs {
    /// Binds the listener (so a taken port is reported before anything starts) and
    /// settles the token.
    pub fn listen(&self) -> Result<(std::net::TcpListener, String)> {
        let token = match &self.token {
            Some(t) => {
                if t.is_empty()
                    || !t
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'&' && b != b'#')
                {
                    anyhow::bail!(
                        "--token / WR_TOKEN: use printable ASCII without spaces, `&` or `#` (it goes in a URL and a header)"
                    );
                }
                t.clone()
            }
            None => winter_river_web::random_token(),
        };
        let listener = std::net::TcpListener::bind(self.http).with_context(|| {
            format!(
                "cannot listen for the dashboard on {} (port taken? choose another with --http)",
                self.http
            )
        })?;
        listener
            .set_nonblocking(true)
            .context("cannot configure the dashboard listener")?;
        Ok((listener, token))
    }
}

/// `http://host:port` of a dashboard listening on `addr` (loopback for a wildcard).
pub fn base_url(addr: SocketAddr) -> String {
    winter_river_web::dashboard_url(addr, "")
        .trim_end_matches("/?token=")
        .to_string()
}

/// Starts the web piece on the current runtime.
pub fn spawn(
    listener: std::net::TcpListener,
    url: BrokerUrl,
    prefix: &str,
    token: String,
    telemetry: Option<watch::Receiver<Telemetry>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<JoinHandle<()>> {
    let listener =
        tokio::net::TcpListener::from_std(listener).context("cannot use the dashboard listener")?;
    let config = WebConfig::new(prefix, token);
    Ok(tokio::spawn(async move {
        if let Err(e) = winter_river_web::serve(listener, url, config, telemetry, shutdown).await {
            tracing::error!("the dashboard stopped: {e}");
        }
    }))
}

#[derive(Debug, clap::Args)]
pub struct WebArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub http: HttpArgs,
}

/// `winter-river web`: serves until Ctrl-C.
pub fn run(args: &WebArgs) -> Result<u8> {
    init_logging();
    args.client.check_prefix()?;
    let url = args.client.url()?;
    let (listener, token) = args.http.listen()?;
    let addr = listener.local_addr().context("dashboard listener")?;
    println!("web        broker {url}, prefix `{}`", args.client.prefix);
    println!(
        "  dashboard  {}",
        winter_river_web::dashboard_url(addr, &token)
    );
    println!("  metrics    {}/metrics", base_url(addr));
    runtime()?.block_on(async move {
        let handle = spawn(
            listener,
            url,
            &args.client.prefix,
            token,
            None,
            shutdown_signal(),
        )?;
        let _ = handle.await;
        anyhow::Ok(())
    })?;
    Ok(EXIT_OK)
}
