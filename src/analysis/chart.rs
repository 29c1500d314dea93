//! What a result's plot shows, independent of who draws it: the app draws
//! a `Chart` with egui_plot, the exports with plotters (`plot`), so both
//! carry the same data, labels and suppression. A suppressed cell of a
//! released result has no numbers and so is never a point, bar or tile.

use super::{AnalysisResult, Cell, ResultBody, Stratum};
use serde::{Deserialize, Serialize};

/// The ways a result can be drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartView {
    /// A trend: one line per stratum with its CI band.
    Lines,
    /// One bar per stratum with its CI as an error bar.
    Bars,
    /// Two crossed strata: rows x columns, coloured by the estimate.
    Heatmap,
    /// Age group x sex: the denominator by age band, men left, women right.
    Pyramid,
}

impl ChartView {
    pub fn name(self) -> &'static str {
        match self {
            ChartView::Lines => "lines",
            ChartView::Bars => "bars",
            ChartView::Heatmap => "heatmap",
            ChartView::Pyramid => "pyramid",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ChartView::Lines => "Trend lines",
            ChartView::Bars => "Bars",
            ChartView::Heatmap => "Heatmap",
            ChartView::Pyramid => "Age-sex pyramid",
        }
    }
}

/// The views a result can be drawn in; the first is the default.
pub fn views(result: &AnalysisResult) -> Vec<ChartView> {
    match &result.result {
        ResultBody::Trend(_) => vec![ChartView::Lines],
        ResultBody::Standardised(_) => vec![ChartView::Bars],
        ResultBody::Prevalence(p) => {
            let mut v = vec![ChartView::Bars];
            if p.strata.len() == 2 {
                v.push(ChartView::Heatmap);
            }
            if pyramid_axes(&p.strata).is_some() {
                v.push(ChartView::Pyramid);
            }
            v
        }
    }
}

/// The numbers of one point, bar or tile (absent when suppressed for
/// release); `flagged` marks a small cell shown on this workstation only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Value {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    pub x: Option<u64>,
    pub n: Option<f64>,
    pub flagged: bool,
}

impl Value {
    fn of(c: &Cell) -> Option<Value> {
        Some(Value {
            estimate: c.estimate?,
            low: c.ci_low?,
            high: c.ci_high?,
            x: c.x,
            n: c.n,
            flagged: c.suppressed,
        })
    }

    /// "12 of 340: 3.53% [2.03, 6.07]" style, for hover and tooltips.
    pub fn describe(&self, percent: bool) -> String {
        let (e, l, h) = if percent {
            (self.estimate * 100.0, self.low * 100.0, self.high * 100.0)
        } else {
            (self.estimate, self.low, self.high)
        };
        let unit = if percent { "%" } else { "" };
        let counts = match (self.x, self.n) {
            (Some(x), Some(n)) => format!("{x} of {}: ", fmt_count(n)),
            (Some(x), None) => format!("{x}: "),
            _ => String::new(),
        };
        let flag = if self.flagged {
            " (small cell: not for release)"
        } else {
            ""
        };
        format!(
            "{counts}{}{unit} [{}, {}]{flag}",
            fmt_num(e),
            fmt_num(l),
            fmt_num(h)
        )
    }
}

fn fmt_count(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{n:.0}")
    } else {
        format!("{n:.1}")
    }
}

/// Up to 4 significant digits, no exponent for ordinary sizes.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if v.fract() == 0.0 && a < 1e15 {
        // Counts stay counts.
        format!("{v:.0}")
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// One point of a trend line.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Time in years (2019.25 is 2019-Q2).
    pub t: f64,
    pub period: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub points: Vec<Point>,
    /// Periods of this line not drawn because they are suppressed.
    pub hidden: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Lines(Vec<Line>),
    Bars(Vec<Bar>),
    Heatmap {
        rows: Vec<String>,
        columns: Vec<String>,
        /// rows x columns; None: no such cell or suppressed.
        tiles: Vec<Vec<Option<Value>>>,
        /// rows x columns: the cell exists but its numbers are hidden.
        suppressed: Vec<Vec<bool>>,
    },
    Pyramid {
        bands: Vec<String>,
        /// The denominator per band; None when suppressed or absent.
        men: Vec<Option<Value>>,
        women: Vec<Option<Value>>,
    },
}

