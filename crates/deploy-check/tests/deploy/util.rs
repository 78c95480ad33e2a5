//! Helpers: the repository's files, what the protocol publishes, external tools, ports.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use winter_river_protocol::{
    Breaker, Measurements, Mode, NodeCounts, NodeKind, NodeState, Source, Status, SystemStatus,
};

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

pub fn read(rel: &str) -> String {
    let path = repo().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every file under `dirs` (relative to the root), sorted; skips `target` and dot-dirs.
pub fn files_under(dirs: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    walk(&path, out);
                }
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        walk(&repo().join(d), &mut out);
    }
    out.sort();
    out
}

/// A path relative to the root, for messages.
pub fn rel(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The JSON type of a published key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    Number,
    String,
}

/// A payload's keys and their JSON types.
pub type Keys = BTreeMap<String, JsonType>;

fn keys_of(value: Value) -> Keys {
    let Value::Object(map) = value else {
        panic!("a status serializes to a JSON object");
    };
    map.into_iter()
        .map(|(k, v)| {
            let t = match v {
                Value::Number(_) => JsonType::Number,
                Value::String(_) => JsonType::String,
                other => panic!("`{k}` is published as {other}: teach deploy-check its type"),
            };
            (k, t)
        })
        .collect()
}

/// A Status with every field set. A struct literal without `..`: a field added to
/// `Status` fails to compile here until it is listed, so the checks never miss it.
pub fn full_status() -> Status {
    Status {
        node_id: "ups_a".into(),
        kind: Some(NodeKind::Ups),
        measured: Measurements {
            voltage_in: Some(480.0),
            voltage_out: Some(480.0),
            current: Some(120.5),
            power_kw: Some(100.0),
            load_pct: Some(20.0),
            battery_pct: Some(87.5),
            runtime_s: Some(1500.0),
            fuel_pct: Some(90.0),
            temperature_c: Some(24.5),
            solid_c: Some(23.9),
            inlet_c: Some(25.1),
            cooling_kw: Some(80.0),
            source: Some("util_a".into()),
            mode: Some(Mode::MaintenanceBypass),
            breaker: Some(Breaker::Open),
        },
        status: NodeState::OnBattery,
        wifi_rssi: Some(-62),
        uptime: Some(3600),
        seq: Some(1800),
    }
}

/// A SystemStatus with every field set (struct literal, as [`full_status`]).
pub fn full_system_status() -> SystemStatus {
    SystemStatus {
        node_id: "system".into(),
        it_kw: 5.0,
        facility_kw: 7.5,
        utility_kw: 0.0,
        generator_kw: 2.5,
        battery_kw: 5.0,
        pue: Some(1.5),
        it_kw_lost: 0.0,
        it_kwh_unserved: 0.0,
        source: Source::Battery,
        runtime_s: Some(1500.0),
        fuel_pct: Some(100.0),
        max_inlet_c: Some(25.1),
        // Every count non-zero, so every `nodes_<state>` key is checked.
        nodes: {
            let mut nodes = NodeCounts::default();
            for state in NodeState::ALL {
                *nodes.get_mut(state) = 1;
            }
            nodes
        },
        rejected_msgs: 0,
        sim_time_s: 60.0,
    }
}

/// The keys a node publishes on `<p>/<id>/status`, with their JSON types.
pub fn status_keys() -> Keys {
    keys_of(serde_json::to_value(full_status()).expect("Status serializes"))
}

/// The keys the engine publishes on `<p>/system/status`, with their JSON types.
pub fn system_keys() -> Keys {
    keys_of(serde_json::to_value(full_system_status()).expect("SystemStatus serializes"))
}

/// The status words of docs/protocol.md#status-words.
pub fn status_words() -> Vec<&'static str> {
    NodeState::ALL.iter().map(|s| s.as_str()).collect()
}

/// The component kinds of docs/topology.md.
pub fn kind_words() -> Vec<&'static str> {
    NodeKind::ALL.iter().map(|k| k.as_str()).collect()
}

/// Fails (never skips) when an external tool is missing: scripts/test installs them.
pub fn require_tool(program: &str, debian_package: &str) -> PathBuf {
    let candidates = [
        PathBuf::from(program),
        Path::new("/usr/sbin").join(program),
        Path::new("/usr/bin").join(program),
    ];
    for c in &candidates {
        if c.is_absolute() && c.is_file() {
            return c.clone();
        }
    }
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let c = dir.join(program);
            if c.is_file() {
                return c;
            }
        }
    }
    panic!(
        "`{program}` not found: install the Debian package `{debian_package}` \
         (apt-get install -y {debian_package}; scripts/test does this)"
    );
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Runs a command to its end; panics with its output if it fails to start.
pub fn output(cmd: &mut Command) -> std::process::Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Standard output and error of a finished command, for messages.
pub fn text(out: &std::process::Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
