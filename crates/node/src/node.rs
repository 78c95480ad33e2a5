//! The node core: one board's state machine. Commands, link changes, the fault
//! button and the load knob come in through `handle_*` / `press_*` / `set_*` with
//! the time passed in; MQTT publishes leave through [`NodeCore::poll_transmit`].
//! It never reads a clock and does no I/O, so the fleet (tokio) and the firmware
//! (embassy) drive the same code, and tests drive it with simulated time.
//!
//! Call order for a driver: feed inputs as they happen; then call
//! [`NodeCore::poll_transmit`] until it returns `None`, publishing each
//! [`Transmit`]; sleep until [`NodeCore::poll_timeout`] (or the next input) and
//! repeat. Redraw the screen with [`NodeCore::draw`] whenever convenient.
//!
//! Decisions (docs/protocol.md, authority rules):
//! - Electrical values and the status word come from the engine's latest `update`,
//!   which replaces the previous one whole (a field it omits is absent). Before the
//!   first update the status carries no electrical field at all (no invented
//!   numbers) and the word `ok`: the vocabulary has no "unknown", the engine is the
//!   authority for the word anyway, `unpowered` would claim something nobody
//!   computed, and `offline` is engine-side only. The screen says "awaiting engine".
//! - The board's fault (button or `set_fault` command) overrides the word with
//!   `fault`. The button toggles what the board *shows*: pressing it on a board
//!   showing `fault` (its own or the engine's) sends `set_fault {state: false}`.
//! - `reset` changes nothing locally: as in the engine (`sim`), it clears a trip or
//!   an alarm, not a fault; the engine's next update shows the result. Like every
//!   operator command it is acknowledged with a status at once (the seed: "ESP32
//!   executes the command and publishes an updated status payload").
//! - The board acts on the engine's `update` and on the operator commands that
//!   apply to its kind (`Command::applies_to`: `set_load` on loads only; none but
//!   `update` on a room, which has no breaker, fault or load); it ignores the
//!   others, which the engine drops as bad input (`not_applicable`, counted in
//!   `rejected_msgs`). Its button and knob send only
//!   what applies too: a room's button does nothing.
//! - A status is due at once when the word changes or a measurement moves beyond
//!   the protocol's deadband, the one the engine uses for its updates, so a board
//!   reports every change it was sent; otherwise on the periodic grid.
//! - While the link is down nothing is published and statuses are not queued (a
//!   status is a snapshot: the latest is sent at once on reconnect). Button and knob
//!   commands are kept, the latest of each, and sent on reconnect after `online`;
//!   a board whose fault is on re-asserts it on every reconnect (it is the
//!   authority for its button; the engine may have restarted meanwhile).
//! - Whenever the engine comes online again (`<p>/system/availability` goes from
//!   `offline` to `online` while the board's link is up: the engine restarted,
//!   with or without its state file), the board re-asserts what it holds itself:
//!   its fault if on, and its knob's load if the knob set the demand it holds (not
//!   one an operator's `set_load` replaced since). A board that holds nothing
//!   asserts nothing. So engine and board agree again after a restart of either.

use alloc::string::String;
use alloc::vec::Vec;

use embedded_graphics::draw_target::DrawTarget;
use embedded_graphics::pixelcolor::BinaryColor;
use winter_river_protocol::{
    Availability, Channel, CodecError, Command, Measurements, NodeState, Qos, Status, Topic,
    UpdateParams, decode_availability, decode_command, encode_availability, encode_command_via,
    encode_status,
};

use crate::config::{ConfigError, NodeConfig};
use crate::frame::Frame;
use crate::screen::Screen;

/// The load knob must move by more than this \[kW\] …
///
/// This is not the protocol's [deadband](winter_river_protocol::deadband), which
/// decides when a *status* is due: this one filters the potentiometer's ADC noise
/// before a `set_load` is sent, and is wider because a reading jitters.
const KNOB_DEADBAND_KW: f64 = 0.1;
/// … or this fraction of the last value sent, whichever is larger.
const KNOB_DEADBAND_REL: f64 = 0.02;

