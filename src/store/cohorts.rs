//! Running compiled cohorts, and saved cohorts with their revisions.

use super::{Ctx, Result, StoreError};
use crate::cohort::{CompiledCohort, Param};
use crate::model::{CohortSpec, CohortUnit, LevelCounts, SavedCohort};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use std::collections::HashSet;
use std::path::Path;

pub(crate) fn bound(c: &CompiledCohort) -> impl Iterator<Item = Value> + '_ {
    c.params.iter().map(|p| match p {
        Param::Text(t) => Value::Text(t.clone()),
        Param::Num(n) => Value::Real(*n),
    })
}

/// Counts per level of the cohort's content.
pub(crate) fn levels(conn: &Connection, path: &Path, c: &CompiledCohort) -> Result<LevelCounts> {
    let sql = match (&c.content_studies_sql, c.unit) {
        (Some(content), unit) => format!(
            "WITH m AS MATERIALIZED ({content}) SELECT {}, (SELECT count(*) FROM m),
               (SELECT count(*) FROM series s WHERE s.study_ref IN (SELECT id FROM m)),
               (SELECT count(*) FROM instances i JOIN series s ON s.id = i.series_ref
                  WHERE s.study_ref IN (SELECT id FROM m))",
            // A patient cohort without an index event may hold a patient
            // none of whose studies meets every inclusion rule: count its
            // entries. Otherwise the patients are those of the content.
            if unit == CohortUnit::Patient && !c.index_event {
                format!("(SELECT count(*) FROM ({}))", c.entries_sql)
            } else {
                "(SELECT count(DISTINCT patient_ref) FROM m)".to_string()
            }
        ),
        (None, _) => format!(
            "WITH m AS MATERIALIZED ({}) SELECT count(DISTINCT patient_ref), count(DISTINCT study_ref), count(*),
               (SELECT count(*) FROM instances i WHERE i.series_ref IN (SELECT id FROM m)) FROM m",
            c.entries_sql
        ),
    };
    // The patient count above reuses the same parameters: bind them twice
    // by numbering (?N refers to the same value wherever it appears).
    conn.prepare_cached(&sql)
        .at(path)?
        .query_row(params_from_iter(bound(c)), |r| {
            Ok(LevelCounts {
                patients: r.get::<_, i64>(0)? as u64,
                studies: r.get::<_, i64>(1)? as u64,
                series: r.get::<_, i64>(2)? as u64,
                instances: r.get::<_, i64>(3)? as u64,
            })
        })
        .at(path)
}

