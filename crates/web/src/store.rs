//! What the dashboard knows, built from MQTT messages alone (docs/protocol.md): the
//! topology, each node's last state and board link, the system status, recent
//! events and 15 minutes of history (site power, PUE, batteries, rooms' air and the
//! highest server inlet). Sans-IO: messages and wall time go in through
//! [`Store::handle_message`] / [`Store::sample`], JSON comes out; the MQTT feed, the
//! HTTP handlers and the live stream share one `Store` behind a mutex.
//!
//! A node keeps two inputs as they came, and nothing merged: the board's last
//! status (its OLED page, its link fields) and the engine's last `update` (the
//! authority for electrical values and the status word). What a reader sees is
//! chosen from the two when it asks (`NodeEntry::engine_speaks`).
//!
//! Every change bumps a version; a live client keeps a [`Cursor`] and gets, in one
//! [`Store::delta`], everything newer than it — so a client that falls behind gets
//! the latest state in one message, never a backlog.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value, json};
use winter_river_protocol::{
    AppliesTo, Availability, BoardLink, Command, DrillCommand, DrillState, DrillStatus, Event,
    Measurements, NodeKind, NodeState, Status, SystemStatus, Topic, TopologyJson, UpdateParams,
    decode_availability, decode_command, decode_drill_status, decode_event, decode_status,
    decode_system_status, decode_topology,
};

/// A board's own status stands in for the engine's values when no `update` for
/// its node was seen this long before it \[ms\] (the web started between two
/// refreshes, or no engine runs).
const UPDATE_STALE_MS: u64 = 10_000;
/// How far a board's uptime may stray from what its last push and the clock
/// predict before the node is pushed again \[s\]: the page extrapolates uptime
/// between pushes, so a restart (uptime back to 0) must reach it.
const UPTIME_SLACK_S: f64 = 3.0;
/// Events kept for late readers.
pub const EVENTS_KEPT: usize = 1_000;
/// History: one sample per second for 15 minutes.
pub const HISTORY_SAMPLES: usize = 900;
/// Most events sent in one live message.
const EVENTS_PER_DELTA: usize = 200;
/// Most nodes kept before a topology says which exist.
const EARLY_NODES_MAX: usize = 200_000;

/// The engine's last `update` of a node.
#[derive(Debug, Clone)]
struct EngineView {
    /// Status word of the last update that carried one.
    word: Option<NodeState>,
    measured: Measurements,
    /// When it came \[ms, wall\].
    at_ms: u64,
}

/// One node as the dashboard knows it.
#[derive(Debug, Clone, Default)]
struct NodeEntry {
    /// The board's last status as it sent it: what its OLED shows, its link fields
    /// (`wifi_rssi`, `uptime`, `seq`), and the node's state while the engine is
    /// silent.
    board: Option<Status>,
    /// When the board's last status came \[ms, wall\].
    board_ms: u64,
    engine: Option<EngineView>,
    link: BoardLink,
    /// Whether the board counted as connected, and its uptime and when \[s, ms\],
    /// as of the last push of this node: the 1 Hz sample pushes a board whose
    /// status went stale, a status pushes a board whose uptime jumped.
    pushed_online: bool,
    pushed_uptime: Option<(u64, u64)>,
    /// [`Store::version`] when this entry last changed.
    version: u64,
}

impl NodeEntry {
    /// Whether the engine's values are the node's state: it sent an update, and
    /// no board status came [`UPDATE_STALE_MS`] or more after it.
    fn engine_speaks(&self) -> bool {
        self.engine.as_ref().is_some_and(|e| {
            self.board.is_none() || self.board_ms < e.at_ms.saturating_add(UPDATE_STALE_MS)
        })
    }

    /// The measured values readers see.
    fn measured(&self) -> Option<&Measurements> {
        match (&self.engine, &self.board) {
            (Some(e), _) if self.engine_speaks() => Some(&e.measured),
            (_, Some(b)) => Some(&b.measured),
            _ => None,
        }
    }

    /// The status word readers see: the engine's, else the board's.
    fn word(&self) -> Option<NodeState> {
        let board = self.board.as_ref().map(|b| b.status);
        match &self.engine {
            Some(e) if self.engine_speaks() => Some(e.word.or(board).unwrap_or(NodeState::Ok)),
            _ => board,
        }
    }

    /// The node's state as one Status: the board's link fields with the engine's
    /// values and word when it speaks. Borrowed when there is nothing to merge.
    fn view(&self, id: &str) -> Option<Cow<'_, Status>> {
        let engine = self.engine.as_ref().filter(|_| self.engine_speaks());
        match (engine, &self.board) {
            (None, Some(b)) => Some(Cow::Borrowed(b)),
            (Some(e), board) => {
                let mut s = match board {
                    Some(b) => b.clone(),
                    None => Status::new(id, NodeState::Ok),
                };
                s.status = e.word.unwrap_or(s.status);
                s.measured.clone_from(&e.measured);
                Some(Cow::Owned(s))
            }
            (None, None) => None,
        }
    }

    /// Whether the board is connected (docs/protocol.md: its availability, else a
    /// recent status); `None` when nothing was heard from it.
    fn online(&self, now_ms: u64) -> Option<bool> {
        match self.link {
            BoardLink::Unknown => None,
            link => Some(link.is_online(now_ms)),
        }
    }

    /// Marks the entry changed at version `v`, with what the page now has.
    fn pushed(&mut self, v: u64, now_ms: u64) {
        self.version = v;
        self.pushed_online = self.online(now_ms) == Some(true);
        self.pushed_uptime = self
            .board
            .as_ref()
            .and_then(|b| b.uptime)
            .map(|u| (u, self.board_ms));
    }

    /// Whether `uptime`, heard at `now_ms`, is not what the last push and the
    /// clock predict.
    fn uptime_jumped(&self, uptime: Option<u64>, now_ms: u64) -> bool {
        match (self.pushed_uptime, uptime) {
            (Some((u0, t0)), Some(u)) => {
                let expected = u0 as f64 + now_ms.saturating_sub(t0) as f64 / 1000.0;
                (u as f64 - expected).abs() > UPTIME_SLACK_S
            }
            (before, now) => before.is_some() != now.is_some(),
        }
    }
}

