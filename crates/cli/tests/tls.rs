//! TLS from the command line: `cert` writes a pair and says what goes where;
//! `--tls-cert`/`--tls-key` and `--ca` refuse bad files naming them and why; and
//! end to end, `up` against a real Mosquitto over mqtts:// (its engine, boards and
//! web all on TLS) with the dashboard on HTTPS, a CLI command over mqtts:// taking
//! effect, and the dashboard read by a client that trusts the certificate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod run;
use run::{assert_exit, path_str, stderr, stdout, wr};
use winter_river_testkit::{Mosquitto, MosquittoOptions, mosquitto_available};

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-tls-tests")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(unix)]
#[test]
fn cert_writes_a_private_key_and_says_what_goes_where() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch("cert");
    let out = dir.join("tls");
    let o = wr(&[
        "cert",
        "--out",
        path_str(&out),
        "--host",
        "198.51.100.1",
        "--host",
        "pi.local",
    ]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    for needle in [
        "198.51.100.1, pi.local, localhost, 127.0.0.1, ::1",
        "--tls-cert",
        "--broker mqtts://198.51.100.1:8883 --ca",
        "tls_ca",
        "tlsCACert",
    ] {
        assert!(text.contains(needle), "`{needle}` not in\n{text}");
    }
    let mode = std::fs::metadata(out.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    winter_river_tls::server_config(&out.join("cert.pem"), &out.join("key.pem")).unwrap();
    let o = wr(&["cert", "--out", path_str(&out), "--host", "198.51.100.1"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("cert.pem already exists") && stderr(&o).contains("--force"));
    assert_exit(
        &wr(&[
            "cert",
            "--out",
            path_str(&out),
            "--host",
            "198.51.100.1",
            "--force",
        ]),
        0,
    );
    let o = wr(&[
        "cert",
        "--out",
        path_str(&out),
        "--host",
        "https://pi.local",
        "--force",
    ]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("`https://pi.local`"), "{}", stderr(&o));
}

#[test]
fn bad_tls_files_and_a_ca_without_tls_are_refused_naming_them() {
    let dir = scratch("bad-files");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    assert_exit(
        &wr(&["cert", "--out", path_str(&dir), "--host", "127.0.0.1"]),
        0,
    );
    let missing = dir.join("missing.pem");
    let web = |cert: &Path, key: &Path| {
        wr(&[
            "web",
            "--http",
            "127.0.0.1:0",
            "--broker",
            "mqtt://127.0.0.1:1",
            "--tls-cert",
            path_str(cert),
            "--tls-key",
            path_str(key),
        ])
    };
    for (o, file, reason) in [
        (web(&missing, &key), &missing, "cannot read"),
        (web(&key, &cert), &key, "swapped"),
    ] {
        assert_exit(&o, 2);
        let e = stderr(&o);
        assert!(
            e.contains("--tls-cert/--tls-key") && e.contains(path_str(file)),
            "{e}"
        );
        assert!(e.contains(reason), "{e}");
    }
    let o = wr(&[
        "web",
        "--http",
        "127.0.0.1:0",
        "--tls-cert",
        path_str(&cert),
    ]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("--tls-key"), "{}", stderr(&o));
    let o = wr(&[
        "fault",
        "util_a",
        "on",
        "--broker",
        "mqtt://127.0.0.1:1",
        "--ca",
        path_str(&cert),
    ]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("--ca is for a broker over TLS"),
        "{}",
        stderr(&o)
    );
    let o = wr(&[
        "fault",
        "util_a",
        "on",
        "--broker",
        "mqtts://127.0.0.1:1",
        "--ca",
        path_str(&missing),
    ]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains(path_str(&missing)), "{}", stderr(&o));
}

/// `up` with `args`; its stdout lines up to the `watch` line, then the child.
fn up_until_watch(dir: &Path, args: &[&str]) -> (Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_winter-river"))
        .args(["up", "--state", "none", "--http", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lines = Vec::new();
    for line in reader.by_ref() {
        let line = line.unwrap();
        let last = line.trim_start().starts_with("watch ");
        lines.push(line);
        if last {
            break;
        }
    }
    std::thread::spawn(move || reader.for_each(drop));
    (child, lines)
}

/// One GET over HTTPS to `addr`, trusting `ca`: status, head (lower case), body.
fn https_get(addr: &str, ca: &Path, path: &str, headers: &[&str]) -> (u16, String, String) {
    let config = winter_river_tls::client_config(Some(ca)).unwrap();
    let name = winter_river_tls::rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = winter_river_tls::rustls::ClientConnection::new(Arc::clone(&config), name).unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut s = winter_river_tls::rustls::StreamOwned::new(conn, tcp);
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn up_over_mqtts_with_an_https_dashboard_works_end_to_end() {
    if !mosquitto_available() {
        eprintln!("skipped: mosquitto is not installed");
        return;
    }
    let m = Mosquitto::start_with(&MosquittoOptions {
        tls: true,
        ..MosquittoOptions::default()
    })
    .unwrap();
    let ca = m.ca_file().unwrap().to_path_buf();
    let key = m.key_file().unwrap();
    let broker = format!("mqtts://127.0.0.1:{}", m.tls_port().unwrap());
    let dir = scratch("up-e2e");
    let (mut child, lines) = up_until_watch(
        &dir,
        &[
            "--broker",
            &broker,
            "--ca",
            path_str(&ca),
            "--token",
            "op-tok",
            "--tls-cert",
            path_str(&ca),
            "--tls-key",
            path_str(&key),
        ],
    );
    let text = lines.join("\n");
    let dashboard = lines
        .iter()
        .find_map(|l| l.trim_start().strip_prefix("dashboard"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no dashboard line in\n{text}"));
    let rest = dashboard
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("{text}"));
    let addr = rest[..rest.find('/').unwrap()].to_string();
    assert!(
        text.contains(&format!("--broker {broker} --ca {}", ca.display())),
        "{text}"
    );
    assert!(text.contains("--dashboard-ca"), "{text}");
    let (status, head, _) = https_get(&addr, &ca, "/?token=op-tok", &[]);
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("; secure"), "{head}");
    // A CLI command over mqtts:// reaches the engine (over mqtts:// too), whose
    // answer reaches the dashboard (over mqtts:// as well).
    let util_a_becomes = |wanted: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, _, body) =
                https_get(&addr, &ca, "/api/state", &["Authorization: Bearer op-tok"]);
            let state: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let util_a = state["nodes"]
                .as_array()
                .and_then(|nodes| nodes.iter().find(|n| n["node_id"] == "util_a"))
                .map(|n| n["status"].clone());
            if status == 200 && util_a == Some(serde_json::json!(wanted)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "util_a never {wanted} on the dashboard: {status} {body}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    util_a_becomes("ok");
    let o = wr(&[
        "fault",
        "util_a",
        "on",
        "--broker",
        &broker,
        "--ca",
        path_str(&ca),
    ]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("util_a"), "{}", stdout(&o));
    util_a_becomes("fault");
    child.kill().unwrap();
    let _ = child.wait();
}

/// `up` with the embedded broker and a certificate: the broker's mqtts and wss listeners
/// carry CLI commands (confirmed by the engine, so they went through the broker both ways)
/// and the dashboard, over HTTPS, shows their effect.
#[test]
fn up_with_the_embedded_broker_serves_mqtts_and_wss() {
    let dir = scratch("up-embedded-tls");
    let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
    let files = winter_river_tls::write_self_signed(&dir, &hosts, false).unwrap();
    let (cert, key) = (files.cert.clone(), files.key.clone());
    let ports: Vec<String> = (0..4)
        .map(|_| winter_river_testkit::free_port().unwrap().to_string())
        .collect();
    let (mut child, lines) = up_until_watch(
        &dir,
        &[
            "--bind",
            "127.0.0.1",
            "--mqtt-port",
            &ports[0],
            "--ws-port",
            &ports[1],
            "--mqtts-port",
            &ports[2],
            "--wss-port",
            &ports[3],
            "--token",
            "op-tok",
            "--tls-cert",
            path_str(&cert),
            "--tls-key",
            path_str(&key),
        ],
    );
    let text = lines.join("\n");
    let mqtts = format!("mqtts://127.0.0.1:{}", ports[2]);
    let wss = format!("wss://127.0.0.1:{}/mqtt", ports[3]);
    assert!(text.contains(&mqtts) && text.contains(&wss), "{text}");
    for (broker, on) in [(&mqtts, "on"), (&wss, "off")] {
        let o = wr(&[
            "fault",
            "util_a",
            on,
            "--broker",
            broker,
            "--ca",
            path_str(&cert),
        ]);
        assert_exit(&o, 0);
        assert!(
            stdout(&o).contains("applied"),
            "over {broker}: {}",
            stdout(&o)
        );
    }
    // A client that does not trust the certificate is refused, saying so.
    let o = wr(&["fault", "util_a", "on", "--broker", &mqtts]);
    assert!(!o.status.success(), "{}", stdout(&o));
    // The dashboard, over HTTPS with the same certificate, shows util_a back to normal.
    let dashboard = lines
        .iter()
        .find_map(|l| l.trim_start().strip_prefix("dashboard"))
        .map(str::trim)
        .and_then(|d| d.strip_prefix("https://"))
        .unwrap_or_else(|| panic!("no https dashboard line in\n{text}"));
    let addr = &dashboard[..dashboard.find('/').unwrap_or(dashboard.len())];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) =
            https_get(addr, &cert, "/api/state", &["Authorization: Bearer op-tok"]);
        let state: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let util_a = state["nodes"]
            .as_array()
            .and_then(|nodes| nodes.iter().find(|n| n["node_id"] == "util_a"))
            .map(|n| n["status"].clone());
        if status == 200 && util_a == Some(serde_json::json!("ok")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "util_a never ok over HTTPS: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    let _ = child.wait();
}
