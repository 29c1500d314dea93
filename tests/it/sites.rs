//! Site identity (issue 13, DECISIONS 31): a patient is keyed by (Issuer of
//! Patient ID from the header, else the root's issuer, else none,
//! PatientID); one key with conflicting demographics is a recorded conflict.
//! The expected answers come from reading the generated files' headers
//! here, not from the index.

use crate::common::{assert_consistent, run, run_json, sqlite, status, synth};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (name, sex, birth date) as a file gives them ('' when absent).
type Demo = (String, String, String);

/// PatientID -> the demographics its files give, read from the headers.
fn patients_in(root: &Path) -> BTreeMap<String, BTreeSet<Demo>> {
    use dicom_dictionary_std::tags;
    let mut out: BTreeMap<String, BTreeSet<Demo>> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(obj) = dicom_object::OpenFileOptions::new()
                .read_until(tags::PIXEL_DATA)
                .open_file(&p)
            else {
                continue;
            };
            let get = |tag| {
                obj.element(tag)
                    .ok()
                    .and_then(|e| e.to_str().ok())
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default()
            };
            let pid = get(tags::PATIENT_ID);
            if pid.is_empty() {
                continue;
            }
            out.entry(pid).or_default().insert((
                get(tags::PATIENT_NAME),
                get(tags::PATIENT_SEX),
                get(tags::PATIENT_BIRTH_DATE),
            ));
        }
    }
    out
}

/// Two generated archives whose patient IDs partly collide (the generator
/// numbers patients the same way whatever the seed) with other people's
/// demographics; and the IDs that collide with different demographics.
fn two_sites(tmp: &Path) -> (PathBuf, PathBuf, BTreeSet<String>, usize, usize) {
    let a = tmp.join("site-a");
    let b = tmp.join("site-b");
    synth(&a, 40, 11, false);
    synth(&b, 40, 12, false);
    let pa = patients_in(&a);
    let pb = patients_in(&b);
    let colliding: BTreeSet<String> = pa
        .iter()
        .filter(|(id, demo)| pb.get(*id).is_some_and(|d| d != *demo))
        .map(|(id, _)| id.clone())
        .collect();
    assert!(
        colliding.len() >= 2,
        "the archives must share some IDs: {colliding:?}"
    );
    let union: BTreeSet<&String> = pa.keys().chain(pb.keys()).collect();
    (a, b, colliding, union.len(), pa.len() + pb.len())
}

fn conflicts(db: &Path) -> (i32, Vec<serde_json::Value>) {
    let (code, v) = run_json(db, &["conflicts", "--json"]);
    (code, v.as_array().expect("a list").clone())
}

fn patient_count(db: &Path) -> u64 {
    status(db)["levels"]["patients"].as_u64().unwrap()
}

/// After a complete run, every instance's demographics belong to the
/// patient of its study.
fn assert_variants_consistent(db: &Path) {
    let c = sqlite(db);
    let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        q("SELECT count(*) FROM instances WHERE variant_ref IS NULL"),
        0
    );
    assert_eq!(
        q(
            "SELECT count(*) FROM instances i JOIN series s ON s.id = i.series_ref
             JOIN studies st ON st.id = s.study_ref
             JOIN patient_variants v ON v.id = i.variant_ref
           WHERE v.patient_ref != st.patient_ref"
        ),
        0,
        "an instance's demographics belong to its study's patient"
    );
}

