//! The review tab: the queue on the left (keyboard: J/K or N/P move, A
//! approve, X exclude, M needs masking), the viewer showing the selected
//! series as exported, the header diff beside it, and the history.

use super::review::{Cmd as ReviewCmd, Queue};
use super::viewer::Viewer;
use super::{view, Cmd};
use eframe::egui;
use egui_extras::{Column, TableBuilder};
use pacs_cohort::model::ReviewState;

/// What the review tab draws and edits.
pub struct View<'a> {
    pub queue: &'a mut Queue,
    pub viewer: Option<&'a mut Viewer>,
    /// Saved cohorts' names (the queue is per cohort, or every series).
    pub cohorts: &'a [String],
    /// The reviewer's name (a preference).
    pub reviewer: &'a mut String,
}

pub fn show(ui: &mut egui::Ui, v: View, out: &mut Vec<Cmd>) {
    let q = v.queue;
    if !q.loaded && !q.busy() {
        out.push(Cmd::Review(ReviewCmd::Load(q.cohort.clone())));
    }
    if !ui.ctx().text_edit_focused() {
        keys(ui.ctx(), out);
    }
    egui::Panel::left("review_queue")
        .resizable(true)
        .default_size(300.0)
        .min_size(240.0)
        .show(ui, |ui| queue(ui, q, v.cohorts, v.reviewer, out));
    match v.viewer {
        Some(viewer) => {
            egui::Panel::right("review_diff")
                .resizable(true)
                .default_size(470.0)
                .min_size(200.0)
                .show(ui, |ui| diff(ui, viewer));
            egui::CentralPanel::default().show(ui, |ui| view::show(ui, viewer, true, out));
        }
        None => {
            egui::CentralPanel::default().show(ui, |ui| {
                ui.label(
                    egui::RichText::new(
                        "Select a series in the queue to see it as the export writes it.",
                    )
                    .weak(),
                );
            });
        }
    }
    if q.show_history {
        history(ui.ctx(), q, out);
    }
}

fn keys(ctx: &egui::Context, out: &mut Vec<Cmd>) {
    use egui::{Key, Modifiers};
    ctx.input_mut(|i| {
        for (key, cmd) in [
            (Key::J, ReviewCmd::Move(1)),
            (Key::N, ReviewCmd::Move(1)),
            (Key::K, ReviewCmd::Move(-1)),
            (Key::P, ReviewCmd::Move(-1)),
            (Key::A, ReviewCmd::Decide(ReviewState::Approved)),
            (Key::X, ReviewCmd::Decide(ReviewState::Excluded)),
            (Key::M, ReviewCmd::Decide(ReviewState::NeedsMasking)),
        ] {
            if i.consume_key(Modifiers::NONE, key) {
                out.push(Cmd::Review(cmd));
            }
        }
    });
}

fn state_color(ui: &egui::Ui, s: ReviewState) -> egui::Color32 {
    match s {
        ReviewState::Approved => egui::Color32::from_rgb(90, 190, 110),
        ReviewState::NeedsMasking => ui.visuals().warn_fg_color,
        ReviewState::Excluded => ui.visuals().error_fg_color,
        ReviewState::Unreviewed => ui.visuals().text_color(),
    }
}

fn label(s: ReviewState) -> &'static str {
    match s {
        ReviewState::Unreviewed => "unreviewed",
        ReviewState::Approved => "approved",
        ReviewState::NeedsMasking => "needs masking",
        ReviewState::Excluded => "excluded",
    }
}

