//! The menu bar.

use crate::gui::commands::Command;
use eframe::egui;

/// The menu bar; `dark` names the theme to switch to.
pub fn show(ui: &mut egui::Ui, dark: bool, out: &mut Vec<Command>) {
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if ui
                .add(egui::Button::new("Open archive…").shortcut_text("Ctrl+O"))
                .clicked()
            {
                out.push(Command::PickFolder);
                ui.close();
            }
            if ui
                .add(egui::Button::new("Re-index all archives").shortcut_text("Ctrl+R"))
                .clicked()
            {
                out.push(Command::ReindexAll);
                ui.close();
            }
            if ui.button("Import clinical data (CSV)…").clicked() {
                out.push(Command::PickEhrCsv);
                ui.close();
            }
            if ui
                .add(egui::Button::new("Export cohort (de-identified)…").shortcut_text("Ctrl+E"))
                .clicked()
            {
                out.push(Command::OpenExport(None));
                ui.close();
            }
            ui.separator();
            if ui.button("Quit").clicked() {
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        });
        ui.menu_button("View", |ui| {
            let theme = if dark { "Light theme" } else { "Dark theme" };
            if ui.button(theme).clicked() {
                out.push(Command::ToggleTheme);
                ui.close();
            }
            if ui
                .add(egui::Button::new("Jobs").shortcut_text("Ctrl+J"))
                .clicked()
            {
                out.push(Command::ToggleJobs);
                ui.close();
            }
            if ui
                .add(egui::Button::new("Search studies").shortcut_text("Ctrl+F"))
                .clicked()
            {
                out.push(Command::FocusSearch);
                ui.close();
            }
        });
    });
}
