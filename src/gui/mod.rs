//! The desktop app (binary only: it reaches the library's public API and
//! nothing else). Never blocks the UI thread: every database query, walk and
//! folder dialog runs on a worker; results come back over channels drained
//! in `logic` each frame.

mod analyses;
mod app;
mod commands;
mod export_job;
mod frame_stats;
mod imaging;
mod pacs;
mod panels;
mod picker;
mod queries;
mod state;
#[cfg(test)]
mod tests;
mod theme;

pub use app::PacsApp;
pub use picker::RfdPicker;

use std::path::PathBuf;
use std::sync::Arc;

/// Opens the window on the workspace `db`. When the workspace is empty and
/// `sample` is given, the sample archive is indexed at once.
pub fn run(db: PathBuf, sample: Option<PathBuf>, exit_when_indexed: bool) -> anyhow::Result<()> {
    let engine = pacs_cohort::Engine::open(&db)?;
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("pacs-cohort")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([720.0, 480.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "pacs-cohort",
        options,
        Box::new(move |cc| {
            let mut app = PacsApp::new(
                &cc.egui_ctx,
                cc.storage,
                engine,
                Arc::new(RfdPicker),
                sample,
            );
            app.exit_when_indexed = exit_when_indexed;
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
