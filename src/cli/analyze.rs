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
    /// (plus plot-heatmap.* / plot-pyramid.* where those views apply;
    /// created if needed).
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
    /// The name the result is saved under in the workspace (default: the
    /// specification file's name). `analyses list` shows saved analyses.
    #[arg(long)]
    name: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum AnalysesCmd {
    /// The analyses saved in the workspace (newest first).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Write a saved analysis's result, as computed then, into a folder.
    Show {
        id: i64,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Re-run a saved analysis's specification on the index as it is now,
    /// save the new result and write it into a folder.
    Rerun {
        id: i64,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long)]
        release: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete a saved analysis.
    Delete { id: i64 },
}

pub fn run(db: &Path, a: AnalyzeArgs) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(&a.spec)
        .with_context(|| format!("cannot read the specification {}", a.spec.display()))?;
    let spec: AnalysisSpec = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a valid analysis specification (see README \"Analyses\" for the format)",
            a.spec.display()
        )
    })?;
    // Counts from CSV files need no workspace; the index does. With a
    // workspace the result is saved in it.
    let (result, saved) = match Engine::open_existing(db) {
        Ok(engine) => {
            let result = engine.run_analysis(&spec, a.release)?;
            let name = a.name.clone().unwrap_or_else(|| {
                a.spec
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| spec.kind().to_string())
            });
            let id = engine.save_analysis(&name, &result)?;
            (result, Some(id))
        }
        Err(_) if !db.exists() => (Engine::run_analysis_on_counts(&spec, a.release)?, None),
        Err(e) => return Err(e.into()),
    };
    report(&result, &a.out, a.json, saved)
}

/// Writes the outputs and prints the result (or its summary).
fn report(r: &AnalysisResult, out: &Path, json: bool, saved: Option<i64>) -> anyhow::Result<i32> {
    pacs_cohort::analysis::output::write_all(out, r, None)?;
    if json {
        super::output::print_json(r)?;
    } else {
        print_summary(r);
        if let Some(id) = saved {
            println!("saved as analysis {id} (`pacs-cohort analyses list`)");
        }
        println!("written: {}", out.display());
    }
    Ok(exit::OK)
}

pub fn run_saved(db: &Path, c: AnalysesCmd) -> anyhow::Result<i32> {
    let engine = Engine::open_existing(db)?;
    match c {
        AnalysesCmd::List { json } => {
            let list = engine.saved_analyses()?;
            if json {
                super::output::print_json(&list)?;
            } else if list.is_empty() {
                println!("no saved analyses; `pacs-cohort analyze --spec FILE --out DIR` runs and saves one");
            } else {
                for a in &list {
                    println!(
                        "{:>4}  {:<28} {:<13} {}{}",
                        a.id,
                        a.name,
                        a.kind,
                        a.computed_at,
                        if a.released { "  released" } else { "" }
                    );
                }
            }
            Ok(exit::OK)
        }
        AnalysesCmd::Show { id, out, json } => {
            let r = engine.saved_analysis(id)?;
            if engine.index_changed_since(&r)? && !json {
                println!("note: the index changed since this analysis was computed; `analyses rerun {id}` recomputes it");
            }
            report(&r, &out, json, None)
        }
        AnalysesCmd::Rerun {
            id,
            out,
            release,
            json,
        } => {
            let old = engine.saved_analysis(id)?;
            let name = engine
                .saved_analyses()?
                .into_iter()
                .find(|a| a.id == id)
                .map(|a| a.name)
                .unwrap_or_else(|| format!("analysis {id}"));
            let r = engine.run_analysis(&old.spec, release || old.suppression.released)?;
            let new_id = engine.save_analysis(&name, &r)?;
            report(&r, &out, json, Some(new_id))
        }
        AnalysesCmd::Delete { id } => {
            engine.delete_saved_analysis(id)?;
            println!("deleted analysis {id}");
            Ok(exit::OK)
        }
    }
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
