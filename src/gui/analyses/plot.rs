//! A `Chart` drawn with egui_plot: the same data and labels as the
//! exported PNG/SVG (drawn by the library with plotters). Hovering a point,
//! bar or tile shows its numbers; a suppressed cell is not drawn.

use eframe::egui::{self, Color32};
use egui_plot::{
    Bar, BarChart, Corner, FilledArea, GridMark, HoverPosition, Legend, Line, Plot, PlotPoint,
    PlotPoints, PlotUi, Points, Polygon, Text,
};
use pacs_cohort::analysis::chart::{self, Body, Chart, Value};
use std::collections::HashMap;
use std::ops::RangeInclusive;

/// Series colours (the plotters palette's first entries, so exported
/// plots look like the app's).
const PALETTE: [Color32; 8] = [
    Color32::from_rgb(230, 25, 75),
    Color32::from_rgb(60, 180, 75),
    Color32::from_rgb(255, 225, 25),
    Color32::from_rgb(0, 130, 200),
    Color32::from_rgb(245, 130, 48),
    Color32::from_rgb(145, 30, 180),
    Color32::from_rgb(70, 240, 240),
    Color32::from_rgb(240, 50, 230),
];
const FLAGGED: Color32 = Color32::from_rgb(230, 140, 40);
const MEN: Color32 = Color32::from_rgb(66, 120, 190);
const WOMEN: Color32 = Color32::from_rgb(200, 90, 110);

/// What hovering an item shows: per item name, one text per element.
type Hover = HashMap<String, Vec<String>>;

/// Draws `c` filling the width, `height` points tall.
pub fn show(ui: &mut egui::Ui, c: &Chart, height: f32) {
    ui.vertical_centered(|ui| ui.label(egui::RichText::new(&c.title).strong()));
    let mut hover = Hover::new();
    let plot = Plot::new(("analysis_plot", c.view.name()))
        .height(height)
        .x_axis_label(c.x_label.clone())
        .y_axis_label(c.y_label.clone())
        .allow_scroll(false);
    // A heatmap's tiles are named for hover, not for a legend.
    let plot = if matches!(c.body, Body::Heatmap { .. }) {
        plot
    } else {
        plot.legend(Legend::default().position(Corner::RightTop))
    };
    match &c.body {
        Body::Lines(lines) => {
            for l in lines {
                hover.insert(
                    l.label.clone(),
                    l.points
                        .iter()
                        .map(|p| format!("{} {}\n{}", l.label, p.period, p.value.describe(false)))
                        .collect(),
                );
            }
            let hover = hover;
            plot.x_axis_formatter(|m: GridMark, _: &RangeInclusive<f64>| period_tick(m.value))
                .include_y(0.0)
                .label_formatter(move |pos| hovered(&hover, pos))
                .show(ui, |p| draw_lines(p, c, lines));
        }
        Body::Bars(bars) => {
            let names: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
            plot.x_axis_formatter(move |m, _| tick_name(&names, m.value))
                .include_y(0.0)
                .label_formatter(|_| None)
                .show(ui, |p| draw_bars(p, c, bars));
        }
        Body::Heatmap {
            rows,
            columns,
            tiles,
            suppressed,
        } => {
            let cols = columns.clone();
            let nr = rows.len();
            let rows_top_down = rows.clone();
            for (r, row) in tiles.iter().enumerate() {
                for (k, tile) in row.iter().enumerate() {
                    let name = format!("{} / {}", rows[r], columns[k]);
                    let text = match tile {
                        Some(v) => format!("{name}\n{}", v.describe(c.percent)),
                        None if suppressed[r][k] => format!("{name}\nsuppressed"),
                        None => format!("{name}\nno such cell"),
                    };
                    hover.insert(name, vec![text; 4]);
                }
            }
            let hover = hover;
            plot.show_grid(false)
                .x_axis_formatter(move |m, _| tick_name(&cols, m.value))
                .y_axis_formatter(move |m, _| {
                    // Row 0 drawn at the top.
                    let i = nr as f64 - 1.0 - m.value;
                    tick_name(&rows_top_down, i)
                })
                .label_formatter(move |pos| hovered(&hover, pos))
                .show(ui, |p| draw_heatmap(p, c, rows, columns, tiles, suppressed));
        }
        Body::Pyramid { bands, men, women } => {
            let names = bands.clone();
            plot.x_axis_formatter(|m, _| format!("{:.0}", m.value.abs()))
                .y_axis_formatter(move |m, _| tick_name(&names, m.value))
                .label_formatter(|_| None)
                .show(ui, |p| draw_pyramid(p, bands, men, women));
        }
    }
    ui.label(egui::RichText::new(&c.footer).weak().small());
}

