//! The file list with statuses and reasons, filterable by status.

use crate::gui::commands::Command;
use crate::gui::theme;
use eframe::egui;
use egui_extras::{Column, TableBuilder};
use pacs_cohort::model::{FileRow, FileStatus, WorkspaceStatus};

/// What the file list shows.
pub struct View<'a> {
    pub files: &'a [FileRow],
    pub status: Option<&'a WorkspaceStatus>,
    /// The status filter chosen.
    pub showing: Option<FileStatus>,
    pub dark: bool,
}

pub fn show(ui: &mut egui::Ui, v: &View, out: &mut Vec<Command>) {
    if super::aggregate_only(v.status, ui) {
        return;
    }
    let counts = v.status.map(|s| s.status.clone());
    ui.horizontal_wrapped(|ui| {
        ui.label("Show");
        let current = v.showing;
        let total = counts.as_ref().map(|c| c.total()).unwrap_or(0);
        if ui
            .selectable_label(current.is_none(), format!("all ({total})"))
            .clicked()
        {
            out.push(Command::FilesStatus(None));
        }
        for st in FileStatus::ALL {
            let n = counts.as_ref().map(|c| c.get(st)).unwrap_or(0);
            if n == 0 && current != Some(st) {
                continue;
            }
            if ui
                .selectable_label(current == Some(st), format!("{st} ({n})"))
                .clicked()
            {
                out.push(Command::FilesStatus(Some(st)));
            }
        }
    });
    let dark = v.dark;
    TableBuilder::new(ui)
        .id_salt("files")
        .striped(true)
        .resizable(true)
        .column(Column::initial(90.0))
        .column(Column::initial(420.0).clip(true))
        .column(Column::initial(80.0))
        .column(Column::remainder().clip(true))
        .header(20.0, |mut h| {
            for t in ["Status", "Path", "Size", "Reason"] {
                h.col(|ui| {
                    ui.strong(t);
                });
            }
        })
        .body(|body| {
            body.rows(20.0, v.files.len(), |mut row| {
                let f = &v.files[row.index()];
                row.col(|ui| {
                    ui.colored_label(theme::status_color(f.status, dark), f.status.as_str());
                });
                row.col(|ui| {
                    ui.label(&f.path).on_hover_text(&f.path);
                });
                row.col(|ui| {
                    ui.label(format!("{:.1} kB", f.size_bytes as f64 / 1000.0));
                });
                row.col(|ui| {
                    let reason = f.reason.as_deref().unwrap_or("");
                    ui.label(reason).on_hover_text(reason);
                });
            });
        });
}
