//! The index as Parquet tables for engines beyond one workstation (issue
//! #18): `patients/`, `studies/study_year=Y/`, `series/` and `instances/`
//! under `study_year=Y/modality=M/`, `files/`, with `_manifest.json` and
//! `_schema.json`. Private by default: keyed pseudonyms replace
//! identifiers, direct identifiers are left out, dates are shifted as the
//! de-identification shifts them unless kept. Part files are named by the
//! workspace and the site, so several workspaces export into one folder
//! and a re-export replaces only its own parts.

mod part;
pub mod tables;

use crate::cancel::CancelToken;
use crate::deid::pseudonym::{self, Key};
use part::Part;
use rusqlite::Connection;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tables::{Table, Value};

/// The version of the exported layout and columns.
pub const LAKE_VERSION: u32 = 2;

/// Rows buffered per part before a row group is written, and in all.
const ROW_GROUP: usize = 65_536;
const BUFFERED: usize = 262_144;

#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the Parquet file {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("cannot read the index: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{0}")]
    Refused(String),
    #[error("the export was cancelled; the folder keeps its previous parts")]
    Cancelled,
}

/// How to export.
#[derive(Debug, Clone)]
pub struct LakeOptions {
    /// Write identifiers, names, birth dates, accession numbers and paths.
    pub with_phi: bool,
    /// Keep dates as they are (the de-identification's Retain Longitudinal
    /// Full Dates option); otherwise shift them per patient.
    pub keep_dates: bool,
    /// The site named in the part files (letters, digits, `-`, `_`).
    pub site: String,
    /// Also write the OMOP Medical Imaging CDM tables with these concepts.
    pub omop: Option<ConceptMap>,
}

/// The user's OMOP concepts for DICOM values: a CSV with columns `kind`
/// (`modality`, `body_part` or `procedure`), `value` (as in the files;
/// case and surrounding spaces ignored) and `concept_id`.
#[derive(Debug, Clone, Default)]
pub struct ConceptMap {
    concepts: HashMap<(String, String), i32>,
}

impl ConceptMap {
    pub fn read(path: &Path) -> Result<ConceptMap, LakeError> {
        let bad = |m: String| LakeError::Refused(format!("{}: {m}", path.display()));
        let mut r = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
        let headers = r.headers().map_err(|e| bad(e.to_string()))?.clone();
        let at = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    bad(format!(
                        "no `{name}` column (the concept map needs kind, value, concept_id)"
                    ))
                })
        };
        let (k, v, c) = (at("kind")?, at("value")?, at("concept_id")?);
        let mut concepts = HashMap::new();
        for (line, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| bad(e.to_string()))?;
            let kind = rec.get(k).unwrap_or("").trim().to_ascii_lowercase();
            if !matches!(kind.as_str(), "modality" | "body_part" | "procedure") {
                return Err(bad(format!(
                    "row {}: kind '{kind}' is not modality, body_part or procedure",
                    line + 2
                )));
            }
            let concept: i32 = rec.get(c).unwrap_or("").trim().parse().map_err(|_| {
                bad(format!(
                    "row {}: concept_id is not a whole number",
                    line + 2
                ))
            })?;
            let value = rec.get(v).unwrap_or("").trim().to_ascii_uppercase();
            concepts.insert((kind, value), concept);
        }
        Ok(ConceptMap { concepts })
    }

    /// The concept for a value, 0 when the map has none.
    fn concept(&self, kind: &str, value: Option<&str>) -> i32 {
        value
            .and_then(|v| {
                self.concepts
                    .get(&(kind.to_string(), v.trim().to_ascii_uppercase()))
                    .copied()
            })
            .unwrap_or(0)
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct LakeReport {
    pub out: PathBuf,
    pub workspace: String,
    pub site: String,
    pub holds_phi: bool,
    pub dates: &'static str,
    pub rows: BTreeMap<String, u64>,
    pub part_files: u64,
    pub bytes: u64,
    pub seconds: f64,
}

/// A path component for a partition value: Hive style `name=value`, the
/// value kept to letters, digits, `-`, `_`, `.` (others become `_`).
fn partition_value(v: &str) -> String {
    let t = v.trim();
    if t.is_empty() {
        return "unknown".into();
    }
    t.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Checks a site name for part file names.
pub fn check_site(site: &str) -> Result<(), LakeError> {
    if site.is_empty()
        || site.len() > 64
        || !site
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        return Err(LakeError::Refused(format!(
            "'{site}' cannot name part files: use 1-64 letters, digits, '-' or '_'"
        )));
    }
    Ok(())
}

/// What identifies rows across workspaces that share the key.
struct Ids<'a> {
    key: &'a Key,
}

