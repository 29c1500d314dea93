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

/// A cancel token that the first Ctrl-C sets (printing `note`, which says
/// what is kept); a second Ctrl-C quits at once.
pub fn cancel_on_ctrl_c(note: &'static str) -> pacs_cohort::CancelToken {
    let cancel = pacs_cohort::CancelToken::new();
    let c = cancel.clone();
    let _ = ctrlc::set_handler(move || {
        if c.is_cancelled() {
            std::process::exit(super::exit::CANCELLED);
        }
        eprintln!("\ncancelling… ({note}; Ctrl-C again to quit now)");
        c.cancel();
    });
    cancel
}
