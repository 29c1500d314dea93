//! The façade the CLI and the GUI share: opens a workspace, runs jobs on
//! worker threads with progress events and cancellation, answers queries.
//! It owns no UI types: a worker wakes the UI through a plain callback.

mod analysis;
mod biomarker;
mod burnin;
mod export;
mod job;
mod lake;
mod live;
mod masks;
mod pacs;
mod preview;
mod review;
mod thumbs;

pub use job::{write_in_background, CancelToken, JobEvent, JobHandle};
// What the binary needs of de-identification and export, through the
// façade rather than the modules' internals.
pub use crate::deid::diff::{file_diff, DiffAction, DiffRow};
pub use crate::deid::keyfile;
pub use crate::deid::profile::{Choices as ProfileChoices, Options as ProfileOptions};
pub use crate::export::{
    ExportOptions, ExportPhase, ExportProgress, ExportReport, Finding, Waiver,
};
pub use crate::net::{NetError, Timeouts};
pub use biomarker::{EmphysemaProgress, EmphysemaReport, SeriesFailure, CHEST_CT_RULE};
pub use live::{ColumnEngineState, Evaluator, EvaluatorChoice};
pub use masks::MaskError;
pub use pacs::{retrieve_cache_dir, RetrieveOptions};
pub use preview::DeidentifiedPreview;
pub use review::ReviewError;

