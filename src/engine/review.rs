//! The visual PHI review queue: series (and single images of a mixed
//! series) marked approved, needs masking or excluded, appended to an
//! audit trail. An approval renders every image it covers with the
//! export's own function and keeps the SHA-256 of each rendered file and
//! what it was rendered from; it stops holding when those inputs change
//! (`review::ImageInputs`), and the export claims clean pixels only for
//! the approved bytes (DECISIONS 25).

use super::{Engine, EngineError};
use crate::deid::profile::Options;
use crate::export::{ApprovedContent, LeftOut, MaskBook, ReviewStamp, ReviewSummary, SourceFile};
use crate::model::{
    DeviceKey, ImageReview, InstanceRef, ReviewCounts, ReviewEvent, ReviewItem, ReviewState, Rule,
};
use crate::review::{self, Decided, ImageInputs};
use crate::store::{self, review::SeriesFacts};
use rusqlite::Connection;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// A review decision that cannot be recorded, or an export with nothing
/// approved.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(
        "no indexed series has Series Instance UID '{0}'; `pacs-cohort review list` shows them"
    )]
    UnknownSeries(String),
    #[error("series '{series}' has no indexed image with SOP Instance UID '{sop}'; `pacs-cohort review list --json` shows the series and their reviewed images")]
    UnknownImage { series: String, sop: String },
    #[error("a review decision needs the reviewer's name (--reviewer NAME)")]
    NoReviewer,
    #[error("cannot approve: {failed} of {total} images cannot be rendered as the export would write them (first: image {sop}: {reason}); exclude those images or mark them needs masking (--image SOP_UID), then approve again; nothing was recorded")]
    CannotRender {
        failed: usize,
        total: usize,
        sop: String,
        reason: String,
    },
    #[error("cannot approve: every image of this series is excluded or needs masking; approve images one by one (--image SOP_UID) or reset the series first")]
    NothingToApprove,
    #[error("no image of cohort '{cohort}' is approved for export ({counts}); review its series (`pacs-cohort review list --cohort {cohort}`) or export every series that is not excluded (--all-series); nothing was written")]
    NothingApproved { cohort: String, counts: String },
}

/// What the current inputs of an image are made from.
struct Inputs {
    options: Options,
    key: String,
    masks: MaskBook,
}

impl Inputs {
    /// The inputs an approval of `inst` would be made from now (a stat of
    /// its file; no decoding).
    fn of(&self, inst: &InstanceRef, device: Option<&DeviceKey>) -> ImageInputs {
        let rects = self.masks.rects_for(&probe(&inst.sop_uid, device));
        let (size, mtime_ns) = stat(&inst.path);
        ImageInputs::new(&self.options, &rects, &self.key, &inst.path, size, mtime_ns)
    }
}

/// The few attributes that decide which masks apply to an image, as the
/// index read them: the export's own lookup (`MaskBook::rects_for`) runs
/// on them, so listing needs no file read.
fn probe(sop_uid: &str, device: Option<&DeviceKey>) -> dicom_object::InMemDicomObject {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let mut obj = dicom_object::InMemDicomObject::from_element_iter([DataElement::new(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(sop_uid),
    )]);
    if let Some(d) = device {
        let text = |tag, v: &str| DataElement::new(tag, VR::LO, PrimitiveValue::from(v));
        obj.put(text(tags::MANUFACTURER, &d.manufacturer));
        obj.put(text(tags::MANUFACTURER_MODEL_NAME, &d.model));
        let size = |v: u32| PrimitiveValue::from(u16::try_from(v).unwrap_or(u16::MAX));
        obj.put(DataElement::new(tags::ROWS, VR::US, size(d.rows)));
        obj.put(DataElement::new(tags::COLUMNS, VR::US, size(d.columns)));
    }
    obj
}

/// Size and modification time (ns) of a file; a file that cannot be
/// stat'ed gives values no approval was made with.
fn stat(path: &Path) -> (u64, i64) {
    match std::fs::metadata(path) {
        Ok(m) => {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(-1, |d| d.as_nanos() as i64);
            (m.len(), mtime)
        }
        Err(_) => (u64::MAX, -1),
    }
}

