//! `pacs-cohort export`: de-identified DICOM of a saved cohort, gated by the
//! residual-PHI scan; `scan-phi`: the gate alone.

use super::exit;
use super::output::{cancel_on_ctrl_c, print_json};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pacs_cohort::engine::{ExportOptions, ExportReport, Waiver};
use pacs_cohort::engine::{ProfileChoices as Choices, ProfileOptions as Options};
use pacs_cohort::Engine;
use std::path::{Path, PathBuf};

/// The profile options a user can switch (PS3.15 Table E.1-1 columns).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ProfileFlags {
    /// Keep dates unchanged instead of shifting them per patient
    /// (Retain Longitudinal Temporal Information, Full Dates).
    #[arg(long)]
    full_dates: bool,
    /// Keep age, sex, size and weight (ages over 89 become 090Y).
    #[arg(long)]
    retain_patient_characteristics: bool,
    /// Keep device identity (manufacturer, model, serial number, station).
    #[arg(long)]
    retain_device_identity: bool,
    /// Keep institution identity (name, address, department).
    #[arg(long)]
    retain_institution_identity: bool,
    /// Keep the original UIDs (no longer linkable-only: the source UIDs are
    /// in the export).
    #[arg(long)]
    retain_uids: bool,
    /// Keep private attributes on the vetted allow-list
    /// (assets/deid/safe-private-attributes.txt; shipped empty).
    #[arg(long)]
    retain_safe_private: bool,
    /// Remove descriptions entirely instead of keeping their safe words
    /// (Clean Descriptors is on by default).
    #[arg(long)]
    no_clean_descriptors: bool,
}

impl ProfileFlags {
    pub fn options(&self) -> Options {
        Choices {
            full_dates: self.full_dates,
            patient_characteristics: self.retain_patient_characteristics,
            device_identity: self.retain_device_identity,
            institution_identity: self.retain_institution_identity,
            uids: self.retain_uids,
            safe_private: self.retain_safe_private,
            clean_descriptors: !self.no_clean_descriptors,
        }
        .options()
    }
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The saved cohort (its latest revision).
    #[arg(long)]
    cohort: String,
    /// A new folder for the export (never overwritten).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    profile: ProfileFlags,
    /// Also write the re-identification table (original -> pseudonym) here,
    /// outside the export folder, for an honest broker (owner-only, new file).
    #[arg(long, value_name = "FILE")]
    reid_table: Option<PathBuf>,
    /// Continue the newest cancelled, crashed or failed run of this export
    /// (same cohort, options, masks and key): verified files are taken over.
    #[arg(long)]
    resume: bool,
    /// A finding (its id, from the report of a previous run) that a
    /// reviewer judged a false alarm: it no longer blocks the export and is
    /// recorded in the manifest with the reason. Repeat for several; each
    /// needs its --reason, in the same order.
    #[arg(long, value_name = "FINDING-ID")]
    waive: Vec<String>,
    /// Why the finding of the matching --waive is a false alarm.
    #[arg(long, value_name = "TEXT")]
    reason: Vec<String>,
    /// Export only the images a reviewer approved (`pacs-cohort review`)
    /// and whose approval still holds. The default once any series of the
    /// cohort has been reviewed.
    #[arg(long, conflicts_with = "all_series")]
    approved_only: bool,
    /// Export every series that is not excluded, reviewed or not (only
    /// approved images claim Clean Pixel Data). The default while no series
    /// of the cohort has been reviewed.
    #[arg(long)]
    all_series: bool,
    #[arg(long)]
    json: bool,
}

/// Pairs each --waive with its --reason.
fn waivers(ids: &[String], reasons: &[String]) -> anyhow::Result<Vec<Waiver>> {
    if ids.len() != reasons.len() || reasons.iter().any(|r| r.trim().is_empty()) {
        anyhow::bail!(
            "every --waive FINDING-ID needs a non-empty --reason TEXT (given {} --waive, {} --reason)",
            ids.len(),
            reasons.len()
        );
    }
    Ok(ids
        .iter()
        .zip(reasons)
        .map(|(id, reason)| Waiver {
            id: id.trim().to_string(),
            reason: reason.trim().to_string(),
        })
        .collect())
}

pub fn run(db: &Path, a: ExportArgs) -> anyhow::Result<i32> {
    let opts = ExportOptions {
        profile: a.profile.options(),
        overrides: Vec::new(),
        reid_table: a.reid_table,
        resume: a.resume,
        waivers: waivers(&a.waive, &a.reason)?,
        approved_only: match (a.approved_only, a.all_series) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
    };
    let cancel = cancel_on_ctrl_c(
        "the files written so far stay in the .incomplete folder; --resume continues",
    );
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10))
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:9} {bar:30} {pos}/{len} files  {per_sec}  ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = Engine::open(db)?.export_cohort(&a.cohort, &a.out, &opts, &cancel, &mut |p| {
        bar.set_message(p.phase.as_str());
        bar.set_length(p.total);
        bar.set_position(p.done);
    });
    bar.finish_and_clear();
    let report = report?;
    if a.json {
        print_json(&report)?;
    } else {
        print_human(&report);
    }
    for (file, reason) in &report.skipped {
        eprintln!("not exported: {file}: {reason}");
    }
    Ok(if report.cancelled {
        exit::CANCELLED
    } else if !report.complete {
        exit::FAILURE
    } else if !report.skipped.is_empty() {
        exit::ATTENTION
    } else {
        exit::OK
    })
}

