//! De-identified export of a cohort (PS3.15 Annex E), gated by a residual-PHI
//! scan: files are written into `<out>.incomplete-<time>`, scanned byte by
//! byte for the cohort's original identifiers, and only a clean folder is
//! renamed to `<out>`. A failed or cancelled run stays where it is
//! (DECISIONS 22); a resumed run starts a new folder, takes over the files
//! the old one verifiably finished (by SHA-256) and writes the rest. The
//! source archive is only read.

mod file;
pub mod gate;
mod journal;
pub mod manifest;
mod masks;
pub mod render;

pub use manifest::ManifestRow;
pub use masks::MaskBook;
pub use render::{render, ApprovedContent, Rendered};

use crate::cancel::CancelToken;
use crate::deid::apply::{Deidentifier, Trace};
use crate::deid::profile::{Action, Options, Profile};
use crate::deid::pseudonym::{self, Key, RECIPE_VERSION};
use crate::deid::scan::Needle;
use file::{process, safe_component, sha256_hex, Outcome, Processed};
use gate::Scanners;
use journal::{Journal, State};
use manifest::ExportFacts;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One source instance of the cohort.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub issuer: String,
    pub patient_id: String,
    /// Who approved this image in the visual review, and when (None: not
    /// approved now). Goes into the manifest when the file is written with
    /// the Clean Pixel Data claim.
    pub approval: Option<ReviewStamp>,
}

/// A reviewer's approval of an image, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReviewStamp {
    pub reviewer: String,
    /// RFC 3339, UTC.
    pub approved_at: String,
}

/// What the visual review did to an export: counts of the cohort's series
/// by state, and the images left out, by reason.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReviewSummary {
    /// Only approved images were exported (on by default once any series
    /// of the cohort was reviewed).
    pub approved_only: bool,
    pub counts: crate::model::ReviewCounts,
    /// Images not exported because of the review (excluded images always;
    /// under approved-only every image not approved now).
    pub left_out: Vec<LeftOut>,
    /// Written files that claim Clean Pixel Data (113101) and
    /// BurnedInAnnotation NO: exactly the approved bytes.
    pub clean_pixels_claimed: u64,
}

/// Images left out of an export for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// "not reviewed", "needs masking", "excluded by a reviewer",
    /// "approval no longer holds (masks changed)", ...
    pub reason: String,
    pub series: u64,
    pub images: u64,
}

/// Options of an export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub profile: Options,
    /// Attribute actions that replace the table's (tests use this to break
    /// the profile on purpose and prove the scan catches it).
    pub overrides: Vec<((u16, u16), Action)>,
    /// Where to write the re-identification table (original -> pseudonym)
    /// for an honest broker; must be outside the export folder.
    pub reid_table: Option<PathBuf>,
    /// Continue the newest unfinished run of the same export.
    pub resume: bool,
    /// Findings a reviewer judged false alarms, by id, with the reason:
    /// they no longer block the export and are recorded in the manifest.
    pub waivers: Vec<Waiver>,
    /// Export only images a reviewer approved (and whose approval still
    /// holds). None: automatic, on once any series of the cohort has a
    /// review event. Excluded images are never exported.
    pub approved_only: Option<bool>,
}

/// A reviewer's decision that one finding is a false alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiver {
    /// The finding's id (from a previous run's report).
    pub id: String,
    pub reason: String,
}

/// A finding the export did not block on, and why.
#[derive(Debug, Clone, Serialize)]
pub struct WaivedFinding {
    pub finding: Finding,
    pub reason: String,
}

/// Where an export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportPhase {
    Writing,
    Scanning,
}

impl ExportPhase {
    /// `writing` or `scanning`, for progress lines.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportPhase::Writing => "writing",
            ExportPhase::Scanning => "scanning",
        }
    }
}

/// Progress of an export (throttled).
#[derive(Debug, Clone, Serialize)]
pub struct ExportProgress {
    pub phase: ExportPhase,
    pub done: u64,
    pub total: u64,
}

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// An original identifying value (or a variant of it) is in the file.
    ResidualValue,
    /// A required insertion (PatientIdentityRemoved...) is missing.
    MissingInsertion,
}