/// A plot, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub view: ChartView,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Under the plot: how small cells were treated.
    pub footer: String,
    /// Estimates are proportions shown as percentages.
    pub percent: bool,
    pub body: Body,
}

impl Chart {
    /// What estimates are multiplied by when drawn (100 for percentages).
    pub fn scale(&self) -> f64 {
        if self.percent {
            100.0
        } else {
            1.0
        }
    }
}

/// The chart of `result` in `view` (the default view when `view` does not
/// apply to this result).
pub fn chart(result: &AnalysisResult, view: ChartView) -> Chart {
    let available = views(result);
    let view = if available.contains(&view) {
        view
    } else {
        available[0]
    };
    let footer = if result.suppression.released {
        format!(
            "Counts 1-{} and what derives from them are suppressed and not drawn.",
            result.suppression.threshold
        )
    } else {
        "NOT FOR RELEASE: small cells are drawn (marked).".to_string()
    };
    let (title, x_label, y_label, percent, body) = match (&result.result, view) {
        (ResultBody::Trend(t), _) => (
            "Trend over time".to_string(),
            "period".to_string(),
            match t.per {
                Some(per) => format!("rate per {} (95% CI)", fmt_count(per)),
                None => "count (95% CI)".to_string(),
            },
            false,
            Body::Lines(
                t.lines
                    .iter()
                    .map(|l| {
                        let mut points = Vec::new();
                        let mut hidden = Vec::new();
                        for c in &l.cells {
                            let Some(period) = c.period.clone() else {
                                continue;
                            };
                            match (Value::of(c), period_time(&period)) {
                                (Some(value), Some(t)) => points.push(Point { t, period, value }),
                                _ => hidden.push(period),
                            }
                        }
                        Line {
                            label: l.label.clone(),
                            points,
                            hidden,
                        }
                    })
                    .collect(),
            ),
        ),
        (ResultBody::Standardised(s), _) => {
            let title = match Value::of(&s.adjusted) {
                Some(v) => format!(
                    "Age-specific rates; {}; adjusted {} [{}, {}]",
                    s.standard,
                    fmt_num(v.estimate),
                    fmt_num(v.low),
                    fmt_num(v.high)
                ),
                None => format!("Age-specific rates; {}", s.standard),
            };
            let per = match &result.spec {
                super::AnalysisSpec::Standardised(sp) => sp.per,
                _ => 100_000.0,
            };
            (
                title,
                "age band".to_string(),
                format!("rate per {} (95% CI)", fmt_count(per)),
                false,
                Body::Bars(bars(&s.bands)),
            )
        }
        (ResultBody::Prevalence(p), ChartView::Heatmap) => {
            let mut rows: Vec<String> = Vec::new();
            let mut columns: Vec<String> = Vec::new();
            for c in &p.cells {
                if c.labels.len() == 2 {
                    push_unique(&mut rows, &c.labels[0]);
                    push_unique(&mut columns, &c.labels[1]);
                }
            }
            let mut tiles = vec![vec![None; columns.len()]; rows.len()];
            let mut suppressed = vec![vec![false; columns.len()]; rows.len()];
            for c in &p.cells {
                if c.labels.len() != 2 {
                    continue;
                }
                let r = rows.iter().position(|v| v == &c.labels[0]);
                let k = columns.iter().position(|v| v == &c.labels[1]);
                if let (Some(r), Some(k)) = (r, k) {
                    tiles[r][k] = Value::of(c);
                    suppressed[r][k] = c.suppressed && tiles[r][k].is_none();
                }
            }
            (
                format!("Prevalence by {} x {}", p.strata[0], p.strata[1]),
                p.strata[1].clone(),
                p.strata[0].clone(),
                true,
                Body::Heatmap {
                    rows,
                    columns,
                    tiles,
                    suppressed,
                },
            )
        }
        (ResultBody::Prevalence(p), ChartView::Pyramid) => {
            let (age_at, sex_at) = pyramid_axes(&p.strata).expect("checked by views()");
            let mut bands: Vec<String> = Vec::new();
            for c in &p.cells {
                push_unique(&mut bands, &c.labels[age_at]);
            }
            let mut men = vec![None; bands.len()];
            let mut women = vec![None; bands.len()];
            for c in &p.cells {
                let b = bands.iter().position(|v| v == &c.labels[age_at]);
                let side = match c.labels[sex_at].as_str() {
                    "M" => &mut men,
                    "F" => &mut women,
                    _ => continue,
                };
                if let (Some(b), Some(n)) = (b, c.n) {
                    side[b] = Some(Value {
                        estimate: n,
                        low: n,
                        high: n,
                        x: c.x,
                        n: Some(n),
                        flagged: c.suppressed,
                    });
                }
            }
            (
                "Denominator by age group and sex".to_string(),
                "count (men left, women right)".to_string(),
                "age group".to_string(),
                false,
                Body::Pyramid { bands, men, women },
            )
        }
        (ResultBody::Prevalence(p), _) => (
            format!(
                "Prevalence by {}",
                if p.strata.is_empty() {
                    "stratum".to_string()
                } else {
                    p.strata.join(" x ")
                }
            ),
            p.strata.join(" x "),
            "prevalence, % (95% CI)".to_string(),
            true,
            Body::Bars(bars(&p.cells)),
        ),
    };
    Chart {
        view,
        title,
        x_label,
        y_label,
        footer,
        percent,
        body,
    }
}

