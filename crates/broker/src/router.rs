//! The broker's shared state, without I/O: sessions (by client id), their subscriptions
//! indexed for routing, the retained messages, and the queues of persistent sessions
//! whose client is away. Connections lock it briefly to connect, subscribe and route;
//! sending happens outside the lock (crate::link).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use winter_river_mqtt_codec::server::{Qos, filter_matches};

use crate::link::Link;

/// One application message as the broker routes it.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub topic: Arc<str>,
    pub payload: Bytes,
    pub qos: Qos,
    pub retain: bool,
}

impl Message {
    /// This message as delivered at `qos` (the lower of its own and the subscription's).
    pub fn at(&self, qos: Qos, retain: bool) -> Message {
        Message {
            topic: self.topic.clone(),
            payload: self.payload.clone(),
            qos: self.qos.min(qos),
            retain,
        }
    }
}

/// A message queued for a client: `dup` once it was sent and not acknowledged.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub message: Message,
    pub dup: bool,
}

/// A client's session: kept between connections unless it asked for a clean session.
#[derive(Debug)]
struct Session {
    clean: bool,
    subscriptions: HashMap<String, Qos>,
    /// The connected client, if any.
    link: Option<Link>,
    /// QoS 1/2 messages for a persistent session while its client is away (and the
    /// unacknowledged ones of its last connection, first).
    offline: VecDeque<Delivery>,
    /// QoS 2 packet ids received and not yet released (PUBREL), so a resent PUBLISH is
    /// not routed twice.
    incoming_qos2: HashSet<u16>,
    /// Which connection of this client is the current one.
    generation: u64,
}

/// Where a routed message goes: a connected client's link, at this QoS.
#[derive(Debug)]
pub(crate) struct Target {
    pub link: Link,
    pub client_id: Arc<str>,
    pub qos: Qos,
}

/// What [`Router::connect`] found for the client id.
#[derive(Debug)]
pub(crate) struct Connected {
    pub session_present: bool,
    pub generation: u64,
    /// Messages kept for the session while the client was away, to send first.
    pub backlog: VecDeque<Delivery>,
}

/// Counts of what routing dropped, for the caller to log and count.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Routed {
    /// Messages queued for persistent sessions whose client is away.
    pub queued_offline: u64,
    /// Oldest offline messages dropped because a session's queue was full.
    pub dropped_offline: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Router {
    sessions: HashMap<Arc<str>, Session>,
    /// Filters without wildcards, by topic: a board's own command topic is one of these.
    exact: HashMap<String, Vec<(Arc<str>, Qos)>>,
    /// Filters with `+` or `#` (a few: the engine's, the web's, Telegraf's).
    wildcard: Vec<(String, Arc<str>, Qos)>,
    retained: HashMap<Arc<str>, Message>,
    next_generation: u64,
    /// Bumped by every change a state file would have to record.
    changes: u64,
}

impl Router {
    /// The link of the client currently connected under `client_id`, to take it over.
    pub fn current_link(&self, client_id: &str) -> Option<Link> {
        self.sessions.get(client_id)?.link.clone()
    }

    /// Registers a connection for `client_id` (its previous connection already closed).
    /// A clean session starts empty; a persistent one keeps its subscriptions and hands
    /// over what was queued for it.
    pub fn connect(&mut self, client_id: &Arc<str>, clean: bool, link: Link) -> Connected {
        self.next_generation += 1;
        self.changes += 1;
        let generation = self.next_generation;
        if clean {
            self.remove_session(client_id);
        }
        let session_present = self.sessions.contains_key(client_id);
        let session = self
            .sessions
            .entry(client_id.clone())
            .or_insert_with(|| Session {
                clean,
                subscriptions: HashMap::new(),
                link: None,
                offline: VecDeque::new(),
                incoming_qos2: HashSet::new(),
                generation,
            });
        session.clean = clean;
        session.link = Some(link);
        session.generation = generation;
        Connected {
            session_present,
            generation,
            backlog: std::mem::take(&mut session.offline),
        }
    }

