//! Who may connect to the broker and what each client may publish and subscribe to
//! (docs/security.md, "MQTT roles"): the roles, the auth file (`--auth FILE`, TOML) that
//! names the users, the boards and their passwords, the topic rules of each role over
//! the topics of docs/protocol.md, and the same rules rendered as a Mosquitto
//! `acl_file`. Pure: no I/O but reading the auth file, no clock, no sockets.
//!
//! Rules (prefix `<p>`):
//! - **admin** (`--username/--password`, and every client when there is no auth):
//!   anything.
//! - **engine**: publishes anything under `<p>/` (the `system/*` topics, `update`
//!   commands), subscribes to anything.
//! - **board `X`** (user name = its node id): publishes only `<p>/X/status`,
//!   `<p>/X/availability` and `<p>/X/command` (its button and knob; never an `update`,
//!   which is the engine's); subscribes only to `<p>/X/command` and
//!   `<p>/system/availability`.
//! - **operator**: publishes commands (`<p>/<id>/command`, `<p>/system/command`,
//!   `<p>/system/drill/command`; never an `update`), reads everything under `<p>/`.
//! - **viewer** (Telegraf, Grafana, dashboards): reads everything under `<p>/`,
//!   publishes nothing.

use std::collections::HashMap;
use std::fmt;

use winter_river_mqtt_codec::server::filter_matches;
use winter_river_protocol::codec::command_spec_of;
use winter_river_protocol::command::AppliesTo;
use winter_river_protocol::{DEFAULT_PREFIX, SYSTEM_ID, Topic};

/// Longest user name accepted in an auth file \[characters\].
pub const MAX_USER_LEN: usize = 64;

/// What a client may do, decided at CONNECT from its user name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// Anything: the shared `--username/--password` credential, and every client of a
    /// broker without auth (today's default).
    Admin,
    /// The simulation engine: every topic under the prefix, `system/*` and `update`s.
    Engine,
    /// One board: its own status, availability and command topics only.
    Board { id: String },
    /// Publishes commands, reads everything.
    Operator,
    /// Reads everything, publishes nothing.
    Viewer,
}

impl Role {
    /// The roles a `[[user]]` of the auth file may have (boards are listed under
    /// `[boards]`).
    pub const USER_ROLES: [Role; 4] = [Role::Admin, Role::Engine, Role::Operator, Role::Viewer];

    /// The user role the auth file's `role = WORD` names.
    pub fn user_role(word: &str) -> Option<Role> {
        Role::USER_ROLES.into_iter().find(|r| r.word() == word)
    }

    /// The word the auth file uses for a user's role (`board` for boards).
    pub fn word(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Engine => "engine",
            Role::Board { .. } => "board",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Board { id } => write!(f, "board {id}"),
            other => f.write_str(other.word()),
        }
    }
}

/// A connected client: the user name it gave (none: anonymous) and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: Option<String>,
    pub role: Role,
}

/// Why a CONNECT is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// An unknown user name or a wrong password (CONNACK return code 4).
    #[error("bad user name or password")]
    BadCredentials,
    /// No user name where the broker needs one (CONNACK return code 5).
    #[error("not authorized: this broker needs a user name and password")]
    NotAuthorized,
}

impl Refused {
    /// The MQTT 3.1.1 CONNACK return code for this refusal.
    pub fn connack_code(self) -> u8 {
        match self {
            Refused::BadCredentials => 4,
            Refused::NotAuthorized => 5,
        }
    }
}

/// A publish or subscribe the client's role does not allow; `reason` is for the
/// broker's log line and says who, what and why in words a trainee can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub reason: String,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Denied {}

/// An auth file that cannot be used. Every message names the file and, where there is
/// one, the line and the field; none ever holds a password.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("cannot read the auth file {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}, line {line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}, line {line}, `{field}`: {reason}")]
    Field {
        file: String,
        line: usize,
        field: String,
        reason: String,
    },
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    #[error("topic prefix `{0}`: not a valid prefix (no empty level, `+`, `#` or NUL)")]
    BadPrefix(String),
}

/// One user of the auth file (or the shared credential).
#[derive(Clone, PartialEq, Eq)]
struct Account {
    name: String,
    role: Role,
    password: String,
}

