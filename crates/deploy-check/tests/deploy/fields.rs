//! Telegraf's configuration and the Grafana dashboards name only what the protocol
//! publishes: the key lists come from serializing `Status` and `SystemStatus`, the
//! status words and kinds from `NodeState` / `NodeKind`, the topics from `Topic`.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use serde_json::Value;
use winter_river_protocol::{
    AshraeClass, DEFAULT_PREFIX, FieldType, Measurements, RECOMMENDED_MAX_C, SystemStatus, Topic,
    encode_status, encode_system_status, status_filter, validate_node_id,
};

use crate::util::{
    JsonType, Keys, files_under, full_status, full_system_status, kind_words, read, rel,
    status_keys, status_words, system_keys,
};

/// Columns every Flux table has.
const FLUX_BUILTINS: &[&str] = &[
    "_time",
    "_value",
    "_field",
    "_measurement",
    "_start",
    "_stop",
];
/// The time column of the MQTT datasource's frames.
const MQTT_TIME: &str = "Time";

/// Which payload a measurement stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payload {
    Node,
    System,
}

/// One InfluxDB measurement as Telegraf writes it.
#[derive(Debug, Clone)]
struct Measurement {
    payload: Payload,
    tags: BTreeSet<String>,
    fields: BTreeSet<String>,
}

impl Measurement {
    fn has_column(&self, name: &str) -> bool {
        self.tags.contains(name) || self.fields.contains(name)
    }
}

fn keys_for(payload: Payload) -> Keys {
    match payload {
        Payload::Node => status_keys(),
        Payload::System => system_keys(),
    }
}

