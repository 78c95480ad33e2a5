//! Operator switching (docs/operations.md, docs/physics.md "Switching, modes and
//! interlocks"): for each interlock, a test that it refuses — an Event `refused` with
//! the command and a reason, and nothing changed — and a test that the right order
//! works. On the seed chain (util_a → trf_a → sw_a ← gen_a → dist_a → ups_a → pdu_a →
//! srv_a, 30 kW of IT) unless a test says otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use winter_river_protocol::{
    Breaker, Command, Event, EventKind, Mode, NodeState, Severity, Source,
};
use winter_river_sim::{Simulator, Topology};

fn seed() -> Simulator {
    let mut sim = Simulator::new(Topology::builtin_default(), 100);
    sim.step();
    sim
}

fn two_n() -> Simulator {
    let toml = include_str!("../../../topologies/2n.toml");
    let topology = Topology::from_toml_str(toml, "2n.toml").unwrap();
    let mut sim = Simulator::new(topology, 100);
    sim.step();
    sim
}

fn idx(sim: &Simulator, id: &str) -> usize {
    sim.topology().node_index(id).unwrap()
}

fn state(sim: &Simulator, id: &str) -> NodeState {
    sim.node_state(idx(sim, id))
}

fn breaker(sim: &Simulator, id: &str) -> Breaker {
    sim.node_status(idx(sim, id)).measured.breaker.unwrap()
}

fn mode(sim: &Simulator, id: &str) -> Mode {
    sim.node_status(idx(sim, id)).measured.mode.unwrap()
}

/// Sends `cmd` to `id` and computes the step it applies at; returns that step's
/// events about `id`.
fn send(sim: &mut Simulator, id: &str, cmd: Command) -> Vec<Event> {
    sim.command(id, &cmd).unwrap();
    sim.step();
    sim.events()
        .iter()
        .filter(|e| e.node_id == id)
        .cloned()
        .collect()
}

