//! The board's settings, fixed at build time from `WR_*` environment variables (see
//! build.rs and README.md); nothing here is typed into the source.

include!(concat!(env!("OUT_DIR"), "/board_config.rs"));

/// ADC full scale of a 12-bit one-shot reading.
pub const ADC_FULL_SCALE: u16 = 4095;
