//! `winter-river web`: the dashboard, HTTP API and /metrics alone, against any
//! broker; and the `--http` / `--token` / `--instructor-token` flags, the web's
//! configuration and the dashboard lines that `up` shares.

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
    /// Instructor token: when given, fault injection and drill control from the
    /// dashboard and the API need it (operators keep switching, loads and resets),
    /// and it may do everything the operator token does. Without it the operator
    /// token does both.
    #[arg(long, env = "WR_INSTRUCTOR_TOKEN", hide_env_values = true)]
    pub instructor_token: Option<String>,
    /// Viewer token: when given, every read (the page, the API, the live stream,
    /// /metrics) needs it or the operator's or instructor's token; without it,
    /// reads are open to anyone who can reach the dashboard (docs/security.md).
    #[arg(long, env = "WR_VIEWER_TOKEN", hide_env_values = true)]
    pub viewer_token: Option<String>,
    /// With --viewer-token: leave /metrics open (a Prometheus without credentials);
    /// otherwise it needs a token too (`authorization` in the scrape config).
    #[arg(long, env = "WR_METRICS_OPEN")]
    pub metrics_open: bool,
    /// A host name the dashboard answers to (repeatable): `NAME` with the listening
    /// port (the Pi's hostname, `raspberrypi.local`) or `NAME:PORT` (a reverse
    /// proxy's). Its listening address, localhost, 127.0.0.1 and [::1] always are;
    /// another Host is refused (DNS rebinding).
    #[arg(long = "allowed-host", value_name = "NAME[:PORT]")]
    pub allowed_hosts: Vec<String>,
    /// The dashboard over HTTPS: `--tls-cert FILE --tls-key FILE`.
    #[command(flatten)]
    pub tls: crate::tls_args::TlsFiles,
}

/// A token goes in a URL and a header: printable ASCII without spaces, `&` or `#`.
fn check_token(flags: &str, t: &str) -> Result<()> {
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'&' && b != b'#')
    {
        anyhow::bail!(
            "{flags}: use printable ASCII without spaces, `&` or `#` (it goes in a URL and a header)"
        );
    }
    Ok(())
}

impl HttpArgs {
    /// Binds the listener (so a taken port is reported before anything starts) and
    /// settles the operator token; the instructor's is checked too, so a bad one
    /// stops the start here.
    pub fn listen(&self) -> Result<(std::net::TcpListener, String)> {
        let token = match &self.token {
            Some(t) => {
                check_token("--token / WR_TOKEN", t)?;
                t.clone()
            }
            None => winter_river_web::random_token(),
        };
        self.instructor_token(&token)?;
        self.viewer_token(&token)?;
        self.allowed_hosts()?;
        self.tls.server_config()?;
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

impl HttpArgs {
    /// The instructor token, checked as `--token` is and told apart from the
    /// operator token `operator` (one token for two roles would be no split).
    pub fn instructor_token(&self, operator: &str) -> Result<Option<String>> {
        let Some(t) = &self.instructor_token else {
            return Ok(None);
        };
        check_token("--instructor-token / WR_INSTRUCTOR_TOKEN", t)?;
        if t == operator {
            anyhow::bail!(
                "--instructor-token is the operator token: give the instructor a token of their own (or leave it out, and the operator token does both)"
            );
        }
        Ok(Some(t.clone()))
    }

    /// The viewer token, checked as `--token` is and told apart from the other
    /// roles' (a viewer token that controls would be no viewer's).
    pub fn viewer_token(&self, operator: &str) -> Result<Option<String>> {
        let Some(t) = &self.viewer_token else {
            return Ok(None);
        };
        check_token("--viewer-token / WR_VIEWER_TOKEN", t)?;
        if t == operator || self.instructor_token.as_deref() == Some(t.as_str()) {
            anyhow::bail!(
                "--viewer-token is the operator's or the instructor's token: viewers need a token of their own, which reads only"
            );
        }
        Ok(Some(t.clone()))
    }

    /// `--allowed-host` names: a host name or address, optionally `:PORT`, without
    /// a scheme or a path.
    fn allowed_hosts(&self) -> Result<Vec<String>> {
        for h in &self.allowed_hosts {
            let ok = !h.is_empty()
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
                });
            if !ok {
                anyhow::bail!(
                    "--allowed-host `{h}`: give a host name as a browser puts it in the address bar (`raspberrypi.local`, `wr.example.org:443`), without http:// or a path"
                );
            }
        }
        Ok(self.allowed_hosts.clone())
    }

