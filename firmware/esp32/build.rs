//! Build script of the ESP32 firmware: the board's settings from environment variables
//! (checked here, so a bad id or address fails the build, not the board) written to
//! `$OUT_DIR/board_config.rs`, and the linker script esp-hal 1.x needs.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `WR_NODE_ID` | `pdu_a` (with its kind) | node id, `^[a-z0-9][a-z0-9_-]{0,31}$` |
//! | `WR_NODE_KIND` | required with `WR_NODE_ID` | a kind name of docs/topology.md (`utility` … `sts`, `room`) |
//! | `WR_WIFI_SSID` | `WinterRiver-AP` | the Pi's hotspot (2.4 GHz) |
//! | `WR_WIFI_PASSWORD` | empty = open network | WPA2-Personal passphrase |
//! | `WR_BROKER` | `192.168.4.1:1883` | broker `IPv4[:port]`, `mqtt://` allowed (as the CLI's) |
//! | `WR_PASSWORD` | none | MQTT password: the board's entry under `[boards]` of the auth file (docs/security.md) |
//! | `WR_USERNAME` | the node id when `WR_PASSWORD` is set | MQTT user name (a board logs in as its node id; the shared `--username` of the CLI also works) |
//! | `WR_PREFIX` | `winter-river` | topic prefix |
//! | `WR_KNOB_MAX_KW` | `10` | load boards (server, cooling, load): demand at full knob \[kW\] |
//! | `WR_STATUS_INTERVAL_MS` | `2000` | time between periodic statuses \[ms\] |
//! | `WR_MQTT_KEEP_ALIVE_S` | `30` | MQTT keep alive \[s\] |

use std::net::SocketAddrV4;
use std::path::PathBuf;

/// The seed's hotspot and broker (the Raspberry Pi's `wlan0` in AP mode).
const DEFAULT_WIFI_SSID: &str = "WinterRiver-AP";
const DEFAULT_BROKER: &str = "192.168.4.1:1883";
const DEFAULT_NODE_ID: &str = "pdu_a";
const DEFAULT_NODE_KIND: &str = "pdu";

fn main() {
    linker_be_nice();
    // linkall.x must be the last linker script.
    println!("cargo:rustc-link-arg=-Tlinkall.x");

    if let Err(message) = write_board_config() {
        eprintln!("\nwinter-river-esp32: {message}\n");
        std::process::exit(1);
    }
}

