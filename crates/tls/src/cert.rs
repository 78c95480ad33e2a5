//! Self-signed certificates for a hotspot: one certificate naming every address
//! and host name the Pi is reached by, which clients then trust directly (their
//! `--ca`, Telegraf's `tls_ca`, a browser's imported certificate).

use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, SanType,
};

use crate::TlsError;

/// How long a certificate from [`self_signed`] is valid \[days\]: Apple's
/// platforms refuse TLS server certificates valid for longer (825 days).
pub const VALIDITY_DAYS: i64 = 825;

/// The subject alternative name of `host`: an IP address, or a DNS name.
fn san(host: &str) -> Result<SanType, TlsError> {
    let bad = |reason: &str| TlsError::BadHost {
        host: host.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = trimmed.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    if host.is_empty() {
        return Err(bad("empty"));
    }
    if host.contains(':') || host.contains('/') {
        return Err(bad(
            "a host name or an IP address only, without a scheme, port or path",
        ));
    }
    let ok = host.split('.').enumerate().all(|(i, label)| {
        !label.is_empty()
            && label.len() <= 63
            && (label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                || (i == 0 && label == "*"))
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if !ok || host.len() > 253 {
        return Err(bad(
            "not a valid host name (letters, digits and `-` in dot-separated labels)",
        ));
    }
    let name = host
        .to_ascii_lowercase()
        .try_into()
        .map_err(|e: rcgen::Error| bad(&e.to_string()))?;
    Ok(SanType::DnsName(name))
}

/// A self-signed certificate for `hosts` (host names and IP addresses: every name
/// clients will use to reach the server, e.g. `192.168.4.1`, `raspberrypi.local`,
/// `localhost`) and its private key, both PEM: `(cert_pem, key_pem)`. ECDSA P-256,
/// valid from yesterday for [`VALIDITY_DAYS`], for server authentication; not a
/// CA (it signs nothing else: clients trust the certificate itself).
pub fn self_signed(hosts: &[String]) -> Result<(String, String), TlsError> {
    let first = hosts.first().ok_or(TlsError::NoHosts)?;
    let mut params = CertificateParams::default();
    params.subject_alt_names = hosts.iter().map(|h| san(h)).collect::<Result<_, _>>()?;
    let generate = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let key = KeyPair::generate().map_err(generate)?;
    // A name of its own (a piece of its public key): a client given another
    // certificate of ours as its CA then says "unknown issuer", not "bad signature".
    let tag: String = key
        .public_key_raw()
        .iter()
        .rev()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "Winter River");
    name.push(DnType::CommonName, format!("Winter River {first} {tag}"));
    params.distinguished_name = name;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(VALIDITY_DAYS - 1);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.self_signed(&key).map_err(generate)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Where [`write_self_signed`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    /// `DIR/cert.pem`: give it to the server and, as their CA, to every client.
    pub cert: PathBuf,
    /// `DIR/key.pem` (mode 0600): the server's only.
    pub key: PathBuf,
}

/// Makes [`self_signed`] for `hosts` and writes `dir/cert.pem` and `dir/key.pem`
/// (the key readable by its owner only), creating `dir`. Existing files are kept
/// (an error naming the first) unless `replace`.
pub fn write_self_signed(
    dir: &Path,
    hosts: &[String],
    replace: bool,
) -> Result<CertFiles, TlsError> {
    let files = CertFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    if !replace {
        for file in [&files.cert, &files.key] {
            if file.exists() {
                return Err(TlsError::Exists { file: file.clone() });
            }
        }
    }
    let (cert_pem, key_pem) = self_signed(hosts)?;
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        file: dir.to_path_buf(),
        source,
    })?;
    write_private(&files.key, key_pem.as_bytes())?;
    std::fs::write(&files.cert, cert_pem).map_err(|source| TlsError::Write {
        file: files.cert.clone(),
        source,
    })?;
    Ok(files)
}

/// Writes `bytes` to `file` readable and writable by its owner only (also when
/// it replaces a file that was readable by others).
fn write_private(file: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let err = |source| TlsError::Write {
        file: file.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        let mut f = options.open(file).map_err(err)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(err)?;
        f.write_all(bytes).map_err(err)
    }
    #[cfg(not(unix))]
    {
        let mut f = options.open(file).map_err(err)?;
        f.write_all(bytes).map_err(err)
    }
}
