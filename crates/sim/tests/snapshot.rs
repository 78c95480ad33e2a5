//! A simulator saved mid-run and restored (through the state file's JSON) steps on
//! exactly as the original: same node statuses, system status and events for every
//! later step, with the same commands thrown at both — on the seed chain mid-outage
//! (generator starting and running, UPS on battery) and on the 2N site. A state of
//! another topology, or one that does not fit, is refused with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use winter_river_protocol::{Command, Source};
use winter_river_sim::{RestoreError, SimState, Simulator, Topology, topology_fingerprint};

fn site(file: &str) -> Topology {
    let path = format!("{}/../../topologies/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    Topology::from_toml_str(&text, &path).unwrap()
}

/// Saves `sim` as the engine does (JSON text) and restores it onto `topology`.
fn round_trip(sim: &Simulator, topology: Topology) -> Simulator {
    let json = serde_json::to_string(&sim.snapshot()).unwrap();
    let state: SimState = serde_json::from_str(&json).unwrap();
    Simulator::restore(topology, state).unwrap()
}

/// Everything an operator sees of one step, as published.
fn observed(sim: &Simulator) -> String {
    let mut out = serde_json::to_string(&sim.system_status()).unwrap();
    for i in 0..sim.topology().len() {
        out += &serde_json::to_string(&sim.node_status(i)).unwrap();
    }
    out += &serde_json::to_string(sim.events()).unwrap();
    out
}

/// Steps both `steps` times, sending `commands[k]` (node, command) to both before
/// step k, and asserts every step looks the same.
fn assert_same(
    a: &mut Simulator,
    b: &mut Simulator,
    steps: usize,
    commands: &[(usize, String, Command)],
) {
    for k in 0..steps {
        for (at, node, cmd) in commands {
            if *at == k {
                let ra = a.command(node, cmd);
                let rb = b.command(node, cmd);
                assert_eq!(ra, rb);
            }
        }
        a.step();
        b.step();
        assert_eq!(a.time_s(), b.time_s());
        assert_eq!(
            observed(a),
            observed(b),
            "step {k} after the restore differs"
        );
    }
}

#[test]
fn seed_chain_restored_mid_outage_steps_identically() {
    let topology = Topology::builtin_default();
    let mut sim = Simulator::new(topology.clone(), 100);
    sim.step();
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    sim.command("srv_a", &Command::SetLoad { kw: 45.0 })
        .unwrap();
    // 3 s into the outage: the generator is starting, the UPS carries on battery.
    for _ in 0..30 {
        sim.step();
    }
    assert_eq!(sim.system_status().source, Source::Battery);
    let mut restored = round_trip(&sim, topology.clone());
    assert_eq!(restored.time_s(), sim.time_s());
    let commands = [(
        150,
        "util_a".to_string(),
        Command::SetFault { state: false },
    )];
    // Through the generator's start and transfer, utility's return and retransfer.
    assert_same(&mut sim, &mut restored, 900, &[]);
    assert_eq!(sim.system_status().source, Source::Generator);
    // Mid-run on the generator, with fuel burnt: restore again and bring utility back.
    let fuel = sim.system_status().fuel_pct.unwrap();
    assert!(fuel < 100.0, "fuel {fuel}");
    let mut again = round_trip(&sim, topology);
    assert_eq!(again.system_status().fuel_pct, Some(fuel));
    assert_same(&mut sim, &mut again, 1200, &commands);
}

#[test]
fn two_n_site_restored_steps_identically() {
    let topology = site("2n.toml");
    let mut sim = Simulator::new(topology.clone(), 100);
    sim.step();
    sim.command("util_a", &Command::SetFault { state: true })
        .unwrap();
    sim.command("ups_b", &Command::SetFault { state: true })
        .unwrap();
    for _ in 0..200 {
        sim.step();
    }
    let mut restored = round_trip(&sim, topology);
    let commands = [
        (10, "srv_01".to_string(), Command::SetLoad { kw: 9.0 }),
        (50, "ups_b".to_string(), Command::SetFault { state: false }),
        (
            400,
            "util_a".to_string(),
            Command::SetFault { state: false },
        ),
    ];
    assert_same(&mut sim, &mut restored, 900, &commands);
}

#[test]
fn a_state_of_another_topology_is_refused_with_the_reason() {
    let sim = Simulator::new(Topology::builtin_default(), 100);
    let state = sim.snapshot();
    let other = site("2n.toml");
    assert_ne!(topology_fingerprint(&other), state.topology_fingerprint);
    let err = Simulator::restore(other, state.clone()).unwrap_err();
    assert!(matches!(err, RestoreError::OtherTopology { .. }));
    let text = err.to_string();
    assert!(text.contains("another topology"), "{text}");
    // A state cut short is refused, not applied in part.
    let mut json = serde_json::to_value(&state).unwrap();
    json["faulted"].as_array_mut().unwrap().pop();
    let short: SimState = serde_json::from_value(json).unwrap();
    let err = Simulator::restore(Topology::builtin_default(), short).unwrap_err();
    assert!(err.to_string().contains("`faulted` has"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Saved at any step of an outage drill with random faults and loads, the
    /// restored site steps as the original.
    #[test]
    fn restored_at_any_step_steps_identically(
        save_at in 0usize..400,
        events in prop::collection::vec((0usize..600, 0usize..5, 0.0f64..80.0), 0..8),
    ) {
        let topology = Topology::builtin_default();
        let nodes = ["util_a", "gen_a", "ups_a", "srv_a", "sw_a"];
        let commands: Vec<(usize, String, Command)> = events
            .iter()
            .map(|&(at, node, kw)| {
                let cmd = if nodes[node] == "srv_a" {
                    Command::SetLoad { kw }
                } else {
                    Command::SetFault { state: kw > 40.0 }
                };
                (at, nodes[node].to_string(), cmd)
            })
            .collect();
        let mut sim = Simulator::new(topology.clone(), 100);
        sim.command("util_a", &Command::SetFault { state: true }).unwrap();
        for k in 0..save_at {
            for (at, node, cmd) in &commands {
                if *at == k {
                    let _ = sim.command(node, cmd);
                }
            }
            sim.step();
        }
        let later: Vec<_> = commands
            .iter()
            .filter(|(at, _, _)| *at >= save_at)
            .map(|(at, n, c)| (at - save_at, n.clone(), c.clone()))
            .collect();
        let mut restored = round_trip(&sim, topology);
        assert_same(&mut sim, &mut restored, 300, &later);
    }
}

/// The hall saved while its room heats (CRAHs tripped, racks about to stop) and
/// restored mid-transient: the temperatures, a cooling unit's restart timer and the
/// racks' thermal shutdown carry on exactly.
#[test]
fn a_room_heating_and_restarting_its_cooling_resumes_exactly() {
    let topology = site("hall.toml");
    let mut sim = Simulator::new(topology.clone(), 100);
    for crah in 1..=6 {
        sim.command(&format!("crah_{crah}"), &Command::SetFault { state: true })
            .unwrap();
    }
    // 80 s: the hall is past 35 °C, the racks stop at 88.2 s.
    for _ in 0..800 {
        sim.step();
    }
    let mut restored = round_trip(&sim, topology.clone());
    let crahs_back: Vec<(usize, String, Command)> = (1..=6)
        .map(|crah| {
            (
                50,
                format!("crah_{crah}"),
                Command::SetFault { state: false },
            )
        })
        .collect();
    assert_same(&mut sim, &mut restored, 400, &crahs_back);
    let rack = topology.node_index("srv_101").unwrap();
    assert_eq!(
        restored.node_state(rack),
        winter_river_protocol::NodeState::Shutdown
    );
    // Saved at 120 s, inside the CRAHs' 300 s restart (from 85 s): restored, they
    // still wait for it, and remove heat again at 385 s as the original does.
    let mut again = round_trip(&sim, topology.clone());
    let (crah, hall) = (
        topology.node_index("crah_1").unwrap(),
        topology.node_index("hall_1").unwrap(),
    );
    for _ in 0..2700 {
        sim.step();
        again.step();
        assert_eq!(sim.events(), again.events(), "at {} s", sim.time_s());
        assert_eq!(sim.node_status(hall), again.node_status(hall));
    }
    assert_eq!(sim.node_status(crah), again.node_status(crah));
    assert_eq!(
        again.node_state(crah),
        winter_river_protocol::NodeState::Ok,
        "restarted by 390 s"
    );
}
