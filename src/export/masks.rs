//! Which mask rectangles an export applies to an image: those recorded
//! for the instance, plus those of templates for its device and size.

use crate::deid::mask::Rect;
use crate::model::{DeviceKey, InstanceMask, MaskTemplate};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use std::collections::HashMap;

/// Every recorded mask, looked up by source SOP Instance UID or device.
#[derive(Debug, Clone, Default)]
pub struct MaskBook {
    by_instance: HashMap<String, Vec<Rect>>,
    by_device: HashMap<DeviceKey, Vec<Rect>>,
}

impl MaskBook {
    pub fn new(instance: &[InstanceMask], templates: &[MaskTemplate]) -> MaskBook {
        let mut book = MaskBook::default();
        for m in instance {
            book.by_instance
                .entry(m.sop_instance_uid.trim().to_string())
                .or_default()
                .push(m.rect);
        }
        for t in templates {
            book.by_device
                .entry(t.device.clone())
                .or_default()
                .push(t.rect);
        }
        book
    }

    /// The rectangles for a source object (empty: nothing to mask).
    pub fn rects_for(&self, obj: &InMemDicomObject) -> Vec<Rect> {
        if self.by_instance.is_empty() && self.by_device.is_empty() {
            return Vec::new();
        }
        let text = |t| {
            obj.get(t)
                .and_then(|e| e.to_str().ok())
                .map(|s| s.trim_matches([' ', '\0']).to_string())
                .unwrap_or_default()
        };
        let int = |t| obj.get(t).and_then(|e| e.to_int::<u32>().ok()).unwrap_or(0);
        let mut rects = self
            .by_instance
            .get(&text(tags::SOP_INSTANCE_UID))
            .cloned()
            .unwrap_or_default();
        let device = DeviceKey {
            manufacturer: text(tags::MANUFACTURER),
            model: text(tags::MANUFACTURER_MODEL_NAME),
            rows: int(tags::ROWS),
            columns: int(tags::COLUMNS),
        };
        if let Some(t) = self.by_device.get(&device) {
            rects.extend(t);
        }
        rects
    }

    /// A stable text of every rectangle (a resumed export must apply the
    /// same masks as the run it continues).
    pub fn digest_text(&self) -> String {
        let mut lines: Vec<String> = self
            .by_instance
            .iter()
            .map(|(k, v)| format!("i {k} {v:?}"))
            .chain(self.by_device.iter().map(|(k, v)| format!("d {k:?} {v:?}")))
            .collect();
        lines.sort();
        lines.join("\n")
    }
}
