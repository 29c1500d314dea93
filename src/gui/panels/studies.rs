//! The study browser (virtualised, sortable, filterable) and the series of
//! the selected study.

use super::cell;
use crate::gui::commands::Command;
use crate::gui::imaging::thumbs::{self, Thumbs};
use crate::gui::imaging::Cmd;
use crate::gui::theme;
use eframe::egui;
use egui_extras::{Column, TableBuilder};
use pacs_cohort::model::{SeriesRow, StudyRow, StudySort, WorkspaceStatus};

const ROW_HEIGHT: f32 = 20.0;

/// What the search box says while empty (the search splits the text into
/// words; each must occur somewhere, see `pacs_cohort::Engine::studies`).
const SEARCH_HINT: &str =
    "patient, accession, description, modality, site: words in any order, any case (Ctrl+F)";
const SEARCH_HELP: &str = "Every word must occur in the patient ID or name, accession number, \
    description, modality or site, in any order. Case does not matter for A-Z; accented \
    letters match as typed. % and _ are ordinary characters.";

/// A person name for the table (the formatting rule is the library's).
fn person_name(pn: &Option<String>) -> String {
    pn.as_deref()
        .map(pacs_cohort::model::display_person_name)
        .unwrap_or_default()
}

/// What the study browser shows, and the search text being typed.
pub struct View<'a> {
    pub status: Option<&'a WorkspaceStatus>,
    pub filter: &'a mut String,
    /// Ctrl+F asked for the search box (cleared once focused).
    pub focus_search: &'a mut bool,
    pub studies: &'a [StudyRow],
    pub series: &'a [SeriesRow],
    pub selected: Option<&'a String>,
    pub sort: StudySort,
    pub descending: bool,
    /// Series thumbnails (cells being drawn ask for theirs).
    pub thumbs: &'a mut Thumbs,
    /// The series row selected (Enter opens it).
    pub selected_series: Option<&'a String>,
    /// The viewer is open (it takes the arrow keys).
    pub viewer_open: bool,
    /// Only patients with conflicting demographics are listed.
    pub conflicts_only: bool,
    pub dark: bool,
}

/// Shown after a patient ID whose files disagree on who the patient is
/// (ASCII: the app's font has no warning sign).
const CONFLICT_MARK: &str = "!";
const CONFLICT_HELP: &str = "Conflicting demographics: files with this patient ID give different names, sexes or birth dates (probably two sites' patients under one ID). Cohorts count it as one patient. Give each archive its site (Site field in Archives) or see `pacs-cohort conflicts`.";

pub fn show(ui: &mut egui::Ui, mut v: View, out: &mut Vec<Command>) {
    if super::aggregate_only(v.status, ui) {
        return;
    }
    ui.horizontal(|ui| {
        let label = ui.label("Search");
        let edit = egui::TextEdit::singleline(v.filter)
            .hint_text(SEARCH_HINT)
            .desired_width(480.0);
        let response = ui
            .add(edit)
            .labelled_by(label.id)
            .on_hover_text(SEARCH_HELP);
        if *v.focus_search {
            response.request_focus();
            *v.focus_search = false;
        }
        if response.changed() {
            out.push(Command::FilterChanged);
        }
        ui.label(format!("{} studies", v.studies.len()));
        let conflicts = v.status.map(|s| s.patient_conflicts).unwrap_or(0);
        if conflicts > 0 || v.conflicts_only {
            let mut only = v.conflicts_only;
            let label = format!("only conflicting patients ({conflicts})");
            if ui
                .checkbox(&mut only, label)
                .on_hover_text(CONFLICT_HELP)
                .changed()
            {
                out.push(Command::ConflictsOnly(only));
            }
            if ui
                .button("Conflicts…")
                .on_hover_text("List the conflicting patient IDs with their files")
                .clicked()
            {
                out.push(Command::ToggleConflicts);
            }
        }
    });
    egui::Panel::bottom("series_panel")
        .resizable(true)
        .default_size(260.0)
        // Room for two thumbnail rows at least.
        .min_size(170.0)
        .show(ui, |ui| series(ui, &mut v, out));
    egui::CentralPanel::default().show(ui, |ui| studies_table(ui, &v, out));
}

