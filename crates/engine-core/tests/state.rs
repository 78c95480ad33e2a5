//! The engine's whole state saved mid-drill and resumed by another engine (as the
//! state file does across a crash, docs/live.md): the drill keeps its clock, its
//! ticked steps, its fired injects and its verdicts, the site its time, faults and
//! battery, and both engines publish the same from there to the debrief. A state
//! that is truncated, corrupt or of another site is refused with the reason and
//! changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use winter_river_engine_core::{EngineConfig, EngineCore, EngineState};
use winter_river_protocol::{DrillState, NodeState, StepState};
use winter_river_sim::{Scenario, Topology};

const P: &str = "winter-river";
const DRILL: &str = include_str!("../../drill/tests/fixtures/utility-loss.toml");
const FILE: &str = "utility-loss.toml";

fn scenario() -> Scenario {
    Scenario::from_toml_str(DRILL, FILE, |_| Err("none".into())).unwrap()
}

/// An engine on the seed chain with the drill loaded, as `up --drill` starts it.
fn engine() -> EngineCore {
    let mut core = EngineCore::new(Topology::builtin_default(), EngineConfig::default()).unwrap();
    core.load_drill(scenario(), FILE).unwrap();
    core.handle_connected(0);
    core
}

fn send(core: &mut EngineCore, now_ms: u64, t: &str, payload: &str) {
    core.handle_message(now_ms, &format!("{P}/{t}"), payload.as_bytes());
}

fn drain(core: &mut EngineCore) {
    while core.poll_outgoing().is_some() {}
}

#[test]
fn a_running_drill_resumes_with_its_clock_steps_and_injects() {
    let mut a = engine();
    let mut now_ms = 0;
    let tick = |core: &mut EngineCore, now_ms: &mut u64| {
        *now_ms += 100;
        core.handle_tick(*now_ms);
        drain(core);
    };
    for _ in 0..10 {
        tick(&mut a, &mut now_ms);
    }
    send(
        &mut a,
        now_ms,
        "system/drill/command",
        r#"{"command":"start"}"#,
    );
    let clock = |c: &EngineCore| c.drill().unwrap().clock_s();
    while clock(&a) < 7.0 {
        tick(&mut a, &mut now_ms);
    }
    // Step 1 ticked from the dashboard; injects 0 and 1 (gen_a, util_a) fired.
    send(
        &mut a,
        now_ms,
        "srv_a/command",
        r#"{"command":"set_load","params":{"kw":10.0},"channel":"dashboard"}"#,
    );
    while clock(&a) < 12.0 {
        tick(&mut a, &mut now_ms);
    }
    let saved = a.drill_status();
    assert_eq!(saved.state, DrillState::Running);
    assert_eq!(saved.steps[0].state, StepState::Done);
    assert_eq!(
        saved
            .injects
            .iter()
            .map(|i| i.fired_at_s.is_some())
            .collect::<Vec<_>>(),
        [true, true, false]
    );

    // The state file's text, read back by a fresh engine started as the first was.
    let text = a.snapshot().to_json().unwrap();
    let state = EngineState::from_json(&text).unwrap();
    let mut b = engine();
    let resumed = b
        .resume(state, |file| {
            assert_eq!(file, FILE);
            Ok(scenario())
        })
        .unwrap();
    assert!(resumed.warnings.is_empty(), "{:?}", resumed.warnings);
    assert_eq!(resumed.sim_time_s, a.sim().time_s());
    let mut faulted = resumed.faulted.clone();
    faulted.sort();
    assert_eq!(faulted, ["gen_a", "util_a"]);
    assert_eq!(b.drill_status().steps, saved.steps);
    assert_eq!(b.drill_status().injects, saved.injects);
    assert_eq!(b.drill_status().timeline, saved.timeline);
    assert_eq!(clock(&b), clock(&a));
    // The drill's site (its 10 kWh UPS override) is what runs, on battery.
    assert_eq!(b.sim().topology().len(), a.sim().topology().len());
    let ups = b.sim().topology().node_index("ups_a").unwrap();
    assert_eq!(b.sim().node_state(ups), NodeState::OnBattery);

    // From here both engines step alike to the end of the drill (the resumed one
    // with its own wall clock from 0), and score the same.
    let mut now_b = 0;
    send(
        &mut a,
        now_ms,
        "sw_a/command",
        r#"{"command":"ats_mode","params":{"mode":"manual"},"channel":"board"}"#,
    );
    send(
        &mut b,
        now_b,
        "sw_a/command",
        r#"{"command":"ats_mode","params":{"mode":"manual"},"channel":"board"}"#,
    );
    while a.drill().unwrap().is_running() {
        tick(&mut a, &mut now_ms);
        tick(&mut b, &mut now_b);
        assert_eq!(a.sim().time_s(), b.sim().time_s());
        assert_eq!(
            a.system_status().it_kwh_unserved,
            b.system_status().it_kwh_unserved
        );
        assert_eq!(a.system_status().runtime_s, b.system_status().runtime_s);
        assert_eq!(clock(&a), clock(&b));
    }
    assert!(!b.drill().unwrap().is_running(), "both end at the duration");
    let (da, db) = (a.poll_debrief().unwrap(), b.poll_debrief().unwrap());
    assert_eq!(da.debrief.score, db.debrief.score);
    assert_eq!(da.debrief.timeline, db.debrief.timeline);
}

