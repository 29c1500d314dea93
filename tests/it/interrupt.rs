//! Interruptions: cancel, Ctrl-C, kill -9. The index stays consistent and
//! the next run completes the job; a killed export resumes and finishes.
//! The archive is large enough that each interruption lands while work is
//! still going on (asserted).

use crate::common::*;
use pacs_cohort::{Engine, IndexOptions, JobEvent};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn wait_for_rows(db: &std::path::Path, at_least: i64, deadline: Duration) {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if let Ok(c) =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        {
            if let Ok(n) = c.query_row("SELECT count(*) FROM files", [], |r| r.get::<_, i64>(0)) {
                if n >= at_least {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("indexing did not start writing within {deadline:?}");
}

#[test]
fn kill_9_leaves_a_consistent_index_and_the_next_run_completes() {
    let (archive, s) = big_archive();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .args(["index", "--json", archive.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_rows(&db, 500, Duration::from_secs(60));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running when killed (archive too small?)"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_consistent(&db);
    let c = sqlite(&db);
    let partial: i64 = c
        .query_row("SELECT count(*) FROM files", [], |r| r.get(0))
        .unwrap();
    assert!(
        partial > 0 && (partial as u64) < s.files,
        "partial: {partial}"
    );
    drop(c);
    let (code, v) = run_json(&db, &["index", archive.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["levels"]["instances"], s.instances);
    assert_eq!(
        v["unchanged"].as_u64().unwrap() + v["new"].as_u64().unwrap(),
        s.files
    );
    assert!(
        v["unchanged"].as_u64().unwrap() >= partial as u64,
        "work before the kill was kept"
    );
    assert_consistent(&db);
}

#[test]
fn ctrl_c_stops_cleanly_with_exit_130_and_keeps_the_work() {
    let (archive, s) = big_archive();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    let child = bin()
        .arg("--db")
        .arg(&db)
        .args(["index", "--json", archive.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_rows(&db, 500, Duration::from_secs(60));
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "exit code for a cancelled run"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cancelled"], true);
    let done = v["levels"]["instances"].as_u64().unwrap();
    assert!(done > 0 && done < s.instances, "partial: {done}");
    assert_consistent(&db);
    let run: String = sqlite(&db)
        .query_row(
            "SELECT outcome FROM index_runs ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(run, "cancelled");
}

#[test]
fn a_cancelled_job_reports_progress_and_keeps_what_it_indexed() {
    let (archive, s) = big_archive();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    let engine = Engine::open(&db).unwrap();
    let job = engine.spawn_index(
        vec![archive.clone()],
        IndexOptions::default(),
        Arc::new(|| {}),
    );
    let mut saw_reading = false;
    let summary = loop {
        match job
            .events
            .recv_timeout(Duration::from_secs(120))
            .expect("job event")
        {
            JobEvent::Progress(p) => {
                if p.read >= 200 && !saw_reading {
                    saw_reading = true;
                    job.cancel.cancel();
                }
            }
            JobEvent::Done(s) => break s,
            JobEvent::Failed(e) => panic!("{e}"),
        }
    };
    assert!(saw_reading, "cancelled while reading");
    assert!(summary.cancelled);
    assert!(summary.levels.instances > 0 && summary.levels.instances < s.instances);
    assert_consistent(&db);
    let again = engine
        .index(
            std::slice::from_ref(archive),
            &IndexOptions::default(),
            &Default::default(),
            &mut |_| {},
        )
        .unwrap();
    assert!(!again.cancelled);
    assert_eq!(again.levels.instances, s.instances);
}

#[test]
fn a_killed_export_resumes_and_finishes_through_the_gate() {
    let (archive, s) = big_archive();
    let tmp = tempfile::tempdir().unwrap();
    let db = index_with_cohort_of_all(tmp.path(), archive);
    let out = tmp.path().join("export");
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .args(["export", "--cohort", "all", "--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let first = loop {
        assert!(Instant::now() < deadline, "the export wrote nothing");
        if let Some(dir) = incomplete_of(&out) {
            let written = all_files(&dir)
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
                .count();
            if written >= 300 {
                break dir;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running when killed (archive too small?)"
    );
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert!(
        !out.exists(),
        "a killed export is never presented as finished"
    );
    let (code, v) = run_json(
        &db,
        &[
            "export",
            "--cohort",
            "all",
            "--out",
            out.to_str().unwrap(),
            "--resume",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["complete"], true);
    assert_eq!(v["written"], s.instances);
    assert!(v["reused"].as_u64().unwrap() >= 250, "{v}");
    assert_eq!(v["resumed_from"], first.display().to_string());
    assert!(
        first.exists(),
        "the killed run's folder stays for inspection"
    );
    let (code, f) = scan_phi_json(&db, &out, "all");
    assert_eq!((code, f.as_array().unwrap().len()), (0, 0));
}
