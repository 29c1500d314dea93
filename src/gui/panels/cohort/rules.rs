//! The rules of the draft, each a criterion edited in place: value pickers,
//! typed ranges and dates, and groups (all / any / not), index events
//! (first / last matching study) and follow-up windows, nested by clicking.

use super::pickers::{self, Pickers};
use eframe::egui;
use pacs_cohort::model::{
    CohortSpec, Criterion, DateRange, EhrCondition, FindingCondition, FollowUp, NumRange, Rule,
    ValueField,
};

/// A new CT condition (the usual inner condition of an event or window).
fn ct() -> Criterion {
    Criterion::Modality(vec!["CT".into()])
}

/// The conditions the "Add rule" and "Add condition" menus offer, with a
/// starting value: (menu label, rule name, criterion).
fn conditions() -> Vec<(&'static str, &'static str, Criterion)> {
    let range = |min: Option<f64>, max: Option<f64>| NumRange { min, max };
    vec![
        ("Modality", "modality", ct()),
        (
            "Body part",
            "body part",
            Criterion::BodyPart(vec!["CHEST".into()]),
        ),
        ("Sex", "sex", Criterion::Sex(vec!["F".into()])),
        (
            "Age at study",
            "age",
            Criterion::Age(range(Some(40.0), Some(80.0))),
        ),
        (
            "Study date",
            "study date",
            Criterion::StudyDate(DateRange {
                from: Some("2020-01-01".into()),
                to: Some("2024-12-31".into()),
            }),
        ),
        ("Site", "site", Criterion::Institution(Vec::new())),
        ("Station", "station", Criterion::Station(Vec::new())),
        (
            "Manufacturer",
            "manufacturer",
            Criterion::Manufacturer(Vec::new()),
        ),
        (
            "Scanner model",
            "scanner model",
            Criterion::Model(Vec::new()),
        ),
        ("SOP class", "sop class", Criterion::SopClass(Vec::new())),
        (
            "Study description words",
            "study description",
            Criterion::StudyDescription("chest".into()),
        ),
        (
            "Series description words",
            "series description",
            Criterion::SeriesDescription(String::new()),
        ),
        (
            "Protocol words",
            "protocol",
            Criterion::ProtocolName(String::new()),
        ),
        (
            "Slice thickness (mm)",
            "slice thickness",
            Criterion::SliceThicknessMm(range(None, Some(1.5))),
        ),
        (
            "Series in study",
            "series in study",
            Criterion::SeriesCount(range(Some(2.0), None)),
        ),
        (
            "Images",
            "images",
            Criterion::InstanceCount(range(Some(1.0), None)),
        ),
        ("Contrast", "contrast", Criterion::Contrast(true)),
        (
            "Report finding",
            "finding",
            Criterion::Finding(FindingCondition {
                name: String::new(),
                present: true,
            }),
        ),
        (
            "Linked EHR value",
            "ehr value",
            Criterion::Ehr(EhrCondition {
                dataset: String::new(),
                column: String::new(),
                any_of: Some(Vec::new()),
                min: None,
                max: None,
            }),
        ),
    ]
}

/// Groups, index events and windows: their inner conditions are added
/// and replaced by clicking too.
fn structures() -> Vec<(&'static str, &'static str, Criterion)> {
    vec![
        ("Group: any of", "any of", Criterion::Any(Vec::new())),
        ("Group: all of", "all of", Criterion::All(Vec::new())),
        ("Group: not", "not", Criterion::Not(Box::new(ct()))),
        (
            "Index event: first matching study",
            "index event",
            Criterion::FirstOf(Box::new(ct())),
        ),
        (
            "Index event: last matching study",
            "index event",
            Criterion::LastOf(Box::new(ct())),
        ),
        (
            "Follow-up window",
            "follow-up",
            Criterion::FollowUp(FollowUp {
                min_days: Some(180.0),
                max_days: Some(730.0),
                criterion: Box::new(ct()),
            }),
        ),
    ]
}

