//! Reliability data: mean time between failures, mean time to repair and (generators)
//! the probability of failing to start on demand, per kind with published defaults,
//! overridable per kind (`[reliability.<kind>]`) and per node (`mtbf_h`, `mttr_h`,
//! `fail_to_start` in `[[node]]`) in the topology file.
//!
//! The simulator's topology parser accepts these keys and checks their ranges but has
//! no use for them; [`load_site`] reads them in a second pass over the same text.

use toml::Spanned;
use toml::de::{DeTable, DeValue};
use winter_river_protocol::NodeKind;
use winter_river_sim::{Override, Topology, TopologyError, kinds};

/// Hours per year (365 days).
pub const H_PER_YEAR: f64 = 8760.0;

/// Keys of a `[reliability.<kind>]` table and of a `[[node]]`.
pub const RELIABILITY_KEYS: [&str; 3] = ["mtbf_h", "mttr_h", "fail_to_start"];

/// A file that could not be loaded for analysis: the file, the line, the key and the
/// reason. The simulator's own error type, so both read `file:line: `key`: reason`
/// and the topology parser's errors pass through unchanged.
pub type AnalysisError = TopologyError;

/// Failure and repair figures of one component.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reliability {
    /// Mean time between failures \[h\]; `inf` = never fails.
    pub mtbf_h: f64,
    /// Mean time to repair \[h\].
    pub mttr_h: f64,
    /// Probability of failing to start on demand, per demand (generators; 0 otherwise).
    pub fail_to_start: f64,
}

impl Reliability {
    /// Steady-state availability of the component alone: `MTBF / (MTBF + MTTR)`.
    pub fn availability(&self) -> f64 {
        if self.mtbf_h.is_infinite() {
            1.0
        } else {
            self.mtbf_h / (self.mtbf_h + self.mttr_h)
        }
    }

    /// Failures per year.
    pub fn failures_per_year(&self) -> f64 {
        H_PER_YEAR / self.mtbf_h
    }
}

/// Where a node's figures came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default for its kind ([`default_for`]).
    Default,
    /// `[reliability.<kind>]` in the topology file.
    Kind,
    /// Keys in the node's own `[[node]]`.
    Node,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Default => "default",
            Origin::Kind => "[reliability.<kind>]",
            Origin::Node => "node",
        }
    }
}

/// Built-in figures per kind: each kind's module in the simulator holds its own
/// (`winter_river_sim::kinds`), typical values of the order published in IEEE Std
/// 493-2007 (the "Gold Book") equipment tables and the data-center reliability papers
/// that use them, rounded; docs/analysis.md cites each and says how to replace them.
/// Loads (server, cooling, load) never fail: the analysis is about the power chain.
pub fn default_for(kind: NodeKind) -> Reliability {
    let r = kinds::traits(kind).reliability;
    Reliability {
        mtbf_h: r.mtbf_h,
        mttr_h: r.mttr_h,
        fail_to_start: r.fail_to_start.unwrap_or(0.0),
    }
}

/// A topology with the reliability figures of each of its nodes.
#[derive(Debug, Clone)]
pub struct Site {
    pub topology: Topology,
    /// By topology index.
    pub reliability: Vec<Reliability>,
    /// By topology index: where each node's figures came from (the most specific
    /// source of any of its three figures).
    pub origin: Vec<Origin>,
}

impl Site {
    /// A topology with every node on its kind's default figures.
    pub fn with_defaults(topology: Topology) -> Site {
        let reliability = topology
            .nodes
            .iter()
            .map(|n| default_for(n.kind()))
            .collect();
        let origin = vec![Origin::Default; topology.len()];
        Site {
            topology,
            reliability,
            origin,
        }
    }
}

/// Partial figures, as written in one table.
#[derive(Debug, Clone, Copy, Default)]
struct Partial {
    mtbf_h: Option<f64>,
    mttr_h: Option<f64>,
    fail_to_start: Option<f64>,
}

impl Partial {
    fn apply(&self, r: &mut Reliability) -> bool {
        let mut any = false;
        if let Some(v) = self.mtbf_h {
            r.mtbf_h = v;
            any = true;
        }
        if let Some(v) = self.mttr_h {
            r.mttr_h = v;
            any = true;
        }
        if let Some(v) = self.fail_to_start {
            r.fail_to_start = v;
            any = true;
        }
        any
    }
}

/// Byte offset → 1-based line.
struct Lines(Vec<usize>);

impl Lines {
    fn new(src: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Lines(starts)
    }
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&s| s <= offset)
    }
}

