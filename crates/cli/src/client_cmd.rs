//! Operator commands over MQTT: `send NODE COMMAND [JSON]`, `fault NODE on|off`,
//! `load NODE KW`, `reset NODE`. Each publishes one Command (docs/protocol.md) at QoS 1 on
//! `<p>/<node>/command` (or `<p>/system/command` for `system`) and exits. Every
//! command says it comes from the command line (`"channel": "cli"`), for a drill's
//! debrief.

use std::time::Duration;

use anyhow::{Context, Result};
use winter_river_protocol::{
    Channel, Command, SYSTEM_ID, Topic, decode_command, encode_command_via, validate_node_id,
};

use crate::EXIT_OK;
use crate::live_args::{ClientArgs, connect, runtime};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `fault NODE on|off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl OnOff {
    /// The word as typed, which a boolean parameter takes.
    pub fn word(self) -> &'static str {
        match self {
            OnOff::On => "on",
            OnOff::Off => "off",
        }
    }
}

/// Builds a command from its name and optional JSON params, checked by the same
/// decoder the engine and the boards use.
pub fn build(command: &str, params_json: Option<&str>) -> Result<Command> {
    let params: serde_json::Value = match params_json {
        None => serde_json::json!({}),
        Some(text) => {
            serde_json::from_str(text).with_context(|| format!("params are not JSON: {text}"))?
        }
    };
    let wire = serde_json::json!({ "command": command, "params": params });
    let bytes = serde_json::to_vec(&wire).context("cannot encode the command")?;
    decode_command(&bytes).map_err(|e| anyhow::anyhow!("command `{command}` refused: {e}"))
}

/// Publishes one command to a node (or to the engine for `system`).
pub fn send(client: &ClientArgs, node: &str, command: &Command) -> Result<u8> {
    client.check_prefix()?;
    let topic = if node == SYSTEM_ID {
        Topic::SystemCommand
    } else {
        validate_node_id(node).map_err(|e| anyhow::anyhow!("node `{node}`: {e}"))?;
        Topic::NodeCommand(node.to_string())
    };
    let url = client.url()?;
    let payload = encode_command_via(command, Channel::Cli)
        .map_err(|e| anyhow::anyhow!("cannot encode the command: {e}"))?;
    let topic_name = topic.to_topic(&client.prefix);
    runtime()?.block_on(async {
        let link = connect(
            &url,
            format!("winter-river-cli-{}", std::process::id()),
            CONNECT_TIMEOUT,
        )
        .await?;
        link.publish(&topic_name, payload.clone(), topic.qos(), false)?;
        link.disconnect(Duration::from_secs(2)).await;
        anyhow::Ok(())
    })?;
    println!("sent {} → {topic_name}", String::from_utf8_lossy(&payload));
    Ok(EXIT_OK)
}

pub fn fault(client: &ClientArgs, node: &str, state: OnOff) -> Result<u8> {
    send(
        client,
        node,
        &Command::SetFault {
            state: state == OnOff::On,
        },
    )
}

pub fn load(client: &ClientArgs, node: &str, kw: f64) -> Result<u8> {
    send(
        client,
        node,
        &build(
            "set_load",
            Some(&serde_json::json!({ "kw": kw }).to_string()),
        )?,
    )
}

pub fn reset(client: &ClientArgs, node: &str) -> Result<u8> {
    send(client, node, &Command::Reset)
}
