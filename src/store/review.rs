//! The review's audit trail (user data, append-only: the schema's triggers
//! refuse updates and deletes) and the index facts the review needs:
//! series to list, and each image's device and size (which mask templates
//! apply to it).

use super::{Ctx, Result};
use crate::model::{DeviceKey, ReviewEvent, ReviewState};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;

/// A decision to append.
pub(crate) struct NewEvent<'a> {
    pub series_uid: &'a str,
    pub sop_uid: Option<&'a str>,
    pub state: ReviewState,
    pub reviewer: &'a str,
    pub note: &'a str,
    pub inputs_digest: Option<&'a str>,
    pub content_digest: Option<&'a str>,
}

/// What an approval approved of one image: (SOP Instance UID, SHA-256 of
/// the rendered file before any claim, `review::ImageInputs` text).
pub(crate) type ApprovedImage = (String, String, String);

/// Appends one event (with the content an approval approved) in one
/// transaction; returns it as stored.
pub(crate) fn append(
    conn: &mut Connection,
    path: &Path,
    e: &NewEvent,
    content: &[ApprovedImage],
) -> Result<ReviewEvent> {
    let tx = conn.transaction().at(path)?;
    tx.execute(
        "INSERT INTO review_events(series_uid, sop_uid, state, reviewer, note, inputs_digest, content_digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.series_uid,
            e.sop_uid,
            e.state.as_str(),
            e.reviewer,
            e.note,
            e.inputs_digest,
            e.content_digest
        ],
    )
    .at(path)?;
    let id = tx.last_insert_rowid();
    {
        let mut ins = tx
            .prepare(
                "INSERT INTO review_approved_content(event_id, sop_uid, sha256, inputs) VALUES (?1, ?2, ?3, ?4)",
            )
            .at(path)?;
        for (sop, sha, inputs) in content {
            ins.execute(params![id, sop, sha, inputs]).at(path)?;
        }
    }
    let event = tx
        .query_row(&format!("{SELECT_EVENTS} WHERE id = ?1"), [id], event_row)
        .at(path)?;
    tx.commit().at(path)?;
    Ok(event)
}

const SELECT_EVENTS: &str =
    "SELECT id, series_uid, sop_uid, state, reviewer, at, note FROM review_events";

fn event_row(r: &rusqlite::Row) -> rusqlite::Result<ReviewEvent> {
    let state: String = r.get(3)?;
    Ok(ReviewEvent {
        id: r.get(0)?,
        series_uid: r.get(1)?,
        sop_uid: r.get(2)?,
        // The CHECK constraint admits only the four states.
        state: ReviewState::parse(&state).unwrap_or(ReviewState::Unreviewed),
        reviewer: r.get(4)?,
        at: r.get(5)?,
        note: r.get(6)?,
    })
}

/// Every event (of one series, if given), oldest first.
pub(crate) fn events(
    conn: &Connection,
    path: &Path,
    series_uid: Option<&str>,
) -> Result<Vec<ReviewEvent>> {
    if !has_review_tables(conn, path)? {
        return Ok(Vec::new());
    }
    let mut st = conn
        .prepare_cached(&format!(
            "{SELECT_EVENTS} WHERE ?1 IS NULL OR series_uid = ?1 ORDER BY id"
        ))
        .at(path)?;
    let rows = st.query_map([series_uid], event_row).at(path)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().at(path)
}

/// A read-only connection to a workspace from before the review simply
/// has no events.
fn has_review_tables(conn: &Connection, path: &Path) -> Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'review_events')",
        [],
        |r| r.get(0),
    )
    .at(path)
}

/// What an approval event approved, by SOP Instance UID: (SHA-256, inputs).
pub(crate) fn approved_content(
    conn: &Connection,
    path: &Path,
    event_id: i64,
) -> Result<HashMap<String, (String, String)>> {
    let mut st = conn
        .prepare_cached(
            "SELECT sop_uid, sha256, inputs FROM review_approved_content WHERE event_id = ?1",
        )
        .at(path)?;
    let rows = st
        .query_map([event_id], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .at(path)?;
    rows.collect::<rusqlite::Result<HashMap<_, _>>>().at(path)
}

/// An indexed series as the review lists it.
pub(crate) struct SeriesFacts {
    pub series_uid: String,
    pub study_uid: String,
    pub modality: String,
    pub description: String,
    pub instances: u64,
}

const SELECT_SERIES: &str = "SELECT s.series_uid, st.study_uid, coalesce(s.modality, ''),
        coalesce(s.description, ''), (SELECT count(*) FROM instances i WHERE i.series_ref = s.id)
     FROM series s JOIN studies st ON st.id = s.study_ref";

fn series_row(r: &rusqlite::Row) -> rusqlite::Result<SeriesFacts> {
    Ok(SeriesFacts {
        series_uid: r.get(0)?,
        study_uid: r.get(1)?,
        modality: r.get(2)?,
        description: r.get(3)?,
        instances: r.get::<_, i64>(4)? as u64,
    })
}

/// The indexed series with these UIDs (every series when None), ordered
/// by study and series number.
pub(crate) fn series(
    conn: &Connection,
    path: &Path,
    uids: Option<&[String]>,
) -> Result<Vec<SeriesFacts>> {
    let Some(uids) = uids else {
        let mut st = conn
            .prepare(&format!(
                "{SELECT_SERIES} ORDER BY st.study_uid, s.series_number IS NULL, s.series_number, s.series_uid"
            ))
            .at(path)?;
        let rows = st.query_map([], series_row).at(path)?;
        return rows.collect::<rusqlite::Result<Vec<_>>>().at(path);
    };
    let mut st = conn
        .prepare_cached(&format!("{SELECT_SERIES} WHERE s.series_uid = ?1"))
        .at(path)?;
    let mut out = Vec::with_capacity(uids.len());
    for uid in uids {
        if let Some(row) = st.query_row([uid], series_row).optional().at(path)? {
            out.push(row);
        }
    }
    Ok(out)
}

/// The device and image size of each instance of a series (which mask
/// templates apply), by SOP Instance UID, as the index read them.
pub(crate) fn devices(
    conn: &Connection,
    path: &Path,
    series_uid: &str,
) -> Result<HashMap<String, DeviceKey>> {
    let mut st = conn
        .prepare_cached(
            "SELECT i.sop_uid, coalesce(s.manufacturer, ''), coalesce(s.model_name, ''),
                    coalesce(i.rows, 0), coalesce(i.columns, 0)
             FROM series s JOIN instances i ON i.series_ref = s.id WHERE s.series_uid = ?1",
        )
        .at(path)?;
    let rows = st
        .query_map([series_uid], |r| {
            Ok((
                r.get::<_, String>(0)?,
                DeviceKey {
                    manufacturer: r.get(1)?,
                    model: r.get(2)?,
                    rows: r.get::<_, i64>(3)?.max(0) as u32,
                    columns: r.get::<_, i64>(4)?.max(0) as u32,
                },
            ))
        })
        .at(path)?;
    rows.collect::<rusqlite::Result<HashMap<_, _>>>().at(path)
}
