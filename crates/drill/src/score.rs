//! A drill's score out of 100 and its rule (docs/drills.md, "The score"). The rule
//! is written out in [`SCORE_RULE`], which every debrief carries, so a trainee can
//! check the arithmetic.

use serde::{Deserialize, Serialize};

/// Points of the checklist, shared equally among its steps.
pub const STEPS_POINTS: f64 = 50.0;
/// Points of the expectations, shared equally among them.
pub const EXPECTS_POINTS: f64 = 40.0;
/// Points for losing no IT energy during the drill.
pub const IT_POINTS: f64 = 10.0;
/// Points taken off per refused action.
pub const REFUSED_PENALTY: f64 = 2.0;
/// Most points refused actions take off.
pub const MAX_REFUSED_PENALTY: f64 = 10.0;
/// IT energy lost below this counts as none \[kWh\] (rounding of the integral).
pub const IT_LOST_EPS_KWH: f64 = 1e-9;

/// The rule, one sentence a line, as the debrief prints it.
pub const SCORE_RULE: &[&str] = &[
    "Steps: 50 points shared equally among the steps; a step done in order and in time earns its full share, done late or out of order half of it, late and out of order a quarter, missed nothing.",
    "Expectations: 40 points shared equally among the expectations; a passed one earns its share, a failed one nothing.",
    "IT load: 10 points when no IT energy was lost during the drill.",
    "Refused actions: 2 points off for each action an interlock refused (injects not counted), at most 10.",
    "A drill without steps, or without expectations, spreads those points over the other parts in proportion to theirs; the total is rounded to a whole number and kept within 0 to 100.",
];

/// How much of its share a step earns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepCredit {
    /// Done in order and in time: all of it.
    Done,
    /// Done late, or out of order: half.
    LateOrOutOfOrder,
    /// Done late and out of order: a quarter.
    LateAndOutOfOrder,
    /// Not done: nothing.
    Missed,
}

impl StepCredit {
    pub fn of(done: bool, late: bool, out_of_order: bool) -> StepCredit {
        match (done, late, out_of_order) {
            (false, _, _) => StepCredit::Missed,
            (true, false, false) => StepCredit::Done,
            (true, true, true) => StepCredit::LateAndOutOfOrder,
            (true, _, _) => StepCredit::LateOrOutOfOrder,
        }
    }

    /// The fraction of the step's share it earns.
    pub fn fraction(self) -> f64 {
        match self {
            StepCredit::Done => 1.0,
            StepCredit::LateOrOutOfOrder => 0.5,
            StepCredit::LateAndOutOfOrder => 0.25,
            StepCredit::Missed => 0.0,
        }
    }
}

/// One part of the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorePart {
    /// `steps`, `expectations`, `it_load`.
    pub part: String,
    pub points: f64,
    /// This drill's weight of the part (50 / 40 / 10, or more when a part is absent).
    pub out_of: f64,
    /// `3 of 4 steps in order and in time, 1 late`, as the debrief prints it.
    pub detail: String,
}

/// The score and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Out of 100.
    pub total: u32,
    pub parts: Vec<ScorePart>,
    pub refused_actions: u32,
    /// Points taken off for refused actions.
    pub penalty: f64,
    /// [`SCORE_RULE`].
    pub rule: Vec<String>,
}