/// A menu of every condition; returns the chosen (rule name, criterion).
fn menu(ui: &mut egui::Ui, title: &str) -> Option<(&'static str, Criterion)> {
    let mut chosen = None;
    ui.menu_button(title, |ui| {
        for (label, name, c) in conditions() {
            if ui.button(label).clicked() {
                chosen = Some((name, c));
                ui.close();
            }
        }
        ui.separator();
        for (label, name, c) in structures() {
            if ui.button(label).clicked() {
                chosen = Some((name, c));
                ui.close();
            }
        }
    });
    chosen
}

pub(super) fn rules(ui: &mut egui::Ui, draft: &mut CohortSpec, px: &mut Pickers) {
    let mut remove = None;
    let mut swap = None;
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
                ui.horizontal_wrapped(|ui| {
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
                            .desired_width(160.0),
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
                criterion(ui, &mut rule.criterion, px);
            });
        });
    }
    if let Some(i) = remove {
        draft.rules.remove(i);
    }
    if let Some((a, b)) = swap {
        draft.rules.swap(a, b);
    }
    if let Some((name, c)) = menu(ui, "Add rule") {
        draft.rules.push(Rule {
            name: name.to_string(),
            exclude: false,
            criterion: c,
        });
    }
}

fn words(ui: &mut egui::Ui, label: &str, t: &mut String) {
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("{label} has words"));
        ui.add(
            egui::TextEdit::singleline(t)
                .hint_text("word prefixes, all required")
                .desired_width(220.0),
        );
    });
}

/// The inner condition of a not / index event / window, with a menu to
/// replace it.
fn inner(ui: &mut egui::Ui, c: &mut Criterion, px: &mut Pickers) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.push_id("inner", |ui| criterion(ui, c, px));
        if let Some((_, new)) = menu(ui, "Replace condition") {
            *c = new;
        }
    });
}

