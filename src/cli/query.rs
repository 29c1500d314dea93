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
        let site = r
            .issuer
            .as_ref()
            .map(|i| format!(", site {i}"))
            .unwrap_or_default();
        println!("root:      {} ({} files{site})", r.path, r.files);
    }
    println!("index:     {}", levels_line(&st.levels));
    println!("files:     {}", status_line(&st.status));
    if st.patient_conflicts > 0 {
        println!(
            "conflicts: {} patient ID(s) with conflicting name, sex or birth date (`pacs-cohort conflicts`)",
            st.patient_conflicts
        );
    }
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

#[derive(clap::Args, Debug)]
pub struct ConflictsArgs {
    /// Print JSON instead of text (every file of every variant).
    #[arg(long)]
    json: bool,
    /// Files shown per variant in the text output.
    #[arg(long, value_name = "N", default_value_t = 5)]
    files: usize,
}

/// `pacs-cohort conflicts`: patient keys whose files disagree on who the
/// patient is. Exit 3 when there are any (they need attention).
pub fn conflicts(db: &Path, a: ConflictsArgs) -> anyhow::Result<i32> {
    // An existing workspace only (a typo must not create one), migrated so
    // that its conflicts are known.
    Engine::open_existing(db)?;
    let list = Engine::open(db)?.conflicts()?;
    let code = if list.is_empty() {
        exit::OK
    } else {
        exit::ATTENTION
    };
    if a.json {
        print_json(&list)?;
        return Ok(code);
    }
    if list.is_empty() {
        println!("no conflicting patient demographics");
        return Ok(code);
    }
    for c in &list {
        let issuer = if c.issuer.is_empty() {
            "no issuer".to_string()
        } else {
            format!("issuer {}", c.issuer)
        };
        println!(
            "patient ID {} ({issuer}): {} studies, {} differ",
            c.patient_id,
            c.studies,
            c.differs_in.join(", ")
        );
        for v in &c.variants {
            let or_blank = |s: &Option<String>| s.clone().unwrap_or_else(|| "(none)".into());
            println!(
                "  name {} · sex {} · born {}: {} file(s)",
                or_blank(&v.patient_name),
                or_blank(&v.sex),
                or_blank(&v.birth_date),
                v.file_count
            );
            for f in v.files.iter().take(a.files) {
                println!("    {f}");
            }
            if v.files.len() > a.files {
                println!(
                    "    … and {} more (--json lists all)",
                    v.files.len() - a.files
                );
            }
        }
    }
    println!(
        "{} conflicted patient ID(s). If they come from different sites, give each archive its site (`pacs-cohort index ROOT --issuer NAME`); cohort counts treat each as one patient until then.",
        list.len()
    );
    Ok(code)
}
