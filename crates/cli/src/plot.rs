//! `--plot F.svg`: the chosen series over simulated time, one panel per unit, with
//! the run's events as labelled vertical markers. Drawn with plotters' SVG backend
//! without its `ttf` feature, so no font file is read: text is laid out with
//! estimated metrics and the viewer picks the font.

use anyhow::{Result, anyhow, bail};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use winter_river_protocol::{Event, Severity};
use winter_river_sim::scenario::{
    Recording, RunReport, SYSTEM_SERIES, Scenario, SeriesValues, recorded_extra,
};
use winter_river_sim::topology::NodeSpec;

/// Points per line beyond which a series is thinned (keeping each bucket's extremes).
const MAX_POINTS: usize = 4000;
/// Event markers beyond which only warnings and critical events are marked.
const MAX_MARKERS: usize = 30;
/// Marker label rows, to keep neighbouring labels apart.
const LABEL_ROWS: usize = 4;
const WIDTH_PX: u32 = 1200;
const PANEL_HEIGHT_PX: u32 = 320;

/// Whether nodes of this kind report `field` beyond the common measurements (the
/// recorder keeps a `<node>.battery_pct` series where a kind reports it).
fn reports(n: &NodeSpec, field: &str) -> bool {
    n.kind().spec().extra_fields.contains(&field)
}

/// Series names plottable for this scenario: system fields, `<node>.power_kw`,
/// `<ups>.battery_pct`, `<room>.temperature_c`.
fn plottable(scenario: &Scenario) -> Vec<String> {
    let mut names: Vec<String> = SYSTEM_SERIES.iter().map(|s| (*s).to_string()).collect();
    for n in &scenario.topology.nodes {
        names.push(format!("{}.power_kw", n.id));
        if let Some(field) = recorded_extra(n.kind()) {
            names.push(format!("{}.{field}", n.id));
        }
    }
    names
}

/// The series plotted when none is chosen.
fn default_series(scenario: &Scenario) -> Vec<String> {
    let mut names: Vec<String> = ["it_kw", "facility_kw", "it_kw_lost"]
        .map(String::from)
        .into();
    for n in &scenario.topology.nodes {
        if reports(n, "battery_pct") {
            names.push(format!("{}.battery_pct", n.id));
        }
    }
    if scenario
        .topology
        .nodes
        .iter()
        .any(|n| reports(n, "fuel_pct"))
    {
        names.push("fuel_pct".into());
    }
    // A site with rooms: the highest inlet and each room's air.
    let rooms: Vec<String> = scenario
        .topology
        .nodes
        .iter()
        .filter(|n| reports(n, "temperature_c"))
        .map(|n| format!("{}.temperature_c", n.id))
        .collect();
    if !rooms.is_empty() {
        names.push("max_inlet_c".into());
        names.extend(rooms);
    }
    names
}

