//! Plots of analysis results drawn off-screen with plotters, to PNG and
//! SVG: the same data and labels the app shows. A suppressed cell (no
//! numbers in a released result) is never drawn.

use super::{AnalysisResult, Cell, ResultBody};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

const FONT: &str = "sans-serif";

/// Registers egui's Ubuntu Light as the plots' font (no system fonts).
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TTF shipped by egui; a failure would only
        // leave text out, never panic.
        let _ = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// Why a plot cannot be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the plot: {0}")]
pub struct PlotError(String);

fn err<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError(e.to_string())
}

/// The plot as an SVG document.
pub fn svg(result: &AnalysisResult, size: (u32, u32)) -> Result<String, PlotError> {
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(&root, result)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// The plot written as a PNG file.
pub fn png(result: &AnalysisResult, path: &Path, size: (u32, u32)) -> Result<(), PlotError> {
    register_font();
    let root = BitMapBackend::new(path, size).into_drawing_area();
    draw(&root, result)?;
    root.present().map_err(err)
}

/// What is drawn: (series label, points (x, estimate, low, high)).
type Series = Vec<(String, Vec<(f64, f64, f64, f64)>)>;

/// A bar: its label and (estimate, low, high), None when suppressed.
type Bar = (String, Option<(f64, f64, f64)>);

fn visible(c: &Cell) -> Option<(f64, f64, f64)> {
    Some((c.estimate?, c.ci_low?, c.ci_high?))
}

fn title(result: &AnalysisResult) -> (String, String, String) {
    match &result.result {
        ResultBody::Trend(t) => (
            "Trend over time".into(),
            "period".into(),
            match t.per {
                Some(per) => format!("rate per {per} (95% CI)"),
                None => "count (95% CI)".into(),
            },
        ),
        ResultBody::Prevalence(p) => (
            format!(
                "Prevalence by {}",
                if p.strata.is_empty() {
                    "stratum".to_string()
                } else {
                    p.strata.join(" x ")
                }
            ),
            p.strata.join(" x "),
            "prevalence (95% CI)".into(),
        ),
        ResultBody::Standardised(s) => (
            format!("Age-specific rates; {}", s.standard),
            "age band".into(),
            "rate (95% CI)".into(),
        ),
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    result: &AnalysisResult,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let (heading, x_label, y_label) = title(result);
    let footer = if result.suppression.released {
        format!(
            "Counts 1-{} and what derives from them are suppressed and not drawn.",
            result.suppression.threshold
        )
    } else {
        "NOT FOR RELEASE: small cells are drawn.".to_string()
    };
    let (area, foot) = root.split_vertically(root.dim_in_pixel().1.saturating_sub(24));
    foot.draw(&Text::new(footer, (10, 4), (FONT, 14).into_font()))
        .map_err(err)?;
    match &result.result {
        ResultBody::Trend(t) => {
            let series: Series = t
                .lines
                .iter()
                .map(|l| {
                    let points = l
                        .cells
                        .iter()
                        .filter_map(|c| {
                            let (e, lo, hi) = visible(c)?;
                            let x = period_x(c.period.as_deref()?)?;
                            Some((x, e, lo, hi))
                        })
                        .collect();
                    (l.label.clone(), points)
                })
                .collect();
            lines(&area, &heading, &x_label, &y_label, &series)
        }
        ResultBody::Prevalence(p) => {
            bar_chart(&area, &heading, &x_label, &y_label, &bars(&p.cells))
        }
        ResultBody::Standardised(s) => {
            let heading = match visible(&s.adjusted) {
                Some((e, lo, hi)) => format!("{heading}; adjusted {e:.1} [{lo:.1}, {hi:.1}]"),
                None => heading,
            };
            bar_chart(&area, &heading, &x_label, &y_label, &bars(&s.bands))
        }
    }
}

/// One bar per cell, labelled by its strata.
fn bars(cells: &[Cell]) -> Vec<Bar> {
    cells
        .iter()
        .map(|c| (c.labels.join(" / "), visible(c)))
        .collect()
}

/// A position on the time axis as a period label: 2019, 2019-Q2, 2019-03.
fn period_label(x: f64) -> String {
    let year = x.floor();
    let part = x - year;
    if part.abs() < 1e-6 {
        format!("{year:.0}")
    } else if (part * 4.0 - (part * 4.0).round()).abs() < 1e-6 {
        format!("{year:.0}-Q{:.0}", part * 4.0 + 1.0)
    } else {
        format!("{year:.0}-{:02.0}", part * 12.0 + 1.0)
    }
}

/// A period label as a position on the time axis (years).
fn period_x(p: &str) -> Option<f64> {
    [
        super::TimeUnit::Year,
        super::TimeUnit::Quarter,
        super::TimeUnit::Month,
    ]
    .into_iter()
    .find_map(|u| super::compute::period_time(p, u))
}

fn lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    x_label: &str,
    y_label: &str,
    series: &Series,
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let all: Vec<&(f64, f64, f64, f64)> = series.iter().flat_map(|s| &s.1).collect();
    let (x0, x1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let y1 = all.iter().fold(0.0f64, |m, p| m.max(p.3));
    let (x0, x1) = if all.is_empty() {
        (0.0, 1.0)
    } else {
        (x0 - 0.5, x1 + 0.5)
    };
    let y1 = if y1 <= 0.0 { 1.0 } else { y1 * 1.08 };
    // Labels only where a period of the data's unit starts.
    let mut periods: Vec<f64> = all.iter().map(|p| p.0).collect();
    periods.sort_by(f64::total_cmp);
    periods.dedup();
    let per_year = [1.0, 4.0, 12.0]
        .into_iter()
        .find(|k| {
            periods
                .iter()
                .all(|x| ((x * k) - (x * k).round()).abs() < 1e-6)
        })
        .unwrap_or(12.0);
    let mut chart = ChartBuilder::on(area)
        .caption(heading, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FONT, 13))
        .light_line_style(RGBColor(240, 240, 240))
        .x_labels(periods.len().clamp(2, 16) * 2)
        .x_label_formatter(&|x| {
            if ((x * per_year) - (x * per_year).round()).abs() < 1e-6 {
                period_label(*x)
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(err)?;
    for (i, (label, points)) in series.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        if points.len() >= 2 {
            let band: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (p.0, p.2))
                .chain(points.iter().rev().map(|p| (p.0, p.3)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15))))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.0, p.1)),
                colour.stroke_width(2),
            ))
            .map_err(err)?
            .label(label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.0, p.1), 3, colour.filled())),
            )
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}

