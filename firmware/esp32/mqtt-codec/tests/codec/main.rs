//! Tests of winter-river-mqtt-codec: packets against bytes worked out from the MQTT
//! 3.1.1 specification, framing of a byte stream, keep-alive timing, and a board's
//! whole session (Last Will, retained `online`, commands at QoS 1, pings) against
//! the embedded broker and Mosquitto over real TCP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod brokers;
mod framing;
mod keepalive;
mod packets;
mod util;
