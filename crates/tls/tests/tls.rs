//! The certificates `self_signed` makes work with the configurations
//! `server_config` and `client_config` read back from files (a TLS handshake in
//! memory), a wrong CA or a name not in the certificate is refused, and every bad
//! file is refused naming the file and the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use winter_river_tls::rustls::pki_types::ServerName;
use winter_river_tls::rustls::{self, ClientConnection, ServerConnection};
use winter_river_tls::{TlsError, client_config, self_signed, server_config, write_self_signed};

/// A fresh directory under the target dir's tmp, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let path = std::env::temp_dir().join(format!("wr-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hosts(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Runs a handshake between the two configurations in memory, then sends one
/// line each way; the error is the client's or the server's.
fn handshake(
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    name: &str,
) -> Result<(), rustls::Error> {
    let mut s = ServerConnection::new(server).unwrap();
    let mut c =
        ClientConnection::new(client, ServerName::try_from(name.to_string()).unwrap()).unwrap();
    for _ in 0..20 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            s.read_tls(&mut rd).unwrap();
        }
        s.process_new_packets()?;
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            c.read_tls(&mut rd).unwrap();
        }
        c.process_new_packets()?;
        if !c.is_handshaking() && !s.is_handshaking() {
            return Ok(());
        }
    }
    panic!("handshake did not finish");
}

fn pair(dir: &Dir, prefix: &str, names: &[&str]) -> (PathBuf, PathBuf) {
    let (cert, key) = self_signed(&hosts(names)).unwrap();
    (
        dir.file(&format!("{prefix}cert.pem"), &cert),
        dir.file(&format!("{prefix}key.pem"), &key),
    )
}

#[test]
fn a_self_signed_pair_serves_clients_that_trust_it_by_ip_and_by_name() {
    let dir = Dir::new("pair");
    let (cert, key) = pair(&dir, "", &["127.0.0.1", "localhost", "pi.local", "::1"]);
    let server = server_config(&cert, &key).unwrap();
    let client = client_config(Some(&cert)).unwrap();
    for name in ["127.0.0.1", "localhost", "pi.local", "::1"] {
        handshake(server.clone(), client.clone(), name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn a_wrong_ca_or_a_name_not_in_the_certificate_is_refused() {
    let dir = Dir::new("wrong");
    let (cert, key) = pair(&dir, "", &["127.0.0.1"]);
    let (other, _) = pair(&dir, "other-", &["127.0.0.1"]);
    let server = server_config(&cert, &key).unwrap();
    let e = handshake(
        server.clone(),
        client_config(Some(&other)).unwrap(),
        "127.0.0.1",
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        "{e:?}"
    );
    let e = handshake(server, client_config(Some(&cert)).unwrap(), "pi.local").unwrap_err();
    assert!(
        matches!(
            e,
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. }
            ) | rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName)
        ),
        "{e:?}"
    );
}

fn message(e: TlsError) -> String {
    e.to_string()
}

#[test]
fn bad_files_are_refused_naming_the_file_and_the_reason() {
    let dir = Dir::new("bad");
    let (cert, key) = pair(&dir, "", &["localhost"]);
    let (_, other_key) = pair(&dir, "other-", &["localhost"]);
    let missing = dir.0.join("nope.pem");
    let empty = dir.file("empty.pem", "");
    let garbage = dir.file(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 !!!\n-----END CERTIFICATE-----\n",
    );
    let truncated = dir.file("truncated.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n");
    let not_x509 = dir.file(
        "not-x509.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    let show = |p: &Path| p.display().to_string();
    let cases: Vec<(TlsError, &Path, &str)> = vec![
        (
            server_config(&missing, &key).unwrap_err(),
            &missing,
            "cannot read",
        ),
        (
            server_config(&cert, &missing).unwrap_err(),
            &missing,
            "cannot read",
        ),
        (
            server_config(&empty, &key).unwrap_err(),
            &empty,
            "no certificate",
        ),
        (
            server_config(&cert, &empty).unwrap_err(),
            &empty,
            "no private key",
        ),
        (server_config(&key, &cert).unwrap_err(), &key, "swapped"),
        (
            server_config(&garbage, &key).unwrap_err(),
            &garbage,
            "not valid PEM",
        ),
        (
            server_config(&truncated, &key).unwrap_err(),
            &truncated,
            "not valid PEM",
        ),
        (
            server_config(&not_x509, &key).unwrap_err(),
            &not_x509,
            "certificate",
        ),
        (
            server_config(&cert, &other_key).unwrap_err(),
            &other_key,
            "does not belong",
        ),
        (
            client_config(Some(&missing)).unwrap_err(),
            &missing,
            "cannot read",
        ),
        (
            client_config(Some(&key)).unwrap_err(),
            &key,
            "holds a private key",
        ),
        (
            client_config(Some(&not_x509)).unwrap_err(),
            &not_x509,
            "CA certificate",
        ),
    ];
    for (e, file, reason) in cases {
        let text = message(e);
        assert!(
            text.contains(&show(file)),
            "`{text}` does not name {}",
            show(file)
        );
        assert!(text.contains(reason), "`{text}` does not say `{reason}`");
    }
}

#[test]
fn hosts_are_checked() {
    assert!(matches!(self_signed(&[]), Err(TlsError::NoHosts)));
    for bad in [
        "",
        "https://pi.local",
        "pi.local:8883",
        "bad_name",
        "-x.local",
        "a..b",
    ] {
        let e = self_signed(&hosts(&[bad])).unwrap_err();
        assert!(e.to_string().contains(&format!("`{bad}`")), "{bad}: {e}");
    }
    self_signed(&hosts(&[
        "[::1]",
        "198.51.100.1",
        "Pi.Local",
        "*.lab.example",
    ]))
    .unwrap();
}

#[cfg(unix)]
#[test]
fn the_pair_is_written_with_a_private_key_and_not_over_an_existing_one() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = Dir::new("write");
    let out = dir.0.join("certs");
    let files = write_self_signed(&out, &hosts(&["198.51.100.1"]), false).unwrap();
    assert_eq!(files.cert, out.join("cert.pem"));
    let mode = std::fs::metadata(&files.key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "key mode {mode:o}");
    server_config(&files.cert, &files.key).unwrap();
    let before = std::fs::read_to_string(&files.cert).unwrap();
    let e = write_self_signed(&out, &hosts(&["198.51.100.1"]), false).unwrap_err();
    assert!(matches!(e, TlsError::Exists { .. }), "{e}");
    assert!(e.to_string().contains("--force"), "{e}");
    assert_eq!(std::fs::read_to_string(&files.cert).unwrap(), before);
    // Replacing a key that others could read leaves it private.
    std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    write_self_signed(&out, &hosts(&["198.51.100.1"]), true).unwrap();
    let mode = std::fs::metadata(&files.key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "key mode {mode:o}");
    assert_ne!(std::fs::read_to_string(&files.cert).unwrap(), before);
}
