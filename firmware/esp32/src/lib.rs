//! Glue of the Winter River ESP32 firmware that is not tied to one chip's pins: the
//! build-time board settings and the MQTT session over embassy-net. Everything the
//! board decides lives in `winter-river-node`; the bytes on the wire in
//! `winter-river-mqtt-codec` and `winter-river-protocol`.
#![no_std]

pub mod config;
pub mod mqtt;