#[test]
fn two_sites_without_issuers_are_conflicts_and_with_issuers_two_patients() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, colliding, union, both) = two_sites(tmp.path());
    let (sa, sb) = (a.to_str().unwrap(), b.to_str().unwrap());

    // No issuer anywhere: the shared IDs merge, and each is a conflict
    // listing files from both archives.
    let db = tmp.path().join("merged.db");
    let o = run(&db, &["index", sa, sb]);
    assert_eq!(o.status.code(), Some(3), "conflicts need attention");
    assert!(String::from_utf8_lossy(&o.stdout).contains("conflicting name, sex or birth date"));
    assert_eq!(patient_count(&db), union as u64);
    let (code, list) = conflicts(&db);
    assert_eq!(code, 3);
    let ids: BTreeSet<String> = list
        .iter()
        .map(|c| c["patient_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, colliding);
    for c in &list {
        assert_eq!(c["issuer"], "");
        let files: Vec<&str> = c["variants"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| v["files"].as_array().unwrap())
            .map(|f| f.as_str().unwrap())
            .collect();
        assert!(files.iter().any(|f| f.starts_with(sa)), "{c}");
        assert!(files.iter().any(|f| f.starts_with(sb)), "{c}");
        assert!(c["variants"].as_array().unwrap().len() >= 2);
        assert!(!c["differs_in"].as_array().unwrap().is_empty());
    }
    assert_eq!(
        status(&db)["patient_conflicts"].as_u64(),
        Some(colliding.len() as u64)
    );
    let text = run(&db, &["status"]);
    assert!(
        String::from_utf8_lossy(&text.stdout)
            .contains(&format!("conflicts: {} patient ID(s)", colliding.len())),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    // The study browser marks them.
    let c = sqlite(&db);
    let marked: i64 = c
        .query_row(
            "SELECT count(DISTINCT p.patient_id) FROM patients p
             WHERE p.id IN (SELECT patient_ref FROM patient_conflicts)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(marked, colliding.len() as i64);
    assert_consistent(&db);
    assert_variants_consistent(&db);

    // Each archive with its site: two patients per shared ID, no conflict.
    let db2 = tmp.path().join("sites.db");
    assert_eq!(
        run(&db2, &["index", sa, "--issuer", "SITE-A"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&db2, &["index", sb, "--issuer", "SITE-B"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(patient_count(&db2), both as u64);
    assert_eq!(conflicts(&db2), (0, vec![]));
    assert_eq!(status(&db2)["patient_conflicts"].as_u64(), Some(0));
    let roots = status(&db2)["roots"].clone();
    let issuers: BTreeSet<&str> = roots
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["issuer"].as_str().unwrap())
        .collect();
    assert_eq!(issuers, BTreeSet::from(["SITE-A", "SITE-B"]));
    assert_consistent(&db2);
    assert_variants_consistent(&db2);

    // Giving the merged workspace's second archive its site afterwards
    // re-keys its patients: the conflicts go, the patients split.
    let o = run(&db, &["index", sb, "--issuer", "SITE-B"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(conflicts(&db), (0, vec![]));
    assert_eq!(patient_count(&db), both as u64);
    assert_consistent(&db);
    assert_variants_consistent(&db);
    // An unchanged site reads nothing again.
    let (_, v) = run_json(&db, &["index", sb, "--issuer", "SITE-B", "--json"]);
    assert_eq!(v["changed"].as_u64(), Some(0), "{v}");
    assert_eq!(v["unchanged"], v["files_seen"], "{v}");
    // Clearing it merges them again, with the conflicts.
    assert_eq!(
        run(&db, &["index", sb, "--issuer", ""]).status.code(),
        Some(3)
    );
    let (_, list) = conflicts(&db);
    assert_eq!(list.len(), colliding.len());
    assert_eq!(patient_count(&db), union as u64);
    assert_consistent(&db);
    assert_variants_consistent(&db);
}

#[test]
fn the_header_issuer_wins_over_the_roots_and_the_same_person_is_no_conflict() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("archive");
    std::fs::create_dir_all(&root).unwrap();
    let write = |name: &str, n: u32, issuer: &str, pname: &str, sex: &str| {
        let s = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
        let mut els = vec![
            s(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
            s(
                tags::SOP_INSTANCE_UID,
                VR::UI,
                &format!("1.2.826.0.1.3680043.77.{n}.3"),
            ),
            s(
                tags::STUDY_INSTANCE_UID,
                VR::UI,
                &format!("1.2.826.0.1.3680043.77.{n}.1"),
            ),
            s(
                tags::SERIES_INSTANCE_UID,
                VR::UI,
                &format!("1.2.826.0.1.3680043.77.{n}.2"),
            ),
            s(tags::PATIENT_ID, VR::LO, "MRN1"),
            s(tags::PATIENT_NAME, VR::PN, pname),
            s(tags::PATIENT_SEX, VR::CS, sex),
            s(tags::MODALITY, VR::CS, "CT"),
        ];
        if !issuer.is_empty() {
            els.push(s(tags::ISSUER_OF_PATIENT_ID, VR::LO, issuer));
        }
        InMemDicomObject::from_element_iter(els)
            .with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"))
            .unwrap()
            .write_to_file(root.join(name))
            .unwrap();
    };
    // Same person twice (name case and a missing sex are no conflict), and
    // someone else under the same ID whose header names another issuer.
    write("a.dcm", 1, "", "DOE^JANE", "F");
    write("b.dcm", 2, "", "Doe^Jane", "");
    write("c.dcm", 3, "HOSP-X", "ROE^RICHARD", "M");
    let db = tmp.path().join("ws.db");
    let o = run(
        &db,
        &["index", root.to_str().unwrap(), "--issuer", "SITE-A"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let c = sqlite(&db);
    let mut keys: Vec<(String, String)> = c
        .prepare("SELECT issuer, patient_id FROM patients ORDER BY issuer")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            ("HOSP-X".into(), "MRN1".into()),
            ("SITE-A".into(), "MRN1".into())
        ]
    );
    assert_eq!(conflicts(&db), (0, vec![]));
    // A different sex under the same key is a conflict.
    write("d.dcm", 4, "", "DOE^JANE", "M");
    assert_eq!(
        run(&db, &["index", root.to_str().unwrap()]).status.code(),
        Some(3)
    );
    let (_, list) = conflicts(&db);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["issuer"], "SITE-A");
    assert_eq!(list[0]["differs_in"], serde_json::json!(["sex"]));
    assert_consistent(&db);
    assert_variants_consistent(&db);
}

#[test]
fn a_workspace_indexed_before_sites_migrates_and_finds_its_conflicts() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, colliding, union, _) = two_sites(tmp.path());
    let (sa, sb) = (a.to_str().unwrap(), b.to_str().unwrap());
    let db = tmp.path().join("old.db");
    run(&db, &["index", sa, sb]);
    let instances = status(&db)["levels"]["instances"].as_u64().unwrap();
    // Schema 14, as the previous build left it: no issuer on roots, no
    // per-file demographics (migration 15 not applied).
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "DROP VIEW patient_conflicts;
             DROP INDEX instances_variant;
             ALTER TABLE instances DROP COLUMN variant_ref;
             DROP TABLE patient_variants;
             ALTER TABLE roots DROP COLUMN issuer;
             PRAGMA user_version = 14;",
        )
        .unwrap();
    // Opening it migrates; its conflicts are unknown until the files are
    // read again, which the next index run does.
    let st = status(&db);
    assert_eq!(st["patient_conflicts"].as_u64(), Some(0));
    assert_eq!(
        st["levels"]["instances"].as_u64(),
        Some(instances),
        "the index is kept"
    );
    let (_, v) = run_json(&db, &["index", sa, sb, "--json"]);
    assert_eq!(
        v["unchanged"].as_u64(),
        Some(0),
        "every file is read again: {v}"
    );
    let (_, list) = conflicts(&db);
    assert_eq!(list.len(), colliding.len());
    assert_eq!(patient_count(&db), union as u64);
    assert_consistent(&db);
    assert_variants_consistent(&db);
    // Then a site for each archive separates them.
    run(&db, &["index", sb, "--issuer", "SITE-B"]);
    assert_eq!(conflicts(&db), (0, vec![]));
}