fn strings(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().expect("a list of strings").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn telegraf() -> toml::Table {
    toml::from_str(&read("telegraf/telegraf.conf")).expect("telegraf.conf is TOML")
}

/// The measurements telegraf.conf writes, checked against the protocol on the way:
/// panics with every problem found.
fn measurements() -> BTreeMap<String, Measurement> {
    let conf = telegraf();
    let inputs = conf
        .get("inputs")
        .and_then(|i| i.get("mqtt_consumer"))
        .and_then(|m| m.as_array())
        .expect("telegraf.conf has [[inputs.mqtt_consumer]]");
    let mut errors = Vec::new();
    let mut out = BTreeMap::new();
    for (i, input) in inputs.iter().enumerate() {
        let at = format!("telegraf.conf: inputs.mqtt_consumer #{}", i + 1);
        let topics = strings(input.get("topics"));
        let [topic] = topics.as_slice() else {
            errors.push(format!(
                "{at}: one topic per input expected, found {topics:?}"
            ));
            continue;
        };
        if topic.contains('#') {
            errors.push(format!(
                "{at}: `{topic}`: no `#` (commands and events are not metrics)"
            ));
        }
        let payload = if *topic == status_filter(DEFAULT_PREFIX) {
            Payload::Node
        } else if Topic::parse(DEFAULT_PREFIX, topic) == Ok(Topic::SystemStatus) {
            Payload::System
        } else {
            errors.push(format!(
                "{at}: `{topic}` is not a status topic of the protocol"
            ));
            continue;
        };
        let keys = keys_for(payload);
        if input.get("data_format").and_then(|v| v.as_str()) != Some("json") {
            errors.push(format!("{at}: data_format must be \"json\""));
        }
        let Some(name) = input.get("name_override").and_then(|v| v.as_str()) else {
            errors.push(format!("{at}: no name_override"));
            continue;
        };
        let mut tags = BTreeSet::new();
        let mut string_fields = BTreeSet::new();
        for (list, set) in [
            ("tag_keys", &mut tags),
            ("json_string_fields", &mut string_fields),
        ] {
            for key in strings(input.get(list)) {
                match keys.get(&key) {
                    Some(JsonType::String) => {}
                    Some(JsonType::Number) => errors.push(format!(
                        "{at}: {list} names `{key}`, a number (numbers are kept as fields anyway)"
                    )),
                    None => errors.push(format!(
                        "{at}: {list} names `{key}`, which {payload:?} status does not publish"
                    )),
                }
                set.insert(key);
            }
        }
        let parsing = input
            .get("topic_parsing")
            .and_then(|t| t.as_array())
            .cloned()
            .unwrap_or_default();
        if parsing.is_empty() {
            errors.push(format!(
                "{at}: no topic_parsing: node_id must come from the topic"
            ));
        }
        for p in &parsing {
            let p_topic = p.get("topic").and_then(|v| v.as_str()).unwrap_or_default();
            let p_tags = p.get("tags").and_then(|v| v.as_str()).unwrap_or_default();
            if p_topic != topic {
                errors.push(format!(
                    "{at}: topic_parsing topic `{p_topic}` is not `{topic}`"
                ));
            }
            if p_tags.split('/').count() != topic.split('/').count() {
                errors.push(format!(
                    "{at}: topic_parsing tags `{p_tags}` do not match `{topic}`'s levels"
                ));
            }
            for tag in p_tags.split('/').filter(|t| *t != "_") {
                if !keys.contains_key(tag) {
                    errors.push(format!("{at}: topic tag `{tag}` is not a published key"));
                }
                tags.insert(tag.to_string());
            }
        }
        if !tags.contains("node_id") {
            errors.push(format!("{at}: node_id is not a tag"));
        }
        // Telegraf's json parser drops strings it is not told about: every string the
        // protocol publishes is a tag or a string field, on purpose.
        for (key, t) in &keys {
            if *t == JsonType::String && !tags.contains(key) && !string_fields.contains(key) {
                errors.push(format!(
                    "{at}: `{key}` is a published string that Telegraf would drop: make it a tag or a json_string_field"
                ));
            }
        }
        if payload == Payload::Node {
            // `<p>/+/status` also matches `<p>/system/status`.
            let drop = input
                .get("tagdrop")
                .and_then(|t| t.get("node_id"))
                .map(|v| strings(Some(v)))
                .unwrap_or_default();
            if !drop.iter().any(|d| d == "system") {
                errors.push(format!(
                    "{at}: `{topic}` also matches the system status: tagdrop node_id = [\"system\"]"
                ));
            }
        }
        let fields: BTreeSet<String> = keys
            .iter()
            .filter(|(k, t)| **t == JsonType::Number && !tags.contains(*k))
            .map(|(k, _)| k.clone())
            .chain(string_fields.iter().cloned())
            .collect();
        let m = Measurement {
            payload,
            tags,
            fields,
        };
        if out.insert(name.to_string(), m).is_some() {
            errors.push(format!("{at}: name_override `{name}` used twice"));
        }
    }
    for payload in [Payload::Node, Payload::System] {
        if !out.values().any(|m| m.payload == payload) {
            errors.push(format!(
                "telegraf.conf: no input stores the {payload:?} status"
            ));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    out
}

fn bucket() -> String {
    let conf = telegraf();
    let outputs = conf
        .get("outputs")
        .and_then(|o| o.get("influxdb_v2"))
        .and_then(|o| o.as_array())
        .expect("telegraf.conf has [[outputs.influxdb_v2]]");
    assert_eq!(outputs.len(), 1, "one influxdb_v2 output");
    outputs[0]["bucket"].as_str().expect("a bucket").to_string()
}

#[test]
fn telegraf_keeps_every_published_string_and_tags_node_id_from_the_topic() {
    let ms = measurements();
    let node = ms
        .values()
        .find(|m| m.payload == Payload::Node)
        .expect("node measurement");
    // The decision of docs/deploy.md: status and kind are tags, source a string field.
    assert!(node.tags.contains("status"), "status is a tag");
    assert!(node.tags.contains("kind"), "kind is a tag");
    assert!(node.fields.contains("source"), "source is a string field");
    assert!(node.fields.contains("power_kw") && !node.fields.contains("status"));
}

#[test]
fn telegraf_writes_mqtt_metrics_with_credentials_from_the_environment() {
    assert_eq!(bucket(), "mqtt_metrics");
    let conf = telegraf();
    let out = &conf["outputs"]["influxdb_v2"][0];
    assert_eq!(out["token"].as_str(), Some("${INFLUX_TOKEN}"));
    assert_eq!(out["organization"].as_str(), Some("${INFLUX_ORG}"));
    let urls = strings(out.get("urls"));
    assert!(
        urls.len() == 1 && urls[0].starts_with("${INFLUX_URL"),
        "urls from $INFLUX_URL: {urls:?}"
    );
}

// ── Flux ─────────────────────────────────────────────────────────────────────────

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a valid regex")
}

/// Every problem with the names a Flux query uses.
fn check_flux(query: &str, ms: &BTreeMap<String, Measurement>, bucket: &str) -> Vec<String> {
    let code: String = query
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut errors = Vec::new();
    let named: Vec<String> = re(r#"r\._measurement\s*==\s*"([^"]*)""#)
        .captures_iter(&code)
        .map(|c| c[1].to_string())
        .collect();
    if named.is_empty() {
        errors.push("names no r._measurement".into());
    }
    let mut used = Vec::new();
    for name in &named {
        match ms.get(name) {
            Some(m) => used.push(m),
            None => errors.push(format!(
                "measurement `{name}` is not written by telegraf.conf ({:?})",
                ms.keys().collect::<Vec<_>>()
            )),
        }
    }
    let is_tag = |n: &str| used.iter().any(|m| m.tags.contains(n));
    let is_field = |n: &str| used.iter().any(|m| m.fields.contains(n));
    let is_column = |n: &str| FLUX_BUILTINS.contains(&n) || used.iter().any(|m| m.has_column(n));

    for c in re(r#"r\._field\s*==\s*"([^"]*)""#).captures_iter(&code) {
        let f = &c[1];
        if is_tag(f) {
            errors.push(format!("`{f}` is a tag, not a field"));
        } else if !is_field(f) {
            errors.push(format!("field `{f}` is not published"));
        }
    }
    let columns = re(r#"\br\.([A-Za-z_][A-Za-z0-9_]*)|\br\["([^"]+)"\]"#);
    for c in columns.captures_iter(&code) {
        let n = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
        if !is_column(n) {
            errors.push(format!("column `r.{n}` is not a published tag or field"));
        }
    }
    let lists = re(r#"\b(columns|rowKey|columnKey)\s*:\s*\[([^\]]*)\]"#);
    let quoted = re(r#""([^"]*)""#);
    for c in lists.captures_iter(&code) {
        for q in quoted.captures_iter(&c[2]) {
            if !is_column(&q[1]) {
                errors.push(format!(
                    "{} names `{}`, not a published tag or field",
                    &c[1], &q[1]
                ));
            }
        }
    }
    // Before a pivot only tags are columns: grouping by a field name is a mistake.
    let grouping = re(r#"group\(\s*columns\s*:\s*\[([^\]]*)\]|rowKey\s*:\s*\[([^\]]*)\]"#);
    for c in grouping.captures_iter(&code) {
        let list = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
        for q in quoted.captures_iter(list) {
            let n = &q[1];
            if is_field(n) && !is_tag(n) {
                errors.push(format!(
                    "groups by `{n}`, a field (only tags are columns before pivot)"
                ));
            }
        }
    }
    for c in re(r#"valueColumn\s*:\s*"([^"]*)""#).captures_iter(&code) {
        if !is_column(&c[1]) {
            errors.push(format!("valueColumn `{}` is not a column", &c[1]));
        }
    }
    for c in re(r#"\btag\s*:\s*"([^"]*)""#).captures_iter(&code) {
        if !is_tag(&c[1]) {
            errors.push(format!("tag `{}` is not a tag", &c[1]));
        }
    }
    for c in re(r#"\bbucket\s*:\s*"([^"]*)""#).captures_iter(&code) {
        if &c[1] != bucket {
            errors.push(format!("bucket `{}` is not Telegraf's `{bucket}`", &c[1]));
        }
    }
    let compared = re(r#"\br\.(status|kind|node_id)\s*==\s*"([^"]*)""#);
    for c in compared.captures_iter(&code) {
        let (tag, value) = (&c[1], &c[2]);
        let ok = match tag {
            "status" => status_words().contains(&value),
            "kind" => kind_words().contains(&value),
            _ => value.starts_with('$') || validate_node_id(value).is_ok(),
        };
        if !ok {
            errors.push(format!(
                "r.{tag} == \"{value}\": not a {tag} the protocol knows"
            ));
        }
    }
    errors
}

/// Every panel of a dashboard, rows' children included.
fn panels(dash: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for p in list.as_array().into_iter().flatten() {
            out.push(p);
            walk(&p["panels"], out);
        }
    }
    walk(&dash["panels"], &mut out);
    out
}

fn dashboards() -> Vec<(String, Value)> {
    files_under(&["grafana/dashboards"])
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).expect("readable"))
                .expect("JSON");
            (rel(&p), v)
        })
        .collect()
}

/// `uid → type` of the provisioned datasources.
fn provisioned_datasources() -> BTreeMap<String, (String, serde_yaml::Value)> {
    let mut out = BTreeMap::new();
    for path in files_under(&["grafana/provisioning/datasources"]) {
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("YAML");
        for ds in doc["datasources"].as_sequence().into_iter().flatten() {
            let uid = ds["uid"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: a datasource without a fixed uid", rel(&path)));
            let t = ds["type"].as_str().expect("a type").to_string();
            out.insert(uid.to_string(), (t, ds.clone()));
        }
    }
    out
}

/// The (uid, type) of a datasource reference.
fn ds_ref(ds: &Value) -> (&str, &str) {
    (
        ds["uid"].as_str().unwrap_or_default(),
        ds["type"].as_str().unwrap_or_default(),
    )
}

/// The datasource (uid, type) a target uses: its own, else its panel's.
fn datasource_of<'a>(panel: &'a Value, target: &'a Value) -> (&'a str, &'a str) {
    if target["datasource"].is_object() {
        ds_ref(&target["datasource"])
    } else {
        ds_ref(&panel["datasource"])
    }
}

#[test]
fn flux_queries_name_only_published_fields_and_tags() {
    let ms = measurements();
    let bucket = bucket();
    let mut errors = Vec::new();
    let mut checked = 0;
    for (name, dash) in dashboards() {
        let mut queries = Vec::new();
        for p in panels(&dash) {
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(q) = t["query"].as_str() {
                    queries.push((format!("panel {:?}", p["title"]), q.to_string()));
                }
            }
        }
        for v in dash["templating"]["list"].as_array().into_iter().flatten() {
            if v["type"] == "query" {
                let q = v["query"].as_str().unwrap_or_default();
                queries.push((format!("variable {:?}", v["name"]), q.to_string()));
            }
        }
        for (what, q) in queries {
            checked += 1;
            for e in check_flux(&q, &ms, &bucket) {
                errors.push(format!("{name}: {what}: {e}"));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(checked >= 10, "only {checked} Flux queries found");
}

#[test]
fn the_flux_check_catches_wrong_names() {
    let ms = measurements();
    let bad = r#"from(bucket: "metrics")
  |> filter(fn: (r) => r._measurement == "node_status" and r._field == "status")
  |> filter(fn: (r) => r._field == "voltage" and r.kind == "battery" and r.phase == "a")
  |> group(columns: ["power_kw"])"#;
    let errors = check_flux(bad, &ms, "mqtt_metrics");
    for expected in [
        "`status` is a tag",
        "field `voltage`",
        "r.kind == \"battery\"",
        "column `r.phase`",
        "groups by `power_kw`",
        "bucket `metrics`",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "missed {expected:?}: {errors:#?}"
        );
    }
    assert!(!check_flux("from(bucket: \"mqtt_metrics\")", &ms, "mqtt_metrics").is_empty());
}

#[test]
fn panels_use_provisioned_datasource_uids() {
    let provisioned = provisioned_datasources();
    let mut errors = Vec::new();
    for (name, dash) in dashboards() {
        let mut used = Vec::new();
        for p in panels(&dash) {
            if p["type"] == "row" {
                continue;
            }
            let targets: Vec<&Value> = p["targets"].as_array().into_iter().flatten().collect();
            if targets.is_empty() {
                errors.push(format!("{name}: panel {:?} has no query", p["title"]));
            }
            for t in targets {
                used.push((format!("panel {:?}", p["title"]), datasource_of(p, t)));
            }
            if p["datasource"].is_object() {
                used.push((format!("panel {:?}", p["title"]), ds_ref(&p["datasource"])));
            }
        }
        for v in dash["templating"]["list"].as_array().into_iter().flatten() {
            if v["datasource"].is_object() {
                used.push((
                    format!("variable {:?}", v["name"]),
                    ds_ref(&v["datasource"]),
                ));
            }
        }
        for (what, (uid, t)) in used {
            match provisioned.get(uid) {
                None => errors.push(format!(
                    "{name}: {what}: datasource uid `{uid}` is not provisioned ({:?})",
                    provisioned.keys().collect::<Vec<_>>()
                )),
                Some((pt, _)) if pt != t => errors.push(format!(
                    "{name}: {what}: datasource `{uid}` is a {pt}, the panel says {t}"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn datasources_provision_flux_with_the_token_from_the_environment() {
    let provisioned = provisioned_datasources();
    let influx: Vec<_> = provisioned
        .values()
        .filter(|(t, _)| t == "influxdb")
        .collect();
    assert_eq!(influx.len(), 1, "one InfluxDB datasource");
    let ds = &influx[0].1;
    assert_eq!(ds["jsonData"]["version"].as_str(), Some("Flux"));
    assert_eq!(
        ds["jsonData"]["defaultBucket"].as_str(),
        Some(bucket().as_str())
    );
    let token = ds["secureJsonData"]["token"].as_str().unwrap_or_default();
    assert!(
        token == "$INFLUX_TOKEN" || token == "${INFLUX_TOKEN}",
        "the token comes from Grafana's environment, not the file: {token}"
    );
    let mqtt: Vec<_> = provisioned
        .values()
        .filter(|(t, _)| t == "grafana-mqtt-datasource")
        .collect();
    assert_eq!(mqtt.len(), 1, "one MQTT datasource");
    let uri = mqtt[0].1["jsonData"]["uri"].as_str().unwrap_or_default();
    assert!(
        uri.starts_with('$') || uri.starts_with("tcp://") || uri.starts_with("ws://"),
        "MQTT uri: {uri}"
    );
    // The dashboards provider reads the folder setup_pi.sh copies the JSON files to.
    let provider: serde_yaml::Value =
        serde_yaml::from_str(&read("grafana/provisioning/dashboards/winter-river.yaml"))
            .expect("YAML");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .expect("a provider path");
    assert!(
        read("scripts/setup_pi.sh").contains(&format!("GRAFANA_DASHBOARDS={path}")),
        "setup_pi.sh copies the dashboards to {path}"
    );
}

/// Names a panel refers to: filterFieldsByName / organize lists and byName overrides.
fn panel_field_names(p: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for t in p["transformations"].as_array().into_iter().flatten() {
        for n in t["options"]["include"]["names"]
            .as_array()
            .into_iter()
            .flatten()
        {
            out.extend(n.as_str().map(String::from));
        }
    }
    for o in p["fieldConfig"]["overrides"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if o["matcher"]["id"] == "byName" {
            out.extend(o["matcher"]["options"].as_str().map(String::from));
        }
    }
    out
}

#[test]
fn live_panels_subscribe_to_status_topics_and_name_published_fields() {
    let provisioned = provisioned_datasources();
    let mut errors = Vec::new();
    let mut mqtt_targets = 0;
    for (name, dash) in dashboards() {
        // Custom variables: their values replace `$var` in topics.
        let mut vars: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for v in dash["templating"]["list"].as_array().into_iter().flatten() {
            if v["type"] == "custom" {
                let values: Vec<String> = v["query"]
                    .as_str()
                    .unwrap_or_default()
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect();
                for id in &values {
                    if let Err(e) = validate_node_id(id) {
                        errors.push(format!("{name}: variable {:?}: `{id}`: {e}", v["name"]));
                    }
                }
                vars.insert(v["name"].as_str().unwrap_or_default().to_string(), values);
            }
        }
        for p in panels(&dash) {
            for t in p["targets"].as_array().into_iter().flatten() {
                let (uid, _) = datasource_of(p, t);
                if provisioned.get(uid).map(|(t, _)| t.as_str()) != Some("grafana-mqtt-datasource")
                {
                    continue;
                }
                mqtt_targets += 1;
                let what = format!("{name}: panel {:?}", p["title"]);
                let topic = t["topic"].as_str().unwrap_or_default();
                let mut expanded = vec![topic.to_string()];
                for (var, values) in &vars {
                    expanded = expanded
                        .iter()
                        .flat_map(|tp| {
                            if tp.contains(&format!("${{{var}}}"))
                                || tp.contains(&format!("${var}"))
                            {
                                values
                                    .iter()
                                    .map(|v| {
                                        tp.replace(&format!("${{{var}}}"), v)
                                            .replace(&format!("${var}"), v)
                                    })
                                    .collect()
                            } else {
                                vec![tp.clone()]
                            }
                        })
                        .collect();
                }
                let mut keys: BTreeSet<String> = BTreeSet::new();
                for tp in &expanded {
                    match Topic::parse(DEFAULT_PREFIX, tp) {
                        Ok(Topic::NodeStatus(_)) => keys.extend(status_keys().into_keys()),
                        Ok(Topic::SystemStatus) => keys.extend(system_keys().into_keys()),
                        other => errors.push(format!(
                            "{what}: topic `{tp}` is not a status topic ({other:?})"
                        )),
                    }
                }
                for n in panel_field_names(p) {
                    if n != MQTT_TIME && !keys.contains(&n) {
                        errors.push(format!(
                            "{what}: field `{n}` is not in the payload of `{topic}`"
                        ));
                    }
                }
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(mqtt_targets >= 2, "the Live dashboard has MQTT panels");
}

#[test]
fn influx_panels_name_only_columns_of_their_measurements() {
    let ms = measurements();
    let provisioned = provisioned_datasources();
    let mut errors = Vec::new();
    for (name, dash) in dashboards() {
        for p in panels(&dash) {
            let queries: Vec<&str> = p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| {
                    provisioned
                        .get(datasource_of(p, t).0)
                        .map(|(t, _)| t.as_str())
                        == Some("influxdb")
                })
                .filter_map(|t| t["query"].as_str())
                .collect();
            if queries.is_empty() {
                continue;
            }
            let columns: BTreeSet<String> = ms
                .iter()
                .filter(|(m, _)| queries.iter().any(|q| q.contains(&format!("\"{m}\""))))
                .flat_map(|(_, m)| m.tags.iter().chain(m.fields.iter()).cloned())
                .collect();
            for n in panel_field_names(p) {
                if !columns.contains(&n) {
                    errors.push(format!(
                        "{name}: panel {:?}: `{n}` is not a column of its measurements",
                        p["title"]
                    ));
                }
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// Every value mapping in a JSON tree.
fn value_mappings<'a>(v: &'a Value, out: &mut Vec<&'a serde_json::Map<String, Value>>) {
    match v {
        Value::Object(map) => {
            if map.get("type").and_then(|t| t.as_str()) == Some("value") {
                if let Some(Value::Object(options)) = map.get("options") {
                    out.push(options);
                }
            }
            for child in map.values() {
                value_mappings(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|c| value_mappings(c, out)),
        _ => {}
    }
}

#[test]
fn status_colour_mappings_cover_exactly_the_status_words() {
    let words: BTreeSet<&str> = status_words().into_iter().collect();
    let mut found = 0;
    for (name, dash) in dashboards() {
        let mut maps = Vec::new();
        value_mappings(&dash, &mut maps);
        for m in maps {
            let keys: BTreeSet<&str> = m.keys().map(String::as_str).collect();
            assert_eq!(
                keys, words,
                "{name}: a value mapping that is not the status vocabulary of docs/protocol.md#status-words"
            );
            found += 1;
        }
    }
    assert!(
        found >= 2,
        "status mappings on the table and the Live panels"
    );
}

#[test]
fn electrical_values_are_json_floats_even_when_whole() {
    // Why Telegraf never meets a field type conflict: 480 V goes out as 480.0.
    // Every number of the protocol's field tables, so a new one is checked too.
    let mut s = full_status();
    s.measured.voltage_in = Some(480.0);
    s.measured.power_kw = Some(0.0);
    let v: Value = serde_json::from_slice(&encode_status(&s).expect("encodes")).expect("JSON");
    let numbers = Measurements::FIELDS
        .iter()
        .filter(|f| f.ty == FieldType::Number);
    for k in numbers.map(|f| f.name) {
        assert!(
            v[k].is_f64(),
            "Status `{k}` is sent as {} (not a float)",
            v[k]
        );
    }
    let mut sys = full_system_status();
    sys.it_kw = 5.0;
    sys.it_kw_lost = 0.0;
    sys.utility_kw = 0.0;
    let v: Value =
        serde_json::from_slice(&encode_system_status(&sys).expect("encodes")).expect("JSON");
    let numbers: Vec<&str> = SystemStatus::FIELDS
        .iter()
        .filter(|f| f.ty == FieldType::Number)
        .map(|f| f.name)
        .collect();
    for k in ["utility_kw", "generator_kw", "battery_kw", "facility_kw"] {
        assert!(numbers.contains(&k), "SystemStatus has a number `{k}`");
    }
    for k in numbers {
        assert!(
            v[k].is_f64(),
            "SystemStatus `{k}` is sent as {} (not a float)",
            v[k]
        );
    }
}

/// The power fields of `system/status` [kW] (IT, facility, each source, lost).
fn system_power_fields() -> Vec<&'static str> {
    SystemStatus::FIELDS
        .iter()
        .filter(|f| f.ty == FieldType::Number && f.unit == "kW")
        .map(|f| f.name)
        .collect()
}

#[test]
fn site_power_charts_show_every_power_field_of_the_system_status() {
    // Where facility power is charted, what it is made of (utility, generator,
    // battery discharge) is charted beside it.
    let wanted = system_power_fields();
    assert!(wanted.contains(&"battery_kw") && wanted.contains(&"facility_kw"));
    let mut charts = 0;
    let mut errors = Vec::new();
    for (name, dash) in dashboards() {
        for p in panels(&dash) {
            if p["type"] != "timeseries" {
                continue;
            }
            let queries: Vec<&str> = p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["query"].as_str())
                .collect();
            let names = panel_field_names(p);
            let charts_field = |f: &str| {
                names.iter().any(|n| n == f)
                    || queries
                        .iter()
                        .any(|q| q.contains(&format!("r._field == \"{f}\"")))
            };
            if !charts_field("facility_kw") {
                continue;
            }
            charts += 1;
            for f in &wanted {
                if !charts_field(f) {
                    errors.push(format!(
                        "{name}: panel {:?} charts facility_kw but not `{f}`",
                        p["title"]
                    ));
                }
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(charts >= 2, "facility power charted live and from InfluxDB");
}

// ── Temperatures ─────────────────────────────────────────────────────────────────

/// The °C fields of the Status and the SystemStatus, from the protocol's field
/// tables (room `temperature_c`, `solid_c`, server `inlet_c`, site `max_inlet_c`).
fn celsius_fields() -> BTreeSet<&'static str> {
    Measurements::FIELDS
        .iter()
        .chain(SystemStatus::FIELDS)
        .filter(|f| f.unit == "°C")
        .map(|f| f.name)
        .collect()
}

/// The temperatures a threshold may mark [°C]: the recommended maximum and each
/// class's allowable maximum (the protocol's ASHRAE table).
fn ashrae_limits_c() -> Vec<f64> {
    std::iter::once(RECOMMENDED_MAX_C)
        .chain(AshraeClass::ALL.iter().map(|c| c.spec().allowable_max_c))
        .collect()
}

/// The fields a panel shows: those its Flux queries select and those it names in
/// transformations and overrides. A query that charts the status word in place of
/// the value (`_value: r.status`, the state timeline) selects a field only to have
/// one point per status: it shows no field's value.
fn shown_fields(p: &Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = panel_field_names(p).into_iter().collect();
    let status_word = re(r#"_value\s*:\s*r\.status\b"#);
    for t in p["targets"].as_array().into_iter().flatten() {
        let q = t["query"].as_str().unwrap_or_default();
        if status_word.is_match(q) {
            continue;
        }
        for c in re(r#"r\._field\s*==\s*"([^"]*)""#).captures_iter(q) {
            out.insert(c[1].to_string());
        }
    }
    out
}

/// The value of property `id` in the byName override of `field`, if any.
fn override_property<'a>(p: &'a Value, field: &str, id: &str) -> Option<&'a Value> {
    p["fieldConfig"]["overrides"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["matcher"]["id"] == "byName" && o["matcher"]["options"] == field)
        .flat_map(|o| o["properties"].as_array().into_iter().flatten())
        .find(|prop| prop["id"] == id)
        .map(|prop| &prop["value"])
}

/// The non-base threshold steps \[°C\] of a thresholds object.
fn threshold_steps(thresholds: &Value) -> Vec<f64> {
    thresholds["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["value"].as_f64())
        .collect()
}

/// Every problem with how panel `p` shows temperatures: a °C field not in unit
/// `celsius`, or thresholds on one that are not the ASHRAE limits (the recommended
/// maximum, then allowable maxima of the classes).
fn check_temperature_panel(p: &Value) -> Vec<String> {
    let celsius = celsius_fields();
    let limits = ashrae_limits_c();
    let defaults = &p["fieldConfig"]["defaults"];
    let mut errors = Vec::new();
    for field in shown_fields(p)
        .iter()
        .filter(|f| celsius.contains(f.as_str()))
    {
        let unit = override_property(p, field, "unit").unwrap_or(&defaults["unit"]);
        if unit != "celsius" {
            errors.push(format!("`{field}` is in °C, shown in unit {unit}"));
        }
        let thresholds = override_property(p, field, "thresholds").or_else(|| {
            (defaults["unit"] == "celsius" && defaults["thresholds"].is_object())
                .then_some(&defaults["thresholds"])
        });
        let Some(thresholds) = thresholds else {
            continue;
        };
        let steps = threshold_steps(thresholds);
        if !steps.contains(&RECOMMENDED_MAX_C) {
            errors.push(format!(
                "`{field}`: thresholds {steps:?} do not mark the recommended {RECOMMENDED_MAX_C} °C"
            ));
        }
        for s in steps.iter().filter(|s| !limits.contains(s)) {
            errors.push(format!(
                "`{field}`: threshold {s} °C is no ASHRAE limit ({limits:?})"
            ));
        }
    }
    errors
}

#[test]
fn temperatures_are_in_celsius_with_thresholds_at_the_ashrae_limits() {
    assert_eq!(
        celsius_fields(),
        ["inlet_c", "max_inlet_c", "solid_c", "temperature_c"].into()
    );
    let mut errors = Vec::new();
    let mut shown = BTreeSet::new();
    for (name, dash) in dashboards() {
        for p in panels(&dash) {
            shown.extend(shown_fields(p));
            for e in check_temperature_panel(p) {
                errors.push(format!("{name}: panel {:?}: {e}", p["title"]));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // Every temperature the protocol publishes is on a dashboard.
    for f in celsius_fields() {
        assert!(shown.contains(f), "no panel shows `{f}`");
    }
    assert!(shown.contains("cooling_kw"), "no panel shows `cooling_kw`");
}

#[test]
fn a_chart_shows_room_air_and_the_highest_inlet_against_27_and_35_c() {
    // Issue 14: room temperatures and the highest inlet, thresholds at the
    // recommended maximum and at class A2's allowable maximum (hall.toml's class).
    let want = [RECOMMENDED_MAX_C, AshraeClass::A2.spec().allowable_max_c];
    assert_eq!(want, [27.0, 35.0]);
    let ms = measurements();
    let room = ms
        .values()
        .find(|m| m.payload == Payload::Node)
        .expect("node measurement");
    let system = ms
        .values()
        .find(|m| m.payload == Payload::System)
        .expect("system measurement");
    assert!(room.fields.contains("temperature_c") && system.fields.contains("max_inlet_c"));
    let charts: Vec<String> = dashboards()
        .iter()
        .flat_map(|(name, dash)| {
            panels(dash)
                .into_iter()
                .filter(|p| {
                    let shown = shown_fields(p);
                    p["type"] == "timeseries"
                        && shown.contains("temperature_c")
                        && shown.contains("max_inlet_c")
                })
                .filter(|p| {
                    let defaults = &p["fieldConfig"]["defaults"];
                    threshold_steps(&defaults["thresholds"]) == want
                        && defaults["custom"]["thresholdsStyle"]["mode"]
                            .as_str()
                            .is_some_and(|m| m != "off")
                })
                .map(|p| format!("{name}: {}", p["title"]))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        !charts.is_empty(),
        "no timeseries charts temperature_c and max_inlet_c with visible thresholds at {want:?}"
    );
}

#[test]
fn the_temperature_check_catches_wrong_units_and_limits() {
    let bad: Value = serde_json::from_str(
        r#"{"type": "timeseries",
            "targets": [{"query": "r._field == \"temperature_c\" or r._field == \"inlet_c\""}],
            "fieldConfig": {
              "defaults": {"unit": "celsius",
                "thresholds": {"steps": [{"value": null}, {"value": 28}]}},
              "overrides": [{"matcher": {"id": "byName", "options": "inlet_c"},
                "properties": [{"id": "unit", "value": "fahrenheit"}]}]}}"#,
    )
    .expect("JSON");
    let errors = check_temperature_panel(&bad);
    for expected in [
        "`inlet_c` is in °C, shown in unit \"fahrenheit\"",
        "do not mark the recommended 27",
        "threshold 28 °C is no ASHRAE limit",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "missed {expected:?}: {errors:#?}"
        );
    }
}