fn hovered(hover: &Hover, pos: &HoverPosition) -> Option<String> {
    match pos {
        HoverPosition::NearDataPoint {
            plot_name, index, ..
        } => hover.get(*plot_name)?.get(*index).cloned(),
        HoverPosition::Elsewhere { .. } => None,
    }
}

/// The label of an integer position, for category axes.
fn tick_name(names: &[String], v: f64) -> String {
    if (v - v.round()).abs() > 1e-6 || v < -0.5 {
        return String::new();
    }
    names.get(v.round() as usize).cloned().unwrap_or_default()
}

/// Period labels where a year, quarter or month starts.
fn period_tick(v: f64) -> String {
    let twelfths = v * 12.0;
    if (twelfths - twelfths.round()).abs() > 1e-6 {
        return String::new();
    }
    chart::period_label(v)
}

fn colour(i: usize) -> Color32 {
    PALETTE[i % PALETTE.len()]
}

fn draw_lines(p: &mut PlotUi, c: &Chart, lines: &[chart::Line]) {
    let k = c.scale();
    for (i, l) in lines.iter().enumerate() {
        let col = colour(i);
        if l.points.len() >= 2 {
            // The CI band between the lower and upper bounds (unnamed: the
            // legend shows the line's colour, not the band's).
            let xs: Vec<f64> = l.points.iter().map(|q| q.t).collect();
            let lo: Vec<f64> = l.points.iter().map(|q| q.value.low * k).collect();
            let hi: Vec<f64> = l.points.iter().map(|q| q.value.high * k).collect();
            p.add(
                FilledArea::new("", &xs, &lo, &hi)
                    .fill_color(col.gamma_multiply(0.18))
                    .stroke(egui::Stroke::NONE)
                    .allow_hover(false),
            );
        }
        let xy: Vec<[f64; 2]> = l
            .points
            .iter()
            .map(|q| [q.t, q.value.estimate * k])
            .collect();
        p.line(
            Line::new(l.label.clone(), PlotPoints::from(xy.clone()))
                .color(col)
                .width(2.0),
        );
        p.points(
            Points::new(l.label.clone(), PlotPoints::from(xy))
                .color(col)
                .radius(3.0)
                .filled(true),
        );
        let flagged: Vec<[f64; 2]> = l
            .points
            .iter()
            .filter(|q| q.value.flagged)
            .map(|q| [q.t, q.value.estimate * k])
            .collect();
        if !flagged.is_empty() {
            p.points(
                Points::new("small cell (not for release)", PlotPoints::from(flagged))
                    .color(FLAGGED)
                    .radius(5.0)
                    .filled(false),
            );
        }
    }
}

fn bar_of(x: f64, v: &Value, k: f64, percent: bool, label: &str, fill: Color32) -> Bar {
    Bar::new(x, v.estimate * k)
        .width(0.6)
        .fill(if v.flagged { FLAGGED } else { fill })
        .name(format!("{label}\n{}", v.describe(percent)))
}

