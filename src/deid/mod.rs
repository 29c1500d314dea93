//! De-identification (DICOM PS3.15 Annex E): the profile as data, keyed
//! pseudonyms, date shifting. This module decides what happens to each
//! value; applying it to objects and writing files is the export's job
//! (next). Never logs values.

pub mod apply;
pub mod dates;
pub mod diff;
pub mod keyfile;
pub mod mask;
pub mod profile;
pub mod pseudonym;
pub mod scan;
