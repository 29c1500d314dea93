//! `pacs-cohort status` and `pacs-cohort files`.

use super::exit;
use super::output::{levels_line, print_json, status_line};
use pacs_cohort::model::FileStatus;
use pacs_cohort::Engine;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct FilesArgs {
    /// Only files of this status (ok, not-dicom, unreadable, truncated,
    /// missing-uid, duplicate, dicomdir, symlink-dir, pending).
    #[arg(long, value_parser = parse_status)]
    status: Option<FileStatus>,
    /// At most this many files.
    #[arg(long)]
    limit: Option<u64>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_status(s: &str) -> Result<FileStatus, String> {
    FileStatus::parse(s).ok_or_else(|| {
        let all: Vec<&str> = FileStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown status '{s}'; use one of: {}", all.join(", "))
    })
}

pub fn status(db: &Path, a: StatusArgs) -> anyhow::Result<i32> {
    let st = Engine::open_existing(db)?.status()?;
    if a.json {
        print_json(&st)?;
        return Ok(exit::OK);
    }
    println!("workspace: {}", st.database);
    for r in &st.roots {
        println!("root:      {} ({} files)", r.path, r.files);
    }
    println!("index:     {}", levels_line(&st.levels));
    println!("files:     {}", status_line(&st.status));
    if let Some(run) = &st.last_run {
        println!(
            "last run:  #{} {} started {}{}",
            run.id,
            run.outcome,
            run.started_at,
            run.finished_at
                .as_ref()
                .map(|f| format!(", finished {f}"))
                .unwrap_or_default()
        );
    }
    Ok(exit::OK)
}

pub fn files(db: &Path, a: FilesArgs) -> anyhow::Result<i32> {
    let rows = Engine::open_existing(db)?.files(a.status, a.limit)?;
    if a.json {
        print_json(&rows)?;
        return Ok(exit::OK);
    }
    for r in &rows {
        println!(
            "{}\t{}\t{}",
            r.status,
            r.path,
            r.reason.as_deref().unwrap_or("")
        );
    }
    Ok(exit::OK)
}
