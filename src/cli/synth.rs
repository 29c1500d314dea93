//! `pacs-cohort synth`: the synthetic archive generator.

use super::exit;
use super::output::print_json;
use pacs_cohort::synth::{generate, SynthOptions};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SynthArgs {
    /// Number of patients.
    #[arg(long, default_value_t = 50)]
    patients: u32,
    /// Random seed: the same seed gives the same archive.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder (created if needed).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Add odd and broken files (no preamble, truncated, not DICOM, duplicates, hostile).
    #[arg(long)]
    with_faults: bool,
    /// Maximum instances per CT/MR series.
    #[arg(long, default_value_t = 4)]
    max_slices: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(a: SynthArgs) -> anyhow::Result<i32> {
    let s = generate(
        &a.out,
        &SynthOptions {
            patients: a.patients,
            seed: a.seed,
            with_faults: a.with_faults,
            max_slices: a.max_slices,
        },
    )?;
    if a.json {
        print_json(&s)?;
    } else {
        println!(
            "wrote {} files ({:.1} MB): {} patients, {} studies, {} series, {} instances{}",
            s.files,
            s.bytes as f64 / 1e6,
            s.patients,
            s.studies,
            s.series,
            s.instances,
            if s.faults.is_empty() {
                String::new()
            } else {
                format!(", {} fault files", s.faults.len())
            }
        );
    }
    Ok(exit::OK)
}
