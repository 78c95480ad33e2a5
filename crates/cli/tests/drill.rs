//! A live drill end to end (docs/drills.md): `winter-river up --drill FILE` on
//! loopback ports, the instructor's `winter-river drill start`, the trainee's steps
//! sent with the command line, and the debrief files the engine writes at the end.

#[path = "live/system.rs"]
#[allow(dead_code, reason = "shared with live.rs, which uses the rest")]
mod system;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use system::{BrokerKind, Live};
use winter_river_testkit::TempDir;

/// The drill: 30 simulated seconds, run at 5× (6 s of wall time once started).
fn drill_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drills/ups-bypass-short.toml")
}

/// Waits for `path` to exist (the engine writes the debrief at the drill's end).
async fn wait_file(path: &Path, timeout: Duration) -> Result<String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Ok(text);
        }
        ensure!(
            Instant::now() < deadline,
            "{} not written within {timeout:?}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_runs_live_from_the_command_line_and_writes_its_debrief() -> Result<()> {
    let dir = TempDir::new("live-drill")?;
    let library = dir.path().join("library");
    std::fs::create_dir(&library)?;
    let debriefs = dir.path().join("debriefs");
    let drill = drill_file();
    let mut live = Live::up(
        BrokerKind::Embedded,
        &[
            "--speed",
            "5",
            "--nodes",
            "none",
            "--drill",
            &drill.display().to_string(),
            "--drills",
            &library.display().to_string(),
            "--debrief-dir",
            &debriefs.display().to_string(),
        ],
    )
    .await?;
    let banner = live.up_proc().stdout();
    ensure!(
        banner.contains("drill      \"UPS A to maintenance bypass (live test)\"")
            && banner.contains("3 steps, 1 inject;")
            // The broker is on a free port: the hint to start it says so.
            && banner.contains(" drill start --broker mqtt://127.0.0.1:"),
        "banner: {banner}"
    );

    let status = live.run_cli(&["drill", "status"]).await?;
    ensure!(status.contains("loaded, not started"), "{status}");
    let started = live.run_cli(&["drill", "start"]).await?;
    ensure!(started.contains("running, t="), "{started}");

    // The trainee's procedure, in order, from the command line.
    live.run_cli(&["mode", "ups_a", "static_bypass"]).await?;
    live.run_cli(&["mode", "ups_a", "maintenance_bypass"])
        .await?;
    live.run_cli(&["open", "ups_a"]).await?;

    // The instructor is told why a load is refused while the drill runs.
    let (code, _, err) = live
        .run_cli_status(&["drill", "load", "ups-bypass-short.toml"])
        .await?;
    ensure!(
        code == Some(1) && err.contains("is running; stop it first"),
        "exit {code:?}: {err}"
    );

    let json = wait_file(&debriefs.join("latest.json"), Duration::from_secs(30)).await?;
    let d: serde_json::Value = serde_json::from_str(&json).context("latest.json")?;
    let steps = d["steps"].as_array().context("steps")?;
    ensure!(steps.len() == 3, "{json}");
    for s in steps {
        ensure!(
            s["state"] == "done" && s["channel"] == "cli" && s["refused"] == 0,
            "each step done from the command line: {s}"
        );
    }
    ensure!(d["ended_by"] == "duration", "{}", d["ended_by"]);
    let inject = d["timeline"]
        .as_array()
        .context("timeline")?
        .iter()
        .find(|e| e["what"] == "inject")
        .context("the inject in the timeline")?;
    ensure!(
        inject["node"] == "util_a" && inject["channel"] == "inject" && inject["t"] == 25.0,
        "{inject}"
    );
    // 30 kW lost from 25 s to the end at 30 s, the load on the maintenance bypass.
    let lost = d["it_kwh_lost"].as_f64().context("it_kwh_lost")?;
    ensure!(
        (lost - 30.0 * 5.0 / 3600.0).abs() < 1e-9,
        "it_kwh_lost {lost}"
    );
    ensure!(
        d["expects"]
            .as_array()
            .is_some_and(|e| e.iter().all(|x| x["verdict"] == "passed")),
        "{}",
        d["expects"]
    );
    // Steps 50, expectations 40, IT energy lost: 0 of 10.
    ensure!(d["score"]["total"] == 90, "{}", d["score"]);

    // The stamped pair beside latest.*; the page says who did each step.
    let mut names: Vec<String> = std::fs::read_dir(&debriefs)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    names.sort();
    ensure!(names.len() == 4, "{names:?}");
    ensure!(
        names[..2] == ["latest.html", "latest.json"]
            && names[2].starts_with("ups-bypass-short-")
            && names[2].ends_with("Z.html")
            && names[3] == names[2].replace(".html", ".json"),
        "{names:?}"
    );
    ensure!(std::fs::read_to_string(debriefs.join(&names[3]))? == json);
    let html = std::fs::read_to_string(debriefs.join("latest.html"))?;
    ensure!(
        html.contains("command line") && html.contains("90 / 100"),
        "the debrief page"
    );

    // The status names the page once the files are written (the same loop turn);
    // on a loaded machine give the retained message a moment to be the new one.
    let mut end = live.run_cli(&["drill", "status"]).await?;
    for _ in 0..10 {
        if end.contains("debrief: /drill/debrief") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        end = live.run_cli(&["drill", "status"]).await?;
    }
    ensure!(
        end.contains("finished at t=30.0s")
            && end.contains("score: 90/100")
            && end.contains("debrief: /drill/debrief"),
        "{end}"
    );
    live.check_running()?;
    Ok(())
}

/// `up --drill` with a `--topology` whose nodes differ is refused before anything
/// starts, naming the difference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_for_another_site_is_refused_by_up() -> Result<()> {
    let topology = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topologies/2n.toml");
    let (status, _, err) = winter_river_testkit::Proc::run(
        "up",
        system::BIN,
        &[
            "up".to_string(),
            "--drill".to_string(),
            drill_file().display().to_string(),
            "--topology".to_string(),
            topology.display().to_string(),
        ],
        Duration::from_secs(10),
    )
    .await?;
    ensure!(status.code() == Some(2), "{status}: {err}");
    ensure!(
        err.contains("its site is not the one of --topology") && err.contains("not in the"),
        "{err}"
    );
    Ok(())
}
