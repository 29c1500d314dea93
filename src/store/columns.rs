//! Reads the index, linked EHR values, report findings and series features
//! into plain columns for the in-memory cohort engine (`colengine`), in one
//! read transaction so that the snapshot is consistent. Also owns the
//! engine's word matcher: an in-memory FTS5 table over the distinct texts,
//! so that a word criterion matches exactly what the SQL path's
//! `text_terms` matches (same SQLite, same tokenizer).

use super::{Ctx, Result};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// The code of a missing (NULL) value in a dictionary-encoded column.
pub const NONE: u32 = u32::MAX;

/// Dictionary-encoded strings: each distinct value stored once, rows hold
/// its code, so a criterion on text is evaluated once per distinct value.
#[derive(Debug, Default, Clone)]
pub struct Dict {
    pub values: Vec<String>,
    index: HashMap<String, u32>,
}

impl Dict {
    /// The code of `v` (added if new); [`NONE`] for NULL.
    pub fn code(&mut self, v: Option<&str>) -> u32 {
        let Some(v) = v else { return NONE };
        if let Some(&c) = self.index.get(v) {
            return c;
        }
        let c = self.values.len() as u32;
        self.values.push(v.to_string());
        self.index.insert(v.to_string(), c);
        c
    }

    /// The code of `v` if present.
    pub fn get(&self, v: &str) -> Option<u32> {
        self.index.get(v).copied()
    }

    /// Drops the lookup table once nothing more is added (saves memory).
    pub fn freeze(&mut self) {
        self.index = HashMap::new();
    }
}

/// Series attributes matched by value lists, in this order.
pub const SERIES_ATTRS: usize = 6;

/// One linked EHR value and the studies it links to (all studies of the
/// patients it names, or the studies with its accession number; the
/// issuer rule applied).
#[derive(Debug, Clone)]
pub struct EhrRow {
    pub text: Option<String>,
    pub num: Option<f64>,
    pub studies: Vec<u32>,
}

/// The whole snapshot. Rows of each level are numbered densely (patients
/// in row-id order); `*_study`, `*_series`, `study_patient` are parent links.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub patient_sex: Vec<u32>,
    pub sex: Dict,
    pub study_patient: Vec<u32>,
    /// Study date codes into `dates` (compared as text, as SQL does).
    pub study_date: Vec<u32>,
    pub dates: Dict,
    /// `julianday(study_date)`, NaN when NULL (follow-up windows).
    pub study_jd: Vec<f64>,
    /// Age at study, NaN when unknown.
    pub study_age: Vec<f64>,
    pub study_accession: Vec<u32>,
    pub accessions: Dict,
    pub study_description: Vec<u32>,
    /// Study and series descriptions and protocol names.
    pub texts: Dict,
    /// Row id of each study (ties in first/last are broken by it).
    pub study_rowid: Vec<i64>,
    pub series_study: Vec<u32>,
    /// Modality, body part, institution, station, manufacturer, model.
    pub series_attr: [Vec<u32>; SERIES_ATTRS],
    pub attr_dicts: [Dict; SERIES_ATTRS],
    pub series_description: Vec<u32>,
    pub series_protocol: Vec<u32>,
    pub instance_series: Vec<u32>,
    pub instance_sop_class: Vec<u32>,
    pub sop_classes: Dict,
    /// NaN when NULL.
    pub instance_thickness_mm: Vec<f64>,
    /// Instances with a contrast agent recorded (`contrast_agent <> ''`).
    pub contrast_instances: Vec<u32>,
    /// Feature name -> (series, value) computed from the files as indexed now.
    pub features: HashMap<String, Vec<(u32, f64)>>,
    /// Finding name -> accession codes whose report mentions it positively.
    pub findings_positive: HashMap<String, Vec<u32>>,
    /// Accession codes that have a report.
    pub reported: Vec<u32>,
    /// (dataset, column) -> values.
    pub ehr: HashMap<(String, String), Vec<EhrRow>>,
}