/// Sends `cmd`, which must be accepted: returns the event that answers it.
fn accepted(sim: &mut Simulator, id: &str, cmd: Command) -> Event {
    let name = cmd.name();
    let events = send(sim, id, cmd);
    let answer = events
        .iter()
        .find(|e| e.command.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no answer to {name} for {id}: {events:?}"))
        .clone();
    assert_ne!(
        answer.event,
        EventKind::Refused,
        "{name} refused: {answer:?}"
    );
    answer
}

/// Sends `cmd`, which must be refused: returns the reason (and checks the event).
fn refused(sim: &mut Simulator, id: &str, cmd: Command) -> String {
    let name = cmd.name();
    let before = sim.node_status(idx(sim, id));
    let events = send(sim, id, cmd);
    let refusal = events
        .iter()
        .find(|e| e.event == EventKind::Refused)
        .unwrap_or_else(|| panic!("{name} for {id} not refused: {events:?}"));
    assert_eq!(refusal.command.as_deref(), Some(name));
    assert_eq!(refusal.severity, Severity::Warning);
    let reason = refusal.reason.clone().unwrap();
    assert_eq!(refusal.message, format!("{id} refused {name}: {reason}"));
    // A refusal changes nothing of the node's position.
    let after = sim.node_status(idx(sim, id));
    assert_eq!(after.measured.breaker, before.measured.breaker);
    assert_eq!(after.measured.mode, before.measured.mode);
    reason
}

fn run_for(sim: &mut Simulator, s: f64) {
    let until = sim.time_s() + s;
    while sim.next_time_s() <= until + 1e-9 {
        sim.step();
    }
}

fn it_lost(sim: &Simulator) -> f64 {
    sim.system_status().it_kw_lost
}

// ── Breakers: open, close, lock-out ─────────────────────────────────────────────

#[test]
fn open_isolates_everything_fed_only_through_the_node_and_close_restores_it() {
    let mut sim = seed();
    let e = accepted(&mut sim, "pdu_a", Command::Open);
    assert_eq!(e.event, EventKind::Open);
    assert_eq!(e.message, "pdu_a opened");
    assert_eq!(state(&sim, "pdu_a"), NodeState::Open);
    assert_eq!(breaker(&sim, "pdu_a"), Breaker::Open);
    assert_eq!(state(&sim, "srv_a"), NodeState::Unpowered);
    assert_eq!(it_lost(&sim), 30.0);
    let e = accepted(&mut sim, "pdu_a", Command::Close);
    assert_eq!(e.event, EventKind::Close);
    assert_eq!(state(&sim, "pdu_a"), NodeState::Ok);
    assert_eq!(breaker(&sim, "pdu_a"), Breaker::Closed);
    assert_eq!(it_lost(&sim), 0.0);
}

#[test]
fn open_twice_and_close_of_a_closed_breaker_are_refused() {
    let mut sim = seed();
    assert_eq!(
        refused(&mut sim, "pdu_a", Command::Close),
        "pdu_a is already closed"
    );
    accepted(&mut sim, "pdu_a", Command::Open);
    assert_eq!(
        refused(&mut sim, "pdu_a", Command::Open),
        "pdu_a is already open"
    );
}

#[test]
fn lockout_needs_an_open_breaker() {
    let mut sim = seed();
    let why = refused(&mut sim, "pdu_a", Command::Lockout { state: true });
    assert_eq!(why, "pdu_a is closed: open it before locking it out");
    assert_eq!(it_lost(&sim), 0.0);
    accepted(&mut sim, "pdu_a", Command::Open);
    let e = accepted(&mut sim, "pdu_a", Command::Lockout { state: true });
    assert_eq!(e.event, EventKind::Lockout);
    assert_eq!(breaker(&sim, "pdu_a"), Breaker::LockedOut);
    assert_eq!(state(&sim, "pdu_a"), NodeState::Open);
}

#[test]
fn close_is_refused_while_locked_out_and_works_once_released() {
    let mut sim = seed();
    accepted(&mut sim, "pdu_a", Command::Open);
    accepted(&mut sim, "pdu_a", Command::Lockout { state: true });
    let why = refused(&mut sim, "pdu_a", Command::Close);
    assert!(
        why.contains("locked out") && why.contains("lockout off"),
        "{why}"
    );
    assert_eq!(state(&sim, "srv_a"), NodeState::Unpowered);
    // A site-wide reset does not close an operator's open breaker either.
    sim.site_command(&Command::Reset).unwrap();
    sim.step();
    assert_eq!(breaker(&sim, "pdu_a"), Breaker::LockedOut);
    accepted(&mut sim, "pdu_a", Command::Lockout { state: false });
    assert_eq!(breaker(&sim, "pdu_a"), Breaker::Open);
    accepted(&mut sim, "pdu_a", Command::Close);
    assert_eq!(state(&sim, "srv_a"), NodeState::Ok);
}

#[test]
fn close_is_refused_on_a_tripped_breaker_and_reset_recloses_it() {
    let toml = r#"
[[node]]
id = "util"
kind = "utility"
voltage = 480.0

[[node]]
id = "dist"
kind = "distribution"
feeds = ["util"]
breaker_a = 100.0

[[node]]
id = "load"
kind = "load"
feeds = ["dist"]
demand_kw = 10.0
"#;
    let mut sim = Simulator::new(Topology::from_toml_str(toml, "t.toml").unwrap(), 100);
    sim.step();
    // 300 kW at 480 V is 361 A: 3.6 × pickup trips in about 5.3 s.
    sim.command("load", &Command::SetLoad { kw: 300.0 })
        .unwrap();
    run_for(&mut sim, 10.0);
    assert_eq!(breaker(&sim, "dist"), Breaker::Tripped);
    let why = refused(&mut sim, "dist", Command::Close);
    assert!(why.contains("tripped") && why.contains("reset"), "{why}");
    sim.command("load", &Command::SetLoad { kw: 10.0 }).unwrap();
    sim.command("dist", &Command::Reset).unwrap();
    sim.step();
    assert_eq!(breaker(&sim, "dist"), Breaker::Closed);
    assert_eq!(state(&sim, "load"), NodeState::Ok);
}

#[test]
fn an_open_source_breaker_stops_its_output() {
    let mut sim = seed();
    accepted(&mut sim, "util_a", Command::Open);
    assert_eq!(state(&sim, "util_a"), NodeState::Open);
    assert_eq!(state(&sim, "ups_a"), NodeState::OnBattery);
    // The ATS sees a dead preferred feed and brings the generator on.
    run_for(&mut sim, 11.0);
    assert_eq!(
        sim.node_status(idx(&sim, "sw_a"))
            .measured
            .source
            .as_deref(),
        Some("gen_a")
    );
    assert_eq!(it_lost(&sim), 0.0);
}

// ── UPS modes ───────────────────────────────────────────────────────────────────

/// The seed chain with ups_a on maintenance bypass, the right way round.
fn ups_on_maintenance_bypass() -> Simulator {
    let mut sim = seed();
    let e = accepted(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::StaticBypass,
        },
    );
    assert_eq!(e.event, EventKind::Mode);
    assert_eq!(e.severity, Severity::Warning);
    let e = accepted(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::MaintenanceBypass,
        },
    );
    assert!(
        e.message.contains("an input loss drops the load at once"),
        "{}",
        e.message
    );
    sim
}

