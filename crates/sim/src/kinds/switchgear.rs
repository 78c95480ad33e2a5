//! `switchgear`: the main switchboard with its automatic transfer switch over its
//! `feeds`, in order of preference (docs/physics.md). Preferred feed dead for
//! `start_delay_s` → start signal to the generator(s) behind the alternates;
//! transfer when an alternate is live; preferred live again for
//! `retransfer_delay_s` → retransfer, then stop signal. A preferred feed back before
//! any transfer calls the generators off.

use winter_river_protocol::{Measurements, Role};

use super::switching::FeedChoice;
use super::{
    Energize, Flow, Kind, Live, NON_NEGATIVE, Reliability, Setup, Signal, View, params, traits,
};
use crate::simulator::TIME_EPS_S;
use crate::topology::Topology;

params! {
    /// Parameters of a `switchgear` node.
    pub struct Params {
        /// Preferred feed dead this long before the generators are started \[s\].
        start_delay_s: "start_delay_s" = 3.0, NON_NEGATIVE;
        /// Preferred feed live again this long before the retransfer \[s\].
        retransfer_delay_s: "retransfer_delay_s" = 300.0, NON_NEGATIVE;
    }
}

#[derive(Debug)]
pub(crate) struct Switchgear {
    p: Params,
    choice: FeedChoice,
    /// When the preferred feed was first seen dead while on it \[s\].
    preferred_dead_since_s: Option<f64>,
    start_sent: bool,
    /// Nodes its start signal reaches: the generators behind its alternates.
    generators: Vec<usize>,
}

impl Kind for Switchgear {
    type Params = Params;
    // Switchgear with ATS (bus, breakers, transfer switch): ≈ 0.03 failures/yr, 8 h.
    const RELIABILITY: Reliability = Reliability {
        mtbf_h: 300_000.0,
        mttr_h: 8.0,
        fail_to_start: None,
    };

    fn new(p: &Params, setup: &Setup<'_>) -> Switchgear {
        let mut generators = Vec::new();
        for &alt in setup.spec().feeds.iter().skip(1) {
            collect_generators(setup.topology, alt, &mut generators);
        }
        Switchgear {
            p: *p,
            choice: FeedChoice::default(),
            preferred_dead_since_s: None,
            start_sent: false,
            generators,
        }
    }

    /// Decides which feed it uses and signals its generators.
    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        if cx.feeds.len() >= 2 {
            self.run_ats(cx);
        }
        let input = self.choice.selected_live(cx);
        Live {
            input,
            output: cx.up && input,
        }
    }

    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        self.choice.flow(cx)
    }

    fn measure(&self, v: &View<'_>, m: &mut Measurements) {
        self.choice.measure(v, m);
    }
}

impl Switchgear {
    fn run_ats(&mut self, cx: &mut Energize<'_>) {
        let t = cx.t;
        let mut transfer_to = None;
        let mut signal = None;
        if self.choice.selected == 0 {
            if cx.feed_live(0) {
                self.preferred_dead_since_s = None;
                if self.start_sent {
                    // Preferred came back before any transfer: call the generators off.
                    self.start_sent = false;
                    signal = Some(Signal::Stop);
                }
            } else {
                let since = *self.preferred_dead_since_s.get_or_insert(t);
                if t + TIME_EPS_S >= since + self.p.start_delay_s {
                    if !self.start_sent {
                        self.start_sent = true;
                        signal = Some(Signal::Start);
                    }
                    transfer_to = FeedChoice::first_live_alternate(cx);
                }
            }
        } else {
            transfer_to = self
                .choice
                .while_on_alternate(cx, self.p.retransfer_delay_s);
        }
        if let Some(k) = transfer_to {
            self.choice.switch_to(k, cx);
            self.preferred_dead_since_s = None;
            if k == 0 && self.start_sent {
                self.start_sent = false;
                signal = Some(Signal::Stop);
            }
        }
        if let Some(s) = signal {
            cx.signals.extend(self.generators.iter().map(|&g| (g, s)));
        }
    }
}

/// The nodes an ATS start signal reaches from feed `node`: walking up through
/// single-feed nodes (not through another switch) to one that takes start signals.
fn collect_generators(topology: &Topology, node: usize, out: &mut Vec<usize>) {
    let mut at = node;
    loop {
        let n = topology.node(at);
        if traits(n.kind()).starts_on_demand() {
            if !out.contains(&at) {
                out.push(at);
            }
            return;
        }
        if n.feeds.len() != 1 || n.kind().spec().role == Role::Switch {
            return;
        }
        at = n.feeds[0];
    }
}