    /// The web's configuration: prefix, operator token `token` (from
    /// [`HttpArgs::listen`]), the instructor's and viewers', the Host names, HTTPS;
    /// no debrief directory (`up` sets the engine's).
    pub fn web_config(&self, prefix: &str, token: String) -> Result<WebConfig> {
        let instructor_token = self.instructor_token(&token)?;
        let viewer_token = self.viewer_token(&token)?;
        Ok(WebConfig {
            instructor_token,
            viewer_token,
            metrics_open: self.metrics_open,
            allowed_hosts: self.allowed_hosts()?,
            tls: self.tls.server_config()?,
            ..WebConfig::new(prefix, token)
        })
    }
}

/// The lines that say where the dashboard is, one URL per role: the operators'
/// (with their token) and, when there are, the instructor's and the viewers'; and
/// where `/metrics` is, with what it needs.
pub fn dashboard_lines(addr: SocketAddr, config: &WebConfig) -> Vec<String> {
    let tls = config.tls.is_some();
    let url = |token: &str| winter_river_web::dashboard_url(addr, token, tls);
    let mut lines = match &config.instructor_token {
        None => vec![format!("  dashboard  {}", url(&config.token))],
        Some(instructor) => vec![
            format!("  dashboard  {}   (operators)", url(&config.token)),
            format!(
                "  instructor {}   (fault injection, drill control)",
                url(instructor)
            ),
        ],
    };
    if let Some(viewer) = &config.viewer_token {
        lines.push(format!("  viewers    {}   (read only)", url(viewer)));
    }
    let metrics = format!("  metrics    {}/metrics", base_url(addr, tls));
    lines.push(if config.viewer_token.is_some() && !config.metrics_open {
        format!("{metrics}   (needs a token: Authorization: Bearer TOKEN)")
    } else {
        metrics
    });
    lines
}

/// `http://host:port` (`https://` when `tls`) of a dashboard listening on `addr`
/// (loopback for a wildcard).
pub fn base_url(addr: SocketAddr, tls: bool) -> String {
    winter_river_web::dashboard_url(addr, "", tls)
        .trim_end_matches("/?token=")
        .to_string()
}

