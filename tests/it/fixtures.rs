//! Real public DICOM files (tests/fixtures/real, see PROVENANCE.md).

use crate::common::*;
use std::path::Path;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real"))
}

#[test]
fn real_files_get_the_expected_statuses() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    let (code, v) = run_json(&db, &["index", fixtures().to_str().unwrap(), "--json"]);
    assert_eq!(
        code, 3,
        "truncated and missing-uid files need attention: {v}"
    );
    assert_eq!(v["files_seen"], 15);
    let st = &v["status"];
    assert_eq!(st["ok"], 8, "{v}");
    assert_eq!(
        st["duplicate"], 3,
        "the MR_small files share one SOP Instance UID"
    );
    assert_eq!(st["truncated"], 1);
    assert_eq!(st["missing-uid"], 1);
    assert_eq!(st["dicomdir"], 1);
    assert_eq!(st["not-dicom"], 1, "PROVENANCE.md is not DICOM");
    assert_eq!(v["levels"]["instances"], 8);
    // The canonical copy is the smallest path: "MR_small_RLE" < "MR_small_bigendian".
    assert_eq!(file_status(&db, "MR_small_RLE.dcm").0, "ok");
    let (s, reason) = file_status(&db, "MR_small_bigendian.dcm");
    assert_eq!(s, "duplicate");
    assert!(reason.contains("MR_small_RLE.dcm"), "{reason}");
    let (s, reason) = file_status(&db, "MR_truncated.dcm");
    assert_eq!(s, "truncated");
    assert!(reason.contains("pixel data"), "{reason}");
    assert_consistent(&db);
}

#[test]
fn text_is_decoded_per_specific_character_set() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    run(&db, &["index", fixtures().to_str().unwrap()]);
    let c = sqlite(&db);
    let names: Vec<String> = c
        .prepare("SELECT patient_name FROM patients ORDER BY patient_name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        names.iter().any(|n| n == "Люкceмбypг"),
        "ISO_IR 144 decoded: {names:?}"
    );
    assert!(
        names.iter().any(|n| n.contains("王^小東")),
        "UTF-8 decoded: {names:?}"
    );
}

#[test]
fn derived_attributes_are_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    run(&db, &["index", fixtures().to_str().unwrap()]);
    let c = sqlite(&db);
    let (date, modality, thickness): (String, String, f64) = c
        .query_row(
            "SELECT st.study_date, s.modality, i.slice_thickness_mm FROM instances i
             JOIN series s ON s.id = i.series_ref JOIN studies st ON st.id = s.study_ref
             JOIN files f ON f.id = i.file_ref WHERE f.rel_path = CAST('CT_small.dcm' AS BLOB)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(date, "2004-01-19");
    assert_eq!(modality, "CT");
    assert!((thickness - 5.0).abs() < 1e-9);
}