    /// The connection `generation` of `client_id` has closed. A clean session ends; a
    /// persistent one keeps `unsent` (its unacknowledged and queued messages, in order)
    /// for the next connection, at most `offline_limit` of them. Returns how many were
    /// dropped for the limit. A connection that was taken over (it did not close in time)
    /// hands what it had not delivered to its successor's queue, unless the successor
    /// asked for a clean session.
    pub fn disconnect(
        &mut self,
        client_id: &str,
        generation: u64,
        unsent: Vec<Delivery>,
        offline_limit: usize,
    ) -> u64 {
        let Some(session) = self.sessions.get_mut(client_id) else {
            return 0;
        };
        self.changes += 1;
        if session.generation != generation {
            // Taken over: the new connection already holds the session; what this one
            // had not delivered goes to the new one's queue head.
            if session.clean {
                return 0;
            }
            let mut dropped = 0;
            for delivery in unsent.into_iter().rev() {
                if delivery.message.qos != Qos::AtMostOnce {
                    session.offline.push_front(delivery);
                }
            }
            while session.offline.len() > offline_limit {
                session.offline.pop_back();
                dropped += 1;
            }
            return dropped;
        }
        if session.clean {
            self.remove_session(client_id);
            return 0;
        }
        session.link = None;
        let mut kept: VecDeque<Delivery> = unsent
            .into_iter()
            .filter(|d| d.message.qos != Qos::AtMostOnce)
            .collect();
        kept.extend(session.offline.drain(..));
        let mut dropped = 0;
        while kept.len() > offline_limit {
            kept.pop_front();
            dropped += 1;
        }
        session.offline = kept;
        dropped
    }

    fn remove_session(&mut self, client_id: &str) {
        let Some(session) = self.sessions.remove(client_id) else {
            return;
        };
        for filter in session.subscriptions.keys() {
            self.unindex(client_id, filter);
        }
    }

    /// Adds (or replaces) a subscription; returns the retained messages it matches.
    pub fn subscribe(&mut self, client_id: &Arc<str>, filter: &str, qos: Qos) -> Vec<Message> {
        let Some(session) = self.sessions.get_mut(client_id) else {
            return Vec::new();
        };
        if session
            .subscriptions
            .insert(filter.to_owned(), qos)
            .is_some()
        {
            self.unindex(client_id, filter);
        }
        if is_wildcard(filter) {
            self.wildcard
                .push((filter.to_owned(), client_id.clone(), qos));
            self.retained
                .values()
                .filter(|m| filter_matches(filter, &m.topic))
                .map(|m| m.at(qos, true))
                .collect()
        } else {
            self.exact
                .entry(filter.to_owned())
                .or_default()
                .push((client_id.clone(), qos));
            self.retained
                .get(filter)
                .map(|m| vec![m.at(qos, true)])
                .unwrap_or_default()
        }
    }

    pub fn unsubscribe(&mut self, client_id: &str, filter: &str) {
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        if session.subscriptions.remove(filter).is_some() {
            self.changes += 1;
            self.unindex(client_id, filter);
        }
    }

    fn unindex(&mut self, client_id: &str, filter: &str) {
        if is_wildcard(filter) {
            self.wildcard
                .retain(|(f, c, _)| !(f == filter && &**c == client_id));
        } else if let Some(subscribers) = self.exact.get_mut(filter) {
            subscribers.retain(|(c, _)| &**c != client_id);
            if subscribers.is_empty() {
                self.exact.remove(filter);
            }
        }
    }

    /// Routes `message`: stores or clears it if retained, queues it for persistent
    /// sessions whose client is away, and returns the connected clients to send it to
    /// (one entry per client, at the highest QoS of its matching subscriptions).
    pub fn route(
        &mut self,
        message: &Message,
        offline_limit: usize,
        targets: &mut Vec<Target>,
    ) -> Routed {
        if message.retain {
            self.changes += 1;
            if message.payload.is_empty() {
                self.retained.remove(&message.topic);
            } else {
                self.retained
                    .insert(message.topic.clone(), message.at(message.qos, true));
            }
        }
        let mut matched: HashMap<Arc<str>, Qos> = HashMap::new();
        let topic = &*message.topic;
        if let Some(subscribers) = self.exact.get(topic) {
            for (client, qos) in subscribers {
                merge(&mut matched, client, *qos);
            }
        }
        for (filter, client, qos) in &self.wildcard {
            if filter_matches(filter, topic) {
                merge(&mut matched, client, *qos);
            }
        }
        let mut routed = Routed::default();
        for (client_id, qos) in matched {
            let Some(session) = self.sessions.get_mut(&client_id) else {
                continue;
            };
            match &session.link {
                Some(link) => targets.push(Target {
                    link: link.clone(),
                    client_id,
                    qos,
                }),
                None => {
                    let delivery = Delivery {
                        message: message.at(qos, false),
                        dup: false,
                    };
                    if delivery.message.qos == Qos::AtMostOnce {
                        continue;
                    }
                    session.offline.push_back(delivery);
                    self.changes += 1;
                    routed.queued_offline += 1;
                    if session.offline.len() > offline_limit {
                        session.offline.pop_front();
                        routed.dropped_offline += 1;
                    }
                }
            }
        }
        routed
    }

