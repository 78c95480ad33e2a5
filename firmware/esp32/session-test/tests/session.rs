//! The ESP32 firmware's MQTT session (`firmware/esp32/src/mqtt.rs`, included as is with
//! `#[path]`) run on real sockets: an embassy-net/smoltcp IP stack on a Linux TAP device,
//! against a real Mosquitto and against the embedded broker, driving a
//! `NodeCore` the way the firmware's main loop does (`src/bin/main.rs`).
//!
//! What it proves, for each broker, as seen by a controller client on the broker:
//! (a) after CONNECT (with the node's Last Will) the board's retained `online` is on
//! its availability topic (a late subscriber gets it); (b) the board's status (JSON,
//! `node_id` srv_a) arrives; the session then survives an idle stretch of three
//! keep-alive intervals on its own PINGREQs (no Will, no session error); (c) a QoS 1
//! `set_fault` command published by the controller reaches the board through its
//! subscription and the board answers with a status whose status word is `fault`;
//! (d) when the board's socket is aborted without DISCONNECT the broker publishes the
//! Last Will, retained `offline`, within 1.5 × keep-alive plus slack — once as the
//! firmware's error path did it until 2026-11-26 (abort, then drop the socket at once)
//! and once as it does now, with the abort's RST flushed out first; after each the
//! board reconnects, announces `online` and still shows its fault; (e) after a clean
//! `Session::disconnect` no Will comes: `online` stays retained. The same again against
//! a Mosquitto enforcing Winter River's roles (docs/security.md), with the
//! `password_file` and `acl_file` generated from an auth file: the board logs in with
//! its node id and its own password, as the firmware does with `WR_PASSWORD` alone, and
//! its Will, status, subscriptions and commands all pass the ACL.
//!
//! How it runs: it needs root and `/dev/net/tun`, and fails (does not skip) without
//! them. Each `#[test]` creates a network namespace of its own (`wr-fwtest-<pid>-<n>`,
//! deleted by a drop guard) and re-runs this test binary inside it
//! (`ip netns exec NS <exe> <test> --exact`, with `WR_FWTEST_INNER=1`). The inner run
//! creates the TAP device `wrtap0` (host side 10.77.0.1/24, the board's stack static
//! 10.77.0.2/24), starts the broker on 0.0.0.0 inside the namespace, and runs the board
//! on a thread of its own: the embassy-net runner and the board's session on one
//! `async_io::block_on`. No traffic leaves the namespace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // the firmware's session as is; not every error variant is built here
#[path = "../../src/mqtt.rs"]
mod mqtt;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use embassy_futures::select::{Either, select};
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr, Stack, StackResources};
use embassy_net_tuntap::TunTapDevice;
use embassy_time::{Timer, with_timeout};
use tokio::sync::mpsc as tokio_mpsc;
use winter_river_broker::{Access, BrokerConfig};
use winter_river_mqtt::BrokerUrl;
use winter_river_node::{NodeConfig, NodeCore};
use winter_river_protocol::{NodeKind, Qos};
use winter_river_testkit::{Client, Mosquitto, MosquittoOptions, running_as_root};

/// Set in the re-executed test process that runs inside the namespace.
const INNER_ENV: &str = "WR_FWTEST_INNER";
/// The TAP device inside the namespace.
const TAP: &str = "wrtap0";
/// The host (broker) side of the TAP link.
const HOST_CIDR: &str = "10.77.0.1/24";
const HOST_IP: Ipv4Address = Ipv4Address::new(10, 77, 0, 1);
/// The board's static address on the embassy-net stack.
const BOARD_IP: Ipv4Address = Ipv4Address::new(10, 77, 0, 2);
/// The broker's MQTT port inside the namespace (the namespace has no other listeners).
const BROKER_PORT: u16 = 1883;
/// The board's MQTT keep-alive: short, so the broker's 1.5 × keep-alive is quick.
const KEEP_ALIVE_S: u16 = 2;
/// Periodic statuses far apart, so the session idles and must ping to stay up.
const STATUS_INTERVAL_MS: u64 = 60_000;
/// How long the board's loop waits at most per poll (the firmware's input period).
const INPUT_PERIOD_MS: u64 = 20;
const NODE_ID: &str = "srv_a";
const AVAILABILITY: &str = "winter-river/srv_a/availability";
const STATUS: &str = "winter-river/srv_a/status";
const COMMAND: &str = "winter-river/srv_a/command";
const SET_FAULT: &str = r#"{"command":"set_fault","params":{"state":true}}"#;
/// The board's password under `[boards]` of the roles test's auth file.
const BOARD_PASSWORD: &str = "srv_a-fw-secret";

