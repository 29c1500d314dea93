//! Images for the viewer and the review: a series' instances, a source as
//! stored, and the same source as the export would write it (rendered by
//! the export's own function, so the preview cannot differ from the file).

use super::{Engine, EngineError};
use crate::deid::apply::{Deidentifier, PatientContext, Trace};
use crate::deid::profile::{Options, Profile};
use crate::export::{ApprovedContent, MaskBook, Rendered};
use crate::model::InstanceRef;
use crate::store;
use dicom_object::DefaultDicomObject;

/// What the export would make of one source, with the source itself.
pub struct DeidentifiedPreview {
    pub source: DefaultDicomObject,
    pub rendered: Rendered,
    /// What the de-identification did not keep, and what default deny
    /// decided (for the header diff).
    pub trace: Trace,
}

impl Engine {
    /// The instances of a series in display order.
    pub fn series_instances(&self, series_uid: &str) -> Result<Vec<InstanceRef>, EngineError> {
        self.ensure_row_level_allowed()?;
        let conn = store::open_ro(&self.db)?;
        Ok(store::images::series_instances(
            &conn, &self.db, series_uid,
        )?)
    }

    /// Reads one indexed source whole (Err: why it cannot be read).
    pub fn read_source(&self, instance: &InstanceRef) -> Result<DefaultDicomObject, String> {
        crate::dicom::read_whole(&instance.path)
    }

    /// The export's masks as recorded now (instance masks and templates).
    pub fn mask_book(&self) -> Result<MaskBook, EngineError> {
        let (instance_masks, templates) = self.masks()?;
        Ok(MaskBook::new(&instance_masks, &templates))
    }

    /// One source as an export with `options` and the recorded masks
    /// would write it now (no Clean Pixel Data claim: that is the
    /// export's, for approved content only). Err: why it cannot be shown.
    pub fn render_deidentified(
        &self,
        instance: &InstanceRef,
        options: &Options,
        masks: &MaskBook,
    ) -> Result<DeidentifiedPreview, EngineError> {
        self.ensure_row_level_allowed()?;
        let key = crate::deid::keyfile::load_or_create(&self.db)?;
        let source = self.read_source(instance).map_err(EngineError::Preview)?;
        let profile = Profile::standard();
        let deid = Deidentifier {
            profile: &profile,
            options: *options,
            key: &key,
        };
        let patient = PatientContext::new(&key, &instance.issuer, &instance.patient_id);
        let mut trace = Trace::default();
        let rendered = crate::export::render(
            &deid,
            masks,
            &patient,
            source.clone(),
            &mut trace,
            &ApprovedContent::default(),
        )
        .map_err(EngineError::Preview)?;
        Ok(DeidentifiedPreview {
            source,
            rendered,
            trace,
        })
    }
}
