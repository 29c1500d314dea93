//! De-identified export gated by the residual-PHI scan (issue #5, first
//! slice): real generated archive, the real CLI, files re-read afterwards.

use crate::common::*;
use pacs_cohort::deid::profile::Action;
use pacs_cohort::export::ExportOptions;
use pacs_cohort::{CancelToken, Engine};

const ALL_CT: &str =
    r#"{"schema_version":1,"name":"ct","rules":[{"name":"CT","criterion":{"modality":["CT"]}}]}"#;

fn setup(tmp: &std::path::Path) -> (std::path::PathBuf, Vec<String>) {
    let archive = tmp.join("archive");
    synth(&archive, 12, 81, false);
    let db = tmp.join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let spec = tmp.join("ct.json");
    std::fs::write(&spec, ALL_CT).unwrap();
    run(&db, &["cohort", "save", "--spec", spec.to_str().unwrap()]);
    let names: Vec<String> = sqlite(&db)
        .prepare("SELECT patient_name FROM patients WHERE patient_name IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (db, names)
}

/// The exported DICOM files, relative to the export folder, sorted.
fn dcm_files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = all_files(dir)
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .filter(|p| p.ends_with(".dcm"))
        .collect();
    v.sort();
    v
}

#[test]
fn an_export_has_no_original_identifiers_and_is_valid_dicom() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, names) = setup(tmp.path());
    let out = tmp.path().join("export");
    let (code, v) = export_json(&db, "ct", &out);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["complete"], true);
    let (_, counts) = count_json(&db, tmp.path().join("ct.json").to_str().unwrap());
    assert_eq!(v["written"], counts["levels"]["instances"]["count"]);
    let files: Vec<_> = all_files(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    assert_eq!(files.len() as u64, v["written"].as_u64().unwrap());
    let pids: Vec<String> = sqlite(&db)
        .prepare("SELECT patient_id FROM patients")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        for name in &names {
            let family = name.split('^').next().unwrap().to_lowercase();
            assert!(!text.contains(&family), "{family} in {}", f.display());
        }
        for pid in &pids {
            assert!(
                !text.contains(&pid.to_lowercase()),
                "{pid} in {}",
                f.display()
            );
        }
        let path = f.to_string_lossy();
        assert!(
            !pids.iter().any(|p| path.contains(p.as_str())),
            "file names are pseudonymous"
        );
        // Valid DICOM: the reader indexes it as an instance.
        assert!(matches!(
            pacs_cohort::dicom::read_header(f),
            pacs_cohort::dicom::ReadOutcome::Instance(_)
        ));
    }
    assert!(out.join("manifest.json").exists());
    // The gate alone: clean on the export, findings on the source archive.
    let (code, f) = scan_phi_json(&db, &out, "ct");
    assert_eq!((code, f.as_array().unwrap().len()), (0, 0), "{f}");
    let source = tmp.path().join("archive");
    let (code, f) = scan_phi_json(&db, &source, "ct");
    assert_eq!(code, 1);
    assert!(
        f.as_array().unwrap().len() > 10,
        "the source is full of identifiers"
    );
    // An empty cohort writes nothing and says why.
    let none = tmp.path().join("none.json");
    std::fs::write(
        &none,
        r#"{"schema_version":1,"name":"none","rules":[{"name":"NM","criterion":{"modality":["NM"]}}]}"#,
    )
    .unwrap();
    run(&db, &["cohort", "save", "--spec", none.to_str().unwrap()]);
    let empty = tmp.path().join("empty-export");
    let o = run(
        &db,
        &[
            "export",
            "--cohort",
            "none",
            "--out",
            empty.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no instances to export"));
    assert!(!empty.exists());
    // Exports never overwrite.
    let again = run(
        &db,
        &["export", "--cohort", "ct", "--out", out.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    // Pseudonyms are stable across exports (linkage).
    let out2 = tmp.path().join("export2");
    run(
        &db,
        &["export", "--cohort", "ct", "--out", out2.to_str().unwrap()],
    );
    assert_eq!(dcm_files(&out), dcm_files(&out2));
}

#[test]
fn a_broken_profile_fails_the_scan_and_leaves_no_finished_export() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = setup(tmp.path());
    let out = tmp.path().join("export");
    let engine = Engine::open(&db).unwrap();
    let broken = ExportOptions {
        overrides: vec![((0x0008, 0x0090), Action::K)], // keep Referring Physician's Name
        ..Default::default()
    };
    let inside = ExportOptions {
        reid_table: Some(out.join("reid.csv")),
        ..Default::default()
    };
    assert!(
        engine
            .export_cohort("ct", &out, &inside, &CancelToken::new(), &mut |_| {})
            .is_err(),
        "no re-identification table inside the export"
    );
    let table = tmp.path().join("reid.csv");
    let broken = ExportOptions {
        reid_table: Some(table.clone()),
        ..broken
    };
    let report = engine
        .export_cohort("ct", &out, &broken, &CancelToken::new(), &mut |_| {})
        .unwrap();
    assert!(!table.exists(), "a failed export hands no table to anyone");
    assert!(!report.complete);
    assert!(!out.exists(), "not presented as a finished export");
    assert!(
        report.folder.contains("export.incomplete-"),
        "{}",
        report.folder
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.attribute == "(0008,0090)" && f.path == "(0008,0090)"),
        "{:?}",
        report.findings.first()
    );
    // The report on disk says where, never what.
    let on_disk =
        std::fs::read_to_string(std::path::Path::new(&report.folder).join("scan-report.json"))
            .unwrap();
    for f in &report.findings {
        assert!(
            !on_disk.contains(&format!("\"{}\"", f.matched)),
            "{}",
            f.matched
        );
    }
    assert!(on_disk.contains("characters]"));
}

/// A CT instance with PHI planted where profiles usually miss it: a private
/// element, a free-text description, a nested sequence, overlay bytes, and
/// the file meta.
fn planted_file(path: &std::path::Path, uid_suffix: u32) {
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    let s = |tag: Tag, vr: VR, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let nested = InMemDicomObject::from_element_iter([
        s(tags::REQUESTING_PHYSICIAN, VR::PN, "Quartermaine^Hortensia"),
        s(
            tags::REQUESTED_PROCEDURE_DESCRIPTION,
            VR::LO,
            "CT chest for Quartermaine",
        ),
    ]);
    let obj = InMemDicomObject::from_element_iter([
        s(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
        s(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
        s(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            &format!("1.2.826.0.1.3680043.99.{uid_suffix}"),
        ),
        s(tags::STUDY_DATE, VR::DA, "20210405"),
        s(tags::ACCESSION_NUMBER, VR::SH, "PLANT7781"),
        s(tags::MODALITY, VR::CS, "CT"),
        s(
            tags::STUDY_DESCRIPTION,
            VR::LO,
            "CT chest - Quartermaine 55F",
        ),
        s(tags::PATIENT_NAME, VR::PN, "Quartermaine^Hortensia"),
        s(tags::PATIENT_ID, VR::LO, "PLANTED-MRN-4411"),
        s(tags::PATIENT_BIRTH_DATE, VR::DA, "19660302"),
        s(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.826.0.1.3680043.99.1"),
        s(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.99.2",
        ),
        s(Tag(0x0029, 0x0010), VR::LO, "ACME 1.0"),
        s(
            Tag(0x0029, 0x1001),
            VR::LO,
            "Quartermaine^Hortensia PLANTED-MRN-4411",
        ),
        DataElement::new(
            tags::REQUEST_ATTRIBUTES_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![nested]),
        ),
        DataElement::new(
            Tag(0x6000, 0x3000),
            VR::OB,
            PrimitiveValue::from(b"Quartermaine overlay".to_vec()),
        ),
    ]);
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .source_application_entity_title("QUARTERMAINE"),
        )
        .unwrap();
    file.write_to_file(path).unwrap();
}

#[test]
fn planted_phi_in_private_nested_description_overlay_and_meta_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    planted_file(&archive.join("a.dcm"), 3);
    planted_file(&archive.join("b.dcm"), 4);
    let db = index_with_cohort_of_all(tmp.path(), &archive);
    let out = tmp.path().join("export");
    let (code, v) = export_json(&db, "all", &out);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["written"], 2);
    for f in all_files(&out) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).to_lowercase();
        for phi in [
            "quartermaine",
            "hortensia",
            "planted-mrn-4411",
            "plant7781",
            "19660302",
            "1966-03-02",
            "1.2.826.0.1.3680043.99",
        ] {
            assert!(!text.contains(phi), "{phi} left in {}", f.display());
        }
    }
    // The same files before de-identification are caught by the scan.
    let (code, findings) = scan_phi_json(&db, &archive, "all");
    assert_eq!(code, 1);
    let attrs: Vec<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["attribute"].as_str().unwrap())
        .collect();
    assert!(
        attrs.contains(&"(0010,0010)") && attrs.contains(&"(0032,1032)"),
        "{attrs:?}"
    );
    assert!(
        findings
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "(0040,0275)[0].(0032,1032)" && f["attribute"] == "(0032,1032)"),
        "the tag path of a nested value: {findings}"
    );
}

