//! Winter River's TLS: rustls configurations for the broker's `mqtts`/`wss`
//! listeners, the dashboard's HTTPS and the MQTT clients, read from PEM files, and
//! a self-signed certificate for a hotspot (`winter-river cert`). One crypto
//! provider, ring, everywhere ([`provider`]): aws-lc-rs needs cmake to build.
//!
//! Pieces: `pem` (reading certificates and keys, errors naming the file),
//! `config` ([`server_config`], [`client_config`]), `cert` ([`self_signed`],
//! [`write_self_signed`]). docs/security.md, "TLS", says what goes where.

mod cert;
mod config;
mod error;
mod pem;

pub use cert::{CertFiles, VALIDITY_DAYS, self_signed, write_self_signed};
pub use config::{client_config, provider, server_config};
pub use error::TlsError;
pub use rustls;