impl Ids<'_> {
    fn id(&self, label: &str, value: &str) -> i64 {
        (pseudonym::keyed_u64(self.key, label, value) & (i64::MAX as u64)) as i64
    }
}

/// "YYYY-MM-DD" (or YYYYMMDD) as days since 1970-01-01.
fn days(date: &str) -> Option<i64> {
    let digits: String = date.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 8 {
        return None;
    }
    let (y, m, d) = (
        digits[..4].parse().ok()?,
        digits[4..6].parse().ok()?,
        digits[6..].parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(crate::deid::dates::days_from_civil(y, m, d))
}

fn year_of(days: i64) -> i64 {
    crate::deid::dates::civil_from_days(days).0
}

fn path_text(root: &[u8], rel: &[u8]) -> String {
    use std::os::unix::ffi::OsStrExt;
    let p = Path::new(std::ffi::OsStr::from_bytes(root)).join(std::ffi::OsStr::from_bytes(rel));
    p.to_string_lossy().into_owned()
}

/// The open part files of one export run.
struct Parts<'a> {
    out: &'a Path,
    stem: String,
    metadata: Vec<(String, String)>,
    /// Open parts by table, then by partition path.
    open: HashMap<&'static str, HashMap<String, Part>>,
    buffered: usize,
    done: Vec<(PathBuf, u64)>,
    with_phi: bool,
}

impl Parts<'_> {
    /// The part's final name, and the hidden name it is written under.
    fn names(&self, table: &Table, partition: &str) -> (PathBuf, PathBuf) {
        let dir = self.out.join(table.name).join(partition);
        let name = format!("{}.parquet", self.stem);
        (dir.join(&name), dir.join(format!(".{name}.inprogress")))
    }

    fn push(
        &mut self,
        table: &'static Table,
        partition: &str,
        row: Vec<Value>,
    ) -> Result<(), LakeError> {
        let exists = self
            .open
            .get(table.name)
            .is_some_and(|t| t.contains_key(partition));
        if !exists {
            let (_, temp) = self.names(table, partition);
            let dir = temp.parent().expect("a part has a folder").to_path_buf();
            crate::private_fs::create_dir_all(&dir).map_err(|source| LakeError::Io {
                path: dir.clone(),
                source,
            })?;
            // A leftover of an interrupted run of this workspace.
            let _ = std::fs::remove_file(&temp);
            let mut metadata = self.metadata.clone();
            metadata.push((
                "pacs_cohort.table_schema".into(),
                serde_json::to_string(table).unwrap_or_default(),
            ));
            let part = Part::create(temp, table, table.written(self.with_phi), metadata)?;
            self.open
                .entry(table.name)
                .or_default()
                .insert(partition.to_string(), part);
        }
        let part = self
            .open
            .get_mut(table.name)
            .and_then(|t| t.get_mut(partition))
            .expect("inserted above");
        if row.len() != part.width() {
            // A row built for the other privacy mode would shift columns.
            return Err(LakeError::Refused(format!(
                "internal error: a {} row has {} values for {} columns; nothing was replaced",
                table.name,
                row.len(),
                part.width()
            )));
        }
        part.rows.push(row);
        self.buffered += 1;
        if part.rows.len() >= ROW_GROUP {
            self.buffered -= part.rows.len();
            part.flush()?;
        }
        if self.buffered >= BUFFERED {
            // Bounded memory: write the largest buffer out.
            if let Some(p) = self
                .open
                .values_mut()
                .flat_map(|t| t.values_mut())
                .max_by_key(|p| p.rows.len())
            {
                self.buffered -= p.rows.len();
                p.flush()?;
            }
        }
        Ok(())
    }

    /// Closes every part of `table` (its rows are all pushed).
    fn finish_table(&mut self, table: &Table) -> Result<u64, LakeError> {
        let mut rows = 0;
        let open = self.open.remove(table.name).unwrap_or_default();
        for (partition, part) in open {
            self.buffered -= part.rows.len();
            let (final_path, _) = self.names(table, &partition);
            let (_, n) = part.finish()?;
            rows += n;
            self.done.push((final_path, n));
        }
        Ok(rows)
    }
}

