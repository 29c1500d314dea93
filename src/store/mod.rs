//! The only module that names rusqlite. Private to the library.
//!
//! One writer connection (WAL, batched transactions) owned by the index
//! writer thread; readers open their own read-only connections. Errors are
//! translated into messages that say what to do.

pub(crate) mod analysis;
pub(crate) mod analysis_runs;
pub(crate) mod audit;
pub(crate) mod biomarker;
mod browse;
pub(crate) mod burnin;
pub(crate) mod cohorts;
pub(crate) mod columns;
pub(crate) mod ehr;
pub(crate) mod findings;
pub(crate) mod images;
pub(crate) mod masks;
pub(crate) mod pacs;
pub(crate) mod review;
mod schema;
pub(crate) mod sites;
pub(crate) mod values;
pub(crate) mod watch;
mod writer;

pub(crate) use browse::{series, studies};

pub(crate) use writer::{Checkpointer, WriteItem, Writer};

use crate::model::{FileRow, FileStatus, LevelCounts, RootInfo, RunInfo, StatusCounts};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// A database failure, with the database path and advice.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the workspace database is locked by another process (is another pacs-cohort running?); close it and retry: {0}")]
    Locked(PathBuf),
    #[error(
        "the workspace database is read-only; fix its permissions or choose another with --db: {0}"
    )]
    ReadOnly(PathBuf),
    #[error("the disk is full while writing the workspace database; free space and run again (work committed so far is kept): {0}")]
    DiskFull(PathBuf),
    #[error(
        "cannot open the workspace database; check that its folder exists and is writable: {0}"
    )]
    CannotOpen(PathBuf),
    #[error("this file is not a pacs-cohort workspace database (or it is corrupt): {0}")]
    NotADatabase(PathBuf),
    #[error("the workspace database was written by a newer pacs-cohort (schema {found}, this build knows {known}); upgrade the app: {path}")]
    TooNew {
        found: i64,
        known: i64,
        path: PathBuf,
    },
    /// A statement was interrupted because its job was cancelled; its
    /// transaction was rolled back.
    #[error("cancelled; the workspace database is as the last completed step left it: {0}")]
    Interrupted(PathBuf),
    #[error("workspace database error ({message}): {path}")]
    Other { message: String, path: PathBuf },
}

impl StoreError {
    pub(crate) fn from_sqlite(e: rusqlite::Error, path: &Path) -> StoreError {
        use rusqlite::ErrorCode as C;
        let path = path.to_path_buf();
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            match f.code {
                C::DatabaseBusy | C::DatabaseLocked => return StoreError::Locked(path),
                C::ReadOnly => return StoreError::ReadOnly(path),
                C::DiskFull => return StoreError::DiskFull(path),
                C::CannotOpen => return StoreError::CannotOpen(path),
                C::NotADatabase => return StoreError::NotADatabase(path),
                C::OperationInterrupted => return StoreError::Interrupted(path),
                _ => {}
            }
        }
        StoreError::Other {
            message: e.to_string(),
            path,
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, StoreError>;

/// Extension to attach the path to rusqlite results.
pub(crate) trait Ctx<T> {
    fn at(self, path: &Path) -> Result<T>;
}
impl<T> Ctx<T> for rusqlite::Result<T> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|e| StoreError::from_sqlite(e, path))
    }
}

/// Opens (creating if needed) the database read-write and brings its schema
/// up to date.
pub(crate) fn open_rw(path: &Path) -> Result<Connection> {
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() && !parent.exists() {
            crate::private_fs::create_dir_all(parent)
                .map_err(|_| StoreError::CannotOpen(path.into()))?;
        }
    }
    // The workspace holds PHI: owner-only, and SQLite gives its -wal and
    // -shm files the same mode (DECISIONS 34).
    crate::private_fs::touch(path).map_err(|_| StoreError::CannotOpen(path.into()))?;
    let conn = Connection::open(path).at(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .at(path)?;
    conn.pragma_update(None, "journal_mode", "WAL").at(path)?;
    conn.pragma_update(None, "synchronous", "NORMAL").at(path)?;
    conn.pragma_update(None, "temp_store", "MEMORY").at(path)?;
    conn.pragma_update(None, "cache_size", -65536).at(path)?;
    // The writer keeps references consistent itself (tests check it with
    // `PRAGMA foreign_key_check`); enforcing them costs a parent lookup and a
    // statement journal per row, about a third of the writer's time.
    conn.pragma_update(None, "foreign_keys", false).at(path)?;
    if let Ok(pages) = std::env::var("PACS_COHORT_TEST_MAX_DB_PAGES") {
        // Test hook: caps the database size so that "disk full" can be
        // exercised through the real writer path.
        if let Ok(n) = pages.parse::<i64>() {
            conn.pragma_update(None, "max_page_count", n).at(path)?;
        }
    }
    migrate(&conn, path)?;
    Ok(conn)
}

