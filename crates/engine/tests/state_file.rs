//! The engine's state file (docs/live.md, "The state file"): written through a
//! temporary file renamed into place, read back by the next engine; a file that is
//! missing is a fresh start, one that is truncated, corrupt or of another site is a
//! warning and a fresh start, with the file kept aside as `<name>.refused`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use winter_river_engine::driver::DrillFiles;
use winter_river_engine::state_file::{Start, StateFile};
use winter_river_engine::{EngineConfig, EngineCore};
use winter_river_sim::Topology;
use winter_river_sim::topology::generate::synthetic_site_toml;
use winter_river_testkit::TempDir;

fn engine(topology: Topology) -> EngineCore {
    EngineCore::new(topology, EngineConfig::default()).unwrap()
}

/// An engine on the seed chain 20 s into a utility outage.
fn mid_outage() -> EngineCore {
    let mut core = engine(Topology::builtin_default());
    core.handle_message(
        0,
        "winter-river/util_a/command",
        br#"{"command":"set_fault","params":{"state":true}}"#,
    );
    for k in 1..=200 {
        core.handle_tick(k * 100);
    }
    core
}

#[test]
fn the_next_engine_resumes_from_what_the_last_one_wrote() {
    let dir = TempDir::new("state-file").unwrap();
    let file = StateFile {
        path: dir.path().join("data/engine.json"),
    };
    let mut fresh = engine(Topology::builtin_default());
    assert_eq!(file.start(&mut fresh, &DrillFiles::default()), Start::Fresh);

    let core = mid_outage();
    let written = file.write(&core).unwrap();
    assert!(written.bytes > 1000);
    // Only the state file: the temporary one was renamed into place.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["engine.json"]);

    let mut next = engine(Topology::builtin_default());
    let line = file.start_and_say(&mut next, &DrillFiles::default());
    assert!(
        line.contains("resumed from") && line.contains("t=20.0s"),
        "{line}"
    );
    assert!(line.contains("faults on util_a"), "{line}");
    assert_eq!(next.sim().time_s(), core.sim().time_s());
    assert_eq!(next.system_status().fuel_pct, core.system_status().fuel_pct);
}

#[test]
fn an_unusable_state_file_is_a_fresh_start_and_kept_aside() {
    let dir = TempDir::new("state-file-bad").unwrap();
    let file = StateFile {
        path: dir.path().join("engine.json"),
    };
    let aside = dir.path().join("engine.json.refused");
    file.write(&mid_outage()).unwrap();
    let text = std::fs::read_to_string(&file.path).unwrap();

    // Truncated (a disk that filled up, a copy cut short).
    std::fs::write(&file.path, &text[..text.len() / 3]).unwrap();
    let mut core = engine(Topology::builtin_default());
    let line = file.start_and_say(&mut core, &DrillFiles::default());
    assert!(
        line.contains("is not used") && line.contains("truncated"),
        "{line}"
    );
    assert!(
        line.contains("a fresh start") && line.contains("engine.json.refused"),
        "{line}"
    );
    assert_eq!(core.sim().time_s(), 0.0);
    assert!(aside.is_file() && !file.path.exists());

    // Not JSON at all.
    std::fs::write(&file.path, "\u{0}\u{1}garbage").unwrap();
    let mut core = engine(Topology::builtin_default());
    match file.start(&mut core, &DrillFiles::default()) {
        Start::Refused { reason, set_aside } => {
            assert!(reason.contains("not a valid state"), "{reason}");
            assert_eq!(set_aside.as_deref(), Some(aside.as_path()));
        }
        other => panic!("{other:?}"),
    }

    // Another site's state: refused, naming why.
    std::fs::write(&file.path, &text).unwrap();
    let hall = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../topologies/hall.toml"
    ))
    .unwrap();
    let mut core = engine(Topology::from_toml_str(&hall, "hall.toml").unwrap());
    let line = file.start_and_say(&mut core, &DrillFiles::default());
    assert!(line.contains("another topology"), "{line}");
    assert_eq!(core.sim().time_s(), 0.0);
}

/// Size and time of one state write on the hall and on a 10k-node site (the
/// figures of docs/live.md): `cargo test --release -p winter-river-engine --test
/// state_file -- --ignored --nocapture`.
#[test]
#[ignore = "figures; run with --release"]
fn state_file_figures() {
    let dir = TempDir::new("state-figures").unwrap();
    let hall = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../topologies/hall.toml"
    ))
    .unwrap();
    let sites = [
        ("hall", Topology::from_toml_str(&hall, "hall.toml").unwrap()),
        (
            "generated --racks 8600",
            Topology::from_toml_str(&synthetic_site_toml(8600), "generated").unwrap(),
        ),
    ];
    for (name, topology) in sites {
        let nodes = topology.len();
        let mut core = engine(topology);
        for k in 1..=20 {
            core.handle_tick(k * 100);
        }
        let file = StateFile {
            path: dir.path().join(format!("{nodes}.json")),
        };
        let mut best = None::<(usize, f64, f64)>;
        for _ in 0..5 {
            let w = file.write(&core).unwrap();
            let (e, t) = (w.encode.as_secs_f64() * 1e3, w.write.as_secs_f64() * 1e3);
            if best.is_none_or(|(_, be, bt)| e + t < be + bt) {
                best = Some((w.bytes, e, t));
            }
        }
        let (bytes, encode_ms, write_ms) = best.unwrap();
        let began = Instant::now();
        let mut next = engine(core.sim().topology().clone());
        let start = file.start(&mut next, &DrillFiles::default());
        let read_ms = began.elapsed().as_secs_f64() * 1e3;
        assert!(matches!(start, Start::Resumed(_)), "{start:?}");
        println!(
            "{name}: {nodes} nodes, state file {:.1} KiB, encode {encode_ms:.1} ms + write {write_ms:.1} ms; engine built and resumed in {read_ms:.0} ms",
            bytes as f64 / 1024.0
        );
    }
}
