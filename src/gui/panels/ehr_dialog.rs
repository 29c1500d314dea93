//! The clinical-data import dialog: preview a CSV's columns, choose what
//! links rows to the index and each column's type, then import.

use crate::gui::app::EhrDialog;
use crate::gui::commands::Command;
use eframe::egui;
use pacs_cohort::model::{EhrKey, EhrKind};

pub fn window(
    ctx: &egui::Context,
    dialog: Option<&mut EhrDialog>,
    dark: bool,
    commands: &mut Vec<Command>,
) {
    let Some(d) = dialog else { return };
    let mut open = true;
    egui::Window::new("Import clinical data")
        .open(&mut open)
        .default_width(520.0)
        .show(ctx, |ui| {
            ui.label(
                egui::RichText::new(d.path.display().to_string())
                    .monospace()
                    .small(),
            );
            ui.horizontal(|ui| {
                let label = ui.label("Dataset name");
                ui.add(egui::TextEdit::singleline(&mut d.name).desired_width(200.0))
                    .labelled_by(label.id);
            });
            ui.horizontal(|ui| {
                ui.label("Rows are linked by");
                egui::ComboBox::from_id_salt("ehr_key_kind")
                    .selected_text(match d.key {
                        EhrKey::PatientId => "patient ID",
                        EhrKey::Accession => "accession number",
                    })
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut d.key, EhrKey::PatientId, "patient ID");
                        ui.selectable_value(&mut d.key, EhrKey::Accession, "accession number");
                    });
                ui.label("in column");
                egui::ComboBox::from_id_salt("ehr_key_column")
                    .selected_text(d.key_column.clone())
                    .show_ui(ui, |ui| {
                        for c in &d.columns {
                            ui.selectable_value(&mut d.key_column, c.name.clone(), &c.name);
                        }
                    });
            });
            if d.key == EhrKey::PatientId || d.issuer_column.is_some() {
                ui.horizontal(|ui| {
                    ui.label("Issuer of the patient ID in column");
                    egui::ComboBox::from_id_salt("ehr_issuer_column")
                        .selected_text(d.issuer_column.clone().unwrap_or_else(|| "(none: any site)".into()))
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut d.issuer_column, None, "(none: any site)");
                            for c in d.columns.iter().filter(|c| c.name != d.key_column) {
                                ui.selectable_value(&mut d.issuer_column, Some(c.name.clone()), &c.name);
                            }
                        })
                        .response
                        .on_hover_text("With several sites, the same patient ID can belong to different people: rows then link only to patients of their issuer.");
                });
            }
            ui.separator();
            egui::Grid::new("ehr_columns")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    ui.strong("Column");
                    ui.strong("Type");
                    ui.end_row();
                    let issuer = d.issuer_column.clone();
                    for c in d
                        .columns
                        .iter_mut()
                        .filter(|c| c.name != d.key_column && Some(&c.name) != issuer.as_ref())
                    {
                        ui.label(&c.name);
                        egui::ComboBox::from_id_salt(format!("kind-{}", c.name))
                            .selected_text(c.kind.as_str())
                            .show_ui(ui, |ui| {
                                for k in [EhrKind::Text, EhrKind::Number, EhrKind::Date] {
                                    ui.selectable_value(&mut c.kind, k, k.as_str());
                                }
                            });
                        ui.end_row();
                    }
                });
            if let Some(e) = &d.error {
                ui.colored_label(crate::gui::theme::error_color(dark), e);
            }
            ui.horizontal(|ui| {
                let ready = !d.busy && !d.name.trim().is_empty() && !d.key_column.is_empty();
                if ui.add_enabled(ready, egui::Button::new("Import")).clicked() {
                    commands.push(Command::ImportEhr);
                }
                if d.busy {
                    ui.spinner();
                }
                if ui.button("Cancel").clicked() {
                    commands.push(Command::CloseEhrDialog);
                }
            });
        });
    if !open {
        commands.push(Command::CloseEhrDialog);
    }
}
