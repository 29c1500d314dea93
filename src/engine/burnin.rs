//! Burned-in text risk for the review queue: header rules from the index
//! (fast, many series at once) and the pixel detector on a series' middle
//! image (slow: reads and decodes a file; call it off the UI thread).

use super::{Engine, EngineError};
use crate::burnin::{self, SeriesRisk};
use crate::model::Rect;
use crate::store;
use std::collections::HashMap;

impl Engine {
    /// The header-based risk of each indexed series in `series_uids`
    /// (series that are not indexed are left out of the map). Combine
    /// with [`Engine::pixel_text_regions`] through
    /// [`SeriesRisk::with_pixel_regions`].
    pub fn series_risks(
        &self,
        series_uids: &[String],
    ) -> Result<HashMap<String, SeriesRisk>, EngineError> {
        self.ensure_row_level_allowed()?;
        let conn = store::open_ro(&self.db)?;
        let facts = store::burnin::series_facts(&conn, &self.db, series_uids)?;
        Ok(facts
            .into_iter()
            .map(|(uid, f)| (uid, burnin::assess(&f)))
            .collect())
    }

    /// Text-like regions in the middle frame of the series' middle image,
    /// in image coordinates (proposed masks). Err: why the image cannot be
    /// read or decoded.
    pub fn pixel_text_regions(&self, series_uid: &str) -> Result<Vec<Rect>, EngineError> {
        let instances = self.series_instances(series_uid)?;
        let Some(middle) = instances.get(instances.len() / 2) else {
            return Err(EngineError::Preview(
                "this series has no indexed images; index its folder again".into(),
            ));
        };
        let source = self.read_source(middle).map_err(EngineError::Preview)?;
        let frame = crate::preview::decode_frame(&source, middle.frames / 2)
            .map_err(EngineError::Preview)?;
        Ok(burnin::detect_text(&frame))
    }

    /// The header risk of one series combined with what the pixel detector
    /// finds in its middle image (a decoding failure is given as a reason,
    /// not an error).
    pub fn series_risk_checked(&self, series_uid: &str) -> Result<SeriesRisk, EngineError> {
        let risk = self
            .series_risks(&[series_uid.to_string()])?
            .remove(series_uid)
            .ok_or_else(|| {
                EngineError::Preview(
                    "this series is not in the index; index its folder first".into(),
                )
            })?;
        Ok(match self.pixel_text_regions(series_uid) {
            Ok(regions) => risk.with_pixel_regions(&regions),
            Err(EngineError::Preview(why)) => risk.with_pixel_check_failed(&why),
            Err(e) => return Err(e),
        })
    }
}