#[test]
fn a_shared_key_gives_the_same_pseudonyms_on_another_workstation() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = setup(tmp.path());
    let key = tmp.path().join("team.key");
    assert!(run(&db, &["key", "export", "--out", key.to_str().unwrap()])
        .status
        .success());
    let other = tmp.path().join("other.db");
    assert!(run(&other, &["key", "import", key.to_str().unwrap()])
        .status
        .success());
    run(
        &other,
        &["index", tmp.path().join("archive").to_str().unwrap()],
    );
    run(
        &other,
        &[
            "cohort",
            "save",
            "--spec",
            tmp.path().join("ct.json").to_str().unwrap(),
        ],
    );
    let fp = |d: &std::path::Path| {
        String::from_utf8_lossy(&run(d, &["key", "fingerprint"]).stdout)
            .trim()
            .to_string()
    };
    assert_eq!(fp(&db), fp(&other));
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(
        &db,
        &["export", "--cohort", "ct", "--out", a.to_str().unwrap()],
    );
    run(
        &other,
        &["export", "--cohort", "ct", "--out", b.to_str().unwrap()],
    );
    assert!(!dcm_files(&a).is_empty());
    assert_eq!(dcm_files(&a), dcm_files(&b));
    // A different key would break linkage: refused without --replace.
    let third = tmp.path().join("third.db");
    run(&third, &["key", "fingerprint"]);
    let out = run(&third, &["key", "import", key.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("different key"));
}

