//! Shared by the web's benches: a synthetic site of `n` nodes as the web hears it
//! over MQTT — its topology, one round of board statuses (what each board sends
//! every 2 s: the engine's values echoed, plus its link fields) and one round of
//! the engine's `update`s (its refresh of every node). Payloads are built as JSON
//! text here, so the benches measure decoding and storing, not encoding.
#![allow(dead_code)]

use std::fmt::Write as _;

/// Topic prefix of the benches.
pub const PREFIX: &str = "wr";

/// One site: node ids and kinds in topology order, and its topology JSON.
pub struct Site {
    pub nodes: Vec<(String, &'static str)>,
    pub topology: Vec<u8>,
}

/// Kinds by position in a block of 10: one UPS feeding two PDUs feeding 7 racks.
const BLOCK: [&str; 10] = [
    "ups", "pdu", "pdu", "server", "server", "server", "server", "server", "server", "server",
];

/// A utility feeding blocks of a UPS, two PDUs and seven racks: `n` nodes in all.
pub fn site(n: usize) -> Site {
    let mut nodes = vec![("util_a".to_string(), "utility")];
    let mut json = String::from(
        r#"{"site":"bench","nodes":[{"id":"util_a","kind":"utility","feeds":[],"params":{"voltage":13800.0}}"#,
    );
    // The block's UPS and its two PDUs, once placed (a block places them first).
    let (mut ups, mut pdus) = (String::new(), [String::new(), String::new()]);
    for i in 1..n {
        let kind = BLOCK[(i - 1) % BLOCK.len()];
        let id = format!("{}_{i:05}", kind);
        let feeds = match kind {
            "ups" => "\"util_a\"".to_string(),
            "pdu" => format!("\"{ups}\""),
            _ => format!("\"{}\",\"{}\"", pdus[0], pdus[1]),
        };
        match kind {
            "ups" => ups.clone_from(&id),
            "pdu" => {
                pdus.swap(0, 1);
                pdus[1].clone_from(&id);
            }
            _ => {}
        }
        write!(
            json,
            r#",{{"id":"{id}","kind":"{kind}","feeds":[{feeds}],"params":{{"rating_kva":100.0}}}}"#
        )
        .unwrap();
        nodes.push((id, kind));
    }
    json.push_str("]}");
    Site {
        nodes,
        topology: json.into_bytes(),
    }
}

/// The measured values of node `i` in a round; `power_kw` moves with `wiggle`.
fn values(kind: &str, i: usize, wiggle: f64) -> String {
    let kw = 5.0 + (i % 7) as f64 + wiggle;
    let mut v = format!(
        r#""voltage_in":480.0,"voltage_out":208.0,"current":{:.2},"power_kw":{kw:.3},"load_pct":{:.1}"#,
        kw * 2.4,
        kw * 1.7
    );
    if kind == "ups" {
        v.push_str(r#","battery_pct":100.0,"runtime_s":1800.0"#);
    }
    v
}

/// Round `round` of board statuses: uptime and sequence move on (2 s a round),
/// values as the engine last sent them (`wiggle` 0: unchanged).
pub fn statuses(site: &Site, round: u64, wiggle: f64) -> Vec<(String, Vec<u8>)> {
    site.nodes
        .iter()
        .enumerate()
        .map(|(i, (id, kind))| {
            let topic = format!("{PREFIX}/{id}/status");
            let payload = format!(
                r#"{{"node_id":"{id}","kind":"{kind}",{},"status":"ok","wifi_rssi":-{},"uptime":{},"seq":{}}}"#,
                values(kind, i, wiggle),
                50 + i % 30,
                100 + 2 * round,
                50 + round
            );
            (topic, payload.into_bytes())
        })
        .collect()
}

/// One round of the engine's `update`s, one per node.
pub fn updates(site: &Site, wiggle: f64) -> Vec<(String, Vec<u8>)> {
    site.nodes
        .iter()
        .enumerate()
        .map(|(i, (id, kind))| {
            let topic = format!("{PREFIX}/{id}/command");
            let payload = format!(
                r#"{{"command":"update","params":{{"status":"ok",{}}}}}"#,
                values(kind, i, wiggle)
            );
            (topic, payload.into_bytes())
        })
        .collect()
}

/// A system status for the site.
pub fn system_status(n: usize) -> Vec<u8> {
    format!(
        r#"{{"node_id":"system","it_kw":{n}.0,"facility_kw":{}.0,"pue":1.2,"it_kw_lost":0.0,"it_kwh_unserved":0.0,"source":"utility","runtime_s":1800.0,"nodes_ok":{n},"rejected_msgs":0,"sim_time_s":60.0}}"#,
        n + n / 5
    )
    .into_bytes()
}