/// One MQTT publish the driver must send (the protocol's [`Publish`](winter_river_protocol::Publish)).
pub type Transmit = winter_river_protocol::Publish;

/// What the last published status showed. A different word, or measurements that
/// moved beyond the protocol's deadband ([`Measurements::moved`]), make a status
/// due at once; `wifi_rssi`, `uptime` and `seq` ride the periodic ones.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    status: NodeState,
    measured: Measurements,
}

/// One board's state. See the module docs for the call order and decisions.
#[derive(Debug, Clone)]
pub struct NodeCore {
    config: NodeConfig,
    /// When the core was built [ms since boot]; uptime counts from here.
    start_ms: u64,
    /// Latest time seen in any call \[ms\].
    latest_ms: u64,
    status_topic: String,
    command_topic: String,
    availability_topic: String,
    engine_availability_topic: String,
    /// What the board last heard on `<p>/system/availability` since its link came
    /// up (`None`: nothing yet).
    engine_online: Option<bool>,
    /// The engine's latest `update`.
    update: Option<UpdateParams>,
    /// The board's own fault (button or `set_fault`).
    local_fault: bool,
    /// Demand last set for this load, by knob or `set_load` \[kW\].
    demand_kw: Option<f64>,
    /// Knob value last sent as `set_load` \[kW\].
    knob_sent_kw: Option<f64>,
    /// Wi-Fi signal \[dBm\].
    wifi_rssi: Option<i32>,
    link_up: bool,
    /// `online` to publish (set on every connect).
    announce_online: bool,
    /// Button / knob commands not yet handed out: the latest of each kind.
    pending: Vec<Command>,
    /// A status is due at once (connect, operator command, button).
    status_due: bool,
    /// Next periodic status \[ms\]: `start_ms + k · status_interval_ms`.
    next_periodic_ms: u64,
    /// What the last published status showed.
    last_shown: Option<Shown>,
    /// `seq` of the next published status.
    seq: u64,
    /// Statuses or commands that failed to encode (not expected: ids are checked).
    encode_failures: u32,
}

impl NodeCore {
    /// A board that booted its logic at `now_ms`, link down, no update yet.
    pub fn new(config: NodeConfig, now_ms: u64) -> Result<NodeCore, ConfigError> {
        config.validate()?;
        let id = &config.id;
        let prefix = &config.prefix;
        Ok(NodeCore {
            status_topic: Topic::NodeStatus(id.clone()).to_topic(prefix),
            command_topic: Topic::NodeCommand(id.clone()).to_topic(prefix),
            availability_topic: Topic::NodeAvailability(id.clone()).to_topic(prefix),
            engine_availability_topic: Topic::SystemAvailability.to_topic(prefix),
            engine_online: None,
            config,
            start_ms: now_ms,
            latest_ms: now_ms,
            update: None,
            local_fault: false,
            demand_kw: None,
            knob_sent_kw: None,
            wifi_rssi: None,
            link_up: false,
            announce_online: false,
            pending: Vec::new(),
            status_due: false,
            next_periodic_ms: now_ms,
            last_shown: None,
            seq: 0,
            encode_failures: 0,
        })
    }

    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// `<p>/<id>/command`: subscribe to it; button and knob commands go there too.
    pub fn command_topic(&self) -> &str {
        &self.command_topic
    }

    /// `<p>/system/availability`, the engine's `online` / `offline`: subscribe to
    /// it too (QoS 1) and hand its payloads to [`NodeCore::handle_engine_availability`]
    /// (or every message to [`NodeCore::handle_message`]).
    pub fn engine_availability_topic(&self) -> &str {
        &self.engine_availability_topic
    }

    /// `<p>/<id>/status`.
    pub fn status_topic(&self) -> &str {
        &self.status_topic
    }

    /// `<p>/<id>/availability`.
    pub fn availability_topic(&self) -> &str {
        &self.availability_topic
    }

    // ------------------------------------------------------------ inputs

