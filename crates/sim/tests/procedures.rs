//! Procedures played headless (docs/scenarios.md, "Procedures"): each `[[step]]` sent
//! `after_s` after the previous one finished, finished when its `wait_for` holds; a
//! refused step, an unmet `wait_for` or a step not reached by the end fails the run,
//! naming the step; no step after a failed one; `check_only` stops when the
//! procedure ends; snapshots for the exposure on request.

use std::path::{Path, PathBuf};

use winter_river_protocol::EventKind;
use winter_river_sim::scenario::{RunOptions, RunReport, Scenario, StepOutcome, run};
use winter_river_sim::{FieldValue, Target};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_file(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| e.to_string())
}

fn parse(src: &str) -> Scenario {
    let file = repo_root().join("scenarios/test.toml");
    Scenario::from_toml_str(src, &file.display().to_string(), read_file)
        .unwrap_or_else(|e| panic!("scenario refused: {e}"))
}

fn shipped(name: &str) -> Scenario {
    let path = repo_root().join("scenarios").join(name);
    let src = read_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Scenario::from_toml_str(&src, &path.display().to_string(), read_file)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn run_with(s: &Scenario, options: &RunOptions) -> RunReport {
    run(s, options).unwrap_or_else(|e| panic!("{e}"))
}

/// The built-in seed chain, 60 s, and the given steps (and anything else).
fn seed_with(rest: &str) -> Scenario {
    parse(&format!(
        "name = \"procedure test\"\nduration_s = 60\nprocedure_at_s = 10.0\n\n[[expect]]\nat_s = 0.0\nnode = \"system\"\nfield = \"it_kw_lost\"\nequals = 0.0\n\n{rest}"
    ))
}

const STATIC_BYPASS: &str = "[[step]]\nnote = \"Transfer UPS A to static bypass\"\nnode = \"ups_a\"\ncommand = \"ups_mode\"\nparams = { mode = \"static_bypass\" }\nwait_for = { node = \"ups_a\", field = \"status\", equals = \"bypass\", within_s = 5.0 }\n";

const MAINTENANCE_BYPASS: &str = "[[step]]\nnote = \"Close the maintenance bypass\"\nnode = \"ups_a\"\ncommand = \"ups_mode\"\nparams = { mode = \"maintenance_bypass\" }\nafter_s = 10.0\nwait_for = { node = \"ups_a\", field = \"status\", equals = \"maintenance_bypass\", within_s = 5.0 }\n";

#[test]
fn the_shipped_ups_mop_does_every_step_at_the_time_its_header_works_out() {
    let s = shipped("ups-a-maintenance-mop.toml");
    let r = run_with(&s, &RunOptions::default());
    assert_eq!(r.procedure.len(), 10);
    let sent: Vec<Option<f64>> = r.procedure.iter().map(|p| p.sent_at_s).collect();
    let expected = [
        30.0, 40.0, 50.0, 55.0, 100.0, 500.0, 590.0, 595.0, 600.0, 610.0,
    ];
    assert_eq!(sent, expected.map(Some).to_vec());
    for p in &r.procedure {
        assert_eq!(p.outcome, StepOutcome::Done, "step {}", p.index + 1);
        // Every command is answered at the step it applies.
        assert_eq!(p.finished_at_s, p.sent_at_s, "step {}", p.index + 1);
    }
    assert!(r.passed(), "{:?}", r.verdicts);
    assert!(r.failed_step().is_none());
    // No snapshots unless asked.
    assert!(r.snapshots.is_empty());
    assert_eq!(r.end_time_s, 900.0);
    assert_eq!(
        s.steps[1].describe(),
        "ups_a ups_mode mode=maintenance_bypass"
    );
}

#[test]
fn maintenance_bypass_before_static_bypass_is_refused_and_nothing_after_it_is_sent() {
    let s = seed_with(&format!(
        "{MAINTENANCE_BYPASS}\n{}",
        STATIC_BYPASS.replace("[[step]]\n", "[[step]]\nafter_s = 5.0\n")
    ));
    let r = run_with(&s, &RunOptions::default());
    let first = &r.procedure[0];
    // after_s = 10 from the procedure's start at 10 s.
    assert_eq!(first.sent_at_s, Some(20.0));
    assert_eq!(first.finished_at_s, Some(20.0));
    let reason = "ups_a is in normal: transfer it to static bypass first (ups_mode static_bypass)";
    assert_eq!(
        first.outcome,
        StepOutcome::Refused {
            reason: reason.into()
        }
    );
    assert_eq!(r.procedure[1].outcome, StepOutcome::NotReached);
    assert_eq!(r.procedure[1].sent_at_s, None);
    assert!(!r.passed(), "a refused step fails the run");
    assert_eq!(r.failed_step().map(|f| f.index), Some(0));
    assert_eq!(
        first.why(&s.steps[0], r.end_time_s).as_deref(),
        Some(format!("refused: {reason}").as_str())
    );
    // The second step was never sent: the UPS never changed mode.
    assert!(!r.events.iter().any(|e| e.event == EventKind::Mode));
    assert_eq!(
        r.events
            .iter()
            .filter(|e| e.event == EventKind::Refused)
            .count(),
        1
    );
}

#[test]
fn a_wait_for_not_met_in_time_fails_the_step_with_what_was_seen() {
    // Static bypass reads `bypass`, never `maintenance_bypass`.
    let s = seed_with(
        "[[step]]\nnode = \"ups_a\"\ncommand = \"ups_mode\"\nparams = { mode = \"static_bypass\" }\nwait_for = { node = \"ups_a\", field = \"status\", equals = \"maintenance_bypass\", within_s = 2.0 }\n\n[[step]]\nnode = \"ups_a\"\ncommand = \"ups_mode\"\nparams = { mode = \"normal\" }\n",
    );
    let r = run_with(&s, &RunOptions::default());
    let p = &r.procedure[0];
    assert_eq!(p.sent_at_s, Some(10.0));
    assert_eq!(p.finished_at_s, Some(12.0), "sent + within_s");
    assert_eq!(
        p.outcome,
        StepOutcome::TimedOut {
            seen: FieldValue::Text("bypass".into()),
            seen_t_s: 12.0,
            by_end: false,
        }
    );
    assert_eq!(
        p.why(&s.steps[0], r.end_time_s).as_deref(),
        Some(
            "timed out: ups_a.status == \"maintenance_bypass\" not met within 2 s (seen \"bypass\" at t=12.0s)"
        )
    );
    assert_eq!(r.procedure[1].outcome, StepOutcome::NotReached);
    assert!(!r.passed());
}

#[test]
fn a_step_waits_for_its_condition_and_the_next_is_sent_after_s_later() {
    // The utility fails at 10 s: the ATS transfers to the generator 3 s + 7 s later.
    let s = seed_with(
        "[[step]]\nnote = \"Utility lost\"\nnode = \"util_a\"\ncommand = \"set_fault\"\nparams = { state = true }\nwait_for = { node = \"sw_a\", field = \"source\", equals = \"gen_a\", within_s = 15.0 }\n\n[[step]]\nnode = \"util_a\"\ncommand = \"set_fault\"\nparams = { state = false }\nafter_s = 5.0\n",
    );
    let r = run_with(&s, &RunOptions::default());
    assert_eq!(r.procedure[0].sent_at_s, Some(10.0));
    assert_eq!(r.procedure[0].finished_at_s, Some(20.0));
    assert_eq!(r.procedure[1].sent_at_s, Some(25.0));
    assert_eq!(r.procedure[1].finished_at_s, Some(25.0));
    assert!(r.passed());
}

#[test]
fn steps_not_reached_by_the_end_fail_the_run() {
    // Step 2 would be sent 55 s after step 1 (done at 10 s), after the 60 s run.
    let s = seed_with(&format!(
        "{STATIC_BYPASS}\n{}",
        MAINTENANCE_BYPASS.replace("after_s = 10.0", "after_s = 55.0")
    ));
    let r = run_with(&s, &RunOptions::default());
    assert_eq!(r.procedure[0].outcome, StepOutcome::Done);
    assert_eq!(r.procedure[1].outcome, StepOutcome::NotReached);
    assert!(!r.passed(), "expectations hold, but a step was not reached");
    assert!(r.verdicts.iter().all(|v| v.passed));
    assert_eq!(
        r.procedure[1].why(&s.steps[1], r.end_time_s).as_deref(),
        Some("not reached: the run ended at t=60.0s before it was sent")
    );
}

#[test]
fn a_wait_still_open_when_the_run_ends_times_out_by_the_end() {
    let s = seed_with(
        "[[step]]\nnode = \"ups_a\"\ncommand = \"ups_mode\"\nparams = { mode = \"static_bypass\" }\nafter_s = 45.0\nwait_for = { node = \"ups_a\", field = \"status\", equals = \"ok\", within_s = 30.0 }\n",
    );
    let r = run_with(&s, &RunOptions::default());
    let p = &r.procedure[0];
    assert_eq!(p.sent_at_s, Some(55.0));
    assert_eq!(p.finished_at_s, None);
    assert!(matches!(
        p.outcome,
        StepOutcome::TimedOut { by_end: true, .. }
    ));
    assert_eq!(
        p.why(&s.steps[0], r.end_time_s).as_deref(),
        Some(
            "timed out: ups_a.status == \"ok\" not met by the end of the run at t=60.0s (5.0 s of its 30 s) (seen \"bypass\" at t=60.0s)"
        )
    );
    assert!(!r.passed());
}

#[test]
fn check_only_stops_when_the_procedure_ends_and_checks_no_expectation() {
    let s = shipped("ups-a-maintenance-mop.toml");
    let r = run_with(
        &s,
        &RunOptions {
            check_only: true,
            snapshots: true,
            ..RunOptions::default()
        },
    );
    assert!(r.check_only);
    assert_eq!(r.end_time_s, 610.0, "the last step finished at 610 s");
    assert!(r.verdicts.is_empty());
    assert!(r.passed());
    // One snapshot as the procedure starts, one after each step done.
    let at: Vec<(usize, f64)> = r.snapshots.iter().map(|s| (s.after_step, s.t_s)).collect();
    assert_eq!(
        at,
        vec![
            (0, 30.0),
            (1, 30.0),
            (2, 40.0),
            (3, 50.0),
            (4, 55.0),
            (5, 100.0),
            (6, 500.0),
            (7, 590.0),
            (8, 595.0),
            (9, 600.0),
            (10, 610.0)
        ]
    );
    // The first snapshot is the site before step 1 applies; the third after step 2.
    let ups_a = Target::Node(s.topology.node_index("ups_a").unwrap_or(usize::MAX));
    assert_eq!(
        r.snapshots[0].sim.field(ups_a, "mode"),
        FieldValue::Text("normal".into())
    );
    assert_eq!(
        r.snapshots[2].sim.field(ups_a, "mode"),
        FieldValue::Text("maintenance_bypass".into())
    );
}

#[test]
fn check_only_stops_at_a_failed_step() {
    let s = seed_with(MAINTENANCE_BYPASS);
    let r = run_with(
        &s,
        &RunOptions {
            check_only: true,
            ..RunOptions::default()
        },
    );
    assert_eq!(r.end_time_s, 20.0, "refused at 20 s, the run stops there");
    assert!(matches!(
        r.procedure[0].outcome,
        StepOutcome::Refused { .. }
    ));
    assert!(!r.passed());
}
