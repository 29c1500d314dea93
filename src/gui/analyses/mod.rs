//! The Analyses area (issue #12): a form that describes a trend, a
//! stratified prevalence or a standardised rate (`form`), run as a
//! background job with cancel, redrawn as the form changes; the result as
//! a chart (`plot`, egui_plot) with its table and tests (`view`); saved
//! analyses listed, opened and re-run; exports of the released result
//! (PNG, SVG, CSV and the specification) written by the library. Its own
//! state, worker and commands, like `imaging`.

pub mod biomarker;
pub mod form;
mod plot;
pub mod view;

use crate::gui::picker::FolderPicker;
use pacs_cohort::analysis::chart::ChartView;
use pacs_cohort::analysis::{AnalysisResult, AnalysisSpec, SavedAnalysis};
use pacs_cohort::{Engine, JobEvent, JobHandle};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the form must stay unchanged before a live re-run (typing a
/// year should not start four analyses).
const SETTLE: Duration = Duration::from_millis(150);

/// What the Analyses area asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// Run the form's analysis now.
    Run,
    Cancel,
    /// Save the shown result in the workspace under this name.
    Save(String),
    /// Show a saved analysis as it was computed (and fill the form).
    Open(i64),
    /// Run a saved analysis's specification again on today's index.
    Rerun(i64),
    /// Delete a saved analysis (the app asks first).
    Delete(i64),
    /// The user confirmed the deletion.
    DeleteConfirmed(i64),
    /// Write the released result (plots, CSV, specification) into a
    /// folder the user picks.
    Export,
    /// Pick a CSV for one of the form's path fields.
    PickCsv(form::CsvField),
    /// Compute the emphysema index of the chosen cohort's chest CT.
    StartBiomarker,
    CancelBiomarker,
}

/// A result on screen and where it came from.
pub struct Shown {
    pub result: AnalysisResult,
    /// The saved analysis it is, if any.
    pub saved_id: Option<i64>,
    /// Counts would differ today (a saved result on a changed index).
    pub index_changed: bool,
}

enum Request {
    List,
    Save(String, Box<AnalysisResult>),
    Open(i64),
    Delete(i64),
    /// Export into the folder picked (None: the dialog was cancelled).
    Export(Option<PathBuf>, Box<AnalysisResult>, ChartView),
    Csv(form::CsvField, Option<PathBuf>),
}

enum Reply {
    Listed(Result<Vec<SavedAnalysis>, String>),
    Saved(Result<i64, String>),
    Opened(i64, Result<Box<(AnalysisResult, bool)>, String>),
    Deleted(Result<i64, String>),
    Exported(Result<Option<PathBuf>, String>),
    Csv(form::CsvField, Option<PathBuf>),
}

pub struct Analyses {
    engine: Engine,
    wake: Arc<dyn Fn() + Send + Sync>,
    picker: Arc<dyn FolderPicker>,
    tx: Sender<Request>,
    rx: Receiver<Reply>,
    pending: usize,
    pub running: Option<JobHandle<(), AnalysisResult>>,
    /// The specification of the running (or last run) analysis.
    pub sent: Option<AnalysisSpec>,
    pub shown: Option<Shown>,
    pub error: Option<String>,
    pub message: Option<Result<String, String>>,
    pub view: ChartView,
    /// Re-run as the form changes.
    pub live: bool,
    pub saved: Vec<SavedAnalysis>,
    pub listed: bool,
    pub save_name: String,
    /// When the form last changed, and to what.
    changed: Option<(Instant, AnalysisSpec)>,
    /// A re-run of a saved analysis to be saved when done (its name).
    save_when_done: Option<String>,
    /// A path picked for a form field, to be applied by the app.
    pub picked_csv: Option<(form::CsvField, String)>,
    /// A saved analysis asked for by Re-run: started once it is read.
    rerun_on_open: Option<i64>,
    /// The specification of an opened saved analysis, for the app to put
    /// into the form.
    pub opened_spec: Option<AnalysisSpec>,
    /// The emphysema job.
    pub biomarker: biomarker::Biomarker,
}