fn queue(
    ui: &mut egui::Ui,
    q: &mut Queue,
    cohorts: &[String],
    reviewer: &mut String,
    out: &mut Vec<Cmd>,
) {
    ui.horizontal(|ui| {
        ui.strong("Review");
        egui::ComboBox::from_id_salt("review_cohort")
            .selected_text(q.cohort.clone().unwrap_or_else(|| "every series".into()))
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(q.cohort.is_none(), "every series")
                    .clicked()
                {
                    out.push(Cmd::Review(ReviewCmd::Load(None)));
                }
                for c in cohorts {
                    if ui
                        .selectable_label(q.cohort.as_ref() == Some(c), c)
                        .clicked()
                    {
                        out.push(Cmd::Review(ReviewCmd::Load(Some(c.clone()))));
                    }
                }
            });
        if q.busy() {
            ui.spinner();
        }
    });
    let counts = ReviewState::ALL.map(|s| q.items.iter().filter(|i| i.state == s).count());
    ui.label(
        egui::RichText::new(format!(
            "{} unreviewed · {} approved · {} needs masking · {} excluded",
            counts[0], counts[1], counts[2], counts[3]
        ))
        .weak(),
    );
    ui.label(
        egui::RichText::new(
            "Ordered by state, then burned-in text risk (hover a risk for its reasons).",
        )
        .weak(),
    );
    ui.label(
        egui::RichText::new(
            "J/K or N/P: next/previous · A approve · X exclude · M needs masking · D original/de-identified",
        )
        .weak(),
    );
    egui::Panel::bottom("review_decide").show(ui, |ui| decide(ui, q, reviewer, out));
    ui.style_mut().interaction.selectable_labels = false;
    let selected = q.selected;
    TableBuilder::new(ui)
        .id_salt("review_table")
        .striped(true)
        .sense(egui::Sense::click())
        .scroll_to_row(selected, None)
        .column(Column::exact(88.0))
        .column(Column::exact(58.0))
        .column(Column::exact(36.0))
        .column(Column::remainder().clip(true))
        .column(Column::exact(40.0))
        .header(20.0, |mut h| {
            for t in ["State", "Risk", "Mod.", "Description", "Imgs"] {
                h.col(|ui| {
                    ui.strong(t);
                });
            }
        })
        .body(|body| {
            body.rows(20.0, q.items.len(), |mut row| {
                let i = row.index();
                let item = &q.items[i];
                row.set_selected(i == selected);
                row.col(|ui| {
                    let text = if item.stale.is_some() {
                        "unreviewed*".to_string()
                    } else {
                        label(item.state).to_string()
                    };
                    let r = ui.colored_label(state_color(ui, item.state), text);
                    if let Some(why) = &item.stale {
                        r.on_hover_text(format!("The approval no longer holds: {why}"));
                    }
                });
                row.col(|ui| match q.risks.get(&item.series_uid) {
                    Some(r) => {
                        use pacs_cohort::burnin::RiskLevel;
                        let color = match r.level {
                            RiskLevel::High => ui.visuals().error_fg_color,
                            RiskLevel::Medium => ui.visuals().warn_fg_color,
                            RiskLevel::Low => ui.visuals().weak_text_color(),
                        };
                        ui.colored_label(color, r.level.as_str())
                            .on_hover_text(r.reasons.join("\n"));
                    }
                    None => {
                        ui.label("");
                    }
                });
                row.col(|ui| {
                    ui.label(&item.modality);
                });
                row.col(|ui| {
                    ui.label(&item.description);
                });
                row.col(|ui| {
                    ui.label(item.instances.to_string());
                });
                if row.response().clicked() {
                    out.push(Cmd::Review(ReviewCmd::Select(i)));
                }
            });
        });
}

fn decide(ui: &mut egui::Ui, q: &mut Queue, reviewer: &mut String, out: &mut Vec<Cmd>) {
    ui.add_space(4.0);
    if let Some(item) = q.selected_item() {
        let last = item
            .last
            .as_ref()
            .map(|e| {
                let note = if e.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", e.note)
                };
                format!(
                    "last: {} by {} at {}{note}",
                    label(e.state),
                    e.reviewer,
                    e.at
                )
            })
            .unwrap_or_else(|| "never reviewed".into());
        ui.label(egui::RichText::new(last).weak());
    }
    egui::Grid::new("review_fields")
        .num_columns(2)
        .show(ui, |ui| {
            let l = ui.label("Note");
            ui.add(
                egui::TextEdit::singleline(&mut q.note)
                    .desired_width(200.0)
                    .hint_text("recorded with the decision"),
            )
            .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Reviewer");
            ui.add(egui::TextEdit::singleline(reviewer).desired_width(200.0))
                .labelled_by(l.id);
            ui.end_row();
        });
    let idle = q.working.is_none() && q.selected_item().is_some();
    ui.horizontal_wrapped(|ui| {
        for (state, text, hover) in [
            (ReviewState::Approved, "Approve (A)", "These de-identified pixels and header carry no PHI: renders the whole series as the export writes it and records its hash"),
            (ReviewState::NeedsMasking, "Needs masking (M)", "Burned-in text to cover first"),
            (ReviewState::Excluded, "Exclude (X)", "Never exported"),
        ] {
            if ui.add_enabled(idle, egui::Button::new(text)).on_hover_text(hover).clicked() {
                out.push(Cmd::Review(ReviewCmd::Decide(state)));
            }
        }
    });
    if let Some(w) = &q.working {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(w);
        });
    }
    match &q.message {
        Some(Ok(m)) => {
            ui.label(egui::RichText::new(m).weak());
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        None => {}
    }
    ui.horizontal(|ui| {
        if ui.button("History…").clicked() {
            out.push(Cmd::Review(ReviewCmd::History(!q.show_history)));
        }
        if ui.button("Export history as CSV…").clicked() {
            out.push(Cmd::Review(ReviewCmd::ExportCsv));
        }
    });
}

