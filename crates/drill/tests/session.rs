//! A drill session driven by hand over the simulator, as the engine drives it:
//! injects before each step, operators' commands between steps, `after_step` after
//! each. The site starts at simulated t = 1000 s, so every time below is on the
//! drill clock, not the simulator's (docs/drills.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use winter_river_drill::{Drill, EndedBy, StepCredit, debrief_html, score, what};
use winter_river_protocol::{
    Channel, Command, DrillState, ExpectVerdict, Mode, SYSTEM_ID, StepState,
};
use winter_river_sim::{Scenario, Simulator};

const CHECKLIST: &str = include_str!("fixtures/checklist.toml");
const UPS_BYPASS: &str = include_str!("fixtures/ups-bypass.toml");

/// The simulated step the drill's site starts at: t = 1000 s at 100 ms.
const FIRST_STEP: u64 = 10_000;

/// A site and a drill on it, stepped as the engine steps them.
struct Run {
    sim: Simulator,
    drill: Drill,
    start_s: f64,
    ended: bool,
}

impl Run {
    fn new(text: &str, file: &str) -> Run {
        let scenario = Scenario::from_toml_str(text, file, |_| Err("no topology file".into()))
            .expect("the fixture is valid");
        let sim = Simulator::starting_at(scenario.topology.clone(), scenario.step_ms, FIRST_STEP);
        let start_s = sim.next_time_s();
        assert_eq!(start_s, 1000.0);
        let mut drill = Drill::new(scenario, file);
        assert_eq!(drill.state(), DrillState::Loaded);
        drill.start(start_s, sim.it_kwh_unserved());
        Run {
            sim,
            drill,
            start_s,
            ended: false,
        }
    }

    /// The drill clock of the latest step.
    fn clock(&self) -> f64 {
        self.sim.time_s() - self.start_s
    }

    /// One step: due injects through the command path, then the step.
    fn step(&mut self) {
        let next = self.sim.next_time_s() - self.start_s;
        for (node, cmd) in self.drill.due_injects(next) {
            self.queue(&node, &cmd, Channel::Inject);
        }
        self.sim.step();
        let clock = self.clock();
        self.ended = self.drill.after_step(&self.sim, clock);
    }

    /// Steps until the drill clock reaches `t` (or the drill's end).
    fn run_to(&mut self, t: f64) {
        while !self.ended && self.clock() < t - 1e-9 {
            self.step();
        }
    }

    /// A command the engine accepted (it applies at the next step).
    fn queue(&mut self, node: &str, cmd: &Command, channel: Channel) {
        if node == SYSTEM_ID {
            self.sim.site_command(cmd).unwrap();
        } else {
            self.sim.command(node, cmd).unwrap();
        }
        let clock = self.clock();
        self.drill.on_command(node, cmd, channel, clock);
    }

    /// An operator's command at drill time `t`, from `channel`.
    fn operate(&mut self, t: f64, node: &str, cmd: Command, channel: Channel) {
        self.run_to(t);
        self.queue(node, &cmd, channel);
    }

    fn step_state(&self, n: usize) -> StepState {
        self.drill.status().steps[n - 1].state
    }
}

fn set_load_20() -> Command {
    Command::SetLoad { kw: 20.0 }
}

fn ups_mode(mode: Mode) -> Command {
    Command::UpsMode { mode }
}

