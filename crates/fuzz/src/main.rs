//! `winter-river-fuzz [--target NAME|all] [--iters N] [--seed S] [--replay FILE]`:
//! the long fuzz run by hand (docs/fuzzing.md). A panic's input is written to
//! `target/fuzz-crashes/<target>-<seed>-<n>.bin` and the exit code is 1.

use std::process::ExitCode;

use winter_river_fuzz::{QuietPanics, TARGETS, Target, find, fuzz, run_one};

fn usage() -> String {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    format!(
        "usage: winter-river-fuzz [--target NAME|all] [--iters N] [--seed S] [--replay FILE]\ntargets: {}",
        names.join(", ")
    )
}

fn main() -> ExitCode {
    let mut target = "all".to_string();
    let mut iters: u64 = 1_000_000;
    let mut seed: u64 = 1;
    let mut replay = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |what: &str| {
            args.next()
                .ok_or_else(|| format!("{a} needs {what}\n{}", usage()))
        };
        let parsed = match a.as_str() {
            "--target" => value("a target name").map(|v| target = v),
            "--iters" => value("a count").and_then(|v| {
                v.parse()
                    .map(|n| iters = n)
                    .map_err(|_| format!("--iters {v}: not a whole number ≥ 0"))
            }),
            "--seed" => value("a number").and_then(|v| {
                v.parse()
                    .map(|n| seed = n)
                    .map_err(|_| format!("--seed {v}: not a whole number ≥ 0"))
            }),
            "--replay" => value("a file").map(|v| replay = Some(v)),
            "-h" | "--help" => {
                println!("{}", usage());
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument `{other}`\n{}", usage())),
        };
        if let Err(e) = parsed {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    let chosen: Vec<&'static Target> = if target == "all" {
        TARGETS.iter().collect()
    } else {
        match find(&target) {
            Some(t) => vec![t],
            None => {
                eprintln!("error: unknown target `{target}`\n{}", usage());
                return ExitCode::from(2);
            }
        }
    };
    if let Some(file) = replay {
        let input = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: cannot read {file}: {e}");
                return ExitCode::from(2);
            }
        };
        for t in chosen {
            match run_one(t, &input) {
                Ok(accepted) => println!(
                    "{}: no panic ({})",
                    t.name,
                    if accepted { "accepted" } else { "refused" }
                ),
                Err(m) => {
                    println!("{}: panics: {m}", t.name);
                    return ExitCode::FAILURE;
                }
            }
        }
        return ExitCode::SUCCESS;
    }
    let _quiet = QuietPanics::new();
    for t in chosen {
        match fuzz(t, iters, seed) {
            Ok(stats) => println!(
                "{:<9} {:>10} inputs in {:>7.1} s ({:>9.0}/s), {:>5.1} % accepted, no panic — {}",
                t.name,
                stats.inputs,
                stats.elapsed.as_secs_f64(),
                stats.per_s(),
                stats.accepted_pct(),
                t.about
            ),
            Err(crash) => {
                let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../target/fuzz-crashes");
                let path = dir.join(format!("{}-{seed}-{}.bin", crash.target, crash.after));
                let saved = std::fs::create_dir_all(&dir)
                    .and_then(|_| std::fs::write(&path, &crash.input))
                    .map(|_| path.display().to_string())
                    .unwrap_or_else(|e| format!("(not saved: {e})"));
                println!(
                    "{}: PANIC after {} inputs: {}\n  input saved to {saved}\n  replay: winter-river-fuzz --target {} --replay {saved}",
                    crash.target, crash.after, crash.message, crash.target
                );
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
