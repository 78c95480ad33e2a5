//! One board's logic, sans-IO and no_std (crate docs: README.md).
#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod config;
pub mod frame;
pub mod input;
pub mod node;
pub mod screen;

pub use crate::config::{ConfigError, DEFAULT_STATUS_INTERVAL_MS, NodeConfig};
pub use crate::frame::Frame;
pub use crate::input::{Debouncer, knob_kw};
pub use crate::node::{NodeCore, Transmit};
pub use crate::screen::Screen;