fn close_enough(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn steps_done_in_order_and_in_time_are_done_with_their_channel() {
    let mut r = Run::new(CHECKLIST, "checklist.toml");
    r.operate(6.0, "srv_a", set_load_20(), Channel::Cli);
    r.operate(
        7.0,
        "ups_a",
        ups_mode(Mode::StaticBypass),
        Channel::Dashboard,
    );
    r.operate(8.0, "dist_a", Command::Reset, Channel::Board);
    r.step();
    let status = r.drill.status();
    let got: Vec<(StepState, Option<Channel>)> =
        status.steps.iter().map(|s| (s.state, s.channel)).collect();
    assert_eq!(
        got,
        [
            (StepState::Done, Some(Channel::Cli)),
            (StepState::Done, Some(Channel::Dashboard)),
            (StepState::Done, Some(Channel::Board)),
        ]
    );
    // Applied at the step after it was sent: 6.1 s on the drill clock.
    assert!(close_enough(status.steps[0].done_at_s.unwrap(), 6.1));
    let actions: Vec<(&str, Option<usize>)> = status
        .timeline
        .iter()
        .filter(|e| e.what != what::DRILL)
        .map(|e| (e.what.as_str(), e.step))
        .collect();
    assert_eq!(
        actions,
        [
            (what::ACTION, Some(1)),
            (what::ACTION, Some(2)),
            (what::ACTION, Some(3))
        ]
    );
}

#[test]
fn a_step_done_before_an_earlier_one_is_out_of_order() {
    let mut r = Run::new(CHECKLIST, "checklist.toml");
    r.operate(6.0, "dist_a", Command::Reset, Channel::Cli);
    r.operate(7.0, "srv_a", set_load_20(), Channel::Cli);
    r.operate(8.0, "ups_a", ups_mode(Mode::StaticBypass), Channel::Cli);
    r.step();
    assert_eq!(r.step_state(3), StepState::OutOfOrder);
    assert_eq!(r.step_state(1), StepState::Done);
    assert_eq!(r.step_state(2), StepState::Done);
    let entry = r
        .drill
        .status()
        .timeline
        .into_iter()
        .find(|e| e.step == Some(3))
        .unwrap();
    assert_eq!(entry.what, what::OUT_OF_ORDER);
    assert!(
        entry
            .detail
            .as_deref()
            .unwrap()
            .contains("steps 1, 2 not done yet"),
        "{entry:?}"
    );
}

#[test]
fn a_step_done_after_its_allowance_is_late() {
    let mut r = Run::new(CHECKLIST, "checklist.toml");
    // Step 1 is due at procedure_at_s = 5 s with 5 s allowed: 12.1 s is late.
    r.operate(12.0, "srv_a", set_load_20(), Channel::Cli);
    // Step 2 is due when step 1 was done (12.1 s): 13.1 s is in time.
    r.operate(13.0, "ups_a", ups_mode(Mode::StaticBypass), Channel::Cli);
    // Step 3 is due at 13.1 s: 18.2 s is 5.1 s after, late.
    r.operate(18.1, "dist_a", Command::Reset, Channel::Cli);
    r.step();
    assert_eq!(r.step_state(1), StepState::Late);
    assert_eq!(r.step_state(2), StepState::Done);
    assert_eq!(r.step_state(3), StepState::Late);
    let detail = r.drill.status().timeline[1].detail.clone().unwrap();
    assert_eq!(
        detail,
        "step 1 done, late: 7.1 s after it was due (allowed 5 s)"
    );
}

#[test]
fn steps_not_done_by_the_end_are_missed() {
    let mut r = Run::new(CHECKLIST, "checklist.toml");
    r.operate(6.0, "srv_a", set_load_20(), Channel::Cli);
    r.run_to(100.0);
    assert!(r.ended, "after_step says when the duration is reached");
    assert!(close_enough(r.clock(), 40.0));
    let debrief = r.drill.finish(EndedBy::Duration).unwrap();
    assert_eq!(r.drill.state(), DrillState::Finished);
    let states: Vec<StepState> = debrief.steps.iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        [StepState::Done, StepState::Missed, StepState::Missed]
    );
    // Step 2 was due when step 1 was done; step 3 never became due.
    assert!(close_enough(debrief.steps[1].due_at_s.unwrap(), 6.1));
    assert_eq!(debrief.steps[2].due_at_s, None);
    assert_eq!(debrief.ended_by, EndedBy::Duration);
    let last = debrief.timeline.last().unwrap();
    assert_eq!(
        (last.what.as_str(), last.command.as_str()),
        (what::DRILL, "end")
    );
    // A finished drill takes nothing more.
    assert!(r.drill.finish(EndedBy::Stop).is_none());
}

