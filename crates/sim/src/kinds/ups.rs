//! `ups`: a double-conversion UPS with a battery (docs/physics.md). Input live: it
//! converts with a loss and recharges at `recharge_kw`; beyond its rating it goes to
//! static bypass (no conversion, no battery); input dead: it carries its load from
//! the battery, state of charge falling by Peukert's law, until the battery is empty.
//!
//! Its mode selector (`ups_mode`, docs/operations.md): `normal`; `static_bypass`,
//! the load fed from the input through the static switch (no loss, no battery; it
//! goes back to inverter and battery at once if the input dies); and
//! `maintenance_bypass`, the load wired around the UPS to its input, so the module
//! can be faulted, opened or repaired without touching the load — and an input loss
//! drops the load at once. Interlocks: into maintenance bypass only from static
//! bypass with a live input; back to normal only from static bypass with the module
//! healthy; out of maintenance bypass to static bypass only with the module healthy.
//! With `bypass_on_fault`, an internal fault moves the load to static bypass instead
//! of dropping it.

use winter_river_protocol::{Command, EventKind, Measurements, Mode, NodeState, Severity};

use super::{
    Answer, CommandCx, Energize, FRACTION, Flow, Integrate, Kind, Live, NON_NEGATIVE, POSITIVE,
    Reliability, Rule, Said, Setup, StatusIn, View, already_in, mode_changed, mode_words, params,
};
use crate::physics::{
    S_PER_H, battery_draw_kw, battery_runtime_s, conversion_input_kw, peukert_soc_rate_per_h,
};

/// Peukert exponents of real batteries: 1 (ideal) to 2.
const PEUKERT: Rule = Rule {
    ok: |v| (1.0..=2.0).contains(&v),
    text: "must be in [1, 2]",
};

params! {
    /// Parameters of a `ups` node.
    pub struct Params {
        /// Output rating \[kW\].
        rating_kw: "rating_kw" = 500.0, POSITIVE;
        /// Conversion efficiency, (0, 1].
        efficiency: "efficiency" = 0.95, FRACTION;
        /// Loss whenever it converts \[kW\].
        no_load_loss_kw: "no_load_loss_kw" = 0.0, NON_NEGATIVE;
        /// Battery energy \[kWh\].
        battery_kwh: "battery_kwh" = 50.0, NON_NEGATIVE;
        /// Battery-to-output efficiency on battery, (0, 1].
        discharge_efficiency: "discharge_efficiency" = 1.0, FRACTION;
        /// Peukert exponent, [1, 2].
        peukert_k: "peukert_k" = 1.0, PEUKERT;
        /// Hours the battery is rated for \[h\].
        battery_rated_h: "battery_rated_h" = 1.0, POSITIVE;
        /// Battery charging \[kW\] (default 10 % of the rating).
        recharge_kw: "recharge_kw" = 0.1 * rating_kw, NON_NEGATIVE;
    }
    flags {
        /// An internal fault transfers the load to static bypass (input live)
        /// instead of dropping it.
        bypass_on_fault: "bypass_on_fault" = false;
    }
}

/// Where its output's power comes from at the latest step.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
enum Path {
    /// Output dead.
    Off,
    /// Rectifier and inverter: converted from the input.
    Inverter,
    /// From the battery.
    Battery,
    /// Static bypass because the load is above its rating.
    OverloadBypass,
    /// Static bypass by its mode selector.
    StaticBypass,
    /// Wired around it.
    MaintenanceBypass,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Ups {
    p: Params,
    /// State of charge, 0..=1.
    soc: f64,
    /// Its mode selector: normal, static bypass or maintenance bypass.
    mode: Mode,
    path: Path,
    /// The path at the step before (which bypass it left).
    prev_path: Path,
    /// An EPO opened the maintenance bypass: its load is dead until `close`.
    epo_open: bool,
    /// Battery discharge \[kW\].
    draw_kw: f64,
    /// Battery charging \[kW\].
    charge_kw: f64,
}

impl Kind for Ups {
    type Params = Params;
    const DYNAMIC: bool = true;
    // Static UPS module: ≈ 0.035 failures/yr (250,000 h), 8 h.
    const RELIABILITY: Reliability = Reliability {
        mtbf_h: 250_000.0,
        mttr_h: 8.0,
        fail_to_start: None,
    };

