//! Plots of analysis results drawn off-screen with plotters, to PNG and
//! SVG: the same data and labels the app shows. A suppressed cell (no
//! numbers in a released result) is never drawn.

use super::chart::{self, Body, Chart, ChartView};
use super::AnalysisResult;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
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

/// The plot of `result` in `view` as an SVG document.
pub fn svg(
    result: &AnalysisResult,
    view: ChartView,
    size: (u32, u32),
) -> Result<String, PlotError> {
    register_font();
    let chart = chart::chart(result, view);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(&root, &chart)?;
        root.present().map_err(err)?;
    }
    Ok(out)
}

/// The plot of `result` in `view` written as a PNG file.
pub fn png(
    result: &AnalysisResult,
    view: ChartView,
    path: &Path,
    size: (u32, u32),
) -> Result<(), PlotError> {
    register_font();
    let chart = chart::chart(result, view);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    draw(&root, &chart)?;
    root.present().map_err(err)
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Chart) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let (area, foot) = root.split_vertically(root.dim_in_pixel().1.saturating_sub(24));
    foot.draw(&Text::new(
        c.footer.clone(),
        (10, 4),
        (FONT, 14).into_font(),
    ))
    .map_err(err)?;
    match &c.body {
        Body::Lines(l) => lines(&area, c, l),
        Body::Bars(b) => bar_chart(&area, c, b),
        Body::Heatmap {
            rows,
            columns,
            tiles,
            suppressed,
        } => heatmap(&area, c, rows, columns, tiles, suppressed),
        Body::Pyramid { bands, men, women } => pyramid(&area, c, bands, men, women),
    }
}

fn lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Chart,
    series: &[chart::Line],
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let k = c.scale();
    let all: Vec<&chart::Point> = series.iter().flat_map(|s| &s.points).collect();
    let (x0, x1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.t), b.max(p.t)));
    let y1 = all.iter().fold(0.0f64, |m, p| m.max(p.value.high * k));
    let (x0, x1) = if all.is_empty() {
        (0.0, 1.0)
    } else {
        (x0 - 0.5, x1 + 0.5)
    };
    let y1 = if y1 <= 0.0 { 1.0 } else { y1 * 1.08 };
    // Labels only where a period of the data's unit starts.
    let mut periods: Vec<f64> = all.iter().map(|p| p.t).collect();
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
        .caption(&c.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .label_style((FONT, 13))
        .light_line_style(RGBColor(240, 240, 240))
        .x_labels(periods.len().clamp(2, 16) * 2)
        .x_label_formatter(&|x| {
            if ((x * per_year) - (x * per_year).round()).abs() < 1e-6 {
                chart::period_label(*x)
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(err)?;
    for (i, line) in series.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        let points = &line.points;
        if points.len() >= 2 {
            let band: Vec<(f64, f64)> = points
                .iter()
                .map(|p| (p.t, p.value.low * k))
                .chain(points.iter().rev().map(|p| (p.t, p.value.high * k)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15))))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.t, p.value.estimate * k)),
                colour.stroke_width(2),
            ))
            .map_err(err)?
            .label(line.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.t, p.value.estimate * k), 3, colour.filled())),
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
    c: &Chart,
    bars: &[chart::Bar],
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let k = c.scale();
    let y1 = bars
        .iter()
        .filter_map(|b| b.value.map(|v| v.high * k))
        .fold(0.0f64, f64::max);
    let y1 = if y1 <= 0.0 { 1.0 } else { y1 * 1.08 };
    // A segmented 0..last holds one segment per bar.
    let last = bars.len().saturating_sub(1) as i32;
    let mut chart = ChartBuilder::on(area)
        .caption(&c.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((0..last).into_segmented(), 0.0..y1)
        .map_err(err)?;
    let names: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    chart
        .configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
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
    for (i, bar) in bars.iter().enumerate() {
        let i = i as i32;
        let Some(v) = bar.value else {
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
        let fill = if v.flagged {
            RGBColor(230, 140, 40).mix(0.6)
        } else {
            colour.mix(0.6)
        };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), v.estimate * k),
                ],
                fill.filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(ErrorBar::new_vertical(
                SegmentValue::CenterOf(i),
                v.low * k,
                v.estimate * k,
                v.high * k,
                BLACK.stroke_width(1),
                8,
            )))
            .map_err(err)?;
    }
    Ok(())
}

fn heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Chart,
    rows: &[String],
    columns: &[String],
    tiles: &[Vec<Option<chart::Value>>],
    suppressed: &[Vec<bool>],
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let top = chart::heat_top(tiles);
    let (nr, nc) = (rows.len().max(1) as i32, columns.len().max(1) as i32);
    // Segmented axes put each label at the centre of its tile.
    let mut chart = ChartBuilder::on(area)
        .caption(&c.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(110)
        .build_cartesian_2d((0..nc - 1).into_segmented(), (0..nr - 1).into_segmented())
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .label_style((FONT, 13))
        .x_labels(columns.len())
        .y_labels(rows.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => columns.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|y| match y {
            // Row 0 at the top, as in the app and the CSV.
            SegmentValue::CenterOf(i) => rows
                .get((nr - 1 - *i) as usize)
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(err)?;
    for (r, row) in tiles.iter().enumerate() {
        for (col, tile) in row.iter().enumerate() {
            let y = nr - 1 - r as i32;
            let x = col as i32;
            let look = chart::tile_look(tile.as_ref(), suppressed[r][col], top, c.scale());
            let fill = RGBColor(look.rgb.0, look.rgb.1, look.rgb.2);
            let (text, ink) = (look.text, if look.light_ink { WHITE } else { BLACK });
            let corners = [
                (SegmentValue::Exact(x), SegmentValue::Exact(y)),
                (SegmentValue::Exact(x + 1), SegmentValue::Exact(y + 1)),
            ];
            chart
                .draw_series([
                    Rectangle::new(corners.clone(), fill.filled()),
                    Rectangle::new(corners, WHITE.stroke_width(2)),
                ])
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    text,
                    (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                    (FONT, 14)
                        .into_font()
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                )))
                .map_err(err)?;
        }
    }
    Ok(())
}

fn pyramid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Chart,
    bands: &[String],
    men: &[Option<chart::Value>],
    women: &[Option<chart::Value>],
) -> Result<(), PlotError>
where
    DB::ErrorType: 'static,
{
    let top = men
        .iter()
        .chain(women)
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.estimate));
    let top = if top <= 0.0 { 1.0 } else { top * 1.1 };
    let last = bands.len().saturating_sub(1) as i32;
    let mut chart = ChartBuilder::on(area)
        .caption(&c.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-top..top, (0..last).into_segmented())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .label_style((FONT, 13))
        .light_line_style(TRANSPARENT)
        .y_labels(bands.len())
        .x_label_formatter(&|x| format!("{:.0}", x.abs()))
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(i) => bands.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(err)?;
    let sides = [
        (men, -1.0, RGBColor(66, 120, 190), "men"),
        (women, 1.0, RGBColor(200, 90, 110), "women"),
    ];
    for (values, sign, colour, name) in sides {
        let mut first = true;
        for (i, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            let i = i as i32;
            let fill = if v.flagged {
                RGBColor(230, 140, 40)
            } else {
                colour
            };
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (sign * v.estimate, SegmentValue::Exact(i + 1)),
                ],
                fill.mix(0.75).filled(),
            );
            bar.set_margin(3, 3, 0, 0);
            let drawn = chart.draw_series(std::iter::once(bar)).map_err(err)?;
            if first {
                first = false;
                drawn.label(name).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
            }
        }
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}
