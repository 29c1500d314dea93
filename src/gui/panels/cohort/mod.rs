//! The cohort builder: rules on the left, live counts and the attrition
//! funnel on the right, the definition as JSON below. Counting runs on the
//! query worker whenever the draft changes.

use crate::gui::app::PacsApp;
use crate::gui::commands::{Command, Confirmation};
use eframe::egui;
use pacs_cohort::model::{CohortCounts, CohortUnit, Criterion, DateRange, NumRange, Rule};

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
                .show(ui, |ui| counts(app, ui));
        });
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical()
            .id_salt("rules")
            .show(ui, |ui| rules(app, ui));
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

/// The kinds of criteria the "Add rule" menu offers, with a starting value.
fn templates() -> Vec<(&'static str, Criterion)> {
    vec![
        ("Modality", Criterion::Modality(vec!["CT".into()])),
        ("Body part", Criterion::BodyPart(vec!["CHEST".into()])),
        ("Sex", Criterion::Sex(vec!["F".into()])),
        (
            "Age at study",
            Criterion::Age(NumRange {
                min: Some(40.0),
                max: Some(80.0),
            }),
        ),
        (
            "Study date",
            Criterion::StudyDate(DateRange {
                from: Some("2020-01-01".into()),
                to: Some("2024-12-31".into()),
            }),
        ),
        ("Site", Criterion::Institution(vec![String::new()])),
        ("Station", Criterion::Station(vec![String::new()])),
        ("Manufacturer", Criterion::Manufacturer(vec![String::new()])),
        ("Scanner model", Criterion::Model(vec![String::new()])),
        ("SOP class", Criterion::SopClass(vec![String::new()])),
        (
            "Study description words",
            Criterion::StudyDescription("chest".into()),
        ),
        (
            "Series description words",
            Criterion::SeriesDescription(String::new()),
        ),
        ("Protocol words", Criterion::ProtocolName(String::new())),
        (
            "Slice thickness (mm)",
            Criterion::SliceThicknessMm(NumRange {
                min: None,
                max: Some(1.5),
            }),
        ),
        (
            "Series in study",
            Criterion::SeriesCount(NumRange {
                min: Some(2.0),
                max: None,
            }),
        ),
        (
            "Images",
            Criterion::InstanceCount(NumRange {
                min: Some(1.0),
                max: None,
            }),
        ),
        ("Contrast", Criterion::Contrast(true)),
        (
            "Report finding",
            Criterion::Finding(pacs_cohort::model::FindingCondition {
                name: String::new(),
                present: true,
            }),
        ),
        (
            "Linked EHR value",
            Criterion::Ehr(pacs_cohort::model::EhrCondition {
                dataset: String::new(),
                column: String::new(),
                any_of: Some(vec![String::new()]),
                min: None,
                max: None,
            }),
        ),
    ]
}

fn rules(app: &mut PacsApp, ui: &mut egui::Ui) {
    let mut remove = None;
    let mut swap = None;
    let draft = app.draft();
    let n = draft.rules.len();
    if n == 0 {
        ui.label(
            egui::RichText::new("No rules: the cohort is the whole index. Add a rule below.")
                .weak(),
        );
    }
    for (i, rule) in draft.rules.iter_mut().enumerate() {
        ui.push_id(i, |ui| {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    ui.label(format!("{}.", i + 1));
                    egui::ComboBox::from_id_salt("kind")
                        .selected_text(if rule.exclude { "Exclude" } else { "Include" })
                        .width(80.0)
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut rule.exclude, false, "Include");
                            ui.selectable_value(&mut rule.exclude, true, "Exclude");
                        });
                    ui.add(
                        egui::TextEdit::singleline(&mut rule.name)
                            .hint_text("rule name")
                            .desired_width(180.0),
                    );
                    if ui.add_enabled(i > 0, egui::Button::new("Up")).clicked() {
                        swap = Some((i - 1, i));
                    }
                    if ui
                        .add_enabled(i + 1 < n, egui::Button::new("Down"))
                        .clicked()
                    {
                        swap = Some((i, i + 1));
                    }
                    if ui.button("Remove").clicked() {
                        remove = Some(i);
                    }
                });
                criterion(ui, &mut rule.criterion);
            });
        });
    }
    if let Some(i) = remove {
        draft.rules.remove(i);
    }
    if let Some((a, b)) = swap {
        draft.rules.swap(a, b);
    }
    ui.menu_button("Add rule", |ui| {
        for (label, c) in templates() {
            if ui.button(label).clicked() {
                draft.rules.push(Rule {
                    name: label.to_lowercase(),
                    exclude: false,
                    criterion: c,
                });
                ui.close();
            }
        }
    });
}

