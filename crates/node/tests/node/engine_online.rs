//! A board re-asserts what it holds itself whenever the engine comes online again
//! (docs/protocol.md, "Engine restarts"): its fault, its knob's load; a board that
//! holds nothing asserts nothing.

use winter_river_node::NodeCore;
use winter_river_protocol::{Command, NodeKind};

use crate::util::{commands, connected, drain, payload};

const ENGINE: &str = "winter-river/system/availability";

fn engine_says(core: &mut NodeCore, now_ms: u64, word: &str) -> Vec<Command> {
    core.handle_message(now_ms, ENGINE, word.as_bytes())
        .expect("a valid availability");
    commands(&drain(core, now_ms))
}

#[test]
fn the_engine_availability_topic_is_the_systems() {
    let core = connected(NodeKind::Utility);
    assert_eq!(core.engine_availability_topic(), ENGINE);
}

#[test]
fn a_board_holding_a_fault_reasserts_it_when_the_engine_comes_back() {
    let mut util = connected(NodeKind::Utility);
    // The retained `online` right after connecting re-asserts nothing.
    assert!(engine_says(&mut util, 50, "online").is_empty());
    util.press_fault_button(100);
    drain(&mut util, 100);
    // The engine dies (its Last Will) and a new one comes up: the fault again.
    assert!(engine_says(&mut util, 200, "offline").is_empty());
    assert_eq!(
        engine_says(&mut util, 300, "online"),
        [Command::SetFault { state: true }]
    );
    // A second `online` without an `offline` between is not a restart.
    assert!(engine_says(&mut util, 400, "online").is_empty());
    // An operator's set_fault heard on its command topic is held the same way.
    let mut ups = connected(NodeKind::Ups);
    ups.handle_message(
        10,
        "winter-river/ups_a/command",
        &payload(Command::SetFault { state: true }),
    )
    .expect("valid");
    drain(&mut ups, 10);
    engine_says(&mut ups, 20, "offline");
    assert_eq!(
        engine_says(&mut ups, 30, "online"),
        [Command::SetFault { state: true }]
    );
}

#[test]
fn a_board_reasserts_its_knobs_load_but_not_an_operators() {
    let mut srv = connected(NodeKind::Server);
    assert!(srv.set_load_knob(100, 42.0));
    drain(&mut srv, 100);
    engine_says(&mut srv, 200, "offline");
    assert_eq!(
        engine_says(&mut srv, 300, "online"),
        [Command::SetLoad { kw: 42.0 }]
    );
    // An operator set another demand since: the board holds the operator's, not
    // its knob's, and leaves it to the engine.
    srv.handle_command(400, &payload(Command::SetLoad { kw: 10.0 }))
        .expect("valid");
    drain(&mut srv, 400);
    engine_says(&mut srv, 500, "offline");
    assert!(engine_says(&mut srv, 600, "online").is_empty());
}

#[test]
fn a_board_holding_nothing_asserts_nothing() {
    let mut pdu = connected(NodeKind::Pdu);
    for (t, word) in [(100, "online"), (200, "offline"), (300, "online")] {
        assert!(engine_says(&mut pdu, t, word).is_empty(), "at {t}: {word}");
    }
    // A fault cleared by its button is not re-asserted either.
    pdu.press_fault_button(400);
    pdu.press_fault_button(450);
    drain(&mut pdu, 450);
    engine_says(&mut pdu, 500, "offline");
    assert!(engine_says(&mut pdu, 600, "online").is_empty());
    // A bad availability payload is refused and changes nothing.
    assert!(pdu.handle_message(700, ENGINE, b"maybe").is_err());
    // Any other topic is ignored.
    assert!(
        pdu.handle_message(800, "winter-river/other/thing", b"x")
            .is_ok()
    );
}
