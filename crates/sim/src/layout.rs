//! The topology flattened for stepping: what every step reads about every node, in
//! small arrays (feeds in one list, amps per kW, breaker pickup) rather
//! than the 200-byte `NodeSpec` with its own feed allocation. Large sites are bound
//! by memory traffic, not arithmetic (docs/benchmarks.md).

use crate::physics::current_a;
use crate::topology::Topology;

#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    /// Node indices with every node after all of its feeds (the topology's order).
    pub order: Vec<usize>,
    /// Node `i`'s feeds are `feed_list[feed_start[i]..feed_start[i + 1]]`.
    feed_start: Vec<u32>,
    feed_list: Vec<u32>,
    /// Input current per kW of input power [A/kW] (sources: at their output).
    pub amps_per_kw: Vec<f64>,
    /// Breaker pickup \[A\]; 0 = no breaker.
    pub breaker_a: Vec<f64>,
    /// Nodes that have a breaker.
    pub breaker_nodes: Vec<usize>,
}

impl Layout {
    pub fn new(topology: &Topology, nominal_in_v: &[f64], nominal_out_v: &[f64]) -> Layout {
        let n = topology.len();
        let mut feed_start = Vec::with_capacity(n + 1);
        let mut feed_list = Vec::new();
        let mut amps_per_kw = Vec::with_capacity(n);
        let mut breaker_a = Vec::with_capacity(n);
        let mut breaker_nodes = Vec::new();
        for (i, node) in topology.nodes.iter().enumerate() {
            feed_start.push(feed_list.len() as u32);
            feed_list.extend(node.feeds.iter().map(|&f| f as u32));
            let voltage_v = if node.kind().is_source() {
                nominal_out_v[i]
            } else {
                nominal_in_v[i]
            };
            amps_per_kw.push(current_a(1.0, voltage_v, node.power_factor, node.phases));
            breaker_a.push(node.breaker_a.unwrap_or(0.0));
            if node.breaker_a.is_some() {
                breaker_nodes.push(i);
            }
        }
        feed_start.push(feed_list.len() as u32);
        Layout {
            order: topology.order.clone(),
            feed_start,
            feed_list,
            amps_per_kw,
            breaker_a,
            breaker_nodes,
        }
    }

    /// Node `i`'s feeds, in order of preference.
    #[inline]
    pub fn feeds(&self, i: usize) -> &[u32] {
        &self.feed_list[self.feed_start[i] as usize..self.feed_start[i + 1] as usize]
    }
}
