//! The `winter-river` binary end to end: exit codes 0/1/2 of `scenario run` and
//! `validate`, the `--json`, `--csv` and `--plot` files, `topology generate|show`,
//! every `--format` of `analyze` and `sweep`, the help, the commands it suggests.

use std::path::{Path, PathBuf};
use std::process::Command;

mod run;
use run::{assert_exit, path_str, repo_root, stderr, stdout, wr};

use winter_river_sim::Topology;

// ── Helpers ─────────────────────────────────────────────────────────────────────

/// A fresh scratch folder for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli-tests")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// On the built-in chain: the utility fails at 10 s; one expectation.
fn outage_scenario(expect: &str) -> String {
    format!(
        "name = \"cli test\"\nduration_s = 30\n\n[[event]]\nat_s = 10.0\nnode = \"util_a\"\ncommand = \"set_fault\"\nparams = {{ state = true }}\n\n[[expect]]\n{expect}\n"
    )
}

// ── scenario run ────────────────────────────────────────────────────────────────

#[test]
fn scenario_run_exits_0_when_every_expectation_holds() {
    let o = wr(&["scenario", "run", "scenarios/utility-outage.toml"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("t=60.0s") && out.contains("util_a") && out.contains("fault: util_a failed"),
        "{out}"
    );
    assert!(
        out.contains("PASS  sw_a.source == \"gen_a\" at t=70s"),
        "{out}"
    );
    assert!(out.contains("PASSED: "), "{out}");
    assert!(!out.contains("FAIL "), "{out}");
}

#[test]
fn scenario_run_exits_1_when_an_expectation_fails() {
    let dir = scratch("fails");
    let file = dir.join("wrong.toml");
    write(
        &file,
        &outage_scenario(
            "at_s = 15.0\nnode = \"system\"\nfield = \"source\"\nequals = \"utility\"",
        ),
    );
    let o = wr(&["scenario", "run", path_str(&file)]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(
        out.contains("FAIL  system.source == \"utility\" at t=15s  (seen \"battery\" at t=15.0s)"),
        "{out}"
    );
    assert!(out.contains("FAILED: 0/1 expectations hold"), "{out}");
}

#[test]
fn scenario_run_exits_2_on_an_invalid_file_naming_file_line_key_and_reason() {
    let dir = scratch("invalid");
    let file = dir.join("bad.toml");
    write(
        &file,
        &outage_scenario("at_s = 20.0\nnode = \"ups_a\"\nfield = \"battery\"\nequals = 1.0"),
    );
    let o = wr(&["scenario", "run", path_str(&file)]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}:13: `expect.field`: unknown field `battery`",
            file.display()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one clear message: {err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn scenario_run_exits_2_on_a_missing_file() {
    let o = wr(&["scenario", "run", "scenarios/no-such-file.toml"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("cannot read scenarios/no-such-file.toml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn scenario_run_writes_json_csv_and_plot() {
    let dir = scratch("outputs");
    let (json, csv, svg) = (
        dir.join("run.json"),
        dir.join("run.csv"),
        dir.join("run.svg"),
    );
    let o = wr(&[
        "scenario",
        "run",
        "scenarios/utility-outage.toml",
        "--json",
        path_str(&json),
        "--csv",
        path_str(&csv),
        "--plot",
        path_str(&svg),
    ]);
    assert_exit(&o, 0);
    // Each file written is named on stderr, with what it holds.
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "wrote {}: verdicts of 22 expectations, 16 events and the summary (JSON)",
            json.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("wrote {}: 901 samples of ", csv.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "wrote {}: plot with event markers (SVG)",
            svg.display()
        )),
        "{err}"
    );

    let v: serde_json::Value =
        serde_json::from_str(&read(&json)).unwrap_or_else(|e| panic!("--json is not JSON: {e}"));
    assert_eq!(
        v["scenario"],
        "Utility outage, generator picks up, retransfer"
    );
    assert_eq!(v["passed"], true);
    let verdicts = v["verdicts"].as_array().map_or(0, Vec::len);
    assert!(verdicts > 10, "{verdicts} verdicts");
    assert_eq!(v["summary"]["expectations"].as_u64(), Some(verdicts as u64));
    assert_eq!(v["summary"]["failed"], 0);
    let events = v["events"].as_array().cloned().unwrap_or_default();
    assert!(
        events
            .iter()
            .any(|e| e["t"] == 60.0 && e["node_id"] == "util_a" && e["event"] == "fault")
    );
    assert!(v["verdicts"][0]["seen"].is_number());

    // 900 s sampled every second: 901 rows after the header.
    let text = read(&csv);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    assert_eq!(header[0], "time_s");
    for col in [
        "it_kw",
        "facility_kw",
        "pue",
        "it_kwh_unserved",
        "fuel_pct",
        "ups_a.battery_pct",
        "sw_a.status",
    ] {
        assert!(header.contains(&col), "no column {col} in {header:?}");
    }
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 901);
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or(usize::MAX);
    assert_eq!(rows[65][col("ups_a.status")], "on_battery");
    let it_kw: f64 = rows[0][col("it_kw")].parse().unwrap_or(f64::NAN);
    assert_eq!(it_kw, 30.0);

    let plot = read(&svg);
    assert!(plot.starts_with("<svg"), "{}", &plot[..plot.len().min(200)]);
    assert!(plot.trim_end().ends_with("</svg>"));
    assert!(plot.contains("Utility outage, generator picks up, retransfer"));
    assert!(plot.contains("util_a fault"), "event marker label");
    assert!(plot.contains("facility_kw"), "legend");
}

#[test]
fn plot_series_can_be_chosen_and_unknown_ones_are_refused() {
    let dir = scratch("series");
    let svg = dir.join("p.svg");
    let o = wr(&[
        "scenario",
        "run",
        "scenarios/utility-outage.toml",
        "--plot",
        path_str(&svg),
        "--series",
        "gen_a.power_kw,ups_a.battery_pct",
    ]);
    assert_exit(&o, 0);
    let plot = read(&svg);
    assert!(plot.contains("gen_a.power_kw") && !plot.contains("facility_kw"));

    let o = wr(&[
        "scenario",
        "run",
        "scenarios/utility-outage.toml",
        "--plot",
        path_str(&svg),
        "--series",
        "gen_a.volts",
    ]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("gen_a.volts"));
}

// ── validate ────────────────────────────────────────────────────────────────────

#[test]
fn validate_accepts_topologies_and_scenarios() {
    let o = wr(&["validate", "topologies/default.toml"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("valid topology") && out.contains("8 nodes") && out.contains("1 ups"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);

    let o = wr(&["validate", "scenarios/2n-side-loss.toml"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("valid scenario") && out.contains("2 events"),
        "{out}"
    );
}

#[test]
fn validate_refuses_a_broken_topology_with_its_line() {
    let dir = scratch("validate");
    let file = dir.join("topo.toml");
    write(
        &file,
        "[[node]]\nid = \"util_a\"\nkind = \"utility\"\n\n[[node]]\nid = \"trf_a\"\nkind = \"transformer\"\nfeeds = [\"util_x\"]\n",
    );
    let o = wr(&["validate", path_str(&file)]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(&format!(
            "{}:8: `feeds`: unknown feed `util_x`",
            file.display()
        )),
        "{}",
        stderr(&o)
    );

    // The reliability tables, which only `analyze` uses, are checked too.
    let file = dir.join("reliability.toml");
    write(
        &file,
        "[reliability.ups]\nmtbf_h = -5.0\n\n[[node]]\nid = \"util_a\"\nkind = \"utility\"\n",
    );
    let o = wr(&["validate", path_str(&file)]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(&format!("{}:2: `reliability.ups.mtbf_h`", file.display())),
        "{}",
        stderr(&o)
    );

    let file = dir.join("neither.toml");
    write(&file, "title = \"x\"\n");
    let o = wr(&["validate", path_str(&file)]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("neither a topology"), "{}", stderr(&o));
}

#[test]
fn validate_refuses_a_broken_scenario_with_its_line() {
    let dir = scratch("validate-scenario");
    let file = dir.join("s.toml");
    write(
        &file,
        "duration_s = 60\n[[event]]\nat_s = 90.0\nnode = \"util_a\"\ncommand = \"set_fault\"\nparams = { state = true }\n",
    );
    let o = wr(&["validate", path_str(&file)]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains(":3: `event.at_s`: 90 s is beyond duration_s"),
        "{}",
        stderr(&o)
    );
}

// ── topology ────────────────────────────────────────────────────────────────────

#[test]
fn topology_generate_prints_a_valid_site() {
    let o = wr(&["topology", "generate", "--racks", "10"]);
    assert_exit(&o, 0);
    let t = Topology::from_toml_str(&stdout(&o), "<generated>").unwrap_or_else(|e| panic!("{e}"));
    assert!(t.len() >= 10);

    let dir = scratch("generate");
    let out = dir.join("site.toml");
    let o = wr(&[
        "topology",
        "generate",
        "--racks",
        "25",
        "--out",
        path_str(&out),
    ]);
    assert_exit(&o, 0);
    let t = Topology::from_toml_str(&read(&out), "site.toml").unwrap_or_else(|e| panic!("{e}"));
    assert!(t.len() >= 25);
    // It says what it wrote, with the node count `validate` gives.
    assert_eq!(stdout(&o), "");
    let said = stderr(&o);
    assert!(
        said.starts_with(&format!(
            "wrote {}: synthetic 2N site \"{}\", 25 racks: {} nodes (",
            out.display(),
            t.site_name,
            t.len()
        )),
        "{said}"
    );
    let o = wr(&["validate", path_str(&out)]);
    assert_exit(&o, 0);

    let o = wr(&["topology", "generate", "--racks", "0"]);
    assert_exit(&o, 2);
}

#[test]
fn topology_show_prints_json() {
    let o = wr(&["topology", "show"]);
    assert_exit(&o, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["nodes"].as_array().map(Vec::len), Some(8));
    assert_eq!(v["site"], "winter-river-a");

    let o = wr(&["topology", "show", "topologies/2n.toml"]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("\"ups_b\""));
}

// ── analyze and sweep: every --format ───────────────────────────────────────────

#[test]
fn analyze_writes_each_format_it_offers_and_refuses_csv() {
    let dir = scratch("analyze-formats");
    let check = |format: &str, holds: &dyn Fn(&str) -> bool| {
        let out = dir.join(format!("report.{format}"));
        let o = wr(&["analyze", "--format", format, "--out", path_str(&out)]);
        assert_exit(&o, 0);
        let text = read(&out);
        assert!(holds(&text), "--format {format}:\n{text}");
        let said = stderr(&o);
        assert!(
            said.contains(&format!(
                "wrote {}: reliability analysis of \"winter-river-a\" ({format})",
                out.display()
            )),
            "{said}"
        );
    };
    let spof = "Single points of failure (4): sw_a, dist_a, ups_a, pdu_a";
    check("text", &|t| t.contains(spof) && !t.contains("<td>"));
    check("markdown", &|t| {
        t.starts_with("# Reliability analysis") && t.contains("| sw_a | SPOF |")
    });
    check("json", &|t| {
        serde_json::from_str::<serde_json::Value>(t).is_ok_and(|v| {
            v["contingencies"]["single_points_of_failure"]
                == serde_json::json!(["sw_a", "dist_a", "ups_a", "pdu_a"])
        })
    });
    check("html", &|t| {
        t.starts_with("<!DOCTYPE html>") && t.contains(&format!("<p>{spof}</p>"))
    });

    // An analysis is several tables: no CSV, and no JSON in its place.
    let out = dir.join("report.csv");
    let o = wr(&["analyze", "--format", "csv", "--out", path_str(&out)]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("[possible values: text, markdown, json, html]"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing written for a refused format");
}

#[test]
fn sweep_writes_each_format_it_offers() {
    let dir = scratch("sweep-formats");
    let run = |format: &str| {
        let out = dir.join(format!("sweep.{format}"));
        let o = wr(&[
            "sweep",
            "scenarios/generator-fails-to-start.toml",
            "--set",
            "ups_a.battery_kwh=7,14",
            "--columns",
            "ride_through_s",
            "--format",
            format,
            "--out",
            path_str(&out),
        ]);
        assert_exit(&o, 0);
        assert!(
            stderr(&o).contains(&format!("wrote {}: sweep of ", out.display()))
                && stderr(&o).contains(&format!(", 2 combinations ({format})")),
            "{}",
            stderr(&o)
        );
        read(&out)
    };
    // CSV: a table a spreadsheet opens, one row per value.
    let csv = run("csv");
    let rows: Vec<&str> = csv.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rows[0], "ups_a.battery_kwh,ride_through_s,error", "{csv}");
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(
        rows[1].starts_with("7,") && rows[2].starts_with("14,"),
        "{csv}"
    );
    // Twice the battery, about twice the ride-through.
    let ride = |row: &str| -> f64 {
        row.split(',')
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let ratio = ride(rows[2]) / ride(rows[1]);
    assert!(
        (1.8..=2.2).contains(&ratio),
        "ride-through ratio {ratio}: {csv}"
    );

    let json: serde_json::Value = serde_json::from_str(&run("json"))
        .unwrap_or_else(|e| panic!("--format json is not JSON: {e}"));
    assert_eq!(json["sweep"]["rows"].as_array().map(Vec::len), Some(2));
    let text = run("text");
    assert!(
        text.starts_with("Sweep of ") && text.contains("ride_through_s"),
        "{text}"
    );
    let md = run("markdown");
    assert!(
        md.contains("| ups_a.battery_kwh | ride_through_s | error |"),
        "{md}"
    );
    let html = run("html");
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<td>14</td>"),
        "{html}"
    );
}

// ── help and suggested commands ─────────────────────────────────────────────────

#[test]
fn help_names_what_up_starts() {
    for args in [&["--help"][..], &["up", "--help"]] {
        let o = wr(args);
        assert_exit(&o, 0);
        let out = stdout(&o);
        assert!(
            out.contains("engine, virtual boards and the web dashboard"),
            "{out}"
        );
    }
}

/// The hint after a failed connection names a command that works as this one was
/// started: by path here, `cargo run --` under cargo.
#[test]
fn hints_name_the_command_as_it_was_started() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(1, |a| a.port());
    let broker = format!("mqtt://127.0.0.1:{port}");
    let hint = |cargo: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_winter-river"));
        cmd.args(["fault", "util_a", "on", "--broker", &broker]);
        if cargo {
            cmd.env("CARGO", "cargo")
                .env("CARGO_MANIFEST_DIR", repo_root());
        } else {
            cmd.env_remove("CARGO");
        }
        let o = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run winter-river: {e}"));
        assert_exit(&o, 2);
        stderr(&o)
    };
    let bin = env!("CARGO_BIN_EXE_winter-river");
    let by_path = hint(false);
    assert!(
        by_path.contains(&format!("start one with `{bin} up` or `{bin} broker`")),
        "{by_path}"
    );
    let by_cargo = hint(true);
    assert!(
        by_cargo.contains("start one with `cargo run -- up` or `cargo run -- broker`"),
        "{by_cargo}"
    );
}

#[test]
fn help_shows_units_in_plain_brackets() {
    // clap prints doc comments as they are: a rustdoc escape (`\[kW\]`) would show.
    let o = wr(&["--help"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("Set the demand of a load [kW]"), "{out}");
    let o = wr(&["up", "--help"]);
    let out = stdout(&o);
    assert!(out.contains("Simulation step [ms]"), "{out}");
    assert!(!out.contains('\\'), "{out}");
}

/// `winter-river topology show … | head`: the reader goes away after a few bytes;
/// the command ends quietly with 0, as Unix tools do, instead of panicking.
#[test]
#[allow(clippy::unwrap_used)]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::Read as _;
    use std::process::Stdio;
    for args in [
        &["topology", "show", "topologies/hall.toml"][..],
        &["topology", "generate", "--racks", "3000"][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_winter-river"))
            .args(args)
            .current_dir(repo_root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The pipe's read end is closed here, with most of the output unread.
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn numeric_flags_say_what_is_wrong_and_what_is_allowed() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["up", "--speed", "-1"],
            "-1 is negative; allowed: a number > 0",
        ),
        (
            &["up", "--speed", "0"],
            "0 would stop the clock; allowed: a number > 0",
        ),
        (
            &["up", "--step-ms=-5"],
            "-5 is negative; allowed: a whole number from 1 to 4294967295",
        ),
        (
            &["engine", "--step-ms", "0"],
            "0 is too small; allowed: a whole number from 1 to 4294967295",
        ),
        (
            &["analyze", "--depth", "3"],
            "3 is too large; allowed: a whole number from 1 to 2",
        ),
        (
            &["topology", "generate", "--racks", "-2"],
            "-2 is negative; allowed: a whole number ≥ 1",
        ),
    ];
    for (args, says) in cases {
        let o = wr(args);
        assert_exit(&o, 2);
        let err = stderr(&o);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("unexpected argument"), "{args:?}: {err}");
    }
}

#[test]
fn up_refuses_a_site_beyond_its_open_file_limit_naming_the_numbers() {
    let dir = scratch("fd-budget");
    let site = dir.join("site.toml");
    let o = wr(&[
        "topology",
        "generate",
        "--racks",
        "300",
        "--out",
        path_str(&site),
    ]);
    assert_exit(&o, 0);
    let nodes = read(&site)
        .lines()
        .filter(|l| l.trim() == "[[node]]")
        .count();
    // A hard limit of 300 open files: the boards need about 2 each with the
    // embedded broker, so no raise of the soft limit can make them fit.
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 300 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_winter-river"))
        .args(["up", "--topology", path_str(&site), "--http", "127.0.0.1:0"])
        .args(["--mqtt-port", "0", "--ws-port", "0", "--bind", "127.0.0.1"])
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run sh: {e}"));
    assert_exit(&o, 2);
    let err = stderr(&o);
    let need = nodes * 2 + 256;
    assert!(
        err.contains(&format!(
            "{nodes} virtual boards need about {need} file descriptors"
        )),
        "{err}"
    );
    assert!(err.contains("the limit is 300"), "{err}");
    assert!(
        err.contains("`--nodes none`") && err.contains("`--broker mqtt://HOST:1883`"),
        "{err}"
    );
    // Nothing was started: no banner.
    assert!(!stdout(&o).contains("Winter River up"), "{}", stdout(&o));
}

// ── The dashboard's protections (issue 16) ──────────────────────────────────────

/// One blocking HTTP/1.1 GET to `addr` with `Host: host`: status, head, body.
#[allow(clippy::unwrap_used)] // a test: a panic is the failure
fn http_get(addr: &str, host: &str, path: &str, headers: &[&str]) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s =
        std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// `up` on loopback, nothing else started beside it; its stdout lines until the
/// `metrics` line (the last of the dashboard's), then the running child.
#[allow(clippy::unwrap_used)] // a test: a panic is the failure
fn up_until_dashboard(dir: &Path, extra: &[&str]) -> (std::process::Child, Vec<String>) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_winter-river"))
        .args([
            "up",
            "--nodes",
            "none",
            "--state",
            "none",
            "--http",
            "127.0.0.1:0",
        ])
        .args(["--mqtt-port", "0", "--ws-port", "0", "--bind", "127.0.0.1"])
        .args(extra)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run winter-river up: {e}"));
    let out = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    let mut reader = std::io::BufReader::new(out).lines();
    for line in reader.by_ref() {
        let line = line.unwrap();
        let last = line.trim_start().starts_with("metrics ");
        lines.push(line);
        if last {
            break;
        }
    }
    // Keep reading: `up` would die of a closed stdout at its next line.
    std::thread::spawn(move || reader.for_each(drop));
    (child, lines)
}

/// The `http://host:port/?token=…` of the banner line starting with `role`.
#[allow(clippy::unwrap_used)] // a test: a panic is the failure
fn url_of<'a>(lines: &'a [String], role: &str) -> &'a str {
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(role))
        .unwrap_or_else(|| panic!("no `{role}` line in {lines:?}"));
    line.split_whitespace().nth(1).unwrap()
}

#[test]
#[allow(clippy::unwrap_used)] // a test: a panic is the failure
fn up_prints_urls_whose_host_the_dashboard_answers_and_the_viewer_token_gates_reads() {
    let dir = scratch("up-dashboard-guard");
    let (mut child, lines) = up_until_dashboard(
        &dir,
        &[
            "--token",
            "op-tok",
            "--viewer-token",
            "look-tok",
            "--allowed-host",
            "pi.local",
        ],
    );
    let dashboard = url_of(&lines, "dashboard").to_string();
    let viewers = url_of(&lines, "viewers").to_string();
    let metrics = lines
        .iter()
        .find(|l| l.trim_start().starts_with("metrics"))
        .unwrap()
        .clone();
    let rest = dashboard.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    assert_eq!(path, "/?token=op-tok");
    let port = host.rsplit_once(':').unwrap().1;
    let addr = format!("127.0.0.1:{port}");
    // The printed URL's host passes: its token becomes the cookie.
    let (s, head, _) = http_get(&addr, host, path, &[]);
    assert_eq!(s, 303, "{head}");
    assert!(
        head.contains("set-cookie: wr_token_") && head.contains("httponly"),
        "{head}"
    );
    assert!(viewers.ends_with("/?token=look-tok"), "{viewers}");
    let (s, _, _) = http_get(&addr, host, "/?token=look-tok", &[]);
    assert_eq!(s, 303);
    // --allowed-host adds a name; any other is refused, naming the flag.
    let auth = "Authorization: Bearer look-tok";
    let (s, _, _) = http_get(&addr, &format!("pi.local:{port}"), "/api/schema", &[auth]);
    assert_eq!(s, 200);
    let (s, _, body) = http_get(
        &addr,
        &format!("rebind.example:{port}"),
        "/api/schema",
        &[auth],
    );
    assert_eq!(s, 421);
    assert!(body.contains("--allowed-host rebind.example"), "{body}");
    // Reads need a token, /metrics too (the banner says so).
    assert_eq!(http_get(&addr, host, "/api/schema", &[]).0, 401);
    assert_eq!(http_get(&addr, host, "/metrics", &[]).0, 401);
    assert!(metrics.contains("needs a token"), "{metrics}");
    assert_eq!(
        http_get(&addr, host, "/metrics", &["authorization: bearer look-tok"]).0,
        200
    );
    child.kill().unwrap();
    let _ = child.wait();

    // --metrics-open leaves /metrics to Prometheus; the rest stays gated.
    let (mut child, lines) = up_until_dashboard(
        &dir,
        &[
            "--token",
            "op-tok",
            "--viewer-token",
            "look-tok",
            "--metrics-open",
        ],
    );
    let rest = url_of(&lines, "dashboard")
        .strip_prefix("http://")
        .unwrap()
        .to_string();
    let host = &rest[..rest.find('/').unwrap()];
    let addr = format!("127.0.0.1:{}", host.rsplit_once(':').unwrap().1);
    assert_eq!(http_get(&addr, host, "/metrics", &[]).0, 200);
    assert_eq!(http_get(&addr, host, "/api/state", &[]).0, 401);
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
#[allow(clippy::unwrap_used)] // a test: a panic is the failure
fn the_viewer_token_must_be_its_own() {
    let o = wr(&[
        "web",
        "--http",
        "127.0.0.1:0",
        "--token",
        "same",
        "--viewer-token",
        "same",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("viewers need a token of their own"),
        "{}",
        stderr(&o)
    );
    let o = wr(&[
        "web",
        "--http",
        "127.0.0.1:0",
        "--allowed-host",
        "http://pi.local/",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("without http://"), "{}", stderr(&o));
}
