//! Aggregation for the analyses: GROUP BY in SQLite over the studies of
//! the index or of compiled cohorts; no instance is loaded into memory.

use super::{Ctx, Result};
use crate::analysis::{Stratum, TimeUnit, Unit};
use crate::cohort::CompiledCohort;
use crate::model::CohortUnit;
use crate::stats::AgeBand;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use std::path::Path;

/// The studies an analysis runs over: every indexed study, or a cohort's.
pub(crate) enum StudySet<'a> {
    Index,
    Cohort(&'a CompiledCohort),
}

impl StudySet<'_> {
    /// SQL selecting `id, patient_ref` of the studies, its parameters
    /// numbered from `offset + 1`, and (for a series cohort) SQL selecting
    /// the ids of its series.
    fn sql(&self, offset: usize) -> (String, Vec<Value>, Option<String>) {
        match self {
            StudySet::Index => (
                "SELECT id, patient_ref FROM studies".into(),
                Vec::new(),
                None,
            ),
            StudySet::Cohort(c) => {
                let params: Vec<Value> = super::cohorts::bound(c).collect();
                match (&c.content_studies_sql, c.unit) {
                    (Some(content), _) => (renumber(content, offset), params, None),
                    (None, _) => {
                        let entries = renumber(&c.entries_sql, offset);
                        debug_assert_eq!(c.unit, CohortUnit::Series);
                        (
                            format!(
                                "SELECT DISTINCT study_ref AS id, patient_ref FROM ({entries})"
                            ),
                            params,
                            Some(format!("SELECT id FROM ({entries})")),
                        )
                    }
                }
            }
        }
    }
}

/// Shifts the numbered parameters (`?N`) of SQL by `offset`, outside
/// quoted literals, so two compiled cohorts can share one statement.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                match digits.parse::<usize>() {
                    Ok(n) => out.push_str(&format!("?{}", n + offset)),
                    Err(_) => out.push('?'),
                }
            }
            None => out.push(c),
        }
    }
    out
}

/// The period of a study (its date is `YYYY-MM-DD`); unknown dates are NULL.
fn period_expr(t: TimeUnit) -> &'static str {
    match t {
        TimeUnit::Year => "substr(st.study_date, 1, 4)",
        TimeUnit::Quarter => {
            "substr(st.study_date, 1, 4) || '-Q' || ((CAST(substr(st.study_date, 6, 2) AS INTEGER) + 2) / 3)"
        }
        TimeUnit::Month => "substr(st.study_date, 1, 7)",
    }
}

/// A stratum's SQL over `st` (the study), `p` (its patient) and, for
/// series attributes, `s` when `series_joined`, else the study's first
/// series (so each study is in exactly one stratum).
fn stratum_expr(s: &Stratum, bands: &[AgeBand], series_joined: bool) -> String {
    let series = |column: &str| {
        if series_joined {
            format!("s.{column}")
        } else {
            format!("(SELECT s1.{column} FROM series s1 WHERE s1.study_ref = st.id AND s1.{column} IS NOT NULL ORDER BY s1.series_number, s1.id LIMIT 1)")
        }
    };
    let expr = match s {
        Stratum::Modality | Stratum::BodyPart | Stratum::Site | Stratum::Manufacturer => {
            series(series_column(s))
        }
        Stratum::Sex => "p.sex".to_string(),
        Stratum::Year => "substr(st.study_date, 1, 4)".to_string(),
        Stratum::AgeGroup => age_case(bands),
        Stratum::Ehr { dataset, column } => format!(
            "(SELECT e.value_text FROM ehr_values e JOIN ehr_datasets d ON d.id = e.dataset_ref
              WHERE d.name = {} AND e.column_name = {}
                AND e.key = CASE d.key_kind WHEN 'patient_id' THEN p.patient_id ELSE st.accession_number END
                AND (e.issuer IS NULL OR e.issuer = p.issuer)
              ORDER BY e.rowid LIMIT 1)",
            literal(dataset),
            literal(column)
        ),
        Stratum::Feature { name, cuts } => feature_case(name, cuts),
    };
    format!("coalesce(NULLIF(trim({expr}), ''), 'unknown')")
}

