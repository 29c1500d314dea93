//! Indexing: walk the roots, decide what changed, read headers in parallel
//! (rayon), and write through one writer (batched transactions).
//!
//! Threading: the calling thread is the writer and the progress reporter;
//! a scoped producer thread drives a rayon pool with a known stack size, and
//! results cross a bounded channel (backpressure keeps memory flat).

mod walk;

use crate::dicom::{read_header, ReadOutcome};
use crate::engine::CancelToken;
use crate::model::{IndexProgress, IndexSummary, StatusCounts};
use crate::store::{self, path_bytes, StoreError, WriteItem, Writer};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Commit at least this often (rows) ...
const BATCH_ROWS: usize = 2000;
/// ... or this often (time), whichever comes first.
const BATCH_TIME: Duration = Duration::from_millis(250);
/// Progress callbacks are throttled to this interval.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Parser threads get a known, generous stack (hostile nesting is capped by
/// the pre-scan; this is the second line of defence).
const PARSER_STACK_BYTES: usize = 16 * 1024 * 1024;

/// Options of an index run.
#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    /// Re-read every file whose status is not `ok` (besides changed ones).
    pub retry_failed: bool,
    /// Drop the files of roots that are missing or empty (by default they
    /// are kept: an unmounted share must not wipe the index).
    pub prune: bool,
    /// Parser threads (default: available cores).
    pub threads: Option<usize>,
}

/// Why an index run could not proceed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("folder does not exist or is not a folder; check the path (or mount the share): {0}")]
    RootMissing(PathBuf),
    #[error("cannot start parser threads: {0}")]
    Threads(String),
}

/// Runs one index job to completion (or cancellation).
pub fn run(
    db: &Path,
    roots: &[PathBuf],
    opts: &IndexOptions,
    cancel: &CancelToken,
    on_progress: &mut dyn FnMut(&IndexProgress),
) -> Result<IndexSummary, IndexError> {
    let started = Instant::now();
    let mut writer = Writer::open(db)?;
    // Resolve roots first so a typo fails before anything is written.
    let mut resolved: Vec<(PathBuf, bool)> = Vec::new();
    for root in roots {
        let abs = std::path::absolute(root).unwrap_or_else(|_| root.clone());
        match std::fs::canonicalize(&abs) {
            Ok(p) if p.is_dir() => resolved.push((p, true)),
            _ => {
                if writer.root_id(&abs)?.is_some() {
                    resolved.push((abs, false));
                } else {
                    return Err(IndexError::RootMissing(abs));
                }
            }
        }
    }
    let roots_text = resolved
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let run_id = writer.start_run(&roots_text)?;
    let mut summary = IndexSummary {
        run_id,
        roots: resolved
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect(),
        ..Default::default()
    };
    let mut progress = Progress::new(started);
    let threads = opts.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(PARSER_STACK_BYTES)
        .thread_name(|i| format!("pacs-parse-{i}"))
        .build()
        .map_err(|e| IndexError::Threads(e.to_string()))?;

    let result = (|| -> Result<(), IndexError> {
        for (root, exists) in &resolved {
            if cancel.is_cancelled() {
                break;
            }
            index_root(
                &mut writer,
                &pool,
                root,
                *exists,
                opts,
                cancel,
                &mut summary,
                &mut progress,
                on_progress,
            )?;
        }
        Ok(())
    })();
    summary.cancelled = cancel.is_cancelled();
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    let outcome = match (&result, summary.cancelled) {
        (Err(_), _) => "failed",
        (Ok(()), true) => "cancelled",
        (Ok(()), false) => "done",
    };
    // Best effort: the run log must not hide the real error.
    let logged = writer.finish_run(
        run_id,
        outcome,
        summary.files_seen,
        summary.new,
        summary.changed,
        summary.unchanged,
        summary.removed,
        summary.elapsed_seconds,
    );
    result?;
    logged?;
    summary.status = store::status_counts(writer.conn(), writer.path())?;
    summary.levels = store::level_counts(writer.conn(), writer.path())?;
    Ok(summary)
}

struct Progress {
    started: Instant,
    last: Instant,
    report: IndexProgress,
}

