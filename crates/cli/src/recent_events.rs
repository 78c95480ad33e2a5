//! The events that happened before `watch` started, from the dashboard's
//! `GET /api/events` (docs/api.md): MQTT events are not retained, the dashboard keeps
//! the last 1,000. A small blocking HTTP/1.1 GET: one request to a loopback or LAN
//! address, so no HTTP client library; over HTTPS with rustls (`--dashboard-ca`).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use winter_river_tls::rustls;

use winter_river_protocol::{Event, decode_event};

/// Where `up` and `web` serve the dashboard by default (`--http 0.0.0.0:8080`).
pub const DEFAULT_DASHBOARD: &str = "http://127.0.0.1:8080";

/// The largest answer read [bytes]: a thousand events are about 150 KiB.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// A dashboard address: `http://host:port[/path]`, from `--dashboard`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// `host:port` as given (`[::1]:8080` for IPv6), for the `Host` header.
    authority: String,
    host: String,
    port: u16,
    /// The path the dashboard is served under, without a trailing `/` (usually empty).
    base: String,
    /// The URL's `token=` (as `up` prints it), sent as a bearer token: a dashboard
    /// started with `--viewer-token` serves its events only to a token.
    token: Option<String>,
    /// `https://`.
    secure: bool,
    /// Over HTTPS: the PEM file of the certificates to trust (a self-signed
    /// dashboard's own cert.pem); `None`: the system's CAs.
    pub ca: Option<PathBuf>,
}

impl Dashboard {
    /// Parses `http://host[:port][/path][?query]` (or `https://`); the scheme may be left out. The
    /// URL `up` prints (`http://127.0.0.1:8080/?token=…`) works too: its token is
    /// sent with the request (needed when the dashboard has a viewer token,
    /// docs/security.md), the rest of the query is dropped.
    pub fn parse(text: &str) -> Result<Dashboard, String> {
        let (rest, secure) = match text.split_once("://") {
            Some(("http", rest)) => (rest, false),
            Some(("https", rest)) => (rest, true),
            Some((scheme, _)) => {
                return Err(format!(
                    "`{text}`: `{scheme}://` is not supported: the dashboard serves http:// or https://"
                ));
            }
            None => (text, false),
        };
        let token = rest
            .split('#')
            .next()
            .and_then(|r| r.split_once('?'))
            .and_then(|(_, query)| {
                query
                    .split('&')
                    .find_map(|pair| pair.strip_prefix("token="))
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
            });
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("`{text}`: no `]` after the IPv6 address"))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(format!("`{text}`: no host (expected http://HOST:PORT)"));
        }
        let port = match port {
            None if secure => 443,
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("`{text}`: port `{p}` is not a number from 0 to 65535"))?,
        };
        Ok(Dashboard {
            authority: authority.to_string(),
            host: host.to_string(),
            port,
            base: path.trim_end_matches('/').to_string(),
            token,
            secure,
            ca: None,
        })
    }

    /// `http://host:port/path/api/events` (without a query): where the events are.
    pub fn events_url(&self) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}{}/api/events", self.authority, self.base)
    }

    /// The TLS client of an `https://` dashboard.
    fn tls(&self) -> Result<rustls::ClientConnection, String> {
        let config = winter_river_tls::client_config(self.ca.as_deref())
            .map_err(|e| format!("--dashboard-ca: {e}"))?;
        let name = rustls::pki_types::ServerName::try_from(self.host.clone())
            .map_err(|e| format!("`{}` is not a host name for TLS: {e}", self.host))?;
        rustls::ClientConnection::new(Arc::clone(&config), name).map_err(|e| format!("TLS: {e}"))
    }

    /// The newest `limit` events, oldest first, within `timeout` in all.
    pub fn recent_events(&self, limit: usize, timeout: Duration) -> Result<Vec<Event>, String> {
        let path = format!("{}/api/events?limit={limit}", self.base);
        let body = self.get(&path, timeout)?;
        parse_events(&body)
    }

    /// `GET path`: the body of a 200 answer.
    fn get(&self, path: &str, timeout: Duration) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + timeout;
        let left = || {
            deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| format!("no answer within {} s", timeout.as_secs_f64()))
        };
        let addrs = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", self.host))?;
        let mut last = format!("{} resolves to no address", self.host);
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, left()?) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e.to_string(),
            }
        }
        let stream = stream.ok_or(last)?;
        if self.secure {
            let tls = rustls::StreamOwned::new(self.tls()?, stream);
            self.exchange(tls, |s| &s.sock, path, &left)
        } else {
            self.exchange(stream, |s| s, path, &left)
        }
    }

    /// Sends `GET path` on `stream` (whose socket `socket` gives, for its
    /// timeouts) and reads the answer, each step within what `left` leaves.
    fn exchange<S: Read + Write>(
        &self,
        mut stream: S,
        socket: impl Fn(&S) -> &TcpStream,
        path: &str,
        left: &dyn Fn() -> Result<Duration, String>,
    ) -> Result<Vec<u8>, String> {
        let authorization = self
            .token
            .as_ref()
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n{authorization}Connection: close\r\n\r\n",
            self.authority
        );
        // Over TLS the handshake reads and writes inside this first write.
        let rest = left()?;
        socket(&stream)
            .set_write_timeout(Some(rest))
            .and_then(|()| socket(&stream).set_read_timeout(Some(rest)))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| format!("cannot send the request: {e}"))?;
        let mut response = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            socket(&stream)
                .set_read_timeout(Some(left()?))
                .map_err(|e| e.to_string())?;
            match stream.read(&mut chunk) {
                Ok(0) => break,
                // A TLS server may hang up without close_notify after the answer.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Ok(n) => {
                    response.extend_from_slice(&chunk[..n]);
                    if response.len() > MAX_RESPONSE_BYTES {
                        return Err(format!(
                            "the answer is larger than {MAX_RESPONSE_BYTES} bytes"
                        ));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("cannot read the answer: {e}")),
            }
        }
        parse_response(&response)
    }
}

