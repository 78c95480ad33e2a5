//! Tests of winter-river-node: the node core with simulated time (no broker), the
//! reconnect backoff, and the OLED frames against golden text art.

mod backoff;
mod golden;
mod node_core;
mod util;
