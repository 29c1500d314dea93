//! `pacs-cohort link ...`: import clinical data from CSV and list it.

use super::exit;
use super::output::print_json;
use pacs_cohort::model::{EhrKey, EhrKind, EhrLink};
use pacs_cohort::Engine;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
pub enum LinkCmd {
    /// Imports a CSV (one row per patient or study; several rows per key
    /// are kept, e.g. one per diagnosis code) as a named dataset.
    ImportCsv {
        file: PathBuf,
        /// Dataset name used in cohort criteria (`{"ehr": {"dataset": NAME, ...}}`).
        #[arg(long)]
        name: String,
        /// What rows are linked by.
        #[arg(long, value_enum, default_value_t = KeyArg::PatientId)]
        key: KeyArg,
        /// The CSV column holding the key (default: patient_id or accession_number).
        #[arg(long)]
        key_column: Option<String>,
        /// A CSV column holding the issuer of the patient ID (the site's ID
        /// namespace): each row links only to patients of that issuer.
        #[arg(long, value_name = "COLUMN")]
        issuer_column: Option<String>,
        /// Override an inferred column type: COLUMN=number|date|text (repeatable).
        #[arg(long = "type", value_name = "COLUMN=KIND")]
        types: Vec<String>,
        /// Show the inferred columns and types without importing.
        #[arg(long)]
        preview: bool,
        #[arg(long)]
        json: bool,
    },
    /// Lists imported datasets and their columns.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum KeyArg {
    PatientId,
    Accession,
}

pub fn run(db: &Path, cmd: LinkCmd) -> anyhow::Result<i32> {
    match cmd {
        LinkCmd::ImportCsv {
            file,
            name,
            key,
            key_column,
            issuer_column,
            types,
            preview,
            json,
        } => {
            let mut overrides = Vec::new();
            for t in &types {
                let (col, kind) = t.split_once('=').ok_or_else(|| {
                    anyhow::anyhow!("--type takes COLUMN=number|date|text, got '{t}'")
                })?;
                let kind = EhrKind::parse(kind.trim()).ok_or_else(|| {
                    anyhow::anyhow!("unknown type '{kind}' in --type {t}: use number, date or text")
                })?;
                overrides.push((col.trim().to_string(), kind));
            }
            let key = match key {
                KeyArg::PatientId => EhrKey::PatientId,
                KeyArg::Accession => EhrKey::Accession,
            };
            let engine = Engine::open(db)?;
            let how = EhrLink {
                key,
                key_column,
                issuer_column,
                kinds: overrides,
            };
            let r = engine.import_ehr_csv(&file, &name, &how, preview)?;
            if json {
                print_json(&r)?;
            } else {
                let verb = if preview { "would import" } else { "imported" };
                let issuer = r
                    .issuer_column
                    .as_ref()
                    .map(|c| format!(" within the issuer in column '{c}'"))
                    .unwrap_or_default();
                println!(
                    "{verb} {} rows as '{}' linked by {} (column '{}'){issuer}",
                    r.rows,
                    r.dataset,
                    r.key.as_str(),
                    r.key_column
                );
                for c in &r.columns {
                    println!("  {:<24} {}", c.name, c.kind.as_str());
                }
                if !preview {
                    println!("  {} keys match the index; {} values did not parse as their type (kept as text)", r.rows_linked, r.values_not_parsed);
                }
            }
        }
        LinkCmd::List { json } => {
            let list = Engine::open(db)?.ehr_datasets()?;
            if json {
                let v: Vec<_> = list
                    .iter()
                    .map(|(n, k, c)| serde_json::json!({"name": n, "key": k, "columns": c}))
                    .collect();
                print_json(&v)?;
            } else {
                for (n, k, cols) in &list {
                    let cols: Vec<String> = cols
                        .iter()
                        .map(|c| format!("{}:{}", c.name, c.kind.as_str()))
                        .collect();
                    println!("{n}\t{k}\t{}", cols.join(", "));
                }
            }
        }
    }
    Ok(exit::OK)
}
