//! The export dialog: which cohort, where, which profile options; then the
//! job's progress with cancel, and the gate's verdict.

use crate::gui::commands::Command;
use crate::gui::export_job::ExportDialog;
use crate::gui::export_job::{summary, ExportOutcome};
use eframe::egui;
use pacs_cohort::engine::{ExportPhase, Waiver};

/// The dialog, if open; `cohorts` are the saved cohorts' names.
pub fn window(
    ctx: &egui::Context,
    dialog: Option<&mut ExportDialog>,
    cohorts: &[String],
    profile: &mut crate::gui::state::ProfilePrefs,
    commands: &mut Vec<Command>,
) {
    let Some(d) = dialog else {
        return;
    };
    let mut open = true;
    let running = d.run.is_some();
    egui::Window::new("Export de-identified DICOM")
        .open(&mut open)
        .default_width(560.0)
        .show(ctx, |ui| {
            ui.add_enabled_ui(!running, |ui| {
                egui::Grid::new("export_form").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
                    ui.label("Cohort");
                    egui::ComboBox::from_id_salt("export_cohort")
                        .selected_text(if d.cohort.is_empty() { "choose…" } else { d.cohort.as_str() })
                        .show_ui(ui, |ui| {
                            for name in cohorts {
                                if ui.selectable_label(&d.cohort == name, name).clicked() {
                                    d.cohort = name.clone();
                                    d.suggest_folder_name();
                                }
                            }
                        });
                    ui.end_row();
                    let label = ui.label("Write into");
                    ui.horizontal(|ui| {
                        ui.add(egui::TextEdit::singleline(&mut d.parent).desired_width(330.0))
                            .labelled_by(label.id);
                        if ui.button("Choose…").clicked() {
                            commands.push(Command::PickExportFolder);
                        }
                    });
                    ui.end_row();
                    let label = ui.label("New folder");
                    ui.add(egui::TextEdit::singleline(&mut d.folder_name).desired_width(330.0))
                        .labelled_by(label.id);
                    ui.end_row();
                    let label = ui.label("Re-identification table");
                    ui.add(
                        egui::TextEdit::singleline(&mut d.reid_table)
                            .desired_width(330.0)
                            .hint_text("optional: a new file, outside the export"),
                    )
                    .labelled_by(label.id);
                    ui.end_row();
                });
                ui.add_space(6.0);
                ui.strong("Profile: PS3.15 Basic Application Level Confidentiality, with");
                let c = profile;
                ui.horizontal(|ui| {
                    ui.radio_value(&mut c.full_dates, false, "Shift dates per patient")
                        .on_hover_text("Retain Longitudinal Temporal Information, Modified Dates (113107)");
                    ui.radio_value(&mut c.full_dates, true, "Keep dates")
                        .on_hover_text("Retain Longitudinal Temporal Information, Full Dates (113106)");
                });
                ui.checkbox(&mut c.clean_descriptors, "Clean descriptors (keep only safe words)")
                    .on_hover_text("113105; off removes descriptions entirely");
                ui.checkbox(&mut c.patient_characteristics, "Keep age, sex, size, weight (ages over 89 become 090Y)");
                ui.checkbox(&mut c.device_identity, "Keep device identity");
                ui.checkbox(&mut c.institution_identity, "Keep institution identity");
                ui.checkbox(&mut c.uids, "Keep original UIDs");
                ui.checkbox(&mut c.safe_private, "Keep vetted private attributes (allow-list)");
                ui.checkbox(&mut d.resume, "Resume the last unfinished run of this export");
            });
            let masks = match d.masks {
                Some((0, 0)) => "No pixel masks are recorded (`pacs-cohort mask`), so pixels are exported as they are.".to_string(),
                Some((m, t)) => format!("{m} image masks and {t} template rectangles are recorded; they are applied to every frame."),
                None => "Counting recorded pixel masks…".to_string(),
            };
            ui.label(egui::RichText::new(masks).weak());
            ui.label(
                egui::RichText::new("Every written file is scanned for the cohort's original identifiers before the folder is called finished.")
                    .weak(),
            );
            ui.separator();
            match &d.run {
                Some(run) => {
                    let (phase, done, total) = run
                        .progress
                        .as_ref()
                        .map(|p| (p.phase, p.done, p.total))
                        .unwrap_or((ExportPhase::Writing, 0, 0));
                    let verb = match phase {
                        ExportPhase::Writing => "Writing",
                        ExportPhase::Scanning => "Scanning for residual PHI",
                    };
                    let fraction = if total > 0 { done as f32 / total as f32 } else { 0.0 };
                    ui.add(
                        egui::ProgressBar::new(fraction)
                            .text(format!("{verb}: {done} / {total} files"))
                            .animate(true),
                    );
                    ui.horizontal(|ui| {
                        if run.cancelling {
                            ui.label("cancelling…");
                        } else if ui.button("Cancel export").on_hover_text("Esc").clicked() {
                            commands.push(Command::CancelExport);
                        }
                    });
                }
                None => {
                    let problem = d.problem();
                    ui.horizontal(|ui| {
                        let start = ui.add_enabled(problem.is_none(), egui::Button::new("Export"));
                        if start.clicked() {
                            commands.push(Command::StartExport);
                        }
                        if let Some(p) = &problem {
                            ui.label(egui::RichText::new(p).weak());
                        } else {
                            ui.label(egui::RichText::new(d.out().display().to_string()).monospace().small());
                        }
                    });
                }
            }
            if !d.waivers.is_empty() {
                ui.label(format!(
                    "{} findings waived as false alarms; the next export will not block on them and records them in its manifest.",
                    d.waivers.len()
                ));
            }
            if let Some(outcome) = &d.outcome {
                ui.separator();
                outcome_view(ui, outcome, &mut d.waivers, &mut d.waive_reason);
            }
        });
    if !open {
        commands.push(Command::CloseExport);
    }
}

