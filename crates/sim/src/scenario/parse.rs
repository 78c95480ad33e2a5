//! Scenario files (TOML, docs/scenarios.md) → [`Scenario`]. Every refusal names the
//! file, the line, the key and the reason. No I/O: the topology text comes from the
//! caller. Commands, their parameters and the kinds they apply to come from the
//! protocol's command table; field types, status words and sources from its field
//! tables.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use winter_river_protocol::{
    AppliesTo, Breaker, COMMANDS, Command, CommandSpec, EventKind, FieldType, Mode, NodeCounts,
    NodeKind, NodeState, ParamType, SYSTEM_ID, Source, Status, SystemStatus, decode_command,
};

use crate::words::or_list;

use super::{
    Check, DEFAULT_STEP_MS, DEFAULT_TOLERANCE, Expect, Expected, ProcedureStep, Scenario,
    ScenarioError, ScenarioEvent, TIME_EPS_S, WaitFor, Window,
};
use crate::field::{Target, is_known_field, known_fields};
use crate::topology::{DEFAULT_TOPOLOGY_TOML, Lines, Loc, Override, Topology};

/// Name of the built-in topology in messages.
pub const BUILTIN_TOPOLOGY_NAME: &str = "<built-in default>";

const TOP_KEYS: &[&str] = &[
    "name",
    "topology",
    "duration_s",
    "step_ms",
    "overrides",
    "event",
    "expect",
    "procedure_at_s",
    "step",
];
const EVENT_KEYS: &[&str] = &["at_s", "node", "command", "params"];
const STEP_KEYS: &[&str] = &[
    "note",
    "node",
    "command",
    "params",
    "after_s",
    "wait_for",
    "late_after_s",
];
const WAIT_FOR_KEYS: &[&str] = &[
    "node",
    "field",
    "event",
    "equals",
    "between",
    "tolerance",
    "within_s",
];
const EXPECT_KEYS: &[&str] = &[
    "at_s",
    "until_s",
    "always",
    "node",
    "field",
    "event",
    "equals",
    "between",
    "tolerance",
];

/// Commands a scenario may send: every command but the engine's own (`update`).
fn scenario_commands() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS
        .iter()
        .filter(|c| c.applies_to != AppliesTo::EngineOnly)
}

/// The type of field `name` of the target's payload (counts are integers).
fn field_type(target: Target, name: &str) -> Option<FieldType> {
    match target {
        Target::System => SystemStatus::FIELDS
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.ty)
            .or_else(|| NodeCounts::state_of(name).map(|_| FieldType::Integer)),
        Target::Node(_) => Status::fields().find(|f| f.name == name).map(|f| f.ty),
    }
}

/// The file being parsed, for locations.
struct Ctx<'a> {
    file: &'a str,
    lines: Lines,
}

impl Ctx<'_> {
    fn loc<T>(&self, v: &Spanned<T>) -> Loc {
        Loc {
            file: self.file.to_string(),
            line: self.lines.line(v.span().start),
        }
    }

    fn err<T>(&self, at: &Spanned<T>, key: &str, reason: impl Into<String>) -> ScenarioError {
        ScenarioError::at(&self.loc(at), key, reason)
    }
}

type Item<'i> = Spanned<DeValue<'i>>;

