//! Reading and writing DICOM files: header extraction (stopping before
//! Pixel Data, guarded by a bounded pre-scan), whole-file reads for the
//! export (files without a usable file meta included), and writing objects
//! (for the synthetic archive generator). De-identification (`deid`) and the
//! export's gate work on the dicom-object data sets read here. It must not
//! touch SQLite or the network.

pub(crate) mod extract;
pub mod prescan;
mod read;
pub mod sr;
pub mod write;

pub use prescan::tag_text;
pub use read::{
    read_header, read_header_bytes, read_header_with_dicom_object, read_whole, ReadOutcome,
    MAX_HEADER_BYTES,
};
