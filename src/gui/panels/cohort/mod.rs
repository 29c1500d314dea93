//! The cohort builder: rules on the left, live counts and the attrition
//! funnel on the right, the definition as JSON below. Counting runs on the
//! query worker whenever the draft changes; the pickers' values are asked
//! of it too.

mod counts;
mod pickers;
mod rules;

use crate::gui::app::PacsApp;
use crate::gui::commands::{Command, Confirmation};
use eframe::egui;
use pacs_cohort::model::CohortUnit;

pub(crate) use counts::cell;

/// The release threshold until the workspace's setting is loaded.
const DEFAULT_RELEASE_THRESHOLD: u64 = 10;

pub fn show(app: &mut PacsApp, ui: &mut egui::Ui) {
    header(app, ui);
    ui.separator();
    egui::Panel::bottom("cohort_json")
        .resizable(true)
        .default_size(150.0)
        .show(ui, |ui| json_editor(app, ui));
    egui::Panel::right("cohort_counts")
        .resizable(true)
        .default_size(360.0)
        .min_size(240.0)
        .show(ui, |ui| {
            // A narrow window scrolls the counts instead of cutting them.
            egui::ScrollArea::both()
                .id_salt("counts")
                .show(ui, |ui| counts::counts(app, ui));
        });
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical()
            .id_salt("rules")
            .show(ui, |ui| rules_panel(app, ui));
    });
}

fn header(app: &mut PacsApp, ui: &mut egui::Ui) {
    let saved: Vec<String> = app
        .saved_cohorts
        .iter()
        .map(|c| format!("{} (rev {})", c.name, c.revision))
        .collect();
    let names: Vec<String> = app.saved_cohorts.iter().map(|c| c.name.clone()).collect();
    let renamable = app.loaded_cohort.clone().filter(|from| {
        names.contains(from) && from != &app.draft().name && !app.draft().name.trim().is_empty()
    });
    let mut commands = Vec::new();
    // Wraps onto a second line in a narrow window instead of cutting buttons off.
    ui.horizontal_wrapped(|ui| {
        let modified = app.draft_modified();
        let draft = app.draft();
        let label = ui.label("Name");
        ui.add(egui::TextEdit::singleline(&mut draft.name).desired_width(200.0))
            .labelled_by(label.id);
        if modified {
            ui.label(egui::RichText::new("(modified)").strong())
                .on_hover_text("The draft differs from its saved revision: Save keeps it");
        }
        ui.label("Unit");
        egui::ComboBox::from_id_salt("unit")
            .selected_text(unit_name(draft.unit))
            .show_ui(ui, |ui| {
                for u in [CohortUnit::Patient, CohortUnit::Study, CohortUnit::Series] {
                    ui.selectable_value(&mut draft.unit, u, unit_name(u));
                }
            });
        if ui
            .button("Save")
            .on_hover_text("Save as a new revision of this cohort")
            .clicked()
        {
            commands.push(Command::SaveCohort);
        }
        if ui.button("New").clicked() {
            commands.push(Command::NewCohort);
        }
        if ui.button("Duplicate").on_hover_text("Save a copy of this cohort under a new name").clicked() {
            commands.push(Command::DuplicateCohort);
        }
        ui.menu_button("Open saved", |ui| {
            if saved.is_empty() {
                ui.label("No saved cohorts yet.");
            }
            for (label, name) in saved.iter().zip(&names) {
                if ui.button(label).clicked() {
                    commands.push(Command::LoadCohort(name.clone()));
                    ui.close();
                }
            }
        });
        if ui
            .button("Import clinical data…")
            .on_hover_text("Link a CSV (EHR extract) by patient ID or accession number; its columns become rules")
            .clicked()
        {
            commands.push(Command::PickEhrCsv);
        }
        if let Some(from) = &renamable {
            if ui.button("Rename").on_hover_text(format!("Rename the saved cohort '{from}' to this name")).clicked() {
                commands.push(Command::RenameCohort);
            }
        }
        let current = app.draft().name.clone();
        if names.contains(&current)
            && ui
                .button("Export…")
                .on_hover_text("Export this saved cohort as de-identified DICOM (Ctrl+E)")
                .clicked()
        {
            commands.push(Command::OpenExport(Some(current.clone())));
        }
        if names.contains(&current)
            && ui
                .button("Delete")
                .on_hover_text("Delete this saved cohort and its revisions")
                .clicked()
        {
            commands.push(Command::Confirm(Confirmation {
                question: format!("Delete the saved cohort '{current}'?"),
                detail: "Every saved revision of it is deleted; exports already written are not touched.".into(),
                verb: "Delete cohort".into(),
                then: Box::new(Command::DeleteCohort(current)),
            }));
        }
    });
    for c in commands {
        app.push(c);
    }
}

fn unit_name(u: CohortUnit) -> &'static str {
    match u {
        CohortUnit::Patient => "patients",
        CohortUnit::Study => "studies",
        CohortUnit::Series => "series",
    }
}

/// The rules, with the value lists the pickers need (asked for on the
/// query worker when a picker shows a field not listed yet).
fn rules_panel(app: &mut PacsApp, ui: &mut egui::Ui) {
    app.draft();
    let status = app.status.as_ref();
    let mut px = pickers::Pickers {
        lists: &app.value_lists,
        threshold: status.map_or(DEFAULT_RELEASE_THRESHOLD, |s| s.release_threshold),
        aggregate_only: status.is_some_and(|s| s.aggregate_only),
        error_color: crate::gui::theme::error_color(app.prefs.dark),
        ask: Vec::new(),
    };
    if let Some(draft) = app.prefs.cohort_draft.as_mut() {
        rules::rules(ui, draft, &mut px);
    }
    let ask = px.ask;
    for field in ask {
        app.push(Command::AskValues(field));
    }
}

fn json_editor(app: &mut PacsApp, ui: &mut egui::Ui) {
    let current = serde_json::to_string_pretty(app.draft()).unwrap_or_default();
    ui.horizontal(|ui| {
        ui.strong("Definition (JSON)");
        if ui
            .button("Apply JSON")
            .on_hover_text("Replace the rules above with this text")
            .clicked()
        {
            let text = app.cohort_json.clone();
            app.push(Command::ApplyCohortJson(text));
        }
        if ui
            .button("Reset")
            .on_hover_text("Show the rules above as JSON")
            .clicked()
        {
            app.cohort_json = current.clone();
            app.cohort_json_generated = current.clone();
            app.cohort_json_error = None;
        }
    });
    if let Some(e) = &app.cohort_json_error {
        ui.colored_label(crate::gui::theme::error_color(app.prefs.dark), e);
    } else if !app.cohort_json.is_empty() && app.cohort_json != app.cohort_json_generated {
        ui.label(
            egui::RichText::new("Edited by hand and not applied: Apply JSON replaces the rules above, Reset shows them again.")
                .strong(),
        );
    }
    // Follow the rules above while the text is not being edited by hand.
    if app.cohort_json.is_empty() || app.cohort_json == app.cohort_json_generated {
        app.cohort_json.clone_from(&current);
        app.cohort_json_generated = current;
    }
    egui::ScrollArea::vertical().id_salt("json").show(ui, |ui| {
        ui.add(
            egui::TextEdit::multiline(&mut app.cohort_json)
                .code_editor()
                .desired_width(f32::INFINITY)
                .desired_rows(6),
        );
    });
}
