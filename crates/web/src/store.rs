//! What the dashboard knows, built from MQTT messages alone (DESIGN §2): the
//! topology, each node's last state and availability, the system status, recent
//! events and 15 minutes of history. Sans-IO: messages and wall time go in through
//! `handle_*` / [`Store::sample`], JSON comes out; the MQTT feed, the HTTP handlers
//! and the live stream share one `Store` behind a mutex.
//!
//! Every change bumps a version; a live client keeps a [`Cursor`] and gets, in one
//! [`Store::delta`], everything newer than it — so a client that falls behind gets
//! the latest state in one message, never a backlog.

use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value, json};
use winter_river_protocol::{
    Availability, Command, Event, NodeKind, NodeState, Status, SystemStatus, Topic, TopologyJson,
    decode_availability, decode_command, decode_event, decode_status, decode_system_status,
    decode_topology,
};

/// A node's board counts as connected this long after its last status \[ms\] when it
/// never published availability (DESIGN §2: plain MQTT clients).
const TALKING_MS: u64 = 15_000;
/// A board's own status stands in for the engine's values when no `update` for
/// its node was seen this long \[ms\] (the web started between two refreshes).
const UPDATE_STALE_MS: u64 = 10_000;
/// Events kept for late readers.
pub const EVENTS_KEPT: usize = 1_000;
/// History: one sample per second for 15 minutes.
pub const HISTORY_SAMPLES: usize = 900;
/// Most events sent in one live message.
const EVENTS_PER_DELTA: usize = 200;

/// One node as the dashboard knows it.
#[derive(Debug, Clone)]
struct NodeEntry {
    /// Last known state: electrical values and status word from the engine's
    /// `update`s (the authority, DESIGN §2), link fields (`wifi_rssi`, `uptime`,
    /// `seq`) from the board; the board's own status until an update is seen.
    status: Option<Status>,
    /// The board's last status as it sent it: what its OLED shows.
    board_status: Option<Status>,
    /// When the board last sent a status [ms, wall].
    board_ms: Option<u64>,
    /// When the engine last sent this node an `update` [ms, wall].
    update_ms: Option<u64>,
    availability: Option<Availability>,
    /// [`Store::version`] when this entry last changed.
    version: u64,
}

impl NodeEntry {
    fn new() -> NodeEntry {
        NodeEntry {
            status: None,
            board_status: None,
            board_ms: None,
            update_ms: None,
            availability: None,
            version: 0,
        }
    }

