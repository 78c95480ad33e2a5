//! Topology files (TOML, docs/topology.md) → [`Topology`]. Every refusal names the
//! file, the line, the key and the reason. Kind names, roles and feed rules come
//! from the protocol's kinds table; each kind's parameters from its module's table
//! (`crate::kinds`).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;
use winter_river_protocol::{Feeds, KINDS, NodeKind, validate_node_id};

use super::{KindParams, Loc, NodeSpec, Topology, TopologyError};
use crate::kinds::{FRACTION, POSITIVE, Rule, traits};

/// The built-in default topology (the seed's chain).
pub const DEFAULT_TOPOLOGY_TOML: &str = include_str!("../../../../topologies/default.toml");

/// A parameter changed for one node by a scenario's `[overrides.<id>]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub node: String,
    pub key: String,
    pub value: toml::Value,
    /// Where the override is written (the scenario file).
    pub loc: Loc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    site: Option<RawSite>,
    /// `[reliability.<kind>]` tables: read and checked by `winter-river analyze`
    /// (docs/analysis.md); the simulator has no use for them.
    #[serde(default)]
    #[allow(dead_code)]
    reliability: Option<toml::Table>,
    #[serde(default)]
    node: Vec<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: Option<String>,
}

/// Byte offset → 1-based line.
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(src: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}

/// A toml parse error as a [`TopologyError`] with its line.
pub(crate) fn toml_error(file: &str, lines: &Lines, err: &toml::de::Error) -> TopologyError {
    TopologyError {
        file: file.to_string(),
        line: err.span().map(|s| lines.line(s.start)),
        key: None,
        reason: err.message().trim().to_string(),
    }
}

/// One parameter value with where it was written.
struct Entry {
    value: toml::Value,
    loc: Loc,
}

impl Topology {
    /// Parses and checks a topology file. `file` names it in errors.
    pub fn from_toml_str(src: &str, file: &str) -> Result<Topology, TopologyError> {
        Topology::from_toml_str_with_overrides(src, file, &[])
    }

    /// As [`Topology::from_toml_str`], with a scenario's overrides applied first.
    pub fn from_toml_str_with_overrides(
        src: &str,
        file: &str,
        overrides: &[Override],
    ) -> Result<Topology, TopologyError> {
        let lines = Lines::new(src);
        let raw: RawFile = toml::from_str(src).map_err(|e| toml_error(file, &lines, &e))?;
        let site_name = raw
            .site
            .and_then(|s| s.name)
            .unwrap_or_else(|| "winter-river".to_string());

        let mut nodes_raw: Vec<(Loc, BTreeMap<String, Entry>)> = raw
            .node
            .into_iter()
            .map(|n| {
                let loc = Loc {
                    file: file.to_string(),
                    line: lines.line(n.span().start),
                };
                let entries = n
                    .into_inner()
                    .into_iter()
                    .map(|(k, v)| {
                        let loc = Loc {
                            file: file.to_string(),
                            line: lines.line(v.span().start),
                        };
                        (
                            k,
                            Entry {
                                value: v.into_inner(),
                                loc,
                            },
                        )
                    })
                    .collect();
                (loc, entries)
            })
            .collect();
        if nodes_raw.is_empty() {
            return Err(TopologyError {
                file: file.to_string(),
                line: None,
                key: Some("node".into()),
                reason: "the topology has no [[node]]".into(),
            });
        }

        for ov in overrides {
            let target = nodes_raw.iter_mut().find(|(_, e)| {
                e.get("id")
                    .and_then(|v| v.value.as_str())
                    .is_some_and(|id| id == ov.node)
            });
            let Some((_, entries)) = target else {
                return Err(err_at(
                    &ov.loc,
                    &ov.node,
                    format!("no node `{}` in {file}", ov.node),
                ));
            };
            if ov.key == "id" || ov.key == "kind" {
                return Err(err_at(
                    &ov.loc,
                    &ov.key,
                    "a node's id and kind cannot be overridden".into(),
                ));
            }
            entries.insert(
                ov.key.clone(),
                Entry {
                    value: ov.value.clone(),
                    loc: ov.loc.clone(),
                },
            );
        }

        // First pass: ids and kinds, so feeds can be resolved in any order.
        let mut index: HashMap<String, usize> = HashMap::with_capacity(nodes_raw.len());
        let mut kinds = Vec::with_capacity(nodes_raw.len());
        for (i, (loc, entries)) in nodes_raw.iter().enumerate() {
            let id = required_str(entries, "id", loc)?;
            if let Err(e) = validate_node_id(&id) {
                return Err(err_at(&entries["id"].loc, "id", format!("`{id}`: {e}")));
            }
            if let Some(&first) = index.get(&id) {
                return Err(err_at(
                    &entries["id"].loc,
                    "id",
                    format!(
                        "duplicate node id `{id}` (first at line {})",
                        nodes_raw[first].0.line
                    ),
                ));
            }
            index.insert(id, i);
            let kind_name = required_str(entries, "kind", loc)?;
            let kind = NodeKind::parse(&kind_name).ok_or_else(|| {
                let known: Vec<_> = NodeKind::ALL.iter().map(|k| k.as_str()).collect();
                err_at(
                    &entries["kind"].loc,
                    "kind",
                    format!("unknown kind `{kind_name}` (known: {})", known.join(", ")),
                )
            })?;
            kinds.push(kind);
        }

        let mut nodes = Vec::with_capacity(nodes_raw.len());
        for (i, (loc, mut entries)) in nodes_raw.into_iter().enumerate() {
            let kind = kinds[i];
            let id = required_str(&entries, "id", &loc)?;
            entries.remove("id");
            entries.remove("kind");
            let mut p = ParamReader {
                entries,
                taken: Vec::new(),
                node_loc: loc.clone(),
            };
            let feeds = p.feeds(&index)?;
            check_feed_count(kind, &feeds, &p)?;
            let (phases, power_factor, breaker_a, breaker_tms) = if kind.spec().is_electrical() {
                p.electrical(kind, &feeds, &kinds)?
            } else {
                // A room carries no power: these keys are unknown on it.
                (3.0, 1.0, None, 1.0)
            };
            let room = p.room(kind, &index, &kinds)?;
            let params = KindParams::read(kind, &mut p)?;
            reliability_keys(kind, &mut p)?;
            p.refuse_unknown(kind)?;
            nodes.push(NodeSpec {
                id,
                params,
                feeds,
                phases: phases as u8,
                power_factor,
                breaker_a,
                breaker_tms,
                room,
                loc,
            });
        }
        crate::thermal::resolve_capacities(&mut nodes);
        let order = topological_order(&nodes, file)?;
        Ok(Topology::from_parts(site_name, nodes, order))
    }
}