/// Loads a topology file with its reliability data. `overrides` are a scenario's (or a
/// sweep's) `[overrides.<id>]`, applied to the electrical parameters as the simulator
/// does.
pub fn load_site(src: &str, file: &str, overrides: &[Override]) -> Result<Site, AnalysisError> {
    let lines = Lines::new(src);
    let doc = DeTable::parse(src).map_err(|e| AnalysisError {
        file: file.to_string(),
        line: e.span().map(|s| lines.line(s.start)),
        key: None,
        reason: e.message().trim().to_string(),
    })?;
    let doc = doc.get_ref();
    let err = |at: usize, key: &str, reason: String| AnalysisError {
        file: file.to_string(),
        line: Some(lines.line(at)),
        key: Some(key.to_string()),
        reason,
    };

    // [reliability.<kind>]
    let mut per_kind: Vec<(NodeKind, Partial)> = Vec::new();
    if let Some((k, v)) = doc.iter().find(|(k, _)| k.get_ref() == "reliability") {
        let Some(table) = v.get_ref().as_table() else {
            return Err(err(
                k.span().start,
                "reliability",
                "must be a table of `[reliability.<kind>]` tables".into(),
            ));
        };
        for (kind_key, kind_table) in table.iter() {
            let name = kind_key.get_ref().as_ref();
            let key = format!("reliability.{name}");
            let kind = NodeKind::parse(name).ok_or_else(|| {
                let known: Vec<_> = NodeKind::ALL.iter().map(|k| k.as_str()).collect();
                err(
                    kind_key.span().start,
                    &key,
                    format!("unknown kind `{name}` (known: {})", known.join(", ")),
                )
            })?;
            let Some(entries) = kind_table.get_ref().as_table() else {
                return Err(err(
                    kind_key.span().start,
                    &key,
                    "must be a table with mtbf_h, mttr_h, fail_to_start".into(),
                ));
            };
            let mut p = Partial::default();
            for (ek, ev) in entries.iter() {
                read_key(&mut p, kind, ek, ev, &key, &err)?;
            }
            per_kind.push((kind, p));
        }
    }

    // Per-node keys.
    let mut per_node: Vec<(String, Partial)> = Vec::new();
    if let Some(nodes) = doc.get("node").and_then(|v| v.get_ref().as_array()) {
        for item in nodes.iter() {
            let Some(t) = item.get_ref().as_table() else {
                continue;
            };
            let id = t.get("id").and_then(|v| v.get_ref().as_str()).unwrap_or("");
            let kind = t
                .get("kind")
                .and_then(|v| v.get_ref().as_str())
                .and_then(NodeKind::parse);
            let mut p = Partial::default();
            let mut any = false;
            for (ek, ev) in t.iter() {
                if RELIABILITY_KEYS.contains(&ek.get_ref().as_ref()) {
                    // The parser refuses an unknown kind itself; check against Load
                    // (no fail_to_start) when the kind is unknown.
                    read_key(&mut p, kind.unwrap_or(NodeKind::Load), ek, ev, id, &err)?;
                    any = true;
                }
            }
            if any {
                per_node.push((id.to_string(), p));
            }
        }
    }

    let topology = Topology::from_toml_str_with_overrides(src, file, overrides)?;
    let mut site = Site::with_defaults(topology);
    for (i, node) in site.topology.nodes.iter().enumerate() {
        for (kind, p) in &per_kind {
            if *kind == node.kind() && p.apply(&mut site.reliability[i]) {
                site.origin[i] = Origin::Kind;
            }
        }
    }
    for (id, p) in &per_node {
        if let Some(i) = site.topology.node_index(id)
            && p.apply(&mut site.reliability[i])
        {
            site.origin[i] = Origin::Node;
        }
    }
    Ok(site)
}

fn read_key(
    p: &mut Partial,
    kind: NodeKind,
    k: &Spanned<std::borrow::Cow<'_, str>>,
    v: &Spanned<DeValue<'_>>,
    where_: &str,
    err: &dyn Fn(usize, &str, String) -> AnalysisError,
) -> Result<(), AnalysisError> {
    let name = k.get_ref().as_ref();
    let at = k.span().start;
    let key = format!("{where_}.{name}");
    let num = as_f64(v.get_ref()).ok_or_else(|| {
        err(
            at,
            &key,
            format!("must be a number, found {}", v.get_ref().type_str()),
        )
    })?;
    match name {
        "mtbf_h" => {
            if num.is_nan() || num <= 0.0 {
                return Err(err(
                    at,
                    &key,
                    format!("{num} h is out of range: must be > 0 (inf = never fails)"),
                ));
            }
            p.mtbf_h = Some(num);
        }
        "mttr_h" => {
            if !num.is_finite() || num < 0.0 {
                return Err(err(
                    at,
                    &key,
                    format!("{num} h is out of range: must be finite and >= 0"),
                ));
            }
            p.mttr_h = Some(num);
        }
        "fail_to_start" => {
            if !kinds::traits(kind).starts_on_demand() {
                return Err(err(
                    at,
                    &key,
                    format!("only a generator fails to start on demand, not a {kind}"),
                ));
            }
            if !(0.0..=1.0).contains(&num) {
                return Err(err(
                    at,
                    &key,
                    format!("{num} is out of range: a probability per demand in [0, 1]"),
                ));
            }
            p.fail_to_start = Some(num);
        }
        _ => {
            return Err(err(
                at,
                &key,
                format!(
                    "unknown reliability key (known: {})",
                    RELIABILITY_KEYS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn as_f64(v: &DeValue<'_>) -> Option<f64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .ok()
            .map(|i| i as f64),
        DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
        _ => None,
    }
}