/// What the reading thread sends the writing thread.
enum Msg {
    Row(&'static Table, Arc<str>, Vec<Value>),
    /// Every row of the table is sent: close its parts, answer the rows.
    Finish(&'static Table),
}

/// The reading side of the pipeline: rows go to the writer thread (which
/// encodes and compresses) in batches, so reading SQLite and writing
/// Parquet use both cores.
struct Sink {
    tx: std::sync::mpsc::SyncSender<Vec<Msg>>,
    replies: std::sync::mpsc::Receiver<Result<u64, LakeError>>,
    pending: Vec<Msg>,
}

impl Sink {
    const BATCH: usize = 4096;

    fn send(&mut self) -> Result<(), LakeError> {
        let batch = std::mem::take(&mut self.pending);
        self.tx
            .send(batch)
            .map_err(|_| LakeError::Refused("the Parquet writer stopped unexpectedly".into()))
    }

    fn push(
        &mut self,
        table: &'static Table,
        partition: &Arc<str>,
        row: Vec<Value>,
    ) -> Result<(), LakeError> {
        self.pending.push(Msg::Row(table, partition.clone(), row));
        if self.pending.len() >= Self::BATCH {
            self.send()?;
        }
        Ok(())
    }

    fn finish(&mut self, table: &'static Table) -> Result<u64, LakeError> {
        self.pending.push(Msg::Finish(table));
        self.send()?;
        self.replies.recv().unwrap_or_else(|_| {
            Err(LakeError::Refused(
                "the Parquet writer stopped unexpectedly".into(),
            ))
        })
    }
}

/// The writing side: pushes rows into parts until the channel closes;
/// the first error is answered at the next `Finish`.
fn write_rows(
    parts: &mut Parts,
    rx: std::sync::mpsc::Receiver<Vec<Msg>>,
    replies: std::sync::mpsc::Sender<Result<u64, LakeError>>,
) {
    let mut failed: Option<LakeError> = None;
    for batch in rx {
        for m in batch {
            match m {
                Msg::Row(table, partition, row) => {
                    if failed.is_none() {
                        if let Err(e) = parts.push(table, &partition, row) {
                            failed = Some(e);
                        }
                    }
                }
                Msg::Finish(table) => {
                    let r = match failed.take() {
                        Some(e) => Err(e),
                        None => parts.finish_table(table),
                    };
                    let _ = replies.send(r);
                }
            }
        }
    }
}

/// Writes the index of `conn` into `out`. `workspace`: a fingerprint that
/// names this workspace's parts.
pub fn export(
    conn: &Connection,
    key: &Key,
    workspace: &str,
    out: &Path,
    opts: &LakeOptions,
    cancel: &CancelToken,
) -> Result<LakeReport, LakeError> {
    let started = std::time::Instant::now();
    check_site(&opts.site)?;
    let manifest_path = out.join("_manifest.json");
    let mut manifest = Manifest::read(&manifest_path)?;
    if let Some(other) = manifest
        .workspaces
        .iter()
        .find(|(fp, w)| fp.as_str() != workspace && w.holds_phi != opts.with_phi)
    {
        return Err(LakeError::Refused(format!(
            "{} already holds parts {} PHI (workspace {}); export {} --with-phi into another folder",
            out.display(),
            if other.1.holds_phi { "with" } else { "without" },
            other.0,
            if opts.with_phi { "without" } else { "with" },
        )));
    }
    if let Some((fp, w)) = manifest
        .workspaces
        .iter()
        .find(|(fp, w)| fp.as_str() != workspace && w.lake_version != LAKE_VERSION)
    {
        // Engines read every part of a table as one: parts of two layouts
        // would not line up.
        return Err(LakeError::Refused(format!(
            "{} holds parts of workspace {fp} written by an earlier version (layout {}, this one writes {LAKE_VERSION}); re-export that workspace with this version first, or export into another folder",
            out.display(),
            w.lake_version
        )));
    }
    crate::private_fs::create_dir_all(out).map_err(|source| LakeError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let dates = if opts.keep_dates || opts.with_phi {
        "kept"
    } else {
        "shifted"
    };
    let mut parts = Parts {
        out,
        stem: format!("part-{workspace}-{}", opts.site),
        metadata: vec![
            ("pacs_cohort.lake_version".into(), LAKE_VERSION.to_string()),
            ("pacs_cohort.workspace".into(), workspace.to_string()),
            ("pacs_cohort.site".into(), opts.site.clone()),
            ("pacs_cohort.holds_phi".into(), opts.with_phi.to_string()),
            ("pacs_cohort.dates".into(), dates.into()),
        ],
        open: HashMap::new(),
        buffered: 0,
        done: Vec::new(),
        with_phi: opts.with_phi,
    };
    let result = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Msg>>(16);
        let (reply_tx, replies) = std::sync::mpsc::channel();
        let parts = &mut parts;
        let writer = std::thread::Builder::new()
            .name("pacs-lake-writer".into())
            .spawn_scoped(scope, move || write_rows(parts, rx, reply_tx))
            .map_err(|source| LakeError::Io {
                path: out.to_path_buf(),
                source,
            })?;
        let mut sink = Sink {
            tx,
            replies,
            pending: Vec::new(),
        };
        let result = write_tables(conn, key, &mut sink, opts, cancel);
        drop(sink);
        if writer.join().is_err() {
            return Err(LakeError::Refused(
                "the Parquet writer stopped unexpectedly".into(),
            ));
        }
        result
    });
    if let Err(e) = result {
        // Nothing of this run replaces anything: drop its hidden parts.
        for (_, t) in parts.open.drain() {
            for (_, p) in t {
                let _ = std::fs::remove_file(&p.path);
            }
        }
        for (final_path, _) in &parts.done {
            let temp = final_path.with_file_name(format!(
                ".{}.inprogress",
                final_path.file_name().unwrap_or_default().to_string_lossy()
            ));
            let _ = std::fs::remove_file(temp);
        }
        return Err(e);
    }
    let rows = result.expect("checked above");
    // Replace this workspace's parts: remove the ones no longer written,
    // then move the new ones into place.
    let keep: std::collections::HashSet<&PathBuf> = parts.done.iter().map(|d| &d.0).collect();
    for table in tables::ALL.iter().chain(&tables::OMOP) {
        remove_own_parts(&out.join(table.name), &parts.stem, &keep)?;
    }
    let mut bytes = 0;
    for (final_path, _) in &parts.done {
        let temp = final_path.with_file_name(format!(
            ".{}.inprogress",
            final_path.file_name().unwrap_or_default().to_string_lossy()
        ));
        std::fs::rename(&temp, final_path).map_err(|source| LakeError::Io {
            path: final_path.clone(),
            source,
        })?;
        bytes += std::fs::metadata(final_path).map(|m| m.len()).unwrap_or(0);
    }
    manifest.workspaces.insert(
        workspace.to_string(),
        WorkspaceEntry {
            site: opts.site.clone(),
            exported_at: crate::clock::now_utc(),
            holds_phi: opts.with_phi,
            dates: dates.into(),
            pseudonym_recipe: pseudonym::RECIPE_VERSION,
            lake_version: LAKE_VERSION,
            rows: rows.clone(),
        },
    );
    manifest.write(&manifest_path, out)?;
    let schema = serde_json::json!({
        "lake_version": LAKE_VERSION,
        "tables": tables::ALL.iter().map(|t| serde_json::json!({
            "name": t.name,
            "partitions": t.partitions.iter().map(|(n, k)| serde_json::json!({"name": n, "type": k.sql()})).collect::<Vec<_>>(),
            "columns": t.columns.iter().map(|c| serde_json::json!({
                "name": c.name, "type": c.kind.sql(), "nullable": c.nullable,
                "dicom_keyword": c.keyword, "dicom_tag": c.tag,
                "written": if c.privacy == tables::Privacy::Always { "always" } else { "with --with-phi only" },
                "description": c.description,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let schema_path = out.join("_schema.json");
    crate::private_fs::write(
        &schema_path,
        &serde_json::to_vec_pretty(&schema).unwrap_or_default(),
    )
    .map_err(|source| LakeError::Io {
        path: schema_path,
        source,
    })?;
    Ok(LakeReport {
        out: out.to_path_buf(),
        workspace: workspace.to_string(),
        site: opts.site.clone(),
        holds_phi: opts.with_phi,
        dates,
        rows,
        part_files: parts.done.len() as u64,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Removes `stem`'s part files under `dir` except those in `keep`.
fn remove_own_parts(
    dir: &Path,
    stem: &str,
    keep: &std::collections::HashSet<&PathBuf>,
) -> Result<(), LakeError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let own = format!("{stem}.parquet");
    for e in entries.flatten() {
        let path = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_own_parts(&path, stem, keep)?;
        } else if e.file_name().to_string_lossy() == own && !keep.contains(&path) {
            std::fs::remove_file(&path).map_err(|source| LakeError::Io { path, source })?;
        }
    }
    Ok(())
}

/// A file's reason without the paths it names (a duplicate names its
/// canonical file; paths can hold names and dates).
fn without_paths(reason: &str) -> String {
    match reason.find(" /") {
        Some(at) => format!("{} (path withheld)", &reason[..at]),
        None => reason.to_string(),
    }
}

/// Per patient: its id, the date offset and the written key.
struct PatientFacts {
    id: i64,
    offset: i64,
}

/// Per study: its id, its patient's id and the study year partition.
struct StudyFacts {
    id: i64,
    patient: i64,
    year: i64,
    /// The (shifted) study date in days, and the age then.
    date: Option<i64>,
    age: Option<i64>,
    /// The written study UID.
    uid: String,
}

fn write_tables(
    conn: &Connection,
    key: &Key,
    parts: &mut Sink,
    opts: &LakeOptions,
    cancel: &CancelToken,
) -> Result<BTreeMap<String, u64>, LakeError> {
    let ids = Ids { key };
    let phi = opts.with_phi;
    let shift = !(opts.keep_dates || phi);
    let private_text = |s: Option<String>| -> Value {
        match s {
            Some(t) if !phi => Value::S(crate::deid::apply::clean_descriptor(&t)),
            other => Value::text(other),
        }
    };
    let uid = |u: String| if phi { u } else { pseudonym::uid(key, &u) };
    let check = || {
        if cancel.is_cancelled() {
            Err(LakeError::Cancelled)
        } else {
            Ok(())
        }
    };
    let mut rows = BTreeMap::new();
    let none: Arc<str> = Arc::from("");
    let mut years: HashMap<i64, Arc<str>> = HashMap::new();

    // Patients.
    let mut patients: HashMap<i64, PatientFacts> = HashMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT id, issuer, patient_id, patient_name, sex, birth_date FROM patients ORDER BY id",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let (row_id, issuer, pid): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let id = ids.id("lake-patient", &format!("{issuer}\0{pid}"));
            let offset = if shift {
                pseudonym::date_offset_days(key, &issuer, &pid)
            } else {
                0
            };
            let birth = r
                .get::<_, Option<String>>(5)?
                .and_then(|d| days(&d))
                .map_or(Value::Null, Value::I);
            let mut row = vec![
                Value::I(id),
                Value::S(if phi {
                    pid.clone()
                } else {
                    pseudonym::patient_id(key, &issuer, &pid, "P")
                }),
                Value::text(r.get(4)?),
            ];
            if phi {
                row.push(Value::S(issuer.clone()));
                row.push(Value::text(r.get(3)?));
                row.push(birth);
            }
            parts.push(&tables::PATIENTS, &none, row)?;
            patients.insert(row_id, PatientFacts { id, offset });
        }
        rows.insert("patients".into(), parts.finish(&tables::PATIENTS)?);
    }
    check()?;

    // Studies.
    let mut studies: HashMap<i64, StudyFacts> = HashMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT id, patient_ref, study_uid, study_date, study_time, description, patient_age,
                    age_at_study_years, accession_number, referring_physician FROM studies",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let (row_id, patient_ref): (i64, i64) = (r.get(0)?, r.get(1)?);
            let Some(p) = patients.get(&patient_ref) else {
                continue;
            };
            let study_uid: String = r.get(2)?;
            let id = ids.id("lake-study", &study_uid);
            let date = r
                .get::<_, Option<String>>(3)?
                .and_then(|d| days(&d))
                .map(|d| d + p.offset);
            let year = date.map_or(0, year_of);
            let mut age: Option<i64> = r.get(7)?;
            let mut age_text: Option<String> = r.get(6)?;
            if !phi {
                age = age.map(|a| a.min(90));
                age_text = age_text.and_then(|a| crate::deid::dates::cap_age(&a));
            }
            let mut row = vec![
                Value::I(id),
                Value::I(p.id),
                Value::S(uid(study_uid)),
                date.map_or(Value::Null, Value::I),
                Value::text(r.get(4)?),
                private_text(r.get(5)?),
                Value::text(age_text),
                Value::int(age),
                Value::I(row_id),
            ];
            if phi {
                row.push(Value::text(r.get(8)?));
                row.push(Value::text(r.get(9)?));
            }
            let written_uid = row[2].as_str().to_string();
            parts.push(
                &tables::STUDIES,
                &years
                    .entry(year)
                    .or_insert_with(|| Arc::from(format!("study_year={year}")))
                    .clone(),
                row,
            )?;
            studies.insert(
                row_id,
                StudyFacts {
                    id,
                    patient: p.id,
                    year,
                    date,
                    age,
                    uid: written_uid,
                },
            );
        }
        rows.insert("studies".into(), parts.finish(&tables::STUDIES)?);
    }
    check()?;

    // Series.
    let mut series: HashMap<i64, (i64, i64, i64, Arc<str>)> = HashMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT id, study_ref, series_uid, modality, body_part, series_number, description,
                    protocol_name, institution_name, station_name, manufacturer, model_name
             FROM series",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let (row_id, study_ref): (i64, i64) = (r.get(0)?, r.get(1)?);
            let Some(st) = studies.get(&study_ref) else {
                continue;
            };
            let series_uid: String = r.get(2)?;
            let id = ids.id("lake-series", &series_uid);
            let partition: Arc<str> = Arc::from(format!(
                "study_year={}/modality={}",
                st.year,
                partition_value(&r.get::<_, Option<String>>(3)?.unwrap_or_default())
            ));
            let row = vec![
                Value::I(id),
                Value::I(st.id),
                Value::I(st.patient),
                Value::S(uid(series_uid)),
                Value::text(r.get(4)?),
                Value::int(r.get(5)?),
                private_text(r.get(6)?),
                private_text(r.get(7)?),
                Value::text(r.get(8)?),
                Value::text(r.get(9)?),
                Value::text(r.get(10)?),
                Value::text(r.get(11)?),
            ];
            parts.push(&tables::SERIES, &partition, row)?;
            series.insert(row_id, (id, st.id, st.patient, partition));
        }
        rows.insert("series".into(), parts.finish(&tables::SERIES)?);
    }
    check()?;

    // Instances.
    {
        let mut stmt = conn.prepare(
            "SELECT i.id, i.series_ref, i.sop_uid, i.sop_class_uid, i.instance_number,
                    i.image_type, i.rows, i.columns, i.frames, i.bits_allocated, i.photometric,
                    i.transfer_syntax_uid, i.slice_thickness_mm, i.kvp, i.contrast_agent,
                    i.burned_in_annotation, r.path, f.rel_path
             FROM instances i JOIN files f ON f.id = i.file_ref JOIN roots r ON r.id = f.root_ref",
        )?;
        let mut q = stmt.query([])?;
        let mut n = 0u64;
        while let Some(r) = q.next()? {
            n += 1;
            if n.is_multiple_of(16_384) {
                check()?;
            }
            let series_ref: i64 = r.get(1)?;
            let Some((series_id, study_id, patient_id, partition)) = series.get(&series_ref) else {
                continue;
            };
            let sop: String = r.get(2)?;
            let contrast: Option<String> = r.get(14)?;
            let has_contrast = contrast.as_deref().is_some_and(|c| !c.is_empty());
            let float = |v: Option<f64>| v.map_or(Value::Null, Value::F);
            let mut row = vec![
                Value::I(ids.id("lake-instance", &sop)),
                Value::I(*series_id),
                Value::I(*study_id),
                Value::I(*patient_id),
                Value::S(uid(sop)),
                Value::text(r.get(3)?),
                Value::int(r.get(4)?),
                Value::text(r.get(5)?),
                Value::int(r.get(6)?),
                Value::int(r.get(7)?),
                Value::int(r.get(8)?),
                Value::int(r.get(9)?),
                Value::text(r.get(10)?),
                Value::text(r.get(11)?),
                float(r.get(12)?),
                float(r.get(13)?),
                private_text(contrast),
                Value::text(r.get(15)?),
                Value::I(i64::from(has_contrast)),
            ];
            if phi {
                let root: Vec<u8> = r.get(16)?;
                let rel: Vec<u8> = r.get(17)?;
                row.push(Value::S(path_text(&root, &rel)));
            }
            parts.push(&tables::INSTANCES, partition, row)?;
        }
        rows.insert("instances".into(), parts.finish(&tables::INSTANCES)?);
    }
    check()?;

    // Files.
    {
        let mut stmt = conn.prepare(
            "SELECT r.path, f.rel_path, f.status, f.reason, f.size_bytes, f.sop_uid
             FROM files f JOIN roots r ON r.id = f.root_ref ORDER BY f.id",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let root: Vec<u8> = r.get(0)?;
            let rel: Vec<u8> = r.get(1)?;
            let path = path_text(&root, &rel);
            let mut row = vec![
                Value::I(ids.id("lake-file", &path)),
                Value::S(r.get(2)?),
                Value::text(if phi {
                    r.get(3)?
                } else {
                    r.get::<_, Option<String>>(3)?.map(|t| without_paths(&t))
                }),
                Value::I(r.get(4)?),
                Value::text(r.get::<_, Option<String>>(5)?.map(&uid)),
            ];
            if phi {
                row.push(Value::S(path));
            }
            parts.push(&tables::FILES, &none, row)?;
        }
        rows.insert("files".into(), parts.finish(&tables::FILES)?);
    }
    if let Some(map) = &opts.omop {
        check()?;
        write_omop(conn, key, parts, phi, map, &patients, &studies, &mut rows)?;
    }
    Ok(rows)
}

/// The OMOP Medical Imaging CDM rows: `person`, `procedure_occurrence` per
/// study, `image_occurrence` per series, with the same ids as the tables.
#[allow(clippy::too_many_arguments)]
fn write_omop(
    conn: &Connection,
    key: &Key,
    parts: &mut Sink,
    phi: bool,
    map: &ConceptMap,
    patients: &HashMap<i64, PatientFacts>,
    studies: &HashMap<i64, StudyFacts>,
    rows: &mut BTreeMap<String, u64>,
) -> Result<(), LakeError> {
    let none: Arc<str> = Arc::from("");
    // The first dated study of each patient gives a year of birth when
    // the birth date is not written.
    let mut first: HashMap<i64, (i64, i64)> = HashMap::new();
    {
        let mut stmt = conn.prepare("SELECT id, patient_ref FROM studies")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let (sid, pref): (i64, i64) = (r.get(0)?, r.get(1)?);
            if let Some(st) = studies.get(&sid) {
                if let (Some(d), Some(age)) = (st.date, st.age) {
                    let e = first.entry(pref).or_insert((d, age));
                    if d < e.0 {
                        *e = (d, age);
                    }
                }
            }
        }
    }
    {
        let mut stmt =
            conn.prepare("SELECT id, issuer, patient_id, sex, birth_date FROM patients")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let row_id: i64 = r.get(0)?;
            let Some(p) = patients.get(&row_id) else {
                continue;
            };
            let (issuer, pid): (String, String) = (r.get(1)?, r.get(2)?);
            let sex: Option<String> = r.get(3)?;
            let birth_year = if phi {
                r.get::<_, Option<String>>(4)?
                    .and_then(|d| days(&d))
                    .map(year_of)
            } else {
                None
            }
            .or_else(|| first.get(&row_id).map(|(d, age)| year_of(*d) - age));
            let gender = match sex.as_deref().map(str::trim) {
                Some("M") => 8507,
                Some("F") => 8532,
                _ => 0,
            };
            let row = vec![
                Value::I(p.id),
                Value::I(gender),
                Value::int(birth_year),
                Value::I(0),
                Value::I(0),
                Value::S(if phi {
                    pid
                } else {
                    pseudonym::patient_id(key, &issuer, &pid, "P")
                }),
                Value::text(sex),
            ];
            parts.push(&tables::OMOP_PERSON, &none, row)?;
        }
        rows.insert("omop/person".into(), parts.finish(&tables::OMOP_PERSON)?);
    }
    {
        let mut stmt = conn.prepare("SELECT id, description FROM studies")?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let Some(st) = studies.get(&r.get::<_, i64>(0)?) else {
                continue;
            };
            let description: Option<String> = r.get(1)?;
            let row = vec![
                Value::I(st.id),
                Value::I(st.patient),
                Value::I(i64::from(map.concept("procedure", description.as_deref()))),
                st.date.map_or(Value::Null, Value::I),
                Value::I(32817),
                Value::Null,
                Value::text(if phi {
                    description
                } else {
                    description.map(|d| crate::deid::apply::clean_descriptor(&d))
                }),
            ];
            parts.push(&tables::OMOP_PROCEDURE, &none, row)?;
        }
        rows.insert(
            "omop/procedure_occurrence".into(),
            parts.finish(&tables::OMOP_PROCEDURE)?,
        );
    }
    {
        let mut stmt = conn.prepare(
            "SELECT s.id, s.study_ref, s.series_uid, s.modality, s.body_part,
                    (SELECT r.path FROM instances i JOIN files f ON f.id = i.file_ref
                       JOIN roots r ON r.id = f.root_ref WHERE i.series_ref = s.id ORDER BY i.id LIMIT 1),
                    (SELECT f.rel_path FROM instances i JOIN files f ON f.id = i.file_ref
                      WHERE i.series_ref = s.id ORDER BY i.id LIMIT 1)
             FROM series s",
        )?;
        let ids = Ids { key };
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let Some(st) = studies.get(&r.get::<_, i64>(1)?) else {
                continue;
            };
            let series_uid: String = r.get(2)?;
            let id = ids.id("lake-series", &series_uid);
            let modality: Option<String> = r.get(3)?;
            let body: Option<String> = r.get(4)?;
            let mut row = vec![
                Value::I(id),
                Value::I(st.patient),
                Value::I(st.id),
                Value::Null,
                Value::I(i64::from(map.concept("body_part", body.as_deref()))),
                Value::Null,
            ];
            if phi {
                let root: Option<Vec<u8>> = r.get(5)?;
                let rel: Option<Vec<u8>> = r.get(6)?;
                row.push(Value::text(root.zip(rel).map(|(root, rel)| {
                    let p = path_text(&root, &rel);
                    Path::new(&p)
                        .parent()
                        .map(|d| d.to_string_lossy().into_owned())
                        .unwrap_or(p)
                })));
            }
            row.extend([
                st.date.map_or(Value::Null, Value::I),
                Value::S(st.uid.clone()),
                Value::S(if phi {
                    series_uid
                } else {
                    pseudonym::uid(key, &series_uid)
                }),
                Value::I(i64::from(map.concept("modality", modality.as_deref()))),
            ]);
            parts.push(&tables::OMOP_IMAGE, &none, row)?;
        }
        rows.insert(
            "omop/image_occurrence".into(),
            parts.finish(&tables::OMOP_IMAGE)?,
        );
    }
    Ok(())
}

