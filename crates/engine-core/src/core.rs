//! The engine's sans-IO core: MQTT messages and time in, publishes out (the MQTT
//! contract is docs/protocol.md).
//!
//! Call order for a driver: [`EngineCore::handle_connected`] after every ConnAck
//! (then subscribe to [`EngineCore::subscriptions`]), [`EngineCore::handle_message`]
//! for every incoming publish, [`EngineCore::handle_tick`] no later than
//! [`EngineCore::poll_timeout`], and after each of these drain
//! [`EngineCore::poll_outgoing`]. `now_ms` is a monotonic wall time in milliseconds
//! since the engine started; the simulated time is `now_ms · speed`.
//!
//! A live drill (docs/drills.md) rides on the same calls: the instructor's commands
//! arrive on `<p>/system/drill/command`, a drill from the library is asked of the
//! driver through [`EngineCore::poll_drill_request`] and handed back with
//! [`EngineCore::load_drill`], and a finished drill's debrief leaves through
//! [`EngineCore::poll_debrief`] (the driver writes the files and says so with
//! [`EngineCore::debrief_written`]).

use std::collections::{BTreeMap, VecDeque};

use winter_river_drill::{DEBRIEF_PAGE_PATH, Debrief, Drill, EndedBy, debrief_html};
use winter_river_protocol::{
    AppliesTo, Availability, BoardLink, Channel, CodecError, Command, DrillCommand, DrillState,
    DrillStatus, Event, EventKind, NodeState, Qos, SYSTEM_ID, Severity, SystemStatus, Topic,
    UpdateParams, decode_availability, decode_command_via, decode_drill_command, decode_status,
    encode_availability, encode_command, encode_drill_status, encode_event, encode_system_status,
    encode_topology,
};
use winter_river_sim::{CommandError, Scenario, Simulator, Topology};
use winter_river_telemetry::{Counters, NOT_APPLICABLE};

use crate::changes;

mod drill;
mod state;

pub use state::{ENGINE_STATE_FORMAT, EngineState, Resumed};

/// The codec's label for a node id that is not in the topology.
fn unknown_node() -> &'static str {
    CodecError::UnknownNode(String::new()).reason()
}

/// How often each reason for dropping input may be logged \[ms\].
const LOG_EVERY_MS: u64 = 10_000;

/// How the engine runs.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Topic prefix (`winter-river`).
    pub prefix: String,
    /// Simulation step \[ms\].
    pub step_ms: u32,
    /// Simulated seconds per wall second (1 = real time).
    pub speed: f64,
    /// Period of `system/status` when nothing changes [ms, wall].
    pub status_period_ms: u64,
    /// Each node gets an `update` at least this often, changed or not [ms, wall].
    pub update_refresh_ms: u64,
    /// Most simulation steps one tick may take when catching up.
    pub max_steps_per_tick: u32,
    /// Most *refreshes* one tick may publish (a node's `update` sent because its
    /// period is up, or because it has not been sent since the engine connected);
    /// the rest go out on the next ticks, so a burst of thousands does not crowd
    /// the `<p>/+/command` readers (a broker with bounded per-filter buffers, such as
    /// rumqttd, made them skip). A node whose state *changed* is
    /// never paced: its `update` goes out in the tick that computed the change,
    /// whatever the site size.
    pub max_updates_per_tick: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            prefix: winter_river_protocol::DEFAULT_PREFIX.to_string(),
            step_ms: 100,
            speed: 1.0,
            status_period_ms: 1000,
            update_refresh_ms: 5000,
            max_steps_per_tick: 10_000,
            max_updates_per_tick: 50,
        }
    }
}

/// One MQTT publish the driver must send (the protocol's `Publish`).
pub type Outgoing = winter_river_protocol::Publish;

/// How often the retained `<p>/system/drill` is refreshed while a drill runs, for
/// its clock [ms, wall]; every change goes out at once.
const DRILL_PERIOD_MS: u64 = 1000;

/// What the engine asks of its driver for a drill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrillRequest {
    /// Read drill `file` of the library folder (a plain file name, checked) and
    /// hand it to [`EngineCore::load_drill`], or its error to
    /// [`EngineCore::drill_load_failed`].
    Load { file: String },
}

/// A finished drill's debrief, for the driver to write (docs/drills.md, "The
/// debrief"): `<stem>-<UTC time>.json` / `.html` and `latest.json` / `latest.html`.
#[derive(Debug, Clone)]
pub struct FinishedDrill {
    /// The drill's file, as loaded (the stem of the debrief's file names).
    pub file: String,
    pub debrief: Debrief,
    pub json: String,
    pub html: String,
}