/// A residual-PHI finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable for the same file, place, attribute and value under the same
    /// key (a keyed hash, so it reveals nothing): what `--waive` names.
    pub id: String,
    pub file: String,
    /// Byte offset in the file (0 when found in a decoded text value).
    pub offset: usize,
    /// The tag path of the value it was found in, e.g.
    /// `(0040,0275)[0].(0032,1060)`; empty for a match in raw bytes.
    pub path: String,
    /// The source attribute whose value matched, or the missing one.
    pub attribute: String,
    pub kind: FindingKind,
    /// The matched text (PHI: shown to the user, never written to files
    /// or logs; see [`Finding::redacted`]).
    pub matched: String,
}

impl Finding {
    /// One line for the user: `file at (0008,1030): value of (0010,0010)
    /// (Doe Jane)`, or which insertion is missing. Holds the matched text:
    /// for the screen only, never for files or logs.
    pub fn describe(&self) -> String {
        let at = if self.path.is_empty() {
            format!("byte {}", self.offset)
        } else {
            self.path.clone()
        };
        match self.kind {
            FindingKind::ResidualValue => format!(
                "[{}] {} at {at}: value of {} ({})",
                self.id, self.file, self.attribute, self.matched
            ),
            FindingKind::MissingInsertion => {
                format!("[{}] {}: {}", self.id, self.file, self.matched)
            }
        }
    }

    /// Gives the finding its id (a keyed hash of where and what).
    pub fn with_id(mut self, key: &Key) -> Finding {
        let what = format!(
            "{}\0{}\0{}\0{}\0{}",
            self.file, self.offset, self.path, self.attribute, self.matched
        );
        self.id = pseudonym::keyed_label(key, "finding", &what)[..12].to_string();
        self
    }

    /// The finding without the matched value (for reports on disk).
    pub fn redacted(&self) -> Finding {
        let mut f = self.clone();
        if f.kind == FindingKind::ResidualValue {
            f.matched = format!("[{} characters]", f.matched.chars().count());
        }
        f
    }
}

/// What an export did.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The finished folder, or the incomplete one when it failed or was cancelled.
    pub folder: String,
    pub complete: bool,
    pub cancelled: bool,
    pub written: u64,
    /// Files taken over from the unfinished run this one resumed.
    pub reused: u64,
    pub resumed_from: Option<String>,
    /// Images with mask rectangles applied.
    pub masked: u64,
    /// Source files that could not be exported, with the reason.
    pub skipped: Vec<(String, String)>,
    pub findings: Vec<Finding>,
    /// Findings waived by a reviewer (not blocking; in the manifest).
    pub waived: Vec<WaivedFinding>,
    /// Waiver ids given that matched no finding of this run.
    pub unused_waivers: Vec<String>,
    /// Attributes decided by default deny (the table does not list them):
    /// `(gggg,eeee)` and what was done.
    pub default_handled: Vec<(String, String)>,
    pub key_fingerprint: String,
    pub recipe_version: u32,
    /// The visual review's part (filled by the engine).
    pub review: ReviewSummary,
}

/// Why an export could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the export folder already exists; choose a new one (exports never overwrite): {0}")]
    Exists(PathBuf),
    #[error("cannot write the export ({0}): {1}")]
    Io(String, PathBuf),
    #[error(
        "the folder to write the export into does not exist; create it or choose another: {0}"
    )]
    ParentMissing(PathBuf),
    #[error(
        "the re-identification table's folder does not exist; create it or choose another: {0}"
    )]
    ReidFolderMissing(PathBuf),
    #[error("the reason given to waive finding {0} contains an identifying value of the cohort (it would be written into the manifest); reword it without names, IDs or dates")]
    WaiverReasonIdentifies(String),
    #[error("the re-identification table must be outside the export folder: {0}")]
    ReidInside(PathBuf),
    #[error("the re-identification table file already exists (it is never overwritten); choose a new file: {0}")]
    ReidExists(PathBuf),
    #[error("the cohort has no instances to export (its rules match no indexed image); nothing was written")]
    NothingToExport,
    #[error("there is no unfinished run of this export to resume (an earlier `{0}.incomplete-*` folder with the same cohort, options, masks and key); run it without --resume")]
    NothingToResume(PathBuf),
}

