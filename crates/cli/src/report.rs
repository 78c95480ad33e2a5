//! A scenario run as text (terminal), JSON (`--json`) and CSV (`--csv`).

use std::fmt::Write;

use serde_json::{Value, json};
use winter_river_sim::FieldValue;
use winter_river_sim::scenario::{
    Check, Expected, Recording, RunReport, Scenario, SeriesValues, Verdict, Window,
};

/// A finished run with what it ran.
#[derive(Debug)]
pub struct Outcome<'a> {
    pub scenario: &'a Scenario,
    pub report: &'a RunReport,
    /// Wall-clock time of the run [s].
    pub wall_s: f64,
}

fn seen_text(v: &Verdict) -> String {
    match v.seen_t_s {
        Some(t) => format!("{} at t={t:.1}s", v.seen),
        None => "no step in the window".to_string(),
    }
}

/// The terminal report: timeline (optional), verdicts, summary line.
pub fn text(o: &Outcome<'_>, timeline: bool) -> String {
    let mut out = String::new();
    let s = o.scenario;
    let r = o.report;
    let _ = writeln!(out, "scenario: {} ({})", s.name, s.file);
    if timeline {
        let id_w = r.events.iter().map(|e| e.node_id.len()).max().unwrap_or(0);
        let t_w = r
            .events
            .iter()
            .map(|e| format!("{:.1}", e.t).len())
            .max()
            .unwrap_or(0)
            + 3;
        let _ = writeln!(out, "\nevents:");
        if r.events.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        for e in &r.events {
            let _ = writeln!(
                out,
                "  {:<t_w$}  {:<8}  {:<id_w$}  {}: {}",
                format!("t={:.1}s", e.t),
                e.severity.as_str(),
                e.node_id,
                e.event,
                e.message
            );
        }
    }
    let _ = writeln!(out, "\nexpectations:");
    if r.verdicts.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for v in &r.verdicts {
        let e = &s.expects[v.index];
        let _ = writeln!(
            out,
            "  {}  {}  (seen {})  [line {}]",
            if v.passed { "PASS" } else { "FAIL" },
            e.describe(),
            seen_text(v),
            e.loc.line
        );
    }
    let held = r.verdicts.len() - r.failed_count();
    let _ = writeln!(
        out,
        "\n{}: {held}/{} expectations hold, {} events, {} steps ({:.1} s simulated in {:.3} s)",
        if r.passed() { "PASSED" } else { "FAILED" },
        r.verdicts.len(),
        r.events.len(),
        r.steps,
        r.end_time_s,
        o.wall_s
    );
    out
}

fn field_json(v: &FieldValue) -> Value {
    match v {
        FieldValue::Num(n) if n.is_finite() => json!(n),
        FieldValue::Text(s) => json!(s),
        _ => Value::Null,
    }
}

fn verdict_json(s: &Scenario, v: &Verdict) -> Value {
    let e = &s.expects[v.index];
    let mut obj = json!({
        "index": v.index,
        "line": e.loc.line,
        "node": e.node,
        "field": e.field,
        "window": e.window_name(),
        "at_s": e.at_s,
        "tolerance": e.tolerance,
        "description": e.describe(),
        "passed": v.passed,
        "seen": field_json(&v.seen),
        "seen_t_s": v.seen_t_s,
    });
    if let Window::Eventually { until_s } | Window::Always { until_s } = e.window {
        obj["until_s"] = json!(until_s);
    }
    match &e.check {
        Check::Equals(Expected::Num(x)) => obj["equals"] = json!(x),
        Check::Equals(Expected::Text(x)) => obj["equals"] = json!(x),
        Check::Equals(Expected::Bool(x)) => obj["equals"] = json!(x),
        Check::Between { lo, hi } => obj["between"] = json!([lo, hi]),
    }
    obj
}

/// `{scenario, passed, verdicts, events, summary}`.
pub fn json(o: &Outcome<'_>) -> Value {
    let s = o.scenario;
    let r = o.report;
    json!({
        "scenario": s.name,
        "file": s.file,
        "topology": s.topology_file,
        "passed": r.passed(),
        "verdicts": r.verdicts.iter().map(|v| verdict_json(s, v)).collect::<Vec<_>>(),
        "events": r.events,
        "summary": {
            "expectations": r.verdicts.len(),
            "passed": r.verdicts.len() - r.failed_count(),
            "failed": r.failed_count(),
            "events": r.events.len(),
            "steps": r.steps,
            "step_ms": s.step_ms,
            "duration_s": s.duration_s,
            "sim_time_s": r.end_time_s,
            "wall_s": o.wall_s,
            "final_system": r.final_system,
            "peak_it_kw_lost": r.peak_it_kw_lost,
            "peak_it_kw_lost_t_s": r.peak_it_kw_lost_t_s,
        },
    })
}

/// Header `time_s,<series>…`, then one row per sample; an absent value is empty.
pub fn csv(rec: &Recording) -> String {
    let mut out = String::with_capacity(64 * rec.time_s.len().max(1));
    out.push_str("time_s");
    for s in &rec.series {
        out.push(',');
        out.push_str(&s.name);
    }
    out.push('\n');
    for (i, t) in rec.time_s.iter().enumerate() {
        let _ = write!(out, "{t}");
        for s in &rec.series {
            out.push(',');
            match &s.values {
                SeriesValues::Num(v) => {
                    if let Some(Some(x)) = v.get(i) {
                        let _ = write!(out, "{x}");
                    }
                }
                SeriesValues::Text(v) => out.push_str(v.get(i).copied().unwrap_or("")),
            }
        }
        out.push('\n');
    }
    out
}
