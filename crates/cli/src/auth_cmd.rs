//! `--auth FILE` (docs/security.md, "MQTT roles"): loading the auth file, the
//! credentials `up`'s own pieces log in with (engine, dashboard, each virtual board),
//! and `winter-river auth …`: a new file with random passwords, the file's users
//! checked and listed, and the Mosquitto `password_file` and `acl_file` that enforce
//! the same roles.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use winter_river_broker::{Access, Role};
use winter_river_fleet::BoardPasswords;
use winter_river_mqtt::BrokerUrl;
use winter_river_protocol::NodeKind;

use crate::EXIT_OK;
use crate::live_args::check_prefix;

/// Reads `--auth FILE` for topics under `prefix`; prints its warnings (a file others
/// can read).
pub fn load(path: &Path, prefix: &str) -> Result<Access> {
    let access = Access::from_file(path, prefix).map_err(|e| anyhow::anyhow!("--auth: {e}"))?;
    for warning in access.warnings() {
        eprintln!("warning: {warning}");
    }
    Ok(access)
}

/// A user name and password from the auth file.
pub type Login = (String, String);

/// The logins `up`'s engine and dashboard connect with, and its virtual boards'
/// passwords: the first engine and operator users (or else admin) and
/// [`board_passwords`].
#[derive(Debug)]
pub struct PieceLogins {
    pub engine: Login,
    pub web: Login,
    pub boards: BoardPasswords,
    /// `auth FILE: 3 users, 8 boards; engine as `engine`, dashboard as `dashboard``.
    pub line: String,
}

/// Every login `up`'s pieces need; refuses a file that lacks one, naming it.
pub fn piece_logins(
    access: &Access,
    file: &Path,
    boards: &[(String, NodeKind)],
) -> Result<PieceLogins> {
    let engine = login_as(access, file, Role::Engine, "the engine", "engine")?;
    let web = login_as(access, file, Role::Operator, "the dashboard", "dashboard")?;
    let count = |boards: bool| {
        access
            .users()
            .filter(|(_, r)| matches!(r, Role::Board { .. }) == boards)
            .count()
    };
    let line = format!(
        "{}: {} users, {} boards; engine as `{}`, dashboard as `{}`",
        file.display(),
        count(false),
        count(true),
        engine.0,
        web.0
    );
    Ok(PieceLogins {
        engine,
        web,
        boards: board_passwords(access, file, boards)?,
        line,
    })
}

/// `url` logged in as `login`.
pub fn with_login(url: &BrokerUrl, login: &Login) -> BrokerUrl {
    let mut url = url.clone();
    url.credentials = Some(login.clone());
    url
}

/// `url` logged in as the first `engine` user (or else the first `admin`).
pub fn engine_login(access: &Access, file: &Path, url: &BrokerUrl) -> Result<BrokerUrl> {
    let login = login_as(access, file, Role::Engine, "the engine", "engine")?;
    Ok(with_login(url, &login))
}

/// `url` logged in as the first `operator` user (or else the first `admin`): the
/// dashboard's MQTT client sends operators' commands.
pub fn web_login(access: &Access, file: &Path, url: &BrokerUrl) -> Result<BrokerUrl> {
    let login = login_as(access, file, Role::Operator, "the dashboard", "dashboard")?;
    Ok(with_login(url, &login))
}

fn login_as(access: &Access, file: &Path, role: Role, who: &str, example: &str) -> Result<Login> {
    let (user, pass) = access
        .credentials_for(&role)
        .or_else(|| access.credentials_for(&Role::Admin))
        .with_context(|| {
            format!(
                "--auth {}: no user with role `{role}` (or `admin`) for {who} to log in as; add one:\n\n[[user]]\nname = \"{example}\"\nrole = \"{role}\"\npassword = \"…\"",
                file.display()
            )
        })?;
    Ok((user.to_owned(), pass.to_owned()))
}

/// Every virtual board's password; refuses a board the file has none for, naming them.
pub fn board_passwords(
    access: &Access,
    file: &Path,
    boards: &[(String, NodeKind)],
) -> Result<BoardPasswords> {
    let mut passwords = BoardPasswords::new();
    let mut missing = Vec::new();
    for (id, _) in boards {
        match access.board_password(id) {
            Some(pass) => passwords.insert(id.clone(), pass),
            None => missing.push(id.as_str()),
        }
    }
    if !missing.is_empty() {
        bail!(
            "--auth {}: no password for board{} {} under [boards] (each board logs in with its node id: add `{} = \"…\"`), or leave {} out of the virtual boards (--nodes)",
            file.display(),
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            missing[0],
            if missing.len() == 1 { "it" } else { "them" },
        );
    }
    Ok(passwords)
}

