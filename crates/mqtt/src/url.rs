//! Broker addresses: `mqtt://host:port` (TCP, default port 1883) and
//! `ws://host:port/path` (WebSocket, default port 9001, path `/mqtt`), over TLS
//! `mqtts://host:port` (default port 8883) and `wss://host:port/path` (default
//! port 443, path `/mqtt`), with optional `user:password@`.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::tls::ClientTls;

/// Where a broker listens, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub transport: Transport,
    pub host: String,
    pub port: u16,
    /// WebSocket path (`/mqtt`); unused for TCP.
    pub path: String,
    pub credentials: Option<(String, String)>,
    /// TLS (`mqtts://`, `wss://`) and whom it trusts; `None`: plain (`mqtt://`,
    /// `ws://`).
    pub tls: Option<ClientTls>,
}

/// How the client talks to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    WebSocket,
}

/// A broker URL that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("`{0}` is not a broker URL: {1} (expected mqtt://host:port or ws://host:port/path)")]
    Invalid(String, String),
    #[error("`{0}`: unsupported scheme `{1}` (use mqtt://, ws://, mqtts:// or wss://)")]
    Scheme(String, String),
    #[error("`{0}`: --ca is for a broker over TLS: use mqtts:// or wss://")]
    CaWithoutTls(String),
    #[error("`{0}`: {1}")]
    Tls(String, String),
}

impl BrokerUrl {
    /// A plain TCP broker address.
    pub fn tcp(host: impl Into<String>, port: u16) -> BrokerUrl {
        BrokerUrl {
            transport: Transport::Tcp,
            host: host.into(),
            port,
            path: String::new(),
            credentials: None,
            tls: None,
        }
    }

    /// A TCP broker address over TLS (`mqtts://`).
    pub fn mqtts(host: impl Into<String>, port: u16, tls: ClientTls) -> BrokerUrl {
        BrokerUrl {
            tls: Some(tls),
            ..BrokerUrl::tcp(host, port)
        }
    }

    /// A WebSocket broker address over TLS (`wss://`) with path `/mqtt`.
    pub fn wss(host: impl Into<String>, port: u16, tls: ClientTls) -> BrokerUrl {
        BrokerUrl {
            tls: Some(tls),
            ..BrokerUrl::ws(host, port)
        }
    }

    /// A WebSocket broker address with path `/mqtt`.
    pub fn ws(host: impl Into<String>, port: u16) -> BrokerUrl {
        BrokerUrl {
            transport: Transport::WebSocket,
            host: host.into(),
            port,
            path: "/mqtt".into(),
            credentials: None,
            tls: None,
        }
    }

    /// Parses `text` (as [`FromStr`] does) and, for `mqtts://` and `wss://`, trusts
    /// the certificates in `ca` (`--ca FILE`) instead of the system's CAs. `ca`
    /// with a plain `mqtt://` or `ws://` URL is refused (a forgotten `s`).
    pub fn parse_with_ca(text: &str, ca: Option<&Path>) -> Result<BrokerUrl, UrlError> {
        let (mut url, secure) = parse(text)?;
        if secure {
            let tls = ClientTls::new(ca).map_err(|e| UrlError::Tls(text.into(), e.to_string()))?;
            url.tls = Some(tls);
        } else if ca.is_some() {
            return Err(UrlError::CaWithoutTls(text.into()));
        }
        Ok(url)
    }

    /// The `ws://host:port/path` (or `wss://`) form rumqttc wants for WebSocket
    /// transports.
    pub fn ws_address(&self) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        format!(
            "{scheme}://{}:{}{}",
            self.host_for_url(),
            self.port,
            self.path
        )
    }

    fn host_for_url(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transport {
            Transport::Tcp => {
                let scheme = if self.tls.is_some() { "mqtts" } else { "mqtt" };
                write!(f, "{scheme}://{}:{}", self.host_for_url(), self.port)
            }
            Transport::WebSocket => f.write_str(&self.ws_address()),
        }
    }
}

/// Parses `mqtts://` and `wss://` with the system's CAs (reading them); use
/// [`BrokerUrl::parse_with_ca`] for a CA file.
impl FromStr for BrokerUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<BrokerUrl, UrlError> {
        BrokerUrl::parse_with_ca(s, None)
    }
}

/// The URL without its trust, and whether it asks for TLS.
fn parse(s: &str) -> Result<(BrokerUrl, bool), UrlError> {
    {
        let with_scheme = if s.contains("://") {
            s.to_string()
        } else {
            format!("mqtt://{s}")
        };
        let url = url::Url::parse(&with_scheme)
            .map_err(|e| UrlError::Invalid(s.into(), e.to_string()))?;
        let (transport, default_port, secure) = match url.scheme() {
            "mqtt" | "tcp" => (Transport::Tcp, 1883, false),
            "ws" => (Transport::WebSocket, 9001, false),
            "mqtts" | "ssl" | "tls" => (Transport::Tcp, 8883, true),
            "wss" => (Transport::WebSocket, 443, true),
            other => return Err(UrlError::Scheme(s.into(), other.into())),
        };
        let host = match url.host() {
            Some(url::Host::Ipv6(a)) => a.to_string(),
            Some(h) => h.to_string(),
            None => return Err(UrlError::Invalid(s.into(), "no host".into())),
        };
        let path = match (transport, url.path()) {
            (Transport::WebSocket, "" | "/") => "/mqtt".to_string(),
            (Transport::WebSocket, p) => p.to_string(),
            (Transport::Tcp, _) => String::new(),
        };
        let credentials = (!url.username().is_empty()).then(|| {
            (
                url.username().to_string(),
                url.password().unwrap_or("").to_string(),
            )
        });
        // `url` reports no port when it is the scheme's own (443 for wss, which
        // is also ours; 80 for ws, which is not: `ws://h:80` reads as 9001).
        let port = url.port().unwrap_or(default_port);
        Ok((
            BrokerUrl {
                transport,
                host,
                port,
                path,
                credentials,
                tls: None,
            },
            secure,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_the_forms_users_write() {
        assert_eq!(
            "mqtt://127.0.0.1:1884".parse::<BrokerUrl>().unwrap(),
            BrokerUrl::tcp("127.0.0.1", 1884)
        );
        assert_eq!(
            "localhost".parse::<BrokerUrl>().unwrap(),
            BrokerUrl::tcp("localhost", 1883)
        );
        assert_eq!(
            "ws://127.0.0.1:9001".parse::<BrokerUrl>().unwrap(),
            BrokerUrl::ws("127.0.0.1", 9001)
        );
        let u: BrokerUrl = "mqtt://bob:secret@[::1]:1883".parse().unwrap();
        assert_eq!(u.host, "::1");
        assert_eq!(u.credentials, Some(("bob".into(), "secret".into())));
        assert_eq!(u.to_string(), "mqtt://[::1]:1883");
        assert_eq!(
            "ws://h:1/x".parse::<BrokerUrl>().unwrap().ws_address(),
            "ws://h:1/x"
        );
        assert!(matches!(
            "http://h".parse::<BrokerUrl>(),
            Err(UrlError::Scheme(..))
        ));
        assert!(matches!(
            BrokerUrl::parse_with_ca("mqtt://h", Some(Path::new("ca.pem"))),
            Err(UrlError::CaWithoutTls(..))
        ));
        let e = BrokerUrl::parse_with_ca("mqtts://h", Some(Path::new("/nonexistent/ca.pem")))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/ca.pem") && e.contains("mqtts://h"),
            "{e}"
        );
        assert!(matches!(
            "mqtt://".parse::<BrokerUrl>(),
            Err(UrlError::Invalid(..))
        ));
    }
}
