//! `pacs-cohort findings ...`: reports in, findings defined by keywords
//! (with negation handling), findings listed with report counts.

use super::exit;
use super::output::print_json;
use pacs_cohort::Engine;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
pub enum FindingsCmd {
    /// Imports radiology reports from CSV (accession number + report text).
    ImportReports {
        file: PathBuf,
        #[arg(long, default_value = "accession_number")]
        accession_column: String,
        #[arg(long, default_value = "report_text")]
        text_column: String,
    },
    /// Defines a finding by keywords (word prefixes; multi-word allowed).
    /// Negated mentions ("no evidence of emphysema") do not count.
    Define {
        name: String,
        #[arg(long = "keyword", required = true)]
        keywords: Vec<String>,
    },
    /// Lists findings with how many reports are positive, negated, silent.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(db: &Path, cmd: FindingsCmd) -> anyhow::Result<i32> {
    let engine = Engine::open(db)?;
    match cmd {
        FindingsCmd::ImportReports {
            file,
            accession_column,
            text_column,
        } => {
            let n = engine.import_reports_csv(&file, &accession_column, &text_column)?;
            println!("imported {n} reports");
        }
        FindingsCmd::Define { name, keywords } => {
            engine.define_finding(&name, &keywords)?;
            let list = engine.findings()?;
            if let Some((_, _, [p, n, a])) = list.iter().find(|f| f.0 == name.trim()) {
                println!(
                    "defined '{}': {p} reports positive, {n} negated, {a} not mentioning it",
                    name.trim()
                );
            }
        }
        FindingsCmd::List { json } => {
            let list = engine.findings()?;
            if json {
                let v: Vec<_> = list
                    .iter()
                    .map(|(n, k, [p, neg, a])| serde_json::json!({"name": n, "keywords": k, "positive": p, "negated": neg, "absent": a}))
                    .collect();
                print_json(&v)?;
            } else {
                for (n, k, [p, neg, a]) in &list {
                    println!(
                        "{n}\t{}\tpositive {p}\tnegated {neg}\tabsent {a}",
                        k.join(", ")
                    );
                }
            }
        }
    }
    Ok(exit::OK)
}
