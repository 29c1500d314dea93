//! Reports, finding rules and their per-report results.

use super::{Ctx, Result};
use crate::findings::{classify, Mention};
use crate::model::FindingSummary;
use rusqlite::{params, Connection};
use std::path::Path;

fn mention_str(m: Mention) -> &'static str {
    match m {
        Mention::Positive => "positive",
        Mention::Negated => "negated",
        Mention::Absent => "absent",
    }
}

/// Adds reports and classifies them for every defined finding, in one
/// transaction. Returns how many were added.
pub(crate) fn import_reports(
    conn: &mut Connection,
    path: &Path,
    rows: &[(String, String)],
    source: &str,
) -> Result<u64> {
    let tx = conn.transaction().at(path)?;
    let rules = load_rules(&tx, path)?;
    {
        let mut ins = tx
            .prepare("INSERT INTO reports(accession, text, source) VALUES (?1, ?2, ?3)")
            .at(path)?;
        let mut res = tx
            .prepare("INSERT OR REPLACE INTO report_findings(finding_ref, report_ref, accession, mention) VALUES (?1, ?2, ?3, ?4)")
            .at(path)?;
        for (acc, text) in rows {
            ins.execute(params![acc, text, source]).at(path)?;
            let id = tx.last_insert_rowid();
            for (rule_id, keywords) in &rules {
                res.execute(params![
                    rule_id,
                    id,
                    acc,
                    mention_str(classify(text, keywords))
                ])
                .at(path)?;
            }
        }
    }
    tx.commit().at(path)?;
    Ok(rows.len() as u64)
}

fn load_rules(conn: &Connection, path: &Path) -> Result<Vec<(i64, Vec<String>)>> {
    let mut stmt = conn
        .prepare("SELECT id, keywords FROM finding_rules")
        .at(path)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .at(path)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, json) = row.at(path)?;
        out.push((id, serde_json::from_str(&json).unwrap_or_default()));
    }
    Ok(out)
}

/// Defines (or redefines) a finding and classifies every report for it.
pub(crate) fn define(
    conn: &mut Connection,
    path: &Path,
    name: &str,
    keywords: &[String],
) -> Result<()> {
    let json = serde_json::to_string(keywords).unwrap_or_else(|_| "[]".into());
    let tx = conn.transaction().at(path)?;
    tx.execute(
        "INSERT INTO finding_rules(name, keywords) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET keywords = excluded.keywords,
           defined_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')",
        params![name, json],
    )
    .at(path)?;
    let id: i64 = tx
        .query_row(
            "SELECT id FROM finding_rules WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .at(path)?;
    tx.execute("DELETE FROM report_findings WHERE finding_ref = ?1", [id])
        .at(path)?;
    {
        let mut reports = tx
            .prepare("SELECT id, accession, text FROM reports")
            .at(path)?;
        let mut res = tx
            .prepare("INSERT INTO report_findings(finding_ref, report_ref, accession, mention) VALUES (?1, ?2, ?3, ?4)")
            .at(path)?;
        let rows = reports
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .at(path)?;
        for row in rows {
            let (rid, acc, text) = row.at(path)?;
            res.execute(params![
                id,
                rid,
                acc,
                mention_str(classify(&text, keywords))
            ])
            .at(path)?;
        }
    }
    tx.commit().at(path)?;
    Ok(())
}

/// Every finding with its keywords and report counts (positive, negated, absent).
pub(crate) fn list(conn: &Connection, path: &Path) -> Result<Vec<FindingSummary>> {
    let mut stmt = conn
        .prepare(
            "SELECT f.name, f.keywords,
                    (SELECT count(*) FROM report_findings r WHERE r.finding_ref = f.id AND r.mention = 'positive'),
                    (SELECT count(*) FROM report_findings r WHERE r.finding_ref = f.id AND r.mention = 'negated'),
                    (SELECT count(*) FROM report_findings r WHERE r.finding_ref = f.id AND r.mention = 'absent')
             FROM finding_rules f ORDER BY f.name",
        )
        .at(path)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                [
                    r.get::<_, i64>(2)? as u64,
                    r.get::<_, i64>(3)? as u64,
                    r.get::<_, i64>(4)? as u64,
                ],
            ))
        })
        .at(path)?;
    let mut out = Vec::new();
    for row in rows {
        let (name, json, [positive, negated, absent]) = row.at(path)?;
        let keywords = serde_json::from_str(&json).unwrap_or_default();
        out.push(FindingSummary {
            name,
            keywords,
            positive,
            negated,
            absent,
        });
    }
    Ok(out)
}

/// Paths of the canonical files of SR instances.
pub(crate) fn sr_files(conn: &Connection, path: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut stmt = conn
        .prepare(
            "SELECT r.path, f.rel_path FROM instances i JOIN files f ON f.id = i.file_ref
             JOIN roots r ON r.id = f.root_ref WHERE i.sop_class_uid LIKE ?1 ORDER BY r.path, f.rel_path",
        )
        .at(path)?;
    let rows = stmt
        .query_map([format!("{}%", crate::dicom::sr::SR_CLASS_PREFIX)], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .at(path)?;
    let mut out = Vec::new();
    for row in rows {
        let (root, rel) = row.at(path)?;
        out.push(super::bytes_path(&root).join(super::bytes_path(&rel)));
    }
    Ok(out)
}
