//! KeepAlive and PacketIds with simulated time.

use winter_river_mqtt_codec::{KeepAlive, KeepAliveAction, PacketIds};

#[test]
fn pings_after_half_the_interval_without_sending() {
    let mut ka = KeepAlive::new(30, 1_000);
    assert_eq!(ka.poll_timeout(), 16_000);
    assert_eq!(ka.poll(15_999), KeepAliveAction::Idle);
    // Sending anything pushes the ping back.
    ka.on_sent(10_000);
    assert_eq!(ka.poll(16_000), KeepAliveAction::Idle);
    assert_eq!(ka.poll(25_000), KeepAliveAction::SendPing);
    ka.on_ping_sent(25_000);
    assert_eq!(ka.poll(30_000), KeepAliveAction::Idle);
    assert_eq!(ka.poll_timeout(), 55_000);
    ka.on_received();
    assert_eq!(ka.poll_timeout(), 40_000);
}

#[test]
fn an_unanswered_ping_times_out_after_one_interval() {
    let mut ka = KeepAlive::new(10, 0);
    assert_eq!(ka.poll(5_000), KeepAliveAction::SendPing);
    ka.on_ping_sent(5_000);
    assert_eq!(ka.poll(14_999), KeepAliveAction::Idle);
    assert_eq!(ka.poll(15_000), KeepAliveAction::TimedOut);
}

#[test]
fn zero_turns_it_off() {
    let ka = KeepAlive::new(0, 0);
    assert_eq!(ka.poll(u64::MAX), KeepAliveAction::Idle);
    assert_eq!(ka.poll_timeout(), u64::MAX);
}

#[test]
fn packet_ids_skip_zero_when_they_wrap() {
    let mut ids = PacketIds::new();
    assert_eq!(ids.next_id(), 1);
    for _ in 2..u16::MAX {
        ids.next_id();
    }
    assert_eq!(ids.next_id(), u16::MAX);
    assert_eq!(ids.next_id(), 1);
}
