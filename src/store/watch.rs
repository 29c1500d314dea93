//! Notices that the workspace changed since a snapshot was taken (the
//! column engine's staleness check): `PRAGMA data_version` on a connection
//! held open changes whenever another connection commits; only then is a
//! stamp of the tables the engine reads compared, so that a commit to a
//! table it does not read (a saved cohort, a review decision) keeps it.

use super::{Ctx, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// Tables whose content the column engine holds.
const TABLES: [&str; 11] = [
    "patients",
    "studies",
    "series",
    "instances",
    "files",
    "ehr_datasets",
    "ehr_values",
    "reports",
    "report_findings",
    "finding_rules",
    "series_features",
];

/// A connection held open to watch one workspace.
#[derive(Debug)]
pub struct Watch {
    conn: Connection,
    path: PathBuf,
    version: i64,
    stamp: Vec<i64>,
}

impl Watch {
    /// Starts watching (take it before reading the snapshot, so that a
    /// commit during the read shows as a change).
    pub(crate) fn open(path: &Path) -> Result<Watch> {
        let conn = super::open_ro(path)?;
        let version = data_version(&conn, path)?;
        let stamp = stamp(&conn, path)?;
        Ok(Watch {
            conn,
            path: path.to_path_buf(),
            version,
            stamp,
        })
    }

    /// Whether a table the engine reads may have changed since `open`.
    pub(crate) fn changed(&mut self) -> Result<bool> {
        let v = data_version(&self.conn, &self.path)?;
        if v == self.version {
            return Ok(false);
        }
        self.version = v;
        Ok(stamp(&self.conn, &self.path)? != self.stamp)
    }
}

fn data_version(conn: &Connection, path: &Path) -> Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        .at(path)
}

/// Row count, largest row id and `index_runs`' newest row per table: an
/// index run, an import, a removal or a findings change moves one of them.
fn stamp(conn: &Connection, path: &Path) -> Result<Vec<i64>> {
    let mut parts: Vec<String> = TABLES
        .iter()
        .map(|t| format!("(SELECT count(*) FROM {t}), (SELECT coalesce(max(rowid), 0) FROM {t})"))
        .collect();
    parts.push("(SELECT coalesce(max(rowid), 0) FROM index_runs)".into());
    let sql = format!("SELECT {}", parts.join(", "));
    let n = TABLES.len() * 2 + 1;
    conn.query_row(&sql, [], |r| (0..n).map(|i| r.get::<_, i64>(i)).collect())
        .at(path)
}
