//! Whether a drill fits the site that runs: the same node ids with the same kinds
//! (docs/drills.md). Parameters may differ (a drill's overrides).

use winter_river_sim::Topology;

/// How a drill's site differs from the running one, in node ids and kinds (at most
/// a few named); `None` when they are the same.
pub fn site_mismatch(running: &Topology, drill: &Topology) -> Option<String> {
    const NAMED: usize = 4;
    let mut differences = Vec::new();
    for node in &drill.nodes {
        match running.node_index(&node.id) {
            None => differences.push(format!(
                "node {} ({}) is not in the running site",
                node.id,
                node.kind()
            )),
            Some(i) if running.node(i).kind() != node.kind() => differences.push(format!(
                "node {} is a {} in the drill but a {} here",
                node.id,
                node.kind(),
                running.node(i).kind()
            )),
            Some(_) => {}
        }
    }
    for node in &running.nodes {
        if drill.node_index(&node.id).is_none() {
            differences.push(format!(
                "the running site's node {} ({}) is not in the drill",
                node.id,
                node.kind()
            ));
        }
    }
    if differences.is_empty() {
        return None;
    }
    let more = differences.len().saturating_sub(NAMED);
    differences.truncate(NAMED);
    let mut text = differences.join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    Some(text)
}
