//! The export dialog's state and its background job: a saved cohort
//! exported as de-identified DICOM with progress and cancel, the gate's
//! result shown when it ends. Layout is in `panels::export_dialog`.

use pacs_cohort::deid::profile::Choices;
use pacs_cohort::export::{ExportOptions, ExportProgress, ExportReport, Waiver};
use pacs_cohort::{JobEvent, JobHandle};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, TryRecvError};

/// A running export.
pub struct ExportRun {
    pub handle: JobHandle<ExportProgress, ExportReport>,
    pub progress: Option<ExportProgress>,
    pub cancelling: bool,
}

/// How the last export ended.
#[derive(Debug, Clone)]
pub enum ExportOutcome {
    Finished(ExportReport),
    Failed(String),
}

/// The open export dialog.
pub struct ExportDialog {
    pub cohort: String,
    /// The folder the export folder is created in.
    pub parent: String,
    /// The export folder's name (a new folder; exports never overwrite).
    pub folder_name: String,
    pub choices: Choices,
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
    /// The inputs last checked and the verdict: the file system is asked
    /// again only when they change, not every frame.
    checked: Option<((String, String, String), Option<String>)>,
}

impl ExportDialog {
    pub fn new(cohort: String, parent: PathBuf) -> ExportDialog {
        let mut d = ExportDialog {
            cohort,
            parent: parent.display().to_string(),
            folder_name: String::new(),
            choices: Choices::default(),
            resume: false,
            reid_table: String::new(),
            waivers: Vec::new(),
            waive_reason: String::new(),
            run: None,
            outcome: None,
            picking: None,
            masks: None,
            checked: None,
        };
        d.suggest_folder_name();
        d
    }

    /// `<cohort>-deid`, numbered when taken.
    pub fn suggest_folder_name(&mut self) {
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
        let base = format!("{}-deid", base.trim_matches('_'));
        let parent = PathBuf::from(&self.parent);
        self.folder_name = (1..)
            .map(|n| {
                if n == 1 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                }
            })
            .find(|name| !parent.join(name).exists())
            .unwrap_or(base);
    }

    /// The export folder.
    pub fn out(&self) -> PathBuf {
        Path::new(self.parent.trim()).join(self.folder_name.trim())
    }

    pub fn export_options(&self) -> ExportOptions {
        ExportOptions {
            profile: self.choices.options(),
            overrides: Vec::new(),
            reid_table: (!self.reid_table.trim().is_empty())
                .then(|| PathBuf::from(self.reid_table.trim())),
            resume: self.resume,
            waivers: self.waivers.clone(),
        }
    }

    /// What is wrong with the inputs, if anything (shown beside the button).
    pub fn problem(&mut self) -> Option<String> {
        let inputs = (
            self.cohort.clone(),
            self.parent.clone(),
            format!("{}\n{}", self.folder_name, self.reid_table),
        );
        if let Some((seen, verdict)) = &self.checked {
            if *seen == inputs {
                return verdict.clone();
            }
        }
        let verdict = self.check();
        self.checked = Some((inputs, verdict.clone()));
        verdict
    }

    /// Forgets the last check (after an export the folder exists).
    pub fn recheck(&mut self) {
        self.checked = None;
    }

    fn check(&self) -> Option<String> {
        if self.cohort.trim().is_empty() {
            return Some("choose a saved cohort".into());
        }
        let name = self.folder_name.trim();
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Some("give the export folder a plain name (no slashes)".into());
        }
        if !Path::new(self.parent.trim()).is_dir() {
            return Some("the parent folder does not exist".into());
        }
        let reid = self.reid_table.trim();
        if !reid.is_empty() {
            let table = Path::new(reid);
            if table.starts_with(self.out()) {
                return Some(
                    "the re-identification table must be outside the export folder".into(),
                );
            }
            if table.exists() {
                return Some(
                    "the re-identification table file already exists; choose a new name".into(),
                );
            }
            if !table.parent().is_some_and(|p| p.is_dir()) {
                return Some("the re-identification table's folder does not exist".into());
            }
        }
        if self.out().exists() {
            return Some(
                "that folder already exists; exports never overwrite: choose a new name".into(),
            );
        }
        None
    }

    /// Drains the job's events; returns the final one when it ended.
    pub fn drain(&mut self) -> Option<JobEvent<ExportProgress, ExportReport>> {
        let run = self.run.as_mut()?;
        loop {
            match run.handle.events.try_recv() {
                Ok(JobEvent::Progress(p)) => run.progress = Some(p),
                Ok(other) => {
                    self.run = None;
                    return Some(other);
                }
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Disconnected) => {
                    self.run = None;
                    return Some(JobEvent::Failed(
                        "the export job stopped unexpectedly".into(),
                    ));
                }
            }
        }
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
