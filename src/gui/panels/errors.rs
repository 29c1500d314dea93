//! Dismissable error messages.

use crate::gui::commands::Command;
use crate::gui::theme;
use eframe::egui;

pub fn show(ui: &mut egui::Ui, errors: &[String], dark: bool, out: &mut Vec<Command>) {
    let color = theme::error_color(dark);
    let mut dismiss = None;
    for (i, e) in errors.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui
                .small_button("Dismiss")
                .on_hover_text("Hide this message")
                .clicked()
            {
                dismiss = Some(i);
            }
            ui.colored_label(color, e);
        });
    }
    if let Some(i) = dismiss {
        out.push(Command::DismissError(i));
    }
}
