//! MQTT roles against a real Mosquitto (issue 16, item 4; docs/security.md): the
//! `password_file` and `acl_file` that `winter-river auth mosquitto` writes from an auth
//! file keep a board to its own topics — another board's status and every `system/*`
//! topic it publishes reach no one, while its own status arrives — and `up --auth`
//! logs its engine, dashboard and each virtual board in as its own role, through
//! the same ACL. Loopback only, free ports.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use winter_river_mqtt::{BrokerUrl, Link, LinkEvent, LinkOptions};
use winter_river_protocol::Qos;
use winter_river_testkit::{
    Client, DEFAULT_NODES, Mosquitto, MosquittoOptions, Proc, TempDir, free_port, wait_port_open,
};

const BIN: &str = env!("CARGO_BIN_EXE_winter-river");
const P: &str = "winter-river";
const WAIT: Duration = Duration::from_secs(15);

/// Users of every role and a password for each default board.
fn auth_text() -> String {
    let mut text = String::from(
        "[[user]]\nname = \"engine\"\nrole = \"engine\"\npassword = \"engine-pw\"\n\n\
         [[user]]\nname = \"dashboard\"\nrole = \"operator\"\npassword = \"operator-pw\"\n\n\
         [[user]]\nname = \"telegraf\"\nrole = \"viewer\"\npassword = \"viewer-pw\"\n\n\
         [[user]]\nname = \"root\"\nrole = \"admin\"\npassword = \"admin-pw\"\n\n[boards]\n",
    );
    for id in DEFAULT_NODES {
        text.push_str(&format!("{id} = \"{id}-pw\"\n"));
    }
    text
}

/// A temp dir Mosquitto can read (it may drop root for its own user) with the auth
/// file in it (mode 0600).
fn auth_dir() -> Result<(TempDir, PathBuf)> {
    let dir = TempDir::new("auth")?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let auth = dir.path().join("auth.toml");
    std::fs::write(&auth, auth_text())?;
    std::fs::set_permissions(&auth, std::fs::Permissions::from_mode(0o600))?;
    Ok((dir, auth))
}

/// `winter-river auth mosquitto` into `dir`; returns (acl_file, password_file, stdout).
async fn generate(dir: &Path, auth: &Path) -> Result<(PathBuf, PathBuf, String)> {
    let acl = dir.join("acl");
    let passwd = dir.join("passwd");
    let args = [
        "auth".to_owned(),
        "mosquitto".to_owned(),
        "--auth".to_owned(),
        auth.display().to_string(),
        "--acl-file".to_owned(),
        acl.display().to_string(),
        "--password-file".to_owned(),
        passwd.display().to_string(),
    ];
    let (status, out, err) = Proc::run("auth", BIN, &args, WAIT).await?;
    ensure!(status.success(), "auth mosquitto failed: {err}");
    Ok((acl, passwd, out))
}

/// Mosquitto enforcing the generated files.
async fn mosquitto_with_roles() -> Result<(Mosquitto, TempDir)> {
    let (dir, auth) = auth_dir()?;
    let (acl, passwd, _) = generate(dir.path(), &auth).await?;
    let m = Mosquitto::start_with(&MosquittoOptions {
        password_file: Some(passwd),
        acl_file: Some(acl),
        ..MosquittoOptions::default()
    })?;
    Ok((m, dir))
}

fn url_as(base: &BrokerUrl, user: &str, pass: &str) -> BrokerUrl {
    let mut url = base.clone();
    url.credentials = Some((user.to_owned(), pass.to_owned()));
    url
}

/// Connects with `url` and returns the broker's refusal; fails if it accepts.
async fn refusal(url: &BrokerUrl, name: &str) -> Result<String> {
    let mut link = Link::connect(url, &LinkOptions::new(format!("wr-test-{name}")));
    let answer = tokio::time::timeout(WAIT, async {
        loop {
            match link.recv().await {
                Some(LinkEvent::Connected) => return Err(anyhow::anyhow!("{name} was accepted")),
                Some(LinkEvent::Disconnected { reason }) if reason.contains("refused") => {
                    return Ok(reason);
                }
                Some(_) => {}
                None => return Err(anyhow::anyhow!("{name}: the link closed")),
            }
        }
    })
    .await
    .with_context(|| format!("{name}: neither accepted nor refused in {WAIT:?}"))?;
    link.disconnect(Duration::from_millis(200)).await;
    answer
}

