//! Reading PEM files: every section of a file, then the certificates or the one
//! private key it should hold. A file that holds the other kind (the certificate
//! and key swapped) is told so.

use std::path::Path;

use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

use crate::TlsError;

/// Largest PEM file read \[bytes\]: a certificate chain is a few KiB.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// The sections of `file`, in order.
fn sections(file: &Path) -> Result<Vec<(SectionKind, Vec<u8>)>, TlsError> {
    let read = |source| TlsError::Read {
        file: file.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(file).map_err(read)?.len();
    if len > MAX_PEM_BYTES {
        return Err(TlsError::Pem {
            file: file.to_path_buf(),
            reason: format!("{len} bytes: too large for a certificate or key file"),
        });
    }
    let bytes = std::fs::read(file).map_err(read)?;
    <(SectionKind, Vec<u8>)>::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            file: file.to_path_buf(),
            reason: e.to_string(),
        })
}

fn is_key(kind: SectionKind) -> bool {
    matches!(
        kind,
        SectionKind::PrivateKey | SectionKind::EcPrivateKey | SectionKind::RsaPrivateKey
    )
}

/// The certificates of `file` (the server's first, then its chain; or the CAs
/// to trust).
pub(crate) fn certificates(file: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let all = sections(file)?;
    let certs: Vec<CertificateDer<'static>> = all
        .iter()
        .filter(|(kind, _)| *kind == SectionKind::Certificate)
        .map(|(_, der)| CertificateDer::from(der.clone()))
        .collect();
    if certs.is_empty() {
        let hint = if all.iter().any(|(k, _)| is_key(*k)) {
            ": it holds a private key; were the certificate and key files swapped?"
        } else if all.is_empty() {
            ": the file is empty or not PEM"
        } else {
            ""
        };
        return Err(TlsError::NoCertificate {
            file: file.to_path_buf(),
            hint,
        });
    }
    Ok(certs)
}

/// The one private key of `file`.
pub(crate) fn private_key(file: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let all = sections(file)?;
    let mut keys = all.into_iter().filter(|(k, _)| is_key(*k)).peekable();
    let Some((kind, der)) = keys.next() else {
        let hint = if certificates(file).is_ok() {
            ": it holds a certificate; were the certificate and key files swapped?"
        } else {
            ""
        };
        return Err(TlsError::NoKey {
            file: file.to_path_buf(),
            hint,
        });
    };
    if keys.peek().is_some() {
        return Err(TlsError::BadKey {
            file: file.to_path_buf(),
            reason: "more than one private key in it: keep only the server's".into(),
        });
    }
    Ok(match kind {
        SectionKind::RsaPrivateKey => PrivatePkcs1KeyDer::from(der).into(),
        SectionKind::EcPrivateKey => PrivateSec1KeyDer::from(der).into(),
        _ => PrivatePkcs8KeyDer::from(der).into(),
    })
}
