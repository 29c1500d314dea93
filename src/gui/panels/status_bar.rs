//! The status bar: workspace, counts per level, background job state.

use crate::gui::commands::Command;
use eframe::egui;
use pacs_cohort::engine::ExportProgress;
use pacs_cohort::model::{IndexProgress, WorkspaceStatus};

/// What the status bar shows.
pub struct View<'a> {
    pub status: Option<&'a WorkspaceStatus>,
    /// An index job runs (with its progress once it has one).
    pub indexing: Option<Option<&'a IndexProgress>>,
    /// An export job runs (with its progress once it has one).
    pub exporting: Option<Option<&'a ExportProgress>>,
    /// Queries are still answering.
    pub busy: bool,
}

pub fn show(ui: &mut egui::Ui, v: &View, out: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        match v.status {
            Some(s) => {
                let l = &s.levels;
                ui.label(format!(
                    "{} patients · {} studies · {} series · {} instances",
                    l.patients, l.studies, l.series, l.instances
                ));
                if s.patient_conflicts > 0
                    && ui
                        .link(format!(
                            "{} conflicting patient ID(s)",
                            s.patient_conflicts
                        ))
                        .on_hover_text("Patient IDs whose files give different names, sexes or birth dates: click to list them")
                        .clicked()
                {
                    out.push(Command::ToggleConflicts);
                }
                ui.separator();
                ui.label(egui::RichText::new(&s.database).weak())
                    .on_hover_text("Workspace database");
            }
            None => {
                ui.spinner();
                ui.label("opening workspace…");
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let export = v.exporting.map(|progress| match progress {
                Some(p) => format!(
                    "Exporting: {} {}/{} files",
                    p.phase.as_str(),
                    p.done,
                    p.total
                ),
                None => "Exporting: starting…".to_string(),
            });
            let jobs_label = match v.indexing {
                Some(progress) => match progress {
                    Some(p) if p.to_read > 0 => format!("Indexing: {}/{} files", p.read, p.to_read),
                    Some(p) => format!("Indexing: walking, {} files found", p.files_seen),
                    None => "Indexing: starting…".to_string(),
                },
                None if v.busy => "Loading…".to_string(),
                None => "Idle".to_string(),
            };
            let jobs_label = match export {
                Some(e) if v.indexing.is_some() => format!("{e} · {jobs_label}"),
                Some(e) => e,
                None => jobs_label,
            };
            if ui
                .link(jobs_label)
                .on_hover_text("Show jobs (Ctrl+J)")
                .clicked()
            {
                out.push(Command::ToggleJobs);
            }
        });
    });
}
