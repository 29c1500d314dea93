//! Layout. Panels read the app's already-loaded view state and push
//! commands; none of them does I/O.

mod archives;
mod cohort;
mod confirm;
mod ehr_dialog;
mod errors;
mod export_dialog;
mod files;
mod jobs;
mod menu;
mod status_bar;
mod studies;

use super::app::PacsApp;
use super::state::Tab;
use eframe::egui;

pub fn layout(app: &mut PacsApp, ui: &mut egui::Ui) {
    egui::Panel::top("menu").show(ui, |ui| menu::show(app, ui));
    if !app.errors.is_empty() {
        egui::Panel::top("errors").show(ui, |ui| errors::show(app, ui));
    }
    egui::Panel::bottom("status_bar").show(ui, |ui| status_bar::show(app, ui));
    egui::Panel::left("archives")
        .resizable(true)
        .default_size(300.0)
        .min_size(220.0)
        .show(ui, |ui| archives::show(app, ui));
    egui::CentralPanel::default_margins().show(ui, |ui| {
        ui.horizontal(|ui| {
            let current = app.prefs.tab;
            let tabs = [
                (Tab::Studies, "Studies"),
                (Tab::Cohort, "Cohort builder"),
                (Tab::Files, "Files and statuses"),
            ];
            for (tab, title) in tabs {
                if ui.selectable_label(current == tab, title).clicked() {
                    app.push(super::commands::Command::ShowTab(tab));
                }
            }
        });
        ui.separator();
        match app.prefs.tab {
            Tab::Studies => studies::show(app, ui),
            Tab::Cohort => cohort::show(app, ui),
            Tab::Files => files::show(app, ui),
        }
    });
    if app.prefs.show_jobs {
        jobs::window(app, ui.ctx());
    }
    ehr_dialog::window(app, ui.ctx());
    export_dialog::window(app, ui.ctx());
    if let Some(answer) = app
        .confirm
        .as_ref()
        .and_then(|c| confirm::modal(ui.ctx(), c))
    {
        app.push(answer);
    }
}

/// Formats an optional value for a table cell.
pub(super) fn cell(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// In an aggregate-only workspace, says so instead of showing rows.
/// Returns true when the caller must not show row-level data.
pub(super) fn aggregate_only(app: &PacsApp, ui: &mut egui::Ui) -> bool {
    let on = app.status.as_ref().is_some_and(|s| s.aggregate_only);
    if on {
        ui.label("This workspace is in aggregate-only mode: studies and files are not shown, and counts are suppressed.");
        ui.label(egui::RichText::new("The workspace owner can change this with `pacs-cohort privacy --aggregate-only false`.").weak());
    }
    on
}
