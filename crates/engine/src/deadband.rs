//! When a node's computed state, or the system status, has changed enough to
//! publish before its periodic refresh.

use winter_river_protocol::{SystemStatus, UpdateParams};

/// Relative change that counts as a change.
const RELATIVE: f64 = 0.005;
/// Absolute change that counts as a change (in the field's unit).
const ABSOLUTE: f64 = 0.01;

fn moved_by(a: f64, b: f64) -> bool {
    (a - b).abs() > ABSOLUTE.max(RELATIVE * a.abs().max(b.abs()))
}

fn moved(old: Option<f64>, new: Option<f64>) -> bool {
    match (old, new) {
        (Some(a), Some(b)) => moved_by(a, b),
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

/// Whether the system status changed enough to publish before its period: the
/// source, whether PUE is known, IT, facility or lost power beyond the same
/// deadband, any node count, or the rejected-message count.
pub(crate) fn system_changed(old: &SystemStatus, new: &SystemStatus) -> bool {
    let counts = |s: &SystemStatus| {
        [
            s.nodes_ok,
            s.nodes_fault,
            s.nodes_unpowered,
            s.nodes_tripped,
            s.nodes_overload,
            s.nodes_on_battery,
            s.nodes_bypass,
            s.nodes_standby,
            s.nodes_starting,
            s.nodes_cooldown,
            s.nodes_out_of_fuel,
            s.nodes_offline,
        ]
    };
    old.source != new.source
        || old.pue.is_some() != new.pue.is_some()
        || moved_by(old.it_kw, new.it_kw)
        || moved_by(old.facility_kw, new.facility_kw)
        || moved_by(old.it_kw_lost, new.it_kw_lost)
        || counts(old) != counts(new)
        || old.rejected_msgs != new.rejected_msgs
}