    /// Whether the board is connected: its availability, else a recent status.
    fn online(&self, now_ms: u64) -> Option<bool> {
        match self.availability {
            Some(Availability::Online) => Some(true),
            Some(Availability::Offline) => Some(false),
            None => self.board_ms.map(|t| now_ms < t + TALKING_MS),
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
    /// Per topology index: power \[kW\] (NaN unknown).
    node_kw: Vec<VecDeque<f32>>,
    /// Per UPS (topology index): state of charge [%].
    battery: Vec<(usize, VecDeque<f32>)>,
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

/// The dashboard's state.
#[derive(Debug)]
pub struct Store {
    prefix: String,
    topology: Option<TopologyInfo>,
    topology_version: u64,
    nodes: HashMap<String, NodeEntry>,
    system: Option<SystemStatus>,
    system_version: u64,
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
            nodes: HashMap::new(),
            system: None,
            system_version: 0,
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

    /// The broker link went up or down.
    pub fn set_broker_connected(&mut self, connected: bool) {
        if self.broker_connected != connected {
            self.broker_connected = connected;
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
                if let Ok(Command::Update(u)) = decode_command(payload) {
                    self.node_update(now_ms, &id, u);
                }
            }
            Topic::NodeAvailability(id) => {
                self.count_in("availability");
                match decode_availability(payload) {
                    Ok(a) => {
                        if self.accepts(&id) {
                            let v = self.version + 1;
                            let e = self.nodes.entry(id).or_insert_with(NodeEntry::new);
                            if e.availability != Some(a) {
                                e.availability = Some(a);
                                e.version = v;
                                self.version = v;
                            }
                        }
                    }
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
            Topic::SystemCommand => self.count_in("command"),
        }
    }

    fn count_in(&mut self, kind: &'static str) {
        *self.messages_in.entry(kind).or_default() += 1;
    }

    fn reject(&mut self, reason: &'static str) {
        *self.rejected.entry(reason).or_default() += 1;
    }

    /// Whether to keep state for `id`: a node of the topology, or anything while
    /// the topology is unknown (retained availability may arrive before it).
    fn accepts(&self, id: &str) -> bool {
        match &self.topology {
            Some(t) => t.index.contains_key(id),
            None => self.nodes.len() < 200_000,
        }
    }

    fn set_topology(&mut self, raw: Vec<u8>, t: TopologyJson) {
        if self.topology.as_ref().is_some_and(|old| old.raw == raw) {
            return;
        }
        let ids: Vec<String> = t.nodes.iter().map(|n| n.id.clone()).collect();
        let kinds = t.nodes.iter().map(|n| n.kind).collect();
        let index: HashMap<String, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        self.nodes.retain(|id, _| index.contains_key(id));
        self.history = History {
            battery: t
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.kind == NodeKind::Ups)
                .map(|(i, _)| (i, VecDeque::new()))
                .collect(),
            node_kw: vec![VecDeque::new(); ids.len()],
            ..History::default()
        };
        self.topology = Some(TopologyInfo {
            raw,
            site: t.site,
            ids,
            kinds,
            index,
        });
        self.topology_version = self.bump();
    }

    fn node_status(&mut self, now_ms: u64, status: Status) {
        if !self.accepts(&status.node_id) {
            return self.reject("unknown_node");
        }
        let v = self.version + 1;
        let e = self
            .nodes
            .entry(status.node_id.clone())
            .or_insert_with(NodeEntry::new);
        e.board_ms = Some(now_ms);
        let engine_speaks = e.update_ms.is_some_and(|t| now_ms < t + UPDATE_STALE_MS);
        let mut merged = match (&e.status, engine_speaks) {
            (Some(old), true) => {
                let mut m = old.clone();
                m.wifi_rssi = status.wifi_rssi;
                m.uptime = status.uptime;
                m.seq = status.seq;
                m.kind = m.kind.or(status.kind);
                m
            }
            _ => status.clone(),
        };
        merged.node_id.clone_from(&status.node_id);
        let screen_changed = !e
            .board_status
            .as_ref()
            .is_some_and(|old| same_state(old, &status));
        let state_changed = !e
            .status
            .as_ref()
            .is_some_and(|old| same_state(old, &merged));
        e.board_status = Some(status);
        e.status = Some(merged);
        // Uptime and sequence numbers alone do not push the node again.
        if state_changed || screen_changed {
            e.version = v;
            self.version = v;
        }
    }

    fn node_update(&mut self, now_ms: u64, id: &str, u: winter_river_protocol::UpdateParams) {
        if !self.accepts(id) {
            return;
        }
        let kind = self.kind_of(id);
        let v = self.version + 1;
        let e = self
            .nodes
            .entry(id.to_string())
            .or_insert_with(NodeEntry::new);
        e.update_ms = Some(now_ms);
        let mut s = e
            .status
            .clone()
            .unwrap_or_else(|| Status::new(id, NodeState::Ok));
        s.kind = s.kind.or(kind);
        s.voltage_in = u.voltage_in;
        s.voltage_out = u.voltage_out;
        s.current = u.current;
        s.power_kw = u.power_kw;
        s.load_pct = u.load_pct;
        s.status = u.status.unwrap_or(s.status);
        s.battery_pct = u.battery_pct;
        s.runtime_s = u.runtime_s;
        s.fuel_pct = u.fuel_pct;
        s.source = u.source;
        if !e.status.as_ref().is_some_and(|old| same_state(old, &s)) {
            e.version = v;
            self.version = v;
        }
        e.status = Some(s);
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

    /// Takes one history sample (call once a second) [ms, wall].
    pub fn sample(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
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
        if let Some(t) = &self.topology {
            for (i, id) in t.ids.iter().enumerate() {
                let st = self.nodes.get(id).and_then(|e| e.status.as_ref());
                let kw = st.and_then(|s| s.power_kw).unwrap_or(f64::NAN) as f32;
                if let Some(q) = h.node_kw.get_mut(i) {
                    push_capped(q, kw);
                }
            }
            for (i, q) in &mut h.battery {
                let st = self.nodes.get(&t.ids[*i]).and_then(|e| e.status.as_ref());
                push_capped(q, st.and_then(|s| s.battery_pct).unwrap_or(f64::NAN) as f32);
            }
        }
        h.seq += 1;
        self.bump();
    }

    /// Checks a command from the API against the topology; `Ok` when it may be
    /// published. `system` takes only `reset`.
    pub fn check_command(&self, id: &str, cmd: &Command) -> Result<(), CommandCheck> {
        if matches!(cmd, Command::Update(_)) {
            return Err(CommandCheck::NotApplicable(
                "`update` is sent by the engine only".into(),
            ));
        }
        if id == winter_river_protocol::SYSTEM_ID {
            return match cmd {
                Command::Reset => Ok(()),
                _ => Err(CommandCheck::NotApplicable(
                    "`system` takes only `reset`".into(),
                )),
            };
        }
        let Some(t) = &self.topology else {
            return Err(CommandCheck::NoTopology);
        };
        let Some(&i) = t.index.get(id) else {
            return Err(CommandCheck::UnknownNode);
        };
        if matches!(cmd, Command::SetLoad { .. }) && !t.kinds[i].is_load() {
            return Err(CommandCheck::NotApplicable(format!(
                "`set_load` applies to loads; `{id}` is a {}",
                t.kinds[i]
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

    /// The status a node's OLED page is drawn from, and whether its board is
    /// connected. `None` for an unknown node or one not heard from yet.
    pub fn screen_status(&self, id: &str) -> Option<(Status, bool)> {
        let e = self.nodes.get(id)?;
        let mut s = e.board_status.clone().or_else(|| e.status.clone())?;
        s.kind = s.kind.or(self.kind_of(id));
        Some((s, e.online(self.now_ms).unwrap_or(false)))
    }

    /// Nodes in topology order with their kind, last state and whether the board is
    /// connected (for `/metrics`).
    pub fn nodes(&self) -> Vec<(&str, NodeKind, Option<&Status>, Option<bool>)> {
        let Some(t) = &self.topology else {
            return Vec::new();
        };
        t.ids
            .iter()
            .zip(&t.kinds)
            .map(|(id, &k)| {
                let e = self.nodes.get(id);
                (
                    id.as_str(),
                    k,
                    e.and_then(|e| e.status.as_ref()),
                    e.and_then(|e| e.online(self.now_ms)),
                )
            })
            .collect()
    }

    pub fn system(&self) -> Option<&SystemStatus> {
        self.system.as_ref()
    }

    pub fn engine_online(&self) -> Option<bool> {
        self.engine_online
    }

    fn node_json(&self, id: &str, e: Option<&NodeEntry>) -> Value {
        let mut m = match e.and_then(|e| e.status.as_ref()) {
            Some(s) => match serde_json::to_value(s) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            },
            None => {
                let mut m = Map::new();
                m.insert("node_id".into(), id.into());
                m
            }
        };
        if !m.contains_key("kind")
            && let Some(k) = self.kind_of(id)
        {
            m.insert("kind".into(), k.as_str().into());
        }
        m.insert(
            "online".into(),
            e.and_then(|e| e.online(self.now_ms)).into(),
        );
        Value::Object(m)
    }

    fn link_json(&self) -> Value {
        json!({"broker": self.broker_connected, "engine": self.engine_online})
    }

    fn event_json(seq: u64, wall_ms: u64, e: &Event) -> Value {
        json!({"seq": seq, "wall_ms": wall_ms, "t": e.t, "node_id": e.node_id, "event": e.event,
               "severity": e.severity.as_str(), "message": e.message})
    }

    /// `GET /api/state`: the site, every node, the system status and the links.
    pub fn state_json(&self) -> Value {
        let nodes: Vec<Value> = match &self.topology {
            Some(t) => t
                .ids
                .iter()
                .map(|id| self.node_json(id, self.nodes.get(id)))
                .collect(),
            None => Vec::new(),
        };
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

    /// `GET /api/history`: the system series, every UPS's battery, and `node`'s kW.
    pub fn history_json(&self, node: Option<&str>) -> Value {
        let h = &self.history;
        let num = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
        let series = |q: &VecDeque<f64>| q.iter().map(|&v| num(v)).collect::<Vec<_>>();
        let series32 = |q: &VecDeque<f32>| q.iter().map(|&v| num(f64::from(v))).collect::<Vec<_>>();
        let mut battery = Map::new();
        if let Some(t) = &self.topology {
            for (i, q) in &h.battery {
                battery.insert(t.ids[*i].clone(), series32(q).into());
            }
        }
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
            "battery_pct": battery,
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
            let nodes: Vec<Value> = t
                .ids
                .iter()
                .filter_map(|id| {
                    let e = self.nodes.get(id);
                    let changed = e.is_some_and(|e| e.version > cursor.version);
                    (full || changed).then(|| self.node_json(id, e))
                })
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
            let mut battery = Map::new();
            if let Some(t) = &self.topology {
                for (i, q) in &h.battery {
                    if let Some(v) = q.back().filter(|v| v.is_finite()) {
                        battery.insert(t.ids[*i].clone(), json!(v));
                    }
                }
            }
            out.insert(
                "sample".into(),
                json!({
                    "t_ms": h.t_ms.back(),
                    "it_kw": last(&h.it_kw),
                    "facility_kw": last(&h.facility_kw),
                    "pue": last(&h.pue),
                    "it_kw_lost": last(&h.it_kw_lost),
                    "battery_pct": battery,
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

/// Whether two statuses show the same thing (ignoring uptime and sequence number).
fn same_state(a: &Status, b: &Status) -> bool {
    let mut a = a.clone();
    a.uptime = b.uptime;
    a.seq = b.seq;
    a == *b
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
    fn engine_updates_are_the_state_and_the_board_status_is_the_screen() {
        let mut s = store_with_default_topology();
        // The board's first status, before any update: shown as is.
        s.handle_message(
            10,
            "wr/srv_a/status",
            br#"{"node_id":"srv_a","status":"ok","wifi_rssi":-60,"uptime":1}"#,
        );
        assert_eq!(s.screen_status("srv_a").unwrap().0.power_kw, None);
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
}
