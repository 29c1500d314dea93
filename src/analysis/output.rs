//! An analysis written to a folder, the same from the CLI and the app:
//! result.json (with its specification), spec.json (to re-run it),
//! result.csv (every cell), and each chart as SVG and PNG (plot.svg and
//! plot.png in the chosen view, plot-<view>.* for the other views).
//! Every file is owner-only: an unreleased result holds small counts.

use super::chart::{self, ChartView};
use super::{AnalysisResult, Cell, ResultBody};
use crate::private_fs;
use std::path::{Path, PathBuf};

/// The size of the written plots, in pixels.
pub const PLOT_SIZE: (u32, u32) = (1000, 620);

/// Why the outputs could not be written, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Plot(#[from] super::plot::PlotError),
    #[error("cannot encode the result: {0}")]
    Encode(String),
}

/// Writes every output of `result` into `dir` (created if needed) and
/// returns the files written. `view`: the chart drawn as plot.svg/png.
pub fn write_all(
    dir: &Path,
    result: &AnalysisResult,
    view: Option<ChartView>,
) -> Result<Vec<PathBuf>, OutputError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OutputError::Io { path, source }
    };
    private_fs::create_dir_all(dir).map_err(io(dir))?;
    let mut written = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| -> Result<(), OutputError> {
        let path = dir.join(name);
        private_fs::write(&path, bytes).map_err(io(&path))?;
        written.push(path);
        Ok(())
    };
    write("result.json", &pretty(result)?)?;
    write("spec.json", &pretty(&result.spec)?)?;
    write("result.csv", &csv_bytes(result)?)?;
    let views = chart::views(result);
    let primary = view.filter(|v| views.contains(v)).unwrap_or(views[0]);
    for v in std::iter::once(primary).chain(views.into_iter().filter(|v| *v != primary)) {
        let stem = if v == primary {
            "plot".to_string()
        } else {
            format!("plot-{}", v.name())
        };
        write(
            &format!("{stem}.svg"),
            super::plot::svg(result, v, PLOT_SIZE)?.as_bytes(),
        )?;
        // The plot library opens the PNG itself: create it owner-only
        // first (opening an existing file keeps its mode).
        write(&format!("{stem}.png"), &[])?;
        super::plot::png(result, v, &dir.join(format!("{stem}.png")), PLOT_SIZE)?;
    }
    Ok(written)
}

fn pretty<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, OutputError> {
    serde_json::to_vec_pretty(v).map_err(|e| OutputError::Encode(e.to_string()))
}

/// Every cell as one CSV row (suppressed numbers empty in a released
/// result).
pub fn csv_bytes(r: &AnalysisResult) -> Result<Vec<u8>, OutputError> {
    let enc = |e: csv::Error| OutputError::Encode(e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "part",
        "labels",
        "period",
        "x",
        "n",
        "estimate",
        "ci_low",
        "ci_high",
        "method",
        "suppressed",
    ])
    .map_err(enc)?;
    let mut row = |part: &str, c: &Cell| -> Result<(), OutputError> {
        let num = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
        w.write_record([
            part.to_string(),
            c.labels.join(" / "),
            c.period.clone().unwrap_or_default(),
            c.x.map(|x| x.to_string()).unwrap_or_default(),
            num(c.n),
            num(c.estimate),
            num(c.ci_low),
            num(c.ci_high),
            c.method.clone(),
            c.suppressed.to_string(),
        ])
        .map_err(enc)
    };
    match &r.result {
        ResultBody::Trend(t) => {
            for line in &t.lines {
                for c in &line.cells {
                    row("trend", c)?;
                }
            }
        }
        ResultBody::Prevalence(p) => {
            for c in &p.cells {
                row("stratum", c)?;
            }
            row("total", &p.total)?;
        }
        ResultBody::Standardised(s) => {
            for c in &s.bands {
                row("age_band", c)?;
            }
            row("adjusted", &s.adjusted)?;
            row("crude", &s.crude)?;
        }
    }
    w.into_inner()
        .map_err(|e| OutputError::Encode(e.to_string()))
}