fn print_human(r: &ExportReport) {
    print_review(r);
    if let Some(from) = &r.resumed_from {
        println!(
            "resumed from {from}: {} verified files taken over",
            r.reused
        );
    }
    if r.cancelled {
        println!(
            "export cancelled; the files written so far are in {} (run again with --resume to continue)",
            r.folder
        );
    } else if r.complete {
        println!(
            "exported {} files to {} ({} masked; scan: no residual PHI found; key {})",
            r.written, r.folder, r.masked, r.key_fingerprint
        );
    } else {
        print_findings(r);
    }
    if !r.waived.is_empty() {
        println!(
            "WAIVED: {} findings were judged false alarms by a reviewer (recorded in manifest.json):",
            r.waived.len()
        );
        for w in &r.waived {
            println!("  {} -- {}", w.finding.describe(), w.reason);
        }
    }
    for id in &r.unused_waivers {
        println!("note: --waive {id} matched no finding of this run");
    }
    if !r.default_handled.is_empty() {
        println!(
            "{} attributes not listed in PS3.15 Table E.1-1 were handled by default deny (manifest.json lists them)",
            r.default_handled.len()
        );
    }
}

/// What the visual review decided about this export.
fn print_review(r: &ExportReport) {
    let v = &r.review;
    let c = &v.counts;
    if c.reviewed_ever == 0 && !v.approved_only {
        println!(
            "review: no series of this cohort has been reviewed; no file claims Clean Pixel Data (`pacs-cohort review` approves series)"
        );
        return;
    }
    println!(
        "review: {} series approved · {} unreviewed{} · {} needs masking · {} excluded; {}",
        c.approved,
        c.unreviewed,
        if c.stale > 0 {
            format!(" ({} approvals no longer hold)", c.stale)
        } else {
            String::new()
        },
        c.needs_masking,
        c.excluded,
        if v.approved_only {
            "approved images only (--all-series exports the rest too)"
        } else {
            "every series not excluded (--all-series)"
        }
    );
    for l in &v.left_out {
        println!(
            "  not exported: {} images of {} series: {}",
            l.images, l.series, l.reason
        );
    }
    println!(
        "  {} files claim Clean Pixel Data (113101) and BurnedInAnnotation NO (the approved content)",
        v.clean_pixels_claimed
    );
}

fn print_findings(r: &ExportReport) {
    {
        println!(
            "EXPORT FAILED: the scan found {} residual identifiers; the files stay in {} for inspection (scan-report.json lists them)",
            r.findings.len(),
            r.folder
        );
        for f in &r.findings {
            println!("  {}", f.describe());
        }
        println!("  (a finding judged a false alarm can be waived: --waive ID --reason TEXT)");
    }
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Folder to scan (every file, byte by byte).
    dir: PathBuf,
    /// The saved cohort whose source identifiers to look for.
    #[arg(long)]
    against: String,
    /// The options the export used: what a Retain option keeps is exempt.
    #[command(flatten)]
    profile: ProfileFlags,
    #[arg(long)]
    json: bool,
}

/// `pacs-cohort scan-phi DIR --against COHORT`: exit 0 when clean, 1 with findings.
pub fn scan(db: &Path, a: ScanArgs) -> anyhow::Result<i32> {
    let findings = Engine::open(db)?.scan_phi(&a.dir, &a.against, &a.profile.options())?;
    if a.json {
        print_json(&findings)?;
    } else if findings.is_empty() {
        println!(
            "no residual identifiers of '{}' found in {}",
            a.against,
            a.dir.display()
        );
    } else {
        println!("{} residual identifiers found:", findings.len());
        for f in &findings {
            println!("  {}", f.describe());
        }
    }
    Ok(if findings.is_empty() {
        exit::OK
    } else {
        exit::FAILURE
    })
}

#[derive(clap::Args, Debug)]
pub struct WaiversArgs {
    #[arg(long)]
    json: bool,
}

/// `pacs-cohort waivers`: every waived finding, oldest first.
pub fn waivers_history(db: &Path, a: WaiversArgs) -> anyhow::Result<i32> {
    let rows = Engine::open(db)?.waiver_history()?;
    if a.json {
        print_json(&rows)?;
    } else if rows.is_empty() {
        println!("no finding has been waived in this workspace");
    } else {
        for r in &rows {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            println!(
                "{}  {}  cohort '{}'  {} at {} ({})  -> {}  reason: {}",
                s("waived_at"),
                s("finding_id"),
                s("cohort"),
                s("file"),
                s("location"),
                s("attribute"),
                s("export_folder"),
                s("reason")
            );
        }
    }
    Ok(exit::OK)
}
