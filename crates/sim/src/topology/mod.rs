//! A site's power chain: nodes, their kinds and parameters (DESIGN §4), checked and
//! indexed for the solver.

pub mod generate;
mod parse;

use std::collections::HashMap;
use std::fmt;

use winter_river_protocol::{NodeKind, TopologyJson, TopologyNodeJson};

pub(crate) use parse::Lines;
pub use parse::{DEFAULT_TOPOLOGY_TOML, Override};

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

/// Kind-specific parameters, with units in their names (DESIGN §4).
#[derive(Debug, Clone, PartialEq)]
pub enum KindParams {
    Utility {
        /// Line-to-line voltage \[V\].
        voltage_v: f64,
    },
    Generator {
        /// Output voltage \[V\].
        voltage_v: f64,
        rating_kw: f64,
        start_delay_s: f64,
        cooldown_s: f64,
        fuel_l: f64,
        fuel_l_per_h_idle: f64,
        fuel_l_per_h_full: f64,
    },
    Transformer {
        voltage_out_v: f64,
        rating_kva: f64,
        efficiency: f64,
        no_load_loss_kw: f64,
    },
    Switchgear {
        start_delay_s: f64,
        retransfer_delay_s: f64,
    },
    Distribution,
    Ups {
        rating_kw: f64,
        efficiency: f64,
        no_load_loss_kw: f64,
        battery_kwh: f64,
        discharge_efficiency: f64,
        peukert_k: f64,
        battery_rated_h: f64,
        recharge_kw: f64,
    },
    Pdu {
        voltage_out_v: f64,
        rating_kva: f64,
        efficiency: f64,
        no_load_loss_kw: f64,
    },
    Server {
        demand_kw: f64,
    },
    Cooling {
        /// Base demand \[kW\].
        demand_kw: f64,
        /// kW per kW of site IT load served.
        per_it_kw: f64,
    },
    Load {
        demand_kw: f64,
    },
}

impl KindParams {
    pub fn kind(&self) -> NodeKind {
        match self {
            KindParams::Utility { .. } => NodeKind::Utility,
            KindParams::Generator { .. } => NodeKind::Generator,
            KindParams::Transformer { .. } => NodeKind::Transformer,
            KindParams::Switchgear { .. } => NodeKind::Switchgear,
            KindParams::Distribution => NodeKind::Distribution,
            KindParams::Ups { .. } => NodeKind::Ups,
            KindParams::Pdu { .. } => NodeKind::Pdu,
            KindParams::Server { .. } => NodeKind::Server,
            KindParams::Cooling { .. } => NodeKind::Cooling,
            KindParams::Load { .. } => NodeKind::Load,
        }
    }

    /// The parameters named as in the topology file, for the JSON form.
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        match *self {
            KindParams::Utility { voltage_v } => vec![("voltage", voltage_v)],
            KindParams::Generator {
                voltage_v,
                rating_kw,
                start_delay_s,
                cooldown_s,
                fuel_l,
                fuel_l_per_h_idle,
                fuel_l_per_h_full,
            } => vec![
                ("voltage", voltage_v),
                ("rating_kw", rating_kw),
                ("start_delay_s", start_delay_s),
                ("cooldown_s", cooldown_s),
                ("fuel_l", fuel_l),
                ("fuel_l_per_h_idle", fuel_l_per_h_idle),
                ("fuel_l_per_h_full", fuel_l_per_h_full),
            ],
            KindParams::Transformer {
                voltage_out_v,
                rating_kva,
                efficiency,
                no_load_loss_kw,
            }
            | KindParams::Pdu {
                voltage_out_v,
                rating_kva,
                efficiency,
                no_load_loss_kw,
            } => vec![
                ("voltage_out", voltage_out_v),
                ("rating_kva", rating_kva),
                ("efficiency", efficiency),
                ("no_load_loss_kw", no_load_loss_kw),
            ],
            KindParams::Switchgear {
                start_delay_s,
                retransfer_delay_s,
            } => vec![
                ("start_delay_s", start_delay_s),
                ("retransfer_delay_s", retransfer_delay_s),
            ],
            KindParams::Distribution => vec![],
            KindParams::Ups {
                rating_kw,
                efficiency,
                no_load_loss_kw,
                battery_kwh,
                discharge_efficiency,
                peukert_k,
                battery_rated_h,
                recharge_kw,
            } => vec![
                ("rating_kw", rating_kw),
                ("efficiency", efficiency),
                ("no_load_loss_kw", no_load_loss_kw),
                ("battery_kwh", battery_kwh),
                ("discharge_efficiency", discharge_efficiency),
                ("peukert_k", peukert_k),
                ("battery_rated_h", battery_rated_h),
                ("recharge_kw", recharge_kw),
            ],
            KindParams::Server { demand_kw } | KindParams::Load { demand_kw } => {
                vec![("demand_kw", demand_kw)]
            }
            KindParams::Cooling {
                demand_kw,
                per_it_kw,
            } => vec![("demand_kw", demand_kw), ("per_it_kw", per_it_kw)],
        }
    }
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
                    params.insert("phases".into(), f64::from(n.phases));
                    params.insert("power_factor".into(), n.power_factor);
                    params.insert("breaker_tms".into(), n.breaker_tms);
                    if let Some(a) = n.breaker_a {
                        params.insert("breaker_a".into(), a);
                    }
                    TopologyNodeJson {
                        id: n.id.clone(),
                        kind: n.kind(),
                        feeds: n.feeds.iter().map(|&f| self.nodes[f].id.clone()).collect(),
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
