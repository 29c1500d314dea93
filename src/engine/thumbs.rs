//! Series thumbnails for the app (the cache lives inside the workspace,
//! owner-only: thumbnails are PHI).

use super::{Engine, EngineError};
use crate::thumbs::{self, ThumbOutcome};

impl Engine {
    /// The thumbnail of a series (the middle image, windowed, at most
    /// `max_px` on its longer side), cached next to the database and
    /// decoded again when its source file changed. Slow on a cold cache:
    /// call it off the UI thread.
    pub fn series_thumbnail(
        &self,
        series_uid: &str,
        max_px: u32,
    ) -> Result<ThumbOutcome, EngineError> {
        let instances = self.series_instances(series_uid)?;
        thumbs::series_thumbnail(
            &thumbs::cache_dir(&self.db),
            series_uid,
            &instances,
            max_px,
        )
        .map_err(|e| {
            EngineError::Preview(format!(
                "cannot write the thumbnail cache in the workspace folder ({e}); check that the folder is writable"
            ))
        })
    }
}