/// A SQL string literal (quotes doubled: SQLite has no other escape).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `CASE` of a feature's bands over the highest value among the study's
/// series (cuts are numbers from the spec, printed as SQL reals).
fn feature_case(name: &str, cuts: &[f64]) -> String {
    let value = format!(
        "(SELECT max(f.value) FROM series_features f JOIN series s1 ON s1.series_uid = f.series_uid
          WHERE s1.study_ref = st.id AND f.name = {})",
        literal(name)
    );
    let labels = Stratum::feature_bands(cuts);
    let mut sql = format!("CASE WHEN {value} IS NULL THEN NULL");
    for (cut, label) in cuts.iter().zip(&labels) {
        sql.push_str(&format!(" WHEN {value} < {cut:?} THEN {}", literal(label)));
    }
    match labels.last() {
        Some(last) => sql.push_str(&format!(" ELSE {} END", literal(last))),
        None => sql.push_str(" ELSE 'all' END"),
    }
    sql
}

/// `CASE` of the age bands over the age at the study (bands are numbers
/// the spec holds, never user text).
fn age_case(bands: &[AgeBand]) -> String {
    let mut sql = String::from("CASE");
    for b in bands {
        match b.hi {
            Some(hi) => sql.push_str(&format!(
                " WHEN st.age_at_study_years BETWEEN {} AND {hi} THEN '{b}'",
                b.lo
            )),
            None => sql.push_str(&format!(
                " WHEN st.age_at_study_years >= {} THEN '{b}'",
                b.lo
            )),
        }
    }
    sql.push_str(" END");
    sql
}

fn is_series_stratum(s: &Stratum) -> bool {
    matches!(
        s,
        Stratum::Modality | Stratum::BodyPart | Stratum::Site | Stratum::Manufacturer
    )
}

/// Counts per (period, split label). With a split on a series attribute,
/// a study counts once in each stratum it has series in (a PET/CT study
/// is a CT study and a PT study).
pub(crate) fn trend_counts(
    conn: &Connection,
    path: &Path,
    set: &StudySet,
    unit: Unit,
    time: TimeUnit,
    split: Option<&Stratum>,
    bands: &[AgeBand],
) -> Result<Vec<(String, String, u64)>> {
    let (studies, params, series_only) = set.sql(0);
    let series_split = split.filter(|s| is_series_stratum(s));
    // Series are joined one row per series when series are counted, else
    // one row per (study, value) of the split, so a plain COUNT counts
    // studies.
    let (join, label) = match (unit, series_split) {
        (Unit::Series, _) => (
            "JOIN series s ON s.study_ref = st.id".to_string(),
            split.map(|s| stratum_expr(s, bands, true)),
        ),
        (_, Some(s)) => {
            let column = series_column(s);
            let restrict = series_only
                .as_ref()
                .map(|ids| format!(" WHERE id IN ({ids})"))
                .unwrap_or_default();
            (
                format!("JOIN (SELECT DISTINCT study_ref, {column} FROM series{restrict}) s ON s.study_ref = st.id"),
                Some(stratum_expr(s, bands, true)),
            )
        }
        (_, None) => (String::new(), split.map(|s| stratum_expr(s, bands, false))),
    };
    let label = label.unwrap_or_else(|| "'all'".to_string());
    let counted = match unit {
        Unit::Patients => "COUNT(DISTINCT st.patient_ref)",
        Unit::Studies | Unit::Series => "COUNT(*)",
    };
    let mut filter = String::new();
    if !matches!(set, StudySet::Index) {
        filter.push_str(" AND st.id IN (SELECT id FROM m)");
    }
    if let (Unit::Series, Some(ids)) = (unit, &series_only) {
        filter.push_str(&format!(" AND s.id IN ({ids})"));
    }
    let sql = format!(
        "WITH m AS MATERIALIZED ({studies})
         SELECT {period} AS period, {label} AS label, {counted}
         FROM studies st JOIN patients p ON p.id = st.patient_ref
         {join}
         WHERE st.study_date IS NOT NULL{filter}
         GROUP BY 1, 2 ORDER BY 1, 2",
        period = period_expr(time),
    );
    let mut stmt = conn.prepare(&sql).at(path)?;
    let rows = stmt
        .query_map(params_from_iter(params), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as u64,
            ))
        })
        .at(path)?;
    rows.map(|r| r.at(path)).collect()
}

