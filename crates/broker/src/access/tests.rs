//! Every rule of `access.rs`, and the auth file's errors.

use super::*;

const P: &str = "winter-river";

const FILE: &str = r#"
anonymous = "refuse"

[[user]]
name = "engine"
role = "engine"
password = "engine-secret"

[[user]]
name = "dashboard"
role = "operator"
password = "operator-secret"

[[user]]
name = "telegraf"
role = "viewer"
password = "viewer-secret"

[[user]]
name = "root"
role = "admin"
password = "admin-secret"

[boards]
pdu_a = "pdu-secret"
ups_a = "ups-secret"
"#;

fn access() -> Access {
    Access::from_toml_str(FILE, "auth.toml", P).expect("the example parses")
}

fn login(access: &Access, user: &str, pass: &str) -> Principal {
    access
        .authenticate(Some(user), Some(pass.as_bytes()))
        .unwrap_or_else(|e| panic!("{user} cannot log in: {e}"))
}

fn board(id: &str) -> Principal {
    Principal {
        user: Some(id.to_owned()),
        role: Role::Board { id: id.to_owned() },
    }
}

fn who(role: Role) -> Principal {
    Principal {
        user: Some("someone".to_owned()),
        role,
    }
}

const SET_FAULT: &[u8] = br#"{"command":"set_fault","params":{"state":true}}"#;
const UPDATE: &[u8] = br#"{"command":"update","params":{"status":"ok","voltage_in":480.0}}"#;

fn t(suffix: &str) -> String {
    format!("{P}/{suffix}")
}

// ── authentication ───────────────────────────────────────────────────────────

#[test]
fn anonymous_access_makes_every_client_an_admin() {
    let a = Access::anonymous();
    assert!(!a.requires_login());
    assert_eq!(a.authenticate(None, None).map(|p| p.role), Ok(Role::Admin));
    let named = a.authenticate(Some("x"), Some(b"y")).expect("accepted");
    assert_eq!(named.role, Role::Admin);
    assert_eq!(named.user.as_deref(), Some("x"));
    assert_eq!(Access::default(), a);
}

#[test]
fn single_user_is_an_admin_and_refuses_everyone_else() {
    let a = Access::single_user("op", "s3cret");
    assert!(a.requires_login());
    assert_eq!(login(&a, "op", "s3cret").role, Role::Admin);
    assert_eq!(
        a.authenticate(Some("op"), Some(b"guess")),
        Err(Refused::BadCredentials)
    );
    assert_eq!(
        a.authenticate(Some("op"), None),
        Err(Refused::BadCredentials)
    );
    assert_eq!(
        a.authenticate(Some("other"), Some(b"s3cret")),
        Err(Refused::BadCredentials)
    );
    assert_eq!(a.authenticate(None, None), Err(Refused::NotAuthorized));
    assert_eq!(Refused::BadCredentials.connack_code(), 4);
    assert_eq!(Refused::NotAuthorized.connack_code(), 5);
}

#[test]
fn the_auth_file_gives_each_user_its_role() {
    let a = access();
    assert_eq!(login(&a, "engine", "engine-secret").role, Role::Engine);
    assert_eq!(
        login(&a, "dashboard", "operator-secret").role,
        Role::Operator
    );
    assert_eq!(login(&a, "telegraf", "viewer-secret").role, Role::Viewer);
    assert_eq!(login(&a, "root", "admin-secret").role, Role::Admin);
    assert_eq!(login(&a, "pdu_a", "pdu-secret"), board("pdu_a"));
    // Another board's password is not this board's.
    assert_eq!(
        a.authenticate(Some("pdu_a"), Some(b"ups-secret")),
        Err(Refused::BadCredentials)
    );
    assert_eq!(
        a.authenticate(Some("nobody"), Some(b"pdu-secret")),
        Err(Refused::BadCredentials)
    );
    assert_eq!(a.authenticate(None, None), Err(Refused::NotAuthorized));
    // A password one byte longer or shorter.
    assert_eq!(
        a.authenticate(Some("pdu_a"), Some(b"pdu-secret!")),
        Err(Refused::BadCredentials)
    );
    assert_eq!(
        a.authenticate(Some("pdu_a"), Some(b"pdu-secre")),
        Err(Refused::BadCredentials)
    );
}