/// The loaded topology: raw JSON (served as is) and what the store needs of it.
#[derive(Debug, Clone)]
struct TopologyInfo {
    raw: Vec<u8>,
    site: String,
    ids: Vec<String>,
    kinds: Vec<NodeKind>,
    index: HashMap<String, usize>,
    /// Each node's Prometheus labels, `node_id="…",kind="…"`, made once per
    /// topology for `/metrics` (ids are `[a-z0-9_-]` and kinds are fixed words:
    /// nothing to escape).
    labels: Vec<String>,
}

/// A live client's position: what it has already been sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub version: u64,
    pub topology_version: u64,
    pub event_seq: u64,
    pub sample_seq: u64,
}

/// Ring buffers of the last [`HISTORY_SAMPLES`] samples.
#[derive(Debug, Default)]
struct History {
    t_ms: VecDeque<u64>,
    it_kw: VecDeque<f64>,
    facility_kw: VecDeque<f64>,
    pue: VecDeque<f64>,
    it_kw_lost: VecDeque<f64>,
    /// Highest server inlet of the site \[°C\] (`max_inlet_c`; NaN without one).
    max_inlet_c: VecDeque<f64>,
    /// Per topology index: power \[kW\] (NaN unknown).
    node_kw: Vec<VecDeque<f32>>,
    /// Per node whose kind reports a battery (topology index): state of charge \[%\].
    battery: Vec<(usize, VecDeque<f32>)>,
    /// Per node whose kind reports an air temperature (a room; topology index):
    /// `temperature_c` \[°C\].
    temperature: Vec<(usize, VecDeque<f32>)>,
    seq: u64,
}

fn push_capped<T>(q: &mut VecDeque<T>, v: T) {
    if q.len() == HISTORY_SAMPLES {
        q.pop_front();
    }
    q.push_back(v);
}

/// Why a command from the API was refused before publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandCheck {
    /// The topology has not arrived yet: nothing is known.
    NoTopology,
    UnknownNode,
    /// The command does not apply to this node (`set_load` on a PDU, `update`).
    NotApplicable(String),
}

/// What `/metrics` reads of one node.
#[derive(Debug, Clone, Copy)]
pub struct NodeReading<'a> {
    /// `node_id="…",kind="…"`.
    pub labels: &'a str,
    pub measured: Option<&'a Measurements>,
    pub word: Option<NodeState>,
    pub online: Option<bool>,
}

/// The dashboard's state.
#[derive(Debug)]
pub struct Store {
    prefix: String,
    topology: Option<TopologyInfo>,
    topology_version: u64,
    /// One entry per topology node, in topology order.
    entries: Vec<NodeEntry>,
    /// Nodes heard of before any topology (retained availability comes first).
    early: HashMap<String, NodeEntry>,
    system: Option<SystemStatus>,
    system_version: u64,
    /// The engine's retained `<p>/system/drill`, and as JSON (made once per change:
    /// every live client's push carries it).
    drill: Option<DrillStatus>,
    drill_json: Value,
    drill_version: u64,
    engine_online: Option<bool>,
    broker_connected: bool,
    link_version: u64,
    events: VecDeque<(u64, u64, Event)>,
    event_seq: u64,
    history: History,
    version: u64,
    now_ms: u64,
    /// Messages received, by topic kind; rejected, by reason.
    pub messages_in: HashMap<&'static str, u64>,
    pub rejected: HashMap<&'static str, u64>,
}

impl Store {
    pub fn new(prefix: &str) -> Store {
        Store {
            prefix: prefix.to_string(),
            topology: None,
            topology_version: 0,
            entries: Vec::new(),
            early: HashMap::new(),
            system: None,
            system_version: 0,
            drill: None,
            drill_json: no_drill_json(),
            drill_version: 0,
            engine_online: None,
            broker_connected: false,
            link_version: 0,
            events: VecDeque::new(),
            event_seq: 0,
            history: History::default(),
            version: 0,
            now_ms: 0,
            messages_in: HashMap::new(),
            rejected: HashMap::new(),
        }
    }

    /// Bumped on every change.
    pub fn version(&self) -> u64 {
        self.version
    }