/// Everything one export needs.
pub struct ExportRequest<'a> {
    pub files: &'a [SourceFile],
    pub out: &'a Path,
    pub key: &'a Key,
    pub options: &'a ExportOptions,
    pub masks: &'a MaskBook,
    /// Rendered files a reviewer approved (Clean Pixel Data is claimed
    /// for exactly these).
    pub approved: &'a ApprovedContent,
    /// Names the `.incomplete-` folder (a timestamp).
    pub started_at: &'a str,
}

/// The state a resumed run must match (`labels`: the sources' keyed labels).
fn run_state(req: &ExportRequest, labels: &[String]) -> State {
    let mut h = Sha256::new();
    let mut sorted: Vec<&String> = labels.iter().collect();
    sorted.sort();
    for l in sorted {
        h.update(l.as_bytes());
    }
    // Who approved what goes into the manifest: a run resumed after a new
    // approval must not keep the old names.
    let mut stamps: Vec<String> = req
        .files
        .iter()
        .zip(labels)
        .filter_map(|(f, l)| {
            f.approval
                .as_ref()
                .map(|a| format!("{l} {} {}", a.reviewer, a.approved_at))
        })
        .collect();
    stamps.sort();
    for s in stamps {
        h.update(s.as_bytes());
    }
    h.update(format!("{:?}", req.options.profile).as_bytes());
    h.update(format!("{:?}", req.options.overrides).as_bytes());
    h.update(req.masks.digest_text().as_bytes());
    h.update(req.approved.digest_text().as_bytes());
    h.update(crate::deid::keyfile::fingerprint(req.key).as_bytes());
    h.update(format!("{RECIPE_VERSION} {}", env!("CARGO_PKG_VERSION")).as_bytes());
    State {
        digest: sha256_hex(&h.finalize()),
    }
}

/// Names a source in the journal without revealing its path.
fn source_label(key: &Key, f: &SourceFile) -> String {
    pseudonym::keyed_label(key, "export-source", &f.path.to_string_lossy())
}

/// Calls `progress` at most every 100 ms
/// (and always for a new phase and for the last item).
struct Throttle<'a> {
    progress: &'a mut dyn FnMut(ExportProgress),
    last: Option<(Instant, ExportPhase)>,
}

impl Throttle<'_> {
    fn tick(&mut self, phase: ExportPhase, done: u64, total: u64) {
        let due = self
            .last
            .is_none_or(|(t, p)| p != phase || t.elapsed() >= Duration::from_millis(100));
        if due || done == total {
            (self.progress)(ExportProgress { phase, done, total });
            self.last = Some((Instant::now(), phase));
        }
    }
}

