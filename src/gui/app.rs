//! The app: state, event draining, command handling. Layout lives in
//! `panels`; this file never touches the database or files directly.

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
    removing: Vec<(PathBuf, Receiver<Result<u64, String>>)>,
    pub(crate) index: Option<IndexRun>,
    queue: Vec<PathBuf>,
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
}

/// A dialog running on its thread, and when it was opened.
struct Picking {
    rx: Receiver<Option<PathBuf>>,
    started: Instant,
}

impl Picking {
    /// The dialog's answer, once it has one.
    fn answer(&self) -> Option<Option<PathBuf>> {
        self.rx.try_recv().ok()
    }
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
        let queries = QueryWorker::spawn(engine.clone(), wake.clone());
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
            ehr_dialog: None,
            export_dialog: None,
            comparison: None,
            last_studies_refresh: Instant::now(),
            close_requested: false,
            exit_when_indexed: false,
            confirm: None,
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
        self.queries.busy() || self.picking.is_some() || !self.removing.is_empty()
    }

    fn study_query(&self) -> StudyQuery {
        StudyQuery {
            text: self.filter.clone(),
            sort: self.prefs.sort,
            descending: self.prefs.descending,
            limit: None,
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
        let draft = counting_copy(self.draft());
        match &self.loaded_cohort {
            Some(name) => self
                .saved_cohorts
                .iter()
                .find(|c| &c.name == name)
                .is_none_or(|c| counting_copy(&c.spec) != draft),
            None => !draft.rules.is_empty(),
        }
    }

    /// Counts the draft again if it changed since it was last sent.
    fn recount_if_changed(&mut self) {
        let draft = self.draft().clone();
        if self.cohort_sent.as_ref() != Some(&draft) {
            self.queries.ask(Query::CohortCount(counting_copy(&draft)));
            self.cohort_sent = Some(draft);
        }
    }

    fn refresh_all(&mut self) {
        self.queries.ask(Query::Cohorts);
        // The index changed: pickers list its values again when opened.
        self.value_lists.clear();
        self.values_asked.clear();
        self.cohort_sent = None;
        self.queries.ask(Query::Status);
        self.queries.ask(Query::Studies(self.study_query()));
        self.queries.ask(Query::Files(self.prefs.files_status));
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
        if self.prefs.tab == Tab::Cohort {
            self.recount_if_changed();
        }
        if self.close_requested {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if self.index.is_some() || self.export_running() {
            // Keep the progress figures moving even between job events.
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
        self.stats.end();
        if self.stats.enabled() {
            ui.ctx().request_repaint();
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let pairs = [
            (
                KeyboardShortcut::new(Modifiers::COMMAND, Key::O),
                Command::PickFolder,
            ),
            (
                KeyboardShortcut::new(Modifiers::COMMAND, Key::R),
                Command::ReindexAll,
            ),
            (
                KeyboardShortcut::new(Modifiers::COMMAND, Key::F),
                Command::FocusSearch,
            ),
            (
                KeyboardShortcut::new(Modifiers::COMMAND, Key::J),
                Command::ToggleJobs,
            ),
            (
                KeyboardShortcut::new(Modifiers::COMMAND, Key::E),
                Command::OpenExport(None),
            ),
        ];
        for (shortcut, command) in pairs {
            if ctx.input_mut(|i| i.consume_shortcut(&shortcut)) {
                self.push(command);
            }
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Escape)) {
            // Esc cancels the running export first, then indexing.
            if self.export_running() {
                self.push(Command::CancelExport);
            } else if self.index.is_some() {
                self.push(Command::CancelIndex);
            }
        }
        // Folders dropped on the window are opened as archives.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        // The worker says so when a dropped path is not a folder.
        for p in dropped {
            self.push(Command::OpenArchive(p));
        }
    }

    /// Drains job events and query answers within a small time budget.
    fn drain(&mut self, ctx: &egui::Context) {
        let start = Instant::now();
        let mut finished: Option<JobEvent<IndexProgress, IndexSummary>> = None;
        if let Some(run) = &mut self.index {
            while start.elapsed() < DRAIN_BUDGET {
                match run.handle.events.try_recv() {
                    Ok(JobEvent::Progress(p)) => run.progress = Some(p),
                    Ok(other) => {
                        finished = Some(other);
                        break;
                    }
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        finished = Some(JobEvent::Failed(
                            "the index job stopped unexpectedly".into(),
                        ));
                        break;
                    }
                }
            }
        }
        if let Some(ev) = finished {
            self.finish_index(ev);
        }
        self.drain_export();
        for a in self.queries.answers() {
            self.on_answer(a);
        }
        if let Some(choice) = self.picking_csv.as_ref().and_then(Picking::answer) {
            let picking = self.picking_csv.take();
            match choice {
                Some(p) => self.queries.ask(Query::EhrColumns(p)),
                None => self.explain_no_dialog(picking, "file", "no file was chosen"),
            }
        }
        if let Some(choice) = self.picking.as_ref().and_then(Picking::answer) {
            let picking = self.picking.take();
            match choice {
                Some(p) => self.push(Command::OpenArchive(p)),
                None => self.explain_no_dialog(
                    picking,
                    "folder",
                    "type the folder's path in the 'or path' field under Open archive… instead",
                ),
            }
        }
        let mut results = Vec::new();
        self.removing.retain(|(root, rx)| match rx.try_recv() {
            Ok(r) => {
                results.push((root.clone(), r));
                false
            }
            Err(_) => true,
        });
        for (root, r) in results {
            match r {
                Ok(n) => self.jobs.push(JobLog {
                    title: format!("Remove {}", root.display()),
                    outcome: format!("removed {n} files from the index"),
                    running: false,
                }),
                Err(e) => self.report_error(e),
            }
            self.refresh_all();
        }
        if self.index.is_some() && self.last_refresh.elapsed() >= LIVE_REFRESH {
            self.queries.ask(Query::Status);
            self.last_refresh = Instant::now();
        }
        if self.index.is_some()
            && self.prefs.tab == Tab::Studies
            && self.last_studies_refresh.elapsed() >= LIVE_STUDIES_REFRESH
        {
            self.queries.ask(Query::Studies(self.study_query()));
            self.last_studies_refresh = Instant::now();
        }
        let _ = ctx;
    }

    fn on_answer(&mut self, a: Answer) {
        match a {
            Answer::Status(s) => {
                let empty = s.roots.is_empty();
                let never_indexed = s.last_run.is_none();
                // An index job's first studies are listed with the first
                // counts that include them, not at the next live refresh.
                let had_studies = self.status.as_ref().is_some_and(|o| o.levels.studies > 0);
                if self.index.is_some() && !had_studies && s.levels.studies > 0 {
                    self.queries.ask(Query::Studies(self.study_query()));
                }
                self.status = Some(s);
                // The sample is indexed into a workspace that has never
                // indexed anything (per workspace: a workspace whose
                // archives were removed is not refilled unasked).
                if let Some(sample) = self.pending_sample.take() {
                    if empty && never_indexed {
                        self.push(Command::OpenArchive(sample));
                    }
                }
            }
            Answer::Studies(rows) => {
                if let Some(sel) = &self.selected_study {
                    if !rows.iter().any(|r| &r.study_uid == sel) {
                        self.selected_study = None;
                        self.series.clear();
                    }
                }
                self.studies = rows;
            }
            Answer::Series(uid, rows) => {
                if self.selected_study.as_ref() == Some(&uid) {
                    self.series = rows;
                }
            }
            Answer::Files(rows) => self.files = rows,
            Answer::CohortCount(r) => self.cohort_counts = Some(r),
            Answer::Cohorts(list) => self.saved_cohorts = list,
            Answer::EhrColumns(path, Ok(columns)) => {
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let key_column = columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case("patient_id"))
                    .or_else(|| columns.first())
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                self.ehr_dialog = Some(EhrDialog {
                    path,
                    name,
                    key: pacs_cohort::model::EhrKey::PatientId,
                    key_column,
                    issuer_column: None,
                    columns,
                    busy: false,
                    error: None,
                });
            }
            Answer::EhrColumns(_, Err(e)) => self.report_error(e),
            Answer::EhrImported(Ok(r)) => {
                self.jobs.push(JobLog {
                    title: format!("Import clinical data '{}'", r.dataset),
                    outcome: format!(
                        "{} rows, {} keys found in the index, {} values not parsed",
                        r.rows, r.rows_linked, r.values_not_parsed
                    ),
                    running: false,
                });
                self.ehr_dialog = None;
                self.cohort_sent = None;
                self.value_lists
                    .retain(|f, _| !matches!(f, ValueField::Ehr { .. }));
            }
            Answer::EhrImported(Err(e)) => {
                if let Some(d) = &mut self.ehr_dialog {
                    d.busy = false;
                    d.error = Some(e);
                } else {
                    self.report_error(e);
                }
            }
            Answer::Comparison(a, b, result) => {
                if let Some(c) = &mut self.comparison {
                    if c.a == a && c.b == b {
                        c.result = Some(result);
                    }
                }
            }
            Answer::MaskCounts(masks, templates) => {
                if let Some(d) = &mut self.export_dialog {
                    d.masks = Some((masks, templates));
                }
            }
            Answer::ExportCheck(out, reid, verdict) => {
                if let Some(d) = &mut self.export_dialog {
                    d.check_answered(out, reid, verdict);
                }
            }
            Answer::ExportFolderName(parent, base, name) => {
                if let Some(d) = &mut self.export_dialog {
                    d.name_answered(parent, base, name);
                }
            }
            Answer::ArchiveResolved(Ok(p)) => {
                self.prefs.remember(p.clone());
                self.start_index(p);
            }
            Answer::ArchiveResolved(Err(e)) => self.report_error(e),
            Answer::Values(field, values) => {
                self.values_asked.remove(&field);
                self.value_lists.insert(field, values);
            }
            Answer::Failed(e) => self.report_error(e),
        }
    }

    pub(crate) fn export_running(&self) -> bool {
        self.export_dialog.as_ref().is_some_and(|d| d.run.is_some())
    }

    /// Export job events and the export folder dialog's answer.
    fn drain_export(&mut self) {
        let Some(d) = &mut self.export_dialog else {
            return;
        };
        // The dialog's file-system questions go to the worker.
        if let Some((out, reid)) = d.due_check() {
            self.queries.ask(Query::ExportCheck(out, reid));
        }
        if let Some((parent, base)) = d.due_name_request() {
            self.queries.ask(Query::ExportFolderName(parent, base));
        }
        if let Some(rx) = &d.picking {
            if let Ok(choice) = rx.try_recv() {
                d.picking = None;
                if let Some(p) = choice {
                    d.parent = p.display().to_string();
                    d.suggest_folder_name();
                }
            }
        }
        let Some(ev) = d.drain() else { return };
        let outcome = match ev {
            JobEvent::Done(r) => ExportOutcome::Finished(r),
            JobEvent::Failed(e) => ExportOutcome::Failed(e),
            JobEvent::Progress(_) => return,
        };
        let line = export_job::summary(&outcome);
        if let ExportOutcome::Finished(r) = &outcome {
            if r.cancelled {
                d.resume = true; // the natural next step
            } else if r.complete {
                d.resume = false;
                d.suggest_folder_name();
            }
        }
        d.outcome = Some(outcome);
        d.recheck();
        let title = format!("Export '{}'", d.cohort);
        self.finish_job(&title, line);
    }

    /// Marks the newest running job with `title` as ended with `outcome`.
    fn finish_job(&mut self, title: &str, outcome: String) {
        if let Some(j) = self
            .jobs
            .iter_mut()
            .rev()
            .find(|j| j.running && j.title == title)
        {
            j.running = false;
            j.outcome = outcome;
        }
    }

    fn start_export(&mut self) {
        let Some(d) = &mut self.export_dialog else {
            return;
        };
        if d.run.is_some() || d.problem().is_some() {
            return;
        }
        let handle = self.engine.spawn_export(
            d.cohort.clone(),
            d.out(),
            d.export_options(),
            self.wake.clone(),
        );
        d.outcome = None;
        d.run = Some(ExportRun {
            handle,
            progress: None,
            cancelling: false,
        });
        self.jobs.push(JobLog {
            title: format!("Export '{}'", d.cohort),
            outcome: "running".into(),
            running: true,
        });
    }

    fn finish_index(&mut self, ev: JobEvent<IndexProgress, IndexSummary>) {
        let Some(run) = self.index.take() else { return };
        let title = format!("Index {}", run.root.display());
        let outcome = match ev {
            JobEvent::Done(s) if s.cancelled => format!(
                "cancelled after {} files; what was read is kept ({} instances in the index)",
                s.new + s.changed,
                s.levels.instances
            ),
            JobEvent::Done(s) => {
                let attention = s.status.total() - s.status.get(pacs_cohort::model::FileStatus::Ok);
                format!(
                    "{} files in {:.1} s ({} new, {} changed, {} removed); {} not ok",
                    s.files_seen, s.elapsed_seconds, s.new, s.changed, s.removed, attention
                )
            }
            JobEvent::Failed(e) => {
                self.report_error(e.clone());
                format!("failed: {e}")
            }
            JobEvent::Progress(_) => String::new(),
        };
        self.finish_job(&title, outcome);
        self.refresh_all();
        if !self.queue.is_empty() {
            let next = self.queue.remove(0);
            self.start_index(next);
        } else if self.exit_when_indexed {
            self.close_requested = true;
        }
    }

    fn start_index(&mut self, root: PathBuf) {
        if self.index.is_some() {
            if !self.queue.contains(&root) {
                self.queue.push(root);
            }
            return;
        }
        // Background priority: the window must stay smooth while indexing.
        let opts = IndexOptions {
            low_priority: true,
            ..Default::default()
        };
        let handle = self
            .engine
            .spawn_index(vec![root.clone()], opts, self.wake.clone());
        self.jobs.push(JobLog {
            title: format!("Index {}", root.display()),
            outcome: "running".into(),
            running: true,
        });
        self.index = Some(IndexRun {
            root,
            handle,
            progress: None,
            cancelling: false,
        });
    }

    /// Runs a (blocking) dialog of the picker on its own thread; the answer
    /// arrives on the returned channel and wakes the UI.
    /// A dialog that answered "nothing chosen" faster than a person can
    /// cancel one did not open at all (no XDG desktop portal, no zenity):
    /// say so, and what to do instead.
    fn explain_no_dialog(&mut self, picking: Option<Picking>, what: &str, instead: &str) {
        if picking.is_some_and(|p| p.started.elapsed() < Duration::from_millis(400)) {
            self.report_error(format!(
                "the {what} dialog did not open (this system has no XDG desktop portal or zenity); {instead}"
            ));
        }
    }

    fn ask_picker(
        &mut self,
        ask: fn(&dyn FolderPicker) -> Option<PathBuf>,
        what: &str,
    ) -> Option<Picking> {
        let (tx, rx) = std::sync::mpsc::channel();
        let picker = self.picker.clone();
        let wake = self.wake.clone();
        let spawned = std::thread::Builder::new()
            .name("pacs-gui-picker".into())
            .spawn(move || {
                let _ = tx.send(ask(picker.as_ref()));
                wake();
            });
        match spawned {
            Ok(_) => Some(Picking {
                rx,
                started: Instant::now(),
            }),
            Err(e) => {
                self.report_error(format!("cannot open the {what} dialog: {e}"));
                None
            }
        }
    }

    fn handle(&mut self, ctx: &egui::Context, c: Command) {
        match c {
            Command::PickFolder => {
                if self.picking.is_none() {
                    self.picking = self.ask_picker(|p| p.pick_folder(), "folder");
                }
            }
            // The worker checks the folder and answers (ArchiveResolved).
            Command::OpenArchive(p) => self.queries.ask(Query::ResolveArchive(p)),
            Command::Reindex(p) => self.start_index(p),
            Command::ReindexAll => {
                let roots: Vec<PathBuf> = self
                    .status
                    .as_ref()
                    .map(|s| s.roots.iter().map(|r| PathBuf::from(&r.path)).collect())
                    .unwrap_or_default();
                for r in roots {
                    self.start_index(r);
                }
            }
            Command::RemoveArchive(p) => {
                if self.index.as_ref().is_some_and(|r| r.root == p) {
                    self.report_error(
                        "cancel the running index job of this archive before removing it".into(),
                    );
                    return;
                }
                let (tx, rx) = std::sync::mpsc::channel();
                let engine = self.engine.clone();
                let wake = self.wake.clone();
                let root = p.clone();
                let spawned = std::thread::Builder::new()
                    .name("pacs-gui-remove".into())
                    .spawn(move || {
                        let _ = tx.send(engine.remove_root(&root).map_err(|e| e.to_string()));
                        wake();
                    });
                match spawned {
                    Ok(_) => self.removing.push((p, rx)),
                    Err(e) => self
                        .errors
                        .push(format!("cannot start a worker thread: {e}")),
                }
            }
            Command::CancelIndex => {
                if let Some(run) = &mut self.index {
                    run.handle.cancel.cancel();
                    run.cancelling = true;
                }
                self.queue.clear();
            }
            Command::SelectStudy(uid) => {
                if self.selected_study.as_ref() != Some(&uid) {
                    self.series.clear();
                    self.selected_study = Some(uid.clone());
                    self.queries.ask(Query::Series(uid));
                }
            }
            Command::Sort(col) => {
                if self.prefs.sort == col {
                    self.prefs.descending = !self.prefs.descending;
                } else {
                    self.prefs.sort = col;
                    self.prefs.descending = false;
                }
                self.queries.ask(Query::Studies(self.study_query()));
            }
            Command::FilterChanged => self.queries.ask(Query::Studies(self.study_query())),
            Command::ShowTab(t) => {
                self.prefs.tab = t;
                if t == Tab::Files {
                    self.queries.ask(Query::Files(self.prefs.files_status));
                }
            }
            Command::FilesStatus(st) => {
                self.prefs.files_status = st;
                self.queries.ask(Query::Files(st));
            }
            Command::DismissError(i) => {
                if i < self.errors.len() {
                    self.errors.remove(i);
                }
            }
            Command::ToggleTheme => {
                self.prefs.dark = !self.prefs.dark;
                theme::apply(ctx, self.prefs.dark);
            }
            Command::ToggleJobs => self.prefs.show_jobs = !self.prefs.show_jobs,
            Command::NewCohort => {
                self.prefs.cohort_draft = Some(new_cohort());
                // A new draft is not the saved cohort that was open: Rename
                // must not rename that one.
                self.loaded_cohort = None;
                self.cohort_json.clear();
                self.cohort_json_error = None;
            }
            Command::SaveCohort => {
                let spec = counting_copy(self.draft());
                self.loaded_cohort = Some(spec.name.clone());
                self.queries.ask(Query::SaveCohort(spec));
            }
            Command::DuplicateCohort => {
                let mut spec = counting_copy(self.draft());
                spec.name = format!("{} copy", spec.name);
                self.loaded_cohort = Some(spec.name.clone());
                self.prefs.cohort_draft = Some(spec.clone());
                self.queries.ask(Query::SaveCohort(spec));
            }
            Command::RenameCohort => {
                let to = self.draft().name.trim().to_string();
                if let Some(from) = self.loaded_cohort.clone() {
                    if from != to && !to.is_empty() {
                        self.loaded_cohort = Some(to.clone());
                        self.queries.ask(Query::RenameCohort(from, to));
                    }
                }
            }
            Command::LoadCohort(name) if self.draft_modified() => {
                let current = self.draft().name.clone();
                self.confirm = Some(Confirmation {
                    question: format!("Discard the unsaved changes to '{current}'?"),
                    detail: format!(
                        "Opening '{name}' replaces the draft. Cancel, then Save, to keep the changes."
                    ),
                    verb: "Discard and open".into(),
                    then: Box::new(Command::OpenCohortDiscarding(name)),
                });
            }
            Command::LoadCohort(name) | Command::OpenCohortDiscarding(name) => {
                if let Some(c) = self.saved_cohorts.iter().find(|c| c.name == name) {
                    self.loaded_cohort = Some(c.name.clone());
                    self.prefs.cohort_draft = Some(c.spec.clone());
                    // The JSON view shows the opened cohort, not a hand edit
                    // of the previous one (Apply would bring that back).
                    self.cohort_json.clear();
                    self.cohort_json_error = None;
                }
            }
            Command::DeleteCohort(name) => self.queries.ask(Query::DeleteCohort(name)),
            Command::Confirm(c) => self.confirm = Some(c),
            Command::AskValues(field) => {
                if !self.value_lists.contains_key(&field) && self.values_asked.insert(field.clone())
                {
                    self.queries.ask(Query::Values(field));
                }
            }
            Command::Answered(yes) => {
                if let Some(c) = self.confirm.take() {
                    if yes {
                        self.push(*c.then);
                    }
                }
            }
            Command::ApplyCohortJson(text) => match pacs_cohort::cohort::parse_spec(&text) {
                Ok(spec) => {
                    self.prefs.cohort_draft = Some(spec);
                    self.cohort_json.clear();
                    self.cohort_json_error = None;
                }
                Err(e) => self.cohort_json_error = Some(e.to_string()),
            },
            Command::PickEhrCsv => {
                if self.picking_csv.is_none() {
                    self.picking_csv = self.ask_picker(|p| p.pick_csv(), "file");
                }
            }
            Command::ImportEhr => {
                if let Some(d) = &mut self.ehr_dialog {
                    d.busy = true;
                    d.error = None;
                    let request = super::queries::EhrImportRequest {
                        path: d.path.clone(),
                        name: d.name.trim().to_string(),
                        key: d.key,
                        key_column: d.key_column.clone(),
                        issuer_column: d.issuer_column.clone(),
                        kinds: d.columns.iter().map(|c| (c.name.clone(), c.kind)).collect(),
                    };
                    self.queries.ask(Query::EhrImport(request));
                }
            }
            Command::CloseEhrDialog => self.ehr_dialog = None,
            Command::OpenExport(name) => {
                if self.export_dialog.is_none() {
                    let cohort = name
                        .or_else(|| self.loaded_cohort.clone())
                        .or_else(|| self.saved_cohorts.first().map(|c| c.name.clone()))
                        .unwrap_or_default();
                    let parent = self
                        .engine
                        .db_path()
                        .parent()
                        .map(PathBuf::from)
                        .unwrap_or_default();
                    let parent = std::env::var_os("HOME")
                        .map(PathBuf::from)
                        .unwrap_or(parent);
                    self.export_dialog = Some(ExportDialog::new(cohort, parent));
                    self.queries.ask(Query::MaskCounts);
                }
            }
            Command::PickExportFolder => {
                if self
                    .export_dialog
                    .as_ref()
                    .is_some_and(|d| d.picking.is_none())
                {
                    let rx = self.ask_picker(|p| p.pick_export_parent(), "folder");
                    if let Some(d) = &mut self.export_dialog {
                        d.picking = rx.map(|p| p.rx);
                    }
                }
            }
            Command::StartExport => self.start_export(),
            Command::Compare(a, b) => {
                self.comparison = Some(Comparison {
                    a: a.clone(),
                    b: b.clone(),
                    result: None,
                });
                self.queries.ask(Query::Compare(a, b));
            }
            Command::CloseComparison => self.comparison = None,
            Command::CancelExport => {
                if let Some(run) = self.export_dialog.as_mut().and_then(|d| d.run.as_mut()) {
                    run.handle.cancel.cancel();
                    run.cancelling = true;
                }
            }
            Command::CloseExport => {
                // A running export keeps running in the background (the
                // jobs window shows it); only an idle dialog closes.
                if !self.export_running() {
                    self.export_dialog = None;
                } else {
                    self.report_error(
                        "the export is still running; cancel it first (Esc) or let it finish"
                            .into(),
                    );
                }
            }
            Command::FocusSearch => {
                self.prefs.tab = Tab::Studies;
                self.focus_search = true;
            }
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

/// The draft as it is counted and saved: list values trimmed, empty ones
/// (left while typing "CT, ") dropped.
fn counting_copy(spec: &CohortSpec) -> CohortSpec {
    use pacs_cohort::model::Criterion as C;
    fn clean(c: &mut C) {
        match c {
            C::All(v) | C::Any(v) => v.iter_mut().for_each(clean),
            C::Not(c) | C::FirstOf(c) | C::LastOf(c) => clean(c),
            C::FollowUp(f) => clean(&mut f.criterion),
            C::Modality(v)
            | C::BodyPart(v)
            | C::Sex(v)
            | C::Institution(v)
            | C::Station(v)
            | C::Manufacturer(v)
            | C::Model(v)
            | C::SopClass(v) => {
                v.iter_mut().for_each(|s| *s = s.trim().to_string());
                v.retain(|s| !s.is_empty());
            }
            C::Ehr(e) => {
                if let Some(v) = &mut e.any_of {
                    v.iter_mut().for_each(|s| *s = s.trim().to_string());
                    v.retain(|s| !s.is_empty());
                }
            }
            _ => {}
        }
    }
    let mut s = spec.clone();
    s.rules.iter_mut().for_each(|r| clean(&mut r.criterion));
    s
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
