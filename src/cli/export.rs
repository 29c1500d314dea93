//! `pacs-cohort export`: de-identified DICOM of a saved cohort, gated by the
//! residual-PHI scan.

use super::exit;
use super::output::print_json;
use pacs_cohort::deid::profile::Options;
use pacs_cohort::export::ExportOptions;
use pacs_cohort::Engine;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The saved cohort (its latest revision).
    #[arg(long)]
    cohort: String,
    /// A new folder for the export (never overwritten).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Keep dates unchanged instead of shifting them per patient.
    #[arg(long)]
    full_dates: bool,
    /// Keep age, sex, size and weight (ages over 89 become 090Y).
    #[arg(long)]
    retain_patient_characteristics: bool,
    /// Keep device identity (manufacturer, model, serial...).
    #[arg(long)]
    retain_device_identity: bool,
    /// Keep institution identity.
    #[arg(long)]
    retain_institution_identity: bool,
    /// Remove descriptions entirely instead of keeping their safe words
    /// (Clean Descriptors is on by default).
    #[arg(long)]
    no_clean_descriptors: bool,
    /// Also write the re-identification table (original -> pseudonym) here,
    /// outside the export folder, for an honest broker (owner-only, new file).
    #[arg(long, value_name = "FILE")]
    reid_table: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn run(db: &Path, a: ExportArgs) -> anyhow::Result<i32> {
    let opts = ExportOptions {
        profile: Options {
            retain_long_modified_dates: !a.full_dates,
            retain_long_full_dates: a.full_dates,
            retain_patient_characteristics: a.retain_patient_characteristics,
            retain_device_identity: a.retain_device_identity,
            retain_institution_identity: a.retain_institution_identity,
            clean_descriptors: !a.no_clean_descriptors,
            ..Default::default()
        },
        overrides: Vec::new(),
        reid_table: a.reid_table,
    };
    let report = Engine::open(db)?.export_cohort(&a.cohort, &a.out, &opts)?;
    if a.json {
        print_json(&report)?;
    } else if report.complete {
        println!(
            "exported {} files to {} (scan: no residual PHI found; key {})",
            report.written, report.folder, report.key_fingerprint
        );
    } else {
        println!(
            "EXPORT FAILED: the scan found {} residual identifiers; the files stay in {} for inspection",
            report.findings.len(),
            report.folder
        );
        for f in &report.findings {
            println!(
                "  {} at byte {}: value of {} ({})",
                f.file,
                f.offset,
                f.attribute,
                f.matched.len()
            );
        }
    }
    for (file, reason) in &report.skipped {
        eprintln!("skipped {file}: {reason}");
    }
    Ok(if !report.complete {
        exit::FAILURE
    } else if !report.skipped.is_empty() {
        exit::ATTENTION
    } else {
        exit::OK
    })
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Folder to scan (every file, byte by byte).
    dir: PathBuf,
    /// The saved cohort whose source identifiers to look for.
    #[arg(long)]
    against: String,
    #[arg(long)]
    json: bool,
}

/// `pacs-cohort scan-phi DIR --against COHORT`: exit 0 when clean, 1 with findings.
pub fn scan(db: &Path, a: ScanArgs) -> anyhow::Result<i32> {
    let findings = Engine::open(db)?.scan_phi(&a.dir, &a.against)?;
    if a.json {
        print_json(&findings)?;
    } else if findings.is_empty() {
        println!(
            "no residual identifiers of '{}' found in {}",
            a.against,
            a.dir.display()
        );
    } else {
        println!("{} residual identifiers found:", findings.len());
        for f in &findings {
            println!(
                "  {} at byte {}: value of {}",
                f.file, f.offset, f.attribute
            );
        }
    }
    Ok(if findings.is_empty() {
        exit::OK
    } else {
        exit::FAILURE
    })
}
