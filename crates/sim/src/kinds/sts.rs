//! `sts`: a static transfer switch over its `feeds`, in order of preference
//! (docs/physics.md). Thyristors instead of an ATS's contactors: it moves in
//! milliseconds and needs no generator, so it sends no start signal.
//!
//! - Preferred feed dead → transfer at once to the first live alternate.
//! - Preferred feed live again for `retransfer_delay_s` → retransfer; a preferred
//!   feed that fails again during the wait restarts it; an alternate that dies
//!   while the preferred is live → retransfer at once.
//! - Each move (transfer or retransfer) opens the output for `transfer_ms`. Below
//!   one step the loads see no interruption (a server's power supply rides through a
//!   few ms). From one step up, the output is dead from the step of the move until
//!   the first step at or after the move + `transfer_ms` — ceil(transfer_ms /
//!   step_ms) steps — like every timer (docs/physics.md).
//!
//! Status field `source`: the id of the feed in use.

use winter_river_protocol::Measurements;

use super::switching::FeedChoice;
use super::{Energize, Flow, Kind, Live, NON_NEGATIVE, Reliability, Setup, View, params};
use crate::simulator::TIME_EPS_S;

params! {
    /// Parameters of an `sts` node.
    pub struct Params {
        /// The output's break while it moves between feeds \[ms\].
        transfer_ms: "transfer_ms" = 4.0, NON_NEGATIVE;
        /// Preferred feed live again this long before the retransfer \[s\].
        retransfer_delay_s: "retransfer_delay_s" = 5.0, NON_NEGATIVE;
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Sts {
    retransfer_delay_s: f64,
    /// The break of a move \[s\]; 0 when it is shorter than a step.
    break_s: f64,
    choice: FeedChoice,
    /// The output is open, moving between feeds, until this time \[s\].
    open_until_s: Option<f64>,
}

impl Kind for Sts {
    type Params = Params;
    // Not in IEEE 493: an assumption, stated as such in docs/analysis.md — static
    // switches are quoted at some 10⁵ h and more; ≈ 0.018 failures/yr, 4 h.
    const RELIABILITY: Reliability = Reliability {
        mtbf_h: 500_000.0,
        mttr_h: 4.0,
        fail_to_start: None,
    };

    fn new(p: &Params, setup: &Setup<'_>) -> Sts {
        let break_s = p.transfer_ms / 1000.0;
        Sts {
            retransfer_delay_s: p.retransfer_delay_s,
            break_s: if break_s + TIME_EPS_S >= setup.step_s {
                break_s
            } else {
                0.0
            },
            choice: FeedChoice::default(),
            open_until_s: None,
        }
    }

    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        let t = cx.t;
        if cx.feeds.len() >= 2 {
            let move_to = if self.choice.selected != 0 {
                let preferred_live = cx.feed_live(0);
                self.choice
                    .while_on_alternate(cx, preferred_live, self.retransfer_delay_s)
            } else if !cx.feed_live(0) {
                FeedChoice::first_live_alternate(cx)
            } else {
                None
            };
            if let Some(k) = move_to {
                self.choice.switch_to(k, cx);
                if self.break_s > 0.0 {
                    self.open_until_s = Some(t + self.break_s);
                }
            }
        }
        if self
            .open_until_s
            .is_some_and(|until| t + TIME_EPS_S >= until)
        {
            self.open_until_s = None;
        }
        let input = self.choice.selected_live(cx);
        Live {
            input,
            output: cx.up && input && self.open_until_s.is_none(),
        }
    }

    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        self.choice.flow(cx)
    }

    fn measure(&self, v: &View<'_>, m: &mut Measurements) {
        self.choice.measure(v, m);
    }
}