#[test]
fn an_unusable_state_is_refused_with_the_reason_and_changes_nothing() {
    let mut a = engine();
    for k in 1..=50 {
        a.handle_tick(k * 100);
    }
    let text = a.snapshot().to_json().unwrap();

    let truncated = EngineState::from_json(&text[..text.len() / 2]).unwrap_err();
    assert!(truncated.contains("truncated"), "{truncated}");
    let corrupt = EngineState::from_json(&text.replacen("\"sim\"", "\"mis\"", 1)).unwrap_err();
    assert!(
        corrupt.contains("not a valid state") && corrupt.contains("line 1"),
        "{corrupt}"
    );
    let other_format =
        EngineState::from_json(&text.replacen("\"format\":1", "\"format\":99", 1)).unwrap_err();
    assert!(other_format.contains("format 99"), "{other_format}");

    // Another site: refused, naming both; the engine stays at t = 0.
    let two_n = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../topologies/2n.toml"
    ))
    .unwrap();
    let mut other = EngineCore::new(
        Topology::from_toml_str(&two_n, "2n.toml").unwrap(),
        EngineConfig::default(),
    )
    .unwrap();
    let err = other
        .resume(EngineState::from_json(&text).unwrap(), |_| Ok(scenario()))
        .unwrap_err();
    assert!(
        err.contains("another topology") && err.contains("nodes"),
        "{err}"
    );
    assert_eq!(other.sim().time_s(), 0.0);

    // Another step: refused.
    let config = EngineConfig {
        step_ms: 50,
        ..EngineConfig::default()
    };
    let mut other = EngineCore::new(Topology::builtin_default(), config).unwrap();
    let err = other
        .resume(EngineState::from_json(&text).unwrap(), |_| Ok(scenario()))
        .unwrap_err();
    assert!(err.contains("100 ms step"), "{err}");
}

#[test]
fn a_resumed_engine_runs_on_from_the_saved_time() {
    let mut a = engine();
    send(
        &mut a,
        0,
        "util_a/command",
        r#"{"command":"set_fault","params":{"state":true}}"#,
    );
    for k in 1..=300 {
        a.handle_tick(k * 100);
    }
    let saved_s = a.sim().time_s();
    let state = EngineState::from_json(&a.snapshot().to_json().unwrap()).unwrap();
    let mut b = EngineCore::new(Topology::builtin_default(), EngineConfig::default()).unwrap();
    b.resume(state, |_| Ok(scenario())).unwrap();
    // Its wall clock starts at 0 at the saved time: nothing to step at 0, the tick
    // at 100 ms computes the step after the saved one.
    b.handle_tick(0);
    assert_eq!(b.sim().time_s(), saved_s);
    assert_eq!(b.poll_timeout(), 100);
    b.handle_tick(100);
    assert!((b.sim().time_s() - (saved_s + 0.1)).abs() < 1e-9);
    assert_eq!(b.system_status().fuel_pct, {
        a.handle_tick(30_100);
        a.system_status().fuel_pct
    });
}