/// Opens a read-only connection for queries.
pub(crate) fn open_ro(path: &Path) -> Result<Connection> {
    if !path.exists() {
        return Err(StoreError::CannotOpen(path.into()));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .at(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .at(path)?;
    conn.pragma_update(None, "query_only", true).at(path)?;
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .at(path)?;
    if v > schema::MIGRATIONS.len() as i64 {
        return Err(StoreError::TooNew {
            found: v,
            known: schema::MIGRATIONS.len() as i64,
            path: path.into(),
        });
    }
    Ok(conn)
}

fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .at(path)?;
    let known = schema::MIGRATIONS.len() as i64;
    if v > known {
        return Err(StoreError::TooNew {
            found: v,
            known,
            path: path.into(),
        });
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(v as usize) {
        // Each migration and its version bump commit together.
        let mut batch = format!("BEGIN IMMEDIATE; {sql};");
        if i as i64 + 1 == schema::FACTS_VERSION {
            // The new fact columns are filled for the existing index.
            batch.push_str(schema::REFRESH_STUDY_FACTS);
        }
        batch.push_str(&format!(" PRAGMA user_version = {}; COMMIT;", i + 1));
        if let Err(e) = conn.execute_batch(&batch) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::from_sqlite(e, path));
        }
    }
    Ok(())
}

/// Converts a path to the bytes stored in the database (lossless on Unix).
pub(crate) fn path_bytes(p: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        p.to_string_lossy().into_owned().into_bytes()
    }
}

/// Converts stored bytes back to a path.
pub(crate) fn bytes_path(b: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(b))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(b).into_owned())
    }
}

/// Rows per level.
pub(crate) fn level_counts(conn: &Connection, path: &Path) -> Result<LevelCounts> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM patients), (SELECT count(*) FROM studies),
                (SELECT count(*) FROM series), (SELECT count(*) FROM instances)",
        [],
        |r| {
            Ok(LevelCounts {
                patients: r.get::<_, i64>(0)? as u64,
                studies: r.get::<_, i64>(1)? as u64,
                series: r.get::<_, i64>(2)? as u64,
                instances: r.get::<_, i64>(3)? as u64,
            })
        },
    )
    .at(path)
}

/// Files per status over the whole index.
pub(crate) fn status_counts(conn: &Connection, path: &Path) -> Result<StatusCounts> {
    let mut counts = StatusCounts::zeroed();
    let mut stmt = conn
        .prepare("SELECT status, count(*) FROM files GROUP BY status")
        .at(path)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .at(path)?;
    for row in rows {
        let (st, n) = row.at(path)?;
        counts.0.insert(st, n as u64);
    }
    Ok(counts)
}

/// The indexed roots with their file counts.
pub(crate) fn roots(conn: &Connection, path: &Path) -> Result<Vec<RootInfo>> {
    // A read-only connection to an older workspace has no issuer column.
    let issuer = if sites::has_sites(conn, path)? {
        "r.issuer"
    } else {
        "NULL"
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT r.id, r.path, (SELECT count(*) FROM files f WHERE f.root_ref = r.id), {issuer}
             FROM roots r ORDER BY r.id"
        ))
        .at(path)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(RootInfo {
                id: r.get(0)?,
                path: bytes_path(&r.get::<_, Vec<u8>>(1)?).display().to_string(),
                files: r.get::<_, i64>(2)? as u64,
                issuer: r.get(3)?,
            })
        })
        .at(path)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().at(path)
}

/// The most recent index run.
pub(crate) fn last_run(conn: &Connection, path: &Path) -> Result<Option<RunInfo>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT id, started_at, finished_at, outcome, files_seen FROM index_runs ORDER BY id DESC LIMIT 1",
        [],
        |r| {
            Ok(RunInfo {
                id: r.get(0)?,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                outcome: r.get(3)?,
                files_seen: r.get::<_, i64>(4)? as u64,
            })
        },
    )
    .optional()
    .at(path)
}

/// Files of the index, optionally of one status, ordered by path.
pub(crate) fn files(
    conn: &Connection,
    path: &Path,
    status: Option<FileStatus>,
    limit: Option<u64>,
) -> Result<Vec<FileRow>> {
    let mut stmt = conn
        .prepare(
            "SELECT r.path, f.rel_path, f.size_bytes, f.status, f.reason, f.sop_uid
             FROM files f JOIN roots r ON r.id = f.root_ref
             WHERE (?1 IS NULL OR f.status = ?1)
             ORDER BY r.path, f.rel_path LIMIT ?2",
        )
        .at(path)?;
    let limit = limit.map(|l| l as i64).unwrap_or(-1);
    let rows = stmt
        .query_map(rusqlite::params![status.map(|s| s.as_str()), limit], |r| {
            let root = bytes_path(&r.get::<_, Vec<u8>>(0)?);
            let rel = bytes_path(&r.get::<_, Vec<u8>>(1)?);
            let st: String = r.get(3)?;
            Ok(FileRow {
                path: root.join(rel).display().to_string(),
                size_bytes: r.get::<_, i64>(2)? as u64,
                status: FileStatus::parse(&st).unwrap_or(FileStatus::Unreadable),
                reason: r.get(4)?,
                sop_instance_uid: r.get(5)?,
            })
        })
        .at(path)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().at(path)
}

/// A workspace setting, if set.
pub(crate) fn setting(conn: &Connection, path: &Path, key: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    // A read-only connection to a workspace from before settings existed
    // simply has none.
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'settings')",
            [],
            |r| r.get(0),
        )
        .at(path)?;
    if !exists {
        return Ok(None);
    }
    conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
    .at(path)
}

/// Sets a workspace setting.
pub(crate) fn set_setting(conn: &Connection, path: &Path, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO settings(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .at(path)?;
    Ok(())
}

/// The statement an index run uses to recompute unknown study facts (for
/// tests that edit the index by hand).
#[cfg(test)]
pub(crate) fn schema_refresh_facts() -> &'static str {
    schema::REFRESH_STUDY_FACTS
}
