//! Topology files: every shipped topology and generated site parses with the expected
//! shape and runs healthy; each kind of bad file is refused with one clear error naming
//! the file, the line, the key and the reason.

use std::path::{Path, PathBuf};

use winter_river_protocol::{NodeKind, NodeState};
use winter_river_sim::topology::generate::{
    synthetic_node_count, synthetic_node_count_with_rooms, synthetic_racks_for_nodes,
    synthetic_racks_for_nodes_with_rooms, synthetic_site_toml, synthetic_site_with_rooms_toml,
};
use winter_river_sim::{Simulator, Topology, TopologyError};

fn topologies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topologies")
}

fn shipped(name: &str) -> Topology {
    let path = topologies_dir().join(name);
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Topology::from_toml_str(&src, name).unwrap_or_else(|e| panic!("{e}"))
}

fn count(topo: &Topology, kind: NodeKind) -> usize {
    topo.nodes.iter().filter(|n| n.kind() == kind).count()
}

// ── Shipped topologies ────────────────────────────────────────────────────────────

#[test]
fn every_shipped_topology_parses() {
    let mut seen = 0;
    for entry in std::fs::read_dir(topologies_dir()).expect("topologies/ exists") {
        let path = entry.expect("readable dir entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let src = std::fs::read_to_string(&path).expect("readable topology");
            let file = path.display().to_string();
            if let Err(e) = Topology::from_toml_str(&src, &file) {
                panic!("{e}");
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 3,
        "expected default, 2n and hall at least, found {seen}"
    );
}

#[test]
fn default_is_the_seed_chain() {
    let topo = shipped("default.toml");
    let ids: Vec<_> = topo.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "util_a", "trf_a", "gen_a", "sw_a", "dist_a", "ups_a", "pdu_a", "srv_a"
        ]
    );
    assert_eq!(topo.to_json(), Topology::builtin_default().to_json());
}

#[test]
fn two_n_has_a_and_b_chains_and_dual_corded_servers() {
    let topo = shipped("2n.toml");
    for side in ["a", "b"] {
        for stem in ["util", "trf", "gen", "sw", "dist", "ups", "pdu"] {
            let id = format!("{stem}_{side}");
            assert!(topo.node_index(&id).is_some(), "2n.toml has no `{id}`");
        }
    }
    let pdu_a = topo.node_index("pdu_a").expect("pdu_a");
    let pdu_b = topo.node_index("pdu_b").expect("pdu_b");
    let servers: Vec<_> = topo
        .nodes
        .iter()
        .filter(|n| n.kind() == NodeKind::Server)
        .collect();
    assert!(servers.len() >= 4);
    for s in servers {
        assert_eq!(
            s.feeds,
            [pdu_a, pdu_b],
            "{} is dual-corded on pdu_a and pdu_b",
            s.id
        );
    }
}

#[test]
fn hall_has_racks_on_several_pdus_with_cooling() {
    let topo = shipped("hall.toml");
    assert!(count(&topo, NodeKind::Server) >= 40);
    assert!((4..=8).contains(&count(&topo, NodeKind::Pdu)));
    assert!(count(&topo, NodeKind::Ups) >= 1);
    assert!(count(&topo, NodeKind::Cooling) >= 1);
    assert!(count(&topo, NodeKind::Generator) >= 1);
    assert!(count(&topo, NodeKind::Switchgear) >= 1);
    assert_eq!(count(&topo, NodeKind::Room), 1);
    assert_eq!(topo.len(), 78);
    // Every rack and every CRAH is in the white space.
    let hall = topo.node_index("hall_1").expect("hall_1");
    for node in &topo.nodes {
        if matches!(node.kind(), NodeKind::Server | NodeKind::Cooling) {
            assert_eq!(node.room, Some(hall), "{} is in hall_1", node.id);
        }
    }
}

// ── Generated sites ───────────────────────────────────────────────────────────────

