//! The left panel: archives in the workspace, the running index job with
//! its progress, recent archives.

use crate::gui::app::IndexRun;
use crate::gui::commands::{Command, Confirmation};
use crate::gui::theme;
use eframe::egui;
use pacs_cohort::model::{FileStatus, WorkspaceStatus};
use std::path::PathBuf;

/// What the archives panel shows, and the path being typed.
pub struct View<'a> {
    pub status: Option<&'a WorkspaceStatus>,
    pub index: Option<&'a IndexRun>,
    pub recent: &'a [PathBuf],
    pub typed_path: &'a mut String,
    /// The site typed for the next archive opened.
    pub new_site: &'a mut String,
    /// Site fields being edited, by root path.
    pub site_edits: &'a mut std::collections::HashMap<String, String>,
    pub dark: bool,
}

pub fn show(ui: &mut egui::Ui, v: View, out: &mut Vec<Command>) {
    ui.add_space(4.0);
    if ui
        .add_sized([ui.available_width(), 28.0], egui::Button::new("Open archive…"))
        .on_hover_text("Add a folder of DICOM files and index it (Ctrl+O); you can also drop a folder on the window")
        .clicked()
    {
        out.push(Command::PickFolder);
    }
    // Typing a path works where no folder dialog can open (no desktop
    // portal) and is quicker for a path already on the clipboard.
    let typed = ui
        .horizontal(|ui| {
            let label = ui.label("or path");
            ui.add(
                egui::TextEdit::singleline(v.typed_path)
                    .desired_width(f32::INFINITY)
                    .hint_text("type a folder, then Enter"),
            )
            .labelled_by(label.id)
        })
        .inner;
    if typed.lost_focus()
        && ui.input(|i| i.key_pressed(egui::Key::Enter))
        && !v.typed_path.trim().is_empty()
    {
        let path = PathBuf::from(v.typed_path.trim());
        v.typed_path.clear();
        out.push(Command::OpenArchive(path));
    }
    ui.horizontal(|ui| {
        let label = ui.label("site");
        ui.add(
            egui::TextEdit::singleline(v.new_site)
                .desired_width(f32::INFINITY)
                .hint_text("optional: issuer of its patient IDs"),
        )
        .labelled_by(label.id)
        .on_hover_text("The site of the archive you open next (before opening it): the issuer of its patient IDs, so that the same ID at two sites stays two patients. Files with an Issuer of Patient ID keep theirs.");
    });
    ui.add_space(6.0);
    progress(ui, v.index, v.dark, out);
    ui.heading("Archives");
    let roots = v.status.map(|s| s.roots.clone()).unwrap_or_default();
    if roots.is_empty() {
        ui.label(egui::RichText::new("No archive yet: open a folder to index it.").weak());
    }
    for r in roots {
        let path = PathBuf::from(&r.path);
        ui.group(|ui| {
            ui.set_width(ui.available_width());
            ui.label(egui::RichText::new(&r.path).monospace())
                .on_hover_text(&r.path);
            ui.horizontal(|ui| {
                ui.label(format!("{} files", r.files));
                let indexing = v.index.is_some_and(|run| run.root == path);
                ui.add_enabled_ui(!indexing, |ui| {
                    if ui
                        .small_button("Re-index")
                        .on_hover_text("Pick up new, changed and removed files")
                        .clicked()
                    {
                        out.push(Command::Reindex(path.clone()));
                    }
                    if ui
                        .small_button("Remove")
                        .on_hover_text(
                            "Remove this archive from the workspace (its files are not touched)",
                        )
                        .clicked()
                    {
                        out.push(Command::Confirm(Confirmation {
                            question: format!("Remove {} from the workspace?", path.display()),
                            detail: "Its index entries go; the files on disk are not touched. Indexing it again later reads every file again.".into(),
                            verb: "Remove archive".into(),
                            then: Box::new(Command::RemoveArchive(path.clone())),
                        }));
                    }
                });
            });
            site_field(ui, &r, v.site_edits, out);
        });
    }
    let known: Vec<String> = v
        .status
        .map(|s| s.roots.iter().map(|r| r.path.clone()).collect())
        .unwrap_or_default();
    let recent: Vec<PathBuf> = v
        .recent
        .iter()
        .filter(|p| !known.contains(&p.display().to_string()))
        .cloned()
        .collect();
    if !recent.is_empty() {
        ui.add_space(8.0);
        ui.heading("Recent");
        for p in recent {
            if ui
                .link(p.display().to_string())
                .on_hover_text("Open and index again")
                .clicked()
            {
                out.push(Command::OpenArchive(p));
            }
        }
    }
}

