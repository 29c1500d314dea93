//! The PACS area (issue #14): configured nodes listed, added and removed,
//! verified with Echo; a harvest and a cohort retrieval as background jobs
//! with progress and cancel (also listed in the jobs window). Its own state,
//! worker and commands, like `analyses`; layout is in `view`.

pub mod view;

use pacs_cohort::model::{
    HarvestProgress, HarvestQuery, HarvestReport, PacsNode, RetrieveMethod, RetrieveProgress,
    RetrieveReport,
};
use pacs_cohort::{Engine, JobEvent, JobHandle, RetrieveOptions, Timeouts};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the PACS area asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// Add the node the form describes.
    Add(PacsNode),
    /// Remove a node (the app asks first).
    Remove(String),
    RemoveConfirmed(String),
    Echo(String),
    Harvest(String, HarvestQuery),
    CancelHarvest,
    /// Retrieve a saved cohort's remote series.
    Retrieve(String, RetrieveMethod),
    CancelRetrieve,
}

/// What the app must do after a drain.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// A job started: a line in the jobs window.
    Started(String),
    /// A job ended (its title, how).
    Finished(String, String),
    /// The index changed (harvested rows, retrieved files).
    IndexChanged,
}

enum Request {
    List,
    Add(PacsNode),
    Remove(String),
    Echo(String),
}

/// The nodes, and (remote series, of which retrieved, remote studies).
type Listing = (Vec<PacsNode>, (u64, u64, u64));

enum Reply {
    Listed(Result<Listing, String>),
    Changed(Result<String, String>),
    Echoed(String, Result<String, String>),
}

pub struct HarvestRun {
    pub node: String,
    pub handle: JobHandle<HarvestProgress, HarvestReport>,
    pub progress: Option<HarvestProgress>,
}

pub struct RetrieveRun {
    pub cohort: String,
    pub handle: JobHandle<RetrieveProgress, RetrieveReport>,
    pub progress: Option<RetrieveProgress>,
}

pub struct Pacs {
    engine: Engine,
    wake: Arc<dyn Fn() + Send + Sync>,
    tx: Sender<Request>,
    rx: Receiver<Reply>,
    pending: usize,
    pub listed: bool,
    pub nodes: Vec<PacsNode>,
    /// Remote series, of which retrieved, remote studies.
    pub counts: (u64, u64, u64),
    /// Per node, the last echo's answer (or that it is running).
    pub echoes: Vec<(String, Option<Result<String, String>>)>,
    pub message: Option<Result<String, String>>,
    pub form: view::Form,
    pub harvest: Option<HarvestRun>,
    pub harvest_outcome: Option<Result<HarvestReport, String>>,
    pub retrieve: Option<RetrieveRun>,
    pub retrieve_outcome: Option<Result<RetrieveReport, String>>,
    notes: Vec<Note>,
}

impl Pacs {
    pub fn new(engine: Engine, wake: Arc<dyn Fn() + Send + Sync>) -> Pacs {
        let (tx, req_rx) = channel::<Request>();
        let (reply_tx, rx) = channel();
        let worker_engine = engine.clone();
        let worker_wake = wake.clone();
        let _ = std::thread::Builder::new()
            .name("pacs-gui-pacs".into())
            .spawn(move || {
                while let Ok(r) = req_rx.recv() {
                    if reply_tx.send(run(&worker_engine, r)).is_err() {
                        return;
                    }
                    worker_wake();
                }
            });
        Pacs {
            engine,
            wake,
            tx,
            rx,
            pending: 0,
            listed: false,
            nodes: Vec::new(),
            counts: (0, 0, 0),
            echoes: Vec::new(),
            message: None,
            form: Default::default(),
            harvest: None,
            harvest_outcome: None,
            retrieve: None,
            retrieve_outcome: None,
            notes: Vec::new(),
        }
    }

    pub fn busy(&self) -> bool {
        self.pending > 0
    }

    pub fn running(&self) -> bool {
        self.harvest.is_some() || self.retrieve.is_some()
    }

    fn ask(&mut self, r: Request) {
        self.pending += 1;
        if self.tx.send(r).is_err() {
            self.pending -= 1;
        }
    }

    /// Lists the nodes and the remote counts (when the area is shown, and
    /// after every change).
    pub fn list(&mut self) {
        self.listed = true;
        self.ask(Request::List);
    }

    pub fn echo_of(&self, node: &str) -> Option<&Option<Result<String, String>>> {
        self.echoes.iter().find(|(n, _)| n == node).map(|(_, e)| e)
    }