#[test]
fn generated_sites_with_rooms_put_each_ups_group_in_a_hall_that_holds_its_setpoint() {
    for (racks, nodes) in [(1, 17), (10, 26), (1000, 1174)] {
        let topo = Topology::from_toml_str(&synthetic_site_with_rooms_toml(racks), "generated")
            .unwrap_or_else(|e| panic!("{racks} racks: {e}"));
        assert_eq!(topo.len(), nodes, "{racks} racks");
        assert_eq!(synthetic_node_count_with_rooms(racks), nodes);
    }
    assert_eq!(
        synthetic_node_count_with_rooms(synthetic_racks_for_nodes_with_rooms(100_000)),
        100_000
    );
    let topo =
        Topology::from_toml_str(&synthetic_site_with_rooms_toml(250), "generated").expect("valid");
    assert_eq!(count(&topo, NodeKind::Room), 3);
    let rack = &topo.nodes[topo.node_index("srv_000250").expect("rack 250")];
    assert_eq!(rack.room, topo.node_index("hall_0003"));
    // Cooled at its default capacity (1.2 × 500 kW), each hall stays at 22 °C.
    let mut sim = winter_river_sim::Simulator::new(topo, 100);
    for _ in 0..600 {
        sim.step();
    }
    let max_inlet = sim.system_status().max_inlet_c.expect("racks in rooms");
    assert!((max_inlet - 22.0).abs() < 1e-9, "{max_inlet}");
}

#[test]
fn generated_sites_parse_with_the_documented_node_count() {
    for (racks, nodes) in [(1, 16), (10, 25), (1000, 1164)] {
        let src = synthetic_site_toml(racks);
        let topo = Topology::from_toml_str(&src, "generated")
            .unwrap_or_else(|e| panic!("{racks} racks: {e}"));
        assert_eq!(topo.len(), nodes, "{racks} racks");
        assert_eq!(synthetic_node_count(racks), nodes);
        assert_eq!(count(&topo, NodeKind::Server), racks);
    }
}

#[test]
fn generated_node_count_formula_holds_at_group_edges() {
    for racks in [2, 19, 20, 21, 99, 100, 101, 299, 300, 301, 601] {
        let topo =
            Topology::from_toml_str(&synthetic_site_toml(racks), "generated").expect("valid");
        assert_eq!(topo.len(), synthetic_node_count(racks), "{racks} racks");
    }
    // Zero racks is taken as one.
    assert_eq!(synthetic_site_toml(0), synthetic_site_toml(1));
}

#[test]
fn generated_sites_are_deterministic() {
    assert_eq!(synthetic_site_toml(250), synthetic_site_toml(250));
}

#[test]
fn racks_for_nodes_inverts_the_count() {
    for nodes in [1, 10, 16, 1_000, 10_000, 100_000] {
        let racks = synthetic_racks_for_nodes(nodes);
        assert!(synthetic_node_count(racks) >= nodes);
        assert!(racks == 1 || synthetic_node_count(racks - 1) < nodes);
    }
}

// ── Bad topologies: one clear error each ─────────────────────────────────────────

/// Parses `src` as `bad.toml`, expecting a refusal.
fn refused(src: &str) -> TopologyError {
    match Topology::from_toml_str(src, "bad.toml") {
        Ok(_) => panic!("accepted:\n{src}"),
        Err(e) => e,
    }
}

/// The error names `bad.toml`, the line, the key, and a reason holding `reason`; its
/// message says all of that on one line.
#[track_caller]
fn assert_refused(src: &str, line: usize, key: &str, reason: &str) {
    let e = refused(src);
    assert_eq!(e.file, "bad.toml", "{e}");
    assert_eq!(e.line, Some(line), "{e}");
    assert_eq!(e.key.as_deref(), Some(key), "{e}");
    assert!(
        e.reason.contains(reason),
        "reason {:?} lacks {reason:?}",
        e.reason
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("bad.toml:{line}: `{key}`: ")),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "one line: {msg}");
}

const UTIL: &str = "[[node]]\nid = \"u\"\nkind = \"utility\"\n";

#[test]
fn unknown_key_is_refused() {
    let src = format!("{UTIL}colour = \"red\"\n");
    assert_refused(&src, 4, "colour", "unknown key for a utility node");
}

#[test]
fn unknown_feed_is_refused() {
    let src = format!("{UTIL}\n[[node]]\nid = \"t\"\nkind = \"transformer\"\nfeeds = [\"nope\"]\n");
    assert_refused(&src, 8, "feeds", "unknown feed `nope`");
}

#[test]
fn cycle_is_refused() {
    let src = format!(
        "{UTIL}\n[[node]]\nid = \"d1\"\nkind = \"distribution\"\nfeeds = [\"d2\"]\n\
         \n[[node]]\nid = \"d2\"\nkind = \"distribution\"\nfeeds = [\"d1\"]\n"
    );
    // d1 is the first node on the cycle; the error points at its [[node]].
    assert_refused(&src, 5, "feeds", "node `d1` is on a cycle of feeds");
}

