//! What persists across restarts (UI state only; domain data stays in
//! SQLite). `#[serde(default)]` keeps old files loadable as fields are added.

use pacs_cohort::model::{CohortSpec, FileStatus, StudySort};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which main view is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Tab {
    #[default]
    Studies,
    Cohort,
    Files,
}

/// Persisted preferences and layout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub dark: bool,
    /// Most recent first, at most [`Prefs::MAX_RECENT`].
    pub recent: Vec<PathBuf>,
    pub tab: Tab,
    pub sort: StudySort,
    pub descending: bool,
    pub files_status: Option<FileStatus>,
    pub show_jobs: bool,
    /// The cohort being edited (kept across restarts: nothing typed is lost).
    pub cohort_draft: Option<CohortSpec>,
    /// The workspace (database path) the draft belongs to: a draft is never
    /// carried into another workspace.
    #[serde(default)]
    pub draft_workspace: Option<String>,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            dark: true,
            recent: Vec::new(),
            tab: Tab::Studies,
            sort: StudySort::StudyDate,
            descending: true,
            files_status: None,
            show_jobs: false,
            cohort_draft: None,
            draft_workspace: None,
        }
    }
}

impl Prefs {
    pub const MAX_RECENT: usize = 8;

    /// Moves `path` to the front of the recent list.
    pub fn remember(&mut self, path: PathBuf) {
        self.recent.retain(|p| p != &path);
        self.recent.insert(0, path);
        self.recent.truncate(Self::MAX_RECENT);
    }
}
