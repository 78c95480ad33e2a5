//! Scenario files (docs/scenarios.md): every shipped scenario in `scenarios/` holds;
//! broken scenarios are refused with the file, line, key and reason; the runner's
//! `at`, `eventually` and `always` semantics and its recorder.

use std::path::{Path, PathBuf};

use winter_river_sim::FieldValue;
use winter_river_sim::scenario::{RunOptions, Scenario, ScenarioError, Window, run};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_file(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| e.to_string())
}

/// Parses a scenario given as text; its `topology`, if any, is read from disk
/// relative to `scenarios/`.
fn parse(src: &str) -> Result<Scenario, ScenarioError> {
    let file = repo_root().join("scenarios/test.toml");
    Scenario::from_toml_str(src, &file.display().to_string(), read_file)
}

fn parse_ok(src: &str) -> Scenario {
    match parse(src) {
        Ok(s) => s,
        Err(e) => panic!("scenario refused: {e}"),
    }
}

/// Asserts that `src` is refused at `line` about `key`, with `reason` in the message.
#[track_caller]
fn assert_refused(src: &str, line: usize, key: &str, reason: &str) {
    match parse(src) {
        Ok(_) => panic!("accepted, expected an error about `{key}` at line {line}"),
        Err(e) => {
            assert_eq!(e.line, Some(line), "wrong line in: {e}");
            assert_eq!(e.key.as_deref(), Some(key), "wrong key in: {e}");
            assert!(
                e.reason.contains(reason),
                "reason {:?} lacks {reason:?}",
                e.reason
            );
            let shown = e.to_string();
            assert!(
                shown.contains(&format!("test.toml:{line}: `{key}`: ")),
                "display: {shown}"
            );
        }
    }
}