/// Refuses series names the recorder does not keep.
pub fn check_series(scenario: &Scenario, chosen: &[String]) -> Result<()> {
    let known = plottable(scenario);
    for name in chosen {
        if !known.contains(name) {
            let sample: Vec<&str> = known.iter().take(12).map(String::as_str).collect();
            bail!(
                "--series: `{name}` is not a plottable series (system fields, <node>.power_kw, <ups>.battery_pct, <room>.temperature_c; e.g. {}{})",
                sample.join(", "),
                if known.len() > sample.len() {
                    ", …"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}

/// The unit of a series, from its name.
fn unit(name: &str) -> &'static str {
    let field = name.rsplit('.').next().unwrap_or(name);
    if field.contains("kwh") {
        "kWh"
    } else if field.ends_with("_kw") || field.contains("_kw_") {
        "kW"
    } else if field.ends_with("_pct") {
        "%"
    } else if field.ends_with("_c") {
        "°C"
    } else if field.ends_with("_s") {
        "s"
    } else if field == "pue" {
        "PUE"
    } else {
        ""
    }
}

/// Runs of consecutive present values, as (t, v) points.
fn runs(time_s: &[f64], values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for (t, v) in time_s.iter().zip(values) {
        match v {
            Some(v) => cur.push((*t, *v)),
            None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// At most about `max` points: per bucket the first, the lowest and the highest
/// point in time order, so steps and spikes survive.
fn thin(points: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max {
        return points;
    }
    let bucket = points.len().div_ceil(max / 3).max(1);
    let mut out = Vec::with_capacity(max + 3);
    for chunk in points.chunks(bucket) {
        let mut idx = vec![0];
        let lo = (0..chunk.len())
            .min_by(|&a, &b| chunk[a].1.total_cmp(&chunk[b].1))
            .unwrap_or(0);
        let hi = (0..chunk.len())
            .max_by(|&a, &b| chunk[a].1.total_cmp(&chunk[b].1))
            .unwrap_or(0);
        idx.extend([lo, hi, chunk.len() - 1]);
        idx.sort_unstable();
        idx.dedup();
        out.extend(idx.into_iter().map(|i| chunk[i]));
    }
    out
}

/// A named series as runs of (t, value) points between gaps.
type Line = (String, Vec<Vec<(f64, f64)>>);

/// One marker: a time and the events at it.
struct Marker {
    t: f64,
    label: String,
    severity: Severity,
}

fn markers(events: &[Event]) -> Vec<Marker> {
    let mut out: Vec<Marker> = Vec::new();
    let mut count_at = 0usize;
    for e in events {
        match out.last_mut() {
            Some(m) if (m.t - e.t).abs() < 1e-9 => {
                count_at += 1;
                m.severity = m.severity.max(e.severity);
                // Keep the label short: the first event, then a count.
                let base = m.label.split(" +").next().unwrap_or("").to_string();
                m.label = format!("{base} +{}", count_at - 1);
            }
            _ => {
                count_at = 1;
                out.push(Marker {
                    t: e.t,
                    label: format!("{} {}", e.node_id, e.event),
                    severity: e.severity,
                });
            }
        }
    }
    if out.len() > MAX_MARKERS {
        out.retain(|m| m.severity >= Severity::Warning);
        out.truncate(MAX_MARKERS);
    }
    out
}

fn severity_color(s: Severity) -> RGBColor {
    match s {
        Severity::Info => RGBColor(120, 120, 120),
        Severity::Warning => RGBColor(214, 130, 0),
        Severity::Critical => RGBColor(200, 30, 30),
    }
}

const LINE_COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];

fn draw_err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("cannot draw the plot: {e}")
}

/// The SVG text of the plot.
pub fn svg(
    scenario: &Scenario,
    report: &RunReport,
    rec: &Recording,
    chosen: &[String],
) -> Result<String> {
    check_series(scenario, chosen)?;
    let names = if chosen.is_empty() {
        default_series(scenario)
    } else {
        chosen.to_vec()
    };
    // (name, runs of points), skipping series with no value at all.
    let mut lines: Vec<Line> = Vec::new();
    for name in &names {
        if let Some(SeriesValues::Num(values)) = rec.get(name).map(|s| &s.values) {
            let r: Vec<_> = runs(&rec.time_s, values)
                .into_iter()
                .map(|r| thin(r, MAX_POINTS))
                .collect();
            if !r.is_empty() {
                lines.push((name.clone(), r));
            }
        }
    }
    // Panels by unit, in the order units first appear.
    let mut units: Vec<&'static str> = Vec::new();
    for (name, _) in &lines {
        if !units.contains(&unit(name)) {
            units.push(unit(name));
        }
    }
    let panels = units.len().max(1);
    let t_end = rec
        .time_s
        .last()
        .copied()
        .unwrap_or(scenario.duration_s)
        .max(scenario.duration_s)
        .max(1e-3);
    let marks = markers(&report.events);

    let mut buf = String::new();
    {
        let height = 50 + PANEL_HEIGHT_PX * u32::try_from(panels).unwrap_or(1);
        let root = SVGBackend::with_string(&mut buf, (WIDTH_PX, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let root = root
            .titled(&scenario.name, ("sans-serif", 22).into_font())
            .map_err(draw_err)?;
        let areas = root.split_evenly((panels, 1));
        for (p, area) in areas.iter().enumerate() {
            let unit = units.get(p).copied().unwrap_or("");
            let in_panel: Vec<(usize, &Line)> = lines
                .iter()
                .enumerate()
                .filter(|(_, (n, _))| self::unit(n) == unit)
                .collect();
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for (_, (_, rs)) in &in_panel {
                for (_, v) in rs.iter().flatten() {
                    lo = lo.min(*v);
                    hi = hi.max(*v);
                }
            }
            if unit == "%" {
                (lo, hi) = (0.0, 100.0);
            }
            if !lo.is_finite() || !hi.is_finite() {
                (lo, hi) = (0.0, 1.0);
            }
            if unit == "kW" || unit == "kWh" || unit == "s" {
                lo = lo.min(0.0);
            }
            if hi - lo < 1e-9 {
                hi = lo + 1.0;
            }
            let pad = (hi - lo) * 0.08;
            let (y0, y1) = (lo - if lo == 0.0 { 0.0 } else { pad }, hi + pad * 3.0);

            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(70)
                .build_cartesian_2d(0f64..t_end, y0..y1)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_desc("t [s]")
                .y_desc(if unit.is_empty() {
                    "value".to_string()
                } else {
                    format!("[{unit}]")
                })
                .max_light_lines(2)
                .light_line_style(RGBColor(240, 240, 240))
                .draw()
                .map_err(draw_err)?;

            for m in &marks {
                let color = severity_color(m.severity);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(m.t, y0), (m.t, y1)],
                        color.mix(0.6),
                    )))
                    .map_err(draw_err)?;
            }
            if p == 0 {
                for (i, m) in marks.iter().enumerate() {
                    let row = (i % LABEL_ROWS) as f64;
                    let y = y1 - (y1 - y0) * (0.03 + 0.05 * row);
                    // Near the right edge, hang the label to the left of its marker.
                    let h = if m.t > 0.75 * t_end {
                        HPos::Right
                    } else {
                        HPos::Left
                    };
                    let style = ("sans-serif", 11)
                        .into_font()
                        .color(&severity_color(m.severity))
                        .pos(Pos::new(h, VPos::Top));
                    chart
                        .draw_series(std::iter::once(Text::new(
                            format!(" {} ", m.label),
                            (m.t, y),
                            style,
                        )))
                        .map_err(draw_err)?;
                }
            }

            for (i, (name, rs)) in in_panel {
                let color = LINE_COLORS[i % LINE_COLORS.len()];
                for (k, r) in rs.iter().enumerate() {
                    let drawn = chart
                        .draw_series(LineSeries::new(r.iter().copied(), color.stroke_width(2)))
                        .map_err(draw_err)?;
                    if k == 0 {
                        drawn.label(name.as_str()).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                        });
                    }
                }
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .draw()
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_from_names() {
        assert_eq!(unit("it_kw"), "kW");
        assert_eq!(unit("it_kwh_unserved"), "kWh");
        assert_eq!(unit("it_kw_lost"), "kW");
        assert_eq!(unit("ups_a.battery_pct"), "%");
        assert_eq!(unit("runtime_s"), "s");
        assert_eq!(unit("pue"), "PUE");
        assert_eq!(unit("hall_1.temperature_c"), "°C");
        assert_eq!(unit("max_inlet_c"), "°C");
    }

    #[test]
    fn gaps_split_runs() {
        let r = runs(
            &[0.0, 1.0, 2.0, 3.0],
            &[Some(1.0), None, Some(2.0), Some(3.0)],
        );
        assert_eq!(r, vec![vec![(0.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]);
    }

    #[test]
    fn thinning_keeps_extremes() {
        let mut pts: Vec<(f64, f64)> = (0..100_000).map(|i| (f64::from(i), 0.0)).collect();
        pts[51_234].1 = 9.0;
        let t = thin(pts, 3000);
        assert!(t.len() <= 3100, "{}", t.len());
        assert!(t.iter().any(|p| p.1 == 9.0));
        assert_eq!(t.last().map(|p| p.0), Some(99_999.0));
    }
}
