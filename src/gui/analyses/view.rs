//! The Analyses tab: the form and the saved analyses on the left, the
//! chart, its table and its tests in the middle. Keys: Ctrl+Enter runs,
//! Esc cancels.

use super::form::{self, Form};
use super::{Analyses, Cmd};
use eframe::egui;
use egui_extras::{Column, TableBuilder};
use pacs_cohort::analysis::chart::{self, fmt_num, ChartView};
use pacs_cohort::analysis::{AnalysisResult, Cell, ResultBody};

/// What the tab draws and edits.
pub struct View<'a> {
    pub state: &'a mut Analyses,
    pub form: &'a mut Form,
    pub cohorts: &'a [String],
    /// The workspace only shows suppressed counts.
    pub aggregate_only: bool,
}

pub fn show(ui: &mut egui::Ui, v: View, out: &mut Vec<Cmd>) {
    let a = v.state;
    if !a.listed {
        a.list();
    }
    keys(ui.ctx(), a, out);
    egui::Panel::left("analysis_setup")
        .resizable(true)
        .default_size(380.0)
        .min_size(300.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                setup(ui, a, v.form, v.cohorts, out);
                ui.separator();
                saved(ui, a, out);
                ui.separator();
                match super::biomarker::show(ui, &mut a.biomarker, v.cohorts) {
                    Some(super::biomarker::Asked::Start) => out.push(Cmd::StartBiomarker),
                    Some(super::biomarker::Asked::Cancel) => out.push(Cmd::CancelBiomarker),
                    None => {}
                }
            });
        });
    egui::CentralPanel::default().show(ui, |ui| result(ui, a, v.aggregate_only, out));
}

fn keys(ctx: &egui::Context, a: &Analyses, out: &mut Vec<Cmd>) {
    use egui::{Key, Modifiers};
    ctx.input_mut(|i| {
        if i.consume_key(Modifiers::COMMAND, Key::Enter) {
            out.push(Cmd::Run);
        }
        if a.running.is_some() && i.consume_key(Modifiers::NONE, Key::Escape) {
            out.push(Cmd::Cancel);
        }
    });
}

fn setup(
    ui: &mut egui::Ui,
    a: &mut Analyses,
    f: &mut Form,
    cohorts: &[String],
    out: &mut Vec<Cmd>,
) {
    ui.heading("New analysis");
    if let Some(field) = form::show(ui, f, cohorts) {
        out.push(Cmd::PickCsv(field));
    }
    ui.add_space(6.0);
    let _ = ui
        .horizontal(|ui| {
            let spec = f.spec();
            if ui
                .add_enabled(spec.is_ok(), egui::Button::new("Run"))
                .on_hover_text("Run now (Ctrl+Enter)")
                .clicked()
            {
                out.push(Cmd::Run);
            }
            ui.checkbox(&mut a.live, "Live")
                .on_hover_text("Run again as the form changes");
            if a.running.is_some() {
                ui.spinner();
                if ui
                    .button("Cancel")
                    .on_hover_text("Stop the running analysis (Esc)")
                    .clicked()
                {
                    out.push(Cmd::Cancel);
                }
            }
            spec.err()
        })
        .inner
        .map(|e| ui.label(egui::RichText::new(e).color(ui.visuals().warn_fg_color)));
    if let Some(e) = &a.error {
        ui.label(egui::RichText::new(e).color(ui.visuals().error_fg_color));
    }
}

fn saved(ui: &mut egui::Ui, a: &Analyses, out: &mut Vec<Cmd>) {
    ui.heading("Saved analyses");
    if a.saved.is_empty() {
        ui.label(
            egui::RichText::new("None yet: run one and Save it (the CLI's `analyze` saves too).")
                .weak(),
        );
        return;
    }
    egui::Grid::new("saved_analyses")
        .striped(true)
        .num_columns(3)
        .show(ui, |ui| {
            for s in &a.saved {
                let shown = a.shown.as_ref().and_then(|x| x.saved_id) == Some(s.id);
                let label = format!("{} ({})", s.name, s.kind);
                if ui
                    .selectable_label(shown, label)
                    .on_hover_text(format!(
                        "computed {}{}",
                        s.computed_at,
                        if s.released { ", released" } else { "" }
                    ))
                    .clicked()
                {
                    out.push(Cmd::Open(s.id));
                }
                ui.label(egui::RichText::new(&s.computed_at[..10.min(s.computed_at.len())]).weak());
                ui.horizontal(|ui| {
                    if ui
                        .small_button("Re-run")
                        .on_hover_text("Run its specification on the index as it is now, and save the new result")
                        .clicked()
                    {
                        out.push(Cmd::Rerun(s.id));
                    }
                    if ui.small_button("Delete").clicked() {
                        out.push(Cmd::Delete(s.id));
                    }
                });
                ui.end_row();
            }
        });
}

