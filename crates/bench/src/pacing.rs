//! `pacing`: how long a fault takes to reach its boards' `update`s on a large site
//! (issue 15, part 6). For each site size (`winter-river topology generate --racks
//! R`), one `up --topology F` (every board virtual, in the same process, or
//! `--boards none`: the engine alone, whose `update`s are published all the same);
//! `set_fault` on util_a alternates fault and restore, and the latency runs from
//! just before the publish to the moment a subscriber holds the engine's `update`
//! with the new status for util_a (`fault` / `ok`) and for every block's A-side
//! transformer (`unpowered` / `ok`) — the last of them is the figure. Before the fix
//! changes waited behind the periodic refreshes (≈ 500 a second), so the figure grew
//! with the site: 4 s p50, 8 s max at 3,987 boards.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::latency::{Injection, inject};
use tokio::time::Instant;
use winter_river_testkit::{Client, Msg, TempDir};

use crate::stats::{Summary, summarize};
use crate::sut::{Env, Kind, Sut};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Site sizes, in racks for `topology generate` (1725 ≈ 2,000 boards, 3440 ≈
    /// 4,000, 6900 ≈ 8,000).
    #[arg(long, value_delimiter = ',', default_value = "1725,3440,6900")]
    pub racks: Vec<u64>,
    /// Injections per size and broker, alternating fault and restore.
    #[arg(long, default_value_t = 20)]
    pub injections: usize,
    /// `up --nodes`: `all` (every board virtual, in `up`) or `none` (the engine's
    /// `update`s only, no boards).
    #[arg(long, default_value = "all")]
    pub boards: String,
    /// Pause after an injection has settled [ms] (spread over [pause, 2·pause]).
    #[arg(long, default_value_t = 500)]
    pub pause_ms: u64,
    /// Write the figures as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, serde::Serialize)]
struct Trial {
    broker: Kind,
    racks: u64,
    nodes: usize,
    boards: String,
    /// Publish → util_a's `update` with the new status [ms].
    util: Summary,
    /// Publish → the last affected node's `update` [ms].
    last: Summary,
}

/// The new status of `id`'s update after a fault (`true`) or a restore.
fn expected(id: &str, fault: bool) -> &'static str {
    match (id, fault) {
        (_, false) => "ok",
        ("util_a", true) => "fault",
        (_, true) => "unpowered",
    }
}

fn update_shows(m: &Msg, fault: bool) -> bool {
    let id = m.topic.split('/').nth(1).unwrap_or_default();
    let Some(v) = m.json() else { return false };
    v["command"] == "update" && v["params"]["status"] == expected(id, fault)
}

pub async fn run(env: &Env, brokers: &[Kind], args: &Args) -> Result<()> {
    let dir = TempDir::new("bench-pacing")?;
    let mut trials = Vec::new();
    for &racks in &args.racks {
        let (topo_s, text, nodes) = crate::sut::generated_site(env, dir.path(), racks).await?;
        // util_a and every block's A-side transformer: `id = "trf_001_a"`.
        let affected: Vec<String> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("id = \"")?.strip_suffix('"'))
            .filter(|id| *id == "util_a" || (id.starts_with("trf_") && id.ends_with("_a")))
            .map(str::to_string)
            .collect();
        for &kind in brokers {
            println!(
                "pacing: {kind}, {racks} racks = {nodes} nodes, boards {}, {} injections…",
                args.boards, args.injections
            );
            let extra = vec![
                "--topology".to_string(),
                topo_s.clone(),
                "--nodes".into(),
                args.boards.clone(),
            ];
            let mut sut = Sut::start(env, kind, &extra).await?;
            let r = measure(&sut, &affected, args).await;
            let alive = sut.check_running();
            sut.stop().await;
            let (util, last) = r.with_context(|| format!("pacing at {racks} racks, {kind}"))?;
            alive?;
            println!("{kind:>9} {nodes:>6} nodes  util_a {util}");
            println!("{kind:>9} {nodes:>6} nodes  last   {last}");
            trials.push(Trial {
                broker: kind,
                racks,
                nodes,
                boards: args.boards.clone(),
                util,
                last,
            });
        }
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&trials)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

async fn measure(sut: &Sut, affected: &[String], args: &Args) -> Result<(Summary, Summary)> {
    let url = sut.url();
    let topics: Vec<String> = affected
        .iter()
        .map(|id| format!("winter-river/{id}/command"))
        .collect();
    let filters: Vec<&str> = topics.iter().map(String::as_str).collect();
    let sub = Client::connect(&url, "bench-pacing-sub", &filters).await?;
    let publisher = Client::connect(&url, "bench-pacing-pub", &[]).await?;
    // Settled: the engine has sent every affected node an `update` (its first round
    // is paced: n / 500 s), and a little more.
    sub.wait_each_from(
        "a first update of every affected node",
        Duration::from_secs(120),
        0,
        &topics,
        |m| update_shows(m, false),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let (mut util, mut last) = (Vec::new(), Vec::new());
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..args.injections {
        let Injection {
            fault,
            mark,
            t0,
            what,
        } = inject(&publisher, &sub, i)?;
        let got = sub
            .wait_each_from(&what, Duration::from_secs(60), mark, &topics, |m| {
                update_shows(m, fault)
            })
            .await?;
        let ms = |at: Instant| (at - t0).as_secs_f64() * 1000.0;
        util.push(ms(got[0].at));
        last.push(got.iter().map(|m| ms(m.at)).fold(0.0, f64::max));
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let pause = args.pause_ms + rng % (args.pause_ms + 1);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    Ok((summarize(&util), summarize(&last)))
}