impl Scenario {
    /// Parses and checks a scenario. `file` names it in errors and is the base for a
    /// relative `topology` path; `load_topology` returns the text of that path (or a
    /// reason it cannot). Without `topology` the built-in default is used.
    pub fn from_toml_str(
        src: &str,
        file: &str,
        load_topology: impl FnOnce(&Path) -> Result<String, String>,
    ) -> Result<Scenario, ScenarioError> {
        let ctx = Ctx {
            file,
            lines: Lines::new(src),
        };
        let doc = DeTable::parse(src).map_err(|e| ScenarioError {
            file: file.to_string(),
            line: e.span().map(|s| ctx.lines.line(s.start)),
            key: None,
            reason: e.message().trim().to_string(),
        })?;
        let doc = doc.get_ref();
        if let Some((k, _)) = doc
            .iter()
            .find(|(k, _)| !TOP_KEYS.contains(&k.get_ref().as_ref()))
        {
            return Err(ctx.err(
                k,
                k.get_ref(),
                format!("unknown key in a scenario (known: {})", TOP_KEYS.join(", ")),
            ));
        }

        let name = match doc.get("name") {
            Some(v) => string(&ctx, v, "name")?,
            None => Path::new(file)
                .file_stem()
                .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned()),
        };
        let Some(duration) = doc.get("duration_s") else {
            return Err(ScenarioError {
                file: file.to_string(),
                line: None,
                key: Some("duration_s".into()),
                reason: "a scenario needs `duration_s` (simulated length [s])".into(),
            });
        };
        let duration_s = number(&ctx, duration, "duration_s")?;
        if duration_s <= 0.0 {
            return Err(ctx.err(
                duration,
                "duration_s",
                format!("{duration_s} s: must be > 0"),
            ));
        }
        let step_ms = match doc.get("step_ms") {
            None => DEFAULT_STEP_MS,
            Some(v) => {
                let ms = number(&ctx, v, "step_ms")?;
                if ms < 1.0 || ms.fract() != 0.0 || ms > f64::from(u32::MAX) {
                    return Err(ctx.err(
                        v,
                        "step_ms",
                        format!("{ms}: must be a whole number of ms >= 1"),
                    ));
                }
                ms as u32
            }
        };
        let step_s = f64::from(step_ms) / 1000.0;

        let overrides = match doc.get("overrides") {
            None => Vec::new(),
            Some(v) => overrides(&ctx, v)?,
        };

        let (topology_file, topology) = match doc.get("topology") {
            None => (
                None,
                Topology::from_toml_str_with_overrides(
                    DEFAULT_TOPOLOGY_TOML,
                    BUILTIN_TOPOLOGY_NAME,
                    &overrides,
                )?,
            ),
            Some(v) => {
                let rel = string(&ctx, v, "topology")?;
                let path = resolve(file, &rel);
                let shown = tidy(&path).display().to_string();
                let text = load_topology(&path).map_err(|reason| {
                    ctx.err(v, "topology", format!("cannot read {shown}: {reason}"))
                })?;
                let topo = Topology::from_toml_str_with_overrides(&text, &shown, &overrides)?;
                (Some(shown), topo)
            }
        };

        let events = match doc.get("event") {
            None => Vec::new(),
            Some(v) => tables(&ctx, v, "event")?
                .into_iter()
                .map(|t| event(&ctx, t, duration_s, &topology))
                .collect::<Result<_, _>>()?,
        };
        let expects = match doc.get("expect") {
            None => Vec::new(),
            Some(v) => tables(&ctx, v, "expect")?
                .into_iter()
                .map(|t| expect(&ctx, t, duration_s, step_s, &topology))
                .collect::<Result<_, _>>()?,
        };

        let procedure_at_s = match doc.get("procedure_at_s") {
            None => 0.0,
            Some(v) => time(&ctx, v, "procedure_at_s", duration_s)?,
        };
        let steps = match doc.get("step") {
            None => Vec::new(),
            Some(v) => tables(&ctx, v, "step")?
                .into_iter()
                .map(|t| step(&ctx, t, duration_s, step_s, &topology))
                .collect::<Result<_, _>>()?,
        };

        Ok(Scenario {
            name,
            file: file.to_string(),
            topology_file,
            topology,
            duration_s,
            step_ms,
            overrides,
            events,
            expects,
            procedure_at_s,
            steps,
        })
    }
}

/// `topology` is relative to the scenario file's folder (absolute paths stay).
fn resolve(file: &str, rel: &str) -> PathBuf {
    let base = Path::new(file).parent().unwrap_or_else(|| Path::new(""));
    base.join(rel)
}

/// `scenarios/../topologies/x.toml` → `topologies/x.toml`, for messages (lexical only).
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