#[test]
fn static_bypass_feeds_the_load_from_the_input_without_loss_or_battery() {
    let mut sim = seed();
    accepted(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::StaticBypass,
        },
    );
    let ups = sim.node_status(idx(&sim, "ups_a"));
    assert_eq!(ups.status, NodeState::Bypass);
    assert_eq!(ups.measured.mode, Some(Mode::StaticBypass));
    // No conversion loss: what it takes is what the PDU draws (30 kW / 0.97).
    let pdu_in = sim
        .node_status(idx(&sim, "pdu_a"))
        .measured
        .power_kw
        .unwrap();
    assert!((ups.measured.power_kw.unwrap() - pdu_in).abs() < 1e-9);
    // No battery behind the load.
    assert_eq!(ups.measured.runtime_s, Some(0.0));
}

#[test]
fn static_bypass_is_refused_while_the_input_is_dead() {
    let mut sim = seed();
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    assert_eq!(state(&sim, "ups_a"), NodeState::OnBattery);
    let why = refused(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::StaticBypass,
        },
    );
    assert_eq!(
        why,
        "ups_a is on battery: the static bypass needs a live input"
    );
    assert_eq!(state(&sim, "ups_a"), NodeState::OnBattery);
}

#[test]
fn input_loss_on_static_bypass_goes_back_to_inverter_and_battery_at_once() {
    let mut sim = seed();
    accepted(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::StaticBypass,
        },
    );
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    assert_eq!(state(&sim, "ups_a"), NodeState::OnBattery);
    assert_eq!(mode(&sim, "ups_a"), Mode::Normal);
    assert_eq!(it_lost(&sim), 0.0);
    assert!(
        sim.events()
            .iter()
            .any(|e| e.node_id == "ups_a" && e.event == EventKind::Mode)
    );
}

#[test]
fn maintenance_bypass_is_refused_straight_from_normal() {
    let mut sim = seed();
    let why = refused(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::MaintenanceBypass,
        },
    );
    assert!(why.contains("static bypass first"), "{why}");
    assert_eq!(state(&sim, "ups_a"), NodeState::Ok);
}

#[test]
fn maintenance_bypass_is_refused_on_battery() {
    let mut sim = seed();
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    let why = refused(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::MaintenanceBypass,
        },
    );
    assert_eq!(
        why,
        "ups_a is on battery: the maintenance bypass needs a live input"
    );
}

