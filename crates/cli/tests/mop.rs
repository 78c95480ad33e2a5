//! Procedures through the `winter-river` binary: `mop check` and `scenario run` with
//! `[[step]]`s — each step and the exposure in the text report, `steps` and
//! `exposure` in `--json`, exit 1 naming the step that failed and why (refused by an
//! interlock, a `wait_for` not met, not reached by the end), exit 2 for `mop check` of
//! a file with no procedure.

use std::path::{Path, PathBuf};

mod run;
use run::{assert_exit, path_str, stdout, wr};

/// A scenario file in a fresh scratch folder for one test.
fn scenario_file(test: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("mop-tests")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let file = dir.join("mop.toml");
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
    file
}

/// Lines with runs of spaces squeezed to one: what a reader sees, not the alignment.
fn squeezed(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[track_caller]
fn assert_line(out: &str, line: &str) {
    assert!(
        squeezed(out).iter().any(|l| l == line),
        "no line {line:?} in\n{out}"
    );
}

/// The built-in seed chain, 60 s, the procedure from 10 s, one expectation.
fn seed_mop(steps: &str) -> String {
    format!(
        "name = \"mop test\"\nduration_s = 60\nprocedure_at_s = 10.0\n\n[[expect]]\nat_s = 0.0\nnode = \"system\"\nfield = \"it_kw_lost\"\nequals = 0.0\n\n{steps}"
    )
}

const STATIC_BYPASS: &str = "[[step]]\nnote = \"Transfer UPS A to static bypass\"\nnode = \"ups_a\"\ncommand = \"ups_mode\"\nparams = { mode = \"static_bypass\" }\nwait_for = { node = \"ups_a\", field = \"status\", equals = \"bypass\", within_s = 5.0 }\n";

const MAINTENANCE_BYPASS: &str = "[[step]]\nnote = \"Close the maintenance bypass\"\nnode = \"ups_a\"\ncommand = \"ups_mode\"\nparams = { mode = \"maintenance_bypass\" }\nafter_s = 10.0\nwait_for = { node = \"ups_a\", field = \"status\", equals = \"maintenance_bypass\", within_s = 5.0 }\n";

const REFUSAL: &str =
    "refused: ups_a is in normal: transfer it to static bypass first (ups_mode static_bypass)";

#[test]
fn mop_check_of_the_shipped_ups_mop_shows_each_step_and_the_exposure() {
    let o = wr(&["mop", "check", "scenarios/ups-a-maintenance-mop.toml"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert_line(
        &out,
        "1 DONE sent t=30.0s finished t=30.0s Transfer UPS A to static bypass",
    );
    assert_line(
        &out,
        "2 DONE sent t=40.0s finished t=40.0s Close the maintenance bypass (wrap-around): the load now bypasses the module",
    );
    assert_line(
        &out,
        "ups_a ups_mode mode=maintenance_bypass, until ups_a.status == \"maintenance_bypass\" (within 5 s) [line 41]",
    );
    assert_eq!(
        squeezed(&out)
            .iter()
            .filter(|l| l.contains(" DONE sent "))
            .count(),
        10
    );
    // The exposure: UPS A on maintenance bypass is exposed to a utility loss.
    assert_line(
        &out,
        "steps 2–9, from t=40.0s — ups_a on maintenance bypass; at times also ups_a open, locked out, failed:",
    );
    assert_line(&out, "util_a 30.0 kW at once, back after 10 s");
    assert_line(
        &out,
        "before step 1, from t=30.0s — every node in its normal position:",
    );
    assert_line(&out, "sw_a 30.0 kW after 1548 s (25.8 min) (ride-through)");
    assert_line(
        &out,
        "(not checked: the run stopped when the procedure ended)",
    );
    // The run stops when the last step is done, at 610 s of its 900.
    assert!(
        out.contains(
            "PASSED: 10/10 procedure steps done, expectations not checked, 10 events, 6101 simulation steps (610.0 s simulated in "
        ),
        "{out}"
    );
}

#[test]
fn scenario_run_of_the_mop_checks_its_expectations_too() {
    let o = wr(&[
        "scenario",
        "run",
        "-q",
        "scenarios/ups-a-maintenance-mop.toml",
    ]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert_line(&out, "util_a 30.0 kW at once, back after 10 s");
    assert!(
        out.contains(
            "PASSED: 10/10 procedure steps done, 3/3 expectations hold, 10 events, 9001 simulation steps (900.0 s simulated in "
        ),
        "{out}"
    );
    // `--check-only` is `mop check`.
    let o = wr(&[
        "scenario",
        "run",
        "--check-only",
        "scenarios/ups-a-maintenance-mop.toml",
    ]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("PASSED: 10/10 procedure steps done, expectations not checked"));
}

#[test]
fn a_mop_in_the_wrong_order_exits_1_naming_the_step_and_the_interlocks_reason() {
    // A first step that is allowed, then maintenance bypass before static bypass.
    let run_generator = "[[step]]\nnote = \"Start the generator by hand\"\nnode = \"gen_a\"\ncommand = \"gen_mode\"\nparams = { mode = \"run\" }\n";
    let file = scenario_file(
        "wrong-order",
        &seed_mop(&format!(
            "{run_generator}\n{MAINTENANCE_BYPASS}\n{}",
            STATIC_BYPASS.replace("[[step]]\n", "[[step]]\nafter_s = 5.0\n")
        )),
    );
    for args in [
        vec!["scenario", "run", path_str(&file)],
        vec!["mop", "check", path_str(&file)],
    ] {
        let o = wr(&args);
        assert_exit(&o, 1);
        let out = stdout(&o);
        assert_line(
            &out,
            &format!("FAILED step 2 (ups_a ups_mode mode=maintenance_bypass): {REFUSAL}"),
        );
        assert_line(
            &out,
            "2 REFUSED sent t=20.0s finished t=20.0s Close the maintenance bypass",
        );
        assert_line(&out, REFUSAL);
        assert_line(&out, "3 NOT SENT Transfer UPS A to static bypass");
        assert_line(&out, "step 3 not sent: step 2 failed");
        assert!(out.contains("FAILED: 1/3 procedure steps done"), "{out}");
    }
}

#[test]
fn an_unmet_wait_for_exits_1_naming_the_step_and_what_was_seen() {
    let file = scenario_file(
        "unmet-wait",
        &seed_mop(&STATIC_BYPASS.replace(
            "equals = \"bypass\", within_s = 5.0",
            "equals = \"maintenance_bypass\", within_s = 2.0",
        )),
    );
    let o = wr(&["mop", "check", path_str(&file)]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert_line(
        &out,
        "FAILED step 1 (ups_a ups_mode mode=static_bypass): timed out: ups_a.status == \"maintenance_bypass\" not met within 2 s (seen \"bypass\" at t=12.0s)",
    );
    assert_line(
        &out,
        "1 TIMED OUT sent t=10.0s finished t=12.0s Transfer UPS A to static bypass",
    );
}

#[test]
fn steps_not_reached_by_the_end_exit_1() {
    let file = scenario_file(
        "not-reached",
        &seed_mop(&format!(
            "{STATIC_BYPASS}\n{}",
            MAINTENANCE_BYPASS.replace("after_s = 10.0", "after_s = 55.0")
        )),
    );
    let o = wr(&["scenario", "run", path_str(&file)]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert_line(
        &out,
        "FAILED step 2 (ups_a ups_mode mode=maintenance_bypass): not reached: the run ended at t=60.0s before it was sent",
    );
    assert!(
        out.contains("FAILED: 1/2 procedure steps done, 1/1 expectations hold"),
        "{out}"
    );
}

#[test]
fn json_carries_the_steps_and_the_exposure() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mop-tests/json");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let json = dir.join("mop.json");
    let o = wr(&[
        "scenario",
        "run",
        "scenarios/ups-a-maintenance-mop.toml",
        "--json",
        path_str(&json),
    ]);
    assert_exit(&o, 0);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("--json is not JSON: {e}"));
    assert_eq!(v["passed"], true);
    assert_eq!(v["step_failure"], serde_json::Value::Null);
    let steps = v["steps"].as_array().cloned().unwrap_or_default();
    assert_eq!(steps.len(), 10);
    let s2 = &steps[1];
    assert_eq!(s2["step"], 2);
    assert_eq!(s2["node"], "ups_a");
    assert_eq!(s2["command"], "ups_mode");
    assert_eq!(s2["params"]["mode"], "maintenance_bypass");
    assert_eq!(s2["outcome"], "done");
    assert_eq!(s2["sent_at_s"], 40.0);
    assert_eq!(s2["finished_at_s"], 40.0);
    assert_eq!(
        s2["wait_for"]["condition"],
        "ups_a.status == \"maintenance_bypass\""
    );
    assert_eq!(v["summary"]["procedure_steps_done"], 10);

    let e = &v["exposure"];
    assert_eq!(e["components"], 7);
    let rows = e["rows"].as_array().cloned().unwrap_or_default();
    let labels: Vec<&str> = rows.iter().filter_map(|r| r["label"].as_str()).collect();
    assert_eq!(
        labels,
        [
            "before step 1",
            "steps 1–2",
            "steps 2–9",
            "steps 9–10",
            "after step 10"
        ]
    );
    let util = rows[2]["exposed"]
        .as_array()
        .and_then(|x| x.iter().find(|x| x["failure"] == "util_a"))
        .cloned()
        .unwrap_or_else(|| panic!("util_a not in {}", rows[2]));
    assert_eq!(util["lost_kw"], 30.0);
    assert_eq!(util["first_loss_after_s"], 0.0);
    assert_eq!(util["restored_after_s"], 10.0);
    assert_eq!(util["when"], "at once, back after 10 s");
    let interval = &e["intervals"][2];
    assert_eq!(interval["after_step"], 2);
    assert_eq!(interval["state_words"], "ups_a on maintenance bypass");
    assert_eq!(interval["state"][0]["node"], "ups_a");
    assert_eq!(interval["state"][0]["what"], "on maintenance bypass");

    // A failed step: its outcome and why, and the run's step_failure.
    let file = scenario_file("json-refused", &seed_mop(MAINTENANCE_BYPASS));
    let json = dir.join("refused.json");
    let o = wr(&["mop", "check", path_str(&file), "--json", path_str(&json)]);
    assert_exit(&o, 1);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["passed"], false);
    assert_eq!(v["check_only"], true);
    assert_eq!(v["steps"][0]["outcome"], "refused");
    assert_eq!(
        v["steps"][0]["reason"],
        "ups_a is in normal: transfer it to static bypass first (ups_mode static_bypass)"
    );
    assert_eq!(
        v["step_failure"],
        format!("step 1 (ups_a ups_mode mode=maintenance_bypass): {REFUSAL}")
    );
}

#[test]
fn mop_check_of_a_scenario_without_steps_exits_2() {
    let o = wr(&["mop", "check", "scenarios/utility-outage.toml"]);
    assert_exit(&o, 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("scenarios/utility-outage.toml: no [[step]]"),
        "{err}"
    );
}