impl Analyses {
    pub fn new(
        engine: Engine,
        picker: Arc<dyn FolderPicker>,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Analyses {
        let (tx, req_rx) = channel::<Request>();
        let (reply_tx, rx) = channel();
        let worker_engine = engine.clone();
        let worker_wake = wake.clone();
        let _ = std::thread::Builder::new()
            .name("pacs-gui-analyses".into())
            .spawn(move || {
                while let Ok(r) = req_rx.recv() {
                    if reply_tx.send(run(&worker_engine, r)).is_err() {
                        return;
                    }
                    worker_wake();
                }
            });
        Analyses {
            engine,
            wake,
            picker,
            tx,
            rx,
            pending: 0,
            running: None,
            sent: None,
            shown: None,
            error: None,
            message: None,
            view: ChartView::Lines,
            live: true,
            saved: Vec::new(),
            listed: false,
            save_name: String::new(),
            changed: None,
            save_when_done: None,
            picked_csv: None,
            rerun_on_open: None,
            opened_spec: None,
            biomarker: Default::default(),
        }
    }

    pub fn busy(&self) -> bool {
        self.pending > 0 || self.running.is_some() || self.biomarker.running.is_some()
    }

    fn ask(&mut self, r: Request) {
        self.pending += 1;
        if self.tx.send(r).is_err() {
            self.pending -= 1;
        }
    }

    /// Lists the saved analyses (when the area is first shown, and after
    /// every change).
    pub fn list(&mut self) {
        self.listed = true;
        self.ask(Request::List);
    }

    /// Starts `spec` (cancelling a running one).
    pub fn start(&mut self, spec: AnalysisSpec) {
        if let Some(old) = self.running.take() {
            old.cancel.cancel();
        }
        self.error = None;
        self.sent = Some(spec.clone());
        self.running = Some(self.engine.spawn_analysis(spec, false, self.wake.clone()));
    }

    /// Once per frame, with the form's current specification: answers,
    /// the running job, and a live re-run once the form has settled.
    pub fn drain(&mut self, spec: Result<AnalysisSpec, String>, deadline: Instant) {
        while let Ok(reply) = self.rx.try_recv() {
            self.pending = self.pending.saturating_sub(1);
            self.on_reply(reply);
        }
        if self.biomarker.drain(deadline) {
            // New features: a result that uses them may differ now.
            self.sent = None;
        }
        if let Some(job) = &self.running {
            match job.poll(deadline, |_| {}) {
                Some(JobEvent::Done(result)) => {
                    self.running = None;
                    let views = pacs_cohort::analysis::chart::views(&result);
                    if !views.contains(&self.view) {
                        self.view = views[0];
                    }
                    if let Some(name) = self.save_when_done.take() {
                        self.ask(Request::Save(name, Box::new(result.clone())));
                    }
                    self.shown = Some(Shown {
                        result,
                        saved_id: None,
                        index_changed: false,
                    });
                }
                Some(JobEvent::Failed(e)) => {
                    self.running = None;
                    self.save_when_done = None;
                    if !e.contains("cancelled") {
                        self.error = Some(e);
                    }
                }
                _ => {}
            }
        }
        match spec {
            Ok(spec) if self.live && self.sent.as_ref() != Some(&spec) => {
                let now = Instant::now();
                match &self.changed {
                    Some((at, s)) if *s == spec => {
                        if now.duration_since(*at) >= SETTLE {
                            self.changed = None;
                            self.start(spec);
                        }
                    }
                    _ => self.changed = Some((now, spec)),
                }
            }
            _ => self.changed = None,
        }
    }

    /// The index (or the saved cohorts) changed: the result shown may
    /// be out of date, so a live analysis runs again.
    pub fn index_changed(&mut self) {
        if self.shown.as_ref().is_some_and(|s| s.saved_id.is_none()) {
            self.sent = None;
        }
    }

    /// Whether a live re-run is waiting for the form to settle (the app
    /// keeps repainting until then).
    pub fn settling(&self) -> bool {
        self.changed.is_some()
    }

    pub fn handle(&mut self, cmd: Cmd, spec: Result<AnalysisSpec, String>) {
        match cmd {
            Cmd::Run => match spec {
                Ok(spec) => self.start(spec),
                Err(e) => self.error = Some(e),
            },
            Cmd::Cancel => {
                if let Some(job) = self.running.take() {
                    job.cancel.cancel();
                    self.message = Some(Ok("cancelled".into()));
                }
                self.save_when_done = None;
            }
            Cmd::Save(name) => {
                if let Some(s) = &self.shown {
                    let r = Box::new(s.result.clone());
                    self.ask(Request::Save(name, r));
                }
            }
            Cmd::Open(id) => self.ask(Request::Open(id)),
            Cmd::Rerun(id) => {
                let name = self
                    .saved
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| a.name.clone());
                self.save_when_done = name;
                self.ask(Request::Open(id));
                // The opened specification is started when it arrives.
                self.rerun_on_open = Some(id);
            }
            Cmd::Delete(id) | Cmd::DeleteConfirmed(id) => self.ask(Request::Delete(id)),
            Cmd::Export => {
                if let Some(s) = &self.shown {
                    let (picker, tx) = (self.picker.clone(), self.tx.clone());
                    let result = Box::new(s.result.clone());
                    let view = self.view;
                    self.pending += 1;
                    let _ = std::thread::Builder::new()
                        .name("pacs-gui-picker".into())
                        .spawn(move || {
                            let dir = picker.pick_analysis_folder();
                            let _ = tx.send(Request::Export(dir, result, view));
                        });
                }
            }
            Cmd::StartBiomarker => self.biomarker.start(&self.engine, self.wake.clone()),
            Cmd::CancelBiomarker => self.biomarker.cancel(),
            Cmd::PickCsv(field) => {
                let (picker, tx) = (self.picker.clone(), self.tx.clone());
                self.pending += 1;
                let _ = std::thread::Builder::new()
                    .name("pacs-gui-picker".into())
                    .spawn(move || {
                        let _ = tx.send(Request::Csv(field, picker.pick_csv()));
                    });
            }
        }
    }

