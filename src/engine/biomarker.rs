//! The emphysema index over the chest CT series of a saved cohort, in the
//! background: series one after another, each series' slices decoded and
//! summarised in parallel (rayon), progress per slice, cancel between
//! slices, resume (a series computed with the same method version from
//! files of the same size and mtime is not computed again), and failures
//! stored with their reason.

use super::job::{self, JobHandle};
use super::{CancelToken, Engine, EngineError};
use crate::biomarker::{
    self, emphysema, EmphysemaError, EmphysemaResult, FeatureRecord, SliceHeader, EMPHYSEMA,
    METHOD_VERSION,
};
use crate::model::{InstanceRef, Rule};
use crate::store;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Where an emphysema job is.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EmphysemaProgress {
    /// Chest CT series of the cohort.
    pub series_total: u64,
    /// Series finished (computed, resumed or failed).
    pub series_done: u64,
    /// Slices decoded in the series being computed, of how many.
    pub slices_done: u64,
    pub slices_total: u64,
    /// Stored pixel bytes decoded so far.
    pub pixel_bytes: u64,
}

/// A series without a result, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesFailure {
    /// Left out in aggregate-only mode.
    pub series_uid: Option<String>,
    /// A stable code: too_few_slices, inconsistent_spacing,
    /// inconsistent_geometry, too_large, undecodable, no_lung, changed.
    pub kind: String,
    pub reason: String,
}

/// What an emphysema job did.
#[derive(Debug, Clone, Serialize)]
pub struct EmphysemaReport {
    pub cohort: String,
    pub method_version: String,
    /// Which series were taken as chest CT.
    pub selection_rule: String,
    pub laa_rule: String,
    pub chest_ct_series: u64,
    pub computed: u64,
    /// Already computed from the same files with this method version.
    pub resumed: u64,
    pub failed: Vec<SeriesFailure>,
    pub cancelled: bool,
    /// Stored pixel data decoded (rows x columns x bits allocated / 8 per
    /// slice) and the wall time, for throughput.
    pub pixel_bytes: u64,
    pub seconds: f64,
    /// The series computed now, with their results (series UIDs left out
    /// in aggregate-only mode).
    pub results: Vec<(Option<String>, EmphysemaResult)>,
}

/// The selection rule in words (what `biomarker::CHEST_CT_SQL` does).
pub const CHEST_CT_RULE: &str = "Modality CT, and Body Part Examined CHEST, LUNG or THORAX, or the word chest, lung(s), thorax or thoracic in the series description, protocol name or study description";

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Opens a file whole: the fast path, else the index's tolerant reader.
fn open(path: &Path, header_only: bool) -> Result<DefaultDicomObject, String> {
    let opts = dicom_object::OpenFileOptions::new();
    let opts = if header_only {
        opts.read_until(tags::PIXEL_DATA)
    } else {
        opts
    };
    match opts.open_file(path) {
        Ok(o) => Ok(o),
        Err(_) => crate::dicom::read_whole(path),
    }
}

