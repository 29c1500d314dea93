//! `pacs-cohort review`: the visual PHI review queue, headless: list the
//! series with their state, record decisions (appended to the audit trail,
//! never overwritten), show or export the history.

use super::exit;
use super::export::ProfileFlags;
use super::output::print_json;
use pacs_cohort::model::{ReviewEvent, ReviewItem, ReviewState};
use pacs_cohort::Engine;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
pub enum ReviewCmd {
    /// Lists the series (of a cohort) with their review state; an approval
    /// that no longer holds for these profile options, the current masks,
    /// key or files shows as unreviewed with the reason.
    List {
        /// Only the series of this saved cohort.
        #[arg(long)]
        cohort: Option<String>,
        /// The options the export will use (an approval holds for these only).
        #[command(flatten)]
        profile: ProfileFlags,
        #[arg(long)]
        json: bool,
    },
    /// Approves a series (or one image): renders every image as the export
    /// with these options would write it and binds the approval to those
    /// bytes. Only approved content is exported with Clean Pixel Data.
    Approve {
        #[command(flatten)]
        decision: Decision,
        /// The options the export will use.
        #[command(flatten)]
        profile: ProfileFlags,
    },
    /// Excludes a series (or one image): never exported.
    Exclude {
        #[command(flatten)]
        decision: Decision,
    },
    /// Marks a series (or one image) as needing pixel masks first
    /// (`pacs-cohort mask add`), then approve it.
    NeedsMasking {
        #[command(flatten)]
        decision: Decision,
    },
    /// Returns a series to unreviewed (clearing its images' decisions), or
    /// one image (--image) to the series' state. Appended like every
    /// decision: the history keeps what came before.
    Reset {
        #[command(flatten)]
        decision: Decision,
    },
    /// The review history, oldest first (of one series, if given).
    History {
        /// Only this series.
        series: Option<String>,
        /// Write the whole history as CSV to this new file.
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// Who decides what about which series or image.
#[derive(clap::Args, Debug)]
pub struct Decision {
    /// The source Series Instance UID (`pacs-cohort review list` shows them).
    series: String,
    /// One image of the series, by its SOP Instance UID: its decision
    /// overrides the series' (a mixed series).
    #[arg(long, value_name = "SOP_UID")]
    image: Option<String>,
    /// The reviewer's name (default: the operating system's user).
    #[arg(long, value_name = "NAME")]
    reviewer: Option<String>,
    /// Why (kept in the history).
    #[arg(long, value_name = "TEXT", default_value = "")]
    note: String,
    #[arg(long)]
    json: bool,
}

pub fn run(db: &Path, cmd: ReviewCmd) -> anyhow::Result<i32> {
    let engine = Engine::open(db)?;
    match cmd {
        ReviewCmd::List {
            cohort,
            profile,
            json,
        } => {
            let items = engine.review_items(cohort.as_deref(), &profile.options())?;
            if json {
                print_json(&items)?;
            } else {
                print_items(&items);
            }
        }
        ReviewCmd::Approve { decision, profile } => {
            decide(&engine, decision, ReviewState::Approved, &profile)?
        }
        ReviewCmd::Exclude { decision } => decide(
            &engine,
            decision,
            ReviewState::Excluded,
            &ProfileFlags::default(),
        )?,
        ReviewCmd::NeedsMasking { decision } => decide(
            &engine,
            decision,
            ReviewState::NeedsMasking,
            &ProfileFlags::default(),
        )?,
        ReviewCmd::Reset { decision } => decide(
            &engine,
            decision,
            ReviewState::Unreviewed,
            &ProfileFlags::default(),
        )?,
        ReviewCmd::History { series, csv, json } => {
            if let Some(path) = csv {
                let mut bytes = Vec::new();
                engine.write_review_history_csv(&mut bytes)?;
                // The history names series and images: owner-only, and an
                // existing file is never overwritten.
                pacs_cohort::private_fs::write_new(&path, &bytes).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot write the review history ({e}); choose a new file in an existing folder: {}",
                        path.display()
                    )
                })?;
                eprintln!("review history written to {}", path.display());
                return Ok(exit::OK);
            }
            let events = engine.review_history(series.as_deref())?;
            if json {
                print_json(&events)?;
            } else if events.is_empty() {
                println!("no review decision has been recorded yet");
            } else {
                for e in &events {
                    println!("{}", event_line(e));
                }
            }
        }
    }
    Ok(exit::OK)
}

fn decide(
    engine: &Engine,
    d: Decision,
    state: ReviewState,
    profile: &ProfileFlags,
) -> anyhow::Result<()> {
    let reviewer = d
        .reviewer
        .unwrap_or_else(pacs_cohort::review::default_reviewer);
    let event = engine.set_review(
        &d.series,
        d.image.as_deref(),
        state,
        &reviewer,
        &d.note,
        &profile.options(),
    )?;
    if d.json {
        print_json(&event)?;
    } else {
        println!("recorded: {}", event_line(&event));
    }
    Ok(())
}

/// `#12 2026-12-04T18:00:00Z alice approved series 1.2.3 (image 1.2.3.4): note`
fn event_line(e: &ReviewEvent) -> String {
    let image = e
        .sop_uid
        .as_deref()
        .map(|s| format!(" image {s}"))
        .unwrap_or_default();
    let what = if e.state == ReviewState::Unreviewed {
        "reset".to_string()
    } else {
        e.state.as_str().replace('_', " ")
    };
    let note = if e.note.is_empty() {
        String::new()
    } else {
        format!(": {}", e.note)
    };
    format!(
        "#{} {} {} {what} series {}{image}{note}",
        e.id, e.at, e.reviewer, e.series_uid
    )
}

fn print_items(items: &[ReviewItem]) {
    if items.is_empty() {
        println!("no indexed series");
        return;
    }
    for i in items {
        let state = match &i.stale {
            Some(why) => format!("unreviewed (approval no longer holds: {why})"),
            None => i.state.as_str().replace('_', " "),
        };
        let by = i
            .last
            .as_ref()
            .map(|e| format!("  [{} {}]", e.reviewer, e.at))
            .unwrap_or_default();
        println!(
            "{state:<14} {:<4} {:>5} images  {}  {}{by}",
            i.modality, i.instances, i.series_uid, i.description
        );
        for img in &i.images {
            let state = match &img.stale {
                Some(why) => format!("unreviewed (approval no longer holds: {why})"),
                None => img.state.as_str().replace('_', " "),
            };
            println!(
                "    image {}: {state}  [{} {}]",
                img.sop_uid, img.last.reviewer, img.last.at
            );
        }
    }
    let mut counts = pacs_cohort::model::ReviewCounts::default();
    for i in items {
        counts.add(i);
    }
    println!(
        "{} series: {} approved · {} unreviewed ({} approvals no longer hold) · {} needs masking · {} excluded",
        items.len(),
        counts.approved,
        counts.unreviewed,
        counts.stale,
        counts.needs_masking,
        counts.excluded
    );
}