#[test]
fn anonymous_viewers_may_be_allowed() {
    let text = FILE.replace(r#"anonymous = "refuse""#, r#"anonymous = "viewer""#);
    let a = Access::from_toml_str(&text, "auth.toml", P).expect("parses");
    let anon = a.authenticate(None, None).expect("anonymous viewer");
    assert_eq!(anon.role, Role::Viewer);
    assert_eq!(anon.user, None);
    assert!(a.mosquitto_allow_anonymous());
    // A wrong password is still refused: anonymous means no user name at all.
    assert_eq!(
        a.authenticate(Some("engine"), Some(b"x")),
        Err(Refused::BadCredentials)
    );
}

#[test]
fn credentials_for_the_pieces_of_up() {
    let a = access();
    assert_eq!(
        a.credentials_for(&Role::Engine),
        Some(("engine", "engine-secret"))
    );
    assert_eq!(
        a.credentials_for(&Role::Operator),
        Some(("dashboard", "operator-secret"))
    );
    assert_eq!(a.board_password("ups_a"), Some("ups-secret"));
    assert_eq!(a.board_password("srv_a"), None);
    let users: Vec<(&str, String)> = a.users().map(|(u, r)| (u, r.to_string())).collect();
    assert_eq!(users[0], ("engine", "engine".to_owned()));
    assert!(users.contains(&("pdu_a", "board pdu_a".to_owned())));
}

#[test]
fn debug_never_prints_a_password() {
    for a in [access(), Access::single_user("op", "s3cret")] {
        let text = format!("{a:?}");
        for secret in ["secret", "s3cret"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("***"), "{text}");
    }
}

// ── publish rules ────────────────────────────────────────────────────────────

#[test]
fn admin_publishes_anything() {
    let a = access();
    let admin = who(Role::Admin);
    for topic in [
        t("system/topology"),
        t("pdu_a/status"),
        "other/x".to_owned(),
    ] {
        assert_eq!(a.may_publish(&admin, &topic, UPDATE), Ok(()), "{topic}");
    }
    assert_eq!(a.may_subscribe(&admin, "#"), Ok(()));
}

#[test]
fn engine_publishes_everything_under_the_prefix_and_nothing_outside() {
    let a = access();
    let engine = who(Role::Engine);
    for topic in [
        t("system/status"),
        t("system/topology"),
        t("system/events"),
        t("system/availability"),
        t("system/drill"),
        t("pdu_a/status"),
    ] {
        assert_eq!(a.may_publish(&engine, &topic, b"{}"), Ok(()), "{topic}");
    }
    assert_eq!(a.may_publish(&engine, &t("pdu_a/command"), UPDATE), Ok(()));
    assert!(a.may_publish(&engine, "other/pdu_a/status", b"{}").is_err());
    assert!(
        a.may_publish(&engine, "winter-riverx/a/status", b"{}")
            .is_err()
    );
    assert_eq!(a.may_subscribe(&engine, "#"), Ok(()));
    assert_eq!(a.may_subscribe(&engine, &t("+/status")), Ok(()));
}

#[test]
fn a_board_publishes_its_own_status_availability_and_commands_only() {
    let a = access();
    let pdu = board("pdu_a");
    assert_eq!(a.may_publish(&pdu, &t("pdu_a/status"), b"{}"), Ok(()));
    assert_eq!(
        a.may_publish(&pdu, &t("pdu_a/availability"), b"online"),
        Ok(())
    );
    assert_eq!(a.may_publish(&pdu, &t("pdu_a/command"), SET_FAULT), Ok(()));
    // Not another board's topics.
    for topic in [
        t("ups_a/status"),
        t("ups_a/availability"),
        t("ups_a/command"),
    ] {
        let e = a.may_publish(&pdu, &topic, SET_FAULT).expect_err(&topic);
        assert!(e.reason.contains("own topics"), "{}", e.reason);
        assert!(e.reason.contains("pdu_a"), "{}", e.reason);
    }
    // Not the engine's topics.
    for suffix in [
        "system/status",
        "system/topology",
        "system/events",
        "system/command",
        "system/availability",
        "system/drill",
        "system/drill/command",
    ] {
        let e = a.may_publish(&pdu, &t(suffix), b"{}").expect_err(suffix);
        assert!(e.reason.contains("only the engine"), "{}", e.reason);
    }
    // Nothing off the contract's topics, nothing outside the prefix.
    assert!(a.may_publish(&pdu, &t("pdu_a/extra"), b"{}").is_err());
    assert!(a.may_publish(&pdu, "other/pdu_a/status", b"{}").is_err());
}

#[test]
fn no_one_but_the_engine_sends_an_update() {
    let a = access();
    let e = a
        .may_publish(&board("pdu_a"), &t("pdu_a/command"), UPDATE)
        .expect_err("a board's own update");
    assert!(e.reason.contains("`update`"), "{}", e.reason);
    let op = who(Role::Operator);
    assert!(a.may_publish(&op, &t("ups_a/command"), UPDATE).is_err());
    assert!(a.may_publish(&op, &t("system/command"), UPDATE).is_err());
    // Spaced out or escaped, it is still an update.
    let spaced = br#" { "params" : {}, "command" : "upd\u0061te" } "#;
    assert!(a.may_publish(&op, &t("ups_a/command"), spaced).is_err());
    // Bad input is the engine's to count, not the ACL's.
    assert_eq!(a.may_publish(&op, &t("ups_a/command"), b"not json"), Ok(()));
}

#[test]
fn an_operator_publishes_commands_only() {
    let a = access();
    let op = who(Role::Operator);
    assert_eq!(a.may_publish(&op, &t("ups_a/command"), SET_FAULT), Ok(()));
    assert_eq!(
        a.may_publish(&op, &t("system/command"), br#"{"command":"epo"}"#),
        Ok(())
    );
    assert_eq!(
        a.may_publish(&op, &t("system/drill/command"), br#"{"command":"start"}"#),
        Ok(())
    );
    for suffix in [
        "ups_a/status",
        "ups_a/availability",
        "system/status",
        "system/topology",
        "system/events",
        "system/availability",
        "system/drill",
    ] {
        let e = a.may_publish(&op, &t(suffix), b"{}").expect_err(suffix);
        assert!(e.reason.contains("only commands"), "{}", e.reason);
    }
    assert!(a.may_publish(&op, "other/x/command", SET_FAULT).is_err());
}

#[test]
fn a_viewer_publishes_nothing() {
    let a = access();
    let viewer = who(Role::Viewer);
    for suffix in ["ups_a/command", "system/command", "pdu_a/status"] {
        let e = a
            .may_publish(&viewer, &t(suffix), SET_FAULT)
            .expect_err(suffix);
        assert!(e.reason.contains("only reads"), "{}", e.reason);
    }
}

// ── subscribe rules ──────────────────────────────────────────────────────────

#[test]
fn a_board_subscribes_to_its_command_and_the_engine_availability_only() {
    let a = access();
    let pdu = board("pdu_a");
    assert_eq!(a.may_subscribe(&pdu, &t("pdu_a/command")), Ok(()));
    assert_eq!(a.may_subscribe(&pdu, &t("system/availability")), Ok(()));
    for filter in [
        t("ups_a/command"),
        t("+/command"),
        t("#"),
        t("+/status"),
        t("system/events"),
        "#".to_owned(),
    ] {
        let e = a.may_subscribe(&pdu, &filter).expect_err(&filter);
        assert!(e.reason.contains("subscribes only"), "{}", e.reason);
    }
}

#[test]
fn operators_and_viewers_read_everything_under_the_prefix() {
    let a = access();
    for role in [Role::Operator, Role::Viewer] {
        let w = who(role);
        for filter in [
            t("#"),
            t("+/status"),
            t("system/topology"),
            t("system/drill/#"),
        ] {
            assert_eq!(a.may_subscribe(&w, &filter), Ok(()), "{filter}");
        }
        for filter in [
            "#",
            "+/+/status",
            "$SYS/#",
            "winter-riverx/#",
            "winter-river",
        ] {
            assert!(a.may_subscribe(&w, filter).is_err(), "{filter}");
        }
    }
}

#[test]
fn the_rules_follow_the_prefix() {
    let a = Access::from_toml_str(FILE, "auth.toml", "site/b").expect("parses");
    let pdu = board("pdu_a");
    assert_eq!(a.may_publish(&pdu, "site/b/pdu_a/status", b"{}"), Ok(()));
    assert!(a.may_publish(&pdu, &t("pdu_a/status"), b"{}").is_err());
    assert_eq!(a.may_subscribe(&pdu, "site/b/pdu_a/command"), Ok(()));
    assert!(matches!(
        Access::from_toml_str(FILE, "auth.toml", "a/+/b"),
        Err(AccessError::BadPrefix(_))
    ));
}

// ── the Mosquitto ACL ────────────────────────────────────────────────────────

#[test]
fn the_mosquitto_acl_has_one_block_per_user() {
    let acl = access().mosquitto_acl();
    assert!(
        acl.contains(
            "user pdu_a\ntopic write winter-river/pdu_a/status\ntopic write winter-river/pdu_a/availability\ntopic readwrite winter-river/pdu_a/command\ntopic read winter-river/system/availability\n"
        ),
        "{acl}"
    );
    assert!(
        acl.contains("user engine\ntopic readwrite winter-river/#\n"),
        "{acl}"
    );
    assert!(
        acl.contains(
            "user dashboard\ntopic read winter-river/#\ntopic write winter-river/+/command\ntopic write winter-river/system/drill/command\n"
        ),
        "{acl}"
    );
    assert!(
        acl.contains("user telegraf\ntopic read winter-river/#\n"),
        "{acl}"
    );
    assert!(acl.contains("user root\ntopic readwrite #\n"), "{acl}");
    assert!(!acl.contains("secret"), "{acl}");
    // Refused anonymous clients get no lines before the first user.
    let before_users = acl.split("\nuser ").next().unwrap_or_default();
    assert!(!before_users.contains("\ntopic"), "{before_users}");
    assert!(!access().mosquitto_allow_anonymous());
}

#[test]
fn the_plain_password_lines_are_one_per_user() {
    let lines = access().mosquitto_plain_passwords();
    assert_eq!(lines.lines().count(), 6);
    assert!(lines.contains("pdu_a:pdu-secret\n"), "{lines}");
    assert!(lines.contains("engine:engine-secret\n"), "{lines}");
}

// ── the file's errors ────────────────────────────────────────────────────────

fn error(text: &str) -> String {
    Access::from_toml_str(text, "auth.toml", P)
        .expect_err("refused")
        .to_string()
}

#[test]
fn errors_name_the_file_the_line_and_the_field() {
    let e = error("[[user]]\nname = \"a\"\nrole = \"king\"\npassword = \"pw\"\n");
    assert_eq!(
        e,
        "auth.toml, line 3, `role`: `king` is not a role (one of `admin`, `engine`, `operator`, `viewer`)"
    );
    let e = error("[[user]]\nname = \"a b\"\nrole = \"viewer\"\npassword = \"pw\"\n");
    assert!(e.starts_with("auth.toml, line 2, `name`:"), "{e}");
    let e = error("[[user]]\nname = \"a\"\nrole = \"viewer\"\npassword = \"\"\n");
    assert_eq!(e, "auth.toml, line 4, `password`: the password is empty");
    let e = error("[boards]\npdu_a = \"pw\"\nPDU = \"pw\"\n");
    assert!(
        e.starts_with("auth.toml, line 3, `boards.PDU`: not a node id"),
        "{e}"
    );
    let e = error("[boards]\nsystem = \"pw\"\n");
    assert!(e.starts_with("auth.toml, line 2, `boards.system`"), "{e}");
    let e = error("anonymous = \"everyone\"\n[boards]\na = \"pw\"\n");
    assert!(e.starts_with("auth.toml, line 1, `anonymous`"), "{e}");
    let e = error("[[user]]\nname = \"a\"\nrole = \"board\"\npassword = \"pw\"\n");
    assert!(e.contains("[boards]"), "{e}");
    let e = error("");
    assert_eq!(
        e,
        "auth.toml: no [[user]] and no [boards]: nobody could log in"
    );
}

#[test]
fn duplicate_names_are_refused_with_both_lines() {
    let dup = "[[user]]\nname = \"a\"\nrole = \"viewer\"\npassword = \"p1\"\n\
               [[user]]\nname = \"a\"\nrole = \"engine\"\npassword = \"p2\"\n";
    let e = error(dup);
    assert!(e.starts_with("auth.toml, line 6, `name`:"), "{e}");
    assert!(e.contains("line 1"), "{e}");
    let clash = "[[user]]\nname = \"pdu_a\"\nrole = \"viewer\"\npassword = \"p1\"\n\
                 [boards]\npdu_a = \"p2\"\n";
    let e = error(clash);
    assert!(e.starts_with("auth.toml, line 6, `boards.pdu_a`:"), "{e}");
    assert!(e.contains("no user may be named after a board"), "{e}");
}

#[test]
fn syntax_errors_and_unknown_fields_never_quote_a_password() {
    let bad = "[[user]]\nname = \"a\"\nrole = \"viewer\"\npassword = \"hunter2\n";
    let e = error(bad);
    assert!(e.starts_with("auth.toml, line 4"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let typo = "[[user]]\nname = \"a\"\nrole = \"viewer\"\npasswd = \"hunter2\"\n";
    let e = error(typo);
    assert!(e.contains("passwd"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let wrong_type = "[boards]\npdu_a = 1234567\n";
    let e = error(wrong_type);
    assert_eq!(
        e,
        "auth.toml, line 2, `boards.pdu_a`: a password must be a string in quotes (this is a TOML integer)"
    );
    let e = error("[[user]]\nname = \"a\"\nrole = \"viewer\"\npassword = 987654\n");
    assert!(e.starts_with("auth.toml, line 4, `password`"), "{e}");
    assert!(!e.contains("987654"), "{e}");
    for unquoted in [
        "[boards]\npdu_a = hunter2\n",
        "[boards]\npdu_a = 'hunter2\n",
        "[boards]\npdu_a = \"\"\"hunter2\n",
        "[[user]]\nname = \"a\"\nrole = \"viewer\"\npassword = [\"hunter2\"\n",
    ] {
        let e = error(unquoted);
        assert!(e.starts_with("auth.toml, line "), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}

#[test]
fn a_file_others_can_read_is_loaded_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("wr-access-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("auth.toml");
    std::fs::write(&path, FILE).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let open = Access::from_file(&path, P).expect("loads");
    assert_eq!(open.warnings().len(), 1, "{:?}", open.warnings());
    assert!(
        open.warnings()[0].contains("chmod 600"),
        "{:?}",
        open.warnings()
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let private = Access::from_file(&path, P).expect("loads");
    assert!(private.warnings().is_empty(), "{:?}", private.warnings());
    let missing = Access::from_file(&dir.join("nope.toml"), P).expect_err("missing");
    assert!(missing.to_string().contains("nope.toml"), "{missing}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An open broker with one closed topic: what Eclipse Paho's interoperability suite needs
/// for its `test_subscribe_failure` (docs/broker.md, "Conformance").
#[test]
fn deny_subscribe_closes_a_filter_to_everyone() {
    let text = "anonymous = \"admin\"\ndeny_subscribe = [\"test/nosubscribe\", \"secret/#\"]\n";
    let a = Access::from_toml_str(text, "paho.toml", P).expect("parses");
    let anyone = a.authenticate(None, None).expect("anonymous admin");
    assert_eq!(anyone.role, Role::Admin);
    let refused = a
        .may_subscribe(&anyone, "test/nosubscribe")
        .expect_err("closed");
    assert!(refused.reason.contains("deny_subscribe"), "{refused}");
    assert!(a.may_subscribe(&anyone, "secret/a/b").is_err());
    assert!(a.may_subscribe(&anyone, "TopicA").is_ok());
    assert!(a.may_publish(&anyone, "test/nosubscribe", b"x").is_ok());
    let bad = Access::from_toml_str(
        "anonymous = \"admin\"\ndeny_subscribe = [\"a/#/b\"]\n",
        "bad.toml",
        P,
    )
    .expect_err("an invalid filter");
    let text = bad.to_string();
    assert!(
        text.contains("bad.toml, line 2") && text.contains("deny_subscribe"),
        "{text}"
    );
}
