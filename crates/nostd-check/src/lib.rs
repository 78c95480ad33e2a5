//! no_std check for winter-river-protocol and winter-river-node (see Cargo.toml):
//! a `#![no_std]` staticlib with its own panic handler and a dummy allocator,
//! exporting functions that call every codec function, the protocol's display
//! rounding and reconnect backoff, and the node core's inputs, outputs and
//! drawing, so they are compiled and linked without `std`.
//! Never run; only built.
#![no_std]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::panic::PanicInfo;

use winter_river_node as node;
use winter_river_protocol as protocol;

/// Always fails to allocate: the check only needs the code to link.
struct NoAlloc;

// SAFETY: returning null is a valid "allocation failed" answer; dealloc is never
// reached because nothing is ever allocated.
unsafe impl GlobalAlloc for NoAlloc {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: NoAlloc = NoAlloc;

/// Conflicts with std's own handler if std is linked: that is the check.
#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    loop {}
}

/// Calls the whole codec and topic API; returns how many calls succeeded.
#[unsafe(no_mangle)]
pub extern "C" fn winter_river_nostd_check() -> u32 {
    // black_box keeps the optimiser from folding the calls away.
    let payload: &[u8] = core::hint::black_box(br#"{"command":"reset"}"#);
    let mut ok = 0;
    if let Ok(s) = protocol::decode_status("pdu_a", payload) {
        ok += u32::from(protocol::encode_status(&s).is_ok());
    }
    if let Ok(c) = protocol::decode_command(payload) {
        ok += u32::from(protocol::encode_command(&c).is_ok());
    }
    if let Ok(s) = protocol::decode_system_status(payload) {
        ok += u32::from(protocol::encode_system_status(&s).is_ok());
    }
    if let Ok(e) = protocol::decode_event(payload) {
        ok += u32::from(protocol::encode_event(&e).is_ok());
    }
    if let Ok(t) = protocol::decode_topology(payload) {
        ok += u32::from(protocol::encode_topology(&t).is_ok());
    }
    if let Ok(a) = protocol::decode_availability(payload) {
        ok += u32::from(!protocol::encode_availability(a).is_empty());
    }
    if let Ok(text) = core::str::from_utf8(payload) {
        if let Ok(topic) = protocol::Topic::parse(protocol::DEFAULT_PREFIX, text) {
            let built = topic.to_topic(protocol::DEFAULT_PREFIX);
            ok += u32::from(built.len() == text.len() && topic.retain());
        }
        ok += u32::from(protocol::validate_node_id(text).is_ok());
        ok += u32::from(protocol::status_filter(text).len() > 1);
    }
    if let Err(e) = protocol::decode_command(payload) {
        ok += u32::from(e.reason().len() > 1);
    }
    ok
}

/// Drives the node core as the firmware does: inputs, publishes, the reconnect
/// backoff and the OLED frame. Returns a checksum so nothing is folded away.
#[unsafe(no_mangle)]
pub extern "C" fn winter_river_nostd_check_node(now_ms: u64) -> u32 {
    let payload: &[u8] = core::hint::black_box(br#"{"command":"reset"}"#);
    let config = node::NodeConfig::new("pdu_a", protocol::NodeKind::Pdu);
    let Ok(mut board) = node::NodeCore::new(config, now_ms) else {
        return 0;
    };
    let mut sum = 0u32;
    board.handle_link(now_ms, true);
    board.set_wifi_rssi(-62);
    sum += u32::from(board.handle_command(now_ms, payload).is_ok());
    board.press_fault_button(now_ms);
    sum += u32::from(board.set_load_knob(now_ms, 5.0));
    while let Some(transmit) = board.poll_transmit(now_ms) {
        sum = sum.wrapping_add(transmit.payload.len() as u32);
    }
    sum = sum.wrapping_add(board.poll_timeout() as u32);
    sum = sum.wrapping_add(board.last_will().payload.len() as u32);
    sum = sum.wrapping_add(board.availability_offline().payload.len() as u32);
    sum = sum.wrapping_add(board.status(now_ms).seq.unwrap_or(0) as u32);

    let mut frame = node::Frame::new();
    if board.draw(now_ms, &mut frame).is_ok() {
        sum = sum.wrapping_add(frame.lit_count());
    }
    let status = board.status(now_ms);
    sum = sum.wrapping_add(node::Screen::from_status(&status).render().lit_count());
    // The display rounding (f64::round is std-only; the protocol's is not).
    let shown = protocol::round_for_display(core::hint::black_box(99.85), 1);
    sum = sum.wrapping_add(shown as u32);

    let mut backoff = protocol::Backoff::new(now_ms);
    sum = sum.wrapping_add(backoff.on_failure(now_ms) as u32);
    sum += u32::from(backoff.can_attempt(now_ms));
    backoff.on_success();
    sum
}
