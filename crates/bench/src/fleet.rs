//! `fleet`: how many virtual boards at one status per second one `up` sustains.
//! For each site size (`winter-river topology generate --racks R`), `up --topology F
//! --nodes none` runs the broker (embedded, or Mosquitto next to it) and the engine,
//! and a separate `winter-river nodes --topology F --status-interval-s 1` process
//! runs every board as the load. A subscriber on `<p>/+/status` and
//! `<p>/system/status` measures, over the window after every board has reported:
//!
//! - delivered: statuses received ÷ expected (boards × window ÷ interval);
//! - lost: gaps in each board's `seq` (a status the subscriber never got);
//! - trend: the received rate in the window's second half ÷ its first half (a growing
//!   backlog shows as a falling rate);
//! - engine clock: simulated seconds ÷ wall seconds over the window (speed 1: an
//!   engine that cannot keep up falls behind);
//! - start-up: from the start of the fleet until every board has reported;
//! - peak RSS (VmHWM) of `up`, the separate broker (Mosquitto or `--broker-cmd`) and
//!   the fleet; their CPU use.
//!
//! A size is sustained when delivered ≥ 99 %, lost ≤ 0.5 %, trend ≥ 0.98, engine
//! clock ≥ 0.98, and nothing died.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::time::Instant;
use winter_river_mqtt::{Link, LinkEvent, LinkOptions};
use winter_river_protocol::Qos;
use winter_river_testkit::{Proc, TempDir};

