//! Scenarios through the engine core (the path live commands take) give exactly what
//! they give on the bare simulator: the same events, verdicts, recordings and final
//! site, for every shipped scenario; and a command the engine drops fails the run
//! with the engine's reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use winter_river_engine_core::scenario::{self as engine_scenario, EnginePlant};
use winter_river_protocol::EventKind;
use winter_river_sim::scenario::{self, RunOptions, Scenario};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(path: &Path) -> Scenario {
    let src = std::fs::read_to_string(path).unwrap();
    Scenario::from_toml_str(&src, &path.display().to_string(), |p| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Every shipped scenario and every drill of the library.
fn shipped() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["scenarios", "drills"]
        .iter()
        .flat_map(|d| std::fs::read_dir(repo_root().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_scenario_gives_the_same_report_through_the_engine() {
    let files = shipped();
    assert!(files.len() >= 5, "scenarios/ has {} files", files.len());
    let options = RunOptions {
        sample_every_s: Some(1.0),
        ..RunOptions::default()
    };
    for file in files {
        let sc = load(&file);
        let direct = scenario::run(&sc, &options).unwrap();
        let engine = engine_scenario::run(&sc, &options).unwrap();
        let name = file.display();
        assert!(engine.passed(), "{name}: fails through the engine");
        assert_eq!(engine.steps, direct.steps, "{name}: steps");
        assert_eq!(engine.end_time_s, direct.end_time_s, "{name}: end time");
        assert_eq!(engine.events, direct.events, "{name}: events");
        assert_eq!(engine.verdicts, direct.verdicts, "{name}: verdicts");
        assert_eq!(
            engine.procedure, direct.procedure,
            "{name}: procedure steps"
        );
        assert_eq!(engine.recording, direct.recording, "{name}: recording");
        assert_eq!(
            engine.final_system, direct.final_system,
            "{name}: final site"
        );
        assert_eq!(
            engine.peak_it_kw_lost, direct.peak_it_kw_lost,
            "{name}: peak"
        );
        assert_eq!(
            engine.peak_it_kw_lost_t_s, direct.peak_it_kw_lost_t_s,
            "{name}: peak time"
        );
    }
}

#[test]
fn a_command_at_zero_acts_before_the_first_step() {
    let sc = load_str(
        r#"
name = "fault at zero"
duration_s = 1
[[event]]
at_s = 0
node = "util_a"
command = "set_fault"
params = { state = true }
[[expect]]
at_s = 0
node = "util_a"
field = "status"
equals = "fault"
"#,
    );
    let report = engine_scenario::run(&sc, &RunOptions::default()).unwrap();
    assert!(report.passed(), "{:?}", report.verdicts);
    assert_eq!(report.events[0].t, 0.0);
    assert_eq!(report.events[0].node_id, "util_a");
    assert_eq!(report.events[0].event, EventKind::Fault);
}

#[test]
fn the_engine_publishes_what_live_would() {
    let sc = load(&shipped()[0]);
    let mut plant = EnginePlant::new(&sc).unwrap();
    scenario::run_on(&mut plant, &sc, &RunOptions::default()).unwrap();
    // At least the 1 Hz system status and one update per node every 5 s.
    let at_least = sc.duration_s as u64 + sc.topology.len() as u64 * (sc.duration_s as u64 / 5);
    assert!(
        plant.published() >= at_least,
        "published {} < {at_least}",
        plant.published()
    );
    assert_eq!(plant.core().counters().rejected_total(), 0);
}

#[test]
fn a_command_the_engine_drops_fails_the_run_naming_the_event() {
    let mut sc = load_str(
        r#"
name = "load knob"
duration_s = 2
[[event]]
at_s = 1
node = "srv_a"
command = "set_load"
params = { kw = 5.0 }
"#,
    );
    // The parser refuses `set_load` on a transformer; a scenario built in code can
    // still carry one, and then the engine drops it as it would a board's message.
    sc.events[0].node = "trf_a".to_string();
    let err = engine_scenario::run(&sc, &RunOptions::default()).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("event"));
    assert_eq!(err.line, Some(5), "{err}"); // the event's `at_s`
    assert!(err.reason.contains("(not_applicable)"), "{err}");
    assert!(err.reason.contains("winter-river/trf_a/command"), "{err}");
}

fn load_str(src: &str) -> Scenario {
    let file = repo_root().join("scenarios/inline.toml");
    Scenario::from_toml_str(src, &file.display().to_string(), |p| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}