    fn bump(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    /// The broker link went up or down. While it is down the engine cannot be
    /// heard, so it is not reported online (`link.engine` false) until its retained
    /// availability arrives again after the reconnect.
    pub fn set_broker_connected(&mut self, connected: bool) {
        if self.broker_connected != connected {
            self.broker_connected = connected;
            if !connected && self.engine_online.is_some() {
                self.engine_online = Some(false);
            }
            self.link_version = self.bump();
        }
    }

    pub fn broker_connected(&self) -> bool {
        self.broker_connected
    }

    /// One MQTT message. Anything that does not decode is counted and dropped.
    pub fn handle_message(&mut self, now_ms: u64, topic: &str, payload: &[u8]) {
        self.now_ms = self.now_ms.max(now_ms);
        let parsed = match Topic::parse(&self.prefix, topic) {
            Ok(t) => t,
            Err(_) => return self.reject("bad_topic"),
        };
        match parsed {
            Topic::NodeStatus(id) => {
                self.count_in("status");
                match decode_status(&id, payload) {
                    Ok(status) => self.node_status(now_ms, status),
                    Err(e) => self.reject(e.reason()),
                }
            }
            Topic::NodeCommand(id) => {
                self.count_in("command");
                // Operators' commands are the engine's business; the web shows
                // the engine's `update`s.
                if let Some(u) = decode_update(payload) {
                    self.node_update(now_ms, &id, u);
                }
            }
            Topic::NodeAvailability(id) => {
                self.count_in("availability");
                match decode_availability(payload) {
                    Ok(a) => self.node_availability(now_ms, &id, a),
                    Err(e) => self.reject(e.reason()),
                }
            }
            Topic::SystemStatus => {
                self.count_in("system_status");
                match decode_system_status(payload) {
                    Ok(s) => {
                        if self.system.as_ref() != Some(&s) {
                            self.system = Some(s);
                            self.system_version = self.bump();
                        }
                    }
                    Err(e) => self.reject(e.reason()),
                }
            }
            Topic::SystemTopology => {
                self.count_in("topology");
                match decode_topology(payload) {
                    Ok(t) => self.set_topology(payload.to_vec(), t),
                    Err(e) => self.reject(e.reason()),
                }
            }
            Topic::SystemEvents => {
                self.count_in("events");
                match decode_event(payload) {
                    Ok(e) => self.push_event(now_ms, e),
                    Err(e) => self.reject(e.reason()),
                }
            }
            Topic::SystemAvailability => {
                self.count_in("availability");
                match decode_availability(payload) {
                    Ok(a) => {
                        let online = Some(a == Availability::Online);
                        if self.engine_online != online {
                            self.engine_online = online;
                            self.link_version = self.bump();
                        }
                    }
                    Err(e) => self.reject(e.reason()),
                }
            }
            Topic::SystemCommand | Topic::SystemDrillCommand => self.count_in("command"),
            Topic::SystemDrill => {
                self.count_in("drill");
                // An empty retained message clears the topic: no drill.
                if payload.is_empty() {
                    return self.set_drill(None);
                }
                match decode_drill_status(payload) {
                    Ok(d) => self.set_drill(Some(d)),
                    Err(e) => self.reject(e.reason()),
                }
            }
        }
    }

    fn set_drill(&mut self, drill: Option<DrillStatus>) {
        if self.drill == drill {
            return;
        }
        self.drill_json = drill.as_ref().map_or_else(no_drill_json, |d| json!(d));
        self.drill = drill;
        self.drill_version = self.bump();
    }

    /// The drill's progress as the engine last published it: `{"state": "none"}`
    /// before any.
    pub fn drill_json(&self) -> &Value {
        &self.drill_json
    }

    /// Checks an instructor's drill command against what the web knows of the
    /// drill before it is published; the reason, in words an instructor can act
    /// on, when it cannot be right. The engine decides the rest (a `start` with
    /// nothing loaded) and says why in the status's `message`.
    pub fn check_drill_command(&self, cmd: &DrillCommand) -> Result<(), String> {
        let drill = self.drill.as_ref();
        match cmd {
            DrillCommand::Load { file } => {
                if !winter_river_protocol::is_library_file_name(file) {
                    return Err(format!(
                        "load takes the file name of a drill in the engine's library, not a path: `{}`",
                        file.escape_default()
                    ));
                }
                match drill.map(|d| &d.library) {
                    Some(library) if !library.is_empty() && !library.contains(file) => Err(
                        format!("no drill `{file}` in the library ({})", library.join(", ")),
                    ),
                    _ => Ok(()),
                }
            }
            DrillCommand::Inject { event } => match drill {
                Some(d) if d.state != DrillState::None && *event >= d.injects.len() => {
                    Err(match d.injects.len() {
                        0 => format!("the drill `{}` has no injects", d.name),
                        n => format!(
                            "the drill `{}` has {n} inject{} (0 to {})",
                            d.name,
                            if n == 1 { "" } else { "s" },
                            n - 1
                        ),
                    })
                }
                _ => Ok(()),
            },
            DrillCommand::Start {} | DrillCommand::Stop {} => Ok(()),
        }
    }

    fn count_in(&mut self, kind: &'static str) {
        *self.messages_in.entry(kind).or_default() += 1;
    }

    fn reject(&mut self, reason: &'static str) {
        *self.rejected.entry(reason).or_default() += 1;
    }

    /// The entry of `id`, created if need be: a node of the topology, or anything
    /// while the topology is unknown (retained availability may arrive before
    /// it). `None` for a node the topology does not have.
    fn entry_mut(&mut self, id: &str) -> Option<&mut NodeEntry> {
        match &self.topology {
            Some(t) => {
                let i = *t.index.get(id)?;
                self.entries.get_mut(i)
            }
            None if self.early.contains_key(id) => self.early.get_mut(id),
            None if self.early.len() < EARLY_NODES_MAX => {
                Some(self.early.entry(id.to_string()).or_default())
            }
            None => None,
        }
    }

    fn entry(&self, id: &str) -> Option<&NodeEntry> {
        match &self.topology {
            Some(t) => self.entries.get(*t.index.get(id)?),
            None => self.early.get(id),
        }
    }

    fn set_topology(&mut self, raw: Vec<u8>, t: TopologyJson) {
        if self.topology.as_ref().is_some_and(|old| old.raw == raw) {
            return;
        }
        let ids: Vec<String> = t.nodes.iter().map(|n| n.id.clone()).collect();
        let kinds: Vec<NodeKind> = t.nodes.iter().map(|n| n.kind).collect();
        let index: HashMap<String, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let labels = ids
            .iter()
            .zip(&kinds)
            .map(|(id, kind)| format!("node_id=\"{id}\",kind=\"{kind}\""))
            .collect();
        // Nodes already known keep what was heard of them.
        let mut old: HashMap<String, NodeEntry> = match self.topology.take() {
            Some(old) => old.ids.into_iter().zip(self.entries.drain(..)).collect(),
            None => std::mem::take(&mut self.early),
        };
        self.entries = ids
            .iter()
            .map(|id| old.remove(id).unwrap_or_default())
            .collect();
        let reporting = |field: &str| -> Vec<(usize, VecDeque<f32>)> {
            kinds
                .iter()
                .enumerate()
                .filter(|(_, k)| k.spec().extra_fields.contains(&field))
                .map(|(i, _)| (i, VecDeque::new()))
                .collect()
        };
        self.history = History {
            battery: reporting("battery_pct"),
            temperature: reporting("temperature_c"),
            node_kw: vec![VecDeque::new(); ids.len()],
            ..History::default()
        };
        self.topology = Some(TopologyInfo {
            raw,
            site: t.site,
            ids,
            kinds,
            index,
            labels,
        });
        self.topology_version = self.bump();
    }

    fn node_status(&mut self, now_ms: u64, status: Status) {
        let v = self.version + 1;
        let Some(e) = self.entry_mut(&status.node_id) else {
            return self.reject("unknown_node");
        };
        let speaks_before = e.engine_speaks();
        // Uptime and sequence numbers alone do not push the node again: the page
        // extrapolates uptime, unless it jumped.
        let changed = !e
            .board
            .as_ref()
            .is_some_and(|old| same_reading(old, &status))
            || e.uptime_jumped(status.uptime, now_ms);
        e.link = e.link.on_status(now_ms);
        e.board = Some(status);
        e.board_ms = now_ms;
        if changed
            || speaks_before != e.engine_speaks()
            || e.pushed_online != (e.online(now_ms) == Some(true))
        {
            e.pushed(v, now_ms);
            self.version = v;
        }
    }

    fn node_update(&mut self, now_ms: u64, id: &str, u: UpdateParams) {
        let v = self.version + 1;
        let Some(e) = self.entry_mut(id) else {
            return;
        };
        let speaks_before = e.engine_speaks();
        let old = e.engine.take();
        let word = u.status.or(old.as_ref().and_then(|o| o.word));
        let changed = !old
            .as_ref()
            .is_some_and(|o| o.word == word && o.measured == u.measured);
        e.engine = Some(EngineView {
            word,
            measured: u.measured,
            at_ms: now_ms,
        });
        if changed || !speaks_before {
            e.pushed(v, now_ms);
            self.version = v;
        }
    }

    fn node_availability(&mut self, now_ms: u64, id: &str, a: Availability) {
        let v = self.version + 1;
        let Some(e) = self.entry_mut(id) else {
            return;
        };
        let link = BoardLink::on_availability(a == Availability::Online);
        if e.link != link {
            e.link = link;
            e.pushed(v, now_ms);
            self.version = v;
        }
    }

    fn kind_of(&self, id: &str) -> Option<NodeKind> {
        let t = self.topology.as_ref()?;
        t.index.get(id).map(|&i| t.kinds[i])
    }

    fn push_event(&mut self, now_ms: u64, e: Event) {
        self.event_seq += 1;
        if self.events.len() == EVENTS_KEPT {
            self.events.pop_front();
        }
        self.events.push_back((self.event_seq, now_ms, e));
        self.bump();
    }

    /// Takes one history sample (call once a second) [ms, wall], and pushes the
    /// nodes whose board stopped talking since.
    pub fn sample(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        let now_ms = self.now_ms;
        let mut v = self.version;
        for e in &mut self.entries {
            if e.pushed_online && e.online(now_ms) != Some(true) {
                v += 1;
                e.pushed(v, now_ms);
            }
        }
        self.version = v;
        if self.topology.is_none() && self.system.is_none() {
            return;
        }
        let h = &mut self.history;
        let sys = self.system.as_ref();
        push_capped(&mut h.t_ms, now_ms);
        push_capped(&mut h.it_kw, sys.map_or(f64::NAN, |s| s.it_kw));
        push_capped(&mut h.facility_kw, sys.map_or(f64::NAN, |s| s.facility_kw));
        push_capped(&mut h.pue, sys.and_then(|s| s.pue).unwrap_or(f64::NAN));
        push_capped(&mut h.it_kw_lost, sys.map_or(f64::NAN, |s| s.it_kw_lost));
        push_capped(
            &mut h.max_inlet_c,
            sys.and_then(|s| s.max_inlet_c).unwrap_or(f64::NAN),
        );
        let reading = |e: &NodeEntry, f: fn(&Measurements) -> Option<f64>| {
            e.measured().and_then(f).unwrap_or(f64::NAN) as f32
        };
        for (q, e) in h.node_kw.iter_mut().zip(&self.entries) {
            push_capped(q, reading(e, |m| m.power_kw));
        }
        for (i, q) in &mut h.battery {
            if let Some(e) = self.entries.get(*i) {
                push_capped(q, reading(e, |m| m.battery_pct));
            }
        }
        for (i, q) in &mut h.temperature {
            if let Some(e) = self.entries.get(*i) {
                push_capped(q, reading(e, |m| m.temperature_c));
            }
        }
        h.seq += 1;
        self.bump();
    }

    /// Checks a command from the API against the topology and the protocol's
    /// command table; `Ok` when it may be published. `system` takes the commands
    /// that are accepted site-wide.
    pub fn check_command(&self, id: &str, cmd: &Command) -> Result<(), CommandCheck> {
        let spec = cmd.spec();
        if spec.applies_to == AppliesTo::EngineOnly {
            return Err(CommandCheck::NotApplicable(format!(
                "`{}` is sent by the engine only",
                spec.name
            )));
        }
        if id == winter_river_protocol::SYSTEM_ID {
            return if spec.site_wide {
                Ok(())
            } else {
                Err(CommandCheck::NotApplicable(format!(
                    "`{}` is not accepted site-wide on `system`",
                    spec.name
                )))
            };
        }
        let Some(t) = &self.topology else {
            return Err(CommandCheck::NoTopology);
        };
        let Some(&i) = t.index.get(id) else {
            return Err(CommandCheck::UnknownNode);
        };
        let kind = t.kinds[i];
        if !cmd.applies_to(kind) {
            return Err(CommandCheck::NotApplicable(format!(
                "`{}` does not apply to `{id}`, a {} ({})",
                spec.name,
                kind,
                kind.spec().label
            )));
        }
        Ok(())
    }

    /// The topic prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The raw topology JSON as the engine published it.
    pub fn topology_raw(&self) -> Option<&[u8]> {
        self.topology.as_ref().map(|t| t.raw.as_slice())
    }

    /// Whether `id` is a node of the topology.
    pub fn has_node(&self, id: &str) -> bool {
        self.topology
            .as_ref()
            .is_some_and(|t| t.index.contains_key(id))
    }

    /// The status a node's OLED page is drawn from — the board's own last status,
    /// else (a board that never reported) the engine's view of the node — and
    /// whether its board is connected. `None` for an unknown node or one not
    /// heard of yet.
    pub fn screen_status(&self, id: &str) -> Option<(Status, bool)> {
        let e = self.entry(id)?;
        let mut s = match &e.board {
            Some(b) => b.clone(),
            None => e.view(id)?.into_owned(),
        };
        s.kind = s.kind.or(self.kind_of(id));
        Some((s, e.online(self.now_ms) == Some(true)))
    }

    /// Whether `id`'s board is connected; `None` when nothing was heard of it.
    pub fn board_online(&self, id: &str) -> Option<bool> {
        self.entry(id)?.online(self.now_ms)
    }

    /// Nodes in topology order, as `/metrics` reads them.
    pub fn readings(&self) -> impl ExactSizeIterator<Item = NodeReading<'_>> {
        let labels = self.topology.as_ref().map_or(&[][..], |t| &t.labels[..]);
        labels.iter().zip(&self.entries).map(|(l, e)| NodeReading {
            labels: l,
            measured: e.measured(),
            word: e.word(),
            online: e.online(self.now_ms),
        })
    }

