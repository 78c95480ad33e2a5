//! Small hand-written SVG charts for the HTML reports: horizontal bars and a line with
//! points. No fonts are read; text uses the viewer's sans-serif.

use std::fmt::Write;

/// Escapes text for XML/HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// CSS colour.
    pub color: &'static str,
    /// Text after the bar.
    pub note: String,
}

/// Horizontal bars, one a row, scaled to the largest value.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let row_h = 20.0;
    let label_w = bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 40) as f64
        * 7.0
        + 10.0;
    let bar_w = 360.0;
    let width = label_w + bar_w + 260.0;
    let height = 30.0 + row_h * bars.len() as f64 + 10.0;
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="12"><text x="4" y="16" font-weight="bold">{}</text>"#,
        esc(title)
    );
    for (k, b) in bars.iter().enumerate() {
        let y = 26.0 + row_h * k as f64;
        let w = if max > 0.0 {
            (b.value / max * bar_w).max(if b.value > 0.0 { 1.0 } else { 0.0 })
        } else {
            0.0
        };
        let _ = write!(
            s,
            r#"<text x="{:.0}" y="{:.0}" text-anchor="end">{}</text><rect x="{label_w:.0}" y="{y:.0}" width="{w:.1}" height="{:.0}" fill="{}"/><text x="{:.0}" y="{:.0}">{}</text>"#,
            label_w - 6.0,
            y + 13.0,
            esc(&b.label),
            row_h - 5.0,
            b.color,
            label_w + w + 6.0,
            y + 13.0,
            esc(&b.note)
        );
    }
    s.push_str("</svg>");
    s
}

/// A line through `points` (x ascending), axes labelled with their ranges.
pub fn line(title: &str, x_label: &str, y_label: &str, points: &[(f64, f64)]) -> String {
    let (w, h, left, bottom, top, right) = (560.0, 260.0, 70.0, 40.0, 28.0, 20.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let fold = |f: fn(f64, f64) -> f64, init: f64, pick: fn(&(f64, f64)) -> f64| {
        points.iter().map(pick).fold(init, f)
    };
    let (x0, x1) = (
        fold(f64::min, f64::INFINITY, |p| p.0),
        fold(f64::max, f64::NEG_INFINITY, |p| p.0),
    );
    let (mut y0, mut y1) = (
        fold(f64::min, f64::INFINITY, |p| p.1),
        fold(f64::max, f64::NEG_INFINITY, |p| p.1),
    );
    if y1.partial_cmp(&y0) != Some(std::cmp::Ordering::Greater) {
        y0 -= 1.0;
        y1 += 1.0;
    }
    let xs = |x: f64| {
        left + if x1 > x0 {
            (x - x0) / (x1 - x0) * pw
        } else {
            pw / 2.0
        }
    };
    let ys = |y: f64| top + ph - (y - y0) / (y1 - y0) * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif" font-size="12"><text x="4" y="16" font-weight="bold">{}</text><rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>"##,
        esc(title)
    );
    let fmt = |v: f64| {
        if v.abs() >= 1000.0 || v == v.trunc() {
            format!("{v:.0}")
        } else {
            format!("{v:.4}")
        }
    };
    if points.is_empty() {
        s.push_str("</svg>");
        return s;
    }
    let _ = write!(
        s,
        r#"<text x="{:.0}" y="{:.0}" text-anchor="end">{}</text><text x="{:.0}" y="{:.0}" text-anchor="end">{}</text><text x="{left}" y="{:.0}">{}</text><text x="{:.0}" y="{:.0}" text-anchor="end">{}</text><text x="{:.0}" y="{:.0}" text-anchor="middle">{}</text><text x="12" y="{:.0}" transform="rotate(-90 12 {:.0})" text-anchor="middle">{}</text>"#,
        left - 4.0,
        top + 10.0,
        fmt(y1),
        left - 4.0,
        top + ph,
        fmt(y0),
        top + ph + 16.0,
        fmt(x0),
        left + pw,
        top + ph + 16.0,
        fmt(x1),
        left + pw / 2.0,
        h - 6.0,
        esc(x_label),
        top + ph / 2.0,
        top + ph / 2.0,
        esc(y_label)
    );
    let path: Vec<String> = points
        .iter()
        .map(|&(x, y)| format!("{:.1},{:.1}", xs(x), ys(y)))
        .collect();
    let _ = write!(
        s,
        r##"<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{}"/>"##,
        path.join(" ")
    );
    if points.len() <= 50 {
        for &(x, y) in points {
            let _ = write!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#1f77b4"/>"##,
                xs(x),
                ys(y)
            );
        }
    }
    s.push_str("</svg>");
    s
}
