//! `pacs-cohort export-index`: the index as Parquet tables for DuckDB,
//! Spark, Trino or pandas (private by default).

use super::exit;
use super::output::{cancel_on_ctrl_c, print_json};
use pacs_cohort::lake::{ConceptMap, LakeOptions};
use pacs_cohort::Engine;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct ExportIndexArgs {
    /// The folder the tables are written into (created if needed; several
    /// workspaces can export into the same folder).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The file format (Parquet is the only one).
    #[arg(long, default_value = "parquet", value_parser = ["parquet"])]
    format: String,
    /// Write patient IDs, names, birth dates, accession numbers, original
    /// UIDs and file paths: the files then hold PHI, and say so.
    #[arg(long)]
    with_phi: bool,
    /// Keep dates as they are instead of shifting them per patient (the
    /// de-identification's Retain Longitudinal Full Dates option).
    #[arg(long)]
    full_dates: bool,
    /// The site named in this workspace's part files.
    #[arg(long, default_value = "site")]
    site: String,
    /// Also write the OMOP Medical Imaging CDM's image_occurrence (one row
    /// per series) with the procedure_occurrence and person rows it refers
    /// to, under omop/.
    #[arg(long)]
    omop: bool,
    /// OMOP concepts for modalities, body parts and study descriptions: a
    /// CSV with kind (modality, body_part, procedure), value, concept_id.
    /// Values without a concept get 0.
    #[arg(long, value_name = "FILE.csv", requires = "omop")]
    concept_map: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(db: &Path, a: ExportIndexArgs) -> anyhow::Result<i32> {
    let engine = Engine::open_existing(db)?;
    let cancel = cancel_on_ctrl_c("stopping the index export...");
    let opts = LakeOptions {
        with_phi: a.with_phi,
        keep_dates: a.full_dates,
        site: a.site.clone(),
        omop: if a.omop {
            Some(match &a.concept_map {
                Some(path) => ConceptMap::read(path)?,
                None => ConceptMap::default(),
            })
        } else {
            None
        },
    };
    let report = match engine.export_index(&a.out, &opts, &cancel) {
        Err(pacs_cohort::EngineError::Lake(pacs_cohort::lake::LakeError::Cancelled)) => {
            eprintln!("cancelled: {} keeps its previous parts", a.out.display());
            return Ok(exit::CANCELLED);
        }
        other => other?,
    };
    if a.json {
        print_json(&report)?;
    } else {
        for (table, n) in &report.rows {
            println!("{table:<10} {n:>10} rows");
        }
        println!(
            "{} part files, {:.1} MB in {:.1} s; dates {}",
            report.part_files,
            report.bytes as f64 / 1e6,
            report.seconds,
            report.dates
        );
        println!("written: {}", report.out.display());
    }
    if report.holds_phi {
        eprintln!(
            "WARNING: {} holds PHI (--with-phi): patient IDs, names, birth dates, accession numbers and paths. Keep it where PHI may be kept.",
            report.out.display()
        );
    }
    Ok(exit::OK)
}
