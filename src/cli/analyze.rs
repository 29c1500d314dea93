//! `pacs-cohort analyze`: run an analysis specification headless and write
//! its result (JSON, CSV) and specification into a folder.

use super::exit;
use anyhow::Context;
use pacs_cohort::analysis::{AnalysisResult, AnalysisSpec, Cell, ResultBody};
use pacs_cohort::Engine;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// The analysis specification (JSON; see README "Analyses").
    #[arg(long, value_name = "FILE")]
    spec: PathBuf,
    /// Folder for result.json, result.csv, spec.json, plot.svg and plot.png
    /// (created if needed).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Suppress small cells for release (counts 1..=threshold and what
    /// derives from them lose their numbers). Always on in an
    /// aggregate-only workspace.
    #[arg(long)]
    release: bool,
}

/// The size of the written plots, in pixels.
const PLOT_SIZE: (u32, u32) = (1000, 620);

pub fn run(db: &Path, a: AnalyzeArgs) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(&a.spec)
        .with_context(|| format!("cannot read the specification {}", a.spec.display()))?;
    let spec: AnalysisSpec = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a valid analysis specification (see README \"Analyses\" for the format)",
            a.spec.display()
        )
    })?;
    // Counts from CSV files need no workspace; the index does.
    let result = match Engine::open_existing(db) {
        Ok(engine) => engine.run_analysis(&spec, a.release)?,
        Err(_) if !db.exists() => Engine::run_analysis_on_counts(&spec, a.release)?,
        Err(e) => return Err(e.into()),
    };
    write_outputs(&a.out, &result)?;
    if a.json {
        super::output::print_json(&result)?;
    } else {
        print_summary(&result);
        println!("written: {}", a.out.display());
    }
    Ok(exit::OK)
}

fn write_outputs(dir: &Path, r: &AnalysisResult) -> anyhow::Result<()> {
    pacs_cohort::private_fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, bytes: Vec<u8>| -> anyhow::Result<()> {
        let path = dir.join(name);
        pacs_cohort::private_fs::write(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))
    };
    write("result.json", serde_json::to_vec_pretty(r)?)?;
    write("spec.json", serde_json::to_vec_pretty(&r.spec)?)?;
    write("result.csv", csv_bytes(r)?)?;
    write(
        "plot.svg",
        pacs_cohort::analysis::plot::svg(r, PLOT_SIZE)?.into_bytes(),
    )?;
    // The plot library opens the PNG itself: create it owner-only first
    // (opening an existing file keeps its mode).
    let png = dir.join("plot.png");
    pacs_cohort::private_fs::touch(&png)
        .with_context(|| format!("cannot create {}", png.display()))?;
    pacs_cohort::analysis::plot::png(r, &png, PLOT_SIZE)?;
    Ok(())
}

/// Every cell as one CSV row (suppressed numbers empty in a released result).
fn csv_bytes(r: &AnalysisResult) -> anyhow::Result<Vec<u8>> {
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
    ])?;
    let mut row = |part: &str, c: &Cell| -> anyhow::Result<()> {
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
        ])?;
        Ok(())
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
    Ok(w.into_inner()?)
}

fn shown(c: &Cell) -> String {
    match (c.estimate, c.ci_low, c.ci_high) {
        (Some(e), Some(l), Some(h)) => match (c.x, c.n) {
            (Some(x), Some(n)) => format!("{x} of {n}: {e:.4} [{l:.4}, {h:.4}]"),
            _ => format!("{e:.4} [{l:.4}, {h:.4}]"),
        },
        _ if c.suppressed => "suppressed".into(),
        _ => "-".into(),
    }
}

fn print_summary(r: &AnalysisResult) {
    match &r.result {
        ResultBody::Trend(t) => {
            for line in &t.lines {
                println!("{}", line.label);
                for c in &line.cells {
                    println!(
                        "  {:<8} {}{}",
                        c.period.as_deref().unwrap_or(""),
                        shown(c),
                        if c.suppressed { " *" } else { "" }
                    );
                }
                if let Some(a) = &line.apc {
                    println!(
                        "  APC {:.2}% [{:.2}, {:.2}] ({})",
                        a.apc, a.low, a.high, a.method
                    );
                }
                if let Some(a) = &line.apc_poisson {
                    println!(
                        "  APC {:.2}% [{:.2}, {:.2}] ({})",
                        a.apc, a.low, a.high, a.method
                    );
                }
                for n in &line.notes {
                    println!("  note: {n}");
                }
            }
        }
        ResultBody::Prevalence(p) => {
            for c in &p.cells {
                println!("{:<24} {}", c.labels.join(" / "), shown(c));
            }
            println!("{:<24} {}", "all", shown(&p.total));
            if let Some(h) = &p.homogeneity {
                println!(
                    "chi-square {:.4}, df {}, p {:.4}{}",
                    h.statistic,
                    h.df,
                    h.p_value,
                    h.warning
                        .as_deref()
                        .map(|w| format!(" ({w})"))
                        .unwrap_or_default()
                );
            }
            if let Some(t) = &p.trend {
                println!("Cochran-Armitage z {:.4}, p {:.4}", t.z, t.p_value);
            }
            for n in &p.notes {
                println!("note: {n}");
            }
        }
        ResultBody::Standardised(s) => {
            for c in &s.bands {
                println!("{:<8} {}", c.labels.join(""), shown(c));
            }
            println!("adjusted ({}): {}", s.standard, shown(&s.adjusted));
            println!("crude: {}", shown(&s.crude));
            for n in &s.notes {
                println!("note: {n}");
            }
        }
    }
    for w in &r.warnings {
        println!("warning: {w}");
    }
    if !r.suppression.released {
        println!(
            "not for release: cells marked * hold 1 to {} (run with --release to suppress them)",
            r.suppression.threshold
        );
    }
}
