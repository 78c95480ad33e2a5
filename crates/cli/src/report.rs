//! A scenario run as text (terminal), JSON (`--json`) and CSV (`--csv`): the event
//! timeline, the procedure's steps and its exposure, the verdicts and the summary.

use std::fmt::Write;

use serde_json::{Value, json};
use winter_river_analysis::ProcedureExposure;
use winter_river_analysis::procedure::state_words;
use winter_river_protocol::encode_command;
use winter_river_sim::FieldValue;
use winter_river_sim::scenario::{
    Check, Expected, Recording, RunReport, Scenario, SeriesValues, StepOutcome, StepReport,
    Verdict, Window,
};

/// A finished run with what it ran.
#[derive(Debug)]
pub struct Outcome<'a> {
    pub scenario: &'a Scenario,
    pub report: &'a RunReport,
    /// Wall-clock time of the run [s].
    pub wall_s: f64,
    /// The procedure's exposure, when it has steps and it was computed, with its
    /// wall-clock time [s].
    pub exposure: Option<(&'a ProcedureExposure, f64)>,
}

/// `step 2 (ups_a ups_mode mode=maintenance_bypass): refused: …` for the first step
/// that was not done; `None` when every step was.
pub fn step_failure(o: &Outcome<'_>) -> Option<String> {
    let r = o.report;
    let failed = r.failed_step()?;
    let step = &o.scenario.steps[failed.index];
    let why = failed.why(step, r.end_time_s)?;
    Some(format!(
        "step {} ({}): {why}",
        failed.index + 1,
        step.describe()
    ))
}

fn t_text(t: Option<f64>) -> String {
    t.map_or_else(|| "-".to_string(), |t| format!("t={t:.1}s"))
}

fn outcome_word(s: &StepReport) -> &'static str {
    match s.outcome {
        StepOutcome::Done => "DONE",
        StepOutcome::Refused { .. } => "REFUSED",
        StepOutcome::TimedOut { .. } => "TIMED OUT",
        StepOutcome::NotReached => "NOT SENT",
    }
}

