//! Pixel masks and mask templates (user data: kept across re-indexing).

use super::{Ctx, Result};
use crate::model::{DeviceKey, InstanceMask, MaskTemplate, Rect};
use rusqlite::{params, Connection, Row};
use std::path::Path;

fn rect(r: &Row, first: usize) -> rusqlite::Result<Rect> {
    Ok(Rect {
        x: r.get(first)?,
        y: r.get(first + 1)?,
        width: r.get(first + 2)?,
        height: r.get(first + 3)?,
    })
}

/// The image size of an indexed instance, if it is indexed.
pub(crate) fn instance_size(
    conn: &Connection,
    path: &Path,
    sop_uid: &str,
) -> Result<Option<(Option<u32>, Option<u32>)>> {
    let mut st = conn
        .prepare_cached("SELECT rows, columns FROM instances WHERE sop_uid = ?1")
        .at(path)?;
    let mut rows = st.query(params![sop_uid]).at(path)?;
    match rows.next().at(path)? {
        Some(r) => Ok(Some((r.get(0).at(path)?, r.get(1).at(path)?))),
        None => Ok(None),
    }
}

/// Adds masks in one transaction; returns their ids.
pub(crate) fn add_instance_masks(
    conn: &mut Connection,
    path: &Path,
    masks: &[(String, Rect, String)],
) -> Result<Vec<i64>> {
    let tx = conn.transaction().at(path)?;
    let mut ids = Vec::with_capacity(masks.len());
    {
        let mut ins = tx
            .prepare("INSERT INTO pixel_masks(sop_instance_uid, x, y, width, height, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .at(path)?;
        for (sop_uid, r, note) in masks {
            ins.execute(params![sop_uid.trim(), r.x, r.y, r.width, r.height, note])
                .at(path)?;
            ids.push(tx.last_insert_rowid());
        }
    }
    tx.commit().at(path)?;
    Ok(ids)
}

pub(crate) fn add_template(
    conn: &Connection,
    path: &Path,
    name: &str,
    d: &DeviceKey,
    r: Rect,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO mask_templates(name, manufacturer, model, rows, columns, x, y, width, height)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            name,
            d.manufacturer,
            d.model,
            d.rows,
            d.columns,
            r.x,
            r.y,
            r.width,
            r.height
        ],
    )
    .at(path)?;
    Ok(conn.last_insert_rowid())
}

pub(crate) fn instance_masks(conn: &Connection, path: &Path) -> Result<Vec<InstanceMask>> {
    let mut st = conn
        .prepare(
            "SELECT id, sop_instance_uid, x, y, width, height, note FROM pixel_masks ORDER BY id",
        )
        .at(path)?;
    let rows = st
        .query_map([], |r| {
            Ok(InstanceMask {
                id: r.get(0)?,
                sop_instance_uid: r.get(1)?,
                rect: rect(r, 2)?,
                note: r.get(6)?,
            })
        })
        .at(path)?;
    rows.collect::<rusqlite::Result<_>>().at(path)
}

pub(crate) fn templates(conn: &Connection, path: &Path) -> Result<Vec<MaskTemplate>> {
    let mut st = conn
        .prepare(
            "SELECT id, name, manufacturer, model, rows, columns, x, y, width, height
             FROM mask_templates ORDER BY name, id",
        )
        .at(path)?;
    let rows = st
        .query_map([], |r| {
            Ok(MaskTemplate {
                id: r.get(0)?,
                name: r.get(1)?,
                device: DeviceKey {
                    manufacturer: r.get(2)?,
                    model: r.get(3)?,
                    rows: r.get(4)?,
                    columns: r.get(5)?,
                },
                rect: rect(r, 6)?,
            })
        })
        .at(path)?;
    rows.collect::<rusqlite::Result<_>>().at(path)
}

/// Removes a mask (`template` false) or a template rectangle; whether it existed.
pub(crate) fn remove(conn: &Connection, path: &Path, id: i64, template: bool) -> Result<bool> {
    let sql = if template {
        "DELETE FROM mask_templates WHERE id = ?1"
    } else {
        "DELETE FROM pixel_masks WHERE id = ?1"
    };
    Ok(conn.execute(sql, params![id]).at(path)? > 0)
}