    pub fn system(&self) -> Option<&SystemStatus> {
        self.system.as_ref()
    }

    pub fn engine_online(&self) -> Option<bool> {
        self.engine_online
    }

    fn node_json(&self, id: &str, kind: NodeKind, e: &NodeEntry) -> Value {
        let mut m = match e.view(id).map(|s| serde_json::to_value(&*s)) {
            Some(Ok(Value::Object(m))) => m,
            _ => {
                let mut m = Map::new();
                m.insert("node_id".into(), id.into());
                m
            }
        };
        if !m.contains_key("kind") {
            m.insert("kind".into(), kind.as_str().into());
        }
        m.insert("online".into(), e.online(self.now_ms).into());
        if e.board.is_some() {
            m.insert("heard_ms".into(), e.board_ms.into());
        }
        Value::Object(m)
    }

    fn link_json(&self) -> Value {
        json!({"broker": self.broker_connected, "engine": self.engine_online})
    }

    /// An event as the API and the live stream carry it: the Event's fields (with
    /// `to`, `command` and `reason` when it has them), its `seq` and when the web
    /// heard it.
    fn event_json(seq: u64, wall_ms: u64, e: &Event) -> Value {
        let mut v = json!({"seq": seq, "wall_ms": wall_ms, "t": e.t, "node_id": e.node_id, "event": e.event,
               "severity": e.severity.as_str(), "message": e.message});
        for (key, value) in [
            ("to", &e.to),
            ("command", &e.command),
            ("reason", &e.reason),
        ] {
            if let (Some(text), Some(m)) = (value, v.as_object_mut()) {
                m.insert(key.into(), text.clone().into());
            }
        }
        v
    }