#[test]
fn a_refused_matching_command_is_counted_and_the_step_stays_pending() {
    let mut r = Run::new(UPS_BYPASS, "ups-bypass.toml");
    // Straight to maintenance bypass from normal: the interlock refuses it.
    r.operate(
        11.0,
        "ups_a",
        ups_mode(Mode::MaintenanceBypass),
        Channel::Cli,
    );
    r.step();
    let status = r.drill.status();
    assert_eq!(status.steps[1].state, StepState::Pending);
    assert_eq!(status.steps[1].refused, 1);
    let refused = status
        .timeline
        .iter()
        .find(|e| e.what == what::REFUSED)
        .unwrap();
    assert_eq!(refused.step, Some(2));
    assert_eq!(refused.channel, Channel::Cli);
    assert!(
        refused.detail.as_deref().unwrap().contains("static bypass"),
        "the interlock's reason: {refused:?}"
    );
    // Then the right order: every step done, in time.
    r.operate(12.0, "ups_a", ups_mode(Mode::StaticBypass), Channel::Cli);
    r.operate(
        15.0,
        "ups_a",
        ups_mode(Mode::MaintenanceBypass),
        Channel::Cli,
    );
    r.operate(18.0, "ups_a", Command::Open, Channel::Cli);
    r.run_to(30.0);
    let states: Vec<StepState> = r.drill.status().steps.iter().map(|s| s.state).collect();
    assert_eq!(states, [StepState::Done; 3]);
    // Sent but not applied when the instructor stops: no step computed it, so it
    // is neither an action nor a refusal.
    r.drill
        .on_command(SYSTEM_ID, &Command::Epo, Channel::Cli, 30.0);
    let debrief = r.drill.finish(EndedBy::Stop).unwrap();
    assert_eq!(debrief.refused_actions, 1);
    assert_eq!(debrief.steps[1].refused, 1);
    assert_eq!(debrief.score.refused_actions, 1);
    assert_eq!(debrief.score.penalty, 2.0);
}

#[test]
fn injects_fire_once_on_time_and_by_hand() {
    let mut r = Run::new(UPS_BYPASS, "ups-bypass.toml");
    r.run_to(20.0);
    // Inject 1 is due at 60 s; the instructor fires it now.
    let (node, cmd) = r.drill.fire_by_hand(1, r.clock()).unwrap();
    assert_eq!(
        (node.as_str(), &cmd),
        ("gen_a", &Command::SetFault { state: true })
    );
    r.queue(&node, &cmd, Channel::Inject);
    let again = r.drill.fire_by_hand(1, r.clock()).unwrap_err();
    assert!(again.contains("already fired at t=20.0s"), "{again}");
    let none = r.drill.fire_by_hand(5, r.clock()).unwrap_err();
    assert_eq!(none, "inject 5: this drill has 2 injects (0 to 1)");
    r.operate(21.0, "ups_a", ups_mode(Mode::StaticBypass), Channel::Cli);
    r.operate(
        24.0,
        "ups_a",
        ups_mode(Mode::MaintenanceBypass),
        Channel::Cli,
    );
    r.run_to(100.0);
    let status = r.drill.status();
    assert!(close_enough(status.injects[0].fired_at_s.unwrap(), 45.0));
    assert!(!status.injects[0].by_hand);
    assert!(close_enough(status.injects[1].fired_at_s.unwrap(), 20.0));
    assert!(status.injects[1].by_hand);
    let injects: Vec<(f64, String)> = status
        .timeline
        .iter()
        .filter(|e| e.what == what::INJECT)
        .map(|e| (e.t, e.detail.clone().unwrap()))
        .collect();
    assert_eq!(injects.len(), 2, "each inject fires once: {injects:?}");
    assert!(close_enough(injects[0].0, 20.1));
    assert_eq!(injects[0].1, "inject 1 (by hand)");
    assert!(close_enough(injects[1].0, 45.0));
    assert_eq!(injects[1].1, "inject 0 (on time)");
    assert!(
        status
            .timeline
            .iter()
            .filter(|e| e.what == what::INJECT)
            .all(|e| e.channel == Channel::Inject)
    );
    // Injects are not the trainees' actions: no step ticked, nothing refused.
    let debrief = r.drill.finish(EndedBy::Duration).unwrap();
    assert_eq!(debrief.refused_actions, 0);
    // The generator failed by hand, the utility on time, the load on the
    // maintenance bypass: 30 kW lost from 45 s to 60 s = 0.125 kWh.
    assert!(
        (debrief.it_kwh_lost - 0.125).abs() < 1e-9,
        "{}",
        debrief.it_kwh_lost
    );
}

