//! A simulator's whole state as data ([`SimState`]): what a restarted engine
//! resumes from (docs/live.md, "The state file"). Everything that changes as the
//! site runs is in it — the step, queued commands, each kind's state (battery
//! charge, fuel, generator phases and timers, modes, switch choices), faults,
//! breakers and their heat, the flows of the latest step and the unserved energy.
//! What follows from the topology (the layout, nominal voltages) is not: it is
//! rebuilt, and the state names the topology it belongs to by a fingerprint, so a
//! state of another site is refused, never applied.

use serde::{Deserialize, Serialize};
use winter_river_protocol::{Breaker, NodeState, decode_command, encode_command};

use crate::kinds::{Model, Totals};
use crate::simulator::Simulator;
use crate::topology::Topology;

/// Why a [`SimState`] cannot be restored onto a topology.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestoreError {
    #[error(
        "it was saved for another topology (site \"{saved_site}\", {saved_nodes} nodes, fingerprint {saved}) than the one running (site \"{site}\", {nodes} nodes, fingerprint {running})"
    )]
    OtherTopology {
        saved_site: String,
        saved_nodes: usize,
        saved: String,
        site: String,
        nodes: usize,
        running: String,
    },
    #[error("it is inconsistent: {0}")]
    Inconsistent(String),
}

/// A simulator's state (see the module docs). Serializable; restore it with
/// [`Simulator::restore`] onto the same topology.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimState {
    /// [`topology_fingerprint`] of the site this state belongs to.
    pub topology_fingerprint: String,
    /// The site's name and node count, for the message when it is refused.
    pub site: String,
    pub nodes: usize,
    /// Step length \[ms\].
    pub step_ms: u32,
    pub(crate) step_index: u64,
    pub(crate) started: bool,
    /// Queued commands, by node index, in their wire form.
    pub(crate) pending: Vec<(usize, String)>,
    pub(crate) models: Vec<Model>,
    pub(crate) faulted: Vec<bool>,
    /// Servers stopped by their thermal protection (absent in a state saved
    /// before rooms existed: none).
    #[serde(default)]
    pub(crate) shutdown: Vec<bool>,
    pub(crate) breaker: Vec<Breaker>,
    pub(crate) locked_tripped: Vec<bool>,
    pub(crate) breaker_heat: Vec<f64>,
    pub(crate) in_live: Vec<bool>,
    pub(crate) live: Vec<bool>,
    pub(crate) in_kw: Vec<f64>,
    pub(crate) out_kw: Vec<f64>,
    pub(crate) current_a: Vec<f64>,
    pub(crate) carrying: Vec<bool>,
    pub(crate) status: Vec<NodeState>,
    pub(crate) totals: Totals,
    /// IT energy not served since the site started \[kWh\].
    pub it_kwh_unserved: f64,
}

impl SimState {
    /// Time of the latest computed step \[s\].
    pub fn time_s(&self) -> f64 {
        self.step_index as f64 * f64::from(self.step_ms) / 1000.0
    }
}

