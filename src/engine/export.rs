//! De-identified export of a saved cohort, and the residual-PHI scan alone.

use super::job::{self, JobHandle};
use super::{CancelToken, Engine, EngineError};
use crate::cohort;
use crate::deid::profile::Options;
use crate::export::{
    ExportOptions, ExportProgress, ExportReport, ExportRequest, Finding, MaskBook, SourceFile,
};
use crate::model::Rule;
use crate::store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl Engine {
    /// Exports the latest revision of a saved cohort as de-identified DICOM
    /// into `out` (a new folder), applying the recorded pixel masks, gated
    /// by the residual-PHI scan. The workspace key is created on first use
    /// beside the database. The visual review decides what goes out
    /// (`opts.approved_only`; excluded images never) and which files claim
    /// Clean Pixel Data (exactly the approved bytes); the report says how
    /// many series stand where and what was left out.
    pub fn export_cohort(
        &self,
        name: &str,
        out: &Path,
        opts: &ExportOptions,
        cancel: &CancelToken,
        progress: &mut dyn FnMut(ExportProgress),
    ) -> Result<ExportReport, EngineError> {
        self.ensure_row_level_allowed()?;
        let sources = self.cohort_sources(name)?;
        let (sources, approved, review) =
            self.review_for_export(name, sources, opts.approved_only, &opts.profile)?;
        // The export itself sees the decision made, not "automatic".
        let opts = &ExportOptions {
            approved_only: Some(review.approved_only),
            ..opts.clone()
        };
        let key = crate::deid::keyfile::load_or_create(&self.db)?;
        let (instance_masks, templates) = self.masks()?;
        let masks = MaskBook::new(&instance_masks, &templates);
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| format!("{}-{:03}", d.as_secs(), d.subsec_millis()))
            .unwrap_or_default();
        let request = ExportRequest {
            files: &sources,
            out,
            key: &key,
            options: opts,
            masks: &masks,
            approved: &approved,
            started_at: &stamp,
        };
        let mut report = crate::export::export(&request, cancel, progress)?;
        report.review = crate::export::ReviewSummary {
            clean_pixels_claimed: report.review.clean_pixels_claimed,
            ..review
        };
        if !report.waived.is_empty() {
            let mut conn = store::open_rw(&self.db)?;
            store::audit::record_waivers(&mut conn, &self.db, name, &report)?;
        }
        Ok(report)
    }

    /// The audit trail of waived findings, oldest first, as JSON objects
    /// (no matched values).
    pub fn waiver_history(&self) -> Result<Vec<serde_json::Value>, EngineError> {
        let conn = store::open_rw(&self.db)?;
        Ok(store::audit::waivers(&conn, &self.db)?
            .into_iter()
            .map(
                |(id, reason, cohort, folder, file, location, attribute, complete, at)| {
                    serde_json::json!({
                        "finding_id": id, "reason": reason, "cohort": cohort,
                        "export_folder": folder, "file": file, "location": location,
                        "attribute": attribute, "export_complete": complete, "waived_at": at,
                    })
                },
            )
            .collect())
    }

    /// Whether an export into `out` (with this re-identification table)
    /// can start: the same checks the export runs first. `Err` says what
    /// is wrong and what to do.
    pub fn export_preflight(&self, out: &Path, reid_table: Option<&Path>) -> Result<(), String> {
        crate::export::preflight(out, reid_table).map_err(|e| e.to_string())
    }

    /// A name for a new export folder in `parent`: `base`, else `base-2`, ...
    pub fn free_export_folder_name(&self, parent: &Path, base: &str) -> String {
        crate::export::free_folder_name(parent, base)
    }

    /// Starts an export on a worker thread (the GUI's export job).
    pub fn spawn_export(
        &self,
        cohort: String,
        out: PathBuf,
        opts: ExportOptions,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> JobHandle<ExportProgress, ExportReport> {
        let engine = self.clone();
        job::spawn("pacs-export-job", wake, move |cancel, emit| {
            engine.export_cohort(&cohort, &out, &opts, cancel, &mut |p| emit(p))
        })
    }

    /// The source files of every instance of a saved cohort's content
    /// (latest revision), with their patient identity.
    fn cohort_sources(&self, name: &str) -> Result<Vec<SourceFile>, EngineError> {
        let saved = self.cohort(name, None)?;
        let conn = store::open_ro(&self.db)?;
        let rules: Vec<&Rule> = saved.spec.rules.iter().collect();
        let files =
            store::cohorts::content_files(&conn, &self.db, &cohort::compile(&saved.spec, &rules))?;
        Ok(files
            .into_iter()
            .map(|(path, issuer, patient_id)| SourceFile {
                path,
                issuer,
                patient_id,
                approval: None,
            })
            .collect())
    }

    /// Scans a folder (an export, or any files) for the identifying values
    /// of a saved cohort's source instances; what the Retain options in
    /// `opts` keep is exempt.
    pub fn scan_phi(
        &self,
        dir: &Path,
        cohort_name: &str,
        opts: &Options,
    ) -> Result<Vec<Finding>, EngineError> {
        self.ensure_row_level_allowed()?;
        let sources = self.cohort_sources(cohort_name)?;
        let key = crate::deid::keyfile::load_or_create(&self.db)?;
        let profile = crate::deid::profile::Profile::standard();
        let deid = crate::deid::apply::Deidentifier {
            profile: &profile,
            options: *opts,
            key: &key,
        };
        let values = crate::export::gate::source_needles(&sources, &deid);
        let findings = crate::export::gate::scan_folder(dir, &values, &profile, opts)?;
        Ok(findings.into_iter().map(|f| f.with_id(&key)).collect())
    }
}
