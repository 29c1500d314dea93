//! Bad environments: unreadable files, locked or read-only databases, a
//! full disk, bad arguments. Each ends as a recorded status or a one-line
//! error that says what to do; the database is never corrupted.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// Runs the binary as an unprivileged user when we are root (root ignores
/// file permissions), else as ourselves.
fn run_unprivileged(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    if is_root() {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(binary_for_nobody())
            .arg("--db")
            .arg(db)
            .args(args)
            .output()
            .expect("setpriv runs")
    } else {
        run(db, args)
    }
}

/// A copy of the binary that the unprivileged user can execute (the build
/// folder may sit under a home directory it cannot enter).
fn binary_for_nobody() -> std::path::PathBuf {
    static COPY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pacs-cohort-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join("pacs-cohort");
        std::fs::copy(env!("CARGO_BIN_EXE_pacs-cohort"), &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    })
    .clone()
}

fn open_dir(p: &std::path::Path) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
}

#[test]
fn an_unreadable_file_and_folder_are_recorded_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    open_dir(tmp.path());
    let archive = tmp.path().join("archive");
    let s = synth(&archive, 3, 21, false);
    let mut stack = vec![archive.clone()];
    while let Some(d) = stack.pop() {
        open_dir(&d);
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
        }
    }
    let secret = archive.join("secret.dcm");
    std::fs::write(&secret, b"whatever").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let closed = archive.join("closed");
    std::fs::create_dir(&closed).unwrap();
    std::fs::write(closed.join("x.dcm"), b"x").unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o000)).unwrap();
    let db = tmp.path().join("ws.db");
    let out = run_unprivileged(&db, &["index", "--json", archive.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["levels"]["instances"], s.instances);
    assert_eq!(v["status"]["unreadable"], 2);
    let (st, reason) = file_status(&db, "secret.dcm");
    assert_eq!(
        (st.as_str(), reason.as_str()),
        ("unreadable", "cannot open: permission denied")
    );
    let (st, reason) = file_status(&db, "/closed");
    assert_eq!(
        (st.as_str(), reason.as_str()),
        ("unreadable", "cannot list folder: permission denied")
    );
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_read_only_database_gives_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    open_dir(tmp.path());
    let archive = tmp.path().join("archive");
    synth(&archive, 1, 22, false);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&db).unwrap();
    let out = run_unprivileged(&db, &["index", archive.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("read-only") || err.contains("cannot open"),
        "{err}"
    );
    assert!(err.contains("ws.db"), "names the database: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "database untouched");
}

#[test]
fn a_locked_database_gives_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 1, 23, false);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    std::fs::write(archive.join("new.txt"), b"x").unwrap();
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let out = run(&db, &["index", archive.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("locked by another process"), "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert_consistent(&db);
}

#[test]
fn a_full_disk_stops_with_a_clear_error_and_a_consistent_index() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let s = synth(&archive, 60, 24, false);
    let db = tmp.path().join("ws.db");
    // Caps the database at 60 pages: SQLite reports SQLITE_FULL through the
    // real writer path, exactly as a full disk does.
    let out = bin()
        .arg("--db")
        .arg(&db)
        .args(["index", archive.to_str().unwrap()])
        .env("PACS_COHORT_TEST_MAX_DB_PAGES", "60")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("disk is full") && err.contains("free space"),
        "{err}"
    );
    assert_consistent(&db);
    let (code, v) = run_json(&db, &["index", archive.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["levels"]["instances"], s.instances);
}

#[test]
fn the_source_archive_is_never_modified() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 4, 25, true);
    let snapshot = |dir: &std::path::Path| {
        let mut v = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let m = std::fs::symlink_metadata(e.path()).unwrap();
                if m.is_dir() {
                    stack.push(e.path());
                }
                v.push((
                    e.path(),
                    m.len(),
                    m.modified().unwrap(),
                    std::fs::read(e.path()).ok(),
                ));
            }
        }
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let before = snapshot(&archive);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    run(&db, &["index", "--retry-failed", archive.to_str().unwrap()]);
    assert!(before == snapshot(&archive));
}

