//! Walking a root: every entry becomes a file to read or a recorded problem.
//! Symlinks to files are followed; symlinks to folders are not (no loops).

use crate::model::FileStatus;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// One entry found by the walk.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Path relative to the root.
    pub rel: PathBuf,
    pub size_bytes: u64,
    pub mtime_ns: i64,
    /// `None`: a regular file to read. `Some`: recorded without reading.
    pub problem: Option<(FileStatus, String)>,
}

/// The result of walking one root.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub entries: Vec<Entry>,
    /// Folders that could not be listed: files the index holds under them
    /// are kept, not treated as vanished.
    pub unlisted_dirs: Vec<PathBuf>,
}

/// Walks `root` depth-first. `tick` is called every few hundred entries with
/// the count so far and the current folder (relative); returning `false`
/// stops the walk (cancel).
pub(crate) fn walk(root: &Path, tick: &mut dyn FnMut(u64, &Path) -> bool) -> Walk {
    let mut out = Walk::default();
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(dir_rel) = stack.pop() {
        let dir_abs = root.join(&dir_rel);
        let rd = match fs::read_dir(&dir_abs) {
            Ok(rd) => rd,
            Err(e) => {
                if !dir_rel.as_os_str().is_empty() {
                    out.entries.push(problem(
                        dir_rel.clone(),
                        FileStatus::Unreadable,
                        format!("cannot list folder: {}", io_kind(&e)),
                    ));
                }
                out.unlisted_dirs.push(dir_rel);
                continue;
            }
        };
        let mut children: Vec<fs::DirEntry> = Vec::new();
        for ent in rd {
            match ent {
                Ok(e) => children.push(e),
                Err(e) => {
                    out.entries.push(problem(
                        dir_rel.clone(),
                        FileStatus::Unreadable,
                        format!("folder listing failed part-way: {}", io_kind(&e)),
                    ));
                    out.unlisted_dirs.push(dir_rel.clone());
                    break;
                }
            }
        }
        for ent in children {
            let rel = dir_rel.join(ent.file_name());
            let ft = match ent.file_type() {
                Ok(ft) => ft,
                Err(e) => {
                    out.entries.push(problem(
                        rel,
                        FileStatus::Unreadable,
                        format!("cannot stat: {}", io_kind(&e)),
                    ));
                    continue;
                }
            };
            if ft.is_dir() {
                stack.push(rel);
                continue;
            }
            // Follows symlinks to learn what the target is.
            let meta = if ft.is_symlink() {
                fs::metadata(ent.path())
            } else {
                ent.metadata()
            };
            let meta = match meta {
                Ok(m) => m,
                Err(e) => {
                    let reason = if ft.is_symlink() {
                        format!("broken symbolic link: {}", io_kind(&e))
                    } else {
                        format!("cannot stat: {}", io_kind(&e))
                    };
                    out.entries
                        .push(problem(rel, FileStatus::Unreadable, reason));
                    continue;
                }
            };
            if meta.is_dir() {
                out.entries.push(problem(
                    rel,
                    FileStatus::SymlinkDir,
                    "symbolic link to a folder, not followed (avoids loops); add its target as a root to index it".into(),
                ));
            } else if !meta.is_file() {
                out.entries.push(problem(
                    rel,
                    FileStatus::NotDicom,
                    "not a regular file (device, pipe or socket)".into(),
                ));
            } else {
                out.entries.push(Entry {
                    rel,
                    size_bytes: meta.len(),
                    mtime_ns: mtime_ns(&meta),
                    problem: None,
                });
            }
            if out.entries.len() % 512 == 0 && !tick(out.entries.len() as u64, &dir_rel) {
                return out;
            }
        }
    }
    tick(out.entries.len() as u64, Path::new(""));
    out
}

fn problem(rel: PathBuf, st: FileStatus, reason: String) -> Entry {
    Entry {
        rel,
        size_bytes: 0,
        mtime_ns: 0,
        problem: Some((st, reason)),
    }
}

/// Modification time in nanoseconds since the epoch (0 when unknown).
pub(crate) fn mtime_ns(meta: &fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn io_kind(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::NotFound => "not found".into(),
        _ => e.to_string(),
    }
}
