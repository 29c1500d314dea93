//! Re-scans: unchanged files are not reopened, changes are picked up,
//! vanished files leave, duplicates are promoted, missing roots are kept.

use crate::common::*;

#[test]
fn rescan_detects_new_changed_and_removed_files() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let s = synth(&archive, 10, 11, false);
    let db = tmp.path().join("ws.db");
    let (code, first) = run_json(&db, &["index", archive.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{first}");
    assert_eq!(first["new"], s.files);

    let (_, again) = run_json(&db, &["index", archive.to_str().unwrap(), "--json"]);
    assert_eq!(again["unchanged"], s.files);
    assert_eq!(again["new"], 0);
    assert_eq!(again["levels"], first["levels"]);

    // Change one file (cut it short), remove one, add one.
    let (_, files) = run_json(&db, &["files", "--status", "ok", "--json"]);
    let files = files.as_array().unwrap();
    let victim = files[0]["path"].as_str().unwrap().to_string();
    let gone = files[1]["path"].as_str().unwrap().to_string();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() - 10]).unwrap();
    std::fs::remove_file(&gone).unwrap();
    std::fs::write(archive.join("new.txt"), b"hello").unwrap();

    let (code, third) = run_json(&db, &["index", archive.to_str().unwrap(), "--json"]);
    assert_eq!(code, 3, "the truncated file needs attention: {third}");
    assert_eq!(third["new"], 1);
    assert_eq!(third["changed"], 1);
    assert_eq!(third["removed"], 1);
    assert_eq!(third["unchanged"], s.files - 2);
    assert_eq!(third["levels"]["instances"], s.instances - 2);
    assert_eq!(file_status(&db, &victim).0, "truncated");
    assert_consistent(&db);
}

#[test]
fn a_duplicate_is_promoted_when_the_canonical_copy_vanishes() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let s = synth(&archive, 3, 12, false);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let (_, files) = run_json(&db, &["files", "--status", "ok", "--json"]);
    let canonical = files[0]["path"].as_str().unwrap().to_string();
    let copy = archive.join("zz-copies").join("copy.dcm");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(&canonical, &copy).unwrap();
    let (_, v) = run_json(&db, &["index", archive.to_str().unwrap(), "--json"]);
    assert_eq!(v["status"]["duplicate"], 1);
    assert_eq!(
        v["levels"]["instances"], s.instances,
        "a duplicate is not double-counted"
    );

    std::fs::remove_file(&canonical).unwrap();
    let (_, v) = run_json(&db, &["index", archive.to_str().unwrap(), "--json"]);
    assert_eq!(v["status"]["duplicate"], 0);
    assert_eq!(v["status"]["pending"], 0);
    assert_eq!(
        v["levels"]["instances"], s.instances,
        "the copy now carries the instance"
    );
    assert_eq!(file_status(&db, "zz-copies/copy.dcm").0, "ok");
    assert_consistent(&db);
}

#[test]
fn a_missing_root_keeps_its_files_unless_pruned() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let s = synth(&archive, 3, 13, false);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let moved = tmp.path().join("unmounted");
    std::fs::rename(&archive, &moved).unwrap();

    let (code, v) = run_json(&db, &["index", archive.to_str().unwrap(), "--json"]);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["roots_left_untouched"].as_array().unwrap().len(), 1);
    assert_eq!(v["levels"]["instances"], s.instances);

    let (code, v) = run_json(
        &db,
        &["index", archive.to_str().unwrap(), "--prune", "--json"],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["levels"]["instances"], 0);
    assert_eq!(v["removed"], s.files);
    assert_consistent(&db);
}

#[test]
fn an_unknown_missing_root_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    let out = run(&db, &["index", tmp.path().join("nope").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not exist") && err.contains("nope"),
        "{err}"
    );
}

#[test]
fn symlinks_are_followed_to_files_but_not_to_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let s = synth(&archive, 2, 14, false);
    let db = tmp.path().join("ws.db");
    std::os::unix::fs::symlink(&archive, archive.join("loop")).unwrap();
    std::os::unix::fs::symlink(archive.join("does-not-exist"), archive.join("broken")).unwrap();
    let (_, files) = run_json(&db, &["index", archive.to_str().unwrap(), "--json"]);
    assert_eq!(files["levels"]["instances"], s.instances);
    assert_eq!(file_status(&db, "/loop").0, "symlink-dir");
    let (st, reason) = file_status(&db, "/broken");
    assert_eq!(st, "unreadable");
    assert!(reason.contains("broken symbolic link"), "{reason}");
    assert_consistent(&db);
}

#[test]
fn retry_failed_rereads_unchanged_problem_files() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 2, 15, true);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let (_, v) = run_json(
        &db,
        &[
            "index",
            archive.to_str().unwrap(),
            "--retry-failed",
            "--json",
        ],
    );
    assert!(v["retried"].as_u64().unwrap() >= 8, "{v}");
    assert_eq!(v["new"], 0);
    assert_consistent(&db);
}
