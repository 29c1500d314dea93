//! `pacs-cohort index`: progress bar, Ctrl-C, summary.

use super::exit;
use super::output::{cancel_on_ctrl_c, levels_line, print_json, status_line};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pacs_cohort::model::{FileStatus, IndexSummary};
use pacs_cohort::{Engine, IndexOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct IndexArgs {
    /// Folders to index (any nesting, any file names).
    #[arg(required = true, value_name = "ROOT")]
    roots: Vec<PathBuf>,
    /// Print a machine-readable summary instead of text.
    #[arg(long)]
    json: bool,
    /// Re-read every file whose status is not ok, even if unchanged.
    #[arg(long)]
    retry_failed: bool,
    /// Drop the files of roots that are missing or empty.
    #[arg(long)]
    prune: bool,
    /// Parser threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Threads listing folders and stat-ing files concurrently, whatever the
    /// cores (network shares wait a round trip per call; default 16; 1 is
    /// the sequential walk).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    io_threads: Option<u16>,
    /// The site these roots come from: the issuer of their patient IDs,
    /// used when a file has no Issuer of Patient ID, so that two sites'
    /// identical IDs stay two patients. Kept with the root; `--issuer ""`
    /// clears it. Changing it re-reads the root's files.
    #[arg(long, value_name = "NAME", value_parser = parse_issuer)]
    issuer: Option<String>,
}

/// An issuer is a DICOM LO value: at most 64 characters, no backslash or
/// control characters.
fn parse_issuer(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.chars().count() > 64 {
        return Err("an issuer has at most 64 characters (it is a DICOM LO value)".into());
    }
    if t.chars().any(|c| c == '\\' || c.is_control()) {
        return Err("an issuer cannot contain a backslash or control characters".into());
    }
    Ok(t.to_string())
}

pub fn run(db: &Path, a: IndexArgs) -> anyhow::Result<i32> {
    let engine = Engine::open(db)?;
    let cancel = cancel_on_ctrl_c("everything indexed so far is kept");
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10))
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    let opts = IndexOptions {
        retry_failed: a.retry_failed,
        prune: a.prune,
        threads: a.threads,
        io_threads: a.io_threads.map(usize::from),
        low_priority: false,
        issuer: a.issuer,
    };
    let mut bar_shown = false;
    let summary = engine.index(&a.roots, &opts, &cancel, &mut |p| {
        // Reading starts while the walk still runs: show the bar as soon as
        // there is something to read; its length grows until the walk ends.
        if p.to_read > 0 && !bar_shown {
            bar_shown = true;
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} files  {per_sec}  ETA {eta}  {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
        }
        if bar_shown {
            bar.set_length(p.to_read);
            bar.set_position(p.read);
            let walking = if p.phase == "walking" {
                format!("(walking: {} found) ", p.files_seen)
            } else {
                String::new()
            };
            bar.set_message(format!("{walking}{}", p.current_folder));
        } else {
            bar.set_message(format!(
                "walking: {} files found  {}",
                p.files_seen, p.current_folder
            ));
        }
    });
    bar.finish_and_clear();
    let summary = summary?;
    if a.json {
        print_json(&summary)?;
    } else {
        print_human(&summary);
    }
    Ok(exit_code(&summary))
}

fn print_human(s: &IndexSummary) {
    if s.cancelled {
        println!(
            "Cancelled after {:.1} s: {} file(s) indexed by this run are kept; run it again to finish (unchanged files are not read again)",
            s.elapsed_seconds, s.files_indexed
        );
    }
    let verb = if s.cancelled { "Stopped" } else { "Indexed" };
    println!(
        "{verb} {} root(s) in {:.1} s: {} files seen ({} new, {} changed, {} unchanged, {} removed{})",
        s.roots.len(),
        s.elapsed_seconds,
        s.files_seen,
        s.new,
        s.changed,
        s.unchanged,
        s.removed,
        if s.retried > 0 { format!(", {} retried", s.retried) } else { String::new() }
    );
    println!("  files:  {}", status_line(&s.status));
    println!("  index:  {}", levels_line(&s.levels));
    for r in &s.roots_left_untouched {
        println!("  note: root is missing or empty; its indexed files were kept (use --prune to drop them): {r}");
    }
    let attention = attention_count(s);
    if attention > 0 {
        println!("  {attention} file(s) need attention: see `pacs-cohort files --status <status>`");
    }
    if s.patient_conflicts > 0 {
        println!(
            "  {} patient ID(s) with conflicting name, sex or birth date: see `pacs-cohort conflicts` (give each archive its site with `index ROOT --issuer NAME`)",
            s.patient_conflicts
        );
    }
}

fn attention_count(s: &IndexSummary) -> u64 {
    [
        FileStatus::NotDicom,
        FileStatus::Unreadable,
        FileStatus::Truncated,
        FileStatus::MissingUid,
        FileStatus::Pending,
    ]
    .iter()
    .map(|st| s.status.get(*st))
    .sum()
}

fn exit_code(s: &IndexSummary) -> i32 {
    if s.cancelled {
        exit::CANCELLED
    } else if attention_count(s) > 0
        || !s.roots_left_untouched.is_empty()
        || s.patient_conflicts > 0
    {
        exit::ATTENTION
    } else {
        exit::OK
    }
}