    /// A payload received on `<p>/<id>/command`. A bad payload is refused with the
    /// protocol's reason and changes nothing. A valid command that does not apply
    /// to this kind ([`Command::applies_to`], e.g. `set_load` on a PDU) is ignored
    /// and not acknowledged: the engine, which hears it too, drops it as bad input
    /// (`not_applicable`).
    pub fn handle_command(&mut self, now_ms: u64, payload: &[u8]) -> Result<(), CodecError> {
        self.observe(now_ms);
        let command = decode_command(payload)?;
        if !self.accepts(&command) {
            return Ok(());
        }
        match command {
            Command::Update(update) => self.update = Some(update),
            Command::SetFault { state } => {
                self.local_fault = state;
                self.status_due = true;
            }
            Command::SetLoad { kw } => {
                self.demand_kw = Some(kw);
                self.status_due = true;
            }
            Command::Reset => self.status_due = true,
            // Switching and modes are the engine's model: the board shows their
            // result (`mode`, `breaker`) when the engine's next update arrives.
            Command::Open
            | Command::Close
            | Command::Lockout { .. }
            | Command::UpsMode { .. }
            | Command::AtsMode { .. }
            | Command::Transfer { .. }
            | Command::AtsTest { .. }
            | Command::GenMode { .. }
            | Command::Epo => {}
        }
        Ok(())
    }

    /// A message on one of the board's subscriptions, by topic: its command topic or
    /// the engine's availability; any other topic is ignored.
    pub fn handle_message(
        &mut self,
        now_ms: u64,
        topic: &str,
        payload: &[u8],
    ) -> Result<(), CodecError> {
        if topic == self.command_topic {
            self.handle_command(now_ms, payload)
        } else if topic == self.engine_availability_topic {
            self.handle_engine_availability(now_ms, payload)
        } else {
            Ok(())
        }
    }

    /// A payload received on `<p>/system/availability`. When the engine comes
    /// online after the board heard it `offline`, the board re-asserts what it
    /// holds itself (see the module docs). The retained `online` heard right after
    /// a connect re-asserts nothing more: the connect itself re-asserted the fault.
    pub fn handle_engine_availability(
        &mut self,
        now_ms: u64,
        payload: &[u8],
    ) -> Result<(), CodecError> {
        self.observe(now_ms);
        let online = decode_availability(payload)? == Availability::Online;
        let before = self.engine_online.replace(online);
        if online && before == Some(false) {
            self.reassert();
        }
        Ok(())
    }

    /// Queues what the board holds itself: its fault if on, its knob's load if the
    /// knob set the demand it holds.
    fn reassert(&mut self) {
        if self.local_fault {
            self.queue(Command::SetFault { state: true });
        }
        if let Some(kw) = self.knob_sent_kw
            && self.demand_kw == Some(kw)
        {
            self.queue(Command::SetLoad { kw });
        }
    }

    /// The MQTT link came up (`true`, after ConnAck) or went down. On every
    /// connect `online`, pending commands and a status are due at once.
    pub fn handle_link(&mut self, now_ms: u64, connected: bool) {
        self.observe(now_ms);
        if connected == self.link_up {
            return;
        }
        self.link_up = connected;
        self.engine_online = None;
        if connected {
            self.announce_online = true;
            self.status_due = true;
            let fault_pending = self
                .pending
                .iter()
                .any(|c| matches!(c, Command::SetFault { .. }));
            if self.local_fault && !fault_pending {
                self.queue(Command::SetFault { state: true });
            }
        }
    }

    /// The board's fault button: toggles what the board shows. Queues `set_fault`
    /// on the board's own command topic (where the engine listens) and shows the
    /// new state at once; returns whether it did. Ignored on a board `set_fault`
    /// does not apply to (a room: it has no component to fail).
    pub fn press_fault_button(&mut self, now_ms: u64) -> bool {
        self.observe(now_ms);
        let state = !self.shows_fault();
        if !self.accepts(&Command::SetFault { state }) {
            return false;
        }
        self.local_fault = state;
        self.queue(Command::SetFault { state });
        self.status_due = true;
        true
    }