pub(crate) fn err_at(loc: &Loc, key: &str, reason: String) -> TopologyError {
    TopologyError {
        file: loc.file.clone(),
        line: Some(loc.line),
        key: Some(key.to_string()),
        reason,
    }
}

fn required_str(
    entries: &BTreeMap<String, Entry>,
    key: &str,
    node_loc: &Loc,
) -> Result<String, TopologyError> {
    match entries.get(key) {
        None => Err(err_at(node_loc, key, format!("[[node]] has no `{key}`"))),
        Some(e) => e.value.as_str().map(str::to_string).ok_or_else(|| {
            err_at(
                &e.loc,
                key,
                format!("must be a string, found {}", e.value.type_str()),
            )
        }),
    }
}

/// A breaker pickup current.
const POSITIVE_AMPS: Rule = Rule {
    ok: |v| v > 0.0,
    text: "must be > 0 A",
};

/// A node's remaining entries, taken one by one by the parser and its kind's
/// parameter table; what is left at the end is unknown.
pub(crate) struct ParamReader {
    entries: BTreeMap<String, Entry>,
    /// Keys already taken, with where they were written.
    taken: Vec<(String, Loc)>,
    node_loc: Loc,
}

impl ParamReader {
    fn opt_num(&mut self, key: &str, rule: Rule) -> Result<Option<f64>, TopologyError> {
        let Some((name, e)) = self.entries.remove_entry(key) else {
            return Ok(None);
        };
        let v = match e.value {
            toml::Value::Float(f) => Ok(f),
            toml::Value::Integer(i) => Ok(i as f64),
            ref other => Err(format!("must be a number, found {}", other.type_str())),
        }
        .and_then(|v| {
            if v.is_finite() && (rule.ok)(v) {
                Ok(v)
            } else {
                Err(format!("{v} is out of range: {}", rule.text))
            }
        })
        .map_err(|reason| err_at(&e.loc, key, reason));
        self.taken.push((name, e.loc));
        v.map(Some)
    }

    /// Takes number `key`, `default` when absent; refuses a value outside `rule`.
    pub(crate) fn num(
        &mut self,
        key: &str,
        default: f64,
        rule: Rule,
    ) -> Result<f64, TopologyError> {
        Ok(self.opt_num(key, rule)?.unwrap_or(default))
    }