    pub fn handle(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Add(node) => self.ask(Request::Add(node)),
            Cmd::Remove(name) | Cmd::RemoveConfirmed(name) => self.ask(Request::Remove(name)),
            Cmd::Echo(name) => {
                self.echoes.retain(|(n, _)| *n != name);
                self.echoes.push((name.clone(), None));
                self.ask(Request::Echo(name));
            }
            Cmd::Harvest(node, q) => {
                if self.harvest.is_some() {
                    return;
                }
                let handle = self
                    .engine
                    .spawn_harvest(node.clone(), q, self.wake.clone());
                self.harvest_outcome = None;
                self.notes.push(Note::Started(harvest_title(&node)));
                self.harvest = Some(HarvestRun {
                    node,
                    handle,
                    progress: None,
                });
            }
            Cmd::CancelHarvest => {
                if let Some(h) = &self.harvest {
                    h.handle.cancel.cancel();
                }
            }
            Cmd::Retrieve(cohort, method) => {
                if self.retrieve.is_some() {
                    return;
                }
                let opts = RetrieveOptions {
                    method,
                    ..Default::default()
                };
                let handle = self
                    .engine
                    .spawn_retrieve(cohort.clone(), opts, self.wake.clone());
                self.retrieve_outcome = None;
                self.notes.push(Note::Started(retrieve_title(&cohort)));
                self.retrieve = Some(RetrieveRun {
                    cohort,
                    handle,
                    progress: None,
                });
            }
            Cmd::CancelRetrieve => {
                if let Some(r) = &self.retrieve {
                    r.handle.cancel.cancel();
                }
            }
        }
    }

    /// Once per frame: worker answers and job events; returns what the app
    /// must do.
    pub fn drain(&mut self, deadline: Instant) -> Vec<Note> {
        while let Ok(reply) = self.rx.try_recv() {
            self.pending = self.pending.saturating_sub(1);
            self.on_reply(reply);
        }
        if let Some(run) = &mut self.harvest {
            let progress = &mut run.progress;
            let ended = run.handle.poll(deadline, |p| *progress = Some(p));
            let title = harvest_title(&run.node);
            match ended {
                Some(JobEvent::Done(r)) => {
                    let how = format!(
                        "{}{} studies, {} series in {} queries",
                        if r.cancelled { "cancelled after " } else { "" },
                        r.studies,
                        r.series,
                        r.queries
                    );
                    self.finish_harvest(title, how, Ok(r));
                }
                Some(JobEvent::Failed(e)) => self.finish_harvest(title, e.clone(), Err(e)),
                _ => {}
            }
        }
        if let Some(run) = &mut self.retrieve {
            let progress = &mut run.progress;
            let ended = run.handle.poll(deadline, |p| *progress = Some(p));
            let title = retrieve_title(&run.cohort);
            match ended {
                Some(JobEvent::Done(r)) => {
                    let how = format!(
                        "{}{} series ({} images); {} already local; {} failed",
                        if r.cancelled { "cancelled after " } else { "" },
                        r.series_retrieved,
                        r.instances,
                        r.series_skipped,
                        r.failures.len()
                    );
                    self.finish_retrieve(title, how, Ok(r));
                }
                Some(JobEvent::Failed(e)) => self.finish_retrieve(title, e.clone(), Err(e)),
                _ => {}
            }
        }
        std::mem::take(&mut self.notes)
    }

    fn finish_harvest(&mut self, title: String, how: String, r: Result<HarvestReport, String>) {
        self.harvest = None;
        self.harvest_outcome = Some(r);
        self.notes.push(Note::Finished(title, how));
        self.notes.push(Note::IndexChanged);
        self.list();
    }

    fn finish_retrieve(&mut self, title: String, how: String, r: Result<RetrieveReport, String>) {
        self.retrieve = None;
        self.retrieve_outcome = Some(r);
        self.notes.push(Note::Finished(title, how));
        self.notes.push(Note::IndexChanged);
        self.list();
    }

    fn on_reply(&mut self, reply: Reply) {
        match reply {
            Reply::Listed(Ok((nodes, counts))) => {
                self.nodes = nodes;
                self.counts = counts;
            }
            Reply::Listed(Err(e)) => self.message = Some(Err(e)),
            Reply::Changed(r) => {
                if r.is_ok() {
                    self.form = Default::default();
                }
                self.message = Some(r);
                self.list();
            }
            Reply::Echoed(node, r) => {
                if let Some(slot) = self.echoes.iter_mut().find(|(n, _)| *n == node) {
                    slot.1 = Some(r);
                }
            }
        }
    }
}

fn harvest_title(node: &str) -> String {
    format!("Harvest '{node}'")
}

fn retrieve_title(cohort: &str) -> String {
    format!("Retrieve '{cohort}'")
}

fn run(engine: &Engine, r: Request) -> Reply {
    let text = |e: pacs_cohort::EngineError| e.to_string();
    match r {
        Request::List => Reply::Listed(
            engine
                .pacs_nodes()
                .and_then(|n| Ok((n, engine.pacs_counts()?)))
                .map_err(text),
        ),
        Request::Add(node) => Reply::Changed(
            engine
                .pacs_add(&node, false)
                .map(|_| format!("added the node '{}'", node.name))
                .map_err(text),
        ),
        Request::Remove(name) => Reply::Changed(
            engine
                .pacs_remove(&name)
                .map(|_| format!("removed the node '{name}' (what was harvested from it stays)"))
                .map_err(text),
        ),
        Request::Echo(name) => {
            // Short waits: the user is looking at the button.
            let timeouts = Timeouts {
                connect: Duration::from_secs(5),
                read: Duration::from_secs(10),
            };
            let r = engine.pacs_echo(&name, timeouts).map_err(text);
            Reply::Echoed(name, r)
        }
    }
}
