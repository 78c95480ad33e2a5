//! The auth file (docs/security.md, "The auth file"): TOML → [`Access`]. Every
//! refusal names the file, the line and the field, and never quotes a password.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use winter_river_protocol::{SYSTEM_ID, validate_node_id, validate_prefix};

use super::{Access, AccessError, Account, MAX_USER_LEN, Role};

/// Largest auth file read \[B\]: thousands of boards fit in far less.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

impl Access {
    /// Reads an auth file (docs/security.md, "The auth file") for topics under
    /// `prefix`. Warns (see [`Access::warnings`]: the caller shows them) when the file
    /// can be read by other users of the machine.
    pub fn from_file(path: &Path, prefix: &str) -> Result<Access, AccessError> {
        let file = path.display().to_string();
        let read = |source| AccessError::Read {
            file: file.clone(),
            source,
        };
        let len = std::fs::metadata(path).map_err(read)?.len();
        if len > MAX_FILE_BYTES {
            return Err(AccessError::File {
                file: file.clone(),
                reason: format!(
                    "{len} bytes: an auth file may have at most {MAX_FILE_BYTES}; refused before reading"
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        let mut access = Access::from_toml_str(&text, &file, prefix)?;
        access.warnings.extend(readable_by_others(path));
        Ok(access)
    }

    /// Parses an auth file's text; `file` names it in errors.
    pub fn from_toml_str(text: &str, file: &str, prefix: &str) -> Result<Access, AccessError> {
        validate_prefix(prefix).map_err(|_| AccessError::BadPrefix(prefix.to_owned()))?;
        let lines = Lines::new(text);
        // Never `toml::de::Error`'s Display: it quotes the source line, which may hold
        // a password.
        let raw: RawFile = toml::from_str(text).map_err(|e| AccessError::Syntax {
            file: file.to_owned(),
            line: e.span().map_or(1, |s| lines.line(s.start)),
            message: e.message().trim_end().replace('\n', "; "),
        })?;
        let field = |at: &std::ops::Range<usize>, field: &str, reason: String| AccessError::Field {
            file: file.to_owned(),
            line: lines.line(at.start),
            field: field.to_owned(),
            reason,
        };

        let anonymous = match raw.anonymous.as_ref().map(|a| (a.get_ref().as_str(), a)) {
            None | Some(("refuse", _)) => None,
            Some(("viewer", _)) => Some(Role::Viewer),
            Some(("admin", _)) => Some(Role::Admin),
            Some((other, at)) => {
                return Err(field(
                    &at.span(),
                    "anonymous",
                    format!("`{other}` is not one of `refuse`, `viewer`, `admin`"),
                ));
            }
        };

        let mut accounts: Vec<Account> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for user in &raw.user {
            let span = user.span();
            let user = user.get_ref();
            let name = user.name.get_ref();
            if let Err(reason) = check_user_name(name) {
                return Err(field(&user.name.span(), "name", reason));
            }
            let word = user.role.get_ref().as_str();
            let role = match Role::user_role(word) {
                Some(role) => role,
                None if word == "board" => {
                    return Err(field(
                        &user.role.span(),
                        "role",
                        "boards are listed under [boards] (`<id> = \"password\"`), not as users"
                            .to_owned(),
                    ));
                }
                None => {
                    let roles: Vec<String> = Role::USER_ROLES
                        .iter()
                        .map(|r| format!("`{}`", r.word()))
                        .collect();
                    return Err(field(
                        &user.role.span(),
                        "role",
                        format!("`{word}` is not a role (one of {})", roles.join(", ")),
                    ));
                }
            };
            let password = match check_password(user.password.get_ref()) {
                Ok(p) => p,
                Err(reason) => return Err(field(&user.password.span(), "password", reason)),
            };
            if let Some(first) = seen.insert(name.clone(), lines.line(span.start)) {
                return Err(field(
                    &user.name.span(),
                    "name",
                    format!("user `{name}` is already defined on line {first}"),
                ));
            }
            accounts.push(Account {
                name: name.clone(),
                role,
                password,
            });
        }
        for (id, password) in &raw.boards {
            if let Err(e) = validate_node_id(id) {
                return Err(field(
                    &password.span(),
                    &format!("boards.{id}"),
                    format!("not a node id: {e}"),
                ));
            }
            if id == SYSTEM_ID {
                return Err(field(
                    &password.span(),
                    &format!("boards.{id}"),
                    "`system` is the engine's, not a board".to_owned(),
                ));
            }
            let secret = match check_password(password.get_ref()) {
                Ok(p) => p,
                Err(reason) => {
                    return Err(field(&password.span(), &format!("boards.{id}"), reason));
                }
            };
            if let Some(line) = seen.get(id) {
                return Err(field(
                    &password.span(),
                    &format!("boards.{id}"),
                    format!(
                        "the user on line {line} has this name too: a board logs in with its node id, so no user may be named after a board"
                    ),
                ));
            }
            accounts.push(Account {
                name: id.clone(),
                role: Role::Board { id: id.clone() },
                password: secret,
            });
        }
        let mut deny_subscribe = Vec::new();
        for filter in &raw.deny_subscribe {
            if !winter_river_mqtt_codec::server::valid_filter(filter.get_ref()) {
                return Err(field(
                    &filter.span(),
                    "deny_subscribe",
                    format!("`{}` is not an MQTT topic filter", filter.get_ref()),
                ));
            }
            deny_subscribe.push(filter.get_ref().clone());
        }
        if accounts.is_empty() && anonymous.is_none() {
            return Err(AccessError::File {
                file: file.to_owned(),
                reason: "no [[user]] and no [boards]: nobody could log in".to_owned(),
            });
        }
        let mut access = Access::new(prefix, anonymous, accounts);
        access.source = Some(file.to_owned());
        access.deny_subscribe = deny_subscribe;
        Ok(access)
    }
}

fn check_user_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a user name may not be empty".to_owned());
    }
    if name.chars().count() > MAX_USER_LEN {
        return Err(format!(
            "a user name may have at most {MAX_USER_LEN} characters"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | '+' | '#' | '%'))
    {
        return Err(format!(
            "a user name may not hold {c:?} (no spaces, control characters, `:`, `+`, `#`, `%`: Mosquitto's files could not say it)"
        ));
    }
    Ok(())
}

/// A password: a non-empty string on one line. The reasons never quote it.
fn check_password(value: &toml::Value) -> Result<String, String> {
    let toml::Value::String(password) = value else {
        return Err(format!(
            "a password must be a string in quotes (this is a TOML {})",
            value.type_str()
        ));
    };
    if password.is_empty() {
        return Err("the password is empty".to_owned());
    }
    if password.contains(['\n', '\r', '\0']) {
        return Err("a password may not hold a line break or NUL".to_owned());
    }
    Ok(password.clone())
}

/// A warning when group or others may read the file (unix).
fn readable_by_others(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o044 != 0 {
            return Some(format!(
                "the auth file {} holds passwords and other users of this machine can read it (mode {:04o}): chmod 600 {}",
                path.display(),
                mode & 0o7777,
                path.display()
            ));
        }
        None
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    anonymous: Option<Spanned<String>>,
    /// Topic filters no client may subscribe to.
    #[serde(default)]
    deny_subscribe: Vec<Spanned<String>>,
    #[serde(default)]
    user: Vec<Spanned<RawUser>>,
    #[serde(default)]
    /// Values read as any TOML value, so that a wrong type is reported by this
    /// module, without serde's quote of the value (a password).
    boards: std::collections::BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: Spanned<String>,
    role: Spanned<String>,
    /// Any TOML value, as in `boards`.
    password: Spanned<toml::Value>,
}

/// Byte offset → 1-based line.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(src: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }
}
