//! The single writer: applies batches of per-file results in one
//! transaction each, keeping files, instances and their parents consistent
//! at every commit (so a killed process leaves a usable index).

use super::{bytes_path, path_bytes, Ctx, Result};
use crate::dicom::ReadOutcome;
use crate::model::{FileStatus, HeaderRecord, PatientKey};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One file's result, ready to be written.
#[derive(Debug)]
pub(crate) struct WriteItem {
    pub root_id: i64,
    pub rel_path: Vec<u8>,
    pub size_bytes: u64,
    pub mtime_ns: i64,
    /// Whether the index already had a row for this path (saves a lookup on
    /// cold indexing).
    pub known: bool,
    pub outcome: ReadOutcome,
}

/// What the index knows of a file, for change detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileState {
    pub size_bytes: u64,
    pub mtime_ns: i64,
    pub status: String,
}

/// Owns the read-write connection. Lives on one thread.
pub(crate) struct Writer {
    conn: Connection,
    path: PathBuf,
    root_paths: HashMap<i64, Vec<u8>>,
    /// The issuer given to each root ('' for none): the patient key's
    /// issuer when the header has none (DECISIONS 31).
    root_issuers: HashMap<i64, String>,
    patients: HashMap<PatientKey, i64>,
    /// Study UID -> (study id, patient id).
    studies: HashMap<String, (i64, i64)>,
    /// Series UID -> (series id, patient id).
    series: HashMap<String, (i64, i64)>,
    /// (patient id, name, sex, birth date) -> patient_variants id.
    variants: HashMap<Variant, i64>,
    /// This writer has committed the marker that the derived tables (study
    /// facts, text terms) lag behind the index (`refresh_derived` clears it).
    marked_stale: bool,
}

/// The settings key whose presence says that the derived tables lag behind
/// the index: set in the same transaction as any change to the index, so a
/// cancelled or killed run leaves it behind and the next run refreshes them.
const DERIVED_STALE: &str = "index_derived_stale";

/// A patient's demographics as one file gave them ('' when absent).
type Variant = (i64, String, String, String);

const PENDING_REASON: &str =
    "awaiting re-read: the canonical copy of this instance changed or vanished";