/// The body of an HTTP/1.1 answer, when its status is 200; chunked or not.
fn parse_response(response: &[u8]) -> Result<Vec<u8>, String> {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer is not HTTP (no end of headers)")?;
    let head = std::str::from_utf8(&response[..end]).map_err(|_| "HTTP headers are not UTF-8")?;
    let body = &response[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    let code = status
        .strip_prefix("HTTP/1.")
        .and_then(|s| s.get(2..5))
        .ok_or_else(|| format!("the answer is not HTTP: `{status}`"))?;
    if code != "200" {
        return Err(format!("the dashboard answered `{status}`"));
    }
    let header = |name: &str| {
        lines.clone().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return dechunk(body);
    }
    match header("content-length") {
        Some(len) => {
            let len: usize = len
                .parse()
                .map_err(|_| format!("bad Content-Length `{len}`"))?;
            body.get(..len)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| format!("the answer ended after {} of {len} bytes", body.len()))
        }
        None => Ok(body.to_vec()),
    }
}

/// A `Transfer-Encoding: chunked` body, decoded.
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk has no size line")?;
        let size_text = std::str::from_utf8(&body[..eol]).unwrap_or("");
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size `{size_text}`"))?;
        body = &body[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = body.get(..size).ok_or("the answer ended inside a chunk")?;
        out.extend_from_slice(chunk);
        body = body
            .get(size + 2..)
            .ok_or("the answer ended after a chunk")?;
    }
}

