//! When a node's computed state, or the system status, has changed enough to be
//! published before its periodic refresh: the protocol's one deadband
//! ([`winter_river_protocol::deadband`]), the same rule the node core applies to
//! its statuses, so a board reports every change the engine sent it.

use winter_river_protocol::deadband::{moved, moved_by};
use winter_river_protocol::{SystemStatus, UpdateParams};

/// Whether `new` differs from the last sent `old`: any change of status word, or
/// of a measurement beyond the deadband ([`Measurements::moved`]). Equal values
/// are no change under any deadband: on a quiet site nearly every node is equal
/// to what it was sent, so that comparison comes first and is cheaper.
///
/// [`Measurements::moved`]: winter_river_protocol::Measurements::moved
pub(crate) fn update_changed(old: &UpdateParams, new: &UpdateParams) -> bool {
    old != new && (old.status != new.status || old.measured.moved(&new.measured))
}

/// Whether the system status changed enough to publish before its period: the
/// source, whether PUE is known, IT, facility (or any of its sources: utility,
/// generator, battery) or lost power beyond the deadband, the highest inlet beyond
/// it, any node count, or the rejected-message count.
pub(crate) fn system_changed(old: &SystemStatus, new: &SystemStatus) -> bool {
    old.source != new.source
        || old.pue.is_some() != new.pue.is_some()
        || moved_by(old.it_kw, new.it_kw)
        || moved_by(old.facility_kw, new.facility_kw)
        || moved_by(old.utility_kw, new.utility_kw)
        || moved_by(old.generator_kw, new.generator_kw)
        || moved_by(old.battery_kw, new.battery_kw)
        || moved_by(old.it_kw_lost, new.it_kw_lost)
        || moved(old.max_inlet_c, new.max_inlet_c)
        || old.nodes != new.nodes
        || old.rejected_msgs != new.rejected_msgs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_warming_past_the_deadband_is_a_change() {
        let old = SystemStatus {
            max_inlet_c: Some(22.0),
            ..SystemStatus::default()
        };
        let warmer = |c: f64| SystemStatus {
            max_inlet_c: Some(c),
            ..old.clone()
        };
        // 0.5 % of 22 °C is 0.11 K.
        assert!(!system_changed(&old, &warmer(22.1)));
        assert!(system_changed(&old, &warmer(22.2)));
    }
}