/// The procedure: one entry per step (number, outcome, sent and finished at, the
/// note; the command and what it waited for; why it failed).
fn steps_text(out: &mut String, o: &Outcome<'_>) {
    let s = o.scenario;
    let r = o.report;
    let _ = writeln!(
        out,
        "\nprocedure: {} from t={}s:",
        plural(s.steps.len(), "step"),
        s.procedure_at_s
    );
    let failed = r.failed_step();
    let t_w = r
        .procedure
        .iter()
        .flat_map(|p| [t_text(p.sent_at_s).len(), t_text(p.finished_at_s).len()])
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(15);
    for p in &r.procedure {
        let step = &s.steps[p.index];
        let note = if step.note.is_empty() {
            "(no note)"
        } else {
            &step.note
        };
        let times = match p.sent_at_s {
            Some(_) => format!(
                "sent {:<t_w$}  finished {:<t_w$}  ",
                t_text(p.sent_at_s),
                t_text(p.finished_at_s),
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "  {:>2}  {:<9}  {times}{note}",
            p.index + 1,
            outcome_word(p),
        );
        let waits = step.wait_for.as_ref().map_or(String::new(), |w| {
            format!(
                ", until {} (within {} s)",
                w.condition.describe_condition(),
                w.within_s
            )
        });
        let _ = writeln!(
            out,
            "{pad}{}{waits}  [line {}]",
            step.describe(),
            step.loc.line
        );
        if failed.is_some_and(|f| f.index == p.index)
            && let Some(why) = p.why(step, r.end_time_s)
        {
            let _ = writeln!(out, "{pad}{why}");
        }
    }
    // After a refused or timed-out step nothing is sent.
    if let Some(f) = failed.filter(|f| f.outcome != StepOutcome::NotReached)
        && f.index + 1 < s.steps.len()
    {
        let rest = if f.index + 2 == s.steps.len() {
            format!("step {}", f.index + 2)
        } else {
            format!("steps {}–{}", f.index + 2, s.steps.len())
        };
        let _ = writeln!(out, "  {rest} not sent: step {} failed", f.index + 1);
    }
}

/// `1 step`, `10 steps`.
fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The exposure: per merged interval, its state and each single failure that drops
/// IT load from it (kW, when).
fn exposure_text(out: &mut String, e: &ProcedureExposure, wall_s: f64) {
    let _ = writeln!(
        out,
        "\nexposure: single failures that drop IT load, from each interval's state \
         ({} components failed in turn; {} runs in {wall_s:.2} s, {:.1} h simulated):",
        e.components,
        e.runs,
        e.simulated_s / 3600.0
    );
    if e.rows.is_empty() {
        let _ = writeln!(out, "  (the procedure did not start)");
    }
    let id_w = e
        .rows
        .iter()
        .flat_map(|r| r.exposed.iter().map(|x| x.failure.len()))
        .max()
        .unwrap_or(0)
        .max("failure".len());
    for row in &e.rows {
        let _ = writeln!(
            out,
            "  {}, from t={:.1}s — {}:",
            row.label, row.t_s, row.state
        );
        let own = e
            .intervals
            .iter()
            .filter(|i| i.after_step >= row.first && i.after_step <= row.last)
            .max_by(|a, b| a.it_kw_lost.total_cmp(&b.it_kw_lost));
        if let Some(own) = own.filter(|i| i.it_kw_lost > 0.0) {
            let _ = writeln!(
                out,
                "    (left as it is, this state loses {:.1} kW {}; the figures below are beyond that)",
                own.it_kw_lost, own.it_kw_lost_when
            );
        }
        if row.exposed.is_empty() {
            let _ = writeln!(out, "    no single failure drops IT load");
            continue;
        }
        let _ = writeln!(out, "    {:<id_w$}  {:>9}  when", "failure", "IT lost");
        for x in &row.exposed {
            let _ = writeln!(
                out,
                "    {:<id_w$}  {:>9}  {}",
                x.failure,
                format!("{:.1} kW", x.lost_kw),
                x.when
            );
        }
    }
    if e.cut > 0 {
        let _ = writeln!(
            out,
            "  {} run{} had not settled {} after the failure and {} cut there",
            e.cut,
            if e.cut == 1 { "" } else { "s" },
            e.limit_words(),
            if e.cut == 1 { "was" } else { "were" }
        );
    }
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
    if !s.steps.is_empty() {
        steps_text(&mut out, o);
    }
    if let Some((e, wall_s)) = o.exposure {
        exposure_text(&mut out, e, wall_s);
    }
    let _ = writeln!(out, "\nexpectations:");
    if r.check_only {
        let _ = writeln!(
            out,
            "  (not checked: the run stopped when the procedure ended)"
        );
    } else if r.verdicts.is_empty() {
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
    let verdict = if r.passed() { "PASSED" } else { "FAILED" };
    if s.steps.is_empty() {
        let _ = writeln!(
            out,
            "\n{verdict}: {held}/{} expectations hold, {} events, {} steps ({:.1} s simulated in {:.3} s)",
            r.verdicts.len(),
            r.events.len(),
            r.steps,
            r.end_time_s,
            o.wall_s
        );
        return out;
    }
    if let Some(failure) = step_failure(o) {
        let _ = writeln!(out, "\nFAILED {failure}");
    }
    let done = r
        .procedure
        .iter()
        .filter(|p| p.outcome == StepOutcome::Done)
        .count();
    let expectations = if r.check_only {
        "expectations not checked".to_string()
    } else {
        format!("{held}/{} expectations hold", r.verdicts.len())
    };
    let _ = writeln!(
        out,
        "\n{verdict}: {done}/{} procedure steps done, {expectations}, {}, {} simulation steps ({:.1} s simulated in {:.3} s)",
        s.steps.len(),
        plural(r.events.len(), "event"),
        r.steps,
        r.end_time_s,
        o.wall_s
    );
    out
}

/// One procedure step as JSON: what it is and what became of it.
fn step_json(s: &Scenario, r: &RunReport, p: &StepReport) -> Value {
    let step = &s.steps[p.index];
    // The command's `params` as on the wire.
    let params = encode_command(&step.command)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .map_or(Value::Null, |v| v["params"].clone());
    let mut obj = json!({
        "step": p.index + 1,
        "line": step.loc.line,
        "note": step.note,
        "node": step.node,
        "command": step.command.name(),
        "params": params,
        "description": step.describe(),
        "after_s": step.after_s,
        "wait_for": step.wait_for.as_ref().map(|w| json!({
            "condition": w.condition.describe_condition(),
            "within_s": w.within_s,
        })),
        "sent_at_s": p.sent_at_s,
        "finished_at_s": p.finished_at_s,
        "outcome": p.outcome.name(),
        "why": p.why(step, r.end_time_s),
    });
    match &p.outcome {
        StepOutcome::Refused { reason } => obj["reason"] = json!(reason),
        StepOutcome::TimedOut {
            seen,
            seen_t_s,
            by_end,
        } => {
            obj["seen"] = field_json(seen);
            obj["seen_t_s"] = json!(seen_t_s);
            obj["by_end"] = json!(by_end);
        }
        StepOutcome::Done | StepOutcome::NotReached => {}
    }
    obj
}

/// The exposure as JSON: its rows (merged intervals, with the state in words) and
/// every interval with its state's parts.
fn exposure_json(e: &ProcedureExposure, wall_s: f64) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
    v["wall_s"] = json!(wall_s);
    if let Some(intervals) = v["intervals"].as_array_mut() {
        for (i, interval) in intervals.iter_mut().zip(&e.intervals) {
            i["state_words"] = json!(state_words(&interval.state));
        }
    }
    v
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

/// `{scenario, passed, verdicts, steps, exposure, events, summary}`.
pub fn json(o: &Outcome<'_>) -> Value {
    let s = o.scenario;
    let r = o.report;
    let done = r
        .procedure
        .iter()
        .filter(|p| p.outcome == StepOutcome::Done)
        .count();
    json!({
        "scenario": s.name,
        "file": s.file,
        "topology": s.topology_file,
        "passed": r.passed(),
        "check_only": r.check_only,
        "verdicts": r.verdicts.iter().map(|v| verdict_json(s, v)).collect::<Vec<_>>(),
        "procedure_at_s": s.procedure_at_s,
        "steps": r.procedure.iter().map(|p| step_json(s, r, p)).collect::<Vec<_>>(),
        "step_failure": step_failure(o),
        "exposure": o.exposure.map(|(e, wall_s)| exposure_json(e, wall_s)),
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
            "procedure_steps": s.steps.len(),
            "procedure_steps_done": done,
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