    fn new(p: &Params, _setup: &Setup<'_>) -> Ups {
        Ups {
            p: *p,
            soc: 1.0,
            mode: Mode::Normal,
            path: Path::Off,
            prev_path: Path::Off,
            epo_open: false,
            draw_kw: 0.0,
            charge_kw: 0.0,
        }
    }

    /// Live from its input, or from a battery with charge left; on a bypass, from
    /// its input alone.
    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        let input = cx.feed_live(0);
        if self.mode == Mode::StaticBypass && !input {
            // The static switch opens and the inverter takes the load from the battery.
            self.mode = Mode::Normal;
            let id = cx.id();
            let then = if cx.up && self.soc > 0.0 {
                "back to normal, on battery"
            } else {
                "back to normal, but the module cannot carry the load: load lost"
            };
            let said = (
                EventKind::Mode,
                Severity::Warning,
                format!("{id} lost its input on static bypass: {then}"),
            );
            cx.event(said, None);
        }
        if self.mode == Mode::Normal && cx.faulted && self.p.bypass_on_fault && input && cx.closed {
            self.mode = Mode::StaticBypass;
            let id = cx.id();
            let said = (
                EventKind::Mode,
                Severity::Warning,
                format!("{id} internal fault: load transferred to static bypass"),
            );
            cx.event(said, None);
        }
        let output = match self.mode {
            // Wired around the module: its fault, breaker or battery do not matter
            // (an EPO opens the bypass itself).
            Mode::MaintenanceBypass => input && !self.epo_open,
            // The static switch, not the rectifier or inverter, carries the load.
            Mode::StaticBypass => input && cx.closed,
            _ => cx.up && (input || self.soc > 0.0),
        };
        Live { input, output }
    }

    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        let out = cx.out_kw();
        let mut in_kw = 0.0;
        self.draw_kw = 0.0;
        self.charge_kw = 0.0;
        self.prev_path = self.path;
        self.path = if !cx.live {
            Path::Off
        } else if self.mode == Mode::MaintenanceBypass {
            in_kw = out;
            Path::MaintenanceBypass
        } else if self.mode == Mode::StaticBypass {
            in_kw = out;
            Path::StaticBypass
        } else if cx.in_live && out > self.p.rating_kw {
            in_kw = out;
            Path::OverloadBypass
        } else if cx.in_live {
            // Recharge, but not past full within this step.
            let step_h = cx.step_s / S_PER_H;
            let room_kwh = (1.0 - self.soc) * self.p.battery_kwh;
            self.charge_kw = self.p.recharge_kw.min(room_kwh / step_h).max(0.0);
            in_kw = conversion_input_kw(out, self.p.efficiency, self.p.no_load_loss_kw)
                + self.charge_kw;
            Path::Inverter
        } else {
            self.draw_kw = battery_draw_kw(out, self.p.efficiency, self.p.discharge_efficiency);
            if cx.carries() {
                cx.totals.battery_out_kw += out;
            }
            Path::Battery
        };
        cx.totals.battery_net_kw += self.draw_kw - self.charge_kw;
        if in_kw > 0.0 {
            cx.draw(0, in_kw);
        }
        in_kw
    }

    fn status(&self, s: &StatusIn) -> NodeState {
        match self.path {
            _ if !s.live => NodeState::Unpowered,
            Path::Battery => NodeState::OnBattery,
            Path::OverloadBypass | Path::StaticBypass => NodeState::Bypass,
            Path::MaintenanceBypass => NodeState::MaintenanceBypass,
            _ if s.breaker_over => NodeState::Overload,
            _ => NodeState::Ok,
        }
    }

    /// On maintenance bypass the EPO opens the bypass itself (the module is already
    /// out of the path), and `close` closes it again.
    fn intercept(&mut self, cmd: &Command, cx: &CommandCx<'_>) -> Option<Answer> {
        let id = cx.id();
        match cmd {
            Command::Epo if self.mode == Mode::MaintenanceBypass && !self.epo_open => {
                self.epo_open = true;
                let said = (
                    EventKind::Open,
                    Severity::Critical,
                    format!("{id} maintenance bypass opened by the emergency power off"),
                );
                Some(Ok(Some((said, None))))
            }
            Command::Close if self.epo_open => {
                self.epo_open = false;
                let said = (
                    EventKind::Close,
                    Severity::Info,
                    format!("{id} maintenance bypass closed after the emergency power off"),
                );
                Some(Ok(Some((said, None))))
            }
            _ => None,
        }
    }

    fn command(&mut self, cmd: &Command, cx: &CommandCx<'_>) -> Answer {
        let Command::UpsMode { mode } = *cmd else {
            return Ok(None);
        };
        let id = cx.id();
        let input_dead = !cx.in_live;
        match (self.mode, mode) {
            (now, to) if now == to => return Err(already_in(id, to)),
            (_, Mode::StaticBypass | Mode::MaintenanceBypass) if input_dead => {
                let now = if self.path == Path::Battery {
                    format!("{id} is on battery")
                } else {
                    format!("{id}'s input is dead")
                };
                return Err(format!(
                    "{now}: the {} needs a live input",
                    mode_words(mode)
                ));
            }
            (Mode::Normal, Mode::MaintenanceBypass) => {
                return Err(format!(
                    "{id} is in normal: transfer it to static bypass first (ups_mode static_bypass)"
                ));
            }
            (Mode::MaintenanceBypass, Mode::Normal) => {
                return Err(format!(
                    "{id} is on maintenance bypass: go to static bypass first (ups_mode static_bypass), then to normal"
                ));
            }
            (Mode::StaticBypass, Mode::Normal) | (Mode::MaintenanceBypass, Mode::StaticBypass) => {
                if let Some(why) = cx.unhealthy() {
                    return Err(format!(
                        "{why}: the module must be healthy to take the load"
                    ));
                }
            }
            _ => {}
        }
        self.mode = mode;
        // Whatever the EPO opened of the maintenance bypass is out of the path now.
        self.epo_open = false;
        Ok(Some((mode_changed(id, mode, "back to", ""), None)))
    }

    fn transition(&self, old: NodeState, new: NodeState, id: &str) -> Option<Said> {
        use NodeState as S;
        Some(match (old, new) {
            (_, S::OnBattery) => (
                EventKind::OnBattery,
                Severity::Warning,
                format!("{id} on battery"),
            ),
            // An operator's bypass is answered by its `mode` event; this is the
            // UPS's own move, on overload.
            (_, S::Bypass) if self.path == Path::OverloadBypass => (
                EventKind::Bypass,
                Severity::Warning,
                format!("{id} on static bypass (overload)"),
            ),
            (S::OnBattery, S::Ok) => (
                EventKind::OnMains,
                Severity::Info,
                format!("{id} back on mains"),
            ),
            (S::Bypass, S::Ok) if self.prev_path == Path::OverloadBypass => (
                EventKind::Normal,
                Severity::Info,
                format!("{id} back to normal"),
            ),
            _ => return None,
        })
    }

    fn integrate(&mut self, cx: &mut Integrate<'_>) {
        let dt_h = cx.dt_s / S_PER_H;
        match self.path {
            Path::Battery => {
                let rate = peukert_soc_rate_per_h(
                    self.draw_kw,
                    self.p.battery_kwh,
                    self.p.battery_rated_h,
                    self.p.peukert_k,
                );
                self.soc -= rate * dt_h;
                if self.soc <= 1e-12 {
                    self.soc = 0.0;
                    let message = format!("{} battery depleted", cx.id());
                    cx.event((EventKind::BatteryDepleted, Severity::Critical, message));
                }
            }
            Path::Inverter if self.p.battery_kwh > 0.0 => {
                self.soc = (self.soc + self.charge_kw * dt_h / self.p.battery_kwh).min(1.0);
            }
            _ => {}
        }
    }

    fn load_pct(&self, v: &View<'_>) -> Option<f64> {
        Some(v.out_kw / self.p.rating_kw * 100.0)
    }

    /// Its mode, state of charge, and how long the battery would last (on battery:
    /// will last) at the present load; 0 when faulted, open or on a bypass (no
    /// battery behind the load), absent with no load.
    fn measure(&self, v: &View<'_>, m: &mut Measurements) {
        m.mode = Some(self.mode);
        m.battery_pct = Some(self.soc * 100.0);
        m.runtime_s = if v.faulted || !v.breaker.is_closed() || self.mode != Mode::Normal {
            Some(0.0)
        } else {
            let draw = battery_draw_kw(v.out_kw, self.p.efficiency, self.p.discharge_efficiency);
            battery_runtime_s(
                self.soc,
                draw,
                self.p.battery_kwh,
                self.p.battery_rated_h,
                self.p.peukert_k,
            )
        };
    }

    fn battery_kw(&self) -> (f64, f64) {
        (self.draw_kw, self.charge_kw)
    }
}
