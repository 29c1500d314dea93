//! The menu bar.

use crate::gui::app::PacsApp;
use crate::gui::commands::Command;
use eframe::egui;

pub fn show(app: &mut PacsApp, ui: &mut egui::Ui) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if ui
                .add(egui::Button::new("Open archive…").shortcut_text("Ctrl+O"))
                .clicked()
            {
                app.push(Command::PickFolder);
                ui.close();
            }
            if ui
                .add(egui::Button::new("Re-index all archives").shortcut_text("Ctrl+R"))
                .clicked()
            {
                app.push(Command::ReindexAll);
                ui.close();
            }
            if ui.button("Import clinical data (CSV)…").clicked() {
                app.push(Command::PickEhrCsv);
                ui.close();
            }
            if ui
                .add(egui::Button::new("Export cohort (de-identified)…").shortcut_text("Ctrl+E"))
                .clicked()
            {
                app.push(Command::OpenExport(None));
                ui.close();
            }
            ui.separator();
            if ui.button("Quit").clicked() {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        });
        ui.menu_button("View", |ui| {
            let theme = if app.prefs.dark {
                "Light theme"
            } else {
                "Dark theme"
            };
            if ui.button(theme).clicked() {
                app.push(Command::ToggleTheme);
                ui.close();
            }
            if ui
                .add(egui::Button::new("Jobs").shortcut_text("Ctrl+J"))
                .clicked()
            {
                app.push(Command::ToggleJobs);
                ui.close();
            }
            if ui
                .add(egui::Button::new("Search studies").shortcut_text("Ctrl+F"))
                .clicked()
            {
                app.push(Command::FocusSearch);
                ui.close();
            }
        });
    });
}
