//! A site's power chain: nodes, their kinds and parameters (docs/topology.md),
//! checked and indexed for the solver. Each kind's parameter table is its module's
//! (`crate::kinds`); [`KindParams`] holds one node's.

pub mod generate;
mod parse;

use std::collections::HashMap;
use std::fmt;

use winter_river_protocol::{NodeKind, TopologyJson, TopologyNodeJson};

pub use crate::kinds::KindParams;
pub use parse::{DEFAULT_TOPOLOGY_TOML, Override};

/// Largest topology or scenario file read from disk \[bytes\] (docs/topology.md,
/// "Size"): a generated 100,000-node site is about 10 MB, so this leaves room for
/// three times that with comments, and a larger file is refused before it is parsed
/// (parsing costs about 25 times the file's size in memory).
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;
pub(crate) use parse::{Lines, ParamReader, err_at};

/// Where something came from: a file and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A topology that could not be loaded: the file, the line, the key and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {}{reason}", line.map(|l| format!(":{l}")).unwrap_or_default(), key.as_ref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
pub struct TopologyError {
    pub file: String,
    /// 1-based line, when the error has one.
    pub line: Option<usize>,
    /// The key (or node id) the error is about.
    pub key: Option<String>,
    pub reason: String,
}

/// One node, checked, with its feeds resolved to indices.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    pub id: String,
    pub params: KindParams,
    /// Upstream node indices, in order of preference.
    pub feeds: Vec<usize>,
    /// 1 or 3.
    pub phases: u8,
    pub power_factor: f64,
    /// Breaker pickup current \[A\]; `None` = no breaker.
    pub breaker_a: Option<f64>,
    /// Breaker time multiplier setting.
    pub breaker_tms: f64,
    /// The room whose heat balance it is in (a load's served power or a
    /// conversion's losses heat it; a cooling unit cools it), by index.
    pub room: Option<usize>,
    /// Where `[[node]]` starts in its file.
    pub loc: Loc,
}

impl NodeSpec {
    pub fn kind(&self) -> NodeKind {
        self.params.kind()
    }
}

/// A checked topology: every feed exists, no cycle, parameters in range.
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    pub site_name: String,
    /// Nodes in file order.
    pub nodes: Vec<NodeSpec>,
    /// Node indices with every node after all of its feeds.
    pub order: Vec<usize>,
    index: HashMap<String, usize>,
}

impl Topology {
    /// The seed's eight-node chain, built into the binary.
    pub fn builtin_default() -> Topology {
        #[allow(clippy::expect_used)]
        Topology::from_toml_str(DEFAULT_TOPOLOGY_TOML, "<built-in default>")
            .expect("the built-in topology is valid (tested)")
    }

    /// Index of a node by id.
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The node with this index.
    pub fn node(&self, idx: usize) -> &NodeSpec {
        &self.nodes[idx]
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The JSON form published on `<p>/system/topology`.
    pub fn to_json(&self) -> TopologyJson {
        TopologyJson {
            site: self.site_name.clone(),
            nodes: self
                .nodes
                .iter()
                .map(|n| {
                    let mut params: std::collections::BTreeMap<String, f64> = n
                        .params
                        .named()
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect();
                    // A room has no electrical parameters.
                    if n.kind().spec().is_electrical() {
                        params.insert("phases".into(), f64::from(n.phases));
                        params.insert("power_factor".into(), n.power_factor);
                        params.insert("breaker_tms".into(), n.breaker_tms);
                    }
                    if let Some(a) = n.breaker_a {
                        params.insert("breaker_a".into(), a);
                    }
                    TopologyNodeJson {
                        id: n.id.clone(),
                        kind: n.kind(),
                        feeds: n.feeds.iter().map(|&f| self.nodes[f].id.clone()).collect(),
                        room: n.room.map(|r| self.nodes[r].id.clone()),
                        class: n.params.class().map(|c| c.as_str().to_string()),
                        params,
                    }
                })
                .collect(),
        }
    }

    pub(crate) fn from_parts(
        site_name: String,
        nodes: Vec<NodeSpec>,
        order: Vec<usize>,
    ) -> Topology {
        let index = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), i))
            .collect();
        Topology {
            site_name,
            nodes,
            order,
            index,
        }
    }
}