impl Writer {
    /// Opens the database read-write, migrating it if needed.
    pub fn open(path: &Path) -> Result<Writer> {
        let conn = super::open_rw(path)?;
        Ok(Writer {
            conn,
            path: path.to_path_buf(),
            root_paths: HashMap::new(),
            root_issuers: HashMap::new(),
            patients: HashMap::new(),
            studies: HashMap::new(),
            series: HashMap::new(),
            variants: HashMap::new(),
            marked_stale: false,
        })
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id of an existing root.
    pub fn root_id(&mut self, root: &Path) -> Result<Option<i64>> {
        let bytes = path_bytes(root);
        let row: Option<(i64, Option<String>)> = self
            .conn
            .query_row(
                "SELECT id, issuer FROM roots WHERE path = ?1",
                [&bytes],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .at(&self.path)?;
        Ok(row.map(|(id, issuer)| {
            self.root_paths.insert(id, bytes);
            self.root_issuers.insert(id, issuer.unwrap_or_default());
            id
        }))
    }

    /// Gives a root the issuer of its patient IDs ('' for none). When it
    /// changes, every instance file of the root is marked for re-reading
    /// (mtime -1, in the same transaction), so its patients are re-keyed
    /// by this run or, after a cancel or crash, by the next one. Returns
    /// whether it changed.
    pub fn set_root_issuer(&mut self, root_id: i64, issuer: &str) -> Result<bool> {
        let old = self.root_issuers.get(&root_id).cloned().unwrap_or_default();
        if old == issuer {
            return Ok(false);
        }
        let path = self.path.clone();
        let tx = self.conn.transaction().at(&path)?;
        tx.execute(
            "UPDATE roots SET issuer = nullif(?2, '') WHERE id = ?1",
            params![root_id, issuer],
        )
        .at(&path)?;
        tx.execute(
            "UPDATE files SET mtime_ns = -1 WHERE root_ref = ?1 AND status IN ('ok', 'duplicate')",
            [root_id],
        )
        .at(&path)?;
        tx.commit().at(&path)?;
        self.root_issuers.insert(root_id, issuer.to_string());
        self.clear_caches();
        Ok(true)
    }

    /// The id of a root, registering it if new.
    pub fn ensure_root(&mut self, root: &Path) -> Result<i64> {
        if let Some(id) = self.root_id(root)? {
            return Ok(id);
        }
        let bytes = path_bytes(root);
        self.conn
            .execute("INSERT INTO roots(path) VALUES (?1)", [&bytes])
            .at(&self.path)?;
        let id = self.conn.last_insert_rowid();
        self.root_paths.insert(id, bytes);
        self.root_issuers.insert(id, String::new());
        Ok(id)
    }

    /// Every file the index holds under a root.
    pub fn known_files(&self, root_id: i64) -> Result<HashMap<Vec<u8>, FileState>> {
        let mut stmt = self
            .conn
            .prepare("SELECT rel_path, size_bytes, mtime_ns, status FROM files WHERE root_ref = ?1")
            .at(&self.path)?;
        let rows = stmt
            .query_map([root_id], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    FileState {
                        size_bytes: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        status: r.get(3)?,
                    },
                ))
            })
            .at(&self.path)?;
        rows.collect::<rusqlite::Result<HashMap<_, _>>>()
            .at(&self.path)
    }

    /// Files waiting to be re-read under a root.
    pub fn pending_files(&self, root_id: i64) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare("SELECT rel_path FROM files WHERE root_ref = ?1 AND status = 'pending' ORDER BY rel_path")
            .at(&self.path)?;
        let rows = stmt.query_map([root_id], |r| r.get(0)).at(&self.path)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().at(&self.path)
    }

    /// Records the start of a run.
    pub fn start_run(&self, roots: &str) -> Result<i64> {
        self.conn
            .execute("INSERT INTO index_runs(roots) VALUES (?1)", [roots])
            .at(&self.path)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records the end of a run.
    #[allow(clippy::too_many_arguments)]
    pub fn finish_run(
        &self,
        id: i64,
        outcome: &str,
        seen: u64,
        new: u64,
        changed: u64,
        unchanged: u64,
        removed: u64,
        elapsed: f64,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE index_runs SET finished_at = strftime('%Y-%m-%dT%H:%M:%SZ','now'),
                 outcome = ?2, files_seen = ?3, new_files = ?4, changed_files = ?5,
                 unchanged_files = ?6, removed_files = ?7, elapsed_seconds = ?8 WHERE id = ?1",
                params![
                    id,
                    outcome,
                    seen as i64,
                    new as i64,
                    changed as i64,
                    unchanged as i64,
                    removed as i64,
                    elapsed
                ],
            )
            .at(&self.path)?;
        Ok(())
    }

    /// A read-only view of the writer's connection, for counts after a run.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Writes a batch of results in one transaction.
    /// Makes every statement of this writer stop as soon as `cancel` is
    /// set (SQLite's progress handler, checked every thousand VM steps): the
    /// statement fails with `StoreError::Interrupted` and its transaction
    /// rolls back, so a long batch, removal or refresh ends within
    /// milliseconds of a cancel. `None` turns it off (for the run log).
    pub fn interrupt_on(&mut self, cancel: Option<&crate::cancel::CancelToken>) -> Result<()> {
        let path = self.path.clone();
        match cancel {
            Some(c) => {
                let c = c.clone();
                self.conn
                    .progress_handler(1000, Some(move || c.is_cancelled()))
                    .at(&path)
            }
            None => self
                .conn
                .progress_handler(0, None::<fn() -> bool>)
                .at(&path),
        }
    }

    /// After a cancel, nothing this connection still does may wait for the
    /// disk: its last commits (the run log) and its close leave the WAL to be
    /// checkpointed by the next connection instead of copying it into the
    /// database and syncing now, which under I/O load took 0.4-0.7 s
    /// (measured). The WAL is durable, so the database stays consistent.
    pub fn defer_checkpoints(&mut self) -> Result<()> {
        let path = self.path.clone();
        self.conn
            .pragma_update(None, "wal_autocheckpoint", 0)
            .at(&path)?;
        self.conn
            .set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                true,
            )
            .at(&path)?;
        Ok(())
    }

    /// Leaves WAL checkpoints to a [`Checkpointer`]: this connection's
    /// commits never copy the WAL into the database themselves, so no commit
    /// (and no cancel waiting for one) waits for that I/O.
    pub fn no_autocheckpoint(&mut self) -> Result<()> {
        let path = self.path.clone();
        self.conn
            .pragma_update(None, "wal_autocheckpoint", 0)
            .at(&path)
    }

    pub fn apply(&mut self, items: &[WriteItem]) -> Result<()> {
        let r = self.apply_tx(items);
        if r.is_err() {
            // The rolled-back transaction may have cached ids it created.
            self.clear_caches();
        }
        r
    }

    /// Marks the derived tables stale inside `tx` (once per writer until
    /// they are refreshed).
    fn mark_stale(marked: bool, tx: &Transaction) -> rusqlite::Result<()> {
        if !marked {
            tx.execute(
                "INSERT INTO settings(key, value) VALUES (?1, '1')
                 ON CONFLICT(key) DO UPDATE SET value = '1'",
                [DERIVED_STALE],
            )?;
        }
        Ok(())
    }

    fn apply_tx(&mut self, items: &[WriteItem]) -> Result<()> {
        let path = self.path.clone();
        let tx = self.conn.transaction().at(&path)?;
        Self::mark_stale(self.marked_stale, &tx).at(&path)?;
        let mut cx = Cx {
            tx: &tx,
            root_paths: &self.root_paths,
            root_issuers: &self.root_issuers,
            patients: &mut self.patients,
            studies: &mut self.studies,
            series: &mut self.series,
            variants: &mut self.variants,
            orphans: false,
        };
        for item in items {
            cx.apply_one(item).at(&path)?;
        }
        let orphans = cx.orphans;
        if orphans {
            delete_orphans(&tx).at(&path)?;
        }
        tx.commit().at(&path)?;
        self.marked_stale = true;
        if orphans {
            self.clear_caches();
        }
        Ok(())
    }

    /// Removes files that vanished from a root, in one transaction.
    pub fn remove(&mut self, root_id: i64, rel_paths: &[Vec<u8>]) -> Result<()> {
        if rel_paths.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let tx = self.conn.transaction().at(&path)?;
        Self::mark_stale(self.marked_stale, &tx).at(&path)?;
        for rel in rel_paths {
            remove_file(&tx, root_id, rel).at(&path)?;
        }
        delete_orphans(&tx).at(&path)?;
        tx.commit().at(&path)?;
        self.marked_stale = true;
        self.clear_caches();
        Ok(())
    }

    /// Drops a root and everything indexed under it (the files on disk are
    /// not touched). Copies of its instances under other roots become
    /// `pending` and are promoted when those roots are indexed again.
    pub fn remove_root(&mut self, root: &Path) -> Result<u64> {
        let Some(id) = self.root_id(root)? else {
            return Ok(0);
        };
        let all: Vec<Vec<u8>> = self.known_files(id)?.into_keys().collect();
        for chunk in all.chunks(4096) {
            self.remove(id, chunk)?;
        }
        self.conn
            .execute("DELETE FROM roots WHERE id = ?1", [id])
            .at(&self.path)?;
        self.root_paths.remove(&id);
        Ok(all.len() as u64)
    }

    /// Brings the derived tables up to date when an index change (of this
    /// run or of an earlier cancelled or killed one) left them stale: the
    /// facts of studies whose facts are unknown (queries fall back to the
    /// series until then), then the full-text index of description texts
    /// (distinct values only, so it stays small and quick to rebuild),
    /// clearing the marker in the same transaction. Interrupted, it leaves
    /// the marker for the next run. Returns whether it refreshed anything.
    pub fn refresh_derived(&mut self) -> Result<bool> {
        let stale = super::setting(&self.conn, &self.path, DERIVED_STALE)?.is_some();
        if !stale {
            return Ok(false);
        }
        self.conn
            .execute_batch(super::schema::REFRESH_STUDY_FACTS)
            .map_err(|e| super::StoreError::from_sqlite(e, &self.path))?;
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .at(&path)?;
        tx.execute_batch(
            "DELETE FROM text_terms;
             INSERT INTO text_terms(text)
               SELECT description FROM studies WHERE description IS NOT NULL
               UNION SELECT description FROM series WHERE description IS NOT NULL
               UNION SELECT protocol_name FROM series WHERE protocol_name IS NOT NULL;",
        )
        .at(&path)?;
        tx.execute("DELETE FROM settings WHERE key = ?1", [DERIVED_STALE])
            .at(&path)?;
        tx.commit().at(&path)?;
        self.marked_stale = false;
        Ok(true)
    }

    /// Records series a PACS reported (harvest): their patient, study and
    /// series rows (values from the PACS win over older ones, so a
    /// re-harvest updates), and where and when they were seen. Series
    /// without local instances are kept by `delete_orphans` while they
    /// have a `remote_series` row.
    pub fn apply_remote(
        &mut self,
        node: &str,
        harvested_at: &str,
        batch: &[(HeaderRecord, Option<i64>)],
    ) -> Result<()> {
        let path = self.path.clone();
        let tx = self.conn.transaction().at(&path)?;
        Self::mark_stale(self.marked_stale, &tx).at(&path)?;
        let mut cx = Cx {
            tx: &tx,
            root_paths: &self.root_paths,
            root_issuers: &self.root_issuers,
            patients: &mut self.patients,
            studies: &mut self.studies,
            series: &mut self.series,
            variants: &mut self.variants,
            orphans: false,
        };
        for (rec, count) in batch {
            // No archive root: the patient key's issuer is the one the PACS
            // answered with, if any (a root's issuer applies to its files).
            cx.parents(rec, NO_ROOT).at(&path)?;
            tx.prepare_cached(
                "INSERT INTO remote_series(series_uid, study_uid, node, harvested_at, remote_instances)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(series_uid) DO UPDATE SET study_uid = excluded.study_uid,
                   node = excluded.node, harvested_at = excluded.harvested_at,
                   remote_instances = coalesce(excluded.remote_instances, remote_instances)",
            )
            .at(&path)?
            .execute(params![
                rec.series_instance_uid,
                rec.study_instance_uid,
                node,
                harvested_at,
                count
            ])
            .at(&path)?;
        }
        tx.commit().at(&path)?;
        self.marked_stale = true;
        // `parents` caches ids within a run; a harvest batch may be followed
        // by an index run of retrieved files on another writer.
        self.clear_caches();
        Ok(())
    }

    fn clear_caches(&mut self) {
        self.patients.clear();
        self.studies.clear();
        self.series.clear();
        self.variants.clear();
    }
}

