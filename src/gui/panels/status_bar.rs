//! The status bar: workspace, counts per level, background job state.

use crate::gui::app::PacsApp;
use crate::gui::commands::Command;
use eframe::egui;

pub fn show(app: &mut PacsApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        match &app.status {
            Some(s) => {
                let l = &s.levels;
                ui.label(format!(
                    "{} patients · {} studies · {} series · {} instances",
                    l.patients, l.studies, l.series, l.instances
                ));
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
            let export = app
                .export_dialog
                .as_ref()
                .and_then(|d| d.run.as_ref())
                .map(|run| match &run.progress {
                    Some(p) => format!(
                        "Exporting: {} {}/{} files",
                        p.phase.as_str(),
                        p.done,
                        p.total
                    ),
                    None => "Exporting: starting…".to_string(),
                });
            let jobs_label = match &app.index {
                Some(run) => match &run.progress {
                    Some(p) if p.to_read > 0 => format!("Indexing: {}/{} files", p.read, p.to_read),
                    Some(p) => format!("Indexing: walking, {} files found", p.files_seen),
                    None => "Indexing: starting…".to_string(),
                },
                None if app.queries_busy() => "Loading…".to_string(),
                None => "Idle".to_string(),
            };
            let jobs_label = match export {
                Some(e) if app.index.is_some() => format!("{e} · {jobs_label}"),
                Some(e) => e,
                None => jobs_label,
            };
            if ui
                .link(jobs_label)
                .on_hover_text("Show jobs (Ctrl+J)")
                .clicked()
            {
                app.push(Command::ToggleJobs);
            }
        });
    });
}
