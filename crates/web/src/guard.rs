//! Who may ask what, and how the dashboard protects itself (docs/security.md): the
//! token of each role (viewer, operator, instructor) from `Authorization: Bearer` or
//! the dashboard's cookie; the exchange of a URL token for that cookie; the read
//! gate when there is a viewer token; the Host allow-list against DNS rebinding;
//! the same-origin check on cookie-authenticated writes; the security headers on
//! every response. The checks are plain functions; [`protect`] is the middleware
//! that applies them.

use std::net::{IpAddr, SocketAddr};

use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::App;

/// The page's policy: everything from this origin, nothing inline, no frames.
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Who a request's token says it is (docs/api.md, "Roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Reads only: the page, the API's GETs, the live stream, `/metrics`.
    Viewer,
    /// Switching, loads, resets: every operator command but fault injection.
    Operator,
    /// Fault injection and drill control, and everything an operator does.
    Instructor,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Instructor => "instructor",
        }
    }
}

/// Why a request has no role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoRole {
    /// Neither an `Authorization` header nor the dashboard's cookie: 401.
    NoToken,
    /// An `Authorization` header of another scheme than Bearer: 401.
    NotBearer,
    /// A token that is none of this dashboard's (`roles`: there is an instructor's
    /// token; `cookie`: it came in the cookie, left by an earlier start): 403.
    WrongToken { roles: bool, cookie: bool },
}

impl IntoResponse for NoRole {
    fn into_response(self) -> Response {
        match self {
            NoRole::NoToken | NoRole::NotBearer => {
                let message = if self == NoRole::NoToken {
                    "this needs a token: open the dashboard URL printed by `winter-river up` (…/?token=…), or send Authorization: Bearer TOKEN"
                } else {
                    "Authorization: use the Bearer scheme (Authorization: Bearer TOKEN)"
                };
                let mut r = error(StatusCode::UNAUTHORIZED, message);
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"winter-river\""),
                );
                r
            }
            NoRole::WrongToken { roles, cookie } => {
                let whose = if roles {
                    "wrong token: neither the operator's nor the instructor's"
                } else {
                    "wrong operator token"
                };
                let message = if cookie {
                    format!(
                        "{whose} (the dashboard's cookie holds a token of an earlier start: a start without --token makes new ones; open the URL it printed)"
                    )
                } else {
                    whose.to_string()
                };
                error(StatusCode::FORBIDDEN, message)
            }
        }
    }
}

/// How the token came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Bearer,
    Cookie,
    Nothing,
}

/// The caller as the middleware found it; handlers read it from the request's
/// extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller {
    pub role: Result<Role, NoRole>,
    pub via: Via,
}

/// The tokens and the protections a dashboard was started with.
#[derive(Debug)]
pub(crate) struct Guard {
    pub operator: String,
    pub instructor: Option<String>,
    pub viewer: Option<String>,
    /// `/metrics` stays open even with a viewer token (`--metrics-open`).
    pub metrics_open: bool,
    pub hosts: HostList,
    /// `wr_token_PORT`: cookies are shared between the ports of a host, so two
    /// dashboards on one machine each keep their own.
    pub cookie: String,
    /// Served over HTTPS: the cookie is `Secure`, and cookie writes must come
    /// from an `https://` origin.
    pub secure: bool,
}

impl Guard {
    pub fn new(config: &crate::WebConfig, listening: SocketAddr) -> Guard {
        Guard {
            operator: config.token.clone(),
            instructor: config.instructor_token.clone(),
            viewer: config.viewer_token.clone(),
            metrics_open: config.metrics_open,
            hosts: HostList::new(listening, &config.allowed_hosts),
            cookie: format!("wr_token_{}", listening.port()),
            secure: config.tls.is_some(),
        }
    }

    /// The role of `given`, if it is one of this dashboard's tokens. With no
    /// instructor token configured, the operator token is both.
    pub fn role_of(&self, given: &str) -> Option<Role> {
        let is = |t: &str| constant_time_eq(given.as_bytes(), t.as_bytes());
        if self.instructor.as_deref().is_some_and(is) {
            Some(Role::Instructor)
        } else if is(&self.operator) {
            Some(if self.instructor.is_some() {
                Role::Operator
            } else {
                Role::Instructor
            })
        } else if self.viewer.as_deref().is_some_and(is) {
            Some(Role::Viewer)
        } else {
            None
        }
    }

