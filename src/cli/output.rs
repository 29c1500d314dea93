//! Shared output helpers.

use pacs_cohort::model::{LevelCounts, StatusCounts};

/// `ok 290 · duplicate 1 · not-dicom 3` (zero counts left out).
pub fn status_line(s: &StatusCounts) -> String {
    let parts: Vec<String> = pacs_cohort::model::FileStatus::ALL
        .iter()
        .filter_map(|st| {
            let n = s.get(*st);
            (n > 0).then(|| format!("{st} {n}"))
        })
        .collect();
    if parts.is_empty() {
        "no files".into()
    } else {
        parts.join(" · ")
    }
}

/// `patients 40 · studies 80 · series 160 · instances 290`.
pub fn levels_line(l: &LevelCounts) -> String {
    format!(
        "patients {} · studies {} · series {} · instances {}",
        l.patients, l.studies, l.series, l.instances
    )
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
