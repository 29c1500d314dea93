//! Recording pixel masks and mask templates (the review queue will draw
//! them; the CLI records them for scripting; the export applies them).

use super::{Engine, EngineError};
use crate::model::{DeviceKey, InstanceMask, MaskTemplate, Rect};
use crate::store;

/// A mask that cannot be recorded.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    #[error("no indexed image has SOP Instance UID '{0}'; masks are recorded for indexed images (index the archive first, or check the UID)")]
    NotIndexed(String),
    #[error("the rectangle {x},{y},{width},{height} does not fit inside the {columns}x{rows} image (x + width must be at most the columns, y + height at most the rows)", x = .rect.x, y = .rect.y, width = .rect.width, height = .rect.height)]
    OutsideImage { rect: Rect, rows: u32, columns: u32 },
    #[error("a mask template needs a name, a manufacturer, a model and an image size above 0x0")]
    IncompleteTemplate,
    #[error("no {0} with id {1}; `pacs-cohort mask list` shows the ids")]
    NotFound(&'static str, i64),
    #[error("mask {0}: {1}; nothing was recorded")]
    InRow(usize, Box<MaskError>),
}

impl Engine {
    /// Records a rectangle for one indexed image; returns its id.
    pub fn add_mask(&self, sop_uid: &str, rect: Rect, note: &str) -> Result<i64, EngineError> {
        let ids = self.add_masks(&[(sop_uid.to_string(), rect, note.to_string())])?;
        Ok(ids[0])
    }

    /// Records many rectangles (e.g. from a burned-in text detector's
    /// CSV) all or none: every one is checked against its indexed image
    /// first; the first problem is reported with its position (1-based).
    pub fn add_masks(&self, masks: &[(String, Rect, String)]) -> Result<Vec<i64>, EngineError> {
        let mut conn = store::open_rw(&self.db)?;
        for (i, (sop_uid, rect, _)) in masks.iter().enumerate() {
            let sop_uid = sop_uid.trim();
            let problem = match store::masks::instance_size(&conn, &self.db, sop_uid)? {
                None => Some(MaskError::NotIndexed(sop_uid.to_string())),
                Some((Some(rows), Some(columns))) if !rect.fits(rows, columns) => {
                    Some(MaskError::OutsideImage {
                        rect: *rect,
                        rows,
                        columns,
                    })
                }
                Some(_) => None,
            };
            if let Some(p) = problem {
                return Err(if masks.len() > 1 {
                    MaskError::InRow(i + 1, Box::new(p))
                } else {
                    p
                }
                .into());
            }
        }
        Ok(store::masks::add_instance_masks(
            &mut conn, &self.db, masks,
        )?)
    }

    /// Records one rectangle of a template for every image of a device and
    /// size; returns its id.
    pub fn add_mask_template(
        &self,
        name: &str,
        device: &DeviceKey,
        rect: Rect,
    ) -> Result<i64, EngineError> {
        let device = DeviceKey {
            manufacturer: device.manufacturer.trim().to_string(),
            model: device.model.trim().to_string(),
            ..device.clone()
        };
        if name.trim().is_empty()
            || device.manufacturer.is_empty()
            || device.model.is_empty()
            || device.rows == 0
            || device.columns == 0
        {
            return Err(MaskError::IncompleteTemplate.into());
        }
        if !rect.fits(device.rows, device.columns) {
            return Err(MaskError::OutsideImage {
                rect,
                rows: device.rows,
                columns: device.columns,
            }
            .into());
        }
        let conn = store::open_rw(&self.db)?;
        Ok(store::masks::add_template(
            &conn,
            &self.db,
            name.trim(),
            &device,
            rect,
        )?)
    }

    /// Every recorded mask and template rectangle.
    pub fn masks(&self) -> Result<(Vec<InstanceMask>, Vec<MaskTemplate>), EngineError> {
        let conn = store::open_rw(&self.db)?;
        Ok((
            store::masks::instance_masks(&conn, &self.db)?,
            store::masks::templates(&conn, &self.db)?,
        ))
    }

    /// Removes a mask, or a template rectangle.
    pub fn remove_mask(&self, id: i64, template: bool) -> Result<(), EngineError> {
        let conn = store::open_rw(&self.db)?;
        if store::masks::remove(&conn, &self.db, id, template)? {
            Ok(())
        } else {
            Err(MaskError::NotFound(
                if template {
                    "template rectangle"
                } else {
                    "mask"
                },
                id,
            )
            .into())
        }
    }
}
