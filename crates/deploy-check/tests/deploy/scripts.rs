//! The shell scripts: `bash -n` and shellcheck clean; `setup_pi.sh --dry-run` runs here,
//! lists its steps and changes nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{files_under, output, rel, repo, require_tool, text};

/// Every `*.sh` of the repository, and every shell script under scripts/ and deploy/.
fn scripts() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = files_under(&["."])
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    for p in files_under(&["scripts", "deploy"]) {
        let head = std::fs::read(&p).unwrap_or_default();
        let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
        let shell = first.starts_with(b"#!")
            && [&b"bash"[..], b"/sh"]
                .iter()
                .any(|s| first.windows(s.len()).any(|w| w == *s));
        if shell && !out.contains(&p) {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn every_script_passes_bash_n_and_shellcheck() {
    let shellcheck = require_tool("shellcheck", "shellcheck");
    let list = scripts();
    let names: Vec<String> = list.iter().map(|p| rel(p)).collect();
    for expected in ["deploy/mosquitto_setup.sh", "scripts/setup_pi.sh"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not found: {names:?}"
        );
    }
    let mut failures = Vec::new();
    for path in &list {
        let syntax = output(Command::new("bash").arg("-n").arg(path));
        if !syntax.status.success() {
            failures.push(format!("bash -n {}:\n{}", rel(path), text(&syntax)));
        }
        let lint = output(
            Command::new(&shellcheck)
                .arg("--external-sources")
                .arg(path)
                .current_dir(repo()),
        );
        if !lint.status.success() {
            failures.push(format!("shellcheck {}:\n{}", rel(path), text(&lint)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn write_executable(path: &Path, body: &str) {
    std::fs::write(path, body).expect("write a stub");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// What exists at `path`: its bytes, or nothing.
fn snapshot(paths: &[&str]) -> Vec<(String, Option<Vec<u8>>)> {
    paths
        .iter()
        .map(|p| (p.to_string(), std::fs::read(p).ok()))
        .collect()
}

/// The files a real run writes.
const TOUCHED_BY_A_REAL_RUN: &[&str] = &[
    "/etc/default/telegraf",
    "/etc/default/grafana-server",
    "/etc/telegraf/telegraf.conf",
    "/etc/mosquitto/conf.d/winter-river.conf",
    "/etc/apt/sources.list.d/influxdata.list",
    "/etc/apt/sources.list.d/grafana.list",
    "/etc/apt/keyrings/influxdata.gpg",
    "/etc/apt/keyrings/grafana.gpg",
    "/etc/grafana/provisioning/datasources/winter-river.yaml",
    "/etc/systemd/system/winter-river-engine.service",
    "/etc/systemd/system/winter-river-web.service",
    "/etc/winter-river/winter-river.env",
    "/usr/local/bin/winter-river",
];

/// Runs `setup_pi.sh --dry-run` with every command that changes a machine replaced
/// by a stub that records its call and fails. Returns (output, recorded calls).
fn dry_run(extra: &[&str], binary_has_web: bool) -> (std::process::Output, Vec<String>) {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let stubs = tmp.path().join("bin");
    std::fs::create_dir(&stubs).expect("mkdir");
    let log = tmp.path().join("calls.log");
    for cmd in [
        "apt-get",
        "apt",
        "dpkg",
        "systemctl",
        "nmcli",
        "influx",
        "grafana",
        "grafana-cli",
        "useradd",
        "usermod",
        "groupadd",
        "curl",
        "wget",
        "gpg",
        "install",
        "chown",
        "chmod",
        "cp",
        "mv",
        "tee",
        "ln",
        "mkdir",
        "rm",
        "rmdir",
        "touch",
        "sudo",
        "mosquitto_passwd",
    ] {
        write_executable(
            &stubs.join(cmd),
            &format!(
                "#!/bin/sh\necho \"{cmd} $*\" >>'{}'\nexit 1\n",
                log.display()
            ),
        );
    }
    // A winter-river binary with or without the `web` subcommand.
    let fake = tmp.path().join("winter-river");
    let web_exit = if binary_has_web { 0 } else { 2 };
    write_executable(
        &fake,
        &format!("#!/bin/sh\n[ \"$1\" = web ] && exit {web_exit}\nexit 0\n"),
    );
    let env_file = tmp.path().join("secrets.env");
    let path = format!(
        "{}:{}",
        stubs.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = output(
        Command::new("bash")
            .arg(repo().join("scripts/setup_pi.sh"))
            .arg("--dry-run")
            .arg("--env-file")
            .arg(&env_file)
            .arg("--binary")
            .arg(&fake)
            .args(extra)
            .env("PATH", path)
            .stdin(std::process::Stdio::null()),
    );
    assert!(
        !env_file.exists(),
        "the dry run wrote the secrets file {}",
        env_file.display()
    );
    let calls = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    (out, calls)
}

/// A recorded call that only reads.
fn read_only(call: &str) -> bool {
    let words: Vec<&str> = call.split_whitespace().collect();
    matches!(
        words.as_slice(),
        ["systemctl", "is-enabled" | "is-active", ..]
            | ["dpkg", "--print-architecture"]
            | ["nmcli", "-t" | "-g", ..]
    )
}

#[test]
fn setup_pi_dry_run_lists_every_step_and_changes_nothing() {
    let before = snapshot(TOUCHED_BY_A_REAL_RUN);
    let (out, calls) = dry_run(&["--hotspot", "--nodes", "all"], false);
    let after = snapshot(TOUCHED_BY_A_REAL_RUN);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "setup_pi.sh --dry-run failed:\n{}",
        text(&out)
    );
    assert_eq!(before, after, "the dry run changed files of this machine");
    let writes: Vec<&String> = calls.iter().filter(|c| !read_only(c)).collect();
    assert!(
        writes.is_empty(),
        "the dry run ran commands that change the machine: {writes:#?}"
    );
    for step in [
        "Preflight",
        "Secrets and settings",
        "Packages",
        "Mosquitto",
        "InfluxDB 2",
        "Telegraf",
        "Grafana",
        "Winter River",
        "Hotspot",
        "Summary",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("==> [") && l.contains(step)),
            "no step `{step}` in:\n{stdout}"
        );
    }
    for change in [
        "/etc/default/telegraf",
        "/etc/default/grafana-server",
        "influx setup --force",
        "INFLUX_TELEGRAF_TOKEN",
        "grafana-mqtt-datasource",
        "/etc/grafana/provisioning/datasources/winter-river.yaml",
        "winter-river-engine.service",
        "winter-river-nodes.service",
        "nmcli connection add",
        "dry run: nothing was changed",
    ] {
        assert!(
            stdout.contains(change),
            "the dry run does not mention `{change}`:\n{stdout}"
        );
    }
    // `web` arrives later: without the subcommand, no unit.
    assert!(stdout.contains("skip winter-river-web"), "{stdout}");
    assert!(!stdout.contains("winter-river-web.service"), "{stdout}");
    // Secrets are never printed: generated ones show as names only or ***.
    assert!(stdout.contains("INFLUX_ADMIN_TOKEN=…"), "{stdout}");
    assert!(
        !stdout.contains("<generated-"),
        "a secret placeholder was printed:\n{stdout}"
    );
    assert!(stdout.contains("wifi-sec.psk ***"), "{stdout}");
}

#[test]
fn setup_pi_installs_the_web_unit_when_the_binary_has_web_and_can_skip_mosquitto() {
    let (out, _) = dry_run(&["--no-mosquitto"], true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout.contains("Mosquitto: skipped"), "{stdout}");
    assert!(!stdout.contains("mosquitto_setup:"), "{stdout}");
    assert!(stdout.contains("winter-river-web.service"), "{stdout}");
    assert!(!stdout.contains("skip winter-river-web"), "{stdout}");
    assert!(stdout.contains("Hotspot: skipped"), "{stdout}");
}

#[test]
fn setup_pi_refuses_unknown_options() {
    let out = output(
        Command::new("bash")
            .arg(repo().join("scripts/setup_pi.sh"))
            .arg("--dry-run")
            .arg("--frobnicate"),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option"));
}