fn header(ui: &mut egui::Ui, v: &View, title: &str, col: StudySort, out: &mut Vec<Command>) {
    let sorted = (v.sort == col).then_some(v.descending);
    let hover = match sorted {
        Some(false) => format!(
            "Sorted by {} ascending; click to reverse",
            title.to_lowercase()
        ),
        Some(true) => format!(
            "Sorted by {} descending; click to reverse",
            title.to_lowercase()
        ),
        None => format!("Sort by {}", title.to_lowercase()),
    };
    let clicked = ui
        .add(egui::Button::new(egui::RichText::new(title).strong()).frame(false))
        .on_hover_text(hover)
        .clicked();
    if let Some(descending) = sorted {
        // A drawn triangle: the bundled fonts have no arrow glyphs.
        let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        let c = rect.center();
        let (tip, base) = if descending { (4.0, -4.0) } else { (-4.0, 4.0) };
        let points = vec![
            egui::pos2(c.x - 4.0, c.y + base),
            egui::pos2(c.x + 4.0, c.y + base),
            egui::pos2(c.x, c.y + tip),
        ];
        let color = ui.visuals().strong_text_color();
        ui.painter().add(egui::Shape::convex_polygon(
            points,
            color,
            egui::Stroke::NONE,
        ));
    }
    if clicked {
        out.push(Command::Sort(col));
    }
}

fn studies_table(ui: &mut egui::Ui, v: &View, out: &mut Vec<Command>) {
    let columns: [(&str, StudySort, f32); 10] = [
        ("Patient ID", StudySort::PatientId, 110.0),
        ("Name", StudySort::PatientName, 140.0),
        ("Sex", StudySort::Sex, 34.0),
        ("Age", StudySort::Age, 38.0),
        ("Date", StudySort::StudyDate, 82.0),
        ("Modality", StudySort::Modalities, 66.0),
        ("Description", StudySort::Description, 190.0),
        ("Site", StudySort::Institution, 150.0),
        ("Series", StudySort::Series, 50.0),
        ("Images", StudySort::Instances, 56.0),
    ];
    // Plain labels, so that a click selects the row instead of starting a
    // text selection.
    ui.style_mut().interaction.selectable_labels = false;
    // The width the columns share (less the spacing between them).
    let available = ui.available_width() - ui.spacing().item_spacing.x * columns.len() as f32;
    let mut table = TableBuilder::new(ui)
        .id_salt("studies")
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    // Every column stays on screen in a narrow window: the starting widths
    // shrink to the width there is (each column can still be widened).
    let wanted: f32 = columns.iter().map(|c| c.2).sum();
    let scale = (available / wanted).clamp(0.5, 1.0);
    for (_, _, w) in &columns[..columns.len() - 1] {
        table = table.column(Column::initial(*w * scale).at_least(30.0).clip(true));
    }
    table = table.column(Column::remainder().at_least(40.0));
    let n = v.studies.len();
    let mut clicked = None;
    table
        .header(ROW_HEIGHT + 4.0, |mut h| {
            for (title, col, _) in columns {
                h.col(|ui| header(ui, v, title, col, out));
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, n, |mut row| {
                let s = &v.studies[row.index()];
                row.set_selected(v.selected == Some(&s.study_uid));
                row.col(|ui| {
                    let id = if s.patient_conflict {
                        // The ID itself in the error colour, marked, so
                        // the mark does not cost the ID its width.
                        ui.label(
                            egui::RichText::new(format!("{}{CONFLICT_MARK}", s.patient_id))
                                .color(theme::error_color(v.dark))
                                .strong(),
                        )
                        .on_hover_text(CONFLICT_HELP)
                    } else {
                        ui.label(&s.patient_id)
                    };
                    if !s.issuer.is_empty() {
                        id.on_hover_text(format!("issuer {}", s.issuer));
                    }
                });
                row.col(|ui| {
                    ui.label(person_name(&s.patient_name));
                });
                row.col(|ui| {
                    ui.label(cell(&s.sex));
                });
                row.col(|ui| {
                    ui.label(
                        s.age_at_study_years
                            .map(|a| a.to_string())
                            .unwrap_or_default(),
                    );
                });
                row.col(|ui| {
                    ui.label(cell(&s.study_date));
                });
                row.col(|ui| {
                    ui.label(cell(&s.modalities));
                });
                row.col(|ui| {
                    ui.label(cell(&s.description));
                });
                row.col(|ui| {
                    ui.label(cell(&s.institution));
                });
                row.col(|ui| {
                    ui.label(s.series_count.to_string());
                });
                row.col(|ui| {
                    if s.remote_series > 0 {
                        // Harvested from a PACS, not (all) retrieved yet.
                        let text = match s.instance_count {
                            0 => "remote".to_string(),
                            n => format!("{n} + remote"),
                        };
                        ui.label(egui::RichText::new(text).italics()).on_hover_text(format!(
                            "{} of the study's series are on a PACS and not retrieved yet (PACS tab, or Retrieve on a cohort)",
                            s.remote_series
                        ));
                    } else {
                        ui.label(s.instance_count.to_string());
                    }
                });
                if row.response().clicked() {
                    clicked = Some(s.study_uid.clone());
                }
            });
        });
    if let Some(uid) = clicked {
        out.push(Command::SelectStudy(uid));
    }
}