/// A stable fingerprint of a topology: FNV-1a (64 bit) over its JSON form (the one
/// published on `<p>/system/topology`: every node, feed and resolved parameter), in
/// hex. The same site file gives the same fingerprint in every build; any change of
/// a node, a feed or a parameter gives another.
pub fn topology_fingerprint(topology: &Topology) -> String {
    let json = serde_json::to_vec(&topology.to_json()).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in json {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

impl Simulator {
    /// The simulator's whole state, to resume from with [`Simulator::restore`].
    pub fn snapshot(&self) -> SimState {
        self.snapshot_with(topology_fingerprint(self.topology()))
    }

    /// [`Simulator::snapshot`] with the topology's fingerprint already known (it
    /// costs a pass over the topology's JSON form).
    pub fn snapshot_with(&self, topology_fingerprint: String) -> SimState {
        let pending = self
            .pending
            .iter()
            .filter_map(|(i, cmd)| {
                let wire = encode_command(cmd).ok()?;
                Some((*i, String::from_utf8(wire).ok()?))
            })
            .collect();
        SimState {
            topology_fingerprint,
            site: self.topology().site_name.clone(),
            nodes: self.topology().len(),
            step_ms: self.step_ms,
            step_index: self.step_index,
            started: self.started,
            pending,
            models: self.models.clone(),
            faulted: self.faulted.clone(),
            shutdown: self.shutdown.clone(),
            breaker: self.breaker.clone(),
            locked_tripped: self.locked_tripped.clone(),
            breaker_heat: self.breaker_heat.clone(),
            in_live: self.in_live.clone(),
            live: self.live.clone(),
            in_kw: self.in_kw.clone(),
            out_kw: self.out_kw.clone(),
            current_a: self.current_a.clone(),
            carrying: self.carrying.clone(),
            status: self.status.clone(),
            totals: self.totals,
            it_kwh_unserved: self.it_kwh_unserved,
        }
    }

    /// A simulator on `topology` resumed from `state`: it steps on exactly as the
    /// one the state was taken from. Refused when the state belongs to another
    /// topology (by its fingerprint) or does not fit it.
    pub fn restore(topology: Topology, state: SimState) -> Result<Simulator, RestoreError> {
        Simulator::restore_with(topology, state, None)
    }

    /// [`Simulator::restore`] with the topology's fingerprint already known.
    pub fn restore_with(
        topology: Topology,
        state: SimState,
        fingerprint: Option<&str>,
    ) -> Result<Simulator, RestoreError> {
        let running = match fingerprint {
            Some(f) => f.to_string(),
            None => topology_fingerprint(&topology),
        };
        let n = topology.len();
        if state.topology_fingerprint != running || state.nodes != n {
            return Err(RestoreError::OtherTopology {
                saved_site: state.site,
                saved_nodes: state.nodes,
                saved: state.topology_fingerprint,
                site: topology.site_name.clone(),
                nodes: n,
                running,
            });
        }
        let shutdown = if state.shutdown.is_empty() {
            vec![false; n]
        } else {
            state.shutdown
        };
        let lengths = [
            ("models", state.models.len()),
            ("shutdown", shutdown.len()),
            ("faulted", state.faulted.len()),
            ("breaker", state.breaker.len()),
            ("locked_tripped", state.locked_tripped.len()),
            ("breaker_heat", state.breaker_heat.len()),
            ("in_live", state.in_live.len()),
            ("live", state.live.len()),
            ("in_kw", state.in_kw.len()),
            ("out_kw", state.out_kw.len()),
            ("current_a", state.current_a.len()),
            ("carrying", state.carrying.len()),
            ("status", state.status.len()),
        ];
        if let Some((field, len)) = lengths.iter().find(|(_, len)| *len != n) {
            return Err(RestoreError::Inconsistent(format!(
                "`{field}` has {len} entries for {n} nodes"
            )));
        }
        if let Some(i) = (0..n).find(|&i| state.models[i].kind() != topology.node(i).kind()) {
            return Err(RestoreError::Inconsistent(format!(
                "node {} is a {} in the state, a {} in the topology",
                topology.node(i).id,
                state.models[i].kind().as_str(),
                topology.node(i).kind().as_str()
            )));
        }
        let mut pending = Vec::with_capacity(state.pending.len());
        for (i, wire) in &state.pending {
            if *i >= n {
                return Err(RestoreError::Inconsistent(format!(
                    "a queued command names node {i} of {n}"
                )));
            }
            let cmd = decode_command(wire.as_bytes()).map_err(|e| {
                RestoreError::Inconsistent(format!("a queued command `{wire}`: {e}"))
            })?;
            pending.push((*i, cmd));
        }
        let mut sim = Simulator::new(topology, state.step_ms);
        sim.step_index = state.step_index;
        sim.started = state.started;
        sim.pending = pending;
        sim.models = state.models;
        sim.faulted = state.faulted;
        sim.shutdown = shutdown;
        sim.breaker = state.breaker;
        sim.locked_tripped = state.locked_tripped;
        sim.breaker_heat = state.breaker_heat;
        sim.in_live = state.in_live;
        sim.live = state.live;
        sim.in_kw = state.in_kw;
        sim.out_kw = state.out_kw;
        sim.current_a = state.current_a;
        sim.carrying = state.carrying;
        sim.status = state.status;
        sim.totals = state.totals;
        sim.it_kwh_unserved = state.it_kwh_unserved;
        sim.thermal.refresh(&sim.models);
        sim.events.clear();
        Ok(sim)
    }
}

/// A number the state keeps as is, infinities and NaN too (JSON numbers cannot
/// hold them): finite as a number, else `"inf"`, `"-inf"` or `"nan"`. For
/// `#[serde(with = "winter_river_sim::snapshot::lossless_f64")]`.
pub mod lossless_f64 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Num(f64),
        Word(String),
    }

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("nan")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Num(v) => Ok(v),
            Repr::Word(w) => match w.as_str() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                other => Err(serde::de::Error::custom(format!(
                    "`{other}` is not a number (nor inf, -inf, nan)"
                ))),
            },
        }
    }
}

/// A [`crate::FieldValue`] in the state: `{"num": …}`, `{"text": …}` or `"missing"`.
/// For `#[serde(with = "winter_river_sim::snapshot::field_value")]`.
pub mod field_value {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::FieldValue;

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Repr {
        Num(#[serde(with = "super::lossless_f64")] f64),
        Text(String),
        Missing,
    }

    pub fn serialize<S: Serializer>(v: &FieldValue, s: S) -> Result<S::Ok, S::Error> {
        match v {
            FieldValue::Num(n) => Repr::Num(*n),
            FieldValue::Text(t) => Repr::Text(t.clone()),
            FieldValue::Missing => Repr::Missing,
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FieldValue, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Num(n) => FieldValue::Num(n),
            Repr::Text(t) => FieldValue::Text(t),
            Repr::Missing => FieldValue::Missing,
        })
    }
}

/// A [`winter_river_protocol::Command`] in the state: its wire form (the JSON text
/// of `<p>/<id>/command`). For `#[serde(with = "winter_river_sim::snapshot::wire_command")]`.
pub mod wire_command {
    use serde::{Deserialize, Deserializer, Serializer};
    use winter_river_protocol::{Command, decode_command, encode_command};

    pub fn serialize<S: Serializer>(cmd: &Command, s: S) -> Result<S::Ok, S::Error> {
        let wire = encode_command(cmd).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&String::from_utf8_lossy(&wire))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Command, D::Error> {
        let wire = String::deserialize(d)?;
        decode_command(wire.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("command `{wire}`: {e}")))
    }
}