    /// Every node of the topology with its entry and kind, in topology order.
    fn topology_nodes(&self) -> impl Iterator<Item = (&str, NodeKind, &NodeEntry)> {
        self.topology.iter().flat_map(move |t| {
            t.ids
                .iter()
                .zip(&t.kinds)
                .zip(&self.entries)
                .map(|((id, &k), e)| (id.as_str(), k, e))
        })
    }

    /// `GET /api/state`: the site, every node, the system status and the links.
    pub fn state_json(&self) -> Value {
        let nodes: Vec<Value> = self
            .topology_nodes()
            .map(|(id, k, e)| self.node_json(id, k, e))
            .collect();
        json!({
            "site": self.topology.as_ref().map(|t| t.site.clone()),
            "system": self.system,
            "nodes": nodes,
            "link": self.link_json(),
            "wall_ms": self.now_ms,
        })
    }

    /// `GET /api/events`: events after `since` (a `seq`), oldest first, at most `limit`.
    pub fn events_json(&self, since: u64, limit: usize) -> Value {
        json!({"events": self.events_after(since, limit), "last_seq": self.event_seq})
    }

    /// The last `limit` events after `since` (a `seq`), oldest first.
    fn events_after(&self, since: u64, limit: usize) -> Vec<Value> {
        let newer: Vec<&(u64, u64, Event)> =
            self.events.iter().filter(|(s, _, _)| *s > since).collect();
        let skip = newer.len().saturating_sub(limit);
        newer[skip..]
            .iter()
            .map(|(s, w, e)| Self::event_json(*s, *w, e))
            .collect()
    }

    /// `GET /api/history`: the system series, every battery's charge, every room's
    /// air temperature, and `node`'s kW.
    pub fn history_json(&self, node: Option<&str>) -> Value {
        let h = &self.history;
        let num = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
        let series = |q: &VecDeque<f64>| q.iter().map(|&v| num(v)).collect::<Vec<_>>();
        let series32 = |q: &VecDeque<f32>| q.iter().map(|&v| num(f64::from(v))).collect::<Vec<_>>();
        let by_node = |list: &[(usize, VecDeque<f32>)]| {
            let mut m = Map::new();
            if let Some(t) = &self.topology {
                for (i, q) in list {
                    m.insert(t.ids[*i].clone(), series32(q).into());
                }
            }
            m
        };
        let node_series = node.and_then(|id| {
            let t = self.topology.as_ref()?;
            let i = *t.index.get(id)?;
            Some(json!({"id": id, "power_kw": series32(&h.node_kw[i])}))
        });
        json!({
            "t_ms": h.t_ms,
            "it_kw": series(&h.it_kw),
            "facility_kw": series(&h.facility_kw),
            "pue": series(&h.pue),
            "it_kw_lost": series(&h.it_kw_lost),
            "max_inlet_c": series(&h.max_inlet_c),
            "battery_pct": by_node(&h.battery),
            "temperature_c": by_node(&h.temperature),
            "node": node_series,
        })
    }

    /// Everything newer than `cursor`, and the cursor to use next time. A fresh
    /// cursor (all zero) gets the full state.
    pub fn delta(&self, cursor: &Cursor) -> (Value, Cursor) {
        let mut out = Map::new();
        let full = cursor.version == 0 || cursor.topology_version != self.topology_version;
        out.insert("full".into(), full.into());
        out.insert("topology".into(), self.topology_version.into());
        if let Some(t) = &self.topology {
            out.insert("site".into(), t.site.clone().into());
            let nodes: Vec<Value> = self
                .topology_nodes()
                .filter(|(_, _, e)| full || e.version > cursor.version)
                .map(|(id, k, e)| self.node_json(id, k, e))
                .collect();
            if !nodes.is_empty() {
                out.insert("nodes".into(), nodes.into());
            }
        }
        if (full || self.system_version > cursor.version)
            && let Some(s) = &self.system
        {
            out.insert("system".into(), json!(s));
        }
        if full || self.link_version > cursor.version {
            out.insert("link".into(), self.link_json());
        }
        if full || self.drill_version > cursor.version {
            out.insert("drill".into(), self.drill_json.clone());
        }
        let since = if full && cursor.version == 0 {
            0
        } else {
            cursor.event_seq
        };
        let events = self.events_after(since, EVENTS_PER_DELTA);
        if !events.is_empty() {
            out.insert("events".into(), events.into());
        }
        if self.history.seq > cursor.sample_seq && !self.history.t_ms.is_empty() {
            let h = &self.history;
            let last = |q: &VecDeque<f64>| q.back().copied().filter(|v| v.is_finite());
            let last_by_node = |list: &[(usize, VecDeque<f32>)]| {
                let mut m = Map::new();
                if let Some(t) = &self.topology {
                    for (i, q) in list {
                        if let Some(v) = q.back().filter(|v| v.is_finite()) {
                            m.insert(t.ids[*i].clone(), json!(v));
                        }
                    }
                }
                m
            };
            out.insert(
                "sample".into(),
                json!({
                    "t_ms": h.t_ms.back(),
                    "it_kw": last(&h.it_kw),
                    "facility_kw": last(&h.facility_kw),
                    "pue": last(&h.pue),
                    "it_kw_lost": last(&h.it_kw_lost),
                    "max_inlet_c": last(&h.max_inlet_c),
                    "battery_pct": last_by_node(&h.battery),
                    "temperature_c": last_by_node(&h.temperature),
                }),
            );
        }
        let next = Cursor {
            version: self.version.max(1),
            topology_version: self.topology_version,
            event_seq: self.event_seq,
            sample_seq: self.history.seq,
        };
        (Value::Object(out), next)
    }