/// Who may connect and what each may do. `Debug` never prints a password.
#[derive(Clone, PartialEq, Eq)]
pub struct Access {
    prefix: String,
    /// The role of a client that gives no user name; `None`: refused.
    anonymous: Option<Role>,
    /// In file order: the first user of a role is the one `up` connects its pieces as.
    accounts: Vec<Account>,
    by_name: HashMap<String, usize>,
    /// Where the accounts came from (for messages), if from a file.
    source: Option<String>,
    warnings: Vec<String>,
    /// Filters no client may subscribe to, whatever its role (the file's
    /// `deny_subscribe`).
    deny_subscribe: Vec<String>,
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: Vec<String> = self
            .accounts
            .iter()
            .map(|a| format!("{} ({}, password ***)", a.name, a.role))
            .collect();
        f.debug_struct("Access")
            .field("prefix", &self.prefix)
            .field("anonymous", &self.anonymous)
            .field("users", &users)
            .field("source", &self.source)
            .field("deny_subscribe", &self.deny_subscribe)
            .finish()
    }
}

impl Default for Access {
    fn default() -> Self {
        Access::anonymous()
    }
}

impl Access {
    fn new(prefix: &str, anonymous: Option<Role>, accounts: Vec<Account>) -> Access {
        let by_name = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.name.clone(), i))
            .collect();
        Access {
            prefix: prefix.to_owned(),
            anonymous,
            accounts,
            by_name,
            source: None,
            warnings: Vec::new(),
            deny_subscribe: Vec::new(),
        }
    }

    /// No auth: every client, with or without a user name, is an admin (today's
    /// default: the seed's isolated hotspot).
    pub fn anonymous() -> Access {
        Access::new(DEFAULT_PREFIX, Some(Role::Admin), Vec::new())
    }

    /// One shared credential (`--username/--password`): whoever presents it is an
    /// admin; anyone else is refused.
    pub fn single_user(user: &str, pass: &str) -> Access {
        Access::new(
            DEFAULT_PREFIX,
            None,
            vec![Account {
                name: user.to_owned(),
                role: Role::Admin,
                password: pass.to_owned(),
            }],
        )
    }

    /// The topic prefix the rules are written for.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether a client must log in: false only for [`Access::anonymous`].
    pub fn requires_login(&self) -> bool {
        self.anonymous != Some(Role::Admin)
    }

    /// The role of a client that gives no user name; `None`: such clients are refused.
    pub fn anonymous_role(&self) -> Option<&Role> {
        self.anonymous.as_ref()
    }

    /// Warnings found while loading (a file readable by others).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Every user name and its role, in file order (boards last).
    pub fn users(&self) -> impl Iterator<Item = (&str, &Role)> {
        self.accounts.iter().map(|a| (a.name.as_str(), &a.role))
    }

    /// The user name and password of the first user with `role` (for `up`'s own
    /// clients: its engine, its dashboard, its virtual boards).
    pub fn credentials_for(&self, role: &Role) -> Option<(&str, &str)> {
        self.accounts
            .iter()
            .find(|a| &a.role == role)
            .map(|a| (a.name.as_str(), a.password.as_str()))
    }

    /// A board's password (it logs in with its node id as user name).
    pub fn board_password(&self, id: &str) -> Option<&str> {
        self.credentials_for(&Role::Board { id: id.to_owned() })
            .map(|(_, pass)| pass)
    }

    /// Checks a CONNECT's user name and password.
    pub fn authenticate(
        &self,
        username: Option<&str>,
        password: Option<&[u8]>,
    ) -> Result<Principal, Refused> {
        if self.anonymous == Some(Role::Admin) {
            return Ok(Principal {
                user: username.map(str::to_owned),
                role: Role::Admin,
            });
        }
        let Some(name) = username else {
            return match &self.anonymous {
                Some(role) => Ok(Principal {
                    user: None,
                    role: role.clone(),
                }),
                None => Err(Refused::NotAuthorized),
            };
        };
        let account = self
            .by_name
            .get(name)
            .and_then(|&i| self.accounts.get(i))
            .ok_or(Refused::BadCredentials)?;
        let given = password.ok_or(Refused::BadCredentials)?;
        if !same_secret(account.password.as_bytes(), given) {
            return Err(Refused::BadCredentials);
        }
        Ok(Principal {
            user: Some(account.name.clone()),
            role: account.role.clone(),
        })
    }

    /// Whether `who` may publish `payload` on `topic` (also the Last Will of its CONNECT).
    pub fn may_publish(&self, who: &Principal, topic: &str, payload: &[u8]) -> Result<(), Denied> {
        let p = &self.prefix;
        let parsed = Topic::parse(p, topic).ok();
        match &who.role {
            Role::Admin => Ok(()),
            Role::Engine if under_prefix(p, topic) => Ok(()),
            Role::Engine => deny(format!(
                "{}: the engine publishes only under `{p}/`, not on `{topic}`",
                who_text(who)
            )),
            Role::Viewer => deny(format!(
                "{}: a viewer only reads; it may not publish (`{topic}`)",
                who_text(who)
            )),
            Role::Operator => match parsed {
                Some(Topic::NodeCommand(_) | Topic::SystemCommand) => {
                    not_an_update(who, topic, payload)
                }
                Some(Topic::SystemDrillCommand) => Ok(()),
                _ => deny(format!(
                    "{}: an operator publishes only commands (`{p}/<id>/command`, `{p}/system/command`, `{p}/system/drill/command`), not `{topic}`{}",
                    who_text(who),
                    engine_only(p, topic)
                )),
            },
            Role::Board { id } => match parsed {
                Some(Topic::NodeStatus(t) | Topic::NodeAvailability(t)) if &t == id => Ok(()),
                Some(Topic::NodeCommand(t)) if &t == id => not_an_update(who, topic, payload),
                _ => deny(format!(
                    "{}: a board publishes only on its own topics (`{p}/{id}/status`, `{p}/{id}/availability`, `{p}/{id}/command`), not `{topic}`{}",
                    who_text(who),
                    engine_only(p, topic)
                )),
            },
        }
    }

    /// Whether `who` may subscribe to `filter`.
    pub fn may_subscribe(&self, who: &Principal, filter: &str) -> Result<(), Denied> {
        let p = &self.prefix;
        if let Some(closed) = self
            .deny_subscribe
            .iter()
            .find(|closed| filter_matches(closed, filter))
        {
            return deny(format!(
                "{}: `{filter}` is closed to subscriptions (`deny_subscribe = [\"{closed}\"]` in the auth file)",
                who_text(who)
            ));
        }
        match &who.role {
            Role::Admin | Role::Engine => Ok(()),
            // Under `<p>/`: the prefix's levels written out (no wildcard in them), then more.
            Role::Operator | Role::Viewer if under_prefix(p, filter) => Ok(()),
            Role::Operator | Role::Viewer => deny(format!(
                "{}: an {} reads only under `{p}/` (e.g. `{p}/#`), not `{filter}`",
                who_text(who),
                who.role.word()
            )),
            Role::Board { id } => {
                let own = Topic::NodeCommand(id.clone()).to_topic(p);
                let engine = Topic::SystemAvailability.to_topic(p);
                if filter == own || filter == engine {
                    Ok(())
                } else {
                    deny(format!(
                        "{}: a board subscribes only to `{own}` and `{engine}`, not `{filter}`",
                        who_text(who)
                    ))
                }
            }
        }
    }
}