    /// The caller from `Authorization: Bearer …` (the scheme in any case, RFC 7235
    /// §2.1), else from the cookie. A bearer header wins over the cookie.
    pub fn caller(&self, headers: &HeaderMap) -> Caller {
        let roles = self.instructor.is_some();
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let role = match bearer(value) {
                None => Err(NoRole::NotBearer),
                Some(t) => self.role_of(t).ok_or(NoRole::WrongToken {
                    roles,
                    cookie: false,
                }),
            };
            return Caller {
                role,
                via: Via::Bearer,
            };
        }
        match cookie_token(headers, &self.cookie) {
            Some(t) => Caller {
                role: self.role_of(&t).ok_or(NoRole::WrongToken {
                    roles,
                    cookie: true,
                }),
                via: Via::Cookie,
            },
            None => Caller {
                role: Err(NoRole::NoToken),
                via: Via::Nothing,
            },
        }
    }

    /// `Set-Cookie` that hands `token` to the browser: HttpOnly (no script reads
    /// it), SameSite=Strict (no other site's page sends it), for the whole
    /// dashboard, until the browser closes. `Secure` over HTTPS (the browser
    /// never sends it over plain http); over plain HTTP not, or it would never
    /// come back.
    pub fn set_cookie(&self, token: &str) -> HeaderValue {
        let value = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict{}",
            self.cookie,
            hex(token.as_bytes()),
            self.secure_attribute()
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// `Set-Cookie` that removes the cookie.
    pub fn clear_cookie(&self) -> HeaderValue {
        let value = format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict{}; Max-Age=0",
            self.cookie,
            self.secure_attribute()
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    fn secure_attribute(&self) -> &'static str {
        if self.secure { "; Secure" } else { "" }
    }

    /// Whether `method path` needs a token to be read: only with a viewer token,
    /// never the sign-in (`POST /api/session`), and not `/metrics` when it was
    /// left open.
    fn read_needs_token(&self, method: &Method, path: &str) -> bool {
        if self.viewer.is_none() {
            return false;
        }
        if path == "/api/session" && method == Method::POST {
            return false;
        }
        !(path == "/metrics" && self.metrics_open)
    }
}

/// The token of `Authorization: Bearer TOKEN`, the scheme in any case.
fn bearer(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?.trim();
    let (scheme, token) = text.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The token in cookie `name` (hex, as [`Guard::set_cookie`] wrote it).
fn cookie_token(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| unhex(v))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<String> {
    if text.is_empty() || text.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// Compares without stopping at the first difference, so timing tells nothing.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, &x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0 && !b.is_empty()
}

/// A write authenticated by the cookie must come from the dashboard's own page:
/// JSON (a form cannot send it without a CORS preflight, which this server never
/// approves) from the same origin (`Origin` is the Host; `Sec-Fetch-Site`, when
/// the browser sends it, says same-origin). SameSite=Strict already keeps other
/// sites' pages from sending the cookie; this also refuses a page on another port
/// of the same host (same site, other origin). A bearer header needs none of it:
/// no page can make a browser send one to another origin. Over HTTPS (`secure`)
/// the origin must be `https://` too.
pub(crate) fn same_origin(headers: &HeaderMap, secure: bool) -> Result<(), String> {
    const HOW: &str = "commands with the dashboard's cookie are taken only from its own page; scripts send Authorization: Bearer TOKEN";
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let json = text(header::CONTENT_TYPE).is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Err(format!("not Content-Type: application/json: {HOW}"));
    }
    let host = text(header::HOST).unwrap_or("");
    match text(header::ORIGIN) {
        None => return Err(format!("no Origin header: {HOW}")),
        Some(origin) => {
            let from = match origin.strip_prefix("https://") {
                Some(h) => Some(h),
                None if secure => None,
                None => origin.strip_prefix("http://"),
            };
            if !from.is_some_and(|h| h.eq_ignore_ascii_case(host)) {
                return Err(format!("from another origin ({origin}): {HOW}"));
            }
        }
    }
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        if site != "same-origin" {
            return Err(format!(
                "from another origin (Sec-Fetch-Site: {site}): {HOW}"
            ));
        }
    }
    Ok(())
}

/// The Host names a request may carry (DNS rebinding: a page at evil.example whose
/// name turns into this machine's address would send `Host: evil.example`).
#[derive(Debug)]
pub(crate) struct HostList {
    port: u16,
    /// Lower-case host names and addresses (IPv6 in brackets), any with `port`.
    names: Vec<String>,
    /// `name:port` given as such (a reverse proxy's public name and port).
    exact: Vec<String>,
    /// Listening on every address: the address a request arrived on is allowed.
    wildcard: bool,
}

impl HostList {
    /// `localhost`, `127.0.0.1`, `[::1]`, the listening address and `extra`
    /// (`--allowed-host`: `NAME` with the listening port, or `NAME:PORT`).
    pub fn new(listening: SocketAddr, extra: &[String]) -> HostList {
        let mut names: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .map(str::to_string)
            .to_vec();
        let ip = listening.ip();
        if !ip.is_unspecified() {
            names.push(ip_host(ip));
        }
        let mut exact = Vec::new();
        for e in extra {
            let e = e.trim().trim_end_matches('.').to_ascii_lowercase();
            match split_host(&e) {
                Some((_, Some(_))) => exact.push(e),
                _ => names.push(e),
            }
        }
        HostList {
            port: listening.port(),
            names,
            exact,
            wildcard: ip.is_unspecified(),
        }
    }