fn list(ui: &mut egui::Ui, label: &str, values: &mut Vec<String>) {
    ui.horizontal(|ui| {
        ui.label(format!("{label} is one of"));
        let mut text = values.join(", ");
        if ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text("comma-separated")
                    .desired_width(260.0),
            )
            .changed()
        {
            *values = text
                .split(',')
                .map(|s| s.trim_start().to_string())
                .collect();
        }
    });
}

fn range(ui: &mut egui::Ui, label: &str, r: &mut NumRange) {
    ui.horizontal(|ui| {
        ui.label(label);
        for (name, bound) in [("from", &mut r.min), ("to", &mut r.max)] {
            let mut on = bound.is_some();
            if ui.checkbox(&mut on, name).changed() {
                *bound = if on { Some(0.0) } else { None };
            }
            if let Some(v) = bound {
                ui.add(egui::DragValue::new(v).speed(1.0));
            }
        }
    });
}

fn dates(ui: &mut egui::Ui, r: &mut DateRange) {
    ui.horizontal(|ui| {
        ui.label("Study date from");
        for (i, bound) in [&mut r.from, &mut r.to].into_iter().enumerate() {
            if i == 1 {
                ui.label("to");
            }
            let mut text = bound.clone().unwrap_or_default();
            if ui
                .add(
                    egui::TextEdit::singleline(&mut text)
                        .hint_text("YYYY-MM-DD")
                        .desired_width(96.0),
                )
                .changed()
            {
                *bound = (!text.trim().is_empty()).then(|| text.trim().to_string());
            }
        }
    });
}

fn words(ui: &mut egui::Ui, label: &str, t: &mut String) {
    ui.horizontal(|ui| {
        ui.label(format!("{label} has words"));
        ui.add(
            egui::TextEdit::singleline(t)
                .hint_text("word prefixes, all required")
                .desired_width(260.0),
        );
    });
}

fn criterion(ui: &mut egui::Ui, c: &mut Criterion) {
    match c {
        Criterion::Modality(v) => list(ui, "Modality", v),
        Criterion::BodyPart(v) => list(ui, "Body part", v),
        Criterion::Sex(v) => list(ui, "Sex", v),
        Criterion::Institution(v) => list(ui, "Site", v),
        Criterion::Station(v) => list(ui, "Station", v),
        Criterion::Manufacturer(v) => list(ui, "Manufacturer", v),
        Criterion::Model(v) => list(ui, "Scanner model", v),
        Criterion::SopClass(v) => list(ui, "SOP class UID", v),
        Criterion::Age(r) => range(ui, "Age at study (years)", r),
        Criterion::SliceThicknessMm(r) => range(ui, "Slice thickness (mm)", r),
        Criterion::SeriesCount(r) => range(ui, "Series in the study", r),
        Criterion::InstanceCount(r) => range(ui, "Images", r),
        Criterion::StudyDate(r) => dates(ui, r),
        Criterion::StudyDescription(t) => words(ui, "Study description", t),
        Criterion::SeriesDescription(t) => words(ui, "Series description", t),
        Criterion::ProtocolName(t) => words(ui, "Protocol name", t),
        Criterion::Contrast(yes) => {
            ui.checkbox(yes, "Contrast agent recorded (unticked: no contrast)");
        }
        Criterion::Ehr(e) => {
            ui.horizontal(|ui| {
                ui.label("EHR dataset");
                ui.add(egui::TextEdit::singleline(&mut e.dataset).desired_width(100.0));
                ui.label("column");
                ui.add(egui::TextEdit::singleline(&mut e.column).desired_width(100.0));
            });
            if let Some(values) = &mut e.any_of {
                list(ui, "Value", values);
            } else {
                ui.label(format!(
                    "range {} .. {} (edit in the JSON below)",
                    e.min.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                    e.max.as_ref().map(|v| v.to_string()).unwrap_or_default()
                ));
            }
        }
        Criterion::Finding(f) => {
            ui.horizontal(|ui| {
                ui.label("Report finding");
                ui.add(
                    egui::TextEdit::singleline(&mut f.name)
                        .hint_text("finding name")
                        .desired_width(140.0),
                );
                ui.checkbox(&mut f.present, "present (unticked: reported absent)");
            });
        }
        Criterion::All(_)
        | Criterion::Any(_)
        | Criterion::Not(_)
        | Criterion::FirstOf(_)
        | Criterion::LastOf(_)
        | Criterion::FollowUp(_) => {
            let json = serde_json::to_string(c).unwrap_or_default();
            ui.label("Group, index event or time window: edit it in the JSON below.");
            ui.label(egui::RichText::new(json).monospace().small());
        }
    }
}

