//! `pacs-cohort privacy`: show or change who may see what in the workspace.

use super::exit;
use super::output::print_json;
use pacs_cohort::{Engine, Privacy};
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct PrivacyArgs {
    /// Only suppressed aggregate counts may be shown (on screen too);
    /// row-level views and manifests are refused.
    #[arg(long)]
    aggregate_only: Option<bool>,
    /// Counts 1..=N are suppressed when released (default 10).
    #[arg(long)]
    threshold: Option<u64>,
    #[arg(long)]
    json: bool,
}

pub fn run(db: &Path, a: PrivacyArgs) -> anyhow::Result<i32> {
    let engine = Engine::open(db)?;
    let mut p = engine.privacy()?;
    if a.aggregate_only.is_some() || a.threshold.is_some() {
        p = Privacy {
            aggregate_only: a.aggregate_only.unwrap_or(p.aggregate_only),
            release_threshold: a.threshold.unwrap_or(p.release_threshold),
        };
        engine.set_privacy(p)?;
    }
    if a.json {
        print_json(&p)?;
    } else {
        println!(
            "aggregate-only: {}; release threshold: counts 1..{} are shown as <{}",
            if p.aggregate_only { "yes" } else { "no" },
            p.release_threshold,
            p.release_threshold + 1
        );
    }
    Ok(exit::OK)
}
