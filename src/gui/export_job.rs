//! The export dialog's state and its background job: a saved cohort
//! exported as de-identified DICOM with progress and cancel, the gate's
//! result shown when it ends. Layout is in `panels::export_dialog`.

use pacs_cohort::engine::{ExportOptions, ExportProgress, ExportReport, Waiver};
use pacs_cohort::{JobEvent, JobHandle};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// A running export.
pub struct ExportRun {
    pub handle: JobHandle<ExportProgress, ExportReport>,
    pub progress: Option<ExportProgress>,
    pub cancelling: bool,
}

/// How the last export ended.
#[derive(Debug, Clone)]
pub enum ExportOutcome {
    /// Boxed: a report is large, a failure small.
    Finished(Box<ExportReport>),
    Failed(String),
}

/// What the worker checks: the export folder and the re-identification
/// table, if any.
type Folders = (PathBuf, Option<PathBuf>);

/// The open export dialog.
pub struct ExportDialog {
    pub cohort: String,
    /// The folder the export folder is created in.
    pub parent: String,
    /// The export folder's name (a new folder; exports never overwrite).
    pub folder_name: String,
    pub resume: bool,
    /// Where to write the re-identification table for an honest broker
    /// (empty: none). Never inside the export folder.
    pub reid_table: String,
    /// Findings a reviewer judged false alarms (applied to the next run).
    pub waivers: Vec<Waiver>,
    /// The reason typed for the next waiver.
    pub waive_reason: String,
    pub run: Option<ExportRun>,
    pub outcome: Option<ExportOutcome>,
    pub picking: Option<Receiver<Option<PathBuf>>>,
    /// Recorded (image masks, template rectangles), once the worker answers.
    pub masks: Option<(usize, usize)>,
    /// The worker's verdict on the folders: (inputs, problem, when).
    verdict: Option<(Folders, Option<String>, Instant)>,
    /// The folders last sent for checking, and when.
    asked: Option<(Folders, Instant)>,
    /// The folder-name suggestion asked for: (parent, base), and whether sent.
    suggesting: Option<(PathBuf, String)>,
    suggest_sent: bool,
}

impl ExportDialog {
    pub fn new(cohort: String, parent: PathBuf) -> ExportDialog {
        let mut d = ExportDialog {
            cohort,
            parent: parent.display().to_string(),
            folder_name: String::new(),
            resume: false,
            reid_table: String::new(),
            waivers: Vec::new(),
            waive_reason: String::new(),
            run: None,
            outcome: None,
            picking: None,
            masks: None,
            verdict: None,
            asked: None,
            suggesting: None,
            suggest_sent: false,
        };
        d.suggest_folder_name();
        d
    }

    /// The base of a suggested folder name: `<cohort>-deid`.
    fn base_name(&self) -> String {
        let base: String = self
            .cohort
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{}-deid", base.trim_matches('_'))
    }

    /// Asks for a free folder name (`<cohort>-deid`, numbered when taken):
    /// the worker answers (the UI thread touches no files).
    pub fn suggest_folder_name(&mut self) {
        self.folder_name = self.base_name();
        self.suggesting = Some((PathBuf::from(self.parent.trim()), self.base_name()));
        self.suggest_sent = false;
    }

    /// The folder-name question to send, once.
    pub fn due_name_request(&mut self) -> Option<(PathBuf, String)> {
        if self.suggest_sent {
            return None;
        }
        self.suggest_sent = true;
        self.suggesting.clone()
    }

    /// The worker's free name, if it answers the question still open.
    pub fn name_answered(&mut self, parent: PathBuf, base: String, name: String) {
        if self.suggesting.as_ref() == Some(&(parent, base)) {
            self.folder_name = name;
            self.suggesting = None;
        }
    }

    /// The export folder.
    pub fn out(&self) -> PathBuf {
        Path::new(self.parent.trim()).join(self.folder_name.trim())
    }

