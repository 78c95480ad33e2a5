//! [`ClientTls`]: whom an `mqtts://` or `wss://` client trusts — a CA file
//! (`--ca`, e.g. the broker's certificate from `winter-river cert`) or the
//! system's CAs — as one rustls configuration shared by every link to the broker
//! (a fleet of 8,000 boards reads the file once); and [`describe`], which turns a
//! TLS failure into a sentence that says what to do.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use winter_river_tls::TlsError;
use winter_river_tls::rustls::{self, CertificateError};

/// A TLS client's trust, loaded once.
#[derive(Clone)]
pub struct ClientTls {
    ca: Option<PathBuf>,
    config: Arc<rustls::ClientConfig>,
}

impl ClientTls {
    /// Trusts the certificates in `ca` (a CA, or a self-signed server
    /// certificate), or with `None` the system's trusted CAs.
    pub fn new(ca: Option<&Path>) -> Result<ClientTls, TlsError> {
        Ok(ClientTls {
            ca: ca.map(Path::to_path_buf),
            config: winter_river_tls::client_config(ca)?,
        })
    }

    /// The CA file, or `None` for the system's CAs.
    pub fn ca(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// The rustls configuration.
    pub fn config(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.config)
    }

    /// What the client trusts, for messages: `the CA file F` / `the system's CAs`.
    pub fn trust(&self) -> String {
        match &self.ca {
            Some(f) => format!("the CA file {}", f.display()),
            None => "the system's CAs (no --ca given)".to_string(),
        }
    }
}

/// Two are equal when they trust the same file (or both the system's CAs).
impl PartialEq for ClientTls {
    fn eq(&self, other: &ClientTls) -> bool {
        self.ca == other.ca
    }
}

impl Eq for ClientTls {}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls").field("ca", &self.ca).finish()
    }
}

/// The rustls error somewhere in `e`'s chain (rumqttc and tungstenite wrap it in
/// an `io::Error`, or in their own error types).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return Some(r);
            }
        }
        next = err.source();
    }
    None
}

/// A TLS handshake that the other end did not answer in TLS.
pub(crate) fn not_tls(host: &str, port: u16, e: &dyn fmt::Display) -> String {
    format!(
        "TLS handshake with {host}:{port} failed ({e}): is it a TLS listener? mqtts:// and wss:// need one, mqtt:// and ws:// a plain one"
    )
}

/// Why a TLS connection to `host:port` failed, saying what to do, when `e` is
/// a TLS failure; `None` for anything else.
pub fn describe(
    e: &(dyn std::error::Error + 'static),
    host: &str,
    port: u16,
    tls: &ClientTls,
) -> Option<String> {
    let r = rustls_error(e)?;
    let trust = tls.trust();
    Some(match r {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "TLS: the broker's certificate at {host}:{port} is not trusted: it is not signed by {trust} (pass --ca with the broker's CA, or the cert.pem `winter-river cert` made for it)"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "TLS: the broker's certificate is not for `{host}` (connect by a name it was made for, or make one that has it: `winter-river cert --host {host}`)"
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                "TLS: the broker's certificate at {host}:{port} has expired (make a new one: `winter-river cert`)"
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => format!(
                "TLS: the broker's certificate at {host}:{port} is not valid yet (is this machine's clock right?)"
            ),
            other => {
                format!("TLS: the broker's certificate at {host}:{port} is refused: {other:?}")
            }
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            not_tls(host, port, r)
        }
        other => format!("TLS with {host}:{port} failed: {other}"),
    })
}