fn result(ui: &mut egui::Ui, a: &mut Analyses, aggregate_only: bool, out: &mut Vec<Cmd>) {
    if let Some(m) = &a.message {
        let (text, colour) = match m {
            Ok(t) => (t.as_str(), ui.visuals().text_color()),
            Err(e) => (e.as_str(), ui.visuals().error_fg_color),
        };
        ui.label(egui::RichText::new(text).color(colour));
    }
    let Some(shown) = &a.shown else {
        ui.add_space(20.0);
        ui.label(
            egui::RichText::new(
                "Choose an analysis on the left: it runs in the background and its chart appears here.",
            )
            .weak(),
        );
        return;
    };
    let r = &shown.result;
    ui.horizontal(|ui| {
        for v in chart::views(r) {
            ui.selectable_value(&mut a.view, v, v.title());
        }
        ui.separator();
        ui.add(egui::TextEdit::singleline(&mut a.save_name).hint_text("name").desired_width(140.0));
        let name = if a.save_name.trim().is_empty() {
            r.spec.kind().to_string()
        } else {
            a.save_name.trim().to_string()
        };
        if ui
            .add_enabled(shown.saved_id.is_none(), egui::Button::new("Save"))
            .on_hover_text("Keep this result and its specification in the workspace")
            .clicked()
        {
            out.push(Cmd::Save(name));
        }
        if ui
            .button("Export…")
            .on_hover_text("Write the plots (PNG, SVG), the table (CSV) and the specification into a folder, small cells suppressed")
            .clicked()
        {
            out.push(Cmd::Export);
        }
    });
    if shown.index_changed {
        ui.label(
            egui::RichText::new(
                "The index changed since this was computed: Re-run gives today's counts.",
            )
            .color(ui.visuals().warn_fg_color),
        );
    }
    if !r.suppression.released && !aggregate_only {
        ui.label(
            egui::RichText::new(format!(
                "On this workstation small cells (1-{}) are shown, marked in orange; exports suppress them.",
                r.suppression.threshold
            ))
            .weak(),
        );
    }
    let c = chart::chart(r, a.view);
    let height = (ui.available_height() * 0.55).max(220.0);
    super::plot::show(ui, &c, height);
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("analysis_numbers")
        .show(ui, |ui| {
            statistics(ui, r);
            table(
                ui,
                r,
                a.view == ChartView::Lines || matches!(r.result, ResultBody::Trend(_)),
            );
        });
}

