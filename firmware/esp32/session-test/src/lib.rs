//! Nothing here: the test in `tests/session.rs` runs the firmware's `src/mqtt.rs`
//! over embassy-net on a TAP device in a private network namespace.