#[test]
fn the_reidentification_table_maps_originals_to_pseudonyms_outside_the_export() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = setup(tmp.path());
    let out = tmp.path().join("export");
    let table = tmp.path().join("broker").join("reid.csv");
    std::fs::create_dir_all(table.parent().unwrap()).unwrap();
    let o = run(
        &db,
        &[
            "export",
            "--cohort",
            "ct",
            "--out",
            out.to_str().unwrap(),
            "--reid-table",
            table.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&table).unwrap();
    assert!(text.starts_with("# RE-IDENTIFICATION TABLE"));
    let rows: Vec<&str> = text.lines().skip(2).collect();
    let patients_in_export: std::collections::BTreeSet<String> = all_files(&out)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .map(|p| {
            p.strip_prefix(&out)
                .unwrap()
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(rows.len(), patients_in_export.len());
    for r in rows {
        let pseudo = r.rsplit(',').next().unwrap();
        assert!(patients_in_export.contains(pseudo), "{r}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&table).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Never overwritten: refused before any work.
    let again = tmp.path().join("export-again");
    let o = run(
        &db,
        &[
            "export",
            "--cohort",
            "ct",
            "--out",
            again.to_str().unwrap(),
            "--reid-table",
            table.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    assert!(!again.exists() && incomplete_of(&again).is_none());
}

#[test]
fn the_csv_and_json_manifests_list_every_file_with_its_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = setup(tmp.path());
    let out = tmp.path().join("export");
    let o = run(
        &db,
        &["export", "--cohort", "ct", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut csv = csv::Reader::from_path(out.join("manifest.csv")).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    for col in [
        "file",
        "patient",
        "sop_instance_uid",
        "sha256",
        "rules_edition",
        "app_version",
        "key_fingerprint",
        "profile_options",
    ] {
        assert!(header.iter().any(|h| h == col), "{col} in {header:?}");
    }
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), dcm_files(&out).len());
    for r in &rows {
        let bytes = std::fs::read(out.join(&r[0])).unwrap();
        let sha: String =
            sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes))
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
        assert_eq!(&r[5], sha, "{}", &r[0]);
        assert!(r[1].starts_with('P'), "pseudonymous patient: {}", &r[1]);
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(json["files"].as_array().unwrap().len(), rows.len());
    assert!(
        !json.to_string().contains("\"key\""),
        "never the key itself"
    );
    let applied = json["profile_options"].as_str().unwrap();
    for code in [
        "113100 Basic",
        "113107 Retain Longitudinal",
        "113105 Clean Descriptors",
    ] {
        assert!(applied.contains(code), "{code} in {applied}");
    }
    assert!(
        !applied.contains("113106"),
        "only what was applied: {applied}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("scan-report.json")).unwrap()).unwrap();
    assert_eq!(report["clean"], true);
    assert_eq!(report["files_scanned"], rows.len());
    for hidden in [".export-state.json", ".export-journal.jsonl"] {
        assert!(
            !out.join(hidden).exists(),
            "{hidden} removed from a finished export"
        );
    }
}

#[test]
fn a_cancelled_export_resumes_taking_over_only_verified_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = setup(tmp.path());
    let engine = Engine::open(&db).unwrap();
    let opts = ExportOptions {
        profile: pacs_cohort::deid::profile::Options {
            retain_long_modified_dates: true,
            clean_descriptors: true,
            ..Default::default()
        },
        ..Default::default()
    };
    // A fresh export, for comparison.
    let fresh = tmp.path().join("fresh");
    let r = engine
        .export_cohort("ct", &fresh, &opts, &CancelToken::new(), &mut |_| {})
        .unwrap();
    assert!(r.complete);
    // Cancel when writing is done and the scan starts.
    let out = tmp.path().join("export");
    let cancel = CancelToken::new();
    let mut phases = Vec::new();
    let r = engine
        .export_cohort("ct", &out, &opts, &cancel, &mut |p| {
            phases.push(p.phase);
            if p.phase == pacs_cohort::export::ExportPhase::Scanning {
                cancel.cancel();
            }
        })
        .unwrap();
    assert!(r.cancelled && !r.complete, "{r:?}");
    assert!(phases.contains(&pacs_cohort::export::ExportPhase::Writing));
    assert!(!out.exists());
    let first = std::path::PathBuf::from(&r.folder);
    let written = dcm_files(&first);
    assert_eq!(written, dcm_files(&fresh));
    // A crash-like state: one file damaged, one missing.
    std::fs::write(first.join(&written[0]), b"half a file").unwrap();
    std::fs::remove_file(first.join(&written[1])).unwrap();
    // Different options cannot resume this run.
    let other = ExportOptions {
        resume: true,
        ..Default::default()
    };
    let e = engine
        .export_cohort("ct", &out, &other, &CancelToken::new(), &mut |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("no unfinished run"), "{e}");
    // Resume: everything verified is taken over, the rest written again.
    let resume = ExportOptions {
        resume: true,
        ..opts.clone()
    };
    let r = engine
        .export_cohort("ct", &out, &resume, &CancelToken::new(), &mut |_| {})
        .unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(r.reused as usize, written.len() - 2);
    assert_eq!(r.resumed_from.as_deref(), Some(first.to_str().unwrap()));
    assert_eq!(dcm_files(&out), dcm_files(&fresh));
    for f in dcm_files(&out) {
        assert_eq!(
            std::fs::read(out.join(&f)).unwrap(),
            std::fs::read(fresh.join(&f)).unwrap(),
            "{f}: same bytes as an uninterrupted export"
        );
    }
    assert!(
        first.exists(),
        "the cancelled run stays for inspection (DECISIONS 22)"
    );
}
