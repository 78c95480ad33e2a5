//! rustls configurations: a server's from its certificate and key files, a
//! client's from a CA file (or the system's trusted CAs). Both on the ring
//! provider, TLS 1.2 and 1.3 (ESP32 boards' mbedTLS and Mosquitto speak both).

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::TlsError;
use crate::pem::{certificates, private_key};

/// The crypto provider of every configuration here: ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration from `cert_pem` (the server's certificate first, then
/// any intermediates) and `key_pem` (its private key: PKCS#8, SEC1 or PKCS#1).
/// No client certificates, no ALPN (the caller may add its protocols to a clone).
/// Errors name the file and the reason: unreadable, not PEM, no certificate or no
/// key in it (or the two swapped), a key rustls cannot use, a key that does not
/// belong to the certificate.
pub fn server_config(cert_pem: &Path, key_pem: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = certificates(cert_pem)?;
    let key = private_key(key_pem)?;
    let provider = provider();
    let signing_key =
        provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| TlsError::BadKey {
                file: key_pem.to_path_buf(),
                reason: format!("not a usable private key: {e}"),
            })?;
    let certified = rustls::sign::CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(_)) => {
            return Err(TlsError::KeyMismatch {
                cert: cert_pem.to_path_buf(),
                key: key_pem.to_path_buf(),
                reason: "its public key is not the certificate's (the pair comes from two different runs of `winter-river cert`, or two different sites)".into(),
            });
        }
        Err(e) => {
            return Err(TlsError::BadCertificate {
                file: cert_pem.to_path_buf(),
                reason: format!("not a usable X.509 certificate: {e}"),
            });
        }
    }
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Generate(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    Ok(Arc::new(config))
}

/// A client configuration trusting the certificates in `ca_pem` (a CA, or a
/// server's self-signed certificate from `winter-river cert`), or with `None` the
/// system's trusted CAs (a broker with a certificate from a public or site CA).
/// The server's name is checked against the certificate as usual.
pub fn client_config(ca_pem: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    match ca_pem {
        Some(file) => {
            for cert in certificates(file)? {
                roots.add(cert).map_err(|e| TlsError::BadCertificate {
                    file: file.to_path_buf(),
                    reason: format!("not a usable CA certificate: {e}"),
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let reason = match found.errors.first() {
                    Some(e) => format!("none could be loaded ({e})"),
                    None => "there are none on this machine".to_string(),
                };
                return Err(TlsError::SystemRoots { reason });
            }
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Generate(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
