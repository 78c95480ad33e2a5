//! Reports of an analysis or a sweep as text, Markdown, JSON, CSV (sweeps only: an
//! analysis is several tables, not one) or one self-contained HTML file with inline
//! SVG charts. Every report carries the program
//! version and the SHA-256 of its canonical inputs: the topology with every default
//! applied (its JSON form), the reliability figures, the parameters and the seed —
//! not the file's bytes, so comments and layout do not change it.

use std::fmt::Write;

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use winter_river_sim::scenario::Scenario;
use winter_river_sim::words::or_list;

use crate::VERSION;
use crate::availability::{AvailabilityResult, Estimate};
use crate::contingency::{Case, Contingencies};
use crate::maintenance::Maintainability;
use crate::reliability::Site;
use crate::svg::{self, Bar, esc};
use crate::sweep::{COLUMNS, SweepResult};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
    Html,
    /// Sweeps only.
    Csv,
}

impl Format {
    /// The name `--format` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Json => "json",
            Format::Html => "html",
            Format::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "text" => Format::Text,
            "markdown" | "md" => Format::Markdown,
            "json" => Format::Json,
            "html" => Format::Html,
            "csv" => Format::Csv,
            _ => return None,
        })
    }
}

/// Why a report cannot be rendered.
#[derive(Debug)]
pub enum ReportError {
    /// The report has no such form: an analysis is several tables, so no CSV.
    Unsupported {
        /// `winter-river analyze` or `winter-river sweep`.
        report: &'static str,
        format: Format,
        /// The formats it has.
        supported: &'static str,
    },
    /// The report could not be encoded as JSON.
    Json(serde_json::Error),
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportError::Unsupported {
                report,
                format,
                supported,
            } => write!(
                f,
                "--format {}: {report} has no {} form (it writes {supported})",
                format.as_str(),
                format.as_str()
            ),
            ReportError::Json(e) => write!(f, "cannot encode the report as JSON: {e}"),
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Json(e) => Some(e),
            ReportError::Unsupported { .. } => None,
        }
    }
}

/// Pretty JSON with a final newline.
fn pretty_json(v: &impl Serialize) -> Result<String, ReportError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(ReportError::Json)
}

/// Hex SHA-256 of a canonical JSON value (keys of maps sorted by serde_json's map).
pub fn sha256_hex(v: &Value) -> String {
    let text = v.to_string();
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A node's reliability figures, for the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureRow {
    pub id: String,
    pub kind: String,
    /// \[h\]; `null` in JSON = never fails.
    pub mtbf_h: Option<f64>,
    pub mttr_h: f64,
    pub fail_to_start: f64,
    /// `MTBF / (MTBF + MTTR)`.
    pub availability: f64,
    pub origin: &'static str,
}

/// Parameters of an analysis run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyzeParams {
    pub depth: u8,
    pub step_ms: u32,
    /// Monte Carlo years and seed, when run.
    pub years: Option<u64>,
    pub seed: Option<u64>,
}

/// An analysis, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyzeReport {
    pub program: &'static str,
    pub version: &'static str,
    pub inputs_sha256: String,
    pub site: String,
    pub topology_file: String,
    pub nodes: usize,
    pub params: AnalyzeParams,
    pub reliability: Vec<FigureRow>,
    pub contingencies: Option<Contingencies>,
    pub availability: Option<AvailabilityResult>,
}