    /// Queues `delivery` for a persistent session whose link closed while it was being
    /// sent to (the connection's own clean-up already ran). False if there is no such
    /// session any more.
    pub fn requeue(&mut self, client_id: &str, delivery: Delivery, offline_limit: usize) -> bool {
        let Some(session) = self.sessions.get_mut(client_id) else {
            return false;
        };
        if session.clean || delivery.message.qos == Qos::AtMostOnce {
            return false;
        }
        self.changes += 1;
        session.offline.push_back(delivery);
        while session.offline.len() > offline_limit {
            session.offline.pop_front();
        }
        true
    }

    /// A QoS 2 PUBLISH with `packet_id` arrived: true if it is new (route it), false if
    /// it is a resend of one not yet released.
    pub fn first_qos2(&mut self, client_id: &str, packet_id: u16) -> bool {
        self.sessions
            .get_mut(client_id)
            .is_some_and(|s| s.incoming_qos2.insert(packet_id))
    }

    /// PUBREL for `packet_id`.
    pub fn release_qos2(&mut self, client_id: &str, packet_id: u16) {
        if let Some(session) = self.sessions.get_mut(client_id) {
            session.incoming_qos2.remove(&packet_id);
        }
    }
}

/// What a state file keeps: the retained messages and every persistent session's
/// subscriptions and queued messages (crate::persist writes and reads it).
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub retained: Vec<Message>,
    pub sessions: Vec<SavedSession>,
}

#[derive(Debug)]
pub(crate) struct SavedSession {
    pub client_id: Arc<str>,
    pub subscriptions: Vec<(String, Qos)>,
    pub offline: Vec<Delivery>,
}

impl Router {
    /// How many changes the router has seen (a state file is written when it moved).
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The state worth keeping across a restart. Cheap: payloads are shared, not copied.
    pub fn snapshot(&self) -> Snapshot {
        let mut retained: Vec<Message> = self.retained.values().cloned().collect();
        retained.sort_by(|a, b| a.topic.cmp(&b.topic));
        let sessions = self
            .sessions
            .iter()
            .filter(|(_, s)| !s.clean)
            .map(|(id, s)| SavedSession {
                client_id: id.clone(),
                subscriptions: s
                    .subscriptions
                    .iter()
                    .map(|(f, q)| (f.clone(), *q))
                    .collect(),
                offline: s.offline.iter().cloned().collect(),
            })
            .collect();
        Snapshot { retained, sessions }
    }

    /// A router holding `snapshot`: its sessions waiting for their clients.
    pub fn restored(snapshot: Snapshot) -> Router {
        let mut router = Router::default();
        for message in snapshot.retained {
            router.retained.insert(message.topic.clone(), message);
        }
        for saved in snapshot.sessions {
            router.sessions.insert(
                saved.client_id.clone(),
                Session {
                    clean: false,
                    subscriptions: HashMap::new(),
                    link: None,
                    offline: saved.offline.into(),
                    incoming_qos2: HashSet::new(),
                    generation: 0,
                },
            );
            for (filter, qos) in saved.subscriptions {
                router.subscribe(&saved.client_id, &filter, qos);
            }
        }
        router.changes = 0;
        router
    }
}

fn merge(matched: &mut HashMap<Arc<str>, Qos>, client: &Arc<str>, qos: Qos) {
    let slot = matched.entry(client.clone()).or_insert(qos);
    *slot = (*slot).max(qos);
}

fn is_wildcard(filter: &str) -> bool {
    filter.contains(['+', '#'])
}
