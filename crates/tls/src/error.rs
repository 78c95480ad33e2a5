//! [`TlsError`]: what went wrong, naming the file (or host) and the reason.

use std::path::PathBuf;

/// A certificate, key or trust store that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not valid PEM: {reason}", file.display())]
    Pem { file: PathBuf, reason: String },
    #[error("{}: no certificate in it (expected a `-----BEGIN CERTIFICATE-----` section){hint}", file.display())]
    NoCertificate { file: PathBuf, hint: &'static str },
    #[error("{}: no private key in it (expected a `-----BEGIN PRIVATE KEY-----`, `EC PRIVATE KEY` or `RSA PRIVATE KEY` section){hint}", file.display())]
    NoKey { file: PathBuf, hint: &'static str },
    #[error("{}: {reason}", file.display())]
    BadKey { file: PathBuf, reason: String },
    #[error("{}: {reason}", file.display())]
    BadCertificate { file: PathBuf, reason: String },
    #[error("{} does not belong to the certificate in {}: {reason}", key.display(), cert.display())]
    KeyMismatch {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    #[error(
        "the system's trusted CA certificates: {reason} (pass --ca FILE with the broker's CA or its self-signed certificate)"
    )]
    SystemRoots { reason: String },
    #[error("host `{host}`: {reason}")]
    BadHost { host: String, reason: String },
    #[error(
        "no host names: a certificate needs at least one (--host NAME, e.g. the Pi's address 192.168.4.1)"
    )]
    NoHosts,
    #[error("making the certificate: {0}")]
    Generate(String),
    #[error("{} already exists (pass --force to replace it: clients that trust the old certificate must then be given the new one)", file.display())]
    Exists { file: PathBuf },
    #[error("cannot write {}: {source}", file.display())]
    Write {
        file: PathBuf,
        source: std::io::Error,
    },
}