impl Progress {
    fn new(started: Instant) -> Self {
        Progress {
            started,
            last: started - PROGRESS_EVERY,
            report: IndexProgress {
                phase: "walking",
                status: StatusCounts::zeroed(),
                ..Default::default()
            },
        }
    }
    fn maybe_emit(&mut self, force: bool, on_progress: &mut dyn FnMut(&IndexProgress)) {
        let now = Instant::now();
        if force || now.duration_since(self.last) >= PROGRESS_EVERY {
            self.last = now;
            self.report.elapsed_seconds = now.duration_since(self.started).as_secs_f64();
            on_progress(&self.report);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn index_root(
    writer: &mut Writer,
    pool: &rayon::ThreadPool,
    root: &Path,
    exists: bool,
    opts: &IndexOptions,
    cancel: &CancelToken,
    summary: &mut IndexSummary,
    progress: &mut Progress,
    on_progress: &mut dyn FnMut(&IndexProgress),
) -> Result<(), IndexError> {
    let known_root = writer.root_id(root)?;
    let known = match known_root {
        Some(id) => writer.known_files(id)?,
        None => HashMap::new(),
    };
    progress.report.phase = "walking";
    let seen_before = progress.report.files_seen;
    let walk = if exists {
        walk::walk(root, &mut |n, dir| {
            progress.report.files_seen = seen_before + n;
            progress.report.current_folder = dir.display().to_string();
            progress.maybe_emit(false, on_progress);
            !cancel.is_cancelled()
        })
    } else {
        walk::Walk::default()
    };
    if cancel.is_cancelled() {
        return Ok(());
    }
    summary.files_seen += walk.entries.len() as u64;
    if walk.entries.is_empty() && !known.is_empty() && !opts.prune {
        summary
            .roots_left_untouched
            .push(root.display().to_string());
        return Ok(());
    }
    if !exists && !opts.prune {
        summary
            .roots_left_untouched
            .push(root.display().to_string());
        return Ok(());
    }
    let root_id = writer.ensure_root(root)?;

    // Classify.
    let mut present: HashSet<Vec<u8>> = HashSet::with_capacity(walk.entries.len());
    let mut to_read: Vec<(walk::Entry, bool)> = Vec::new();
    let mut recorded: Vec<WriteItem> = Vec::new();
    for e in walk.entries {
        let key = path_bytes(&e.rel);
        let prev = known.get(&key);
        present.insert(key.clone());
        let unchanged = prev.is_some_and(|p| {
            p.size_bytes == e.size_bytes
                && p.mtime_ns == e.mtime_ns
                && !(opts.retry_failed && p.status != "ok" && p.status != "duplicate")
        });
        match prev {
            None => summary.new += 1,
            Some(_) if unchanged => {
                summary.unchanged += 1;
                continue;
            }
            Some(p) if p.size_bytes == e.size_bytes && p.mtime_ns == e.mtime_ns => {
                summary.retried += 1
            }
            Some(_) => summary.changed += 1,
        }
        match e.problem.clone() {
            Some((st, reason)) => recorded.push(WriteItem {
                root_id,
                rel_path: key,
                size_bytes: e.size_bytes,
                mtime_ns: e.mtime_ns,
                known: prev.is_some(),
                outcome: ReadOutcome::Problem(st, reason),
            }),
            None => to_read.push((e, prev.is_some())),
        }
    }
    // Vanished files leave the index, except under folders we could not list.
    let unlisted: Vec<Vec<u8>> = walk
        .unlisted_dirs
        .iter()
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| {
            let mut b = path_bytes(d);
            b.push(b'/');
            b
        })
        .collect();
    let root_unlisted = walk.unlisted_dirs.iter().any(|d| d.as_os_str().is_empty());
    let vanished: Vec<Vec<u8>> = if root_unlisted {
        Vec::new()
    } else {
        known
            .keys()
            .filter(|k| !present.contains(*k) && !unlisted.iter().any(|u| k.starts_with(u)))
            .cloned()
            .collect()
    };
    summary.removed += vanished.len() as u64;
    for chunk in vanished.chunks(BATCH_ROWS) {
        writer.remove(root_id, chunk)?;
    }
    writer.apply(&recorded)?;
    for item in &recorded {
        if let ReadOutcome::Problem(st, _) = &item.outcome {
            progress.report.status.add(*st, 1);
        }
    }
    // Largest folders first would be nicer for ETA; path order keeps
    // neighbouring files together, which the page cache likes.
    to_read.sort_by(|a, b| a.0.rel.cmp(&b.0.rel));
    progress.report.phase = "reading";
    progress.report.to_read += to_read.len() as u64;
    read_and_write(
        writer,
        pool,
        root,
        root_id,
        to_read,
        cancel,
        progress,
        on_progress,
    )?;

    // Copies whose canonical file vanished or changed are promoted now.
    for _ in 0..3 {
        if cancel.is_cancelled() {
            break;
        }
        let pending = writer.pending_files(root_id)?;
        if pending.is_empty() {
            break;
        }
        let entries: Vec<(walk::Entry, bool)> = pending
            .into_iter()
            .filter_map(|rel| {
                let rel = store::bytes_path(&rel);
                let meta = std::fs::metadata(root.join(&rel)).ok()?;
                Some((
                    walk::Entry {
                        rel,
                        size_bytes: meta.len(),
                        mtime_ns: walk::mtime_ns(&meta),
                        problem: None,
                    },
                    true,
                ))
            })
            .collect();
        summary.retried += entries.len() as u64;
        progress.report.to_read += entries.len() as u64;
        read_and_write(
            writer,
            pool,
            root,
            root_id,
            entries,
            cancel,
            progress,
            on_progress,
        )?;
    }
    progress.report.phase = "finishing";
    progress.maybe_emit(true, on_progress);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn read_and_write(
    writer: &mut Writer,
    pool: &rayon::ThreadPool,
    root: &Path,
    root_id: i64,
    entries: Vec<(walk::Entry, bool)>,
    cancel: &CancelToken,
    progress: &mut Progress,
    on_progress: &mut dyn FnMut(&IndexProgress),
) -> Result<(), IndexError> {
    use rayon::prelude::*;
    if entries.is_empty() {
        return Ok(());
    }
    let (tx, rx) = crossbeam_channel::bounded::<WriteItem>(4096);
    // Set when the writer fails, so the parsers stop without touching the
    // caller's cancel token (a failure is not a cancellation).
    let writer_failed = std::sync::atomic::AtomicBool::new(false);
    let writer_failed = &writer_failed;
    std::thread::scope(|scope| -> Result<(), IndexError> {
        let producer = std::thread::Builder::new()
            .name("pacs-index-producer".into())
            .spawn_scoped(scope, move || {
                pool.install(|| {
                    entries.into_par_iter().for_each_with(tx, |tx, (e, known)| {
                        if cancel.is_cancelled()
                            || writer_failed.load(std::sync::atomic::Ordering::Relaxed)
                        {
                            return;
                        }
                        let outcome = read_header(&root.join(&e.rel));
                        let item = WriteItem {
                            root_id,
                            rel_path: path_bytes(&e.rel),
                            size_bytes: e.size_bytes,
                            mtime_ns: e.mtime_ns,
                            known,
                            outcome,
                        };
                        // The writer only hangs up on error; then stop quietly.
                        let _ = tx.send(item);
                    });
                });
            })
            .map_err(|e| IndexError::Threads(e.to_string()))?;
        let mut batch: Vec<WriteItem> = Vec::with_capacity(BATCH_ROWS);
        let mut batch_started = Instant::now();
        let mut result = Ok(());
        loop {
            let msg = rx.recv_timeout(Duration::from_millis(50));
            match msg {
                Ok(item) => {
                    if batch.is_empty() {
                        batch_started = Instant::now();
                    }
                    let st = match &item.outcome {
                        ReadOutcome::Instance(_) => crate::model::FileStatus::Ok,
                        ReadOutcome::Problem(st, _) => *st,
                    };
                    progress.report.status.add(st, 1);
                    progress.report.read += 1;
                    if let Some(parent) = store::bytes_path(&item.rel_path).parent() {
                        if progress.report.read % 64 == 0 {
                            progress.report.current_folder = parent.display().to_string();
                        }
                    }
                    batch.push(item);
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            }
            if !batch.is_empty()
                && (batch.len() >= BATCH_ROWS || batch_started.elapsed() >= BATCH_TIME)
            {
                if let Err(e) = writer.apply(&batch) {
                    result = Err(e.into());
                    writer_failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    break;
                }
                batch.clear();
            }
            progress.maybe_emit(false, on_progress);
        }
        // Drop the receiver so a blocked producer wakes up and ends.
        drop(rx);
        let _ = producer.join();
        if result.is_ok() && !batch.is_empty() {
            writer.apply(&batch)?;
        }
        progress.maybe_emit(true, on_progress);
        result
    })
}
