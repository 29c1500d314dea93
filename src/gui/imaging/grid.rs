//! The cohort's content as a grid of series thumbnails: virtualised (only
//! the rows on screen are laid out, so only their thumbnails are asked
//! for); double-click opens the viewer.

use super::thumbs::{self, Thumbs};
use super::Cmd;
use eframe::egui;
use pacs_cohort::model::CohortSpec;

/// One series of the cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct GridItem {
    pub series_uid: String,
    pub patient_id: String,
    pub study_date: String,
    pub modality: String,
    pub description: String,
    pub instances: String,
}

/// The manifest's rows (a header row first) as grid items.
pub fn items(rows: &[Vec<String>]) -> Vec<GridItem> {
    let Some((header, rows)) = rows.split_first() else {
        return Vec::new();
    };
    let col = |name: &str| header.iter().position(|h| h == name);
    let cols = [
        col("series_uid"),
        col("patient_id"),
        col("study_date"),
        col("modality"),
        col("series_description"),
        col("instances"),
    ];
    let get =
        |r: &Vec<String>, i: usize| cols[i].and_then(|c| r.get(c)).cloned().unwrap_or_default();
    rows.iter()
        .map(|r| GridItem {
            series_uid: get(r, 0),
            patient_id: get(r, 1),
            study_date: get(r, 2),
            modality: get(r, 3),
            description: get(r, 4),
            instances: get(r, 5),
        })
        .collect()
}

#[derive(Default)]
pub struct Grid {
    /// The definition listed (or being listed).
    spec: Option<CohortSpec>,
    pub items: Vec<GridItem>,
    pub error: Option<String>,
    pub loading: bool,
}

impl Grid {
    /// Whether `spec` must be listed (it differs from the one shown).
    pub fn wants(&mut self, spec: &CohortSpec) -> bool {
        if self.spec.as_ref() == Some(spec) {
            return false;
        }
        self.spec = Some(spec.clone());
        self.loading = true;
        true
    }

    pub fn answered(&mut self, spec: CohortSpec, rows: Result<Vec<GridItem>, String>) {
        if self.spec.as_ref() != Some(&spec) {
            return; // an older definition
        }
        self.loading = false;
        match rows {
            Ok(items) => {
                self.items = items;
                self.error = None;
            }
            Err(e) => {
                self.items.clear();
                self.error = Some(e);
            }
        }
    }
}

/// Cell size: thumbnail plus two caption lines.
const CELL: f32 = 118.0;
const CAPTION: f32 = 34.0;

/// The grid of the draft cohort's series.
pub fn show(
    ui: &mut egui::Ui,
    draft: &CohortSpec,
    grid: &Grid,
    thumbs: &mut Thumbs,
    out: &mut Vec<Cmd>,
) {
    out.push(Cmd::CohortSeries(draft.normalized()));
    ui.horizontal(|ui| {
        ui.strong(format!("Series of '{}'", draft.name));
        ui.label(format!("{} series", grid.items.len()));
        if grid.loading {
            ui.spinner();
        }
        ui.label(
            egui::RichText::new(
                "Double-click a series to open it; the cohort is the builder's draft.",
            )
            .weak(),
        );
    });
    if let Some(e) = &grid.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
        return;
    }
    let per_row = ((ui.available_width() / CELL).floor() as usize).max(1);
    let rows = grid.items.len().div_ceil(per_row);
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, CELL + CAPTION, rows, |ui, range| {
            for row in range {
                ui.horizontal(|ui| {
                    for item in grid.items.iter().skip(row * per_row).take(per_row) {
                        cell(ui, item, thumbs, out);
                    }
                });
            }
        });
}

fn cell(ui: &mut egui::Ui, item: &GridItem, thumbs: &mut Thumbs, out: &mut Vec<Cmd>) {
    ui.allocate_ui(egui::vec2(CELL - 8.0, CELL + CAPTION - 4.0), |ui| {
        ui.vertical(|ui| {
            ui.set_width(CELL - 8.0);
            let r = thumbs::draw(ui, thumbs.get(&item.series_uid), CELL - 12.0);
            let title = format!("{} {}", item.modality, item.description);
            let r = r.on_hover_text(format!(
                "{title}\n{} · {} · {} images",
                item.patient_id, item.study_date, item.instances
            ));
            if r.double_clicked() {
                out.push(Cmd::OpenSeries(item.series_uid.clone(), title.clone()));
            }
            ui.add(egui::Label::new(egui::RichText::new(title).small()).truncate());
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!("{} · {}", item.patient_id, item.study_date))
                        .small()
                        .weak(),
                )
                .truncate(),
            );
        });
    });
}