/// `{"events": [Event + seq + wall_ms, …], …}` → the events, each checked by the
/// same decoder as an MQTT event.
fn parse_events(body: &[u8]) -> Result<Vec<Event>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let list = value
        .get("events")
        .and_then(serde_json::Value::as_array)
        .ok_or("the answer has no `events` list")?;
    list.iter()
        .enumerate()
        .map(|(i, e)| {
            decode_event(e.to_string().as_bytes()).map_err(|err| format!("`events[{i}]`: {err}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use winter_river_protocol::Severity;

    const EVENTS: &str = r#"{"events":[{"seq":9,"wall_ms":1795720352135,"t":7.6,"node_id":"util_a","event":"fault","severity":"critical","message":"util_a failed"},{"seq":10,"wall_ms":1795720352136,"t":7.6,"node_id":"ups_a","event":"on_battery","severity":"warning","message":"ups_a on battery"}],"last_seq":10}"#;

    /// The error of `r`, failing the test when it is a success.
    fn err<T: std::fmt::Debug>(r: Result<T, String>) -> String {
        match r {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => e,
        }
    }

    fn dashboard(text: &str) -> Dashboard {
        Dashboard::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn dashboard_urls_parse_as_printed_by_up() {
        let d = dashboard("http://127.0.0.1:8080/?token=abc");
        assert_eq!(d.token.as_deref(), Some("abc"));
        assert_eq!(dashboard("http://127.0.0.1:8080/").token, None);
        assert_eq!((d.host.as_str(), d.port), ("127.0.0.1", 8080));
        assert_eq!(d.events_url(), "http://127.0.0.1:8080/api/events");
        assert_eq!(
            dashboard("pi.local:9090").events_url(),
            "http://pi.local:9090/api/events"
        );
        assert_eq!(
            dashboard("http://example.net/wr/").events_url(),
            "http://example.net/wr/api/events"
        );
        let v6 = dashboard("http://[::1]:8080");
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 8080));
        assert_eq!(v6.events_url(), "http://[::1]:8080/api/events");

        let e = err(Dashboard::parse("ftp://127.0.0.1:8080"));
        assert!(e.contains("`ftp://` is not supported"), "{e}");
        let tls = dashboard("https://pi.local/?token=abc");
        assert_eq!(tls.events_url(), "https://pi.local/api/events");
        assert_eq!((tls.port, tls.token.as_deref()), (443, Some("abc")));
        let e = err(Dashboard::parse("http://127.0.0.1:80800"));
        assert!(e.contains("port `80800`"), "{e}");
        assert!(Dashboard::parse("http://:8080").is_err());
    }

    #[test]
    fn answers_are_read_with_content_length_or_chunked() {
        let plain = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{EVENTS}",
            EVENTS.len()
        );
        assert_eq!(
            parse_response(plain.as_bytes()).as_deref(),
            Ok(EVENTS.as_bytes())
        );
        let (a, b) = EVENTS.split_at(20);
        let chunked = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        );
        assert_eq!(
            parse_response(chunked.as_bytes()).as_deref(),
            Ok(EVENTS.as_bytes())
        );
        let e = err(parse_response(
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
        ));
        assert_eq!(e, "the dashboard answered `HTTP/1.1 404 Not Found`");
        let e = err(parse_response(b"SSH-2.0-OpenSSH_9.6\r\n"));
        assert!(e.contains("not HTTP"), "{e}");
    }

    #[test]
    fn events_are_decoded_oldest_first_and_bad_ones_named() {
        let events = parse_events(EVENTS.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].node_id, "util_a");
        assert_eq!(events[0].severity, Severity::Critical);
        assert_eq!(events[0].t, 7.6);
        assert_eq!(events[1].message, "ups_a on battery");

        let e = err(parse_events(
            br#"{"events":[{"t":1.0,"node_id":"util_a"}]}"#,
        ));
        assert!(e.starts_with("`events[0]`: "), "{e}");
        let e = err(parse_events(br#"{"error":"no"}"#));
        assert_eq!(e, "the answer has no `events` list");
    }

    /// A one-shot HTTP server on a loopback port that answers `response`, and the
    /// request it was sent.
    fn serve_once(response: String) -> (u16, std::thread::JoinHandle<String>) {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener.local_addr().map_or(0, |a| a.port());
        let server = std::thread::spawn(move || {
            let Ok((mut s, _)) = listener.accept() else {
                return String::new();
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(response.as_bytes());
            String::from_utf8_lossy(&request).into_owned()
        });
        (port, server)
    }

    #[test]
    fn recent_events_come_from_get_api_events() {
        let (port, server) = serve_once(format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{EVENTS}",
            EVENTS.len()
        ));
        let d = dashboard(&format!("http://127.0.0.1:{port}/?token=secret"));
        let events = d
            .recent_events(8, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].message, "util_a failed");
        let request = server.join().unwrap_or_default();
        assert!(
            request.starts_with("GET /api/events?limit=8 HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")),
            "{request}"
        );
        // The URL's token goes in a header, never in the request line.
        assert!(
            request.contains("\r\nAuthorization: Bearer secret\r\n"),
            "{request}"
        );
        assert!(
            !request.lines().next().unwrap_or("").contains("secret"),
            "{request}"
        );
    }

    #[test]
    fn a_dashboard_that_is_not_there_is_an_error_not_a_hang() {
        // A port that was free a moment ago: nothing listens on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_or(1, |a| a.port());
        let started = Instant::now();
        let e =
            err(dashboard(&format!("http://127.0.0.1:{port}"))
                .recent_events(8, Duration::from_secs(2)));
        assert!(started.elapsed() < Duration::from_secs(3), "{e}");
        assert!(!e.is_empty());
    }
}
