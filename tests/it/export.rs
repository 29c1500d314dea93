//! De-identified export gated by the residual-PHI scan (issue #5, first
//! slice): real generated archive, the real CLI, files re-read afterwards.

use crate::common::*;
use pacs_cohort::deid::profile::Action;
use pacs_cohort::export::ExportOptions;
use pacs_cohort::Engine;

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

#[test]
fn an_export_has_no_original_identifiers_and_is_valid_dicom() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, names) = setup(tmp.path());
    let out = tmp.path().join("export");
    let (code, v) = run_json(
        &db,
        &[
            "export",
            "--cohort",
            "ct",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["complete"], true);
    let (_, counts) = run_json(
        &db,
        &[
            "cohort",
            "count",
            "--spec",
            tmp.path().join("ct.json").to_str().unwrap(),
            "--json",
        ],
    );
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
    let (code, f) = run_json(
        &db,
        &[
            "scan-phi",
            out.to_str().unwrap(),
            "--against",
            "ct",
            "--json",
        ],
    );
    assert_eq!((code, f.as_array().unwrap().len()), (0, 0), "{f}");
    let source = tmp.path().join("archive");
    let (code, f) = run_json(
        &db,
        &[
            "scan-phi",
            source.to_str().unwrap(),
            "--against",
            "ct",
            "--json",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        f.as_array().unwrap().len() > 10,
        "the source is full of identifiers"
    );
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
    let rel = |dir: &std::path::Path| -> Vec<String> {
        all_files(dir)
            .iter()
            .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
            .filter(|p| p.ends_with(".dcm"))
            .collect()
    };
    assert_eq!(rel(&out), rel(&out2));
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
    let report = engine.export_cohort("ct", &out, &broken).unwrap();
    assert!(!report.complete);
    assert!(!out.exists(), "not presented as a finished export");
    assert!(
        report.folder.contains("export.incomplete-"),
        "{}",
        report.folder
    );
    assert!(
        report.findings.iter().any(|f| f.attribute == "(0008,0090)"),
        "{:?}",
        report.findings.first()
    );
}