fn history(ctx: &egui::Context, q: &Queue, out: &mut Vec<Cmd>) {
    let mut open = true;
    egui::Window::new("Review history")
        .open(&mut open)
        .default_size([720.0, 360.0])
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.label(format!(
                    "{} decisions, oldest first; nothing is ever overwritten",
                    q.history.len()
                ));
                if ui.button("Export as CSV…").clicked() {
                    out.push(Cmd::Review(ReviewCmd::ExportCsv));
                }
            });
            TableBuilder::new(ui)
                .id_salt("review_history")
                .striped(true)
                .column(Column::exact(170.0))
                .column(Column::exact(90.0))
                .column(Column::exact(100.0))
                .column(Column::initial(180.0).clip(true))
                .column(Column::remainder().clip(true))
                .header(20.0, |mut h| {
                    for t in ["When", "Reviewer", "State", "Series", "Note"] {
                        h.col(|ui| {
                            ui.strong(t);
                        });
                    }
                })
                .body(|body| {
                    body.rows(20.0, q.history.len(), |mut row| {
                        let e = &q.history[row.index()];
                        row.col(|ui| {
                            ui.label(&e.at);
                        });
                        row.col(|ui| {
                            ui.label(&e.reviewer);
                        });
                        row.col(|ui| {
                            ui.label(label(e.state));
                        });
                        row.col(|ui| {
                            let what = match &e.sop_uid {
                                Some(sop) => format!("{} (image {sop})", e.series_uid),
                                None => e.series_uid.clone(),
                            };
                            ui.label(what);
                        });
                        row.col(|ui| {
                            ui.label(&e.note);
                        });
                    });
                });
        });
    if !open {
        out.push(Cmd::Review(ReviewCmd::History(false)));
    }
}

/// The header diff of the image shown (de-identified view): path,
/// original, de-identified, action, rule; filter and changed-only.
fn diff(ui: &mut egui::Ui, v: &mut Viewer) {
    ui.horizontal(|ui| {
        ui.strong("Header diff");
        ui.checkbox(&mut v.diff_changed_only, "changed only");
    });
    ui.add(
        egui::TextEdit::singleline(&mut v.diff_filter)
            .hint_text("filter: keyword, tag, value, action or rule")
            .desired_width(f32::INFINITY),
    );
    let rows = match v.diff() {
        (true, rows) => rows.cloned(),
        (false, _) => {
            ui.label(egui::RichText::new("rendering…").weak());
            return;
        }
    };
    let Some(rows) = rows else {
        let text = if v.deid {
            "The export cannot render this image (the reason is on the image)."
        } else {
            "Switch to De-identified (D) to see what the export writes for each element."
        };
        ui.label(egui::RichText::new(text).weak());
        return;
    };
    let needle = v.diff_filter.trim().to_lowercase();
    let shown: Vec<&pacs_cohort::engine::DiffRow> = rows
        .iter()
        .filter(|r| !v.diff_changed_only || r.action != pacs_cohort::engine::DiffAction::Kept)
        .filter(|r| {
            needle.is_empty()
                || [
                    r.path.as_str(),
                    &r.keyword,
                    r.original.as_deref().unwrap_or(""),
                    r.deidentified.as_deref().unwrap_or(""),
                    r.action.as_str(),
                    &r.rule,
                ]
                .iter()
                .any(|t| t.to_lowercase().contains(&needle))
        })
        .collect();
    ui.label(egui::RichText::new(format!("{} of {} elements", shown.len(), rows.len())).weak());
    ui.style_mut().interaction.selectable_labels = false;
    TableBuilder::new(ui)
        .id_salt("diff_table")
        .striped(true)
        .resizable(true)
        .column(Column::initial(112.0).clip(true))
        .column(Column::initial(84.0).clip(true))
        .column(Column::initial(84.0).clip(true))
        .column(Column::initial(76.0).clip(true))
        .column(Column::remainder().at_least(60.0).clip(true))
        .header(20.0, |mut h| {
            for t in ["Element", "Original", "De-identified", "Action", "Rule"] {
                h.col(|ui| {
                    ui.strong(t);
                });
            }
        })
        .body(|body| {
            body.rows(18.0, shown.len(), |mut row| {
                let r = shown[row.index()];
                let indent = "  ".repeat(r.depth);
                row.col(|ui| {
                    ui.label(format!("{indent}{}", r.keyword))
                        .on_hover_text(format!("{} {}", r.path, r.vr));
                });
                row.col(|ui| {
                    let t = r.original.as_deref().unwrap_or("—");
                    ui.label(t).on_hover_text(t);
                });
                row.col(|ui| {
                    let t = r.deidentified.as_deref().unwrap_or("—");
                    ui.label(t).on_hover_text(t);
                });
                row.col(|ui| {
                    ui.label(r.action.as_str()).on_hover_text(&r.rule);
                });
                row.col(|ui| {
                    ui.label(&r.rule).on_hover_text(&r.rule);
                });
            });
        });
}
