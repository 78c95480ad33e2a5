//! The board's inputs: a bouncing button counts once per press, and the knob maps
//! the ADC range onto 0..max kW with both ends reachable.

use winter_river_node::input::KNOB_END_DEADZONE;
use winter_river_node::{Debouncer, knob_kw};

#[test]
fn a_bouncing_press_counts_once() {
    let mut button = Debouncer::new(false, 30, 0);
    // Contact bounce: 1 ms flips for 8 ms, then held.
    let mut presses = 0;
    for t in 100..108 {
        presses += u32::from(button.sample(t, t % 2 == 0));
    }
    for t in 108..200 {
        presses += u32::from(button.sample(t, true));
    }
    assert_eq!(presses, 1);
    assert!(button.is_pressed());
    // Release with bounce, then a second press.
    for t in 200..300 {
        presses += u32::from(button.sample(t, t < 205 && t % 2 == 1));
    }
    assert!(!button.is_pressed());
    for t in 300..400 {
        presses += u32::from(button.sample(t, true));
    }
    assert_eq!(presses, 2);
}

#[test]
fn a_press_counts_after_the_settle_time_not_before() {
    let mut button = Debouncer::new(false, 30, 0);
    assert!(!button.sample(1_000, true));
    assert!(!button.sample(1_029, true));
    assert!(button.sample(1_030, true));
    assert!(!button.sample(1_031, true));
}

#[test]
fn a_glitch_shorter_than_the_settle_time_is_ignored() {
    let mut button = Debouncer::new(false, 30, 0);
    assert!(!button.sample(10, true));
    assert!(!button.sample(20, false));
    assert!(!button.sample(100, false));
    assert!(!button.is_pressed());
}

#[test]
fn a_button_held_at_boot_is_not_a_press() {
    let mut button = Debouncer::new(true, 30, 0);
    assert!(!button.sample(500, true));
    assert!(!button.sample(600, false));
    assert!(!button.sample(700, false));
    assert!(!button.sample(800, true));
    assert!(button.sample(830, true));
}

#[test]
fn the_knob_spans_zero_to_max_with_dead_zones_at_the_ends() {
    let max_kw = 10.0;
    assert_eq!(knob_kw(0, 4095, max_kw), 0.0);
    assert_eq!(knob_kw(40, 4095, max_kw), 0.0);
    assert_eq!(knob_kw(4095, 4095, max_kw), max_kw);
    assert_eq!(knob_kw(4060, 4095, max_kw), max_kw);
    assert_eq!(knob_kw(u16::MAX, 4095, max_kw), max_kw);
    let mid = knob_kw(2048, 4095, max_kw);
    assert!((mid - 5.0).abs() < 0.01, "{mid}");
    // Linear between the dead zones.
    let lo = (KNOB_END_DEADZONE * 4095.0).ceil() as u16;
    let a = knob_kw(lo + 1000, 4095, max_kw);
    let b = knob_kw(lo + 2000, 4095, max_kw);
    let c = knob_kw(lo + 3000, 4095, max_kw);
    assert!(((b - a) - (c - b)).abs() < 1e-9);
}

#[test]
fn the_knob_refuses_nonsense_ranges() {
    assert_eq!(knob_kw(100, 0, 10.0), 0.0);
    assert_eq!(knob_kw(100, 4095, f64::NAN), 0.0);
    assert_eq!(knob_kw(100, 4095, -1.0), 0.0);
}
