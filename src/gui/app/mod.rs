//! The app: its state and the frame loop. Event draining (`drain`),
//! keyboard and drop input (`input`), command handling (`handle`) and
//! background jobs and dialogs (`jobs`) are the submodules; layout lives in
//! `panels`. Nothing here touches the database or files directly.

mod drain;
mod handle;
mod input;
mod jobs;

use jobs::Picking;

use super::commands::{Command, Confirmation};
use super::export_job::{self, ExportDialog, ExportOutcome, ExportRun};
use super::frame_stats::FrameStats;
use super::panels;
use super::picker::FolderPicker;
use super::queries::{Answer, Query, QueryWorker};
use super::state::{Prefs, Tab};
use super::theme;
use eframe::egui;
use pacs_cohort::model::{
    CohortComparison, CohortCounts, CohortSpec, CohortUnit, FileRow, IndexProgress, IndexSummary,
    SavedCohort, SeriesRow, StudyQuery, StudyRow, ValueCount, ValueField, WorkspaceStatus,
    COHORT_SCHEMA_VERSION,
};
use pacs_cohort::{Engine, IndexOptions, JobEvent, JobHandle};
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often counts are refreshed while an index job runs.
const LIVE_REFRESH: Duration = Duration::from_millis(1000);
/// How often the study list is refreshed while an index job runs: the
/// aggregate query competes with the indexer for the same cores.
const LIVE_STUDIES_REFRESH: Duration = Duration::from_millis(5000);
/// Time budget for draining events in one frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(4);

/// A running index job.
pub struct IndexRun {
    pub root: PathBuf,
    pub handle: JobHandle<IndexProgress, IndexSummary>,
    pub progress: Option<IndexProgress>,
    pub cancelling: bool,
}

/// The clinical-data import dialog: a CSV's columns, their kinds (editable),
/// what links rows to the index, and the dataset name.
#[derive(Debug, Clone)]
pub struct EhrDialog {
    pub path: PathBuf,
    pub name: String,
    pub key: pacs_cohort::model::EhrKey,
    pub key_column: String,
    /// The column holding the issuer of the patient ID, if any.
    pub issuer_column: Option<String>,
    pub columns: Vec<pacs_cohort::model::EhrColumn>,
    pub busy: bool,
    pub error: Option<String>,
}

/// A comparison of two saved cohorts, as asked for and answered.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    /// `None` while the worker computes it.
    pub result: Option<Result<CohortComparison, String>>,
}

/// One line of the jobs panel.
#[derive(Debug, Clone)]
pub struct JobLog {
    pub title: String,
    pub outcome: String,
    pub running: bool,
}

pub struct PacsApp {
    pub(crate) prefs: Prefs,
    engine: Engine,
    picker: Arc<dyn FolderPicker>,
    wake: Arc<dyn Fn() + Send + Sync>,
    queries: QueryWorker,
    picking: Option<Picking>,
    /// Archives being removed, each a job like index and export.
    removing: Vec<(PathBuf, JobHandle<(), u64>)>,
    pub(crate) index: Option<IndexRun>,
    /// Archives waiting for the running index job, each with the site to
    /// give it (None: keep its site).
    queue: Vec<(PathBuf, Option<String>)>,
    pub(crate) jobs: Vec<JobLog>,
    pub(crate) status: Option<WorkspaceStatus>,
    pub(crate) studies: Vec<StudyRow>,
    pub(crate) selected_study: Option<String>,
    pub(crate) series: Vec<SeriesRow>,
    pub(crate) files: Vec<FileRow>,
    pub(crate) filter: String,
    pub(crate) errors: Vec<String>,
    pub(crate) focus_search: bool,
    /// The last cohort draft sent for counting (counts are live: a changed
    /// draft is counted again, stale answers are dropped).
    cohort_sent: Option<CohortSpec>,
    pub(crate) cohort_counts: Option<Result<CohortCounts, String>>,
    /// Which evaluator answered the count shown (memory or SQLite).
    pub(crate) cohort_evaluator: Option<pacs_cohort::engine::Evaluator>,
    pub(crate) saved_cohorts: Vec<SavedCohort>,
    /// The JSON editor's text and its last parse error.
    pub(crate) cohort_json: String,
    /// The text last generated from the draft (so hand edits are kept).
    pub(crate) cohort_json_generated: String,
    pub(crate) cohort_json_error: Option<String>,
    /// The saved cohort the draft was opened from or last saved as.
    pub(crate) loaded_cohort: Option<String>,
    commands: Vec<Command>,
    last_refresh: Instant,
    stats: FrameStats,
    /// The sample archive to index on first start, if the workspace is empty.
    pending_sample: Option<PathBuf>,
    picking_csv: Option<Picking>,
    /// The folder path typed in the archives panel (when no dialog opens,
    /// or by preference).
    pub(crate) typed_archive_path: String,
    /// Site (issuer) fields of the archive list being edited, by root path.
    pub(crate) site_edits: std::collections::HashMap<String, String>,
    /// The study list shows only patients with conflicting demographics.
    pub(crate) conflicts_only: bool,
    /// The site typed for the next archive opened (its issuer).
    pub(crate) new_archive_site: String,
    /// The conflicts window is open.
    pub(crate) show_conflicts: bool,
    /// The conflicted patient keys it lists (None: not loaded yet).
    pub(crate) conflicts: Option<Vec<pacs_cohort::model::PatientConflict>>,
    /// The open clinical-data import dialog, if any.
    pub(crate) ehr_dialog: Option<EhrDialog>,
    /// The export dialog and its job, if open.
    pub(crate) export_dialog: Option<ExportDialog>,
    /// The last comparison asked for.
    pub(crate) comparison: Option<Comparison>,
    last_studies_refresh: Instant,
    close_requested: bool,
    /// Close the window once no index job is left (benchmarks, smoke tests).
    pub(crate) exit_when_indexed: bool,
    /// The question open before a destructive command, if any.
    pub(crate) confirm: Option<Confirmation>,
    /// The values present in the index per list field (the builder's
    /// pickers), and the fields asked for and not answered yet.
    pub(crate) value_lists: std::collections::HashMap<ValueField, Result<Vec<ValueCount>, String>>,
    values_asked: std::collections::HashSet<ValueField>,
    /// Thumbnails, the viewer, masks and the review queue (own state).
    pub(crate) imaging: super::imaging::Imaging,
    /// Analyses and their charts (own state).
    pub(crate) analyses: super::analyses::Analyses,
    /// PACS nodes, harvest and retrieval jobs (own state).
    pub(crate) pacs: super::pacs::Pacs,
}