fn bar_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    x_label: &str,
    y_label: &str,
    bars: &[Bar],
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let y1 = bars
        .iter()
        .filter_map(|b| b.1.map(|v| v.2))
        .fold(0.0f64, f64::max);
    let y1 = if y1 <= 0.0 { 1.0 } else { y1 * 1.08 };
    // A segmented 0..last holds one segment per bar.
    let last = bars.len().saturating_sub(1) as i32;
    let mut chart = ChartBuilder::on(area)
        .caption(heading, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((0..last).into_segmented(), 0.0..y1)
        .map_err(err)?;
    let names: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FONT, 13))
        .light_line_style(RGBColor(240, 240, 240))
        .x_labels(bars.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(err)?;
    let colour = Palette99::pick(0).to_rgba();
    for (i, (_, v)) in bars.iter().enumerate() {
        let i = i as i32;
        let Some((e, lo, hi)) = v else {
            // Suppressed: no bar, a word where it would be.
            chart
                .draw_series(std::iter::once(Text::new(
                    "suppressed",
                    (SegmentValue::CenterOf(i), y1 * 0.02),
                    (FONT, 13).into_font().color(&RGBColor(120, 120, 120)),
                )))
                .map_err(err)?;
            continue;
        };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *e),
                ],
                colour.mix(0.6).filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(ErrorBar::new_vertical(
                SegmentValue::CenterOf(i),
                *lo,
                *e,
                *hi,
                BLACK.stroke_width(1),
                8,
            )))
            .map_err(err)?;
    }
    Ok(())
}