/// The tests and summaries under the chart.
fn statistics(ui: &mut egui::Ui, r: &AnalysisResult) {
    let mut lines: Vec<String> = Vec::new();
    match &r.result {
        ResultBody::Trend(t) => {
            for l in &t.lines {
                for apc in [&l.apc, &l.apc_poisson].into_iter().flatten() {
                    lines.push(format!(
                        "{}: APC {}% [{}, {}], p {} ({})",
                        l.label,
                        fmt_num(apc.apc),
                        fmt_num(apc.low),
                        fmt_num(apc.high),
                        fmt_p(apc.p_value),
                        apc.method
                    ));
                }
                lines.extend(l.notes.iter().map(|n| format!("{}: {n}", l.label)));
            }
            if t.undated > 0 {
                lines.push(format!(
                    "{} studies without a usable date are not counted",
                    t.undated
                ));
            }
        }
        ResultBody::Prevalence(p) => {
            if let Some(h) = &p.homogeneity {
                lines.push(format!(
                    "Chi-square test of homogeneity: {} on {} df, p {}{}",
                    fmt_num(h.statistic),
                    h.df,
                    fmt_p(h.p_value),
                    h.warning
                        .as_deref()
                        .map(|w| format!(" ({w})"))
                        .unwrap_or_default()
                ));
            }
            if let Some(t) = &p.trend {
                lines.push(format!(
                    "Cochran-Armitage test for trend: z {}, p {}",
                    fmt_num(t.z),
                    fmt_p(t.p_value)
                ));
            }
            if let Some(reference) = &p.reference {
                for ratio in &p.ratios {
                    if let (Some(e), Some(l), Some(h)) =
                        (ratio.estimate, ratio.ci_low, ratio.ci_high)
                    {
                        lines.push(format!(
                            "Prevalence ratio {} vs {}: {} [{}, {}]",
                            ratio.labels.join(" / "),
                            reference.join(" / "),
                            fmt_num(e),
                            fmt_num(l),
                            fmt_num(h)
                        ));
                    }
                }
            }
            lines.extend(p.notes.iter().cloned());
        }
        ResultBody::Standardised(s) => {
            lines.push(format!(
                "Standard: {} ({})",
                s.standard, s.standard_provenance
            ));
            lines.extend(s.notes.iter().cloned());
        }
    }
    lines.extend(r.warnings.iter().map(|w| format!("warning: {w}")));
    for l in lines {
        ui.label(l);
    }
    let cohorts: Vec<String> = r
        .cohorts
        .iter()
        .map(|c| format!("{} (revision {})", c.name, c.revision))
        .collect();
    ui.label(
        egui::RichText::new(format!(
            "Computed {}{}; app {}",
            r.computed_at,
            if cohorts.is_empty() {
                String::new()
            } else {
                format!(" from {}", cohorts.join(", "))
            },
            r.app_version
        ))
        .weak()
        .small(),
    );
}

fn fmt_p(p: f64) -> String {
    if p < 0.0001 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

/// Every cell: labels, period, x, n, estimate and CI (percent for
/// proportions), suppressed cells marked.
fn table(ui: &mut egui::Ui, r: &AnalysisResult, trend: bool) {
    let (cells, percent): (Vec<&Cell>, bool) = match &r.result {
        ResultBody::Trend(t) => (t.lines.iter().flat_map(|l| &l.cells).collect(), false),
        ResultBody::Prevalence(p) => (p.cells.iter().chain([&p.total]).collect(), true),
        ResultBody::Standardised(s) => (
            s.bands.iter().chain([&s.crude, &s.adjusted]).collect(),
            false,
        ),
    };
    let k = if percent { 100.0 } else { 1.0 };
    let num = |v: Option<f64>| v.map(|v| fmt_num(v * k)).unwrap_or_default();
    TableBuilder::new(ui)
        .id_salt("analysis_cells")
        .striped(true)
        .column(Column::auto().at_least(120.0))
        .columns(Column::auto().at_least(60.0), if trend { 6 } else { 5 })
        .header(20.0, |mut h| {
            let mut titles = vec!["stratum"];
            if trend {
                titles.push("period");
            }
            titles.extend([
                "x",
                "n",
                if percent { "estimate %" } else { "estimate" },
                "95% CI",
            ]);
            for t in titles {
                h.col(|ui| {
                    ui.strong(t);
                });
            }
        })
        .body(|mut body| {
            for c in cells {
                body.row(18.0, |mut row| {
                    row.col(|ui| {
                        ui.label(c.labels.join(" / "));
                    });
                    if trend {
                        row.col(|ui| {
                            ui.label(c.period.clone().unwrap_or_default());
                        });
                    }
                    row.col(|ui| {
                        ui.label(c.x.map(|x| x.to_string()).unwrap_or_default());
                    });
                    row.col(|ui| {
                        ui.label(c.n.map(fmt_num).unwrap_or_default());
                    });
                    row.col(|ui| {
                        if c.estimate.is_none() && c.suppressed {
                            ui.weak("suppressed");
                        } else {
                            let text = egui::RichText::new(num(c.estimate));
                            let text = if c.suppressed {
                                text.color(egui::Color32::from_rgb(230, 140, 40))
                            } else {
                                text
                            };
                            ui.label(text).on_hover_text(if c.suppressed {
                                "a small cell: shown on this workstation only"
                            } else {
                                c.method.as_str()
                            });
                        }
                    });
                    row.col(|ui| {
                        if let (Some(_), Some(_)) = (c.ci_low, c.ci_high) {
                            ui.label(format!("[{}, {}]", num(c.ci_low), num(c.ci_high)));
                        }
                    });
                });
            }
        });
}