/// The score of a drill: each step's credit, each expectation's verdict (passed or
/// not), the IT energy lost \[kWh\] and the count of refused actions.
pub fn score(steps: &[StepCredit], expects: &[bool], it_kwh_lost: f64, refused: u32) -> Score {
    let has_steps = !steps.is_empty();
    let has_expects = !expects.is_empty();
    let present = IT_POINTS
        + if has_steps { STEPS_POINTS } else { 0.0 }
        + if has_expects { EXPECTS_POINTS } else { 0.0 };
    let scale = 100.0 / present;
    let mut parts = Vec::new();
    if has_steps {
        let out_of = STEPS_POINTS * scale;
        let share = out_of / steps.len() as f64;
        let points = steps.iter().map(|c| share * c.fraction()).sum();
        let count = |k: StepCredit| steps.iter().filter(|c| **c == k).count();
        let mut detail = format!(
            "{} of {} steps in order and in time",
            count(StepCredit::Done),
            steps.len()
        );
        for (k, words) in [
            (StepCredit::LateOrOutOfOrder, "late or out of order"),
            (StepCredit::LateAndOutOfOrder, "late and out of order"),
            (StepCredit::Missed, "missed"),
        ] {
            if count(k) > 0 {
                detail.push_str(&format!(", {} {words}", count(k)));
            }
        }
        parts.push(ScorePart {
            part: "steps".into(),
            points,
            out_of,
            detail,
        });
    }
    if has_expects {
        let out_of = EXPECTS_POINTS * scale;
        let passed = expects.iter().filter(|p| **p).count();
        parts.push(ScorePart {
            part: "expectations".into(),
            points: out_of * passed as f64 / expects.len() as f64,
            out_of,
            detail: format!("{passed} of {} passed", expects.len()),
        });
    }
    let out_of = IT_POINTS * scale;
    let kept = it_kwh_lost <= IT_LOST_EPS_KWH;
    parts.push(ScorePart {
        part: "it_load".into(),
        points: if kept { out_of } else { 0.0 },
        out_of,
        detail: if kept {
            "no IT energy lost".into()
        } else {
            format!("{it_kwh_lost:.3} kWh of IT energy lost")
        },
    });
    let penalty = (f64::from(refused) * REFUSED_PENALTY).min(MAX_REFUSED_PENALTY);
    let sum: f64 = parts.iter().map(|p| p.points).sum();
    let total = (sum - penalty).round().clamp(0.0, 100.0) as u32;
    Score {
        total,
        parts,
        refused_actions: refused,
        penalty,
        rule: SCORE_RULE.iter().map(|s| s.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepCredit::*;

    #[test]
    fn a_perfect_run_scores_100() {
        let s = score(&[Done, Done], &[true], 0.0, 0);
        assert_eq!(s.total, 100);
    }

    /// 4 steps (12.5 each): done, late (6.25), out of order (6.25), missed → 25;
    /// 3 expectations (13.33 each), 2 passed → 26.67; IT lost → 0; 2 refused → −4.
    /// 25 + 26.67 − 4 = 47.67 → 48.
    #[test]
    fn a_mixed_run_by_hand() {
        let s = score(
            &[Done, LateOrOutOfOrder, LateOrOutOfOrder, Missed],
            &[true, true, false],
            0.5,
            2,
        );
        assert_eq!(s.total, 48);
        assert_eq!(s.parts[0].points, 25.0);
        assert!((s.parts[1].points - 80.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.parts[2].points, 0.0);
        assert_eq!(s.penalty, 4.0);
        assert_eq!(
            s.parts[0].detail,
            "1 of 4 steps in order and in time, 2 late or out of order, 1 missed"
        );
    }

    /// Without expectations the 40 points go to steps and IT in proportion (50:10):
    /// steps out of 83.33, IT out of 16.67.
    #[test]
    fn missing_parts_spread_their_points_in_proportion() {
        let s = score(&[Done, Missed], &[], 0.0, 0);
        assert!((s.parts[0].out_of - 250.0 / 3.0).abs() < 1e-9);
        assert!((s.parts[1].out_of - 50.0 / 3.0).abs() < 1e-9);
        // 41.67 + 16.67 = 58.33 → 58.
        assert_eq!(s.total, 58);
        // Neither steps nor expectations: IT is everything.
        assert_eq!(score(&[], &[], 0.0, 0).total, 100);
        assert_eq!(score(&[], &[], 1.0, 0).total, 0);
    }

    #[test]
    fn the_penalty_is_capped_and_the_total_clamped() {
        let s = score(&[Missed], &[false], 1.0, 9);
        assert_eq!(s.penalty, 10.0);
        assert_eq!(s.total, 0);
        assert_eq!(score(&[Done], &[true], 0.0, 40).total, 90);
    }
}