#[test]
fn usage_errors_exit_2_and_json_shapes_are_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    let out = run(&db, &["files", "--status", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown status 'bogus'"));
    let out = run(&db, &["status"]);
    assert_eq!(out.status.code(), Some(1), "no workspace yet");
    assert!(String::from_utf8_lossy(&out.stderr).contains("pacs-cohort index"));

    let archive = tmp.path().join("archive");
    synth(&archive, 1, 26, false);
    let (_, v) = run_json(&db, &["index", archive.to_str().unwrap(), "--json"]);
    for key in [
        "run_id",
        "roots",
        "files_seen",
        "new",
        "changed",
        "unchanged",
        "removed",
        "retried",
        "cancelled",
        "roots_left_untouched",
        "status",
        "levels",
        "elapsed_seconds",
    ] {
        assert!(v.get(key).is_some(), "index --json has {key}");
    }
    let st = status(&db);
    for key in ["database", "roots", "levels", "status", "last_run"] {
        assert!(st.get(key).is_some(), "status --json has {key}");
    }
    for level in ["patients", "studies", "series", "instances"] {
        assert!(st["levels"][level].is_u64());
    }
    assert_eq!(
        st["status"].as_object().unwrap().len(),
        9,
        "every status listed, zero included"
    );
}

/// Issue 13: the concurrent walk (`--io-threads N`) gives exactly the
/// sequential walk's index: the same files with the same statuses and
/// reasons, the same instances from the same canonical copies, on an archive
/// with duplicates, symlinks to files and folders, a broken link, an
/// unreadable file and folder, odd and broken files; and again after files
/// vanish (a canonical copy among them, so a duplicate is promoted).
#[test]
fn the_concurrent_walk_indexes_exactly_what_the_sequential_walk_does() {
    let tmp = tempfile::tempdir().unwrap();
    open_dir(tmp.path());
    let archive = tmp.path().join("archive");
    synth(&archive, 30, 23, true);
    let mut stack = vec![archive.clone()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        open_dir(&d);
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
                files.push(p);
            }
        }
    }
    files.sort();
    let secret = archive.join("secret.dcm");
    std::fs::write(&secret, b"whatever").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let closed = archive.join("closed");
    std::fs::create_dir(&closed).unwrap();
    std::fs::write(closed.join("x.dcm"), b"x").unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::os::unix::fs::symlink(&files[0], archive.join("link-to-file.dcm")).unwrap();
    std::os::unix::fs::symlink(archive.join("closed"), archive.join("link-to-folder")).unwrap();
    std::os::unix::fs::symlink(archive.join("nowhere"), archive.join("broken-link")).unwrap();
    let seq = tmp.path().join("seq.db");
    let par = tmp.path().join("par.db");
    let index = |db: &std::path::Path, io: &str| {
        let out = run_unprivileged(
            db,
            &["index", "--io-threads", io, archive.to_str().unwrap()],
        );
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let snapshot = |db: &std::path::Path| {
        let c = sqlite(db);
        let rows = |sql: &str| -> Vec<String> {
            let mut v: Vec<String> = c
                .prepare(sql)
                .unwrap()
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            v.sort();
            v
        };
        (
            rows("SELECT cast(rel_path AS TEXT) || '|' || size_bytes || '|' || mtime_ns || '|' || status
                    || '|' || coalesce(reason, '') || '|' || coalesce(sop_uid, '') FROM files"),
            rows("SELECT i.sop_uid || '|' || cast(f.rel_path AS TEXT) || '|' || s.series_uid || '|' || st.study_uid
                    || '|' || p.issuer || '|' || p.patient_id
                  FROM instances i JOIN files f ON f.id = i.file_ref JOIN series s ON s.id = i.series_ref
                  JOIN studies st ON st.id = s.study_ref JOIN patients p ON p.id = st.patient_ref"),
        )
    };
    index(&seq, "1");
    index(&par, "8");
    let (f1, i1) = snapshot(&seq);
    assert!(
        f1.iter().any(|r| r.contains("|duplicate|")),
        "the archive has duplicates"
    );
    assert!(f1.iter().any(|r| r.contains("|symlink-dir|")));
    assert!(f1
        .iter()
        .any(|r| r.starts_with("closed|") && r.contains("|unreadable|")));
    assert_eq!(snapshot(&par), (f1, i1));
    // Files vanish, among them the canonical copy of a duplicate.
    let c = sqlite(&seq);
    let canonical: String = c
        .query_row(
            "SELECT cast(g.rel_path AS TEXT) FROM files d JOIN files g ON g.sop_uid = d.sop_uid
             WHERE d.status = 'duplicate' AND g.status = 'ok' ORDER BY 1 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(c);
    std::fs::remove_file(archive.join(&canonical)).unwrap();
    for f in files.iter().skip(5).step_by(11) {
        let _ = std::fs::remove_file(f);
    }
    index(&seq, "1");
    index(&par, "8");
    let (f2, i2) = snapshot(&seq);
    assert!(!f2.iter().any(|r| r.starts_with(&format!("{canonical}|"))));
    assert_eq!(snapshot(&par), (f2, i2));
    assert_consistent(&par);
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755)).unwrap();
}