pub(super) fn criterion(ui: &mut egui::Ui, c: &mut Criterion, px: &mut Pickers) {
    let color = px.error_color;
    // List criteria: one table, in the library.
    if let Some((field, v)) = c.list_mut() {
        let label = field.label();
        pickers::list(ui, label, Some(field), v, px);
        return;
    }
    match c {
        // Drawn above, through the library's table of list criteria.
        Criterion::Modality(_)
        | Criterion::BodyPart(_)
        | Criterion::Sex(_)
        | Criterion::Institution(_)
        | Criterion::Station(_)
        | Criterion::Manufacturer(_)
        | Criterion::Model(_)
        | Criterion::SopClass(_) => {}
        Criterion::Age(r) => pickers::range(ui, "Age at study (years)", ["from", "to"], r, color),
        Criterion::SliceThicknessMm(r) => {
            pickers::range(ui, "Slice thickness (mm)", ["from", "to"], r, color)
        }
        Criterion::SeriesCount(r) => {
            pickers::range(ui, "Series in the study", ["from", "to"], r, color)
        }
        Criterion::InstanceCount(r) => pickers::range(ui, "Images", ["from", "to"], r, color),
        Criterion::StudyDate(r) => pickers::dates(ui, r, color),
        Criterion::StudyDescription(t) => words(ui, "Study description", t),
        Criterion::SeriesDescription(t) => words(ui, "Series description", t),
        Criterion::ProtocolName(t) => words(ui, "Protocol name", t),
        Criterion::Contrast(yes) => {
            ui.checkbox(yes, "Contrast agent recorded (unticked: no contrast)");
        }
        Criterion::Ehr(e) => {
            ui.horizontal_wrapped(|ui| {
                ui.label("EHR dataset");
                ui.add(egui::TextEdit::singleline(&mut e.dataset).desired_width(100.0));
                ui.label("column");
                ui.add(egui::TextEdit::singleline(&mut e.column).desired_width(100.0));
            });
            let field = (!e.dataset.trim().is_empty() && !e.column.trim().is_empty()).then(|| {
                ValueField::Ehr {
                    dataset: e.dataset.trim().to_string(),
                    column: e.column.trim().to_string(),
                }
            });
            if let Some(values) = &mut e.any_of {
                pickers::list(ui, "Value", field, values, px);
            } else {
                ui.label(format!(
                    "range {} .. {} (edit in the JSON below)",
                    e.min.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                    e.max.as_ref().map(|v| v.to_string()).unwrap_or_default()
                ));
            }
        }
        Criterion::Finding(f) => {
            ui.horizontal_wrapped(|ui| {
                ui.label("Report finding");
                ui.add(
                    egui::TextEdit::singleline(&mut f.name)
                        .hint_text("finding name")
                        .desired_width(140.0),
                );
                ui.checkbox(&mut f.present, "present (unticked: reported absent)");
            });
        }
        Criterion::Feature(f) => {
            ui.horizontal_wrapped(|ui| {
                ui.label("Imaging feature");
                ui.add(
                    egui::TextEdit::singleline(&mut f.name)
                        .hint_text("laa950_percent")
                        .desired_width(140.0),
                );
            });
            pickers::range(ui, "Feature value", ["from", "to"], &mut f.range, color);
        }
        Criterion::All(_) | Criterion::Any(_) => group(ui, c, px),
        Criterion::Not(inside) => {
            ui.label("Not: the entries that do not match");
            inner(ui, inside, px);
        }
        Criterion::FirstOf(_) | Criterion::LastOf(_) => {
            let first = matches!(c, Criterion::FirstOf(_));
            let mut pick = first;
            ui.horizontal_wrapped(|ui| {
                let caption = ui.label("Index event: the patient's");
                let label = |f: bool| if f { "first" } else { "last" };
                egui::ComboBox::from_id_salt("event")
                    .selected_text(label(pick))
                    .width(60.0)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut pick, true, "first");
                        ui.selectable_value(&mut pick, false, "last");
                    })
                    .response
                    .labelled_by(caption.id);
                ui.label("study that matches");
            });
            if pick != first {
                let inside = match std::mem::replace(c, Criterion::Contrast(true)) {
                    Criterion::FirstOf(x) | Criterion::LastOf(x) => x,
                    _ => unreachable!(),
                };
                *c = if pick {
                    Criterion::FirstOf(inside)
                } else {
                    Criterion::LastOf(inside)
                };
            }
            if let Criterion::FirstOf(inside) | Criterion::LastOf(inside) = c {
                inner(ui, inside, px);
            }
        }
        Criterion::FollowUp(f) => {
            let mut days = NumRange {
                min: f.min_days,
                max: f.max_days,
            };
            pickers::range(
                ui,
                "Follow-up: another study of the patient, days after this one (negative: before)",
                ["from", "to"],
                &mut days,
                color,
            );
            f.min_days = days.min;
            f.max_days = days.max;
            ui.label("that matches");
            inner(ui, &mut f.criterion, px);
        }
    }
}

/// All of / any of a list of conditions, each removable, more added by
/// clicking.
fn group(ui: &mut egui::Ui, c: &mut Criterion, px: &mut Pickers) {
    let any = matches!(c, Criterion::Any(_));
    let mut pick = any;
    ui.horizontal(|ui| {
        let caption = ui.label("Group: matches");
        egui::ComboBox::from_id_salt("group")
            .selected_text(if pick { "any of" } else { "all of" })
            .width(70.0)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut pick, false, "all of");
                ui.selectable_value(&mut pick, true, "any of");
            })
            .response
            .labelled_by(caption.id);
        ui.label("these");
    });
    let (Criterion::All(list) | Criterion::Any(list)) = c else {
        return;
    };
    if list.is_empty() {
        ui.colored_label(px.error_color, "an empty group: add a condition");
    }
    let mut remove = None;
    ui.indent("members", |ui| {
        for (i, member) in list.iter_mut().enumerate() {
            ui.push_id(i, |ui| {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    criterion(ui, member, px);
                    if ui.small_button("Remove condition").clicked() {
                        remove = Some(i);
                    }
                });
            });
        }
        if let Some((_, new)) = menu(ui, "Add condition") {
            list.push(new);
        }
    });
    if let Some(i) = remove {
        list.remove(i);
    }
    if pick != any {
        let members = std::mem::take(list);
        *c = if pick {
            Criterion::Any(members)
        } else {
            Criterion::All(members)
        };
    }
}