impl AnalyzeReport {
    pub fn new(
        site: &Site,
        topology_file: &str,
        params: AnalyzeParams,
        contingencies: Option<Contingencies>,
        availability: Option<AvailabilityResult>,
    ) -> AnalyzeReport {
        let t = &site.topology;
        // What can fail: the components N-1 fails (the power chain, the cooling of
        // rooms), and any other node given figures. Rooms never fail.
        let comps = crate::contingency::components(t);
        let reliability: Vec<FigureRow> = t
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| comps.contains(i) || site.reliability[*i].mtbf_h.is_finite())
            .map(|(i, n)| {
                let r = site.reliability[i];
                FigureRow {
                    id: n.id.clone(),
                    kind: n.kind().as_str().to_string(),
                    mtbf_h: r.mtbf_h.is_finite().then_some(r.mtbf_h),
                    mttr_h: r.mttr_h,
                    fail_to_start: r.fail_to_start,
                    availability: r.availability(),
                    origin: site.origin[i].as_str(),
                }
            })
            .collect();
        let canonical = json!({
            "topology": t.to_json(),
            "reliability": t.nodes.iter().enumerate().map(|(i, n)| {
                let r = site.reliability[i];
                json!([n.id, if r.mtbf_h.is_finite() { json!(r.mtbf_h) } else { json!("inf") }, r.mttr_h, r.fail_to_start])
            }).collect::<Vec<_>>(),
            "params": params,
        });
        AnalyzeReport {
            program: "winter-river analyze",
            version: VERSION,
            inputs_sha256: sha256_hex(&canonical),
            site: t.site_name.clone(),
            topology_file: topology_file.to_string(),
            nodes: t.len(),
            params,
            reliability,
            contingencies,
            availability,
        }
    }

    /// The report in `format`; CSV is refused (an analysis is several tables: its
    /// JSON has every figure, its HTML and Markdown every table).
    pub fn render(&self, format: Format) -> Result<String, ReportError> {
        Ok(match format {
            Format::Json => pretty_json(self)?,
            Format::Csv => {
                return Err(ReportError::Unsupported {
                    report: self.program,
                    format,
                    supported: "text, markdown, json or html; sweep writes CSV",
                });
            }
            Format::Text => analyze_doc(self, &mut TextDoc::default()),
            Format::Markdown => analyze_doc(self, &mut MdDoc::default()),
            Format::Html => analyze_doc(self, &mut HtmlDoc::default()),
        })
    }
}

/// A sweep, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    pub program: &'static str,
    pub version: &'static str,
    pub inputs_sha256: String,
    pub scenario_file: String,
    pub columns: Vec<String>,
    pub sweep: SweepResult,
}

impl SweepReport {
    /// `sets_text` is the `--set` arguments as given (in order).
    pub fn new(
        scenario: &Scenario,
        sets_text: &[String],
        columns: &[String],
        sweep: SweepResult,
    ) -> SweepReport {
        let canonical = json!({
            "scenario": {
                "name": scenario.name,
                "duration_s": scenario.duration_s,
                "step_ms": scenario.step_ms,
                "events": scenario.events.iter().map(|e| json!([e.at_s, e.node, format!("{:?}", e.command)])).collect::<Vec<_>>(),
                "expects": sweep.expectations,
                "overrides": scenario.overrides.iter().map(|o| json!([o.node, o.key, crate::sweep::display(&o.value)])).collect::<Vec<_>>(),
            },
            "topology": scenario.topology.to_json(),
            "sets": sets_text,
            "columns": columns,
        });
        SweepReport {
            program: "winter-river sweep",
            version: VERSION,
            inputs_sha256: sha256_hex(&canonical),
            scenario_file: scenario.file.clone(),
            columns: columns.to_vec(),
            sweep,
        }
    }

    /// The report in `format` (every format).
    pub fn render(&self, format: Format) -> Result<String, ReportError> {
        Ok(match format {
            Format::Json => pretty_json(self)?,
            Format::Csv => self.csv(),
            Format::Text => sweep_doc(self, &mut TextDoc::default()),
            Format::Markdown => sweep_doc(self, &mut MdDoc::default()),
            Format::Html => sweep_doc(self, &mut HtmlDoc::default()),
        })
    }

    fn header(&self) -> Vec<String> {
        let mut h = self.sweep.parameters.clone();
        h.extend(self.columns.iter().cloned());
        h.push("error".into());
        h
    }

