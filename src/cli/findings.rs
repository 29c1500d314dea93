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
    /// Takes the text of the SR documents already in the index as reports.
    ImportSr,
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
        FindingsCmd::ImportSr => {
            let (n, skipped) = engine.import_sr_reports()?;
            println!("imported the text of {n} SR documents");
            for s in &skipped {
                println!("  skipped: {s}");
            }
        }
        FindingsCmd::Define { name, keywords } => {
            engine.define_finding(&name, &keywords)?;
            let list = engine.findings()?;
            if let Some(f) = list.iter().find(|f| f.name == name.trim()) {
                println!(
                    "defined '{}': {} reports positive, {} negated, {} not mentioning it",
                    f.name, f.positive, f.negated, f.absent
                );
            }
        }
        FindingsCmd::List { json } => {
            let list = engine.findings()?;
            if json {
                print_json(&list)?;
            } else {
                for f in &list {
                    println!(
                        "{}\t{}\tpositive {}\tnegated {}\tabsent {}",
                        f.name,
                        f.keywords.join(", "),
                        f.positive,
                        f.negated,
                        f.absent
                    );
                }
            }
        }
    }
    Ok(exit::OK)
}
