//! The debrief as one self-contained HTML page: inline CSS, no script, nothing
//! fetched from elsewhere, every string escaped.

use std::fmt::Write as _;

use winter_river_protocol::{DrillWord, StepState, Tone};

use crate::debrief::{Debrief, EndedBy};
use crate::session::what;

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1d2430;background:#fff}\
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d5dae1;padding-bottom:.2rem}\
.sub{color:#5a6472;margin-top:0}\
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e6e9ee;vertical-align:top}\
th{background:#f3f5f8}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
.ok{color:#116329;font-weight:600}.warn{color:#9a5b00;font-weight:600}.bad{color:#b3261e;font-weight:600}.muted{color:#5a6472}\
.score{font-size:2.6rem;font-weight:700;margin:.2rem 0}\
.figures{display:flex;flex-wrap:wrap;gap:1rem}.figure{border:1px solid #d5dae1;border-radius:6px;padding:.6rem .9rem;min-width:12rem}\
.figure b{display:block;font-size:1.2rem}.figure b span{font-weight:400;font-size:.9rem}\
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88rem}\
ol.rule li{margin:.2rem 0}\
@media print{body{margin:0}}";

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn secs(t: Option<f64>) -> String {
    t.map_or_else(|| "—".into(), |t| format!("{t:.1} s"))
}

fn points(p: f64) -> String {
    let rounded = (p * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.2}")
    }
}

/// The debrief page.
pub fn debrief_html(d: &Debrief) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Debrief: {}</title><style>{STYLE}</style></head><body>\n",
        esc(&d.drill)
    );
    let ended = match d.ended_by {
        EndedBy::Duration => "its duration was reached",
        EndedBy::Stop => "the instructor stopped it",
        EndedBy::Shutdown => "the engine was stopped while it ran",
    };
    let _ = write!(
        h,
        "<h1>Debrief: {}</h1>\n<p class=\"sub\">Drill file <code>{}</code> on site <code>{}</code>. \
         It ran {} of {} s on the drill clock (simulated seconds since its start at simulated \
         t = {}) and ended because {ended}.</p>\n",
        esc(&d.drill),
        esc(&d.file),
        esc(&d.site),
        secs(Some(d.ended_at_s)),
        d.duration_s,
        secs(Some(d.started_at_sim_s)),
    );

    // Score first: the number people look for.
    let _ = write!(
        h,
        "<h2>Score</h2>\n<p class=\"score\" id=\"score\">{} / 100</p>\n<table><thead><tr>\
         <th>part</th><th>points</th><th>out of</th><th>how</th></tr></thead><tbody>\n",
        d.score.total
    );
    for p in &d.score.parts {
        let part = match p.part.as_str() {
            "steps" => "Steps",
            "expectations" => "Expectations",
            "it_load" => "IT load",
            other => other,
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(part),
            points(p.points),
            points(p.out_of),
            esc(&p.detail)
        );
    }
    let _ = write!(
        h,
        "<tr><td>Refused actions</td><td class=\"num\">−{}</td><td class=\"num\"></td>\
         <td>{} refused</td></tr>\n</tbody></table>\n<p><b>The rule.</b></p><ol class=\"rule\">\n",
        points(d.score.penalty),
        d.score.refused_actions
    );
    for line in &d.score.rule {
        let _ = writeln!(h, "<li>{}</li>", esc(line));
    }
    h.push_str("</ol>\n");

    // Figures.
    let battery = match &d.lowest_battery {
        Some(b) => format!(
            "{:.1} %<span class=\"muted\"> {} at t = {:.1} s</span>",
            b.battery_pct,
            esc(&b.node),
            b.t_s
        ),
        None => "—<span class=\"muted\"> no UPS on this site</span>".into(),
    };
    let inlet = match (d.highest_inlet_c, &d.highest_inlet_note) {
        (Some(c), _) => format!("{c:.1} °C"),
        (None, Some(note)) => format!("—<span class=\"muted\"> {}</span>", esc(note)),
        (None, None) => "—".into(),
    };
    let _ = write!(
        h,
        "<h2>Figures</h2>\n<div class=\"figures\">\
         <div class=\"figure\" id=\"it-lost\">IT energy lost<b>{:.3} kWh</b></div>\
         <div class=\"figure\" id=\"lowest-battery\">Lowest battery<b>{battery}</b></div>\
         <div class=\"figure\" id=\"highest-inlet\">Highest inlet temperature<b>{inlet}</b></div>\
         <div class=\"figure\">Refused actions<b>{}</b></div></div>\n",
        d.it_kwh_lost, d.refused_actions
    );

    // Steps.
    h.push_str("<h2>Steps</h2>\n");
    if d.steps.is_empty() {
        h.push_str("<p class=\"muted\">This drill has no checklist.</p>\n");
    } else {
        h.push_str(
            "<table id=\"steps\"><thead><tr><th>#</th><th>step</th><th>command</th><th>how it went</th>\
             <th>due</th><th>done</th><th>by</th><th>refused</th></tr></thead><tbody>\n",
        );
        for s in &d.steps {
            // The protocol's words for a step's state (as the dashboard shows them);
            // the wire has one state, the debrief also says when it was both.
            let class = tone_class(s.state.spec());
            let words = if s.state == StepState::OutOfOrder && s.late {
                format!(
                    "{} and {}",
                    StepState::Late.label(),
                    StepState::OutOfOrder.label().to_lowercase()
                )
            } else {
                s.state.label().to_string()
            };
            let _ = writeln!(
                h,
                "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{} {}</code></td>\
                 <td class=\"{class}\">{words}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td>{}</td><td class=\"num\">{}</td></tr>",
                s.number,
                esc(&s.note),
                esc(&s.node),
                esc(&s.command),
                secs(s.due_at_s),
                secs(s.done_at_s),
                s.channel.map_or_else(|| "—".into(), |c| esc(c.label())),
                s.refused
            );
        }
        h.push_str("</tbody></table>\n");
    }

    // Expectations.
    h.push_str("<h2>Expectations</h2>\n");
    if d.expects.is_empty() {
        h.push_str("<p class=\"muted\">This drill has no expectations.</p>\n");
    } else {
        h.push_str(
            "<table id=\"expects\"><thead><tr><th>verdict</th><th>expectation (drill clock)</th>\
             <th>seen</th><th>line</th></tr></thead><tbody>\n",
        );
        for e in &d.expects {
            let (class, words) = (tone_class(e.verdict.spec()), e.verdict.label());
            let seen = match (&e.seen, e.seen_t_s) {
                (Some(v), Some(t)) => format!("{} at t = {t:.1} s", esc(v)),
                (Some(v), None) => esc(v),
                (None, _) => "nothing (its window held no step)".into(),
            };
            let _ = writeln!(
                h,
                "<tr><td class=\"{class}\">{words}</td><td><code>{}</code></td><td>{seen}</td>\
                 <td class=\"num\">{}</td></tr>",
                esc(&e.description),
                e.line
            );
        }
        h.push_str("</tbody></table>\n");
    }

    // Timeline.
    h.push_str(
        "<h2>Timeline</h2>\n<table id=\"timeline\"><thead><tr><th>t</th><th>what</th><th>node</th>\
         <th>command</th><th>channel</th><th>step</th><th>detail</th></tr></thead><tbody>\n",
    );
    for e in &d.timeline {
        let (class, words) = match e.what.as_str() {
            what::INJECT => ("warn", "inject"),
            what::REFUSED => ("bad", "refused"),
            what::OUT_OF_ORDER => ("warn", "out of order"),
            what::DRILL => ("muted", "drill"),
            what::ACTION => ("", "action"),
            other => ("", other),
        };
        let channel = if e.what == what::DRILL {
            "—".to_string()
        } else {
            esc(e.channel.label())
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{:.1} s</td><td class=\"{class}\">{}</td><td>{}</td>\
             <td><code>{}</code></td><td>{channel}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            e.t,
            esc(words),
            esc(&e.node),
            esc(&e.command),
            e.step.map_or_else(String::new, |n| n.to_string()),
            esc(e.detail.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</tbody></table>\n");
    h.push_str(
        "<p class=\"muted\">Written by the Winter River engine at the end of the drill; \
         the same figures are in the JSON file beside this page.</p>\n</body></html>\n",
    );
    h
}

/// The page's CSS class for a word's tone.
fn tone_class(word: DrillWord) -> &'static str {
    match word.tone {
        Tone::Good => "ok",
        Tone::Warn => "warn",
        Tone::Bad => "bad",
        Tone::Off => "muted",
    }
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