fn outcome_view(
    ui: &mut egui::Ui,
    outcome: &ExportOutcome,
    waivers: &mut Vec<Waiver>,
    reason: &mut String,
) {
    let line = summary(outcome);
    match outcome {
        ExportOutcome::Finished(r) if r.complete && !r.cancelled => {
            ui.label(egui::RichText::new(line).strong());
            if let Some(from) = &r.resumed_from {
                ui.label(format!(
                    "resumed from {from}: {} verified files taken over",
                    r.reused
                ));
            }
        }
        ExportOutcome::Finished(r) if !r.cancelled => {
            ui.label(
                egui::RichText::new(line)
                    .strong()
                    .color(ui.visuals().error_fg_color),
            );
            ui.horizontal(|ui| {
                let label = ui.label("Reason to waive");
                ui.add(
                    egui::TextEdit::singleline(reason)
                        .desired_width(360.0)
                        .hint_text("why a finding is a false alarm (recorded)"),
                )
                .labelled_by(label.id);
            });
            // The matched values are the user's own data, shown here only.
            egui::ScrollArea::vertical()
                .max_height(180.0)
                .id_salt("findings")
                .show(ui, |ui| {
                    for f in &r.findings {
                        ui.horizontal(|ui| {
                            let waived = waivers.iter().any(|w| w.id == f.id);
                            if waived {
                                ui.label("waived");
                            } else if ui
                                .add_enabled(!reason.trim().is_empty(), egui::Button::new("Waive"))
                                .on_hover_text("A reviewer judged this a false alarm: the next export will not block on it")
                                .clicked()
                            {
                                waivers.push(Waiver {
                                    id: f.id.clone(),
                                    reason: reason.trim().to_string(),
                                });
                            }
                            ui.label(egui::RichText::new(f.describe()).monospace().small());
                        });
                    }
                });
        }
        _ => {
            ui.label(line);
        }
    }
    if let ExportOutcome::Finished(r) = outcome {
        if !r.waived.is_empty() {
            ui.label(
                egui::RichText::new(format!(
                    "{} findings were waived by a reviewer (listed in manifest.json)",
                    r.waived.len()
                ))
                .strong(),
            );
        }
        if !r.skipped.is_empty() {
            ui.collapsing(format!("{} files not exported", r.skipped.len()), |ui| {
                for (file, reason) in &r.skipped {
                    ui.label(egui::RichText::new(format!("{file}: {reason}")).small());
                }
            });
        }
    }
}
