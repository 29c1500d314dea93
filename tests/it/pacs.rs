//! Network archives against a real Orthanc: node settings, echo and its
//! failures, harvest by C-FIND and QIDO-RS, retrieval by C-GET, C-MOVE and
//! WADO-RS (pixel data byte-identical to the originals), cancellation and
//! resume, a storage SCP port in use.

use crate::common::{run, run_json, sqlite, synth};
use crate::orthanc::{Config, Orthanc};
use dicom_dictionary_std::tags;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Orthanc with a generated archive loaded; returns the archive folder.
fn loaded(cfg: Config, patients: u32, seed: u64) -> Option<(Orthanc, tempfile::TempDir, PathBuf)> {
    let o = Orthanc::start(cfg)?;
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, patients, seed, false);
    let stored = o.upload(&archive);
    assert!(stored > 0, "Orthanc stored nothing: {}", o.log());
    Some((o, tmp, archive))
}

/// (studies, series) in a workspace's index.
fn index_counts(db: &Path) -> (u64, u64) {
    let c = sqlite(db);
    let q = |sql: &str| -> u64 { c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64 };
    (
        q("SELECT count(*) FROM studies"),
        q("SELECT count(*) FROM series"),
    )
}

fn save_cohort_of_all(dir: &Path, db: &Path) {
    let spec = dir.join("all.json");
    std::fs::write(&spec, r#"{"schema_version":1,"name":"all","rules":[]}"#).unwrap();
    let out = run(db, &["cohort", "save", "--spec", spec.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn nodes_are_added_listed_verified_and_removed() {
    let Some(o) = Orthanc::start(Config::default()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    o.add_dimse_node(&db, "main", &[]);
    o.add_web_node(&db, "web");
    let again = run(
        &db,
        &["pacs", "add", "main", "--url", "http://127.0.0.1:1/x"],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("--replace"), "{}", stderr(&again));

    let (code, list) = run_json(&db, &["pacs", "list", "--json"]);
    assert_eq!(code, 0);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["main", "web"]);

    for node in ["main", "web"] {
        let out = run(&db, &["pacs", "echo", node]);
        assert!(out.status.success(), "{node}: {}", stderr(&out));
    }
    let out = run(&db, &["pacs", "remove", "web"]);
    assert!(out.status.success());
    let out = run(&db, &["pacs", "echo", "web"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("pacs list"), "{}", stderr(&out));
}

#[test]
fn echo_failures_say_what_is_wrong() {
    let Some(mut o) = Orthanc::start(Config::default()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    o.add_dimse_node(&db, "main", &[]);
    // Wrong called AE title: Orthanc rejects the association (A-ASSOCIATE-RJ).
    let port = o.dicom_port.to_string();
    let out = run(
        &db,
        &[
            "pacs",
            "add",
            "wrong-ae",
            "--ae-title",
            "NOTORTHANC",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--calling-ae",
            crate::orthanc::OUR_AE,
        ],
    );
    assert!(out.status.success());
    let out = run(&db, &["pacs", "echo", "wrong-ae"]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out).to_lowercase();
    assert!(e.contains("rejected the association"), "{e}");
    assert!(e.contains("called ae title"), "{e}");
    assert!(e.contains("ae title is wrong"), "{e}");

    // An unknown calling AE title: Orthanc answers echo but aborts a query.
    let out = run(
        &db,
        &[
            "pacs",
            "add",
            "stranger",
            "--ae-title",
            crate::orthanc::PACS_AE,
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--calling-ae",
            "STRANGER",
        ],
    );
    assert!(out.status.success());
    let out = run(&db, &["pacs", "harvest", "stranger"]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains("calling AE title 'STRANGER'"), "{e}");

    // A stopped server.
    o.stop();
    let out = run(&db, &["pacs", "echo", "main"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot reach the PACS"),
        "{}",
        stderr(&out)
    );
    let url = o.dicomweb_url();
    run(&db, &["pacs", "add", "web", "--url", &url]);
    let out = run(&db, &["pacs", "echo", "web"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
}

#[test]
fn harvest_by_dimse_and_qido_counts_what_was_loaded() {
    // A result limit far below the archive's study count (but above the
    // generator's 4 series per study): the harvest must split its date
    // ranges and still find every study.
    let Some((o, tmp, _archive)) = loaded(
        Config {
            limit_find_results: 5,
        },
        12,
        41,
    ) else {
        return;
    };
    let (studies, series, _) = o.counts();
    assert!(studies > 10, "the archive must exceed the limit: {studies}");

    let db = tmp.path().join("dimse.db");
    o.add_dimse_node(&db, "main", &["--max-results", "5"]);
    let (code, report) = run_json(&db, &["pacs", "harvest", "main", "--json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["studies"], studies);
    assert_eq!(report["series"], series);
    assert!(report["splits"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(index_counts(&db), (studies, series));

    // A re-harvest updates rows in place: no duplicates.
    let (code, _) = run_json(&db, &["pacs", "harvest", "main", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(index_counts(&db), (studies, series));
    let c = sqlite(&db);
    let remote: i64 = c
        .query_row(
            "SELECT count(*) FROM remote_series WHERE node = 'main'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(remote as u64, series);

    // Cohort counts work on harvested metadata.
    save_cohort_of_all(tmp.path(), &db);
    let spec = tmp.path().join("all.json");
    let (code, counts) = crate::common::count_json(&db, spec.to_str().unwrap());
    assert_eq!(code, 0, "{counts}");
    assert_eq!(counts["levels"]["studies"]["count"], studies, "{counts}");
    assert_eq!(counts["levels"]["series"]["count"], series, "{counts}");

    // Orthanc's DICOMweb cannot page past its limit: the known limit makes
    // the harvest split date ranges here too.
    let web_db = tmp.path().join("web.db");
    let url = o.dicomweb_url();
    let out = run(
        &web_db,
        &["pacs", "add", "web", "--url", &url, "--max-results", "5"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, report) = run_json(&web_db, &["pacs", "harvest", "web", "--json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["studies"], studies);
    assert_eq!(report["series"], series);
    assert_eq!(index_counts(&web_db), (studies, series));
}

/// SOP Instance UID -> Pixel Data value of every DICOM file below `dir`.
fn pixel_data(
    dir: &Path,
) -> HashMap<String, dicom_core::value::Value<dicom_object::InMemDicomObject>> {
    let mut out = HashMap::new();
    for f in crate::common::all_files(dir) {
        let Ok(obj) = dicom_object::open_file(&f) else {
            continue;
        };
        let sop = obj
            .element(tags::SOP_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
            .to_string();
        if let Ok(px) = obj.element(tags::PIXEL_DATA) {
            out.insert(sop, px.value().clone());
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Via {
    Get,
    Move,
    Web,
}

fn retrieve_is_byte_identical(via: Via) {
    let Some((o, tmp, archive)) = loaded(Config::default(), 3, 7) else {
        return;
    };
    let (_, series, instances) = o.counts();
    let db = tmp.path().join("ws.db");
    if via == Via::Web {
        o.add_web_node(&db, "node");
    } else {
        o.add_dimse_node(&db, "node", &[]);
    }
    let (code, report) = run_json(&db, &["pacs", "harvest", "node", "--json"]);
    assert_eq!(code, 0, "{report}");
    save_cohort_of_all(tmp.path(), &db);
    let method = if via == Via::Move { "move" } else { "get" };
    let retrieve = [
        "pacs", "retrieve", "--cohort", "all", "--method", method, "--json",
    ];
    let (code, report) = run_json(&db, &retrieve);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["series_retrieved"], series, "{report}");
    assert_eq!(report["instances"], instances, "{report}");

    // Every retrieved image's pixel data is the original's, byte for byte.
    let cache = tmp.path().join("retrieved");
    let originals = pixel_data(&archive);
    let got = pixel_data(&cache);
    assert_eq!(got.len() as u64, instances);
    for (sop, px) in &got {
        assert!(
            originals.get(sop) == Some(px),
            "pixel data of {sop} differs"
        );
    }
    // The cache is owner-only (DECISIONS 34).
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    // Remote rows became local: every harvested series has its instances.
    let c = sqlite(&db);
    let local: i64 = c
        .query_row("SELECT count(*) FROM instances", [], |r| r.get(0))
        .unwrap();
    assert_eq!(local as u64, instances);

    // Resume: a file lost from the cache (and from the index) is fetched
    // again, and only it: the others are not rewritten.
    let files = crate::common::all_files(&cache);
    let lost = files[files.len() / 2].clone();
    let before: Vec<_> = files
        .iter()
        .filter(|f| **f != lost)
        .map(|f| (f.clone(), std::fs::metadata(f).unwrap().modified().unwrap()))
        .collect();
    std::fs::remove_file(&lost).unwrap();
    let out = run(&db, &["index", cache.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, report) = run_json(&db, &retrieve);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["series_retrieved"], 1, "{report}");
    assert_eq!(report["series_skipped"], series - 1, "{report}");
    assert!(lost.is_file());
    for (f, t) in before {
        assert_eq!(
            std::fs::metadata(&f).unwrap().modified().unwrap(),
            t,
            "{f:?} was re-downloaded"
        );
    }
    // A third run has nothing to do.
    let (code, report) = run_json(&db, &retrieve);
    assert_eq!(code, 0);
    assert_eq!(report["series_skipped"], series, "{report}");
}

#[test]
fn retrieve_by_cget_is_byte_identical_and_resumes() {
    retrieve_is_byte_identical(Via::Get);
}

#[test]
fn retrieve_by_cmove_is_byte_identical_and_resumes() {
    retrieve_is_byte_identical(Via::Move);
}

#[test]
fn retrieve_by_wado_rs_is_byte_identical_and_resumes() {
    retrieve_is_byte_identical(Via::Web);
}

#[test]
fn a_silent_peer_times_out_with_advice() {
    // A socket that accepts connections (the kernel's backlog) but never
    // answers: the association request waits for the read timeout.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    let out = run(
        &db,
        &[
            "pacs",
            "add",
            "silent",
            "--ae-title",
            "X",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&db, &["pacs", "echo", "silent", "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did not answer within 1 s"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--timeout"), "{}", stderr(&out));
    drop(listener);
}

#[test]
fn a_storage_scp_port_in_use_is_reported() {
    let Some((o, tmp, _archive)) = loaded(Config::default(), 1, 5) else {
        return;
    };
    let db = tmp.path().join("ws.db");
    o.add_dimse_node(&db, "node", &[]);
    let (code, report) = run_json(&db, &["pacs", "harvest", "node", "--json"]);
    assert_eq!(code, 0, "{report}");
    save_cohort_of_all(tmp.path(), &db);
    // Another program holds our storage SCP's port.
    let squatter = std::net::TcpListener::bind(("0.0.0.0", o.scp_port)).unwrap();
    let out = run(
        &db,
        &["pacs", "retrieve", "--cohort", "all", "--method", "move"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains("cannot listen for C-MOVE deliveries on port"),
        "{e}"
    );
    assert!(e.contains("--scp-port"), "{e}");
    drop(squatter);
    // Nothing was fetched, nothing is lost: C-GET still works.
    let (code, report) = run_json(&db, &["pacs", "retrieve", "--cohort", "all", "--json"]);
    assert_eq!(code, 0, "{report}");
    assert!(report["instances"].as_u64().unwrap() > 0, "{report}");
}

#[test]
fn harvest_and_retrieval_cancel_and_resume() {
    use pacs_cohort::{CancelToken, Engine, RetrieveOptions};
    let Some((o, tmp, _archive)) = loaded(Config::default(), 8, 13) else {
        return;
    };
    let (studies, series, instances) = o.counts();
    let db = tmp.path().join("ws.db");
    o.add_dimse_node(&db, "node", &[]);
    let engine = Engine::open(&db).unwrap();

    // Harvest cancelled after its first series: stops early, keeps what
    // it recorded.
    let cancel = CancelToken::new();
    let report = engine
        .pacs_harvest(
            "node",
            &Default::default(),
            Default::default(),
            &cancel,
            &mut |p| {
                if p.series > 0 {
                    cancel.cancel();
                }
            },
        )
        .unwrap();
    assert!(report.cancelled, "{report:?}");
    assert!(report.series < series, "{report:?} of {series}");
    let (got_studies, got_series) = index_counts(&db);
    assert!(got_series < series, "{got_series} of {series}");
    assert!(got_studies <= studies);
    // Harvesting again completes it, without duplicates.
    let report = engine
        .pacs_harvest(
            "node",
            &Default::default(),
            Default::default(),
            &CancelToken::new(),
            &mut |_| {},
        )
        .unwrap();
    assert!(!report.cancelled);
    assert_eq!(index_counts(&db), (studies, series));

    // Retrieval cancelled after its first series.
    save_cohort_of_all(tmp.path(), &db);
    let opts = RetrieveOptions {
        jobs: 1,
        ..Default::default()
    };
    let cancel = CancelToken::new();
    let report = engine
        .pacs_retrieve("all", &opts, &cancel, &mut |p| {
            if p.series_done > 0 {
                cancel.cancel();
            }
        })
        .unwrap();
    assert!(report.cancelled, "{report:?}");
    let first = report.series_retrieved;
    assert!(first >= 1 && first < series, "{report:?} of {series}");
    // Resume: only the rest is fetched.
    let report = engine
        .pacs_retrieve("all", &opts, &CancelToken::new(), &mut |_| {})
        .unwrap();
    assert!(
        !report.cancelled && report.failures.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.series_skipped, first, "{report:?}");
    assert_eq!(report.series_retrieved, series - first, "{report:?}");
    let local: i64 = sqlite(&db)
        .query_row("SELECT count(*) FROM instances", [], |r| r.get(0))
        .unwrap();
    assert_eq!(local as u64, instances);
}
