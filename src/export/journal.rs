//! The resume journal of an export in progress, kept inside its
//! `.incomplete-` folder: the state a resumed run must match, and one JSON
//! line per written file (a keyed label of its source, never the source
//! path, and its manifest row). Both are removed before a clean export is
//! renamed into place.

use super::manifest::ManifestRow;
use super::ExportError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

pub const STATE_FILE: &str = ".export-state.json";
pub const JOURNAL_FILE: &str = ".export-journal.jsonl";

/// What must be the same for a run to continue another: a digest of the
/// sources, options, masks, key fingerprint and recipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub digest: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    source: String,
    row: ManifestRow,
}

/// The append end of a journal.
pub struct Journal {
    file: std::fs::File,
    path: PathBuf,
}

impl Journal {
    /// Starts the journal (and state) of a new `.incomplete-` folder.
    pub fn create(dir: &Path, state: &State) -> Result<Journal, ExportError> {
        let state_path = dir.join(STATE_FILE);
        crate::private_fs::write(&state_path, &serde_json::to_vec(state).unwrap_or_default())
            .map_err(|e| ExportError::Io(e.to_string(), state_path))?;
        let path = dir.join(JOURNAL_FILE);
        crate::private_fs::touch(&path)
            .map_err(|e| ExportError::Io(e.to_string(), path.clone()))?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| ExportError::Io(e.to_string(), path.clone()))?;
        Ok(Journal { file, path })
    }

    /// Records one written file (after it was renamed into place).
    pub fn append(&mut self, source_label: &str, row: &ManifestRow) -> Result<(), ExportError> {
        let mut line = serde_json::to_vec(&Entry {
            source: source_label.to_string(),
            row: row.clone(),
        })
        .unwrap_or_default();
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|e| ExportError::Io(e.to_string(), self.path.clone()))
    }

    /// Removes the journal and state (the export is complete).
    pub fn finish(self, dir: &Path) -> Result<(), ExportError> {
        drop(self.file);
        for name in [JOURNAL_FILE, STATE_FILE] {
            let p = dir.join(name);
            std::fs::remove_file(&p).map_err(|e| ExportError::Io(e.to_string(), p))?;
        }
        Ok(())
    }
}

/// A previous, unfinished run of the same export.
pub struct Previous {
    pub dir: PathBuf,
    /// Written files by source label.
    pub done: HashMap<String, ManifestRow>,
}

/// The newest `<out>.incomplete-*` folder whose state matches `state`.
/// Unparsable journal lines (a crash mid-line) are ignored: those files
/// are simply written again.
pub fn find_previous(out: &Path, state: &State) -> Option<Previous> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let prefix = format!("{}.incomplete-", out.file_name()?.to_string_lossy());
    let mut candidates: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&parent)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter_map(|e| {
            let modified = e.metadata().ok()?.modified().ok()?;
            Some((modified, e.path()))
        })
        .collect();
    candidates.sort();
    candidates.into_iter().rev().find_map(|(_, dir)| {
        let text = std::fs::read(dir.join(STATE_FILE)).ok()?;
        let found: State = serde_json::from_slice(&text).ok()?;
        if &found != state {
            return None;
        }
        let file = std::fs::File::open(dir.join(JOURNAL_FILE)).ok()?;
        let done = std::io::BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str::<Entry>(&l).ok())
            .map(|e| (e.source, e.row))
            .collect();
        Some(Previous { dir, done })
    })
}
