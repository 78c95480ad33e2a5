//! The driver's file work for live drills (docs/drills.md): the library folder, a
//! drill loaded by name, and the debrief files written into the debrief folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use winter_river_engine::drills::{DrillFiles, list_library, write_debrief};
use winter_river_engine::{DrillRequest, EngineConfig, EngineCore};
use winter_river_protocol::{DrillCommand, DrillState, encode_drill_command};
use winter_river_sim::Topology;
use winter_river_testkit::TempDir;

const DRILL: &str = include_str!("../../drill/tests/fixtures/utility-loss.toml");

fn engine() -> EngineCore {
    EngineCore::new(Topology::builtin_default(), EngineConfig::default()).unwrap()
}

fn drill_command(core: &mut EngineCore, now_ms: u64, command: &DrillCommand) {
    core.handle_message(
        now_ms,
        "winter-river/system/drill/command",
        &encode_drill_command(command).unwrap(),
    );
}

fn library(dir: &Path) {
    std::fs::write(dir.join("utility-loss.toml"), DRILL).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a drill").unwrap();
    std::fs::write(dir.join(".draft.toml"), DRILL).unwrap();
    std::fs::create_dir(dir.join("old.toml")).unwrap();
}

#[test]
fn the_library_lists_drill_files_and_loads_one_by_name() {
    let dir = TempDir::new("drill-library").unwrap();
    library(dir.path());
    assert_eq!(list_library(dir.path()).unwrap(), ["utility-loss.toml"]);

    let files = DrillFiles {
        library: Some(dir.path().to_path_buf()),
        ..DrillFiles::default()
    };
    let mut core = engine();
    files.refresh_library(&mut core);
    assert_eq!(core.drill_status().library, ["utility-loss.toml"]);

    drill_command(
        &mut core,
        0,
        &DrillCommand::Load {
            file: "missing.toml".into(),
        },
    );
    let request = core.poll_drill_request().unwrap();
    assert_eq!(
        request,
        DrillRequest::Load {
            file: "missing.toml".into()
        }
    );
    files.serve(&mut core, request);
    let message = core.drill_status().message.unwrap();
    assert!(
        message.starts_with("cannot load missing.toml: no such drill in the library")
            && message.ends_with("(it has utility-loss.toml)"),
        "{message}"
    );

    drill_command(
        &mut core,
        0,
        &DrillCommand::Load {
            file: "utility-loss.toml".into(),
        },
    );
    let request = core.poll_drill_request().unwrap();
    files.serve(&mut core, request);
    let status = core.drill_status();
    assert_eq!(status.state, DrillState::Loaded);
    assert_eq!(status.message, None);
    assert_eq!(status.file, "utility-loss.toml");

    // Without a library the instructor is told how to give one.
    let mut bare = engine();
    DrillFiles::default().serve(
        &mut bare,
        DrillRequest::Load {
            file: "utility-loss.toml".into(),
        },
    );
    assert!(
        bare.drill_status()
            .message
            .unwrap()
            .contains("no drill library (start it with --drills DIR)")
    );
}

#[test]
fn a_debrief_is_written_as_json_and_html_with_latest_beside_them() {
    let dir = TempDir::new("drill-debriefs").unwrap();
    library(dir.path());
    let debriefs = dir.path().join("debriefs");
    let files = DrillFiles {
        library: Some(dir.path().to_path_buf()),
        debrief_dir: debriefs.clone(),
    };
    let mut core = engine();
    let scenario =
        winter_river_engine::drills::read_drill(&dir.path().join("utility-loss.toml")).unwrap();
    core.load_drill(scenario, "utility-loss.toml").unwrap();
    drill_command(&mut core, 0, &DrillCommand::Start {});
    for k in 1..=30 {
        core.handle_tick(k * 100);
    }
    drill_command(&mut core, 3000, &DrillCommand::Stop {});
    let done = core.poll_debrief().unwrap();
    // 2026-12-01T09:30:05Z.
    let when = UNIX_EPOCH + Duration::from_secs(1_796_117_405);
    let stem = write_debrief(&debriefs, &done, when).unwrap();
    assert_eq!(stem, "utility-loss-20261201T093005Z");
    let mut names: Vec<String> = std::fs::read_dir(&debriefs)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "latest.html",
            "latest.json",
            "utility-loss-20261201T093005Z.html",
            "utility-loss-20261201T093005Z.json"
        ],
        "no temporary file left behind"
    );
    let json = std::fs::read_to_string(debriefs.join("latest.json")).unwrap();
    assert_eq!(json, done.json);
    assert_eq!(
        std::fs::read_to_string(debriefs.join(format!("{stem}.html"))).unwrap(),
        done.html
    );
    let read: winter_river_engine::drill::Debrief = serde_json::from_str(&json).unwrap();
    assert_eq!(read.file, "utility-loss.toml");

    // Through the driver's path: the status then names the page.
    files.write(&mut core, &done);
    assert_eq!(
        core.drill_status().debrief.as_deref(),
        Some("/drill/debrief")
    );
}

#[test]
fn a_debrief_that_cannot_be_written_is_reported_to_the_instructor() {
    let dir = TempDir::new("drill-unwritable").unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let files = DrillFiles {
        library: None,
        debrief_dir: blocker.join("debriefs"),
    };
    let mut core = engine();
    let scenario = winter_river_sim::Scenario::from_toml_str(DRILL, "utility-loss.toml", |_| {
        Err("none".into())
    })
    .unwrap();
    core.load_drill(scenario, "utility-loss.toml").unwrap();
    drill_command(&mut core, 0, &DrillCommand::Start {});
    core.handle_tick(100);
    drill_command(&mut core, 100, &DrillCommand::Stop {});
    let done = core.poll_debrief().unwrap();
    files.write(&mut core, &done);
    let status = core.drill_status();
    assert_eq!(status.debrief, None);
    let message = status.message.unwrap();
    assert!(
        message.starts_with("the debrief could not be written: cannot create the debrief folder"),
        "{message}"
    );
}
