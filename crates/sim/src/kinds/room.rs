//! `room` (docs/topology.md, docs/physics.md "Rooms and cooling"): a thermal zone of
//! two lumped nodes — the air and the solid mass (racks, floor, walls) — coupled by
//! `ua_kw_per_k`. It has no feeds and carries no power: the simulator's thermal
//! pass (`crate::thermal`) sums the heat of the nodes that name it and the capacity
//! of its running cooling units, and the room steps its temperatures here, exactly
//! (not by Euler): over a step the net heat is constant, so the mean temperature
//! moves linearly and the air–solid difference relaxes exponentially. The cooling
//! removes what holds `setpoint_c` at the end of the step, within its capacity.

use winter_river_protocol::{AshraeClass, Band, EventKind, Measurements, NodeState, Severity};

use super::{Energize, Kind, Live, POSITIVE, Reliability, Rule, Said, Setup, View};
use crate::topology::{ParamReader, TopologyError};

/// Density of air \[kg/m³\] × its specific heat \[kJ/(kg·K)\] (docs/physics.md).
pub const AIR_KJ_PER_M3_K: f64 = 1.2 * 1.005;

/// A temperature written in a file \[°C\].
pub(crate) const TEMPERATURE: Rule = Rule {
    ok: |v| (-50.0..=100.0).contains(&v),
    text: "must be between -50 and 100 °C",
};

/// Parameters of a `room` node.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Params {
    /// Air volume \[m³\].
    pub air_m3: f64,
    /// Heat capacity of the solid mass \[kJ/K\].
    pub solid_kj_per_k: f64,
    /// Air–solid heat transfer \[kW/K\].
    pub ua_kw_per_k: f64,
    /// Air and solid at t = 0 \[°C\].
    pub initial_c: f64,
    /// What the cooling holds the air at \[°C\].
    pub setpoint_c: f64,
    /// ASHRAE class: the limits of the temperature events.
    pub class: AshraeClass,
}

impl Params {
    /// Heat capacity of the air \[kJ/K\].
    pub fn air_kj_per_k(&self) -> f64 {
        self.air_m3 * AIR_KJ_PER_M3_K
    }
}

impl super::ParamTable for Params {
    fn read(r: &mut ParamReader) -> Result<Params, TopologyError> {
        Ok(Params {
            air_m3: r.num("air_m3", 1000.0, POSITIVE)?,
            solid_kj_per_k: r.num("solid_kj_per_k", 6000.0, POSITIVE)?,
            ua_kw_per_k: r.num("ua_kw_per_k", 20.0, POSITIVE)?,
            initial_c: r.num("initial_c", 22.0, TEMPERATURE)?,
            setpoint_c: r.num("setpoint_c", 22.0, TEMPERATURE)?,
            class: r.word("class", AshraeClass::A1, AshraeClass::parse, &class_words())?,
        })
    }

    fn named(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("air_m3", self.air_m3),
            ("solid_kj_per_k", self.solid_kj_per_k),
            ("ua_kw_per_k", self.ua_kw_per_k),
            ("initial_c", self.initial_c),
            ("setpoint_c", self.setpoint_c),
        ]
    }
}

impl super::KindParams {
    /// A room's ASHRAE class; `None` for other kinds.
    pub fn class(&self) -> Option<AshraeClass> {
        self.room().map(|p| p.class)
    }

    /// A room's parameters; `None` for other kinds.
    pub fn room(&self) -> Option<&Params> {
        match self {
            super::KindParams::Room(p) => Some(p),
            _ => None,
        }
    }
}

fn class_words() -> String {
    let words: Vec<&str> = AshraeClass::ALL.iter().map(|c| c.as_str()).collect();
    words.join(", ")
}

/// A room's temperatures and what crossed its boundary.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Room {
    p: Params,
    /// Air temperature \[°C\].
    pub air_c: f64,
    /// Solid temperature \[°C\].
    pub solid_c: f64,
    /// Heat in over the latest step \[kW\].
    pub heat_kw: f64,
    /// Heat removed by the cooling over the latest step \[kW\].
    pub cool_kw: f64,
    /// Heat in since t = 0 \[kJ\].
    pub heat_in_kj: f64,
    /// Heat removed since t = 0 \[kJ\].
    pub heat_removed_kj: f64,
    band: Band,
}

