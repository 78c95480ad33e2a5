//! `[[step]]` tables and `procedure_at_s` (docs/scenarios.md, "Procedures"): what a
//! MOP file says is what the model holds, and a mistake in one is refused naming the
//! file, the line, the key (`step.…`) and the reason — with the same checks as
//! `[[event]]` and `[[expect]]`.

use std::path::{Path, PathBuf};

use winter_river_protocol::{Command, Mode};
use winter_river_sim::scenario::{Check, Expected, Scenario, ScenarioError};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse(src: &str) -> Result<Scenario, ScenarioError> {
    let file = repo_root().join("scenarios/mop.toml");
    Scenario::from_toml_str(src, &file.display().to_string(), |p| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
}

#[track_caller]
fn assert_refused(src: &str, line: usize, key: &str, reason: &str) {
    match parse(src) {
        Ok(_) => panic!("accepted, expected an error about `{key}` at line {line}"),
        Err(e) => {
            assert_eq!(e.line, Some(line), "wrong line in: {e}");
            assert_eq!(e.key.as_deref(), Some(key), "wrong key in: {e}");
            assert!(e.reason.contains(reason), "{:?} lacks {reason:?}", e.reason);
            assert!(
                e.to_string()
                    .contains(&format!("mop.toml:{line}: `{key}`: ")),
                "{e}"
            );
        }
    }
}

const MOP: &str = r#"duration_s = 300
procedure_at_s = 10.0

[[step]]
note = "Transfer UPS A to static bypass"
node = "ups_a"
command = "ups_mode"
params = { mode = "static_bypass" }
after_s = 5.0
late_after_s = 60.0
wait_for = { node = "ups_a", field = "status", equals = "bypass", within_s = 30.0 }

[[step]]
node = "system"
command = "epo"
wait_for = { event = "open", node = "ups_a", within_s = 1.0 }
"#;

#[test]
fn a_procedure_is_read_as_written() {
    let s = parse(MOP).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.procedure_at_s, 10.0);
    assert_eq!(s.steps.len(), 2);
    let first = &s.steps[0];
    assert_eq!(first.note, "Transfer UPS A to static bypass");
    assert_eq!(first.node, "ups_a");
    assert_eq!(
        first.command,
        Command::UpsMode {
            mode: Mode::StaticBypass
        }
    );
    assert_eq!(first.after_s, 5.0);
    assert_eq!(first.late_after_s, Some(60.0));
    assert_eq!(first.loc.line, 4);
    let wait = first.wait_for.as_ref().expect("wait_for");
    assert_eq!(wait.within_s, 30.0);
    assert_eq!(wait.condition.node, "ups_a");
    assert_eq!(wait.condition.field, "status");
    assert_eq!(
        wait.condition.check,
        Check::Equals(Expected::Text("bypass".into()))
    );
    let second = &s.steps[1];
    assert_eq!(
        (second.node.as_str(), &second.command),
        ("system", &Command::Epo)
    );
    assert_eq!(second.note, "");
    assert_eq!(second.after_s, 0.0);
    assert_eq!(second.late_after_s, None);
    let on_event = &second.wait_for.as_ref().expect("wait_for").condition;
    assert_eq!(on_event.event.map(|e| e.as_str()), Some("open"));
    assert_eq!(on_event.node, "ups_a");
}

#[test]
fn without_steps_a_scenario_has_no_procedure() {
    let s = parse("duration_s = 10\n").unwrap_or_else(|e| panic!("{e}"));
    assert!(s.steps.is_empty());
    assert_eq!(s.procedure_at_s, 0.0);
}

#[test]
fn a_step_s_mistakes_are_named_by_key() {
    let head = "duration_s = 300\n\n[[step]]\nnode = \"ups_a\"\n";
    // line 5 onwards is each case's own
    assert_refused(
        &format!("{head}command = \"ups_mode\"\nparams = {{ mode = \"bypass\" }}\n"),
        6,
        "step.params.mode",
        "must be one of",
    );
    assert_refused(
        &format!("{head}command = \"transfer\"\nparams = {{ to = \"trf_a\" }}\n"),
        4,
        "step.node",
        "applies to switchgear",
    );
    assert_refused(
        &format!("{head}command = \"open\"\nwhen_s = 3\n"),
        6,
        "step.when_s",
        "unknown key in [[step]]",
    );
    assert_refused(
        "duration_s = 300\n\n[[step]]\nnode = \"ups_z\"\ncommand = \"open\"\n",
        4,
        "step.node",
        "unknown node `ups_z`",
    );
    assert_refused(
        "duration_s = 300\n\n[[step]]\nnode = \"ups_a\"\n",
        3,
        "step.command",
        "[[step]] has no `command`",
    );
    assert_refused(
        &format!("{head}command = \"open\"\nafter_s = 400\n"),
        6,
        "step.after_s",
        "beyond duration_s",
    );
    assert_refused(
        "duration_s = 300\nprocedure_at_s = -1\n",
        2,
        "procedure_at_s",
        "must be >= 0",
    );
}

#[test]
fn a_wait_for_s_mistakes_are_named_by_key() {
    let step = "duration_s = 300\n\n[[step]]\nnode = \"ups_a\"\ncommand = \"open\"\n";
    assert_refused(
        &format!(
            "{step}wait_for = {{ node = \"ups_a\", field = \"breaker\", equals = \"open\" }}\n"
        ),
        6,
        "step.wait_for.within_s",
        "needs `within_s`",
    );
    assert_refused(
        &format!(
            "{step}wait_for = {{ node = \"ups_a\", field = \"brekaer\", equals = \"open\", within_s = 5 }}\n"
        ),
        6,
        "step.wait_for.field",
        "unknown field `brekaer`",
    );
    assert_refused(
        &format!(
            "{step}wait_for = {{ node = \"ups_a\", field = \"breaker\", equals = \"opened\", within_s = 5 }}\n"
        ),
        6,
        "step.wait_for.equals",
        "unknown breaker position \"opened\"",
    );
    assert_refused(
        &format!(
            "{step}wait_for = {{ node = \"ups_a\", field = \"status\", equals = \"ok\", within_s = 0.01 }}\n"
        ),
        6,
        "step.wait_for.within_s",
        "shorter than one step",
    );
    assert_refused(
        &format!(
            "{step}wait_for = {{ node = \"ups_a\", field = \"status\", equals = \"ok\", within_s = 5, always = true }}\n"
        ),
        6,
        "step.wait_for.always",
        "unknown key in [[step.wait_for]]",
    );
    assert_refused(
        &format!("{step}wait_for = \"bypass\"\n"),
        6,
        "step.wait_for",
        "must be a table",
    );
}

#[test]
fn every_shipped_drill_parses_with_its_steps() {
    let dir = repo_root().join("drills");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let s = Scenario::from_toml_str(&text, &path.display().to_string(), |p| {
            std::fs::read_to_string(p).map_err(|e| e.to_string())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !s.steps.is_empty(),
            "{}: a drill without steps",
            path.display()
        );
        assert!(
            !s.expects.is_empty(),
            "{}: a drill without expectations",
            path.display()
        );
        assert!(
            text.starts_with("# ") && text.contains("Source:"),
            "{}: a drill cites its source in its header",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 6, "the drill library has {n} drills");
}
