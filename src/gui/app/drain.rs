//! What arrives between frames: job events (index, export) and query
//! answers, taken within one time budget per frame.

use super::*;

impl PacsApp {
    /// Drains job events and query answers within a small time budget.
    pub(super) fn drain(&mut self, ctx: &egui::Context) {
        // Every job is drained the same way, within one budget per frame.
        let deadline = Instant::now() + DRAIN_BUDGET;
        let finished = self.index.as_mut().and_then(|run| {
            let progress = &mut run.progress;
            run.handle.poll(deadline, |p| *progress = Some(p))
        });
        if let Some(ev) = finished {
            self.finish_index(ev);
        }
        self.drain_export(deadline);
        if self.prefs.reviewer.trim().is_empty() {
            self.prefs.reviewer = pacs_cohort::review::default_reviewer();
        }
        self.imaging
            .drain(self.prefs.profile.options(), &self.prefs.reviewer, deadline);
        self.drain_analyses(deadline);
        self.drain_pacs(deadline);
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
        let mut ended = Vec::new();
        self.removing
            .retain(|(root, handle)| match handle.poll(deadline, |_| {}) {
                Some(ev) => {
                    ended.push((root.clone(), ev));
                    false
                }
                None => true,
            });
        for (root, ev) in ended {
            match ev {
                JobEvent::Done(n) => self.jobs.push(JobLog {
                    title: format!("Remove {}", root.display()),
                    outcome: format!("removed {n} files from the index"),
                    running: false,
                }),
                JobEvent::Failed(e) => self.report_error(e),
                JobEvent::Progress(()) => {}
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

    pub(super) fn on_answer(&mut self, a: Answer) {
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
            Answer::CohortCount(r, by) => {
                self.cohort_counts = Some(r);
                self.cohort_evaluator = by;
            }
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
                // The site typed beside the path goes with the archive
                // opened next; an empty field keeps a known root's site.
                let site = std::mem::take(&mut self.new_archive_site);
                let site = Some(site.trim().to_string()).filter(|s| !s.is_empty());
                self.start_index_as(p, site);
            }
            Answer::ArchiveResolved(Err(e)) => self.report_error(e),
            Answer::Values(field, values) => {
                self.values_asked.remove(&field);
                self.value_lists.insert(field, values);
            }
            Answer::Conflicts(Ok(list)) => self.conflicts = Some(list),
            Answer::Conflicts(Err(e)) => {
                self.conflicts = Some(Vec::new());
                self.report_error(e);
            }
            Answer::Failed(e) => self.report_error(e),
        }
    }

    pub(crate) fn export_running(&self) -> bool {
        self.export_dialog.as_ref().is_some_and(|d| d.run.is_some())
    }

    /// Export job events and the export folder dialog's answer.
    pub(super) fn drain_export(&mut self, deadline: Instant) {
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
        let Some(ev) = d.drain(deadline) else { return };
        let outcome = match ev {
            JobEvent::Done(r) => ExportOutcome::Finished(Box::new(r)),
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

    pub(super) fn finish_index(&mut self, ev: JobEvent<IndexProgress, IndexSummary>) {
        let Some(run) = self.index.take() else { return };
        let title = format!("Index {}", run.root.display());
        let outcome = match ev {
            JobEvent::Done(s) if s.cancelled => format!(
                "cancelled after {:.1} s: {} files indexed and kept ({} instances in the index); re-index to finish",
                s.elapsed_seconds,
                s.files_indexed,
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
        // Changed files get new thumbnails.
        self.imaging.thumbs.clear();
        if !self.queue.is_empty() {
            let (next, issuer) = self.queue.remove(0);
            self.start_index_as(next, issuer);
        } else if self.exit_when_indexed {
            self.close_requested = true;
        }
    }

    fn drain_pacs(&mut self, deadline: Instant) {
        use super::super::pacs::Note;
        // Shown at start (the tab is restored) or chosen: list the nodes once.
        if self.prefs.tab == Tab::Pacs && !self.pacs.listed {
            self.pacs.list();
        }
        for note in self.pacs.drain(deadline) {
            match note {
                Note::Started(title) => self.jobs.push(JobLog {
                    title,
                    outcome: "running".into(),
                    running: true,
                }),
                Note::Finished(title, how) => self.finish_job(&title, how),
                Note::IndexChanged => self.refresh_all(),
            }
        }
    }

    fn drain_analyses(&mut self, deadline: Instant) {
        let a = &mut self.analyses;
        if let Some(spec) = a.opened_spec.take() {
            self.prefs.analysis_form = super::super::analyses::form::Form::from_spec(&spec);
        }
        if let Some((field, path)) = a.picked_csv.take() {
            self.prefs.analysis_form.set_csv(field, path);
        }
        // Live re-runs only while the area is shown.
        let spec = if self.prefs.tab == Tab::Analyses {
            self.prefs.analysis_form.spec()
        } else {
            Err(String::new())
        };
        a.drain(spec, deadline);
    }
}
