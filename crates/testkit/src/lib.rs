//! Test kit for Winter River's end-to-end tests and benchmarks against real brokers:
//! free loopback ports ([`free_port`]), a Mosquitto started in a temp dir
//! ([`Mosquitto`]), `winter-river` subprocesses with captured output that die with the
//! test ([`Proc`]), and an MQTT client that records what it hears and waits for
//! predicates with timeouts ([`Client`]). With feature `site`: a whole live site in
//! the test process (`site::LiveSite`, feature `site`: embedded broker, engine, virtual boards),
//! for tests of clients that do not depend on the engine or the simulator.
//!
//! Everything stays on 127.0.0.1, and every wait is bounded.

mod client;
mod error;
mod mosquitto;
mod ports;
mod process;
#[cfg(feature = "site")]
pub mod site;
mod tempdir;

pub use client::{Client, Msg};
pub use error::TestkitError;
pub use mosquitto::{Mosquitto, MosquittoOptions, mosquitto_available};
pub use ports::{free_port, wait_port_open};
pub use process::{Proc, running_as_root, signal};
pub use tempdir::TempDir;

/// The eight nodes of the built-in default topology (the seed's chain).
pub const DEFAULT_NODES: [&str; 8] = [
    "util_a", "trf_a", "gen_a", "sw_a", "dist_a", "ups_a", "pdu_a", "srv_a",
];

/// The default nodes except `left_out`, as a `--nodes` value.
pub fn nodes_except(left_out: &str) -> String {
    DEFAULT_NODES
        .iter()
        .filter(|n| **n != left_out)
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}

/// `--bind 127.0.0.1 --mqtt-port MQTT --ws-port WS`: the flags of `winter-river up` and
/// `winter-river broker` that keep the embedded broker on loopback, on the given ports
/// (`ws_port` 0: no WebSocket listener).
pub fn embedded_broker_args(mqtt_port: u16, ws_port: u16) -> Vec<String> {
    [
        "--bind".to_string(),
        "127.0.0.1".to_string(),
        "--mqtt-port".to_string(),
        mqtt_port.to_string(),
        "--ws-port".to_string(),
        ws_port.to_string(),
    ]
    .into()
}
