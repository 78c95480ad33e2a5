//! Reference tests: values worked out by hand from docs/physics.md. Each test names
//! the physics it checks; a wrong formula or an off-by-one-step timer fails one of
//! them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use winter_river_protocol::{Command, EventKind, NodeState, Severity};
use winter_river_sim::physics::{
    S_PER_H, battery_draw_kw, current_a, iec_standard_inverse_s, peukert_soc_rate_per_h,
};
use winter_river_sim::{Simulator, Target, Topology};

const STEP_S: f64 = 0.1;

fn sim(toml: &str) -> Simulator {
    let topology = Topology::from_toml_str(toml, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    Simulator::new(topology, 100)
}

fn idx(sim: &Simulator, id: &str) -> usize {
    sim.topology().node_index(id).unwrap()
}

fn fault(sim: &mut Simulator, id: &str, state: bool) {
    sim.command(id, &Command::SetFault { state }).unwrap();
}

/// Steps until `cond` holds (checked after each step) and returns that step's time.
fn step_until(sim: &mut Simulator, limit_s: f64, mut cond: impl FnMut(&Simulator) -> bool) -> f64 {
    loop {
        sim.step();
        if cond(sim) {
            return sim.time_s();
        }
        assert!(
            sim.time_s() < limit_s,
            "condition not reached by {limit_s} s"
        );
    }
}

/// Steps until the given time (inclusive).
fn run_to(sim: &mut Simulator, t_s: f64) {
    while sim.next_time_s() <= t_s + 1e-9 {
        sim.step();
    }
}

fn source_of(sim: &Simulator, id: &str) -> String {
    sim.node_status(idx(sim, id)).measured.source.unwrap()
}

/// A utility feeding a UPS feeding one 1,000 kW load (IT when `kind` is server).
fn ups_chain(battery_kwh: f64, kind: &str) -> String {
    format!(
        r#"
[[node]]
id = "util"
kind = "utility"
voltage = 480.0

[[node]]
id = "ups"
kind = "ups"
feeds = ["util"]
rating_kw = 1500.0
efficiency = 0.95
discharge_efficiency = 0.90
battery_kwh = {battery_kwh}

[[node]]
id = "load"
kind = "{kind}"
feeds = ["ups"]
demand_kw = 1000.0
"#
    )
}

/// Fails the utility at 10.1 s and returns how long the 1,000 kW load stays up on
/// a battery of `battery_kwh` \[s\] (checking the UPS goes on battery at once).
fn ride_through_s(battery_kwh: f64) -> f64 {
    let mut s = sim(&ups_chain(battery_kwh, "load"));
    run_to(&mut s, 10.0);
    fault(&mut s, "util", true);
    s.step();
    assert_eq!(s.node_state(idx(&s, "ups")), NodeState::OnBattery);
    let lost_at = step_until(&mut s, 1000.0, |s| {
        s.node_state(idx(s, "load")) == NodeState::Unpowered
    });
    lost_at - 10.1
}

/// 100 kWh / (1,000 kW / (0.95 · 0.90)) = 0.085 5 h = 307.8 s.
#[test]
fn battery_ride_through_100_kwh_at_1000_kw_is_307_8_s() {
    let t = ride_through_s(100.0);
    assert!((t - 307.8).abs() <= STEP_S + 1e-9, "ride-through {t} s");
}

/// Half the battery, half the time: 153.9 s.
#[test]
fn battery_ride_through_50_kwh_at_1000_kw_is_153_9_s() {
    let t = ride_through_s(50.0);
    assert!((t - 153.9).abs() <= STEP_S + 1e-9, "ride-through {t} s");
}

/// Outage 300 s → 900 s, ride-through 307.8 s: IT lost 607.8 s → 900 s at 1,000 kW
/// = 292.2 s · 1,000 kW / 3,600 = 81.17 kWh.
#[test]
fn outage_300_to_900_s_leaves_81_17_kwh_unserved() {
    let mut s = sim(&ups_chain(100.0, "server"));
    run_to(&mut s, 299.9);
    fault(&mut s, "util", true);
    run_to(&mut s, 899.9);
    fault(&mut s, "util", false);
    run_to(&mut s, 1000.0);
    let unserved = s.it_kwh_unserved();
    // One step of 1,000 kW is 0.028 kWh.
    assert!((unserved - 81.17).abs() <= 0.03, "unserved {unserved} kWh");
    assert_eq!(s.it_kw_lost(), 0.0);
    assert_eq!(
        s.field(Target::System, "it_kwh_unserved"),
        winter_river_sim::FieldValue::Num(unserved)
    );
}

#[test]
fn iec_standard_inverse_trip_times() {
    let t2 = iec_standard_inverse_s(2.0, 1.0).unwrap();
    let t10 = iec_standard_inverse_s(10.0, 1.0).unwrap();
    assert!((t2 - 10.03).abs() < 0.005, "M=2: {t2}");
    assert!((t10 - 2.97).abs() < 0.005, "M=10: {t10}");
    assert_eq!(iec_standard_inverse_s(1.0, 1.0), None);
    assert!((iec_standard_inverse_s(2.0, 0.5).unwrap() - t2 / 2.0).abs() < 1e-12);
}

/// A 100 A breaker carrying 200 A (M = 2) trips 10.03 s later, on the first step
/// at or after that, stays tripped until `reset`, and its load is unpowered.
#[test]
fn breaker_at_twice_pickup_trips_after_10_03_s_and_latches() {
    // 200 A at 480 V three-phase PF 1 = 200 · √3 · 480 W.
    let kw = 200.0 * 3f64.sqrt() * 480.0 / 1000.0;
    let mut s = sim(r#"
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
demand_kw = 50.0
"#);
    run_to(&mut s, 5.0);
    s.command("load", &Command::SetLoad { kw: kw * 1.000_001 })
        .unwrap();
    s.step();
    assert_eq!(s.node_state(idx(&s, "dist")), NodeState::Overload);
    let tripped_at = step_until(&mut s, 60.0, |s| {
        s.node_state(idx(s, "dist")) == NodeState::Tripped
    });
    let delay = tripped_at - 5.1;
    assert!(
        (10.03 - 1e-6..=10.03 + STEP_S).contains(&delay),
        "tripped after {delay} s"
    );
    assert!(
        s.events()
            .iter()
            .any(|e| e.event.as_str() == "trip" && e.node_id == "dist")
    );
    assert_eq!(s.node_state(idx(&s, "load")), NodeState::Unpowered);

    // Latched: lowering the load does not close it.
    s.command("load", &Command::SetLoad { kw: 50.0 }).unwrap();
    run_to(&mut s, tripped_at + 30.0);
    assert_eq!(s.node_state(idx(&s, "dist")), NodeState::Tripped);
    s.command("dist", &Command::Reset).unwrap();
    s.step();
    assert_eq!(s.node_state(idx(&s, "dist")), NodeState::Ok);
    assert_eq!(s.node_state(idx(&s, "load")), NodeState::Ok);
}

/// The default chain: a 2 s utility loss is shorter than the ATS start delay (3 s),
/// so the generator never gets a start signal.
#[test]
fn utility_loss_shorter_than_ats_start_delay_starts_no_generator() {
    let mut s = Simulator::new(Topology::builtin_default(), 100);
    run_to(&mut s, 59.9);
    fault(&mut s, "util_a", true);
    s.step();
    assert_eq!(s.node_state(idx(&s, "ups_a")), NodeState::OnBattery);
    run_to(&mut s, 61.9);
    fault(&mut s, "util_a", false);
    let mut events = Vec::new();
    while s.time_s() < 120.0 {
        s.step();
        events.extend(s.events().iter().cloned());
        assert_eq!(
            s.node_state(idx(&s, "gen_a")),
            NodeState::Standby,
            "at {}",
            s.time_s()
        );
    }
    assert!(!events.iter().any(|e| e.node_id == "gen_a"), "{events:?}");
    assert_eq!(s.node_state(idx(&s, "ups_a")), NodeState::Ok);
    assert_eq!(source_of(&s, "sw_a"), "trf_a");
}

/// Loss at t = 60: start signal at 63 (ATS 3 s), generator running and load
/// transferred at 70 (start 7 s); utility back at 200 → retransfer at 500
/// (300 s), generator cooldown until standby at 560 (60 s).
#[test]
fn outage_transfers_at_t_plus_10_s_and_retransfers_300_s_after_restoration() {
    let mut s = Simulator::new(Topology::builtin_default(), 100);
    let gen_a = idx(&s, "gen_a");
    run_to(&mut s, 59.9);
    fault(&mut s, "util_a", true);
    run_to(&mut s, 62.9);
    assert_eq!(s.node_state(gen_a), NodeState::Standby);
    s.step(); // 63.0
    assert_eq!(s.node_state(gen_a), NodeState::Starting);
    run_to(&mut s, 69.9);
    assert_eq!(source_of(&s, "sw_a"), "trf_a");
    assert_eq!(s.node_state(idx(&s, "ups_a")), NodeState::OnBattery);
    s.step(); // 70.0
    assert_eq!(s.node_state(gen_a), NodeState::Ok);
    assert_eq!(source_of(&s, "sw_a"), "gen_a");
    assert_eq!(s.node_state(idx(&s, "ups_a")), NodeState::Ok);
    assert!(
        s.events()
            .iter()
            .any(|e| e.event.as_str() == "transfer" && e.node_id == "sw_a")
    );
    assert_eq!(
        s.field(Target::System, "source"),
        winter_river_sim::FieldValue::Text("generator".into())
    );
    assert_eq!(s.it_kw_lost(), 0.0);

    run_to(&mut s, 199.9);
    fault(&mut s, "util_a", false);
    run_to(&mut s, 499.9);
    assert_eq!(source_of(&s, "sw_a"), "gen_a");
    s.step(); // 500.0
    assert_eq!(source_of(&s, "sw_a"), "trf_a");
    assert_eq!(s.node_state(gen_a), NodeState::Cooldown);
    run_to(&mut s, 559.9);
    assert_eq!(s.node_state(gen_a), NodeState::Cooldown);
    s.step(); // 560.0
    assert_eq!(s.node_state(gen_a), NodeState::Standby);
}

/// A utility that fails again during the retransfer wait restarts the wait.
#[test]
fn preferred_failing_during_retransfer_wait_resets_the_wait() {
    let mut s = Simulator::new(Topology::builtin_default(), 100);
    run_to(&mut s, 9.9);
    fault(&mut s, "util_a", true);
    run_to(&mut s, 99.9);
    fault(&mut s, "util_a", false); // back at 100: retransfer would be at 400
    run_to(&mut s, 199.9);
    fault(&mut s, "util_a", true); // fails at 200
    run_to(&mut s, 249.9);
    fault(&mut s, "util_a", false); // back at 250: retransfer at 550
    run_to(&mut s, 549.9);
    assert_eq!(source_of(&s, "sw_a"), "gen_a");
    s.step();
    assert_eq!(source_of(&s, "sw_a"), "trf_a");
}

/// An alternate that dies while the preferred feed is live → retransfer at once.
#[test]
fn alternate_dying_while_preferred_is_live_retransfers_at_once() {
    let mut s = Simulator::new(Topology::builtin_default(), 100);
    run_to(&mut s, 9.9);
    fault(&mut s, "util_a", true);
    run_to(&mut s, 99.9);
    fault(&mut s, "util_a", false);
    run_to(&mut s, 119.9);
    fault(&mut s, "gen_a", true);
    s.step(); // 120.0
    assert_eq!(source_of(&s, "sw_a"), "trf_a");
    assert_eq!(s.it_kw_lost(), 0.0);
}

/// PUE = facility / IT = 1,500 / 1,000 = 1.5 (a 500 kW non-IT load, no losses).
#[test]
fn pue_is_facility_over_it() {
    let mut s = sim(r#"
[[node]]
id = "util"
kind = "utility"
voltage = 480.0

[[node]]
id = "dist"
kind = "distribution"
feeds = ["util"]

[[node]]
id = "srv"
kind = "server"
feeds = ["dist"]
demand_kw = 1000.0

[[node]]
id = "aux"
kind = "load"
feeds = ["dist"]
demand_kw = 500.0
"#);
    s.step();
    let sys = s.system_status();
    assert_eq!(sys.it_kw, 1000.0);
    assert_eq!(sys.facility_kw, 1500.0);
    assert_eq!(sys.pue, Some(1.5));
    assert_eq!(sys.source.as_str(), "utility");
}

/// 6 kW at 480 V three-phase, PF 1 → 6,000 / (√3 · 480) = 7.22 A.
#[test]
fn current_of_6_kw_at_480_v_three_phase_is_7_22_a() {
    assert!((current_a(6.0, 480.0, 1.0, 3) - 7.217).abs() < 0.001);
    assert!((current_a(6.0, 208.0, 1.0, 1) - 28.846).abs() < 0.001);
    let mut s = sim(r#"
[[node]]
id = "util"
kind = "utility"
voltage = 480.0

[[node]]
id = "dist"
kind = "distribution"
feeds = ["util"]

[[node]]
id = "aux"
kind = "load"
feeds = ["dist"]
demand_kw = 6.0
"#);
    s.step();
    let st = s.node_status(idx(&s, "dist"));
    assert!(
        (st.measured.current.unwrap() - 7.22).abs() < 0.005,
        "{st:?}"
    );
    assert_eq!(st.measured.voltage_in, Some(480.0));
    assert_eq!(st.measured.power_kw, Some(6.0));
}

/// Peukert: 100 kWh rated 20 h (P_H = 5 kW) drained at 10 kW with k = 1.2:
/// rate = (1/20) · 2^1.2 per hour → 20 / 2^1.2 = 8.7055 h.
#[test]
fn peukert_100_kwh_rated_20_h_at_10_kw_k_1_2_lasts_8_7055_h() {
    let rate = peukert_soc_rate_per_h(10.0, 100.0, 20.0, 1.2);
    assert!((1.0 / rate - 8.7055).abs() < 0.0001, "{} h", 1.0 / rate);

    let topology = Topology::from_toml_str(
        r#"
[[node]]
id = "util"
kind = "utility"

[[node]]
id = "ups"
kind = "ups"
feeds = ["util"]
efficiency = 1.0
battery_kwh = 100.0
battery_rated_h = 20.0
peukert_k = 1.2

[[node]]
id = "load"
kind = "load"
feeds = ["ups"]
demand_kw = 10.0
"#,
        "peukert.toml",
    )
    .unwrap();
    let mut s = Simulator::new(topology, 1000);
    s.step();
    fault(&mut s, "util", true);
    let lost_at = step_until(&mut s, 40_000.0, |s| {
        s.node_state(idx(s, "load")) == NodeState::Unpowered
    });
    let hours = (lost_at - 1.0) / S_PER_H;
    assert!((hours - 8.7055).abs() < 2.0 / S_PER_H, "{hours} h");
}

#[test]
fn battery_draw_includes_both_efficiencies() {
    assert!((battery_draw_kw(1000.0, 0.95, 0.90) - 1169.59).abs() < 0.01);
}

/// Dual-corded loads split equally over energized feeds, and move entirely to
/// the survivor when one side dies.
#[test]
fn dual_corded_load_splits_over_energized_feeds() {
    let mut s = sim(r#"
[[node]]
id = "util"
kind = "utility"
voltage = 480.0

[[node]]
id = "pdu_a"
kind = "pdu"
feeds = ["util"]
efficiency = 1.0

[[node]]
id = "pdu_b"
kind = "pdu"
feeds = ["util"]
efficiency = 1.0

[[node]]
id = "srv"
kind = "server"
feeds = ["pdu_a", "pdu_b"]
demand_kw = 10.0
"#);
    s.step();
    assert_eq!(s.node_status(idx(&s, "pdu_a")).measured.power_kw, Some(5.0));
    assert_eq!(s.node_status(idx(&s, "pdu_b")).measured.power_kw, Some(5.0));
    fault(&mut s, "pdu_a", true);
    s.step();
    assert_eq!(
        s.node_status(idx(&s, "pdu_b")).measured.power_kw,
        Some(10.0)
    );
    assert_eq!(s.it_kw(), 10.0);
    // Single-phase at the PDU's 208 V, PF 0.95: 10,000 / (208 · 0.95) A.
    let amps = s.node_status(idx(&s, "srv")).measured.current.unwrap();
    assert!((amps - 10_000.0 / (208.0 * 0.95)).abs() < 1e-9);
}

/// Conversion losses: P_in = P_out / efficiency + no_load_loss_kw.
#[test]
fn transformer_input_is_output_over_efficiency_plus_no_load_loss() {
    let mut s = sim(r#"
[[node]]
id = "util"
kind = "utility"

[[node]]
id = "trf"
kind = "transformer"
feeds = ["util"]
efficiency = 0.98
no_load_loss_kw = 2.0

[[node]]
id = "aux"
kind = "load"
feeds = ["trf"]
demand_kw = 98.0
"#);
    s.step();
    assert!((s.node_status(idx(&s, "trf")).measured.power_kw.unwrap() - 102.0).abs() < 1e-9);
    assert!((s.system_status().facility_kw - 102.0).abs() < 1e-9);
}

/// A UPS loaded beyond its rating goes to static bypass when its input is live.
#[test]
fn ups_overload_goes_to_bypass() {
    let mut s = sim(&ups_chain(100.0, "load"));
    s.step();
    s.command("load", &Command::SetLoad { kw: 1600.0 }).unwrap();
    s.step();
    assert_eq!(s.node_state(idx(&s, "ups")), NodeState::Bypass);
    assert_eq!(
        s.node_status(idx(&s, "ups")).measured.power_kw,
        Some(1600.0)
    );
}

/// A UPS recharges at recharge_kw once its input is back.
#[test]
fn ups_recharges_at_recharge_kw() {
    let mut s = sim(&ups_chain(100.0, "load"));
    s.step();
    fault(&mut s, "util", true);
    run_to(&mut s, 60.0);
    fault(&mut s, "util", false);
    s.step();
    let soc0 = s.node_status(idx(&s, "ups")).measured.battery_pct.unwrap();
    // Default recharge: 10 % of 1,500 kW = 150 kW → 100 s adds 150 · 100/3600 kWh.
    run_to(&mut s, 160.1);
    let soc1 = s.node_status(idx(&s, "ups")).measured.battery_pct.unwrap();
    let added_kwh = (soc1 - soc0) / 100.0 * 100.0;
    assert!(
        (added_kwh - 150.0 * 100.0 / 3600.0).abs() < 1e-6,
        "{added_kwh} kWh"
    );
}

/// Generator fuel burns linearly in load, and an empty tank stops it.
#[test]
fn generator_runs_out_of_fuel() {
    let mut s = sim(r#"
[[node]]
id = "gen"
kind = "generator"
rating_kw = 100.0
start_delay_s = 0.0
fuel_l = 10.0
fuel_l_per_h_idle = 10.0
fuel_l_per_h_full = 110.0

[[node]]
id = "util"
kind = "utility"

[[node]]
id = "sw"
kind = "switchgear"
feeds = ["util", "gen"]

[[node]]
id = "aux"
kind = "load"
feeds = ["sw"]
demand_kw = 50.0
"#);
    s.step();
    fault(&mut s, "util", true);
    let on_gen_at = step_until(&mut s, 60.0, |s| source_of(s, "sw") == "gen");
    // At half load: 10 + 100 · 0.5 = 60 L/h → 10 L lasts 600 s.
    let empty_at = step_until(&mut s, 2000.0, |s| {
        s.node_state(idx(s, "gen")) == NodeState::OutOfFuel
    });
    assert!(
        (empty_at - on_gen_at - 600.0).abs() <= 0.2,
        "ran {} s",
        empty_at - on_gen_at
    );
    assert_eq!(s.node_state(idx(&s, "aux")), NodeState::Unpowered);
}

// ── Static transfer switch ─────────────────────────────────────────────────────────

/// Two utilities → an STS (`extra` added to its `[[node]]`) → one single-corded
/// 10 kW server, with no UPS: whatever the STS does, the server sees.
fn sts_site(extra: &str) -> Simulator {
    sim(&format!(
        r#"
[[node]]
id = "util_a"
kind = "utility"
voltage = 480.0

[[node]]
id = "util_b"
kind = "utility"
voltage = 480.0

[[node]]
id = "sts"
kind = "sts"
feeds = ["util_a", "util_b"]
{extra}

[[node]]
id = "srv"
kind = "server"
feeds = ["sts"]
demand_kw = 10.0
"#
    ))
}

/// Steps to `t_s` (inclusive), collecting the events and asserting at every step
/// that the server is powered and no IT load is lost.
fn run_powered_to(s: &mut Simulator, t_s: f64, events: &mut Vec<winter_river_protocol::Event>) {
    while s.next_time_s() <= t_s + 1e-9 {
        s.step();
        events.extend(s.events().iter().cloned());
        assert_eq!(
            s.node_state(idx(s, "srv")),
            NodeState::Ok,
            "at {}",
            s.time_s()
        );
        assert_eq!(s.it_kw_lost(), 0.0, "at {}", s.time_s());
    }
}

/// 4 ms (the default) is below one 100 ms step: util_a lost at 10.0 s, the STS is
/// on util_b at that same step and the server never loses power.
#[test]
fn sts_transfer_of_4_ms_at_100_ms_steps_is_not_seen_by_the_load() {
    let mut s = sts_site("");
    let mut events = Vec::new();
    run_powered_to(&mut s, 9.9, &mut events);
    assert_eq!(source_of(&s, "sts"), "util_a");
    fault(&mut s, "util_a", true);
    run_powered_to(&mut s, 10.0, &mut events);
    assert_eq!(source_of(&s, "sts"), "util_b");
    run_powered_to(&mut s, 30.0, &mut events);
    assert_eq!(s.it_kwh_unserved(), 0.0);
    let transfer = events
        .iter()
        .find(|e| e.node_id == "sts" && e.event == EventKind::Transfer)
        .expect("a transfer event");
    assert_eq!(transfer.t, 10.0);
    assert_eq!(transfer.to.as_deref(), Some("util_b"));
    assert_eq!(transfer.severity, Severity::Warning);
    assert!(
        !events.iter().any(|e| e.event == EventKind::Unpowered),
        "{events:?}"
    );
}

/// Preferred back at 20.0 s → retransfer on the first step at or after 20 + 5 s.
#[test]
fn sts_retransfers_exactly_5_s_after_the_preferred_returns() {
    let mut s = sts_site("");
    let mut events = Vec::new();
    run_powered_to(&mut s, 9.9, &mut events);
    fault(&mut s, "util_a", true);
    run_powered_to(&mut s, 19.9, &mut events);
    fault(&mut s, "util_a", false); // live again at 20.0
    run_powered_to(&mut s, 24.9, &mut events);
    assert_eq!(source_of(&s, "sts"), "util_b");
    assert!(!events.iter().any(|e| e.event == EventKind::Retransfer));
    run_powered_to(&mut s, 25.0, &mut events);
    assert_eq!(source_of(&s, "sts"), "util_a");
    let back = s
        .events()
        .iter()
        .find(|e| e.event == EventKind::Retransfer)
        .expect("a retransfer at 25.0 s");
    assert_eq!((back.t, back.to.as_deref()), (25.0, Some("util_a")));
    assert_eq!(back.severity, Severity::Info);
}

/// Back at 20, failing again at 22 (the STS stays on util_b), back at 23: the wait
/// restarts, so the retransfer is at 28.0 s, not 25.0 s.
#[test]
fn sts_preferred_failing_during_the_wait_restarts_it() {
    let mut s = sts_site("");
    let mut events = Vec::new();
    run_powered_to(&mut s, 9.9, &mut events);
    fault(&mut s, "util_a", true);
    run_powered_to(&mut s, 19.9, &mut events);
    fault(&mut s, "util_a", false); // 20.0
    run_powered_to(&mut s, 21.9, &mut events);
    fault(&mut s, "util_a", true); // 22.0
    run_powered_to(&mut s, 22.9, &mut events);
    fault(&mut s, "util_a", false); // 23.0: retransfer at 28.0
    run_powered_to(&mut s, 27.9, &mut events);
    assert_eq!(source_of(&s, "sts"), "util_b");
    run_powered_to(&mut s, 28.0, &mut events);
    assert_eq!(source_of(&s, "sts"), "util_a");
    let moves: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.event, EventKind::Transfer | EventKind::Retransfer))
        .map(|e| (e.t, e.event))
        .collect();
    assert_eq!(
        moves,
        [(10.0, EventKind::Transfer), (28.0, EventKind::Retransfer)]
    );
}

/// On util_b with util_a live again (waiting to retransfer), util_b fails at 21.0:
/// back to util_a at that step, without waiting and without an interruption.
#[test]
fn sts_alternate_dying_while_preferred_is_live_retransfers_at_once() {
    let mut s = sts_site("");
    let mut events = Vec::new();
    run_powered_to(&mut s, 9.9, &mut events);
    fault(&mut s, "util_a", true);
    run_powered_to(&mut s, 19.9, &mut events);
    fault(&mut s, "util_a", false);
    run_powered_to(&mut s, 20.9, &mut events);
    fault(&mut s, "util_b", true);
    run_powered_to(&mut s, 21.0, &mut events);
    assert_eq!(source_of(&s, "sts"), "util_a");
}

/// An STS whose alternate is a generator: the generator stays in standby (no start
/// signal, unlike an ATS), so with util dead the STS has no live feed and the
/// server is unpowered.
#[test]
fn sts_sends_no_generator_start_signal() {
    let mut s = sim(r#"
[[node]]
id = "util"
kind = "utility"
voltage = 480.0

[[node]]
id = "gen"
kind = "generator"
start_delay_s = 0.0

[[node]]
id = "sts"
kind = "sts"
feeds = ["util", "gen"]

[[node]]
id = "srv"
kind = "server"
feeds = ["sts"]
demand_kw = 10.0
"#);
    run_to(&mut s, 9.9);
    fault(&mut s, "util", true);
    let mut events = Vec::new();
    while s.time_s() < 120.0 {
        s.step();
        events.extend(s.events().iter().cloned());
        assert_eq!(s.node_state(idx(&s, "gen")), NodeState::Standby);
    }
    assert!(!events.iter().any(|e| e.node_id == "gen"), "{events:?}");
    assert!(!events.iter().any(|e| e.event == EventKind::Transfer));
    assert_eq!(source_of(&s, "sts"), "util");
    assert_eq!(s.node_state(idx(&s, "srv")), NodeState::Unpowered);
    assert_eq!(s.it_kw_lost(), 10.0);
}

/// A break of at least one step is seen: the server is unpowered from the step of
/// the move for ceil(transfer_ms / 100 ms) steps. 100 ms → 1 step, 150 ms → 2;
/// the retransfer breaks the same way. Each lost step is 10 kW · 0.1 s = 1/3600 kWh.
#[test]
fn sts_transfer_longer_than_a_step_interrupts_the_load_for_ceil_steps() {
    for (transfer_ms, steps) in [(100.0, 1), (150.0, 2), (99.0, 0)] {
        let mut s = sts_site(&format!("transfer_ms = {transfer_ms}"));
        let srv = idx(&s, "srv");
        run_to(&mut s, 9.9);
        fault(&mut s, "util_a", true);
        let mut dead = Vec::new();
        while s.time_s() < 19.85 {
            s.step();
            if s.node_state(srv) == NodeState::Unpowered {
                dead.push(s.time_s());
            }
        }
        let expected: Vec<f64> = (0..steps).map(|k| 10.0 + 0.1 * f64::from(k)).collect();
        assert_eq!(dead.len(), expected.len(), "{transfer_ms} ms: {dead:?}");
        for (d, e) in dead.iter().zip(&expected) {
            assert!((d - e).abs() < 1e-9, "{transfer_ms} ms: {dead:?}");
        }
        assert_eq!(source_of(&s, "sts"), "util_b");
        let kwh = f64::from(steps) * 10.0 * 0.1 / S_PER_H;
        assert!(
            (s.it_kwh_unserved() - kwh).abs() < 1e-12,
            "{transfer_ms} ms: {} kWh",
            s.it_kwh_unserved()
        );

        // util_a back at 20.0 → retransfer at 25.0, with the same break.
        fault(&mut s, "util_a", false);
        let mut dead = Vec::new();
        while s.time_s() < 30.0 {
            s.step();
            if s.node_state(srv) == NodeState::Unpowered {
                dead.push(s.time_s());
            }
        }
        assert_eq!(dead.len(), steps as usize, "{transfer_ms} ms: {dead:?}");
        if let Some(first) = dead.first() {
            assert!((first - 25.0).abs() < 1e-9, "{dead:?}");
        }
        assert_eq!(source_of(&s, "sts"), "util_a");
    }
}