/// The engine's drill: the session, the library, and what the instructor last heard.
#[derive(Debug, Default)]
struct DrillSlot {
    session: Option<Drill>,
    /// Drill files the instructor can `load`, as the driver listed them.
    library: Vec<String>,
    /// Why the last drill command was refused.
    message: Option<String>,
    /// Drill commands answered (done or refused) since the engine started.
    answered: u64,
    /// The web's path of the debrief page, once written.
    debrief: Option<String>,
    requests: VecDeque<DrillRequest>,
    finished: VecDeque<FinishedDrill>,
    /// When `<p>/system/drill` was last published [ms, wall].
    published_ms: Option<u64>,
    /// Something changed that the retained status does not show yet.
    dirty: bool,
}

/// The last `update` sent to a node.
#[derive(Debug, Clone)]
struct LastUpdate {
    params: UpdateParams,
    /// When its periodic refresh is due [ms, wall].
    next_refresh_ms: u64,
    /// Sent before a reconnect (or before its board came online): it must go out
    /// again (paced, as a refresh), but a change is still told from it at once.
    resend: bool,
}

impl LastUpdate {
    fn refresh_due(&self, now_ms: u64) -> bool {
        self.resend || now_ms >= self.next_refresh_ms
    }
}

/// The engine: the simulator, what boards are connected, and what to publish.
#[derive(Debug)]
pub struct EngineCore {
    config: EngineConfig,
    sim: Simulator,
    topology_payload: Vec<u8>,
    boards: Vec<BoardLink>,
    /// Last `update` sent to each node, and when its refresh is due.
    last_update: Vec<Option<LastUpdate>>,
    last_system: Option<(SystemStatus, u64)>,
    outbox: VecDeque<Outgoing>,
    /// Where the next scan for due updates starts (round robin under the cap).
    update_cursor: usize,
    counters: Counters,
    /// Per reason: when it was last logged \[ms\] and how many were not logged since.
    log_limiter: BTreeMap<&'static str, (u64, u64)>,
    /// The last message dropped: its reason label and what was wrong.
    last_rejection: Option<(&'static str, String)>,
    now_ms: u64,
    /// Simulated time at wall time 0 \[s\]: 0 for a fresh engine, the saved time
    /// for one resumed from a state file (`now_ms · speed` runs on from it).
    sim_origin_s: f64,
    /// The running site's topology fingerprint (`winter_river_sim::topology_fingerprint`).
    site_fingerprint: String,
    drill: DrillSlot,
}

impl EngineCore {
    /// An engine for this topology. The simulator computes its first step at once.
    pub fn new(topology: Topology, config: EngineConfig) -> Result<EngineCore, CodecError> {
        let mut core = EngineCore::unstarted(topology, config)?;
        core.sim.step();
        Ok(core)
    }

