//! The jobs window: running and finished background jobs.

use crate::gui::app::JobLog;
use crate::gui::commands::Command;
use eframe::egui;

pub fn window(ctx: &egui::Context, jobs: &[JobLog], out: &mut Vec<Command>) {
    let mut open = true;
    egui::Window::new("Jobs")
        .open(&mut open)
        .default_width(460.0)
        .show(ctx, |ui| {
            if jobs.is_empty() {
                ui.label("No jobs yet.");
            }
            for j in jobs.iter().rev() {
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
        out.push(Command::ToggleJobs);
    }
}
