//! Linked clinical data: reading a CSV export (EHR extract, registry) into
//! typed columns keyed by PatientID or accession number. No SQL here;
//! `store::ehr` writes what this reads.

use crate::model::{EhrColumn, EhrKind};
use std::path::Path;

/// Why a CSV cannot be imported; says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot read the CSV file ({0}): {1}")]
    Read(String, std::path::PathBuf),
    #[error("the CSV has no column named '{column}' to link by; its columns are: {available}")]
    NoKeyColumn { column: String, available: String },
    #[error("unknown column '{0}' in a --type override")]
    UnknownColumn(String),
    #[error("the CSV is empty (no header row)")]
    Empty,
}

/// A parsed CSV: header, rows (as text), and each column's inferred kind.
#[derive(Debug, Clone)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Reads a CSV file (UTF-8; a BOM is ignored; ragged rows are padded).
impl Table {
    /// The index of a column (case-insensitive), or an error naming the
    /// columns there are.
    pub fn column(&self, name: &str) -> Result<usize, LinkError> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| LinkError::NoKeyColumn {
                column: name.to_string(),
                available: self.header.join(", "),
            })
    }
}

pub fn read_csv(path: &Path) -> Result<Table, LinkError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| LinkError::Read(e.to_string(), path.into()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| LinkError::Read(e.to_string(), path.into()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(LinkError::Empty);
    }
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| LinkError::Read(e.to_string(), path.into()))?;
        let mut row: Vec<String> = rec.iter().map(|v| v.trim().to_string()).collect();
        row.resize(header.len(), String::new());
        rows.push(row);
    }
    Ok(Table { header, rows })
}

/// Whether a value is a date: `YYYY-MM-DD` or `YYYYMMDD`.
pub fn as_date(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match b.len() {
        10 if b[4] == b'-'
            && b[7] == b'-'
            && digits(&b[..4])
            && digits(&b[5..7])
            && digits(&b[8..]) =>
        {
            Some(v.to_string())
        }
        8 if digits(b) => Some(format!("{}-{}-{}", &v[..4], &v[4..6], &v[6..])),
        _ => None,
    }
}

/// Infers each column's kind from its non-empty values.
pub fn infer_kinds(t: &Table) -> Vec<EhrColumn> {
    (0..t.header.len())
        .map(|i| {
            let values: Vec<&str> = t
                .rows
                .iter()
                .map(|r| r[i].as_str())
                .filter(|v| !v.is_empty())
                .collect();
            let kind = if values.is_empty() {
                EhrKind::Text
            } else if values
                .iter()
                .all(|v| v.parse::<f64>().is_ok_and(f64::is_finite))
            {
                EhrKind::Number
            } else if values.iter().all(|v| as_date(v).is_some()) {
                EhrKind::Date
            } else {
                EhrKind::Text
            };
            EhrColumn {
                name: t.header[i].clone(),
                kind,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_inferred() {
        let t = Table {
            header: vec!["id".into(), "fev1".into(), "seen".into(), "smoker".into()],
            rows: vec![
                vec![
                    "1".into(),
                    "2.5".into(),
                    "2020-01-02".into(),
                    "current".into(),
                ],
                vec!["2".into(), "".into(), "20200103".into(), "never".into()],
            ],
        };
        let k: Vec<EhrKind> = infer_kinds(&t).into_iter().map(|c| c.kind).collect();
        assert_eq!(
            k,
            [
                EhrKind::Number,
                EhrKind::Number,
                EhrKind::Date,
                EhrKind::Text
            ]
        );
        assert_eq!(as_date("20200103").as_deref(), Some("2020-01-03"));
        assert_eq!(as_date("2020-1-3"), None);
    }
}
