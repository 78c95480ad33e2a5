//! `--tls-cert FILE --tls-key FILE`: a server's certificate and key, read by
//! `winter_river_tls::server_config` (errors name the file and the reason). The
//! dashboard's HTTPS (`up`, `web`) takes them; a broker's TLS listeners can
//! flatten the same pair.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use winter_river_tls::rustls::ServerConfig;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsFiles {
    /// Serve over TLS with this certificate (PEM: the server's first, then any chain;
    /// `winter-river cert` makes one): the dashboard over HTTPS, and the embedded
    /// broker's mqtts and wss listeners. Needs --tls-key.
    #[arg(long, env = "WR_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "WR_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl TlsFiles {
    /// The server configuration of the pair, if given: a file that cannot be used
    /// stops the start, naming it and why.
    pub fn server_config(&self) -> Result<Option<Arc<ServerConfig>>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => winter_river_tls::server_config(cert, key)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("--tls-cert/--tls-key: {e}")),
            (None, None) => Ok(None),
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        }
    }
}