/// Thumbnail cells in the series table.
const THUMB_ROW: f32 = 52.0;

fn series_title(s: &SeriesRow) -> String {
    format!(
        "{} {} {}",
        s.series_number.map(|n| format!("#{n}")).unwrap_or_default(),
        cell(&s.modality),
        cell(&s.description)
    )
    .trim()
    .to_string()
}

fn series(ui: &mut egui::Ui, v: &mut View, out: &mut Vec<Command>) {
    let Some(uid) = v.selected else {
        ui.label(egui::RichText::new("Select a study to see its series.").weak());
        return;
    };
    let study = v.studies.iter().find(|s| &s.study_uid == uid);
    // Enter opens the selected series (when nothing else takes the keys).
    if !v.viewer_open && !ui.ctx().text_edit_focused() {
        if let Some(s) = v
            .selected_series
            .and_then(|uid| v.series.iter().find(|s| &s.series_uid == uid))
        {
            if ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Enter)) {
                out.push(Command::Imaging(Cmd::OpenSeries(
                    s.series_uid.clone(),
                    series_title(s),
                )));
            }
        }
    }
    ui.horizontal(|ui| {
        ui.strong("Series");
        if let Some(s) = study {
            ui.label(format!(
                "of {} · {} · {}",
                s.patient_id,
                cell(&s.study_date),
                cell(&s.description)
            ));
        }
        ui.label(egui::RichText::new("(double-click or Enter opens the viewer)").weak());
    });
    // Plain labels: a click selects the row, a double-click opens it.
    ui.style_mut().interaction.selectable_labels = false;
    let columns: [(&str, f32); 10] = [
        ("", THUMB_ROW),
        ("#", 36.0),
        ("Modality", 64.0),
        ("Body part", 80.0),
        ("Description", 200.0),
        ("Images", 56.0),
        ("Slice mm", 64.0),
        ("Manufacturer", 150.0),
        ("Model", 150.0),
        ("Station", 90.0),
    ];
    let available = ui.available_width() - ui.spacing().item_spacing.x * columns.len() as f32;
    let wanted: f32 = columns.iter().map(|c| c.1).sum();
    let scale = (available / wanted).clamp(0.5, 1.0);
    let mut table = TableBuilder::new(ui)
        .id_salt("series")
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    for (_, w) in &columns[..columns.len() - 1] {
        table = table.column(Column::initial(*w * scale).at_least(24.0).clip(true));
    }
    table = table.column(Column::remainder());
    table
        .header(ROW_HEIGHT, |mut h| {
            for (title, _) in columns {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            // Only the rows on screen are laid out: only their thumbnails
            // are asked for.
            body.rows(THUMB_ROW, v.series.len(), |mut row| {
                let s = &v.series[row.index()];
                row.set_selected(v.selected_series == Some(&s.series_uid));
                row.col(|ui| {
                    let r = thumbs::draw(ui, v.thumbs.get(&s.series_uid), THUMB_ROW - 4.0);
                    if r.clicked() {
                        out.push(Command::Imaging(Cmd::SelectSeries(s.series_uid.clone())));
                    }
                    if r.double_clicked() {
                        out.push(Command::Imaging(Cmd::OpenSeries(
                            s.series_uid.clone(),
                            series_title(s),
                        )));
                    }
                });
                row.col(|ui| {
                    ui.label(s.series_number.map(|n| n.to_string()).unwrap_or_default());
                });
                row.col(|ui| {
                    ui.label(cell(&s.modality));
                });
                row.col(|ui| {
                    ui.label(cell(&s.body_part));
                });
                row.col(|ui| {
                    ui.label(cell(&s.description));
                });
                row.col(|ui| {
                    ui.label(s.instance_count.to_string());
                });
                row.col(|ui| {
                    ui.label(
                        s.slice_thickness_mm
                            .map(|t| format!("{t:.2}"))
                            .unwrap_or_default(),
                    );
                });
                row.col(|ui| {
                    ui.label(cell(&s.manufacturer));
                });
                row.col(|ui| {
                    ui.label(cell(&s.model_name));
                });
                row.col(|ui| {
                    ui.label(cell(&s.station_name));
                });
                let r = row.response();
                if r.clicked() {
                    out.push(Command::Imaging(Cmd::SelectSeries(s.series_uid.clone())));
                }
                if r.double_clicked() {
                    out.push(Command::Imaging(Cmd::OpenSeries(
                        s.series_uid.clone(),
                        series_title(s),
                    )));
                }
            });
        });
}