#[test]
fn second_feed_on_a_transformer_is_refused() {
    let src = format!(
        "{UTIL}\n[[node]]\nid = \"u2\"\nkind = \"utility\"\n\
         \n[[node]]\nid = \"t\"\nkind = \"transformer\"\nfeeds = [\"u\", \"u2\"]\n"
    );
    assert_refused(
        &src,
        12,
        "feeds",
        "only switchgear, sts (one feed at a time) and server, cooling, load (sharing their demand) take more than one",
    );
}

/// An STS takes several feeds, like switchgear; its `transfer_ms` is a duration.
#[test]
fn sts_takes_several_feeds_and_refuses_a_bad_transfer_ms() {
    let sts = |extra: &str| {
        format!(
            "{UTIL}\n[[node]]\nid = \"u2\"\nkind = \"utility\"\n\
             \n[[node]]\nid = \"s\"\nkind = \"sts\"\nfeeds = [\"u\", \"u2\"]\n{extra}"
        )
    };
    let ok = Topology::from_toml_str(&sts("transfer_ms = 8\n"), "ok.toml").expect("valid");
    let named = ok.node(2).params.named();
    assert_eq!(
        named,
        [("transfer_ms", 8.0), ("retransfer_delay_s", 5.0)],
        "defaults and the file's value, named as in the file"
    );
    assert_refused(
        &sts("transfer_ms = -1.0\n"),
        13,
        "transfer_ms",
        "-1 is out of range: must be >= 0",
    );
    assert_refused(
        &sts("transfer_ms = \"fast\"\n"),
        13,
        "transfer_ms",
        "must be a number, found string",
    );
    assert_refused(
        &sts("retransfer_delay_s = -5\n"),
        13,
        "retransfer_delay_s",
        "must be >= 0",
    );
}

#[test]
fn negative_rating_is_refused() {
    let src = format!(
        "{UTIL}\n[[node]]\nid = \"t\"\nkind = \"transformer\"\nfeeds = [\"u\"]\nrating_kva = -5.0\n"
    );
    assert_refused(&src, 9, "rating_kva", "must be > 0");
}

#[test]
fn efficiency_zero_is_refused() {
    let src = format!(
        "{UTIL}\n[[node]]\nid = \"t\"\nkind = \"transformer\"\nfeeds = [\"u\"]\nefficiency = 0.0\n"
    );
    assert_refused(&src, 9, "efficiency", "must be in (0, 1]");
}

#[test]
fn efficiency_above_one_is_refused() {
    let src = format!(
        "{UTIL}\n[[node]]\nid = \"t\"\nkind = \"transformer\"\nfeeds = [\"u\"]\nefficiency = 1.5\n"
    );
    assert_refused(&src, 9, "efficiency", "must be in (0, 1]");
}

#[test]
fn unknown_kind_is_refused() {
    let src = "[[node]]\nid = \"x\"\nkind = \"flux_capacitor\"\n";
    assert_refused(src, 3, "kind", "unknown kind `flux_capacitor`");
}

#[test]
fn duplicate_id_is_refused() {
    let src = format!("{UTIL}\n{UTIL}");
    assert_refused(&src, 6, "id", "duplicate node id `u` (first at line");
}

#[test]
fn bad_id_is_refused() {
    let src = "[[node]]\nid = \"A/b\"\nkind = \"utility\"\n";
    assert_refused(src, 2, "id", "`A/b`");
}

#[test]
fn system_as_id_is_refused() {
    let src = "[[node]]\nid = \"system\"\nkind = \"utility\"\n";
    assert_refused(src, 2, "id", "reserved");
}

#[test]
fn non_number_value_is_refused() {
    let src = format!(
        "{UTIL}\n[[node]]\nid = \"t\"\nkind = \"transformer\"\nfeeds = [\"u\"]\nrating_kva = \"big\"\n"
    );
    assert_refused(&src, 9, "rating_kva", "must be a number, found string");
}

#[test]
fn missing_id_is_refused() {
    let src = format!("{UTIL}\n[[node]]\nkind = \"transformer\"\nfeeds = [\"u\"]\n");
    assert_refused(&src, 5, "id", "[[node]] has no `id`");
}

// ── Running healthy ──────────────────────────────────────────────────────────────