    /// Takes word `key`, `default` when absent; refuses a value `parse` does not
    /// know, naming the `known` words.
    pub(crate) fn word<T>(
        &mut self,
        key: &str,
        default: T,
        parse: fn(&str) -> Option<T>,
        known: &str,
    ) -> Result<T, TopologyError> {
        let Some((name, e)) = self.entries.remove_entry(key) else {
            return Ok(default);
        };
        let v = match e.value.as_str() {
            Some(word) => parse(word)
                .ok_or_else(|| err_at(&e.loc, key, format!("unknown `{word}` (known: {known})"))),
            None => Err(err_at(
                &e.loc,
                key,
                format!("must be a string, found {}", e.value.type_str()),
            )),
        };
        self.taken.push((name, e.loc));
        v
    }

    /// Takes the electrical keys every kind but a room has: (`phases`,
    /// `power_factor`, `breaker_a`, `breaker_tms`).
    fn electrical(
        &mut self,
        kind: NodeKind,
        feeds: &[usize],
        kinds: &[NodeKind],
    ) -> Result<(f64, f64, Option<f64>, f64), TopologyError> {
        let single_phase =
            kind.is_load() && feeds.iter().any(|&f| traits(kinds[f]).feeds_single_phase);
        let phases = self.num(
            "phases",
            if single_phase { 1.0 } else { 3.0 },
            Rule {
                ok: |v| v == 1.0 || v == 3.0,
                text: "must be 1 or 3",
            },
        )?;
        let power_factor = self.num("power_factor", traits(kind).power_factor, FRACTION)?;
        let breaker_a = self.opt_num("breaker_a", POSITIVE_AMPS)?;
        let breaker_tms = self.num("breaker_tms", 1.0, POSITIVE)?;
        Ok((phases, power_factor, breaker_a, breaker_tms))
    }

    /// Takes `room`, the id of the room node whose heat balance this node is in.
    fn room(
        &mut self,
        kind: NodeKind,
        index: &HashMap<String, usize>,
        kinds: &[NodeKind],
    ) -> Result<Option<usize>, TopologyError> {
        let Some((name, e)) = self.entries.remove_entry("room") else {
            return Ok(None);
        };
        let room = match e.value.as_str() {
            None => Err(format!(
                "must be the id of a room node, found {}",
                e.value.type_str()
            )),
            Some(_) if kind == NodeKind::Room => {
                Err("a room cannot be in another room: remove `room` from it".into())
            }
            Some(id) => match index.get(id) {
                None => Err(format!("unknown room `{id}`: no node has this id")),
                Some(&i) if kinds[i] != NodeKind::Room => Err(format!(
                    "`{id}` is a {}, not a room (kind = \"room\")",
                    kinds[i]
                )),
                Some(&i) => Ok(i),
            },
        }
        .map_err(|reason| err_at(&e.loc, "room", reason));
        self.taken.push((name, e.loc));
        room.map(Some)
    }

    /// Takes flag `key` (true or false), `default` when absent.
    pub(crate) fn flag(&mut self, key: &str, default: bool) -> Result<bool, TopologyError> {
        let Some((name, e)) = self.entries.remove_entry(key) else {
            return Ok(default);
        };
        let v = match e.value {
            toml::Value::Boolean(b) => Ok(b),
            ref other => Err(err_at(
                &e.loc,
                key,
                format!("must be true or false, found {}", other.type_str()),
            )),
        };
        self.taken.push((name, e.loc));
        v
    }

    fn feeds(&mut self, index: &HashMap<String, usize>) -> Result<Vec<usize>, TopologyError> {
        let Some(e) = self.entries.remove("feeds") else {
            return Ok(Vec::new());
        };
        let toml::Value::Array(items) = &e.value else {
            return Err(err_at(
                &e.loc,
                "feeds",
                "must be an array of node ids".into(),
            ));
        };
        let mut feeds = Vec::with_capacity(items.len());
        for item in items {
            let Some(id) = item.as_str() else {
                return Err(err_at(
                    &e.loc,
                    "feeds",
                    format!("must hold node ids, found {}", item.type_str()),
                ));
            };
            let Some(&idx) = index.get(id) else {
                return Err(err_at(
                    &e.loc,
                    "feeds",
                    format!("unknown feed `{id}`: no node has this id"),
                ));
            };
            if feeds.contains(&idx) {
                return Err(err_at(
                    &e.loc,
                    "feeds",
                    format!("feed `{id}` is listed twice"),
                ));
            }
            feeds.push(idx);
        }
        // Keep the line for the feed-count check.
        self.entries.insert("feeds".into(), e);
        Ok(feeds)
    }