/// Where one image stands now.
#[derive(Debug, Clone)]
struct Verdict {
    state: ReviewState,
    stale: Option<String>,
    event: Option<ReviewEvent>,
    /// The approved SHA-256 (state approved only).
    sha256: Option<String>,
}

/// A series judged now; `images` only when asked for.
struct Assessed {
    item: ReviewItem,
    images: Vec<(InstanceRef, Verdict)>,
}

impl Engine {
    /// The review queue: every indexed series (or a saved cohort's), with
    /// its state now. An approval that no longer holds for `options` (the
    /// options the export will use), the current masks, key or files shows
    /// as unreviewed with the reason in `stale`. Cheap: no decoding, a
    /// stat per image of approved series.
    pub fn review_items(
        &self,
        cohort: Option<&str>,
        options: &Options,
    ) -> Result<Vec<ReviewItem>, EngineError> {
        self.ensure_row_level_allowed()?;
        let conn = store::open_ro(&self.db)?;
        let uids = cohort.map(|c| self.cohort_series_uids(c)).transpose()?;
        let facts = store::review::series(&conn, &self.db, uids.as_deref())?;
        let mut events = grouped(store::review::events(&conn, &self.db, None)?);
        let inputs = self.review_inputs(options)?;
        facts
            .into_iter()
            .map(|f| {
                let ev = events.remove(&f.series_uid).unwrap_or_default();
                Ok(self.assess(&conn, f, &ev, &inputs, false)?.item)
            })
            .collect()
    }

    /// How many series of a saved cohort are approved, unreviewed, need
    /// masking or are excluded, under `options` (for the export dialog).
    pub fn review_counts(
        &self,
        cohort: &str,
        options: &Options,
    ) -> Result<ReviewCounts, EngineError> {
        let mut counts = ReviewCounts::default();
        for item in self.review_items(Some(cohort), options)? {
            counts.add(&item);
        }
        Ok(counts)
    }

    /// Records a decision about a series, or about one image of it
    /// (`sop_uid`), and returns the appended event. Approving renders
    /// every image it covers as an export with `options` and the current
    /// masks would write it (slow: call it on a worker) and is refused,
    /// with nothing recorded, when an image cannot be rendered.
    /// `Unreviewed` is a reset: of the series (every image decision made
    /// before it is cleared too), or of one image (it follows the series
    /// again).
    pub fn set_review(
        &self,
        series_uid: &str,
        sop_uid: Option<&str>,
        state: ReviewState,
        reviewer: &str,
        note: &str,
        options: &Options,
    ) -> Result<ReviewEvent, EngineError> {
        self.ensure_row_level_allowed()?;
        let (series_uid, sop_uid) = (series_uid.trim(), sop_uid.map(str::trim));
        let reviewer = reviewer.trim();
        if reviewer.is_empty() {
            return Err(ReviewError::NoReviewer.into());
        }
        let conn = store::open_ro(&self.db)?;
        let instances = store::images::series_instances(&conn, &self.db, series_uid)?;
        if instances.is_empty() {
            return Err(ReviewError::UnknownSeries(series_uid.to_string()).into());
        }
        if let Some(sop) = sop_uid {
            if !instances.iter().any(|i| i.sop_uid == sop) {
                return Err(ReviewError::UnknownImage {
                    series: series_uid.to_string(),
                    sop: sop.to_string(),
                }
                .into());
            }
        }
        let mut content = Vec::new();
        if state == ReviewState::Approved {
            let events = store::review::events(&conn, &self.db, Some(series_uid))?;
            let decided = Decided::of(&events);
            let targets: Vec<&InstanceRef> = instances
                .iter()
                .filter(|i| match sop_uid {
                    Some(sop) => i.sop_uid == sop,
                    None => decided.series_covers(&i.sop_uid),
                })
                .collect();
            if targets.is_empty() {
                return Err(ReviewError::NothingToApprove.into());
            }
            let devices = store::review::devices(&conn, &self.db, series_uid)?;
            content = self.render_for_approval(&targets, &devices, options)?;
        }
        drop(conn);
        let digest = |pick: fn(&(String, String, String)) -> &String| {
            let pairs: Vec<(String, String)> = content
                .iter()
                .map(|c| (c.0.clone(), pick(c).clone()))
                .collect();
            (!content.is_empty()).then(|| review::pairs_digest(&pairs))
        };
        let (inputs_digest, content_digest) = (digest(|c| &c.2), digest(|c| &c.1));
        let mut conn = store::open_rw(&self.db)?;
        Ok(store::review::append(
            &mut conn,
            &self.db,
            &store::review::NewEvent {
                series_uid,
                sop_uid,
                state,
                reviewer,
                note: note.trim(),
                inputs_digest: inputs_digest.as_deref(),
                content_digest: content_digest.as_deref(),
            },
            &content,
        )?)
    }

