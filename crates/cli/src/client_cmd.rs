//! Operator commands over MQTT: `send NODE COMMAND [JSON]`, `fault NODE on|off`,
//! `load NODE KW`, `reset NODE`. Each listens first, publishes one Command
//! (docs/protocol.md) at QoS 1 on `<p>/<node>/command` (or `<p>/system/command` for
//! `system`), and waits for the engine to show it applied — never a bare "sent":
//!
//! - an event for the node naming the command (`refused` with its reason, or what
//!   the command did) answers any command;
//! - commands that raise no event are confirmed by the engine's state: `set_fault`
//!   by the node's `fault` (or `restored`) event or an `update` whose status is (or
//!   is no longer) `fault`; `set_load` by an `update` of the load drawing exactly
//!   `kw` (a powered server or load); `reset` by the node's `reset` event or an
//!   `update` neither tripped nor out of fuel (`reset system`: a SystemStatus with no
//!   node tripped).
//!
//! It prints `applied: …` (exit 0), `refused: <reason>` (exit 1) or `not confirmed
//! within N s: …` (exit 3), with the switching commands' exit codes
//! ([`operate_cmd`](crate::operate_cmd)); bad input or no broker exits 2. Every
//! command says it comes from the command line (`"channel": "cli"`), for a drill's
//! debrief.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::time::Instant;
use winter_river_mqtt::LinkEvent;
use winter_river_protocol::{
    Breaker, Channel, Command, Event, EventKind, NodeState, Qos, SYSTEM_ID, SystemStatus, Topic,
    TopologyJson, decode_command, decode_event, decode_system_status, decode_topology,
    encode_command_via, validate_node_id,
};

use crate::live_args::{ClientArgs, connect, runtime};
use crate::operate_cmd::{EXIT_ACCEPTED, EXIT_NO_ANSWER, EXIT_REFUSED, OperateArgs};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the retained topology before sending.
const TOPOLOGY_WAIT: Duration = Duration::from_secs(1);

/// Flags of `send`, `fault`, `load` and `reset`.
#[derive(Debug, Clone, clap::Args)]
pub struct CommandArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// How long to wait for the engine to show the command applied [s]. A command
    /// that changes nothing is confirmed by the engine's periodic refresh (every
    /// 5 s), hence the default.
    #[arg(long, default_value_t = 6.0, value_name = "SECONDS")]
    pub wait_s: f64,
}

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

/// What the engine said that tells whether the command was applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Heard {
    Event(Event),
    /// The engine's `update` of the node (its computed state).
    Update(winter_river_protocol::UpdateParams),
    System(SystemStatus),
}

/// The verdict on one thing heard after sending.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    Applied(String),
    Refused(String),
}

/// Whether `heard` shows `command`, sent to `node`, applied or refused; `None`
/// when it says nothing about it.
pub(crate) fn judge(node: &str, command: &Command, heard: &Heard) -> Option<Verdict> {
    match heard {
        Heard::Event(e) => {
            let named = e.command.as_deref() == Some(command.name());
            // A site-wide command (`epo`, `reset` on `system`) is answered on the
            // nodes it reaches, or refused on `system`.
            if e.node_id != node && !(node == SYSTEM_ID && named) {
                return None;
            }
            if named {
                return Some(if e.event == EventKind::Refused {
                    Verdict::Refused(e.reason.clone().unwrap_or_else(|| e.message.clone()))
                } else {
                    Verdict::Applied(e.message.clone())
                });
            }
            let shows = match command {
                Command::SetFault { state: true } => e.event == EventKind::Fault,
                Command::SetFault { state: false } => e.event == EventKind::Restored,
                Command::Reset => e.event == EventKind::Reset,
                _ => false,
            };
            shows.then(|| Verdict::Applied(e.message.clone()))
        }
        Heard::Update(u) => {
            let status = u.status?;
            match command {
                Command::SetFault { state: true } => (status == NodeState::Fault)
                    .then(|| Verdict::Applied(format!("{node} is fault"))),
                Command::SetFault { state: false } => (status != NodeState::Fault)
                    .then(|| Verdict::Applied(format!("{node} is {}", status.spec().word))),
                Command::SetLoad { kw } => {
                    let drawn = u.measured.power_kw?;
                    ((drawn - kw).abs() <= 1e-6 * kw.abs().max(1.0))
                        .then(|| Verdict::Applied(format!("{node} draws {drawn} kW")))
                }
                // A server its thermal protection stopped stays `shutdown` when its
                // reset is refused (still too hot): the `refused` event answers.
                Command::Reset => (!matches!(
                    status,
                    NodeState::Tripped | NodeState::OutOfFuel | NodeState::Shutdown
                ) && u.measured.breaker != Some(Breaker::Tripped))
                .then(|| Verdict::Applied(format!("{node} is {}", status.spec().word))),
                _ => None,
            }
        }
        Heard::System(s) => (node == SYSTEM_ID
            && *command == Command::Reset
            && s.nodes.get(NodeState::Tripped) == 0)
            .then(|| Verdict::Applied("no node is tripped".into())),
    }
}