    /// An engine whose simulator has not stepped yet: the first [`handle_tick`]
    /// computes t = 0, after the commands that came before it (a scenario's commands
    /// at t = 0). Publish nothing before that tick.
    ///
    /// [`handle_tick`]: EngineCore::handle_tick
    pub fn unstarted(topology: Topology, config: EngineConfig) -> Result<EngineCore, CodecError> {
        let topology_payload = encode_topology(&topology.to_json())?;
        let n = topology.len();
        let site_fingerprint = winter_river_sim::topology_fingerprint(&topology);
        let sim = Simulator::new(topology, config.step_ms);
        Ok(EngineCore {
            config,
            sim,
            topology_payload,
            boards: vec![BoardLink::Unknown; n],
            last_update: vec![None; n],
            last_system: None,
            outbox: VecDeque::new(),
            update_cursor: 0,
            counters: Counters::default(),
            log_limiter: BTreeMap::new(),
            last_rejection: None,
            now_ms: 0,
            sim_origin_s: 0.0,
            site_fingerprint,
            drill: DrillSlot {
                dirty: true,
                ..DrillSlot::default()
            },
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn sim(&self) -> &Simulator {
        &self.sim
    }

    /// The last message dropped: its reason label (as counted) and what was wrong.
    pub fn last_rejection(&self) -> Option<(&'static str, &str)> {
        self.last_rejection
            .as_ref()
            .map(|(reason, detail)| (*reason, detail.as_str()))
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// A board's link state.
    pub fn board(&self, idx: usize) -> BoardLink {
        self.boards[idx]
    }

    /// Topic filters to subscribe to (after every ConnAck), with their QoS.
    pub fn subscriptions(&self) -> Vec<(String, Qos)> {
        let p = &self.config.prefix;
        vec![
            (winter_river_protocol::status_filter(p), Qos::AtMostOnce),
            (winter_river_protocol::command_filter(p), Qos::AtLeastOnce),
            (
                winter_river_protocol::availability_filter(p),
                Qos::AtLeastOnce,
            ),
            // Three levels: `<p>/+/command` does not match it.
            (
                Topic::SystemDrillCommand.to_topic(p),
                Topic::SystemDrillCommand.qos(),
            ),
        ]
    }

    /// The engine's Last Will: retained `offline` on `<p>/system/availability`.
    pub fn last_will(&self) -> Outgoing {
        self.availability(Availability::Offline)
    }

    /// The publish that announces a clean exit (the same as the Last Will).
    pub fn goodbye(&self) -> Outgoing {
        self.availability(Availability::Offline)
    }

    fn availability(&self, a: Availability) -> Outgoing {
        let topic = Topic::SystemAvailability;
        Outgoing {
            topic: topic.to_topic(&self.config.prefix),
            payload: encode_availability(a).to_vec(),
            qos: topic.qos(),
            retain: topic.retain(),
        }
    }

    /// After every ConnAck: announce the engine, its topology and the full state.
    pub fn handle_connected(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        let topic = Topic::SystemTopology;
        self.push("topology", &topic, self.topology_payload.clone());
        let online = self.availability(Availability::Online);
        self.counters.count_out("availability");
        self.outbox.push_back(online);
        // Everything is re-sent (paced): a restarted broker has lost what it held.
        self.last_update
            .iter_mut()
            .flatten()
            .for_each(|u| u.resend = true);
        self.last_system = None;
        self.publish_state(now_ms);
        self.publish_drill(now_ms);
    }

    /// One incoming publish. Bad input is counted by reason and dropped.
    pub fn handle_message(&mut self, now_ms: u64, topic: &str, payload: &[u8]) {
        self.now_ms = self.now_ms.max(now_ms);
        let parsed = match Topic::parse(&self.config.prefix, topic) {
            Ok(t) => t,
            Err(e) => {
                self.counters.count_in("other");
                return self.reject(CodecError::BadTopic(e).reason(), topic, "bad topic");
            }
        };
        match parsed {
            Topic::NodeStatus(id) => {
                self.counters.count_in("status");
                match decode_status(&id, payload) {
                    Err(e) => self.reject(e.reason(), topic, &e.to_string()),
                    Ok(_) => match self.sim.topology().node_index(&id) {
                        None => self.reject(unknown_node(), topic, "no such node in the topology"),
                        Some(i) => self.set_board(i, self.boards[i].on_status(now_ms), now_ms),
                    },
                }
            }
            Topic::NodeCommand(id) => {
                self.counters.count_in("command");
                match decode_command_via(payload) {
                    Err(e) => self.reject(e.reason(), topic, &e.to_string()),
                    // Our own updates to boards come back to us: nothing to do.
                    Ok((cmd, _)) if cmd.spec().applies_to == AppliesTo::EngineOnly => {}
                    Ok((cmd, channel)) => self.accept_command(topic, &id, &cmd, channel),
                }
            }
            Topic::NodeAvailability(id) => {
                self.counters.count_in("availability");
                match decode_availability(payload) {
                    Err(e) => self.reject(e.reason(), topic, &e.to_string()),
                    Ok(a) => match self.sim.topology().node_index(&id) {
                        None => self.reject(unknown_node(), topic, "no such node in the topology"),
                        Some(i) => {
                            let link = BoardLink::on_availability(a == Availability::Online);
                            self.set_board(i, link, now_ms);
                        }
                    },
                }
            }
            Topic::SystemCommand => {
                self.counters.count_in("command");
                match decode_command_via(payload) {
                    Err(e) => self.reject(e.reason(), topic, &e.to_string()),
                    Ok((cmd, channel)) => self.accept_command(topic, SYSTEM_ID, &cmd, channel),
                }
            }
            // The engine's own publishes, heard back through its filters.
            Topic::SystemStatus
            | Topic::SystemTopology
            | Topic::SystemEvents
            | Topic::SystemAvailability
            | Topic::SystemDrill => {}
            Topic::SystemDrillCommand => {
                self.counters.count_in("drill_command");
                match decode_drill_command(payload) {
                    Err(e) => {
                        self.reject(e.reason(), topic, &e.to_string());
                        self.drill_refused(format!(
                            "drill command not understood: {e}; send {{\"command\": \"start\"}}, \
                             {{\"command\": \"stop\"}}, {{\"command\": \"inject\", \"params\": {{\"event\": N}}}} \
                             or {{\"command\": \"load\", \"params\": {{\"file\": \"NAME.toml\"}}}}"
                        ));
                    }
                    Ok(command) => self.drill_command(&command),
                }
                self.publish_drill_if_changed(now_ms);
            }
        }
    }

    /// A command for node `id` (or `system`, site-wide) from `channel`: applied the
    /// way every command is, and handed to a running drill once the engine took it
    /// (the step that applies it tells whether an interlock refused it).
    fn accept_command(&mut self, topic: &str, id: &str, cmd: &Command, channel: Channel) {
        let taken = if id == SYSTEM_ID {
            // `reset` for every node, `epo` for every UPS and STS: the simulator
            // knows which nodes a site-wide command reaches.
            match self.sim.site_command(cmd) {
                Ok(()) => true,
                Err(e) => {
                    self.command_rejected(topic, e);
                    false
                }
            }
        } else {
            self.apply_command(topic, id, cmd)
        };
        if taken && let Some(drill) = self.drill.session.as_mut() {
            let clock = drill.clock_at(self.sim.next_time_s());
            drill.on_command(id, cmd, channel, clock);
        }
    }

    /// Board `i`'s link is now `state`: announces a change of online/offline, and a
    /// board that just came up gets its state at once, not at the next refresh.
    fn set_board(&mut self, i: usize, link: BoardLink, now_ms: u64) {
        let before = self.boards[i].is_online(now_ms);
        self.boards[i] = link;
        let after = link.is_online(now_ms);
        if before != after {
            self.board_event(i, after);
            if after && let Some(u) = self.last_update[i].as_mut() {
                u.resend = true;
            }
        }
    }

    /// An operator's (or a board's) command for node `id`: refused unless the
    /// protocol's command table says it applies to the node's kind; then the
    /// simulator checks its values.
    /// Whether the simulator took it.
    fn apply_command(&mut self, topic: &str, id: &str, cmd: &Command) -> bool {
        let Some(i) = self.sim.topology().node_index(id) else {
            self.reject(unknown_node(), topic, "no such node in the topology");
            return false;
        };
        let kind = self.sim.topology().node(i).kind();
        if !cmd.applies_to(kind) {
            let detail = format!("`{}` does not apply to `{id}` ({kind:?})", cmd.name());
            self.reject(NOT_APPLICABLE, topic, &detail);
            return false;
        }
        match self.sim.command(id, cmd) {
            Ok(()) => true,
            Err(e) => {
                self.command_rejected(topic, e);
                false
            }
        }
    }

    /// A command the simulator would not queue, counted by its reason. (A command
    /// an interlock refuses is queued: the simulator answers it with a `refused`
    /// event at the next step, which is not bad input.)
    fn command_rejected(&mut self, topic: &str, e: CommandError) {
        match e {
            CommandError::UnknownNode(_) => {
                self.reject(unknown_node(), topic, "no such node in the topology")
            }
            e @ CommandError::BadLoad(_) => {
                let reason = CodecError::OutOfRange { field: "kw" }.reason();
                self.reject(reason, topic, &e.to_string())
            }
            e @ CommandError::NotApplicable { .. } => {
                self.reject(NOT_APPLICABLE, topic, &e.to_string())
            }
        }
    }

    /// Advances the simulation to `now_ms · speed` and queues what changed.
    pub fn handle_tick(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        let target_s = self.sim_origin_s + now_ms as f64 / 1000.0 * self.config.speed;
        let mut steps = 0;
        while self.sim.next_time_s() <= target_s + 1e-9 && steps < self.config.max_steps_per_tick {
            self.fire_due_injects();
            self.sim.step();
            steps += 1;
            for k in 0..self.sim.events().len() {
                if self.sim.events()[k].event == EventKind::Refused {
                    self.counters.count_refused();
                }
                self.publish_event(k);
            }
            self.drill_after_step();
        }
        // Boards heard only through status go stale without a Last Will.
        for i in 0..self.boards.len() {
            if let BoardLink::Talking { .. } = self.boards[i]
                && !self.boards[i].is_online(now_ms)
            {
                self.boards[i] = BoardLink::Offline;
                self.board_event(i, false);
            }
        }
        self.publish_state(now_ms);
        self.publish_drill_if_changed(now_ms);
    }

    /// The next wall time the core wants a tick \[ms\].
    pub fn poll_timeout(&self) -> u64 {
        let next_step_ms = if self.config.speed > 0.0 {
            // Less a hair: the difference of two step times is not exact.
            ((self.sim.next_time_s() - self.sim_origin_s).max(0.0) / self.config.speed * 1000.0
                - 1e-6)
                .ceil()
                .max(0.0) as u64
        } else {
            u64::MAX
        };
        let next_status_ms = self
            .last_system
            .as_ref()
            .map_or(self.now_ms, |(_, at)| at + self.config.status_period_ms);
        next_step_ms.min(next_status_ms).max(self.now_ms)
    }

    /// The next publish to send, if any.
    pub fn poll_outgoing(&mut self) -> Option<Outgoing> {
        self.outbox.pop_front()
    }

    /// The system status as published: the model's counts with disconnected boards
    /// counted `offline`, and the engine's rejected-message count.
    pub fn system_status(&self) -> SystemStatus {
        let mut s = self.sim.system_status();
        for i in 0..self.boards.len() {
            if !self.boards[i].is_online(self.now_ms) {
                let count = s.count_mut(self.sim.node_state(i));
                *count = count.saturating_sub(1);
                *s.count_mut(NodeState::Offline) += 1;
            }
        }
        s.rejected_msgs = self.counters.rejected_total();
        s
    }

    /// Queues node updates (changed, or due for refresh) and the system status
    /// (changed or due).
    ///
    /// The hot path: each tick looks at every node and compares its `update` with
    /// what it was last sent. A changed node is sent at once, however many changed
    /// (a fault reaches its boards within one step at any site size); only
    /// refreshes of unchanged nodes (and the first round after a connect) are
    /// paced, at most [`EngineConfig::max_updates_per_tick`] a tick, round robin
    /// from where the last tick's budget ran out. What was sent is moved into the
    /// encoder and back into `last_update`, never cloned.
    fn publish_state(&mut self, now_ms: u64) {
        let n = self.sim.topology().len();
        let mut refreshes = 0;
        let mut resume_at = None;
        for k in 0..n {
            let i = (self.update_cursor + k) % n;
            let params = self.sim.node_update(i);
            let (changed, refresh_due) = match &self.last_update[i] {
                None => (false, true),
                Some(last) => (
                    changes::update_changed(&last.params, &params),
                    last.refresh_due(now_ms),
                ),
            };
            if !changed {
                if !refresh_due {
                    continue;
                }
                if refreshes == self.config.max_updates_per_tick {
                    // Resume the refreshes here on the next tick.
                    resume_at.get_or_insert(i);
                    continue;
                }
                refreshes += 1;
            }
            self.send_update(i, params, now_ms);
        }
        if let Some(i) = resume_at {
            self.update_cursor = i;
        }
        let system = self.system_status();
        let due = match &self.last_system {
            None => true,
            Some((old, at)) => {
                now_ms >= at + self.config.status_period_ms || changes::system_changed(old, &system)
            }
        };
        if due {
            match encode_system_status(&system) {
                Ok(payload) => {
                    self.push("system_status", &Topic::SystemStatus, payload);
                    self.last_system = Some((system, now_ms));
                }
                Err(e) => {
                    // Not again before its period: a value that cannot be encoded
                    // would otherwise be retried (and logged) every tick.
                    self.last_system = Some((system, now_ms));
                    self.cannot_encode("system_status", SYSTEM_ID, &e);
                }
            }
        }
    }

    /// Queues `params` for node `i` and remembers it as sent, with its next refresh.
    fn send_update(&mut self, i: usize, params: UpdateParams, now_ms: u64) {
        let first = self.last_update[i].as_ref().is_none_or(|u| u.resend);
        // The first refreshes are spread over the period, so the nodes' refreshes do
        // not all fall on the same instant (a burst that a broker's per-filter
        // buffer may not hold at thousands of nodes).
        let period_ms = self.config.update_refresh_ms;
        let next_refresh_ms = if first {
            now_ms + period_ms - self.refresh_stagger_ms(i)
        } else {
            now_ms + period_ms
        };
        let update = Command::Update(params);
        let encoded = encode_command(&update);
        if let Command::Update(params) = update {
            // Remembered even when it cannot be encoded: it is not tried again
            // before its refresh (or a change), so the error is not a loop.
            self.last_update[i] = Some(LastUpdate {
                params,
                next_refresh_ms,
                resend: false,
            });
        }
        match encoded {
            Ok(payload) => {
                let id = self.sim.topology().node(i).id.clone();
                self.push("update", &Topic::NodeCommand(id), payload);
            }
            Err(e) => {
                let id = self.sim.topology().node(i).id.clone();
                self.cannot_encode("update", &id, &e);
            }
        }
    }

    /// A publish the engine could not encode (a value outside the codec's range):
    /// dropped, and logged at most once per kind per 10 s with how many were not
    /// logged since — never once a tick.
    fn cannot_encode(&mut self, kind: &'static str, id: &str, e: &CodecError) {
        let key = match kind {
            "system_status" => "cannot encode system_status",
            "update" => "cannot encode update",
            _ => "cannot encode event",
        };
        if let Some(suppressed) = self.log_allowed(key) {
            tracing::error!(kind, id, suppressed, "cannot encode {kind} for {id}: {e}");
        }
    }

    /// Node `i`'s place in the refresh period \[ms\]: nodes spread evenly over it.
    fn refresh_stagger_ms(&self, i: usize) -> u64 {
        let n = self.sim.topology().len().max(1) as u64;
        i as u64 * self.config.update_refresh_ms / n
    }

    /// Publishes the simulator's event `k` of this step (encoded in place).
    fn publish_event(&mut self, k: usize) {
        let encoded = encode_event(&self.sim.events()[k]);
        self.push_event(encoded);
    }

    fn push_event(&mut self, encoded: Result<Vec<u8>, CodecError>) {
        match encoded {
            Ok(payload) => self.push("events", &Topic::SystemEvents, payload),
            Err(e) => self.cannot_encode("event", SYSTEM_ID, &e),
        }
    }

    fn board_event(&mut self, idx: usize, online: bool) {
        let id = self.sim.topology().node(idx).id.clone();
        let (event, severity, message) = if online {
            (
                EventKind::Online,
                Severity::Info,
                format!("{id} board connected"),
            )
        } else {
            (
                EventKind::Offline,
                Severity::Warning,
                format!("{id} board disconnected"),
            )
        };
        let event = Event::new(self.sim.time_s(), id, event, severity, message);
        self.push_event(encode_event(&event));
    }

    fn push(&mut self, kind: &'static str, topic: &Topic, payload: Vec<u8>) {
        self.counters.count_out(kind);
        self.outbox.push_back(Outgoing {
            topic: topic.to_topic(&self.config.prefix),
            payload,
            qos: topic.qos(),
            retain: topic.retain(),
        });
    }

    /// Counts a dropped message and logs it, at most once per reason per 10 s.
    fn reject(&mut self, reason: &'static str, topic: &str, detail: &str) {
        self.counters.count_rejected(reason);
        self.last_rejection = Some((reason, detail.to_string()));
        if let Some(suppressed) = self.log_allowed(reason) {
            tracing::warn!(reason, topic, suppressed, "dropped message: {detail}");
        }
    }

    /// Whether a line for `key` may be logged now (at most once per 10 s per key):
    /// `Some(how many were not logged since)`, or `None` (counted as not logged).
    /// The keys are a fixed set of labels, so the limiter stays small.
    fn log_allowed(&mut self, key: &'static str) -> Option<u64> {
        let now = self.now_ms;
        let entry = self.log_limiter.entry(key).or_insert((0, 0));
        if entry.0 == 0 || now >= entry.0 + LOG_EVERY_MS {
            let suppressed = entry.1;
            *entry = (now.max(1), 0);
            Some(suppressed)
        } else {
            entry.1 += 1;
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A value that cannot be encoded is retried at each refresh or change: its
    /// line must come at most once per 10 s, with the count of those not logged.
    #[test]
    fn an_error_line_is_logged_at_most_once_per_key_per_10_s() {
        let mut core =
            EngineCore::new(Topology::builtin_default(), EngineConfig::default()).unwrap();
        let key = "cannot encode system_status";
        let mut logged = Vec::new();
        // A tick every 100 ms for 25 s, each trying to log.
        for k in 0..250 {
            core.now_ms = 100 * k;
            if let Some(suppressed) = core.log_allowed(key) {
                logged.push((core.now_ms, suppressed));
            }
        }
        assert_eq!(logged, vec![(0, 0), (10_100, 100), (20_100, 99)]);
        // Another key has its own allowance.
        assert_eq!(core.log_allowed("cannot encode update"), Some(0));
    }
}
