//! The visual PHI review queue: the series of a saved cohort (or of the
//! whole workspace) with their state, ordered for review; keyboard-driven
//! decisions with a note, recorded by the engine on this module's own
//! worker (an approval renders the whole series: slow), the history of
//! decisions with CSV export.

use crate::gui::picker::FolderPicker;
use pacs_cohort::burnin::SeriesRisk;
use pacs_cohort::engine::ProfileOptions;
use pacs_cohort::model::{ReviewEvent, ReviewItem, ReviewState};
use pacs_cohort::Engine;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Instant;

/// What the review panel asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// List the queue again (for this saved cohort; None: every series).
    Load(Option<String>),
    Select(usize),
    /// Move the selection by this many rows.
    Move(i64),
    /// Record a decision about the selected series, with the note typed.
    Decide(ReviewState),
    /// Show or hide the history.
    History(bool),
    /// Ask where to save the history as CSV, then write it.
    ExportCsv,
}

enum Request {
    Items(Option<String>, ProfileOptions),
    Set {
        series: String,
        state: ReviewState,
        reviewer: String,
        note: String,
        options: ProfileOptions,
    },
    History,
    /// Write the history where the file dialog said (None: cancelled).
    Csv(Option<PathBuf>),
}

/// Burned-in text risk per series (header rules; empty when unknown).
type Risks = HashMap<String, SeriesRisk>;

enum Reply {
    Items(Option<String>, Result<(Vec<ReviewItem>, Risks), String>),
    Decided(Result<ReviewEvent, String>),
    History(Result<Vec<ReviewEvent>, String>),
    Csv(Result<Option<PathBuf>, String>),
}

pub struct Queue {
    tx: Sender<Request>,
    rx: Receiver<Reply>,
    picker: Arc<dyn FolderPicker>,
    /// The saved cohort reviewed (None: every series of the workspace).
    pub cohort: Option<String>,
    pub items: Vec<ReviewItem>,
    pub risks: Risks,
    pub loaded: bool,
    pub selected: usize,
    pub note: String,
    pub show_history: bool,
    pub history: Vec<ReviewEvent>,
    /// What the worker is doing, for the busy indicator.
    pub working: Option<String>,
    pub message: Option<Result<String, String>>,
    /// The options and reviewer decisions are recorded with (from prefs).
    pub options: ProfileOptions,
    pub reviewer: String,
    pending: usize,
    /// After a decision the selection moves on to the series that followed
    /// the decided one.
    next_after: Option<String>,
    /// Open the selected series once the queue is listed.
    open_on_load: bool,
}

