//! Dismissable error messages.

use crate::gui::app::PacsApp;
use crate::gui::commands::Command;
use crate::gui::theme;
use eframe::egui;

pub fn show(app: &mut PacsApp, ui: &mut egui::Ui) {
    let color = theme::error_color(app.prefs.dark);
    let mut dismiss = None;
    for (i, e) in app.errors.iter().enumerate() {
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
        app.push(Command::DismissError(i));
    }
}
