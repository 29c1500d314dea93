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

/// What the walk learned besides the entries it handed out.
#[derive(Debug, Default)]
pub(crate) struct WalkEnd {
    /// Folders that could not be listed: files the index holds under them
    /// are kept, not treated as vanished.
    pub unlisted_dirs: Vec<PathBuf>,
    /// The sink asked to stop (cancel).
    pub stopped: bool,
}

/// Walks `root` depth-first, handing every entry to `sink` as it is found
/// (so reading can start before the walk ends). `sink` returns `false` to
/// stop the walk (cancel).
pub(crate) fn walk(root: &Path, sink: &mut dyn FnMut(Entry) -> bool) -> WalkEnd {
    let mut end = WalkEnd::default();
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    macro_rules! emit {
        ($e:expr) => {
            if !sink($e) {
                end.stopped = true;
                return end;
            }
        };
    }
    while let Some(dir_rel) = stack.pop() {
        let dir_abs = root.join(&dir_rel);
        let rd = match fs::read_dir(&dir_abs) {
            Ok(rd) => rd,
            Err(e) => {
                if !dir_rel.as_os_str().is_empty() {
                    emit!(problem(
                        dir_rel.clone(),
                        FileStatus::Unreadable,
                        format!("cannot list folder: {}", io_kind(&e))
                    ));
                }
                end.unlisted_dirs.push(dir_rel);
                continue;
            }
        };
        let mut children: Vec<fs::DirEntry> = Vec::new();
        let mut listing_failed = None;
        for ent in rd {
            match ent {
                Ok(e) => children.push(e),
                Err(e) => {
                    listing_failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = listing_failed {
            emit!(problem(
                dir_rel.clone(),
                FileStatus::Unreadable,
                format!("folder listing failed part-way: {}", io_kind(&e))
            ));
            end.unlisted_dirs.push(dir_rel.clone());
        }
        // Sorted so neighbouring files are read together and runs are reproducible.
        children.sort_by_key(|e| e.file_name());
        for ent in children {
            let rel = dir_rel.join(ent.file_name());
            let ft = match ent.file_type() {
                Ok(ft) => ft,
                Err(e) => {
                    emit!(problem(
                        rel,
                        FileStatus::Unreadable,
                        format!("cannot stat: {}", io_kind(&e))
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
                    emit!(problem(rel, FileStatus::Unreadable, reason));
                    continue;
                }
            };
            if meta.is_dir() {
                emit!(problem(
                    rel,
                    FileStatus::SymlinkDir,
                    "symbolic link to a folder, not followed (avoids loops); add its target as a root to index it".into(),
                ));
            } else if !meta.is_file() {
                emit!(problem(
                    rel,
                    FileStatus::NotDicom,
                    "not a regular file (device, pipe or socket)".into()
                ));
            } else {
                emit!(Entry {
                    rel,
                    size_bytes: meta.len(),
                    mtime_ns: mtime_ns(&meta),
                    problem: None,
                });
            }
        }
    }
    end
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
