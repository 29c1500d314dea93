//! Live counts, the attrition table and funnel chart, and the comparison
//! with another saved cohort.

use super::View;
use super::DEFAULT_RELEASE_THRESHOLD;
use crate::gui::commands::Command;
use eframe::egui;
use pacs_cohort::privacy::ShownCounts;

/// An exact count, marked when 1..=threshold (not for release).
pub(crate) fn cell(n: u64, threshold: u64) -> String {
    pacs_cohort::privacy::Shown::exact(n, threshold).marked()
}

pub(super) fn counts(v: &View, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    let busy = v.busy;
    ui.horizontal(|ui| {
        ui.heading("Counts");
        if busy {
            ui.spinner();
        }
        if let (Some(by), Some(Ok(_))) = (v.evaluator, v.counts) {
            evaluator_label(ui, by);
        }
    });
    match v.counts {
        None => {
            ui.label("counting…");
        }
        Some(Err(e)) => {
            ui.colored_label(crate::gui::theme::error_color(v.dark), e);
        }
        Some(Ok(c)) => {
            let aggregate_only = v
                .status
                .filter(|s| s.aggregate_only)
                .map(|s| s.release_threshold);
            let threshold = aggregate_only.unwrap_or_else(|| {
                v.status
                    .map_or(DEFAULT_RELEASE_THRESHOLD, |s| s.release_threshold)
            });
            let shown = pacs_cohort::privacy::shown(c, threshold, aggregate_only.is_some());
            shown_table(ui, &shown, threshold);
        }
    }
    ui.add_space(10.0);
    ui.separator();
    comparison(v, ui, out);
}

/// Overlap of the saved cohort being edited with another saved cohort.
fn comparison(v: &View, ui: &mut egui::Ui, out: &mut Vec<Command>) {
    let current = v.draft.name.clone();
    let others: Vec<String> = v
        .saved
        .iter()
        .map(|c| c.name.clone())
        .filter(|n| n != &current)
        .collect();
    let saved = v.saved.iter().any(|c| c.name == current);
    if !saved || others.is_empty() {
        ui.label(
            egui::RichText::new("Save this cohort and another to compare their overlap.").weak(),
        );
        return;
    }
    let mut commands = Vec::new();
    let shown = v
        .comparison
        .filter(|c| c.a == current)
        .map(|c| (c.b.clone(), c.result.clone()));
    if v.modified {
        ui.label(
            egui::RichText::new(format!(
                "Compare uses the saved revision of '{current}', not the unsaved changes: Save first to compare them."
            ))
            .color(crate::gui::theme::error_color(v.dark)),
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
            ui.colored_label(crate::gui::theme::error_color(v.dark), e);
        }
        Some((other, Some(Ok(c)))) => {
            let threshold = v
                .status
                .filter(|s| s.aggregate_only)
                .map(|s| s.release_threshold);
            let rows: [[String; 2]; 3] = match threshold {
                Some(t) => pacs_cohort::privacy::suppress_comparison(&c, t)
                    .table()
                    .map(|row| row.map(|n| pacs_cohort::privacy::Shown::released(n, t).marked())),
                None => {
                    let t = v
                        .status
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
    out.extend(commands);
}

/// The cells of the counts view, already formatted (exact or suppressed).
struct CountCells {
    levels: [String; 4],
    population: String,
    /// (rule label, remaining, removed, removed alone)
    steps: Vec<(String, [String; 3])>,
    /// What remains before the first rule and after each, when released
    /// (sizes the funnel's bars; a hidden count draws no bar).
    bars: Vec<Option<u64>>,
    footnote: String,
}

fn rule_label(rule: &str, exclude: bool) -> String {
    if exclude {
        format!("not {rule}")
    } else {
        rule.to_string()
    }
}

/// The counts as the library shows them: exact and marked for the local
/// user, or suppressed in an aggregate-only workspace.
fn shown_table(ui: &mut egui::Ui, c: &ShownCounts, threshold: u64) {
    let cells = CountCells {
        levels: c.levels.map(|s| s.marked()),
        population: c.population.marked(),
        steps: c
            .attrition
            .iter()
            .map(|s| {
                (
                    rule_label(&s.rule, s.exclude),
                    [s.remaining, s.removed, s.removed_alone].map(|x| x.marked()),
                )
            })
            .collect(),
        footnote: match c.released {
            Some(_) => format!(
                "Aggregate-only workspace: counts 1..{threshold} are shown as {}.",
                pacs_cohort::privacy::hidden_label(threshold)
            ),
            None => format!(
                "* 1..{threshold}: below the release threshold; exported tables show them as <{}",
                threshold + 1
            ),
        },
        bars: std::iter::once(c.population.count())
            .chain(c.attrition.iter().map(|s| s.remaining.count()))
            .collect(),
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
    ui.strong("Attrition funnel");
    funnel(ui, cells);
    ui.add_space(6.0);
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

/// The attrition funnel as a labelled chart: per step the rule, a bar as
/// wide as what remains (the part the rule removed drawn faint after it),
/// and the remaining and removed counts as text (marked or hidden as in
/// the table).
fn funnel(ui: &mut egui::Ui, cells: &CountCells) {
    let max = cells
        .bars
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1) as f32;
    let fill = ui.visuals().selection.bg_fill;
    let removed_fill = ui.visuals().widgets.inactive.bg_fill;
    let rows = std::iter::once(("All entries".to_string(), cells.population.clone(), None)).chain(
        cells.steps.iter().map(|(name, [remaining, removed, _])| {
            (name.clone(), remaining.clone(), Some(removed.clone()))
        }),
    );
    egui::Frame::new().show(ui, |ui| {
        for (i, (name, remaining, removed)) in rows.enumerate() {
            ui.push_id(("funnel", i), |ui| {
                ui.horizontal_wrapped(|ui| {
                    let title = if i == 0 { name } else { format!("{i}. {name}") };
                    ui.label(egui::RichText::new(title).strong());
                    let text = match &removed {
                        Some(removed) => format!("{remaining} remain, {removed} removed"),
                        None => format!("{remaining} entries"),
                    };
                    ui.label(text);
                });
                let width = ui.available_width().max(40.0);
                let (rect, _) =
                    ui.allocate_exact_size(egui::vec2(width, 12.0), egui::Sense::hover());
                let x = |n: u64| rect.width() * n as f32 / max;
                let before = if i == 0 {
                    None
                } else {
                    cells.bars.get(i - 1).copied().flatten()
                };
                let now = cells.bars.get(i).copied().flatten();
                if let Some(b) = before {
                    let r = egui::Rect::from_min_size(
                        rect.min,
                        egui::vec2(x(b).max(1.0), rect.height()),
                    );
                    ui.painter().rect_filled(r, 2.0, removed_fill);
                }
                if let Some(n) = now {
                    let r = egui::Rect::from_min_size(
                        rect.min,
                        egui::vec2(x(n).max(1.0), rect.height()),
                    );
                    ui.painter().rect_filled(r, 2.0, fill);
                }
                ui.add_space(4.0);
            });
        }
    });
}

/// Which evaluator answered, small beside the heading.
fn evaluator_label(ui: &mut egui::Ui, by: pacs_cohort::engine::Evaluator) {
    let why = match by {
        pacs_cohort::engine::Evaluator::Memory => "Counted by the in-memory column engine.",
        pacs_cohort::engine::Evaluator::Sqlite => {
            "Counted by SQLite: the in-memory column engine is still being built (or could not be)."
        }
    };
    ui.label(egui::RichText::new(by.label()).small().weak())
        .on_hover_text(why);
}
