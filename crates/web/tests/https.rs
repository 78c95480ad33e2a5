//! The dashboard over HTTPS (`WebConfig::tls`, a certificate of
//! `winter_river_tls::self_signed`): a client that trusts the certificate gets
//! the page and the API with every security header, the URL token becomes a
//! `Secure` cookie, cookie writes must come from the `https://` origin; a client
//! with another CA is refused in the handshake, and plain HTTP to the port gets a
//! sentence saying to use https://. And in Chromium (told to trust the
//! certificate's key, as a browser that imported cert.pem would): the page, the
//! cookie `Secure` in its jar, a command sent with it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use util::{Browser, Stack, TOKEN, fresh_dir, request_full, request_tls, tls_connect};
use winter_river_testkit::site::SiteTopology;

/// A certificate for 127.0.0.1 in a fresh folder: (cert.pem, key.pem).
fn pair(name: &str) -> (PathBuf, PathBuf) {
    let files = winter_river_tls::write_self_signed(&fresh_dir(name), &["127.0.0.1".into()], false)
        .unwrap();
    (files.cert, files.key)
}

async fn https_stack() -> (Stack, PathBuf) {
    let (cert, key) = pair("https");
    let config = winter_river_tls::server_config(&cert, &key).unwrap();
    let stack = Stack::web_only_with(move |c| c.tls = Some(config)).await;
    (stack, cert)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trusts_the_certificate_gets_the_dashboard_with_its_headers() {
    let (stack, ca) = https_stack().await;
    let addr = stack.http;
    let (status, h, body) = request_tls(addr, &ca, "GET", "/", &[], b"").await;
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&body).contains("<html"),
        "not the page"
    );
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(
            h.get(name).map(String::as_str),
            Some(value),
            "{name}: {h:?}"
        );
    }
    assert!(h["content-security-policy"].contains("frame-ancestors 'none'"));
    let (status, _, body) = request_tls(addr, &ca, "GET", "/api/schema", &[], b"").await;
    assert_eq!(status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    // The Host check holds over TLS too.
    let (status, _, _) = request_tls(addr, &ca, "GET", "/", &[("Host", "evil.example")], b"").await;
    assert_eq!(status, 421);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_url_token_becomes_a_secure_cookie_and_cookie_writes_need_the_https_origin() {
    let (stack, ca) = https_stack().await;
    let addr = stack.http;
    let (status, h, _) = request_tls(addr, &ca, "GET", &format!("/?token={TOKEN}"), &[], b"").await;
    assert_eq!(status, 303);
    let set = &h["set-cookie"];
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(
            set.split("; ").any(|a| a == attribute),
            "{attribute} in {set}"
        );
    }
    let cookie = set.split(';').next().unwrap().to_string();
    let sign_in = |origin: String| {
        let cookie = cookie.clone();
        let ca = ca.clone();
        async move {
            let headers = [
                ("Cookie", cookie.as_str()),
                ("Content-Type", "application/json"),
                ("Origin", origin.as_str()),
            ];
            request_tls(
                addr,
                &ca,
                "POST",
                "/api/session",
                &headers,
                b"{\"token\":null}",
            )
            .await
        }
    };
    let (status, _, body) = sign_in(format!("http://{addr}")).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    let (status, h, _) = sign_in(format!("https://{addr}")).await;
    assert_eq!(status, 200);
    // Signing out clears the cookie with the same attributes.
    assert!(h["set-cookie"].contains("; Secure") && h["set-cookie"].contains("Max-Age=0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_ca_is_refused_and_plain_http_is_told_to_use_https() {
    let (stack, _ca) = https_stack().await;
    let addr = stack.http;
    let (other, _) = pair("other-ca");
    let e = tls_connect(addr, &other, "127.0.0.1").await.unwrap_err();
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
    let (status, h, body) = request_full(addr, "GET", &format!("/?token={TOKEN}"), &[], b"").await;
    assert_eq!(status, 400);
    assert!(!h.contains_key("set-cookie"));
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("https://"), "{text}");
    // The dashboard still serves after both.
    let (status, _, _) = request_tls(addr, &_ca, "GET", "/api/schema", &[], b"").await;
    assert_eq!(status, 200);
}

/// Chromium's `--ignore-certificate-errors-spki-list` pin of the key in `key_pem`:
/// base64 of the SHA-256 of its SubjectPublicKeyInfo.
fn spki_pin(key_pem: &Path) -> String {
    let key = rcgen::KeyPair::from_pem(&std::fs::read_to_string(key_pem).unwrap()).unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, &key.public_key_der());
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

/// JavaScript: the status a diagram element shows for `id`.
fn shown_status(id: &str) -> String {
    format!("(document.querySelector('[data-id=\"{id}\"]') || {{}}).getAttribute?.('data-status')")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_gets_the_dashboard_over_https_with_a_secure_cookie() {
    let (cert, key) = pair("chromium");
    let config = winter_river_tls::server_config(&cert, &key).unwrap();
    let stack = Stack::start_configured(SiteTopology::Default, move |c| c.tls = Some(config)).await;
    let addr = stack.http;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, body) = request_tls(addr, &cert, "GET", "/api/state", &[], b"").await;
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let nodes = v["nodes"].as_array().cloned().unwrap_or_default();
        if status == 200 && !nodes.is_empty() && nodes.iter().all(|n| n["status"].is_string()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every node reported over HTTPS"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pin = format!("--ignore-certificate-errors-spki-list={}", spki_pin(&key));
    let mut b = Browser::launch_with(1280, 900, &[&pin]).await;
    let base = format!("https://{addr}");
    b.goto(&format!("{base}/?token={TOKEN}")).await;
    b.wait_for(
        &format!(
            "{} === 'ok' && document.getElementById('mode').textContent === 'Operator'",
            shown_status("util_a")
        ),
        Duration::from_secs(15),
        "util_a shown and operator mode from the cookie, over HTTPS",
    )
    .await;
    assert_eq!(b.eval("location.href").await, format!("{base}/"));
    assert_eq!(b.eval("window.isSecureContext").await, true);
    let cookies = b
        .call(
            "Network.getCookies",
            serde_json::json!({"urls": [format!("{base}/")]}),
        )
        .await;
    let cookies = cookies["cookies"].as_array().unwrap();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert_eq!(cookies[0]["secure"], true);
    assert_eq!(cookies[0]["httpOnly"], true);
    assert_eq!(cookies[0]["sameSite"], "Strict");
    assert_eq!(
        b.eval("window.winterRiver.sendCommand('util_a', 'set_fault', {state: true})")
            .await,
        true
    );
    b.wait_for(
        &format!("{} === 'fault'", shown_status("util_a")),
        Duration::from_secs(5),
        "util_a failed by the cookie's command over HTTPS",
    )
    .await;
    assert!(b.errors().is_empty(), "page errors: {:?}", b.errors());
}
