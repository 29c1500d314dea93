//! Read queries of the browser: studies with aggregates, series of a study.

use super::{Ctx, Result};
use crate::model::{SeriesRow, StudyQuery, StudyRow, StudySort};
use rusqlite::{Connection, ToSql};
use std::path::Path;

/// Longer filters match nothing (see `studies`).
const MAX_FILTER_BYTES: usize = 4096;

/// The SQL expression for a sort column. Fixed strings only: user input
/// never reaches this text.
fn sort_expr(s: StudySort) -> &'static str {
    match s {
        StudySort::PatientId => "p.patient_id",
        StudySort::PatientName => "p.patient_name",
        StudySort::Sex => "p.sex",
        StudySort::Age => "st.age_at_study_years",
        StudySort::StudyDate => "st.study_date",
        StudySort::Modalities => "a.modalities",
        StudySort::Description => "st.description",
        StudySort::Institution => "a.institution",
        StudySort::Series => "a.n_series",
        StudySort::Instances => "a.n_instances",
    }
}

/// Escapes LIKE wildcards so user text matches literally (with `ESCAPE '\'`).
pub(crate) fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The words of a search text: split at whitespace, each matched on its
/// own. Repeats (ignoring ASCII case, as LIKE does) are dropped.
fn search_words(text: &str) -> Vec<&str> {
    let mut words: Vec<&str> = Vec::new();
    for w in text.split_whitespace() {
        if !words.iter().any(|seen| seen.eq_ignore_ascii_case(w)) {
            words.push(w);
        }
    }
    words
}

/// `terms` joined by AND as a balanced tree: SQLite limits the depth of an
/// expression (1000), which a left-deep chain of many words would exceed.
fn all_of(mut terms: Vec<String>) -> String {
    while terms.len() > 1 {
        terms = terms
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => format!("({a} AND {b})"),
                [a] => a.clone(),
                _ => unreachable!(),
            })
            .collect();
    }
    terms.pop().unwrap_or_else(|| "1".into())
}

