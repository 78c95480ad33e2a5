//! A command as an operator types it, for the checklist and the timeline.

use winter_river_protocol::{Command, encode_command};

/// `ups_mode mode=static_bypass`, `set_fault state=true`, `open`: the command's name
/// and its parameters from its wire form (so every command of the protocol's table
/// is written the same way, with no list of commands here).
pub fn command_words(command: &Command) -> String {
    let mut words = command.name().to_string();
    let params = encode_command(command)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| v.get("params").and_then(|p| p.as_object()).cloned());
    for (name, value) in params.iter().flatten() {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        words.push_str(&format!(" {name}={value}"));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use winter_river_protocol::Mode;

    #[test]
    fn commands_read_as_an_operator_types_them() {
        assert_eq!(
            command_words(&Command::UpsMode {
                mode: Mode::StaticBypass
            }),
            "ups_mode mode=static_bypass"
        );
        assert_eq!(
            command_words(&Command::SetFault { state: true }),
            "set_fault state=true"
        );
        assert_eq!(command_words(&Command::Open), "open");
        assert_eq!(
            command_words(&Command::Transfer { to: "gen_a".into() }),
            "transfer to=gen_a"
        );
    }
}
