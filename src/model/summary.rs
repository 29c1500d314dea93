//! Results and progress reports of index runs, and workspace status.

use super::FileStatus;
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts of files per status; every status appears (zero included) so JSON
/// consumers see a stable shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts(pub BTreeMap<String, u64>);

impl StatusCounts {
    /// All statuses at zero.
    pub fn zeroed() -> Self {
        StatusCounts(
            FileStatus::ALL
                .iter()
                .map(|s| (s.as_str().to_string(), 0))
                .collect(),
        )
    }
    /// Adds `n` files of status `st`.
    pub fn add(&mut self, st: FileStatus, n: u64) {
        *self.0.entry(st.as_str().to_string()).or_insert(0) += n;
    }
    /// Files of status `st`.
    pub fn get(&self, st: FileStatus) -> u64 {
        self.0.get(st.as_str()).copied().unwrap_or(0)
    }
    /// All files counted.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// Rows per level of the hierarchy (of the whole index, or of a cohort's
/// content).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LevelCounts {
    pub patients: u64,
    pub studies: u64,
    pub series: u64,
    pub instances: u64,
}

/// What one index run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IndexSummary {
    pub run_id: i64,
    /// The roots indexed, as absolute paths.
    pub roots: Vec<String>,
    /// Files found under the roots by this run's walk.
    pub files_seen: u64,
    /// Files not in the index before.
    pub new: u64,
    /// Files whose size or mtime changed (re-read).
    pub changed: u64,
    /// Files not reopened because path, size and mtime matched.
    pub unchanged: u64,
    /// Files that vanished and left the index.
    pub removed: u64,
    /// Files re-read for another reason (`--retry-failed`, promotions).
    pub retried: u64,
    /// Files whose outcome (an instance or a status) this run wrote to the
    /// index; a cancelled run keeps exactly these.
    pub files_indexed: u64,
    /// Whether the run was cancelled before the end (what was done is kept).
    pub cancelled: bool,
    /// Roots that were missing or empty while the index held files for them;
    /// they were left untouched (use `--prune` to drop their files).
    pub roots_left_untouched: Vec<String>,
    /// Per-status file counts over the whole index after the run.
    pub status: StatusCounts,
    /// Rows per level over the whole index after the run.
    pub levels: LevelCounts,
    /// Patient keys with conflicting demographics over the whole index.
    pub patient_conflicts: u64,
    pub elapsed_seconds: f64,
}

/// A throttled progress report from a running index job.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IndexProgress {
    /// "walking", "reading" or "finishing".
    pub phase: &'static str,
    /// Files found so far by the walk.
    pub files_seen: u64,
    /// Files that need reading in this run (known after the walk).
    pub to_read: u64,
    /// Files read and written so far.
    pub read: u64,
    /// Per-status counts of the files written by this run so far.
    pub status: StatusCounts,
    /// The folder most recently walked or read (relative display only).
    pub current_folder: String,
    pub elapsed_seconds: f64,
}

/// Overall state of a workspace.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkspaceStatus {
    pub database: String,
    pub roots: Vec<RootInfo>,
    pub levels: LevelCounts,
    pub status: StatusCounts,
    pub last_run: Option<RunInfo>,
    /// Only suppressed aggregates may be shown (see `pacs-cohort privacy`).
    pub aggregate_only: bool,
    /// Counts 1..=this are suppressed when released.
    pub release_threshold: u64,
    /// Patient keys whose files disagree on name, sex or birth date
    /// (`pacs-cohort conflicts` lists them).
    pub patient_conflicts: u64,
}

/// One indexed root.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RootInfo {
    pub id: i64,
    pub path: String,
    pub files: u64,
    /// The issuer of this archive's patient IDs (its site), if given.
    pub issuer: Option<String>,
}

/// One entry of the index-run log.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: String,
    pub files_seen: u64,
}

/// One file of the index with its status and reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRow {
    pub path: String,
    pub size_bytes: u64,
    pub status: FileStatus,
    pub reason: Option<String>,
    pub sop_instance_uid: Option<String>,
}
