//! Per-series features computed from pixels (migration 13): which chest CT
//! series a cohort holds, what was stored for a series, recording results
//! and failures, listing them with whether they still hold.

use super::{Ctx, Result};
use crate::biomarker::{FeatureRecord, CHEST_CT_SQL, SOURCE_DIGEST_SQL};
use crate::cohort::CompiledCohort;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use std::path::Path;

/// The Series Instance UIDs of the chest CT series in a cohort's content,
/// in series order.
pub(crate) fn chest_ct_series(
    conn: &Connection,
    path: &Path,
    c: &CompiledCohort,
) -> Result<Vec<String>> {
    let filter = match &c.content_studies_sql {
        Some(content) => format!("s.study_ref IN (SELECT id FROM ({content}))"),
        None => format!("s.id IN (SELECT id FROM ({}))", c.entries_sql),
    };
    let sql = format!(
        "SELECT s.series_uid FROM series s JOIN studies st ON st.id = s.study_ref
         WHERE {filter} AND {CHEST_CT_SQL} ORDER BY s.id"
    );
    let mut stmt = conn.prepare(&sql).at(path)?;
    let rows = stmt
        .query_map(params_from_iter(super::cohorts::bound(c)), |r| r.get(0))
        .at(path)?;
    rows.collect::<rusqlite::Result<Vec<String>>>().at(path)
}

/// The stored outcome of `method` for a series: (method version, source
/// digest), if any.
pub(crate) fn run_of(
    conn: &Connection,
    path: &Path,
    series_uid: &str,
    method: &str,
) -> Result<Option<(String, String)>> {
    conn.query_row(
        "SELECT method_version, source_digest FROM feature_runs WHERE series_uid = ?1 AND method = ?2",
        params![series_uid, method],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .at(path)
}

/// Ok(features and details JSON) or Err((failure kind, reason)).
pub(crate) type FeatureResult<'a> =
    std::result::Result<(Vec<(&'a str, f64)>, String), (&'a str, String)>;

/// What a computation produced for one series.
pub(crate) struct Outcome<'a> {
    pub series_uid: &'a str,
    pub method: &'a str,
    pub method_version: &'a str,
    pub source_digest: &'a str,
    /// Ok(features and details JSON) or Err((kind, reason)).
    pub result: FeatureResult<'a>,
}

/// Replaces the series' features and outcome of the method (one
/// transaction: a reader sees the old or the new, never a mix).
pub(crate) fn record(conn: &mut Connection, path: &Path, o: &Outcome) -> Result<()> {
    let tx = conn.transaction().at(path)?;
    tx.execute(
        "DELETE FROM series_features WHERE series_uid = ?1 AND method = ?2",
        params![o.series_uid, o.method],
    )
    .at(path)?;
    let (status, kind, reason, details) = match &o.result {
        Ok((features, details)) => {
            let mut ins = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO series_features (series_uid, method, name, value, method_version, source_digest)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .at(path)?;
            for (name, value) in features {
                if value.is_finite() {
                    ins.execute(params![
                        o.series_uid,
                        o.method,
                        name,
                        value,
                        o.method_version,
                        o.source_digest
                    ])
                    .at(path)?;
                }
            }
            ("ok", None, None, Some(details.clone()))
        }
        Err((kind, reason)) => ("failed", Some(*kind), Some(reason.clone()), None),
    };
    tx.execute(
        "INSERT OR REPLACE INTO feature_runs (series_uid, method, method_version, source_digest, status, failure_kind, reason, details, computed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
        params![
            o.series_uid,
            o.method,
            o.method_version,
            o.source_digest,
            status,
            kind,
            reason,
            details
        ],
    )
    .at(path)?;
    tx.commit().at(path)
}

/// Every stored outcome with its features, oldest series first; stale when
/// the series' files as indexed now differ from those it was computed on
/// (or the series is no longer indexed).
pub(crate) fn list(conn: &Connection, path: &Path) -> Result<Vec<FeatureRecord>> {
    let sql = format!(
        "SELECT fr.series_uid, fr.method, fr.method_version, fr.status, fr.failure_kind, fr.reason, fr.computed_at,
                coalesce((SELECT {SOURCE_DIGEST_SQL} FROM series s WHERE s.series_uid = fr.series_uid), '') <> fr.source_digest
         FROM feature_runs fr ORDER BY fr.computed_at, fr.series_uid, fr.method"
    );
    let mut stmt = conn.prepare(&sql).at(path)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(FeatureRecord {
                series_uid: r.get(0)?,
                method: r.get(1)?,
                method_version: r.get(2)?,
                status: r.get(3)?,
                failure_kind: r.get(4)?,
                reason: r.get(5)?,
                computed_at: r.get(6)?,
                stale: r.get(7)?,
                features: Vec::new(),
            })
        })
        .at(path)?;
    let mut out = rows
        .collect::<rusqlite::Result<Vec<FeatureRecord>>>()
        .at(path)?;
    let mut values = conn
        .prepare_cached(
            "SELECT name, value FROM series_features WHERE series_uid = ?1 AND method = ?2 ORDER BY name",
        )
        .at(path)?;
    for rec in &mut out {
        rec.features = values
            .query_map(params![rec.series_uid, rec.method], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .at(path)?
            .collect::<rusqlite::Result<Vec<(String, f64)>>>()
            .at(path)?;
    }
    Ok(out)
}