fn string(ctx: &Ctx<'_>, v: &Item<'_>, key: &str) -> Result<String, ScenarioError> {
    v.get_ref().as_str().map(str::to_string).ok_or_else(|| {
        ctx.err(
            v,
            key,
            format!("must be a string, found {}", v.get_ref().type_str()),
        )
    })
}

/// A TOML integer or float as f64; refuses NaN and infinities.
fn number(ctx: &Ctx<'_>, v: &Item<'_>, key: &str) -> Result<f64, ScenarioError> {
    let n = as_f64(v.get_ref()).ok_or_else(|| {
        ctx.err(
            v,
            key,
            format!("must be a number, found {}", v.get_ref().type_str()),
        )
    })?;
    if !n.is_finite() {
        return Err(ctx.err(v, key, format!("{n} is not a finite number")));
    }
    Ok(n)
}

fn as_f64(v: &DeValue<'_>) -> Option<f64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(|i| i as f64),
        DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
        _ => None,
    }
}

/// A value from the document as a `toml::Value` (for overrides).
fn to_value(v: &DeValue<'_>) -> Option<toml::Value> {
    Some(match v {
        DeValue::String(s) => toml::Value::String(s.to_string()),
        DeValue::Integer(i) => {
            toml::Value::Integer(i64::from_str_radix(i.as_str(), i.radix()).ok()?)
        }
        DeValue::Float(f) => toml::Value::Float(f.as_str().parse().ok()?),
        DeValue::Boolean(b) => toml::Value::Boolean(*b),
        DeValue::Datetime(d) => toml::Value::Datetime(*d),
        DeValue::Array(a) => toml::Value::Array(
            a.iter()
                .map(|x| to_value(x.get_ref()))
                .collect::<Option<_>>()?,
        ),
        DeValue::Table(t) => toml::Value::Table(
            t.iter()
                .map(|(k, x)| Some((k.get_ref().to_string(), to_value(x.get_ref())?)))
                .collect::<Option<_>>()?,
        ),
    })
}

/// `[overrides.<id>]` tables → one [`Override`] per key.
fn overrides(ctx: &Ctx<'_>, v: &Item<'_>) -> Result<Vec<Override>, ScenarioError> {
    let DeValue::Table(nodes) = v.get_ref() else {
        return Err(ctx.err(
            v,
            "overrides",
            "must be a table of `[overrides.<node id>]` tables",
        ));
    };
    let mut out = Vec::new();
    for (node, params) in nodes {
        let key = format!("overrides.{}", node.get_ref());
        let DeValue::Table(params) = params.get_ref() else {
            return Err(ctx.err(params, &key, "must be a table of node parameters"));
        };
        for (k, x) in params {
            let value = to_value(x.get_ref()).ok_or_else(|| {
                ctx.err(x, &format!("{key}.{}", k.get_ref()), "not a valid value")
            })?;
            out.push(Override {
                node: node.get_ref().to_string(),
                key: k.get_ref().to_string(),
                value,
                loc: ctx.loc(k),
            });
        }
    }
    Ok(out)
}

/// An array of tables (`[[event]]`), each with where it is written.
fn tables<'a, 'i>(
    ctx: &Ctx<'_>,
    v: &'a Item<'i>,
    key: &str,
) -> Result<Vec<(&'a Item<'i>, &'a DeTable<'i>)>, ScenarioError> {
    let DeValue::Array(items) = v.get_ref() else {
        return Err(ctx.err(
            v,
            key,
            format!("must be an array of tables: write `[[{key}]]`"),
        ));
    };
    items
        .iter()
        .map(|item| match item.get_ref() {
            DeValue::Table(t) => Ok((item, t)),
            other => Err(ctx.err(
                item,
                key,
                format!("must hold tables, found {}", other.type_str()),
            )),
        })
        .collect()
}

/// Refuses keys outside `known`.
fn refuse_unknown(
    ctx: &Ctx<'_>,
    t: &DeTable<'_>,
    section: &str,
    known: &[&str],
) -> Result<(), ScenarioError> {
    if let Some((k, _)) = t
        .iter()
        .find(|(k, _)| !known.contains(&k.get_ref().as_ref()))
    {
        return Err(ctx.err(
            k,
            &format!("{section}.{}", k.get_ref()),
            format!("unknown key in [[{section}]] (known: {})", known.join(", ")),
        ));
    }
    Ok(())
}

