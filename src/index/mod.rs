//! Indexing: walk the roots, decide what changed, read headers in parallel
//! (rayon), and write through one writer (batched transactions).
//!
//! Threading: the calling thread is the writer and the progress reporter;
//! a scoped producer thread drives a rayon pool with a known stack size, and
//! results cross a bounded channel (backpressure keeps memory flat).

mod synthetic;
mod walk;

pub use synthetic::build_synthetic_index;

use crate::cancel::CancelToken;
use crate::dicom::{read_header, ReadOutcome};
use crate::model::FileStatus;
use crate::model::{IndexProgress, IndexSummary, StatusCounts};
use crate::store::{self, path_bytes, StoreError, WriteItem, Writer};
use crossbeam_channel::Sender;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Commit at least this often (rows) ...
///
/// UID indexes take random inserts, so each commit rewrites many of their
/// leaf pages into the WAL: too small a batch slows large archives (at 100k
/// files, 2,000-row batches cost 25% of throughput), too large a batch
/// leaves a long serial write after the last parse. 4,096 measured best.
const BATCH_ROWS: usize = 4096;
/// ... or this often (time), whichever comes first. Bounds what a crash can
/// lose and how stale a concurrent reader's counts can be.
const BATCH_TIME: Duration = Duration::from_millis(250);
/// Progress callbacks are throttled to this interval.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Parser threads get a known, generous stack (hostile nesting is capped by
/// the pre-scan; this is the second line of defence).
const PARSER_STACK_BYTES: usize = 16 * 1024 * 1024;

/// Walk threads by default: enough calls in flight to hide a share's
/// round trips (a re-scan on a 1 ms share: 5.5 s with 1, 0.9 s with 32),
/// and no slower on local disk (measured, BENCHMARKS.md).
pub const DEFAULT_IO_THREADS: usize = 16;

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
    /// Threads listing folders and stat-ing files concurrently, independent
    /// of the cores: on a network share each call waits a round trip, so
    /// many in flight hide the latency (default `DEFAULT_IO_THREADS`; 1 is
    /// the sequential walk).
    pub io_threads: Option<usize>,
    /// Run the job's threads at a lower scheduling priority, so that an
    /// interactive UI on the same cores stays smooth (the GUI sets this).
    pub low_priority: bool,
    /// The site (issuer of patient IDs) of the roots being indexed: the
    /// patient key's issuer for files whose header has none. `None` keeps
    /// what each root has; `Some("")` clears it. A change re-reads the
    /// root's files so that their patients are re-keyed.
    pub issuer: Option<String>,
}

/// Lowers the calling thread's scheduling priority (Linux: per-thread nice).
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with who = 0 changes only the calling thread's
    // nice value; it has no memory-safety preconditions.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
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
    if opts.low_priority {
        lower_thread_priority();
    }
    let mut writer = Writer::open(db)?;
    // No commit of this run waits for a checkpoint (one under I/O load
    // took 0.4-0.7 s, measured): a thread of its own does them.
    writer.no_autocheckpoint()?;
    let checkpointer = store::Checkpointer::start(writer.path());
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
        .start_handler({
            let low = opts.low_priority;
            move |_| {
                if low {
                    lower_thread_priority();
                }
            }
        })
        .build()
        .map_err(|e| IndexError::Threads(e.to_string()))?;

    // From here every statement of the writer stops at a cancel (its
    // transaction rolls back), whatever the stage, and no commit waits for
    // a checkpoint (one under I/O load took 0.4-0.7 s, measured).
    writer.interrupt_on(Some(cancel))?;
    let result = (|| -> Result<(), IndexError> {
        for (root, exists) in &resolved {
            if cancel.is_cancelled() {
                break;
            }
            progress.shared.walking.store(true, Ordering::Relaxed);
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
        if !cancel.is_cancelled() {
            // Study facts and text terms, after this run's changes or a
            // cancelled run's (the writer's stale marker says).
            progress.report.phase = "finishing";
            progress.maybe_emit(true, on_progress);
            writer.refresh_derived()?;
        }
        Ok(())
    })();
    // A statement interrupted by the cancel is the cancel, not a failure.
    let result = match result {
        Err(IndexError::Store(StoreError::Interrupted(_))) if cancel.is_cancelled() => Ok(()),
        r => r,
    };
    summary.files_indexed = progress.written;
    summary.cancelled = cancel.is_cancelled();
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    // The run log and the closing counts are written whatever happened.
    let uninterrupted = writer.interrupt_on(None);
    if let Some(c) = checkpointer {
        c.finish(!summary.cancelled);
    }
    if summary.cancelled {
        writer.defer_checkpoints()?;
    }
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
    uninterrupted?;
    summary.status = store::status_counts(writer.conn(), writer.path())?;
    summary.levels = store::level_counts(writer.conn(), writer.path())?;
    summary.patient_conflicts = store::sites::conflict_count(writer.conn(), writer.path())?;
    Ok(summary)
}

