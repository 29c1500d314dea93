//! Starting background jobs (index, export) and dialogs (on their own
//! threads), and recording how they ended.

use super::*;

/// A dialog running on its thread, and when it was opened.
pub(super) struct Picking {
    pub(super) rx: Receiver<Option<PathBuf>>,
    started: Instant,
}

impl Picking {
    /// The dialog's answer, once it has one.
    pub(super) fn answer(&self) -> Option<Option<PathBuf>> {
        self.rx.try_recv().ok()
    }
}

impl PacsApp {
    /// Marks the newest running job with `title` as ended with `outcome`.
    pub(super) fn finish_job(&mut self, title: &str, outcome: String) {
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

    pub(super) fn start_export(&mut self) {
        let Some(d) = &mut self.export_dialog else {
            return;
        };
        if d.run.is_some() || d.problem().is_some() {
            return;
        }
        let handle = self.engine.spawn_export(
            d.cohort.clone(),
            d.out(),
            d.export_options(self.prefs.profile.options()),
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

    pub(super) fn start_index(&mut self, root: PathBuf) {
        self.start_index_as(root, None);
    }

    /// Indexes `root`, giving it the site `issuer` when `Some` (a changed
    /// site re-reads the archive, DECISIONS 31).
    pub(super) fn start_index_as(&mut self, root: PathBuf, issuer: Option<String>) {
        if self.index.is_some() {
            match self.queue.iter_mut().find(|(r, _)| *r == root) {
                Some(queued) => {
                    if issuer.is_some() {
                        queued.1 = issuer;
                    }
                }
                None => self.queue.push((root, issuer)),
            }
            return;
        }
        // Background priority: the window must stay smooth while indexing.
        let opts = IndexOptions {
            low_priority: true,
            issuer,
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

    /// A dialog that answered "nothing chosen" faster than a person can
    /// cancel one did not open at all (no XDG desktop portal, no zenity):
    /// say so, and what to do instead.
    pub(super) fn explain_no_dialog(
        &mut self,
        picking: Option<Picking>,
        what: &str,
        instead: &str,
    ) {
        if picking.is_some_and(|p| p.started.elapsed() < Duration::from_millis(400)) {
            self.report_error(format!(
                "the {what} dialog did not open (this system has no XDG desktop portal or zenity); {instead}"
            ));
        }
    }

    /// Runs a (blocking) dialog of the picker on its own thread; the answer
    /// arrives on the returned channel and wakes the UI.
    pub(super) fn ask_picker(
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
}
