//! A procedure's exposure (docs/scenarios.md, "Exposure"), from the scenario runner's
//! snapshots: on the seed chain (docs/topology.md) UPS A on maintenance bypass is
//! exposed to a loss of util_a at once, for the 30 kW it feeds; intervals exposed
//! alike merge; a state that drops IT load by itself shows only what failures add.

use std::path::{Path, PathBuf};

use winter_river_analysis::procedure::{self, ExposureConfig, ProcedureExposure};
use winter_river_protocol::NodeKind;
use winter_river_sim::KindParams;
use winter_river_sim::scenario::{RunOptions, Scenario, run};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_file(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| e.to_string())
}

fn scenario(name: &str, src: Option<&str>) -> Scenario {
    let path = repo_root().join("scenarios").join(name);
    let src = match src {
        Some(s) => s.to_string(),
        None => read_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    };
    Scenario::from_toml_str(&src, &path.display().to_string(), read_file)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn exposure_of(s: &Scenario) -> ProcedureExposure {
    let options = RunOptions {
        snapshots: true,
        check_only: true,
        ..RunOptions::default()
    };
    let report = run(s, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.passed(), "{:?}", report.failed_step());
    procedure::exposure(&report.snapshots, s.steps.len(), &ExposureConfig::default())
}

/// IT demand of the servers fed through `node` (walking feeds down the chain) [kW].
fn it_fed_by(s: &Scenario, node: &str) -> f64 {
    let t = &s.topology;
    let start = t.node_index(node).unwrap_or(usize::MAX);
    let below = |i: usize| -> bool {
        let mut stack = vec![i];
        while let Some(j) = stack.pop() {
            if j == start {
                return true;
            }
            stack.extend_from_slice(&t.node(j).feeds);
        }
        false
    };
    (0..t.len())
        .filter(|&i| t.node(i).kind() == NodeKind::Server && below(i))
        .map(|i| match &t.node(i).params {
            KindParams::Server(p) => p.demand_kw,
            _ => 0.0,
        })
        .sum()
}

#[test]
fn ups_a_on_maintenance_bypass_is_exposed_to_util_a_at_once_for_what_it_feeds() {
    let s = scenario("ups-a-maintenance-mop.toml", None);
    let e = exposure_of(&s);
    let ups_a_feeds_kw = it_fed_by(&s, "ups_a");
    assert_eq!(ups_a_feeds_kw, 30.0);

    // After step 2 (maintenance bypass closed).
    let interval = &e.intervals[2];
    assert_eq!(interval.after_step, 2);
    assert_eq!(interval.t_s, 40.0);
    assert_eq!(
        procedure::state_words(&interval.state),
        "ups_a on maintenance bypass"
    );
    let util = interval
        .exposed
        .iter()
        .find(|x| x.failure == "util_a")
        .unwrap_or_else(|| panic!("util_a not named: {:?}", interval.exposed));
    assert_eq!(util.lost_kw, ups_a_feeds_kw);
    assert_eq!(util.first_loss_after_s, 0.0);
    // Back when the ATS has transferred to the generator: 3 s delay + 7 s start.
    assert_eq!(util.restored_after_s, Some(10.0));
    assert_eq!(util.when, "at once, back after 10 s");
    assert_eq!(
        util.sentence(),
        "a loss of util_a drops 30.0 kW at once, back after 10 s"
    );

    // Before step 1 the battery bridges a utility loss: util_a is no exposure.
    assert!(e.intervals[0].exposed.iter().all(|x| x.failure != "util_a"));
    assert_eq!(
        procedure::state_words(&e.intervals[0].state),
        "every node in its normal position"
    );
}

#[test]
fn intervals_exposed_alike_merge_and_name_their_state() {
    let s = scenario("ups-a-maintenance-mop.toml", None);
    let e = exposure_of(&s);
    assert_eq!(e.steps, 10);
    assert_eq!(
        e.components, 7,
        "every node of the seed chain but the servers"
    );
    assert_eq!(e.intervals.len(), 11);
    // 11 states × (7 failures + the state alone), but ups_a cannot fail again in
    // the state where it is already failed (after step 5).
    assert_eq!(e.runs, 87);
    assert_eq!(e.cut, 0);
    let rows: Vec<(&str, &str)> = e
        .rows
        .iter()
        .map(|r| (r.label.as_str(), r.state.as_str()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("before step 1", "every node in its normal position"),
            ("steps 1–2", "ups_a on static bypass"),
            (
                "steps 2–9",
                "ups_a on maintenance bypass; at times also ups_a open, locked out, failed"
            ),
            ("steps 9–10", "ups_a on static bypass"),
            ("after step 10", "every node in its normal position"),
        ]
    );
    let failures = |k: usize| -> Vec<(&str, String)> {
        e.rows[k]
            .exposed
            .iter()
            .map(|x| {
                (
                    x.failure.as_str(),
                    format!("{:.1} kW {}", x.lost_kw, x.when),
                )
            })
            .collect()
    };
    let battery = "30.0 kW after 1548 s (25.8 min) (ride-through)".to_string();
    let at_once = "30.0 kW at once".to_string();
    let bridged = "30.0 kW at once, back after 10 s".to_string();
    assert_eq!(
        failures(0),
        vec![
            ("sw_a", battery.clone()),
            ("dist_a", battery.clone()),
            ("ups_a", at_once.clone()),
            ("pdu_a", at_once.clone()),
        ]
    );
    assert_eq!(
        failures(1),
        vec![
            ("sw_a", battery.clone()),
            ("dist_a", battery.clone()),
            ("pdu_a", at_once.clone()),
        ]
    );
    assert_eq!(
        failures(2),
        vec![
            ("util_a", bridged.clone()),
            ("trf_a", bridged),
            ("sw_a", at_once.clone()),
            ("dist_a", at_once.clone()),
            ("pdu_a", at_once),
        ]
    );
    assert_eq!(e.rows[4].exposed, e.rows[0].exposed);
    assert_eq!(e.rows[0].exposed[0].first_loss_after_s, 1548.2);
}

#[test]
fn a_state_that_drops_the_load_by_itself_shows_only_what_failures_add() {
    // pdu_a opened: all 30 kW lost by the state itself; no failure can add to it.
    let s = scenario(
        "pdu-open-test.toml",
        Some(
            "duration_s = 60\n[[expect]]\nat_s = 0.0\nnode = \"system\"\nfield = \"it_kw\"\nequals = 30.0\n\n[[step]]\nnode = \"pdu_a\"\ncommand = \"open\"\nafter_s = 5.0\nwait_for = { node = \"system\", field = \"it_kw_lost\", equals = 30.0, within_s = 1.0 }\n",
        ),
    );
    let e = exposure_of(&s);
    let after = &e.intervals[1];
    assert_eq!(procedure::state_words(&after.state), "pdu_a open");
    assert_eq!(after.it_kw_lost, 30.0);
    assert!(after.exposed.is_empty(), "{:?}", after.exposed);
    // Before it, pdu_a itself was one of the exposures.
    assert!(e.intervals[0].exposed.iter().any(|x| x.failure == "pdu_a"));
}