    fn on_reply(&mut self, reply: Reply) {
        match reply {
            Reply::Listed(Ok(list)) => self.saved = list,
            Reply::Listed(Err(e)) => self.message = Some(Err(e)),
            Reply::Saved(Ok(id)) => {
                if let Some(s) = &mut self.shown {
                    if s.saved_id.is_none() {
                        s.saved_id = Some(id);
                    }
                }
                self.message = Some(Ok(format!("saved as analysis {id}")));
                self.list();
            }
            Reply::Saved(Err(e)) | Reply::Deleted(Err(e)) => self.message = Some(Err(e)),
            Reply::Deleted(Ok(id)) => {
                if self.shown.as_ref().is_some_and(|s| s.saved_id == Some(id)) {
                    if let Some(s) = &mut self.shown {
                        s.saved_id = None;
                    }
                }
                self.message = Some(Ok(format!("deleted analysis {id}")));
                self.list();
            }
            Reply::Opened(id, Ok(opened)) => {
                let (result, index_changed) = *opened;
                let spec = result.spec.clone();
                if self.rerun_on_open == Some(id) {
                    self.rerun_on_open = None;
                    self.opened_spec = Some(spec.clone());
                    self.start(spec);
                    return;
                }
                let views = pacs_cohort::analysis::chart::views(&result);
                if !views.contains(&self.view) {
                    self.view = views[0];
                }
                // The form shows it; no live re-run of what is shown.
                self.sent = Some(spec.clone());
                self.opened_spec = Some(spec);
                self.shown = Some(Shown {
                    result,
                    saved_id: Some(id),
                    index_changed,
                });
            }
            Reply::Opened(_, Err(e)) => {
                self.rerun_on_open = None;
                self.save_when_done = None;
                self.message = Some(Err(e));
            }
            Reply::Exported(Ok(Some(dir))) => {
                self.message = Some(Ok(format!(
                    "written (small cells suppressed): {}",
                    dir.display()
                )))
            }
            Reply::Exported(Ok(None)) => {}
            Reply::Exported(Err(e)) => self.message = Some(Err(e)),
            Reply::Csv(field, Some(path)) => {
                self.picked_csv = Some((field, path.display().to_string()))
            }
            Reply::Csv(_, None) => {}
        }
    }
}

fn run(engine: &Engine, r: Request) -> Reply {
    let text = |e: pacs_cohort::EngineError| e.to_string();
    match r {
        Request::List => Reply::Listed(engine.saved_analyses().map_err(text)),
        Request::Save(name, result) => {
            Reply::Saved(engine.save_analysis(&name, &result).map_err(text))
        }
        Request::Open(id) => Reply::Opened(
            id,
            engine.saved_analysis(id).map_err(text).and_then(|r| {
                let changed = engine.index_changed_since(&r).map_err(text)?;
                Ok(Box::new((r, changed)))
            }),
        ),
        Request::Delete(id) => {
            Reply::Deleted(engine.delete_saved_analysis(id).map(|_| id).map_err(text))
        }
        Request::Export(None, _, _) => Reply::Exported(Ok(None)),
        Request::Export(Some(parent), result, view) => Reply::Exported(
            engine
                .export_analysis(&parent, &result, view)
                .map(Some)
                .map_err(text),
        ),
        Request::Csv(field, path) => Reply::Csv(field, path),
    }
}