/// Exports `req.files` into `req.out` (which must not exist).
pub fn export(
    req: &ExportRequest,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(ExportProgress),
) -> Result<ExportReport, ExportError> {
    let out = req.out;
    let opts = req.options;
    preflight(out, opts.reid_table.as_deref())?;
    if req.files.is_empty() {
        return Err(ExportError::NothingToExport);
    }
    let labels: Vec<String> = req.files.iter().map(|f| source_label(req.key, f)).collect();
    let state = run_state(req, &labels);
    let previous = if opts.resume {
        Some(
            journal::find_previous(out, &state)
                .ok_or_else(|| ExportError::NothingToResume(out.into()))?,
        )
    } else {
        None
    };
    let tmp = PathBuf::from(format!(
        "{}.incomplete-{}",
        out.display(),
        safe_component(req.started_at)
    ));
    if tmp.exists() {
        return Err(ExportError::Exists(tmp));
    }
    crate::private_fs::create_dir_all(&tmp)
        .map_err(|e| ExportError::Io(e.to_string(), tmp.clone()))?;
    let mut journal = Journal::create(&tmp, &state)?;
    let mut profile = Profile::standard();
    for (tag, action) in &opts.overrides {
        profile.set_override(*tag, *action);
    }
    let deid = Deidentifier {
        profile: &profile,
        options: opts.profile,
        key: req.key,
    };
    // What the gate looks for comes from the standard profile, so that a
    // profile broken on purpose (overrides, in tests) is caught by it.
    let standard = Profile::standard();
    let reference = Deidentifier {
        profile: &standard,
        ..deid
    };
    let reference = (!opts.overrides.is_empty()).then_some(&reference);
    let mut report = ExportReport {
        folder: tmp.display().to_string(),
        complete: false,
        cancelled: false,
        written: 0,
        reused: 0,
        resumed_from: previous.as_ref().map(|p| p.dir.display().to_string()),
        masked: 0,
        skipped: Vec::new(),
        findings: Vec::new(),
        waived: Vec::new(),
        unused_waivers: Vec::new(),
        default_handled: Vec::new(),
        key_fingerprint: crate::deid::keyfile::fingerprint(req.key),
        recipe_version: RECIPE_VERSION,
        review: ReviewSummary {
            approved_only: opts.approved_only == Some(true),
            ..ReviewSummary::default()
        },
    };
    let mut throttle = Throttle {
        progress,
        last: None,
    };
    let total = req.files.len() as u64;
    // Values are collected once each (a cohort repeats them in every file).
    // What the gate looks for, from every source (each value once).
    let mut trace = Trace::default();
    let mut rows = Vec::new();
    let mut reid = Vec::new();
    let pool = worker_pool()?;
    let mut done = 0u64;
    for (chunk, chunk_labels) in req.files.chunks(CHUNK).zip(labels.chunks(CHUNK)) {
        if cancel.is_cancelled() {
            report.cancelled = true;
            report.written = rows.len() as u64;
            return Ok(report);
        }
        throttle.tick(ExportPhase::Writing, done, total);
        let results: Vec<Processed> = pool.install(|| {
            chunk
                .par_iter()
                .zip(chunk_labels)
                .map(|(f, label)| process(&deid, reference, req, f, label, previous.as_ref(), &tmp))
                .collect()
        });
        for ((f, label), p) in chunk.iter().zip(chunk_labels).zip(results) {
            trace.extend(p.trace);
            let row = match p.outcome {
                Ok(Outcome::Written(row)) => row,
                Ok(Outcome::Reused(row)) => {
                    report.reused += 1;
                    row
                }
                Ok(Outcome::Skipped(reason)) => {
                    report.skipped.push((f.path.display().to_string(), reason));
                    continue;
                }
                Err(e) => return Err(e),
            };
            journal.append(label, &row)?;
            report.masked += u64::from(row.masked_rectangles > 0);
            if opts.reid_table.is_some() {
                reid.push((f.issuer.clone(), f.patient_id.clone(), row.patient.clone()));
            }
            rows.push(row);
        }
        // Each value once (a cohort repeats them in every file).
        trace.compact_when_grown();
        done += chunk.len() as u64;
    }
    throttle.tick(ExportPhase::Writing, total, total);
    report.written = rows.len() as u64;
    report.review.clean_pixels_claimed = rows.iter().filter(|r| r.review.is_some()).count() as u64;

    // The gate: every written byte against every original value.
    let needles: Vec<Needle> = trace.gate_needles();
    let scanners =
        Scanners::new(&needles, &profile, &opts.profile).with_shared(trace.shared_kept_values());
    report.default_handled = std::mem::take(&mut trace.defaulted)
        .into_iter()
        .map(|((g, e), what)| {
            (
                crate::dicom::tag_text(dicom_core::Tag(g, e)),
                what.to_string(),
            )
        })
        .collect();
    let scanned = rows.len() as u64;
    for (i, chunk) in rows.chunks(CHUNK).enumerate() {
        if cancel.is_cancelled() {
            report.cancelled = true;
            return Ok(report);
        }
        throttle.tick(ExportPhase::Scanning, (i * CHUNK) as u64, scanned);
        let found: Vec<Result<Vec<Finding>, ExportError>> = pool.install(|| {
            chunk
                .par_iter()
                .map(|r| {
                    let path = tmp.join(&r.file);
                    let bytes =
                        std::fs::read(&path).map_err(|e| ExportError::Io(e.to_string(), path))?;
                    Ok(gate::check_written(&r.file, &r.patient, &bytes, &scanners))
                })
                .collect()
        });
        for f in found {
            report
                .findings
                .extend(f?.into_iter().map(|f| f.with_id(req.key)));
        }
    }
    // A waiver's reason goes into the manifest: it must not itself carry
    // an identifying value (a reason naming the patient).
    for w in &opts.waivers {
        if !gate::text_hits(&w.reason, &scanners).is_empty() {
            return Err(ExportError::WaiverReasonIdentifies(w.id.clone()));
        }
    }
    apply_waivers(&mut report, &opts.waivers);
    throttle.tick(ExportPhase::Scanning, scanned, scanned);
    if cancel.is_cancelled() {
        report.cancelled = true;
        return Ok(report);
    }

    let facts = ExportFacts {
        profile: "DICOM PS3.15 Basic Application Level Confidentiality Profile",
        profile_options: opts
            .profile
            .method_codes()
            .iter()
            .map(|(value, meaning)| format!("{value} {meaning}"))
            .collect::<Vec<_>>()
            .join("; "),
        rules_edition: "DICOM PS3.15 2024b Table E.1-1",
        app_version: env!("CARGO_PKG_VERSION"),
        recipe_version: RECIPE_VERSION,
        key_fingerprint: report.key_fingerprint.clone(),
        default_handled: report.default_handled.clone(),
        waived: report
            .waived
            .iter()
            .map(manifest::WaiverRecord::of)
            .collect(),
    };
    manifest::write_manifests(&tmp, &facts, &rows)?;
    manifest::write_scan_report(
        &tmp,
        rows.len(),
        needles.len(),
        &report.findings,
        &report.waived,
    )?;
    if report.findings.is_empty() {
        // Only for a finished export: a failed one is not handed to anyone.
        if let Some(t) = &opts.reid_table {
            manifest::write_reid_table(t, &mut reid)?;
        }
        journal.finish(&tmp)?;
        std::fs::rename(&tmp, out).map_err(|e| ExportError::Io(e.to_string(), out.into()))?;
        report.folder = out.display().to_string();
        report.complete = true;
    }
    Ok(report)
}