#[test]
fn expectations_are_judged_on_the_drill_clock() {
    let mut r = Run::new(CHECKLIST, "checklist.toml");
    r.run_to(29.9);
    let verdicts = |r: &Run| -> Vec<ExpectVerdict> {
        r.drill.status().expects.iter().map(|e| e.verdict).collect()
    };
    assert_eq!(
        verdicts(&r),
        [
            ExpectVerdict::Passed,
            ExpectVerdict::Pending,
            ExpectVerdict::Pending
        ]
    );
    r.run_to(35.0);
    assert_eq!(
        verdicts(&r),
        [
            ExpectVerdict::Passed,
            ExpectVerdict::Passed,
            ExpectVerdict::Failed
        ]
    );
    let desc = &r.drill.status().expects[1].description;
    assert_eq!(desc, "sw_a.source == \"gen_a\" at t=30s");
    // From 20 s to 30 s the UPS carried the load: its lowest battery is at 30 s.
    r.run_to(100.0);
    let debrief = r.drill.finish(EndedBy::Duration).unwrap();
    let low = debrief.lowest_battery.unwrap();
    assert_eq!(low.node, "ups_a");
    assert!(low.battery_pct < 100.0, "{low:?}");
    assert!((29.8..=30.1).contains(&low.t_s), "{low:?}");
    assert_eq!(debrief.expects[2].seen.as_deref(), Some("\"ok\""));
    assert!(close_enough(debrief.expects[2].seen_t_s.unwrap(), 35.0));
}

/// A known run scored by hand (docs/drills.md, "The score"):
/// steps 50/3 each: step 1 late (½), step 2 missed (0), step 3 out of order (½)
/// = 16.67; expectations 40/3 each, 2 of 3 passed = 26.67; no IT energy lost = 10;
/// one refused action = −2. 16.67 + 26.67 + 10 − 2 = 51.33 → 51.
#[test]
fn a_known_run_scores_what_the_rule_gives_by_hand() {
    let mut r = Run::new(CHECKLIST, "checklist.toml");
    r.operate(6.0, "dist_a", Command::Reset, Channel::Cli);
    // pdu_a is closed already: refused.
    r.operate(8.0, "pdu_a", Command::Close, Channel::Dashboard);
    r.operate(12.0, "srv_a", set_load_20(), Channel::Board);
    r.run_to(100.0);
    let debrief = r.drill.finish(EndedBy::Duration).unwrap();
    let states: Vec<StepState> = debrief.steps.iter().map(|s| s.state).collect();
    assert_eq!(
        states,
        [StepState::Late, StepState::Missed, StepState::OutOfOrder]
    );
    assert_eq!(debrief.refused_actions, 1);
    assert_eq!(debrief.it_kwh_lost, 0.0);
    assert_eq!(debrief.score.total, 51);
    let parts: Vec<(&str, f64)> = debrief
        .score
        .parts
        .iter()
        .map(|p| (p.part.as_str(), (p.points * 100.0).round() / 100.0))
        .collect();
    assert_eq!(
        parts,
        [("steps", 16.67), ("expectations", 26.67), ("it_load", 10.0)]
    );
    assert_eq!(r.drill.status().score, Some(51));
    // The same rule from the credits alone.
    let by_rule = score(
        &[
            StepCredit::LateOrOutOfOrder,
            StepCredit::Missed,
            StepCredit::LateOrOutOfOrder,
        ],
        &[true, true, false],
        0.0,
        1,
    );
    assert_eq!(by_rule, debrief.score);
}

