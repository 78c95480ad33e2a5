//! Sweeps: a scenario run once per combination of parameter values
//! (`--set ups_a.battery_kwh=0,50,100 --set gen_a.start_delay_s=7,15`), each run's
//! outputs tabulated. The values are applied as the scenario's own
//! `[overrides.<id>]` are (after them, so a sweep value wins).

use serde::Serialize;
use winter_river_protocol::{Command, EventKind, NodeKind, Source};
use winter_river_sim::scenario::{self, Plant, RunOptions, Scenario};
use winter_river_sim::{Loc, Override, Simulator, Topology};

use crate::par_map;
use crate::reliability::AnalysisError;

/// One `--set NODE.KEY=V1,V2,…` (or `NODE+NODE….KEY=…`: the same value for each).
#[derive(Debug, Clone, PartialEq)]
pub struct SetSpec {
    /// The nodes the value goes to (one, or several joined by `+`).
    pub nodes: Vec<String>,
    pub key: String,
    pub values: Vec<toml::Value>,
}

impl SetSpec {
    /// `ups_a.battery_kwh`, `crah_1+crah_2.feeds`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.nodes.join("+"), self.key)
    }
}

/// Splits at the commas outside brackets and quotes: `["a","b"],["c"]` is two values.
fn split_values(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None, 0);
    for (i, ch) in s.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(ch),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Parses `NODE.KEY=V1,V2,…`; values are TOML (numbers, `true`, `"text"`, arrays
/// such as `["dist_a","dist_b"]` for `feeds`).
pub fn parse_set(s: &str) -> Result<SetSpec, AnalysisError> {
    let bad = |reason: String| AnalysisError {
        file: "--set".into(),
        line: None,
        key: Some(s.to_string()),
        reason,
    };
    let (target, values) = s
        .split_once('=')
        .ok_or_else(|| bad("expected NODE.KEY=V1,V2,…".into()))?;
    let (node, key) = target
        .trim()
        .split_once('.')
        .ok_or_else(|| bad("expected NODE.KEY before `=`".into()))?;
    let nodes: Vec<String> = node.split('+').map(|n| n.trim().to_string()).collect();
    if nodes.iter().any(String::is_empty) || key.is_empty() {
        return Err(bad("expected NODE.KEY (or NODE+NODE.KEY) before `=`".into()));
    }
    let values = split_values(values)
        .into_iter()
        .map(|v| {
            let v = v.trim();
            toml::from_str::<toml::Table>(&format!("v = {v}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .ok_or_else(|| {
                    bad(format!(
                        "`{v}` is not a value (number, true/false, \"text\", [array])"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if values.is_empty() {
        return Err(bad("no values".into()));
    }
    Ok(SetSpec {
        nodes,
        key: key.to_string(),
        values,
    })
}

/// Output columns a sweep can tabulate.
pub const COLUMNS: &[&str] = &[
    "passed",
    "failed",
    "it_kwh_unserved",
    "first_it_loss_s",
    "ride_through_s",
    "peak_it_kw_lost",
    "final_it_kw_lost",
    "final_source",
    "peak_inlet_c",
    "first_thermal_shutdown_s",
    "thermal_shutdowns",
];

/// One combination's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The swept values, in `--set` order, as written.
    pub values: Vec<String>,
    /// Expectations that held / failed; `None` when the combination is invalid.
    pub passed: Option<usize>,
    pub failed: Option<usize>,
    /// Per expectation, in file order.
    pub verdicts: Vec<bool>,
    /// IT energy not served by the end \[kWh\].
    pub it_kwh_unserved: Option<f64>,
    /// First time any server lost power \[s\].
    pub first_it_loss_s: Option<f64>,
    /// From the scenario's first `set_fault` (state true) to the first IT loss \[s\].
    pub ride_through_s: Option<f64>,
    /// The most IT load lost at any step \[kW\].
    pub peak_it_kw_lost: Option<f64>,
    /// IT load lost at the end \[kW\].
    pub final_it_kw_lost: Option<f64>,
    pub final_source: Option<Source>,
    /// The highest server inlet at any step \[°C\] (`max_inlet_c`); `None` without
    /// a server in a room.
    pub peak_inlet_c: Option<f64>,
    /// First time a server stopped itself (thermal shutdown) \[s\].
    pub first_thermal_shutdown_s: Option<f64>,
    /// Thermal shutdowns during the run (a server reset and stopped again counts
    /// twice).
    pub thermal_shutdowns: Option<usize>,
    /// Why the combination could not run (bad value for the key, say).
    pub error: Option<String>,
}

impl Row {
    /// A column's value as text (`` for none).
    pub fn cell(&self, column: &str) -> String {
        let num = |v: Option<f64>| {
            v.map(|x| format!("{}", (x * 1e6).round() / 1e6))
                .unwrap_or_default()
        };
        match column {
            "passed" => self.passed.map(|v| v.to_string()).unwrap_or_default(),
            "failed" => self.failed.map(|v| v.to_string()).unwrap_or_default(),
            "it_kwh_unserved" => num(self.it_kwh_unserved),
            "first_it_loss_s" => num(self.first_it_loss_s),
            "ride_through_s" => num(self.ride_through_s),
            "peak_it_kw_lost" => num(self.peak_it_kw_lost),
            "final_it_kw_lost" => num(self.final_it_kw_lost),
            "final_source" => self.final_source.map(|s| s.to_string()).unwrap_or_default(),
            "peak_inlet_c" => num(self.peak_inlet_c),
            "first_thermal_shutdown_s" => num(self.first_thermal_shutdown_s),
            "thermal_shutdowns" => self
                .thermal_shutdowns
                .map(|v| v.to_string())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// A column's value as a number, for charts.
    pub fn number(&self, column: &str) -> Option<f64> {
        match column {
            "passed" => self.passed.map(|v| v as f64),
            "failed" => self.failed.map(|v| v as f64),
            "it_kwh_unserved" => self.it_kwh_unserved,
            "first_it_loss_s" => self.first_it_loss_s,
            "ride_through_s" => self.ride_through_s,
            "peak_it_kw_lost" => self.peak_it_kw_lost,
            "final_it_kw_lost" => self.final_it_kw_lost,
            "peak_inlet_c" => self.peak_inlet_c,
            "first_thermal_shutdown_s" => self.first_thermal_shutdown_s,
            "thermal_shutdowns" => self.thermal_shutdowns.map(|v| v as f64),
            _ => None,
        }
    }
}

/// A finished sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepResult {
    pub scenario: String,
    /// `ups_a.battery_kwh`, … in `--set` order.
    pub parameters: Vec<String>,
    /// Expectations, described, in file order.
    pub expectations: Vec<String>,
    pub rows: Vec<Row>,
}

/// Runs `scenario` for every combination of `sets` (the first `--set` varies slowest).
/// `topology_src` / `topology_file` are the scenario's topology text and name, so
/// the values can be applied as overrides.
pub fn sweep(
    scenario: &Scenario,
    topology_src: &str,
    topology_file: &str,
    sets: &[SetSpec],
    threads: usize,
) -> Result<SweepResult, AnalysisError> {
    for s in sets {
        if let Some(node) = s
            .nodes
            .iter()
            .find(|n| scenario.topology.node_index(n).is_none())
        {
            return Err(AnalysisError {
                file: "--set".into(),
                line: None,
                key: Some(s.name()),
                reason: format!("no node `{node}` in {topology_file}"),
            });
        }
    }
    let mut combos: Vec<Vec<usize>> = vec![Vec::new()];
    for s in sets {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                (0..s.values.len()).map(move |k| {
                    let mut c = c.clone();
                    c.push(k);
                    c
                })
            })
            .collect();
    }
    let fault_at = scenario
        .events
        .iter()
        .filter(|e| matches!(e.command, Command::SetFault { state: true }))
        .map(|e| e.at_s)
        .reduce(f64::min);
    let rows = par_map(&combos, threads, |combo| {
        let mut overrides = scenario.overrides.clone();
        let mut values = Vec::new();
        for (s, &k) in sets.iter().zip(combo) {
            values.push(display(&s.values[k]));
            for node in &s.nodes {
                overrides.push(Override {
                    node: node.clone(),
                    key: s.key.clone(),
                    value: s.values[k].clone(),
                    loc: Loc {
                        file: format!("--set {}", s.name()),
                        line: 0,
                    },
                });
            }
        }
        run_one(
            scenario,
            topology_src,
            topology_file,
            &overrides,
            values,
            fault_at,
        )
    });
    Ok(SweepResult {
        scenario: scenario.name.clone(),
        parameters: sets.iter().map(SetSpec::name).collect(),
        expectations: scenario.expects.iter().map(|e| e.describe()).collect(),
        rows,
    })
}

/// A value as written on the command line.
pub fn display(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => format!("{s:?}"),
                    v => display(v),
                })
                .collect();
            format!("[{}]", items.join(","))
        }
        other => format!("{other:?}"),
    }
}

fn run_one(
    scenario: &Scenario,
    topology_src: &str,
    topology_file: &str,
    overrides: &[Override],
    values: Vec<String>,
    fault_at: Option<f64>,
) -> Row {
    let invalid = |error: String| Row {
        values: values.clone(),
        passed: None,
        failed: None,
        verdicts: Vec::new(),
        it_kwh_unserved: None,
        first_it_loss_s: None,
        ride_through_s: None,
        peak_it_kw_lost: None,
        final_it_kw_lost: None,
        final_source: None,
        peak_inlet_c: None,
        first_thermal_shutdown_s: None,
        thermal_shutdowns: None,
        error: Some(error),
    };
    let topology =
        match Topology::from_toml_str_with_overrides(topology_src, topology_file, overrides) {
            Ok(t) => t,
            Err(e) => return invalid(e.to_string()),
        };
    let mut sc = scenario.clone();
    sc.topology = topology;
    let mut plant = Watch {
        sim: Simulator::new(sc.topology.clone(), sc.step_ms),
        inlets: sc
            .topology
            .nodes
            .iter()
            .any(|n| n.room.is_some() && n.kind() == NodeKind::Server),
        peak_inlet_c: None,
    };
    let report = match scenario::run_on(&mut plant, &sc, &RunOptions::default()) {
        Ok(r) => r,
        Err(e) => return invalid(e.to_string()),
    };
    let shutdowns: Vec<f64> = report
        .events
        .iter()
        .filter(|e| e.event == EventKind::ThermalShutdown)
        .map(|e| e.t)
        .collect();
    let first_it_loss_s = report
        .events
        .iter()
        .find(|e| {
            matches!(
                e.event,
                EventKind::Unpowered
                    | EventKind::Fault
                    | EventKind::Trip
                    | EventKind::ThermalShutdown
            ) && sc
                .topology
                .node_index(&e.node_id)
                .is_some_and(|i| sc.topology.node(i).kind() == NodeKind::Server)
        })
        .map(|e| e.t);
    Row {
        values,
        passed: Some(report.verdicts.len() - report.failed_count()),
        failed: Some(report.failed_count()),
        verdicts: report.verdicts.iter().map(|v| v.passed).collect(),
        it_kwh_unserved: Some(report.final_system.it_kwh_unserved),
        first_it_loss_s,
        ride_through_s: match (first_it_loss_s, fault_at) {
            (Some(l), Some(f)) if l >= f => Some(l - f),
            _ => None,
        },
        peak_it_kw_lost: Some(report.peak_it_kw_lost),
        final_it_kw_lost: Some(report.final_system.it_kw_lost),
        final_source: Some(report.final_system.source),
        peak_inlet_c: plant.peak_inlet_c,
        first_thermal_shutdown_s: shutdowns.first().copied(),
        thermal_shutdowns: Some(shutdowns.len()),
        error: None,
    }
}

/// The bare simulator, watched: the highest server inlet at any step.
struct Watch {
    sim: Simulator,
    /// Whether any server is in a room (else there is nothing to watch).
    inlets: bool,
    peak_inlet_c: Option<f64>,
}

impl Plant for Watch {
    fn simulator(&self) -> &Simulator {
        &self.sim
    }

    fn command(&mut self, node_id: &str, command: &Command) -> Result<(), String> {
        Plant::command(&mut self.sim, node_id, command)
    }

    fn step(&mut self) {
        Plant::step(&mut self.sim);
        if !self.inlets {
            return;
        }
        if let Some(t) = self.sim.system_status().max_inlet_c {
            self.peak_inlet_c = Some(self.peak_inlet_c.map_or(t, |p| p.max(t)));
        }
    }
}