fn dense(map: &HashMap<i64, u32>, id: i64) -> u32 {
    map.get(&id).copied().unwrap_or(NONE)
}

/// Loads the snapshot (one read transaction).
pub(crate) fn load(conn: &Connection, path: &Path) -> Result<Snapshot> {
    conn.execute_batch("BEGIN").at(path)?;
    let out = load_in_tx(conn, path);
    let _ = conn.execute_batch("COMMIT");
    out
}

fn load_in_tx(conn: &Connection, path: &Path) -> Result<Snapshot> {
    let mut s = Snapshot::default();
    // Patients: (PatientID, issuer) only to link EHR rows, then dropped.
    let mut patient_of: HashMap<i64, u32> = HashMap::new();
    let mut by_pid: HashMap<String, Vec<(u32, String)>> = HashMap::new();
    {
        let mut st = conn
            .prepare("SELECT id, sex, patient_id, issuer FROM patients ORDER BY id")
            .at(path)?;
        let mut rows = st.query([]).at(path)?;
        while let Some(r) = rows.next().at(path)? {
            let n = s.patient_sex.len() as u32;
            patient_of.insert(r.get(0).at(path)?, n);
            let sex: Option<String> = r.get(1).at(path)?;
            s.patient_sex.push(s.sex.code(sex.as_deref()));
            let pid: String = r.get(2).at(path)?;
            let issuer: String = r.get(3).at(path)?;
            by_pid.entry(pid).or_default().push((n, issuer));
        }
    }
    let mut study_of: HashMap<i64, u32> = HashMap::new();
    {
        let mut st = conn
            .prepare(
                "SELECT id, patient_ref, study_date, julianday(study_date), age_at_study_years,
                        accession_number, description FROM studies ORDER BY id",
            )
            .at(path)?;
        let mut rows = st.query([]).at(path)?;
        while let Some(r) = rows.next().at(path)? {
            let p = dense(&patient_of, r.get(1).at(path)?);
            if p == NONE {
                continue;
            }
            let id: i64 = r.get(0).at(path)?;
            study_of.insert(id, s.study_patient.len() as u32);
            s.study_rowid.push(id);
            s.study_patient.push(p);
            let date: Option<String> = r.get(2).at(path)?;
            s.study_date.push(s.dates.code(date.as_deref()));
            s.study_jd
                .push(r.get::<_, Option<f64>>(3).at(path)?.unwrap_or(f64::NAN));
            s.study_age
                .push(r.get::<_, Option<f64>>(4).at(path)?.unwrap_or(f64::NAN));
            let acc: Option<String> = r.get(5).at(path)?;
            s.study_accession.push(s.accessions.code(acc.as_deref()));
            let d: Option<String> = r.get(6).at(path)?;
            s.study_description.push(s.texts.code(d.as_deref()));
        }
    }
    let mut series_of: HashMap<i64, u32> = HashMap::new();
    {
        let mut st = conn
            .prepare(
                "SELECT id, study_ref, modality, body_part, institution_name, station_name,
                        manufacturer, model_name, description, protocol_name FROM series ORDER BY id",
            )
            .at(path)?;
        let mut rows = st.query([]).at(path)?;
        while let Some(r) = rows.next().at(path)? {
            let study = dense(&study_of, r.get(1).at(path)?);
            if study == NONE {
                continue;
            }
            series_of.insert(r.get(0).at(path)?, s.series_study.len() as u32);
            s.series_study.push(study);
            for k in 0..SERIES_ATTRS {
                let v: Option<String> = r.get(2 + k).at(path)?;
                let c = s.attr_dicts[k].code(v.as_deref());
                s.series_attr[k].push(c);
            }
            let d: Option<String> = r.get(8).at(path)?;
            s.series_description.push(s.texts.code(d.as_deref()));
            let p: Option<String> = r.get(9).at(path)?;
            s.series_protocol.push(s.texts.code(p.as_deref()));
        }
    }
    {
        let mut st = conn
            .prepare(
                "SELECT series_ref, sop_class_uid, slice_thickness_mm, contrast_agent <> ''
                 FROM instances ORDER BY id",
            )
            .at(path)?;
        let mut rows = st.query([]).at(path)?;
        while let Some(r) = rows.next().at(path)? {
            let series = dense(&series_of, r.get(0).at(path)?);
            if series == NONE {
                continue;
            }
            let n = s.instance_series.len() as u32;
            s.instance_series.push(series);
            let sop = r.get_ref(1).at(path)?;
            let sop = sop.as_str_or_null().ok().flatten();
            s.instance_sop_class.push(s.sop_classes.code(sop));
            s.instance_thickness_mm
                .push(r.get::<_, Option<f64>>(2).at(path)?.unwrap_or(f64::NAN));
            if r.get::<_, Option<bool>>(3).at(path)?.unwrap_or(false) {
                s.contrast_instances.push(n);
            }
        }
    }
    {
        let sql = format!(
            "SELECT s.id, sf.name, sf.value FROM series s JOIN series_features sf
               ON sf.series_uid = s.series_uid WHERE sf.source_digest = {}",
            crate::biomarker::SOURCE_DIGEST_SQL
        );
        let mut st = conn.prepare(&sql).at(path)?;
        let mut rows = st.query([]).at(path)?;
        while let Some(r) = rows.next().at(path)? {
            let series = dense(&series_of, r.get(0).at(path)?);
            if series == NONE {
                continue;
            }
            s.features
                .entry(r.get(1).at(path)?)
                .or_default()
                .push((series, r.get(2).at(path)?));
        }
    }
    {
        let mut st = conn
            .prepare(
                "SELECT DISTINCT fr.name, rf.accession FROM report_findings rf
                 JOIN finding_rules fr ON fr.id = rf.finding_ref WHERE rf.mention = 'positive'",
            )
            .at(path)?;
        let mut rows = st.query([]).at(path)?;
        while let Some(r) = rows.next().at(path)? {
            let acc: String = r.get(1).at(path)?;
            if let Some(c) = s.accessions.get(&acc) {
                s.findings_positive
                    .entry(r.get(0).at(path)?)
                    .or_default()
                    .push(c);
            }
        }
        let mut st = conn
            .prepare("SELECT DISTINCT accession FROM reports")
            .at(path)?;
        let mut rows = st.query([]).at(path)?;
        while let Some(r) = rows.next().at(path)? {
            let acc: String = r.get(0).at(path)?;
            if let Some(c) = s.accessions.get(&acc) {
                s.reported.push(c);
            }
        }
    }
    load_ehr(conn, path, &mut s, &by_pid)?;
    for d in s.attr_dicts.iter_mut() {
        d.freeze();
    }
    s.sex.freeze();
    s.sop_classes.freeze();
    s.accessions.freeze();
    s.dates.freeze();
    Ok(s)
}

