//! Colours and text styles of the app, in one place.

use eframe::egui::{self, Color32};
use pacs_cohort::model::FileStatus;

/// Applies the chosen theme.
pub fn apply(ctx: &egui::Context, dark: bool) {
    ctx.set_theme(if dark {
        egui::Theme::Dark
    } else {
        egui::Theme::Light
    });
}

/// The colour that marks a file status.
pub fn status_color(st: FileStatus, dark: bool) -> Color32 {
    match (st, dark) {
        (FileStatus::Ok, true) => Color32::from_rgb(120, 200, 120),
        (FileStatus::Ok, false) => Color32::from_rgb(20, 120, 40),
        (FileStatus::Duplicate | FileStatus::Dicomdir | FileStatus::SymlinkDir, _) => Color32::GRAY,
        (FileStatus::Pending, _) => Color32::from_rgb(90, 140, 220),
        (_, true) => Color32::from_rgb(240, 170, 80),
        (_, false) => Color32::from_rgb(180, 90, 0),
    }
}

/// The colour of error messages.
pub fn error_color(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(255, 120, 110)
    } else {
        Color32::from_rgb(180, 30, 20)
    }
}
