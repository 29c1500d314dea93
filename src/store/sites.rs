//! Site identity queries (DECISIONS 31): patient keys whose files disagree
//! on the patient's demographics. The writer records each file's
//! demographics (`patient_variants`); the `patient_conflicts` view says
//! which keys have two different non-empty names, sexes or birth dates.

use super::{bytes_path, Ctx, Result};
use crate::model::{DemographicsVariant, PatientConflict};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;

/// Whether the database has the site-identity schema (a read-only
/// connection to a workspace of an older build has not been migrated).
pub(crate) fn has_sites(conn: &Connection, path: &Path) -> Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'patient_variants')",
        [],
        |r| r.get(0),
    )
    .at(path)
}

/// How many patient keys have conflicting demographics.
pub(crate) fn conflict_count(conn: &Connection, path: &Path) -> Result<u64> {
    if !has_sites(conn, path)? {
        return Ok(0);
    }
    conn.query_row("SELECT count(*) FROM patient_conflicts", [], |r| {
        r.get::<_, i64>(0)
    })
    .at(path)
    .map(|n| n as u64)
}

/// Every conflicted patient key with its variants and their files, ordered
/// by issuer and patient ID; files sorted by path.
pub(crate) fn conflicts(conn: &Connection, path: &Path) -> Result<Vec<PatientConflict>> {
    if !has_sites(conn, path)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare(
            "SELECT p.id, p.issuer, p.patient_id,
                    (SELECT count(*) FROM studies WHERE patient_ref = p.id),
                    v.id, v.patient_name, v.sex, v.birth_date, r.path, f.rel_path
             FROM patient_conflicts c
             JOIN patients p ON p.id = c.patient_ref
             JOIN patient_variants v ON v.patient_ref = p.id
             JOIN instances i ON i.variant_ref = v.id
             JOIN files f ON f.id = i.file_ref
             JOIN roots r ON r.id = f.root_ref
             ORDER BY p.issuer, p.patient_id, p.id, v.patient_name, v.sex, v.birth_date, v.id",
        )
        .at(path)?;
    let mut rows = stmt.query([]).at(path)?;
    // (patient id) -> conflict; (variant id) -> index in its variants.
    let mut out: Vec<PatientConflict> = Vec::new();
    let mut last_patient = None;
    let mut last_variant = None;
    let opt = |s: String| if s.is_empty() { None } else { Some(s) };
    while let Some(r) = rows.next().at(path)? {
        let pid: i64 = r.get(0).at(path)?;
        if last_patient != Some(pid) {
            last_patient = Some(pid);
            last_variant = None;
            out.push(PatientConflict {
                issuer: r.get(1).at(path)?,
                patient_id: r.get(2).at(path)?,
                studies: r.get::<_, i64>(3).at(path)? as u64,
                ..Default::default()
            });
        }
        let Some(conflict) = out.last_mut() else {
            continue;
        };
        let vid: i64 = r.get(4).at(path)?;
        if last_variant != Some(vid) {
            last_variant = Some(vid);
            conflict.variants.push(DemographicsVariant {
                patient_name: opt(r.get(5).at(path)?),
                sex: opt(r.get(6).at(path)?),
                birth_date: opt(r.get(7).at(path)?),
                ..Default::default()
            });
        }
        let root = bytes_path(&r.get::<_, Vec<u8>>(8).at(path)?);
        let rel = bytes_path(&r.get::<_, Vec<u8>>(9).at(path)?);
        if let Some(v) = conflict.variants.last_mut() {
            v.file_count += 1;
            v.files.push(root.join(rel).display().to_string());
        }
    }
    for c in &mut out {
        for v in &mut c.variants {
            v.files.sort();
        }
        c.differs_in = differs_in(&c.variants);
    }
    Ok(out)
}

/// Which fields take two different non-empty values, compared as the
/// `patient_conflicts` view compares them (names ignoring ASCII case and
/// surrounding spaces and carets, sexes ignoring case).
fn differs_in(variants: &[DemographicsVariant]) -> Vec<String> {
    let distinct = |f: &dyn Fn(&DemographicsVariant) -> Option<String>| {
        variants
            .iter()
            .filter_map(f)
            .filter(|s| !s.is_empty())
            .map(|s| (s, ()))
            .collect::<BTreeMap<_, _>>()
            .len()
            > 1
    };
    let mut out = Vec::new();
    if distinct(&|v| {
        v.patient_name
            .as_ref()
            .map(|n| n.trim_matches([' ', '^']).to_ascii_uppercase())
    }) {
        out.push("name".to_string());
    }
    if distinct(&|v| v.sex.as_ref().map(|s| s.to_ascii_uppercase())) {
        out.push("sex".to_string());
    }
    if distinct(&|v| v.birth_date.clone()) {
        out.push("birth date".to_string());
    }
    out
}
