//! What persists across restarts (UI state only; domain data stays in
//! SQLite). `#[serde(default)]` keeps old files loadable as fields are added.

use pacs_cohort::engine::{ProfileChoices, ProfileOptions};
use pacs_cohort::model::{CohortSpec, FileStatus, StudySort};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which main view is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Tab {
    #[default]
    Studies,
    Cohort,
    /// The cohort's series as a thumbnail grid.
    Images,
    /// The visual PHI review queue.
    Review,
    /// Trends, prevalence, standardised rates and their charts.
    Analyses,
    /// PACS nodes, harvest and retrieval.
    Pacs,
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
    /// The de-identification options: the export dialog edits them and the
    /// viewer's de-identified image and the review use them (one source).
    pub profile: ProfilePrefs,
    /// The name recorded with review decisions.
    pub reviewer: String,
    /// The analysis being set up (kept across restarts).
    pub analysis_form: super::analyses::form::Form,
}

/// The profile options a user switches (the library's `ProfileChoices`,
/// persisted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfilePrefs {
    pub full_dates: bool,
    pub patient_characteristics: bool,
    pub device_identity: bool,
    pub institution_identity: bool,
    pub uids: bool,
    pub safe_private: bool,
    pub clean_descriptors: bool,
}

impl Default for ProfilePrefs {
    fn default() -> Self {
        ProfilePrefs::from(ProfileChoices::default())
    }
}

impl From<ProfileChoices> for ProfilePrefs {
    fn from(c: ProfileChoices) -> Self {
        ProfilePrefs {
            full_dates: c.full_dates,
            patient_characteristics: c.patient_characteristics,
            device_identity: c.device_identity,
            institution_identity: c.institution_identity,
            uids: c.uids,
            safe_private: c.safe_private,
            clean_descriptors: c.clean_descriptors,
        }
    }
}

impl ProfilePrefs {
    pub fn choices(&self) -> ProfileChoices {
        ProfileChoices {
            full_dates: self.full_dates,
            patient_characteristics: self.patient_characteristics,
            device_identity: self.device_identity,
            institution_identity: self.institution_identity,
            uids: self.uids,
            safe_private: self.safe_private,
            clean_descriptors: self.clean_descriptors,
        }
    }

    pub fn options(&self) -> ProfileOptions {
        self.choices().options()
    }
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
            profile: ProfilePrefs::default(),
            reviewer: String::new(),
            analysis_form: Default::default(),
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