/// Study UIDs and patient keys of the cohort's content (for comparisons).
pub(crate) fn content_keys(
    conn: &Connection,
    path: &Path,
    c: &CompiledCohort,
) -> Result<(HashSet<String>, HashSet<i64>)> {
    let inner = match &c.content_studies_sql {
        Some(content) => format!("SELECT id FROM ({content})"),
        None => format!("SELECT study_ref FROM ({})", c.entries_sql),
    };
    let sql =
        format!("SELECT st.study_uid, st.patient_ref FROM studies st WHERE st.id IN ({inner})");
    let mut stmt = conn.prepare(&sql).at(path)?;
    let rows = stmt
        .query_map(params_from_iter(bound(c)), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .at(path)?;
    let mut studies = HashSet::new();
    let mut patients = HashSet::new();
    for row in rows {
        let (uid, p) = row.at(path)?;
        studies.insert(uid);
        patients.insert(p);
    }
    Ok((studies, patients))
}

/// Saves a new revision of a cohort (creating it if new); returns the revision.
pub(crate) fn save(conn: &Connection, path: &Path, spec: &CohortSpec) -> Result<u32> {
    let json = serde_json::to_string_pretty(spec).map_err(|e| StoreError::Other {
        message: e.to_string(),
        path: path.into(),
    })?;
    conn.execute(
        "INSERT INTO cohorts(name) VALUES (?1) ON CONFLICT(name) DO NOTHING",
        [&spec.name],
    )
    .at(path)?;
    let id: i64 = conn
        .query_row(
            "SELECT id FROM cohorts WHERE name = ?1",
            [&spec.name],
            |r| r.get(0),
        )
        .at(path)?;
    let rev: i64 = conn
        .query_row(
            "SELECT coalesce(max(revision), 0) + 1 FROM cohort_revisions WHERE cohort_ref = ?1",
            [id],
            |r| r.get(0),
        )
        .at(path)?;
    conn.execute(
        "INSERT INTO cohort_revisions(cohort_ref, revision, spec_json) VALUES (?1, ?2, ?3)",
        params![id, rev, json],
    )
    .at(path)?;
    Ok(rev as u32)
}

/// The latest revision of every saved cohort, by name.
pub(crate) fn list(conn: &Connection, path: &Path) -> Result<Vec<SavedCohort>> {
    let mut stmt = conn
        .prepare(
            "SELECT c.name, r.revision, r.saved_at, r.spec_json FROM cohorts c
             JOIN cohort_revisions r ON r.cohort_ref = c.id
             WHERE r.revision = (SELECT max(revision) FROM cohort_revisions WHERE cohort_ref = c.id)
             ORDER BY c.name",
        )
        .at(path)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .at(path)?;
    let mut out = Vec::new();
    for row in rows {
        let (name, revision, saved_at, json) = row.at(path)?;
        let spec: CohortSpec = serde_json::from_str(&json).map_err(|e| StoreError::Other {
            message: format!("saved cohort '{name}' is unreadable: {e}"),
            path: path.into(),
        })?;
        out.push(SavedCohort {
            name,
            revision: revision as u32,
            saved_at,
            spec,
        });
    }
    Ok(out)
}

/// One saved cohort (latest revision, or the given one).
pub(crate) fn get(
    conn: &Connection,
    path: &Path,
    name: &str,
    revision: Option<u32>,
) -> Result<Option<SavedCohort>> {
    let row: Option<(i64, String, String)> = conn
        .query_row(
            "SELECT r.revision, r.saved_at, r.spec_json FROM cohorts c JOIN cohort_revisions r ON r.cohort_ref = c.id
             WHERE c.name = ?1 AND (?2 IS NULL AND r.revision = (SELECT max(revision) FROM cohort_revisions WHERE cohort_ref = c.id)
                                    OR r.revision = ?2)",
            params![name, revision.map(|r| r as i64)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .at(path)?;
    let Some((rev, saved_at, json)) = row else {
        return Ok(None);
    };
    let spec: CohortSpec = serde_json::from_str(&json).map_err(|e| StoreError::Other {
        message: format!("saved cohort '{name}' is unreadable: {e}"),
        path: path.into(),
    })?;
    Ok(Some(SavedCohort {
        name: name.to_string(),
        revision: rev as u32,
        saved_at,
        spec,
    }))
}

/// Runs `f` in an immediate transaction: committed if it succeeds, rolled
/// back if it fails.
fn in_transaction(
    conn: &Connection,
    path: &Path,
    f: impl FnOnce() -> rusqlite::Result<()>,
) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE").at(path)?;
    match f() {
        Ok(()) => conn.execute_batch("COMMIT").at(path),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(StoreError::from_sqlite(e, path))
        }
    }
}

/// Deletes a cohort and its revisions; false when it did not exist.
pub(crate) fn delete(conn: &Connection, path: &Path, name: &str) -> Result<bool> {
    let id: Option<i64> = conn
        .query_row("SELECT id FROM cohorts WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
        .at(path)?;
    let Some(id) = id else { return Ok(false) };
    in_transaction(conn, path, || {
        conn.execute("DELETE FROM cohort_revisions WHERE cohort_ref = ?1", [id])?;
        conn.execute("DELETE FROM cohorts WHERE id = ?1", [id])?;
        Ok(())
    })?;
    Ok(true)
}

/// Column names of the manifest, in order.
pub(crate) const MANIFEST_COLUMNS: &[&str] = &[
    "patient_id",
    "patient_name",
    "sex",
    "birth_date",
    "study_uid",
    "accession_number",
    "study_date",
    "age_at_study_years",
    "study_description",
    "series_uid",
    "series_number",
    "modality",
    "body_part",
    "series_description",
    "institution",
    "station",
    "manufacturer",
    "model",
    "instances",
];

/// One row per series of the cohort's content, with the indexed attributes
/// (identifiers included: the caller labels the output as PHI).
pub(crate) fn manifest(
    conn: &Connection,
    path: &Path,
    c: &CompiledCohort,
) -> Result<Vec<Vec<String>>> {
    let filter = match &c.content_studies_sql {
        Some(content) => format!("s.study_ref IN (SELECT id FROM ({content}))"),
        None => format!("s.id IN (SELECT id FROM ({}))", c.entries_sql),
    };
    let sql = format!(
        "SELECT p.patient_id, p.patient_name, p.sex, p.birth_date, st.study_uid, st.accession_number,
                st.study_date, st.age_at_study_years, st.description, s.series_uid, s.series_number,
                s.modality, s.body_part, s.description, s.institution_name, s.station_name,
                s.manufacturer, s.model_name,
                (SELECT count(*) FROM instances i WHERE i.series_ref = s.id)
         FROM series s JOIN studies st ON st.id = s.study_ref JOIN patients p ON p.id = st.patient_ref
         WHERE {filter} ORDER BY p.patient_id, st.study_date, st.study_uid, s.series_number, s.series_uid"
    );
    let mut stmt = conn.prepare(&sql).at(path)?;
    let n = MANIFEST_COLUMNS.len();
    let rows = stmt
        .query_map(params_from_iter(bound(c)), |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => String::new(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                        rusqlite::types::ValueRef::Real(v) => v.to_string(),
                        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                    })
                })
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .at(path)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().at(path)
}