use crate::procfs::{cpu_s, peak_rss_mib};
use crate::sut::{Env, Kind, Sut};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Site sizes to try, in racks for `topology generate` (about 1.16 boards per rack:
    /// 1720 ≈ 2,000 boards).
    #[arg(long, value_delimiter = ',', default_value = "1720,2580,3440")]
    pub racks: Vec<u64>,
    /// Measured window [s].
    #[arg(long, default_value_t = 60)]
    pub duration_s: u64,
    /// Status interval of every board [s].
    #[arg(long, default_value_t = 1.0)]
    pub status_interval_s: f64,
    /// Keep trying the larger sizes for a broker after one failed.
    #[arg(long)]
    pub keep_going: bool,
    /// Write the figures as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// What the subscriber has heard.
#[derive(Debug, Default)]
struct Heard {
    statuses: u64,
    last_seq: HashMap<String, u64>,
    lost: u64,
    reordered: u64,
    /// Latest system/status: when, sim_time_s, nodes_offline.
    system: Option<(Instant, f64, u64)>,
    system_count: u64,
    /// Longest gap between two system/status messages [s].
    system_max_gap_s: f64,
}

#[derive(Debug, serde::Deserialize)]
struct StatusHead {
    node_id: String,
    seq: Option<u64>,
}

#[derive(Debug, Clone, serde::Serialize)]
struct Trial {
    broker: String,
    racks: u64,
    boards: usize,
    /// From the fleet's start until every board had reported [s].
    startup_s: f64,
    window_s: f64,
    expected: f64,
    received: u64,
    delivered: f64,
    lost: u64,
    lost_ratio: f64,
    reordered: u64,
    /// Received statuses per second: min, median, max over the window.
    rate_min: u64,
    rate_median: u64,
    rate_max: u64,
    trend: f64,
    engine_clock: f64,
    system_max_gap_s: f64,
    nodes_offline: u64,
    up_peak_rss_mib: f64,
    broker_peak_rss_mib: Option<f64>,
    fleet_peak_rss_mib: f64,
    /// CPU use over the window [% of one core].
    up_cpu_pct: f64,
    broker_cpu_pct: Option<f64>,
    fleet_cpu_pct: f64,
    sustained: bool,
    note: String,
}

pub async fn run(env: &Env, brokers: &[Kind], args: &Args) -> Result<()> {
    let dir = TempDir::new("bench-fleet")?;
    let mut trials: Vec<Trial> = Vec::new();
    let mut failed: Vec<Kind> = Vec::new();
    for &racks in &args.racks {
        let (topo_s, _, boards) = crate::sut::generated_site(env, dir.path(), racks).await?;
        for &kind in brokers {
            if failed.contains(&kind) && !args.keep_going {
                continue;
            }
            println!(
                "fleet: {}, {racks} racks = {boards} boards, {} s window…",
                env.label(kind),
                args.duration_s
            );
            let t = trial(env, kind, &topo_s, racks, boards, args)
                .await
                .unwrap_or_else(|e| failed_trial(env.label(kind), racks, boards, format!("{e:#}")));
            print_trial(&t);
            if !t.sustained {
                failed.push(kind);
            }
            trials.push(t);
        }
    }
    println!(
        "\nsummary (sustained = delivered ≥ 99 %, lost ≤ 0.5 %, trend ≥ 0.98, engine clock ≥ 0.98):"
    );
    for &kind in brokers {
        let best = trials
            .iter()
            .filter(|t| t.broker == env.label(kind) && t.sustained)
            .map(|t| t.boards)
            .max();
        println!(
            "  {}: largest sustained {}",
            env.label(kind),
            best.map_or("none of the sizes tried".into(), |b| format!("{b} boards"))
        );
    }
    // Same load: each broker against Mosquitto (or against the first one tried).
    for racks in &args.racks {
        let same: Vec<&Trial> = trials.iter().filter(|t| t.racks == *racks).collect();
        let Some(base) = same
            .iter()
            .find(|t| t.broker == "mosquitto")
            .or(same.first())
            .copied()
        else {
            continue;
        };
        for a in same.iter().filter(|t| t.broker != base.broker) {
            let cpu = |t: &Trial| t.up_cpu_pct + t.broker_cpu_pct.unwrap_or(0.0);
            let rss = |t: &Trial| t.up_peak_rss_mib + t.broker_peak_rss_mib.unwrap_or(0.0);
            println!(
                "  {} boards, {}/{}: delivered {:.3}, CPU (broker+engine) {:.2}, peak RSS (broker+engine) {:.2}, start-up {:.2}",
                a.boards,
                a.broker,
                base.broker,
                a.delivered / base.delivered.max(1e-9),
                cpu(a) / cpu(base).max(1e-9),
                rss(a) / rss(base).max(1e-9),
                a.startup_s / base.startup_s.max(1e-9)
            );
        }
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&trials)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn failed_trial(broker: String, racks: u64, boards: usize, note: String) -> Trial {
    Trial {
        broker,
        racks,
        boards,
        startup_s: 0.0,
        window_s: 0.0,
        expected: 0.0,
        received: 0,
        delivered: 0.0,
        lost: 0,
        lost_ratio: 0.0,
        reordered: 0,
        rate_min: 0,
        rate_median: 0,
        rate_max: 0,
        trend: 0.0,
        engine_clock: 0.0,
        system_max_gap_s: 0.0,
        nodes_offline: 0,
        up_peak_rss_mib: 0.0,
        broker_peak_rss_mib: None,
        fleet_peak_rss_mib: 0.0,
        up_cpu_pct: 0.0,
        broker_cpu_pct: None,
        fleet_cpu_pct: 0.0,
        sustained: false,
        note,
    }
}

fn print_trial(t: &Trial) {
    println!(
        "  {} {} boards: every board reported after {:.1} s; delivered {:.2} % ({} of {:.0}), lost {} ({:.3} %), reordered {}, rate/s min {} median {} max {}, trend {:.3}, engine clock {:.3}, system/status max gap {:.1} s, offline {}",
        t.broker,
        t.boards,
        t.startup_s,
        t.delivered * 100.0,
        t.received,
        t.expected,
        t.lost,
        t.lost_ratio * 100.0,
        t.reordered,
        t.rate_min,
        t.rate_median,
        t.rate_max,
        t.trend,
        t.engine_clock,
        t.system_max_gap_s,
        t.nodes_offline
    );
    println!(
        "  peak RSS: up {:.0} MiB{}, fleet {:.0} MiB; CPU: up {:.0} %{}, fleet {:.0} % → {}{}",
        t.up_peak_rss_mib,
        t.broker_peak_rss_mib
            .map_or(String::new(), |r| format!(", {} {r:.0} MiB", t.broker)),
        t.fleet_peak_rss_mib,
        t.up_cpu_pct,
        t.broker_cpu_pct
            .map_or(String::new(), |c| format!(", {} {c:.0} %", t.broker)),
        t.fleet_cpu_pct,
        if t.sustained {
            "sustained"
        } else {
            "NOT sustained"
        },
        if t.note.is_empty() {
            String::new()
        } else {
            format!(" ({})", t.note)
        }
    );
}

async fn trial(
    env: &Env,
    kind: Kind,
    topo: &str,
    racks: u64,
    boards: usize,
    args: &Args,
) -> Result<Trial> {
    let mut sut = Sut::start(
        env,
        kind,
        &[
            "--topology".into(),
            topo.into(),
            "--nodes".into(),
            "none".into(),
        ],
    )
    .await?;
    let result = measure(&mut sut, env.label(kind), topo, racks, boards, args).await;
    sut.stop().await;
    result
}

async fn measure(
    sut: &mut Sut,
    label: String,
    topo: &str,
    racks: u64,
    boards: usize,
    args: &Args,
) -> Result<Trial> {
    let heard = Arc::new(Mutex::new(Heard::default()));
    let mut options = LinkOptions::new(format!("bench-fleet-{}", std::process::id()));
    options.keep_alive_s = 30;
    let mut link = Link::connect(&sut.url(), &options);
    let h = heard.clone();
    let monitor = tokio::spawn(async move {
        while let Some(ev) = link.recv().await {
            match ev {
                LinkEvent::Connected => {
                    let _ = link.subscribe("winter-river/+/status", Qos::AtMostOnce);
                }
                LinkEvent::Disconnected { .. } => {}
                LinkEvent::Message { topic, payload } => absorb(&h, &topic, &payload),
            }
        }
    });
    sut.spawn_fleet(&[
        "--topology".into(),
        topo.into(),
        "--nodes".into(),
        "all".into(),
        "--status-interval-s".into(),
        args.status_interval_s.to_string(),
    ])?;
    // Warm-up: every board has reported, then a few seconds to settle.
    let fleet_start = Instant::now();
    let deadline = fleet_start + Duration::from_secs(90);
    loop {
        let seen = heard
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_seq
            .len();
        if seen >= boards {
            break;
        }
        sut.check_running()?;
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {seen} of {boards} boards reported within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let startup_s = fleet_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(5)).await;

    let up_pid = sut.up.pid();
    let broker_pid = sut.broker_pid();
    let fleet_pid = sut.fleet.as_ref().map(Proc::pid).context("no fleet")?;
    let snap = |h: &Arc<Mutex<Heard>>| {
        let g = h.lock().unwrap_or_else(|p| p.into_inner());
        (g.statuses, g.lost, g.reordered, g.system)
    };
    let cpu0 = (cpu_s(up_pid), broker_pid.and_then(cpu_s), cpu_s(fleet_pid));
    let (r0, lost0, reo0, sys0) = snap(&heard);
    {
        heard
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .system_max_gap_s = 0.0;
    }
    let start = Instant::now();
    let mut per_second = Vec::new();
    let mut last = r0;
    for s in 1..=args.duration_s {
        tokio::time::sleep_until(start + Duration::from_secs(s)).await;
        let now = snap(&heard).0;
        per_second.push(now - last);
        last = now;
        sut.check_running()?;
    }
    let window_s = start.elapsed().as_secs_f64();
    let cpu1 = (cpu_s(up_pid), broker_pid.and_then(cpu_s), cpu_s(fleet_pid));
    let (r1, lost1, reo1, sys1) = snap(&heard);
    let (max_gap, system_count) = {
        let g = heard.lock().unwrap_or_else(|p| p.into_inner());
        (g.system_max_gap_s, g.system_count)
    };
    monitor.abort();

    let received = r1 - r0;
    let expected = boards as f64 * window_s / args.status_interval_s;
    let lost = lost1 - lost0;
    let half = per_second.len() / 2;
    let sum = |v: &[u64]| v.iter().sum::<u64>() as f64;
    let trend = sum(&per_second[half..]) / sum(&per_second[..half]).max(1.0)
        * (half as f64 / (per_second.len() - half) as f64);
    let engine_clock = match (sys0, sys1) {
        (Some((t0, s0, _)), Some((t1, s1, _))) if t1 > t0 => (s1 - s0) / (t1 - t0).as_secs_f64(),
        _ => 0.0,
    };
    let nodes_offline = sys1.map_or(0, |s| s.2);
    let mut sorted = per_second.clone();
    sorted.sort_unstable();
    let pct = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some((b - a) / window_s * 100.0),
        _ => None,
    };
    let delivered = received as f64 / expected;
    let lost_ratio = lost as f64 / expected;
    let mut note = String::new();
    if system_count == 0 {
        note.push_str("no system/status heard; ");
    }
    if nodes_offline > 0 {
        note.push_str(&format!("engine counts {nodes_offline} boards offline; "));
    }
    let sustained =
        delivered >= 0.99 && lost_ratio <= 0.005 && trend >= 0.98 && engine_clock >= 0.98;
    Ok(Trial {
        broker: label,
        racks,
        boards,
        startup_s,
        window_s,
        expected,
        received,
        delivered,
        lost,
        lost_ratio,
        reordered: reo1 - reo0,
        rate_min: sorted.first().copied().unwrap_or(0),
        rate_median: sorted.get(sorted.len() / 2).copied().unwrap_or(0),
        rate_max: sorted.last().copied().unwrap_or(0),
        trend,
        engine_clock,
        system_max_gap_s: max_gap,
        nodes_offline,
        up_peak_rss_mib: peak_rss_mib(up_pid).unwrap_or(0.0),
        broker_peak_rss_mib: broker_pid.and_then(peak_rss_mib),
        fleet_peak_rss_mib: peak_rss_mib(fleet_pid).unwrap_or(0.0),
        up_cpu_pct: pct(cpu0.0, cpu1.0).unwrap_or(0.0),
        broker_cpu_pct: pct(cpu0.1, cpu1.1),
        fleet_cpu_pct: pct(cpu0.2, cpu1.2).unwrap_or(0.0),
        sustained,
        note: note.trim_end_matches("; ").to_string(),
    })
}

fn absorb(heard: &Mutex<Heard>, topic: &str, payload: &[u8]) {
    let now = Instant::now();
    if topic == "winter-river/system/status" {
        let v: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
        let mut g = heard.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, _, _)) = g.system {
            g.system_max_gap_s = g.system_max_gap_s.max((now - t).as_secs_f64());
        }
        g.system = Some((
            now,
            v["sim_time_s"].as_f64().unwrap_or(0.0),
            v["nodes_offline"].as_u64().unwrap_or(0),
        ));
        g.system_count += 1;
        return;
    }
    let Ok(head) = serde_json::from_slice::<StatusHead>(payload) else {
        return;
    };
    let mut g = heard.lock().unwrap_or_else(|p| p.into_inner());
    g.statuses += 1;
    if let Some(seq) = head.seq {
        match g.last_seq.get(&head.node_id).copied() {
            Some(prev) if seq > prev + 1 => g.lost += seq - prev - 1,
            Some(prev) if seq <= prev => g.reordered += 1,
            _ => {}
        }
        let e = g.last_seq.entry(head.node_id).or_insert(seq);
        *e = (*e).max(seq);
    }
}
