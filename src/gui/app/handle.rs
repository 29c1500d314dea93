//! What each command does (panels push commands during layout; they are
//! handled after it).

use super::*;
use crate::gui::analyses::Cmd as AnalysesCmd;
use crate::gui::pacs::Cmd as PacsCmd;

impl PacsApp {
    pub(super) fn handle(&mut self, ctx: &egui::Context, c: Command) {
        match c {
            Command::PickFolder => {
                if self.picking.is_none() {
                    self.picking = self.ask_picker(|p| p.pick_folder(), "folder");
                }
            }
            // The worker checks the folder and answers (ArchiveResolved).
            Command::OpenArchive(p) => self.queries.ask(Query::ResolveArchive(p)),
            Command::Reindex(p) => self.start_index(p),
            Command::SetSite(p, issuer) => {
                self.site_edits.remove(&p.display().to_string());
                self.start_index_as(p, Some(issuer.trim().to_string()));
            }
            Command::ToggleConflicts => {
                self.show_conflicts = !self.show_conflicts;
                if self.show_conflicts {
                    self.queries.ask(Query::Conflicts);
                }
            }
            Command::ConflictsOnly(on) => {
                self.conflicts_only = on;
                self.commands.push(Command::FilterChanged);
            }
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
                let handle = self.engine.spawn_remove(p.clone(), self.wake.clone());
                self.removing.push((p, handle));
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
                let spec = self.draft().normalized();
                self.loaded_cohort = Some(spec.name.clone());
                self.queries.ask(Query::SaveCohort(spec));
            }
            Command::DuplicateCohort => {
                let mut spec = self.draft().normalized();
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
            Command::Analyses(AnalysesCmd::Delete(id)) => {
                let name = self
                    .analyses
                    .saved
                    .iter()
                    .find(|a| a.id == id)
                    .map_or(format!("analysis {id}"), |a| a.name.clone());
                self.confirm = Some(Confirmation {
                    question: format!("Delete the saved analysis '{name}'?"),
                    detail: "Its result and specification are removed from the workspace; exported files are kept.".into(),
                    verb: "Delete".into(),
                    then: Box::new(Command::Analyses(AnalysesCmd::DeleteConfirmed(id))),
                });
            }
            Command::Pacs(PacsCmd::Remove(name)) => {
                self.confirm = Some(Confirmation {
                    question: format!("Remove the PACS node '{name}'?"),
                    detail: "Its settings are forgotten; the studies and series harvested from it stay in the index.".into(),
                    verb: "Remove node".into(),
                    then: Box::new(Command::Pacs(PacsCmd::RemoveConfirmed(name))),
                });
            }
            Command::Pacs(c) => self.pacs.handle(c),
            Command::Analyses(c) => {
                let spec = self.prefs.analysis_form.spec();
                self.analyses.handle(c, spec);
            }
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
                    let request = crate::gui::queries::EhrImportRequest {
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
            Command::Imaging(c) => self.imaging.handle(c),
            Command::FocusSearch => {
                self.prefs.tab = Tab::Studies;
                self.focus_search = true;
            }
        }
    }
}
