//! `up`'s file-descriptor budget (issue 15, part 7): before any board starts, the
//! soft `RLIMIT_NOFILE` is raised to the hard limit, and a site whose boards cannot
//! fit is refused with the numbers and what to do instead — not a "Too many open
//! files" somewhere in the middle of the start.

use anyhow::Result;
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors `up` needs besides its boards: stdio, the runtime's epoll and
/// wake-up handles, the broker's listeners, the engine's and the web's MQTT links
/// (both ends with the embedded broker), the dashboard's HTTP connections, files
/// (topology, drills, debriefs).
pub const RESERVE_FDS: u64 = 256;

/// What `up` will hold open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// Virtual boards this process starts (one socket each).
    pub boards: u64,
    /// The broker runs in this process: it holds the other end of each board's
    /// socket.
    pub embedded_broker: bool,
}

impl Need {
    pub fn total(&self) -> u64 {
        let per_board = if self.embedded_broker { 2 } else { 1 };
        self.boards * per_board + RESERVE_FDS
    }
}

/// The limits as they were and as raised: `(soft before, soft now, hard)`;
/// `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub soft_before: Option<u64>,
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// Raises the soft limit on open files to the hard one (as far as the system
/// allows) and returns the limits. A failed raise leaves the soft limit as it was.
pub fn raise_nofile() -> Limits {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    let mut soft = current;
    if current != maximum {
        let raised = Rlimit {
            current: maximum,
            maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            soft = maximum;
        }
    }
    Limits {
        soft_before: current,
        soft,
        hard: maximum,
    }
}

/// Whether `need` fits in `limits`; if not, the message for the operator.
pub fn check(need: Need, limits: Limits) -> Result<()> {
    let Some(soft) = limits.soft else {
        return Ok(());
    };
    let total = need.total();
    if total <= soft {
        return Ok(());
    }
    let fmt = |l: Option<u64>| l.map_or_else(|| "unlimited".to_string(), |n| n.to_string());
    let raised = if limits.soft_before == limits.soft {
        String::new()
    } else {
        format!(" (raised from {})", fmt(limits.soft_before))
    };
    let broker = if need.embedded_broker {
        format!(
            "{} for the boards and {} for the embedded broker's side of them",
            need.boards, need.boards
        )
    } else {
        format!("{} for the boards", need.boards)
    };
    let mut hint = String::from(
        "run the boards elsewhere (`--nodes none` here, and `winter-river nodes` on another \
         host or with its own limit, or real boards)",
    );
    if need.embedded_broker {
        let external = Need {
            embedded_broker: false,
            ..need
        };
        hint.push_str(&format!(
            ", or use an external broker (`--broker mqtt://HOST:1883`, e.g. Mosquitto: this \
             process then needs about {})",
            external.total()
        ));
    }
    hint.push_str(", or raise the hard limit (`ulimit -Hn`, systemd `LimitNOFILE=`)");
    anyhow::bail!(
        "too many boards for this process's open-file limit: {} virtual boards need about \
         {total} file descriptors ({broker}, {RESERVE_FDS} for the engine, web and files), \
         but the limit is {soft}{raised}, hard limit {}; {hint}",
        need.boards,
        fmt(limits.hard)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_site_that_fits_passes_and_one_that_does_not_names_the_numbers() {
        let limits = Limits {
            soft_before: Some(1024),
            soft: Some(4096),
            hard: Some(4096),
        };
        let fits = Need {
            boards: 1_900,
            embedded_broker: true,
        };
        assert!(check(fits, limits).is_ok());
        let big = Need {
            boards: 104_000,
            embedded_broker: true,
        };
        let e = check(big, limits).unwrap_err().to_string();
        assert!(
            e.contains("104000 virtual boards need about 208256 file descriptors"),
            "{e}"
        );
        assert!(
            e.contains("the limit is 4096 (raised from 1024), hard limit 4096"),
            "{e}"
        );
        assert!(
            e.contains("`--nodes none`") && e.contains("`--broker mqtt://HOST:1883`"),
            "{e}"
        );
        assert!(e.contains("needs about 104256"), "{e}");
        let unlimited = Limits {
            soft_before: None,
            soft: None,
            hard: None,
        };
        assert!(check(big, unlimited).is_ok());
    }
}