impl PacsApp {
    /// Builds the app; restores preferences from `storage`; indexes
    /// `sample` when the workspace has no archive yet (first start).
    pub fn new(
        ctx: &egui::Context,
        storage: Option<&dyn eframe::Storage>,
        engine: Engine,
        picker: Arc<dyn FolderPicker>,
        sample: Option<PathBuf>,
    ) -> PacsApp {
        let mut prefs: Prefs = storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        // Preferences are per user; a draft belongs to its workspace.
        let workspace = engine.db_path().display().to_string();
        if prefs.draft_workspace.as_deref() != Some(workspace.as_str()) {
            prefs.cohort_draft = None;
            prefs.draft_workspace = Some(workspace);
        }
        theme::apply(ctx, prefs.dark);
        let repaint_ctx = ctx.clone();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || repaint_ctx.request_repaint());
        // Live counts from memory once the column engine is built; SQLite
        // answers until then (and rebuilds follow every change).
        engine.start_column_engine(wake.clone());
        let queries = QueryWorker::spawn(engine.clone(), wake.clone());
        let imaging = super::imaging::Imaging::new(engine.clone(), picker.clone(), wake.clone());
        let analyses = super::analyses::Analyses::new(engine.clone(), picker.clone(), wake.clone());
        let pacs = super::pacs::Pacs::new(engine.clone(), wake.clone());
        let mut app = PacsApp {
            prefs,
            engine,
            picker,
            wake,
            queries,
            picking: None,
            removing: Vec::new(),
            index: None,
            queue: Vec::new(),
            jobs: Vec::new(),
            status: None,
            studies: Vec::new(),
            selected_study: None,
            series: Vec::new(),
            files: Vec::new(),
            filter: String::new(),
            errors: Vec::new(),
            focus_search: false,
            cohort_sent: None,
            cohort_counts: None,
            cohort_evaluator: None,
            saved_cohorts: Vec::new(),
            cohort_json: String::new(),
            cohort_json_generated: String::new(),
            cohort_json_error: None,
            loaded_cohort: None,
            value_lists: Default::default(),
            values_asked: Default::default(),
            commands: Vec::new(),
            last_refresh: Instant::now(),
            stats: FrameStats::from_env(),
            pending_sample: None,
            picking_csv: None,
            typed_archive_path: String::new(),
            site_edits: Default::default(),
            conflicts_only: false,
            new_archive_site: String::new(),
            show_conflicts: false,
            conflicts: None,
            ehr_dialog: None,
            export_dialog: None,
            comparison: None,
            last_studies_refresh: Instant::now(),
            close_requested: false,
            exit_when_indexed: false,
            confirm: None,
            imaging,
            analyses,
            pacs,
        };
        app.refresh_all();
        if let Some(sample) = sample {
            // Only when the workspace is empty: checked on the worker's answer.
            app.queue_sample(sample);
        }
        app
    }

    fn queue_sample(&mut self, sample: PathBuf) {
        // The status answer decides (see `on_answer`); remember the candidate.
        self.pending_sample = Some(sample);
    }

    /// Pushes a command to be handled after this frame's layout.
    pub(crate) fn push(&mut self, c: Command) {
        self.commands.push(c);
    }

    pub(crate) fn queries_busy(&self) -> bool {
        self.queries.busy()
            || self.picking.is_some()
            || !self.removing.is_empty()
            || self.imaging.busy()
            || self.analyses.busy()
            || self.pacs.busy()
    }

    fn study_query(&self) -> StudyQuery {
        StudyQuery {
            text: self.filter.clone(),
            sort: self.prefs.sort,
            descending: self.prefs.descending,
            limit: None,
            conflicts_only: self.conflicts_only,
        }
    }

    /// The draft being edited (a new one if none).
    pub(crate) fn draft(&mut self) -> &mut CohortSpec {
        self.prefs.cohort_draft.get_or_insert_with(new_cohort)
    }

    /// Whether the draft differs from the saved cohort it was opened from
    /// (or, for a draft never saved, has any rule): opening another one
    /// would lose the edits.
    pub(crate) fn draft_modified(&mut self) -> bool {
        let draft = self.draft().normalized();
        match &self.loaded_cohort {
            Some(name) => self
                .saved_cohorts
                .iter()
                .find(|c| &c.name == name)
                .is_none_or(|c| c.spec.normalized() != draft),
            None => !draft.rules.is_empty(),
        }
    }

    /// Counts the draft again if it changed since it was last sent, or
    /// when SQLite answered and the column engine has become ready (so the
    /// label says "memory" without waiting for the next click).
    fn recount_if_changed(&mut self) {
        if self.cohort_evaluator == Some(pacs_cohort::engine::Evaluator::Sqlite)
            && self.engine.column_engine_ready()
        {
            self.cohort_evaluator = None;
            self.cohort_sent = None;
        }
        let draft = self.draft().clone();
        if self.cohort_sent.as_ref() != Some(&draft) {
            self.queries.ask(Query::CohortCount(draft.normalized()));
            self.cohort_sent = Some(draft);
        }
    }

    fn refresh_all(&mut self) {
        self.queries.ask(Query::Cohorts);
        // The index changed: pickers list its values again when opened,
        // and a live analysis runs again.
        self.value_lists.clear();
        self.analyses.index_changed();
        self.values_asked.clear();
        self.cohort_sent = None;
        self.queries.ask(Query::Status);
        self.queries.ask(Query::Studies(self.study_query()));
        self.queries.ask(Query::Files(self.prefs.files_status));
        if self.show_conflicts {
            self.queries.ask(Query::Conflicts);
        }
        if let Some(uid) = self.selected_study.clone() {
            self.queries.ask(Query::Series(uid));
        }
        self.last_refresh = Instant::now();
    }

    /// One frame: drain events, lay out, handle commands.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.stats.begin();
        self.drain(ui.ctx());
        self.shortcuts(ui.ctx());
        panels::layout(self, ui);
        let commands = std::mem::take(&mut self.commands);
        for c in commands {
            self.handle(ui.ctx(), c);
        }
        self.imaging
            .end_frame(ui.ctx(), Instant::now() + DRAIN_BUDGET);
        if self.prefs.tab == Tab::Cohort {
            self.recount_if_changed();
        }
        if self.close_requested {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if self.analyses.busy() || self.analyses.settling() {
            // A live re-run waits for the form to settle: look again soon.
            ui.ctx().request_repaint_after(Duration::from_millis(100));
        }
        if self.index.is_some() || self.export_running() || self.pacs.running() {
            // Keep the progress figures moving even between job events.
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
        self.stats.end();
        if self.stats.enabled() {
            ui.ctx().request_repaint();
        }
    }
}

/// A fresh, empty cohort definition.
fn new_cohort() -> CohortSpec {
    CohortSpec {
        schema_version: COHORT_SCHEMA_VERSION,
        name: "new cohort".into(),
        description: String::new(),
        unit: CohortUnit::Study,
        rules: Vec::new(),
    }
}

impl PacsApp {
    /// Shows an error in the window and logs it. Messages end with the path
    /// they concern (a folder name may carry PHI), so the log gets the
    /// message without it.
    pub(crate) fn report_error(&mut self, message: String) {
        let loggable = message
            .rsplit_once(": /")
            .map(|(head, _)| head)
            .unwrap_or(&message);
        eprintln!("pacs-cohort: error: {loggable}");
        if !self.errors.contains(&message) {
            self.errors.push(message);
        }
    }
}

impl eframe::App for PacsApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.stats.previous_frame_cpu(frame.info().cpu_usage);
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.prefs);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.stats.write();
        if let Some(run) = &self.index {
            // Stop the worker promptly; what it committed is kept.
            run.handle.cancel.cancel();
        }
    }
}
