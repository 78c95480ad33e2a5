//! Every configuration file parses; the systemd units are hardened; no placeholders.

use crate::util::{files_under, read, rel, repo};

const DIRS: &[&str] = &["telegraf", "grafana", "deploy"];

#[test]
fn every_toml_yaml_and_json_file_parses() {
    let mut checked = Vec::new();
    for path in files_under(DIRS) {
        let name = rel(&path);
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let text =
            || std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
        match ext {
            // Telegraf's configuration is TOML.
            "toml" | "conf" if ext == "toml" || name.starts_with("telegraf/") => {
                if let Err(e) = toml::from_str::<toml::Table>(&text()) {
                    panic!("{name} is not valid TOML: {e}");
                }
            }
            "yaml" | "yml" => {
                if let Err(e) = serde_yaml::from_str::<serde_yaml::Value>(&text()) {
                    panic!("{name} is not valid YAML: {e}");
                }
            }
            "json" => {
                if let Err(e) = serde_json::from_str::<serde_json::Value>(&text()) {
                    panic!("{name} is not valid JSON: {e}");
                }
            }
            _ => continue,
        }
        checked.push(name);
    }
    for expected in [
        "telegraf/telegraf.conf",
        "grafana/provisioning/datasources/winter-river.yaml",
        "grafana/provisioning/dashboards/winter-river.yaml",
        "grafana/dashboards/power-chain.json",
        "grafana/dashboards/live.json",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} was not found (checked: {checked:?})"
        );
    }
}

#[test]
fn dashboards_have_no_import_placeholders_and_unique_uids() {
    let mut uids = Vec::new();
    for path in files_under(&["grafana/dashboards"]) {
        let name = rel(&path);
        let text = std::fs::read_to_string(&path).expect("readable");
        assert!(
            !text.contains("${DS_") && !text.contains("__inputs"),
            "{name}: uses import placeholders (${{DS_…}} / __inputs); name the datasource uids"
        );
        let dash: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let uid = dash["uid"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no uid"));
        assert!(
            !uids.contains(&uid.to_string()),
            "{name}: uid {uid} used twice"
        );
        uids.push(uid.to_string());
    }
    let titles: Vec<String> = files_under(&["grafana/dashboards"])
        .iter()
        .map(|p| {
            let d: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(p).expect("readable")).expect("JSON");
            d["title"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    for t in ["Power chain", "Live"] {
        assert!(
            titles.iter().any(|x| x == t),
            "no dashboard titled {t:?}: {titles:?}"
        );
    }
}

/// `key=value` lines of a systemd unit, by section.
fn unit_settings(text: &str) -> Vec<(String, String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = s.to_string();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        out.push((section.clone(), k.trim().to_string(), v.trim().to_string()));
    }
    out
}

#[test]
fn systemd_units_run_the_cli_hardened_and_restart_on_failure() {
    for sub in ["engine", "web", "nodes"] {
        let name = format!("deploy/systemd/winter-river-{sub}.service");
        let settings = unit_settings(&read(&name));
        let get = |section: &str, key: &str| -> Vec<&str> {
            settings
                .iter()
                .filter(|(s, k, _)| s == section && k == key)
                .map(|(_, _, v)| v.as_str())
                .collect()
        };
        let expect = |section: &str, key: &str, value: &str| {
            assert_eq!(
                get(section, key),
                vec![value],
                "{name}: [{section}] {key} should be {value}"
            );
        };
        let exec = get("Service", "ExecStart");
        assert_eq!(exec.len(), 1, "{name}: one ExecStart");
        assert!(
            exec[0].starts_with(&format!("/usr/local/bin/winter-river {sub} ")),
            "{name}: ExecStart runs `winter-river {sub}`: {}",
            exec[0]
        );
        expect("Service", "User", "winter-river");
        expect("Service", "Restart", "on-failure");
        expect("Service", "ProtectSystem", "strict");
        expect("Service", "ProtectHome", "yes");
        expect("Service", "NoNewPrivileges", "yes");
        expect("Service", "PrivateTmp", "yes");
        expect("Service", "CapabilityBoundingSet", "");
        expect(
            "Service",
            "EnvironmentFile",
            "/etc/winter-river/winter-river.env",
        );
        expect("Install", "WantedBy", "multi-user.target");
    }
}

#[test]
fn the_env_example_documents_every_variable_setup_pi_reads() {
    let script = read("scripts/setup_pi.sh");
    let start = script
        .find("readonly ENV_KEYS=\"")
        .expect("setup_pi.sh lists ENV_KEYS");
    let rest = &script[start + "readonly ENV_KEYS=\"".len()..];
    let keys: Vec<&str> = rest[..rest.find('"').expect("closing quote")]
        .split_whitespace()
        .collect();
    assert!(keys.len() > 5, "ENV_KEYS: {keys:?}");
    let example = read("grafana/.env.example");
    let documented: Vec<&str> = example
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.split('=').next().unwrap_or_default())
        .collect();
    assert_eq!(
        documented, keys,
        "grafana/.env.example and setup_pi.sh's ENV_KEYS differ"
    );
    let gitignore = std::fs::read_to_string(repo().join(".gitignore")).expect(".gitignore");
    assert!(
        gitignore.lines().any(|l| l.trim() == "grafana/.env"),
        ".gitignore must keep grafana/.env (secrets) out of git"
    );
}
