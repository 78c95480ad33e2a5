//! `winter-river drill start|stop|inject N|load FILE|status`: the instructor's
//! drill commands from a terminal (docs/drills.md). Each one reads the retained
//! `<p>/system/drill` first, publishes its command on `<p>/system/drill/command`
//! (QoS 1) and waits for the engine's next `system/drill` that answers it: the state,
//! an inject fired, or the engine's message when it refused.
//!
//! Exit codes: 0 done (or, for `status`, a drill status was read), 1 the engine
//! refused it (its message is printed), 2 invalid input or no broker, 3 no answer
//! (no engine on this broker and prefix).

use std::time::Duration;

use anyhow::{Result, bail};
use tokio::time::Instant;
use winter_river_mqtt::LinkEvent;
use winter_river_protocol::{
    DrillCommand, DrillState, DrillStatus, ExpectVerdict, Topic, decode_drill_status,
    encode_drill_command,
};

use crate::live_args::{ClientArgs, connect, runtime};
use crate::operate_cmd::{EXIT_ACCEPTED, EXIT_NO_ANSWER, EXIT_REFUSED};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the retained `system/drill`, which a broker hands over at once
/// when an engine has published one.
const RETAINED_WAIT: Duration = Duration::from_secs(1);
/// Most `--wait-s` taken \[s\].
const MAX_WAIT_S: f64 = 3600.0;

/// Flags every drill command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct DrillOpts {
    #[command(flatten)]
    pub client: ClientArgs,
    /// How long to wait for the engine's answer [s].
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS", value_parser = crate::numbers::seconds, allow_negative_numbers = true)]
    pub wait_s: f64,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum DrillVerb {
    /// Reset the site to the drill's starting state and start its clock.
    Start(DrillOpts),
    /// End the drill now; the engine writes its debrief.
    Stop(DrillOpts),
    /// Fire inject N (0-based: the drill's N-th [[event]]) now.
    Inject {
        /// The inject's index, as `drill status` lists them.
        event: usize,
        #[command(flatten)]
        opts: DrillOpts,
    },
    /// Load a drill of the engine's library by file name (`utility-loss.toml`).
    Load {
        /// A file name of the engine's --drills folder, not a path.
        file: String,
        #[command(flatten)]
        opts: DrillOpts,
    },
    /// Print the loaded drill and its progress.
    Status(DrillOpts),
}

impl DrillVerb {
    /// The command to send (none for `status`) and the flags.
    fn parts(&self) -> (Option<DrillCommand>, &DrillOpts) {
        match self {
            DrillVerb::Start(o) => (Some(DrillCommand::Start {}), o),
            DrillVerb::Stop(o) => (Some(DrillCommand::Stop {}), o),
            DrillVerb::Inject { event, opts } => {
                (Some(DrillCommand::Inject { event: *event }), opts)
            }
            DrillVerb::Load { file, opts } => {
                (Some(DrillCommand::Load { file: file.clone() }), opts)
            }
            DrillVerb::Status(o) => (None, o),
        }
    }
}

pub fn run(verb: &DrillVerb) -> Result<u8> {
    let (command, args) = verb.parts();
    args.client.check_prefix()?;
    let s = args.wait_s;
    if !s.is_finite() || s <= 0.0 || s > MAX_WAIT_S {
        bail!("--wait-s {s}: must be a number of seconds above 0 and at most {MAX_WAIT_S}");
    }
    let wait = Duration::from_secs_f64(s);
    let url = args.client.url()?;
    let prefix = args.client.prefix.clone();
    runtime()?.block_on(async {
        let mut link = connect(
            &url,
            format!("winter-river-drill-{}", std::process::id()),
            CONNECT_TIMEOUT,
        )
        .await?;
        let status_topic = Topic::SystemDrill.to_topic(&prefix);
        link.subscribe(&status_topic, Topic::SystemDrill.qos())
            .map_err(|e| anyhow::anyhow!("cannot subscribe to {status_topic}: {e}"))?;
        let before = next_status(&mut link, &status_topic, RETAINED_WAIT.min(wait)).await;
        let Some(command) = command else {
            link.disconnect(Duration::from_secs(1)).await;
            return Ok(match before {
                Some(status) => {
                    print!("{}", describe(&status));
                    EXIT_ACCEPTED
                }
                None => {
                    eprintln!(
                        "no drill status on {status_topic}: is an engine running on this broker and prefix?"
                    );
                    EXIT_NO_ANSWER
                }
            });
        };
        let payload = encode_drill_command(&command)
            .map_err(|e| anyhow::anyhow!("cannot encode the drill command: {e}"))?;
        let topic = Topic::SystemDrillCommand;
        link.publish(&topic.to_topic(&prefix), payload, topic.qos(), false)
            .map_err(|e| anyhow::anyhow!("cannot publish the drill command: {e}"))?;
        let before = before.unwrap_or_default();
        let deadline = Instant::now() + wait;
        let answer = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match next_status(&mut link, &status_topic, left).await {
                None => break None,
                Some(status) if status.answered > before.answered => break Some(status),
                Some(_) => {}
            }
        };
        link.disconnect(Duration::from_secs(1)).await;
        Ok(match answer {
            Some(status) => match &status.message {
                Some(message) => {
                    eprintln!("refused: {message}");
                    EXIT_REFUSED
                }
                None => {
                    print!("{}", describe(&status));
                    EXIT_ACCEPTED
                }
            },
            None => {
                eprintln!(
                    "no answer from the engine on {status_topic} within {s} s: is it running on this broker and prefix?"
                );
                EXIT_NO_ANSWER
            }
        })
    })
}

