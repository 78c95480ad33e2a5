//! The one deadband: how far a value must move before it counts as a change that
//! is published at once rather than with the next periodic refresh. The engine
//! (its `update`s and the system status) and the node core (its statuses) both
//! use it, so a board reports every change the engine sent it.

/// Relative change that counts as a change.
pub const RELATIVE: f64 = 0.005;
/// Absolute change that counts as a change, in the field's unit.
pub const ABSOLUTE: f64 = 0.01;

/// Whether `a` → `b` is a change: by more than 0.5 % of the larger magnitude
/// and more than 0.01.
pub fn moved_by(a: f64, b: f64) -> bool {
    let larger = if a.abs() > b.abs() { a.abs() } else { b.abs() };
    let band = if RELATIVE * larger > ABSOLUTE {
        RELATIVE * larger
    } else {
        ABSOLUTE
    };
    (a - b).abs() > band
}

/// As [`moved_by`] for optional values: appearing or disappearing is a change.
pub fn moved(old: Option<f64>, new: Option<f64>) -> bool {
    match (old, new) {
        (Some(a), Some(b)) => moved_by(a, b),
        (None, None) => false,
        _ => true,
    }
}
