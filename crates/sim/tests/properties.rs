//! Property tests over random valid topologies and fault sequences: the energy
//! balance holds every step, no node is live without a live path from a source or
//! a charged battery, every status word is one its kind lists (the protocol's
//! kinds table), PUE is at least 1 at every step (on battery too), and the same
//! inputs give byte-identical outputs — with faults, loads and every operator
//! command (switching, modes, lock-out, EPO) thrown at random nodes. Sites may have
//! rooms: each room's heat balance holds every step (heat stored in its air and
//! solid mass = heat in − heat removed, relative error ≤ 1e-9).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;

use proptest::prelude::*;
use winter_river_protocol::{ATS_MODES, Command, GENERATOR_MODES, NodeKind, UPS_MODES};
use winter_river_sim::{Simulator, Topology};

/// A random site: utilities and generators, switchgear choosing among them,
/// distribution → UPS → PDUs per switchgear, an STS over the first and last PDU,
/// dual- or single-corded loads (on PDUs or the STS).
#[derive(Debug, Clone)]
struct Site {
    utilities: usize,
    generators: usize,
    /// Per switchgear: (preferred utility, alternates as source indices).
    switchgear: Vec<(usize, Vec<usize>)>,
    /// Per switchgear: UPS battery \[kWh\] and rating \[kW\].
    ups: Vec<(f64, f64)>,
    /// Per load: kind (0 server, 1 cooling, 2 load), feeds (PDU indices; one past
    /// the last PDU = the STS), demand \[kW\].
    loads: Vec<(u8, Vec<usize>, f64)>,
    /// The STS's transfer time \[ms\]: below, at and above one 100 ms step.
    sts_transfer_ms: f64,
    /// Breaker on distribution boards \[A\] (none if 0).
    breaker_a: Vec<f64>,
    /// Rooms: air \[m³\], solid \[kJ/K\], coupling \[kW/K\], cooling restart \[s\].
    /// Load `l` is in room `l % rooms`, PDUs in the first; none without rooms.
    rooms: Vec<(f64, f64, f64, f64)>,
}

fn site() -> impl Strategy<Value = Site> {
    (1usize..3, 0usize..3, 1usize..4).prop_flat_map(|(utilities, generators, nsw)| {
        let sources = utilities + generators;
        (
            Just(utilities),
            Just(generators),
            prop::collection::vec((0..utilities, prop::collection::vec(0..sources, 0..3)), nsw),
            prop::collection::vec((0.0f64..20.0, 20.0f64..200.0), nsw),
            prop::collection::vec(
                (
                    0u8..3,
                    prop::collection::vec(0..=nsw * 2, 1..3),
                    0.0f64..40.0,
                ),
                1..8,
            ),
            prop::collection::vec(prop_oneof![Just(0.0), 50.0f64..400.0], nsw),
            prop_oneof![Just(4.0), Just(100.0), Just(250.0)],
            prop::collection::vec(
                (
                    20.0f64..2000.0,
                    100.0f64..20000.0,
                    0.5f64..50.0,
                    0.0f64..30.0,
                ),
                0..3,
            ),
        )
            .prop_map(
                |(
                    utilities,
                    generators,
                    switchgear,
                    ups,
                    loads,
                    breaker_a,
                    sts_transfer_ms,
                    rooms,
                )| {
                    Site {
                        utilities,
                        generators,
                        switchgear,
                        ups,
                        loads,
                        breaker_a,
                        sts_transfer_ms,
                        rooms,
                    }
                },
            )
    })
}

fn source_id(site: &Site, s: usize) -> String {
    if s < site.utilities {
        format!("u{s}")
    } else {
        format!("g{}", s - site.utilities)
    }
}

/// `room = "r<k>"` for the `n`-th node placed in a room, if the site has rooms.
fn room_key(site: &Site, n: usize) -> String {
    if site.rooms.is_empty() {
        String::new()
    } else {
        format!("room = \"r{}\"\n", n % site.rooms.len())
    }
}