/// The series column a series stratum reads.
fn series_column(s: &Stratum) -> &'static str {
    match s {
        Stratum::Modality => "modality",
        Stratum::BodyPart => "body_part",
        Stratum::Site => "institution_name",
        _ => "manufacturer",
    }
}

/// Identifies the state of the index without counting it: the last index
/// run (id, end) and the highest row id of each level. Any index run,
/// removal or addition changes it.
pub(crate) fn snapshot(conn: &Connection, path: &Path) -> Result<String> {
    conn.query_row(
        "SELECT (SELECT max(id) FROM index_runs),
                (SELECT finished_at FROM index_runs ORDER BY id DESC LIMIT 1),
                (SELECT max(id) FROM patients), (SELECT max(id) FROM studies),
                (SELECT max(id) FROM series), (SELECT max(id) FROM instances),
                (SELECT count(*) FROM roots)",
        [],
        |r| {
            Ok(format!(
                "run {} finished {} · max ids patient {} study {} series {} instance {} · {} roots",
                r.get::<_, Option<i64>>(0)?.unwrap_or(0),
                r.get::<_, Option<String>>(1)?.unwrap_or_else(|| "-".into()),
                r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                r.get::<_, Option<i64>>(3)?.unwrap_or(0),
                r.get::<_, Option<i64>>(4)?.unwrap_or(0),
                r.get::<_, Option<i64>>(5)?.unwrap_or(0),
                r.get::<_, i64>(6)?,
            ))
        },
    )
    .at(path)
}

/// Studies without a usable date (left out of trends; reported).
pub(crate) fn undated(conn: &Connection, path: &Path, set: &StudySet) -> Result<u64> {
    let (studies, params, _) = set.sql(0);
    let filter = match set {
        StudySet::Index => String::new(),
        StudySet::Cohort(_) => format!(" AND st.id IN (SELECT id FROM ({studies}))"),
    };
    let sql = format!("SELECT count(*) FROM studies st WHERE st.study_date IS NULL{filter}");
    let params: Vec<Value> = if matches!(set, StudySet::Index) {
        Vec::new()
    } else {
        params
    };
    conn.query_row(&sql, params_from_iter(params), |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .at(path)
}

/// The first study (by date, then id) of each patient in `d`, as `id`:
/// one window pass, not a lookup per patient.
const FIRST_STUDY_PER_PATIENT: &str = "(SELECT id FROM (SELECT st0.id, row_number() OVER (
        PARTITION BY st0.patient_ref ORDER BY st0.study_date IS NULL, st0.study_date, st0.id) AS rn
      FROM studies st0 WHERE st0.id IN (SELECT id FROM d)) WHERE rn = 1)";

/// Per stratum (crossed): the denominator and how many of it are in the
/// outcome. Patients are placed in strata by their first study of the
/// denominator (by date, then id); studies by their own attributes, with
/// series attributes from their first series, so strata partition the
/// denominator.
pub(crate) fn prevalence_counts(
    conn: &Connection,
    path: &Path,
    denominator: &StudySet,
    outcome: &StudySet,
    unit: Unit,
    strata: &[Stratum],
    bands: &[AgeBand],
) -> Result<Vec<(Vec<String>, u64, u64)>> {
    let (den, mut params, _) = denominator.sql(0);
    let (out, out_params, _) = outcome.sql(params.len());
    params.extend(out_params);
    let labels: Vec<String> = strata
        .iter()
        .map(|s| stratum_expr(s, bands, false))
        .collect();
    let select_labels = if labels.is_empty() {
        "'all'".to_string()
    } else {
        labels.join(", ")
    };
    let group = (1..=labels.len().max(1))
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let (rows_sql, event) = match unit {
        Unit::Patients => (
            FIRST_STUDY_PER_PATIENT,
            "st.patient_ref IN (SELECT patient_ref FROM o)",
        ),
        Unit::Studies | Unit::Series => ("(SELECT id FROM d)", "st.id IN (SELECT id FROM o)"),
    };
    let sql = format!(
        "WITH d AS MATERIALIZED ({den}), o AS MATERIALIZED ({out})
         SELECT {select_labels}, COUNT(*), SUM({event})
         FROM {rows_sql} f JOIN studies st ON st.id = f.id JOIN patients p ON p.id = st.patient_ref
         GROUP BY {group} ORDER BY {group}"
    );
    let mut stmt = conn.prepare(&sql).at(path)?;
    let n_labels = labels.len().max(1);
    let rows = stmt
        .query_map(params_from_iter(params), |r| {
            let mut l = Vec::with_capacity(n_labels);
            for i in 0..n_labels {
                l.push(r.get::<_, String>(i)?);
            }
            Ok((
                l,
                r.get::<_, i64>(n_labels)? as u64,
                r.get::<_, Option<i64>>(n_labels + 1)?.unwrap_or(0) as u64,
            ))
        })
        .at(path)?;
    rows.map(|r| r.at(path)).collect()
}