    /// Whether `host` (a Host header) names this dashboard; `local` is the address
    /// the request arrived on.
    pub fn allows(&self, host: &str, local: Option<IpAddr>) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let Some((name, port)) = split_host(&host) else {
            return false;
        };
        let name = name.trim_end_matches('.');
        // A Host without a port is taken for this one: HTTP/1.0 tools and reverse
        // proxies (nginx's `$host`) leave it out, and what rebinding changes is the
        // name, not the port.
        let port_ok = port.is_none_or(|p| p == self.port);
        if port_ok && self.names.iter().any(|n| n == name) {
            return true;
        }
        if let Some(p) = port {
            if self.exact.iter().any(|e| *e == format!("{name}:{p}")) {
                return true;
            }
        }
        let arrived_on = local.map(|ip| ip_host(ip.to_canonical()));
        self.wildcard && port_ok && arrived_on.as_deref() == Some(name)
    }
}

/// `1.2.3.4` or `[::1]`, as in a Host header.
fn ip_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `name` and the port of a Host header (`[v6]:port`, `name:port`, `name`).
fn split_host(host: &str) -> Option<(&str, Option<u16>)> {
    if host.is_empty() {
        return None;
    }
    let (name, port) = if host.starts_with('[') {
        let end = host.find(']')?;
        let (name, rest) = host.split_at(end + 1);
        match rest {
            "" => (name, None),
            r => (name, Some(r.strip_prefix(':')?)),
        }
    } else {
        match host.rsplit_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (host, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    (!name.is_empty()).then_some((name, port))
}

/// The address a connection arrived on (for a dashboard listening on every
/// address): `axum::serve` hands it to each request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Local(pub Option<SocketAddr>);

impl Connected<axum::serve::IncomingStream<'_>> for Local {
    fn connect_info(stream: axum::serve::IncomingStream<'_>) -> Local {
        Local(stream.local_addr().ok())
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

/// Every request: the Host check, the URL token's exchange, the read gate; then
/// the security headers on whatever the answer is.
pub(crate) async fn protect(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let response = match check(&app, &mut req) {
        Some(refused) => refused,
        None => next.run(req).await,
    };
    with_headers(response)
}

/// `Some`: the request is answered here (refused, or the token exchanged).
fn check(app: &App, req: &mut Request) -> Option<Response> {
    let guard = &app.guard;
    let local = req
        .extensions()
        .get::<ConnectInfo<Local>>()
        .and_then(|c| c.0.0)
        .map(|a| a.ip());
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    if !guard.hosts.allows(&host, local) {
        tracing::warn!(host = %host.escape_debug(), "request refused: Host not allowed");
        let lower = host.to_ascii_lowercase();
        let name = split_host(&lower).map_or("NAME", |(n, _)| n);
        let body = if name != "NAME" && guard.hosts.allows(name, local) {
            format!(
                "This dashboard listens on port {}, not the one in `{}`: open the address `winter-river up` printed (a reverse proxy: --allowed-host {name}:PORT with its public port).\n",
                guard.hosts.port,
                host.escape_debug()
            )
        } else {
            format!(
                "This dashboard does not answer to the name `{}`. If that is how you reach it (the Pi's hostname, a reverse proxy), start it with --allowed-host {name}; otherwise open the address `winter-river up` printed. (A name the dashboard does not know is how DNS rebinding reaches it from a web page.)\n",
                host.escape_debug()
            )
        };
        let r = (
            StatusCode::MISDIRECTED_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response();
        return Some(r);
    }
    let caller = guard.caller(req.headers());
    if req.method() == Method::GET && req.uri().path() == "/" {
        if let Some(r) = exchange(guard, req.uri().query()) {
            return Some(r);
        }
    }
    if guard.read_needs_token(req.method(), req.uri().path()) {
        if let Err(no) = caller.role {
            let mut r = if req.uri().path() == "/" {
                page_refusal(no)
            } else {
                no.into_response()
            };
            if caller.via == Via::Cookie {
                r.headers_mut()
                    .insert(header::SET_COOKIE, guard.clear_cookie());
            }
            return Some(r);
        }
    }
    req.extensions_mut().insert(caller);
    None
}

/// `GET /?token=…`: a valid token becomes the cookie and the browser is sent to
/// the same page without it (303), so the token leaves the address bar, the
/// history, the page's scripts and every Referer; a wrong one is refused, saying
/// so. `None`: no token in the query.
fn exchange(guard: &Guard, query: Option<&str>) -> Option<Response> {
    let query = query?;
    let mut token = None;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("token", v)) => token = Some(percent_decode(v)),
            _ if pair == "token" => token = Some(String::new()),
            _ => rest.push(pair),
        }
    }
    let token = token?;
    let location = if rest.is_empty() {
        "/".to_string()
    } else {
        format!("/?{}", rest.join("&"))
    };
    if guard.role_of(&token).is_none() {
        let body = "This link's token is not one of this dashboard's (viewer, operator or instructor). A start without --token makes new tokens: open the dashboard URL `winter-river up` (or `web`) printed this time.\n";
        return Some(
            (
                StatusCode::FORBIDDEN,
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response(),
        );
    }
    let mut r = (
        StatusCode::SEE_OTHER,
        [(header::CACHE_CONTROL, "no-store")],
        "",
    )
        .into_response();
    let h = r.headers_mut();
    h.insert(header::SET_COOKIE, guard.set_cookie(&token));
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    Some(r)
}

/// The page itself, refused for want of a token: words for a person, not JSON.
fn page_refusal(no: NoRole) -> Response {
    let (status, text) = match no {
        NoRole::WrongToken { .. } => (
            StatusCode::FORBIDDEN,
            "This browser holds a token this dashboard does not know (from an earlier start: a start without --viewer-token or --token makes new ones). Open the dashboard URL `winter-river up` printed this time (…/?token=…).\n",
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            "This dashboard is read with a token (it was started with --viewer-token). Open the URL you were given (…/?token=…): the viewers', the operators' or the instructor's, as `winter-river up` printed them.\n",
        ),
    };
    let mut r = (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"winter-river\""),
        );
    }
    r
}