/// EHR values with the studies each links to, as the SQL path links them:
/// `key = CASE key_kind WHEN 'patient_id' THEN p.patient_id ELSE
/// st.accession_number END AND (e.issuer IS NULL OR e.issuer = p.issuer)`.
fn load_ehr(
    conn: &Connection,
    path: &Path,
    s: &mut Snapshot,
    by_pid: &HashMap<String, Vec<(u32, String)>>,
) -> Result<()> {
    let any: Option<i64> = conn
        .query_row("SELECT 1 FROM ehr_values LIMIT 1", [], |r| r.get(0))
        .optional()
        .at(path)?;
    if any.is_none() {
        return Ok(());
    }
    // Studies of each patient, and of each accession number.
    let mut of_patient: Vec<Vec<u32>> = vec![Vec::new(); s.patient_sex.len()];
    for (st, &p) in s.study_patient.iter().enumerate() {
        of_patient[p as usize].push(st as u32);
    }
    let mut of_accession: HashMap<&str, Vec<u32>> = HashMap::new();
    for (st, &a) in s.study_accession.iter().enumerate() {
        if a != NONE {
            of_accession
                .entry(s.accessions.values[a as usize].as_str())
                .or_default()
                .push(st as u32);
        }
    }
    // The issuer of each patient, by dense number.
    let mut issuer_of: Vec<&str> = vec![""; s.patient_sex.len()];
    for list in by_pid.values() {
        for (p, issuer) in list {
            issuer_of[*p as usize] = issuer;
        }
    }
    let mut st = conn
        .prepare(
            "SELECT d.name, d.key_kind, e.column_name, e.key, e.issuer, e.value_text, e.value_num
             FROM ehr_values e JOIN ehr_datasets d ON d.id = e.dataset_ref",
        )
        .at(path)?;
    let mut rows = st.query([]).at(path)?;
    let mut ehr: HashMap<(String, String), Vec<EhrRow>> = HashMap::new();
    while let Some(r) = rows.next().at(path)? {
        let dataset: String = r.get(0).at(path)?;
        let kind: String = r.get(1).at(path)?;
        let column: String = r.get(2).at(path)?;
        let key: String = r.get(3).at(path)?;
        let issuer: Option<String> = r.get(4).at(path)?;
        let issuer_ok = |p: u32| issuer.as_deref().is_none_or(|i| i == issuer_of[p as usize]);
        let mut studies = Vec::new();
        if kind == "patient_id" {
            for (p, _) in by_pid.get(&key).into_iter().flatten() {
                if issuer_ok(*p) {
                    studies.extend_from_slice(&of_patient[*p as usize]);
                }
            }
        } else {
            for &stdy in of_accession.get(key.as_str()).into_iter().flatten() {
                if issuer_ok(s.study_patient[stdy as usize]) {
                    studies.push(stdy);
                }
            }
        }
        if studies.is_empty() {
            continue;
        }
        ehr.entry((dataset, column)).or_default().push(EhrRow {
            text: r.get(5).at(path)?,
            num: r.get(6).at(path)?,
            studies,
        });
    }
    s.ehr = ehr;
    Ok(())
}

