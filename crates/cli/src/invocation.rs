//! How to run this program again, for the commands `up` and the error hints print:
//! `cargo run --release --` when cargo started it, the path as typed when it was run
//! by path (`./target/release/winter-river`), `winter-river` when found on `PATH`
//! (`cargo install --path crates/cli`).

use std::ffi::OsString;

/// What the environment says about how this process was started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Started {
    /// `argv[0]`.
    pub argv0: Option<OsString>,
    /// Whether `cargo run` started it: cargo sets `CARGO` and `CARGO_MANIFEST_DIR`
    /// for the programs it runs.
    pub by_cargo: bool,
    /// Whether this is a release build.
    pub release: bool,
}

impl Started {
    /// This process.
    pub fn current() -> Started {
        Started {
            argv0: std::env::args_os().next(),
            by_cargo: std::env::var_os("CARGO").is_some()
                && std::env::var_os("CARGO_MANIFEST_DIR").is_some(),
            release: !cfg!(debug_assertions),
        }
    }

    /// The words that run this program: `cargo run --release --`, a path, or
    /// `winter-river`.
    pub fn command(&self) -> String {
        if self.by_cargo {
            return if self.release {
                "cargo run --release --".into()
            } else {
                "cargo run --".into()
            };
        }
        match self.argv0.as_ref().and_then(|a| a.to_str()) {
            Some(path) if path.contains('/') => shell_word(path),
            _ => "winter-river".into(),
        }
    }
}

/// The command that runs this process again (see [`Started::command`]).
pub fn self_command() -> String {
    Started::current().command()
}

/// `s`, quoted for a POSIX shell when it has to be.
fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(argv0: &str, by_cargo: bool, release: bool) -> Started {
        Started {
            argv0: Some(argv0.into()),
            by_cargo,
            release,
        }
    }

    #[test]
    fn the_command_is_the_one_that_started_this_process() {
        let abs = "/home/me/winter-river/target/release/winter-river";
        assert_eq!(started(abs, true, true).command(), "cargo run --release --");
        assert_eq!(
            started("target/debug/winter-river", true, false).command(),
            "cargo run --"
        );
        assert_eq!(started(abs, false, true).command(), abs);
        assert_eq!(
            started("./target/release/winter-river", false, true).command(),
            "./target/release/winter-river"
        );
        assert_eq!(
            started("/opt/my tools/winter-river", false, true).command(),
            "'/opt/my tools/winter-river'"
        );
        assert_eq!(
            started("winter-river", false, true).command(),
            "winter-river"
        );
        assert_eq!(Started::default().command(), "winter-river");
    }
}