    /// A load's knob (the server board's potentiometer) read as demand \[kW\].
    /// Queues `set_load` when it moved beyond the knob's deadband since the last
    /// value sent (always for the first reading); returns whether it did. Ignored
    /// on boards `set_load` does not apply to and for a non-finite reading;
    /// negative → 0.
    pub fn set_load_knob(&mut self, now_ms: u64, kw: f64) -> bool {
        self.observe(now_ms);
        if !kw.is_finite() || !self.accepts(&Command::SetLoad { kw }) {
            return false;
        }
        let kw = kw.max(0.0);
        if let Some(sent) = self.knob_sent_kw {
            let band = (sent.abs() * KNOB_DEADBAND_REL).max(KNOB_DEADBAND_KW);
            if (kw - sent).abs() <= band {
                return false;
            }
        }
        self.knob_sent_kw = Some(kw);
        self.demand_kw = Some(kw);
        self.queue(Command::SetLoad { kw });
        true
    }

    /// The Wi-Fi signal \[dBm\], reported in the next status (not a change that
    /// makes one due: it moves all the time).
    pub fn set_wifi_rssi(&mut self, dbm: i32) {
        self.wifi_rssi = Some(dbm);
    }

    // ------------------------------------------------------------ outputs

    /// The next publish, if one is due at `now_ms`, in this order: `online` after a
    /// connect, button/knob commands, the status (due at a connect, after an
    /// operator command or button press, when what it shows changed beyond the
    /// deadband, and every `status_interval_ms` on a fixed grid from
    /// [`NodeCore::new`]). `None` while the link is down.
    pub fn poll_transmit(&mut self, now_ms: u64) -> Option<Transmit> {
        self.observe(now_ms);
        if !self.link_up {
            return None;
        }
        if self.announce_online {
            self.announce_online = false;
            return Some(self.availability_online());
        }
        while !self.pending.is_empty() {
            let command = self.pending.remove(0);
            // Every command a board sends is its own button's or knob's.
            match encode_command_via(&command, Channel::Board) {
                Ok(payload) => {
                    return Some(Transmit {
                        topic: self.command_topic.clone(),
                        payload,
                        qos: Qos::AtLeastOnce,
                        retain: false,
                    });
                }
                Err(_) => self.encode_failures = self.encode_failures.saturating_add(1),
            }
        }
        let periodic = now_ms >= self.next_periodic_ms;
        if !(self.status_due || periodic || self.shown_changed()) {
            return None;
        }
        self.status_due = false;
        if periodic {
            self.advance_grid(now_ms);
        }
        let status = self.status(now_ms);
        self.last_shown = Some(Shown {
            status: status.status,
            measured: status.measured.clone(),
        });
        self.seq = self.seq.wrapping_add(1);
        match encode_status(&status) {
            Ok(payload) => Some(Transmit {
                topic: self.status_topic.clone(),
                payload,
                qos: Qos::AtMostOnce,
                retain: false,
            }),
            Err(_) => {
                self.encode_failures = self.encode_failures.saturating_add(1);
                None
            }
        }
    }

    /// When [`NodeCore::poll_transmit`] next has something \[ms\]: a time at or
    /// before the latest `now_ms` given means "now"; `u64::MAX` while the link is
    /// down (only an input can make something due then).
    pub fn poll_timeout(&self) -> u64 {
        if !self.link_up {
            return u64::MAX;
        }
        if self.announce_online
            || !self.pending.is_empty()
            || self.status_due
            || self.shown_changed()
        {
            return self.latest_ms;
        }
        self.next_periodic_ms
    }

    /// The status the board publishes at `now_ms`; `seq` is that of the next
    /// publish.
    pub fn status(&self, now_ms: u64) -> Status {
        let mut status = Status::new(self.config.id.clone(), self.status_word());
        status.kind = Some(self.config.kind);
        if let Some(u) = &self.update {
            status.set_measurements(u);
        }
        status.wifi_rssi = self.wifi_rssi;
        status.uptime = Some(self.uptime_s(now_ms));
        status.seq = Some(self.seq);
        status
    }

