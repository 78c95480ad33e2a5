//! A whole live drill through the engine core's MQTT messages, with simulated time
//! and no broker (docs/drills.md): loaded and started on `<p>/system/drill/command`,
//! operated on `<p>/<id>/command` from several channels, followed on the retained
//! `<p>/system/drill`, ended by its duration with a debrief whose figures match
//! what the engine published.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use winter_river_engine_core::drill::{EndedBy, what};
use winter_river_engine_core::{DrillRequest, EngineConfig, EngineCore, Outgoing};
use winter_river_protocol::{
    Channel, Command, DrillState, DrillStatus, ExpectVerdict, StepState, decode_command,
    decode_drill_status, decode_system_status, decode_topology,
};
use winter_river_sim::{Scenario, Topology};

const P: &str = "winter-river";
const DRILL: &str = include_str!("../../drill/tests/fixtures/utility-loss.toml");

fn topic(t: &str) -> String {
    format!("{P}/{t}")
}

/// Everything the engine published, in order.
#[derive(Default)]
struct Heard(Vec<Outgoing>);

impl Heard {
    fn drain(&mut self, core: &mut EngineCore) {
        self.0.extend(std::iter::from_fn(|| core.poll_outgoing()));
    }

    fn drill_statuses(&self) -> Vec<DrillStatus> {
        self.0
            .iter()
            .filter(|o| o.topic == topic("system/drill"))
            .inspect(|o| assert!(o.retain, "system/drill is retained"))
            .map(|o| decode_drill_status(&o.payload).unwrap())
            .collect()
    }

    fn last_drill(&self) -> DrillStatus {
        self.drill_statuses().pop().expect("a system/drill")
    }
}

/// A driver in miniature: ticks every 100 ms, hands library files to the core.
struct Engine {
    core: EngineCore,
    now_ms: u64,
    heard: Heard,
}

impl Engine {
    fn new() -> Engine {
        let mut core =
            EngineCore::new(Topology::builtin_default(), EngineConfig::default()).unwrap();
        core.set_drill_library(vec!["utility-loss.toml".into()]);
        core.handle_connected(0);
        let mut e = Engine {
            core,
            now_ms: 0,
            heard: Heard::default(),
        };
        e.heard.drain(&mut e.core);
        e
    }

    /// Reads what the core asked for, then ticks.
    fn tick(&mut self) {
        while let Some(DrillRequest::Load { file }) = self.core.poll_drill_request() {
            assert_eq!(file, "utility-loss.toml");
            let scenario = Scenario::from_toml_str(DRILL, &file, |_| Err("none".into())).unwrap();
            self.core.load_drill(scenario, &file).unwrap();
        }
        self.now_ms += 100;
        self.core.handle_tick(self.now_ms);
        self.heard.drain(&mut self.core);
    }

    fn publish(&mut self, t: &str, payload: &str) {
        self.core
            .handle_message(self.now_ms, &topic(t), payload.as_bytes());
        self.heard.drain(&mut self.core);
    }

    fn drill_clock(&self) -> f64 {
        self.core.drill().unwrap().clock_s()
    }

    /// Ticks until the drill clock reaches `t`.
    fn run_to_clock(&mut self, t: f64) {
        while self.drill_clock() < t - 1e-9 && self.core.drill().unwrap().is_running() {
            self.tick();
        }
    }
}

