//! Operator switching from a terminal: `open NODE`, `close NODE`, `lockout NODE
//! on|off`, `mode NODE WORD`, `transfer NODE FEED`, `ats-test NODE on|off`, `epo`
//! (docs/protocol.md, "Operator commands"). Each one listens on
//! `<p>/system/events` first, publishes its command at QoS 1, and waits briefly
//! for the engine's answer: the event for that node whose `command` is the
//! command's name. The command's name, its parameters and the kinds it applies to
//! are the protocol's command table ([`COMMANDS`](winter_river_protocol::COMMANDS)); the node's kind comes from the
//! retained `<p>/system/topology`.
//!
//! Exit codes: 0 the engine accepted it (its event's message is printed), 1 an
//! interlock refused it (`refused: <reason>`), 2 the input is invalid or the broker
//! cannot be reached, 3 no answer in time (the engine is not running, or not on
//! this prefix).

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use tokio::time::Instant;
use winter_river_mqtt::{Link, LinkEvent};
use winter_river_protocol::{
    Channel, Command, CommandSpec, Event, EventKind, NodeKind, ParamType, Qos, SYSTEM_ID, Topic,
    TopologyJson, decode_event, decode_topology, encode_command_via, validate_node_id,
};

use crate::live_args::{ClientArgs, connect, runtime};
use crate::{EXIT_FAILED, EXIT_OK};

/// Exit code: the engine accepted the command.
pub const EXIT_ACCEPTED: u8 = EXIT_OK;
/// Exit code: an interlock refused the command.
pub const EXIT_REFUSED: u8 = EXIT_FAILED;
/// Exit code: no answer from the engine within `--wait-s`.
pub const EXIT_NO_ANSWER: u8 = 3;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the retained topology, which a broker hands over at once
/// when an engine has ever run.
const TOPOLOGY_WAIT: Duration = Duration::from_secs(1);
/// After the first answer to `epo`, how long to gather the others: one step
/// opens every UPS and STS, so their events arrive together.
const EPO_SETTLE: Duration = Duration::from_millis(300);
/// Most `--wait-s` taken \[s\].
const MAX_WAIT_S: f64 = 3600.0;

/// Flags every switching command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct OperateArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// How long to wait for the engine's answer [s].
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    pub wait_s: f64,
}

impl OperateArgs {
    pub(crate) fn wait(&self) -> Result<Duration> {
        let s = self.wait_s;
        if !s.is_finite() || s <= 0.0 || s > MAX_WAIT_S {
            bail!("--wait-s {s}: must be a number of seconds above 0 and at most {MAX_WAIT_S}");
        }
        Ok(Duration::from_secs_f64(s))
    }
}

/// What a switching command is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Node(&'a str),
    /// `<p>/system/command` (`epo`).
    Site,
}

