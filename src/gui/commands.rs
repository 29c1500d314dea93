//! What the UI asks for. Panels push commands during layout; the app
//! handles them after layout (so no panel mutates state mid-frame).

use super::state::Tab;
use pacs_cohort::model::{FileStatus, StudySort};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open the folder dialog (on a worker thread).
    PickFolder,
    /// Add and index an archive folder.
    OpenArchive(PathBuf),
    Reindex(PathBuf),
    /// Give an archive its site (issuer of its patient IDs; "" for none)
    /// and index it again.
    SetSite(PathBuf, String),
    /// Show only studies of patients with conflicting demographics.
    ConflictsOnly(bool),
    /// Open or close the window listing conflicted patients and their files.
    ToggleConflicts,
    ReindexAll,
    RemoveArchive(PathBuf),
    CancelIndex,
    SelectStudy(String),
    Sort(StudySort),
    FilterChanged,
    ShowTab(Tab),
    FilesStatus(Option<FileStatus>),
    DismissError(usize),
    ToggleTheme,
    ToggleJobs,
    FocusSearch,
    NewCohort,
    SaveCohort,
    /// Save the draft as a new cohort named "<name> copy".
    DuplicateCohort,
    /// Rename the saved cohort the draft was opened from to the draft's name.
    RenameCohort,
    /// Open a saved cohort (asks first when the draft has unsaved edits).
    LoadCohort(String),
    /// Open a saved cohort, discarding the draft's edits (the answer to
    /// that question).
    OpenCohortDiscarding(String),
    DeleteCohort(String),
    /// Replace the draft with this JSON text (from the JSON editor).
    ApplyCohortJson(String),
    /// Open the file dialog for a clinical-data CSV (on a worker thread).
    PickEhrCsv,
    /// Import the CSV as the dialog describes it.
    ImportEhr,
    CloseEhrDialog,
    /// Open the export dialog (for this saved cohort, or the one loaded).
    OpenExport(Option<String>),
    /// Choose the folder the export is written into (on a worker thread).
    PickExportFolder,
    StartExport,
    /// Compare two saved cohorts (by name).
    Compare(String, String),
    CloseComparison,
    CancelExport,
    CloseExport,
    /// Ask the user before a destructive command; `then` runs on yes.
    Confirm(Confirmation),
    /// The user answered the open confirmation.
    Answered(bool),
    /// A picker needs a field's values (asked once until the index changes).
    AskValues(pacs_cohort::model::ValueField),
    /// Thumbnails, the viewer, masks, the review queue.
    Imaging(super::imaging::Cmd),
    /// The Analyses area.
    Analyses(super::analyses::Cmd),
    /// The PACS area.
    Pacs(super::pacs::Cmd),
}

/// A question before something that cannot be undone.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation {
    pub question: String,
    pub detail: String,
    /// The label of the button that does it ("Delete", "Remove").
    pub verb: String,
    pub then: Box<Command>,
}
