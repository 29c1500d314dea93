//! The values present in the index for a list criterion, with counts (the
//! cohort builder's pickers).

use super::{Ctx, Result};
use crate::model::{ValueCount, ValueField};
use rusqlite::{params, Connection};
use std::path::Path;

/// Values listed at most per field (most frequent first).
pub(crate) const MAX_VALUES: u64 = 2000;

/// Distinct values of `field`, most frequent first, then by value. Values
/// differing only in ASCII case or surrounding spaces are one value (list
/// criteria compare `upper(column)` with the trimmed, upper-cased value);
/// each is shown in one of its spellings. Empty values are left out.
/// Counts are studies (patients' sex: studies of such patients; EHR
/// columns: linked keys).
pub(crate) fn distinct_values(
    conn: &Connection,
    path: &Path,
    field: &ValueField,
) -> Result<Vec<ValueCount>> {
    // Column names are fixed strings chosen here; user text (EHR dataset
    // and column names) is bound as parameters.
    let series = |col: &str| {
        format!(
            "SELECT min(trim(s.{col})), count(DISTINCT s.study_ref) FROM series s
             WHERE trim(s.{col}) <> '' GROUP BY upper(trim(s.{col}))"
        )
    };
    let sql = match field {
        ValueField::Modality => series("modality"),
        ValueField::BodyPart => series("body_part"),
        ValueField::Institution => series("institution_name"),
        ValueField::Station => series("station_name"),
        ValueField::Manufacturer => series("manufacturer"),
        ValueField::Model => series("model_name"),
        ValueField::Sex => "SELECT min(trim(p.sex)), count(*) FROM studies st
             JOIN patients p ON p.id = st.patient_ref
             WHERE trim(p.sex) <> '' GROUP BY upper(trim(p.sex))"
            .to_string(),
        ValueField::SopClass => "SELECT min(trim(i.sop_class_uid)), count(DISTINCT s.study_ref)
             FROM instances i JOIN series s ON s.id = i.series_ref
             WHERE trim(i.sop_class_uid) <> '' GROUP BY upper(trim(i.sop_class_uid))"
            .to_string(),
        ValueField::Ehr { .. } => "SELECT min(trim(e.value_text)), count(DISTINCT e.key)
             FROM ehr_values e JOIN ehr_datasets d ON d.id = e.dataset_ref
             WHERE d.name = ?2 AND e.column_name = ?3 AND trim(e.value_text) <> ''
             GROUP BY upper(trim(e.value_text))"
            .to_string(),
    };
    let sql = format!("{sql} ORDER BY 2 DESC, 1 LIMIT ?1");
    let mut stmt = conn.prepare_cached(&sql).at(path)?;
    let row = |r: &rusqlite::Row| {
        Ok(ValueCount {
            value: r.get(0)?,
            count: r.get::<_, i64>(1)? as u64,
        })
    };
    let rows = match field {
        ValueField::Ehr { dataset, column } => stmt
            .query_map(params![MAX_VALUES as i64, dataset, column], row)
            .at(path)?
            .collect::<rusqlite::Result<Vec<_>>>(),
        _ => stmt
            .query_map(params![MAX_VALUES as i64], row)
            .at(path)?
            .collect::<rusqlite::Result<Vec<_>>>(),
    };
    rows.at(path)
}