/// `_manifest.json`: one entry per workspace that exported into the folder.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
struct Manifest {
    #[serde(default)]
    workspaces: BTreeMap<String, WorkspaceEntry>,
}

#[derive(Debug, Serialize, serde::Deserialize)]
struct WorkspaceEntry {
    site: String,
    exported_at: String,
    holds_phi: bool,
    dates: String,
    pseudonym_recipe: u32,
    /// The layout its parts were written with (1 before the field existed).
    #[serde(default = "first_layout")]
    lake_version: u32,
    rows: BTreeMap<String, u64>,
}

fn first_layout() -> u32 {
    1
}

impl Manifest {
    fn read(path: &Path) -> Result<Manifest, LakeError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                    LakeError::Refused(format!(
                        "{} is not a manifest this app wrote ({e}); export into an empty folder",
                        path.display()
                    ))
                })?;
                Ok(serde_json::from_value(v["workspaces_detail"].clone()).unwrap_or_default())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(source) => Err(LakeError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn write(&self, path: &Path, out: &Path) -> Result<(), LakeError> {
        let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
        for w in self.workspaces.values() {
            for (t, n) in &w.rows {
                *totals.entry(t.as_str()).or_default() += n;
            }
        }
        let v = serde_json::json!({
            "format": "pacs-cohort index export",
            "lake_version": LAKE_VERSION,
            "schema_version": LAKE_VERSION,
            "app_version": env!("CARGO_PKG_VERSION"),
            "holds_phi": self.workspaces.values().any(|w| w.holds_phi),
            "rows": totals,
            "workspaces": self.workspaces.keys().collect::<Vec<_>>(),
            "workspaces_detail": self,
            "layout": "patients/, studies/study_year=Y/, series/ and instances/study_year=Y/modality=M/, files/; study_year=0: unknown date",
        });
        let _ = out;
        crate::private_fs::write(path, &serde_json::to_vec_pretty(&v).unwrap_or_default()).map_err(
            |source| LakeError::Io {
                path: path.to_path_buf(),
                source,
            },
        )
    }
}
