//! An indexed image as the viewer, the review and thumbnails address it.

use std::path::PathBuf;

/// One indexed instance: its file, its patient (for the keyed pseudonym
/// and date shift) and what the index knows of its pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRef {
    pub path: PathBuf,
    pub issuer: String,
    pub patient_id: String,
    pub sop_uid: String,
    pub instance_number: Option<i64>,
    /// Number of Frames (1 when absent).
    pub frames: u32,
    pub transfer_syntax: String,
    /// The file's size and modification time when it was indexed: a
    /// cached thumbnail or an approval made before a change is stale.
    pub size: i64,
    pub mtime_ns: i64,
}
