//! When a node's computed state has changed enough to send it an `update`.

use winter_river_protocol::UpdateParams;

/// Relative change that counts as a change.
const RELATIVE: f64 = 0.005;
/// Absolute change that counts as a change (in the field's unit).
const ABSOLUTE: f64 = 0.01;

fn moved(old: Option<f64>, new: Option<f64>) -> bool {
    match (old, new) {
        (Some(a), Some(b)) => (a - b).abs() > ABSOLUTE.max(RELATIVE * a.abs().max(b.abs())),
        (None, None) => false,
        _ => true,
    }
}

/// Whether `new` differs from the last sent `old` beyond the deadband: any change
/// of status word or source, or a number moving by more than 0.5 % (and 0.01).
pub(crate) fn changed(old: &UpdateParams, new: &UpdateParams) -> bool {
    old.status != new.status
        || old.source != new.source
        || moved(old.voltage_in, new.voltage_in)
        || moved(old.voltage_out, new.voltage_out)
        || moved(old.current, new.current)
        || moved(old.power_kw, new.power_kw)
        || moved(old.load_pct, new.load_pct)
        || moved(old.battery_pct, new.battery_pct)
        || moved(old.runtime_s, new.runtime_s)
        || moved(old.fuel_pct, new.fuel_pct)
}