/// Progress state shared by the walk thread and the writer (which reports).
#[derive(Default)]
struct Shared {
    files_seen: AtomicU64,
    to_read: AtomicU64,
    walking: AtomicBool,
    folder: Mutex<String>,
}

struct Progress {
    started: Instant,
    last: Instant,
    report: IndexProgress,
    shared: Arc<Shared>,
    /// Files whose outcome this run committed to the index.
    written: u64,
    /// Counts carried over from earlier roots of the same run.
    seen_base: u64,
    to_read_base: u64,
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
            shared: Arc::new(Shared::default()),
            written: 0,
            seen_base: 0,
            to_read_base: 0,
        }
    }

    /// Starts a new pipeline (a root, or a promotion pass).
    fn next_stage(&mut self) {
        self.seen_base = self.report.files_seen;
        self.to_read_base = self.report.to_read;
        self.shared = Arc::new(Shared::default());
    }

    fn maybe_emit(&mut self, force: bool, on_progress: &mut dyn FnMut(&IndexProgress)) {
        let now = Instant::now();
        if force || now.duration_since(self.last) >= PROGRESS_EVERY {
            self.last = now;
            let sh = &self.shared;
            self.report.files_seen = self.seen_base + sh.files_seen.load(Ordering::Relaxed);
            self.report.to_read = self.to_read_base + sh.to_read.load(Ordering::Relaxed);
            self.report.phase = if sh.walking.load(Ordering::Relaxed) {
                "walking"
            } else {
                "reading"
            };
            if let Ok(f) = sh.folder.lock() {
                self.report.current_folder.clone_from(&f);
            }
            self.report.elapsed_seconds = now.duration_since(self.started).as_secs_f64();
            on_progress(&self.report);
        }
    }
}

/// A file the parsers must read.
struct ReadJob {
    rel: PathBuf,
    size_bytes: u64,
    mtime_ns: i64,
    known: bool,
}

