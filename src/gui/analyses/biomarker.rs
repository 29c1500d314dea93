//! The image biomarker job in the Analyses area: the CT emphysema index
//! of a saved cohort's chest CT series, computed in parallel in the
//! background with progress and cancel; series already computed from the
//! same files are not computed again (resume). The stored features then
//! work as criteria, outcomes and strata.

use eframe::egui;
use pacs_cohort::engine::{EmphysemaProgress, EmphysemaReport};
use pacs_cohort::{Engine, JobEvent, JobHandle};
use std::sync::Arc;
use std::time::Instant;

#[derive(Default)]
pub struct Biomarker {
    /// The cohort whose chest CT series are measured.
    pub cohort: Option<String>,
    pub running: Option<JobHandle<EmphysemaProgress, EmphysemaReport>>,
    pub progress: Option<EmphysemaProgress>,
    pub outcome: Option<Result<EmphysemaReport, String>>,
}

impl Biomarker {
    pub fn start(&mut self, engine: &Engine, wake: Arc<dyn Fn() + Send + Sync>) {
        let Some(cohort) = self.cohort.clone() else {
            return;
        };
        if self.running.is_some() {
            return;
        }
        self.progress = None;
        self.outcome = None;
        self.running = Some(engine.spawn_emphysema(cohort, wake));
    }

    pub fn cancel(&mut self) {
        if let Some(job) = &self.running {
            job.cancel.cancel();
        }
    }

    /// Progress and the end of the job; true when it just ended.
    pub fn drain(&mut self, deadline: Instant) -> bool {
        let Some(job) = &self.running else {
            return false;
        };
        let progress = &mut self.progress;
        match job.poll(deadline, |p| *progress = Some(p)) {
            Some(JobEvent::Done(report)) => {
                self.running = None;
                self.outcome = Some(Ok(report));
                true
            }
            Some(JobEvent::Failed(e)) => {
                self.running = None;
                self.outcome = Some(Err(e));
                true
            }
            _ => false,
        }
    }
}

/// What was asked for in the block.
pub enum Asked {
    Start,
    Cancel,
}

pub fn show(ui: &mut egui::Ui, b: &mut Biomarker, cohorts: &[String]) -> Option<Asked> {
    let mut asked = None;
    ui.heading("Image biomarker");
    ui.label(
        egui::RichText::new(
            "CT emphysema index per chest CT series: %LAA-950 (voxels with HU < -950 in the lung mask) and Perc15. Stored as features laa950_percent and perc15_hu.",
        )
        .weak(),
    );
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("biomarker_cohort")
            .width(180.0)
            .selected_text(b.cohort.clone().unwrap_or_else(|| "choose a cohort".into()))
            .show_ui(ui, |ui| {
                for c in cohorts {
                    ui.selectable_value(&mut b.cohort, Some(c.clone()), c);
                }
            });
        if b.running.is_some() {
            if ui.button("Cancel").clicked() {
                asked = Some(Asked::Cancel);
            }
        } else if ui
            .add_enabled(
                b.cohort.is_some(),
                egui::Button::new("Compute emphysema index"),
            )
            .on_hover_text(
                "Runs in the background; series already computed from the same files are kept",
            )
            .clicked()
        {
            asked = Some(Asked::Start);
        }
    });
    if b.running.is_some() {
        let p = b.progress.clone().unwrap_or_default();
        let fraction = if p.series_total == 0 {
            0.0
        } else {
            let within = if p.slices_total > 0 {
                p.slices_done as f32 / p.slices_total as f32
            } else {
                0.0
            };
            (p.series_done as f32 + within) / p.series_total as f32
        };
        ui.add(egui::ProgressBar::new(fraction.clamp(0.0, 1.0)).show_percentage())
            .on_hover_text(format!(
                "{} of {} series; {} MB of pixel data decoded",
                p.series_done,
                p.series_total,
                p.pixel_bytes / 1_000_000
            ));
        ui.label(format!("{} of {} series", p.series_done, p.series_total));
    }
    match &b.outcome {
        Some(Ok(r)) => {
            ui.label(format!(
                "{}: {} chest CT series; {} computed, {} kept from before, {} without a result{}",
                r.cohort,
                r.chest_ct_series,
                r.computed,
                r.resumed,
                r.failed.len(),
                if r.cancelled { " (cancelled)" } else { "" }
            ));
            for f in r.failed.iter().take(5) {
                ui.label(egui::RichText::new(format!("{}: {}", f.kind, f.reason)).weak());
            }
            if r.failed.len() > 5 {
                ui.label(egui::RichText::new(format!("and {} more", r.failed.len() - 5)).weak());
            }
        }
        Some(Err(e)) => {
            ui.label(egui::RichText::new(e).color(ui.visuals().error_fg_color));
        }
        None => {}
    }
    asked
}
