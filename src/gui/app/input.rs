//! Keyboard shortcuts and folders dropped on the window.

use super::*;

impl PacsApp {
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let pairs = [
            (
                KeyboardShortcut::new(Modifiers::COMMAND, Key::O),
                Command::PickFolder,
            ),
            (
                KeyboardShortcut::new(Modifiers::COMMAND, Key::R),
                Command::ReindexAll,
            ),
            (
                KeyboardShortcut::new(Modifiers::COMMAND, Key::F),
                Command::FocusSearch,
            ),
            (
                KeyboardShortcut::new(Modifiers::COMMAND, Key::J),
                Command::ToggleJobs,
            ),
            (
                KeyboardShortcut::new(Modifiers::COMMAND, Key::E),
                Command::OpenExport(None),
            ),
        ];
        for (shortcut, command) in pairs {
            if ctx.input_mut(|i| i.consume_shortcut(&shortcut)) {
                self.push(command);
            }
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Escape)) {
            // Esc cancels the running export first, then indexing.
            if self.export_running() {
                self.push(Command::CancelExport);
            } else if self.index.is_some() {
                self.push(Command::CancelIndex);
            } else if self.analyses.running.is_some() {
                self.push(Command::Analyses(crate::gui::analyses::Cmd::Cancel));
            }
        }
        // Folders dropped on the window are opened as archives.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        // The worker says so when a dropped path is not a folder.
        for p in dropped {
            self.push(Command::OpenArchive(p));
        }
    }
}
