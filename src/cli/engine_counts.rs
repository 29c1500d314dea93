//! Counts another engine returned for `cohort sql` (DuckDB, Spark SQL, ...),
//! read back so that the app shows and suppresses them as its own
//! (`cohort count --from-counts F --from-attrition G`).
//!
//! Only numbers are read: the first field and the last three of each
//! attrition row (step, remaining, removed, removed alone), never the rule
//! name between them, whose quoting differs between engines. Names come
//! from the definition, and every row is checked against it.

use anyhow::{bail, Context};
use pacs_cohort::model::{AttritionStep, CohortCounts, CohortSpec, LevelCounts};
use std::path::Path;

/// The engine's rows, as CSV or TSV, with or without a header line.
fn rows(path: &Path) -> anyhow::Result<Vec<Vec<String>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if line.trim().is_empty() || line.starts_with("--") {
            continue;
        }
        let sep = if line.contains('\t') { '\t' } else { ',' };
        let fields: Vec<String> = line
            .split(sep)
            .map(|f| f.trim().trim_matches('"').to_string())
            .collect();
        // A header starts with a column name, not a number.
        if out.is_empty() && fields[0].parse::<f64>().is_err() {
            continue;
        }
        out.push(fields);
    }
    Ok(out)
}

fn count(field: &str, what: &str, path: &Path) -> anyhow::Result<u64> {
    field.parse::<u64>().with_context(|| {
        format!(
            "{}: {what} is '{field}', not a count; give the rows the statement of `cohort sql` returned",
            path.display()
        )
    })
}

pub fn read(spec: &CohortSpec, levels: &Path, funnel: &Path) -> anyhow::Result<CohortCounts> {
    let level_rows = rows(levels)?;
    let [row] = level_rows.as_slice() else {
        bail!(
            "{}: expected the one row of the count statement (patients, studies, series, instances), found {}",
            levels.display(),
            level_rows.len()
        );
    };
    if row.len() != 4 {
        bail!(
            "{}: expected 4 columns (patients, studies, series, instances), found {}",
            levels.display(),
            row.len()
        );
    }
    let level = |i: usize, what| count(&row[i], what, levels);
    let levels_counts = LevelCounts {
        patients: level(0, "patients")?,
        studies: level(1, "studies")?,
        series: level(2, "series")?,
        instances: level(3, "instances")?,
    };
    let steps = rows(funnel)?;
    if steps.len() != spec.rules.len() + 1 {
        bail!(
            "{}: expected {} attrition rows (the population and {} rule(s) of '{}'), found {}: were they made from this definition?",
            funnel.display(),
            spec.rules.len() + 1,
            spec.rules.len(),
            spec.name,
            steps.len()
        );
    }
    let mut population = 0;
    let mut attrition = Vec::with_capacity(spec.rules.len());
    for (k, fields) in steps.iter().enumerate() {
        if fields.len() < 4 {
            bail!("{}: row {} has {} fields; expected step, rule, exclusion, remaining, removed, removed alone", funnel.display(), k + 1, fields.len());
        }
        let step = count(&fields[0], "the step", funnel)?;
        if step != k as u64 {
            bail!(
                "{}: row {} is step {step}; expected step {k} (rows in step order)",
                funnel.display(),
                k + 1
            );
        }
        let n = fields.len();
        let [remaining, removed, removed_alone] = [n - 3, n - 2, n - 1].map(|i| fields[i].as_str());
        let remaining = count(remaining, "remaining", funnel)?;
        if k == 0 {
            population = remaining;
            continue;
        }
        let rule = &spec.rules[k - 1];
        attrition.push(AttritionStep {
            rule: rule.name.clone(),
            exclude: rule.exclude,
            remaining,
            removed: count(removed, "removed", funnel)?,
            removed_alone: count(removed_alone, "removed alone", funnel)?,
        });
    }
    Ok(CohortCounts {
        unit: spec.unit,
        population,
        levels: levels_counts,
        attrition,
    })
}