/// Publishes one command to a node (or to the engine for `system`) and waits for
/// the engine to show it applied; returns the exit code.
pub fn send(args: &CommandArgs, node: &str, command: &Command) -> Result<u8> {
    let client = &args.client;
    client.check_prefix()?;
    let wait = OperateArgs {
        client: client.clone(),
        wait_s: args.wait_s,
    }
    .wait()?;
    let topic = if node == SYSTEM_ID {
        Topic::SystemCommand
    } else {
        validate_node_id(node).map_err(|e| anyhow::anyhow!("node `{node}`: {e}"))?;
        Topic::NodeCommand(node.to_string())
    };
    let url = client.url()?;
    let prefix = client.prefix.clone();
    let payload = encode_command_via(command, Channel::Cli)
        .map_err(|e| anyhow::anyhow!("cannot encode the command: {e}"))?;
    let topic_name = topic.to_topic(&prefix);
    let mut filters = vec![
        Topic::SystemEvents.to_topic(&prefix),
        Topic::SystemTopology.to_topic(&prefix),
        Topic::SystemAvailability.to_topic(&prefix),
    ];
    if node == SYSTEM_ID {
        filters.push(Topic::SystemStatus.to_topic(&prefix));
    } else {
        filters.push(topic_name.clone());
    }
    runtime()?.block_on(async {
        let mut link = connect(
            &url,
            format!("winter-river-cli-{}", std::process::id()),
            CONNECT_TIMEOUT,
        )
        .await?;
        let subscribe = |link: &winter_river_mqtt::Link| {
            filters
                .iter()
                .try_for_each(|f| link.subscribe(f, Qos::AtLeastOnce))
                .map_err(|e| anyhow!("cannot subscribe: {e}"))
        };
        subscribe(&link)?;
        // The topology first (retained): a command for a node the engine does not
        // have, or that does not apply to its kind, is refused before sending.
        let mut engine_online = None;
        let mut topology: Option<TopologyJson> = None;
        let deadline = Instant::now() + TOPOLOGY_WAIT.min(wait);
        while topology.is_none() {
            tokio::select! {
                ev = link.recv() => match ev {
                    Some(LinkEvent::Message { topic, payload }) => match Topic::parse(&prefix, &topic) {
                        Ok(Topic::SystemTopology) => topology = decode_topology(&payload).ok(),
                        Ok(Topic::SystemAvailability) => engine_online = Some(payload == b"online"),
                        _ => {}
                    },
                    Some(_) => {}
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        if let Some(t) = &topology
            && node != SYSTEM_ID
        {
            check_applies(t, node, command)?;
        }
        link.publish(&topic_name, payload.clone(), topic.qos(), false)
            .map_err(|e| anyhow!("cannot publish on {topic_name}: {e}"))?;
        let deadline = Instant::now() + wait;
        let mut verdict = None;
        let mut reconnects = 0u32;
        while verdict.is_none() {
            let ev = tokio::select! {
                ev = link.recv() => ev,
                () = tokio::time::sleep_until(deadline) => break,
            };
            let heard = match ev {
                None => break,
                // The broker came back (our session is clean): listen again.
                Some(LinkEvent::Connected) => {
                    reconnects += 1;
                    subscribe(&link)?;
                    continue;
                }
                Some(LinkEvent::Disconnected { .. }) => continue,
                Some(LinkEvent::Message { topic, payload }) => {
                    match Topic::parse(&prefix, &topic) {
                        Ok(Topic::SystemEvents) => decode_event(&payload).ok().map(Heard::Event),
                        Ok(Topic::SystemAvailability) => {
                            engine_online = Some(payload == b"online");
                            None
                        }
                        Ok(Topic::SystemStatus) => {
                            decode_system_status(&payload).ok().map(Heard::System)
                        }
                        Ok(Topic::NodeCommand(_)) => match decode_command(&payload) {
                            Ok(Command::Update(u)) => Some(Heard::Update(u)),
                            _ => None,
                        },
                        _ => None,
                    }
                }
            };
            if let Some(h) = heard {
                verdict = judge(node, command, &h);
            }
        }
        link.disconnect(Duration::from_secs(1)).await;
        Ok(match verdict {
            Some(Verdict::Applied(what)) => {
                println!("applied: {what}");
                EXIT_ACCEPTED
            }
            Some(Verdict::Refused(reason)) => {
                println!("refused: {reason}");
                EXIT_REFUSED
            }
            None => {
                let why = match engine_online {
                    Some(true) => "the engine is online but did not show it applied".to_string(),
                    Some(false) => "the engine is offline (its last word on system/availability)".into(),
                    None => format!(
                        "no engine has announced itself on {} under prefix `{prefix}` — is it running?",
                        client.broker
                    ),
                };
                let lost = if reconnects > 0 {
                    " (the broker connection dropped meanwhile: the command may be lost)"
                } else {
                    ""
                };
                println!(
                    "not confirmed within {} s: {} on {topic_name}: {why}{lost}",
                    args.wait_s,
                    command.name()
                );
                EXIT_NO_ANSWER
            }
        })
    })
}

/// Refuses before sending a command the engine would drop: an unknown node, or a
/// command that does not apply to the node's kind.
fn check_applies(topology: &TopologyJson, node: &str, command: &Command) -> Result<()> {
    let Some(n) = topology.nodes.iter().find(|n| n.id == node) else {
        bail!(
            "no node `{node}` in the engine's topology (site `{}`)",
            topology.site
        );
    };
    if !command.applies_to(n.kind) {
        bail!(
            "`{}` does not apply to {node} (a {}): it applies to {}",
            command.name(),
            n.kind.as_str(),
            command.spec().applies_to_words()
        );
    }
    Ok(())
}

pub fn fault(args: &CommandArgs, node: &str, state: OnOff) -> Result<u8> {
    send(
        args,
        node,
        &Command::SetFault {
            state: state == OnOff::On,
        },
    )
}

pub fn load(args: &CommandArgs, node: &str, kw: f64) -> Result<u8> {
    send(
        args,
        node,
        &build(
            "set_load",
            Some(&serde_json::json!({ "kw": kw }).to_string()),
        )?,
    )
}

pub fn reset(args: &CommandArgs, node: &str) -> Result<u8> {
    send(args, node, &Command::Reset)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use winter_river_protocol::{Severity, UpdateParams};

    fn event(node: &str, kind: EventKind, command: Option<&str>) -> Heard {
        let e = Event::new(1.0, node, kind, Severity::Info, format!("{node} said"));
        Heard::Event(match command {
            Some(c) => e.caused_by(c),
            None => e,
        })
    }

    fn update(status: NodeState, power_kw: Option<f64>) -> Heard {
        let mut u = UpdateParams {
            status: Some(status),
            ..UpdateParams::default()
        };
        u.measured.power_kw = power_kw;
        Heard::Update(u)
    }

    #[test]
    fn an_event_naming_the_command_answers_it() {
        let open = Command::Open;
        assert_eq!(
            judge(
                "pdu_a",
                &open,
                &event("pdu_a", EventKind::Open, Some("open"))
            ),
            Some(Verdict::Applied("pdu_a said".into()))
        );
        let Heard::Event(mut refused) = event("pdu_a", EventKind::Refused, Some("open")) else {
            unreachable!()
        };
        refused.reason = Some("locked out".into());
        assert_eq!(
            judge("pdu_a", &open, &Heard::Event(refused)),
            Some(Verdict::Refused("locked out".into()))
        );
        assert_eq!(
            judge(
                "pdu_b",
                &open,
                &event("pdu_a", EventKind::Open, Some("open"))
            ),
            None
        );
        assert_eq!(
            judge(
                "pdu_a",
                &open,
                &event("pdu_a", EventKind::Open, Some("epo"))
            ),
            None
        );
    }

    #[test]
    fn commands_without_an_event_are_confirmed_by_the_state() {
        let on = Command::SetFault { state: true };
        let off = Command::SetFault { state: false };
        assert!(judge("a", &on, &update(NodeState::Fault, None)).is_some());
        assert!(judge("a", &on, &update(NodeState::Ok, None)).is_none());
        assert!(judge("a", &on, &event("a", EventKind::Fault, None)).is_some());
        assert!(judge("a", &off, &update(NodeState::Ok, None)).is_some());
        assert!(judge("a", &off, &update(NodeState::Fault, None)).is_none());
        let load = Command::SetLoad { kw: 42.5 };
        assert!(judge("s", &load, &update(NodeState::Ok, Some(42.5))).is_some());
        assert!(judge("s", &load, &update(NodeState::Ok, Some(42.0))).is_none());
        assert!(judge("s", &load, &update(NodeState::Unpowered, Some(0.0))).is_none());
        let reset = Command::Reset;
        assert!(judge("a", &reset, &update(NodeState::Tripped, None)).is_none());
        assert!(judge("a", &reset, &update(NodeState::Shutdown, None)).is_none());
        assert!(judge("a", &reset, &update(NodeState::Ok, None)).is_some());
        let mut sys = SystemStatus::default();
        *sys.count_mut(NodeState::Tripped) = 1;
        assert!(judge(SYSTEM_ID, &reset, &Heard::System(sys.clone())).is_none());
        *sys.count_mut(NodeState::Tripped) = 0;
        assert!(judge(SYSTEM_ID, &reset, &Heard::System(sys)).is_some());
        // A site-wide command is answered on the nodes it reaches.
        assert!(
            judge(
                SYSTEM_ID,
                &Command::Epo,
                &event("ups_a", EventKind::Open, Some("epo"))
            )
            .is_some()
        );
        assert!(
            judge(
                SYSTEM_ID,
                &Command::Epo,
                &event("ups_a", EventKind::Open, None)
            )
            .is_none()
        );
        // An update says nothing of a switching command: its event does.
        assert!(judge("a", &Command::Open, &update(NodeState::Open, None)).is_none());
    }
}