#[test]
fn the_debrief_page_is_self_contained_and_escapes_what_it_shows() {
    let text = CHECKLIST.replace(
        "name = \"Checklist (test)\"",
        "name = \"<script>alert('x')</script> & co\"",
    );
    let mut r = Run::new(&text, "checklist.toml");
    r.operate(6.0, "srv_a", set_load_20(), Channel::Cli);
    r.run_to(100.0);
    let debrief = r.drill.finish(EndedBy::Duration).unwrap();
    let html = debrief_html(&debrief);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "no script of any kind");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "nothing fetched"
    );
    assert!(html.contains("<style>"));
    for rule in &debrief.score.rule {
        assert!(
            html.contains(&rule.replace('\'', "&#39;")),
            "the rule: {rule}"
        );
    }
    assert!(html.contains(&format!("{} / 100", debrief.score.total)));
    assert!(html.contains("no server in a room on this site"));
    assert!(html.contains("command line"), "the channel's label");
    // The JSON form reads back as it was.
    let json = serde_json::to_string(&debrief).unwrap();
    let back: winter_river_drill::Debrief = serde_json::from_str(&json).unwrap();
    assert_eq!(back, debrief);
}

/// A site started at t = 1000 s behaves as one started at 0: the same events at the
/// same times after its start (the timers of a fresh site are idle).
#[test]
fn a_site_started_later_runs_the_same_physics() {
    let topology = winter_river_sim::Topology::builtin_default();
    let mut at_zero = Simulator::new(topology.clone(), 100);
    let mut later = Simulator::starting_at(topology, 100, FIRST_STEP);
    let mut seen = [Vec::new(), Vec::new()];
    for k in 0..400 {
        for (i, sim) in [&mut at_zero, &mut later].into_iter().enumerate() {
            if k == 50 {
                sim.command("util_a", &Command::SetFault { state: true })
                    .unwrap();
            }
            let t0 = if i == 0 { 0.0 } else { 1000.0 };
            sim.step();
            for e in sim.events() {
                seen[i].push((((e.t - t0) * 10.0).round() as i64, e.message.clone()));
            }
        }
    }
    assert!(seen[0].len() >= 4, "{:?}", seen[0]);
    assert_eq!(seen[0], seen[1]);
    assert_eq!(later.time_s(), 1039.9);
}

/// Steps 1 and 3 use the same command (static bypass, there and back): a repeat of
/// step 1 while step 2 is still to do is a repeat, not an attempt at step 3.
const THERE_AND_BACK: &str = r#"
name = "There and back (test)"
duration_s = 60
procedure_at_s = 5.0

[[step]]
node = "ups_a"
command = "ups_mode"
params = { mode = "static_bypass" }

[[step]]
node = "ups_a"
command = "ups_mode"
params = { mode = "maintenance_bypass" }

[[step]]
node = "ups_a"
command = "ups_mode"
params = { mode = "static_bypass" }

[[step]]
node = "ups_a"
command = "ups_mode"
params = { mode = "normal" }
"#;

#[test]
fn a_repeat_of_a_done_step_is_not_an_attempt_at_a_later_one() {
    let mut r = Run::new(THERE_AND_BACK, "there-and-back.toml");
    r.operate(
        6.0,
        "ups_a",
        ups_mode(Mode::StaticBypass),
        Channel::Dashboard,
    );
    // A double click: the UPS is in static bypass already, the interlock says so.
    r.operate(
        6.5,
        "ups_a",
        ups_mode(Mode::StaticBypass),
        Channel::Dashboard,
    );
    r.step();
    let status = r.drill.status();
    assert_eq!(status.steps[0].state, StepState::Done);
    assert_eq!(status.steps[2].state, StepState::Pending);
    assert_eq!(status.steps[2].refused, 0, "a repeat costs step 3 nothing");
    let repeat = status.timeline.last().unwrap();
    assert!(
        repeat
            .detail
            .as_deref()
            .unwrap()
            .starts_with("repeat of step 1 (done already), refused:"),
        "{repeat:?}"
    );
    // Done in order, step 3's command is step 3's.
    r.operate(
        8.0,
        "ups_a",
        ups_mode(Mode::MaintenanceBypass),
        Channel::Dashboard,
    );
    r.operate(
        10.0,
        "ups_a",
        ups_mode(Mode::StaticBypass),
        Channel::Dashboard,
    );
    r.operate(12.0, "ups_a", ups_mode(Mode::Normal), Channel::Dashboard);
    r.step();
    let states: Vec<StepState> = r.drill.status().steps.iter().map(|s| s.state).collect();
    assert_eq!(states, [StepState::Done; 4]);
    let debrief = r.drill.finish(EndedBy::Stop).unwrap();
    assert_eq!(
        debrief.refused_actions, 0,
        "a double click is no refused action"
    );
}

