//! The cohort builder: rules on the left, live counts and the attrition
//! funnel on the right, the definition as JSON below. Counting runs on the
//! query worker whenever the draft changes; the pickers' values are asked
//! of it too.

mod counts;
mod pickers;
mod rules;

use crate::gui::app::Comparison;
use crate::gui::commands::{Command, Confirmation};
use eframe::egui;
use pacs_cohort::model::{
    CohortCounts, CohortSpec, CohortUnit, SavedCohort, ValueCount, ValueField, WorkspaceStatus,
};
use std::collections::HashMap;

/// What the builder draws and edits: the draft, its JSON text, and the
/// loaded answers (counts, saved cohorts, comparison, picker values).
pub struct View<'a> {
    pub draft: &'a mut CohortSpec,
    /// The draft differs from its saved revision.
    pub modified: bool,
    /// The saved cohort the draft was opened from or saved as.
    pub loaded: Option<&'a String>,
    pub saved: &'a [SavedCohort],
    pub counts: Option<&'a Result<CohortCounts, String>>,
    /// Which evaluator answered `counts`.
    pub evaluator: Option<pacs_cohort::engine::Evaluator>,
    pub comparison: Option<&'a Comparison>,
    pub json: Json<'a>,
    pub status: Option<&'a WorkspaceStatus>,
    pub value_lists: &'a HashMap<ValueField, Result<Vec<ValueCount>, String>>,
    /// Queries are still answering.
    pub busy: bool,
    pub dark: bool,
}

/// The JSON editor's text, the text last generated from the draft (so a
/// hand edit is kept), and the last parse error.
pub struct Json<'a> {
    pub text: &'a mut String,
    pub generated: &'a mut String,
    pub error: &'a mut Option<String>,
}

pub(crate) use counts::cell;

/// The release threshold until the workspace's setting is loaded.
const DEFAULT_RELEASE_THRESHOLD: u64 = 10;

pub fn show(ui: &mut egui::Ui, mut v: View, out: &mut Vec<Command>) {
    header(&mut v, ui, out);
    ui.separator();
    egui::Panel::bottom("cohort_json")
        .resizable(true)
        .default_size(150.0)
        .show(ui, |ui| json_editor(&mut v, ui, out));
    egui::Panel::right("cohort_counts")
        .resizable(true)
        .default_size(360.0)
        .min_size(240.0)
        .show(ui, |ui| {
            // A narrow window scrolls the counts instead of cutting them.
            egui::ScrollArea::both()
                .id_salt("counts")
                .show(ui, |ui| counts::counts(&v, ui, out));
        });
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical()
            .id_salt("rules")
            .show(ui, |ui| rules_panel(&mut v, ui, out));
    });
}

fn header(v: &mut View, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    let saved: Vec<String> = v
        .saved
        .iter()
        .map(|c| format!("{} (rev {})", c.name, c.revision))
        .collect();
    let names: Vec<String> = v.saved.iter().map(|c| c.name.clone()).collect();
    let renamable = v.loaded.cloned().filter(|from| {
        names.contains(from) && from != &v.draft.name && !v.draft.name.trim().is_empty()
    });
    let mut commands = Vec::new();
    // Wraps onto a second line in a narrow window instead of cutting buttons off.
    ui.horizontal_wrapped(|ui| {
        let modified = v.modified;
        let draft = &mut *v.draft;
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
        let current = v.draft.name.clone();
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
                .button("Retrieve")
                .on_hover_text("Fetch this cohort's remote series from their PACS nodes (C-GET or WADO-RS) as a background job; see Jobs and the PACS tab")
                .clicked()
        {
            commands.push(Command::Pacs(crate::gui::pacs::Cmd::Retrieve(
                current.clone(),
                pacs_cohort::model::RetrieveMethod::Get,
            )));
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
    out.extend(commands);
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
fn rules_panel(v: &mut View, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    let status = v.status;
    let mut px = pickers::Pickers {
        lists: v.value_lists,
        threshold: status.map_or(DEFAULT_RELEASE_THRESHOLD, |s| s.release_threshold),
        aggregate_only: status.is_some_and(|s| s.aggregate_only),
        error_color: crate::gui::theme::error_color(v.dark),
        ask: Vec::new(),
    };
    rules::rules(ui, v.draft, &mut px);
    out.extend(px.ask.into_iter().map(Command::AskValues));
}

fn json_editor(v: &mut View, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    let current = serde_json::to_string_pretty(&*v.draft).unwrap_or_default();
    ui.horizontal(|ui| {
        ui.strong("Definition (JSON)");
        if ui
            .button("Apply JSON")
            .on_hover_text("Replace the rules above with this text")
            .clicked()
        {
            let text = v.json.text.clone();
            out.push(Command::ApplyCohortJson(text));
        }
        if ui
            .button("Reset")
            .on_hover_text("Show the rules above as JSON")
            .clicked()
        {
            *v.json.text = current.clone();
            *v.json.generated = current.clone();
            *v.json.error = None;
        }
    });
    if let Some(e) = v.json.error.as_ref() {
        ui.colored_label(crate::gui::theme::error_color(v.dark), e);
    } else if !v.json.text.is_empty() && *v.json.text != *v.json.generated {
        ui.label(
            egui::RichText::new("Edited by hand and not applied: Apply JSON replaces the rules above, Reset shows them again.")
                .strong(),
        );
    }
    // Follow the rules above while the text is not being edited by hand.
    if v.json.text.is_empty() || *v.json.text == *v.json.generated {
        v.json.text.clone_from(&current);
        *v.json.generated = current;
    }
    egui::ScrollArea::vertical().id_salt("json").show(ui, |ui| {
        ui.add(
            egui::TextEdit::multiline(&mut *v.json.text)
                .code_editor()
                .desired_width(f32::INFINITY)
                .desired_rows(6),
        );
    });
}