/// Per-transaction context.
/// The root id of rows that come from no archive root (a PACS harvest).
const NO_ROOT: i64 = -1;

struct Cx<'a> {
    tx: &'a Transaction<'a>,
    root_paths: &'a HashMap<i64, Vec<u8>>,
    root_issuers: &'a HashMap<i64, String>,
    patients: &'a mut HashMap<PatientKey, i64>,
    studies: &'a mut HashMap<String, (i64, i64)>,
    series: &'a mut HashMap<String, (i64, i64)>,
    variants: &'a mut HashMap<Variant, i64>,
    orphans: bool,
}

impl Cx<'_> {
    fn apply_one(&mut self, item: &WriteItem) -> rusqlite::Result<()> {
        let new_uid = match &item.outcome {
            ReadOutcome::Instance(rec) => Some(rec.sop_instance_uid.as_str()),
            ReadOutcome::Problem(..) => None,
        };
        if item.known {
            let old: Option<(i64, Option<String>, String)> = self
                .tx
                .prepare_cached(
                    "SELECT id, sop_uid, status FROM files WHERE root_ref = ?1 AND rel_path = ?2",
                )?
                .query_row(params![item.root_id, item.rel_path], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            if let Some((fid, Some(old_uid), status)) = old {
                if status == "ok" {
                    // The instance row is re-derived from this file below,
                    // or handed to another copy if the UID changed.
                    release_canonical(self.tx, &old_uid, fid, new_uid == Some(old_uid.as_str()))?;
                    self.orphans = true;
                }
            }
        }
        let (status, reason) = match &item.outcome {
            ReadOutcome::Instance(_) => (FileStatus::Ok, None),
            ReadOutcome::Problem(st, r) => (*st, Some(r.as_str())),
        };
        let file_params = params![
            item.root_id,
            item.rel_path,
            item.size_bytes as i64,
            item.mtime_ns,
            status.as_str(),
            reason,
            new_uid
        ];
        let file_id: i64 = if item.known {
            self.tx
                .prepare_cached(
                    "INSERT INTO files(root_ref, rel_path, size_bytes, mtime_ns, status, reason, sop_uid)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT(root_ref, rel_path) DO UPDATE SET size_bytes = excluded.size_bytes,
                       mtime_ns = excluded.mtime_ns, status = excluded.status, reason = excluded.reason,
                       sop_uid = excluded.sop_uid
                     RETURNING id",
                )?
                .query_row(file_params, |r| r.get(0))?
        } else {
            // A path the index did not know: the plain insert is cheaper.
            self.tx
                .prepare_cached(
                    "INSERT INTO files(root_ref, rel_path, size_bytes, mtime_ns, status, reason, sop_uid)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(file_params)?;
            self.tx.last_insert_rowid()
        };
        if let ReadOutcome::Instance(rec) = &item.outcome {
            self.place_instance(rec, file_id, item)?;
        }
        Ok(())
    }

    /// Makes `file_id` the canonical copy of its instance, or marks it a
    /// duplicate of the lexicographically smaller path that already is.
    fn place_instance(
        &mut self,
        rec: &HeaderRecord,
        file_id: i64,
        item: &WriteItem,
    ) -> rusqlite::Result<()> {
        let (series_id, patient_id) = self.parents(rec, item.root_id)?;
        let variant_id = self.variant(patient_id, rec)?;
        if rec.contrast_bolus_agent.is_some() {
            self.tx
                .prepare_cached(
                    "UPDATE studies SET facts_contrast = NULL
                     WHERE id = (SELECT study_ref FROM series WHERE id = ?1) AND facts_contrast = 0",
                )?
                .execute([series_id])?;
        }
        let inserted = self
            .tx
            .prepare_cached(
                "INSERT INTO instances(series_ref, sop_uid, file_ref, sop_class_uid, instance_number,
                   image_type, rows, columns, frames, bits_allocated, photometric, transfer_syntax_uid,
                   slice_thickness_mm, pixel_spacing_mm, kvp, contrast_agent, burned_in_annotation,
                   charset, text_lossy, variant_ref)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
                 ON CONFLICT(sop_uid) DO NOTHING",
            )?
            .execute(&instance_params(&series_id, &file_id, rec, &variant_id)[..])?;
        if inserted == 1 {
            return Ok(());
        }
        // Another file already holds this SOP Instance UID.
        self.orphans = true;
        let (canon_id, canon_root, canon_rel): (i64, Vec<u8>, Vec<u8>) = self
            .tx
            .prepare_cached(
                "SELECT f.id, r.path, f.rel_path FROM instances i JOIN files f ON f.id = i.file_ref
                 JOIN roots r ON r.id = f.root_ref WHERE i.sop_uid = ?1",
            )?
            .query_row([&rec.sop_instance_uid], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let this_path = full_path(
            self.root_paths
                .get(&item.root_id)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            &item.rel_path,
        );
        let canon_path = full_path(&canon_root, &canon_rel);
        if this_path < canon_path {
            self.tx
                .prepare_cached(
                    "UPDATE instances SET series_ref = ?1, file_ref = ?3, sop_class_uid = ?4,
                     instance_number = ?5, image_type = ?6, rows = ?7, columns = ?8, frames = ?9,
                     bits_allocated = ?10, photometric = ?11, transfer_syntax_uid = ?12,
                     slice_thickness_mm = ?13, pixel_spacing_mm = ?14, kvp = ?15, contrast_agent = ?16,
                     burned_in_annotation = ?17, charset = ?18, text_lossy = ?19, variant_ref = ?20
                     WHERE sop_uid = ?2",
                )?
                .execute(&instance_params(&series_id, &file_id, rec, &variant_id)[..])?;
            let reason = format!("same SOP Instance UID as {}", this_path.display());
            self.tx
                .prepare_cached(
                    "UPDATE files SET status = 'duplicate', reason = ?1
                     WHERE sop_uid = ?2 AND id != ?3 AND status IN ('ok', 'duplicate')",
                )?
                .execute(params![reason, rec.sop_instance_uid, file_id])?;
        } else if canon_id != file_id {
            let reason = format!("same SOP Instance UID as {}", canon_path.display());
            self.tx
                .prepare_cached("UPDATE files SET status = 'duplicate', reason = ?1 WHERE id = ?2")?
                .execute(params![reason, file_id])?;
        }
        Ok(())
    }

    /// The id of this file's demographics for its patient (recorded once
    /// per distinct value; two with different values make a conflict).
    fn variant(&mut self, patient_id: i64, rec: &HeaderRecord) -> rusqlite::Result<i64> {
        let key: Variant = (
            patient_id,
            rec.patient_name.clone().unwrap_or_default(),
            rec.patient_sex.clone().unwrap_or_default(),
            rec.patient_birth_date.clone().unwrap_or_default(),
        );
        if let Some(id) = self.variants.get(&key) {
            return Ok(*id);
        }
        let id: i64 = self
            .tx
            .prepare_cached(
                "INSERT INTO patient_variants(patient_ref, patient_name, sex, birth_date)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(patient_ref, patient_name, sex, birth_date)
                   DO UPDATE SET patient_ref = excluded.patient_ref
                 RETURNING id",
            )?
            .query_row(params![key.0, key.1, key.2, key.3], |r| r.get(0))?;
        self.variants.insert(key, id);
        Ok(id)
    }

    /// Upserts patient, study and series; returns the series id and its
    /// patient's id. The patient key's issuer is the header's, else the
    /// root's (DECISIONS 31).
    fn parents(&mut self, rec: &HeaderRecord, root_id: i64) -> rusqlite::Result<(i64, i64)> {
        if let Some(ids) = self.series.get(&rec.series_instance_uid) {
            return Ok(*ids);
        }
        let (study_id, patient_id) = match self.studies.get(&rec.study_instance_uid) {
            Some(ids) => *ids,
            None => {
                let mut key = rec.patient_key();
                if key.0.is_empty() {
                    if let Some(issuer) = self.root_issuers.get(&root_id) {
                        key.0.clone_from(issuer);
                    }
                }
                let patient_id = match self.patients.get(&key) {
                    Some(id) => *id,
                    None => {
                        let id: i64 = self
                            .tx
                            .prepare_cached(
                                "INSERT INTO patients(issuer, patient_id, patient_name, sex, birth_date)
                                 VALUES (?1, ?2, ?3, ?4, ?5)
                                 ON CONFLICT(issuer, patient_id) DO UPDATE SET
                                   patient_name = coalesce(excluded.patient_name, patient_name),
                                   sex = coalesce(excluded.sex, sex),
                                   birth_date = coalesce(excluded.birth_date, birth_date)
                                 RETURNING id",
                            )?
                            .query_row(
                                params![key.0, key.1, rec.patient_name, rec.patient_sex, rec.patient_birth_date],
                                |r| r.get(0),
                            )?;
                        self.patients.insert(key, id);
                        id
                    }
                };
                let id: i64 = self
                    .tx
                    .prepare_cached(
                        "INSERT INTO studies(patient_ref, study_uid, study_date, study_time, accession_number,
                           description, referring_physician, patient_age, age_at_study_years)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                         ON CONFLICT(study_uid) DO UPDATE SET patient_ref = excluded.patient_ref,
                           study_date = coalesce(excluded.study_date, study_date),
                           study_time = coalesce(excluded.study_time, study_time),
                           accession_number = coalesce(excluded.accession_number, accession_number),
                           description = coalesce(excluded.description, description),
                           referring_physician = coalesce(excluded.referring_physician, referring_physician),
                           patient_age = coalesce(excluded.patient_age, patient_age),
                           age_at_study_years = coalesce(excluded.age_at_study_years, age_at_study_years)
                         RETURNING id",
                    )?
                    .query_row(
                        params![
                            patient_id,
                            rec.study_instance_uid,
                            rec.study_date,
                            rec.study_time,
                            rec.accession_number,
                            rec.study_description,
                            rec.referring_physician_name,
                            rec.patient_age,
                            rec.age_at_study_years
                        ],
                        |r| r.get(0),
                    )?;
                self.studies
                    .insert(rec.study_instance_uid.clone(), (id, patient_id));
                (id, patient_id)
            }
        };
        let id: i64 = self
            .tx
            .prepare_cached(
                "INSERT INTO series(study_ref, series_uid, modality, body_part, series_number, description,
                   protocol_name, institution_name, station_name, manufacturer, model_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT(series_uid) DO UPDATE SET study_ref = excluded.study_ref,
                   modality = coalesce(excluded.modality, modality),
                   body_part = coalesce(excluded.body_part, body_part),
                   series_number = coalesce(excluded.series_number, series_number),
                   description = coalesce(excluded.description, description),
                   protocol_name = coalesce(excluded.protocol_name, protocol_name),
                   institution_name = coalesce(excluded.institution_name, institution_name),
                   station_name = coalesce(excluded.station_name, station_name),
                   manufacturer = coalesce(excluded.manufacturer, manufacturer),
                   model_name = coalesce(excluded.model_name, model_name)
                 RETURNING id",
            )?
            .query_row(
                params![
                    study_id,
                    rec.series_instance_uid,
                    rec.modality,
                    rec.body_part_examined,
                    rec.series_number,
                    rec.series_description,
                    rec.protocol_name,
                    rec.institution_name,
                    rec.station_name,
                    rec.manufacturer,
                    rec.manufacturer_model_name
                ],
                |r| r.get(0),
            )?;
        self.series
            .insert(rec.series_instance_uid.clone(), (id, patient_id));
        // The study's facts (modalities, body parts) may have changed.
        self.tx
            .prepare_cached(
                "UPDATE studies SET facts_modalities = NULL, facts_body_parts = NULL, facts_contrast = NULL
                 WHERE id = ?1 AND facts_modalities IS NOT NULL",
            )?
            .execute([study_id])?;
        Ok((id, patient_id))
    }
}

