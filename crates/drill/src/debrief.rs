//! The debrief of a drill (docs/drills.md, "The debrief"): what happened, how each
//! step and expectation went, the figures and the score. Written by the engine as
//! JSON (this type) and as an HTML page ([`crate::debrief_html`]).

use serde::{Deserialize, Serialize};
use winter_river_protocol::{Channel, DrillEntry, DrillInject, ExpectVerdict, StepState};

use crate::score::Score;

/// What the debrief says of the highest inlet temperature until sites have rooms.
pub const NO_THERMAL_MODEL: &str = "no server in a room on this site";

/// How the drill ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    /// The drill clock reached `duration_s`.
    Duration,
    /// The instructor's `stop`.
    Stop,
    /// The engine was stopped (Ctrl-C, a service stop) while the drill ran: it ends
    /// there, and its debrief is written before the engine exits.
    Shutdown,
}

/// One step of the checklist and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DebriefStep {
    /// 1-based.
    pub number: usize,
    pub note: String,
    pub node: String,
    /// `ups_mode mode=static_bypass`.
    pub command: String,
    /// `done`, `late`, `out_of_order` or `missed`.
    pub state: StepState,
    /// Done after its allowance ran out (also when out of order).
    pub late: bool,
    /// Done while an earlier step was still pending.
    pub out_of_order: bool,
    /// Drill clock time it became due \[s\]; `None` when the step before it was
    /// never done.
    pub due_at_s: Option<f64>,
    /// Its allowance after it became due \[s\]; `None` = never late.
    pub late_after_s: Option<f64>,
    /// Drill clock time it was done \[s\].
    pub done_at_s: Option<f64>,
    /// The channel of the command that ticked it.
    pub channel: Option<Channel>,
    /// Refused attempts at it.
    pub refused: u32,
}

/// One expectation's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DebriefExpect {
    /// `ups_a.status == "on_battery" at t=61s` (times on the drill clock).
    pub description: String,
    /// `passed` or `failed`.
    pub verdict: ExpectVerdict,
    /// The value that decided, as the scenario report writes it (`"on_battery"`, `30`).
    pub seen: Option<String>,
    /// When it was seen (drill clock \[s\]).
    pub seen_t_s: Option<f64>,
    /// Where `[[expect]]` is written in the drill file.
    pub line: usize,
}

/// The lowest battery of any UPS during the drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LowestBattery {
    pub node: String,
    /// State of charge \[%\].
    pub battery_pct: f64,
    /// When it was first that low (drill clock \[s\]).
    pub t_s: f64,
}

/// Everything the debrief page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Debrief {
    /// The drill's `name`.
    pub drill: String,
    /// Its file, as loaded.
    pub file: String,
    /// The site's name (its topology's `site`).
    pub site: String,
    /// Simulated time of the drill clock's 0 \[s\].
    pub started_at_sim_s: f64,
    /// The drill's `duration_s` \[s\].
    pub duration_s: f64,
    /// Drill clock at the end \[s\].
    pub ended_at_s: f64,
    pub ended_by: EndedBy,
    /// When the checklist became due (drill clock \[s\]).
    pub procedure_at_s: f64,
    /// Every entry, in order.
    pub timeline: Vec<DrillEntry>,
    pub injects: Vec<DrillInject>,
    pub steps: Vec<DebriefStep>,
    pub expects: Vec<DebriefExpect>,
    /// IT energy not served during the drill: `it_kwh_unserved` at the end minus at
    /// the start \[kWh\].
    pub it_kwh_lost: f64,
    /// `None` on a site without a UPS.
    pub lowest_battery: Option<LowestBattery>,
    /// Highest server inlet temperature during the drill \[°C\]; `None` on a site
    /// without a server in a room.
    pub highest_inlet_c: Option<f64>,
    /// Why `highest_inlet_c` is absent ([`NO_THERMAL_MODEL`]).
    pub highest_inlet_note: Option<String>,
    /// Actions an interlock refused (injects not counted).
    pub refused_actions: u32,
    pub score: Score,
}

/// Where the web serves the latest debrief page (`latest.html` of the debrief
/// folder), as `DrillStatus.debrief` names it once the engine wrote it.
pub const DEBRIEF_PAGE_PATH: &str = "/drill/debrief";

impl Debrief {
    /// The debrief file's JSON (pretty-printed: people open it too).
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serializing cannot fail; non-finite numbers
        // (none are computed) would be written as null.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// `<drill-stem>-<yyyymmddThhmmssZ>`: the name of a debrief's files (without
/// `.json` / `.html`), from the drill's file name and the wall time it ended,
/// `unix_s` seconds since 1970-01-01 UTC (the driver reads the clock). Characters
/// other than letters, digits, `-`, `_` and `.` become `_`.
pub fn debrief_file_stem(drill_file: &str, unix_s: u64) -> String {
    let name = drill_file.rsplit(['/', '\\']).next().unwrap_or(drill_file);
    let stem = name.strip_suffix(".toml").unwrap_or(name);
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = if stem.is_empty() {
        "drill".into()
    } else {
        stem
    };
    let days = (unix_s / 86_400) as i64;
    let secs = unix_s % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{stem}-{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// (year, month, day) of a count of days since 1970-01-01 (proleptic Gregorian;
/// H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_carry_the_drill_and_the_utc_time() {
        // 2026-12-01T09:30:05Z = 1796117405 s (date -u -d @1796117405).
        assert_eq!(
            debrief_file_stem("drills/utility-loss.toml", 1_796_117_405),
            "utility-loss-20261201T093005Z"
        );
        assert_eq!(debrief_file_stem("x y.toml", 0), "x_y-19700101T000000Z");
        // A leap day.
        assert_eq!(
            debrief_file_stem("a.toml", 951_782_400),
            "a-20000229T000000Z"
        );
    }
}