#[test]
fn on_maintenance_bypass_the_module_can_be_failed_and_opened_without_touching_the_load() {
    let mut sim = ups_on_maintenance_bypass();
    assert_eq!(state(&sim, "ups_a"), NodeState::MaintenanceBypass);
    sim.command("ups_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    accepted(&mut sim, "ups_a", Command::Open);
    accepted(&mut sim, "ups_a", Command::Lockout { state: true });
    run_for(&mut sim, 5.0);
    assert_eq!(state(&sim, "srv_a"), NodeState::Ok);
    assert_eq!(it_lost(&sim), 0.0);
    // No conversion: the UPS passes what the PDU takes.
    let ups = sim.node_status(idx(&sim, "ups_a"));
    let pdu_in = sim
        .node_status(idx(&sim, "pdu_a"))
        .measured
        .power_kw
        .unwrap();
    assert!((ups.measured.power_kw.unwrap() - pdu_in).abs() < 1e-9);
}

#[test]
fn on_maintenance_bypass_an_input_loss_drops_the_load_at_once() {
    let mut sim = ups_on_maintenance_bypass();
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    assert_eq!(state(&sim, "srv_a"), NodeState::Unpowered);
    assert_eq!(it_lost(&sim), 30.0);
    // The generator comes on (ATS in auto) and the load with it, after ~10 s.
    run_for(&mut sim, 11.0);
    assert_eq!(it_lost(&sim), 0.0);
}

#[test]
fn back_to_normal_only_through_static_bypass_with_the_module_healthy() {
    let mut sim = ups_on_maintenance_bypass();
    sim.command("ups_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    accepted(&mut sim, "ups_a", Command::Open);
    let why = refused(&mut sim, "ups_a", Command::UpsMode { mode: Mode::Normal });
    assert!(why.contains("go to static bypass first"), "{why}");
    let why = refused(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::StaticBypass,
        },
    );
    assert!(why.contains("ups_a has a fault"), "{why}");
    sim.command("ups_a", &Command::SetFault { state: false })
        .unwrap();
    sim.step();
    let why = refused(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::StaticBypass,
        },
    );
    assert!(why.contains("ups_a is open: close it first"), "{why}");
    accepted(&mut sim, "ups_a", Command::Close);
    accepted(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::StaticBypass,
        },
    );
    assert_eq!(state(&sim, "ups_a"), NodeState::Bypass);
    let e = accepted(&mut sim, "ups_a", Command::UpsMode { mode: Mode::Normal });
    assert_eq!(e.severity, Severity::Info);
    assert_eq!(state(&sim, "ups_a"), NodeState::Ok);
    assert_eq!(it_lost(&sim), 0.0);
}

#[test]
fn normal_is_refused_from_static_bypass_while_the_module_is_faulted() {
    let mut sim = seed();
    accepted(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::StaticBypass,
        },
    );
    sim.command("ups_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    // The static switch carries the load while the module is failed.
    assert_eq!(it_lost(&sim), 0.0);
    let why = refused(&mut sim, "ups_a", Command::UpsMode { mode: Mode::Normal });
    assert!(why.starts_with("ups_a has a fault"), "{why}");
}

#[test]
fn bypass_on_fault_moves_the_load_to_static_bypass_instead_of_dropping_it() {
    let chain = |flag: bool| {
        let toml = include_str!("../../../topologies/default.toml").replace(
            "recharge_kw = 8.0",
            &format!("recharge_kw = 8.0\nbypass_on_fault = {flag}"),
        );
        let mut sim = Simulator::new(Topology::from_toml_str(&toml, "d.toml").unwrap(), 100);
        sim.step();
        sim.command("ups_a", &Command::SetFault { state: true })
            .unwrap();
        sim.step();
        sim
    };
    let with = chain(true);
    assert_eq!(it_lost(&with), 0.0);
    assert_eq!(mode(&with, "ups_a"), Mode::StaticBypass);
    assert_eq!(state(&with, "ups_a"), NodeState::Fault);
    let without = chain(false);
    assert_eq!(it_lost(&without), 30.0);
    assert_eq!(mode(&without, "ups_a"), Mode::Normal);
}

// ── ATS modes, transfer by hand, transfer test ─────────────────────────────────

#[test]
fn an_ats_not_in_auto_warns_and_does_not_transfer_in_manual() {
    let mut sim = seed();
    let e = accepted(&mut sim, "sw_a", Command::AtsMode { mode: Mode::Manual });
    assert_eq!(e.event, EventKind::Mode);
    assert_eq!(e.severity, Severity::Warning);
    assert!(e.message.contains("no automatic transfer"), "{}", e.message);
    assert_eq!(mode(&sim, "sw_a"), Mode::Manual);
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    run_for(&mut sim, 60.0);
    // No start signal, no transfer: the UPS carries on from its battery.
    assert_eq!(state(&sim, "gen_a"), NodeState::Standby);
    assert_eq!(
        sim.node_status(idx(&sim, "sw_a"))
            .measured
            .source
            .as_deref(),
        Some("trf_a")
    );
    assert_eq!(state(&sim, "ups_a"), NodeState::OnBattery);
}

