//! The query worker: one thread with its own read-only connections answers
//! the browser's queries. Requests are coalesced (only the newest of each
//! kind runs) and answers carry a generation, so stale results are dropped
//! while the user keeps typing.

use pacs_cohort::engine::{Evaluator, EvaluatorChoice};
use pacs_cohort::model::{
    CohortComparison, CohortCounts, CohortSpec, EhrColumn, EhrImport, EhrKey, EhrKind, FileRow,
    FileStatus, PatientConflict, SavedCohort, SeriesRow, StudyQuery, StudyRow, ValueCount,
    ValueField, WorkspaceStatus,
};
use pacs_cohort::Engine;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

/// Files shown at most in the file list (the CLI lists all).
pub const FILES_LIMIT: u64 = 200_000;

#[derive(Debug, Clone)]
pub enum Query {
    Status,
    Studies(StudyQuery),
    Series(String),
    Files(Option<FileStatus>),
    CohortCount(CohortSpec),
    Cohorts,
    SaveCohort(CohortSpec),
    DeleteCohort(String),
    RenameCohort(String, String),
    /// Columns and inferred kinds of a CSV, for the import dialog.
    EhrColumns(PathBuf),
    EhrImport(EhrImportRequest),
    /// How many masks and template rectangles the export will apply.
    MaskCounts,
    /// Overlap of two saved cohorts (by name; their latest revisions).
    Compare(String, String),
    /// Whether an export into this folder (with this re-identification
    /// table) can start.
    ExportCheck(PathBuf, Option<PathBuf>),
    /// A free name for a new export folder: (parent, base name).
    ExportFolderName(PathBuf, String),
    /// A folder to add as an archive: does it exist, and its canonical path.
    ResolveArchive(PathBuf),
    /// The values present in the index for a list criterion, with counts
    /// (the builder's pickers).
    Values(ValueField),
    /// Patient keys with conflicting demographics, with their files (the
    /// conflicts window).
    Conflicts,
}

/// What the import dialog asks for.
#[derive(Debug, Clone)]
pub struct EhrImportRequest {
    pub path: PathBuf,
    pub name: String,
    pub key: EhrKey,
    pub key_column: String,
    pub issuer_column: Option<String>,
    pub kinds: Vec<(String, EhrKind)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Status,
    Studies,
    Series,
    Files,
    CohortCount,
    Cohorts,
    Ehr,
    Masks,
    Compare,
    ExportCheck,
    ExportFolderName,
    Archive,
    Conflicts,
    /// One kind per field: pickers of different fields do not coalesce.
    Values(u64),
}

impl Query {
    fn is_write(&self) -> bool {
        matches!(
            self,
            Query::SaveCohort(_)
                | Query::DeleteCohort(_)
                | Query::RenameCohort(..)
                | Query::EhrImport(_)
                // Every folder asked for is opened, not only the newest.
                | Query::ResolveArchive(_)
        )
    }

    fn kind(&self) -> Kind {
        match self {
            Query::Status => Kind::Status,
            Query::Studies(_) => Kind::Studies,
            Query::Series(_) => Kind::Series,
            Query::Files(_) => Kind::Files,
            Query::CohortCount(_) => Kind::CohortCount,
            // Saving and deleting answer with the new list of cohorts.
            Query::Cohorts
            | Query::SaveCohort(_)
            | Query::DeleteCohort(_)
            | Query::RenameCohort(..) => Kind::Cohorts,
            Query::EhrColumns(_) | Query::EhrImport(_) => Kind::Ehr,
            Query::MaskCounts => Kind::Masks,
            Query::Compare(..) => Kind::Compare,
            Query::ExportCheck(..) => Kind::ExportCheck,
            Query::ExportFolderName(..) => Kind::ExportFolderName,
            Query::ResolveArchive(_) => Kind::Archive,
            Query::Conflicts => Kind::Conflicts,
            Query::Values(f) => {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                f.hash(&mut h);
                Kind::Values(h.finish())
            }
        }
    }
}