/// Starts the web piece on the current runtime.
pub fn spawn(
    listener: std::net::TcpListener,
    url: BrokerUrl,
    config: WebConfig,
    telemetry: Option<watch::Receiver<Telemetry>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<JoinHandle<()>> {
    let listener =
        tokio::net::TcpListener::from_std(listener).context("cannot use the dashboard listener")?;
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
    /// The engine's debrief folder (its `--debrief-dir`), when this web runs on the
    /// same machine: `/drill/debrief` serves its latest.html. Without it that page
    /// answers 404 and says why.
    #[arg(long)]
    pub debrief_dir: Option<std::path::PathBuf>,
    /// Log in as the first `operator` user of this auth file (docs/security.md, "The
    /// auth file") instead of the URL's credentials.
    #[arg(long, value_name = "FILE", env = "WR_AUTH")]
    pub auth: Option<std::path::PathBuf>,
}

/// `winter-river web`: serves until Ctrl-C.
pub fn run(args: &WebArgs) -> Result<u8> {
    init_logging();
    args.client.check_prefix()?;
    let mut url = args.client.url()?;
    if let Some(file) = &args.auth {
        let access = crate::auth_cmd::load(file, &args.client.prefix)?;
        url = crate::auth_cmd::web_login(&access, file, &url)?;
    }
    let (listener, token) = args.http.listen()?;
    let mut config = args.http.web_config(&args.client.prefix, token)?;
    config.debrief_dir = args.debrief_dir.clone();
    let addr = listener.local_addr().context("dashboard listener")?;
    println!("web        broker {url}, prefix `{}`", args.client.prefix);
    for line in dashboard_lines(addr, &config) {
        println!("{line}");
    }
    runtime()?.block_on(async move {
        let handle = spawn(listener, url, config, None, shutdown_signal())?;
        let _ = handle.await;
        anyhow::Ok(())
    })?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(token: Option<&str>, instructor: Option<&str>) -> HttpArgs {
        HttpArgs {
            http: "127.0.0.1:0".parse().unwrap(),
            token: token.map(str::to_string),
            instructor_token: instructor.map(str::to_string),
            viewer_token: None,
            metrics_open: false,
            allowed_hosts: Vec::new(),
            tls: crate::tls_args::TlsFiles::default(),
        }
    }

    #[test]
    fn the_instructor_token_is_checked_as_the_operator_s_is() {
        let ok = args(Some("op"), Some("teach"))
            .web_config("wr", "op".into())
            .unwrap();
        assert_eq!(ok.instructor_token.as_deref(), Some("teach"));
        assert_eq!(
            args(Some("op"), None)
                .web_config("wr", "op".into())
                .unwrap()
                .instructor_token,
            None
        );
        for bad in ["", "a b", "a&b", "a#b", "é"] {
            let e = args(Some("op"), Some(bad))
                .web_config("wr", "op".into())
                .unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("--instructor-token / WR_INSTRUCTOR_TOKEN: use printable ASCII"),
                "{bad}: {e}"
            );
        }
        let e = args(Some("same"), Some("same"))
            .web_config("wr", "same".into())
            .unwrap_err();
        assert!(e.to_string().contains("is the operator token"), "{e}");
        // A bad instructor token stops the start before anything listens.
        assert!(args(Some("op"), Some("a b")).listen().is_err());
        assert!(
            args(Some("a b"), None)
                .listen()
                .unwrap_err()
                .to_string()
                .starts_with("--token / WR_TOKEN")
        );
    }

    #[test]
    fn one_dashboard_url_per_role() {
        let addr: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let one = args(Some("op"), None)
            .web_config("wr", "op".into())
            .unwrap();
        assert_eq!(
            dashboard_lines(addr, &one),
            [
                "  dashboard  http://127.0.0.1:8080/?token=op",
                "  metrics    http://127.0.0.1:8080/metrics"
            ]
        );
        let two = args(Some("op"), Some("teach"))
            .web_config("wr", "op".into())
            .unwrap();
        assert_eq!(
            dashboard_lines(addr, &two),
            [
                "  dashboard  http://127.0.0.1:8080/?token=op   (operators)",
                "  instructor http://127.0.0.1:8080/?token=teach   (fault injection, drill control)",
                "  metrics    http://127.0.0.1:8080/metrics",
            ]
        );
        let mut viewers = args(Some("op"), None);
        viewers.viewer_token = Some("look".into());
        let config = viewers.web_config("wr", "op".into()).unwrap();
        assert_eq!(
            dashboard_lines(addr, &config),
            [
                "  dashboard  http://127.0.0.1:8080/?token=op",
                "  viewers    http://127.0.0.1:8080/?token=look   (read only)",
                "  metrics    http://127.0.0.1:8080/metrics   (needs a token: Authorization: Bearer TOKEN)",
            ]
        );
        viewers.metrics_open = true;
        let config = viewers.web_config("wr", "op".into()).unwrap();
        assert_eq!(
            dashboard_lines(addr, &config)[2],
            "  metrics    http://127.0.0.1:8080/metrics"
        );
    }

    #[test]
    fn the_viewer_token_is_its_own_and_host_names_are_names() {
        let mut a = args(Some("op"), Some("teach"));
        for same in ["op", "teach"] {
            a.viewer_token = Some(same.into());
            let e = a.web_config("wr", "op".into()).unwrap_err();
            assert!(
                e.to_string().contains("viewers need a token of their own"),
                "{e}"
            );
        }
        a.viewer_token = Some("a b".into());
        let e = a.web_config("wr", "op".into()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--viewer-token / WR_VIEWER_TOKEN"),
            "{e}"
        );
        a.viewer_token = Some("look".into());
        a.allowed_hosts = vec!["raspberrypi.local".into(), "wr.example.org:443".into()];
        let c = a.web_config("wr", "op".into()).unwrap();
        assert_eq!(c.viewer_token.as_deref(), Some("look"));
        assert_eq!(c.allowed_hosts, ["raspberrypi.local", "wr.example.org:443"]);
        a.allowed_hosts = vec!["http://pi.local/".into()];
        let e = a.web_config("wr", "op".into()).unwrap_err();
        assert!(e.to_string().contains("without http://"), "{e}");
    }
}