fn deny(reason: String) -> Result<(), Denied> {
    Err(Denied { reason })
}

fn who_text(who: &Principal) -> String {
    match &who.user {
        Some(user) => format!("user `{user}` ({})", who.role),
        None => format!("an anonymous client ({})", who.role),
    }
}

/// A hint for a `system/*` topic: only the engine publishes those.
fn engine_only(p: &str, topic: &str) -> &'static str {
    let system = format!("{p}/{SYSTEM_ID}/");
    if topic.starts_with(&system) {
        ": only the engine publishes `system` topics"
    } else {
        ""
    }
}

/// Commands other than those the engine alone sends (`update`: the shared description's
/// `applies_to = EngineOnly`). A payload that is no command JSON passes: the engine and
/// the board drop and count it as bad input.
fn not_an_update(who: &Principal, topic: &str, payload: &[u8]) -> Result<(), Denied> {
    match command_spec_of(payload) {
        Some(spec) if spec.applies_to == AppliesTo::EngineOnly => deny(format!(
            "{}: `{}` on `{topic}` is the engine's command (it carries the computed electrical state); others may not send it",
            who_text(who),
            spec.name
        )),
        _ => Ok(()),
    }
}

fn under_prefix(p: &str, topic: &str) -> bool {
    topic
        .strip_prefix(p)
        .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
}

/// Compares without an early exit on the first differing byte.
fn same_secret(expected: &[u8], given: &[u8]) -> bool {
    expected.len() == given.len()
        && expected
            .iter()
            .zip(given)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

mod file;
mod mosquitto;

#[cfg(test)]
mod tests;
