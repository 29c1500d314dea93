//! Where an indexed series' images are, for the viewer, the review and
//! thumbnails.

use super::{bytes_path, Ctx, Result};
use crate::model::InstanceRef;
use rusqlite::Connection;
use std::path::Path;

/// The instances of one series in display order (Instance Number, then
/// SOP Instance UID), with their files and patient.
pub(crate) fn series_instances(
    conn: &Connection,
    path: &Path,
    series_uid: &str,
) -> Result<Vec<InstanceRef>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT r.path, f.rel_path, p.issuer, p.patient_id, i.sop_uid, i.instance_number,
                    i.frames, i.transfer_syntax_uid, f.size_bytes, f.mtime_ns
             FROM series s JOIN instances i ON i.series_ref = s.id
             JOIN files f ON f.id = i.file_ref JOIN roots r ON r.id = f.root_ref
             JOIN studies st ON st.id = s.study_ref JOIN patients p ON p.id = st.patient_ref
             WHERE s.series_uid = ?1
             ORDER BY i.instance_number IS NULL, i.instance_number, i.sop_uid",
        )
        .at(path)?;
    let rows = stmt
        .query_map([series_uid], |r| {
            let root: Vec<u8> = r.get(0)?;
            let rel: Vec<u8> = r.get(1)?;
            Ok(InstanceRef {
                path: bytes_path(&root).join(bytes_path(&rel)),
                issuer: r.get(2)?,
                patient_id: r.get(3)?,
                sop_uid: r.get(4)?,
                instance_number: r.get(5)?,
                frames: r.get::<_, Option<i64>>(6)?.unwrap_or(1).max(1) as u32,
                transfer_syntax: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                size: r.get::<_, Option<i64>>(8)?.unwrap_or(0),
                mtime_ns: r.get::<_, Option<i64>>(9)?.unwrap_or(0),
            })
        })
        .at(path)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.at(path)?);
    }
    Ok(out)
}