fn instance_params<'a>(
    series_id: &'a i64,
    file_id: &'a i64,
    rec: &'a HeaderRecord,
    variant_id: &'a i64,
) -> [&'a dyn rusqlite::ToSql; 20] {
    [
        series_id,
        &rec.sop_instance_uid,
        file_id,
        &rec.sop_class_uid,
        &rec.instance_number,
        &rec.image_type,
        &rec.rows,
        &rec.columns,
        &rec.number_of_frames,
        &rec.bits_allocated,
        &rec.photometric_interpretation,
        &rec.transfer_syntax_uid,
        &rec.slice_thickness_mm,
        &rec.pixel_spacing_mm,
        &rec.kvp,
        &rec.contrast_bolus_agent,
        &rec.burned_in_annotation,
        &rec.specific_character_set,
        &rec.text_lossy,
        variant_id,
    ]
}

fn full_path(root: &[u8], rel: &[u8]) -> PathBuf {
    bytes_path(root).join(bytes_path(rel))
}

/// The canonical file of `uid` is going away (or being re-read): drop the
/// instance row and queue the other copies for re-reading, unless the same
/// file is about to provide the instance again.
fn release_canonical(
    tx: &Transaction,
    uid: &str,
    file_id: i64,
    same_uid: bool,
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM instances WHERE sop_uid = ?1 AND file_ref = ?2")?
        .execute(params![uid, file_id])?;
    // When the same file comes back with the same UID it is placed again
    // right away; the other copies stay duplicates of it.
    if !same_uid {
        tx.prepare_cached(
            "UPDATE files SET status = 'pending', reason = ?1, mtime_ns = -1
             WHERE sop_uid = ?2 AND id != ?3 AND status = 'duplicate'",
        )?
        .execute(params![PENDING_REASON, uid, file_id])?;
    }
    Ok(())
}