/// An exact count, marked when 1..=threshold (not for release).
fn cell(n: u64, threshold: u64) -> String {
    if (1..=threshold).contains(&n) {
        format!("{n}*")
    } else {
        n.to_string()
    }
}

fn counts(app: &mut PacsApp, ui: &mut egui::Ui) {
    let busy = app.queries_busy();
    ui.horizontal(|ui| {
        ui.heading("Counts");
        if busy {
            ui.spinner();
        }
    });
    match &app.cohort_counts {
        None => {
            ui.label("counting…");
        }
        Some(Err(e)) => {
            ui.colored_label(crate::gui::theme::error_color(app.prefs.dark), e);
        }
        Some(Ok(c)) => {
            let aggregate_only = app
                .status
                .as_ref()
                .filter(|s| s.aggregate_only)
                .map(|s| s.release_threshold);
            let threshold = app
                .status
                .as_ref()
                .map_or(DEFAULT_RELEASE_THRESHOLD, |s| s.release_threshold);
            match aggregate_only {
                Some(threshold) => released_table(ui, c, threshold),
                None => counts_table(ui, c, threshold),
            }
        }
    }
    ui.add_space(10.0);
    ui.separator();
    comparison(app, ui);
}

/// Overlap of the saved cohort being edited with another saved cohort.
fn comparison(app: &mut PacsApp, ui: &mut egui::Ui) {
    let current = app.draft().name.clone();
    let others: Vec<String> = app
        .saved_cohorts
        .iter()
        .map(|c| c.name.clone())
        .filter(|n| n != &current)
        .collect();
    let saved = app.saved_cohorts.iter().any(|c| c.name == current);
    if !saved || others.is_empty() {
        ui.label(
            egui::RichText::new("Save this cohort and another to compare their overlap.").weak(),
        );
        return;
    }
    let mut commands = Vec::new();
    let shown = app
        .comparison
        .as_ref()
        .filter(|c| c.a == current)
        .map(|c| (c.b.clone(), c.result.clone()));
    if app.draft_modified() {
        ui.label(
            egui::RichText::new(format!(
                "Compare uses the saved revision of '{current}', not the unsaved changes: Save first to compare them."
            ))
            .color(crate::gui::theme::error_color(app.prefs.dark)),
        );
    }
    ui.horizontal(|ui| {
        ui.strong("Compare with");
        let selected = shown.as_ref().map(|(b, _)| b.as_str()).unwrap_or("choose…");
        egui::ComboBox::from_id_salt("compare_with")
            .selected_text(selected)
            .show_ui(ui, |ui| {
                for other in &others {
                    if ui
                        .selectable_label(
                            Some(other.as_str()) == shown.as_ref().map(|(b, _)| b.as_str()),
                            other,
                        )
                        .clicked()
                    {
                        commands.push(Command::Compare(current.clone(), other.clone()));
                    }
                }
            });
        if shown.is_some()
            && ui
                .small_button("Close")
                .on_hover_text("Close the comparison")
                .clicked()
        {
            commands.push(Command::CloseComparison);
        }
    });
    match shown {
        None => {}
        Some((_, None)) => {
            ui.spinner();
        }
        Some((_, Some(Err(e)))) => {
            ui.colored_label(crate::gui::theme::error_color(app.prefs.dark), e);
        }
        Some((other, Some(Ok(c)))) => {
            let threshold = app
                .status
                .as_ref()
                .filter(|s| s.aggregate_only)
                .map(|s| s.release_threshold);
            let rows: [[String; 2]; 3] = match threshold {
                Some(t) => {
                    let hidden = pacs_cohort::privacy::hidden_label(t);
                    let show = |n: Option<u64>| n.map_or(hidden.clone(), |n| n.to_string());
                    pacs_cohort::privacy::suppress_comparison(&c, t)
                        .table()
                        .map(|row| row.map(show))
                }
                None => {
                    let t = app
                        .status
                        .as_ref()
                        .map_or(DEFAULT_RELEASE_THRESHOLD, |s| s.release_threshold);
                    c.table().map(|row| row.map(|n| cell(n, t)))
                }
            };
            egui::Grid::new("comparison")
                .num_columns(3)
                .striped(true)
                .show(ui, |ui| {
                    for h in ["", "Patients", "Studies"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    let labels = [
                        "In both".to_string(),
                        format!("Only in {current}"),
                        format!("Only in {other}"),
                    ];
                    for (label, [p, st]) in labels.iter().zip(rows) {
                        ui.label(label);
                        ui.label(p);
                        ui.label(st);
                        ui.end_row();
                    }
                });
        }
    }
    for c in commands {
        app.push(c);
    }
}

/// The cells of the counts view, already formatted (exact or suppressed).
struct CountCells {
    levels: [String; 4],
    population: String,
    /// (rule label, remaining, removed, removed alone)
    steps: Vec<(String, [String; 3])>,
    footnote: String,
}

fn rule_label(rule: &str, exclude: bool) -> String {
    if exclude {
        format!("not {rule}")
    } else {
        rule.to_string()
    }
}

/// Exact counts, marked when below the release threshold.
fn counts_table(ui: &mut egui::Ui, c: &CohortCounts, threshold: u64) {
    let cell = |n: u64| cell(n, threshold);
    let l = &c.levels;
    let cells = CountCells {
        levels: [l.patients, l.studies, l.series, l.instances].map(cell),
        population: cell(c.population),
        steps: c
            .attrition
            .iter()
            .map(|s| {
                (
                    rule_label(&s.rule, s.exclude),
                    [s.remaining, s.removed, s.removed_alone].map(cell),
                )
            })
            .collect(),
        footnote: format!(
            "* 1..{threshold}: below the release threshold; exported tables show them as <{}",
            threshold + 1
        ),
    };
    table(ui, &cells);
    funnel_bars(ui, c);
}

/// Aggregate-only mode: the same counts, suppressed as for release.
fn released_table(ui: &mut egui::Ui, c: &CohortCounts, threshold: u64) {
    let r = pacs_cohort::privacy::suppress(c, threshold);
    let hidden = pacs_cohort::privacy::hidden_label(threshold);
    let show = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_else(|| hidden.clone());
    let cells = CountCells {
        levels: [r.patients, r.studies, r.series, r.instances].map(show),
        population: show(r.population),
        steps: r
            .attrition
            .iter()
            .map(|s| {
                (
                    rule_label(&s.rule, s.exclude),
                    [s.remaining, s.removed, s.removed_alone].map(show),
                )
            })
            .collect(),
        footnote: format!("Aggregate-only workspace: counts 1..{threshold} are shown as {hidden}."),
    };
    table(ui, &cells);
}

fn table(ui: &mut egui::Ui, cells: &CountCells) {
    egui::Grid::new("levels")
        .num_columns(4)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            for h in ["Patients", "Studies", "Series", "Images"] {
                ui.strong(h);
            }
            ui.end_row();
            for n in &cells.levels {
                ui.label(egui::RichText::new(n).size(18.0));
            }
            ui.end_row();
        });
    ui.add_space(8.0);
    ui.strong("Attrition");
    egui::Grid::new("attrition")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            for h in ["Rule", "Remaining", "Removed", "Alone"] {
                ui.label(h);
            }
            ui.end_row();
            ui.label("All entries");
            ui.label(&cells.population);
            ui.end_row();
            for (name, [remaining, removed, alone]) in &cells.steps {
                ui.label(name);
                ui.label(remaining);
                ui.label(removed)
                    .on_hover_text("removed from the step above");
                ui.label(alone)
                    .on_hover_text("what this rule alone removes from all entries");
                ui.end_row();
            }
        });
    ui.add_space(4.0);
    ui.label(egui::RichText::new(&cells.footnote).weak());
}

/// The funnel as bars, widths proportional to what remains (exact view only).
fn funnel_bars(ui: &mut egui::Ui, c: &CohortCounts) {
    ui.add_space(6.0);
    let width = ui.available_width();
    let max = c.population.max(1) as f32;
    let color = ui.visuals().selection.bg_fill;
    for value in std::iter::once(c.population).chain(c.attrition.iter().map(|s| s.remaining)) {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(width * 0.9, 10.0), egui::Sense::hover());
        let w = rect.width() * value as f32 / max;
        let bar = egui::Rect::from_min_size(rect.min, egui::vec2(w.max(1.0), rect.height()));
        ui.painter().rect_filled(bar, 2.0, color);
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