    /// Wall time of the latest input \[ms\].
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }
}

/// What `GET /api/drill` and the live stream say before any drill status came.
fn no_drill_json() -> Value {
    json!({"state": DrillState::None})
}

/// Whether two statuses of one board show the same thing: every field but
/// `uptime` and `seq`, which move with every message. Spelled out so that a new
/// Status field is a decision here, not a silent miss.
fn same_reading(a: &Status, b: &Status) -> bool {
    let Status {
        node_id,
        kind,
        measured,
        status,
        wifi_rssi,
        uptime: _,
        seq: _,
    } = a;
    *node_id == b.node_id
        && *kind == b.kind
        && *measured == b.measured
        && *status == b.status
        && *wifi_rssi == b.wifi_rssi
}

/// An engine `update` on `<p>/<id>/command`; `None` for any other command (the web
/// shows nothing of operators' commands) or a payload the protocol refuses. The
/// protocol reads an update's name, then decodes its params straight into
/// `UpdateParams` (no `serde_json::Value`).
fn decode_update(payload: &[u8]) -> Option<UpdateParams> {
    match decode_command(payload) {
        Ok(Command::Update(update)) => Some(update),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const P: &str = "wr";

    fn store_with_default_topology() -> Store {
        let mut s = Store::new(P);
        let topo = r#"{"site":"s","nodes":[
            {"id":"util_a","kind":"utility","feeds":[],"params":{}},
            {"id":"pdu_a","kind":"pdu","feeds":["util_a"],"params":{}},
            {"id":"srv_a","kind":"server","feeds":["pdu_a"],"params":{}}]}"#;
        s.handle_message(1, "wr/system/topology", topo.as_bytes());
        s
    }

    #[test]
    fn the_engine_is_not_online_while_the_broker_is_down() {
        let mut s = store_with_default_topology();
        s.set_broker_connected(true);
        s.handle_message(2, "wr/system/availability", b"online");
        assert_eq!(
            s.state_json()["link"],
            json!({"broker": true, "engine": true})
        );
        // The retained `online` cannot be trusted once the link is gone.
        s.set_broker_connected(false);
        assert_eq!(
            s.state_json()["link"],
            json!({"broker": false, "engine": false})
        );
        assert_eq!(s.engine_online(), Some(false));
        // Back: the engine's retained availability says it again.
        s.set_broker_connected(true);
        assert_eq!(s.state_json()["link"]["engine"], false);
        s.handle_message(3, "wr/system/availability", b"online");
        assert_eq!(s.state_json()["link"]["engine"], true);
    }

    #[test]
    fn engine_updates_are_the_state_and_the_board_status_is_the_screen() {
        let mut s = store_with_default_topology();
        // The board's first status, before any update: shown as is.
        s.handle_message(
            10,
            "wr/srv_a/status",
            br#"{"node_id":"srv_a","status":"ok","wifi_rssi":-60,"uptime":1}"#,
        );
        assert_eq!(s.screen_status("srv_a").unwrap().0.measured.power_kw, None);
        // The engine's update sets the electrical state; the board keeps its screen.
        s.handle_message(
            20,
            "wr/srv_a/command",
            br#"{"command":"update","params":{"power_kw":5.0,"status":"unpowered"}}"#,
        );
        let state = s.state_json();
        assert_eq!(state["nodes"][2]["power_kw"], 5.0);
        assert_eq!(state["nodes"][2]["status"], "unpowered");
        assert_eq!(state["nodes"][2]["wifi_rssi"], -60);
        assert_eq!(s.screen_status("srv_a").unwrap().0.status, NodeState::Ok);
        // A later board status adds its link fields, not stale values.
        s.handle_message(
            30,
            "wr/srv_a/status",
            br#"{"node_id":"srv_a","status":"ok","wifi_rssi":-70,"uptime":3}"#,
        );
        let state = s.state_json();
        assert_eq!(state["nodes"][2]["status"], "unpowered");
        assert_eq!(state["nodes"][2]["wifi_rssi"], -70);
    }

    #[test]
    fn a_cursor_gets_everything_once_then_only_what_changed() {
        let mut s = store_with_default_topology();
        s.handle_message(
            10,
            "wr/pdu_a/command",
            br#"{"command":"update","params":{"power_kw":5.0,"status":"ok"}}"#,
        );
        let (full, c1) = s.delta(&Cursor::default());
        assert_eq!(full["full"], true);
        assert_eq!(full["nodes"].as_array().unwrap().len(), 3);
        let (none, c2) = s.delta(&c1);
        assert!(none.get("nodes").is_none());
        // Many changes between two pushes: one delta with the latest value.
        for kw in 1..=50 {
            let msg =
                format!(r#"{{"command":"update","params":{{"power_kw":{kw}.0,"status":"ok"}}}}"#);
            s.handle_message(20, "wr/pdu_a/command", msg.as_bytes());
        }
        let (d, _) = s.delta(&c2);
        let nodes = d["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0]["power_kw"], 50.0);
        assert_eq!(d["full"], false);
    }

    #[test]
    fn a_refusal_keeps_its_command_and_reason() {
        let mut s = store_with_default_topology();
        s.handle_message(
            5,
            "wr/system/events",
            br#"{"t":3.0,"node_id":"pdu_a","event":"refused","severity":"warning","message":"pdu_a refused close: pdu_a is locked out","command":"close","reason":"pdu_a is locked out"}"#,
        );
        s.handle_message(
            6,
            "wr/system/events",
            br#"{"t":3.1,"node_id":"util_a","event":"fault","severity":"critical","message":"util_a failed"}"#,
        );
        let events = s.events_json(0, 10);
        let refused = &events["events"][0];
        assert_eq!(refused["event"], "refused");
        assert_eq!(refused["command"], "close");
        assert_eq!(refused["reason"], "pdu_a is locked out");
        let fault = events["events"][1].as_object().unwrap();
        assert!(!fault.contains_key("command") && !fault.contains_key("reason"));
        let (d, _) = s.delta(&Cursor::default());
        assert_eq!(d["events"][0]["reason"], "pdu_a is locked out");
    }

    #[test]
    fn bad_input_is_counted_not_stored() {
        let mut s = store_with_default_topology();
        s.handle_message(1, "wr/srv_a/status", b"not json");
        s.handle_message(1, "wr/nope/status", br#"{"node_id":"nope","status":"ok"}"#);
        s.handle_message(1, "other/x/status", b"{}");
        assert_eq!(s.rejected.get("not_json"), Some(&1));
        assert_eq!(s.rejected.get("unknown_node"), Some(&1));
        assert_eq!(s.rejected.get("bad_topic"), Some(&1));
        assert!(s.screen_status("nope").is_none());
    }

    #[test]
    fn commands_are_checked_against_the_topology() {
        let s = store_with_default_topology();
        assert_eq!(
            s.check_command("srv_a", &Command::SetLoad { kw: 3.0 }),
            Ok(())
        );
        assert!(matches!(
            s.check_command("pdu_a", &Command::SetLoad { kw: 3.0 }),
            Err(CommandCheck::NotApplicable(_))
        ));
        assert_eq!(
            s.check_command("zzz", &Command::Reset),
            Err(CommandCheck::UnknownNode)
        );
        assert_eq!(s.check_command("system", &Command::Reset), Ok(()));
        assert_eq!(
            Store::new(P).check_command("srv_a", &Command::Reset),
            Err(CommandCheck::NoTopology)
        );
    }

    #[test]
    fn history_keeps_15_minutes() {
        let mut s = store_with_default_topology();
        s.handle_message(
            1,
            "wr/pdu_a/command",
            br#"{"command":"update","params":{"power_kw":5.0,"status":"ok"}}"#,
        );
        for i in 0..(HISTORY_SAMPLES as u64 + 10) {
            s.sample(1_000 * i);
        }
        let h = s.history_json(Some("pdu_a"));
        assert_eq!(h["t_ms"].as_array().unwrap().len(), HISTORY_SAMPLES);
        assert_eq!(h["t_ms"][0], 10_000);
        assert_eq!(h["node"]["power_kw"][0], 5.0);
    }

    #[test]
    fn rooms_air_and_the_highest_inlet_are_history() {
        let mut s = Store::new(P);
        let topo = r#"{"site":"s","nodes":[
            {"id":"util_a","kind":"utility","feeds":[],"params":{}},
            {"id":"hall_1","kind":"room","feeds":[],"class":"A2","params":{}},
            {"id":"srv_a","kind":"server","feeds":["util_a"],"room":"hall_1","params":{}}]}"#;
        s.handle_message(1, "wr/system/topology", topo.as_bytes());
        let system = |inlet: f64| SystemStatus {
            node_id: "system".into(),
            max_inlet_c: Some(inlet),
            ..SystemStatus::default()
        };
        let mut cursor = Cursor::default();
        for (i, air) in [22.0, 27.5, 35.25].into_iter().enumerate() {
            let t = 1_000 * (i as u64 + 1);
            let update = format!(
                r#"{{"command":"update","params":{{"status":"ok","temperature_c":{air},"solid_c":22.0}}}}"#
            );
            s.handle_message(t, "wr/hall_1/command", update.as_bytes());
            let sys = serde_json::to_vec(&system(air + 0.5)).unwrap();
            s.handle_message(t, "wr/system/status", &sys);
            s.sample(t);
            let (delta, next) = s.delta(&cursor);
            cursor = next;
            assert_eq!(delta["sample"]["temperature_c"]["hall_1"], air, "{delta}");
            assert_eq!(delta["sample"]["max_inlet_c"], air + 0.5, "{delta}");
        }
        let h = s.history_json(None);
        assert_eq!(h["temperature_c"]["hall_1"], json!([22.0, 27.5, 35.25]));
        assert_eq!(h["max_inlet_c"], json!([22.5, 28.0, 35.75]));
        // Only rooms have an air temperature series; no UPS here, no battery.
        assert_eq!(h["temperature_c"].as_object().unwrap().len(), 1);
        assert_eq!(h["battery_pct"], json!({}));
    }

    #[test]
    fn uptime_alone_does_not_push_but_a_restart_does() {
        let mut s = store_with_default_topology();
        let status = |uptime: u64| {
            format!(r#"{{"node_id":"srv_a","status":"ok","wifi_rssi":-60,"uptime":{uptime}}}"#)
        };
        s.handle_message(10_000, "wr/srv_a/status", status(10).as_bytes());
        let (_, c) = s.delta(&Cursor::default());
        // Every 2 s, uptime 2 s on: nothing to push, the page extrapolates.
        for i in 1..=5 {
            s.handle_message(
                10_000 + 2_000 * i,
                "wr/srv_a/status",
                status(10 + 2 * i).as_bytes(),
            );
        }
        let (d, c) = s.delta(&c);
        assert!(d.get("nodes").is_none(), "{d}");
        // The board restarted: its uptime is back near 0.
        s.handle_message(22_000, "wr/srv_a/status", status(1).as_bytes());
        let (d, _) = s.delta(&c);
        assert_eq!(d["nodes"][0]["uptime"], 1);
        assert_eq!(d["nodes"][0]["heard_ms"], 22_000);
    }

    #[test]
    fn a_board_that_falls_silent_is_pushed_offline() {
        let mut s = store_with_default_topology();
        // A plain client: statuses, never availability (docs/protocol.md).
        s.handle_message(
            1_000,
            "wr/srv_a/status",
            br#"{"node_id":"srv_a","status":"ok"}"#,
        );
        let (d, c) = s.delta(&Cursor::default());
        assert_eq!(d["nodes"][2]["online"], true);
        let fresh_ms = winter_river_protocol::link::STATUS_FRESH_MS;
        s.sample(1_000 + fresh_ms);
        let (d, c) = s.delta(&c);
        assert!(d.get("nodes").is_none(), "still fresh: {d}");
        s.sample(1_000 + fresh_ms + 1_000);
        let (d, _) = s.delta(&c);
        assert_eq!(d["nodes"][0]["node_id"], "srv_a");
        assert_eq!(d["nodes"][0]["online"], false);
    }

    #[test]
    fn a_silent_engine_leaves_the_board_s_values() {
        let mut s = store_with_default_topology();
        s.handle_message(
            1_000,
            "wr/pdu_a/command",
            br#"{"command":"update","params":{"power_kw":5.0,"status":"ok"}}"#,
        );
        let board = br#"{"node_id":"pdu_a","status":"fault","power_kw":1.0}"#;
        s.handle_message(2_000, "wr/pdu_a/status", board);
        assert_eq!(s.state_json()["nodes"][1]["power_kw"], 5.0);
        // No update for 10 s: the board's own status is the state.
        s.handle_message(11_000, "wr/pdu_a/status", board);
        let state = s.state_json();
        assert_eq!(state["nodes"][1]["power_kw"], 1.0);
        assert_eq!(state["nodes"][1]["status"], "fault");
    }

    #[test]
    fn updates_decode_to_their_values() {
        let u = decode_update(
            br#"{"command":"update","params":{"status":"on_battery","power_kw":5.0,"battery_pct":99.5,"source":"util_a"}}"#,
        )
        .unwrap();
        assert_eq!(u.status, Some(NodeState::OnBattery));
        assert_eq!(u.measured.power_kw, Some(5.0));
        assert_eq!(u.measured.battery_pct, Some(99.5));
        assert_eq!(u.measured.source.as_deref(), Some("util_a"));
        let u = decode_update(br#"{"params":{"voltage_out":208.0},"command":"update"}"#).unwrap();
        assert_eq!(u.measured.voltage_out, Some(208.0));
        assert_eq!(u.status, None);
        for other in [
            &br#"{"command":"set_fault","params":{"state":true}}"#[..],
            br#"{"command":"update","params":{"source":"Not An Id"}}"#,
            br#"{"command":"update","params":{"power_kw":"x"}}"#,
            b"not json",
        ] {
            assert_eq!(decode_update(other), None);
        }
    }

    #[test]
    fn a_kind_new_to_the_web_is_stored_and_its_commands_checked() {
        let mut s = Store::new(P);
        let topo = r#"{"site":"s","nodes":[
            {"id":"util_a","kind":"utility","feeds":[],"params":{}},
            {"id":"util_b","kind":"utility","feeds":[],"params":{}},
            {"id":"sts_a","kind":"sts","feeds":["util_a","util_b"],"params":{}}]}"#;
        s.handle_message(1, "wr/system/topology", topo.as_bytes());
        s.handle_message(
            2,
            "wr/sts_a/status",
            br#"{"node_id":"sts_a","kind":"sts","status":"ok","source":"util_b","power_kw":3.0}"#,
        );
        let state = s.state_json();
        assert_eq!(state["nodes"][2]["kind"], "sts");
        assert_eq!(state["nodes"][2]["source"], "util_b");
        assert_eq!(s.check_command("sts_a", &Command::Reset), Ok(()));
        assert!(matches!(
            s.check_command("sts_a", &Command::SetLoad { kw: 1.0 }),
            Err(CommandCheck::NotApplicable(_))
        ));
    }

    fn drill_status(state: &str) -> String {
        format!(
            r#"{{"state":"{state}","name":"Utility loss","file":"utility-loss.toml","clock_s":12.0,"duration_s":600.0,
            "injects":[{{"index":0,"at_s":30.0,"node":"util_a","command":"set_fault state=true"}}],
            "steps":[{{"number":1,"note":"UPS to static bypass","node":"ups_a","command":"ups_mode mode=static_bypass","state":"pending"}}],
            "library":["utility-loss.toml","ups-maintenance.toml"]}}"#
        )
    }

    #[test]
    fn the_drill_status_is_kept_pushed_once_and_cleared() {
        let mut s = store_with_default_topology();
        assert_eq!(s.drill_json()["state"], "none");
        let (d, c) = s.delta(&Cursor::default());
        assert_eq!(
            d["drill"]["state"], "none",
            "a full push says there is none"
        );
        s.handle_message(2, "wr/system/drill", drill_status("loaded").as_bytes());
        assert_eq!(s.drill_json()["name"], "Utility loss");
        assert_eq!(s.drill_json()["steps"][0]["note"], "UPS to static bypass");
        let (d, c) = s.delta(&c);
        assert_eq!(d["drill"]["state"], "loaded");
        // The same status again (a retained copy on reconnect): nothing to push.
        s.handle_message(3, "wr/system/drill", drill_status("loaded").as_bytes());
        let (d, c) = s.delta(&c);
        assert!(d.get("drill").is_none(), "{d}");
        s.handle_message(4, "wr/system/drill", b"{not json");
        assert_eq!(s.rejected.get("not_json"), Some(&1));
        assert_eq!(s.drill_json()["state"], "loaded", "bad input leaves it");
        // An empty retained message clears the topic.
        s.handle_message(5, "wr/system/drill", b"");
        let (d, _) = s.delta(&c);
        assert_eq!(d["drill"], json!({"state": "none"}));
    }

    #[test]
    fn drill_commands_are_checked_against_the_drill() {
        let mut s = store_with_default_topology();
        let load = |file: &str| DrillCommand::Load { file: file.into() };
        // Nothing known yet: only the shape of a file name.
        assert_eq!(s.check_drill_command(&load("anything.toml")), Ok(()));
        assert_eq!(
            s.check_drill_command(&DrillCommand::Inject { event: 7 }),
            Ok(())
        );
        for path in [
            "../etc/passwd",
            "/etc/x.toml",
            "a/b.toml",
            ".hidden.toml",
            "",
            "a\\b",
        ] {
            let why = s.check_drill_command(&load(path)).unwrap_err();
            assert!(why.contains("not a path"), "{path}: {why}");
        }
        s.handle_message(2, "wr/system/drill", drill_status("loaded").as_bytes());
        assert_eq!(s.check_drill_command(&load("ups-maintenance.toml")), Ok(()));
        assert_eq!(
            s.check_drill_command(&load("nope.toml")).unwrap_err(),
            "no drill `nope.toml` in the library (utility-loss.toml, ups-maintenance.toml)"
        );
        assert_eq!(
            s.check_drill_command(&DrillCommand::Inject { event: 0 }),
            Ok(())
        );
        assert_eq!(
            s.check_drill_command(&DrillCommand::Inject { event: 1 })
                .unwrap_err(),
            "the drill `Utility loss` has 1 inject (0 to 0)"
        );
        assert_eq!(s.check_drill_command(&DrillCommand::Start {}), Ok(()));
    }
}
