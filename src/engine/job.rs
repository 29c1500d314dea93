//! Background jobs: a named worker thread, an event channel, a cancel token.

use std::sync::mpsc;
use std::sync::Arc;

pub use crate::cancel::CancelToken;

/// What a job reports.
#[derive(Debug, Clone)]
pub enum JobEvent<P, T> {
    Progress(P),
    Done(T),
    /// A one-line, user-facing message.
    Failed(String),
}

/// The starter's end of a job.
pub struct JobHandle<P, T> {
    pub events: mpsc::Receiver<JobEvent<P, T>>,
    pub cancel: CancelToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<P, T> JobHandle<P, T> {
    /// Takes the events that are there, until `deadline`: progress goes to
    /// `on_progress`, the final event (done, failed, or the job's thread
    /// gone without one) is returned. Never blocks: for a UI frame.
    pub fn poll(
        &self,
        deadline: std::time::Instant,
        mut on_progress: impl FnMut(P),
    ) -> Option<JobEvent<P, T>> {
        while std::time::Instant::now() < deadline {
            match self.events.try_recv() {
                Ok(JobEvent::Progress(p)) => on_progress(p),
                Ok(other) => return Some(other),
                Err(mpsc::TryRecvError::Empty) => return None,
                Err(mpsc::TryRecvError::Disconnected) => {
                    return Some(JobEvent::Failed(
                        "the job stopped unexpectedly (its thread ended without a result)".into(),
                    ))
                }
            }
        }
        None
    }

    /// Blocks until the job ends; returns its final event.
    pub fn wait(mut self) -> JobEvent<P, T> {
        let mut last = JobEvent::Failed("the job ended without a result".into());
        while let Ok(ev) = self.events.recv() {
            match ev {
                JobEvent::Progress(_) => {}
                other => last = other,
            }
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        last
    }
}

pub(crate) fn spawn<P, T, E, F>(
    name: &str,
    wake: Arc<dyn Fn() + Send + Sync>,
    work: F,
) -> JobHandle<P, T>
where
    P: Send + 'static,
    T: Send + 'static,
    E: std::fmt::Display,
    F: FnOnce(&CancelToken, &mut dyn FnMut(P)) -> Result<T, E> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let cancel = CancelToken::new();
    let token = cancel.clone();
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let progress_tx = tx.clone();
            let progress_wake = wake.clone();
            let mut emit = move |p: P| {
                let _ = progress_tx.send(JobEvent::Progress(p));
                progress_wake();
            };
            let ev = match work(&token, &mut emit) {
                Ok(v) => JobEvent::Done(v),
                Err(e) => JobEvent::Failed(e.to_string()),
            };
            let _ = tx.send(ev);
            wake();
        });
    match thread {
        Ok(t) => JobHandle {
            events: rx,
            cancel,
            thread: Some(t),
        },
        Err(e) => {
            let (tx, rx) = mpsc::channel();
            let _ = tx.send(JobEvent::Failed(format!(
                "cannot start a worker thread: {e}"
            )));
            JobHandle {
                events: rx,
                cancel,
                thread: None,
            }
        }
    }
}

/// Writes `bytes` to `path` on a short-lived thread and forgets the result
/// (diagnostics such as the GUI's frame-time record: the UI thread touches
/// no files, DECISIONS 33).
pub fn write_in_background(path: std::path::PathBuf, bytes: Vec<u8>) {
    let _ = std::thread::Builder::new()
        .name("pacs-write".into())
        .spawn(move || {
            let _ = std::fs::write(path, bytes);
        });
}