    /// The retained `online` on `<p>/<id>/availability`. [`NodeCore::poll_transmit`]
    /// hands it out on every connect; this is for drivers that need it apart.
    pub fn availability_online(&self) -> Transmit {
        self.availability(Availability::Online)
    }

    /// The retained `offline`: publish it before a clean disconnect.
    pub fn availability_offline(&self) -> Transmit {
        self.availability(Availability::Offline)
    }

    /// The Last Will to register at connect: retained `offline`, QoS 1.
    pub fn last_will(&self) -> Transmit {
        self.availability(Availability::Offline)
    }

    /// Draws the board's screen at `now_ms`.
    pub fn draw<D>(&self, now_ms: u64, target: &mut D) -> Result<(), D::Error>
    where
        D: DrawTarget<Color = BinaryColor>,
    {
        self.screen(&self.status(now_ms)).draw(target)
    }

    /// The screen at `now_ms` in a fresh [`Frame`].
    pub fn render(&self, now_ms: u64) -> Frame {
        self.screen(&self.status(now_ms)).render()
    }

    /// The screen view of `status` (from [`NodeCore::status`]) for this board.
    pub fn screen<'a>(&self, status: &'a Status) -> Screen<'a> {
        Screen {
            status,
            link_up: self.link_up,
            demand_kw: self.demand_kw,
        }
    }

    // ------------------------------------------------------------ state

    pub fn link_up(&self) -> bool {
        self.link_up
    }

    /// The board's own fault (button or `set_fault`).
    pub fn local_fault(&self) -> bool {
        self.local_fault
    }

    /// The engine's latest update, if any.
    pub fn last_update(&self) -> Option<&UpdateParams> {
        self.update.as_ref()
    }

    /// Demand last set by knob or `set_load` \[kW\].
    pub fn demand_kw(&self) -> Option<f64> {
        self.demand_kw
    }

    /// Board uptime at `now_ms` \[s\], counted from [`NodeCore::new`].
    pub fn uptime_s(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.start_ms) / 1000
    }

    /// Statuses or commands that could not be encoded (expected 0).
    pub fn encode_failures(&self) -> u32 {
        self.encode_failures
    }

    // ------------------------------------------------------------ helpers

    fn observe(&mut self, now_ms: u64) {
        self.latest_ms = self.latest_ms.max(now_ms);
    }

    /// The status word: the local fault, else the engine's word, else `ok`.
    fn status_word(&self) -> NodeState {
        if self.local_fault {
            return NodeState::Fault;
        }
        self.update
            .as_ref()
            .and_then(|u| u.status)
            .unwrap_or(NodeState::Ok)
    }

    /// Whether this board acts on `command`: the engine's `update`, and the
    /// operator commands that apply to its kind.
    fn accepts(&self, command: &Command) -> bool {
        matches!(command, Command::Update(_)) || command.applies_to(self.config.kind)
    }

    fn shows_fault(&self) -> bool {
        self.status_word() == NodeState::Fault
    }

    /// Replaces any pending command of the same kind, keeping the order of kinds.
    fn queue(&mut self, command: Command) {
        self.pending.retain(|c| c.name() != command.name());
        self.pending.push(command);
    }

    fn shown_changed(&self) -> bool {
        let Some(last) = &self.last_shown else {
            return true;
        };
        if last.status != self.status_word() {
            return true;
        }
        match &self.update {
            Some(u) => last.measured.moved(&u.measured),
            None => last.measured.moved(&Measurements::default()),
        }
    }

    /// Moves the periodic deadline to the first grid point after `now_ms`.
    fn advance_grid(&mut self, now_ms: u64) {
        let interval = self.config.status_interval_ms.max(1);
        let steps = now_ms.saturating_sub(self.start_ms) / interval + 1;
        self.next_periodic_ms = self.start_ms.saturating_add(steps.saturating_mul(interval));
    }

    fn availability(&self, availability: Availability) -> Transmit {
        Transmit {
            topic: self.availability_topic.clone(),
            payload: encode_availability(availability).to_vec(),
            qos: Qos::AtLeastOnce,
            retain: true,
        }
    }
}