impl Queue {
    pub fn spawn(
        engine: Engine,
        picker: Arc<dyn FolderPicker>,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Queue {
        let (tx, req_rx) = channel::<Request>();
        let (reply_tx, rx) = channel();
        let _ = std::thread::Builder::new()
            .name("pacs-gui-review".into())
            .spawn(move || {
                while let Ok(r) = req_rx.recv() {
                    if reply_tx.send(run(&engine, r)).is_err() {
                        return;
                    }
                    wake();
                }
            });
        Queue {
            tx,
            rx,
            picker,
            cohort: None,
            items: Vec::new(),
            risks: HashMap::new(),
            loaded: false,
            selected: 0,
            note: String::new(),
            show_history: false,
            history: Vec::new(),
            working: None,
            message: None,
            options: ProfileOptions::default(),
            reviewer: String::new(),
            pending: 0,
            next_after: None,
            open_on_load: false,
        }
    }

    pub fn busy(&self) -> bool {
        self.pending > 0
    }

    fn ask(&mut self, r: Request) {
        self.pending += 1;
        if self.tx.send(r).is_err() {
            self.pending -= 1;
        }
    }

    pub fn selected_item(&self) -> Option<&ReviewItem> {
        self.items.get(self.selected)
    }

    /// Options changed: approvals may no longer hold; list again.
    pub fn options_changed(&mut self, options: ProfileOptions) {
        self.options = options;
        if self.loaded {
            self.ask(Request::Items(self.cohort.clone(), options));
        }
    }

    /// Masks changed: approvals of masked images may no longer hold.
    pub fn masks_changed(&mut self) {
        if self.loaded {
            self.ask(Request::Items(self.cohort.clone(), self.options));
        }
    }

    /// Takes the workers' answers; returns a series to show when the
    /// queue was just listed.
    pub fn drain(&mut self, deadline: Instant) -> Option<(String, String)> {
        let mut open = None;
        while Instant::now() < deadline {
            let Ok(reply) = self.rx.try_recv() else {
                break;
            };
            self.pending = self.pending.saturating_sub(1);
            match reply {
                Reply::Items(cohort, Ok((mut items, risks))) if cohort == self.cohort => {
                    let keep = self
                        .next_after
                        .take()
                        .or_else(|| self.selected_item().map(|i| i.series_uid.clone()));
                    order(&mut items, &risks);
                    self.items = items;
                    self.risks = risks;
                    self.loaded = true;
                    self.selected = keep
                        .and_then(|k| self.items.iter().position(|i| i.series_uid == k))
                        .unwrap_or(0)
                        .min(self.items.len().saturating_sub(1));
                    if std::mem::take(&mut self.open_on_load) {
                        open = self.open_selected();
                    }
                }
                Reply::Items(_, Ok(_)) => {}
                Reply::Items(_, Err(e)) => {
                    self.loaded = true;
                    self.items.clear();
                    self.message = Some(Err(e));
                }
                Reply::Decided(Ok(ev)) => {
                    self.working = None;
                    self.message = Some(Ok(format!(
                        "{} by {} at {}",
                        ev.state.as_str().replace('_', " "),
                        ev.reviewer,
                        ev.at
                    )));
                    // The decision is in: the state shown comes from the
                    // engine, and the history too.
                    if let Some(item) = self
                        .items
                        .iter_mut()
                        .find(|i| i.series_uid == ev.series_uid)
                    {
                        item.state = ev.state;
                        item.stale = None;
                        item.last = Some(ev.clone());
                    }
                    self.ask(Request::Items(self.cohort.clone(), self.options));
                    if self.show_history {
                        self.ask(Request::History);
                    }
                }
                Reply::Decided(Err(e)) => {
                    self.working = None;
                    self.message = Some(Err(e));
                }
                Reply::History(Ok(h)) => self.history = h,
                Reply::History(Err(e)) => self.message = Some(Err(e)),
                Reply::Csv(Ok(Some(p))) => {
                    self.message = Some(Ok(format!("history written to {}", p.display())))
                }
                Reply::Csv(Ok(None)) => {}
                Reply::Csv(Err(e)) => self.message = Some(Err(e)),
            }
        }
        open
    }

    /// Handles a command; returns a series to show in the viewer.
    pub fn handle(&mut self, c: Cmd) -> Option<(String, String)> {
        match c {
            Cmd::Load(cohort) => {
                self.cohort = cohort;
                self.open_on_load = true;
                self.ask(Request::Items(self.cohort.clone(), self.options));
            }
            Cmd::Select(i) => {
                self.selected = i.min(self.items.len().saturating_sub(1));
                return self.open_selected();
            }
            Cmd::Move(by) => {
                let n = self.items.len() as i64;
                if n > 0 {
                    self.selected = (self.selected as i64 + by).clamp(0, n - 1) as usize;
                    self.note.clear();
                }
                return self.open_selected();
            }
            Cmd::Decide(state) => {
                let item = self.selected_item()?;
                let series = item.series_uid.clone();
                let images = item.instances;
                self.next_after = self
                    .items
                    .get(self.selected + 1)
                    .map(|i| i.series_uid.clone());
                self.working = Some(match state {
                    ReviewState::Approved => {
                        format!(
                            "approving {} images (rendering each as the export writes it)…",
                            images
                        )
                    }
                    _ => "recording…".into(),
                });
                self.message = None;
                let note = std::mem::take(&mut self.note);
                self.ask(Request::Set {
                    series,
                    state,
                    reviewer: self.reviewer.clone(),
                    note,
                    options: self.options,
                });
            }
            Cmd::History(show) => {
                self.show_history = show;
                if show {
                    self.ask(Request::History);
                }
            }
            Cmd::ExportCsv => {
                // The (blocking) dialog gets its own thread: the queue
                // keeps working while it is open.
                self.pending += 1;
                let (picker, tx) = (self.picker.clone(), self.tx.clone());
                let spawned = std::thread::Builder::new()
                    .name("pacs-gui-picker".into())
                    .spawn(move || {
                        let _ = tx.send(Request::Csv(picker.pick_save_csv("review-history.csv")));
                    });
                if let Err(e) = spawned {
                    self.pending -= 1;
                    self.message = Some(Err(format!("cannot open the file dialog: {e}")));
                }
            }
        }
        None
    }

    fn open_selected(&self) -> Option<(String, String)> {
        self.selected_item().map(|i| {
            (
                i.series_uid.clone(),
                format!("{} {}", i.modality, i.description),
            )
        })
    }
}

/// Review order: what needs a look first (unreviewed, then needs
/// masking), then what is decided; within each the highest burned-in
/// text risk first, then the engine's order.
fn order(items: &mut [ReviewItem], risks: &Risks) {
    let rank = |s: ReviewState| match s {
        ReviewState::Unreviewed => 0,
        ReviewState::NeedsMasking => 1,
        ReviewState::Approved => 2,
        ReviewState::Excluded => 3,
    };
    items.sort_by_key(|i| {
        let risk = risks.get(&i.series_uid).map(|r| r.level);
        (rank(i.state), std::cmp::Reverse(risk))
    });
}

fn run(engine: &Engine, r: Request) -> Reply {
    match r {
        Request::Items(cohort, options) => {
            let listed = engine
                .review_items(cohort.as_deref(), &options)
                .and_then(|items| {
                    let uids: Vec<String> = items.iter().map(|i| i.series_uid.clone()).collect();
                    Ok((items, engine.series_risks(&uids)?))
                })
                .map_err(|e| e.to_string());
            Reply::Items(cohort, listed)
        }
        Request::Set {
            series,
            state,
            reviewer,
            note,
            options,
        } => Reply::Decided(
            engine
                .set_review(&series, None, state, &reviewer, &note, &options)
                .map_err(|e| e.to_string()),
        ),
        Request::History => Reply::History(engine.review_history(None).map_err(|e| e.to_string())),
        Request::Csv(path) => {
            let Some(path) = path else {
                return Reply::Csv(Ok(None));
            };
            let mut bytes = Vec::new();
            let written = engine
                .write_review_history_csv(&mut bytes)
                .map_err(|e| e.to_string())
                .and_then(|_| {
                    // Series UIDs and names: PHI at rest, owner-only.
                    pacs_cohort::private_fs::write(&path, &bytes).map_err(|e| {
                        format!(
                            "cannot write the review history ({e}); choose a writable folder: {}",
                            path.display()
                        )
                    })
                });
            Reply::Csv(written.map(|_| Some(path)))
        }
    }
}