fn required<'a, 'i>(
    ctx: &Ctx<'_>,
    (at, t): (&Item<'i>, &'a DeTable<'i>),
    section: &str,
    key: &str,
) -> Result<&'a Item<'i>, ScenarioError> {
    t.get(key).ok_or_else(|| {
        ctx.err(
            at,
            &format!("{section}.{key}"),
            format!("[[{section}]] has no `{key}`"),
        )
    })
}

/// `at_s` within `[0, duration_s]`.
fn time(ctx: &Ctx<'_>, v: &Item<'_>, key: &str, duration_s: f64) -> Result<f64, ScenarioError> {
    let t = number(ctx, v, key)?;
    if t < 0.0 {
        return Err(ctx.err(v, key, format!("{t} s: must be >= 0")));
    }
    if t > duration_s + TIME_EPS_S {
        return Err(ctx.err(
            v,
            key,
            format!("{t} s is beyond duration_s ({duration_s} s)"),
        ));
    }
    Ok(t)
}

fn event(
    ctx: &Ctx<'_>,
    (at, t): (&Item<'_>, &DeTable<'_>),
    duration_s: f64,
    topology: &Topology,
) -> Result<ScenarioEvent, ScenarioError> {
    refuse_unknown(ctx, t, "event", EVENT_KEYS)?;
    let at_v = required(ctx, (at, t), "event", "at_s")?;
    let at_s = time(ctx, at_v, "event.at_s", duration_s)?;
    let (node, command) = node_command(ctx, (at, t), "event", topology)?;
    Ok(ScenarioEvent {
        at_s,
        node,
        command,
        loc: ctx.loc(at_v),
    })
}

/// One `[[step]]` of a procedure (docs/scenarios.md, "Procedures").
fn step(
    ctx: &Ctx<'_>,
    (at, t): (&Item<'_>, &DeTable<'_>),
    duration_s: f64,
    step_s: f64,
    topology: &Topology,
) -> Result<ProcedureStep, ScenarioError> {
    refuse_unknown(ctx, t, "step", STEP_KEYS)?;
    let note = match t.get("note") {
        Some(v) => string(ctx, v, "step.note")?,
        None => String::new(),
    };
    let (node, command) = node_command(ctx, (at, t), "step", topology)?;
    let after_s = match t.get("after_s") {
        None => 0.0,
        Some(v) => time(ctx, v, "step.after_s", duration_s)?,
    };
    let late_after_s = match t.get("late_after_s") {
        None => None,
        Some(v) => Some(time(ctx, v, "step.late_after_s", duration_s)?),
    };
    let wait_for = match t.get("wait_for") {
        None => None,
        Some(v) => {
            let DeValue::Table(wt) = v.get_ref() else {
                return Err(ctx.err(
                    v,
                    "step.wait_for",
                    format!(
                        "must be a table such as {{ node = \"ups_a\", field = \"status\", equals = \"bypass\", within_s = 30.0 }}, found {}",
                        v.get_ref().type_str()
                    ),
                ));
            };
            refuse_unknown(ctx, wt, "step.wait_for", WAIT_FOR_KEYS)?;
            let within_v = wt.get("within_s").ok_or_else(|| {
                ctx.err(
                    v,
                    "step.wait_for.within_s",
                    "`wait_for` needs `within_s`: how long the step may wait for it [s]",
                )
            })?;
            let within_s = time(ctx, within_v, "step.wait_for.within_s", duration_s)?;
            if within_s < step_s - TIME_EPS_S {
                return Err(ctx.err(
                    within_v,
                    "step.wait_for.within_s",
                    format!(
                        "{within_s} s is shorter than one step ({} ms): the condition could never be seen",
                        step_s * 1000.0
                    ),
                ));
            }
            let condition = condition(ctx, (v, wt), "step.wait_for", topology)?;
            Some(WaitFor {
                condition,
                within_s,
            })
        }
    };
    Ok(ProcedureStep {
        note,
        node,
        command,
        after_s,
        late_after_s,
        wait_for,
        loc: ctx.loc(at),
    })
}

/// The `node`, `command` and `params` of an `[[event]]` or a `[[step]]`, checked
/// against the command table and the topology, as the Command a board would get.
fn node_command(
    ctx: &Ctx<'_>,
    (at, t): (&Item<'_>, &DeTable<'_>),
    section: &str,
    topology: &Topology,
) -> Result<(String, Command), ScenarioError> {
    let key = |k: &str| format!("{section}.{k}");
    let node_v = required(ctx, (at, t), section, "node")?;
    let node = string(ctx, node_v, &key("node"))?;
    let idx = topology.node_index(&node);
    if idx.is_none() && node != SYSTEM_ID {
        let why = format!("unknown node `{node}`: no node of the topology has this id");
        return Err(ctx.err(node_v, &key("node"), why));
    }
    let cmd_v = required(ctx, (at, t), section, "command")?;
    let name = string(ctx, cmd_v, &key("command"))?;
    let params = match t.get("params") {
        None => None,
        Some(p) => match p.get_ref() {
            DeValue::Table(pt) => Some((p, pt)),
            other => {
                return Err(ctx.err(
                    p,
                    &key("params"),
                    format!("must be a table, found {}", other.type_str()),
                ));
            }
        },
    };
    let spec = match CommandSpec::find(&name) {
        Some(spec) if spec.applies_to == AppliesTo::EngineOnly => {
            let usable: Vec<&str> = scenario_commands().map(|c| c.name).collect();
            return Err(ctx.err(
                cmd_v,
                &key("command"),
                format!(
                    "`{name}` is sent by the engine, not by a scenario (use {})",
                    or_list(&usable)
                ),
            ));
        }
        Some(spec) => spec,
        None => {
            let known: Vec<&str> = scenario_commands().map(|c| c.name).collect();
            return Err(ctx.err(
                cmd_v,
                &key("command"),
                format!("unknown command `{name}` (known: {})", known.join(", ")),
            ));
        }
    };
    if let Some((_, pt)) = params
        && let Some((k, _)) = pt
            .iter()
            .find(|(k, _)| !spec.params.iter().any(|p| p.name == k.get_ref().as_ref()))
    {
        let known = if spec.params.is_empty() {
            "none".to_string()
        } else {
            let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            names.join(", ")
        };
        return Err(ctx.err(
            k,
            &format!("{section}.params.{}", k.get_ref()),
            format!("unknown parameter for `{name}` (known: {known})"),
        ));
    }
    let mut wire = Map::new();
    for param in spec.params {
        let pname = param.name;
        let Some(v) = params.and_then(|(_, pt)| pt.get(pname)) else {
            let where_ = params.map_or(at, |(p, _)| p);
            return Err(ctx.err(
                where_,
                &key("params"),
                format!("`{name}` needs params.{pname} (write `params = {{ {pname} = … }}`)"),
            ));
        };
        let at_key = format!("{section}.params.{pname}");
        let value = match param.ty {
            ParamType::Bool => Value::Bool(v.get_ref().as_bool().ok_or_else(|| {
                ctx.err(
                    v,
                    &at_key,
                    format!("must be true or false, found {}", v.get_ref().type_str()),
                )
            })?),
            ParamType::Number { unit, min, max } => {
                let x = number(ctx, v, &at_key)?;
                if x < min || x > max {
                    return Err(ctx.err(
                        v,
                        &at_key,
                        format!(
                            "{x} {unit}: {} must be in {min} … {max}",
                            param.label.to_lowercase()
                        ),
                    ));
                }
                serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
            }
            ParamType::Choice { choices } => {
                let words: Vec<&str> = choices.iter().map(|m| m.as_str()).collect();
                match v.get_ref().as_str() {
                    Some(w) if words.contains(&w) => Value::String(w.to_string()),
                    _ => {
                        return Err(ctx.err(
                            v,
                            &at_key,
                            format!("must be one of {}", or_list(&words)),
                        ));
                    }
                }
            }
            ParamType::NodeId => match v.get_ref().as_str() {
                Some(id) if topology.node_index(id).is_some() => Value::String(id.to_string()),
                Some(id) => {
                    return Err(ctx.err(
                        v,
                        &at_key,
                        format!("unknown node `{id}`: no node of the topology has this id"),
                    ));
                }
                None => {
                    return Err(ctx.err(
                        v,
                        &at_key,
                        format!("must be a node id, found {}", v.get_ref().type_str()),
                    ));
                }
            },
        };
        wire.insert(pname.to_string(), value);
    }
    match idx {
        // The site as a whole, as on `<p>/system/command`.
        None if !spec.site_wide => {
            let site: Vec<&str> = scenario_commands()
                .filter(|c| c.site_wide)
                .map(|c| c.name)
                .collect();
            return Err(ctx.err(
                node_v,
                &key("node"),
                format!(
                    "`{name}` is not a site-wide command: name a node (`system` takes {})",
                    or_list(&site)
                ),
            ));
        }
        None => {}
        Some(idx) => {
            let kind = topology.node(idx).kind();
            if !spec.applies_to(kind) {
                return Err(ctx.err(
                    node_v,
                    &key("node"),
                    format!(
                        "`{name}` applies to {}, not to `{node}` ({kind})",
                        spec.applies_to_words()
                    ),
                ));
            }
        }
    }
    let payload = serde_json::json!({ "command": name, "params": wire });
    let command = decode_command(payload.to_string().as_bytes())
        .map_err(|e| ctx.err(cmd_v, &key("command"), e.to_string()))?;
    Ok((node, command))
}

fn expect(
    ctx: &Ctx<'_>,
    (at, t): (&Item<'_>, &DeTable<'_>),
    duration_s: f64,
    step_s: f64,
    topology: &Topology,
) -> Result<Expect, ScenarioError> {
    refuse_unknown(ctx, t, "expect", EXPECT_KEYS)?;
    let at_v = required(ctx, (at, t), "expect", "at_s")?;
    let at_s = time(ctx, at_v, "expect.at_s", duration_s)?;
    let until_s = match t.get("until_s") {
        None => None,
        Some(v) => {
            let u = time(ctx, v, "expect.until_s", duration_s)?;
            if u < at_s {
                return Err(ctx.err(
                    v,
                    "expect.until_s",
                    format!("{u} s is before at_s ({at_s} s)"),
                ));
            }
            // The window must contain a step, or the expectation could never be checked.
            let first_step_s = (at_s / step_s - TIME_EPS_S).ceil() * step_s;
            if first_step_s > u + TIME_EPS_S {
                return Err(ctx.err(
                    v,
                    "expect.until_s",
                    format!(
                        "no step falls in [{at_s}, {u}] s with step_ms = {}",
                        step_s * 1000.0
                    ),
                ));
            }
            Some((u, v))
        }
    };
    let always = match t.get("always") {
        None => false,
        Some(v) => v.get_ref().as_bool().ok_or_else(|| {
            ctx.err(
                v,
                "expect.always",
                format!("must be true or false, found {}", v.get_ref().type_str()),
            )
        })?,
    };
    let window = match (until_s, always) {
        (None, false) => Window::At,
        (Some((u, _)), false) => Window::Eventually { until_s: u },
        (Some((u, _)), true) => Window::Always { until_s: u },
        (None, true) => {
            return Err(ctx.err(
                t.get("always").unwrap_or(at),
                "expect.always",
                "`always = true` needs `until_s` (the end of the window)",
            ));
        }
    };

    if t.get("event").is_some()
        && let Window::Always { .. } = window
    {
        return Err(ctx.err(
            t.get("always").unwrap_or(at),
            "expect.always",
            "an [[expect]] on an `event` holds when it happens in the window: drop `always`",
        ));
    }
    let condition = condition(ctx, (at, t), "expect", topology)?;
    Ok(Expect {
        at_s,
        window,
        loc: ctx.loc(at_v),
        ..condition
    })
}

/// What an `[[expect]]` or a step's `wait_for` looks at and what it must be: a field
/// of a node or of the site, or an event (`event = "refused"`). The window is the
/// caller's (this returns it as `At` 0 s).
fn condition(
    ctx: &Ctx<'_>,
    (at, t): (&Item<'_>, &DeTable<'_>),
    section: &str,
    topology: &Topology,
) -> Result<Expect, ScenarioError> {
    let key = |k: &str| format!("{section}.{k}");
    if let Some(ev) = t.get("event") {
        return event_condition(ctx, (at, t), ev, section, topology);
    }
    let node_v = required(ctx, (at, t), section, "node")?;
    let node = string(ctx, node_v, &key("node"))?;
    let target = if node == SYSTEM_ID {
        Target::System
    } else {
        match topology.node_index(&node) {
            Some(i) => Target::Node(i),
            None => {
                return Err(ctx.err(
                    node_v,
                    &key("node"),
                    format!("unknown node `{node}`: no node of the topology has this id (or use \"system\")"),
                ));
            }
        }
    };
    let field_v = required(ctx, (at, t), section, "field")?;
    let field = string(ctx, field_v, &key("field"))?;
    if !is_known_field(target, &field) {
        let what = match target {
            Target::System => "SystemStatus",
            Target::Node(_) => "node Status",
        };
        let known = known_fields(target);
        return Err(ctx.err(
            field_v,
            &key("field"),
            format!(
                "unknown field `{field}` for {what} (known: {})",
                known.join(", ")
            ),
        ));
    }
    let ty = field_type(target, &field).unwrap_or(FieldType::Number);
    let is_text = !matches!(ty, FieldType::Number | FieldType::Integer);

    let check = match (t.get("equals"), t.get("between")) {
        (Some(_), Some(b)) => {
            return Err(ctx.err(
                b,
                &key("between"),
                "give either `equals` or `between`, not both",
            ));
        }
        (None, None) => {
            return Err(ctx.err(
                at,
                section,
                format!("{section} needs `equals` or `between`"),
            ));
        }
        (Some(v), None) => {
            let expected = match v.get_ref() {
                DeValue::String(s) => Expected::Text(s.to_string()),
                DeValue::Boolean(b) => Expected::Bool(*b),
                other => match as_f64(other) {
                    Some(n) if n.is_finite() => Expected::Num(n),
                    _ => {
                        return Err(ctx.err(
                            v,
                            &key("equals"),
                            format!(
                                "must be a string, a number or a boolean, found {}",
                                other.type_str()
                            ),
                        ));
                    }
                },
            };
            check_equals(
                ctx,
                v,
                &key("equals"),
                &field,
                target,
                ty,
                &expected,
                topology,
            )?;
            Check::Equals(expected)
        }
        (None, Some(b)) => {
            let pair = match b.get_ref() {
                DeValue::Array(a) if a.len() == 2 => {
                    let lo = number(ctx, &a[0], &key("between"))?;
                    let hi = number(ctx, &a[1], &key("between"))?;
                    Some((lo, hi))
                }
                _ => None,
            };
            let Some((lo, hi)) = pair else {
                return Err(ctx.err(b, &key("between"), "must be a pair of numbers `[lo, hi]`"));
            };
            if lo > hi {
                return Err(ctx.err(
                    b,
                    &key("between"),
                    format!("[{lo}, {hi}]: lo must be <= hi"),
                ));
            }
            if is_text {
                return Err(ctx.err(
                    b,
                    &key("between"),
                    format!("`{field}` is a word, not a number: use `equals`"),
                ));
            }
            Check::Between { lo, hi }
        }
    };
    let tolerance = match t.get("tolerance") {
        None => DEFAULT_TOLERANCE,
        Some(v) => {
            let tol = number(ctx, v, &key("tolerance"))?;
            if tol < 0.0 {
                return Err(ctx.err(v, &key("tolerance"), format!("{tol}: must be >= 0")));
            }
            tol
        }
    };
    Ok(Expect {
        at_s: 0.0,
        window: Window::At,
        node,
        target,
        field,
        event: None,
        check,
        tolerance,
        loc: ctx.loc(at),
    })
}

/// A condition on an event: `event = "refused"` (optionally with `node`) holds when
/// such an event happens (docs/scenarios.md).
fn event_condition(
    ctx: &Ctx<'_>,
    (at, t): (&Item<'_>, &DeTable<'_>),
    ev: &Item<'_>,
    section: &str,
    topology: &Topology,
) -> Result<Expect, ScenarioError> {
    let key = |k: &str| format!("{section}.{k}");
    for k in ["field", "equals", "between", "tolerance"] {
        if let Some(v) = t.get(k) {
            return Err(ctx.err(
                v,
                &key(k),
                format!("a `{section}` on an `event` takes no field, value or tolerance"),
            ));
        }
    }
    let name = string(ctx, ev, &key("event"))?;
    let Some(kind) = EventKind::parse(&name) else {
        let known: Vec<&str> = EventKind::ALL.iter().map(|e| e.as_str()).collect();
        return Err(ctx.err(
            ev,
            &key("event"),
            format!("unknown event `{name}` (known: {})", known.join(", ")),
        ));
    };
    let (node, target) = match t.get("node") {
        None => (String::new(), Target::System),
        Some(node_v) => {
            let node = string(ctx, node_v, &key("node"))?;
            let Some(i) = topology.node_index(&node) else {
                return Err(ctx.err(
                    node_v,
                    &key("node"),
                    format!("unknown node `{node}`: no node of the topology has this id"),
                ));
            };
            (node, Target::Node(i))
        }
    };
    Ok(Expect {
        at_s: 0.0,
        window: Window::At,
        node,
        target,
        field: "event".into(),
        event: Some(kind),
        check: Check::Equals(Expected::Text(name)),
        tolerance: DEFAULT_TOLERANCE,
        loc: ctx.loc(at),
    })
}

/// Catches typos in `equals`: a word for a number field, an unknown status word,
/// kind or system source, a node id that is not a node.
#[allow(clippy::too_many_arguments)]
fn check_equals(
    ctx: &Ctx<'_>,
    v: &Item<'_>,
    key: &str,
    field: &str,
    target: Target,
    ty: FieldType,
    expected: &Expected,
    topology: &Topology,
) -> Result<(), ScenarioError> {
    let is_text = !matches!(ty, FieldType::Number | FieldType::Integer);
    let unknown = |what: &str, s: &str, known: Vec<&str>| {
        Err(ctx.err(
            v,
            key,
            format!("unknown {what} \"{s}\" (known: {})", known.join(", ")),
        ))
    };
    match expected {
        Expected::Num(_) if is_text => {
            Err(ctx.err(v, key, format!("`{field}` is a word, not a number")))
        }
        Expected::Text(s) if !is_text => Err(ctx.err(
            v,
            key,
            format!("`{field}` is a number, not a word (found \"{s}\")"),
        )),
        Expected::Text(s) => match ty {
            FieldType::State if NodeState::parse(s).is_none() => unknown(
                "status",
                s,
                NodeState::ALL.iter().map(|s| s.as_str()).collect(),
            ),
            FieldType::Kind if NodeKind::parse(s).is_none() => unknown(
                "kind",
                s,
                NodeKind::ALL.iter().map(|k| k.as_str()).collect(),
            ),
            FieldType::Mode if Mode::parse(s).is_none() => {
                unknown("mode", s, Mode::ALL.iter().map(|m| m.as_str()).collect())
            }
            FieldType::Breaker if Breaker::parse(s).is_none() => unknown(
                "breaker position",
                s,
                Breaker::ALL.iter().map(|b| b.as_str()).collect(),
            ),
            FieldType::NodeId if topology.node_index(s).is_none() => Err(ctx.err(
                v,
                key,
                format!("{field} \"{s}\" is not a node of the topology"),
            )),
            _ if target == Target::System && field == "source" && Source::parse(s).is_none() => {
                unknown(
                    "system source",
                    s,
                    Source::ALL.iter().map(|s| s.as_str()).collect(),
                )
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}
