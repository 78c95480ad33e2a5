//! `ups`: a double-conversion UPS with a battery (docs/physics.md). Input live: it
//! converts with a loss and recharges at `recharge_kw`; beyond its rating it goes to
//! static bypass (no conversion, no battery); input dead: it carries its load from
//! the battery, state of charge falling by Peukert's law, until the battery is empty.

use winter_river_protocol::{EventKind, Measurements, NodeState, Severity};

use super::{
    Energize, FRACTION, Flow, Integrate, Kind, Live, NON_NEGATIVE, POSITIVE, Reliability, Rule,
    Said, Setup, StatusIn, View, params,
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
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Output dead.
    Off,
    Normal,
    OnBattery,
    Bypass,
}

#[derive(Debug)]
pub(crate) struct Ups {
    p: Params,
    /// State of charge, 0..=1.
    soc: f64,
    mode: Mode,
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
            mode: Mode::Off,
            draw_kw: 0.0,
            charge_kw: 0.0,
        }
    }

    /// Live from its input, or from a battery with charge left.
    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        let input = cx.feed_live(0);
        Live {
            input,
            output: cx.up && (input || self.soc > 0.0),
        }
    }

    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        let out = cx.out_kw();
        let mut in_kw = 0.0;
        self.draw_kw = 0.0;
        self.charge_kw = 0.0;
        self.mode = if !cx.live {
            Mode::Off
        } else if cx.in_live && out > self.p.rating_kw {
            in_kw = out;
            Mode::Bypass
        } else if cx.in_live {
            // Recharge, but not past full within this step.
            let step_h = cx.step_s / S_PER_H;
            let room_kwh = (1.0 - self.soc) * self.p.battery_kwh;
            self.charge_kw = self.p.recharge_kw.min(room_kwh / step_h).max(0.0);
            in_kw = conversion_input_kw(out, self.p.efficiency, self.p.no_load_loss_kw)
                + self.charge_kw;
            Mode::Normal
        } else {
            self.draw_kw = battery_draw_kw(out, self.p.efficiency, self.p.discharge_efficiency);
            cx.totals.battery_out_kw += out;
            Mode::OnBattery
        };
        if in_kw > 0.0 {
            cx.draw(0, in_kw);
        }
        in_kw
    }

    fn status(&self, s: &StatusIn) -> NodeState {
        match self.mode {
            _ if !s.live => NodeState::Unpowered,
            Mode::OnBattery => NodeState::OnBattery,
            Mode::Bypass => NodeState::Bypass,
            _ if s.breaker_over => NodeState::Overload,
            _ => NodeState::Ok,
        }
    }

    fn transition(&self, old: NodeState, new: NodeState, id: &str) -> Option<Said> {
        use NodeState as S;
        Some(match (old, new) {
            (_, S::OnBattery) => (
                EventKind::OnBattery,
                Severity::Warning,
                format!("{id} on battery"),
            ),
            (_, S::Bypass) => (
                EventKind::Bypass,
                Severity::Warning,
                format!("{id} on static bypass"),
            ),
            (S::OnBattery, S::Ok) => (
                EventKind::OnMains,
                Severity::Info,
                format!("{id} back on mains"),
            ),
            (S::Bypass, S::Ok) => (
                EventKind::Normal,
                Severity::Info,
                format!("{id} back to normal"),
            ),
            _ => return None,
        })
    }

    fn integrate(&mut self, cx: &mut Integrate<'_>) {
        let dt_h = cx.dt_s / S_PER_H;
        match self.mode {
            Mode::OnBattery => {
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
            Mode::Normal if self.p.battery_kwh > 0.0 => {
                self.soc = (self.soc + self.charge_kw * dt_h / self.p.battery_kwh).min(1.0);
            }
            _ => {}
        }
    }

    fn load_pct(&self, v: &View<'_>) -> Option<f64> {
        Some(v.out_kw / self.p.rating_kw * 100.0)
    }

    /// State of charge, and how long the battery would last (on battery: will last)
    /// at the present load; 0 when faulted or tripped, absent with no load.
    fn measure(&self, v: &View<'_>, m: &mut Measurements) {
        m.battery_pct = Some(self.soc * 100.0);
        m.runtime_s = if v.faulted || v.tripped {
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
