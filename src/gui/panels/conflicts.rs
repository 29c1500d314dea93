//! The conflicts window: patient keys (issuer, Patient ID) whose files
//! disagree on name, sex or birth date, each with its variants and the files
//! that carry them (DECISIONS 31). Reads the list the query worker loaded.

use crate::gui::commands::Command;
use crate::gui::theme;
use eframe::egui;
use pacs_cohort::model::PatientConflict;

/// Files listed per variant before "… and N more".
const FILES_SHOWN: usize = 20;

pub fn window(
    ctx: &egui::Context,
    conflicts: Option<&[PatientConflict]>,
    dark: bool,
    out: &mut Vec<Command>,
) {
    let mut open = true;
    egui::Window::new("Patient ID conflicts")
        .open(&mut open)
        .default_width(560.0)
        .default_height(420.0)
        .show(ctx, |ui| {
            ui.label(
                "One patient key (issuer, Patient ID) whose files give different names, sexes or \
                 birth dates: usually two sites' patients under one ID. Give each archive its site \
                 (Site field in Archives) to keep them apart. Until then cohorts count each key as \
                 one patient.",
            );
            ui.separator();
            let Some(list) = conflicts else {
                ui.spinner();
                return;
            };
            if list.is_empty() {
                ui.label("No conflicting patient demographics.");
                return;
            }
            ui.label(format!("{} conflicted patient ID(s)", list.len()));
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    for (i, c) in list.iter().enumerate() {
                        let issuer = if c.issuer.is_empty() {
                            "no issuer".to_string()
                        } else {
                            format!("issuer {}", c.issuer)
                        };
                        let title = format!(
                            "{} ({issuer}) · {} studies · {} differ",
                            c.patient_id,
                            c.studies,
                            c.differs_in.join(", ")
                        );
                        egui::CollapsingHeader::new(
                            egui::RichText::new(title).color(theme::error_color(dark)),
                        )
                        .id_salt(("conflict", i))
                        .default_open(i < 3)
                        .show(ui, |ui| variants(ui, c));
                    }
                });
        });
    if !open {
        out.push(Command::ToggleConflicts);
    }
}

fn variants(ui: &mut egui::Ui, c: &PatientConflict) {
    for v in &c.variants {
        let or_none = |s: &Option<String>| s.clone().unwrap_or_else(|| "(none)".into());
        ui.strong(format!(
            "{} · sex {} · born {} · {} file(s)",
            v.patient_name
                .as_deref()
                .map(pacs_cohort::model::display_person_name)
                .unwrap_or_else(|| "(no name)".into()),
            or_none(&v.sex),
            or_none(&v.birth_date),
            v.file_count
        ));
        for f in v.files.iter().take(FILES_SHOWN) {
            ui.label(egui::RichText::new(f).monospace());
        }
        if v.files.len() > FILES_SHOWN {
            ui.label(
                egui::RichText::new(format!(
                    "… and {} more (`pacs-cohort conflicts --json` lists all)",
                    v.files.len() - FILES_SHOWN
                ))
                .weak(),
            );
        }
    }
}
