//! Pure formulas of docs/physics.md, each with its units. The simulator composes these;
//! the reference tests check them against hand-worked values.

/// √3, for three-phase power.
pub const SQRT_3: f64 = 1.732_050_807_568_877_2;

/// Seconds per hour.
pub const S_PER_H: f64 = 3600.0;

/// Line current \[A\] drawn by `power_kw` at `voltage_v` (line-to-line for three-phase):
/// three-phase `I = P / (√3 · V · PF)`, single-phase `I = P / (V · PF)`.
/// Zero when the voltage or power factor is zero.
pub fn current_a(power_kw: f64, voltage_v: f64, power_factor: f64, phases: u8) -> f64 {
    let denom = voltage_v * power_factor * if phases == 3 { SQRT_3 } else { 1.0 };
    if denom <= 0.0 {
        0.0
    } else {
        power_kw * 1000.0 / denom
    }
}

/// Input power \[kW\] of a converter (transformer, UPS, PDU) delivering `out_kw`:
/// `P_in = P_out / efficiency + no_load_loss_kw`.
pub fn conversion_input_kw(out_kw: f64, efficiency: f64, no_load_loss_kw: f64) -> f64 {
    out_kw / efficiency + no_load_loss_kw
}

/// IEC 60255 standard-inverse operate time \[s\] at current multiple `m = I / I_pickup`
/// and time multiplier `tms`: `t = tms · 0.14 / (m^0.02 − 1)`. `None` when `m ≤ 1`
/// (the relay never operates).
pub fn iec_standard_inverse_s(m: f64, tms: f64) -> Option<f64> {
    if m <= 1.0 {
        return None;
    }
    Some(tms * 0.14 / (m.powf(0.02) - 1.0))
}

/// Power \[kW\] drawn from a UPS battery to deliver `out_kw` on battery:
/// `P_b = P_out / (efficiency · discharge_efficiency)`.
pub fn battery_draw_kw(out_kw: f64, efficiency: f64, discharge_efficiency: f64) -> f64 {
    out_kw / (efficiency * discharge_efficiency)
}

/// Rate at which state of charge falls [fraction per hour] when drawing `draw_kw`
/// from a battery of `battery_kwh` rated for `rated_h` hours, Peukert exponent `k`:
/// `(1/H) · (P_b / P_H)^k` with `P_H = battery_kwh / H`.
pub fn peukert_soc_rate_per_h(draw_kw: f64, battery_kwh: f64, rated_h: f64, k: f64) -> f64 {
    if draw_kw <= 0.0 {
        return 0.0;
    }
    if battery_kwh <= 0.0 {
        return f64::INFINITY;
    }
    let rated_kw = battery_kwh / rated_h;
    (draw_kw / rated_kw).powf(k) / rated_h
}

/// Time \[s\] until a battery at state of charge `soc` (0..=1) is empty at `draw_kw`.
/// `None` when nothing is drawn (it would last for ever).
pub fn battery_runtime_s(
    soc: f64,
    draw_kw: f64,
    battery_kwh: f64,
    rated_h: f64,
    k: f64,
) -> Option<f64> {
    let rate = peukert_soc_rate_per_h(draw_kw, battery_kwh, rated_h, k);
    if rate <= 0.0 {
        return None;
    }
    Some(if rate.is_finite() {
        soc / rate * S_PER_H
    } else {
        0.0
    })
}

/// Generator fuel burn [L/h], linear in load between idle and full:
/// `idle + (full − idle) · min(load_kw / rating_kw, 1)`.
pub fn generator_fuel_l_per_h(
    load_kw: f64,
    rating_kw: f64,
    idle_l_per_h: f64,
    full_l_per_h: f64,
) -> f64 {
    let fraction = (load_kw / rating_kw).clamp(0.0, 1.0);
    idle_l_per_h + (full_l_per_h - idle_l_per_h) * fraction
}