/// Where one exact step leads: `T_a' = free_c − per_kw · Q` for a cooling that
/// removes `Q` kW over the step.
struct Step {
    /// Air at the end of the step without cooling \[°C\].
    free_c: f64,
    /// How much one kW removed over the step lowers the air at its end \[K/kW\].
    per_kw: f64,
}

impl Room {
    /// Heat capacities \[kJ/K\]: (air, solid).
    fn capacities(&self) -> (f64, f64) {
        (self.p.air_kj_per_k(), self.p.solid_kj_per_k)
    }

    /// `1/τ` \[1/s\]: how fast air and solid approach each other.
    fn rate_per_s(&self) -> f64 {
        let (c_a, c_s) = self.capacities();
        self.p.ua_kw_per_k * (1.0 / c_a + 1.0 / c_s)
    }

    /// The step's response to heat `heat_kw` over `dt_s`, affine in the cooling.
    fn response(&self, heat_kw: f64, dt_s: f64) -> Step {
        let (c_a, c_s) = self.capacities();
        let c = c_a + c_s;
        let rate = self.rate_per_s();
        let decay = (-rate * dt_s).exp();
        // 1 − e^(−λ dt), accurate for a short step.
        let relaxed = -(-rate * dt_s).exp_m1();
        let mean = (c_a * self.air_c + c_s * self.solid_c) / c;
        let diff = self.air_c - self.solid_c;
        let per_kw = dt_s / c + c_s / c * relaxed / (c_a * rate);
        Step {
            free_c: mean + c_s / c * diff * decay + heat_kw * per_kw,
            per_kw,
        }
    }

    /// Steps the room over `dt_s` with `heat_kw` in and up to `capacity_kw` of
    /// running cooling; returns the heat the cooling removes \[kW\]: what holds
    /// `setpoint_c` at the end of the step, within 0 … `capacity_kw`.
    pub fn step(&mut self, heat_kw: f64, capacity_kw: f64, dt_s: f64) -> f64 {
        let step = self.response(heat_kw, dt_s);
        let cool_kw = ((step.free_c - self.p.setpoint_c) / step.per_kw).clamp(0.0, capacity_kw);
        let net_kw = heat_kw - cool_kw;
        let (c_a, c_s) = self.capacities();
        let c = c_a + c_s;
        let rate = self.rate_per_s();
        let mean = (c_a * self.air_c + c_s * self.solid_c) / c + net_kw * dt_s / c;
        let settled = net_kw / (c_a * rate);
        let diff = settled + (self.air_c - self.solid_c - settled) * (-rate * dt_s).exp();
        self.air_c = mean + c_s / c * diff;
        self.solid_c = mean - c_a / c * diff;
        self.heat_kw = heat_kw;
        self.cool_kw = cool_kw;
        self.heat_in_kj += heat_kw * dt_s;
        self.heat_removed_kj += cool_kw * dt_s;
        cool_kw
    }

    /// Heat stored since t = 0 \[kJ\]: `C_a ΔT_a + C_s ΔT_s`.
    pub fn stored_kj(&self) -> f64 {
        let (c_a, c_s) = self.capacities();
        c_a * (self.air_c - self.p.initial_c) + c_s * (self.solid_c - self.p.initial_c)
    }

    /// The event for the air's band at the end of a step, if it changed.
    pub fn band_event(&mut self, id: &str) -> Option<Said> {
        let band = self.p.class.band(self.air_c);
        if band == self.band {
            return None;
        }
        let was = std::mem::replace(&mut self.band, band);
        let class = self.p.class.spec();
        let air = self.air_c;
        let word = class.word;
        Some(match band {
            Band::Critical => (
                EventKind::TemperatureCritical,
                Severity::Critical,
                format!(
                    "{id} air {air:.1} °C is above the {word} allowable {:.0} °C",
                    class.allowable_max_c
                ),
            ),
            Band::High if was == Band::Critical => (
                EventKind::TemperatureHigh,
                Severity::Warning,
                format!(
                    "{id} air {air:.1} °C is back below the {word} allowable {:.0} °C, still above the recommended {:.0} °C",
                    class.allowable_max_c, class.recommended_max_c
                ),
            ),
            Band::High => (
                EventKind::TemperatureHigh,
                Severity::Warning,
                format!(
                    "{id} air {air:.1} °C is above the recommended {:.0} °C",
                    class.recommended_max_c
                ),
            ),
            Band::Normal => (
                EventKind::TemperatureNormal,
                Severity::Info,
                format!(
                    "{id} air {air:.1} °C is back within the recommended {:.0} °C",
                    class.recommended_max_c
                ),
            ),
        })
    }
}

