//! Helpers shared by the integration tests.

use pacs_cohort::synth::{generate, SynthOptions, SynthSummary};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The real binary under test.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pacs-cohort"));
    c.env_remove("PACS_COHORT_TEST_MAX_DB_PAGES");
    c
}

/// Runs the binary with `--db db` and arguments.
pub fn run(db: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("binary runs")
}

/// Runs and parses stdout as JSON.
pub fn run_json(db: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let out = run(db, args);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout={} stderr={}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

/// A generated archive in a fresh temp dir.
pub fn synth(dir: &Path, patients: u32, seed: u64, faults: bool) -> SynthSummary {
    generate(
        dir,
        &SynthOptions {
            patients,
            seed,
            with_faults: faults,
            max_slices: 4,
        },
    )
    .expect("synth")
}

/// A large archive shared by the tests that must interrupt a running job
/// (large enough that indexing is still running when interrupted).
pub fn big_archive() -> &'static (PathBuf, SynthSummary) {
    static BIG: OnceLock<(PathBuf, SynthSummary)> = OnceLock::new();
    BIG.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("pacs-cohort-it-big-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = generate(
            &dir,
            &SynthOptions {
                patients: 1500,
                seed: 99,
                with_faults: false,
                max_slices: 6,
            },
        )
        .expect("synth big");
        (dir, s)
    })
}

/// `status --json` of a database.
pub fn status(db: &Path) -> serde_json::Value {
    let (code, v) = run_json(db, &["status", "--json"]);
    assert_eq!(code, 0, "status failed: {v}");
    v
}

/// Opens the workspace database directly (read-only) for assertions.
pub fn sqlite(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

/// Asserts the index is internally consistent: integrity check passes,
/// every instance points at an `ok` file, every `ok` file has its instance,
/// no empty parents.
pub fn assert_consistent(db: &Path) {
    let c = sqlite(db);
    let ic: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ic, "ok");
    let fk_violations: i64 = c
        .prepare("PRAGMA foreign_key_check")
        .unwrap()
        .query_map([], |_| Ok(()))
        .unwrap()
        .count() as i64;
    assert_eq!(
        fk_violations, 0,
        "every reference points at an existing row"
    );
    let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        q("SELECT count(*) FROM instances i JOIN files f ON f.id = i.file_ref WHERE f.status = 'ok'"),
        q("SELECT count(*) FROM instances"),
        "every instance has an ok canonical file"
    );
    assert_eq!(
        q("SELECT count(*) FROM files WHERE status = 'ok'"),
        q("SELECT count(*) FROM instances")
    );
    assert_eq!(q("SELECT count(*) FROM series s WHERE NOT EXISTS (SELECT 1 FROM instances WHERE series_ref = s.id)"), 0);
    assert_eq!(q("SELECT count(*) FROM studies s WHERE NOT EXISTS (SELECT 1 FROM series WHERE study_ref = s.id)"), 0);
    assert_eq!(q("SELECT count(*) FROM patients p WHERE NOT EXISTS (SELECT 1 FROM studies WHERE patient_ref = p.id)"), 0);
}

/// The status of one file (by path suffix) from `files --json`.
pub fn file_status(db: &Path, suffix: &str) -> (String, String) {
    let (_, v) = run_json(db, &["files", "--json"]);
    let row = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no file ending in {suffix}"));
    (
        row["status"].as_str().unwrap().to_string(),
        row["reason"].as_str().unwrap_or("").to_string(),
    )
}

/// Whether the tests run as root (chmod does not stop root).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

/// Every file below `dir`, sorted.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Indexes `archive` into `<dir>/ws.db` and saves a cohort named "all" of
/// everything; returns the database path.
pub fn index_with_cohort_of_all(dir: &Path, archive: &Path) -> PathBuf {
    let db = dir.join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let spec = dir.join("all.json");
    std::fs::write(&spec, r#"{"schema_version":1,"name":"all","rules":[]}"#).unwrap();
    let saved = run(&db, &["cohort", "save", "--spec", spec.to_str().unwrap()]);
    assert!(
        saved.status.success(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    db
}

/// `export --cohort COHORT --out OUT --json` through the real binary.
pub fn export_json(db: &Path, cohort: &str, out: &Path) -> (i32, serde_json::Value) {
    run_json(
        db,
        &[
            "export",
            "--cohort",
            cohort,
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    )
}

/// `scan-phi DIR --against COHORT --json` through the real binary.
pub fn scan_phi_json(db: &Path, dir: &Path, cohort: &str) -> (i32, serde_json::Value) {
    run_json(
        db,
        &[
            "scan-phi",
            dir.to_str().unwrap(),
            "--against",
            cohort,
            "--json",
        ],
    )
}

/// The `.incomplete-` folder of an export to `out`, if any.
pub fn incomplete_of(out: &Path) -> Option<PathBuf> {
    let prefix = format!("{}.incomplete-", out.file_name()?.to_string_lossy());
    std::fs::read_dir(out.parent()?)
        .ok()?
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
}

/// `cohort count --spec SPEC --json` through the real binary.
pub fn count_json(db: &Path, spec: &str) -> (i32, serde_json::Value) {
    run_json(db, &["cohort", "count", "--spec", spec, "--json"])
}
