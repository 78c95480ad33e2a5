//! Whatever the commands, every publish of the engine core decodes with its topic's
//! decoder and `system/status` keeps coming (issue 15, part 3): random sequences of
//! every operator command in the protocol's table, with the extreme values its
//! bounds allow (the largest `set_load`, faults, modes, opens, resets, EPO), plus
//! values just outside them, through the core over many ticks at speed 60.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use winter_river_engine_core::{EngineConfig, EngineCore, Outgoing};
use winter_river_protocol::{
    AppliesTo, COMMANDS, CommandSpec, ParamType, decode_availability, decode_command,
    decode_drill_status, decode_event, decode_system_status, decode_topology,
};
use winter_river_sim::Topology;

const P: &str = "winter-river";
const SITES: [(&str, &str); 2] = [
    ("2n.toml", include_str!("../../../topologies/2n.toml")),
    (
        "default.toml",
        include_str!("../../../topologies/default.toml"),
    ),
];

/// One operator message: which row of the command table, to which node (or the
/// site), and a seed for each parameter's value.
#[derive(Debug, Clone)]
struct Step {
    command: usize,
    node: usize,
    site_wide: bool,
    values: Vec<(u8, f64, bool)>,
    /// Ticks of 100 ms (6 simulated s each) after it.
    ticks: u8,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0..COMMANDS.len(),
        0usize..64,
        prop::bool::weighted(0.15),
        prop::collection::vec((0u8..8, 0.0f64..1.0, any::<bool>()), 2),
        0u8..10,
    )
        .prop_map(|(command, node, site_wide, values, ticks)| Step {
            command,
            node,
            site_wide,
            values,
            ticks,
        })
}

/// A number for a parameter of `min ..= max`: mostly the bounds and what lies
/// just inside or outside them (outside is refused, and must not break anything).
fn number(min: f64, max: f64, pick: u8, frac: f64) -> f64 {
    match pick {
        0 | 1 => max,
        2 => min,
        3 => max * (1.0 - 1e-12),
        4 => max * 10.0,
        5 => -max,
        6 => f64::MAX,
        _ => min + (max - min) * frac,
    }
}

/// The command's JSON, built from its row of the table.
fn payload(spec: &CommandSpec, step: &Step, node_ids: &[String]) -> Vec<u8> {
    let mut params = serde_json::Map::new();
    for (k, p) in spec.params.iter().enumerate() {
        let (pick, frac, flag) = step.values[k % step.values.len()];
        let value = match p.ty {
            ParamType::Bool => serde_json::json!(flag),
            ParamType::Number { min, max, .. } => serde_json::json!(number(min, max, pick, frac)),
            ParamType::Choice { choices } => {
                serde_json::json!(choices[pick as usize % choices.len()].as_str())
            }
            ParamType::NodeId => {
                serde_json::json!(node_ids[(pick as usize) % node_ids.len()])
            }
        };
        params.insert(p.name.into(), value);
    }
    serde_json::json!({ "command": spec.name, "params": params })
        .to_string()
        .into_bytes()
}

/// Every publish decodes with its topic's decoder.
fn check(out: &Outgoing) -> Result<(), TestCaseError> {
    let rest = out.topic.strip_prefix(&format!("{P}/")).unwrap();
    let p = &out.payload;
    let ok = match rest {
        "system/status" => decode_system_status(p).map(|_| ()),
        "system/events" => decode_event(p).map(|_| ()),
        "system/topology" => decode_topology(p).map(|_| ()),
        "system/availability" => decode_availability(p).map(|_| ()),
        "system/drill" => decode_drill_status(p).map(|_| ()),
        r if r.ends_with("/command") => decode_command(p).map(|_| ()),
        other => return Err(TestCaseError::fail(format!("unexpected topic {other}"))),
    };
    prop_assert!(
        ok.is_ok(),
        "{} does not decode: {:?}: {}",
        out.topic,
        ok,
        String::from_utf8_lossy(p)
    );
    Ok(())
}

fn drive(site: usize, steps: &[Step]) -> Result<(), TestCaseError> {
    let (file, toml) = SITES[site];
    let topology = Topology::from_toml_str(toml, file).unwrap();
    let node_ids: Vec<String> = topology.nodes.iter().map(|n| n.id.clone()).collect();
    let config = EngineConfig {
        speed: 60.0,
        ..EngineConfig::default()
    };
    let mut core = EngineCore::new(topology, config).unwrap();
    core.handle_connected(0);
    let mut now_ms = 0;
    let mut last_status_ms = 0;
    let mut handle = |core: &mut EngineCore, now_ms: u64| -> Result<(), TestCaseError> {
        while let Some(out) = core.poll_outgoing() {
            check(&out)?;
            if out.topic == format!("{P}/system/status") {
                last_status_ms = now_ms;
            }
        }
        // The period is 1 s: a tick every 100 ms publishes it at least that often.
        prop_assert!(
            now_ms - last_status_ms <= 1_000,
            "no system/status since {last_status_ms} ms (now {now_ms} ms)"
        );
        Ok(())
    };
    handle(&mut core, now_ms)?;
    for step in steps {
        let spec = &COMMANDS[step.command];
        if spec.applies_to == AppliesTo::EngineOnly {
            continue;
        }
        let target = if spec.applies_to == AppliesTo::Site || (spec.site_wide && step.site_wide) {
            "system".to_string()
        } else {
            node_ids[step.node % node_ids.len()].clone()
        };
        let body = payload(spec, step, &node_ids);
        core.handle_message(now_ms, &format!("{P}/{target}/command"), &body);
        handle(&mut core, now_ms)?;
        for _ in 0..=step.ticks {
            now_ms += 100;
            core.handle_tick(now_ms);
            handle(&mut core, now_ms)?;
        }
    }
    // And on: 30 simulated minutes after the last command.
    for _ in 0..300 {
        now_ms += 100;
        core.handle_tick(now_ms);
        handle(&mut core, now_ms)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn every_publish_decodes_and_system_status_keeps_coming(
        site in 0..SITES.len(),
        steps in prop::collection::vec(step(), 1..40),
    ) {
        drive(site, &steps)?;
    }
}

/// The case, fixed: the largest `set_load` on every load of the 2N site,
/// twice, and `system/status` goes on.
#[test]
fn the_largest_set_load_everywhere_keeps_system_status_coming() {
    let steps: Vec<Step> = (0..64)
        .map(|node| Step {
            command: COMMANDS.iter().position(|c| c.name == "set_load").unwrap(),
            node,
            site_wide: false,
            values: vec![(0, 0.0, false); 2],
            ticks: 0,
        })
        .collect();
    drive(0, &steps).unwrap();
    drive(0, &steps).unwrap();
}
