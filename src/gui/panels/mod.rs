//! Layout. Panels read the app's already-loaded view state and push
//! commands; none of them does I/O.

mod archives;
mod cohort;
mod confirm;
mod conflicts;
mod ehr_dialog;
mod errors;
mod export_dialog;
mod files;
mod jobs;
mod menu;
mod status_bar;
mod studies;

use super::analyses;
use super::app::PacsApp;
use super::commands::Command;
use super::imaging;
use super::pacs;
use super::state::Tab;
use eframe::egui;
use pacs_cohort::model::WorkspaceStatus;

pub fn layout(app: &mut PacsApp, ui: &mut egui::Ui) {
    // Panels get views of what they draw and push commands here; the app
    // handles them after layout.
    let mut out = Vec::new();
    let dark = app.prefs.dark;
    egui::Panel::top("menu").show(ui, |ui| menu::show(ui, dark, &mut out));
    if !app.errors.is_empty() {
        egui::Panel::top("errors").show(ui, |ui| errors::show(ui, &app.errors, dark, &mut out));
    }
    let bar = status_bar::View {
        status: app.status.as_ref(),
        indexing: app.index.as_ref().map(|r| r.progress.as_ref()),
        exporting: app
            .export_dialog
            .as_ref()
            .and_then(|d| d.run.as_ref())
            .map(|r| r.progress.as_ref()),
        busy: app.queries_busy(),
    };
    egui::Panel::bottom("status_bar").show(ui, |ui| status_bar::show(ui, &bar, &mut out));
    // The review needs the width for the queue, the image and the header
    // diff: the archives panel steps aside there.
    if !matches!(app.prefs.tab, Tab::Review | Tab::Analyses) {
        egui::Panel::left("archives")
            .resizable(true)
            .default_size(300.0)
            .min_size(220.0)
            .show(ui, |ui| {
                let view = archives::View {
                    status: app.status.as_ref(),
                    index: app.index.as_ref(),
                    recent: &app.prefs.recent,
                    typed_path: &mut app.typed_archive_path,
                    new_site: &mut app.new_archive_site,
                    site_edits: &mut app.site_edits,
                    dark,
                };
                archives::show(ui, view, &mut out)
            });
    }
    egui::CentralPanel::default_margins().show(ui, |ui| {
        ui.horizontal(|ui| {
            let current = app.prefs.tab;
            let tabs = [
                (Tab::Studies, "Studies"),
                (Tab::Cohort, "Cohort builder"),
                (Tab::Images, "Cohort images"),
                (Tab::Review, "Review"),
                (Tab::Analyses, "Analyses"),
                (Tab::Pacs, "PACS"),
                (Tab::Files, "Files and statuses"),
            ];
            for (tab, title) in tabs {
                if ui.selectable_label(current == tab, title).clicked() {
                    app.push(Command::ShowTab(tab));
                }
            }
        });
        ui.separator();
        match app.prefs.tab {
            Tab::Studies => {
                let view = studies::View {
                    status: app.status.as_ref(),
                    filter: &mut app.filter,
                    focus_search: &mut app.focus_search,
                    studies: &app.studies,
                    series: &app.series,
                    selected: app.selected_study.as_ref(),
                    sort: app.prefs.sort,
                    descending: app.prefs.descending,
                    thumbs: &mut app.imaging.thumbs,
                    selected_series: app.imaging.selected_series.as_ref(),
                    viewer_open: app.imaging.viewer.is_some(),
                    conflicts_only: app.conflicts_only,
                    dark,
                };
                studies::show(ui, view, &mut out)
            }
            Tab::Cohort => {
                let modified = app.draft_modified();
                let busy = app.queries_busy();
                app.draft(); // a new draft if there is none
                let view = cohort::View {
                    draft: app.prefs.cohort_draft.as_mut().expect("created above"),
                    modified,
                    loaded: app.loaded_cohort.as_ref(),
                    saved: &app.saved_cohorts,
                    counts: app.cohort_counts.as_ref(),
                    evaluator: app.cohort_evaluator,
                    comparison: app.comparison.as_ref(),
                    json: cohort::Json {
                        text: &mut app.cohort_json,
                        generated: &mut app.cohort_json_generated,
                        error: &mut app.cohort_json_error,
                    },
                    status: app.status.as_ref(),
                    value_lists: &app.value_lists,
                    busy,
                    dark,
                };
                cohort::show(ui, view, &mut out)
            }
            Tab::Images => {
                if !aggregate_only(app.status.as_ref(), ui) {
                    app.draft(); // a new draft if there is none
                    let draft = app.prefs.cohort_draft.as_ref().expect("created above");
                    let mut cmds = Vec::new();
                    let imaging = &mut app.imaging;
                    imaging::grid_show(ui, draft, &imaging.grid, &mut imaging.thumbs, &mut cmds);
                    out.extend(cmds.into_iter().map(Command::Imaging));
                }
            }
            Tab::Review => {
                if !aggregate_only(app.status.as_ref(), ui) {
                    let cohorts: Vec<String> =
                        app.saved_cohorts.iter().map(|c| c.name.clone()).collect();
                    let imaging = &mut app.imaging;
                    let view = imaging::ReviewView {
                        queue: &mut imaging.review,
                        viewer: imaging.viewer.as_mut(),
                        cohorts: &cohorts,
                        reviewer: &mut app.prefs.reviewer,
                    };
                    let mut cmds = Vec::new();
                    imaging::review_show(ui, view, &mut cmds);
                    out.extend(cmds.into_iter().map(Command::Imaging));
                }
            }
            Tab::Analyses => {
                let cohorts: Vec<String> =
                    app.saved_cohorts.iter().map(|c| c.name.clone()).collect();
                let view = analyses::view::View {
                    state: &mut app.analyses,
                    form: &mut app.prefs.analysis_form,
                    cohorts: &cohorts,
                    aggregate_only: app.status.as_ref().is_some_and(|s| s.aggregate_only),
                };
                let mut cmds = Vec::new();
                analyses::view::show(ui, view, &mut cmds);
                out.extend(cmds.into_iter().map(Command::Analyses));
            }
            Tab::Pacs => {
                let cohorts: Vec<String> =
                    app.saved_cohorts.iter().map(|c| c.name.clone()).collect();
                let mut cmds = Vec::new();
                pacs::view::show(ui, &mut app.pacs, &cohorts, &mut cmds);
                out.extend(cmds.into_iter().map(Command::Pacs));
            }
            Tab::Files => {
                let view = files::View {
                    files: &app.files,
                    status: app.status.as_ref(),
                    showing: app.prefs.files_status,
                    dark,
                };
                files::show(ui, &view, &mut out)
            }
        }
    });
    let mut cmds = Vec::new();
    if app.prefs.tab != Tab::Review {
        imaging::view::window(ui.ctx(), app.imaging.viewer.as_mut(), true, &mut cmds);
    }
    out.extend(cmds.into_iter().map(Command::Imaging));
    if app.prefs.show_jobs {
        jobs::window(ui.ctx(), &app.jobs, &mut out);
    }
    if app.show_conflicts {
        conflicts::window(ui.ctx(), app.conflicts.as_deref(), dark, &mut out);
    }
    ehr_dialog::window(ui.ctx(), app.ehr_dialog.as_mut(), dark, &mut out);
    let cohorts: Vec<String> = app.saved_cohorts.iter().map(|c| c.name.clone()).collect();
    export_dialog::window(
        ui.ctx(),
        app.export_dialog.as_mut(),
        &cohorts,
        &mut app.prefs.profile,
        &mut out,
    );
    if let Some(answer) = app
        .confirm
        .as_ref()
        .and_then(|c| confirm::modal(ui.ctx(), c))
    {
        out.push(answer);
    }
    for c in out {
        app.push(c);
    }
}

/// Formats an optional value for a table cell.
pub(super) fn cell(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// In an aggregate-only workspace, says so instead of showing rows.
/// Returns true when the caller must not show row-level data.
pub(super) fn aggregate_only(status: Option<&WorkspaceStatus>, ui: &mut egui::Ui) -> bool {
    let on = status.is_some_and(|s| s.aggregate_only);
    if on {
        ui.label("This workspace is in aggregate-only mode: studies and files are not shown, and counts are suppressed.");
        ui.label(egui::RichText::new("The workspace owner can change this with `pacs-cohort privacy --aggregate-only false`.").weak());
    }
    on
}