/// Runs a rule-flags statement (`cohort::compile_rule_flags`: rows of
/// `key, candidate, hits...`, the rows of one entry adjacent). An entry
/// passes a set of rules when one of its candidate rows passes them all.
/// Returns (population, per rule: entries left after it and all before it,
/// per rule: entries it passes alone).
pub(crate) fn funnel(
    conn: &Connection,
    path: &Path,
    sql: &str,
    params: &[Param],
    exclude: &[bool],
) -> Result<(u64, Vec<u64>, Vec<u64>)> {
    let values = params.iter().map(|p| match p {
        Param::Text(t) => Value::Text(t.clone()),
        Param::Num(n) => Value::Real(*n),
    });
    let mut stmt = conn.prepare(sql).at(path)?;
    let mut rows = stmt.query(params_from_iter(values)).at(path)?;
    let n = exclude.len();
    let mut population = 0u64;
    let mut remaining = vec![0u64; n];
    let mut alone = vec![0u64; n];
    // What the current entry passes so far, over its rows.
    let mut entry: Option<i64> = None;
    let mut entry_remaining = vec![false; n];
    let mut entry_alone = vec![false; n];
    let mut close = |entry_remaining: &mut [bool], entry_alone: &mut [bool]| {
        for i in 0..n {
            remaining[i] += u64::from(std::mem::take(&mut entry_remaining[i]));
            alone[i] += u64::from(std::mem::take(&mut entry_alone[i]));
        }
    };
    while let Some(row) = rows.next().at(path)? {
        let key: i64 = row.get(0).at(path)?;
        if entry != Some(key) {
            if entry.is_some() {
                close(&mut entry_remaining, &mut entry_alone);
            }
            entry = Some(key);
            population += 1;
        }
        if !row.get::<_, Option<bool>>(1).at(path)?.unwrap_or(false) {
            continue;
        }
        let mut all = true;
        for i in 0..n {
            let hit: bool = row.get::<_, Option<bool>>(i + 2).at(path)?.unwrap_or(false);
            let pass = hit != exclude[i];
            entry_alone[i] |= pass;
            all &= pass;
            entry_remaining[i] |= all;
        }
    }
    if entry.is_some() {
        close(&mut entry_remaining, &mut entry_alone);
    }
    Ok((population, remaining, alone))
}

/// Renames a saved cohort (its revisions follow). False when `from` does not exist.
pub(crate) fn rename(conn: &Connection, path: &Path, from: &str, to: &str) -> Result<bool> {
    let taken: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM cohorts WHERE name = ?1)",
            [to],
            |r| r.get(0),
        )
        .at(path)?;
    if taken {
        return Err(StoreError::Other {
            message: format!("a cohort named '{to}' already exists; choose another name"),
            path: path.into(),
        });
    }
    // The name inside each revision's JSON follows too.
    let id: Option<i64> = conn
        .query_row("SELECT id FROM cohorts WHERE name = ?1", [from], |r| {
            r.get(0)
        })
        .optional()
        .at(path)?;
    let Some(id) = id else { return Ok(false) };
    in_transaction(conn, path, || {
        conn.execute(
            "UPDATE cohorts SET name = ?1 WHERE id = ?2",
            params![to, id],
        )?;
        conn.execute(
            "UPDATE cohort_revisions SET spec_json = json_set(spec_json, '$.name', ?1) WHERE cohort_ref = ?2",
            params![to, id],
        )?;
        Ok(())
    })?;
    Ok(true)
}

/// The canonical files of every instance of the cohort's content, with the
/// patient identity (issuer, PatientID).
pub(crate) fn content_files(
    conn: &Connection,
    path: &Path,
    c: &CompiledCohort,
) -> Result<Vec<(std::path::PathBuf, String, String)>> {
    let filter = match &c.content_studies_sql {
        Some(content) => format!("s.study_ref IN (SELECT id FROM ({content}))"),
        None => format!("s.id IN (SELECT id FROM ({}))", c.entries_sql),
    };
    let sql = format!(
        "SELECT r.path, f.rel_path, p.issuer, p.patient_id FROM instances i
         JOIN files f ON f.id = i.file_ref JOIN roots r ON r.id = f.root_ref
         JOIN series s ON s.id = i.series_ref JOIN studies st ON st.id = s.study_ref
         JOIN patients p ON p.id = st.patient_ref
         WHERE {filter} ORDER BY r.path, f.rel_path"
    );
    let mut stmt = conn.prepare(&sql).at(path)?;
    let rows = stmt
        .query_map(params_from_iter(bound(c)), |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .at(path)?;
    let mut out = Vec::new();
    for row in rows {
        let (root, rel, issuer, pid) = row.at(path)?;
        out.push((
            super::bytes_path(&root).join(super::bytes_path(&rel)),
            issuer,
            pid,
        ));
    }
    Ok(out)
}