/// What the walk of one root found, for the decisions taken after it.
#[derive(Default)]
struct WalkOutcome {
    entries: u64,
    present: HashSet<Vec<u8>>,
    unlisted_dirs: Vec<PathBuf>,
    new: u64,
    changed: u64,
    unchanged: u64,
    retried: u64,
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
    if let (true, Some(issuer)) = (exists, &opts.issuer) {
        // Before the known files are loaded: a changed issuer marks them
        // all for re-reading.
        let id = writer.ensure_root(root)?;
        writer.set_root_issuer(id, issuer.trim())?;
    }
    let known = match writer.root_id(root)? {
        Some(id) => writer.known_files(id)?,
        None => HashMap::new(),
    };
    if !exists {
        if opts.prune {
            if let Some(id) = writer.root_id(root)? {
                let all: Vec<Vec<u8>> = known.keys().cloned().collect();
                summary.removed += all.len() as u64;
                for chunk in all.chunks(BATCH_ROWS) {
                    writer.remove(id, chunk)?;
                }
            }
        } else {
            summary
                .roots_left_untouched
                .push(root.display().to_string());
        }
        return Ok(());
    }
    let root_id = writer.ensure_root(root)?;
    progress.next_stage();
    let shared = progress.shared.clone();
    shared.walking.store(true, Ordering::Relaxed);
    let known_ref = &known;
    // The walk streams into the parsers: reading starts with the first file.
    let walked = pipeline(
        writer,
        pool,
        root,
        root_id,
        cancel,
        progress,
        on_progress,
        move |jobs, items| {
            if opts.low_priority {
                lower_thread_priority();
            }
            let mut out = WalkOutcome::default();
            let io_threads = opts.io_threads.unwrap_or(DEFAULT_IO_THREADS);
            let end = walk::walk_parallel(root, io_threads, opts.low_priority, &mut |e| {
                if cancel.is_cancelled() {
                    return false;
                }
                out.entries += 1;
                if out.entries % 256 == 0 {
                    shared.files_seen.store(out.entries, Ordering::Relaxed);
                    if let (Some(parent), Ok(mut f)) = (e.rel.parent(), shared.folder.lock()) {
                        *f = parent.display().to_string();
                    }
                }
                let key = path_bytes(&e.rel);
                let prev = known_ref.get(&key);
                let same =
                    prev.is_some_and(|p| p.size_bytes == e.size_bytes && p.mtime_ns == e.mtime_ns);
                let retry = opts.retry_failed
                    && prev.is_some_and(|p| p.status != "ok" && p.status != "duplicate");
                match prev {
                    None => out.new += 1,
                    Some(_) if same && !retry => {
                        out.unchanged += 1;
                        out.present.insert(key);
                        return true;
                    }
                    Some(_) if same => out.retried += 1,
                    Some(_) => out.changed += 1,
                }
                out.present.insert(key.clone());
                match e.problem {
                    Some((st, reason)) => items
                        .send(WriteItem {
                            root_id,
                            rel_path: key,
                            size_bytes: e.size_bytes,
                            mtime_ns: e.mtime_ns,
                            known: prev.is_some(),
                            outcome: ReadOutcome::Problem(st, reason),
                        })
                        .is_ok(),
                    None => {
                        shared.to_read.fetch_add(1, Ordering::Relaxed);
                        jobs.send(ReadJob {
                            rel: e.rel,
                            size_bytes: e.size_bytes,
                            mtime_ns: e.mtime_ns,
                            known: prev.is_some(),
                        })
                        .is_ok()
                    }
                }
            });
            out.unlisted_dirs = end.unlisted_dirs;
            shared.files_seen.store(out.entries, Ordering::Relaxed);
            shared.walking.store(false, Ordering::Relaxed);
            out
        },
    )?;
    summary.files_seen += walked.entries;
    summary.new += walked.new;
    summary.changed += walked.changed;
    summary.unchanged += walked.unchanged;
    summary.retried += walked.retried;
    if cancel.is_cancelled() {
        return Ok(());
    }
    if walked.entries == 0 && !known.is_empty() && !opts.prune {
        summary
            .roots_left_untouched
            .push(root.display().to_string());
        return Ok(());
    }
    // Vanished files leave the index, except under folders we could not list.
    let root_unlisted = walked
        .unlisted_dirs
        .iter()
        .any(|d| d.as_os_str().is_empty());
    let unlisted: Vec<Vec<u8>> = walked
        .unlisted_dirs
        .iter()
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| {
            let mut b = path_bytes(d);
            b.push(b'/');
            b
        })
        .collect();
    if !root_unlisted {
        let vanished: Vec<Vec<u8>> = known
            .keys()
            .filter(|k| !walked.present.contains(*k) && !unlisted.iter().any(|u| k.starts_with(u)))
            .cloned()
            .collect();
        summary.removed += vanished.len() as u64;
        for chunk in vanished.chunks(BATCH_ROWS) {
            writer.remove(root_id, chunk)?;
        }
    }

    // Copies whose canonical file vanished or changed are promoted now.
    for _ in 0..3 {
        if cancel.is_cancelled() {
            break;
        }
        let pending = writer.pending_files(root_id)?;
        if pending.is_empty() {
            break;
        }
        summary.retried += pending.len() as u64;
        progress.next_stage();
        let shared = progress.shared.clone();
        pipeline(
            writer,
            pool,
            root,
            root_id,
            cancel,
            progress,
            on_progress,
            move |jobs, _items| {
                for rel in pending {
                    if cancel.is_cancelled() {
                        break;
                    }
                    let rel = store::bytes_path(&rel);
                    let Ok(meta) = std::fs::metadata(root.join(&rel)) else {
                        continue;
                    };
                    shared.to_read.fetch_add(1, Ordering::Relaxed);
                    let job = ReadJob {
                        rel,
                        size_bytes: meta.len(),
                        mtime_ns: walk::mtime_ns(&meta),
                        known: true,
                    };
                    if jobs.send(job).is_err() {
                        break;
                    }
                }
            },
        )?;
    }
    Ok(())
}

