//! The jobs window: running and finished background jobs.

use crate::gui::app::PacsApp;
use crate::gui::commands::Command;
use eframe::egui;

pub fn window(app: &mut PacsApp, ctx: &egui::Context) {
    let mut open = true;
    egui::Window::new("Jobs")
        .open(&mut open)
        .default_width(460.0)
        .show(ctx, |ui| {
            if app.jobs.is_empty() {
                ui.label("No jobs yet.");
            }
            for j in app.jobs.iter().rev() {
                ui.horizontal(|ui| {
                    if j.running {
                        ui.spinner();
                    }
                    ui.strong(&j.title);
                });
                ui.label(&j.outcome);
                ui.separator();
            }
        });
    if !open {
        app.push(Command::ToggleJobs);
    }
}
