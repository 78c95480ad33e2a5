//! The board's own inputs as pure logic with the time passed in: a push-button
//! debouncer and the potentiometer's ADC reading → demand \[kW\]. The firmware only
//! samples the pins and feeds these; the results go to
//! [`crate::NodeCore::press_fault_button`] and [`crate::NodeCore::set_load_knob`].

/// How long a button level must hold before it counts \[ms\] (contact bounce of a
/// tactile switch settles within ~5–20 ms).
pub const DEFAULT_SETTLE_MS: u64 = 30;

/// Fraction of the ADC range ignored at each end: the ESP32's SAR ADC at 11 dB
/// saturates near both rails, so without it the knob could not reach 0 or full.
pub const KNOB_END_DEADZONE: f64 = 0.02;

/// A push button, debounced: a level counts once it has held for `settle_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debouncer {
    settle_ms: u64,
    /// The debounced level (`true` = pressed).
    stable: bool,
    /// The raw level last seen and since when \[ms\].
    raw: bool,
    raw_since_ms: u64,
}

impl Debouncer {
    /// A button read as `pressed` at `now_ms` (a button held at boot does not count
    /// as a press until released and pressed again).
    pub fn new(pressed: bool, settle_ms: u64, now_ms: u64) -> Debouncer {
        Debouncer {
            settle_ms,
            stable: pressed,
            raw: pressed,
            raw_since_ms: now_ms,
        }
    }

    /// Feeds a raw sample taken at `now_ms`; returns `true` once per press (the
    /// debounced level going from released to pressed).
    pub fn sample(&mut self, now_ms: u64, pressed: bool) -> bool {
        if pressed != self.raw {
            self.raw = pressed;
            self.raw_since_ms = now_ms;
        }
        let settled = now_ms.saturating_sub(self.raw_since_ms) >= self.settle_ms;
        if settled && self.raw != self.stable {
            self.stable = self.raw;
            return self.stable;
        }
        false
    }

    /// The debounced level.
    pub fn is_pressed(&self) -> bool {
        self.stable
    }
}

/// Maps an ADC reading (0..=`full_scale`, e.g. 4095 for 12 bits) to a demand in
/// 0..=`max_kw` \[kW\], linear between the end dead zones ([`KNOB_END_DEADZONE`]).
/// A reading above `full_scale` counts as full; a non-finite or negative `max_kw`
/// gives 0.
pub fn knob_kw(raw: u16, full_scale: u16, max_kw: f64) -> f64 {
    if full_scale == 0 || !max_kw.is_finite() || max_kw <= 0.0 {
        return 0.0;
    }
    let fraction = f64::from(raw.min(full_scale)) / f64::from(full_scale);
    let span = 1.0 - 2.0 * KNOB_END_DEADZONE;
    let scaled = ((fraction - KNOB_END_DEADZONE) / span).clamp(0.0, 1.0);
    scaled * max_kw
}