/// How a heatmap tile is drawn, the same by both drawers.
#[derive(Debug, Clone, PartialEq)]
pub struct TileLook {
    pub rgb: (u8, u8, u8),
    pub text: String,
    /// The text is white (on a dark tile), else black.
    pub light_ink: bool,
}

/// The highest estimate among the tiles (the top of the colour scale).
pub fn heat_top(tiles: &[Vec<Option<Value>>]) -> f64 {
    tiles
        .iter()
        .flatten()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.estimate))
}

/// A tile's colour (white to deep blue by estimate / `top`), its text
/// (the estimate, `*` when a small cell is shown; "suppressed"; "-" for
/// no such cell) and ink.
pub fn tile_look(tile: Option<&Value>, suppressed: bool, top: f64, scale: f64) -> TileLook {
    match tile {
        Some(v) => {
            let t = if top > 0.0 {
                (v.estimate / top).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
            let mark = if v.flagged { " *" } else { "" };
            TileLook {
                rgb: (mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0)),
                text: format!("{}{mark}", fmt_num(v.estimate * scale)),
                light_ink: t > 0.55,
            }
        }
        None if suppressed => TileLook {
            rgb: (210, 210, 210),
            text: "suppressed".into(),
            light_ink: false,
        },
        None => TileLook {
            rgb: (240, 240, 240),
            text: "-".into(),
            light_ink: false,
        },
    }
}

/// The positions of the age group and sex strata when the result is
/// exactly those two crossed.
fn pyramid_axes(strata: &[String]) -> Option<(usize, usize)> {
    if strata.len() != 2 {
        return None;
    }
    let age = strata.iter().position(|s| *s == Stratum::AgeGroup.name())?;
    let sex = strata.iter().position(|s| *s == Stratum::Sex.name())?;
    Some((age, sex))
}

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

fn bars(cells: &[Cell]) -> Vec<Bar> {
    cells
        .iter()
        .map(|c| Bar {
            label: c.labels.join(" / "),
            value: Value::of(c),
        })
        .collect()
}

/// A period label as a position on the time axis (years).
pub fn period_time(p: &str) -> Option<f64> {
    [
        super::TimeUnit::Year,
        super::TimeUnit::Quarter,
        super::TimeUnit::Month,
    ]
    .into_iter()
    .find_map(|u| super::compute::period_time(p, u))
}

/// A position on the time axis as a period label: 2019, 2019-Q2, 2019-03.
pub fn period_label(x: f64) -> String {
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
