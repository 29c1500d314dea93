//! Command-line interface: argument parsing, dispatch, exit codes.
//! Human output on stdout, progress on stderr, `--json` for scripts.

mod analyze;
mod bench_burnin;
mod bench_cohort;
mod bench_columns;
mod bench_floor;
mod bench_preview;
mod biomarker;
mod cohort;
mod engine_counts;
mod export;
mod export_index;
mod findings;
mod index;
mod key;
mod link;
mod mask;
mod output;
mod pacs;
mod privacy;
mod query;
mod review;
mod synth;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Exit codes (documented in README.md).
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const ATTENTION: i32 = 3;
    pub const CANCELLED: i32 = 130;
}

#[derive(Parser, Debug)]
#[command(name = "pacs-cohort", version, about = "Turn a DICOM archive into population-health evidence.", long_about = None)]
pub struct Cli {
    /// Workspace database (default: <user data dir>/pacs-cohort/workspace.db).
    #[arg(long, global = true, value_name = "FILE")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open the desktop app (the default with no arguments).
    Gui(GuiArgs),
    /// Index one or more folders of DICOM files (headers only, incremental).
    Index(index::IndexArgs),
    /// Counts per level and per file status, roots, last run.
    Status(query::StatusArgs),
    /// List indexed files with their status and reason.
    Files(query::FilesArgs),
    /// Patient IDs whose files disagree on name, sex or birth date.
    Conflicts(query::ConflictsArgs),
    /// Build, count, save and compare cohorts.
    #[command(subcommand)]
    Cohort(cohort::CohortCmd),
    /// De-identified DICOM export of a saved cohort, checked for residual PHI.
    Export(export::ExportArgs),
    /// Write the index as Parquet tables (Hive partitions) for DuckDB,
    /// Spark, Trino or pandas; private by default.
    ExportIndex(export_index::ExportIndexArgs),
    /// The workspace key for pseudonyms: fingerprint, export, import.
    #[command(subcommand)]
    Key(key::KeyCmd),
    /// Pixel masks over burned-in text (per image, or device templates).
    #[command(subcommand)]
    Mask(mask::MaskCmd),
    /// The visual PHI review queue: list, approve, exclude, history.
    #[command(subcommand)]
    Review(review::ReviewCmd),
    /// Scan a folder for a cohort's original identifiers (the export's gate, alone).
    ScanPhi(export::ScanArgs),
    /// The audit trail of residual-PHI findings waived by a reviewer.
    Waivers(export::WaiversArgs),
    /// Radiology reports and report-derived findings.
    #[command(subcommand)]
    Findings(findings::FindingsCmd),
    /// Import linked clinical data (EHR extracts) from CSV.
    #[command(subcommand)]
    Link(link::LinkCmd),
    /// PACS nodes: add, list, remove, echo, harvest metadata, retrieve a cohort.
    #[command(subcommand)]
    Pacs(pacs::PacsCmd),
    /// Show or set the workspace's privacy mode and release threshold.
    Privacy(privacy::PrivacyArgs),
    /// Run an analysis (trend, prevalence, standardised rate) from a JSON spec.
    Analyze(analyze::AnalyzeArgs),
    /// Analyses saved in the workspace: list, show, re-run, delete.
    #[command(subcommand)]
    Analyses(analyze::AnalysesCmd),
    /// Imaging biomarkers from pixels: the CT emphysema index per series.
    #[command(subcommand)]
    Biomarker(biomarker::BiomarkerCmd),
    /// Write a synthetic DICOM archive (deterministic from the seed).
    Synth(synth::SynthArgs),
    /// Benchmark floor: read the first 8 KiB of every file, or stat only.
    #[command(hide = true)]
    BenchFloor(bench_floor::FloorArgs),
    /// Benchmark setup: a large synthetic index written straight to SQLite.
    #[command(hide = true)]
    SynthIndex(bench_cohort::SynthIndexArgs),
    /// Benchmark: cohort count and attrition latency, in-process.
    #[command(hide = true)]
    BenchCohort(bench_cohort::BenchCohortArgs),
    /// Benchmark: the burned-in text detector on generated images.
    #[command(hide = true)]
    BenchBurnin(bench_burnin::BenchBurninArgs),
    /// Benchmark: preview decode and window/level latency, in-process.
    #[command(hide = true)]
    BenchPreview(bench_preview::BenchPreviewArgs),
}

#[derive(clap::Args, Debug, Default)]
struct GuiArgs {
    /// Archive to index on first start when the workspace is empty
    /// (default: the bundled sample_data).
    #[arg(long, value_name = "DIR")]
    sample: Option<PathBuf>,
    /// Close the window when indexing is done (frame-time benchmark, smoke test).
    #[arg(long, hide = true)]
    exit_when_indexed: bool,
}

/// The bundled sample archive: `$PACS_COHORT_SAMPLE_DATA`, else the
/// source tree's `sample_data`, else `./sample_data`.
fn sample_data() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PACS_COHORT_SAMPLE_DATA") {
        return Some(PathBuf::from(p));
    }
    [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample_data"),
        PathBuf::from("sample_data"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

/// Parses arguments, runs the command, returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                _ => exit::USAGE,
            };
        }
    };
    let db = cli
        .db
        .clone()
        .unwrap_or_else(pacs_cohort::Engine::default_db_path);
    let result = match cli.command {
        None => crate::gui::run(db, sample_data(), false).map(|_| exit::OK),
        Some(Command::Gui(a)) => {
            crate::gui::run(db, a.sample.or_else(sample_data), a.exit_when_indexed)
                .map(|_| exit::OK)
        }
        Some(Command::Index(a)) => index::run(&db, a),
        Some(Command::Status(a)) => query::status(&db, a),
        Some(Command::Files(a)) => query::files(&db, a),
        Some(Command::Conflicts(a)) => query::conflicts(&db, a),
        Some(Command::Synth(a)) => synth::run(a),
        Some(Command::Analyze(a)) => analyze::run(&db, a),
        Some(Command::ExportIndex(a)) => export_index::run(&db, a),
        Some(Command::Analyses(c)) => analyze::run_saved(&db, c),
        Some(Command::Biomarker(c)) => biomarker::run(&db, c),
        Some(Command::Cohort(c)) => cohort::run(&db, c),
        Some(Command::Link(c)) => link::run(&db, c),
        Some(Command::Findings(c)) => findings::run(&db, c),
        Some(Command::Export(a)) => export::run(&db, a),
        Some(Command::ScanPhi(a)) => export::scan(&db, a),
        Some(Command::Waivers(a)) => export::waivers_history(&db, a),
        Some(Command::Mask(c)) => mask::run(&db, c),
        Some(Command::Review(c)) => review::run(&db, c),
        Some(Command::Key(c)) => key::run(&db, c),
        Some(Command::Privacy(a)) => privacy::run(&db, a),
        Some(Command::Pacs(c)) => pacs::run(&db, c),
        Some(Command::BenchFloor(a)) => bench_floor::run(a),
        Some(Command::SynthIndex(a)) => bench_cohort::synth_index(&db, a),
        Some(Command::BenchCohort(a)) => bench_cohort::bench_cohort(&db, a),
        Some(Command::BenchPreview(a)) => bench_preview::run(a),
        Some(Command::BenchBurnin(a)) => bench_burnin::run(&db, a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::FAILURE
        }
    }
}