    /// Takes `key` if present and refuses it unless it is a number (infinity
    /// allowed) for which `ok` holds; `rule` is the whole message.
    fn check_key(
        &mut self,
        key: &str,
        ok: fn(f64) -> bool,
        rule: &str,
    ) -> Result<(), TopologyError> {
        match self.entries.remove(key) {
            Some(e) if !as_number(&e.value).is_some_and(ok) => {
                Err(err_at(&e.loc, key, rule.into()))
            }
            _ => Ok(()),
        }
    }

    /// Where `key` is written (taken or not); the node's `[[node]]` if nowhere.
    pub(crate) fn loc_of(&self, key: &str) -> Loc {
        self.entries
            .get(key)
            .map(|e| &e.loc)
            .or_else(|| self.taken.iter().find(|(k, _)| k == key).map(|(_, l)| l))
            .unwrap_or(&self.node_loc)
            .clone()
    }

    fn refuse_unknown(mut self, kind: NodeKind) -> Result<(), TopologyError> {
        self.entries.remove("feeds");
        if let Some((key, e)) = self.entries.into_iter().next() {
            return Err(err_at(
                &e.loc,
                &key,
                format!("unknown key for a {kind} node"),
            ));
        }
        Ok(())
    }
}

/// Kinds whose feed rule is `feeds`, by name.
fn kinds_taking(feeds: Feeds) -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| k.feeds == feeds)
        .map(|k| k.name)
        .collect()
}

/// The kind's feed rule (the protocol's [`Feeds`]).
fn check_feed_count(kind: NodeKind, feeds: &[usize], p: &ParamReader) -> Result<(), TopologyError> {
    let loc = p.loc_of("feeds");
    let n = feeds.len();
    match (kind.spec().feeds, n) {
        (Feeds::None, 0) => Ok(()),
        (Feeds::None, _) => Err(err_at(
            &loc,
            "feeds",
            format!("a {kind} is a source and takes no feeds"),
        )),
        (_, 0) => Err(err_at(
            &loc,
            "feeds",
            format!("a {kind} needs at least one feed"),
        )),
        (Feeds::One, 1) | (Feeds::Select | Feeds::Share, _) => Ok(()),
        (Feeds::One, _) => Err(err_at(
            &loc,
            "feeds",
            format!(
                "a {kind} takes one feed, found {n}: only {} (one feed at a time) and {} (sharing their demand) take more than one",
                kinds_taking(Feeds::Select).join(", "),
                kinds_taking(Feeds::Share).join(", "),
            ),
        )),
    }
}

/// Per-node reliability keys (used by `winter-river analyze`, docs/analysis.md):
/// checked here so a file that has them stays valid everywhere.
fn reliability_keys(kind: NodeKind, p: &mut ParamReader) -> Result<(), TopologyError> {
    p.check_key(
        "mtbf_h",
        |v| v > 0.0,
        "must be a number of hours > 0 (inf = never fails)",
    )?;
    p.check_key(
        "mttr_h",
        |v| v.is_finite() && v >= 0.0,
        "must be a finite number of hours >= 0",
    )?;
    if !traits(kind).starts_on_demand()
        && let Some(e) = p.entries.get("fail_to_start")
    {
        let starting: Vec<&str> = NodeKind::ALL
            .iter()
            .filter(|k| traits(**k).starts_on_demand())
            .map(|k| k.as_str())
            .collect();
        return Err(err_at(
            &e.loc,
            "fail_to_start",
            format!(
                "only a {} can fail to start, not a {kind}",
                starting.join(" or a ")
            ),
        ));
    }
    p.check_key(
        "fail_to_start",
        |v| (0.0..=1.0).contains(&v),
        "must be a probability in [0, 1]",
    )
}

fn as_number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) if !f.is_nan() => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// Kahn's algorithm; a cycle is refused naming one node on it.
fn topological_order(nodes: &[NodeSpec], file: &str) -> Result<Vec<usize>, TopologyError> {
    let n = nodes.len();
    let mut pending: Vec<usize> = nodes.iter().map(|node| node.feeds.len()).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in nodes.iter().enumerate() {
        for &f in &node.feeds {
            children[f].push(i);
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut head = 0;
    while head < order.len() {
        let i = order[head];
        head += 1;
        for &c in &children[i] {
            pending[c] -= 1;
            if pending[c] == 0 {
                order.push(c);
            }
        }
    }
    if order.len() < n {
        let on_cycle = (0..n).find(|&i| pending[i] > 0).unwrap_or(0);
        let node = &nodes[on_cycle];
        return Err(TopologyError {
            file: file.to_string(),
            line: Some(node.loc.line),
            key: Some("feeds".into()),
            reason: format!("node `{}` is on a cycle of feeds", node.id),
        });
    }
    Ok(order)
}