fn status_json(id: &str, seq: u64) -> String {
    format!(
        r#"{{"node_id":"{id}","kind":"ups","voltage_in":480.0,"voltage_out":480.0,"current":1.0,"power_kw":1.0,"load_pct":1.0,"status":"ok","wifi_rssi":-60,"uptime":1,"seq":{seq}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_acl_keeps_a_board_to_its_own_topics() -> Result<()> {
    let (m, _dir) = mosquitto_with_roles().await?;
    a_board_is_kept_to_its_own_topics(&m.broker_url(), &|| m.log()).await
}

/// The same rules in the embedded broker (`winter-river broker --auth`), which also reads
/// payloads: a board's `update` on its own command topic is refused there too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker_keeps_a_board_to_its_own_topics() -> Result<()> {
    let (_dir, auth) = auth_dir()?;
    let port = free_port()?;
    let args = [
        "broker".to_owned(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--mqtt-port".into(),
        port.to_string(),
        "--ws-port".into(),
        "0".into(),
        "--auth".into(),
        auth.display().to_string(),
    ];
    let mut broker = Proc::spawn("broker", BIN, &args)?;
    broker.wait_stdout("broker ", WAIT).await?;
    let base = BrokerUrl::tcp("127.0.0.1", port);
    a_board_is_kept_to_its_own_topics(&base, &|| broker.stderr()).await?;
    // The update the board sent on its own command topic was refused and logged.
    let pdu = Client::connect(&url_as(&base, "pdu_a", "pdu_a-pw"), "pdu_a-update", &[]).await?;
    let spy = Client::connect(
        &url_as(&base, "root", "admin-pw"),
        "spy-update",
        &[&format!("{P}/+/command")],
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    pdu.publish(
        &format!("{P}/pdu_a/command"),
        r#"{"command":"update","params":{"status":"ok"}}"#.to_owned(),
        Qos::AtLeastOnce,
        false,
    )?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    ensure!(
        spy.messages().is_empty(),
        "a board's update got through: {:?}",
        spy.messages().len()
    );
    ensure!(
        broker.stderr().contains("refused a message from client"),
        "no log line for the refusal: {}",
        broker.stderr()
    );
    broker.check_running()?;
    Ok(())
}

/// A board (`pdu_a`) may publish its own status and availability and read its own
/// commands, nothing else; a viewer and an admin subscribed to everything hear none of its
/// attempts; anonymous and wrong-password logins are refused.
async fn a_board_is_kept_to_its_own_topics(
    base: &BrokerUrl,
    log: &dyn Fn() -> String,
) -> Result<()> {
    let all = format!("{P}/#");
    let viewer = Client::connect(&url_as(base, "telegraf", "viewer-pw"), "viewer", &[&all]).await?;
    let admin = Client::connect(&url_as(base, "root", "admin-pw"), "admin", &["#"]).await?;
    let pdu = Client::connect(&url_as(base, "pdu_a", "pdu_a-pw"), "pdu_a", &[]).await?;
    let own = format!("{P}/pdu_a/status");

    // Its own status arrives (repeated until both subscriptions are in place).
    let mut seq = 0;
    loop {
        seq += 1;
        pdu.publish(&own, status_json("pdu_a", seq), Qos::AtMostOnce, false)?;
        let short = Duration::from_millis(300);
        if viewer
            .wait_for("own status", short, |m| m.topic == own)
            .await
            .is_ok()
            && admin
                .wait_for("own status", short, |m| m.topic == own)
                .await
                .is_ok()
        {
            break;
        }
        ensure!(
            seq < 40,
            "pdu_a's own status never reached the viewer and the admin"
        );
    }

    // Another board's topics and every system topic, retained where the engine's are.
    let forbidden: Vec<(String, String, bool)> = vec![
        (format!("{P}/ups_a/status"), status_json("ups_a", 1), false),
        (format!("{P}/ups_a/availability"), "offline".into(), true),
        (
            format!("{P}/ups_a/command"),
            r#"{"command":"set_fault","params":{"state":true}}"#.into(),
            false,
        ),
        (
            format!("{P}/system/status"),
            r#"{"node_id":"system"}"#.into(),
            true,
        ),
        (
            format!("{P}/system/topology"),
            r#"{"site":"HIJACKED"}"#.into(),
            true,
        ),
        (
            format!("{P}/system/events"),
            r#"{"t":1.0,"node_id":"ups_a","event":"fault","severity":"critical","message":"fake"}"#
                .into(),
            false,
        ),
        (format!("{P}/system/availability"), "offline".into(), true),
        (
            format!("{P}/system/command"),
            r#"{"command":"epo"}"#.into(),
            false,
        ),
        (
            format!("{P}/system/drill"),
            r#"{"state":"none"}"#.into(),
            true,
        ),
        (
            format!("{P}/system/drill/command"),
            r#"{"command":"stop"}"#.into(),
            false,
        ),
    ];
    for (topic, payload, retain) in &forbidden {
        pdu.publish(topic, payload.as_bytes(), Qos::AtLeastOnce, *retain)?;
    }
    // Then its own status and its own retained availability: once these have
    // arrived, anything the broker passed before them would have too.
    let marker = seq + 1;
    pdu.publish(&own, status_json("pdu_a", marker), Qos::AtLeastOnce, false)?;
    let own_availability = format!("{P}/pdu_a/availability");
    pdu.publish(&own_availability, "online", Qos::AtLeastOnce, true)?;
    for who in [&viewer, &admin] {
        who.wait_for("the marker status", WAIT, |m| {
            m.topic == own && m.u64_field("seq") == Some(marker)
        })
        .await?;
        who.wait_for("pdu_a's availability", WAIT, |m| {
            m.topic == own_availability
        })
        .await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for who in [&viewer, &admin] {
        let leaked: Vec<String> = who
            .messages()
            .iter()
            .filter(|m| m.topic != own && m.topic != own_availability)
            .map(|m| format!("{} {}", m.topic, m.text()))
            .collect();
        ensure!(
            leaked.is_empty(),
            "{} heard what board pdu_a may not publish: {leaked:?}\n{}",
            who.name(),
            log()
        );
    }

    // A late subscriber finds no retained fake: only pdu_a's own availability.
    let late = Client::connect(&url_as(base, "root", "admin-pw"), "late", &["#"]).await?;
    late.wait_for("the retained availability", WAIT, |m| {
        m.topic == own_availability
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let retained: Vec<String> = late.messages().iter().map(|m| m.topic.clone()).collect();
    ensure!(
        retained == [own_availability.clone()],
        "retained after the board's attempts: {retained:?}"
    );

    // The board reads its own commands, not another board's; the viewer publishes nothing.
    let pdu_cmd = format!("{P}/pdu_a/command");
    let ups_cmd = format!("{P}/ups_a/command");
    let spy = Client::connect(
        &url_as(base, "pdu_a", "pdu_a-pw"),
        "pdu_a-spy",
        &[&ups_cmd, &format!("{P}/+/status"), &pdu_cmd],
    )
    .await?;
    let operator =
        Client::connect(&url_as(base, "dashboard", "operator-pw"), "operator", &[]).await?;
    let fault = r#"{"command":"set_fault","params":{"state":true}}"#;
    let mut tries = 0;
    while spy
        .wait_for("its own command", Duration::from_millis(300), |m| {
            m.topic == pdu_cmd
        })
        .await
        .is_err()
    {
        viewer.publish(&pdu_cmd, fault, Qos::AtLeastOnce, false)?;
        operator.publish(&ups_cmd, fault, Qos::AtLeastOnce, false)?;
        operator.publish(&pdu_cmd, fault, Qos::AtLeastOnce, false)?;
        tries += 1;
        ensure!(tries < 40, "pdu_a never received its own command");
    }
    pdu.publish(
        &own,
        status_json("pdu_a", marker + 1),
        Qos::AtLeastOnce,
        false,
    )?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let spied: Vec<String> = spy
        .messages()
        .iter()
        .filter(|m| m.topic != pdu_cmd)
        .map(|m| m.topic.clone())
        .collect();
    ensure!(
        spied.is_empty(),
        "board pdu_a read others' topics: {spied:?}"
    );
    // Each of the operator's own commands arrived once per try; the viewer's none.
    let own_cmds = spy.on_topic(&pdu_cmd).len();
    ensure!(
        own_cmds <= tries,
        "pdu_a got {own_cmds} commands for {tries} operator publishes: the viewer's got through"
    );

    // Logins: anonymous and a wrong password are refused.
    let anonymous = refusal(base, "anonymous").await?;
    ensure!(anonymous.contains("refused"), "{anonymous}");
    refusal(&url_as(base, "pdu_a", "ups_a-pw"), "wrong-password").await?;
    for c in [viewer, admin, pdu, late, spy, operator] {
        c.disconnect().await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_auth_logs_every_piece_in_as_its_role_on_mosquitto() -> Result<()> {
    let (m, dir) = mosquitto_with_roles().await?;
    let auth = dir.path().join("auth.toml");
    let http = free_port()?;
    let args = [
        "up".to_owned(),
        "--broker".to_owned(),
        m.url(),
        "--auth".to_owned(),
        auth.display().to_string(),
        "--http".to_owned(),
        format!("127.0.0.1:{http}"),
        "--state".to_owned(),
        "none".to_owned(),
    ];
    let mut up = Proc::spawn("up", BIN, &args)?;
    let out = up.wait_stdout("Ctrl-C stops everything.", WAIT).await?;
    ensure!(
        out.contains("engine as `engine`, dashboard as `dashboard`"),
        "{out}"
    );
    ensure!(!out.contains("-pw"), "up printed a password:\n{out}");
    let viewer = Client::connect(
        &url_as(&m.broker_url(), "telegraf", "viewer-pw"),
        "viewer",
        &[&format!("{P}/#")],
    )
    .await?;
    // Every board (its own login) and the engine (system/*) are heard.
    for id in DEFAULT_NODES {
        let topic = format!("{P}/{id}/status");
        viewer
            .wait_for(&format!("{id}'s status"), WAIT, |msg| msg.topic == topic)
            .await
            .with_context(|| format!("{}\n{}", up.stderr(), m.log()))?;
    }
    for suffix in ["system/status", "system/topology", "system/availability"] {
        let topic = format!("{P}/{suffix}");
        viewer
            .wait_for(suffix, WAIT, |msg| msg.topic == topic)
            .await?;
    }
    // The engine's updates reach the boards: a board reports a status word the
    // engine computed (the UPS goes on battery when the utility fails).
    let operator = format!("mqtt://dashboard:operator-pw@127.0.0.1:{}", m.port());
    let (status, _, err) = Proc::run(
        "fault",
        BIN,
        &["fault", "util_a", "on", "--broker", &operator],
        WAIT,
    )
    .await?;
    ensure!(status.success(), "fault util_a on as the operator: {err}");
    let ups = format!("{P}/ups_a/status");
    viewer
        .wait_for("ups_a on battery", WAIT, |msg| {
            msg.topic == ups && msg.str_field("status").as_deref() == Some("on_battery")
        })
        .await?;
    // A viewer's command is dropped by Mosquitto: `send` never sees it applied.
    let viewer_url = format!("mqtt://telegraf:viewer-pw@127.0.0.1:{}", m.port());
    let (status, _, _) = Proc::run(
        "reset",
        BIN,
        &[
            "fault",
            "util_a",
            "off",
            "--broker",
            &viewer_url,
            "--wait-s",
            "2",
        ],
        WAIT,
    )
    .await?;
    ensure!(!status.success(), "a viewer's command was applied");
    up.check_running()?;
    viewer.disconnect().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_setup_with_auth_writes_the_roles_once() -> Result<()> {
    let (dir, auth) = auth_dir()?;
    let (port, ws_port) = (free_port()?, free_port()?);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/mosquitto_setup.sh");
    let setup = || {
        let args = [
            script.display().to_string(),
            "--conf-dir".into(),
            dir.path().display().to_string(),
            "--port".into(),
            port.to_string(),
            "--ws-port".into(),
            ws_port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--no-restart".into(),
            "--auth".into(),
            auth.display().to_string(),
            "--winter-river".into(),
            BIN.into(),
        ];
        async move {
            let (status, out, err) = Proc::run("setup", "bash", &args, WAIT).await?;
            ensure!(status.success(), "mosquitto_setup.sh failed:\n{out}\n{err}");
            anyhow::Ok(out)
        }
    };
    let first = setup().await?;
    ensure!(first.contains("wrote"), "{first}");
    let conf_path = dir.path().join("winter-river.conf");
    let conf = std::fs::read_to_string(&conf_path)?;
    let passwd = dir.path().join("winter-river.passwd");
    let acl = dir.path().join("winter-river.acl");
    for line in [
        "allow_anonymous false".to_owned(),
        format!("password_file {}", passwd.display()),
        format!("acl_file {}", acl.display()),
    ] {
        ensure!(conf.contains(&line), "no `{line}` in:\n{conf}");
    }
    let hashed = std::fs::read_to_string(&passwd)?;
    ensure!(
        !hashed.contains("-pw"),
        "a plain password in the password file"
    );
    ensure!(
        hashed.lines().count() == 4 + DEFAULT_NODES.len(),
        "{hashed}"
    );
    let mode = std::fs::metadata(&passwd)?.permissions().mode() & 0o777;
    ensure!(mode == 0o600, "password file mode {mode:o}");
    ensure!(
        std::fs::read_to_string(&acl)?
            .contains("user pdu_a\ntopic write winter-river/pdu_a/status\n"),
        "acl"
    );
    // A second run changes nothing.
    let before = (std::fs::read(&passwd)?, std::fs::read(&acl)?);
    let second = setup().await?;
    ensure!(second.contains("unchanged"), "{second}");
    ensure!(
        before == (std::fs::read(&passwd)?, std::fs::read(&acl)?),
        "files rewritten"
    );

    // Mosquitto runs it as written (dropping root for its own user, who owns the files).
    let conf_arg = conf_path.display().to_string();
    let _broker = Proc::spawn("mosquitto", "mosquitto", &["-c", conf_arg.as_str()])?;
    wait_port_open(port, WAIT)?;
    let url = BrokerUrl::tcp("127.0.0.1", port);
    let mut board = url.clone();
    board.credentials = Some(("pdu_a".into(), "pdu_a-pw".into()));
    let mut viewer_url = url.clone();
    viewer_url.credentials = Some(("telegraf".into(), "viewer-pw".into()));
    let own = format!("{P}/pdu_a/status");
    let viewer = Client::connect(&viewer_url, "setup-viewer", &[&own]).await?;
    let pdu = Client::connect(&board, "setup-pdu", &[]).await?;
    let mut n = 0;
    while viewer
        .wait_for("own status", Duration::from_millis(300), |m| m.topic == own)
        .await
        .is_err()
    {
        pdu.publish(&own, status_json("pdu_a", n), Qos::AtMostOnce, false)?;
        n += 1;
        if n > 40 {
            bail!("the board's status never arrived");
        }
    }
    refusal(&url, "setup-anonymous").await?;
    viewer.disconnect().await;
    pdu.disconnect().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_file_errors_name_the_file_and_line_and_never_a_password() -> Result<()> {
    let (dir, auth) = auth_dir()?;
    // A board of the topology without a password: `up` names it before connecting.
    let partial = dir.path().join("partial.toml");
    std::fs::write(&partial, auth_text().replace("srv_a = \"srv_a-pw\"\n", ""))?;
    let (status, _, err) = Proc::run(
        "up",
        BIN,
        &[
            "up",
            "--broker",
            "mqtt://127.0.0.1:9",
            "--auth",
            &partial.display().to_string(),
            "--http",
            "127.0.0.1:0",
            "--state",
            "none",
        ],
        WAIT,
    )
    .await?;
    ensure!(!status.success(), "up started without srv_a's password");
    ensure!(err.contains("no password for board srv_a"), "{err}");
    ensure!(
        err.contains("warning: the auth file"),
        "a 0644 file must warn: {err}"
    );
    ensure!(!err.contains("-pw"), "{err}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[user]]\nname = \"x\"\nrole = \"viewer\"\npassword = hunter2\n",
    )?;
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600))?;
    let (status, _, err) = Proc::run(
        "broker",
        BIN,
        &[
            "broker",
            "--bind",
            "127.0.0.1",
            "--mqtt-port",
            "0",
            "--ws-port",
            "0",
            "--auth",
            &bad.display().to_string(),
        ],
        WAIT,
    )
    .await?;
    ensure!(
        !status.success(),
        "the broker started with a broken auth file"
    );
    ensure!(err.contains(&format!("{}, line 4", bad.display())), "{err}");
    ensure!(!err.contains("hunter2"), "{err}");
    let _ = auth;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_up_with_auth_runs_every_piece_under_its_login() -> Result<()> {
    let (dir, auth) = auth_dir()?;
    let (port, ws, http) = (free_port()?, free_port()?, free_port()?);
    let mut args: Vec<String> = vec!["up".into()];
    args.extend(winter_river_testkit::embedded_broker_args(port, ws));
    args.extend([
        "--auth".into(),
        auth.display().to_string(),
        "--http".into(),
        format!("127.0.0.1:{http}"),
        "--state".into(),
        "none".into(),
    ]);
    let mut up = Proc::spawn("up", BIN, &args)?;
    let out = up.wait_stdout("Ctrl-C stops everything.", WAIT).await?;
    ensure!(
        out.contains("engine as `engine`, dashboard as `dashboard`"),
        "{out}"
    );
    ensure!(!out.contains("-pw"), "up printed a password:\n{out}");
    let mut url = BrokerUrl::tcp("127.0.0.1", port);
    url.credentials = Some(("telegraf".into(), "viewer-pw".into()));
    let viewer = Client::connect(&url, "embedded-viewer", &[&format!("{P}/#")]).await?;
    for id in DEFAULT_NODES {
        let topic = format!("{P}/{id}/status");
        viewer
            .wait_for(&format!("{id}'s status"), WAIT, |m| m.topic == topic)
            .await
            .with_context(|| up.stderr())?;
    }
    let system = format!("{P}/system/status");
    viewer
        .wait_for("the system status", WAIT, |m| m.topic == system)
        .await?;
    up.check_running()?;
    viewer.disconnect().await;
    drop(dir);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_init_writes_a_private_file_for_the_topology_and_prints_no_password() -> Result<()> {
    let dir = TempDir::new("auth-init")?;
    let file = dir.path().join("auth.toml");
    let f = file.display().to_string();
    let (status, out, err) =
        Proc::run("init", BIN, &["auth", "init", "--out", f.as_str()], WAIT).await?;
    ensure!(status.success(), "auth init: {err}");
    let mode = std::fs::metadata(&file)?.permissions().mode() & 0o777;
    ensure!(mode == 0o600, "mode {mode:o}");
    let access = winter_river_broker::Access::from_file(&file, P)?;
    ensure!(access.warnings().is_empty(), "{:?}", access.warnings());
    for id in DEFAULT_NODES {
        let pass = access
            .board_password(id)
            .with_context(|| format!("no password for {id}"))?;
        ensure!(pass.len() >= 32, "a short password for {id}");
        ensure!(
            !out.contains(pass) && !err.contains(pass),
            "printed {id}'s password"
        );
    }
    let (status, check, _) =
        Proc::run("check", BIN, &["auth", "check", "--auth", f.as_str()], WAIT).await?;
    ensure!(status.success(), "{check}");
    ensure!(
        check.contains("dashboard") && check.contains("operator"),
        "{check}"
    );
    ensure!(check.contains("board srv_a"), "{check}");
    // Not over an existing file without --force.
    let before = std::fs::read(&file)?;
    let (status, _, err) =
        Proc::run("init", BIN, &["auth", "init", "--out", f.as_str()], WAIT).await?;
    ensure!(!status.success() && err.contains("--force"), "{err}");
    ensure!(std::fs::read(&file)? == before, "the file was replaced");
    Ok(())
}