fn numbers(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|t| {
            t.split('\\')
                .filter_map(|v| v.trim().trim_end_matches('\0').parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn header(obj: &DefaultDicomObject) -> SliceHeader {
    let one = |tag| numbers(obj, tag).first().copied();
    let spacing = numbers(obj, tags::PIXEL_SPACING);
    let position = numbers(obj, tags::IMAGE_POSITION_PATIENT);
    let orientation = numbers(obj, tags::IMAGE_ORIENTATION_PATIENT);
    SliceHeader {
        rows: one(tags::ROWS).unwrap_or(0.0) as u32,
        columns: one(tags::COLUMNS).unwrap_or(0.0) as u32,
        frames: one(tags::NUMBER_OF_FRAMES).unwrap_or(1.0).max(1.0) as u32,
        pixel_spacing: (spacing.len() == 2).then(|| [spacing[0], spacing[1]]),
        position: (position.len() == 3).then(|| [position[0], position[1], position[2]]),
        orientation: (orientation.len() == 6).then(|| {
            let mut o = [0.0; 6];
            o.copy_from_slice(&orientation);
            o
        }),
        thickness: one(tags::SLICE_THICKNESS),
    }
}

/// One series' outcome.
enum SeriesOutcome {
    /// The result and the stored pixel bytes decoded.
    Computed(EmphysemaResult, u64),
    Failed(String, String),
    Cancelled,
}

impl Engine {
    /// Computes the emphysema index (%LAA-950, Perc15, lung volume) of the
    /// chest CT series of a saved cohort's latest revision and stores them
    /// as series features. Series already computed from unchanged files
    /// are skipped; cancelling keeps every series finished so far.
    pub fn compute_emphysema(
        &self,
        cohort_name: &str,
        cancel: &CancelToken,
        progress: &mut dyn FnMut(EmphysemaProgress),
    ) -> Result<EmphysemaReport, EngineError> {
        let started = std::time::Instant::now();
        let row_level = !self.privacy()?.aggregate_only;
        let saved = self.cohort(cohort_name, None)?;
        let series = {
            let conn = store::open_ro(&self.db)?;
            let rules: Vec<&Rule> = saved.spec.rules.iter().collect();
            store::biomarker::chest_ct_series(
                &conn,
                &self.db,
                &crate::cohort::compile(&saved.spec, &rules),
            )?
        };
        let mut report = EmphysemaReport {
            cohort: saved.name.clone(),
            method_version: METHOD_VERSION.into(),
            selection_rule: CHEST_CT_RULE.into(),
            laa_rule: format!("HU < {}", emphysema::LAA_BELOW_HU),
            chest_ct_series: series.len() as u64,
            computed: 0,
            resumed: 0,
            failed: Vec::new(),
            cancelled: false,
            pixel_bytes: 0,
            seconds: 0.0,
            results: Vec::new(),
        };
        let mut state = EmphysemaProgress {
            series_total: series.len() as u64,
            ..Default::default()
        };
        progress(state.clone());
        let _changes = self.changes_columns();
        let mut conn = store::open_rw(&self.db)?;
        for uid in &series {
            if cancel.is_cancelled() {
                report.cancelled = true;
                break;
            }
            let instances = store::images::series_instances(&conn, &self.db, uid)?;
            let files: Vec<(i64, i64)> = instances.iter().map(|i| (i.size, i.mtime_ns)).collect();
            let digest = biomarker::source_digest(&files);
            if store::biomarker::run_of(&conn, &self.db, uid, EMPHYSEMA)?
                == Some((METHOD_VERSION.to_string(), digest.clone()))
            {
                report.resumed += 1;
                state.series_done += 1;
                progress(state.clone());
                continue;
            }
            let outcome = self.emphysema_series(&instances, cancel, &mut state, progress);
            let result = match &outcome {
                SeriesOutcome::Cancelled => {
                    report.cancelled = true;
                    break;
                }
                SeriesOutcome::Computed(r, bytes) => {
                    report.computed += 1;
                    report.pixel_bytes += bytes;
                    report
                        .results
                        .push((row_level.then(|| uid.clone()), r.clone()));
                    let features = vec![
                        ("laa950_percent", r.laa950_percent),
                        ("perc15_hu", r.perc15_hu),
                        ("lung_volume_ml", r.lung_volume_ml),
                        ("mean_lung_hu", r.mean_lung_hu),
                    ];
                    let details = serde_json::to_string(r).unwrap_or_default();
                    Ok((features, details))
                }
                SeriesOutcome::Failed(kind, reason) => {
                    report.failed.push(SeriesFailure {
                        series_uid: row_level.then(|| uid.clone()),
                        kind: kind.clone(),
                        reason: reason.clone(),
                    });
                    Err((kind.as_str(), reason.clone()))
                }
            };
            store::biomarker::record(
                &mut conn,
                &self.db,
                &store::biomarker::Outcome {
                    series_uid: uid,
                    method: EMPHYSEMA,
                    method_version: METHOD_VERSION,
                    source_digest: &digest,
                    result,
                },
            )?;
            state.series_done += 1;
            state.slices_done = 0;
            state.slices_total = 0;
            progress(state.clone());
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Reads, checks and measures one series.
    fn emphysema_series(
        &self,
        instances: &[InstanceRef],
        cancel: &CancelToken,
        state: &mut EmphysemaProgress,
        progress: &mut dyn FnMut(EmphysemaProgress),
    ) -> SeriesOutcome {
        use rayon::prelude::*;
        let failed = |e: EmphysemaError| SeriesOutcome::Failed(e.kind().into(), e.to_string());
        if instances.len() < emphysema::MIN_SLICES {
            return failed(EmphysemaError::TooFewSlices {
                found: instances.len(),
            });
        }
        // The files must be those the index read (features are bound to
        // the index's size and mtime).
        for (k, i) in instances.iter().enumerate() {
            match std::fs::metadata(&i.path) {
                Ok(m) if m.len() as i64 == i.size && mtime_ns(&m) == i.mtime_ns => {}
                Ok(_) => return SeriesOutcome::Failed(
                    "changed".into(),
                    format!("image {} changed since it was indexed; run `pacs-cohort index` on its folder again", k + 1),
                ),
                Err(e) => return SeriesOutcome::Failed(
                    "undecodable".into(),
                    format!("image {} cannot be read ({}); check the archive is mounted, or index again", k + 1, e.kind()),
                ),
            }
        }
        let headers: Result<Vec<SliceHeader>, (usize, String)> = instances
            .par_iter()
            .enumerate()
            .map(|(k, i)| open(&i.path, true).map(|o| header(&o)).map_err(|e| (k, e)))
            .collect();
        let headers = match headers {
            Ok(h) => h,
            Err((k, reason)) => {
                return failed(EmphysemaError::Undecodable {
                    slice: k + 1,
                    reason,
                })
            }
        };
        let geometry = match emphysema::plan(&headers) {
            Ok(g) => g,
            Err(e) => return failed(e),
        };
        state.slices_total = geometry.order.len() as u64;
        state.slices_done = 0;
        progress(state.clone());
        let done = Arc::new(AtomicU64::new(0));
        let stored_bytes = Arc::new(AtomicU64::new(0));
        let load = |k: usize| -> Result<Vec<f32>, String> {
            let i = &instances[geometry.order[k]];
            let obj = open(&i.path, false)?;
            let bits = numbers(&obj, tags::BITS_ALLOCATED)
                .first()
                .copied()
                .unwrap_or(16.0);
            let frame = crate::preview::decode_frame(&obj, 0)?;
            if frame.samples != 1 {
                return Err("a colour image is not CT".into());
            }
            stored_bytes.fetch_add(
                u64::from(frame.rows) * u64::from(frame.columns) * (bits as u64 / 8).max(1),
                Ordering::Relaxed,
            );
            Ok(frame.values)
        };
        let on_slice = || {
            done.fetch_add(1, Ordering::Relaxed);
        };
        // The analysis runs on the rayon pool while this thread reports
        // progress from the counters every 100 ms.
        let outcome = std::thread::scope(|scope| {
            let worker = scope.spawn(|| emphysema::analyze(&geometry, &load, cancel, &on_slice));
            let base = state.pixel_bytes;
            while !worker.is_finished() {
                std::thread::sleep(std::time::Duration::from_millis(100));
                state.slices_done = done.load(Ordering::Relaxed);
                state.pixel_bytes = base + stored_bytes.load(Ordering::Relaxed);
                progress(state.clone());
            }
            state.slices_done = done.load(Ordering::Relaxed);
            state.pixel_bytes = base + stored_bytes.load(Ordering::Relaxed);
            worker.join()
        });
        match outcome {
            Ok(Ok(r)) => SeriesOutcome::Computed(r, stored_bytes.load(Ordering::Relaxed)),
            Ok(Err(EmphysemaError::Cancelled)) => SeriesOutcome::Cancelled,
            Ok(Err(e)) => failed(e),
            Err(_) => SeriesOutcome::Failed(
                "undecodable".into(),
                "the analysis stopped on malformed data".into(),
            ),
        }
    }

    /// Starts [`Engine::compute_emphysema`] on a worker thread (the GUI's
    /// job).
    pub fn spawn_emphysema(
        &self,
        cohort: String,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> JobHandle<EmphysemaProgress, EmphysemaReport> {
        let engine = self.clone();
        job::spawn("pacs-emphysema-job", wake, move |cancel, emit| {
            engine.compute_emphysema(&cohort, cancel, &mut |p| emit(p))
        })
    }

    /// Every stored per-series biomarker outcome with its features and
    /// whether it still holds (row-level: refused in aggregate-only mode).
    pub fn series_features(&self) -> Result<Vec<FeatureRecord>, EngineError> {
        self.ensure_row_level_allowed()?;
        let conn = store::open_rw(&self.db)?;
        Ok(store::biomarker::list(&conn, &self.db)?)
    }
}