/// Studies matching the query, with per-study aggregates.
///
/// The search text is split into words at whitespace; a study matches when
/// every word occurs (case-insensitively for ASCII letters, in any order)
/// in its patient ID or name, accession number, description, modalities or
/// institution. Each word is its own escaped LIKE parameter, so `%` and `_`
/// match themselves (DECISIONS 17).
pub(crate) fn studies(conn: &Connection, path: &Path, q: &StudyQuery) -> Result<Vec<StudyRow>> {
    // SQLite's LIKE stops at a NUL; indexed text never contains one, so such
    // a filter matches nothing (rather than a truncated pattern).
    // Likewise no searched value (LO, SH, PN: at most a few hundred
    // characters) can contain a filter this long, and SQLite refuses LIKE
    // patterns over 50,000 bytes.
    if q.text.contains('\0') || q.text.len() > MAX_FILTER_BYTES {
        return Ok(Vec::new());
    }
    let words = search_words(&q.text);
    // ?1 is the limit; word i is ?(i + 2). Only placeholders and fixed
    // column names reach the SQL text, never user input.
    let filter = all_of(
        (0..words.len())
            .map(|i| {
                let p = i + 2;
                format!(
                    "(p.patient_id LIKE ?{p} ESCAPE '\\' OR p.patient_name LIKE ?{p} ESCAPE '\\'
                      OR st.accession_number LIKE ?{p} ESCAPE '\\' OR st.description LIKE ?{p} ESCAPE '\\'
                      OR a.modalities LIKE ?{p} ESCAPE '\\' OR a.institution LIKE ?{p} ESCAPE '\\')"
                )
            })
            .collect(),
    );
    let dir = if q.descending { "DESC" } else { "ASC" };
    // A read-only connection to an older workspace has no conflicts yet.
    let (conflict, only) = match (super::sites::has_sites(conn, path)?, q.conflicts_only) {
        (true, false) => ("p.id IN (SELECT patient_ref FROM patient_conflicts)", ""),
        (true, true) => (
            "1",
            "AND p.id IN (SELECT patient_ref FROM patient_conflicts)",
        ),
        (false, false) => ("0", ""),
        (false, true) => ("0", "AND 0"),
    };
    let sql = format!(
        "WITH a AS (
           SELECT s.study_ref, count(*) AS n_series,
                  group_concat(DISTINCT s.modality) AS modalities,
                  max(s.institution_name) AS institution,
                  sum(n_inst) AS n_instances,
                  sum(r.series_uid IS NOT NULL AND n_inst < coalesce(r.remote_instances, 1)) AS n_remote
           FROM (SELECT s.*, (SELECT count(*) FROM instances i WHERE i.series_ref = s.id) AS n_inst
                 FROM series s) s
           LEFT JOIN remote_series r ON r.series_uid = s.series_uid
           GROUP BY s.study_ref)
         SELECT st.study_uid, p.patient_id, p.patient_name, p.sex, st.age_at_study_years,
                st.study_date, st.description, st.accession_number, a.modalities, a.institution,
                a.n_series, a.n_instances, p.issuer, {conflict}, a.n_remote
         FROM studies st JOIN patients p ON p.id = st.patient_ref JOIN a ON a.study_ref = st.id
         WHERE {filter} {only}
         ORDER BY {} IS NULL, {} {dir}, st.study_uid
         LIMIT ?1",
        sort_expr(q.sort),
        sort_expr(q.sort)
    );
    let mut stmt = conn.prepare_cached(&sql).at(path)?;
    let limit = q.limit.map(|l| l as i64).unwrap_or(-1);
    let patterns: Vec<String> = words.iter().map(|w| like_pattern(w)).collect();
    let mut values: Vec<&dyn ToSql> = vec![&limit];
    values.extend(patterns.iter().map(|p| p as &dyn ToSql));
    let rows = stmt
        .query_map(values.as_slice(), |r| {
            Ok(StudyRow {
                study_uid: r.get(0)?,
                patient_id: r.get(1)?,
                patient_name: r.get(2)?,
                sex: r.get(3)?,
                age_at_study_years: r.get(4)?,
                study_date: r.get(5)?,
                description: r.get(6)?,
                accession_number: r.get(7)?,
                modalities: r.get(8)?,
                institution: r.get(9)?,
                series_count: r.get::<_, i64>(10)? as u64,
                instance_count: r.get::<_, Option<i64>>(11)?.unwrap_or(0) as u64,
                issuer: r.get(12)?,
                patient_conflict: r.get(13)?,
                remote_series: r.get::<_, Option<i64>>(14)?.unwrap_or(0) as u64,
            })
        })
        .at(path)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().at(path)
}

/// The series of one study, by series number.
pub(crate) fn series(conn: &Connection, path: &Path, study_uid: &str) -> Result<Vec<SeriesRow>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT s.series_uid, s.series_number, s.modality, s.body_part, s.description,
                    s.protocol_name, s.manufacturer, s.model_name, s.station_name, s.institution_name,
                    (SELECT count(*) FROM instances i WHERE i.series_ref = s.id),
                    (SELECT min(i.slice_thickness_mm) FROM instances i WHERE i.series_ref = s.id)
             FROM series s JOIN studies st ON st.id = s.study_ref
             WHERE st.study_uid = ?1 ORDER BY s.series_number IS NULL, s.series_number, s.series_uid",
        )
        .at(path)?;
    let rows = stmt
        .query_map([study_uid], |r| {
            Ok(SeriesRow {
                series_uid: r.get(0)?,
                series_number: r.get(1)?,
                modality: r.get(2)?,
                body_part: r.get(3)?,
                description: r.get(4)?,
                protocol_name: r.get(5)?,
                manufacturer: r.get(6)?,
                model_name: r.get(7)?,
                station_name: r.get(8)?,
                institution: r.get(9)?,
                instance_count: r.get::<_, i64>(10)? as u64,
                slice_thickness_mm: r.get(11)?,
            })
        })
        .at(path)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().at(path)
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("ab"), "%ab%");
        assert_eq!(like_pattern("50%_x\\"), "%50\\%\\_x\\\\%");
    }
}
