//! Linked EHR datasets: one transaction per import, replacing a dataset of
//! the same name.

use super::{Ctx, Result, StoreError};
use crate::model::{EhrColumn, EhrKey, EhrKind};
use rusqlite::{params, Connection};
use std::path::Path;

/// A dataset ready to be written.
pub(crate) struct EhrTable<'a> {
    pub name: &'a str,
    pub key: EhrKey,
    pub key_index: usize,
    /// The column holding the issuer of the patient ID, if any.
    pub issuer_index: Option<usize>,
    pub columns: &'a [EhrColumn],
    pub rows: &'a [Vec<String>],
    pub source: &'a str,
}

/// Writes a dataset; returns (keys linked to the index, values not parsed).
pub(crate) fn import(conn: &mut Connection, path: &Path, t: &EhrTable) -> Result<(u64, u64)> {
    let EhrTable {
        name,
        key,
        key_index,
        issuer_index,
        columns,
        rows,
        source,
    } = *t;
    let tx = conn.transaction().at(path)?;
    let old: Option<i64> = tx
        .query_row("SELECT id FROM ehr_datasets WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .ok();
    if let Some(id) = old {
        tx.execute("DELETE FROM ehr_values WHERE dataset_ref = ?1", [id])
            .at(path)?;
        tx.execute("DELETE FROM ehr_columns WHERE dataset_ref = ?1", [id])
            .at(path)?;
        tx.execute("DELETE FROM ehr_datasets WHERE id = ?1", [id])
            .at(path)?;
    }
    tx.execute(
        "INSERT INTO ehr_datasets(name, key_kind, source) VALUES (?1, ?2, ?3)",
        params![name, key.as_str(), source],
    )
    .at(path)?;
    let id = tx.last_insert_rowid();
    let mut not_parsed = 0u64;
    {
        let mut col = tx
            .prepare("INSERT INTO ehr_columns(dataset_ref, name, kind) VALUES (?1, ?2, ?3)")
            .at(path)?;
        for c in columns {
            col.execute(params![id, c.name, c.kind.as_str()]).at(path)?;
        }
        let mut val = tx
            .prepare("INSERT INTO ehr_values(dataset_ref, column_name, key, value_text, value_num, issuer) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .at(path)?;
        for row in rows {
            let k = row[key_index].trim();
            if k.is_empty() {
                continue;
            }
            let issuer = issuer_index
                .map(|i| row[i].trim())
                .filter(|i| !i.is_empty());
            for (i, c) in columns.iter().enumerate() {
                let v = row[i].trim();
                if i == key_index || Some(i) == issuer_index || v.is_empty() {
                    continue;
                }
                let (text, num) = match c.kind {
                    EhrKind::Number => match v.parse::<f64>() {
                        Ok(n) if n.is_finite() => (v.to_string(), Some(n)),
                        _ => {
                            not_parsed += 1;
                            (v.to_string(), None)
                        }
                    },
                    EhrKind::Date => match crate::link::as_date(v) {
                        Some(d) => (d, None),
                        None => {
                            not_parsed += 1;
                            (v.to_string(), None)
                        }
                    },
                    EhrKind::Text => (v.to_string(), None),
                };
                val.execute(params![id, c.name, k, text, num, issuer])
                    .at(path)?;
            }
        }
    }
    // Distinct (issuer, key) pairs that match the index; an empty issuer
    // matches any.
    let linked_sql = match key {
        EhrKey::PatientId => "SELECT count(*) FROM (SELECT DISTINCT key, issuer FROM ehr_values v WHERE dataset_ref = ?1
             AND EXISTS (SELECT 1 FROM patients p WHERE p.patient_id = v.key AND (v.issuer IS NULL OR p.issuer = v.issuer)))",
        EhrKey::Accession => "SELECT count(*) FROM (SELECT DISTINCT key, issuer FROM ehr_values v WHERE dataset_ref = ?1
             AND EXISTS (SELECT 1 FROM studies s JOIN patients p ON p.id = s.patient_ref
                         WHERE s.accession_number = v.key AND (v.issuer IS NULL OR p.issuer = v.issuer)))",
    };
    let linked: i64 = tx.query_row(linked_sql, [id], |r| r.get(0)).at(path)?;
    tx.commit().map_err(|e| StoreError::from_sqlite(e, path))?;
    Ok((linked as u64, not_parsed))
}

/// Names of the imported datasets with their columns.
pub(crate) fn datasets(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<(String, String, Vec<EhrColumn>)>> {
    let mut stmt = conn
        .prepare("SELECT d.name, d.key_kind, c.name, c.kind FROM ehr_datasets d JOIN ehr_columns c ON c.dataset_ref = d.id ORDER BY d.name, c.rowid")
        .at(path)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .at(path)?;
    let mut out: Vec<(String, String, Vec<EhrColumn>)> = Vec::new();
    for row in rows {
        let (name, key, col, kind) = row.at(path)?;
        let column = EhrColumn {
            name: col,
            kind: EhrKind::parse(&kind).unwrap_or(EhrKind::Text),
        };
        match out.last_mut() {
            Some(last) if last.0 == name => last.2.push(column),
            _ => out.push((name, key, vec![column])),
        }
    }
    Ok(out)
}