/// Bound on one step's wait (a connect, a message).
const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// Slack on top of the broker's 1.5 × keep-alive before the Will must be out.
const WILL_SLACK_S: f64 = 10.0;
/// Bound on the whole inner run; the outer test kills it past this.
const INNER_TIMEOUT: Duration = Duration::from_secs(180);

#[test]
fn firmware_session_against_mosquitto() {
    in_namespace("firmware_session_against_mosquitto", || {
        inner(BrokerKind::Mosquitto)
    });
}

#[test]
fn firmware_session_with_its_own_login_against_mosquitto_roles() {
    in_namespace(
        "firmware_session_with_its_own_login_against_mosquitto_roles",
        || inner(BrokerKind::MosquittoRoles),
    );
}

#[test]
fn firmware_session_against_embedded_broker() {
    in_namespace("firmware_session_against_embedded_broker", || {
        inner(BrokerKind::Embedded)
    });
}

// ---------------------------------------------------------------- outer: the namespace

/// Runs `body` when this process is the inner run; otherwise creates a namespace and
/// runs `test_name` of this binary inside it, failing if it fails.
fn in_namespace(test_name: &str, body: impl FnOnce()) {
    if std::env::var_os(INNER_ENV).is_some() {
        body();
        return;
    }
    assert!(
        running_as_root(),
        "this test needs root (it creates a network namespace and a TAP device); run it as root"
    );
    assert!(
        std::path::Path::new("/dev/net/tun").exists(),
        "this test needs /dev/net/tun (the TUN/TAP driver)"
    );
    let ns = Netns::create();
    ns.exec(&["ip", "link", "set", "lo", "up"]);

    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(&exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(INNER_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the inner test with ip netns exec");
    let stdout = reader(child.stdout.take().expect("stdout"));
    let stderr = reader(child.stderr.take().expect("stderr"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the inner test") {
            break Some(status);
        }
        if started.elapsed() > INNER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    eprintln!(
        "---- inner run in {} ({:.1} s) ----\n{stdout}{stderr}",
        ns.name,
        started.elapsed().as_secs_f64()
    );
    match status {
        None => panic!("the inner test did not finish within {INNER_TIMEOUT:?}"),
        Some(status) => assert!(
            status.success(),
            "the inner test failed ({status}); its output is above"
        ),
    }
    // A typo'd test name would run 0 tests and "pass".
    assert!(
        stdout.contains("1 passed"),
        "the inner run did not run exactly this test; its output is above"
    );
}

/// Collects a child's pipe on a thread.
fn reader(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A network namespace of this test: deleted on drop (also on panic), after killing
/// whatever of ours still runs in it.
struct Netns {
    name: String,
}

impl Netns {
    fn create() -> Netns {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "wr-fwtest-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        run(&["ip", "netns", "add", &name]);
        Netns { name }
    }

    /// Runs a command inside the namespace; panics if it fails.
    fn exec(&self, args: &[&str]) {
        let mut all = vec!["ip", "netns", "exec", self.name.as_str()];
        all.extend_from_slice(args);
        run(&all);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes the inner run left (a Mosquitto after a timeout kill) would keep
        // the namespace alive after its name is gone.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs a command; panics with its output if it fails.
fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e} (is iproute2 installed?)"));
    assert!(
        out.status.success(),
        "{args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------- inner: the test body

#[derive(Debug, Clone, Copy)]
enum BrokerKind {
    Mosquitto,
    /// Mosquitto with the password_file and acl_file of an auth file's roles.
    MosquittoRoles,
    Embedded,
}

/// What the test tells the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BoardCmd {
    /// Connect (at the start and again after an abort).
    Connect,
    /// Abort the socket and drop it at once, as the firmware's main loop did after a
    /// session error until it waited for the RST (kept: the worst case): no DISCONNECT, and no RST from the abort itself (embassy-net
    /// drops the socket before its runner sends one); the stack answers the broker's
    /// next segment (its delayed ACK) with an RST, or the broker's keep-alive notices.
    AbortAndDrop,
    /// Abort the socket and let the RST go out before dropping it (the firmware's
    /// `close_at_once`): no DISCONNECT.
    Abort,
    /// Send DISCONNECT and close.
    Disconnect,
}

/// What the board tells the test.
#[derive(Debug)]
enum BoardEvent {
    /// CONNACK accepted and SUBSCRIBE sent.
    Connected,
    /// The socket was aborted.
    Aborted,
    /// A session ended with an error (the test fails).
    Failed(String),
}

/// Inside the namespace: TAP, broker, board thread, controller, assertions.
fn inner(kind: BrokerKind) {
    // The TAP device first, up with the host address before the stack sends anything
    // (embassy-net-tuntap panics on a write to a down device).
    let device = TunTapDevice::new(TAP).expect("create the TAP device (needs /dev/net/tun)");
    run(&["ip", "addr", "add", HOST_CIDR, "dev", TAP]);
    run(&["ip", "link", "set", TAP, "up"]);

    // The broker, on every address of the namespace (loopback and the TAP's host side).
    let mut _mosquitto = None;
    let mut _roles_dir = None;
    let url = match kind {
        BrokerKind::MosquittoRoles => {
            let (dir, password_file, acl_file) = roles_files();
            let m = Mosquitto::start_with(&MosquittoOptions {
                websockets: false,
                extra_config: vec![format!("listener {BROKER_PORT} 0.0.0.0")],
                password_file: Some(password_file),
                acl_file: Some(acl_file),
                ..MosquittoOptions::default()
            })
            .expect("start Mosquitto (is the mosquitto package installed?)");
            // The controller is the engine: it commands the board and reads all.
            let mut url = m.broker_url();
            url.credentials = Some(("engine".into(), "engine-secret".into()));
            _mosquitto = Some(m);
            _roles_dir = Some(dir);
            url
        }
        BrokerKind::Mosquitto => {
            let m = Mosquitto::start_with(&MosquittoOptions {
                websockets: false,
                extra_config: vec![format!("listener {BROKER_PORT} 0.0.0.0")],
                ..MosquittoOptions::default()
            })
            .expect("start Mosquitto (is the mosquitto package installed?)");
            let url = m.broker_url();
            _mosquitto = Some(m);
            url
        }
        BrokerKind::Embedded => {
            let broker = winter_river_broker::start(BrokerConfig {
                mqtt_addr: ([0, 0, 0, 0], BROKER_PORT).into(),
                ws_addr: None,
                ..BrokerConfig::default()
            })
            .expect("start the embedded broker");
            BrokerUrl::tcp("127.0.0.1", broker.client_addr().port())
        }
    };
    eprintln!("broker {kind:?}: controller at {url}, board to {HOST_IP}:{BROKER_PORT}");

    let (cmd_tx, cmd_rx) = std_mpsc::channel();
    let (event_tx, event_rx) = tokio_mpsc::unbounded_channel();
    let board = std::thread::Builder::new()
        .name("board".into())
        .spawn(move || {
            // As the firmware with WR_PASSWORD alone: its node id as user name.
            let login =
                matches!(kind, BrokerKind::MosquittoRoles).then_some((NODE_ID, BOARD_PASSWORD));
            run_board(device, cmd_rx, event_tx, login)
        })
        .expect("spawn the board thread");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(controller(&url, &cmd_tx, event_rx));
    drop(cmd_tx);

    let deadline = Instant::now() + STEP_TIMEOUT;
    while !board.is_finished() {
        assert!(Instant::now() < deadline, "the board thread did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    board
        .join()
        .expect("the board thread panicked")
        .expect("the board failed");
}

/// The controller's side: every assertion of the module docs, in order.
async fn controller(
    url: &BrokerUrl,
    board: &std_mpsc::Sender<BoardCmd>,
    mut events: tokio_mpsc::UnboundedReceiver<BoardEvent>,
) {
    let ctl = Client::connect(url, "controller", &["winter-river/srv_a/#"])
        .await
        .expect("controller connects");

    // (a) CONNECT, then retained `online`. The board connects only once the
    // controller listens, so it hears the first status too.
    board.send(BoardCmd::Connect).expect("board listens");
    expect_event(&mut events, "the board to connect", |e| {
        matches!(e, BoardEvent::Connected)
    })
    .await;
    ctl.wait_for("online after connect", STEP_TIMEOUT, |m| {
        m.topic == AVAILABILITY && m.text() == "online"
    })
    .await
    .expect("online");
    assert_retained(url, "late-a", "online").await;

    // (b) a status from srv_a, not faulted yet.
    let status = ctl
        .wait_json_from("a status from srv_a", STEP_TIMEOUT, 0, STATUS, |v| {
            v["node_id"] == NODE_ID
        })
        .await
        .expect("status");
    assert_ne!(
        status.str_field("status").as_deref(),
        Some("fault"),
        "{}",
        status.text()
    );

    // Idle for three keep-alive intervals: the session's PINGREQs keep it up (no
    // status is due, STATUS_INTERVAL_MS is long).
    let mark = ctl.mark();
    tokio::time::sleep(Duration::from_secs(3 * u64::from(KEEP_ALIVE_S))).await;
    no_failure(&mut events);
    assert!(
        !offline_since(&ctl, mark),
        "the broker dropped the idle board (keep-alive): {}",
        ctl.summary()
    );

    // (c) a QoS 1 set_fault command → a status whose status word is `fault`.
    let mark = ctl.mark();
    ctl.publish(COMMAND, SET_FAULT, Qos::AtLeastOnce, false)
        .expect("publish set_fault");
    ctl.wait_json_from(
        "a fault status after set_fault",
        STEP_TIMEOUT,
        mark,
        STATUS,
        |v| v["node_id"] == NODE_ID && v["status"] == "fault",
    )
    .await
    .expect("fault status");
    no_failure(&mut events);

    // (d) the socket aborted without DISCONNECT → the Last Will, retained `offline`:
    // first with the socket dropped right after the abort (the worst case), then as
    // the firmware's error path does it, with the abort's RST flushed out first.
    abort_expect_will(&ctl, board, &mut events, BoardCmd::AbortAndDrop).await;
    assert_retained(url, "late-d1", "offline").await;
    reconnect_expect_online_fault(&ctl, board, &mut events).await;
    abort_expect_will(&ctl, board, &mut events, BoardCmd::Abort).await;
    assert_retained(url, "late-d2", "offline").await;

    // (e) reconnect: `online` again and the fault remembered; then a clean DISCONNECT
    // leaves `online` retained (no Will).
    reconnect_expect_online_fault(&ctl, board, &mut events).await;
    let mark = ctl.mark();
    board.send(BoardCmd::Disconnect).expect("board listens");
    // Longer than the broker's 1.5 × keep-alive: a Will would be out by then.
    tokio::time::sleep(Duration::from_secs(2 * u64::from(KEEP_ALIVE_S))).await;
    no_failure(&mut events);
    assert!(
        !offline_since(&ctl, mark),
        "a Will after a clean DISCONNECT: {}",
        ctl.summary()
    );
    assert_retained(url, "late-e", "online").await;
    ctl.disconnect().await;
}

/// Whether the controller has seen `offline` (the board's Will) since `mark`.
fn offline_since(ctl: &Client, mark: usize) -> bool {
    ctl.messages()[mark..]
        .iter()
        .any(|m| m.topic == AVAILABILITY && m.text() == "offline")
}

/// Tells the board to end its session with `abort` and waits for the Will.
async fn abort_expect_will(
    ctl: &Client,
    board: &std_mpsc::Sender<BoardCmd>,
    events: &mut tokio_mpsc::UnboundedReceiver<BoardEvent>,
    abort: BoardCmd,
) {
    let mark = ctl.mark();
    let aborted_at = Instant::now();
    board.send(abort).expect("board listens");
    expect_event(events, "the board to abort", |e| {
        matches!(e, BoardEvent::Aborted)
    })
    .await;
    // The broker gives up on a silent client after 1.5 × its keep-alive.
    let will_bound = Duration::from_secs_f64(1.5 * f64::from(KEEP_ALIVE_S) + WILL_SLACK_S);
    ctl.wait_for_from(
        &format!("the Last Will after {abort:?}"),
        will_bound,
        mark,
        |m| m.topic == AVAILABILITY && m.text() == "offline",
    )
    .await
    .expect("Last Will");
    eprintln!(
        "Last Will {:.2} s after {abort:?} (keep-alive {KEEP_ALIVE_S} s)",
        aborted_at.elapsed().as_secs_f64()
    );
}

/// Tells the board to connect again; it announces `online` and still shows its fault.
async fn reconnect_expect_online_fault(
    ctl: &Client,
    board: &std_mpsc::Sender<BoardCmd>,
    events: &mut tokio_mpsc::UnboundedReceiver<BoardEvent>,
) {
    let mark = ctl.mark();
    board.send(BoardCmd::Connect).expect("board listens");
    expect_event(events, "the board to reconnect", |e| {
        matches!(e, BoardEvent::Connected)
    })
    .await;
    ctl.wait_for_from("online after the reconnect", STEP_TIMEOUT, mark, |m| {
        m.topic == AVAILABILITY && m.text() == "online"
    })
    .await
    .expect("online again");
    ctl.wait_json_from(
        "a fault status after the reconnect",
        STEP_TIMEOUT,
        mark,
        STATUS,
        |v| v["status"] == "fault",
    )
    .await
    .expect("fault kept across the reconnect");
}

/// A fresh subscriber to the availability topic gets `payload`: it is retained.
async fn assert_retained(url: &BrokerUrl, name: &str, payload: &str) {
    let late = Client::connect(url, name, &[AVAILABILITY])
        .await
        .expect("late subscriber connects");
    let got = late
        .wait_for(
            &format!("retained {payload} for a late subscriber"),
            STEP_TIMEOUT,
            |m| m.topic == AVAILABILITY,
        )
        .await
        .expect("retained availability");
    assert_eq!(got.text(), payload, "retained availability");
    late.disconnect().await;
}

/// Waits for the board's next event and checks it.
async fn expect_event(
    events: &mut tokio_mpsc::UnboundedReceiver<BoardEvent>,
    what: &str,
    pred: impl Fn(&BoardEvent) -> bool,
) {
    match tokio::time::timeout(STEP_TIMEOUT, events.recv()).await {
        Ok(Some(e)) if pred(&e) => {}
        Ok(Some(BoardEvent::Failed(e))) => panic!("waiting for {what}, the board failed: {e}"),
        Ok(Some(e)) => panic!("waiting for {what}, the board reported {e:?}"),
        Ok(None) => panic!("waiting for {what}, the board thread ended"),
        Err(_) => panic!("waiting for {what}: nothing within {STEP_TIMEOUT:?}"),
    }
}

/// Fails if the board reported anything (a session error) since the last check.
fn no_failure(events: &mut tokio_mpsc::UnboundedReceiver<BoardEvent>) {
    match events.try_recv() {
        Ok(BoardEvent::Failed(e)) => panic!("the board failed: {e}"),
        Ok(e) => panic!("the board reported {e:?}"),
        Err(_) => {}
    }
}

// ---------------------------------------------------------------- the board

/// The board thread: the embassy-net runner and the board's sessions on one executor.
fn run_board(
    device: TunTapDevice,
    commands: std_mpsc::Receiver<BoardCmd>,
    events: tokio_mpsc::UnboundedSender<BoardEvent>,
    login: Option<(&'static str, &'static str)>,
) -> Result<(), String> {
    let config = embassy_net::Config::ipv4_static(embassy_net::StaticConfigV4 {
        address: Ipv4Cidr::new(BOARD_IP, 24),
        gateway: None,
        dns_servers: Default::default(),
    });
    let mut resources = StackResources::<3>::new();
    let seed = u64::from(std::process::id());
    let (stack, mut runner) = embassy_net::new(device, config, &mut resources, seed);
    let result = async_io::block_on(select(
        runner.run(),
        board(stack, &commands, &events, login),
    ));
    let result = match result {
        Either::First(never) => never,
        Either::Second(result) => result,
    };
    if let Err(e) = &result {
        let _ = events.send(BoardEvent::Failed(e.clone()));
    }
    result
}

/// The auth file of the roles test (an engine user for the controller, a password for
/// the board) as Mosquitto files, made by the same code as `winter-river auth
/// mosquitto`: (their dir, password_file, acl_file).
fn roles_files() -> (
    winter_river_testkit::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    use std::os::unix::fs::PermissionsExt;
    let text = format!(
        "[[user]]\nname = \"engine\"\nrole = \"engine\"\npassword = \"engine-secret\"\n\n\
         [boards]\n{NODE_ID} = \"{BOARD_PASSWORD}\"\n"
    );
    let access = Access::from_toml_str(&text, "auth.toml", winter_river_protocol::DEFAULT_PREFIX)
        .expect("the test's auth file parses");
    let dir = winter_river_testkit::TempDir::new("fw-roles").expect("a temp dir");
    let acl = dir.path().join("acl");
    let passwd = dir.path().join("passwd");
    std::fs::write(&acl, access.mosquitto_acl()).expect("write the acl_file");
    std::fs::write(&passwd, access.mosquitto_plain_passwords()).expect("write the passwords");
    std::fs::set_permissions(&passwd, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let hashed = Command::new("mosquitto_passwd")
        .arg("-U")
        .arg(&passwd)
        .status()
        .expect("run mosquitto_passwd (package mosquitto)");
    assert!(hashed.success(), "mosquitto_passwd -U failed");
    (dir, passwd, acl)
}

/// The sessions the test runs, each started by `Connect` and ended by the command
/// given here.
const SESSION_ENDS: [BoardCmd; 3] = [
    BoardCmd::AbortAndDrop,
    BoardCmd::Abort,
    BoardCmd::Disconnect,
];

/// The board's sessions, in the order of [`SESSION_ENDS`], with one node core.
async fn board(
    stack: Stack<'_>,
    commands: &std_mpsc::Receiver<BoardCmd>,
    events: &tokio_mpsc::UnboundedSender<BoardEvent>,
    login: Option<(&'static str, &'static str)>,
) -> Result<(), String> {
    let mut node_config = NodeConfig::new(NODE_ID, NodeKind::Server);
    node_config.status_interval_ms = STATUS_INTERVAL_MS;
    let mut core = NodeCore::new(node_config, mqtt::now_ms()).map_err(|e| e.to_string())?;
    let client_id = format!("wr-board-{NODE_ID}-fwtest");
    let mut tcp_rx = [0u8; mqtt::TCP_RX_BYTES];
    let mut tcp_tx = [0u8; mqtt::TCP_TX_BYTES];

    with_timeout(embassy_time::Duration::from_secs(5), stack.wait_config_up())
        .await
        .map_err(|_| "the static IPv4 config did not come up".to_string())?;

    for expected in SESSION_ENDS {
        match next_command(commands).await? {
            BoardCmd::Connect => {}
            other => return Err(format!("expected Connect, got {other:?}")),
        }
        let ended = session(
            stack,
            &mut core,
            &Identity {
                client_id: &client_id,
                login,
            },
            &mut tcp_rx,
            &mut tcp_tx,
            commands,
            events,
        )
        .await?;
        if ended != expected {
            return Err(format!(
                "session ended by {ended:?}, the test plans {expected:?}"
            ));
        }
    }
    Ok(())
}

/// Who the board is to the broker: its client id and its login, if any.
struct Identity<'a> {
    client_id: &'a str,
    login: Option<(&'a str, &'a str)>,
}

/// One session, as the firmware's main loop runs it, until the test says how to end it.
async fn session(
    stack: Stack<'_>,
    core: &mut NodeCore,
    id: &Identity<'_>,
    tcp_rx: &mut [u8],
    tcp_tx: &mut [u8],
    commands: &std_mpsc::Receiver<BoardCmd>,
    events: &tokio_mpsc::UnboundedSender<BoardEvent>,
) -> Result<BoardCmd, String> {
    let broker = IpEndpoint::new(IpAddress::Ipv4(HOST_IP), BROKER_PORT);
    let command_topic = core.command_topic().to_string();
    let engine_topic = core.engine_availability_topic().to_string();
    let mut socket = TcpSocket::new(stack, tcp_rx, tcp_tx);
    let will = core.last_will();
    let mut session = mqtt::Session::connect(
        &mut socket,
        broker,
        id.client_id,
        KEEP_ALIVE_S,
        &will,
        id.login,
    )
    .await
    .map_err(|e| format!("connect to {broker}: {e:?}"))?;
    session
        .subscribe(&command_topic, &engine_topic)
        .await
        .map_err(|e| format!("subscribe: {e:?}"))?;
    core.handle_link(mqtt::now_ms(), true);
    let _ = events.send(BoardEvent::Connected);

    let end = loop {
        while let Some(transmit) = core.poll_transmit(mqtt::now_ms()) {
            session
                .publish(&transmit)
                .await
                .map_err(|e| format!("publish to {}: {e:?}", transmit.topic))?;
        }
        let until_ms = core.poll_timeout().min(mqtt::now_ms() + INPUT_PERIOD_MS);
        session
            .poll(until_ms, |topic, payload| {
                if let Err(e) = core.handle_message(mqtt::now_ms(), topic, payload) {
                    log::warn!("command refused: {}", e.reason());
                }
            })
            .await
            .map_err(|e| format!("session ended: {e:?}"))?;
        match commands.try_recv() {
            Ok(BoardCmd::Connect) => return Err("Connect while connected".into()),
            Ok(end) => break end,
            Err(std_mpsc::TryRecvError::Empty) => {}
            Err(std_mpsc::TryRecvError::Disconnected) => return Err("the test went away".into()),
        }
    };
    match end {
        BoardCmd::AbortAndDrop => {
            // Abort, then the socket goes at once. (`session` is no longer used, so its
            // borrow of the socket has ended.)
            socket.abort();
            drop(socket);
            let _ = events.send(BoardEvent::Aborted);
        }
        BoardCmd::Abort => {
            // The firmware's own: abort and wait (1 s at most) for the RST to go out
            // before the socket is dropped (embassy-net's advice for abort()).
            mqtt::close_at_once(&mut socket).await;
            let _ = events.send(BoardEvent::Aborted);
        }
        BoardCmd::Disconnect | BoardCmd::Connect => session.disconnect().await,
    }
    core.handle_link(mqtt::now_ms(), false);
    Ok(end)
}

/// Waits for the test's next command, polling (the channel is a std one).
async fn next_command(commands: &std_mpsc::Receiver<BoardCmd>) -> Result<BoardCmd, String> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        match commands.try_recv() {
            Ok(cmd) => return Ok(cmd),
            Err(std_mpsc::TryRecvError::Empty) if Instant::now() < deadline => {
                Timer::after_millis(INPUT_PERIOD_MS).await;
            }
            Err(std_mpsc::TryRecvError::Empty) => return Err("no command from the test".into()),
            Err(std_mpsc::TryRecvError::Disconnected) => return Err("the test went away".into()),
        }
    }
}