    fn cells(&self) -> Vec<Vec<String>> {
        self.sweep
            .rows
            .iter()
            .map(|r| {
                let mut c = r.values.clone();
                c.extend(self.columns.iter().map(|col| r.cell(col)));
                c.push(r.error.clone().unwrap_or_default());
                c
            })
            .collect()
    }

    /// CSV: a comment line with the version and hash, then a header and one row per
    /// combination.
    pub fn csv(&self) -> String {
        let quote = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = format!(
            "# {} {} inputs_sha256={}\n",
            self.program, self.version, self.inputs_sha256
        );
        let line = |cells: &[String]| cells.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",");
        out.push_str(&line(&self.header()));
        out.push('\n');
        for c in self.cells() {
            out.push_str(&line(&c));
            out.push('\n');
        }
        out
    }
}

/// The building blocks a report is written with, in each format.
trait Doc {
    fn title(&mut self, s: &str);
    fn heading(&mut self, s: &str);
    fn para(&mut self, s: &str);
    fn table(&mut self, header: &[&str], rows: &[Vec<String>]);
    /// An SVG chart (HTML only).
    fn chart(&mut self, _svg: String) {}
    fn finish(&mut self) -> String;
}

#[derive(Default)]
struct TextDoc(String);

impl Doc for TextDoc {
    fn title(&mut self, s: &str) {
        let _ = writeln!(self.0, "{s}");
    }
    fn heading(&mut self, s: &str) {
        let _ = writeln!(self.0, "\n{s}");
    }
    fn para(&mut self, s: &str) {
        let _ = writeln!(self.0, "  {s}");
    }
    fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        let n = header.len();
        let mut w: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for r in rows {
            for (k, c) in r.iter().enumerate().take(n) {
                // The last column is free text: do not pad to it.
                if k + 1 < n {
                    w[k] = w[k].max(c.chars().count());
                }
            }
        }
        let line = |cells: Vec<&str>| {
            let mut s = String::from("  ");
            for (k, c) in cells.iter().enumerate() {
                if k + 1 < cells.len() {
                    let pad = w[k].saturating_sub(c.chars().count());
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad + 2));
                } else {
                    s.push_str(c);
                }
            }
            s.trim_end().to_string()
        };
        let _ = writeln!(self.0, "{}", line(header.to_vec()));
        for r in rows {
            let _ = writeln!(self.0, "{}", line(r.iter().map(String::as_str).collect()));
        }
    }
    fn finish(&mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

#[derive(Default)]
struct MdDoc(String);

impl Doc for MdDoc {
    fn title(&mut self, s: &str) {
        let _ = writeln!(self.0, "# {s}\n");
    }
    fn heading(&mut self, s: &str) {
        let _ = writeln!(self.0, "\n## {s}\n");
    }
    fn para(&mut self, s: &str) {
        let _ = writeln!(self.0, "{s}\n");
    }
    fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        let cell = |s: &str| s.replace('|', "\\|");
        let _ = writeln!(self.0, "| {} |", header.join(" | "));
        let _ = writeln!(self.0, "|{}", "---|".repeat(header.len()));
        for r in rows {
            let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
            let _ = writeln!(self.0, "| {} |", cells.join(" | "));
        }
        self.0.push('\n');
    }
    fn finish(&mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

#[derive(Default)]
struct HtmlDoc {
    title: String,
    body: String,
}

impl Doc for HtmlDoc {
    fn title(&mut self, s: &str) {
        self.title = s.to_string();
        let _ = writeln!(self.body, "<h1>{}</h1>", esc(s));
    }
    fn heading(&mut self, s: &str) {
        let _ = writeln!(self.body, "<h2>{}</h2>", esc(s));
    }
    fn para(&mut self, s: &str) {
        let _ = writeln!(self.body, "<p>{}</p>", esc(s));
    }
    fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        self.body.push_str("<table><thead><tr>");
        for h in header {
            let _ = write!(self.body, "<th>{}</th>", esc(h));
        }
        self.body.push_str("</tr></thead><tbody>\n");
        for r in rows {
            self.body.push_str("<tr>");
            for c in r {
                let _ = write!(self.body, "<td>{}</td>", esc(c));
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</tbody></table>\n");
    }
    fn chart(&mut self, svg: String) {
        let _ = writeln!(self.body, "<figure>{svg}</figure>");
    }
    fn finish(&mut self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>\
             body{{font-family:sans-serif;margin:2em;max-width:70em}}\
             table{{border-collapse:collapse;margin:.5em 0}}\
             td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}}\
             th{{background:#f3f3f3}}figure{{margin:1em 0}}\
             </style></head><body>\n{}</body></html>\n",
            esc(&self.title),
            self.body
        )
    }
}

fn est(e: &Estimate, digits: usize) -> String {
    format!("{:.d$} [{:.d$}, {:.d$}]", e.mean, e.lo, e.hi, d = digits)
}

fn kw(v: f64) -> String {
    format!("{} kW", (v * 100.0).round() / 100.0)
}

fn case_rows(cases: &[Case]) -> Vec<Vec<String>> {
    // A single component that drops IT is a single point of failure; a pair is not.
    let bad = |c: &Case| if c.kind == "pair" { "IT lost" } else { "SPOF" };
    cases
        .iter()
        .map(|c| {
            let servers = match c.lost_servers.len() {
                0 => "-".to_string(),
                n if n <= 3 => c.lost_servers.join(", "),
                n => format!("{n} servers"),
            };
            vec![
                c.label.clone(),
                if c.drops_it {
                    bad(c).into()
                } else {
                    "ok".into()
                },
                kw(c.max_lost_kw),
                c.when.clone(),
                servers,
                c.explanation.clone(),
            ]
        })
        .collect()
}

fn case_bars(cases: &[Case]) -> Vec<Bar> {
    cases
        .iter()
        .map(|c| Bar {
            label: c.label.clone(),
            value: c.max_lost_kw,
            color: match c.first_loss_after_s {
                None => "#2ca02c",
                Some(t) if t < 1e-9 => "#d62728",
                Some(t) if c.first_thermal_shutdown_after_s == Some(t) => "#9467bd",
                Some(_) => "#ff7f0e",
            },
            note: if c.drops_it {
                format!("{} {}", kw(c.max_lost_kw), c.when)
            } else {
                "no IT loss".into()
            },
        })
        .collect()
}

const CASE_HEADER: [&str; 6] = ["component", "verdict", "IT lost", "when", "servers", "how"];

/// One line per component, and under it the single failures that drop IT load while
/// it is out, grouped when they do the same.
fn maintainability_section(rows: &[Maintainability], d: &mut dyn Doc) {
    let not: Vec<&str> = rows
        .iter()
        .filter(|m| !m.maintainable)
        .map(|m| m.component.as_str())
        .collect();
    let mut hows: Vec<(&str, usize)> = Vec::new();
    for how in rows.iter().filter_map(|m| m.how) {
        match hows.iter_mut().find(|(h, _)| *h == how) {
            Some((_, n)) => *n += 1,
            None => hows.push((how, 1)),
        }
    }
    let hows: Vec<String> = hows.iter().map(|(h, n)| format!("{n} {h}")).collect();
    let mut para = format!(
        "{} of {} components can be taken out for maintenance without IT loss ({})",
        rows.len() - not.len(),
        rows.len(),
        if hows.is_empty() {
            "none".to_string()
        } else {
            hows.join(", ")
        }
    );
    if !not.is_empty() {
        para.push_str(&format!("; not: {}", not.join(", ")));
    }
    para.push('.');
    if rows.iter().any(|m| m.exposure_simulated) {
        para.push_str(" Under each, its exposure while it is out: every other component failed in turn from that state (simulated), and those whose loss drops IT load.");
    }
    if rows.iter().any(|m| m.maintainable && !m.exposure_simulated) {
        para.push_str(" The exposure of a component taken out as is needs --depth 2 (a run per pair of components).");
    }
    d.para(&para);
    let mut table: Vec<Vec<String>> = Vec::new();
    for m in rows {
        let mut remark = m.remark.clone();
        if m.maintainable && !m.exposure_simulated {
            remark.push_str("; exposure: --depth 2");
        } else if m.maintainable && m.exposure.is_empty() {
            remark.push_str("; no single failure drops IT load while it is out");
        }
        table.push(vec![
            m.component.clone(),
            if m.maintainable { "yes" } else { "no" }.into(),
            m.how.unwrap_or("-").into(),
            remark,
        ]);
        // (lost kW, when, normally) → failures.
        let mut groups: Vec<(String, &str, &str, Vec<&str>)> = Vec::new();
        for e in &m.exposure {
            let lost = kw(e.lost_kw);
            match groups
                .iter_mut()
                .find(|(l, w, n, _)| *l == lost && *w == e.when && *n == e.normally)
            {
                Some((_, _, _, f)) => f.push(&e.failure),
                None => groups.push((lost, &e.when, &e.normally, vec![&e.failure])),
            }
        }
        for (lost, when, normally, failures) in groups {
            let normally = if normally == when {
                "also on the healthy site".to_string()
            } else {
                format!("normally: {normally}")
            };
            table.push(vec![
                String::new(),
                String::new(),
                String::new(),
                format!(
                    "- a loss of {} drops {lost} {when} ({normally})",
                    or_list(&failures)
                ),
            ]);
        }
    }
    d.table(
        &["component", "maintainable", "how", "while it is out"],
        &table,
    );
}

fn analyze_doc(r: &AnalyzeReport, d: &mut dyn Doc) -> String {
    d.title(&format!(
        "Reliability analysis of \"{}\" ({})",
        r.site, r.topology_file
    ));
    d.para(&format!(
        "{} {} · inputs SHA-256 {} · {} nodes · reproduce with the same topology, --depth {}{}",
        r.program,
        r.version,
        r.inputs_sha256,
        r.nodes,
        r.params.depth,
        match (r.params.years, r.params.seed) {
            (Some(y), Some(s)) => format!(", --availability --years {y} --seed {s}"),
            _ => String::new(),
        }
    ));
    if let Some(c) = &r.contingencies {
        d.heading("N-1: each component failed in turn");
        d.para(&format!(
            "Each case is a fresh simulation ({} ms steps): the component fails at t = 60 s on a healthy site and the run goes on until UPS ride-through, generator start and ATS timers have played out{}. IT demand {} on {} server(s).",
            r.params.step_ms,
            if c.rooms.is_empty() {
                ""
            } else {
                ", cooling units have restarted, and every room with running servers is back at its setpoint with cooling to spare (or its servers have stopped themselves)"
            },
            kw(c.it_demand_kw),
            c.servers
        ));
        if c.single_points_of_failure.is_empty() {
            d.para("No single point of failure: no single component's loss drops IT load.");
        } else {
            d.para(&format!(
                "Single points of failure ({}): {}",
                c.single_points_of_failure.len(),
                c.single_points_of_failure.join(", ")
            ));
        }
        if !c.rooms.is_empty() {
            if c.thermal_single_points.is_empty() {
                d.para("No thermal single point of failure: no single component's loss makes servers stop themselves.");
            } else {
                let findings: Vec<&str> = c
                    .thermal_single_points
                    .iter()
                    .map(|p| p.finding.as_str())
                    .collect();
                d.para(&format!(
                    "Thermal single points of failure ({}): {}",
                    c.thermal_single_points.len(),
                    findings.join("; ")
                ));
            }
        }
        d.table(&CASE_HEADER, &case_rows(&c.n1));
        d.chart(svg::bars(
            "IT load lost per N-1 case [kW] (red: at once, orange: after ride-through, purple: thermal shutdown)",
            &case_bars(&c.n1),
        ));
        if !c.rooms.is_empty() {
            d.heading("Rooms and cooling");
            d.para("Heat is what the cooling removes on the healthy site (its heat load when it holds the setpoint); N+k counts the units, largest first, that can be lost with the rest still above it. The thermal single points are the N-1 cases above in which servers of the room stopped themselves.");
            let rows: Vec<Vec<String>> = c
                .rooms
                .iter()
                .map(|room| {
                    let units: Vec<String> = room
                        .units
                        .iter()
                        .map(|(id, cap)| format!("{id} {}", kw(*cap)))
                        .collect();
                    vec![
                        room.room.clone(),
                        room.class.clone(),
                        if units.is_empty() {
                            "none".into()
                        } else {
                            units.join(", ")
                        },
                        kw(room.capacity_kw),
                        if room.held {
                            kw(room.heat_kw)
                        } else {
                            format!("more than {} (setpoint not held)", kw(room.heat_kw))
                        },
                        room.redundancy.clone(),
                        if room.thermal_single_points.is_empty() {
                            "none".into()
                        } else {
                            room.thermal_single_points
                                .iter()
                                .map(|p| {
                                    format!(
                                        "{} ({} servers after {})",
                                        p.component,
                                        p.servers_shut_down,
                                        crate::outcome::secs(p.first_shutdown_after_s)
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join(", ")
                        },
                    ]
                })
                .collect();
            d.table(
                &[
                    "room",
                    "class",
                    "cooling units",
                    "capacity",
                    "heat",
                    "redundancy",
                    "thermal single points",
                ],
                &rows,
            );
        }
        if !c.fail_to_start.is_empty() {
            d.heading("Generators failing to start on demand");
            d.para(
                "The generator is unavailable and the utility behind its ATS is lost at t = 60 s.",
            );
            d.table(&CASE_HEADER, &case_rows(&c.fail_to_start));
        }
        d.heading("Redundancy per stage");
        d.para("Facts about this topology from the simulations above — not a Tier certification.");
        let rows: Vec<Vec<String>> = c
            .stages
            .iter()
            .map(|s| {
                vec![
                    s.stage.clone(),
                    s.units.len().to_string(),
                    s.sides.to_string(),
                    s.redundancy.clone(),
                    s.reason.clone(),
                ]
            })
            .collect();
        d.table(&["stage", "units", "sides", "redundancy", "why"], &rows);
        d.heading("Concurrent maintainability");
        maintainability_section(&c.maintainability, d);
        if let Some(p) = &c.n2 {
            d.heading("N-2: pairs of components");
            d.para(&format!(
                "{} pairs of components that are not single points of failure; {} skipped (one is never live while the other is lost, so the pair is the single failure again); {} simulated; {} drop IT load.",
                p.considered,
                p.pruned_dominated,
                p.simulated,
                p.dropping.len()
            ));
            if !p.dropping.is_empty() {
                let mut header = CASE_HEADER;
                header[0] = "pair";
                d.table(&header, &case_rows(&p.dropping));
            }
        }
        d.para(&format!("{} simulator runs.", c.runs));
    }
    if let Some(a) = &r.availability {
        d.heading("Availability (Monte Carlo)");
        d.para(&format!(
            "{} simulated years, seed {}, jumping from event to event; 95 % confidence intervals over the per-year values.",
            a.years, a.seed
        ));
        let mut rows = vec![
            vec![
                "availability".into(),
                format!("{} %", est(&a.availability_pct, 5)),
            ],
            vec![
                "IT downtime".into(),
                format!("{} h/yr", est(&a.downtime_h_per_year, 4)),
            ],
            vec![
                "IT outages".into(),
                format!("{} /yr", est(&a.outages_per_year, 4)),
            ],
            vec![
                "unserved IT energy".into(),
                format!("{} kWh/yr", est(&a.unserved_kwh_per_year, 3)),
            ],
            vec![
                "component failures".into(),
                format!("{:.3} /yr", a.failures_per_year),
            ],
            vec![
                "generator starts".into(),
                format!(
                    "{} demanded, {} failed to start",
                    a.generator_demands, a.generator_fail_to_start
                ),
            ],
            vec![
                "failed sets simulated".into(),
                a.distinct_states.to_string(),
            ],
        ];
        if a.servers_in_rooms > 0 {
            rows.insert(
                4,
                vec![
                    "of which thermal".into(),
                    format!(
                        "{} h/yr with servers stopped by heat ({} thermal outage{} in all)",
                        est(&a.thermal_downtime_h_per_year, 4),
                        a.thermal_outages,
                        if a.thermal_outages == 1 { "" } else { "s" }
                    ),
                ],
            );
        }
        d.table(&["measure", "mean [95 % CI]"], &rows);
        if a.outages_per_year.mean == 0.0 {
            d.para(&format!(
                "No IT outage in {} years: the interval is degenerate. With none seen, the outage rate is below about {:.2e} per year (95 %, rule of three: 3 / years).",
                a.years,
                3.0 / a.years as f64
            ));
        }
        d.chart(svg::bars(
            "Simulated years by IT downtime in the year",
            &a.downtime_histogram
                .iter()
                .map(|b| Bar {
                    label: b.label.to_string(),
                    value: b.years as f64,
                    color: "#1f77b4",
                    note: format!("{} years", b.years),
                })
                .collect::<Vec<_>>(),
        ));
        d.chart(svg::line(
            "Running availability estimate",
            "simulated years",
            "availability [%]",
            &a.convergence
                .iter()
                .map(|&(y, p)| (y as f64, p))
                .collect::<Vec<_>>(),
        ));
    }
    d.heading("Reliability figures used");
    let rows: Vec<Vec<String>> = r
        .reliability
        .iter()
        .map(|f| {
            vec![
                f.id.clone(),
                f.kind.clone(),
                f.mtbf_h.map_or("never fails".into(), |m| format!("{m}")),
                format!("{}", f.mttr_h),
                if f.kind == "generator" {
                    format!("{}", f.fail_to_start)
                } else {
                    "-".into()
                },
                format!("{:.7}", f.availability),
                f.origin.to_string(),
            ]
        })
        .collect();
    d.table(
        &[
            "node",
            "kind",
            "mtbf_h",
            "mttr_h",
            "fail_to_start",
            "A = MTBF/(MTBF+MTTR)",
            "from",
        ],
        &rows,
    );
    d.finish()
}

fn sweep_doc(r: &SweepReport, d: &mut dyn Doc) -> String {
    let s = &r.sweep;
    d.title(&format!(
        "Sweep of \"{}\" ({})",
        s.scenario, r.scenario_file
    ));
    d.para(&format!(
        "{} {} · inputs SHA-256 {} · {} combination(s) of {}",
        r.program,
        r.version,
        r.inputs_sha256,
        s.rows.len(),
        s.parameters.join(" × ")
    ));
    let header = r.header();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    d.table(&header, &r.cells());
    // A chart of each numeric column against the first parameter, when it is numeric.
    for col in &r.columns {
        let points: Vec<(f64, f64)> = s
            .rows
            .iter()
            .filter_map(|row| Some((row.values.first()?.parse::<f64>().ok()?, row.number(col)?)))
            .collect();
        if points.len() >= 2 && s.parameters.len() == 1 {
            d.chart(svg::line(col, &s.parameters[0], col, &points));
        }
    }
    if !s.expectations.is_empty() {
        d.heading("Expectations");
        let rows: Vec<Vec<String>> = s
            .expectations
            .iter()
            .enumerate()
            .map(|(k, e)| {
                let held = s
                    .rows
                    .iter()
                    .filter(|row| row.verdicts.get(k) == Some(&true))
                    .count();
                vec![
                    (k + 1).to_string(),
                    e.clone(),
                    format!("{held}/{}", s.rows.len()),
                ]
            })
            .collect();
        d.table(&["#", "expectation", "held in"], &rows);
    }
    d.para(&format!("Columns available: {}.", COLUMNS.join(", ")));
    d.finish()
}