fn remove_file(tx: &Transaction, root_id: i64, rel: &[u8]) -> rusqlite::Result<()> {
    let row: Option<(i64, Option<String>, String)> = tx
        .prepare_cached(
            "SELECT id, sop_uid, status FROM files WHERE root_ref = ?1 AND rel_path = ?2",
        )?
        .query_row(params![root_id, rel], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    if let Some((fid, uid, status)) = row {
        if let (Some(uid), "ok") = (uid, status.as_str()) {
            release_canonical(tx, &uid, fid, false)?;
        }
        tx.prepare_cached("DELETE FROM files WHERE id = ?1")?
            .execute([fid])?;
    }
    Ok(())
}

fn delete_orphans(tx: &Transaction) -> rusqlite::Result<()> {
    // Something was removed or moved: study facts may be stale. They are
    // recomputed at the end of the run (and ignored while NULL).
    tx.execute_batch(
        "UPDATE studies SET facts_modalities = NULL, facts_body_parts = NULL, facts_contrast = NULL
         WHERE facts_modalities IS NOT NULL OR facts_contrast IS NOT NULL;",
    )?;
    tx.execute_batch(
        "DELETE FROM series WHERE NOT EXISTS (SELECT 1 FROM instances WHERE series_ref = series.id)
           AND NOT EXISTS (SELECT 1 FROM remote_series r WHERE r.series_uid = series.series_uid);
         DELETE FROM studies WHERE NOT EXISTS (SELECT 1 FROM series WHERE study_ref = studies.id);
         -- A study moved to another patient (its key changed) leaves the
         -- old patient's demographics without a study: those instances
         -- lose theirs until their own file is re-read (already queued).
         UPDATE instances SET variant_ref = NULL WHERE variant_ref IN (
           SELECT v.id FROM patient_variants v
           WHERE NOT EXISTS (SELECT 1 FROM studies WHERE patient_ref = v.patient_ref));
         DELETE FROM patient_variants WHERE NOT EXISTS
           (SELECT 1 FROM instances WHERE variant_ref = patient_variants.id);
         DELETE FROM patients WHERE NOT EXISTS (SELECT 1 FROM studies WHERE patient_ref = patients.id);",
    )
}

/// Checkpoints the WAL from its own connection and thread while a job
/// writes (PASSIVE: it never blocks the writer), so the writer's commits
/// need not. After a cancel it is interrupted and left to end on its own.
pub(crate) struct Checkpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    interrupt: rusqlite::InterruptHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts one for the database at `path` (None when it cannot: the
    /// writer's own checkpoint on close still happens).
    pub fn start(path: &Path) -> Option<Checkpointer> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let conn = Connection::open(path).ok()?;
        let interrupt = conn.get_interrupt_handle();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("pacs-index-checkpoint".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(250));
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok()?;
        Some(Checkpointer {
            stop,
            interrupt,
            thread: Some(thread),
        })
    }

    /// Stops it: waits for a checkpoint in progress (`wait`), or interrupts
    /// it and returns at once (after a cancel).
    pub fn finish(mut self, wait: bool) {
        self.end(wait);
    }

    fn end(&mut self, wait: bool) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            if wait {
                let _ = t.join();
            } else {
                self.interrupt.interrupt();
            }
        }
    }
}

