//! PACS nodes, the harvest log, and which series of a cohort are remote.

use super::{Ctx, Result};
use crate::cohort::CompiledCohort;
use crate::model::{PacsNode, PacsProtocol};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use std::path::Path;

/// Adds a node; with `replace`, an existing one of that name is replaced.
/// Returns false when the name is taken and `replace` is not set.
pub(crate) fn add_node(
    conn: &Connection,
    path: &Path,
    node: &PacsNode,
    replace: bool,
) -> Result<bool> {
    let json = serde_json::to_string(&node.protocol).expect("node config serialises");
    let sql = if replace {
        "INSERT INTO pacs_nodes(name, config_json) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET config_json = excluded.config_json"
    } else {
        "INSERT INTO pacs_nodes(name, config_json) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING"
    };
    Ok(conn.execute(sql, params![node.name, json]).at(path)? == 1)
}

/// Every node, by name.
pub(crate) fn nodes(conn: &Connection, path: &Path) -> Result<Vec<PacsNode>> {
    let mut stmt = conn
        .prepare("SELECT name, config_json FROM pacs_nodes ORDER BY name")
        .at(path)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .at(path)?;
    let mut out = Vec::new();
    for row in rows {
        let (name, json) = row.at(path)?;
        out.push(node_from(name, &json, path)?);
    }
    Ok(out)
}

/// One node by name.
pub(crate) fn node(conn: &Connection, path: &Path, name: &str) -> Result<Option<PacsNode>> {
    let json: Option<String> = conn
        .query_row(
            "SELECT config_json FROM pacs_nodes WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()
        .at(path)?;
    json.map(|j| node_from(name.to_string(), &j, path))
        .transpose()
}

fn node_from(name: String, json: &str, path: &Path) -> Result<PacsNode> {
    let protocol: PacsProtocol =
        serde_json::from_str(json).map_err(|e| super::StoreError::Other {
            message: format!("the stored settings of PACS node '{name}' are unreadable ({e}); remove and add it again"),
            path: path.into(),
        })?;
    Ok(PacsNode { name, protocol })
}

/// Removes a node (its harvested rows stay, marked with its name, until
/// re-harvested elsewhere or retrieved). Returns whether it existed.
pub(crate) fn remove_node(conn: &Connection, path: &Path, name: &str) -> Result<bool> {
    Ok(conn
        .execute("DELETE FROM pacs_nodes WHERE name = ?1", [name])
        .at(path)?
        == 1)
}

/// Starts a harvest log row.
pub(crate) fn start_harvest(
    conn: &Connection,
    path: &Path,
    node: &str,
    query_json: &str,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO harvest_runs(node, query_json) VALUES (?1, ?2)",
        params![node, query_json],
    )
    .at(path)?;
    Ok(conn.last_insert_rowid())
}

/// Ends a harvest log row.
pub(crate) fn finish_harvest(
    conn: &Connection,
    path: &Path,
    id: i64,
    outcome: &str,
    r: &crate::model::HarvestReport,
) -> Result<()> {
    conn.execute(
        "UPDATE harvest_runs SET finished_at = strftime('%Y-%m-%dT%H:%M:%SZ','now'), outcome = ?2,
           studies = ?3, series = ?4, queries = ?5, splits = ?6 WHERE id = ?1",
        params![
            id,
            outcome,
            r.studies as i64,
            r.series as i64,
            r.queries as i64,
            r.splits as i64
        ],
    )
    .at(path)?;
    Ok(())
}

/// A series of a cohort that a node holds.
#[derive(Debug, Clone)]
pub(crate) struct RemoteSeries {
    pub node: String,
    pub study_uid: String,
    pub series_uid: String,
    pub remote_instances: Option<i64>,
    pub local_instances: i64,
}

/// The series of a cohort's content that were harvested from a node, with
/// how many instances are local.
pub(crate) fn cohort_remote_series(
    conn: &Connection,
    path: &Path,
    c: &CompiledCohort,
) -> Result<Vec<RemoteSeries>> {
    let filter = match &c.content_studies_sql {
        Some(content) => format!("s.study_ref IN (SELECT id FROM ({content}))"),
        None => format!("s.id IN (SELECT id FROM ({}))", c.entries_sql),
    };
    let sql = format!(
        "SELECT r.node, r.study_uid, s.series_uid, r.remote_instances,
                (SELECT count(*) FROM instances i WHERE i.series_ref = s.id)
         FROM series s JOIN remote_series r ON r.series_uid = s.series_uid
         WHERE {filter} ORDER BY r.node, r.study_uid, s.series_uid"
    );
    let mut stmt = conn.prepare(&sql).at(path)?;
    let rows = stmt
        .query_map(params_from_iter(super::cohorts::bound(c)), |r| {
            Ok(RemoteSeries {
                node: r.get(0)?,
                study_uid: r.get(1)?,
                series_uid: r.get(2)?,
                remote_instances: r.get(3)?,
                local_instances: r.get(4)?,
            })
        })
        .at(path)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().at(path)
}

/// Remote and retrieved counts: (series known on a node, of which with
/// every reported instance local, studies known on a node).
pub(crate) fn remote_counts(conn: &Connection, path: &Path) -> Result<(u64, u64, u64)> {
    conn.query_row(
        "SELECT count(*),
                coalesce(sum((SELECT count(*) FROM instances i JOIN series s ON s.id = i.series_ref
                     WHERE s.series_uid = r.series_uid) >= coalesce(r.remote_instances, 1)), 0),
                count(DISTINCT r.study_uid)
         FROM remote_series r",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        },
    )
    .at(path)
}
