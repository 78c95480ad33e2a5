//! The examples of the drill docs read as the code reads them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use winter_river_drill::SCORE_RULE;
use winter_river_protocol::{
    DrillState, StepState, decode_command_via, decode_drill_command, decode_drill_status,
};

/// The first ```json block after `heading` in `doc`.
fn json_after<'a>(doc: &'a str, heading: &str) -> &'a str {
    let at = doc.find(heading).expect("the heading");
    let rest = &doc[at..];
    let start = rest.find("```json\n").expect("a json block") + "```json\n".len();
    let len = rest[start..].find("```").expect("its end");
    &rest[start..start + len]
}

#[test]
fn the_protocol_examples_decode() {
    let doc = include_str!("../../../docs/protocol.md");
    let status = decode_drill_status(json_after(doc, "### Drill status").as_bytes()).unwrap();
    assert_eq!(status.state, DrillState::Running);
    assert_eq!(status.steps[1].state, StepState::Pending);
    assert_eq!(status.steps[1].refused, 1);
    let inject = decode_drill_command(json_after(doc, "### Drill commands").as_bytes()).unwrap();
    assert_eq!(inject.name(), "inject");
    let (_, channel) =
        decode_command_via(json_after(doc, "An optional `channel`").as_bytes()).unwrap();
    assert_eq!(channel.as_str(), "cli");
}

/// docs/drills.md writes the score's rule out as the debrief does.
#[test]
fn the_drills_doc_states_the_rule_the_debrief_applies() {
    let doc = include_str!("../../../docs/drills.md").replace('\n', " ");
    for line in SCORE_RULE {
        assert!(doc.contains(line), "docs/drills.md lacks: {line}");
    }
}