/// The `.toml` files of a folder of the repository, sorted.
fn shipped_in(folder: &str) -> Vec<PathBuf> {
    let dir = repo_root().join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Every shipped scenario and every drill of the library (`drills/`, played headless
/// as scripted: a drill is its own regression test) holds: each expectation, and
/// each procedure step done.
#[test]
fn every_shipped_scenario_and_drill_passes() {
    let scenarios = shipped_in("scenarios");
    let drills = shipped_in("drills");
    assert!(
        scenarios.len() >= 5,
        "expected at least 5 scenarios, found {scenarios:?}"
    );
    assert!(
        drills.len() >= 6,
        "expected at least 6 drills, found {drills:?}"
    );
    let mut failures = Vec::new();
    for path in scenarios.iter().chain(&drills) {
        let src = read_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let scenario = Scenario::from_toml_str(&src, &path.display().to_string(), read_file)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !scenario.expects.is_empty(),
            "{}: no expectations",
            path.display()
        );
        let report = run(&scenario, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let failures_before = failures.len();
        for v in report.verdicts.iter().filter(|v| !v.passed) {
            let e = &scenario.expects[v.index];
            failures.push(format!(
                "{}:{}: {} — seen {} at {:?}",
                path.display(),
                e.loc.line,
                e.describe(),
                v.seen,
                v.seen_t_s
            ));
        }
        for step in &report.procedure {
            if let Some(why) = step.why(&scenario.steps[step.index], report.end_time_s) {
                failures.push(format!(
                    "{}:{}: step {}: {why}",
                    path.display(),
                    scenario.steps[step.index].loc.line,
                    step.index + 1
                ));
            }
        }
        if !scenario.steps.is_empty() {
            assert_eq!(
                report.procedure.len(),
                scenario.steps.len(),
                "{}: every step reported",
                path.display()
            );
        }
        assert_eq!(
            report.passed(),
            failures.len() == failures_before,
            "{}: passed() agrees with the verdicts and steps",
            path.display()
        );
    }
    assert!(
        failures.is_empty(),
        "failed expectations or steps:\n{}",
        failures.join("\n")
    );
}

#[test]
fn shipped_scenarios_cover_the_required_cases() {
    for name in [
        "utility-outage",
        "generator-fails-to-start",
        "breaker-trip",
        "2n-side-loss",
        "fuel-exhaustion",
        "sts-transfer",
        "ups-maintenance-bypass",
        "generator-left-in-off",
        "ats-monthly-test",
        "epo-and-recovery",
        "lockout-tagout",
    ] {
        let path = repo_root().join(format!("scenarios/{name}.toml"));
        assert!(path.exists(), "missing {}", path.display());
    }
}

// ── Parsing ─────────────────────────────────────────────────────────────────────

const OUTAGE: &str = r#"
name = "outage"
duration_s = 120

[overrides.ups_a]
battery_kwh = 20.0

[[event]]
at_s = 60.0
node = "util_a"
command = "set_fault"
params = { state = true }

[[expect]]
at_s = 61.0
node = "ups_a"
field = "status"
equals = "on_battery"
"#;

#[test]
fn parses_the_format_with_defaults() {
    let s = parse_ok(OUTAGE);
    assert_eq!(s.name, "outage");
    assert_eq!(s.step_ms, 100);
    assert_eq!(s.duration_s, 120.0);
    assert!(
        s.topology_file.is_none(),
        "no `topology` = the built-in default"
    );
    assert_eq!(s.topology.len(), 8);
    assert_eq!(s.overrides.len(), 1);
    assert_eq!(s.overrides[0].loc.line, 6);
    assert_eq!(s.events.len(), 1);
    assert_eq!(s.events[0].at_s, 60.0);
    assert_eq!(s.expects[0].window, Window::At);
    assert_eq!(s.expects[0].tolerance, 1e-6);
    let ups = s
        .topology
        .node_index("ups_a")
        .map(|i| s.topology.node(i).params.named());
    let battery = ups.and_then(|p| p.into_iter().find(|(k, _)| *k == "battery_kwh"));
    assert_eq!(battery, Some(("battery_kwh", 20.0)), "override applied");
}

#[test]
fn topology_is_read_relative_to_the_scenario_file() {
    let s = parse_ok("topology = \"../topologies/2n.toml\"\nduration_s = 10\n");
    assert!(s.topology.node_index("ups_b").is_some());
    assert!(
        s.topology_file
            .as_deref()
            .is_some_and(|f| f.ends_with("topologies/2n.toml"))
    );
}

#[test]
fn refuses_a_toml_syntax_error_with_its_line() {
    let e = parse("duration_s = 10\n\n[[event]\nat_s = 1\n").err();
    assert_eq!(e.and_then(|e| e.line), Some(3));
}

#[test]
fn refuses_an_unknown_top_level_key() {
    assert_refused(
        "duration_s = 10\nsteps_ms = 100\n",
        2,
        "steps_ms",
        "unknown key",
    );
}

#[test]
fn refuses_a_missing_duration() {
    let e = parse("name = \"x\"\n").err();
    assert_eq!(e.and_then(|e| e.key), Some("duration_s".to_string()));
}

#[test]
fn refuses_a_bad_step() {
    assert_refused(
        "duration_s = 10\nstep_ms = 0.5\n",
        2,
        "step_ms",
        "whole number",
    );
}

#[test]
fn refuses_an_unknown_node_in_an_event() {
    let src = "duration_s = 100\n\n[[event]]\nat_s = 1.0\nnode = \"util_z\"\ncommand = \"set_fault\"\nparams = { state = true }\n";
    assert_refused(src, 5, "event.node", "unknown node `util_z`");
}

#[test]
fn refuses_an_unknown_command() {
    let src = "duration_s = 100\n[[event]]\nat_s = 1.0\nnode = \"util_a\"\ncommand = \"explode\"\n";
    assert_refused(src, 5, "event.command", "unknown command `explode`");
}

#[test]
fn refuses_missing_and_unknown_params() {
    let src = "duration_s = 100\n[[event]]\nat_s = 1.0\nnode = \"srv_a\"\ncommand = \"set_load\"\nparams = { watts = 3 }\n";
    assert_refused(src, 6, "event.params.watts", "unknown parameter");
    let src = "duration_s = 100\n[[event]]\nat_s = 1.0\nnode = \"util_a\"\ncommand = \"set_fault\"\nparams = { state = 1 }\n";
    assert_refused(src, 6, "event.params.state", "true or false");
}

#[test]
fn refuses_set_load_on_a_node_that_is_not_a_load() {
    let src = "duration_s = 100\n[[event]]\nat_s = 1.0\nnode = \"ups_a\"\ncommand = \"set_load\"\nparams = { kw = 3 }\n";
    assert_refused(src, 4, "event.node", "applies to loads");
}

/// Which kinds a command applies to is the protocol's command table: a command sent
/// to a node of another kind is refused at the `[[event]]`'s node, with the reason.
#[test]
fn refuses_a_command_that_does_not_apply_to_the_node_kind() {
    let src = "topology = \"../topologies/sts.toml\"\nduration_s = 100\n\n[[event]]\nat_s = 1.0\nnode = \"sts_1\"\ncommand = \"set_load\"\nparams = { kw = 3 }\n";
    assert_refused(
        src,
        6,
        "event.node",
        "`set_load` applies to loads (server, cooling, load), not to `sts_1` (sts)",
    );
    let e = parse(src).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.ends_with("scenarios/test.toml:6: `event.node`: `set_load` applies to loads (server, cooling, load), not to `sts_1` (sts)"), "{e}");
    // The same command on a load is accepted.
    let ok = src.replace("\"sts_1\"", "\"srv_s1\"");
    assert_eq!(parse_ok(&ok).events.len(), 1);
}

#[test]
fn refuses_an_event_beyond_the_duration() {
    let src = "duration_s = 100\n[[event]]\nat_s = 100.5\nnode = \"util_a\"\ncommand = \"reset\"\n";
    assert_refused(src, 3, "event.at_s", "beyond duration_s");
}

#[test]
fn refuses_an_unknown_field_for_the_target() {
    // `battery_pct` is a node field, not a system one.
    let src = "duration_s = 100\n[[expect]]\nat_s = 1.0\nnode = \"system\"\nfield = \"battery_pct\"\nequals = 1.0\n";
    assert_refused(
        src,
        5,
        "expect.field",
        "unknown field `battery_pct` for SystemStatus",
    );
    let src = "duration_s = 100\n[[expect]]\nat_s = 1.0\nnode = \"ups_a\"\nfield = \"statuz\"\nequals = \"ok\"\n";
    assert_refused(src, 5, "expect.field", "unknown field `statuz`");
}

#[test]
fn refuses_an_unknown_node_in_an_expectation() {
    let src = "duration_s = 100\n[[expect]]\nat_s = 1.0\nnode = \"ups_z\"\nfield = \"status\"\nequals = \"ok\"\n";
    assert_refused(src, 4, "expect.node", "unknown node `ups_z`");
}

#[test]
fn refuses_until_before_at() {
    let src = "duration_s = 100\n[[expect]]\nat_s = 10.0\nuntil_s = 5.0\nnode = \"system\"\nfield = \"it_kw\"\nequals = 30\n";
    assert_refused(src, 4, "expect.until_s", "before at_s");
}

#[test]
fn refuses_an_expectation_beyond_the_duration() {
    let src = "duration_s = 100\n[[expect]]\nat_s = 10.0\nuntil_s = 200.0\nnode = \"system\"\nfield = \"it_kw\"\nequals = 30\n";
    assert_refused(src, 4, "expect.until_s", "beyond duration_s");
}

#[test]
fn refuses_equals_and_between_together() {
    let src = "duration_s = 100\n[[expect]]\nat_s = 10.0\nnode = \"system\"\nfield = \"it_kw\"\nequals = 30\nbetween = [0, 40]\n";
    assert_refused(src, 7, "expect.between", "not both");
}

#[test]
fn refuses_an_expectation_without_a_check() {
    let src = "duration_s = 100\n[[expect]]\nat_s = 10.0\nnode = \"system\"\nfield = \"it_kw\"\n";
    let e = parse(src).err();
    assert_eq!(e.as_ref().and_then(|e| e.key.as_deref()), Some("expect"));
    assert!(e.is_some_and(|e| e.reason.contains("`equals` or `between`")));
}

#[test]
fn refuses_words_and_numbers_in_the_wrong_place() {
    let src = "duration_s = 100\n[[expect]]\nat_s = 10.0\nnode = \"ups_a\"\nfield = \"status\"\nequals = \"on_batery\"\n";
    assert_refused(src, 6, "expect.equals", "unknown status");
    let src = "duration_s = 100\n[[expect]]\nat_s = 10.0\nnode = \"ups_a\"\nfield = \"battery_pct\"\nequals = \"full\"\n";
    assert_refused(src, 6, "expect.equals", "is a number");
    let src = "duration_s = 100\n[[expect]]\nat_s = 10.0\nnode = \"sw_a\"\nfield = \"source\"\nbetween = [0, 1]\n";
    assert_refused(src, 6, "expect.between", "is a word");
    let src = "duration_s = 100\n[[expect]]\nat_s = 10.0\nnode = \"sw_a\"\nfield = \"source\"\nequals = \"gen_z\"\n";
    assert_refused(src, 6, "expect.equals", "not a node");
}

#[test]
fn refuses_an_unknown_key_in_an_expectation() {
    let src = "duration_s = 100\n[[expect]]\nat_s = 10.0\nnode = \"system\"\nfield = \"it_kw\"\nequals = 30\ntolerence = 0.1\n";
    assert_refused(src, 7, "expect.tolerence", "unknown key");
}

#[test]
fn refuses_always_without_until() {
    let src = "duration_s = 100\n[[expect]]\nat_s = 10.0\nalways = true\nnode = \"system\"\nfield = \"it_kw\"\nequals = 30\n";
    assert_refused(src, 4, "expect.always", "needs `until_s`");
}

#[test]
fn refuses_an_override_of_an_unknown_node_or_key() {
    assert_refused(
        "duration_s = 10\n[overrides.ups_z]\nbattery_kwh = 1.0\n",
        3,
        "ups_z",
        "no node `ups_z`",
    );
    assert_refused(
        "duration_s = 10\n[overrides.ups_a]\nbattery_kw = 1.0\n",
        3,
        "battery_kw",
        "unknown key",
    );
    assert_refused(
        "duration_s = 10\n[overrides.ups_a]\nefficiency = 1.5\n",
        3,
        "efficiency",
        "out of range",
    );
}

#[test]
fn refuses_a_missing_topology_file_at_its_line() {
    assert_refused(
        "duration_s = 10\ntopology = \"nope.toml\"\n",
        2,
        "topology",
        "cannot read",
    );
}

#[test]
fn a_bad_topology_is_reported_in_the_topology_file() {
    let file = repo_root().join("scenarios/test.toml");
    let e = Scenario::from_toml_str(
        "topology = \"t.toml\"\nduration_s = 10\n",
        &file.display().to_string(),
        |_| Ok("[[node]]\nid = \"util_a\"\nkind = \"utility\"\nvoltage = -1.0\n".to_string()),
    )
    .err();
    let e = e.map(|e| (e.file.ends_with("t.toml"), e.line, e.key));
    assert_eq!(e, Some((true, Some(4), Some("voltage".to_string()))));
}

// ── Running ─────────────────────────────────────────────────────────────────────

/// The built-in chain with a utility outage at 60 s and one expectation.
fn outage_with(expect: &str) -> Scenario {
    parse_ok(&format!(
        "duration_s = 120\n[[event]]\nat_s = 60.0\nnode = \"util_a\"\ncommand = \"set_fault\"\nparams = {{ state = true }}\n[[expect]]\n{expect}\n"
    ))
}

#[test]
fn at_is_checked_on_the_first_step_at_or_after_its_time() {
    let s =
        outage_with("at_s = 59.95\nnode = \"ups_a\"\nfield = \"status\"\nequals = \"on_battery\"");
    let r = run(&s, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.passed());
    assert_eq!(
        r.verdicts[0].seen_t_s.map(|t| (t * 10.0).round() / 10.0),
        Some(60.0)
    );

    let s =
        outage_with("at_s = 59.9\nnode = \"ups_a\"\nfield = \"status\"\nequals = \"on_battery\"");
    let r = run(&s, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!r.passed());
    assert_eq!(r.verdicts[0].seen, FieldValue::Text("ok".into()));
}

#[test]
fn eventually_passes_when_one_step_holds_and_reports_the_closest_otherwise() {
    let s = outage_with(
        "at_s = 60.0\nuntil_s = 75.0\nnode = \"sw_a\"\nfield = \"source\"\nequals = \"gen_a\"",
    );
    let r = run(&s, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.passed(), "{:?}", r.verdicts);

    // The battery never gets below 99 % in this window: fail, with the lowest value seen.
    let s = outage_with(
        "at_s = 60.0\nuntil_s = 65.0\nnode = \"ups_a\"\nfield = \"battery_pct\"\nbetween = [0, 99]",
    );
    let r = run(&s, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let v = &r.verdicts[0];
    assert!(!v.passed);
    // ≈ 5 s at 32.555616 kW out of 14 kWh: 100 − 100 · 32.555616 · 5 / 3600 / 14 ≈ 99.677.
    match v.seen {
        FieldValue::Num(x) => assert!(x < 99.7 && x > 99.6, "closest value {x}"),
        ref other => panic!("expected a number, saw {other}"),
    }
}

#[test]
fn always_reports_the_first_violation() {
    let s = outage_with(
        "at_s = 0.0\nuntil_s = 120.0\nalways = true\nnode = \"system\"\nfield = \"source\"\nequals = \"utility\"",
    );
    let r = run(&s, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let v = &r.verdicts[0];
    assert!(!v.passed);
    assert_eq!(v.seen, FieldValue::Text("battery".into()));
    assert_eq!(v.seen_t_s.map(|t| (t * 10.0).round() / 10.0), Some(60.0));
}

#[test]
fn a_missing_value_fails() {
    // No IT load → no PUE.
    let s = parse_ok(
        "duration_s = 10\n[[event]]\nat_s = 0.0\nnode = \"srv_a\"\ncommand = \"set_load\"\nparams = { kw = 0.0 }\n[[expect]]\nat_s = 5.0\nnode = \"system\"\nfield = \"pue\"\nbetween = [0, 100]\n",
    );
    let r = run(&s, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!r.passed());
    assert_eq!(r.verdicts[0].seen, FieldValue::Missing);
}

#[test]
fn events_at_the_same_time_apply_in_file_order() {
    // Fault then restore at the same instant: restored wins.
    let s = parse_ok(
        "duration_s = 10\n[[event]]\nat_s = 5.0\nnode = \"util_a\"\ncommand = \"set_fault\"\nparams = { state = true }\n[[event]]\nat_s = 5.0\nnode = \"util_a\"\ncommand = \"set_fault\"\nparams = { state = false }\n[[expect]]\nat_s = 0.0\nuntil_s = 10.0\nalways = true\nnode = \"util_a\"\nfield = \"status\"\nequals = \"ok\"\n",
    );
    let r = run(&s, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.passed(), "{:?}", r.verdicts);
}

#[test]
fn the_run_ends_at_the_duration_and_collects_the_timeline() {
    let s = outage_with("at_s = 120.0\nnode = \"system\"\nfield = \"it_kw_lost\"\nequals = 0");
    let r = run(&s, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.steps, 1201, "t = 0, 0.1, …, 120");
    assert!((r.end_time_s - 120.0).abs() < 1e-9);
    assert!(r.events.iter().any(|e| e.node_id == "util_a"
        && e.event == winter_river_protocol::EventKind::Fault
        && (e.t - 60.0).abs() < 1e-9));
    assert!(r.recording.is_none());
}

#[test]
fn the_recorder_samples_every_second() {
    let s = outage_with("at_s = 120.0\nnode = \"system\"\nfield = \"it_kw_lost\"\nequals = 0");
    let r = run(
        &s,
        &RunOptions {
            sample_every_s: Some(1.0),
            ..RunOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rec = r.recording.unwrap_or_else(|| panic!("no recording"));
    assert_eq!(rec.time_s.len(), 121);
    for name in [
        "it_kw",
        "facility_kw",
        "pue",
        "it_kw_lost",
        "it_kwh_unserved",
        "runtime_s",
        "fuel_pct",
        "ups_a.power_kw",
        "ups_a.status",
        "ups_a.battery_pct",
        "srv_a.power_kw",
    ] {
        assert!(rec.get(name).is_some(), "no series {name}");
    }
    use winter_river_sim::scenario::SeriesValues;
    match rec.get("ups_a.status").map(|s| &s.values) {
        Some(SeriesValues::Text(v)) => {
            assert_eq!(v[59], "ok");
            assert_eq!(v[60], "on_battery");
        }
        other => panic!("ups_a.status: {other:?}"),
    }
}

#[test]
fn the_report_carries_the_peak_it_load_lost_and_when() {
    let file = repo_root().join("scenarios/generator-fails-to-start.toml");
    let src = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
    let sc = Scenario::from_toml_str(&src, &file.display().to_string(), read_file)
        .unwrap_or_else(|e| panic!("{e}"));
    let report = run(&sc, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    // The UPS runs flat at 1608.2 s and the whole 30 kW of IT goes with it.
    assert!(
        (report.peak_it_kw_lost - 30.0).abs() < 1e-9,
        "{}",
        report.peak_it_kw_lost
    );
    let t = report
        .peak_it_kw_lost_t_s
        .unwrap_or_else(|| panic!("no peak time"));
    assert!((t - 1608.2).abs() < 1e-6, "{t}");

    // A scenario that loses nothing has no peak time.
    let quiet = parse_ok("name = \"quiet\"\nduration_s = 5.0\n");
    let report = run(&quiet, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.peak_it_kw_lost, 0.0);
    assert_eq!(report.peak_it_kw_lost_t_s, None);
}

// ── Operator commands and expectations on events ───────────────────────────────

#[test]
fn operator_commands_are_checked_against_their_rows() {
    // A mode must be one of its command's choices.
    let src = "duration_s = 100\n[[event]]\nat_s = 1.0\nnode = \"gen_a\"\ncommand = \"gen_mode\"\nparams = { mode = \"manual\" }\n";
    assert_refused(
        src,
        6,
        "event.params.mode",
        "must be one of auto, off or run",
    );
    // A transfer names a node of the topology (whether it is a feed is the
    // interlock's, at run time).
    let src = "duration_s = 100\n[[event]]\nat_s = 1.0\nnode = \"sw_a\"\ncommand = \"transfer\"\nparams = { to = \"gen_z\" }\n";
    assert_refused(src, 6, "event.params.to", "unknown node `gen_z`");
    // `ups_mode` is the UPS's.
    let src = "duration_s = 100\n[[event]]\nat_s = 1.0\nnode = \"sw_a\"\ncommand = \"ups_mode\"\nparams = { mode = \"normal\" }\n";
    assert_refused(src, 4, "event.node", "`ups_mode` applies to ups nodes only");
}

#[test]
fn site_wide_commands_go_to_system_and_only_they_do() {
    let ok =
        parse_ok("duration_s = 100\n[[event]]\nat_s = 1.0\nnode = \"system\"\ncommand = \"epo\"\n");
    assert_eq!(ok.events[0].node, "system");
    let src = "duration_s = 100\n[[event]]\nat_s = 1.0\nnode = \"system\"\ncommand = \"open\"\n";
    assert_refused(
        src,
        4,
        "event.node",
        "`open` is not a site-wide command: name a node (`system` takes reset or epo)",
    );
    let src = "duration_s = 100\n[[event]]\nat_s = 1.0\nnode = \"ups_a\"\ncommand = \"epo\"\n";
    assert_refused(
        src,
        4,
        "event.node",
        "`epo` applies to the site as a whole (send it to `system`)",
    );
}

#[test]
fn an_expectation_on_an_event_holds_when_it_happens_in_its_window() {
    // A refused command: close of a closed breaker.
    let src = |window: &str| {
        format!(
            "duration_s = 100\n[[event]]\nat_s = 10.0\nnode = \"pdu_a\"\ncommand = \"close\"\n[[expect]]\n{window}\nevent = \"refused\"\n"
        )
    };
    let verdict = |window: &str| {
        let scenario = parse_ok(&src(window));
        let report = run(&scenario, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        report.verdicts[0].passed
    };
    assert!(verdict("at_s = 5.0\nuntil_s = 20.0\nnode = \"pdu_a\""));
    assert!(verdict("at_s = 10.0"), "any node, at the step it happens");
    assert!(
        !verdict("at_s = 11.0\nuntil_s = 20.0\nnode = \"pdu_a\""),
        "after it"
    );
    assert!(
        !verdict("at_s = 5.0\nuntil_s = 20.0\nnode = \"ups_a\""),
        "another node"
    );
    let scenario = parse_ok(&src("at_s = 5.0\nuntil_s = 20.0\nnode = \"pdu_a\""));
    assert_eq!(
        scenario.expects[0].describe(),
        "event refused on pdu_a at some t in [5, 20] s"
    );
    // The refusal is reported in the timeline and does not by itself fail the run.
    let report = run(&scenario, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let refusal = report
        .events
        .iter()
        .find(|e| e.node_id == "pdu_a")
        .unwrap_or_else(|| panic!("no event for pdu_a"));
    assert_eq!(refusal.reason.as_deref(), Some("pdu_a is already closed"));
}

#[test]
fn refuses_malformed_expectations_on_events() {
    let base = "duration_s = 100\n[[expect]]\nat_s = 1.0\n";
    assert_refused(
        &format!("{base}event = \"exploded\"\n"),
        4,
        "expect.event",
        "unknown event `exploded`",
    );
    assert_refused(
        &format!("{base}until_s = 5.0\nalways = true\nevent = \"refused\"\n"),
        5,
        "expect.always",
        "drop `always`",
    );
    assert_refused(
        &format!("{base}event = \"refused\"\nfield = \"status\"\n"),
        5,
        "expect.field",
        "takes no field",
    );
    assert_refused(
        &format!("{base}event = \"refused\"\nnode = \"ups_z\"\n"),
        5,
        "expect.node",
        "unknown node `ups_z`",
    );
}

#[test]
fn refuses_an_unknown_mode_or_breaker_word_in_equals() {
    let base = "duration_s = 100\n[[expect]]\nat_s = 1.0\nnode = \"ups_a\"\n";
    assert_refused(
        &format!("{base}field = \"mode\"\nequals = \"maintenance\"\n"),
        6,
        "expect.equals",
        "unknown mode \"maintenance\"",
    );
    assert_refused(
        &format!("{base}field = \"breaker\"\nequals = \"locked\"\n"),
        6,
        "expect.equals",
        "unknown breaker position \"locked\"",
    );
}