/// Runs `feed` (on its own thread) to produce read jobs and recorded items,
/// reads the jobs in the rayon pool, and writes everything from the calling
/// thread in batches. Returns what `feed` returned.
#[allow(clippy::too_many_arguments)]
fn pipeline<R: Send>(
    writer: &mut Writer,
    pool: &rayon::ThreadPool,
    root: &Path,
    root_id: i64,
    cancel: &CancelToken,
    progress: &mut Progress,
    on_progress: &mut dyn FnMut(&IndexProgress),
    feed: impl FnOnce(&Sender<ReadJob>, &Sender<WriteItem>) -> R + Send,
) -> Result<R, IndexError> {
    use rayon::prelude::*;
    let (job_tx, job_rx) = crossbeam_channel::bounded::<ReadJob>(8192);
    let (item_tx, item_rx) = crossbeam_channel::bounded::<WriteItem>(4096);
    // Set when the writer fails, so the parsers stop without touching the
    // caller's cancel token (a failure is not a cancellation).
    let writer_failed = AtomicBool::new(false);
    let writer_failed = &writer_failed;
    std::thread::scope(|scope| -> Result<R, IndexError> {
        let feeder_items = item_tx.clone();
        let feeder = std::thread::Builder::new()
            .name("pacs-index-walk".into())
            .spawn_scoped(scope, move || {
                let r = feed(&job_tx, &feeder_items);
                drop(job_tx);
                drop(feeder_items);
                r
            })
            .map_err(|e| IndexError::Threads(e.to_string()))?;
        let producer = std::thread::Builder::new()
            .name("pacs-index-producer".into())
            .spawn_scoped(scope, move || {
                pool.install(|| {
                    job_rx
                        .into_iter()
                        .par_bridge()
                        .for_each_with(item_tx, |tx, job| {
                            if cancel.is_cancelled() || writer_failed.load(Ordering::Relaxed) {
                                return;
                            }
                            let outcome = read_header(&root.join(&job.rel));
                            // The writer only hangs up on error; then stop quietly.
                            let _ = tx.send(WriteItem {
                                root_id,
                                rel_path: path_bytes(&job.rel),
                                size_bytes: job.size_bytes,
                                mtime_ns: job.mtime_ns,
                                known: job.known,
                                outcome,
                            });
                        });
                });
            })
            .map_err(|e| IndexError::Threads(e.to_string()))?;
        let mut batch: Vec<WriteItem> = Vec::with_capacity(BATCH_ROWS);
        let mut batch_started = Instant::now();
        let mut result: Result<(), IndexError> = Ok(());
        loop {
            if cancel.is_cancelled() {
                // What is queued or batched stays unwritten: the index keeps
                // what was committed, and a cancel takes effect at once.
                batch.clear();
                break;
            }
            match item_rx.recv_timeout(Duration::from_millis(20)) {
                Ok(item) => {
                    if batch.is_empty() {
                        batch_started = Instant::now();
                    }
                    let st = match &item.outcome {
                        ReadOutcome::Instance(_) => FileStatus::Ok,
                        ReadOutcome::Problem(st, _) => *st,
                    };
                    progress.report.status.add(st, 1);
                    progress.report.read += 1;
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
                    writer_failed.store(true, Ordering::Relaxed);
                    break;
                }
                progress.written += batch.len() as u64;
                batch.clear();
            }
            progress.maybe_emit(false, on_progress);
        }
        // Hang up so blocked senders wake and end; drain what remains unread.
        drop(item_rx);
        let fed = feeder
            .join()
            .map_err(|_| IndexError::Threads("walk thread panicked".into()));
        let _ = producer.join();
        result?;
        let fed = fed?;
        if !batch.is_empty() && !cancel.is_cancelled() {
            writer.apply(&batch)?;
            progress.written += batch.len() as u64;
        }
        progress.maybe_emit(true, on_progress);
        Ok(fed)
    })
}

/// Indexes a few known files under `root` (registered if new) without a
/// walk: files that just arrived (a retrieval), read on the calling
/// thread and written in one transaction. Returns how many became
/// instances (the rest are recorded with their status, as in a run).
pub fn add_files(db: &Path, root: &Path, files: &[PathBuf]) -> Result<u64, IndexError> {
    let mut writer = Writer::open(db)?;
    let root_id = writer.ensure_root(root)?;
    let known = writer.known_files(root_id)?;
    let mut items = Vec::with_capacity(files.len());
    let mut instances = 0;
    for f in files {
        let Ok(rel) = f.strip_prefix(root) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(f) else {
            continue;
        };
        let outcome = read_header(f);
        if matches!(outcome, ReadOutcome::Instance(_)) {
            instances += 1;
        }
        let rel = path_bytes(rel);
        items.push(WriteItem {
            known: known.contains_key(&rel),
            root_id,
            rel_path: rel,
            size_bytes: meta.len(),
            mtime_ns: walk::mtime_ns(&meta),
            outcome,
        });
    }
    writer.apply(&items)?;
    writer.refresh_derived()?;
    Ok(instances)
}
