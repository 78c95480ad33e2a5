//! `deploy/mosquitto_setup.sh` against a real Mosquitto on free loopback ports: the
//! config it writes starts the broker, and a status crosses from a TCP client
//! (mosquitto_pub / mosquitto_sub) to a WebSocket client (the workspace's `Link`) and
//! back. Loopback only.

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use winter_river_mqtt::{BrokerUrl, Link, LinkEvent, LinkOptions};
use winter_river_protocol::{
    DEFAULT_PREFIX, Qos, Topic, decode_status, decode_system_status, encode_status,
    encode_system_status, status_filter,
};

use crate::util::{free_port, full_status, full_system_status, output, repo, require_tool, text};

const LOOPBACK: &str = "127.0.0.1";

/// A temp dir Mosquitto can read after dropping root to its own user.
fn readable_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// Runs mosquitto_setup.sh into `dir`; returns its standard output.
fn setup(dir: &Path, port: u16, ws_port: u16, extra: &[&str]) -> String {
    let out = output(
        Command::new("bash")
            .arg(repo().join("deploy/mosquitto_setup.sh"))
            .arg("--conf-dir")
            .arg(dir)
            .args([
                "--port",
                &port.to_string(),
                "--ws-port",
                &ws_port.to_string(),
            ])
            .args(["--bind", LOOPBACK, "--no-restart"])
            .args(extra),
    );
    assert!(
        out.status.success(),
        "mosquitto_setup.sh failed:\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running Mosquitto, killed on drop.
struct Broker {
    child: Child,
    log: PathBuf,
}

impl Broker {
    fn start(conf: &Path, ports: &[u16]) -> Broker {
        let mosquitto = require_tool("mosquitto", "mosquitto");
        let log = conf.with_extension("log");
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(mosquitto)
            .arg("-c")
            .arg(conf)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start mosquitto");
        let mut broker = Broker { child, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        for &port in ports {
            loop {
                if let Ok(Some(status)) = broker.child.try_wait() {
                    panic!(
                        "mosquitto exited ({status}) with this config:\n{}",
                        broker.log()
                    );
                }
                if TcpStream::connect((LOOPBACK, port)).is_ok() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "mosquitto does not listen on {LOOPBACK}:{port}:\n{}",
                    broker.log()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        broker
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebSocket client connected to the broker.
async fn ws_link(port: u16, id: &str) -> Link {
    let mut link = Link::connect(&BrokerUrl::ws(LOOPBACK, port), &LinkOptions::new(id));
    let connected = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match link.recv().await {
                Some(LinkEvent::Connected) => return Ok(()),
                Some(LinkEvent::Disconnected { reason }) => {
                    if reason.contains("refused") {
                        return Err(reason);
                    }
                }
                Some(LinkEvent::Message { .. }) => {}
                None => return Err("link closed".to_string()),
            }
        }
    })
    .await;
    match connected {
        Ok(Ok(())) => link,
        Ok(Err(e)) => panic!("WebSocket client cannot connect to ws://{LOOPBACK}:{port}/mqtt: {e}"),
        Err(_) => panic!("WebSocket client: no CONNACK from ws://{LOOPBACK}:{port}/mqtt in 10 s"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_from_the_setup_script_passes_statuses_between_tcp_and_websocket() {
    let pub_bin = require_tool("mosquitto_pub", "mosquitto-clients");
    let sub_bin = require_tool("mosquitto_sub", "mosquitto-clients");
    let dir = readable_tempdir();
    let (port, ws_port) = (free_port(), free_port());
    let first = setup(dir.path(), port, ws_port, &[]);
    assert!(first.contains("wrote"), "{first}");
    let conf = dir.path().join("winter-river.conf");
    let written = std::fs::read_to_string(&conf).expect("the config was written");
    assert!(
        written.contains(&format!("listener {port} {LOOPBACK}")),
        "{written}"
    );
    assert!(written.contains("protocol websockets"), "{written}");
    assert!(written.contains("allow_anonymous true"), "{written}");
    // Idempotent: a second run leaves the file alone.
    let mtime = std::fs::metadata(&conf)
        .and_then(|m| m.modified())
        .expect("mtime");
    let second = setup(dir.path(), port, ws_port, &[]);
    assert!(second.contains("unchanged"), "{second}");
    assert_eq!(
        std::fs::metadata(&conf)
            .and_then(|m| m.modified())
            .expect("mtime"),
        mtime
    );

    let broker = Broker::start(&conf, &[port, ws_port]);
    let port_s = port.to_string();

    // TCP → WebSocket: a node status published with mosquitto_pub reaches the Link.
    let mut link = ws_link(ws_port, "deploy-check-ws").await;
    link.subscribe(&status_filter(DEFAULT_PREFIX), Qos::AtMostOnce)
        .expect("subscribe");
    let status = full_status();
    let topic = Topic::NodeStatus(status.node_id.clone()).to_topic(DEFAULT_PREFIX);
    let payload = String::from_utf8(encode_status(&status).expect("encodes")).expect("UTF-8");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let received = 'outer: loop {
        // QoS 0 and no retain (docs/protocol.md): publish until the subscription is in place.
        let (b, p, t, m) = (
            pub_bin.clone(),
            port_s.clone(),
            topic.clone(),
            payload.clone(),
        );
        let out = tokio::task::spawn_blocking(move || {
            output(Command::new(b).args(["-h", LOOPBACK, "-p", &p, "-t", &t, "-m", &m]))
        })
        .await
        .expect("join");
        assert!(
            out.status.success(),
            "mosquitto_pub failed:\n{}\n{}",
            text(&out),
            broker.log()
        );
        let wait = tokio::time::sleep(Duration::from_millis(300));
        tokio::pin!(wait);
        loop {
            tokio::select! {
                ev = link.recv() => match ev {
                    Some(LinkEvent::Message { topic: t, payload }) => break 'outer (t, payload),
                    Some(_) => {}
                    None => panic!("the WebSocket link closed:\n{}", broker.log()),
                },
                () = &mut wait => break,
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no status reached the WebSocket client in 10 s:\n{}",
            broker.log()
        );
    };
    assert_eq!(received.0, topic);
    assert_eq!(
        decode_status(&status.node_id, &received.1).expect("a valid Status"),
        status
    );

    // WebSocket → TCP: the system status (retained, as the engine publishes it)
    // reaches mosquitto_sub.
    let system = full_system_status();
    let sys_topic = Topic::SystemStatus.to_topic(DEFAULT_PREFIX);
    let sub = Command::new(sub_bin)
        .args([
            "-h", LOOPBACK, "-p", &port_s, "-t", &sys_topic, "-C", "1", "-W", "10",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mosquitto_sub");
    link.publish(
        &sys_topic,
        encode_system_status(&system).expect("encodes"),
        Topic::SystemStatus.qos(),
        Topic::SystemStatus.retain(),
    )
    .expect("publish");
    let out = tokio::task::spawn_blocking(move || sub.wait_with_output())
        .await
        .expect("join")
        .expect("mosquitto_sub ran");
    assert!(
        out.status.success(),
        "mosquitto_sub got nothing:\n{}\n{}",
        text(&out),
        broker.log()
    );
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        decode_system_status(line.trim_end().as_bytes()).expect("a valid SystemStatus"),
        system
    );
    link.disconnect(Duration::from_secs(2)).await;
    drop(broker);
}

#[test]
fn mosquitto_with_a_password_file_refuses_anonymous_clients() {
    let pub_bin = require_tool("mosquitto_pub", "mosquitto-clients");
    let passwd_bin = require_tool("mosquitto_passwd", "mosquitto");
    let dir = readable_tempdir();
    let passwd = dir.path().join("passwd");
    let made = output(
        Command::new(passwd_bin)
            .args(["-b", "-c"])
            .arg(&passwd)
            .args(["board", "s3cret"]),
    );
    assert!(made.status.success(), "mosquitto_passwd:\n{}", text(&made));
    std::fs::set_permissions(&passwd, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (port, ws_port) = (free_port(), free_port());
    let passwd_arg = passwd.display().to_string();
    setup(dir.path(), port, ws_port, &["--password-file", &passwd_arg]);
    let conf = dir.path().join("winter-river.conf");
    let written = std::fs::read_to_string(&conf).expect("written");
    assert!(written.contains("allow_anonymous false"), "{written}");
    assert!(
        written.contains(&format!("password_file {passwd_arg}")),
        "{written}"
    );

    let broker = Broker::start(&conf, &[port, ws_port]);
    let publish = |user: Option<(&str, &str)>| {
        let mut cmd = Command::new(&pub_bin);
        cmd.args(["-h", LOOPBACK, "-p", &port.to_string(), "-q", "1"])
            .args(["-t", "winter-river/pdu_a/status", "-m", "{}"]);
        if let Some((u, p)) = user {
            cmd.args(["-u", u, "-P", p]);
        }
        output(&mut cmd)
    };
    let anonymous = publish(None);
    assert!(
        !anonymous.status.success(),
        "an anonymous client was accepted:\n{}\n{}",
        text(&anonymous),
        broker.log()
    );
    let user = publish(Some(("board", "s3cret")));
    assert!(
        user.status.success(),
        "a user of the password file was refused:\n{}\n{}",
        text(&user),
        broker.log()
    );
}
