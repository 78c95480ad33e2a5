//! Known answers: the seed chain's single points of failure, 2N without one, series
//! and parallel availability against the Monte Carlo's confidence interval, battery
//! ride-through times out of a sweep, reliability keys in topology files, reports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use winter_river_analysis::availability::{self, parallel, series};
use winter_river_analysis::contingency::{self, ContingencyConfig, Exposure, Maintainability};
use winter_river_analysis::maintenance::{MAINTENANCE_POSITIONS, MaintenancePosition};
use winter_river_analysis::report::{AnalyzeParams, AnalyzeReport, Format, SweepReport};
use winter_river_analysis::sweep::{self, parse_set};
use winter_river_analysis::{AvailabilityConfig, RunConfig, SetupError, Site, load_site};
use winter_river_protocol::{Command, Mode, NodeKind};
use winter_river_sim::Scenario;
use winter_river_sim::topology::DEFAULT_TOPOLOGY_TOML;

fn topology_file(name: &str) -> String {
    let path = format!("{}/../../topologies/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn site(src: &str) -> Site {
    load_site(src, "test.toml", &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn n1(site: &Site, depth: u8) -> contingency::Contingencies {
    contingency::analyze(
        &site.topology,
        &ContingencyConfig {
            depth,
            threads: 2,
            ..ContingencyConfig::default()
        },
    )
}

/// 14 kWh / (30 kW / 0.97 / 0.95) = 0.430 h = 1548.1 s; at 1 s steps the server is
/// found dead on the step after: 1549 s.
const DEFAULT_RIDE_THROUGH_S: f64 = 14.0 / (30.0 / 0.97 / 0.95) * 3600.0;

#[test]
fn default_chain_n1_names_exactly_the_components_that_drop_srv_a() {
    let c = n1(&site(DEFAULT_TOPOLOGY_TOML), 1);
    assert_eq!(
        c.single_points_of_failure,
        ["sw_a", "dist_a", "ups_a", "pdu_a"]
    );
    let case = |id: &str| c.n1.iter().find(|k| k.label == id).unwrap();
    // The UPS and PDU drop the server at once; the switchgear and distribution board
    // after the UPS battery runs out.
    for id in ["ups_a", "pdu_a"] {
        assert_eq!(case(id).first_loss_after_s, Some(0.0), "{id}");
        assert_eq!(case(id).lost_servers, ["srv_a"]);
        assert!((case(id).max_lost_kw - 30.0).abs() < 1e-9);
    }
    for id in ["sw_a", "dist_a"] {
        let t = case(id).first_loss_after_s.unwrap();
        assert!(
            (t - DEFAULT_RIDE_THROUGH_S).abs() <= 1.0 + 1e-9,
            "{id}: lost after {t} s"
        );
        assert!(case(id).when.contains("ride-through"));
    }
    // A utility or transformer loss is covered by the generator and the UPS.
    for id in ["util_a", "trf_a"] {
        let k = case(id);
        assert!(!k.drops_it, "{id}");
        assert!(
            k.explanation.contains("to gen_a at +10 s"),
            "{}",
            k.explanation
        );
        assert!(
            k.explanation.contains("ups_a bridged 10 s on battery"),
            "{}",
            k.explanation
        );
        assert!(
            k.explanation.contains("IT carried by generator"),
            "{}",
            k.explanation
        );
    }
    assert!(!case("gen_a").drops_it);
    // The generator failing to start when the utility goes: lost after the ride-through.
    assert_eq!(c.fail_to_start.len(), 1);
    let fts = &c.fail_to_start[0];
    assert_eq!(fts.label, "gen_a fails to start (util_a lost)");
    let t = fts.first_loss_after_s.unwrap();
    assert!((t - DEFAULT_RIDE_THROUGH_S).abs() <= 1.0 + 1e-9, "{t}");
    let maintainable: Vec<(&str, Option<&str>)> = c
        .maintainability
        .iter()
        .map(|m| (m.component.as_str(), m.how))
        .collect();
    assert_eq!(
        maintainable,
        [
            ("util_a", Some("as is")),
            ("trf_a", Some("as is")),
            ("gen_a", Some("as is")),
            ("sw_a", Some("via ATS bypass")),
            ("dist_a", None),
            ("ups_a", Some("via maintenance bypass")),
            ("pdu_a", None),
        ]
    );
}

#[test]
fn two_n_has_no_single_point_of_failure_and_every_stage_is_2n() {
    let c = n1(&site(&topology_file("2n.toml")), 2);
    assert!(
        c.single_points_of_failure.is_empty(),
        "{:?}",
        c.single_points_of_failure
    );
    assert!(c.fail_to_start.iter().all(|k| !k.drops_it));
    for s in &c.stages {
        assert_eq!(s.redundancy, "2N", "{s:?}");
    }
    // The room's cooling is N+1: no single unit's loss shuts a rack down.
    assert!(
        c.thermal_single_points.is_empty(),
        "{:?}",
        c.thermal_single_points
    );
    let room = &c.rooms[0];
    assert_eq!(room.room, "room_1");
    assert_eq!(room.capacity_kw, 150.0);
    assert!(room.held, "{room:?}");
    // The heat the cooling removes is the racks' 96 kW and the PDUs' losses.
    assert!(
        (room.heat_kw - (96.0 + 96.0 / 0.97 - 96.0)).abs() < 1e-6,
        "{}",
        room.heat_kw
    );
    assert_eq!(room.redundancy, "N+1 (by capacity)");
    // N-2 finds the electrical pairs across the sides, never within one side, and
    // the pairs of cooling units that leave less than the room's 99 kW.
    let p = c.n2.unwrap();
    assert!(p.pruned_dominated > 0);
    let labels: Vec<&str> = p.dropping.iter().map(|d| d.label.as_str()).collect();
    assert!(labels.contains(&"ups_a + ups_b"), "{labels:?}");
    let cooling = |f: &String| f.starts_with("crah_");
    for d in &p.dropping {
        if d.failed.iter().all(cooling) {
            assert!(d.first_thermal_shutdown_after_s.is_some(), "{d:?}");
            assert!(d.when.ends_with("(thermal shutdown)"), "{d:?}");
        } else {
            assert!(
                d.failed.iter().any(|f| f.ends_with("_a"))
                    && d.failed.iter().any(|f| f.ends_with("_b")),
                "{labels:?}"
            );
        }
    }
    // Any two of the four units leave at most 90 kW against 98.97 kW: every cooling
    // pair is a shutdown by heat.
    for pair in [
        "crah_1 + crah_2",
        "crah_1 + crah_3",
        "crah_1 + crah_4",
        "crah_2 + crah_3",
        "crah_2 + crah_4",
        "crah_3 + crah_4",
    ] {
        assert!(labels.contains(&pair), "{pair}: {labels:?}");
    }
}

// ── Rooms: IT lost by heat ──────────────────────────────────────────────────────

/// A room of four 10 kW servers (40 kW, their heat alone: the distribution board is
/// not in the room) with two cooling units of `capacity_kw` each.
fn room_site(capacity_kw: f64, reliability: &str) -> Site {
    let mut src = format!(
        r#"
{reliability}
[[node]]
id = "util"
kind = "utility"
voltage = 480.0

[[node]]
id = "dist"
kind = "distribution"
feeds = ["util"]

[[node]]
id = "room_t"
kind = "room"
air_m3 = 100.0
solid_kj_per_k = 1000.0
ua_kw_per_k = 4.0
class = "A2"
"#
    );
    for c in ["crah_a", "crah_b"] {
        src.push_str(&format!(
            "\n[[node]]\nid = \"{c}\"\nkind = \"cooling\"\nfeeds = [\"dist\"]\nroom = \"room_t\"\ndemand_kw = 1.0\nper_it_kw = 0.0\ncapacity_kw = {capacity_kw}\n"
        ));
    }
    for k in 1..=4 {
        src.push_str(&format!(
            "\n[[node]]\nid = \"srv_{k}\"\nkind = \"server\"\nfeeds = [\"dist\"]\nroom = \"room_t\"\ndemand_kw = 10.0\nphases = 3\n"
        ));
    }
    site(&src)
}

/// DESIGN §5.2's closed form from equilibrium at 22 °C with net heat `p_kw`
/// (C_a = 100 · 1.2 · 1.005 = 120.6 kJ/K, C_s = 1000 kJ/K, UA = 4 kW/K: τ = 26.9 s),
/// and the time it reaches `limit_c`, by bisection.
fn room_t_reaches(limit_c: f64, p_kw: f64) -> f64 {
    let (ca, cs, ua) = (120.6, 1000.0, 4.0);
    let tau = 1.0 / (ua * (1.0 / ca + 1.0 / cs));
    let t_a = |t: f64| {
        22.0 + p_kw * t / (ca + cs) + cs / (ca + cs) * (p_kw / ca) * tau * (1.0 - (-t / tau).exp())
    };
    let (mut lo, mut hi) = (0.0, 1e6);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_a(mid) < limit_c {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[test]
fn a_crah_lost_at_n_plus_0_shuts_the_servers_down_at_the_closed_form_time() {
    let s = room_site(24.0, "");
    let comps: Vec<&str> = contingency::components(&s.topology)
        .into_iter()
        .map(|i| s.topology.node(i).id.as_str())
        .collect();
    // The cooling of the room fails; the room and the servers do not.
    assert_eq!(comps, ["util", "dist", "crah_a", "crah_b"]);
    let c = n1(&s, 1);
    // One unit left: 24 kW against 40 kW, 16 kW net into the room. By hand:
    // 22 + 16 t / 1120.6 + 0.8924 · (16 / 120.6) · 26.9 · (1 − e^(−t/26.9)) = 40 °C
    // at t ≈ 1037 s (17.3 min).
    let by_hand = room_t_reaches(40.0, 40.0 - 24.0);
    assert!((by_hand - 1037.0).abs() < 1.0, "{by_hand}");
    let case = c.n1.iter().find(|k| k.label == "crah_a").unwrap();
    assert!(case.drops_it && case.settled, "{case:?}");
    let t = case.first_loss_after_s.unwrap();
    // The room steps over the step just ended with the unit already gone: the sim
    // may see it up to one 1 s step before the closed form, or on the step after.
    assert!((t - by_hand).abs() <= 1.0 + 1e-9, "{t} vs {by_hand}");
    assert_eq!(case.first_thermal_shutdown_after_s, Some(t));
    assert_eq!(case.max_lost_kw, 40.0);
    assert_eq!(case.lost_servers, ["srv_1", "srv_2", "srv_3", "srv_4"]);
    assert!(case.when.ends_with("(thermal shutdown)"), "{}", case.when);
    assert!(
        case.explanation
            .contains("servers in room_t shut down after"),
        "{}",
        case.explanation
    );
    assert_eq!(case.rooms[0].shut_down.len(), 4);
    assert!(case.rooms[0].peak_c >= 40.0 && case.rooms[0].peak_c < 40.1);
    // Named as thermal single points, with the room and the time.
    assert_eq!(
        c.single_points_of_failure,
        ["util", "dist", "crah_a", "crah_b"]
    );
    let points: Vec<&str> = c
        .thermal_single_points
        .iter()
        .map(|p| p.component.as_str())
        .collect();
    assert_eq!(points, ["crah_a", "crah_b"]);
    let p = &c.thermal_single_points[0];
    assert_eq!(p.room, "room_t");
    assert_eq!(p.servers_shut_down, 4);
    assert_eq!(p.it_kw, 40.0);
    assert_eq!(
        p.finding,
        format!(
            "crah_a lost: servers in room_t shut down after {t:.0} s ({:.1} min)",
            t / 60.0
        )
    );
    // A power loss is not a thermal one: the servers go dark at once, no room heats.
    let util = c.n1.iter().find(|k| k.label == "util").unwrap();
    assert_eq!(util.when, "at once");
    assert_eq!(util.first_thermal_shutdown_after_s, None);
    let room = &c.rooms[0];
    assert_eq!(room.capacity_kw, 48.0);
    assert!((room.heat_kw - 40.0).abs() < 1e-9, "{}", room.heat_kw);
    assert_eq!(room.redundancy, "N (by capacity)");
    // The report names them.
    let report = AnalyzeReport::new(
        &s,
        "room.toml",
        AnalyzeParams {
            depth: 1,
            step_ms: 1000,
            years: None,
            seed: None,
        },
        Some(c.clone()),
        None,
    );
    let text = report.render(Format::Text).unwrap();
    assert!(
        text.contains(
            "Thermal single points of failure (2): crah_a lost: servers in room_t shut down after"
        ),
        "{text}"
    );
    assert!(text.contains("Rooms and cooling"), "{text}");
    // Rooms never fail: not in the reliability figures either.
    assert!(report.reliability.iter().all(|f| f.kind != "room"));
}

#[test]
fn a_crah_lost_at_n_plus_1_is_no_single_point_and_the_room_holds() {
    let c = n1(&room_site(45.0, ""), 1);
    assert!(c.thermal_single_points.is_empty());
    assert_eq!(c.single_points_of_failure, ["util", "dist"]);
    let case = c.n1.iter().find(|k| k.label == "crah_b").unwrap();
    assert!(!case.drops_it && case.settled, "{case:?}");
    assert!((case.rooms[0].peak_c - 22.0).abs() < 1e-6, "{case:?}");
    assert_eq!(c.rooms[0].redundancy, "N+1 (by capacity)");
}

/// Each unit failing at rate 1 / 5000 h and repaired after Exp(10 h): the servers stop
/// t* = 1037 s after a failure and restart at the repair, so a failure costs
/// E[max(0, R − t*)] = 10 · e^(−t*/10 h) h of downtime; two units, 8760 / 5010
/// failures a year each.
#[test]
fn availability_counts_the_thermal_shutdowns_of_a_room_at_n_plus_0() {
    let s = room_site(
        24.0,
        "[reliability.cooling]\nmtbf_h = 5000.0\nmttr_h = 10.0\n[reliability.utility]\nmtbf_h = inf\n[reliability.distribution]\nmtbf_h = inf\n",
    );
    let a = monte_carlo(&s, 20000, 5, 2);
    let t_star_h = room_t_reaches(40.0, 16.0) / 3600.0;
    let expected = 2.0 * 8760.0 / 5010.0 * 10.0 * (-t_star_h / 10.0).exp();
    assert!(
        a.downtime_h_per_year.contains(expected),
        "{expected} h/yr not in {:?}",
        a.downtime_h_per_year
    );
    // All of it is thermal.
    assert!(
        (a.thermal_downtime_h_per_year.mean - a.downtime_h_per_year.mean).abs() < 1e-9,
        "{a:?}"
    );
    assert!(a.thermal_outages > 0 && a.servers_in_rooms == 4);
    // A unit's failure starts no generator: nothing demanded.
    assert_eq!(a.generator_demands, 0);
}

/// A utility that never fails feeding transformers with short, known MTBF/MTTR.
fn blocks(parallel: bool) -> String {
    let server_feeds = if parallel {
        r#"["t1", "t2"]"#
    } else {
        r#"["t2"]"#
    };
    let t2_feed = if parallel { "util" } else { "t1" };
    format!(
        r#"
[reliability.transformer]
mttr_h = 100.0

[[node]]
id = "util"
kind = "utility"
voltage = 480.0
mtbf_h = inf

[[node]]
id = "t1"
kind = "transformer"
feeds = ["util"]
voltage_out = 480.0
mtbf_h = 1000.0

[[node]]
id = "t2"
kind = "transformer"
feeds = ["{t2_feed}"]
voltage_out = 480.0
mtbf_h = 2000.0
mttr_h = 200.0

[[node]]
id = "srv"
kind = "server"
feeds = {server_feeds}
demand_kw = 10.0
"#
    )
}

fn monte_carlo(
    site: &Site,
    years: u64,
    seed: u64,
    threads: usize,
) -> availability::AvailabilityResult {
    availability::simulate(
        site,
        &AvailabilityConfig {
            years,
            seed,
            threads,
            ..AvailabilityConfig::default()
        },
    )
}

#[test]
fn series_availability_is_a1_times_a2_within_the_confidence_interval() {
    let s = site(&blocks(false));
    let a: Vec<f64> = ["t1", "t2"]
        .iter()
        .map(|id| s.reliability[s.topology.node_index(id).unwrap()].availability())
        .collect();
    assert!((a[0] - 1000.0 / 1100.0).abs() < 1e-12);
    assert!((a[1] - 2000.0 / 2200.0).abs() < 1e-12);
    let expected = series(&a) * 100.0;
    let r = monte_carlo(&s, 400, 7, 2);
    assert!(
        r.availability_pct.contains(expected),
        "{expected} not in {:?}",
        r.availability_pct
    );
    // And the interval is tight enough to mean something.
    assert!(
        r.availability_pct.hi - r.availability_pct.lo < 2.0,
        "{:?}",
        r.availability_pct
    );
}

#[test]
fn parallel_availability_is_one_minus_product_of_unavailabilities() {
    let s = site(&blocks(true));
    let expected = parallel(&[1000.0 / 1100.0, 2000.0 / 2200.0]) * 100.0;
    let r = monte_carlo(&s, 400, 11, 2);
    assert!(
        r.availability_pct.contains(expected),
        "{expected} not in {:?}",
        r.availability_pct
    );
    assert!(
        r.availability_pct.hi - r.availability_pct.lo < 0.5,
        "{:?}",
        r.availability_pct
    );
    // Outages start when the second of the pair fails: about U1·λ2 + U2·λ1 a year.
    let per_year = (100.0 / 1100.0) * (8760.0 / 2200.0) + (200.0 / 2200.0) * (8760.0 / 1100.0);
    assert!(
        (r.outages_per_year.mean - per_year).abs() < 0.1 * per_year,
        "{} vs {per_year}",
        r.outages_per_year.mean
    );
}

#[test]
fn monte_carlo_is_deterministic_for_a_seed_whatever_the_threads() {
    let s = site(DEFAULT_TOPOLOGY_TOML);
    let one = monte_carlo(&s, 200, 3, 1);
    let two = monte_carlo(&s, 200, 3, 2);
    assert_eq!(one, two);
    let other = monte_carlo(&s, 200, 4, 2);
    assert_ne!(one.downtime_h_per_year, other.downtime_h_per_year);
    assert_eq!(one.years, 200);
    assert_eq!(
        one.downtime_histogram.iter().map(|b| b.years).sum::<u64>(),
        200
    );
}

#[test]
fn default_chain_downtime_matches_its_single_points() {
    // Unavailability is dominated by the four single points (U = MTTR / MTBF each),
    // less the UPS ride-through that sw_a and dist_a get, plus the utility outages
    // the generator fails to cover.
    let s = site(DEFAULT_TOPOLOGY_TOML);
    let r = monte_carlo(&s, 3000, 5, 2);
    let ride_h = DEFAULT_RIDE_THROUGH_S / 3600.0;
    let spof = |mtbf: f64, mttr: f64, ride: f64| 8760.0 / mtbf * (mttr - ride).max(0.0);
    let expected = spof(300_000.0, 8.0, ride_h)
        + spof(1_000_000.0, 8.0, ride_h)
        + spof(250_000.0, 8.0, 0.0)
        + spof(500_000.0, 4.0, 0.0)
        + 8760.0 / 4478.0 * 0.01 * (1.32f64 - ride_h).max(0.0);
    let d = r.downtime_h_per_year;
    assert!(
        d.lo <= expected * 1.05 && expected * 0.95 <= d.hi,
        "{expected} h/yr vs {d:?}"
    );
}

fn chain_scenario() -> (Scenario, String) {
    let topology = r#"
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
battery_kwh = 100.0

[[node]]
id = "srv"
kind = "server"
feeds = ["ups"]
demand_kw = 1000.0
"#
    .to_string();
    let scenario = r#"
name = "ride-through"
topology = "chain.toml"
duration_s = 400
step_ms = 100

[[event]]
at_s = 10.0
node = "util"
command = "set_fault"
params = { state = true }

[[expect]]
at_s = 11.0
node = "srv"
field = "status"
equals = "ok"
"#;
    let t = topology.clone();
    let sc = Scenario::from_toml_str(scenario, "sweep.toml", move |_| Ok(t)).unwrap();
    (sc, topology)
}

#[test]
fn battery_sweep_reproduces_the_reference_ride_through_times() {
    let (sc, topo) = chain_scenario();
    let sets = [parse_set("ups.battery_kwh=50,100,0").unwrap()];
    let r = sweep::sweep(&sc, &topo, "chain.toml", &sets, 2).unwrap();
    let ride: Vec<f64> = r
        .rows
        .iter()
        .map(|row| row.ride_through_s.unwrap())
        .collect();
    // 50 kWh / (1000 kW / (0.95 · 0.90)) = 153.9 s; 100 kWh: 307.8 s (docs/physics.md).
    assert!((ride[0] - 153.9).abs() <= 0.1 + 1e-9, "{ride:?}");
    assert!((ride[1] - 307.8).abs() <= 0.1 + 1e-9, "{ride:?}");
    assert!(ride[2] <= 0.1 + 1e-9, "{ride:?}");
    assert_eq!(r.rows[1].values, ["100"]);
    assert_eq!(r.rows[1].passed, Some(1));
    assert_eq!(r.rows[2].failed, Some(1));
    // (400 − 10 − 307.8) s at 1,000 kW.
    let kwh = r.rows[1].it_kwh_unserved.unwrap();
    assert!((kwh - 82.2 * 1000.0 / 3600.0).abs() < 0.1, "{kwh}");
    // Once the battery is flat the whole 1,000 kW is lost, with or without a battery.
    for row in &r.rows {
        let peak = row.peak_it_kw_lost.unwrap();
        assert!((peak - 1000.0).abs() < 1e-6, "{peak}");
    }

    let report = SweepReport::new(
        &sc,
        &["ups.battery_kwh=50,100,0".into()],
        &["ride_through_s".into()],
        r,
    );
    let csv = report.render(Format::Csv).unwrap();
    assert!(csv.starts_with("# winter-river sweep "), "{csv}");
    assert!(
        csv.contains("\nups.battery_kwh,ride_through_s,error\n50,"),
        "{csv}"
    );
    let html = report.render(Format::Html).unwrap();
    assert!(html.contains("<svg") && html.contains(&report.inputs_sha256));
}

#[test]
fn bad_sweep_values_are_reported_per_row_and_bad_sets_refused() {
    let (sc, topo) = chain_scenario();
    assert!(parse_set("ups.battery_kwh").is_err());
    assert!(parse_set("battery_kwh=1").is_err());
    let sets = [parse_set("ups.battery_kwh=-1,10").unwrap()];
    let r = sweep::sweep(&sc, &topo, "chain.toml", &sets, 1).unwrap();
    assert!(r.rows[0].error.as_deref().unwrap().contains("battery_kwh"));
    assert!(r.rows[1].error.is_none());
    let missing = [parse_set("nope.battery_kwh=1").unwrap()];
    assert!(sweep::sweep(&sc, &topo, "chain.toml", &missing, 1).is_err());
}

#[test]
fn reliability_keys_are_read_and_checked_with_their_lines() {
    let src = format!(
        "{DEFAULT_TOPOLOGY_TOML}\n[reliability.ups]\nmtbf_h = 100000.0\nmttr_h = 4\n\n[reliability.generator]\nfail_to_start = 0.05\n"
    );
    let s = site(&src.replace(
        "id = \"pdu_a\"\n",
        "id = \"pdu_a\"\nmtbf_h = 1_000_000\nmttr_h = 2.5\n",
    ));
    let r = |id: &str| s.reliability[s.topology.node_index(id).unwrap()];
    assert_eq!(r("ups_a").mtbf_h, 100_000.0);
    assert_eq!(r("ups_a").mttr_h, 4.0);
    assert_eq!(r("gen_a").fail_to_start, 0.05);
    assert_eq!(r("gen_a").mtbf_h, 70_000.0);
    assert_eq!(r("pdu_a").mtbf_h, 1_000_000.0);
    assert_eq!(r("pdu_a").mttr_h, 2.5);
    assert_eq!(r("srv_a").mtbf_h, f64::INFINITY);

    let bad = |text: &str| load_site(text, "t.toml", &[]).unwrap_err().to_string();
    let e = bad(&format!(
        "{DEFAULT_TOPOLOGY_TOML}\n[reliability.ups]\nfail_to_start = 0.1\n"
    ));
    assert!(e.contains("only a generator fails to start"), "{e}");
    let e = bad(&format!(
        "{DEFAULT_TOPOLOGY_TOML}\n[reliability.battery]\nmtbf_h = 1\n"
    ));
    assert!(e.contains("unknown kind `battery`"), "{e}");
    let e = bad(&format!(
        "{DEFAULT_TOPOLOGY_TOML}\n[reliability.ups]\nmtbf = 1\n"
    ));
    assert!(e.contains("unknown reliability key"), "{e}");
    let e =
        bad(&DEFAULT_TOPOLOGY_TOML.replace("id = \"ups_a\"\n", "id = \"ups_a\"\nmttr_h = -1\n"));
    let line = DEFAULT_TOPOLOGY_TOML
        .lines()
        .position(|l| l == "id = \"ups_a\"")
        .unwrap()
        + 2;
    assert!(
        e.starts_with(&format!("t.toml:{line}: `ups_a.mttr_h`")),
        "{e}"
    );
    // The simulator's own errors still point at the right line past blanked keys.
    let e = bad(&DEFAULT_TOPOLOGY_TOML.replace(
        "id = \"ups_a\"\n",
        "id = \"ups_a\"\nmtbf_h = 5\npeukert_k = 3\n",
    ));
    assert!(
        e.starts_with(&format!("t.toml:{}: `peukert_k`", line + 1)),
        "{e}"
    );
}

#[test]
fn reports_carry_version_and_a_hash_of_canonical_inputs() {
    let s = site(DEFAULT_TOPOLOGY_TOML);
    let params = AnalyzeParams {
        depth: 1,
        step_ms: 1000,
        years: Some(50),
        seed: Some(1),
    };
    let c = n1(&s, 1);
    let a = monte_carlo(&s, 50, 1, 2);
    let report = AnalyzeReport::new(&s, "default", params.clone(), Some(c), Some(a));
    assert_eq!(report.inputs_sha256.len(), 64);
    // Comments and layout are not inputs; a parameter is.
    let commented = site(&format!("# a comment\n{DEFAULT_TOPOLOGY_TOML}\n\n"));
    let same = AnalyzeReport::new(&commented, "default", params.clone(), None, None);
    assert_eq!(same.inputs_sha256, report.inputs_sha256);
    let other = AnalyzeReport::new(
        &s,
        "default",
        AnalyzeParams {
            seed: Some(2),
            ..params
        },
        None,
        None,
    );
    assert_ne!(other.inputs_sha256, report.inputs_sha256);

    let text = report.render(Format::Text).unwrap();
    assert!(
        text.contains("Single points of failure (4): sw_a, dist_a, ups_a, pdu_a"),
        "{text}"
    );
    assert!(text.contains(&report.inputs_sha256) && text.contains(winter_river_analysis::VERSION));
    // Concurrent maintainability: one line per component, its exposure under it.
    assert!(
        text.contains("5 of 7 components can be taken out for maintenance without IT loss (3 as is, 1 via ATS bypass, 1 via maintenance bypass); not: dist_a, pdu_a."),
        "{text}"
    );
    let ups_line = text
        .lines()
        .position(|l| l.starts_with("  ups_a ") && l.contains("via maintenance bypass"))
        .unwrap_or_else(|| panic!("{text}"));
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[ups_line + 1].trim_start().starts_with(
            "- a loss of util_a or trf_a drops 30 kW at once, back after 10 s (normally: none)"
        ),
        "{text}"
    );
    let md = report.render(Format::Markdown).unwrap();
    assert!(md.contains("| sw_a | SPOF |"), "{md}");
    assert!(
        md.contains("| ups_a | yes | via maintenance bypass | taken out by ups_mode static_bypass → ups_mode maintenance_bypass → set_fault on → open |"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&report.render(Format::Json).unwrap()).unwrap();
    assert_eq!(json["inputs_sha256"], report.inputs_sha256.as_str());
    assert_eq!(json["contingencies"]["single_points_of_failure"][0], "sw_a");
    let ups = &json["contingencies"]["maintainability"][5];
    assert_eq!(ups["component"], "ups_a");
    assert_eq!(ups["how"], "via maintenance bypass");
    assert_eq!(ups["exposure"][0]["failure"], "util_a");
    assert_eq!(ups["exposure"][0]["lost_kw"], 30.0);
    assert_eq!(ups["exposure"][0]["when"], "at once, back after 10 s");
    assert_eq!(
        json["contingencies"]["maintainability"][4]["how"],
        serde_json::Value::Null
    );

    // The HTML is one file to mail or archive: a whole document, the same findings
    // as the text, and nothing fetched from elsewhere when it is opened.
    let html = report.render(Format::Html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"), "{html}");
    assert!(
        html.contains("<p>Single points of failure (4): sw_a, dist_a, ups_a, pdu_a</p>"),
        "{html}"
    );
    assert!(
        html.contains("<tr><td>sw_a</td><td>SPOF</td><td>30 kW</td>"),
        "{html}"
    );
    assert!(html.contains("<tr><td>availability</td><td>"), "{html}");
    assert!(html.contains(&report.inputs_sha256) && html.contains(winter_river_analysis::VERSION));
    // Charts: IT lost per N-1 case, years by downtime, the running estimate.
    assert_eq!(html.matches("<figure><svg").count(), 3, "{html}");
    for external in [
        "<script", "<link", "<img", "<iframe", " src=", "@import", "url(",
    ] {
        assert!(!html.contains(external), "`{external}` in {html}");
    }
    let svg_ns = "xmlns=\"http://www.w3.org/2000/svg\"";
    let links = html.matches("http://").count() + html.matches("https://").count();
    assert_eq!(
        links,
        html.matches(svg_ns).count(),
        "a link other than the SVG namespace in {html}"
    );

    // CSV is one table: an analysis refuses it and names what it writes instead.
    let e = report.render(Format::Csv).unwrap_err().to_string();
    assert_eq!(
        e,
        "--format csv: winter-river analyze has no csv form (it writes text, markdown, json or html; sweep writes CSV)"
    );
}

#[test]
fn failure_runs_settle_quickly_and_record_the_generator_start() {
    let s = site(DEFAULT_TOPOLOGY_TOML);
    let util = s.topology.node_index("util_a").unwrap();
    let gen_a = s.topology.node_index("gen_a").unwrap();
    let o = winter_river_analysis::simulate_failure(&s.topology, &[util], &RunConfig::default());
    assert!(o.settled);
    assert!(o.run_s < 60.0, "{}", o.run_s);
    assert_eq!(o.gens_started, [gen_a]);
    assert!(!o.drops_it());
}

// ── Concurrent maintainability ──────────────────────────────────────────────────

/// 2N with one side's UPS out: 30 kWh behind (96 kW / 0.97 + 6 kW of CRAH fans) / 0.95
/// = 0.2715 h = 977.4 s; the racks are found dead on the step after: 978 s.
const TWO_N_ONE_SIDE_RIDE_THROUGH_S: f64 = 30.0 / ((96.0 / 0.97 + 6.0) / 0.95) * 3600.0;

fn maintainability<'a>(c: &'a contingency::Contingencies, id: &str) -> &'a Maintainability {
    c.maintainability
        .iter()
        .find(|m| m.component == id)
        .unwrap_or_else(|| panic!("no row for {id}"))
}

fn exposed<'a>(m: &'a Maintainability, failure: &str) -> &'a Exposure {
    m.exposure
        .iter()
        .find(|e| e.failure == failure)
        .unwrap_or_else(|| {
            panic!(
                "{failure} not in {}'s exposure: {:?}",
                m.component, m.exposure
            )
        })
}

fn failures(m: &Maintainability) -> Vec<&str> {
    m.exposure.iter().map(|e| e.failure.as_str()).collect()
}

#[test]
fn maintenance_positions_are_their_kinds_modes_reached_through_the_protocols_commands() {
    for p in MAINTENANCE_POSITIONS {
        for m in p.modes {
            assert!(p.kind.spec().modes.contains(m), "{:?} has no {m}", p.kind);
        }
    }
    let ups = MaintenancePosition::of(NodeKind::Ups).unwrap();
    assert_eq!(
        ups.commands(),
        [
            Command::UpsMode {
                mode: Mode::StaticBypass
            },
            Command::UpsMode {
                mode: Mode::MaintenanceBypass
            },
            Command::SetFault { state: true },
            Command::Open,
        ]
    );
    let sw = MaintenancePosition::of(NodeKind::Switchgear).unwrap();
    assert_eq!(
        sw.commands(),
        [
            Command::AtsMode { mode: Mode::Bypass },
            Command::SetFault { state: true },
        ]
    );
    assert!(MaintenancePosition::of(NodeKind::Pdu).is_none());
}

#[test]
fn seed_ups_on_maintenance_bypass_is_exposed_to_every_upstream_failure_at_once() {
    let c = n1(&site(DEFAULT_TOPOLOGY_TOML), 1);
    let m = maintainability(&c, "ups_a");
    assert!(m.maintainable);
    assert_eq!(m.how, Some("via maintenance bypass"));
    assert_eq!(
        m.steps,
        [
            "ups_mode static_bypass",
            "ups_mode maintenance_bypass",
            "set_fault on",
            "open"
        ]
    );
    // No battery behind the load: everything upstream drops the 30 kW at once; the
    // generator is not exposure (the utility carries).
    assert_eq!(failures(m), ["util_a", "trf_a", "sw_a", "dist_a", "pdu_a"]);
    for e in &m.exposure {
        assert_eq!(e.lost_kw, 30.0, "{e:?}");
        assert_eq!(e.first_loss_after_s, 0.0, "{e:?}");
    }
    // A utility or transformer loss: the ATS starts the generator (3 s) and it comes
    // on line (7 s); the load is back 10 s later. On the healthy site it costs nothing.
    for id in ["util_a", "trf_a"] {
        let e = exposed(m, id);
        assert_eq!(e.when, "at once, back after 10 s");
        assert_eq!(e.restored_after_s, Some(10.0));
        assert_eq!(e.normally, "none");
    }
    // The switchgear or the distribution board: at once and for good, where the UPS
    // battery normally gives 25.8 minutes.
    for id in ["sw_a", "dist_a"] {
        let e = exposed(m, id);
        assert_eq!(e.when, "at once");
        assert_eq!(e.restored_after_s, None);
        assert_eq!(e.normally, "after 1549 s (25.8 min) (ride-through)");
    }
    assert_eq!(exposed(m, "pdu_a").normally, "at once");
}

#[test]
fn seed_switchgear_on_ats_bypass_is_exposed_to_a_utility_loss_after_the_ride_through() {
    let c = n1(&site(DEFAULT_TOPOLOGY_TOML), 1);
    let m = maintainability(&c, "sw_a");
    assert!(m.maintainable);
    assert_eq!(m.how, Some("via ATS bypass"));
    assert_eq!(m.steps, ["ats_mode bypass", "set_fault on"]);
    assert_eq!(failures(m), ["util_a", "trf_a", "dist_a", "ups_a", "pdu_a"]);
    // On bypass the ATS cannot transfer: a utility loss leaves the UPS on battery
    // until it is empty, the generator never started.
    for id in ["util_a", "trf_a", "dist_a"] {
        let e = exposed(m, id);
        assert_eq!(e.lost_kw, 30.0);
        assert!(
            (e.first_loss_after_s - DEFAULT_RIDE_THROUGH_S).abs() <= 1.0 + 1e-9,
            "{e:?}"
        );
        assert_eq!(e.restored_after_s, None);
    }
    assert_eq!(exposed(m, "util_a").normally, "none");
    for id in ["ups_a", "pdu_a"] {
        let e = exposed(m, id);
        assert_eq!((e.lost_kw, e.first_loss_after_s), (30.0, 0.0));
    }
    // Without a maintenance position, today's rule: not maintainable, no exposure.
    for id in ["dist_a", "pdu_a"] {
        let m = maintainability(&c, id);
        assert!(
            !m.maintainable && m.how.is_none() && m.exposure.is_empty(),
            "{m:?}"
        );
    }
    assert_eq!(maintainability(&c, "pdu_a").remark, "IT lost at once",);
    // Taken out as is, a component's exposure is a run per pair: only with --depth 2.
    let m = maintainability(&c, "util_a");
    assert_eq!(m.how, Some("as is"));
    assert!(m.steps.is_empty());
    assert!(!m.exposure_simulated && m.exposure.is_empty());
    assert!(maintainability(&c, "ups_a").exposure_simulated);
    // Then the utility out leaves the site on its generator, whose loss is exposure,
    // after the ride-through.
    let c = n1(&site(DEFAULT_TOPOLOGY_TOML), 2);
    let m = maintainability(&c, "util_a");
    assert!(m.exposure_simulated);
    assert_eq!(failures(m), ["gen_a", "sw_a", "dist_a", "ups_a", "pdu_a"]);
    let e = exposed(m, "gen_a");
    assert!((e.first_loss_after_s - DEFAULT_RIDE_THROUGH_S).abs() <= 1.0 + 1e-9);
    assert_eq!(e.normally, "none");
}

#[test]
fn two_n_ups_is_maintainable_as_is_and_the_b_side_is_then_exposed() {
    let c = n1(&site(&topology_file("2n.toml")), 2);
    assert!(c.maintainability.iter().all(|m| m.how == Some("as is")));
    let m = maintainability(&c, "ups_a");
    assert!(m.steps.is_empty() && m.exposure_simulated);
    assert_eq!(m.remark, "12 dual-corded servers carried on the other cord");
    // While ups_a is out, side B carries all 96 kW of racks alone: its UPS and PDU
    // drop them at once, its switchgear and distribution board after ups_b's battery.
    assert_eq!(failures(m), ["sw_b", "dist_b", "ups_b", "pdu_b"]);
    for e in &m.exposure {
        assert_eq!(e.lost_kw, 96.0, "{e:?}");
        assert_eq!(e.normally, "none", "{e:?}");
        assert_eq!(e.restored_after_s, None, "{e:?}");
    }
    for id in ["ups_b", "pdu_b"] {
        assert_eq!(exposed(m, id).when, "at once");
    }
    for id in ["sw_b", "dist_b"] {
        let t = exposed(m, id).first_loss_after_s;
        assert!(
            (t - TWO_N_ONE_SIDE_RIDE_THROUGH_S).abs() <= 1.0 + 1e-9,
            "{id}: {t}"
        );
    }
    // With a utility out the other side and the generator still cover any single
    // failure; side A is then on its generator, side B on its utility.
    let m = maintainability(&c, "util_a");
    assert!(m.exposure_simulated && m.exposure.is_empty());
    assert!(
        m.remark.ends_with("IT carried by utility and generator"),
        "{}",
        m.remark
    );
}

#[test]
fn a_setup_that_is_refused_or_drops_it_load_is_an_error() {
    let s = site(DEFAULT_TOPOLOGY_TOML);
    let t = &s.topology;
    let ups = t.node_index("ups_a").unwrap();
    let pdu = t.node_index("pdu_a").unwrap();
    let util = t.node_index("util_a").unwrap();
    let cfg = RunConfig::default();
    // Straight from normal to maintenance bypass: the interlock refuses it.
    let e = winter_river_analysis::simulate_failure_after(
        t,
        &[(
            ups,
            Command::UpsMode {
                mode: Mode::MaintenanceBypass,
            },
        )],
        &[util],
        &cfg,
    )
    .unwrap_err();
    match &e {
        SetupError::Refused {
            node,
            command,
            reason,
        } => {
            assert_eq!((node.as_str(), *command), ("ups_a", "ups_mode"));
            assert!(reason.contains("static bypass first"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Opening the PDU is not a maintenance state: it drops the rack.
    let e =
        winter_river_analysis::simulate_failure_after(t, &[(pdu, Command::Open)], &[util], &cfg)
            .unwrap_err();
    assert_eq!(e, SetupError::DropsIt { max_lost_kw: 30.0 });
    // With no commands it is the healthy site's run.
    let healthy = winter_river_analysis::simulate_failure(t, &[util], &cfg);
    let after = winter_river_analysis::simulate_failure_after(t, &[], &[util], &cfg).unwrap();
    assert_eq!(after.drops_it(), healthy.drops_it());
    assert_eq!(after.gens_started, healthy.gens_started);
}