#[test]
fn one_step_out_of_order_does_not_make_the_next_late() {
    let mut r = Run::new(CHECKLIST, "checklist.toml");
    // Step 2 first (out of order), step 1 much later (late), then step 3 at once:
    // step 3 is due when both before it are done, so it is on time.
    r.operate(6.0, "ups_a", ups_mode(Mode::StaticBypass), Channel::Cli);
    r.operate(20.0, "srv_a", set_load_20(), Channel::Cli);
    r.operate(21.0, "dist_a", Command::Reset, Channel::Cli);
    r.step();
    assert_eq!(r.step_state(1), StepState::Late);
    assert_eq!(r.step_state(2), StepState::OutOfOrder);
    assert_eq!(r.step_state(3), StepState::Done);
}

#[test]
fn a_demand_within_five_percent_carries_out_a_set_load_step() {
    let mut r = Run::new(CHECKLIST, "checklist.toml");
    // 21.5 kW is 7.5 % off the step's 20 kW: an action, not the step.
    r.operate(6.0, "srv_a", Command::SetLoad { kw: 21.5 }, Channel::Board);
    r.step();
    assert_eq!(r.step_state(1), StepState::Pending);
    // A knob landing on 19.2 kW (4 %) does it.
    r.operate(7.0, "srv_a", Command::SetLoad { kw: 19.2 }, Channel::Board);
    r.step();
    assert_eq!(r.step_state(1), StepState::Done);
    assert_eq!(r.drill.status().steps[0].channel, Some(Channel::Board));
}

/// A hot room: the debrief names the highest inlet the drill saw, not just the
/// latest (the CRAH comes back and the room cools before the end).
#[test]
fn the_debrief_shows_the_highest_inlet_of_the_drill() {
    const ROOM: &str = r#"
[[node]]
id = "util_a"
kind = "utility"

[[node]]
id = "hall_1"
kind = "room"
air_m3 = 500.0
solid_kj_per_k = 3000.0

[[node]]
id = "srv_a"
kind = "server"
feeds = ["util_a"]
demand_kw = 150.0
room = "hall_1"

[[node]]
id = "crah_1"
kind = "cooling"
feeds = ["util_a"]
room = "hall_1"
capacity_kw = 200.0
"#;
    let drill_toml = r#"
name = "CRAH trip"
topology = "room.toml"
duration_s = 120

[[event]]
at_s = 10
node = "crah_1"
command = "set_fault"
params = { state = true }

[[event]]
at_s = 40
node = "crah_1"
command = "set_fault"
params = { state = false }
"#;
    let scenario =
        Scenario::from_toml_str(drill_toml, "crah.toml", |_| Ok(ROOM.to_string())).expect("valid");
    let sim = Simulator::starting_at(scenario.topology.clone(), scenario.step_ms, FIRST_STEP);
    let start_s = sim.next_time_s();
    let mut drill = Drill::new(scenario, "crah.toml");
    drill.start(start_s, sim.it_kwh_unserved());
    let mut r = Run {
        sim,
        drill,
        start_s,
        ended: false,
    };
    let mut peak: f64 = 0.0;
    while !r.ended {
        r.step();
        peak = peak.max(r.sim.max_inlet_c().unwrap());
    }
    let end = r.sim.max_inlet_c().unwrap();
    let debrief = r.drill.finish(EndedBy::Duration).unwrap();
    let highest = debrief.highest_inlet_c.expect("a server in a room");
    assert!(
        highest > 25.0 && highest > end + 1.0,
        "{highest} vs {end} at the end"
    );
    assert_eq!(highest, peak);
    assert_eq!(debrief.highest_inlet_note, None);
    let html = debrief_html(&debrief);
    assert!(
        html.contains(&format!("{highest:.1} °C")),
        "the page shows it"
    );
}
