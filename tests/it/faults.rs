//! The generator's odd and hostile files each end with the right status.

use crate::common::*;
use pacs_cohort::dicom::{read_header, ReadOutcome};
use pacs_cohort::model::FileStatus;

#[test]
fn every_fault_gets_its_status_and_nothing_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let s = synth(&archive, 12, 5, true);
    let db = tmp.path().join("ws.db");
    let (code, v) = run_json(&db, &["index", archive.to_str().unwrap(), "--json"]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["files_seen"], s.files);
    assert_eq!(
        v["status"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum::<u64>(),
        s.files,
        "every file has exactly one status"
    );
    assert_eq!(v["levels"]["instances"], s.instances);
    let expect = [
        ("duplicate", "duplicate"),
        ("no-preamble", "ok"),
        ("no-meta", "ok"),
        ("big-endian", "ok"),
        ("truncated-header", "truncated"),
        ("truncated-pixels", "truncated"),
        ("zero-bytes", "not-dicom"),
        ("random-bytes", "not-dicom"),
        ("text", "not-dicom"),
        ("missing-uid", "missing-uid"),
        ("dicomdir", "dicomdir"),
        ("deep-nesting", "unreadable"),
        ("wrong-endian", "unreadable"),
    ];
    for (kind, status) in expect {
        let rel = &s
            .faults
            .iter()
            .find(|(k, _)| k == kind)
            .unwrap_or_else(|| panic!("fault {kind} generated"))
            .1;
        let (got, reason) = file_status(&db, rel);
        assert_eq!(got, status, "{kind} ({rel}): {reason}");
        if status != "ok" {
            assert!(!reason.is_empty(), "{kind} has a reason");
        }
    }
    assert_consistent(&db);
}

#[test]
fn hostile_nesting_is_refused_before_the_parser_even_on_a_small_stack() {
    let tmp = tempfile::tempdir().unwrap();
    let s = synth(tmp.path(), 2, 3, true);
    let rel = s
        .faults
        .iter()
        .find(|(k, _)| k == "deep-nesting")
        .unwrap()
        .1
        .clone();
    let path = tmp.path().join(rel);
    // dicom-object alone recurses once per level and overflows a stack this
    // small; the pre-scan refuses the file first.
    let outcome = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || read_header(&path))
        .unwrap()
        .join()
        .expect("no stack overflow");
    match outcome {
        ReadOutcome::Problem(FileStatus::Unreadable, reason) => {
            assert!(reason.contains("nested"), "{reason}")
        }
        other => panic!("expected unreadable, got {other:?}"),
    }
}

#[test]
fn synth_is_deterministic_from_the_seed() {
    let hash_tree = |dir: &std::path::Path| -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let bytes = std::fs::read(&p).unwrap();
                    // FNV-1a: enough to compare trees.
                    let h = bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
                        (h ^ *b as u64).wrapping_mul(0x100000001b3)
                    });
                    out.push((p.strip_prefix(dir).unwrap().display().to_string(), h));
                }
            }
        }
        out.sort();
        out
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    synth(a.path(), 6, 42, true);
    synth(b.path(), 6, 42, true);
    synth(c.path(), 6, 43, true);
    assert_eq!(hash_tree(a.path()), hash_tree(b.path()));
    assert_ne!(hash_tree(a.path()), hash_tree(c.path()));
}

#[test]
fn synth_cli_writes_a_varied_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a");
    let o = bin()
        .args([
            "synth",
            "--patients",
            "30",
            "--seed",
            "2",
            "--json",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let db = tmp.path().join("ws.db");
    run(&db, &["index", out.to_str().unwrap()]);
    let c = sqlite(&db);
    let distinct = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert!(distinct("SELECT count(DISTINCT modality) FROM series") >= 4);
    assert!(
        distinct("SELECT count(DISTINCT transfer_syntax_uid) FROM instances") >= 4,
        "explicit, implicit, deflate, RLE, JPEG"
    );
    assert!(distinct("SELECT count(DISTINCT institution_name) FROM series") >= 3);
    assert!(distinct("SELECT count(DISTINCT manufacturer) FROM series") >= 3);
    assert_eq!(
        distinct(
            "SELECT count(*) FROM studies WHERE age_at_study_years < 18 OR age_at_study_years > 95"
        ),
        0
    );
    assert_eq!(distinct("SELECT count(DISTINCT sex) FROM patients"), 2);
    let years = distinct("SELECT count(DISTINCT substr(study_date, 1, 4)) FROM studies");
    assert!(years >= 5, "studies spread over years: {years}");
}