fn error_bar(p: &mut PlotUi, x: f64, v: &Value, k: f64) {
    let (lo, hi) = (v.low * k, v.high * k);
    let cap = 0.12;
    for seg in [
        [[x, lo], [x, hi]],
        [[x - cap, lo], [x + cap, lo]],
        [[x - cap, hi], [x + cap, hi]],
    ] {
        // Unnamed: kept out of the legend and of hover.
        p.line(
            Line::new("", PlotPoints::from(seg.to_vec()))
                .color(Color32::GRAY)
                .width(1.5)
                .allow_hover(false),
        );
    }
}

fn draw_bars(p: &mut PlotUi, c: &Chart, bars: &[chart::Bar]) {
    let k = c.scale();
    let shown: Vec<Bar> = bars
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            Some(bar_of(
                i as f64,
                b.value.as_ref()?,
                k,
                c.percent,
                &b.label,
                colour(3),
            ))
        })
        .collect();
    // Bars first, so the error bars are drawn over them.
    p.bar_chart(
        BarChart::new("estimate (95% CI)", shown)
            .color(colour(3))
            .element_formatter(Box::new(|bar, _| bar.name.clone())),
    );
    for (i, b) in bars.iter().enumerate() {
        let x = i as f64;
        match &b.value {
            Some(v) => error_bar(p, x, v, k),
            None => p.text(
                Text::new("", PlotPoint::new(x, 0.0), "suppressed")
                    .color(Color32::GRAY)
                    .anchor(egui::Align2::CENTER_BOTTOM),
            ),
        }
    }
}

fn draw_heatmap(
    p: &mut PlotUi,
    c: &Chart,
    rows: &[String],
    columns: &[String],
    tiles: &[Vec<Option<Value>>],
    suppressed: &[Vec<bool>],
) {
    let top = chart::heat_top(tiles);
    let nr = rows.len();
    for (r, row) in tiles.iter().enumerate() {
        for (col, tile) in row.iter().enumerate() {
            let (x, y) = (col as f64, (nr - 1 - r) as f64);
            let name = format!("{} / {}", rows[r], columns[col]);
            let look = chart::tile_look(tile.as_ref(), suppressed[r][col], top, c.scale());
            let fill = Color32::from_rgb(look.rgb.0, look.rgb.1, look.rgb.2);
            let (text, ink) = if look.light_ink {
                (look.text, Color32::WHITE)
            } else {
                (look.text, Color32::BLACK)
            };
            let h = 0.48;
            p.polygon(
                Polygon::new(
                    name,
                    PlotPoints::from(vec![
                        [x - h, y - h],
                        [x + h, y - h],
                        [x + h, y + h],
                        [x - h, y + h],
                    ]),
                )
                .fill_color(fill)
                .stroke(egui::Stroke::NONE),
            );
            p.text(
                Text::new(
                    "",
                    PlotPoint::new(x, y),
                    egui::RichText::new(text).size(14.0),
                )
                .color(ink)
                .allow_hover(false),
            );
        }
    }
}

fn draw_pyramid(p: &mut PlotUi, bands: &[String], men: &[Option<Value>], women: &[Option<Value>]) {
    for (values, sign, fill, name) in [(men, -1.0, MEN, "men"), (women, 1.0, WOMEN, "women")] {
        let bars: Vec<Bar> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let v = v.as_ref()?;
                let text = format!(
                    "{} {name}\n{} in the denominator{}",
                    bands[i],
                    chart::fmt_num(v.estimate),
                    match v.x {
                        Some(x) => format!(", {x} cases"),
                        None => String::new(),
                    }
                );
                // A small cell keeps its side's colour, outlined.
                let stroke = if v.flagged {
                    egui::Stroke::new(2.5, FLAGGED)
                } else {
                    egui::Stroke::new(1.0, fill)
                };
                Some(
                    Bar::new(i as f64, sign * v.estimate)
                        .width(0.8)
                        .fill(fill.gamma_multiply(0.85))
                        .stroke(stroke)
                        .name(text),
                )
            })
            .collect();
        p.bar_chart(
            BarChart::new(name, bars)
                .horizontal()
                .color(fill)
                .element_formatter(Box::new(|bar, _| bar.name.clone())),
        );
    }
}