#[test]
fn transfer_is_refused_in_auto_to_a_dead_feed_and_to_a_stranger() {
    let mut sim = seed();
    let to = |id: &str| Command::Transfer { to: id.into() };
    let why = refused(&mut sim, "sw_a", to("gen_a"));
    assert!(why.contains("needs manual"), "{why}");
    accepted(&mut sim, "sw_a", Command::AtsMode { mode: Mode::Manual });
    let why = refused(&mut sim, "sw_a", to("gen_a"));
    assert_eq!(why, "gen_a is dead: sw_a can only transfer to a live feed");
    let why = refused(&mut sim, "sw_a", to("ups_a"));
    assert_eq!(why, "ups_a is not one of sw_a's feeds (trf_a, gen_a)");
    let why = refused(&mut sim, "sw_a", to("trf_a"));
    assert_eq!(why, "sw_a is already on trf_a");
}

#[test]
fn manual_transfer_to_a_running_generator_is_an_open_transition() {
    let mut sim = seed();
    accepted(&mut sim, "sw_a", Command::AtsMode { mode: Mode::Manual });
    accepted(&mut sim, "gen_a", Command::GenMode { mode: Mode::Run });
    run_for(&mut sim, 8.0);
    assert_eq!(state(&sim, "gen_a"), NodeState::Ok);
    let e = accepted(&mut sim, "sw_a", Command::Transfer { to: "gen_a".into() });
    assert_eq!(e.event, EventKind::Transfer);
    assert_eq!(e.to.as_deref(), Some("gen_a"));
    // One step without power at the switchgear; the UPS bridges it.
    assert!(!sim.is_live(idx(&sim, "sw_a")));
    assert_eq!(state(&sim, "ups_a"), NodeState::OnBattery);
    assert_eq!(it_lost(&sim), 0.0);
    sim.step();
    assert!(sim.is_live(idx(&sim, "sw_a")));
    assert_eq!(state(&sim, "ups_a"), NodeState::Ok);
    assert_eq!(sim.system_status().source, Source::Generator);
}

#[test]
fn ats_bypass_holds_the_load_through_a_switchgear_fault() {
    let mut sim = seed();
    accepted(&mut sim, "sw_a", Command::AtsMode { mode: Mode::Bypass });
    sim.command("sw_a", &Command::SetFault { state: true })
        .unwrap();
    run_for(&mut sim, 5.0);
    assert_eq!(state(&sim, "sw_a"), NodeState::Fault);
    assert_eq!(state(&sim, "ups_a"), NodeState::Ok);
    // Leaving bypass while the switchgear is failed would drop the load.
    let why = refused(&mut sim, "sw_a", Command::AtsMode { mode: Mode::Auto });
    assert!(why.contains("has a fault"), "{why}");
    // In auto the same fault drops the switchgear's output (the UPS carries on).
    let mut auto = seed();
    auto.command("sw_a", &Command::SetFault { state: true })
        .unwrap();
    auto.step();
    assert_eq!(state(&auto, "ups_a"), NodeState::OnBattery);
}

#[test]
fn ats_test_is_refused_outside_auto() {
    let mut sim = seed();
    accepted(&mut sim, "sw_a", Command::AtsMode { mode: Mode::Manual });
    let why = refused(&mut sim, "sw_a", Command::AtsTest { state: true });
    assert!(why.contains("runs in auto"), "{why}");
    let why = refused(&mut sim, "sw_a", Command::AtsTest { state: false });
    assert_eq!(why, "sw_a is not running a transfer test");
}

#[test]
fn ats_test_transfers_to_the_generator_and_retransfers_on_the_normal_timers() {
    let mut sim = seed();
    let e = accepted(&mut sim, "sw_a", Command::AtsTest { state: true });
    let started_s = e.t;
    // Start signal after 3 s, generator on line 7 s later: transfer at +10 s.
    run_for(&mut sim, 10.5);
    let sw = sim.node_status(idx(&sim, "sw_a"));
    assert_eq!(sw.measured.source.as_deref(), Some("gen_a"));
    assert_eq!(sim.system_status().source, Source::Generator);
    assert_eq!(it_lost(&sim), 0.0);
    let e = accepted(&mut sim, "sw_a", Command::AtsTest { state: false });
    let ended_s = e.t;
    assert!(ended_s > started_s);
    run_for(&mut sim, 299.0);
    assert_eq!(
        sim.node_status(idx(&sim, "sw_a"))
            .measured
            .source
            .as_deref(),
        Some("gen_a")
    );
    run_for(&mut sim, 1.5);
    assert_eq!(
        sim.node_status(idx(&sim, "sw_a"))
            .measured
            .source
            .as_deref(),
        Some("trf_a")
    );
    assert_eq!(state(&sim, "gen_a"), NodeState::Cooldown);
}