/// The archive's site: the issuer of its patient IDs, used for files
/// without an Issuer of Patient ID so that two sites' identical IDs stay
/// two patients. Enter applies it (the archive is read again).
fn site_field(
    ui: &mut egui::Ui,
    r: &pacs_cohort::model::RootInfo,
    edits: &mut std::collections::HashMap<String, String>,
    out: &mut Vec<Command>,
) {
    let stored = r.issuer.clone().unwrap_or_default();
    let text = edits
        .entry(r.path.clone())
        .or_insert_with(|| stored.clone());
    let edit = ui
        .horizontal(|ui| {
            let label = ui.label("Site");
            ui.add(
                egui::TextEdit::singleline(text)
                    .desired_width(f32::INFINITY)
                    .hint_text("issuer of its patient IDs, then Enter"),
            )
            .labelled_by(label.id)
            .on_hover_text("Patient IDs are unique only within a site: give each archive its site so that the same ID at two sites stays two patients. Files with an Issuer of Patient ID keep theirs. Changing it reads the archive again.")
        })
        .inner;
    let changed = text.trim() != stored;
    if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) && changed {
        out.push(Command::SetSite(
            PathBuf::from(&r.path),
            text.trim().to_string(),
        ));
    } else if !edit.has_focus() && !changed {
        // Not being edited: follow the stored value.
        edits.remove(&r.path);
    }
}

fn progress(ui: &mut egui::Ui, index: Option<&IndexRun>, dark: bool, out: &mut Vec<Command>) {
    let Some(run) = index else { return };
    let mut cancel = false;
    ui.group(|ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.spinner();
            ui.strong(if run.cancelling {
                "Cancelling…"
            } else {
                "Indexing"
            });
        });
        ui.label(
            egui::RichText::new(run.root.display().to_string())
                .monospace()
                .small(),
        );
        match &run.progress {
            None => {
                ui.label("starting…");
            }
            Some(p) => {
                let fraction = if p.to_read > 0 {
                    p.read as f32 / p.to_read as f32
                } else {
                    0.0
                };
                let bar = egui::ProgressBar::new(fraction);
                ui.add(if p.phase == "walking" {
                    bar.text(format!("walking… {} found", p.files_seen))
                } else {
                    bar.show_percentage()
                });
                let rate = if p.elapsed_seconds > 0.0 {
                    p.read as f64 / p.elapsed_seconds
                } else {
                    0.0
                };
                let eta = if rate > 0.0 && p.phase != "walking" {
                    format!(
                        "ETA {:.0} s",
                        (p.to_read.saturating_sub(p.read)) as f64 / rate
                    )
                } else {
                    "ETA after the walk".to_string()
                };
                ui.label(format!(
                    "{} / {} files read · {:.0} files/s · {eta}",
                    p.read, p.to_read, rate
                ));
                ui.label(format!("{} files found ({})", p.files_seen, p.phase));
                if !p.current_folder.is_empty() {
                    ui.label(
                        egui::RichText::new(format!("in {}", p.current_folder))
                            .small()
                            .weak(),
                    );
                }
                ui.horizontal_wrapped(|ui| {
                    for st in FileStatus::ALL {
                        let n = p.status.get(st);
                        if n > 0 {
                            ui.colored_label(theme::status_color(st, dark), format!("{st} {n}"));
                        }
                    }
                });
            }
        }
        if ui
            .button("Cancel")
            .on_hover_text("Stop indexing; what was read is kept (Esc)")
            .clicked()
        {
            cancel = true;
        }
    });
    if cancel {
        out.push(Command::CancelIndex);
    }
    ui.add_space(6.0);
}
