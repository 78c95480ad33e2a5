//! `switchgear`: the main switchboard with its automatic transfer switch over its
//! `feeds`, in order of preference (docs/physics.md). Preferred feed dead for
//! `start_delay_s` → start signal to the generator(s) behind the alternates;
//! transfer when an alternate is live; preferred live again for
//! `retransfer_delay_s` → retransfer, then stop signal. A preferred feed back before
//! any transfer calls the generators off.
//!
//! Its mode (`ats_mode`, docs/operations.md): `auto` as above; `manual`: no
//! automatic transfer, retransfer or start signal — `transfer {to}` moves it by hand
//! to a live feed of its own, an open transition (its loads see one step without
//! power); `bypass`: the load is held on the feed in use by the bypass switch, no
//! transfer happens, and a fault of the switchgear no longer drops the load.
//! `ats_test` (auto only) makes it act as if its preferred feed were dead — start
//! signal, transfer — until the test ends; then it retransfers on its normal timers.

use winter_river_protocol::{Command, EventKind, Measurements, Mode, Role, Severity};

use super::switching::FeedChoice;
use super::{
    Answer, CommandCx, Energize, Flow, Kind, Live, NON_NEGATIVE, Reliability, Setup, Signal, View,
    already_in, mode_changed, mode_words, params, traits,
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

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Switchgear {
    p: Params,
    choice: FeedChoice,
    /// When the preferred feed was first seen dead while on it \[s\].
    preferred_dead_since_s: Option<f64>,
    start_sent: bool,
    /// Nodes its start signal reaches: the generators behind its alternates.
    generators: Vec<usize>,
    /// Its ATS mode: auto, manual or bypass.
    mode: Mode,
    /// A transfer test is running (auto only).
    testing: bool,
    /// After a transfer by hand, the output is open until this time \[s\].
    open_until_s: Option<f64>,
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
            mode: Mode::Auto,
            testing: false,
            open_until_s: None,
        }
    }

    /// Decides which feed it uses and signals its generators (in auto).
    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        if cx.feeds.len() >= 2 && self.mode == Mode::Auto {
            self.run_ats(cx);
        }
        if self
            .open_until_s
            .is_some_and(|until| cx.t + TIME_EPS_S >= until)
        {
            self.open_until_s = None;
        }
        let input = self.choice.selected_live(cx);
        // On bypass the bypass switch carries the load, whatever the ATS's state.
        let ready = if self.mode == Mode::Bypass {
            cx.closed
        } else {
            cx.up
        };
        Live {
            input,
            output: ready && input && self.open_until_s.is_none(),
        }
    }

    fn command(&mut self, cmd: &Command, cx: &CommandCx<'_>) -> Answer {
        let id = cx.id();
        let feeds = cx.feeds();
        let feed_list = || -> String {
            let ids: Vec<&str> = feeds.iter().map(|&f| cx.node_id(f)).collect();
            ids.join(", ")
        };
        let said = match cmd {
            Command::AtsMode { mode } => {
                let mode = *mode;
                if mode == self.mode {
                    return Err(already_in(id, mode));
                }
                if self.mode == Mode::Bypass && cx.faulted {
                    return Err(format!(
                        "{id} has a fault: the bypass switch must keep the load until it is restored"
                    ));
                }
                let ended = std::mem::take(&mut self.testing);
                self.mode = mode;
                // Its timers start afresh from what it sees in the new mode.
                self.preferred_dead_since_s = None;
                let test = if ended { " (transfer test ended)" } else { "" };
                mode_changed(id, mode, "back in", test)
            }
            Command::Transfer { to } => {
                if self.mode != Mode::Manual {
                    return Err(format!(
                        "{id} is in {}: a transfer by hand needs manual (ats_mode manual)",
                        mode_words(self.mode)
                    ));
                }
                let Some(k) = feeds.iter().position(|&f| cx.node_id(f) == to) else {
                    return Err(format!("{to} is not one of {id}'s feeds ({})", feed_list()));
                };
                if k == self.choice.selected {
                    return Err(format!("{id} is already on {to}"));
                }
                if !cx.live[feeds[k]] {
                    return Err(format!(
                        "{to} is dead: {id} can only transfer to a live feed"
                    ));
                }
                let from = cx.node_id(feeds[self.choice.selected]).to_string();
                self.choice.move_to(k);
                // An open transition: the loads see one step without power.
                self.open_until_s = Some(cx.t + cx.step_s);
                let said = (
                    EventKind::Transfer,
                    Severity::Warning,
                    format!("{id} transferred by hand from {from} to {to} (open transition)"),
                );
                return Ok(Some((said, Some(to.clone()))));
            }
            Command::AtsTest { state: true } => {
                if self.testing {
                    return Err(format!("{id} is already running a transfer test"));
                }
                if self.mode != Mode::Auto {
                    return Err(format!(
                        "{id} is in {}: the transfer test runs in auto (ats_mode auto)",
                        mode_words(self.mode)
                    ));
                }
                if feeds.len() < 2 {
                    return Err(format!("{id} has no alternate feed to transfer to"));
                }
                let preferred = cx.node_id(feeds[0]);
                if self.choice.selected != 0 || !cx.live[feeds[0]] {
                    return Err(format!(
                        "{id} is not on a live {preferred}: a transfer test starts from the preferred feed"
                    ));
                }
                self.testing = true;
                (
                    EventKind::Mode,
                    Severity::Warning,
                    format!("{id} transfer test started: acting as if {preferred} were dead"),
                )
            }
            Command::AtsTest { state: false } => {
                if !self.testing {
                    return Err(format!("{id} is not running a transfer test"));
                }
                self.testing = false;
                let preferred = cx.node_id(feeds[0]);
                let then = if self.choice.selected != 0 {
                    format!("back to {preferred} after {} s", self.p.retransfer_delay_s)
                } else {
                    format!("it had not transferred: still on {preferred}")
                };
                (
                    EventKind::Mode,
                    Severity::Info,
                    format!("{id} transfer test ended: {then}"),
                )
            }
            _ => return Ok(None),
        };
        Ok(Some((said, None)))
    }

    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        self.choice.flow(cx)
    }

    fn measure(&self, v: &View<'_>, m: &mut Measurements) {
        self.choice.measure(v, m);
        m.mode = Some(self.mode);
    }
}

impl Switchgear {
    fn run_ats(&mut self, cx: &mut Energize<'_>) {
        let t = cx.t;
        let mut transfer_to = None;
        let mut signal = None;
        if self.testing
            && self.choice.selected != 0
            && !cx.feed_live(self.choice.selected)
            && cx.feed_live(0)
        {
            // The alternate failed under test: the controller aborts the test and
            // goes back to the live preferred feed at once.
            self.testing = false;
            let said = (
                EventKind::Mode,
                Severity::Warning,
                format!(
                    "{} transfer test aborted: {} lost, back to {}",
                    cx.id(),
                    cx.feed_id(self.choice.selected),
                    cx.feed_id(0)
                ),
            );
            cx.event(said, None);
        }
        // A transfer test acts as if the preferred feed were dead.
        let preferred_live = cx.feed_live(0) && !self.testing;
        if self.choice.selected == 0 {
            if preferred_live {
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
            transfer_to =
                self.choice
                    .while_on_alternate(cx, preferred_live, self.p.retransfer_delay_s);
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