/// The command's words after the node: one per parameter of its row, in order.
#[derive(Debug, Clone, Copy)]
pub enum Words<'a> {
    /// For the command of this name.
    Of(&'static str, &'a [&'a str]),
    /// `mode NODE WORD`: the command is the node kind's mode command.
    Mode(&'a str),
}

/// Sends one switching command and waits for its answer; returns the exit code.
pub fn run(args: &OperateArgs, target: Target<'_>, words: Words<'_>) -> Result<u8> {
    args.client.check_prefix()?;
    let wait = args.wait()?;
    if let Target::Node(node) = target {
        check_node_id(node)?;
    }
    let url = args.client.url()?;
    let prefix = args.client.prefix.clone();
    runtime()?.block_on(async {
        let mut link = connect(
            &url,
            format!("winter-river-operate-{}", std::process::id()),
            CONNECT_TIMEOUT,
        )
        .await?;
        let mut heard = Heard::default();
        // Events first: the answer must not come before the subscription.
        for filter in [
            Topic::SystemEvents,
            Topic::SystemTopology,
            Topic::SystemAvailability,
        ] {
            link.subscribe(&filter.to_topic(&prefix), Qos::AtLeastOnce)
                .map_err(|e| anyhow!("cannot subscribe: {e}"))?;
        }
        let deadline = Instant::now() + TOPOLOGY_WAIT.min(wait);
        while heard.topology.is_none() {
            tokio::select! {
                ev = link.recv() => match ev {
                    Some(LinkEvent::Message { topic, payload }) => heard.absorb(&prefix, &topic, &payload),
                    Some(_) => {}
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        // Anything heard so far came before the command: not its answer.
        heard.events.clear();
        let (command, topic) = resolve(target, words, heard.topology.as_ref())?;
        // From the command line, as a drill's debrief names it.
        let payload = encode_command_via(&command, Channel::Cli)
            .map_err(|e| anyhow!("cannot encode: {e}"))?;
        let topic_name = topic.to_topic(&prefix);
        link.publish(&topic_name, payload, topic.qos(), false)
            .map_err(|e| anyhow!("cannot publish on {topic_name}: {e}"))?;
        let answer = wait_answer(&mut link, &prefix, &mut heard, target, &command, wait).await;
        link.disconnect(Duration::from_secs(1)).await;
        Ok(report(&answer, &heard, target, &command, args, &topic_name))
    })
}

/// A node id an operator typed: valid, and not the engine's own.
fn check_node_id(node: &str) -> Result<()> {
    if node == SYSTEM_ID {
        bail!(
            "`{SYSTEM_ID}` is the engine, not a node: its commands are `epo` and `reset {SYSTEM_ID}`"
        );
    }
    validate_node_id(node).map_err(|e| anyhow!("node `{node}`: {e}"))
}

/// What the engine said while we listened.
#[derive(Debug, Default)]
struct Heard {
    topology: Option<TopologyJson>,
    /// `<p>/system/availability`: `Some(true)` online.
    engine_online: Option<bool>,
    events: Vec<Event>,
}

impl Heard {
    fn absorb(&mut self, prefix: &str, topic: &str, payload: &[u8]) {
        match Topic::parse(prefix, topic) {
            Ok(Topic::SystemEvents) => {
                if let Ok(e) = decode_event(payload) {
                    self.events.push(e);
                }
            }
            Ok(Topic::SystemTopology) => self.topology = decode_topology(payload).ok(),
            Ok(Topic::SystemAvailability) => self.engine_online = Some(payload == b"online"),
            _ => {}
        }
    }
}

/// The command to send and where, checked against the command table and, when
/// it was heard, the topology.
fn resolve(
    target: Target<'_>,
    words: Words<'_>,
    topology: Option<&TopologyJson>,
) -> Result<(Command, Topic)> {
    let kind = match target {
        Target::Node(node) => match topology {
            Some(t) => Some(kind_of(t, node)?),
            None => None,
        },
        Target::Site => None,
    };
    let (spec, values): (&'static CommandSpec, Vec<&str>) = match words {
        Words::Of(name, values) => {
            let spec = CommandSpec::find(name)
                .ok_or_else(|| anyhow!("`{name}` is not a command of the protocol"))?;
            (spec, values.to_vec())
        }
        Words::Mode(word) => (mode_command(target, kind, word)?, vec![word]),
    };
    let topic = match target {
        Target::Site => {
            if !spec.site_wide {
                bail!("`{}` is not a site-wide command", spec.name);
            }
            Topic::SystemCommand
        }
        Target::Node(node) => {
            if let Some(kind) = kind
                && !spec.applies_to(kind)
            {
                bail!(
                    "`{}` does not apply to {node} (a {}): it applies to {}",
                    spec.name,
                    kind.as_str(),
                    spec.applies_to_words()
                );
            }
            Topic::NodeCommand(node.to_string())
        }
    };
    Ok((build(spec, &values)?, topic))
}

/// The kind of `node` in the engine's topology.
fn kind_of(topology: &TopologyJson, node: &str) -> Result<NodeKind> {
    match topology.nodes.iter().find(|n| n.id == node) {
        Some(n) => Ok(n.kind),
        None => {
            let ids: Vec<&str> = topology.nodes.iter().map(|n| n.id.as_str()).collect();
            let shown = if ids.len() > 20 {
                format!("{} … ({} nodes)", ids[..20].join(", "), ids.len())
            } else {
                ids.join(", ")
            };
            bail!(
                "no node `{node}` in the engine's topology (site `{}`: {shown})",
                topology.site
            )
        }
    }
}

/// `mode`'s help for its word: each mode command's kinds and modes.
pub fn mode_help() -> String {
    let each: Vec<String> = CommandSpec::mode_selectors()
        .map(|(c, choices)| {
            let kinds = match c.applies_to {
                winter_river_protocol::AppliesTo::Kind(k) => k.as_str().to_string(),
                _ => c.applies_to_words(),
            };
            format!("{kinds}: {}", words_of(choices))
        })
        .collect();
    format!("A mode of the node's kind ({})", each.join("; "))
}

fn words_of(choices: &[winter_river_protocol::Mode]) -> String {
    choices
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `mode NODE WORD`: the mode command of the node's kind when the topology is
/// known, else the one command whose modes include `word`.
fn mode_command(
    target: Target<'_>,
    kind: Option<NodeKind>,
    word: &str,
) -> Result<&'static CommandSpec> {
    let Target::Node(node) = target else {
        bail!("`mode` needs a node");
    };
    if let Some(kind) = kind {
        let Some((spec, choices)) = CommandSpec::mode_selector(kind) else {
            let with: Vec<String> = CommandSpec::mode_selectors()
                .map(|(c, _)| format!("{} ({})", c.applies_to_words(), c.name))
                .collect();
            bail!(
                "{node} (a {}) has no mode selector; modes are set on {}",
                kind.as_str(),
                with.join(", ")
            );
        };
        if !choices.iter().any(|m| m.as_str() == word) {
            bail!(
                "`{word}` is not a mode of {node} (a {}): its modes are {}",
                kind.as_str(),
                words_of(choices)
            );
        }
        return Ok(spec);
    }
    let having: Vec<&'static CommandSpec> = CommandSpec::mode_selectors()
        .filter(|(_, choices)| choices.iter().any(|m| m.as_str() == word))
        .map(|(c, _)| c)
        .collect();
    match having.as_slice() {
        [one] => Ok(one),
        [] => {
            let all: Vec<String> = CommandSpec::mode_selectors()
                .map(|(c, choices)| format!("{}: {}", c.applies_to_words(), words_of(choices)))
                .collect();
            bail!("`{word}` is not a mode word ({})", all.join("; "))
        }
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|c| format!("{} on {}", c.name, c.applies_to_words()))
                .collect();
            bail!(
                "`{word}` is a mode of more than one kind ({}) and no topology was heard to \
                 tell what {node} is (is the engine running?)",
                names.join(", ")
            )
        }
    }
}

/// The command of row `spec` from the words typed for its parameters, decoded
/// by the protocol's own decoder (as the engine will).
fn build(spec: &'static CommandSpec, values: &[&str]) -> Result<Command> {
    if values.len() != spec.params.len() {
        bail!(
            "`{}` takes {} value(s) ({}), got {}",
            spec.name,
            spec.params.len(),
            spec.params
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", "),
            values.len()
        );
    }
    let mut params = serde_json::Map::new();
    for (p, text) in spec.params.iter().zip(values) {
        let value = match p.ty {
            ParamType::Bool => match *text {
                "on" | "true" => serde_json::Value::Bool(true),
                "off" | "false" => serde_json::Value::Bool(false),
                _ => bail!(
                    "{}: `{}` must be on or off, not `{text}`",
                    spec.name,
                    p.name
                ),
            },
            ParamType::Number { unit, min, max } => {
                let v: f64 = text
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite() && *v >= min && *v <= max)
                    .ok_or_else(|| {
                        anyhow!(
                            "{}: `{}` must be a number of {unit} from {min} to {max}, not `{text}`",
                            spec.name,
                            p.name
                        )
                    })?;
                serde_json::json!(v)
            }
            ParamType::Choice { choices } => {
                if !choices.iter().any(|m| m.as_str() == *text) {
                    bail!(
                        "{}: `{}` must be one of {}, not `{text}`",
                        spec.name,
                        p.name,
                        words_of(choices)
                    );
                }
                serde_json::Value::String((*text).into())
            }
            ParamType::NodeId => {
                validate_node_id(text)
                    .map_err(|e| anyhow!("{}: `{}` `{text}`: {e}", spec.name, p.name))?;
                serde_json::Value::String((*text).into())
            }
        };
        params.insert(p.name.into(), value);
    }
    let text = serde_json::Value::Object(params).to_string();
    crate::client_cmd::build(spec.name, Some(&text))
}

/// The engine's answer: its events for the command.
#[derive(Debug, Default)]
struct Answer {
    events: Vec<Event>,
}

/// Whether `e` answers `command` sent to `target`.
fn answers(e: &Event, target: Target<'_>, command: &Command) -> bool {
    let name = command.name();
    if e.command.as_deref() != Some(name) {
        return false;
    }
    match target {
        Target::Node(node) => e.node_id == node,
        Target::Site => true,
    }
}

/// Listens until the answer comes (a site-wide command: until its events stop)
/// or `wait` has passed.
async fn wait_answer(
    link: &mut Link,
    prefix: &str,
    heard: &mut Heard,
    target: Target<'_>,
    command: &Command,
    wait: Duration,
) -> Answer {
    let mut answer = Answer::default();
    let mut deadline = Instant::now() + wait;
    loop {
        let ev = tokio::select! {
            ev = link.recv() => ev,
            () = tokio::time::sleep_until(deadline) => break,
        };
        match ev {
            Some(LinkEvent::Message { topic, payload }) => {
                heard.absorb(prefix, &topic, &payload);
                let new: Vec<Event> = heard
                    .events
                    .drain(..)
                    .filter(|e| answers(e, target, command))
                    .collect();
                if new.is_empty() {
                    continue;
                }
                let first = answer.events.is_empty();
                answer.events.extend(new);
                match target {
                    // One answer per node command.
                    Target::Node(_) => break,
                    Target::Site if first => deadline = Instant::now() + EPO_SETTLE,
                    Target::Site => {}
                }
            }
            Some(_) => {}
            None => break,
        }
    }
    answer
}

/// Prints the answer (or why there is none) and returns the exit code.
fn report(
    answer: &Answer,
    heard: &Heard,
    target: Target<'_>,
    command: &Command,
    args: &OperateArgs,
    topic_name: &str,
) -> u8 {
    let name = command.name();
    if answer.events.is_empty() {
        let engine = match heard.engine_online {
            Some(true) => format!(
                "the engine says it is online on {}, but did not answer",
                args.client.broker
            ),
            Some(false) => "the engine is offline (its last word on system/availability)".into(),
            None => {
                let me = crate::invocation::self_command();
                format!(
                    "no engine has announced itself on {} under prefix `{}` — is it running? \
                     (`{me} up`, or `{me} engine`)",
                    args.client.broker, args.client.prefix
                )
            }
        };
        eprintln!(
            "no answer to {name} (sent on {topic_name}) within {} s: {engine}",
            args.wait_s
        );
        return EXIT_NO_ANSWER;
    }
    let mut accepted = false;
    for e in &answer.events {
        if e.event == EventKind::Refused {
            let reason = e.reason.as_deref().unwrap_or(&e.message);
            match target {
                Target::Node(_) => println!("refused: {reason}"),
                Target::Site => println!("refused: {}: {reason}", e.node_id),
            }
        } else {
            accepted = true;
            println!("{}", e.message);
        }
    }
    if accepted {
        EXIT_ACCEPTED
    } else {
        EXIT_REFUSED
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use winter_river_protocol::TopologyNodeJson;

    fn topology() -> TopologyJson {
        let node = |id: &str, kind| TopologyNodeJson {
            id: id.into(),
            kind,
            feeds: Vec::new(),
            room: None,
            class: None,
            params: Default::default(),
        };
        TopologyJson {
            site: "test".into(),
            nodes: vec![
                node("ups_a", NodeKind::Ups),
                node("sw_a", NodeKind::Switchgear),
                node("gen_a", NodeKind::Generator),
                node("pdu_a", NodeKind::Pdu),
            ],
        }
    }

    fn err(r: Result<(Command, Topic)>) -> String {
        match r {
            Ok(c) => panic!("accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// The commands main.rs's verbs send, with the words each verb takes.
    const VERBS: &[(&str, &[&str])] = &[
        ("open", &[]),
        ("close", &[]),
        ("lockout", &["state"]),
        ("transfer", &["to"]),
        ("ats_test", &["state"]),
        ("epo", &[]),
    ];

    #[test]
    fn the_verbs_are_commands_of_the_table() {
        for (name, params) in VERBS {
            let spec = CommandSpec::find(name).unwrap_or_else(|| panic!("no command {name}"));
            let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            assert_eq!(names, *params, "{name}");
        }
        // `mode` covers every command that sets a mode.
        let modes: Vec<&str> = CommandSpec::mode_selectors().map(|(c, _)| c.name).collect();
        assert_eq!(modes, ["ups_mode", "ats_mode", "gen_mode"]);
    }

    #[test]
    fn mode_picks_the_command_by_the_nodes_kind() {
        let t = topology();
        for (node, word, want) in [
            ("ups_a", "maintenance_bypass", "ups_mode"),
            ("sw_a", "auto", "ats_mode"),
            ("gen_a", "auto", "gen_mode"),
            ("gen_a", "off", "gen_mode"),
        ] {
            let (cmd, topic) = resolve(Target::Node(node), Words::Mode(word), Some(&t)).unwrap();
            assert_eq!(cmd.name(), want, "{node} {word}");
            assert_eq!(topic, Topic::NodeCommand(node.into()));
        }
    }

    #[test]
    fn mode_refuses_a_word_of_another_kind_listing_the_valid_ones() {
        let t = topology();
        let e = err(resolve(
            Target::Node("ups_a"),
            Words::Mode("auto"),
            Some(&t),
        ));
        assert!(
            e.contains("`auto` is not a mode of ups_a (a ups)")
                && e.contains("normal, static_bypass, maintenance_bypass"),
            "{e}"
        );
        let e = err(resolve(
            Target::Node("pdu_a"),
            Words::Mode("auto"),
            Some(&t),
        ));
        assert!(e.contains("pdu_a (a pdu) has no mode selector"), "{e}");
        assert!(e.contains("ups nodes only (ups_mode)"), "{e}");
    }

    #[test]
    fn without_a_topology_mode_goes_by_an_unambiguous_word() {
        let (cmd, _) = resolve(
            Target::Node("ups_b"),
            Words::Mode("maintenance_bypass"),
            None,
        )
        .unwrap();
        assert_eq!(cmd.name(), "ups_mode");
        let (cmd, _) = resolve(Target::Node("sw_b"), Words::Mode("manual"), None).unwrap();
        assert_eq!(cmd.name(), "ats_mode");
        let e = err(resolve(Target::Node("x"), Words::Mode("auto"), None));
        assert!(
            e.contains("more than one kind") && e.contains("gen_mode"),
            "{e}"
        );
        let e = err(resolve(Target::Node("x"), Words::Mode("sideways"), None));
        assert!(e.contains("`sideways` is not a mode word"), "{e}");
    }

    #[test]
    fn a_command_that_does_not_apply_or_an_unknown_node_is_refused_before_sending() {
        let t = topology();
        let e = err(resolve(
            Target::Node("pdu_a"),
            Words::Of("ats_test", &["on"]),
            Some(&t),
        ));
        assert!(
            e.contains("`ats_test` does not apply to pdu_a (a pdu): it applies to switchgear"),
            "{e}"
        );
        let e = err(resolve(
            Target::Node("ghost"),
            Words::Of("open", &[]),
            Some(&t),
        ));
        assert!(
            e.contains("no node `ghost`") && e.contains("ups_a, sw_a"),
            "{e}"
        );
    }

    #[test]
    fn words_become_the_rows_params() {
        let t = topology();
        let (cmd, _) = resolve(
            Target::Node("pdu_a"),
            Words::Of("lockout", &["on"]),
            Some(&t),
        )
        .unwrap();
        assert_eq!(cmd, Command::Lockout { state: true });
        let (cmd, _) = resolve(
            Target::Node("sw_a"),
            Words::Of("transfer", &["gen_a"]),
            Some(&t),
        )
        .unwrap();
        assert_eq!(cmd, Command::Transfer { to: "gen_a".into() });
        let (cmd, topic) = resolve(Target::Site, Words::Of("epo", &[]), Some(&t)).unwrap();
        assert_eq!((cmd, topic), (Command::Epo, Topic::SystemCommand));
        let e = err(resolve(
            Target::Node("sw_a"),
            Words::Of("transfer", &["Not An Id"]),
            Some(&t),
        ));
        assert!(e.contains("transfer: `to` `Not An Id`"), "{e}");
        let e = err(resolve(
            Target::Node("pdu_a"),
            Words::Of("lockout", &["maybe"]),
            Some(&t),
        ));
        assert!(e.contains("`state` must be on or off, not `maybe`"), "{e}");
    }

    #[test]
    fn an_answer_is_the_event_for_that_node_and_command() {
        let event = |node: &str, kind, command: Option<&str>| {
            let e = Event::new(
                1.0,
                node,
                kind,
                winter_river_protocol::Severity::Info,
                "m".into(),
            );
            match command {
                Some(c) => e.caused_by(c),
                None => e,
            }
        };
        let open = Command::Open;
        assert!(answers(
            &event("pdu_a", EventKind::Open, Some("open")),
            Target::Node("pdu_a"),
            &open
        ));
        assert!(answers(
            &event("pdu_a", EventKind::Refused, Some("open")),
            Target::Node("pdu_a"),
            &open
        ));
        // Another node, another command, or no command: not the answer.
        assert!(!answers(
            &event("pdu_b", EventKind::Open, Some("open")),
            Target::Node("pdu_a"),
            &open
        ));
        assert!(!answers(
            &event("pdu_a", EventKind::Open, Some("epo")),
            Target::Node("pdu_a"),
            &open
        ));
        assert!(!answers(
            &event("pdu_a", EventKind::Unpowered, None),
            Target::Node("pdu_a"),
            &open
        ));
        assert!(answers(
            &event("ups_a", EventKind::Open, Some("epo")),
            Target::Site,
            &Command::Epo
        ));
    }

    #[test]
    fn system_is_not_a_node_and_the_wait_is_bounded() {
        let e = check_node_id("system").unwrap_err().to_string();
        assert!(e.contains("`system` is the engine"), "{e}");
        assert!(check_node_id("Bad Id").is_err());
        let args = |wait_s| OperateArgs {
            client: ClientArgs {
                broker: crate::live_args::DEFAULT_BROKER.into(),
                prefix: "winter-river".into(),
                ca: None,
            },
            wait_s,
        };
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9] {
            let e = args(bad).wait().unwrap_err().to_string();
            assert!(e.starts_with("--wait-s"), "{e}");
        }
        assert_eq!(args(0.5).wait().unwrap(), Duration::from_millis(500));
    }
}