#[derive(Debug, clap::Subcommand)]
pub enum AuthCmd {
    /// Write a new auth file (mode 0600) for a topology: an engine, an operator
    /// (`dashboard`), a viewer (`telegraf`) and every node's board, each with a random
    /// password. Prints no password.
    Init(InitArgs),
    /// Check an auth file and list its users and roles (never the passwords).
    Check(FileArgs),
    /// Write the Mosquitto `acl_file` and `password_file` (hashed by
    /// `mosquitto_passwd`) of an auth file's roles, and print the lines of
    /// mosquitto.conf that use them (deploy/mosquitto_setup.sh --auth runs this).
    Mosquitto(MosquittoArgs),
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Where to write it.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub topology: crate::live_args::TopologyArg,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct FileArgs {
    /// The auth file (docs/security.md, "The auth file").
    #[arg(long, value_name = "FILE", env = "WR_AUTH")]
    pub auth: PathBuf,
    /// Topic prefix the rules are written for.
    #[arg(long, default_value = winter_river_protocol::DEFAULT_PREFIX)]
    pub prefix: String,
}

#[derive(Debug, clap::Args)]
pub struct MosquittoArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Where to write the acl_file (mode 0644; absolute, as Mosquitto reads it).
    #[arg(long, value_name = "PATH")]
    pub acl_file: PathBuf,
    /// Where to write the password_file (mode 0600; absolute).
    #[arg(long, value_name = "PATH")]
    pub password_file: PathBuf,
    /// Give both files to this user (e.g. `mosquitto`, which Mosquitto drops to).
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,
    /// Print the mosquitto.conf lines only; write nothing.
    #[arg(long)]
    pub print_conf: bool,
}

pub fn run(cmd: &AuthCmd) -> Result<u8> {
    match cmd {
        AuthCmd::Init(args) => init(args),
        AuthCmd::Check(args) => check(args),
        AuthCmd::Mosquitto(args) => mosquitto(args),
    }
}

fn init(args: &InitArgs) -> Result<u8> {
    let topology = crate::live_args::load_topology(args.topology.topology.as_deref())?;
    let ids: Vec<&str> = topology.nodes.iter().map(|n| n.id.as_str()).collect();
    let text = new_auth_file(&ids, winter_river_web::random_token);
    // What it wrote must load: the same parser as every reader.
    Access::from_toml_str(
        &text,
        &args.out.display().to_string(),
        winter_river_protocol::DEFAULT_PREFIX,
    )
    .map_err(|e| anyhow::anyhow!("internal: the new auth file does not parse: {e}"))?;
    if args.out.exists() && !args.force {
        bail!(
            "{} exists: --force replaces it (its passwords are lost: boards built with them must be rebuilt)",
            args.out.display()
        );
    }
    write_file(&args.out, text.as_bytes(), 0o600)?;
    println!(
        "wrote {} (mode 0600): users engine (engine), dashboard (operator), telegraf (viewer) and {} boards, each with a random password",
        args.out.display(),
        ids.len()
    );
    Ok(EXIT_OK)
}

/// An auth file for boards `ids`, each password from `password()`.
fn new_auth_file(ids: &[&str], mut password: impl FnMut() -> String) -> String {
    let mut text = String::from(
        "# Winter River MQTT roles (docs/security.md, \"The auth file\"). Keep it private.\n\
         # Clients without a user name: \"refuse\", \"viewer\" or \"admin\" (anyone may do anything).\n\
         anonymous = \"refuse\"\n",
    );
    for (name, role) in [
        ("engine", "engine"),
        ("dashboard", "operator"),
        ("telegraf", "viewer"),
    ] {
        text.push_str(&format!(
            "\n[[user]]\nname = \"{name}\"\nrole = \"{role}\"\npassword = \"{}\"\n",
            password()
        ));
    }
    text.push_str("\n# Each board logs in with its node id and this password (firmware: WR_PASSWORD).\n[boards]\n");
    for id in ids {
        text.push_str(&format!("{id} = \"{}\"\n", password()));
    }
    text
}

fn check(args: &FileArgs) -> Result<u8> {
    check_prefix(&args.prefix)?;
    let access = load(&args.auth, &args.prefix)?;
    println!(
        "{}: valid, topics under `{}/`; anonymous clients: {}",
        args.auth.display(),
        access.prefix(),
        match access.anonymous_role() {
            None => "refused",
            Some(winter_river_broker::Role::Admin) => "admins (anyone may do anything)",
            Some(_) => "viewers",
        }
    );
    for (user, role) in access.users() {
        println!("  {user:<32} {role}");
    }
    Ok(EXIT_OK)
}