#[derive(Debug)]
pub enum Answer {
    Status(WorkspaceStatus),
    Studies(Vec<StudyRow>),
    Series(String, Vec<SeriesRow>),
    Files(Vec<FileRow>),
    /// Counts, or why the definition cannot be counted (shown beside it),
    /// and which evaluator answered.
    CohortCount(Result<CohortCounts, String>, Option<Evaluator>),
    Cohorts(Vec<SavedCohort>),
    /// The columns of a CSV picked for import, or why it cannot be read.
    EhrColumns(PathBuf, Result<Vec<EhrColumn>, String>),
    EhrImported(Result<EhrImport, String>),
    /// (image masks, template rectangles).
    MaskCounts(usize, usize),
    /// (out, reid table, what is wrong or None).
    ExportCheck(PathBuf, Option<PathBuf>, Option<String>),
    /// (parent, base, the free name).
    ExportFolderName(PathBuf, String, String),
    /// A folder's canonical path, or why it cannot be added.
    ArchiveResolved(Result<PathBuf, String>),
    /// (a, b, the overlap or why it cannot be computed).
    Comparison(String, String, Result<CohortComparison, String>),
    /// A field's values in the index, or why they cannot be listed.
    Values(ValueField, Result<Vec<ValueCount>, String>),
    /// The conflicted patient keys, or why they cannot be listed.
    Conflicts(Result<Vec<PatientConflict>, String>),
    Failed(String),
}

pub struct QueryWorker {
    tx: Sender<(u64, Query)>,
    rx: Receiver<(u64, Kind, Answer)>,
    next: u64,
    latest: HashMap<Kind, u64>,
    answered: HashMap<Kind, u64>,
}

impl QueryWorker {
    pub fn spawn(engine: Engine, wake: Arc<dyn Fn() + Send + Sync>) -> QueryWorker {
        let (tx, req_rx) = channel::<(u64, Query)>();
        let (ans_tx, rx) = channel();
        let spawned = std::thread::Builder::new()
            .name("pacs-gui-queries".into())
            .spawn(move || {
                while let Ok(first) = req_rx.recv() {
                    // Coalesce reads: of everything queued, only the newest
                    // per kind runs. Writes (save, delete) all run, in order,
                    // before them.
                    let mut writes: Vec<(u64, Query)> = Vec::new();
                    let mut newest: HashMap<Kind, (u64, Query)> = HashMap::new();
                    let mut take = |q: (u64, Query)| {
                        if q.1.is_write() {
                            writes.push(q);
                        } else {
                            newest.insert(q.1.kind(), q);
                        }
                    };
                    take(first);
                    while let Ok(q) = req_rx.try_recv() {
                        take(q);
                    }
                    let ordered = writes
                        .into_iter()
                        .map(|(g, q)| (q.kind(), (g, q)))
                        .chain(newest);
                    for (kind, (generation, q)) in ordered {
                        let answer = match run(&engine, q) {
                            Ok(a) => a,
                            Err(e) => Answer::Failed(e.to_string()),
                        };
                        if ans_tx.send((generation, kind, answer)).is_err() {
                            return;
                        }
                        wake();
                    }
                }
            });
        // Without a worker thread, sends fail and `ask` marks queries answered.
        drop(spawned);
        QueryWorker {
            tx,
            rx,
            next: 1,
            latest: HashMap::new(),
            answered: HashMap::new(),
        }
    }

    /// Queues a query; an older one of the same kind becomes stale.
    pub fn ask(&mut self, q: Query) {
        let generation = self.next;
        self.next += 1;
        self.latest.insert(q.kind(), generation);
        if self.tx.send((generation, q)).is_err() {
            // The worker is gone: nothing will answer; do not look busy forever.
            self.answered
                .insert(self.latest_kind_of(generation), generation);
        }
    }

    /// Current answers (stale ones dropped), without blocking.
    pub fn answers(&mut self) -> Vec<Answer> {
        let mut out = Vec::new();
        while let Ok((generation, kind, a)) = self.rx.try_recv() {
            let seen = self.answered.entry(kind).or_insert(0);
            *seen = (*seen).max(generation);
            // Each archive answer counts (several folders may be opened
            // at once); for other kinds only the newest is current.
            if kind == Kind::Archive || self.latest.get(&kind) == Some(&generation) {
                out.push(a);
            }
        }
        out
    }

