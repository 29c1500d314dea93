//! The audit trail of export decisions (user data, append-only): findings
//! of the residual-PHI gate that a reviewer waived, and why.

use super::{Ctx, Result};
use rusqlite::{params, Connection};
use std::path::Path;

/// Appends the waived findings of one export run to the audit trail.
pub(crate) fn record_waivers(
    conn: &mut Connection,
    path: &Path,
    cohort: &str,
    report: &crate::export::ExportReport,
) -> Result<()> {
    let tx = conn.transaction().at(path)?;
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO export_waivers(finding_id, reason, cohort, export_folder, file, location, attribute, export_complete) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .at(path)?;
        for w in &report.waived {
            let f = &w.finding;
            let location = if f.path.is_empty() {
                format!("byte {}", f.offset)
            } else {
                f.path.clone()
            };
            ins.execute(params![
                f.id,
                w.reason,
                cohort,
                report.folder,
                f.file,
                location,
                f.attribute,
                report.complete
            ])
            .at(path)?;
        }
    }
    tx.commit().at(path)?;
    Ok(())
}

/// The waiver audit trail, oldest first: (finding id, reason, cohort,
/// export folder, file, location, attribute, export complete, waived at).
pub(crate) type WaiverRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
    String,
);

pub(crate) fn waivers(conn: &Connection, path: &Path) -> Result<Vec<WaiverRow>> {
    let mut st = conn
        .prepare("SELECT finding_id, reason, cohort, export_folder, file, location, attribute, export_complete, waived_at FROM export_waivers ORDER BY id")
        .at(path)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })
        .at(path)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().at(path)
}
