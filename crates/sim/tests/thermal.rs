//! Rooms and cooling, worked out by hand from docs/physics.md ("Rooms and
//! cooling"): the closed form without cooling, the time to a class limit, a chiller
//! restart after a generator transfer, capacity below the heat load, thermal
//! shutdown and its reset, and the room key's refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use winter_river_protocol::{Command, EventKind, NodeState, Severity};
use winter_river_sim::kinds::AIR_KJ_PER_M3_K;
use winter_river_sim::{Simulator, Topology};

fn sim(toml: &str) -> Simulator {
    let topology = Topology::from_toml_str(toml, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    Simulator::new(topology, 100)
}

fn idx(sim: &Simulator, id: &str) -> usize {
    sim.topology().node_index(id).unwrap()
}

fn air_c(sim: &Simulator, room: &str) -> f64 {
    sim.node_status(idx(sim, room))
        .measured
        .temperature_c
        .unwrap()
}

/// Steps until the given time (inclusive), collecting the events.
fn run_to(sim: &mut Simulator, t_s: f64, events: &mut Vec<winter_river_protocol::Event>) {
    while sim.next_time_s() <= t_s + 1e-9 {
        sim.step();
        events.extend(sim.events().iter().cloned());
    }
}

fn first(
    events: &[winter_river_protocol::Event],
    kind: EventKind,
) -> &winter_river_protocol::Event {
    events
        .iter()
        .find(|e| e.event == kind)
        .unwrap_or_else(|| panic!("no {kind} event in {events:#?}"))
}

/// DESIGN's reference room: C_a = 600 kJ/K, C_s = 2,400 kJ/K, UA = 10 kW/K, heated
/// by a 100 kW load on a utility, with no cooling.
fn reference_room(extra: &str) -> String {
    format!(
        r#"
[[node]]
id = "util"
kind = "utility"
voltage = 480.0

[[node]]
id = "room_1"
kind = "room"
air_m3 = {air_m3}
solid_kj_per_k = 2400.0
ua_kw_per_k = 10.0
class = "A1"

[[node]]
id = "heater"
kind = "load"
feeds = ["util"]
demand_kw = 100.0
room = "room_1"
{extra}
"#,
        air_m3 = 600.0 / AIR_KJ_PER_M3_K
    )
}

/// T_a(t) = 22 + P·t/(C_a + C_s) + C_s/(C_a + C_s) · (P/C_a) · τ · (1 − e^(−t/τ)),
/// τ = 1 / (UA · (1/C_a + 1/C_s)) = 48 s.
fn closed_form_c(t: f64) -> f64 {
    22.0 + 100.0 * t / 3000.0 + 0.8 * (100.0 / 600.0) * 48.0 * (1.0 - (-t / 48.0).exp())
}

#[test]
fn without_cooling_the_air_follows_the_closed_form_28_57_c_at_60_s() {
    let mut sim = sim(&reference_room(""));
    let mut events = Vec::new();
    run_to(&mut sim, 60.0, &mut events);
    let air = air_c(&sim, "room_1");
    assert!((air - closed_form_c(60.0)).abs() < 1e-9, "{air}");
    assert!((air - 28.57).abs() < 0.005, "{air}");
    // The solid lags: the mean of the two carries all the heat put in.
    let solid = sim
        .node_status(idx(&sim, "room_1"))
        .measured
        .solid_c
        .unwrap();
    let mean = (600.0 * air + 2400.0 * solid) / 3000.0;
    assert!(
        (mean - (22.0 + 100.0 * 60.0 / 3000.0)).abs() < 1e-9,
        "{mean}"
    );
    // 27 °C (recommended) is passed on the way: a warning at the step it is crossed.
    let high = first(&events, EventKind::TemperatureHigh);
    assert_eq!(high.node_id, "room_1");
    assert_eq!(high.severity, Severity::Warning);
    assert!(closed_form_c(high.t) > 27.0 && closed_form_c(high.t - 0.1) <= 27.0);
}

/// The A1 allowable 32 °C: t/30 + 6.4 · (1 − e^(−t/48)) = 10 → t ≈ 122.9 s (by
/// bisection on the closed form; 122.8 s gives 31.998 °C, 122.9 s 32.002 °C).
#[test]
fn the_time_to_the_a1_allowable_limit_is_122_9_s() {
    let mut sim = sim(&reference_room(""));
    let mut events = Vec::new();
    run_to(&mut sim, 200.0, &mut events);
    let critical = first(&events, EventKind::TemperatureCritical);
    assert_eq!(critical.severity, Severity::Critical);
    assert!((critical.t - 122.9).abs() < 1e-6, "{}", critical.t);
    assert!(
        critical.message.contains("A1 allowable 32 °C"),
        "{}",
        critical.message
    );
}

#[test]
fn capacity_below_the_heat_load_gives_a_steady_rise_of_20_kw_over_3000_kj_per_k() {
    // 100 kW in, 80 kW of cooling: once the air–solid difference has settled (τ =
    // 48 s) both rise at (100 − 80) / 3000 = 0.00667 K/s: 4.0 K from 600 s to 1200 s.
    let mut sim = sim(&reference_room(
        r#"
[[node]]
id = "crah"
kind = "cooling"
feeds = ["util"]
demand_kw = 5.0
per_it_kw = 0.0
room = "room_1"
capacity_kw = 80.0
"#,
    ));
    let mut events = Vec::new();
    run_to(&mut sim, 600.0, &mut events);
    let at_600 = air_c(&sim, "room_1");
    run_to(&mut sim, 1200.0, &mut events);
    let at_1200 = air_c(&sim, "room_1");
    // What is left of the transient at 600 s: e^(−600/48) ≈ 4e-6 of it.
    assert!(
        (at_1200 - at_600 - 4.0).abs() < 1e-4,
        "{at_600} → {at_1200}"
    );
    let crah = sim.node_status(idx(&sim, "crah"));
    assert_eq!(crah.measured.cooling_kw, Some(80.0));
}

#[test]
fn cooling_holds_the_setpoint_within_its_capacity() {
    let mut sim = sim(&reference_room(
        r#"
[[node]]
id = "crah"
kind = "cooling"
feeds = ["util"]
room = "room_1"
capacity_kw = 150.0
"#,
    ));
    let mut events = Vec::new();
    run_to(&mut sim, 300.0, &mut events);
    assert!((air_c(&sim, "room_1") - 22.0).abs() < 1e-9);
    let crah = sim.node_status(idx(&sim, "crah"));
    assert!((crah.measured.cooling_kw.unwrap() - 100.0).abs() < 1e-9);
    assert!(events.is_empty(), "{events:#?}");
}

/// A 100 kW hall (C_a = 1206 kJ/K, C_s = 6000 kJ/K, UA = 20 kW/K: τ = 50.2 s) on
/// UPS, its chiller on the generator-backed bus with restart_s = 300 s. The utility
/// fails at 10 s; the ATS starts the generator after 3 s, it is on line 7 s later
/// (20 s), and the chiller removes heat again at 20 + 300 = 320 s. The air peaks
/// then, after 310 s without cooling: 22 + 100·310/7206 + (6000/7206)·(100/1206)·
/// 50.2·(1 − e^(−310/50.2)) = 29.76 °C — above the recommended 27 °C, well below
/// the racks' 40 °C, so no rack stops.
#[test]
fn a_chiller_restart_after_a_generator_transfer_keeps_the_room_below_shutdown() {
    let mut sim = sim(r#"
[[node]]
id = "util"
kind = "utility"

[[node]]
id = "gen"
kind = "generator"
start_delay_s = 7.0

[[node]]
id = "ats"
kind = "switchgear"
feeds = ["util", "gen"]
start_delay_s = 3.0

[[node]]
id = "ups"
kind = "ups"
feeds = ["ats"]

[[node]]
id = "hall"
kind = "room"
air_m3 = 1000.0
solid_kj_per_k = 6000.0
ua_kw_per_k = 20.0

[[node]]
id = "rack"
kind = "server"
feeds = ["ups"]
demand_kw = 100.0
room = "hall"

[[node]]
id = "chiller"
kind = "cooling"
feeds = ["ats"]
room = "hall"
restart_s = 300.0
"#);
    let mut events = Vec::new();
    // Sent after the step at 9.9 s, it applies at 10 s.
    run_to(&mut sim, 9.9, &mut events);
    sim.command("util", &Command::SetFault { state: true })
        .unwrap();
    let mut peak_c: f64 = 0.0;
    while sim.next_time_s() <= 900.0 + 1e-9 {
        sim.step();
        events.extend(sim.events().iter().cloned());
        peak_c = peak_c.max(air_c(&sim, "hall"));
        assert_ne!(sim.node_state(idx(&sim, "rack")), NodeState::Shutdown);
    }
    let restarted = events
        .iter()
        .find(|e| e.node_id == "chiller" && e.event == EventKind::Running)
        .expect("the chiller restarts");
    assert!((restarted.t - 320.0).abs() < 1e-6, "{}", restarted.t);
    // It showed STARTING while it waited.
    assert!(events.iter().any(|e| e.node_id == "chiller"
        && e.event == EventKind::Repowered
        && e.message.contains("starting")));
    let c_a = 1000.0 * AIR_KJ_PER_M3_K;
    let (c_s, c) = (6000.0, 1000.0 * AIR_KJ_PER_M3_K + 6000.0);
    let tau = 1.0 / (20.0 * (1.0 / c_a + 1.0 / c_s));
    let off_s = 310.0;
    let by_hand =
        22.0 + 100.0 * off_s / c + c_s / c * (100.0 / c_a) * tau * (1.0 - (-off_s / tau).exp());
    assert!((by_hand - 29.76).abs() < 0.005, "{by_hand}");
    assert!(
        (peak_c - by_hand).abs() < 1e-6,
        "peak {peak_c}, by hand {by_hand}"
    );
    assert!(first(&events, EventKind::TemperatureHigh).t < 320.0);
    assert!(!events.iter().any(|e| e.event == EventKind::ThermalShutdown));
    let system = sim.system_status();
    assert!(
        system.max_inlet_c.unwrap() < 27.0,
        "{:?}",
        system.max_inlet_c
    );
}

/// The reference room with a rack instead of the load: it stops itself at its
/// 30 °C shutdown_c; `reset` is refused while the inlet is still that hot and
/// restarts it once the cooling has brought the air back down.
#[test]
fn a_rack_shuts_itself_down_at_its_shutdown_c_and_reset_restarts_it_once_cool() {
    let toml = reference_room(
        r#"
[[node]]
id = "rack"
kind = "server"
feeds = ["util"]
demand_kw = 20.0
room = "room_1"
shutdown_c = 30.0
inlet_offset_c = 2.0

[[node]]
id = "crah"
kind = "cooling"
feeds = ["util"]
room = "room_1"
capacity_kw = 200.0
"#,
    );
    let mut sim = sim(&toml);
    let mut events = Vec::new();
    sim.command("crah", &Command::SetFault { state: true })
        .unwrap();
    let rack = idx(&sim, "rack");
    while sim.node_state(rack) != NodeState::Shutdown {
        sim.step();
        events.extend(sim.events().iter().cloned());
        assert!(sim.time_s() < 120.0, "no shutdown");
    }
    // Inlet = air + 2 K: the rack stops when the air reaches 28 °C.
    let shutdown = first(&events, EventKind::ThermalShutdown);
    assert_eq!(shutdown.node_id, "rack");
    assert_eq!(shutdown.severity, Severity::Critical);
    assert!(
        shutdown.message.contains("reached its shutdown_c 30 °C"),
        "{}",
        shutdown.message
    );
    let status = sim.node_status(rack);
    assert!(status.measured.inlet_c.unwrap() >= 30.0);
    assert_eq!(status.measured.power_kw, Some(0.0));
    let system = sim.system_status();
    assert!(
        (system.it_kw_lost - 20.0).abs() < 1e-9,
        "{}",
        system.it_kw_lost
    );
    assert_eq!(system.nodes.get(NodeState::Shutdown), 1);

    // Still hot: refused, with what to do.
    sim.command("rack", &Command::Reset).unwrap();
    sim.step();
    let refused = sim
        .events()
        .iter()
        .find(|e| e.event == EventKind::Refused)
        .expect("reset refused");
    assert!(
        refused
            .reason
            .as_deref()
            .unwrap()
            .contains("restore the cooling"),
        "{refused:?}"
    );
    assert_eq!(sim.node_state(rack), NodeState::Shutdown);

    // Cooling back: the air returns to 22 °C, the rack may start again.
    sim.command("crah", &Command::SetFault { state: false })
        .unwrap();
    let mut more = Vec::new();
    let back = sim.time_s() + 300.0;
    run_to(&mut sim, back, &mut more);
    assert!(air_c(&sim, "room_1") < 23.0);
    assert_eq!(
        sim.node_state(rack),
        NodeState::Shutdown,
        "latched until reset"
    );
    sim.command("rack", &Command::Reset).unwrap();
    sim.step();
    let reset = sim
        .events()
        .iter()
        .find(|e| e.node_id == "rack" && e.event == EventKind::Reset)
        .expect("restarted");
    assert!(reset.message.contains("restarted"), "{}", reset.message);
    assert_eq!(sim.node_state(rack), NodeState::Ok);
    assert!(sim.system_status().it_kw_lost < 1e-9);
}

#[test]
fn the_room_key_names_a_room_and_errors_say_which() {
    let bad = |toml: &str| {
        Topology::from_toml_str(toml, "t.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let base = "[[node]]\nid = \"util\"\nkind = \"utility\"\n\n[[node]]\nid = \"room_1\"\nkind = \"room\"\n";
    let unknown = bad(&format!(
        "{base}\n[[node]]\nid = \"l\"\nkind = \"load\"\nfeeds = [\"util\"]\nroom = \"hall_9\"\n"
    ));
    assert!(
        unknown.contains("t.toml:13: `room`: unknown room `hall_9`"),
        "{unknown}"
    );
    let not_room = bad(&format!(
        "{base}\n[[node]]\nid = \"l\"\nkind = \"load\"\nfeeds = [\"util\"]\nroom = \"util\"\n"
    ));
    assert!(
        not_room.contains("`util` is a utility, not a room"),
        "{not_room}"
    );
    let nested = bad(&format!(
        "{base}\n[[node]]\nid = \"room_2\"\nkind = \"room\"\nroom = \"room_1\"\n"
    ));
    assert!(
        nested.contains("a room cannot be in another room"),
        "{nested}"
    );
    let fed = bad(&format!(
        "{base}\n[[node]]\nid = \"room_2\"\nkind = \"room\"\nfeeds = [\"util\"]\n"
    ));
    assert!(fed.contains("takes no feeds"), "{fed}");
    let breaker = bad(&format!("{base}breaker_a = 100.0\n"));
    assert!(
        breaker.contains("`breaker_a`: unknown key for a room node"),
        "{breaker}"
    );
    let class = bad(&format!("{base}class = \"B7\"\n"));
    assert!(
        class.contains("`class`: unknown `B7` (known: A1, A2, A3, A4)"),
        "{class}"
    );
}

#[test]
fn a_cooling_unit_without_a_capacity_gets_1_2_times_its_rooms_it_demand() {
    let sim = sim(r#"
[[node]]
id = "util"
kind = "utility"

[[node]]
id = "hall"
kind = "room"

[[node]]
id = "rack_1"
kind = "server"
feeds = ["util"]
demand_kw = 30.0
room = "hall"

[[node]]
id = "rack_2"
kind = "server"
feeds = ["util"]
demand_kw = 20.0
room = "hall"

[[node]]
id = "crah"
kind = "cooling"
feeds = ["util"]
room = "hall"
"#);
    let json = sim.topology().to_json();
    let crah = json.nodes.iter().find(|n| n.id == "crah").unwrap();
    assert_eq!(crah.params["capacity_kw"], 60.0);
    assert_eq!(crah.room.as_deref(), Some("hall"));
    let hall = json.nodes.iter().find(|n| n.id == "hall").unwrap();
    assert_eq!(hall.class.as_deref(), Some("A1"));
    assert!(!hall.params.contains_key("phases"), "{:?}", hall.params);
    // A room reports temperatures, not electrical values, and takes no commands.
    let status = sim.node_status(idx(&sim, "hall"));
    assert_eq!(status.measured.temperature_c, Some(22.0));
    assert_eq!(status.measured.voltage_in, None);
    assert_eq!(status.measured.breaker, None);
    let mut sim = sim;
    let refused = sim.command("hall", &Command::SetFault { state: true });
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("every node but rooms"),
        "set_fault on a room"
    );
}