fn to_toml(site: &Site) -> String {
    let mut t = String::new();
    for (r, (air_m3, solid_kj_per_k, ua_kw_per_k, _)) in site.rooms.iter().enumerate() {
        writeln!(
            t,
            "[[node]]\nid = \"r{r}\"\nkind = \"room\"\nair_m3 = {air_m3}\nsolid_kj_per_k = {solid_kj_per_k}\nua_kw_per_k = {ua_kw_per_k}\n"
        )
        .unwrap();
    }
    for u in 0..site.utilities {
        writeln!(
            t,
            "[[node]]\nid = \"u{u}\"\nkind = \"utility\"\nvoltage = 480.0\n"
        )
        .unwrap();
    }
    for g in 0..site.generators {
        writeln!(
            t,
            "[[node]]\nid = \"g{g}\"\nkind = \"generator\"\nrating_kw = 150.0\nstart_delay_s = 2.0\ncooldown_s = 5.0\nfuel_l = 3.0\n"
        )
        .unwrap();
    }
    for (k, (preferred, alternates)) in site.switchgear.iter().enumerate() {
        let mut feeds = vec![format!("u{preferred}")];
        for &a in alternates {
            let id = source_id(site, a);
            if !feeds.contains(&id) {
                feeds.push(id);
            }
        }
        let feeds: Vec<String> = feeds.iter().map(|f| format!("\"{f}\"")).collect();
        writeln!(
            t,
            "[[node]]\nid = \"sw{k}\"\nkind = \"switchgear\"\nfeeds = [{}]\nstart_delay_s = 1.0\nretransfer_delay_s = 4.0\n",
            feeds.join(", ")
        )
        .unwrap();
        let breaker = if site.breaker_a[k] > 0.0 {
            format!("breaker_a = {}\n", site.breaker_a[k])
        } else {
            String::new()
        };
        writeln!(
            t,
            "[[node]]\nid = \"d{k}\"\nkind = \"distribution\"\nfeeds = [\"sw{k}\"]\n{breaker}"
        )
        .unwrap();
        let (battery_kwh, rating_kw) = site.ups[k];
        writeln!(
            t,
            "[[node]]\nid = \"ups{k}\"\nkind = \"ups\"\nfeeds = [\"d{k}\"]\nbattery_kwh = {battery_kwh}\nrating_kw = {rating_kw}\nno_load_loss_kw = 0.3\ndischarge_efficiency = 0.9\npeukert_k = 1.1\n"
        )
        .unwrap();
        for side in 0..2 {
            writeln!(
                t,
                "[[node]]\nid = \"p{}\"\nkind = \"pdu\"\nfeeds = [\"ups{k}\"]\nno_load_loss_kw = 0.1\n{}",
                k * 2 + side,
                room_key(site, 0)
            )
            .unwrap();
        }
    }
    let pdus = site.switchgear.len() * 2;
    writeln!(
        t,
        "[[node]]\nid = \"sts\"\nkind = \"sts\"\nfeeds = [\"p0\", \"p{}\"]\ntransfer_ms = {}\nretransfer_delay_s = 2.0\n",
        pdus - 1,
        site.sts_transfer_ms
    )
    .unwrap();
    for (l, (kind, feeds, demand)) in site.loads.iter().enumerate() {
        let cooling = *kind == 1;
        let kind = ["server", "cooling", "load"][*kind as usize];
        let mut ids: Vec<String> = Vec::new();
        for &f in feeds {
            let id = if f == pdus {
                "\"sts\"".to_string()
            } else {
                format!("\"p{f}\"")
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut thermal = room_key(site, l);
        if cooling && !site.rooms.is_empty() {
            let restart_s = site.rooms[l % site.rooms.len()].3;
            writeln!(thermal, "restart_s = {restart_s}").unwrap();
        }
        writeln!(
            t,
            "[[node]]\nid = \"l{l}\"\nkind = \"{kind}\"\nfeeds = [{}]\ndemand_kw = {demand}\n{thermal}",
            ids.join(", ")
        )
        .unwrap();
    }
    t
}

/// A command at a step: node index, command.
type Action = (usize, usize, Command);

fn actions(max_nodes: usize) -> impl Strategy<Value = Vec<Action>> {
    prop::collection::vec(
        (
            0usize..600,
            0..max_nodes,
            prop_oneof![
                any::<bool>().prop_map(|state| Command::SetFault { state }),
                (0.0f64..300.0).prop_map(|kw| Command::SetLoad { kw }),
                Just(Command::Reset),
                // Operator switching: refused ones are part of the contract too.
                Just(Command::Open),
                Just(Command::Close),
                any::<bool>().prop_map(|state| Command::Lockout { state }),
                prop::sample::select(UPS_MODES).prop_map(|mode| Command::UpsMode { mode }),
                prop::sample::select(ATS_MODES).prop_map(|mode| Command::AtsMode { mode }),
                prop::sample::select(GENERATOR_MODES).prop_map(|mode| Command::GenMode { mode }),
                any::<bool>().prop_map(|state| Command::AtsTest { state }),
                // `to` is a node index, resolved against the topology in `run`.
                (0usize..40).prop_map(|k| Command::Transfer { to: k.to_string() }),
                Just(Command::Epo),
            ],
        ),
        0..25,
    )
}

/// Runs 600 steps of 100 ms, checking invariants; returns every output as text.
fn run(topology: &Topology, actions: &[Action]) -> Result<String, TestCaseError> {
    let mut sim = Simulator::new(topology.clone(), 100);
    let mut out = String::new();
    for step in 0..600 {
        for (at, node, cmd) in actions {
            if *at == step && *node < topology.len() {
                // set_load on a non-load is refused; that is part of the contract.
                let _ = match cmd {
                    Command::Epo => sim.site_command(cmd),
                    Command::Transfer { to } => {
                        let k = to.parse::<usize>().unwrap() % topology.len();
                        let to = topology.node(k).id.clone();
                        sim.command(&topology.node(*node).id, &Command::Transfer { to })
                    }
                    _ => sim.command(&topology.node(*node).id, cmd),
                };
            }
        }
        sim.step();
        let (supply, demand) = sim.power_balance_kw();
        prop_assert!(
            (supply - demand).abs() <= 1e-9 * supply.abs().max(1.0),
            "energy balance at {} s: supply {supply} kW, demand {demand} kW",
            sim.time_s()
        );
        for heat in sim.room_heat_balance() {
            let net_kj = heat.in_kj - heat.removed_kj;
            prop_assert!(
                (heat.stored_kj - net_kj).abs() <= 1e-9 * heat.in_kj.max(1.0),
                "heat balance of {} at {} s: stored {} kJ, in − removed {net_kj} kJ ({} in)",
                topology.node(heat.room).id,
                sim.time_s(),
                heat.stored_kj,
                heat.in_kj
            );
        }
        // PUE ≥ 1 at every step, on battery too: facility power is source output plus
        // net battery discharge, which is loads served plus losses.
        let system = sim.system_status();
        if let Some(pue) = system.pue {
            prop_assert!(
                pue >= 1.0 - 1e-12,
                "pue {pue} < 1 at {} s (facility {} kW, IT {} kW)",
                sim.time_s(),
                system.facility_kw,
                system.it_kw
            );
        }
        for i in 0..topology.len() {
            if !sim.is_live(i) {
                continue;
            }
            let node = topology.node(i);
            let status = sim.node_status(i);
            let fed = match node.kind() {
                NodeKind::Utility | NodeKind::Generator => true,
                NodeKind::Switchgear | NodeKind::Sts => {
                    let src = status.measured.source.clone().unwrap();
                    sim.is_live(topology.node_index(&src).unwrap())
                }
                NodeKind::Ups => {
                    node.feeds.iter().any(|&f| sim.is_live(f))
                        || status.measured.battery_pct.unwrap() > 0.0
                }
                _ => node.feeds.iter().any(|&f| sim.is_live(f)),
            };
            prop_assert!(
                fed,
                "{} is live with no live feed at {} s",
                node.id,
                sim.time_s()
            );
        }
        for i in 0..topology.len() {
            let status = sim.node_status(i);
            let spec = topology.node(i).kind().spec();
            prop_assert!(
                spec.states.contains(&status.status),
                "{} shows {}, not a word of the {} kind",
                status.node_id,
                status.status,
                spec.name
            );
            out.push_str(&serde_json::to_string(&status).unwrap());
        }
        out.push_str(&serde_json::to_string(&sim.system_status()).unwrap());
        for e in sim.events() {
            out.push_str(&serde_json::to_string(e).unwrap());
        }
        out.push('\n');
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn energy_balance_live_paths_and_determinism(site in site(), actions in actions(40)) {
        let toml = to_toml(&site);
        let topology = Topology::from_toml_str(&toml, "random.toml")
            .map_err(|e| TestCaseError::fail(format!("{e}\n{toml}")))?;
        let first = run(&topology, &actions)?;
        let second = run(&topology, &actions)?;
        prop_assert!(first == second, "two runs of the same inputs differ");
    }
}