fn mosquitto(args: &MosquittoArgs) -> Result<u8> {
    check_prefix(&args.file.prefix)?;
    for (flag, path) in [
        ("--acl-file", &args.acl_file),
        ("--password-file", &args.password_file),
    ] {
        if !path.is_absolute() {
            bail!(
                "{flag} {}: needs an absolute path (Mosquitto reads it from its own directory)",
                path.display()
            );
        }
    }
    let access = load(&args.file.auth, &args.file.prefix)?;
    if !args.print_conf {
        // Each file only when it changes, so that a second run changes nothing.
        let acl = access.mosquitto_acl();
        if std::fs::read_to_string(&args.acl_file).ok().as_deref() != Some(acl.as_str()) {
            write_file(&args.acl_file, acl.as_bytes(), 0o644)?;
            eprintln!("auth: wrote {}", args.acl_file.display());
        }
        if passwords_stale(&args.password_file, &args.file.auth, &access) {
            write_password_file(&args.password_file, &access)?;
            eprintln!(
                "auth: wrote {} (hashed by mosquitto_passwd)",
                args.password_file.display()
            );
        }
        if let Some(owner) = &args.owner {
            for path in [&args.acl_file, &args.password_file] {
                run_tool(
                    Command::new("chown").arg(owner).arg(path),
                    "chown",
                    "coreutils",
                )?;
            }
        }
    }
    // The mosquitto.conf lines (no secret in them) on standard output.
    println!("allow_anonymous {}", access.mosquitto_allow_anonymous());
    println!("password_file {}", args.password_file.display());
    println!("acl_file {}", args.acl_file.display());
    Ok(EXIT_OK)
}

/// Whether the password file must be made again: it is missing, older than the auth
/// file (a password changed), or names other users. Its hashes are salted, so
/// comparing contents would always differ.
fn passwords_stale(password_file: &Path, auth: &Path, access: &Access) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Ok(text) = std::fs::read_to_string(password_file) else {
        return true;
    };
    match (modified(password_file), modified(auth)) {
        (Some(pw), Some(auth)) if pw >= auth => {}
        _ => return true,
    }
    let mut have: Vec<&str> = text.lines().filter_map(|l| l.split(':').next()).collect();
    let mut want: Vec<&str> = access.users().map(|(u, _)| u).collect();
    have.sort_unstable();
    want.sort_unstable();
    have != want
}

/// Writes `user:password` lines to a private temp file beside `target`, has
/// `mosquitto_passwd -U` hash them in place, and moves the result over `target`:
/// no plain password is ever left at `target`.
fn write_password_file(target: &Path, access: &Access) -> Result<()> {
    let dir = target.parent().unwrap_or_else(|| Path::new("/"));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "passwd".to_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        write_new(&tmp, access.mosquitto_plain_passwords().as_bytes(), 0o600)?;
        run_tool(
            Command::new("mosquitto_passwd").arg("-U").arg(&tmp),
            "mosquitto_passwd",
            "mosquitto",
        )?;
        std::fs::rename(&tmp, target)
            .with_context(|| format!("cannot move {} to {}", tmp.display(), target.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn run_tool(cmd: &mut Command, tool: &str, package: &str) -> Result<()> {
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("`{tool}` is not installed (apt-get install {package})")
        } else {
            anyhow::anyhow!("cannot run `{tool}`: {e}")
        }
    })?;
    if !out.status.success() {
        bail!(
            "`{tool}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temp file (mode `mode`) and a rename.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("/"));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    write_new(&tmp, bytes, mode)?;
    std::fs::rename(&tmp, path).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}", path.display())
    })
}

/// Creates `path` afresh with `mode` from the start (a secret is never readable by
/// others, not even for a moment).
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // The umask may have taken bits away from `mode` (0644 under umask 077).
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_auth_file_has_every_role_and_board() {
        let mut n = 0;
        let text = new_auth_file(&["util_a", "pdu_a"], || {
            n += 1;
            format!("pw{n}")
        });
        let access = Access::from_toml_str(&text, "new.toml", "winter-river")
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            access.credentials_for(&Role::Engine),
            Some(("engine", "pw1"))
        );
        assert_eq!(
            access.credentials_for(&Role::Operator),
            Some(("dashboard", "pw2"))
        );
        assert_eq!(
            access.credentials_for(&Role::Viewer),
            Some(("telegraf", "pw3"))
        );
        assert_eq!(access.board_password("pdu_a"), Some("pw5"));
        assert!(!access.mosquitto_allow_anonymous());
    }
}