/// The next `system/drill` within `wait`, if any.
async fn next_status(
    link: &mut winter_river_mqtt::Link,
    topic: &str,
    wait: Duration,
) -> Option<DrillStatus> {
    let deadline = Instant::now() + wait;
    loop {
        tokio::select! {
            ev = link.recv() => match ev {
                Some(LinkEvent::Message { topic: t, payload }) if t == topic => {
                    if let Ok(status) = decode_drill_status(&payload) {
                        return Some(status);
                    }
                }
                Some(_) => {}
                None => return None,
            },
            () = tokio::time::sleep_until(deadline) => return None,
        }
    }
}

/// The drill status in words, as `drill status` prints it.
pub fn describe(s: &DrillStatus) -> String {
    let mut out = String::new();
    match s.state {
        DrillState::None => out.push_str("no drill loaded\n"),
        state => {
            let words = match state {
                DrillState::Loaded => "loaded, not started".to_string(),
                DrillState::Running => format!("running, t={:.1}s of {}s", s.clock_s, s.duration_s),
                DrillState::Finished => format!("finished at t={:.1}s", s.clock_s),
                DrillState::None => String::new(),
            };
            out.push_str(&format!("drill \"{}\" ({}): {words}\n", s.name, s.file));
        }
    }
    if !s.steps.is_empty() {
        out.push_str("steps:\n");
        for step in &s.steps {
            // The protocol's words, as the dashboard and the debrief show them.
            let state = step.state.label().to_lowercase();
            let mut line = format!(
                "  {:>2} {state:<12} {} {}",
                step.number, step.node, step.command
            );
            if let (Some(t), Some(channel)) = (step.done_at_s, step.channel) {
                line.push_str(&format!("  (t={t:.1}s, {})", channel.label()));
            }
            if step.refused > 0 {
                line.push_str(&format!("  refused {}×", step.refused));
            }
            if !step.note.is_empty() {
                line.push_str(&format!("  — {}", step.note));
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    if !s.injects.is_empty() {
        out.push_str("injects:\n");
        for i in &s.injects {
            let when = match i.fired_at_s {
                Some(t) if i.by_hand => format!("fired by hand at t={t:.1}s"),
                Some(t) => format!("fired at t={t:.1}s"),
                None => format!("due at t={:.1}s", i.at_s),
            };
            out.push_str(&format!(
                "  {:>2} {} {}  {when}\n",
                i.index, i.node, i.command
            ));
        }
    }
    if !s.expects.is_empty() {
        let count = |v: ExpectVerdict| s.expects.iter().filter(|e| e.verdict == v).count();
        out.push_str(&format!(
            "expectations: {} passed, {} failed, {} pending\n",
            count(ExpectVerdict::Passed),
            count(ExpectVerdict::Failed),
            count(ExpectVerdict::Pending)
        ));
    }
    if let Some(score) = s.score {
        out.push_str(&format!("score: {score}/100\n"));
    }
    if let Some(page) = &s.debrief {
        out.push_str(&format!("debrief: {page} on the dashboard\n"));
    }
    if !s.library.is_empty() {
        out.push_str(&format!("library: {}\n", s.library.join(", ")));
    }
    out
}
