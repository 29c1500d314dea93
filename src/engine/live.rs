//! The column engine kept ready for a workspace (issue 17): built from
//! SQLite on a background thread when the app opens a workspace, dropped
//! when the index, linked EHR data, reports, findings or features change
//! (the engine's own writes say so; other processes' commits are noticed
//! by `store::watch` at the next count), then rebuilt. Until it is ready,
//! or if building failed, counts go to SQLite: callers always get an
//! answer and learn which evaluator gave it.

use super::{Engine, EngineError};
use crate::colengine::ColumnEngine;
use crate::store::watch::Watch;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Which evaluator answered a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Evaluator {
    /// The in-memory column engine.
    Memory,
    /// The SQL path (the reference).
    Sqlite,
}

impl Evaluator {
    /// The label shown beside a count.
    pub fn label(self) -> &'static str {
        match self {
            Evaluator::Memory => "memory",
            Evaluator::Sqlite => "SQLite",
        }
    }
}

/// Which evaluator a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvaluatorChoice {
    /// The column engine when it is ready, else SQLite.
    #[default]
    Auto,
    /// The column engine, built now if it is not ready (one-shot callers).
    Memory,
    /// Always SQLite.
    Sqlite,
}

/// What the background builder is doing, for a status line.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnEngineState {
    /// Not started for this workspace (the CLI, until asked).
    Off,
    Building,
    Ready {
        built_in: Duration,
        approx_bytes: usize,
    },
    /// Building failed; counts go to SQLite.
    Failed(String),
}

type Wake = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct Inner {
    /// Build in the background (and again after each change).
    enabled: bool,
    /// Bumped by every change; a build started before it is discarded.
    generation: u64,
    ready: Option<(Arc<ColumnEngine>, Watch)>,
    building: bool,
    failed: Option<String>,
    wake: Option<Wake>,
}

/// Shared by an `Engine` and its clones (the GUI's workers).
#[derive(Default)]
pub(crate) struct ColumnSlot {
    inner: Mutex<Inner>,
    /// Whether an engine is held, readable without the lock (the UI thread
    /// asks every frame; the lock may be held during a staleness check).
    ready: AtomicBool,
}

impl std::fmt::Debug for ColumnSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ColumnSlot")
    }
}

impl ColumnSlot {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind: go on.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The engine and a watch on the state it was built from.
fn build(db: &std::path::Path) -> Result<(ColumnEngine, Watch), String> {
    // The watch first: a commit while the columns are read shows as a
    // change at the next count, never as a stale answer.
    let watch = Watch::open(db).map_err(|e| e.to_string())?;
    let engine = ColumnEngine::build(db).map_err(|e| e.to_string())?;
    Ok((engine, watch))
}

impl Engine {
    /// Builds the column engine on a background thread now and again after
    /// every change, calling `wake` when one is ready (the app calls this
    /// when a workspace opens).
    pub fn start_column_engine(&self, wake: Arc<dyn Fn() + Send + Sync>) {
        {
            let mut g = self.columns.lock();
            g.enabled = true;
            g.wake = Some(wake);
        }
        self.kick_column_build();
    }

    /// Whether the column engine is ready (never blocks: for the UI).
    pub fn column_engine_ready(&self) -> bool {
        self.columns.ready.load(Ordering::Acquire)
    }

    /// What the column engine is doing.
    pub fn column_engine_state(&self) -> ColumnEngineState {
        let g = self.columns.lock();
        if let Some((e, _)) = &g.ready {
            ColumnEngineState::Ready {
                built_in: e.built_in(),
                approx_bytes: e.approx_bytes(),
            }
        } else if let Some(why) = &g.failed {
            ColumnEngineState::Failed(why.clone())
        } else if g.building {
            ColumnEngineState::Building
        } else {
            ColumnEngineState::Off
        }
    }

    /// The workspace's indexed or linked data changed: the engine held is
    /// stale; it is dropped (SQLite answers) and rebuilt if enabled.
    pub(crate) fn columns_changed(&self) {
        {
            let mut g = self.columns.lock();
            g.generation += 1;
            g.ready = None;
            g.failed = None;
            self.columns.ready.store(false, Ordering::Release);
        }
        self.kick_column_build();
    }

    /// The ready engine, if it still matches the workspace.
    pub(crate) fn ready_columns(&self) -> Option<Arc<ColumnEngine>> {
        let stale = {
            let mut g = self.columns.lock();
            let (engine, watch) = g.ready.as_mut()?;
            match watch.changed() {
                Ok(false) => return Some(engine.clone()),
                // A change, or a watch that cannot tell: rebuild.
                Ok(true) | Err(_) => true,
            }
        };
        if stale {
            self.columns_changed();
        }
        None
    }

    /// The ready engine, or one built now on the calling thread (and kept
    /// if nothing changed meanwhile).
    pub(crate) fn columns_now(&self) -> Result<Arc<ColumnEngine>, EngineError> {
        if let Some(e) = self.ready_columns() {
            return Ok(e);
        }
        let generation = self.columns.lock().generation;
        let (engine, watch) = build(&self.db).map_err(|e| {
            EngineError::Store(crate::store::StoreError::Other {
                message: format!("cannot build the in-memory column engine: {e}"),
                path: self.db.clone(),
            })
        })?;
        let engine = Arc::new(engine);
        let mut g = self.columns.lock();
        if g.generation == generation && g.ready.is_none() {
            g.ready = Some((engine.clone(), watch));
            self.columns.ready.store(true, Ordering::Release);
        }
        Ok(engine)
    }

    fn kick_column_build(&self) {
        {
            let mut g = self.columns.lock();
            if !g.enabled || g.building || g.ready.is_some() || g.failed.is_some() {
                return;
            }
            g.building = true;
        }
        let slot = self.columns.clone();
        let db: PathBuf = self.db.clone();
        let spawned = std::thread::Builder::new()
            .name("pacs-columns".into())
            .spawn(move || loop {
                let generation = slot.lock().generation;
                let built = build(&db);
                let mut g = slot.lock();
                if g.generation != generation {
                    // Changed while reading: read again.
                    continue;
                }
                match built {
                    Ok((e, w)) => {
                        g.ready = Some((Arc::new(e), w));
                        slot.ready.store(true, Ordering::Release);
                    }
                    Err(why) => g.failed = Some(why),
                }
                g.building = false;
                let wake = g.wake.clone();
                drop(g);
                if let Some(w) = wake {
                    w();
                }
                return;
            });
        if let Err(e) = spawned {
            let mut g = self.columns.lock();
            g.building = false;
            g.failed = Some(format!("cannot start the column engine's thread: {e}"));
        }
    }
}

/// Tells the column engine that the workspace changed when dropped, so a
/// writer marks it at every exit, after its commit (`let _changes =
/// self.changes_columns();`).
pub(crate) struct ChangesColumns<'a>(&'a Engine);

impl Drop for ChangesColumns<'_> {
    fn drop(&mut self) {
        self.0.columns_changed();
    }
}

impl Engine {
    /// A guard for a method that writes what the column engine holds.
    pub(crate) fn changes_columns(&self) -> ChangesColumns<'_> {
        ChangesColumns(self)
    }
}