use crate::cohort::{self, CohortError};
use crate::index::{self, IndexError, IndexOptions};
use crate::model::{
    AttritionStep, CohortComparison, CohortCounts, CohortSpec, FileRow, FileStatus, IndexProgress,
    IndexSummary, Rule, SavedCohort, SeriesRow, StudyQuery, StudyRow, WorkspaceStatus,
};
use crate::store::{self, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Anything the engine reports as failed; messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("no workspace database yet; run `pacs-cohort index <FOLDER>` first: {0}")]
    NoWorkspace(PathBuf),
    #[error("the job's worker thread stopped unexpectedly")]
    WorkerLost,
    #[error(transparent)]
    Cohort(#[from] CohortError),
    #[error("no saved cohort named '{0}'; `pacs-cohort cohort list` shows the saved ones")]
    CohortNotFound(String),
    #[error(transparent)]
    Link(#[from] crate::link::LinkError),
    #[error(transparent)]
    Key(#[from] crate::deid::keyfile::KeyError),
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    #[error(transparent)]
    Mask(#[from] MaskError),
    #[error(transparent)]
    Review(#[from] ReviewError),
    #[error("this workspace is in aggregate-only mode: only suppressed counts can be shown; ask the workspace owner (`pacs-cohort privacy --aggregate-only false`)")]
    AggregateOnly,
    #[error(transparent)]
    Analysis(#[from] crate::analysis::AnalysisError),
    /// Talking to a PACS failed.
    #[error(transparent)]
    Net(crate::net::NetError),
    /// A PACS node's settings or a harvest/retrieval request is not usable.
    #[error("{0}")]
    Pacs(String),
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    /// An image that cannot be read, masked or encoded for the preview.
    #[error("{0}")]
    Preview(String),
}

/// Who may see what in this workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Privacy {
    /// Only suppressed aggregate counts are shown, on screen too; row-level
    /// views and manifests are refused.
    pub aggregate_only: bool,
    /// Counts 1..=threshold are suppressed in released output (default 10).
    pub release_threshold: u64,
}

/// A workspace: one SQLite database (the index and, later, user data).
#[derive(Debug, Clone)]
pub struct Engine {
    db: PathBuf,
    /// The in-memory column engine, shared by clones (`live`).
    columns: Arc<live::ColumnSlot>,
}

impl Engine {
    /// A folder to add as an archive: its canonical path, or why it cannot
    /// be added (for the GUI's worker: the UI thread touches no files).
    pub fn resolve_archive(&self, p: &Path) -> Result<PathBuf, String> {
        if !p.is_dir() {
            return Err(format!(
                "not a folder, or it does not exist; check the path: {}",
                p.display()
            ));
        }
        Ok(std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
    }

    /// The default workspace database: `<user data dir>/pacs-cohort/workspace.db`.
    pub fn default_db_path() -> PathBuf {
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .or_else(|| std::env::var_os("APPDATA").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("pacs-cohort").join("workspace.db")
    }

    /// Opens (creating and migrating if needed) the workspace at `db`.
    pub fn open(db: impl Into<PathBuf>) -> Result<Engine, EngineError> {
        let db = db.into();
        drop(store::open_rw(&db)?);
        Ok(Engine::at(db))
    }

    /// Attaches to an existing workspace without writing to it.
    pub fn open_existing(db: impl Into<PathBuf>) -> Result<Engine, EngineError> {
        let db = db.into();
        if !db.exists() {
            return Err(EngineError::NoWorkspace(db));
        }
        drop(store::open_ro(&db)?);
        Ok(Engine::at(db))
    }

    fn at(db: PathBuf) -> Engine {
        Engine {
            db,
            columns: Arc::default(),
        }
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.db
    }

    /// Indexes `roots` on the calling thread; `on_progress` is called at a
    /// throttled rate. Cancelling keeps everything indexed so far.
    pub fn index(
        &self,
        roots: &[PathBuf],
        opts: &IndexOptions,
        cancel: &CancelToken,
        on_progress: &mut dyn FnMut(&IndexProgress),
    ) -> Result<IndexSummary, EngineError> {
        // Even a failed or cancelled run may have written some of it.
        let _changes = self.changes_columns();
        Ok(index::run(&self.db, roots, opts, cancel, on_progress)?)
    }

    /// Starts an index job on a worker thread. `wake` is called after each
    /// event is queued (the GUI passes `ctx.request_repaint`).
    pub fn spawn_index(
        &self,
        roots: Vec<PathBuf>,
        opts: IndexOptions,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> JobHandle<IndexProgress, IndexSummary> {
        let engine = self.clone();
        job::spawn("pacs-index-job", wake, move |cancel, emit| {
            engine.index(&roots, &opts, cancel, &mut |p| emit(p.clone()))
        })
    }

    /// Counts per level and per file status, roots and the last run.
    pub fn status(&self) -> Result<WorkspaceStatus, EngineError> {
        let conn = store::open_ro(&self.db)?;
        Ok(WorkspaceStatus {
            database: self.db.display().to_string(),
            roots: store::roots(&conn, &self.db)?,
            levels: store::level_counts(&conn, &self.db)?,
            status: store::status_counts(&conn, &self.db)?,
            last_run: store::last_run(&conn, &self.db)?,
            aggregate_only: store::setting(&conn, &self.db, "aggregate_only")?.as_deref()
                == Some("true"),
            release_threshold: store::setting(&conn, &self.db, "release_threshold")?
                .and_then(|v| v.parse().ok())
                .unwrap_or(crate::privacy::DEFAULT_THRESHOLD),
            patient_conflicts: store::sites::conflict_count(&conn, &self.db)?,
        })
    }

    /// Patient keys whose files disagree on name, sex or birth date, with
    /// the files involved (row-level PHI: refused in aggregate-only mode).
    pub fn conflicts(&self) -> Result<Vec<crate::model::PatientConflict>, EngineError> {
        self.ensure_row_level_allowed()?;
        let conn = store::open_ro(&self.db)?;
        Ok(store::sites::conflicts(&conn, &self.db)?)
    }

    /// Studies for the browser (run it off the UI thread).
    pub fn studies(&self, q: &StudyQuery) -> Result<Vec<StudyRow>, EngineError> {
        self.ensure_row_level_allowed()?;
        let conn = store::open_ro(&self.db)?;
        Ok(store::studies(&conn, &self.db, q)?)
    }

    /// The series of one study.
    pub fn series(&self, study_uid: &str) -> Result<Vec<SeriesRow>, EngineError> {
        self.ensure_row_level_allowed()?;
        let conn = store::open_ro(&self.db)?;
        Ok(store::series(&conn, &self.db, study_uid)?)
    }

    /// Drops a root and its indexed files from the workspace (never touches
    /// the files). Returns how many file rows were removed.
    pub fn remove_root(&self, root: &Path) -> Result<u64, EngineError> {
        let _changes = self.changes_columns();
        let mut w = store::Writer::open(&self.db)?;
        Ok(w.remove_root(root)?)
    }

    /// Removes an archive on a worker thread (the GUI's remove job; no
    /// progress, the number of files removed at the end).
    pub fn spawn_remove(
        &self,
        root: PathBuf,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> JobHandle<(), u64> {
        let engine = self.clone();
        job::spawn("pacs-remove-job", wake, move |_, _| {
            engine.remove_root(&root)
        })
    }

    /// The privacy settings of this workspace.
    pub fn privacy(&self) -> Result<Privacy, EngineError> {
        let conn = store::open_ro(&self.db)?;
        let aggregate_only =
            store::setting(&conn, &self.db, "aggregate_only")?.as_deref() == Some("true");
        let release_threshold = store::setting(&conn, &self.db, "release_threshold")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(crate::privacy::DEFAULT_THRESHOLD);
        Ok(Privacy {
            aggregate_only,
            release_threshold,
        })
    }

    /// Changes the privacy settings. Turning aggregate-only mode off is a
    /// deliberate act: the caller should ask who is allowed to.
    pub fn set_privacy(&self, p: Privacy) -> Result<(), EngineError> {
        let conn = store::open_rw(&self.db)?;
        store::set_setting(
            &conn,
            &self.db,
            "aggregate_only",
            if p.aggregate_only { "true" } else { "false" },
        )?;
        store::set_setting(
            &conn,
            &self.db,
            "release_threshold",
            &p.release_threshold.max(1).to_string(),
        )?;
        Ok(())
    }

    /// Row-level views (study browser, file list, manifests) are refused in
    /// aggregate-only mode.
    pub fn ensure_row_level_allowed(&self) -> Result<(), EngineError> {
        if self.privacy()?.aggregate_only {
            return Err(EngineError::AggregateOnly);
        }
        Ok(())
    }

    /// Counts per level and the attrition funnel of a cohort definition.
    /// Read-only; run it off the UI thread.
    pub fn cohort_count(&self, spec: &CohortSpec) -> Result<CohortCounts, EngineError> {
        cohort::validate(spec)?;
        let conn = store::open_ro(&self.db)?;
        // One scan evaluates every rule per entry; the funnel is counted
        // from it (instead of one query per step).
        let (sql, params) = cohort::compile_rule_flags(spec);
        let exclude: Vec<bool> = spec.rules.iter().map(|r| r.exclude).collect();
        let (population, remaining, alone) =
            store::cohorts::funnel(&conn, &self.db, &sql, &params, &exclude)?;
        let all: Vec<&Rule> = spec.rules.iter().collect();
        let levels = store::cohorts::levels(&conn, &self.db, &cohort::compile(spec, &all))?;
        Ok(counts_of(spec, population, &remaining, &alone, levels))
    }

    /// `cohort_count` by the evaluator asked for; says which one answered.
    /// `Auto` (the app's live count) uses the column engine when it is
    /// ready and SQLite until then.
    pub fn cohort_count_by(
        &self,
        spec: &CohortSpec,
        choice: EvaluatorChoice,
    ) -> Result<(CohortCounts, Evaluator), EngineError> {
        let columns = match choice {
            EvaluatorChoice::Sqlite => None,
            EvaluatorChoice::Auto => self.ready_columns(),
            EvaluatorChoice::Memory => Some(self.columns_now()?),
        };
        let Some(columns) = columns else {
            return Ok((self.cohort_count(spec)?, Evaluator::Sqlite));
        };
        cohort::validate(spec)?;
        let c = columns.count(spec).map_err(|e| {
            EngineError::Store(StoreError::Other {
                message: format!("the column engine cannot count this definition: {e}"),
                path: self.db.clone(),
            })
        })?;
        Ok((
            counts_of(spec, c.population, &c.remaining, &c.alone, c.levels),
            Evaluator::Memory,
        ))
    }
}

/// The attrition table from the funnel: entries left after each rule, and
/// how many each rule removes in sequence and on its own.
fn counts_of(
    spec: &CohortSpec,
    population: u64,
    remaining: &[u64],
    alone: &[u64],
    levels: crate::model::LevelCounts,
) -> CohortCounts {
    {
        let mut attrition = Vec::with_capacity(spec.rules.len());
        let mut previous = population;
        for (i, rule) in spec.rules.iter().enumerate() {
            attrition.push(AttritionStep {
                rule: rule.name.clone(),
                exclude: rule.exclude,
                remaining: remaining[i],
                removed: previous.saturating_sub(remaining[i]),
                removed_alone: population.saturating_sub(alone[i]),
            });
            previous = remaining[i];
        }
        CohortCounts {
            unit: spec.unit,
            population,
            levels,
            attrition,
        }
    }
}

impl Engine {
    /// The source-side manifest of a cohort: a header row, then one row per
    /// series of its content. Contains identifiers (PHI).
    pub fn cohort_manifest(&self, spec: &CohortSpec) -> Result<Vec<Vec<String>>, EngineError> {
        self.ensure_row_level_allowed()?;
        cohort::validate(spec)?;
        let conn = store::open_ro(&self.db)?;
        let rules: Vec<&Rule> = spec.rules.iter().collect();
        let mut rows = vec![store::cohorts::MANIFEST_COLUMNS
            .iter()
            .map(|s| s.to_string())
            .collect()];
        rows.extend(store::cohorts::manifest(
            &conn,
            &self.db,
            &cohort::compile(spec, &rules),
        )?);
        Ok(rows)
    }

    /// Counts per level of a cohort's content only (what a live count shows
    /// while editing; `cohort_count` adds the attrition funnel).
    pub fn cohort_levels(
        &self,
        spec: &CohortSpec,
    ) -> Result<crate::model::LevelCounts, EngineError> {
        cohort::validate(spec)?;
        let conn = store::open_ro(&self.db)?;
        let rules: Vec<&Rule> = spec.rules.iter().collect();
        Ok(store::cohorts::levels(
            &conn,
            &self.db,
            &cohort::compile(spec, &rules),
        )?)
    }

    /// Saves a new revision of a cohort; returns the revision number.
    pub fn save_cohort(&self, spec: &CohortSpec) -> Result<u32, EngineError> {
        cohort::validate(spec)?;
        let conn = store::open_rw(&self.db)?;
        Ok(store::cohorts::save(&conn, &self.db, spec)?)
    }

    /// The latest revision of every saved cohort.
    pub fn cohorts(&self) -> Result<Vec<SavedCohort>, EngineError> {
        let conn = store::open_rw(&self.db)?;
        Ok(store::cohorts::list(&conn, &self.db)?)
    }

    /// A saved cohort by name (latest revision unless one is given).
    pub fn cohort(&self, name: &str, revision: Option<u32>) -> Result<SavedCohort, EngineError> {
        let conn = store::open_rw(&self.db)?;
        store::cohorts::get(&conn, &self.db, name, revision)?
            .ok_or_else(|| EngineError::CohortNotFound(name.to_string()))
    }

    /// Renames a saved cohort (all revisions).
    pub fn rename_cohort(&self, from: &str, to: &str) -> Result<(), EngineError> {
        if to.trim().is_empty() {
            return Err(CohortError::NoName.into());
        }
        let conn = store::open_rw(&self.db)?;
        if store::cohorts::rename(&conn, &self.db, from, to.trim())? {
            Ok(())
        } else {
            Err(EngineError::CohortNotFound(from.to_string()))
        }
    }

    /// Saves a copy of a cohort's latest revision under a new name.
    pub fn duplicate_cohort(&self, from: &str, to: &str) -> Result<u32, EngineError> {
        let mut spec = self.cohort(from, None)?.spec;
        spec.name = to.trim().to_string();
        if self.cohorts()?.iter().any(|c| c.name == spec.name) {
            return Err(EngineError::Store(StoreError::Other {
                message: format!(
                    "a cohort named '{}' already exists; choose another name",
                    spec.name
                ),
                path: self.db.clone(),
            }));
        }
        self.save_cohort(&spec)
    }

    /// Deletes a saved cohort with all its revisions.
    pub fn delete_cohort(&self, name: &str) -> Result<(), EngineError> {
        let conn = store::open_rw(&self.db)?;
        if store::cohorts::delete(&conn, &self.db, name)? {
            Ok(())
        } else {
            Err(EngineError::CohortNotFound(name.to_string()))
        }
    }

    /// Overlap of two cohorts' content, in patients and studies.
    pub fn compare_cohorts(
        &self,
        a: &CohortSpec,
        b: &CohortSpec,
    ) -> Result<CohortComparison, EngineError> {
        cohort::validate(a)?;
        cohort::validate(b)?;
        if let Some(columns) = self.ready_columns() {
            // The same members from memory (row ids instead of UIDs: one
            // study row per UID, so the overlaps are the same).
            let content = |s: &CohortSpec| {
                columns.content(s).map_err(|e| {
                    EngineError::Store(StoreError::Other {
                        message: format!("the column engine cannot select this cohort: {e}"),
                        path: self.db.clone(),
                    })
                })
            };
            let ((sa, pa), (sb, pb)) = (content(a)?, content(b)?);
            let overlap = |x: &[i64], y: &[i64]| {
                let y: std::collections::HashSet<&i64> = y.iter().collect();
                x.iter().filter(|v| y.contains(v)).count() as u64
            };
            let pa: Vec<i64> = pa.iter().map(|&p| i64::from(p)).collect();
            let pb: Vec<i64> = pb.iter().map(|&p| i64::from(p)).collect();
            let (bp, bs) = (overlap(&pa, &pb), overlap(&sa, &sb));
            return Ok(CohortComparison {
                both_patients: bp,
                only_a_patients: pa.len() as u64 - bp,
                only_b_patients: pb.len() as u64 - bp,
                both_studies: bs,
                only_a_studies: sa.len() as u64 - bs,
                only_b_studies: sb.len() as u64 - bs,
            });
        }
        let conn = store::open_ro(&self.db)?;
        let keys = |s: &CohortSpec| {
            let rules: Vec<&Rule> = s.rules.iter().collect();
            store::cohorts::content_keys(&conn, &self.db, &cohort::compile(s, &rules))
        };
        let (sa, pa) = keys(a)?;
        let (sb, pb) = keys(b)?;
        Ok(CohortComparison {
            both_patients: pa.intersection(&pb).count() as u64,
            only_a_patients: pa.difference(&pb).count() as u64,
            only_b_patients: pb.difference(&pa).count() as u64,
            both_studies: sa.intersection(&sb).count() as u64,
            only_a_studies: sa.difference(&sb).count() as u64,
            only_b_studies: sb.difference(&sa).count() as u64,
        })
    }

    /// Imports a CSV of clinical data as dataset `name`, linked by `key`
    /// (the CSV column `key_column`, default `patient_id` / `accession_number`).
    /// Column kinds are inferred unless overridden. With `preview`, nothing
    /// is written and the inferred shape is returned.
    pub fn import_ehr_csv(
        &self,
        csv: &Path,
        name: &str,
        how: &crate::model::EhrLink,
        preview: bool,
    ) -> Result<crate::model::EhrImport, EngineError> {
        use crate::link::{self, LinkError};
        let table = link::read_csv(csv)?;
        let key = how.key;
        let key_column = how.key_column.clone().unwrap_or_else(|| match key {
            crate::model::EhrKey::PatientId => "patient_id".into(),
            crate::model::EhrKey::Accession => "accession_number".into(),
        });
        let key_index = table.column(&key_column)?;
        let issuer_index = how
            .issuer_column
            .as_deref()
            .map(|c| table.column(c))
            .transpose()?;
        let overrides = &how.kinds;
        let mut columns = link::infer_kinds(&table);
        for (col, kind) in overrides {
            let c = columns
                .iter_mut()
                .find(|c| &c.name == col)
                .ok_or_else(|| LinkError::UnknownColumn(col.clone()))?;
            c.kind = *kind;
        }
        let mut report = crate::model::EhrImport {
            dataset: name.to_string(),
            key,
            key_column: table.header[key_index].clone(),
            issuer_column: issuer_index.map(|i| table.header[i].clone()),
            columns: columns
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != key_index && Some(*i) != issuer_index)
                .map(|(_, c)| c.clone())
                .collect(),
            rows: table.rows.len() as u64,
            rows_linked: 0,
            values_not_parsed: 0,
        };
        if preview {
            return Ok(report);
        }
        let _changes = self.changes_columns();
        let mut conn = store::open_rw(&self.db)?;
        let source = csv.display().to_string();
        let table = store::ehr::EhrTable {
            name,
            key,
            key_index,
            issuer_index,
            columns: &columns,
            rows: &table.rows,
            source: &source,
        };
        let (linked, not_parsed) = store::ehr::import(&mut conn, &self.db, &table)?;
        report.rows_linked = linked;
        report.values_not_parsed = not_parsed;
        Ok(report)
    }

    /// Imports radiology reports from a CSV (accession number + text
    /// columns) and classifies them for every defined finding.
    pub fn import_reports_csv(
        &self,
        csv: &Path,
        accession_column: &str,
        text_column: &str,
    ) -> Result<u64, EngineError> {
        use crate::link;
        let table = link::read_csv(csv)?;
        let (a, t) = (table.column(accession_column)?, table.column(text_column)?);
        let rows: Vec<(String, String)> = table
            .rows
            .iter()
            .filter(|r| !r[a].trim().is_empty() && !r[t].trim().is_empty())
            .map(|r| (r[a].trim().to_string(), r[t].clone()))
            .collect();
        let _changes = self.changes_columns();
        let mut conn = store::open_rw(&self.db)?;
        Ok(store::findings::import_reports(
            &mut conn,
            &self.db,
            &rows,
            &csv.display().to_string(),
        )?)
    }

    /// Takes the text of the SR documents in the index as reports (keyed by
    /// their accession number). Returns (imported, skipped with a reason).
    pub fn import_sr_reports(&self) -> Result<(u64, Vec<String>), EngineError> {
        let conn = store::open_ro(&self.db)?;
        let files = store::findings::sr_files(&conn, &self.db)?;
        drop(conn);
        let mut rows = Vec::new();
        let mut skipped = Vec::new();
        for f in files {
            match crate::dicom::sr::sr_text(&f) {
                Ok((Some(acc), text)) if !text.trim().is_empty() => rows.push((acc, text)),
                Ok((None, _)) => skipped.push(format!("no accession number: {}", f.display())),
                Ok(_) => skipped.push(format!("no text content: {}", f.display())),
                Err(e) => skipped.push(format!("{e}: {}", f.display())),
            }
        }
        let _changes = self.changes_columns();
        let mut conn = store::open_rw(&self.db)?;
        let n = store::findings::import_reports(&mut conn, &self.db, &rows, "DICOM SR")?;
        Ok((n, skipped))
    }

    /// Defines (or redefines) a finding by keywords and classifies every
    /// report for it (negated mentions do not count).
    pub fn define_finding(&self, name: &str, keywords: &[String]) -> Result<(), EngineError> {
        let keywords: Vec<String> = keywords
            .iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        if name.trim().is_empty() || keywords.is_empty() {
            return Err(CohortError::Rule {
                rule: name.to_string(),
                problem: "a finding needs a name and at least one keyword".into(),
            }
            .into());
        }
        let _changes = self.changes_columns();
        let mut conn = store::open_rw(&self.db)?;
        Ok(store::findings::define(
            &mut conn,
            &self.db,
            name.trim(),
            &keywords,
        )?)
    }

    /// Defined findings with their report counts.
    pub fn findings(&self) -> Result<Vec<crate::model::FindingSummary>, EngineError> {
        let conn = store::open_rw(&self.db)?;
        Ok(store::findings::list(&conn, &self.db)?)
    }

    /// The columns of a CSV with their inferred kinds (for an import dialog).
    pub fn ehr_csv_columns(&self, csv: &Path) -> Result<Vec<crate::model::EhrColumn>, EngineError> {
        let table = crate::link::read_csv(csv)?;
        Ok(crate::link::infer_kinds(&table))
    }

    /// Imported EHR datasets: (name, key kind, columns).
    pub fn ehr_datasets(
        &self,
    ) -> Result<Vec<(String, String, Vec<crate::model::EhrColumn>)>, EngineError> {
        let conn = store::open_rw(&self.db)?;
        Ok(store::ehr::datasets(&conn, &self.db)?)
    }

    /// The values present in the index for a list criterion (modality,
    /// site, an EHR column's text values...), most frequent first, with how
    /// many studies have each (EHR: linked keys). Read-only; run it off the
    /// UI thread.
    pub fn distinct_values(
        &self,
        field: &crate::model::ValueField,
    ) -> Result<Vec<crate::model::ValueCount>, EngineError> {
        let conn = store::open_ro(&self.db)?;
        Ok(store::values::distinct_values(&conn, &self.db, field)?)
    }

    /// Files with their status and reason, optionally of one status.
    pub fn files(
        &self,
        status: Option<FileStatus>,
        limit: Option<u64>,
    ) -> Result<Vec<FileRow>, EngineError> {
        self.ensure_row_level_allowed()?;
        let conn = store::open_ro(&self.db)?;
        Ok(store::files(&conn, &self.db, status, limit)?)
    }
}