/// Word queries over the distinct texts, answered by an in-memory FTS5
/// table built like `text_terms` (migration 7): the same tokenizer, so the
/// same texts match as on the SQL path.
pub struct TextMatcher {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for TextMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TextMatcher")
    }
}

impl TextMatcher {
    /// Indexes `texts` (rowid = position + 1).
    pub(crate) fn new(texts: &[String], path: &Path) -> Result<TextMatcher> {
        let conn = Connection::open_in_memory().at(path)?;
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
             BEGIN;",
        )
        .at(path)?;
        {
            let mut ins = conn
                .prepare("INSERT INTO t(rowid, text) VALUES (?1, ?2)")
                .at(path)?;
            for (i, t) in texts.iter().enumerate() {
                ins.execute(rusqlite::params![i as i64 + 1, t]).at(path)?;
            }
        }
        conn.execute_batch("COMMIT").at(path)?;
        Ok(TextMatcher {
            conn: Mutex::new(conn),
        })
    }

    /// Positions of the texts that match an FTS5 query.
    pub fn matching(&self, query: &str) -> std::result::Result<Vec<u32>, String> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| "matcher poisoned".to_string())?;
        let mut st = conn
            .prepare_cached("SELECT rowid FROM t WHERE t MATCH ?1")
            .map_err(|e| e.to_string())?;
        let rows = st
            .query_map([query], |r| r.get::<_, i64>(0))
            .map_err(|e| e.to_string())?;
        rows.map(|r| r.map(|id| (id - 1) as u32).map_err(|e| e.to_string()))
            .collect()
    }
}