/// Steps `topo` for 60 s at 100 ms and checks every step: no IT load lost, no node
/// unpowered, faulted, tripped, overloaded or on battery; on utility at the end, with a
/// believable PUE when `pue_believable` (a tiny synthetic site carries a whole block's
/// no-load losses, so its PUE is not).
fn runs_healthy_for_60_s(topo: Topology, name: &str, pue_believable: bool) {
    let n = topo.len();
    let mut sim = Simulator::new(topo, 100);
    for _ in 0..=600 {
        sim.step();
        let sys = sim.system_status();
        assert_eq!(
            sys.it_kw_lost, 0.0,
            "{name} at {} s: {sys:?}",
            sys.sim_time_s
        );
        assert_eq!(sys.it_kwh_unserved, 0.0, "{name} at {} s", sys.sim_time_s);
        assert!(sys.it_kw > 0.0, "{name}: no IT load served");
        for i in 0..n {
            let st = sim.node_status(i);
            assert!(
                matches!(st.status, NodeState::Ok | NodeState::Standby),
                "{name} at {} s: {} is {}",
                sys.sim_time_s,
                st.node_id,
                st.status
            );
        }
    }
    let sys = sim.system_status();
    assert!(
        (sys.sim_time_s - 60.0).abs() < 1e-9,
        "{name}: {}",
        sys.sim_time_s
    );
    assert_eq!(sys.source.as_str(), "utility", "{name}");
    let pue = sys.pue.expect("pue with IT load and a live source");
    assert!(pue > 1.0, "{name}: PUE {pue}");
    if pue_believable {
        assert!((1.05..1.6).contains(&pue), "{name}: PUE {pue}");
    }
}

#[test]
fn default_runs_healthy() {
    runs_healthy_for_60_s(shipped("default.toml"), "default", true);
}

#[test]
fn two_n_runs_healthy() {
    runs_healthy_for_60_s(shipped("2n.toml"), "2n", true);
}

#[test]
fn hall_runs_healthy() {
    runs_healthy_for_60_s(shipped("hall.toml"), "hall", true);
}

#[test]
fn sts_runs_healthy() {
    runs_healthy_for_60_s(shipped("sts.toml"), "sts", true);
}

/// Single-corded racks behind an STS over the A and B UPSes, beside dual-corded ones.
#[test]
fn sts_has_single_corded_racks_behind_an_sts_over_both_upses() {
    let topo = shipped("sts.toml");
    assert_eq!(count(&topo, NodeKind::Sts), 1);
    let sts = topo.node_index("sts_1").expect("sts_1");
    let feeds: Vec<&str> = topo
        .node(sts)
        .feeds
        .iter()
        .map(|&f| topo.node(f).id.as_str())
        .collect();
    assert_eq!(feeds, ["ups_a", "ups_b"]);
    let pdu_s = topo.node_index("pdu_s").expect("pdu_s");
    for id in ["srv_s1", "srv_s2"] {
        let i = topo.node_index(id).expect("rack");
        assert_eq!(
            topo.node(i).feeds,
            [pdu_s],
            "{id} is single-corded on pdu_s"
        );
    }
}

#[test]
fn generated_sites_run_healthy() {
    for racks in [1, 10, 1000] {
        let topo =
            Topology::from_toml_str(&synthetic_site_toml(racks), "generated").expect("valid");
        runs_healthy_for_60_s(topo, &format!("{racks} racks"), racks >= 100);
    }
}

/// Reliability data (read by `winter-river analyze`) keeps a topology valid for the
/// simulator, and its ranges are checked with the line.
#[test]
fn reliability_keys_are_accepted_and_checked() {
    let src = r#"
[reliability.ups]
mtbf_h = 250000.0
mttr_h = 8.0

[[node]]
id = "gen"
kind = "generator"
mtbf_h = inf
fail_to_start = 0.02

[[node]]
id = "ups"
kind = "ups"
feeds = ["gen"]
mttr_h = 4
"#;
    assert!(Topology::from_toml_str(src, "rel.toml").is_ok());
    let bad = src.replace("mttr_h = 4", "fail_to_start = 0.1");
    let err = Topology::from_toml_str(&bad, "rel.toml").expect_err("refused");
    assert_eq!(
        (err.line, err.key.as_deref()),
        (Some(16), Some("fail_to_start")),
        "{err}"
    );
    let bad = src.replace("fail_to_start = 0.02", "fail_to_start = 1.5");
    let err = Topology::from_toml_str(&bad, "rel.toml").expect_err("refused");
    assert_eq!(
        (err.line, err.key.as_deref()),
        (Some(10), Some("fail_to_start")),
        "{err}"
    );
}