    /// Renders each target as the export would write it: (SOP Instance
    /// UID, SHA-256 of the file before any claim, inputs text). The file
    /// is stat'ed before it is read, so a change during the render makes
    /// the approval stale rather than wrongly current.
    fn render_for_approval(
        &self,
        targets: &[&InstanceRef],
        devices: &HashMap<String, DeviceKey>,
        options: &Options,
    ) -> Result<Vec<store::review::ApprovedImage>, EngineError> {
        use rayon::prelude::*;
        let inputs = self.review_inputs(options)?;
        // Big stacks like the export's workers: the same parser and
        // profile run here.
        let pool = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("pacs-review-{i}"))
            .stack_size(16 * 1024 * 1024)
            .build()
            .map_err(|e| EngineError::Preview(format!("cannot start worker threads: {e}")))?;
        let rendered: Vec<Result<store::review::ApprovedImage, EngineError>> = pool.install(|| {
            targets
                .par_iter()
                .map(|inst| {
                    let current = inputs.of(inst, devices.get(&inst.sop_uid));
                    let p = self.render_deidentified(inst, options, &inputs.masks)?;
                    Ok((inst.sop_uid.clone(), p.rendered.sha256(), current.to_text()))
                })
                .collect()
        });
        let mut content = Vec::with_capacity(targets.len());
        let mut failed: Vec<(String, String)> = Vec::new();
        for (inst, r) in targets.iter().zip(rendered) {
            match r {
                Ok(c) => content.push(c),
                Err(EngineError::Preview(reason)) => failed.push((inst.sop_uid.clone(), reason)),
                Err(e) => return Err(e),
            }
        }
        if let Some((sop, reason)) = failed.first() {
            return Err(ReviewError::CannotRender {
                failed: failed.len(),
                total: targets.len(),
                sop: sop.clone(),
                reason: reason.clone(),
            }
            .into());
        }
        Ok(content)
    }

    /// Every review event (of one series, if given), oldest first.
    pub fn review_history(
        &self,
        series_uid: Option<&str>,
    ) -> Result<Vec<ReviewEvent>, EngineError> {
        self.ensure_row_level_allowed()?;
        let conn = store::open_ro(&self.db)?;
        Ok(store::review::events(
            &conn,
            &self.db,
            series_uid.map(str::trim),
        )?)
    }

    /// The whole review history as CSV (id, at, reviewer, series, image,
    /// state, note), oldest first.
    pub fn write_review_history_csv(
        &self,
        out: &mut dyn std::io::Write,
    ) -> Result<(), EngineError> {
        let events = self.review_history(None)?;
        let fail =
            |e: String| EngineError::Preview(format!("cannot write the review history: {e}"));
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "id",
            "at",
            "reviewer",
            "series_uid",
            "sop_uid",
            "state",
            "note",
        ])
        .map_err(|e| fail(e.to_string()))?;
        for e in &events {
            w.write_record([
                e.id.to_string().as_str(),
                &e.at,
                &e.reviewer,
                &e.series_uid,
                e.sop_uid.as_deref().unwrap_or(""),
                e.state.as_str(),
                &e.note,
            ])
            .map_err(|e| fail(e.to_string()))?;
        }
        w.flush().map_err(|e| fail(e.to_string()))
    }

    /// Applies the review to an export's sources: leaves out excluded
    /// images always, and every image not approved now when `approved_only`
    /// (None: automatic, on once any series of the cohort has a review
    /// event); stamps approved sources with their reviewer; collects the
    /// SHA-256s the export may claim clean pixels for.
    pub(super) fn review_for_export(
        &self,
        cohort: &str,
        sources: Vec<SourceFile>,
        approved_only: Option<bool>,
        options: &Options,
    ) -> Result<(Vec<SourceFile>, ApprovedContent, ReviewSummary), EngineError> {
        let conn = store::open_ro(&self.db)?;
        let uids = self.cohort_series_uids(cohort)?;
        let facts = store::review::series(&conn, &self.db, Some(&uids))?;
        let mut events = grouped(store::review::events(&conn, &self.db, None)?);
        let any_events = facts.iter().any(|f| events.contains_key(&f.series_uid));
        let approved_only = approved_only.unwrap_or(any_events);
        let mut summary = ReviewSummary {
            approved_only,
            ..ReviewSummary::default()
        };
        let mut approved = ApprovedContent::default();
        if !any_events && !approved_only {
            summary.counts.unreviewed = facts.len() as u64;
            return Ok((sources, approved, summary));
        }
        let inputs = self.review_inputs(options)?;
        let mut by_path: HashMap<PathBuf, (String, Verdict)> = HashMap::new();
        for f in facts {
            let ev = events.remove(&f.series_uid).unwrap_or_default();
            let uid = f.series_uid.clone();
            // A series nobody reviewed is exported as it is unless
            // approved-only: its images need no look then.
            let per_image = approved_only || !ev.is_empty();
            let assessed = self.assess(&conn, f, &ev, &inputs, per_image)?;
            summary.counts.add(&assessed.item);
            for (inst, verdict) in assessed.images {
                by_path.insert(inst.path, (uid.clone(), verdict));
            }
        }
        // reason -> (series, images)
        let mut left: BTreeMap<String, (HashSet<String>, u64)> = BTreeMap::new();
        let mut kept = Vec::with_capacity(sources.len());
        for mut src in sources {
            let (series, verdict) = match by_path.get(&src.path) {
                Some((s, v)) => (s.as_str(), Some(v)),
                None => ("", None),
            };
            let state = verdict.map_or(ReviewState::Unreviewed, |v| v.state);
            let reason = match state {
                ReviewState::Excluded => Some("excluded by a reviewer".to_string()),
                ReviewState::Approved => None,
                _ if !approved_only => None,
                ReviewState::NeedsMasking => Some("needs masking".to_string()),
                ReviewState::Unreviewed => Some(match verdict.and_then(|v| v.stale.as_deref()) {
                    Some(why) => format!("approval no longer holds ({why})"),
                    None => "not reviewed".to_string(),
                }),
            };
            if let Some(reason) = reason {
                let entry = left.entry(reason).or_default();
                entry.0.insert(series.to_string());
                entry.1 += 1;
                continue;
            }
            if let Some(v) = verdict.filter(|v| v.state == ReviewState::Approved) {
                if let (Some(sha), Some(e)) = (&v.sha256, &v.event) {
                    approved.sha256.insert(sha.clone());
                    src.approval = Some(ReviewStamp {
                        reviewer: e.reviewer.clone(),
                        approved_at: e.at.clone(),
                    });
                }
            }
            kept.push(src);
        }
        summary.left_out = left
            .into_iter()
            .map(|(reason, (series, images))| LeftOut {
                reason,
                series: series.len() as u64,
                images,
            })
            .collect();
        if kept.is_empty() && approved_only {
            let c = summary.counts;
            return Err(ReviewError::NothingApproved {
                cohort: cohort.to_string(),
                counts: format!(
                    "{} approved, {} unreviewed, {} needs masking, {} excluded",
                    c.approved, c.unreviewed, c.needs_masking, c.excluded
                ),
            }
            .into());
        }
        Ok((kept, approved, summary))
    }

    /// The inputs an approval is bound to, as they are now.
    fn review_inputs(&self, options: &Options) -> Result<Inputs, EngineError> {
        let key = crate::deid::keyfile::load_or_create(&self.db)?;
        Ok(Inputs {
            options: *options,
            key: crate::deid::keyfile::fingerprint(&key),
            masks: self.mask_book()?,
        })
    }

    /// The Series Instance UIDs of a saved cohort's content (latest
    /// revision), in the cohort manifest's order.
    fn cohort_series_uids(&self, name: &str) -> Result<Vec<String>, EngineError> {
        let saved = self.cohort(name, None)?;
        let conn = store::open_ro(&self.db)?;
        let rules: Vec<&Rule> = saved.spec.rules.iter().collect();
        let rows = store::cohorts::manifest(
            &conn,
            &self.db,
            &crate::cohort::compile(&saved.spec, &rules),
        )?;
        let col = store::cohorts::MANIFEST_COLUMNS
            .iter()
            .position(|c| *c == "series_uid")
            .unwrap_or(0);
        let mut seen = HashSet::new();
        Ok(rows
            .into_iter()
            .filter_map(|mut r| (col < r.len()).then(|| r.swap_remove(col)))
            .filter(|uid| seen.insert(uid.clone()))
            .collect())
    }

    /// Judges one series now. Its images are looked at (index query and a
    /// stat each) only when an approval must be checked or `per_image`.
    fn assess(
        &self,
        conn: &Connection,
        f: SeriesFacts,
        events: &[ReviewEvent],
        inputs: &Inputs,
        per_image: bool,
    ) -> Result<Assessed, EngineError> {
        let decided = Decided::of(events);
        let overrides = decided.overrides();
        let mut item = ReviewItem {
            series_uid: f.series_uid,
            study_uid: f.study_uid,
            modality: f.modality,
            description: f.description,
            instances: f.instances,
            state: decided.series_state(),
            stale: None,
            last: decided.series_event().cloned(),
            images: overrides
                .iter()
                .map(|e| ImageReview {
                    sop_uid: e.sop_uid.clone().unwrap_or_default(),
                    state: e.state,
                    stale: None,
                    last: (*e).clone(),
                })
                .collect(),
        };
        let approvals = item.state == ReviewState::Approved
            || overrides.iter().any(|e| e.state == ReviewState::Approved);
        if !per_image && !approvals {
            return Ok(Assessed {
                item,
                images: Vec::new(),
            });
        }
        let instances = store::images::series_instances(conn, &self.db, &item.series_uid)?;
        let devices = if approvals {
            store::review::devices(conn, &self.db, &item.series_uid)?
        } else {
            HashMap::new()
        };
        let mut contents: HashMap<i64, HashMap<String, (String, String)>> = HashMap::new();
        let mut images = Vec::with_capacity(instances.len());
        for inst in instances {
            let event = decided.event_for(&inst.sop_uid);
            let mut v = Verdict {
                state: event.map_or(ReviewState::Unreviewed, |e| e.state),
                stale: None,
                event: event.cloned(),
                sha256: None,
            };
            if let Some(e) = event.filter(|e| e.state == ReviewState::Approved) {
                let content = match contents.entry(e.id) {
                    Entry::Occupied(o) => o.into_mut(),
                    Entry::Vacant(v) => {
                        v.insert(store::review::approved_content(conn, &self.db, e.id)?)
                    }
                };
                let stale = match content.get(&inst.sop_uid) {
                    None => Some("images added since the approval".to_string()),
                    Some((sha, stored)) => {
                        let now = inputs.of(&inst, devices.get(&inst.sop_uid));
                        match review::stale_reason(&now, stored) {
                            Some(why) => Some(why.to_string()),
                            None => {
                                v.sha256 = Some(sha.clone());
                                None
                            }
                        }
                    }
                };
                if stale.is_some() {
                    v.state = ReviewState::Unreviewed;
                    v.stale = stale;
                }
            }
            images.push((inst, v));
        }
        // The series' approval holds only if it holds for every image it
        // covers; an image's own approval is judged for that image.
        for (inst, v) in &images {
            match decided.image_override(&inst.sop_uid) {
                None if item.state == ReviewState::Approved && v.stale.is_some() => {
                    item.state = ReviewState::Unreviewed;
                    item.stale = v.stale.clone();
                    break;
                }
                _ => {}
            }
        }
        for img in &mut item.images {
            if let Some((_, v)) = images.iter().find(|(i, _)| i.sop_uid == img.sop_uid) {
                img.state = v.state;
                img.stale = v.stale.clone();
            }
        }
        Ok(Assessed { item, images })
    }
}

/// Events grouped by series (each group oldest first).
fn grouped(events: Vec<ReviewEvent>) -> HashMap<String, Vec<ReviewEvent>> {
    let mut out: HashMap<String, Vec<ReviewEvent>> = HashMap::new();
    for e in events {
        out.entry(e.series_uid.clone()).or_default().push(e);
    }
    out
}
