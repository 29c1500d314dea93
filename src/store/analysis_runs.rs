//! Analyses saved in the workspace (migration 14): the result JSON with
//! its specification, listed newest first.

use super::{Ctx, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// One saved analysis as listed (the result itself is read on demand).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SavedAnalysisRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub released: bool,
    pub app_version: String,
    pub index_snapshot: Option<String>,
    pub computed_at: String,
    pub saved_at: String,
}

/// What a saved analysis row holds, as written.
pub(crate) struct NewRun<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub spec: &'a str,
    pub result: &'a str,
    pub released: bool,
    pub app_version: &'a str,
    pub index_snapshot: Option<&'a str>,
    pub computed_at: &'a str,
}

pub(crate) fn insert(conn: &Connection, path: &Path, r: &NewRun) -> Result<i64> {
    conn.execute(
        "INSERT INTO analysis_runs (name, kind, spec, result, released, app_version, index_snapshot, computed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            r.name,
            r.kind,
            r.spec,
            r.result,
            r.released,
            r.app_version,
            r.index_snapshot,
            r.computed_at
        ],
    )
    .at(path)?;
    Ok(conn.last_insert_rowid())
}

pub(crate) fn list(conn: &Connection, path: &Path) -> Result<Vec<SavedAnalysisRow>> {
    let mut stmt = conn
        .prepare(
            "SELECT id, name, kind, released, app_version, index_snapshot, computed_at, saved_at
             FROM analysis_runs ORDER BY id DESC",
        )
        .at(path)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(SavedAnalysisRow {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                released: r.get(3)?,
                app_version: r.get(4)?,
                index_snapshot: r.get(5)?,
                computed_at: r.get(6)?,
                saved_at: r.get(7)?,
            })
        })
        .at(path)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().at(path)
}

/// The result JSON of a saved analysis.
pub(crate) fn result_json(conn: &Connection, path: &Path, id: i64) -> Result<Option<String>> {
    conn.query_row(
        "SELECT result FROM analysis_runs WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()
    .at(path)
}

/// Deletes a saved analysis; whether it existed.
pub(crate) fn delete(conn: &Connection, path: &Path, id: i64) -> Result<bool> {
    Ok(conn
        .execute("DELETE FROM analysis_runs WHERE id = ?1", [id])
        .at(path)?
        > 0)
}