/// `%XX` and `+` of a query value.
fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let byte = v
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match byte {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The security headers, on every answer; a handler's own policy (the debrief
/// page's) is kept.
fn with_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in set {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    r
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"", b""));
    }

    #[test]
    fn bearer_scheme_in_any_case() {
        for ok in ["Bearer t", "bearer t", "BEARER t", "BeArEr   t "] {
            assert_eq!(
                bearer(&HeaderValue::from_str(ok).unwrap()),
                Some("t"),
                "{ok}"
            );
        }
        for bad in ["Basic t", "Bearer", "Bearert", "Bearer  "] {
            assert_eq!(bearer(&HeaderValue::from_str(bad).unwrap()), None, "{bad}");
        }
    }

    #[test]
    fn cookie_values_round_trip_any_allowed_token() {
        let token = "a;b,c\"d\\e=f%g";
        assert_eq!(unhex(&hex(token.as_bytes())).as_deref(), Some(token));
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("abc"), None);
    }

    #[test]
    fn host_list() {
        // Host headers only, with documentation addresses (RFC 5737): nothing is sent.
        let specific = HostList::new("198.51.100.1:8080".parse().unwrap(), &[]);
        for ok in [
            "localhost:8080",
            "LOCALHOST:8080",
            "localhost.:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
            "198.51.100.1:8080",
        ] {
            assert!(specific.allows(ok, None), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "localhost:8081",
            "localhost:80",
            "198.51.100.2:8080",
            "",
            "[::1:8080",
            "localhost:x",
        ] {
            assert!(!specific.allows(bad, None), "{bad}");
        }
        let extra = ["Pi.Local".to_string(), "wr.example.org:443".to_string()];
        let wild = HostList::new("0.0.0.0:8080".parse().unwrap(), &extra);
        assert!(wild.allows("pi.local:8080", None));
        assert!(!wild.allows("pi.local:9000", None));
        assert!(wild.allows("wr.example.org:443", None));
        assert!(!wild.allows("wr.example.org:8080", None));
        // Every address: the one a request arrived on, not any other.
        let on: IpAddr = "198.51.100.7".parse().unwrap();
        assert!(wild.allows("198.51.100.7:8080", Some(on)));
        assert!(!wild.allows("198.51.100.8:8080", Some(on)));
        let mapped: IpAddr = "::ffff:198.51.100.7".parse().unwrap();
        assert!(wild.allows("198.51.100.7:8080", Some(mapped)));
        assert!(!specific.allows("198.51.100.7:8080", Some(on)));
        // The port may be left out; a wrong one is refused.
        assert!(specific.allows("localhost", None));
        assert!(wild.allows("pi.local", None));
        assert!(!wild.allows("evil.example", None));
        let eighty = HostList::new("127.0.0.1:80".parse().unwrap(), &[]);
        assert!(eighty.allows("localhost:80", None));
        assert!(!eighty.allows("localhost:8080", None));
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(percent_decode("a%2Bb+c%"), "a+b c%");
    }
}