fn var(name: &str) -> Option<String> {
    println!("cargo:rerun-if-env-changed={name}");
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn write_board_config() -> Result<(), String> {
    let (node_id, node_kind) = match (var("WR_NODE_ID"), var("WR_NODE_KIND")) {
        (Some(id), Some(kind)) => (id, kind),
        (Some(id), None) => {
            return Err(format!(
                "WR_NODE_ID={id} needs WR_NODE_KIND too (one of: {})",
                kinds()
            ));
        }
        (None, Some(_)) => return Err("WR_NODE_KIND is set but WR_NODE_ID is not".into()),
        (None, None) => {
            println!(
                "cargo:warning=WR_NODE_ID not set: building the default board \
                 {DEFAULT_NODE_ID} ({DEFAULT_NODE_KIND})"
            );
            (DEFAULT_NODE_ID.to_owned(), DEFAULT_NODE_KIND.to_owned())
        }
    };
    winter_river_protocol::validate_node_id(&node_id)
        .map_err(|e| format!("WR_NODE_ID={node_id:?}: {e}"))?;
    if winter_river_protocol::NodeKind::parse(&node_kind).is_none() {
        return Err(format!(
            "WR_NODE_KIND={node_kind:?} is not a kind (one of: {})",
            kinds()
        ));
    }

    let prefix = var("WR_PREFIX").unwrap_or_else(|| winter_river_protocol::DEFAULT_PREFIX.into());
    winter_river_protocol::validate_prefix(&prefix)
        .map_err(|e| format!("WR_PREFIX={prefix:?}: {e}"))?;

    let ssid = var("WR_WIFI_SSID").unwrap_or_else(|| DEFAULT_WIFI_SSID.into());
    if ssid.len() > 32 {
        return Err(format!("WR_WIFI_SSID={ssid:?} is longer than 32 bytes"));
    }
    let password = var("WR_WIFI_PASSWORD").unwrap_or_default();
    if !password.is_empty() && !(8..=64).contains(&password.len()) {
        return Err(
            "WR_WIFI_PASSWORD must be 8 to 64 bytes (WPA2), or empty for an open network".into(),
        );
    }

    // The same variable as the CLI's `--broker`: `mqtt://` and a missing port are fine.
    let broker_text = var("WR_BROKER").unwrap_or_else(|| DEFAULT_BROKER.into());
    let bare = broker_text
        .trim()
        .trim_start_matches("mqtt://")
        .trim_end_matches('/');
    let with_port = if bare.contains(':') {
        bare.to_owned()
    } else {
        format!("{bare}:1883")
    };
    let broker: SocketAddrV4 = with_port.parse().map_err(|_| {
        format!(
            "WR_BROKER={broker_text:?} is not mqtt://IPv4[:port] (e.g. 10.0.0.2:1883; \
             host names are not resolved, WebSocket is not supported)"
        )
    })?;
    // With roles (docs/security.md, "MQTT roles") a board logs in with its node id as
    // user name and its own password: WR_PASSWORD alone is enough.
    let mqtt_password = var("WR_PASSWORD");
    let username = var("WR_USERNAME").or_else(|| mqtt_password.as_ref().map(|_| node_id.clone()));
    if mqtt_password
        .as_deref()
        .is_some_and(|p| p.contains(['\n', '\r', '\0']))
    {
        return Err("WR_PASSWORD may not hold a line break or NUL".into());
    }

    let knob_max_kw = number::<f64>("WR_KNOB_MAX_KW", 10.0)?;
    if !(knob_max_kw.is_finite() && knob_max_kw > 0.0) {
        return Err(format!("WR_KNOB_MAX_KW={knob_max_kw} must be more than 0"));
    }
    let status_interval_ms = number::<u64>("WR_STATUS_INTERVAL_MS", 2_000)?;
    if status_interval_ms == 0 {
        return Err("WR_STATUS_INTERVAL_MS must be more than 0".into());
    }
    let keep_alive_s = number::<u16>("WR_MQTT_KEEP_ALIVE_S", 30)?;
    if keep_alive_s < 5 {
        return Err("WR_MQTT_KEEP_ALIVE_S must be at least 5".into());
    }

    // Debug formatting of a str (or an Option of one) is a valid Rust literal.
    let ip = broker.ip().octets();
    let port = broker.port();
    let out = format!(
        "\
// Generated by build.rs from WR_* environment variables.
/// Node id (validated at build time).
pub const NODE_ID: &str = {node_id:?};
/// Node kind name (validated at build time).
pub const NODE_KIND: &str = {node_kind:?};
/// Topic prefix.
pub const TOPIC_PREFIX: &str = {prefix:?};
/// Wi-Fi network name (2.4 GHz).
pub const WIFI_SSID: &str = {ssid:?};
/// WPA2 passphrase; empty for an open network.
pub const WIFI_PASSWORD: &str = {password:?};
/// Broker IPv4 address.
pub const BROKER_IPV4: [u8; 4] = {ip:?};
/// Broker TCP port.
pub const BROKER_PORT: u16 = {port};
/// MQTT user name, if the broker wants one.
pub const MQTT_USERNAME: Option<&str> = {username:?};
/// MQTT password (sent only with a user name).
pub const MQTT_PASSWORD: Option<&str> = {mqtt_password:?};
/// Demand at full knob [kW].
pub const KNOB_MAX_KW: f64 = {knob_max_kw:?};
/// Time between periodic statuses [ms].
pub const STATUS_INTERVAL_MS: u64 = {status_interval_ms};
/// MQTT keep alive [s].
pub const MQTT_KEEP_ALIVE_S: u16 = {keep_alive_s};
"
    );

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);
    std::fs::write(out_dir.join("board_config.rs"), out).map_err(|e| e.to_string())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{name}={text:?} is not a number")),
    }
}

fn kinds() -> String {
    winter_river_protocol::NodeKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// esp-generate's helper: turns common linker errors into hints. The linker calls
/// this build script back with `undefined-symbol NAME`.
fn linker_be_nice() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() > 2 {
        let (kind, what) = (&args[1], &args[2]);
        if kind != "undefined-symbol" {
            std::process::exit(1);
        }
        if what == "_stack_start" {
            eprintln!("\nhint: is the linker script `linkall.x` missing?\n");
        }
        std::process::exit(0);
    }

    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(_) => return,
    };
    // Xtensa links through gcc (`-Wl,`), RISC-V through rust-lld.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("xtensa") {
        println!(
            "cargo:rustc-link-arg=-Wl,--error-handling-script={}",
            exe.display()
        );
    } else {
        println!(
            "cargo:rustc-link-arg=--error-handling-script={}",
            exe.display()
        );
    }
}
