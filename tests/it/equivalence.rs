//! The fast header path (values read from the pre-scanned bytes) must give
//! exactly what a full dicom-object parse gives, on real and generated files.

use crate::common::*;
use pacs_cohort::dicom::{read_header, read_header_with_dicom_object, ReadOutcome};
use std::path::Path;

fn assert_same(dir: &Path) -> usize {
    let mut instances = 0;
    for p in all_files(dir) {
        let fast = read_header(&p);
        let reference = read_header_with_dicom_object(&p);
        match (&fast, &reference) {
            (ReadOutcome::Instance(a), ReadOutcome::Instance(b)) => {
                assert_eq!(a, b, "{}", p.display());
                instances += 1;
            }
            (ReadOutcome::Problem(a, _), ReadOutcome::Problem(b, _)) => {
                assert_eq!(a, b, "{}", p.display())
            }
            _ => panic!(
                "{}: fast {fast:?} vs dicom-object {reference:?}",
                p.display()
            ),
        }
    }
    instances
}

#[test]
fn fast_path_matches_dicom_object_on_real_files() {
    let n = assert_same(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/real"
    )));
    assert!(n >= 11, "compared {n} instances");
}

#[test]
fn fast_path_matches_dicom_object_on_generated_files() {
    let tmp = tempfile::tempdir().unwrap();
    let s = synth(tmp.path(), 25, 41, true);
    let n = assert_same(tmp.path());
    assert_eq!(
        n as u64,
        s.instances + 1,
        "the duplicate is an instance too at this level"
    );
}