/// Patients of a set by the age band of their first study in it; patients
/// without a known age are counted apart (the second value).
pub(crate) fn patients_by_age_band(
    conn: &Connection,
    path: &Path,
    set: &StudySet,
    bands: &[AgeBand],
) -> Result<(Vec<u64>, u64)> {
    let (studies, params, _) = set.sql(0);
    let sql = format!(
        "WITH d AS MATERIALIZED ({studies})
         SELECT {band}, COUNT(*) FROM {FIRST_STUDY_PER_PATIENT} f
         JOIN studies st ON st.id = f.id GROUP BY 1",
        band = age_case(bands)
    );
    let mut counts = vec![0u64; bands.len()];
    let mut unknown = 0;
    let mut stmt = conn.prepare(&sql).at(path)?;
    let rows = stmt
        .query_map(params_from_iter(params), |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .at(path)?;
    for row in rows {
        let (band, n) = row.at(path)?;
        match band.and_then(|b| bands.iter().position(|x| x.to_string() == b)) {
            Some(i) => counts[i] += n,
            None => unknown += n,
        }
    }
    Ok((counts, unknown))
}

/// A read-only connection whose running statement is interrupted when the
/// job is cancelled (a watcher polls the token), so a long aggregation
/// stops at once.
pub(crate) struct Interruptible {
    conn: Connection,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

impl Interruptible {
    pub(crate) fn open(path: &Path, cancel: Option<&crate::cancel::CancelToken>) -> Result<Self> {
        let conn = super::open_ro(path)?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watcher = cancel.map(|cancel| {
            let (cancel, stop, handle) =
                (cancel.clone(), stop.clone(), conn.get_interrupt_handle());
            std::thread::spawn(move || {
                use std::sync::atomic::Ordering;
                while !stop.load(Ordering::Relaxed) {
                    if cancel.is_cancelled() {
                        handle.interrupt();
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            })
        });
        Ok(Interruptible {
            conn,
            stop,
            watcher,
        })
    }
}

impl std::ops::Deref for Interruptible {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Drop for Interruptible {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelling_interrupts_a_running_statement() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ws.db");
        drop(super::super::open_rw(&db).unwrap());
        let cancel = crate::cancel::CancelToken::new();
        let conn = Interruptible::open(&db, Some(&cancel)).unwrap();
        let c = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            c.cancel();
        });
        // Minutes of work if nothing stops it.
        let r = conn.query_row(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000000)
             SELECT count(*) FROM n",
            [],
            |r| r.get::<_, i64>(0),
        );
        assert!(r.is_err(), "the statement ran to the end");
    }

    #[test]
    fn parameters_are_renumbered_outside_literals_only() {
        assert_eq!(
            renumber("a = ?1 AND b IN (?2, ?10) AND c = '?3' AND d = \"?4\"", 5),
            "a = ?6 AND b IN (?7, ?15) AND c = '?3' AND d = \"?4\""
        );
        assert_eq!(renumber("x = ?1", 0), "x = ?1");
    }
}