#[test]
fn ats_test_aborts_and_retransfers_at_once_when_the_generator_fails_under_test() {
    let mut sim = seed();
    accepted(&mut sim, "sw_a", Command::AtsTest { state: true });
    run_for(&mut sim, 10.5);
    assert_eq!(
        sim.node_status(idx(&sim, "sw_a"))
            .measured
            .source
            .as_deref(),
        Some("gen_a")
    );
    sim.command("gen_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    let aborted = sim
        .events()
        .iter()
        .find(|e| e.node_id == "sw_a" && e.event == EventKind::Mode)
        .expect("an abort event");
    assert!(
        aborted.message.contains("transfer test aborted"),
        "{}",
        aborted.message
    );
    assert_eq!(
        sim.node_status(idx(&sim, "sw_a"))
            .measured
            .source
            .as_deref(),
        Some("trf_a")
    );
    assert_eq!(it_lost(&sim), 0.0);
    let why = refused(&mut sim, "sw_a", Command::AtsTest { state: false });
    assert_eq!(why, "sw_a is not running a transfer test");
}

// ── Generator modes ─────────────────────────────────────────────────────────────

#[test]
fn a_generator_left_in_off_ignores_the_start_signal_until_switched_back_to_auto() {
    let mut sim = seed();
    let e = accepted(&mut sim, "gen_a", Command::GenMode { mode: Mode::Off });
    assert_eq!(e.severity, Severity::Warning);
    assert_eq!(state(&sim, "gen_a"), NodeState::Off);
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    run_for(&mut sim, 30.0);
    assert_eq!(state(&sim, "gen_a"), NodeState::Off);
    assert_eq!(state(&sim, "ups_a"), NodeState::OnBattery);
    // Switched back to auto, it answers the ATS's standing start signal at once.
    let e = accepted(&mut sim, "gen_a", Command::GenMode { mode: Mode::Auto });
    assert!(e.message.contains("standing start signal"), "{}", e.message);
    assert_eq!(state(&sim, "gen_a"), NodeState::Starting);
    run_for(&mut sim, 7.5);
    assert_eq!(sim.system_status().source, Source::Generator);
    assert_eq!(it_lost(&sim), 0.0);
}

#[test]
fn run_is_refused_on_a_faulted_generator() {
    let mut sim = seed();
    sim.command("gen_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    let why = refused(&mut sim, "gen_a", Command::GenMode { mode: Mode::Run });
    assert!(
        why.contains("a faulted generator cannot be started"),
        "{why}"
    );
}

#[test]
fn run_starts_the_generator_and_it_runs_unloaded_on_idle_fuel() {
    let mut sim = seed();
    let fuel = |sim: &Simulator| {
        sim.node_status(idx(sim, "gen_a"))
            .measured
            .fuel_pct
            .unwrap()
    };
    accepted(&mut sim, "gen_a", Command::GenMode { mode: Mode::Run });
    assert_eq!(state(&sim, "gen_a"), NodeState::Starting);
    run_for(&mut sim, 7.0);
    assert_eq!(state(&sim, "gen_a"), NodeState::Ok);
    let before = fuel(&sim);
    run_for(&mut sim, 3600.0);
    // 4 L/h idle from a 500 L tank: 0.8 % an hour, no load on it.
    assert!(
        (before - fuel(&sim) - 0.8).abs() < 1e-6,
        "{}",
        before - fuel(&sim)
    );
    assert_eq!(
        sim.node_status(idx(&sim, "gen_a")).measured.power_kw,
        Some(0.0)
    );
    assert_eq!(sim.system_status().source, Source::Utility);
}

// ── EPO, site totals ────────────────────────────────────────────────────────────

#[test]
fn epo_opens_every_ups_and_sts_and_close_recovers() {
    let mut sim = two_n();
    sim.site_command(&Command::Epo).unwrap();
    sim.step();
    let opened: Vec<&Event> = sim
        .events()
        .iter()
        .filter(|e| e.event == EventKind::Open)
        .collect();
    let ids: Vec<&str> = opened.iter().map(|e| e.node_id.as_str()).collect();
    assert_eq!(ids, ["ups_a", "ups_b"]);
    assert!(opened.iter().all(|e| e.command.as_deref() == Some("epo")));
    assert_eq!(sim.system_status().it_kw, 0.0);
    assert_eq!(state(&sim, "ups_a"), NodeState::Open);
    // Cooling is not behind the UPSs: it keeps running (it follows the IT load).
    assert_eq!(state(&sim, "crah_1"), NodeState::Ok);
    accepted(&mut sim, "ups_a", Command::Close);
    assert!(sim.system_status().it_kw > 0.0);
    assert_eq!(sim.system_status().it_kw_lost, 0.0);
    // A second EPO opens only what is closed.
    sim.site_command(&Command::Epo).unwrap();
    sim.step();
    let ids: Vec<&str> = sim
        .events()
        .iter()
        .filter(|e| e.event == EventKind::Open)
        .map(|e| e.node_id.as_str())
        .collect();
    assert_eq!(ids, ["ups_a"]);
}

#[test]
fn pue_stays_at_least_1_on_battery() {
    let mut sim = seed();
    let on_utility = sim.system_status();
    assert!(on_utility.pue.unwrap() > 1.0);
    assert_eq!(on_utility.battery_kw, 0.0);
    assert_eq!(on_utility.facility_kw, on_utility.utility_kw);
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    let s = sim.system_status();
    assert_eq!(s.source, Source::Battery);
    assert_eq!(s.utility_kw, 0.0);
    // 30 kW of servers through the PDU (0.97) and the inverter (0.95) from the
    // battery (discharge efficiency 1): 30 / 0.97 / 0.95 kW.
    let battery_kw = 30.0 / 0.97 / 0.95;
    assert!((s.battery_kw - battery_kw).abs() < 1e-9, "{}", s.battery_kw);
    assert!((s.facility_kw - battery_kw).abs() < 1e-9);
    assert!((s.pue.unwrap() - battery_kw / 30.0).abs() < 1e-12);
    assert!(s.pue.unwrap() >= 1.0);
}

#[test]
fn a_2n_site_with_one_side_on_generator_runs_on_mixed_sources() {
    let mut sim = two_n();
    assert_eq!(sim.system_status().source, Source::Utility);
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    run_for(&mut sim, 15.0);
    let s = sim.system_status();
    assert_eq!(s.source, Source::Mixed);
    assert!(s.utility_kw > 0.0 && s.generator_kw > 0.0);
}

// ── From the review: EPO on maintenance bypass, trips under a lock, the STS ──────

#[test]
fn epo_drops_a_ups_on_maintenance_bypass_and_close_restores_the_bypass() {
    let mut sim = ups_on_maintenance_bypass();
    accepted(&mut sim, "ups_a", Command::Open);
    accepted(&mut sim, "ups_a", Command::Lockout { state: true });
    sim.site_command(&Command::Epo).unwrap();
    sim.step();
    let e = sim
        .events()
        .iter()
        .find(|e| e.node_id == "ups_a" && e.event == EventKind::Open)
        .expect("the bypass opened");
    assert_eq!(e.command.as_deref(), Some("epo"));
    assert_eq!(it_lost(&sim), 30.0);
    // `close` closes the maintenance bypass again; the module stays locked out.
    let e = accepted(&mut sim, "ups_a", Command::Close);
    assert!(
        e.message.contains("maintenance bypass closed"),
        "{}",
        e.message
    );
    assert_eq!(it_lost(&sim), 0.0);
    assert_eq!(breaker(&sim, "ups_a"), Breaker::LockedOut);
}

#[test]
fn epo_with_nothing_left_to_open_is_refused_on_the_site() {
    let mut sim = seed();
    sim.site_command(&Command::Epo).unwrap();
    sim.step();
    sim.site_command(&Command::Epo).unwrap();
    sim.step();
    let refusal = sim
        .events()
        .iter()
        .find(|e| e.event == EventKind::Refused)
        .expect("an answer");
    assert_eq!(refusal.node_id, "system");
    assert_eq!(refusal.command.as_deref(), Some("epo"));
}

#[test]
fn epo_opens_the_sts_too() {
    let toml = include_str!("../../../topologies/sts.toml");
    let mut sim = Simulator::new(Topology::from_toml_str(toml, "sts.toml").unwrap(), 100);
    sim.step();
    sim.site_command(&Command::Epo).unwrap();
    sim.step();
    assert_eq!(state(&sim, "sts_1"), NodeState::Open);
    assert_eq!(breaker(&sim, "sts_1"), Breaker::Open);
}

#[test]
fn a_breaker_locked_out_where_it_tripped_is_still_tripped_when_released() {
    let toml = r#"
[[node]]
id = "util"
kind = "utility"
voltage = 480.0

[[node]]
id = "dist"
kind = "distribution"
feeds = ["util"]
breaker_a = 100.0

[[node]]
id = "load"
kind = "load"
feeds = ["dist"]
demand_kw = 300.0
"#;
    let mut sim = Simulator::new(Topology::from_toml_str(toml, "t.toml").unwrap(), 100);
    run_for(&mut sim, 10.0);
    assert_eq!(breaker(&sim, "dist"), Breaker::Tripped);
    accepted(&mut sim, "dist", Command::Lockout { state: true });
    assert_eq!(breaker(&sim, "dist"), Breaker::LockedOut);
    let e = accepted(&mut sim, "dist", Command::Lockout { state: false });
    assert!(e.message.contains("still tripped"), "{}", e.message);
    assert_eq!(breaker(&sim, "dist"), Breaker::Tripped);
    let why = refused(&mut sim, "dist", Command::Close);
    assert!(why.contains("reset"), "{why}");
}

#[test]
fn opening_a_dead_node_says_nothing_about_power() {
    let mut sim = seed();
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    let events = send(&mut sim, "dist_a", Command::Open);
    let kinds: Vec<EventKind> = events.iter().map(|e| e.event).collect();
    assert_eq!(kinds, [EventKind::Open]);
}

#[test]
fn an_operators_static_bypass_is_answered_once() {
    let mut sim = seed();
    let events = send(
        &mut sim,
        "ups_a",
        Command::UpsMode {
            mode: Mode::StaticBypass,
        },
    );
    let kinds: Vec<EventKind> = events.iter().map(|e| e.event).collect();
    assert_eq!(kinds, [EventKind::Mode]);
    let events = send(&mut sim, "ups_a", Command::UpsMode { mode: Mode::Normal });
    let kinds: Vec<EventKind> = events.iter().map(|e| e.event).collect();
    assert_eq!(kinds, [EventKind::Mode]);
}

#[test]
fn leaving_ats_bypass_once_the_fault_is_cleared_works() {
    let mut sim = seed();
    accepted(&mut sim, "sw_a", Command::AtsMode { mode: Mode::Bypass });
    sim.command("sw_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    refused(&mut sim, "sw_a", Command::AtsMode { mode: Mode::Auto });
    sim.command("sw_a", &Command::SetFault { state: false })
        .unwrap();
    sim.step();
    let e = accepted(&mut sim, "sw_a", Command::AtsMode { mode: Mode::Auto });
    assert_eq!(e.severity, Severity::Info);
    assert_eq!(it_lost(&sim), 0.0);
}

#[test]
fn run_is_refused_on_a_generator_out_of_fuel_and_ats_test_off_its_preferred_feed() {
    let toml =
        include_str!("../../../topologies/default.toml").replace("fuel_l = 500.0", "fuel_l = 0.0");
    let mut sim = Simulator::new(Topology::from_toml_str(&toml, "d.toml").unwrap(), 100);
    sim.step();
    sim.step();
    assert_eq!(state(&sim, "gen_a"), NodeState::OutOfFuel);
    let why = refused(&mut sim, "gen_a", Command::GenMode { mode: Mode::Run });
    assert!(why.contains("out of fuel"), "{why}");
    let mut sim = seed();
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    sim.step();
    let why = refused(&mut sim, "sw_a", Command::AtsTest { state: true });
    assert!(why.contains("starts from the preferred feed"), "{why}");
}
