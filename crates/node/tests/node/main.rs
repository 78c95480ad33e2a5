//! Tests of winter-river-node: the node core with simulated time (no broker), the
//! board's button and knob, the OLED frames against golden text art, and rooms,
//! cooling and server inlets on the page.

mod engine_online;
mod golden;
mod input;
mod node_core;
mod thermal;
mod util;