    /// Whether any query is still running (for tests and the busy indicator).
    pub fn busy(&self) -> bool {
        self.latest
            .iter()
            .any(|(k, g)| self.answered.get(k).copied().unwrap_or(0) < *g)
    }

    fn latest_kind_of(&self, generation: u64) -> Kind {
        self.latest
            .iter()
            .find(|(_, g)| **g == generation)
            .map(|(k, _)| *k)
            .unwrap_or(Kind::Status)
    }
}

fn run(engine: &Engine, q: Query) -> Result<Answer, pacs_cohort::EngineError> {
    // In an aggregate-only workspace row-level views stay empty (the panels
    // say why) instead of failing.
    let row_level = matches!(q, Query::Studies(_) | Query::Series(_) | Query::Files(_));
    if row_level && engine.privacy()?.aggregate_only {
        return Ok(match q {
            Query::Series(uid) => Answer::Series(uid, Vec::new()),
            Query::Files(_) => Answer::Files(Vec::new()),
            _ => Answer::Studies(Vec::new()),
        });
    }
    Ok(match q {
        Query::Status => Answer::Status(engine.status()?),
        Query::Studies(q) => Answer::Studies(engine.studies(&q)?),
        Query::Series(uid) => {
            let rows = engine.series(&uid)?;
            Answer::Series(uid, rows)
        }
        Query::Files(st) => Answer::Files(engine.files(st, Some(FILES_LIMIT))?),
        // The column engine when it is ready, SQLite until then.
        Query::CohortCount(spec) => match engine.cohort_count_by(&spec, EvaluatorChoice::Auto) {
            Ok((counts, by)) => Answer::CohortCount(Ok(counts), Some(by)),
            Err(e) => Answer::CohortCount(Err(e.to_string()), None),
        },
        Query::Cohorts => Answer::Cohorts(engine.cohorts()?),
        Query::SaveCohort(spec) => {
            engine.save_cohort(&spec)?;
            Answer::Cohorts(engine.cohorts()?)
        }
        Query::DeleteCohort(name) => {
            engine.delete_cohort(&name)?;
            Answer::Cohorts(engine.cohorts()?)
        }
        Query::RenameCohort(from, to) => {
            engine.rename_cohort(&from, &to)?;
            Answer::Cohorts(engine.cohorts()?)
        }
        Query::EhrColumns(path) => {
            let cols = engine.ehr_csv_columns(&path).map_err(|e| e.to_string());
            Answer::EhrColumns(path, cols)
        }
        Query::Compare(a, b) => {
            let result = engine
                .cohort(&a, None)
                .and_then(|ca| Ok((ca, engine.cohort(&b, None)?)))
                .and_then(|(ca, cb)| engine.compare_cohorts(&ca.spec, &cb.spec))
                .map_err(|e| e.to_string());
            Answer::Comparison(a, b, result)
        }
        Query::MaskCounts => {
            let (masks, templates) = engine.masks()?;
            Answer::MaskCounts(masks.len(), templates.len())
        }
        Query::ExportCheck(out, reid) => {
            let verdict = engine.export_preflight(&out, reid.as_deref()).err();
            Answer::ExportCheck(out, reid, verdict)
        }
        Query::ExportFolderName(parent, base) => {
            let name = engine.free_export_folder_name(&parent, &base);
            Answer::ExportFolderName(parent, base, name)
        }
        Query::ResolveArchive(p) => Answer::ArchiveResolved(engine.resolve_archive(&p)),
        Query::Conflicts => Answer::Conflicts(engine.conflicts().map_err(|e| e.to_string())),
        Query::Values(f) => {
            let values = engine.distinct_values(&f).map_err(|e| e.to_string());
            Answer::Values(f, values)
        }
        Query::EhrImport(r) => {
            let how = pacs_cohort::model::EhrLink {
                key: r.key,
                key_column: Some(r.key_column),
                issuer_column: r.issuer_column,
                kinds: r.kinds,
            };
            Answer::EhrImported(
                engine
                    .import_ehr_csv(&r.path, &r.name, &how, false)
                    .map_err(|e| e.to_string()),
            )
        }
    })
}
