//! The façade the CLI and the GUI share: opens a workspace, runs jobs on
//! worker threads with progress events and cancellation, answers queries.
//! It owns no UI types: a worker wakes the UI through a plain callback.

mod job;

pub use job::{CancelToken, JobEvent, JobHandle};

use crate::index::{self, IndexError, IndexOptions};
use crate::model::{
    FileRow, FileStatus, IndexProgress, IndexSummary, SeriesRow, StudyQuery, StudyRow,
    WorkspaceStatus,
};
use crate::store::{self, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Anything the engine reports as failed; messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("no workspace database yet; run `pacs-cohort index <FOLDER>` first: {0}")]
    NoWorkspace(PathBuf),
    #[error("the job's worker thread stopped unexpectedly")]
    WorkerLost,
}

/// A workspace: one SQLite database (the index and, later, user data).
#[derive(Debug, Clone)]
pub struct Engine {
    db: PathBuf,
}

impl Engine {
    /// The default workspace database: `<user data dir>/pacs-cohort/workspace.db`.
    pub fn default_db_path() -> PathBuf {
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .or_else(|| std::env::var_os("APPDATA").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("pacs-cohort").join("workspace.db")
    }

    /// Opens (creating and migrating if needed) the workspace at `db`.
    pub fn open(db: impl Into<PathBuf>) -> Result<Engine, EngineError> {
        let db = db.into();
        drop(store::open_rw(&db)?);
        Ok(Engine { db })
    }

    /// Attaches to an existing workspace without writing to it.
    pub fn open_existing(db: impl Into<PathBuf>) -> Result<Engine, EngineError> {
        let db = db.into();
        if !db.exists() {
            return Err(EngineError::NoWorkspace(db));
        }
        drop(store::open_ro(&db)?);
        Ok(Engine { db })
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.db
    }

    /// Indexes `roots` on the calling thread; `on_progress` is called at a
    /// throttled rate. Cancelling keeps everything indexed so far.
    pub fn index(
        &self,
        roots: &[PathBuf],
        opts: &IndexOptions,
        cancel: &CancelToken,
        on_progress: &mut dyn FnMut(&IndexProgress),
    ) -> Result<IndexSummary, EngineError> {
        Ok(index::run(&self.db, roots, opts, cancel, on_progress)?)
    }

    /// Starts an index job on a worker thread. `wake` is called after each
    /// event is queued (the GUI passes `ctx.request_repaint`).
    pub fn spawn_index(
        &self,
        roots: Vec<PathBuf>,
        opts: IndexOptions,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> JobHandle<IndexProgress, IndexSummary> {
        let engine = self.clone();
        job::spawn("pacs-index-job", wake, move |cancel, emit| {
            engine.index(&roots, &opts, cancel, &mut |p| emit(p.clone()))
        })
    }

    /// Counts per level and per file status, roots and the last run.
    pub fn status(&self) -> Result<WorkspaceStatus, EngineError> {
        let conn = store::open_ro(&self.db)?;
        Ok(WorkspaceStatus {
            database: self.db.display().to_string(),
            roots: store::roots(&conn, &self.db)?,
            levels: store::level_counts(&conn, &self.db)?,
            status: store::status_counts(&conn, &self.db)?,
            last_run: store::last_run(&conn, &self.db)?,
        })
    }

    /// Studies for the browser (run it off the UI thread).
    pub fn studies(&self, q: &StudyQuery) -> Result<Vec<StudyRow>, EngineError> {
        let conn = store::open_ro(&self.db)?;
        Ok(store::studies(&conn, &self.db, q)?)
    }

    /// The series of one study.
    pub fn series(&self, study_uid: &str) -> Result<Vec<SeriesRow>, EngineError> {
        let conn = store::open_ro(&self.db)?;
        Ok(store::series(&conn, &self.db, study_uid)?)
    }

    /// Drops a root and its indexed files from the workspace (never touches
    /// the files). Returns how many file rows were removed.
    pub fn remove_root(&self, root: &Path) -> Result<u64, EngineError> {
        let mut w = store::Writer::open(&self.db)?;
        Ok(w.remove_root(root)?)
    }

    /// Files with their status and reason, optionally of one status.
    pub fn files(
        &self,
        status: Option<FileStatus>,
        limit: Option<u64>,
    ) -> Result<Vec<FileRow>, EngineError> {
        let conn = store::open_ro(&self.db)?;
        Ok(store::files(&conn, &self.db, status, limit)?)
    }
}
