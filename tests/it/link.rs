//! Linked EHR data: CSV import through the CLI, criteria on linked columns.

use crate::common::*;
use std::fmt::Write;

#[test]
fn an_ehr_csv_links_by_patient_id_and_becomes_a_criterion() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 30, 61, false);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let c = sqlite(&db);
    let ids: Vec<String> = c
        .prepare("SELECT patient_id FROM patients ORDER BY patient_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // Every third patient is a current smoker; FEV1 is a number; one row
    // has a bad number and one key is unknown to the index.
    let mut csv = String::from("\u{feff}patient_id,smoking,fev1_l,diagnosed\n");
    for (i, id) in ids.iter().enumerate() {
        let smoking = if i % 3 == 0 { "current" } else { "never" };
        writeln!(
            csv,
            "{id},{smoking},{:.1},2019-0{}-15",
            1.5 + (i % 5) as f64 * 0.5,
            1 + i % 9
        )
        .unwrap();
    }
    csv.push_str("NOT-IN-INDEX,current,n/a,2020-01-01\n");
    csv.push_str("\"quoted, id\",\"never\",2.0,2020-01-01\n");
    let file = tmp.path().join("ehr.csv");
    std::fs::write(&file, csv).unwrap();

    let (code, preview) = run_json(
        &db,
        &[
            "link",
            "import-csv",
            file.to_str().unwrap(),
            "--name",
            "clinic",
            "--preview",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{preview}");
    let kinds: Vec<(String, String)> = preview["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(kinds[0], ("smoking".into(), "text".into()));
    assert_eq!(
        kinds[1],
        ("fev1_l".into(), "text".into()),
        "'n/a' makes the column text"
    );
    assert_eq!(kinds[2], ("diagnosed".into(), "date".into()));
    assert_eq!(
        sqlite(&db)
            .query_row("SELECT count(*) FROM ehr_values", [], |r| r
                .get::<_, i64>(0))
            .unwrap(),
        0,
        "preview writes nothing"
    );

    let (code, r) = run_json(
        &db,
        &[
            "link",
            "import-csv",
            file.to_str().unwrap(),
            "--name",
            "clinic",
            "--type",
            "fev1_l=number",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["rows"], ids.len() + 2);
    assert_eq!(r["rows_linked"], ids.len());
    assert_eq!(r["values_not_parsed"], 1);

    let spec = tmp.path().join("smokers.json");
    std::fs::write(&spec, r#"{"schema_version":1,"name":"smokers","unit":"patient","rules":[
        {"name":"current smoker","criterion":{"ehr":{"dataset":"clinic","column":"smoking","any_of":["CURRENT"]}}},
        {"name":"FEV1 >= 2","criterion":{"ehr":{"dataset":"clinic","column":"fev1_l","min":2.0}}}]}"#).unwrap();
    let (code, v) = count_json(&db, spec.to_str().unwrap());
    assert_eq!(code, 0, "{v}");
    let smokers = ids.len().div_ceil(3) as u64;
    let steps = v["attrition"].as_array().unwrap();
    assert_eq!(steps[0]["remaining"]["count"], smokers);
    let expected = (0..ids.len())
        .filter(|i| i % 3 == 0 && 1.5 + (i % 5) as f64 * 0.5 >= 2.0)
        .count() as u64;
    assert_eq!(steps[1]["remaining"]["count"], expected);

    // Re-importing replaces the dataset; a wrong key column is a clear error.
    let out = run(
        &db,
        &[
            "link",
            "import-csv",
            file.to_str().unwrap(),
            "--name",
            "clinic",
            "--key-column",
            "mrn",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no column named 'mrn'") && err.contains("patient_id"),
        "{err}"
    );
    let (_, list) = run_json(&db, &["link", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
}

/// A one-image CT study of patient `pid` at `issuer`.
fn patient_at_site(path: &std::path::Path, issuer: &str, pid: &str, n: u32) {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    let s = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    InMemDicomObject::from_element_iter([
        s(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
        s(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            &format!("1.2.826.0.1.3680043.55.{n}.3"),
        ),
        s(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            &format!("1.2.826.0.1.3680043.55.{n}.1"),
        ),
        s(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &format!("1.2.826.0.1.3680043.55.{n}.2"),
        ),
        s(tags::PATIENT_ID, VR::LO, pid),
        s(tags::ISSUER_OF_PATIENT_ID, VR::LO, issuer),
        s(tags::MODALITY, VR::CS, "CT"),
        s(tags::STUDY_DATE, VR::DA, "20240101"),
    ])
    .with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"))
    .unwrap()
    .write_to_file(path)
    .unwrap();
}

#[test]
fn the_same_patient_id_at_two_sites_links_by_issuer() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    patient_at_site(&archive.join("a.dcm"), "SITE-A", "MRN7", 1);
    patient_at_site(&archive.join("b.dcm"), "SITE-B", "MRN7", 2);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let csv = tmp.path().join("clinic.csv");
    std::fs::write(
        &csv,
        "site,patient_id,smoking\nSITE-A,MRN7,CURRENT\nSITE-B,MRN7,NEVER\n",
    )
    .unwrap();
    let spec = tmp.path().join("smokers.json");
    std::fs::write(&spec, r#"{"schema_version":1,"name":"smokers","unit":"patient","rules":[
        {"name":"current smoker","criterion":{"ehr":{"dataset":"clinic","column":"smoking","any_of":["CURRENT"]}}}]}"#).unwrap();
    let smokers = || {
        let (code, v) = count_json(&db, spec.to_str().unwrap());
        assert_eq!(code, 0, "{v}");
        v["levels"]["patients"]["count"].as_u64().unwrap()
    };
    // Without the issuer, MRN7 is both people: both count as smokers.
    let (code, r) = run_json(
        &db,
        &[
            "link",
            "import-csv",
            csv.to_str().unwrap(),
            "--name",
            "clinic",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(smokers(), 2, "the ambiguity an issuer column resolves");
    let (code, r) = run_json(
        &db,
        &[
            "link",
            "import-csv",
            csv.to_str().unwrap(),
            "--name",
            "clinic",
            "--issuer-column",
            "site",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["issuer_column"], "site");
    assert_eq!(r["rows_linked"], 2, "(issuer, ID) pairs found in the index");
    assert!(
        r["columns"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "site"),
        "the issuer is not a data column: {r}"
    );
    assert_eq!(smokers(), 1);
    let o = run(
        &db,
        &[
            "link",
            "import-csv",
            csv.to_str().unwrap(),
            "--name",
            "clinic",
            "--issuer-column",
            "hospital",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no column named 'hospital'"));
}

#[test]
fn a_workspace_from_an_older_build_is_upgraded_when_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    patient_at_site(&archive.join("a.dcm"), "SITE-A", "MRN7", 1);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    // The latest schema version, from a fresh workspace.
    let fresh = tmp.path().join("fresh.db");
    run(&fresh, &["index", archive.to_str().unwrap()]);
    let latest: i64 = sqlite(&fresh)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    // Schema 9, as that build left it: what later migrations add is not
    // there yet.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "ALTER TABLE ehr_values DROP COLUMN issuer;
             DROP TABLE IF EXISTS export_waivers;
             DROP TABLE IF EXISTS review_approved_content;
             DROP TABLE IF EXISTS review_events;
             DROP TABLE IF EXISTS series_features;
             DROP TABLE IF EXISTS feature_runs;
             DROP TABLE IF EXISTS analysis_runs;
             DROP TABLE IF EXISTS pacs_nodes;
             DROP TABLE IF EXISTS remote_series;
             DROP TABLE IF EXISTS harvest_runs;
             DROP VIEW IF EXISTS patient_conflicts;
             DROP INDEX IF EXISTS instances_variant;
             ALTER TABLE instances DROP COLUMN variant_ref;
             DROP TABLE IF EXISTS patient_variants;
             ALTER TABLE roots DROP COLUMN issuer;
             PRAGMA user_version = 9;",
        )
        .unwrap();
    let spec = tmp.path().join("ehr.json");
    std::fs::write(&spec, r#"{"schema_version":1,"name":"x","rules":[
        {"name":"smoker","criterion":{"ehr":{"dataset":"clinic","column":"smoking","any_of":["CURRENT"]}}}]}"#).unwrap();
    let (code, v) = count_json(&db, spec.to_str().unwrap());
    assert_eq!(code, 0, "a schema-9 workspace with an EHR rule: {v}");
    let version: i64 = sqlite(&db)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(latest >= 15, "{latest}");
    assert_eq!(version, latest, "migrated to the latest schema");
}
