//! The confirmation asked before a destructive command (delete a cohort
//! and its revisions, remove an archive): a modal, so nothing else can be
//! clicked while it is open, and no button can slide under the cursor.

use crate::gui::commands::{Command, Confirmation};
use eframe::egui;

/// Shows `pending` as a modal; returns the answer once the user gives one
/// (Enter confirms, Esc or a click outside cancels).
pub fn modal(ctx: &egui::Context, pending: &Confirmation) -> Option<Command> {
    let mut answer = None;
    let shown = egui::Modal::new(egui::Id::unique("confirm")).show(ctx, |ui| {
        ui.set_max_width(420.0);
        ui.heading(&pending.question);
        ui.label(&pending.detail);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui.button(&pending.verb).clicked() {
                answer = Some(true);
            }
            if ui.button("Cancel").clicked() {
                answer = Some(false);
            }
        });
    });
    if shown.backdrop_response.clicked() || ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
        answer = Some(false);
    }
    if ctx.input(|i| i.key_pressed(egui::Key::Enter)) {
        answer = Some(true);
    }
    answer.map(Command::Answered)
}
