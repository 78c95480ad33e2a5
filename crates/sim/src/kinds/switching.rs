//! What the switches (switchgear's ATS, the STS) share: which of their feeds they
//! use, when to go back to the preferred one, and the `transfer` / `retransfer`
//! events (docs/physics.md).

use winter_river_protocol::{EventKind, Measurements, Severity};

use super::{Energize, Flow, View};
use crate::simulator::TIME_EPS_S;

/// The feed a switch uses, and since when its preferred feed is live again.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct FeedChoice {
    /// Index into the switch's feeds: 0 = preferred.
    pub selected: usize,
    /// When the preferred feed was first seen live while on an alternate \[s\].
    preferred_live_since_s: Option<f64>,
}

impl FeedChoice {
    /// The first live alternate feed, if any.
    pub fn first_live_alternate(cx: &Energize<'_>) -> Option<usize> {
        (1..cx.feeds.len()).find(|&k| cx.feed_live(k))
    }

    /// On an alternate: the feed to move to, if any. Back to the preferred once it
    /// has been live (`preferred_live`) for `retransfer_delay_s` (a failure during
    /// the wait restarts it), or at once if the alternate dies while the preferred
    /// is live; to another live alternate if both the preferred and this one are
    /// dead.
    pub fn while_on_alternate(
        &mut self,
        cx: &Energize<'_>,
        preferred_live: bool,
        retransfer_delay_s: f64,
    ) -> Option<usize> {
        let alternate_live = cx.feed_live(self.selected);
        if preferred_live {
            let since = *self.preferred_live_since_s.get_or_insert(cx.t);
            (!alternate_live || cx.t + TIME_EPS_S >= since + retransfer_delay_s).then_some(0)
        } else {
            self.preferred_live_since_s = None;
            if alternate_live {
                None
            } else {
                FeedChoice::first_live_alternate(cx)
            }
        }
    }

    /// Moves to feed `k` without an event (an operator's transfer, whose command
    /// raises its own).
    pub fn move_to(&mut self, k: usize) {
        self.selected = k;
        self.preferred_live_since_s = None;
    }

    /// Moves to feed `k` and raises `transfer` (to an alternate) or `retransfer`
    /// (back to the preferred), with the feed now in use.
    pub fn switch_to(&mut self, k: usize, cx: &mut Energize<'_>) {
        let from = self.selected;
        self.move_to(k);
        let (id, from_id, to_id) = (cx.id(), cx.feed_id(from), cx.feed_id(k));
        let said = if k == 0 {
            (
                EventKind::Retransfer,
                Severity::Info,
                format!("{id} retransferred from {from_id} to {to_id}"),
            )
        } else {
            (
                EventKind::Transfer,
                Severity::Warning,
                format!("{id} transferred from {from_id} to {to_id}"),
            )
        };
        let to = to_id.to_string();
        cx.event(said, Some(to));
    }

    /// Whether the feed in use is live.
    pub fn selected_live(&self, cx: &Energize<'_>) -> bool {
        cx.feed_live(self.selected)
    }

    /// Passes the output's power to the feed in use.
    pub fn flow(&self, cx: &mut Flow<'_>) -> f64 {
        if !cx.live {
            return 0.0;
        }
        let kw = cx.out_kw();
        cx.draw(self.selected, kw);
        kw
    }

    /// Status field `source`: the id of the feed in use.
    pub fn measure(&self, v: &View<'_>, m: &mut Measurements) {
        m.source = Some(v.feed_id(self.selected).to_string());
    }
}
