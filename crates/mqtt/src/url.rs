//! Broker addresses: `mqtt://host:port` (TCP, default port 1883) and
//! `ws://host:port/path` (WebSocket, default port 9001, path `/mqtt`), with optional
//! `user:password@`.

use std::fmt;
use std::str::FromStr;

/// Where a broker listens, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub transport: Transport,
    pub host: String,
    pub port: u16,
    /// WebSocket path (`/mqtt`); unused for TCP.
    pub path: String,
    pub credentials: Option<(String, String)>,
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
    #[error("`{0}`: unsupported scheme `{1}` (use mqtt:// or ws://)")]
    Scheme(String, String),
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
        }
    }

    /// The `ws://host:port/path` form rumqttc wants for WebSocket transports.
    pub fn ws_address(&self) -> String {
        format!("ws://{}:{}{}", self.host_for_url(), self.port, self.path)
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
            Transport::Tcp => write!(f, "mqtt://{}:{}", self.host_for_url(), self.port),
            Transport::WebSocket => f.write_str(&self.ws_address()),
        }
    }
}

impl FromStr for BrokerUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<BrokerUrl, UrlError> {
        let with_scheme = if s.contains("://") {
            s.to_string()
        } else {
            format!("mqtt://{s}")
        };
        let url = url::Url::parse(&with_scheme)
            .map_err(|e| UrlError::Invalid(s.into(), e.to_string()))?;
        let (transport, default_port) = match url.scheme() {
            "mqtt" | "tcp" => (Transport::Tcp, 1883),
            "ws" => (Transport::WebSocket, 9001),
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
        Ok(BrokerUrl {
            transport,
            host,
            port: url.port().unwrap_or(default_port),
            path,
            credentials,
        })
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
            "mqtt://".parse::<BrokerUrl>(),
            Err(UrlError::Invalid(..))
        ));
    }
}
