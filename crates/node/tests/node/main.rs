//! Tests of winter-river-node: the node core with simulated time (no broker), the
//! board's button and knob, and the OLED frames against
//! golden text art.

mod engine_online;
mod golden;
mod input;
mod node_core;
mod util;