impl Drop for Checkpointer {
    /// An early return (a missing root) still ends the thread.
    fn drop(&mut self) {
        self.end(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::CancelToken;
    use crate::store::StoreError;

    fn item(root_id: i64, n: u32) -> WriteItem {
        WriteItem {
            root_id,
            rel_path: format!("f{n}").into_bytes(),
            size_bytes: 1,
            mtime_ns: 1,
            known: false,
            outcome: ReadOutcome::Instance(Box::new(HeaderRecord {
                patient_id: format!("P{}", n % 7),
                study_instance_uid: format!("1.2.3.{n}.1"),
                series_instance_uid: format!("1.2.3.{n}.2"),
                sop_instance_uid: format!("1.2.3.{n}.3"),
                study_description: Some(format!("study {n}")),
                ..Default::default()
            })),
        }
    }

    fn count(w: &Writer, sql: &str) -> i64 {
        w.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Issue 13: a cancel interrupts the statement being run (a batch, the
    /// refresh of the derived tables), rolls it back, and keeps what was
    /// committed; the stale marker stays for the next run.
    #[test]
    fn a_cancel_interrupts_a_batch_and_the_refresh_and_keeps_what_was_committed() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = Writer::open(&tmp.path().join("ws.db")).unwrap();
        let root = w.ensure_root(tmp.path()).unwrap();
        let batch = |from: u32, to: u32| (from..to).map(|n| item(root, n)).collect::<Vec<_>>();
        w.apply(&batch(0, 100)).unwrap();
        assert!(w.refresh_derived().unwrap());
        assert!(!w.refresh_derived().unwrap(), "nothing stale any more");
        let stale = "SELECT count(*) FROM settings WHERE key = 'index_derived_stale'";
        assert_eq!(count(&w, stale), 0);
        w.apply(&batch(100, 200)).unwrap();
        assert_eq!(count(&w, stale), 1, "committed with the change");
        let terms = count(&w, "SELECT count(*) FROM text_terms");
        assert_eq!(terms, 100);

        let cancel = CancelToken::new();
        w.interrupt_on(Some(&cancel)).unwrap();
        w.apply(&batch(200, 250)).unwrap();
        cancel.cancel();
        assert!(matches!(
            w.apply(&batch(250, 400)),
            Err(StoreError::Interrupted(_))
        ));
        assert!(matches!(
            w.refresh_derived(),
            Err(StoreError::Interrupted(_))
        ));
        w.interrupt_on(None).unwrap();
        assert_eq!(count(&w, "SELECT count(*) FROM files"), 250);
        assert_eq!(count(&w, "SELECT count(*) FROM instances"), 250);
        assert_eq!(count(&w, stale), 1, "left for the next run");
        assert_eq!(
            count(&w, "SELECT count(*) FROM text_terms"),
            terms,
            "rolled back whole"
        );
        // The next run's writer finishes the job, ids not taken from the
        // rolled-back transaction.
        w.apply(&batch(250, 400)).unwrap();
        assert!(w.refresh_derived().unwrap());
        assert_eq!(count(&w, "SELECT count(*) FROM instances"), 400);
        assert_eq!(count(&w, "SELECT count(*) FROM text_terms"), 400);
        assert_eq!(count(&w, stale), 0);
    }
}