    /// The export's options, with the profile options of the preferences
    /// (the viewer's de-identified image uses the same).
    pub fn export_options(&self, profile: pacs_cohort::engine::ProfileOptions) -> ExportOptions {
        ExportOptions {
            profile,
            overrides: Vec::new(),
            reid_table: (!self.reid_table.trim().is_empty())
                .then(|| PathBuf::from(self.reid_table.trim())),
            resume: self.resume,
            waivers: self.waivers.clone(),
            approved_only: None,
        }
    }

    /// What is wrong with the inputs, if anything (shown beside the
    /// button): plain checks here, the file system's verdict from the
    /// worker (None while it has not answered for these inputs: "checking").
    pub fn problem(&self) -> Option<String> {
        if self.cohort.trim().is_empty() {
            return Some("choose a saved cohort".into());
        }
        let name = self.folder_name.trim();
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Some("give the export folder a plain name (no slashes)".into());
        }
        match &self.verdict {
            Some((inputs, verdict, _)) if *inputs == self.fs_inputs() => verdict.clone(),
            _ => Some("checking the folders…".into()),
        }
    }

    /// The export folder and re-identification table as the worker checks them.
    fn fs_inputs(&self) -> Folders {
        let reid = self.reid_table.trim();
        (self.out(), (!reid.is_empty()).then(|| PathBuf::from(reid)))
    }

    /// The check to send to the worker: when the inputs changed, and again
    /// every second while the dialog is open (a folder created meanwhile,
    /// elsewhere, clears "does not exist").
    pub fn due_check(&mut self) -> Option<Folders> {
        let inputs = self.fs_inputs();
        // A periodic re-check waits for the answer to the last one: asking
        // again while the worker is busy would make every answer stale
        // before it arrives (only the newest question is answered).
        let answered = match (&self.asked, &self.verdict) {
            (Some((_, asked_at)), Some((_, _, answered_at))) => answered_at >= asked_at,
            (Some(_), None) => false,
            (None, _) => true,
        };
        let due = match &self.asked {
            Some((asked, at)) => {
                *asked != inputs || (answered && at.elapsed() >= Duration::from_secs(1))
            }
            None => true,
        };
        if !due || self.run.is_some() {
            return None;
        }
        self.asked = Some((inputs.clone(), Instant::now()));
        Some(inputs)
    }

    /// The worker's verdict on `inputs`.
    pub fn check_answered(&mut self, out: PathBuf, reid: Option<PathBuf>, verdict: Option<String>) {
        self.verdict = Some(((out, reid), verdict, Instant::now()));
    }

    /// Forgets the last check (after an export the folder exists).
    pub fn recheck(&mut self) {
        self.verdict = None;
        self.asked = None;
    }

    /// Drains the job's events; returns the final one when it ended.
    pub fn drain(&mut self, deadline: Instant) -> Option<JobEvent<ExportProgress, ExportReport>> {
        let run = self.run.as_mut()?;
        let progress = &mut run.progress;
        let end = run.handle.poll(deadline, |p| *progress = Some(p));
        if end.is_some() {
            self.run = None;
        }
        end
    }
}

/// One line for the jobs window.
pub fn summary(outcome: &ExportOutcome) -> String {
    match outcome {
        ExportOutcome::Finished(r) if r.cancelled => format!(
            "cancelled; {} files so far stay in {} (resume continues)",
            r.written, r.folder
        ),
        ExportOutcome::Finished(r) if r.complete => format!(
            "{} files ({} masked, {} not exported) in {}; scan: no residual PHI",
            r.written,
            r.masked,
            r.skipped.len(),
            r.folder
        ),
        ExportOutcome::Finished(r) => format!(
            "FAILED: the scan found {} residual identifiers; files kept for inspection in {}",
            r.findings.len(),
            r.folder
        ),
        ExportOutcome::Failed(e) => format!("failed: {e}"),
    }
}
