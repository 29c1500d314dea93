//! Hidden benchmark helpers: build a large synthetic index, and time cohort
//! counts and attrition tables in-process (what the GUI's live count does).

use super::exit;
use pacs_cohort::cohort::parse_spec;
use pacs_cohort::synth::SynthOptions;
use pacs_cohort::Engine;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct SynthIndexArgs {
    #[arg(long)]
    patients: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 40)]
    max_slices: u32,
}

#[derive(clap::Args, Debug)]
pub struct BenchCohortArgs {
    /// Definition timed as a live count (levels only).
    #[arg(long)]
    count_spec: PathBuf,
    /// Definition timed as a full attrition table.
    #[arg(long)]
    attrition_spec: PathBuf,
    #[arg(long, default_value_t = 20)]
    repeats: usize,
    /// Also time the in-memory column engine (issue 17): its build and
    /// memory, these definitions and `--definition`s by both evaluators,
    /// and `--random` drawn definitions.
    #[arg(long)]
    columns: bool,
    /// More definitions timed by both evaluators (with --columns).
    #[arg(long, value_name = "FILE")]
    definition: Vec<PathBuf>,
    /// Random definitions (the differential test's generator) timed on
    /// the column engine (with --columns).
    #[arg(long, default_value_t = 0)]
    random: usize,
    /// How many of the random definitions SQLite also counts (must agree).
    #[arg(long, default_value_t = 0)]
    random_sqlite: usize,
    #[arg(long, default_value_t = 17)]
    seed: u64,
}

pub fn synth_index(db: &Path, a: SynthIndexArgs) -> anyhow::Result<i32> {
    let start = Instant::now();
    let levels = pacs_cohort::index::build_synthetic_index(
        db,
        &SynthOptions {
            patients: a.patients,
            seed: a.seed,
            with_faults: false,
            max_slices: a.max_slices,
        },
    )?;
    println!(
        "{{\"patients\": {}, \"studies\": {}, \"series\": {}, \"instances\": {}, \"seconds\": {:.1}}}",
        levels.patients,
        levels.studies,
        levels.series,
        levels.instances,
        start.elapsed().as_secs_f64()
    );
    Ok(exit::OK)
}

pub(super) fn percentiles(mut v: Vec<f64>) -> serde_json::Value {
    v.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    serde_json::json!({"runs": v.len(), "p50_ms": p(0.5), "p95_ms": p(0.95), "max_ms": p(1.0)})
}

pub fn bench_cohort(db: &Path, a: BenchCohortArgs) -> anyhow::Result<i32> {
    // `open` (not `open_existing`): brings the schema, and its indexes, up to date.
    let engine = Engine::open(db)?;
    let count = parse_spec(&std::fs::read_to_string(&a.count_spec)?)?;
    let attrition = parse_spec(&std::fs::read_to_string(&a.attrition_spec)?)?;
    // One warm-up each (page cache, statement preparation).
    let levels = engine.cohort_levels(&count)?;
    let table = engine.cohort_count(&attrition)?;
    let mut t_count = Vec::new();
    let mut t_attr = Vec::new();
    for _ in 0..a.repeats {
        let s = Instant::now();
        engine.cohort_levels(&count)?;
        t_count.push(s.elapsed().as_secs_f64() * 1e3);
        let s = Instant::now();
        engine.cohort_count(&attrition)?;
        t_attr.push(s.elapsed().as_secs_f64() * 1e3);
    }
    let mut out = serde_json::json!({
        "count": {"criteria": count.rules.len(), "levels": levels, "timing": percentiles(t_count)},
        "attrition": {"rules": attrition.rules.len(), "population": table.population, "timing": percentiles(t_attr)},
    });
    if a.columns {
        let mut definitions = vec![count, attrition];
        for f in &a.definition {
            definitions.push(parse_spec(&std::fs::read_to_string(f)?)?);
        }
        let plan = super::bench_columns::Plan {
            definitions: &definitions,
            repeats: a.repeats,
            random: a.random,
            random_sqlite: a.random_sqlite,
            seed: a.seed,
        };
        out["columns"] = super::bench_columns::run(db, &engine, &plan)?;
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(exit::OK)
}