#[test]
fn a_whole_drill_through_mqtt_messages() {
    let mut e = Engine::new();
    // Before any drill: state none, with the library.
    let first = e.heard.last_drill();
    assert_eq!(first.state, DrillState::None);
    assert_eq!(first.library, ["utility-loss.toml"]);

    // A path from the network is refused in words, and nothing is read.
    e.publish(
        "system/drill/command",
        r#"{"command":"load","params":{"file":"../etc/passwd"}}"#,
    );
    let refused = e.heard.last_drill().message.unwrap();
    assert!(refused.contains("not a path"), "{refused}");
    assert!(e.core.poll_drill_request().is_none());
    // Start without a drill: told what to do.
    e.publish("system/drill/command", r#"{"command":"start"}"#);
    let refused = e.heard.last_drill().message.unwrap();
    assert!(
        refused.contains("no drill is loaded") && refused.contains("utility-loss.toml"),
        "{refused}"
    );

    e.publish(
        "system/drill/command",
        r#"{"command":"load","params":{"file":"utility-loss.toml"}}"#,
    );
    e.tick();
    let loaded = e.heard.last_drill();
    assert_eq!(loaded.state, DrillState::Loaded);
    assert_eq!(loaded.message, None);
    assert_eq!(loaded.steps.len(), 3);
    assert_eq!(loaded.steps[0].command, "set_load kw=10.0");

    // Some IT energy lost before the drill: the start resets the site.
    e.publish("pdu_a/command", r#"{"command":"open","params":{}}"#);
    for _ in 0..20 {
        e.tick();
    }
    let before = e.core.system_status();
    assert!(before.it_kwh_unserved > 0.0);
    let heard_before_start = e.heard.0.len();
    e.publish("system/drill/command", r#"{"command":"start"}"#);
    let running = e.heard.last_drill();
    assert_eq!(running.state, DrillState::Running);
    assert!(running.steps.iter().all(|s| s.state == StepState::Pending));
    // The drill's site (its override) replaces the running one, retained.
    let topo = e.heard.0[heard_before_start..]
        .iter()
        .find(|o| o.topic == topic("system/topology"))
        .expect("the drill's topology is published");
    assert!(topo.retain);
    let json = decode_topology(&topo.payload).unwrap();
    let ups = json.nodes.iter().find(|n| n.id == "ups_a").unwrap();
    assert_eq!(ups.params["battery_kwh"], 10.0);
    let start_sim_s = e.core.sim().next_time_s();

    // The trainees: step 1 from the dashboard, step 2 (refused on battery) from the
    // command line, a mistake (pdu_a opened and closed again, no step) from a plain
    // MQTT client, step 3 from a board's channel.
    e.run_to_clock(6.0);
    e.publish(
        "srv_a/command",
        r#"{"command":"set_load","params":{"kw":10.0},"channel":"dashboard"}"#,
    );
    e.run_to_clock(8.0);
    e.publish(
        "ups_a/command",
        r#"{"command":"ups_mode","params":{"mode":"static_bypass"},"channel":"cli"}"#,
    );
    e.run_to_clock(10.0);
    e.publish("pdu_a/command", r#"{"command":"open","params":{}}"#);
    e.run_to_clock(12.0);
    e.publish(
        "pdu_a/command",
        r#"{"command":"close","params":{},"channel":"cli"}"#,
    );
    e.run_to_clock(15.0);
    e.publish(
        "sw_a/command",
        r#"{"command":"ats_mode","params":{"mode":"manual"},"channel":"board"}"#,
    );
    e.run_to_clock(20.0);
    let mid = e.heard.last_drill();
    assert_eq!(mid.state, DrillState::Running);
    let steps: Vec<(StepState, Option<Channel>, u32)> = mid
        .steps
        .iter()
        .map(|s| (s.state, s.channel, s.refused))
        .collect();
    assert_eq!(
        steps,
        [
            (StepState::Done, Some(Channel::Dashboard), 0),
            (StepState::Pending, None, 1),
            (StepState::OutOfOrder, Some(Channel::Board), 0),
        ]
    );
    assert_eq!(mid.expects[0].verdict, ExpectVerdict::Passed);
    // While running, the status is refreshed about once a second for its clock.
    let clocks: Vec<f64> = e
        .heard
        .drill_statuses()
        .iter()
        .filter(|s| s.state == DrillState::Running)
        .map(|s| s.clock_s)
        .collect();
    assert!(clocks.len() >= 19, "{clocks:?}");
    assert!(clocks.windows(2).all(|w| w[1] >= w[0]));

    let mut low_battery = f64::INFINITY;
    let heard_at = e.heard.0.len();
    e.run_to_clock(100.0);
    // Lowest battery_pct the engine sent ups_a during the drill.
    for o in &e.heard.0[heard_before_start..] {
        if o.topic == topic("ups_a/command")
            && let Ok(Command::Update(u)) = decode_command(&o.payload)
            && let Some(pct) = u.measured.battery_pct
        {
            low_battery = low_battery.min(pct);
        }
    }
    assert!(heard_at < e.heard.0.len());
    let finished = e
        .core
        .poll_debrief()
        .expect("the debrief is handed to the driver");
    e.core.debrief_written(Ok(()));
    e.tick();
    let end = e.heard.last_drill();
    assert_eq!(end.state, DrillState::Finished);
    assert_eq!(end.debrief.as_deref(), Some("/drill/debrief"));
    assert_eq!(end.score, Some(finished.debrief.score.total));

    let d = &finished.debrief;
    assert_eq!(finished.file, "utility-loss.toml");
    assert_eq!(d.ended_by, EndedBy::Duration);
    assert!((d.ended_at_s - 40.0).abs() < 1e-6);
    assert!((d.started_at_sim_s - start_sim_s).abs() < 1e-9);
    let states: Vec<StepState> = d.steps.iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        [StepState::Done, StepState::Missed, StepState::OutOfOrder]
    );
    assert_eq!(d.refused_actions, 1);
    // Timeline: the three injects with their channel, the mistake as actions.
    let injects: Vec<(&str, Channel)> = d
        .timeline
        .iter()
        .filter(|x| x.what == what::INJECT)
        .map(|x| (x.node.as_str(), x.channel))
        .collect();
    assert_eq!(
        injects,
        [
            ("gen_a", Channel::Inject),
            ("util_a", Channel::Inject),
            ("util_a", Channel::Inject)
        ]
    );
    let mistake: Vec<(&str, Channel)> = d
        .timeline
        .iter()
        .filter(|x| x.node == "pdu_a")
        .map(|x| (x.command.as_str(), x.channel))
        .collect();
    assert_eq!(mistake, [("open", Channel::Mqtt), ("close", Channel::Cli)]);

    // IT energy lost: the system status's it_kwh_unserved at the end minus at the
    // start (the fresh site counts from 0; the load is back from 30 s on, so the
    // count holds still after the end).
    let systems: Vec<f64> = e.heard.0[heard_before_start..]
        .iter()
        .filter(|o| o.topic == topic("system/status"))
        .map(|o| decode_system_status(&o.payload).unwrap().it_kwh_unserved)
        .collect();
    let (first, last) = (systems[0], *systems.last().unwrap());
    assert_eq!(first, 0.0);
    assert!(d.it_kwh_lost > 0.0);
    assert!(
        (d.it_kwh_lost - (last - first)).abs() < 1e-12,
        "debrief {} vs system status {first} → {last}",
        d.it_kwh_lost
    );
    // Lowest battery: the lowest battery_pct of ups_a the engine published.
    let low = d.lowest_battery.as_ref().unwrap();
    assert_eq!(low.node, "ups_a");
    assert!(
        (low.battery_pct - low_battery).abs() < 1e-9,
        "debrief {} vs updates {low_battery}",
        low.battery_pct
    );
    assert!(low.battery_pct < 100.0);
    // Simulated time never went back.
    let times: Vec<f64> = e
        .heard
        .0
        .iter()
        .filter(|o| o.topic == topic("system/status"))
        .map(|o| decode_system_status(&o.payload).unwrap().sim_time_s)
        .collect();
    assert!(times.windows(2).all(|w| w[1] >= w[0]), "{times:?}");
    // The files the driver writes.
    assert!(finished.html.contains("Utility loss, generator fails"));
    let back: winter_river_engine_core::drill::Debrief =
        serde_json::from_str(&finished.json).unwrap();
    assert_eq!(&back, d);

    // Steps 50/3 each: done 16.67, missed 0, out of order 8.33; both expectations
    // 40; IT energy lost 0; one refusal −2: 25 + 40 − 2 = 63.
    assert_eq!(
        d.expects.iter().map(|x| x.verdict).collect::<Vec<_>>(),
        [ExpectVerdict::Passed, ExpectVerdict::Passed]
    );
    assert_eq!(d.score.total, 63);
}

#[test]
fn bad_drill_commands_are_refused_in_words_the_instructor_can_act_on() {
    let mut e = Engine::new();
    e.publish("system/drill/command", "{\"command\":\"pause\"}");
    let m = e.heard.last_drill().message.unwrap();
    assert!(
        m.contains("not understood") && m.contains("\"start\""),
        "{m}"
    );
    assert_eq!(e.core.system_status().rejected_msgs, 1);

    e.publish("system/drill/command", r#"{"command":"stop"}"#);
    assert!(
        e.heard
            .last_drill()
            .message
            .unwrap()
            .contains("no drill is loaded")
    );

    e.publish(
        "system/drill/command",
        r#"{"command":"load","params":{"file":"utility-loss.toml"}}"#,
    );
    e.tick();
    e.publish(
        "system/drill/command",
        r#"{"command":"inject","params":{"event":0}}"#,
    );
    let m = e.heard.last_drill().message.unwrap();
    assert!(m.contains("not running; start it first"), "{m}");
    e.publish("system/drill/command", r#"{"command":"stop"}"#);
    let m = e.heard.last_drill().message.unwrap();
    assert!(m.contains("not running (loaded, not started)"), "{m}");

    e.publish("system/drill/command", r#"{"command":"start"}"#);
    assert_eq!(e.heard.last_drill().message, None);
    e.publish("system/drill/command", r#"{"command":"start"}"#);
    let m = e.heard.last_drill().message.unwrap();
    assert!(m.contains("already running"), "{m}");
    e.publish(
        "system/drill/command",
        r#"{"command":"load","params":{"file":"utility-loss.toml"}}"#,
    );
    let m = e.heard.last_drill().message.unwrap();
    assert!(m.contains("is running; stop it first"), "{m}");
    e.publish(
        "system/drill/command",
        r#"{"command":"inject","params":{"event":7}}"#,
    );
    let m = e.heard.last_drill().message.unwrap();
    assert_eq!(m, "inject 7: this drill has 3 injects (0 to 2)");

    // By hand: inject 2 (the utility's return) fires now and not again at 30 s.
    e.publish(
        "system/drill/command",
        r#"{"command":"inject","params":{"event":2}}"#,
    );
    assert_eq!(e.heard.last_drill().message, None);
    e.run_to_clock(3.0);
    e.publish("system/drill/command", r#"{"command":"stop"}"#);
    let d = e.core.poll_debrief().unwrap().debrief;
    assert_eq!(d.ended_by, EndedBy::Stop);
    assert!(d.injects[2].by_hand);
    assert_eq!(d.timeline.last().unwrap().command, "stop");
    // The writing failed: the instructor is told.
    e.core
        .debrief_written(Err("./debriefs: permission denied".into()));
    e.tick();
    let end = e.heard.last_drill();
    assert_eq!(end.state, DrillState::Finished);
    assert_eq!(end.debrief, None);
    assert!(end.message.unwrap().contains("permission denied"));
}

#[test]
fn a_drill_for_another_site_is_refused_on_load_naming_the_difference() {
    let mut core = EngineCore::new(Topology::builtin_default(), EngineConfig::default()).unwrap();
    let drill = "name = \"Elsewhere\"\nduration_s = 10\ntopology = \"site.toml\"\n";
    let site = winter_river_sim::topology::DEFAULT_TOPOLOGY_TOML.replace("srv_a", "rack_1");
    let scenario = Scenario::from_toml_str(drill, "elsewhere.toml", |_| Ok(site)).unwrap();
    let err = core.load_drill(scenario, "elsewhere.toml").unwrap_err();
    assert_eq!(
        err,
        "cannot load elsewhere.toml: its site is not the one running (node rack_1 (server) is \
         not in the running site; the running site's node srv_a (server) is not in the drill); \
         start the engine with this drill's topology (`up --drill elsewhere.toml` without --topology)"
    );
    assert_eq!(core.drill_status().message.as_deref(), Some(err.as_str()));
    assert!(core.drill().is_none());
}

#[test]
fn an_engine_stopped_mid_drill_ends_it_with_a_debrief_and_says_so() {
    let mut e = Engine::new();
    e.publish(
        "system/drill/command",
        r#"{"command":"load","params":{"file":"utility-loss.toml"}}"#,
    );
    e.tick();
    e.publish("system/drill/command", r#"{"command":"start"}"#);
    e.run_to_clock(2.0);
    assert_eq!(e.heard.last_drill().state, DrillState::Running);

    // What the driver does on its way out.
    e.core.end_drill_at_shutdown(e.now_ms);
    let done = e.core.poll_debrief().expect("a debrief to write");
    assert_eq!(done.debrief.ended_by, EndedBy::Shutdown);
    assert_eq!(done.debrief.timeline.last().unwrap().command, "shutdown");
    e.core.debrief_written(Ok(()));
    e.core.flush_drill_status(e.now_ms);
    e.heard.drain(&mut e.core);
    let last = e.heard.last_drill();
    assert_eq!(
        last.state,
        DrillState::Finished,
        "not left 'running' on the broker"
    );
    assert_eq!(last.debrief.as_deref(), Some("/drill/debrief"));
    // Nothing to end the second time.
    e.core.end_drill_at_shutdown(e.now_ms);
    assert!(e.core.poll_debrief().is_none());
}

#[test]
fn every_drill_command_is_answered_once_and_a_load_when_its_file_is_read() {
    let mut e = Engine::new();
    let answered = |e: &Engine| e.heard.last_drill().answered;
    let before = answered(&e);
    // Refused at once: nothing loaded.
    e.publish("system/drill/command", r#"{"command":"start"}"#);
    assert_eq!(answered(&e), before + 1);
    assert!(e.heard.last_drill().message.is_some());
    // A load is answered when the driver has read the file, not when it is asked.
    e.publish(
        "system/drill/command",
        r#"{"command":"load","params":{"file":"utility-loss.toml"}}"#,
    );
    assert_eq!(answered(&e), before + 1, "not yet: the file is not read");
    e.tick();
    assert_eq!(answered(&e), before + 2);
    assert_eq!(e.heard.last_drill().state, DrillState::Loaded);
    assert_eq!(e.heard.last_drill().message, None);
    // Refreshes of a running drill's clock answer nothing.
    e.publish("system/drill/command", r#"{"command":"start"}"#);
    assert_eq!(answered(&e), before + 3);
    e.run_to_clock(3.0);
    assert_eq!(answered(&e), before + 3);
}
