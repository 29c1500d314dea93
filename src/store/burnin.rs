//! What the index knows about a series' burned-in text risk: per series,
//! counts over its instances of Burned In Annotation values, Image Type
//! DERIVED/SECONDARY and screen-capture SOP classes (one indexed lookup per
//! series).

use super::{Ctx, Result};
use crate::burnin::{SeriesFacts, SCREEN_CAPTURE_SOP_CLASSES};
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::Path;

/// Header facts of each series in `series_uids` that is indexed (unknown
/// UIDs are left out).
pub(crate) fn series_facts(
    conn: &Connection,
    path: &Path,
    series_uids: &[String],
) -> Result<HashMap<String, SeriesFacts>> {
    // The SOP classes as bound parameters ?2..?6, compared trimmed.
    let mut stmt = conn
        .prepare_cached(
            "SELECT coalesce(trim(s.modality), ''), count(i.id),
                    coalesce(sum(upper(trim(i.burned_in_annotation)) = 'YES'), 0),
                    coalesce(sum(upper(trim(i.burned_in_annotation)) = 'NO'), 0),
                    coalesce(sum(trim(i.burned_in_annotation) <> ''
                        AND upper(trim(i.burned_in_annotation)) NOT IN ('YES', 'NO')), 0),
                    coalesce(sum('\\' || replace(upper(i.image_type), ' ', '') || '\\' LIKE '%\\DERIVED\\%'
                        OR '\\' || replace(upper(i.image_type), ' ', '') || '\\' LIKE '%\\SECONDARY\\%'), 0),
                    coalesce(sum(trim(i.sop_class_uid) IN (?2, ?3, ?4, ?5, ?6)), 0)
             FROM series s LEFT JOIN instances i ON i.series_ref = s.id
             WHERE s.series_uid = ?1
             GROUP BY s.id",
        )
        .at(path)?;
    let classes: Vec<&str> = SCREEN_CAPTURE_SOP_CLASSES.iter().map(|(u, _)| *u).collect();
    let mut out = HashMap::new();
    for uid in series_uids {
        let mut rows = stmt
            .query(rusqlite::params![
                uid, classes[0], classes[1], classes[2], classes[3], classes[4]
            ])
            .at(path)?;
        if let Some(r) = rows.next().at(path)? {
            let n = |k: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(k)?.max(0) as u64) };
            let facts = SeriesFacts {
                modality: r.get(0).at(path)?,
                instances: n(1).at(path)?,
                burned_in_yes: n(2).at(path)?,
                burned_in_no: n(3).at(path)?,
                burned_in_other: n(4).at(path)?,
                derived_or_secondary: n(5).at(path)?,
                screen_captures: n(6).at(path)?,
            };
            out.insert(uid.clone(), facts);
        }
    }
    Ok(out)
}