/// Moves the findings a reviewer waived out of the blocking list.
fn apply_waivers(report: &mut ExportReport, waivers: &[Waiver]) {
    let (waived, blocking): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut report.findings)
        .into_iter()
        .partition(|f| waivers.iter().any(|w| w.id == f.id));
    report.findings = blocking;
    report.waived = waived
        .into_iter()
        .map(|f| WaivedFinding {
            reason: waivers
                .iter()
                .find(|w| w.id == f.id)
                .map(|w| w.reason.clone())
                .unwrap_or_default(),
            finding: f,
        })
        .collect();
    report.unused_waivers = waivers
        .iter()
        .filter(|w| !report.waived.iter().any(|f| f.finding.id == w.id))
        .map(|w| w.id.clone())
        .collect();
}

/// What must hold before an export starts, checked the same way by the
/// CLI, the export dialog (on its worker thread) and the export itself:
/// the folder is new and its parent exists; a re-identification table is
/// a new file outside the export (compared by path components) in an
/// existing folder.
pub fn preflight(out: &Path, reid_table: Option<&Path>) -> Result<(), ExportError> {
    let parent = match out.parent() {
        Some(p) if p.as_os_str().is_empty() => Path::new("."),
        Some(p) => p,
        None => return Err(ExportError::ParentMissing(out.into())),
    };
    if !parent.is_dir() {
        return Err(ExportError::ParentMissing(parent.into()));
    }
    if out.exists() {
        return Err(ExportError::Exists(out.into()));
    }
    if let Some(t) = reid_table {
        if manifest::is_inside(t, out) {
            return Err(ExportError::ReidInside(t.into()));
        }
        if t.exists() {
            return Err(ExportError::ReidExists(t.into()));
        }
        let folder = match t.parent() {
            Some(p) if p.as_os_str().is_empty() => Path::new("."),
            Some(p) => p,
            None => Path::new("/"),
        };
        if !folder.is_dir() {
            return Err(ExportError::ReidFolderMissing(folder.into()));
        }
    }
    Ok(())
}

/// The first of `base`, `base-2`, `base-3`, ... that does not exist in
/// `parent` (a new export folder's suggested name).
pub fn free_folder_name(parent: &Path, base: &str) -> String {
    (1..10_000)
        .map(|n| {
            if n == 1 {
                base.to_string()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|name| !parent.join(name).exists())
        .unwrap_or_else(|| base.to_string())
}

/// Files handled per parallel batch (progress and cancel between batches).
const CHUNK: usize = 64;

/// The export's worker threads: big stacks, like the indexer's, since
/// dicom-object and the profile recurse into sequences.
fn worker_pool() -> Result<rayon::ThreadPool, ExportError> {
    rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("pacs-export-{i}"))
        .stack_size(16 * 1024 * 1024)
        .build()
        .map_err(|e| ExportError::Io(format!("cannot start worker threads: {e}"), PathBuf::new()))
}
