//! The column engine's part of `bench-cohort` (issue 17): build (and
//! rebuild) time and memory, the named definitions timed by both
//! evaluators, and random definitions from the differential test's
//! generator (the slowest reported with their definitions); a sample of
//! them also counted by SQLite, which must agree.

use pacs_cohort::cohort::random::{random_spec, size};
use pacs_cohort::colengine::ColumnEngine;
use pacs_cohort::engine::EvaluatorChoice;
use pacs_cohort::model::CohortSpec;
use pacs_cohort::synth::Rng;
use pacs_cohort::Engine;
use std::path::Path;
use std::time::Instant;

/// What the column benchmark runs.
pub struct Plan<'a> {
    pub definitions: &'a [CohortSpec],
    pub repeats: usize,
    pub random: usize,
    pub random_sqlite: usize,
    pub seed: u64,
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Resident memory of this process (Linux), MB.
fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn timed(repeats: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Vec<f64>> {
    f()?; // warm-up
    let mut out = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let s = Instant::now();
        f()?;
        out.push(ms(s));
    }
    Ok(out)
}

pub fn run(db: &Path, engine: &Engine, plan: &Plan) -> anyhow::Result<serde_json::Value> {
    let percentiles = super::bench_cohort::percentiles;
    // Build: time and memory of one engine; then two rebuilds (what an
    // index run, import or findings change costs before memory answers).
    let rss_before = rss_mb();
    let start = Instant::now();
    let cols = ColumnEngine::build(db)?;
    let build_ms = ms(start);
    let rss_after = rss_mb();
    let mut rebuild_ms = Vec::new();
    for _ in 0..2 {
        let s = Instant::now();
        drop(ColumnEngine::build(db)?);
        rebuild_ms.push(ms(s));
    }
    let vocab = cols.vocabulary();
    let held = cols.size();
    let approx_mb = cols.approx_bytes() as f64 / 1e6;
    drop(cols);
    // The app's path from here on (the engine's staleness check included).
    engine.cohort_count_by(&plan.definitions[0], EvaluatorChoice::Memory)?;

    let mut named = Vec::new();
    for spec in plan.definitions {
        let memory = timed(plan.repeats, || {
            engine.cohort_count_by(spec, EvaluatorChoice::Memory)?;
            Ok(())
        })?;
        let sql_count = timed(plan.repeats, || {
            engine.cohort_levels(spec)?;
            Ok(())
        })?;
        let sql_attrition = timed(plan.repeats, || {
            engine.cohort_count(spec)?;
            Ok(())
        })?;
        let (m, _) = engine.cohort_count_by(spec, EvaluatorChoice::Memory)?;
        let s = engine.cohort_count(spec)?;
        named.push(serde_json::json!({
            "name": spec.name,
            "agree": m == s,
            "levels": s.levels,
            "memory_count_and_attrition": percentiles(memory),
            "sqlite_count": percentiles(sql_count),
            "sqlite_attrition": percentiles(sql_attrition),
        }));
    }

    let mut rng = Rng::new(plan.seed);
    let specs: Vec<CohortSpec> = (0..plan.random)
        .map(|_| random_spec(&mut rng, &vocab))
        .collect();
    let mut times = Vec::new();
    let mut slow: Vec<(f64, usize)> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        // Median of 3: one draw's time, not the machine's hiccup.
        let mut t = timed(2, || {
            engine.cohort_count_by(spec, EvaluatorChoice::Memory)?;
            Ok(())
        })?;
        let s = Instant::now();
        engine.cohort_count_by(spec, EvaluatorChoice::Memory)?;
        t.push(ms(s));
        t.sort_by(f64::total_cmp);
        times.push(t[1]);
        slow.push((t[1], i));
    }
    slow.sort_by(|a, b| b.0.total_cmp(&a.0));
    let slowest: Vec<serde_json::Value> = slow
        .iter()
        .take(5)
        .map(
            |&(t, i)| serde_json::json!({"ms": t, "size": size(&specs[i]), "definition": specs[i]}),
        )
        .collect();
    let mut sql_times = Vec::new();
    let mut disagree = Vec::new();
    for (i, spec) in specs.iter().take(plan.random_sqlite).enumerate() {
        let s = Instant::now();
        let sql = engine.cohort_count(spec)?;
        sql_times.push(ms(s));
        let (mem, _) = engine.cohort_count_by(spec, EvaluatorChoice::Memory)?;
        if mem != sql {
            disagree.push(i);
        }
    }
    Ok(serde_json::json!({
        "index": held,
        "build_ms": build_ms,
        "rebuild_ms": rebuild_ms,
        "approx_mb": approx_mb,
        "rss_growth_mb": rss_before.zip(rss_after).map(|(a, b)| b - a),
        "definitions": named,
        "random": {
            "seed": plan.seed,
            "memory_count_and_attrition": if times.is_empty() { serde_json::Value::Null } else { percentiles(times) },
            "slowest": slowest,
            "sqlite_sample": if sql_times.is_empty() { serde_json::Value::Null } else { percentiles(sql_times) },
            "sqlite_disagreements": disagree,
        },
    }))
}
