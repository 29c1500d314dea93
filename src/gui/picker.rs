//! Folder dialogs behind a trait, so tests never open one. The dialog runs
//! on its own thread (rfd blocks) and answers over a channel.

use std::path::PathBuf;

/// Asks the user for a folder.
pub trait FolderPicker: Send + Sync {
    /// Blocks until the user picks a folder or cancels. Called off the UI thread.
    fn pick_folder(&self) -> Option<PathBuf>;
    /// Blocks until the user picks a CSV file or cancels.
    fn pick_csv(&self) -> Option<PathBuf>;
    /// Blocks until the user picks the folder an export is written into.
    fn pick_export_parent(&self) -> Option<PathBuf>;
    /// Blocks until the user names a CSV file to write (None: cancelled).
    fn pick_save_csv(&self, _default_name: &str) -> Option<PathBuf> {
        None
    }
    /// Blocks until the user picks the folder an analysis is written into.
    fn pick_analysis_folder(&self) -> Option<PathBuf> {
        None
    }
}

/// The system dialog (XDG portal, or zenity as a fallback).
pub struct RfdPicker;

impl FolderPicker for RfdPicker {
    fn pick_folder(&self) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Open a DICOM archive folder")
            .pick_folder()
    }

    fn pick_csv(&self) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Import clinical data (CSV)")
            .add_filter("CSV", &["csv", "txt"])
            .pick_file()
    }

    fn pick_export_parent(&self) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Choose where to write the de-identified export")
            .pick_folder()
    }

    fn pick_analysis_folder(&self) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Choose where to write the analysis (plots, CSV, specification)")
            .pick_folder()
    }

    fn pick_save_csv(&self, default_name: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title("Save the review history as CSV")
            .add_filter("CSV", &["csv"])
            .set_file_name(default_name)
            .save_file()
    }
}
