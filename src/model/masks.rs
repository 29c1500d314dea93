//! Pixel masks as stored: per source instance, and templates per device
//! and image size (burned-in text sits in the same place on every image a
//! device makes at one size).

pub use crate::deid::mask::Rect;
use serde::{Deserialize, Serialize};

/// A rectangle recorded for one source instance (by its original SOP
/// Instance UID, never an index row id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceMask {
    pub id: i64,
    pub sop_instance_uid: String,
    pub rect: Rect,
    pub note: String,
}

/// The images a template applies to: exact manufacturer and model (trimmed)
/// and image size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeviceKey {
    pub manufacturer: String,
    pub model: String,
    pub rows: u32,
    pub columns: u32,
}

/// One rectangle of a named template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskTemplate {
    pub id: i64,
    pub name: String,
    pub device: DeviceKey,
    pub rect: Rect,
}