impl Kind for Room {
    type Params = Params;
    const RELIABILITY: Reliability = Reliability::NEVER_FAILS;

    fn new(p: &Params, _setup: &Setup<'_>) -> Room {
        Room {
            p: *p,
            air_c: p.initial_c,
            solid_c: p.initial_c,
            heat_kw: 0.0,
            cool_kw: 0.0,
            heat_in_kj: 0.0,
            heat_removed_kj: 0.0,
            band: p.class.band(p.initial_c),
        }
    }

    /// Not electrical: no input, no output.
    fn energize(&mut self, _cx: &mut Energize<'_>) -> Live {
        Live {
            input: false,
            output: false,
        }
    }

    fn status(&self, _s: &super::StatusIn) -> NodeState {
        NodeState::Ok
    }

    fn voltage_in_v(&self, _v: &View<'_>) -> f64 {
        0.0
    }

    fn measure(&self, _v: &View<'_>, m: &mut Measurements) {
        m.temperature_c = Some(self.air_c);
        m.solid_c = Some(self.solid_c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(air_kj_per_k: f64, solid_kj_per_k: f64, ua_kw_per_k: f64) -> Room {
        let p = Params {
            air_m3: air_kj_per_k / AIR_KJ_PER_M3_K,
            solid_kj_per_k,
            ua_kw_per_k,
            initial_c: 22.0,
            setpoint_c: 22.0,
            class: AshraeClass::A1,
        };
        Room {
            p,
            air_c: 22.0,
            solid_c: 22.0,
            heat_kw: 0.0,
            cool_kw: 0.0,
            heat_in_kj: 0.0,
            heat_removed_kj: 0.0,
            band: Band::Normal,
        }
    }

    /// DESIGN's reference, by hand: τ = 1 / (10 · (1/600 + 1/2400)) = 48 s;
    /// T(60) = 22 + 100·60/3000 + 0.8 · (100/600) · 48 · (1 − e^(−1.25)) = 28.566 °C.
    #[test]
    fn the_closed_form_without_cooling_in_one_step_and_in_many() {
        let mut one = room(600.0, 2400.0, 10.0);
        assert!((1.0 / one.rate_per_s() - 48.0).abs() < 1e-12);
        one.step(100.0, 0.0, 60.0);
        let by_hand = 22.0 + 2.0 + 0.8 * (100.0 / 600.0) * 48.0 * (1.0 - (-1.25f64).exp());
        assert!((one.air_c - by_hand).abs() < 1e-9, "{}", one.air_c);
        assert!((one.air_c - 28.566).abs() < 5e-4);
        let mut many = room(600.0, 2400.0, 10.0);
        for _ in 0..600 {
            many.step(100.0, 0.0, 0.1);
        }
        assert!((many.air_c - by_hand).abs() < 1e-9, "{}", many.air_c);
    }

    #[test]
    fn cooling_holds_the_setpoint_when_it_can_and_removes_all_it_has_when_not() {
        let mut r = room(1206.0, 6000.0, 20.0);
        for _ in 0..100 {
            let q = r.step(80.0, 100.0, 0.1);
            assert!((q - 80.0).abs() < 1e-9, "{q}");
            assert!((r.air_c - 22.0).abs() < 1e-9);
        }
        let q = r.step(80.0, 50.0, 0.1);
        assert_eq!(q, 50.0);
        assert!(r.air_c > 22.0);
        // Below the setpoint the cooling removes nothing.
        let mut cold = room(1206.0, 6000.0, 20.0);
        cold.air_c = 18.0;
        cold.solid_c = 18.0;
        assert_eq!(cold.step(10.0, 100.0, 0.1), 0.0);
    }
}
