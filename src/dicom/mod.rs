//! The only module that calls dicom-rs: header extraction (stopping before
//! Pixel Data, guarded by a bounded pre-scan) and writing objects (for the
//! synthetic archive generator). It must not touch SQLite or the network.

mod extract;
pub mod prescan;
mod read;
pub mod sr;
pub mod write;

pub use read::{
    read_header, read_header_bytes, read_header_with_dicom_object, read_whole, ReadOutcome,
    MAX_HEADER_BYTES,
};
