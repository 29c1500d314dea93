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

/// Walks `root` like [`walk`], with `io_threads` threads listing folders and
/// stat-ing files concurrently, so that a share whose every call costs a
/// round trip keeps many calls in flight (the calls wait on the network,
/// not on the cores). Entries reach `sink` on the calling thread, in an
/// order that varies from run to run; what the index makes of them does
/// not depend on it. One thread (or fewer) is the sequential walk.
pub(crate) fn walk_parallel(
    root: &Path,
    io_threads: usize,
    low_priority: bool,
    sink: &mut dyn FnMut(Entry) -> bool,
) -> WalkEnd {
    if io_threads <= 1 {
        return walk(root, sink);
    }
    par::walk(root, io_threads, low_priority, sink)
}

mod par {
    use super::{io_kind, mtime_ns, problem, Entry, WalkEnd};
    use crate::model::FileStatus;
    use std::collections::VecDeque;
    use std::ffi::OsString;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::sync::{Condvar, Mutex};

    /// Files stat-ed per task: a folder of thousands of files is spread
    /// over the threads too.
    const STAT_CHUNK: usize = 32;

    enum Task {
        List(PathBuf),
        Stat(PathBuf, Vec<(OsString, fs::FileType)>),
    }

    enum Found {
        Entry(Entry),
        Unlisted(PathBuf),
    }

    #[derive(Default)]
    struct State {
        tasks: VecDeque<Task>,
        /// Tasks taken and not finished (they may add more).
        running: usize,
        stop: bool,
    }

    struct Queue {
        state: Mutex<State>,
        ready: Condvar,
    }

    impl Queue {
        /// The next task, or None when the walk is over (or stopped).
        fn take(&self) -> Option<Task> {
            let mut st = self.state.lock().ok()?;
            loop {
                if st.stop {
                    return None;
                }
                if let Some(t) = st.tasks.pop_front() {
                    st.running += 1;
                    return Some(t);
                }
                if st.running == 0 {
                    self.ready.notify_all();
                    return None;
                }
                st = self.ready.wait(st).ok()?;
            }
        }

        fn done(&self, more: Vec<Task>) {
            if let Ok(mut st) = self.state.lock() {
                st.running -= 1;
                st.tasks.extend(more);
            }
            self.ready.notify_all();
        }

        fn stop(&self) {
            if let Ok(mut st) = self.state.lock() {
                st.stop = true;
            }
            self.ready.notify_all();
        }
    }

    pub(super) fn walk(
        root: &Path,
        io_threads: usize,
        low_priority: bool,
        sink: &mut dyn FnMut(Entry) -> bool,
    ) -> WalkEnd {
        let mut end = WalkEnd::default();
        let queue = Queue {
            state: Mutex::new(State {
                tasks: VecDeque::from([Task::List(PathBuf::new())]),
                ..Default::default()
            }),
            ready: Condvar::new(),
        };
        let (tx, rx) = crossbeam_channel::bounded::<Vec<Found>>(4 * io_threads);
        std::thread::scope(|scope| {
            for i in 0..io_threads {
                let (queue, tx) = (&queue, tx.clone());
                let spawned = std::thread::Builder::new()
                    .name(format!("pacs-walk-{i}"))
                    .spawn_scoped(scope, move || {
                        if low_priority {
                            crate::index::lower_thread_priority();
                        }
                        while let Some(task) = queue.take() {
                            let (found, more) = run(root, task);
                            queue.done(more);
                            if !found.is_empty() && tx.send(found).is_err() {
                                queue.stop();
                            }
                        }
                    });
                if spawned.is_err() && i == 0 {
                    // No thread at all: nothing would ever be listed.
                    queue.stop();
                }
            }
            drop(tx);
            'recv: for batch in rx.iter() {
                for f in batch {
                    match f {
                        Found::Entry(e) => {
                            if !sink(e) {
                                end.stopped = true;
                                queue.stop();
                                break 'recv;
                            }
                        }
                        Found::Unlisted(d) => end.unlisted_dirs.push(d),
                    }
                }
            }
            // Hang up: a worker blocked on a full channel wakes and ends.
            drop(rx);
        });
        end
    }

    /// One task: what it found, and the tasks it makes.
    fn run(root: &Path, task: Task) -> (Vec<Found>, Vec<Task>) {
        let mut found = Vec::new();
        let mut more = Vec::new();
        match task {
            Task::List(dir_rel) => {
                let rd = match fs::read_dir(root.join(&dir_rel)) {
                    Ok(rd) => rd,
                    Err(e) => {
                        if !dir_rel.as_os_str().is_empty() {
                            found.push(Found::Entry(problem(
                                dir_rel.clone(),
                                FileStatus::Unreadable,
                                format!("cannot list folder: {}", io_kind(&e)),
                            )));
                        }
                        found.push(Found::Unlisted(dir_rel));
                        return (found, more);
                    }
                };
                let mut children: Vec<fs::DirEntry> = Vec::new();
                for ent in rd {
                    match ent {
                        Ok(e) => children.push(e),
                        Err(e) => {
                            found.push(Found::Entry(problem(
                                dir_rel.clone(),
                                FileStatus::Unreadable,
                                format!("folder listing failed part-way: {}", io_kind(&e)),
                            )));
                            found.push(Found::Unlisted(dir_rel.clone()));
                            break;
                        }
                    }
                }
                children.sort_by_key(|e| e.file_name());
                let mut files = Vec::new();
                for ent in children {
                    match ent.file_type() {
                        Ok(ft) if ft.is_dir() => {
                            more.push(Task::List(dir_rel.join(ent.file_name())))
                        }
                        Ok(ft) => files.push((ent.file_name(), ft)),
                        Err(e) => found.push(Found::Entry(problem(
                            dir_rel.join(ent.file_name()),
                            FileStatus::Unreadable,
                            format!("cannot stat: {}", io_kind(&e)),
                        ))),
                    }
                }
                while !files.is_empty() {
                    let rest = files.split_off(files.len().min(STAT_CHUNK));
                    more.push(Task::Stat(dir_rel.clone(), files));
                    files = rest;
                }
            }
            Task::Stat(dir_rel, files) => {
                for (name, ft) in files {
                    let rel = dir_rel.join(&name);
                    found.push(Found::Entry(stat(root, rel, ft)));
                }
            }
        }
        (found, more)
    }

    /// What the sequential walk makes of a non-folder entry.
    fn stat(root: &Path, rel: PathBuf, ft: fs::FileType) -> Entry {
        let abs = root.join(&rel);
        // Follows symlinks to learn what the target is.
        let meta = if ft.is_symlink() {
            fs::metadata(&abs)
        } else {
            fs::symlink_metadata(&abs)
        };
        let meta = match meta {
            Ok(m) => m,
            Err(e) => {
                let reason = if ft.is_symlink() {
                    format!("broken symbolic link: {}", io_kind(&e))
                } else {
                    format!("cannot stat: {}", io_kind(&e))
                };
                return problem(rel, FileStatus::Unreadable, reason);
            }
        };
        if meta.is_dir() {
            problem(
                rel,
                FileStatus::SymlinkDir,
                "symbolic link to a folder, not followed (avoids loops); add its target as a root to index it".into(),
            )
        } else if !meta.is_file() {
            problem(
                rel,
                FileStatus::NotDicom,
                "not a regular file (device, pipe or socket)".into(),
            )
        } else {
            Entry {
                rel,
                size_bytes: meta.len(),
                mtime_ns: mtime_ns(&meta),
                problem: None,
            }
        }
    }
}
