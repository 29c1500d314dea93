//! The visual PHI review (issue #11): approvals bound to content, their
//! effect on the export, the append-only history, the real CLI.

use crate::common::*;
use dicom_dictionary_std::tags;
use pacs_cohort::engine::{ExportOptions, ProfileOptions};
use pacs_cohort::model::{ReviewItem, ReviewState};
use pacs_cohort::{CancelToken, Engine};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real")).join(name)
}

/// An archive of real fixtures (one series each), indexed, with a cohort
/// "all" of everything.
fn workspace(dir: &Path, names: &[&str]) -> (PathBuf, PathBuf, Engine) {
    let archive = dir.join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    for name in names {
        std::fs::copy(fixture(name), archive.join(name)).unwrap();
    }
    let db = index_with_cohort_of_all(dir, &archive);
    let engine = Engine::open(&db).unwrap();
    (archive, db, engine)
}

/// The Series and SOP Instance UIDs of a file.
fn uids(path: &Path) -> (String, String) {
    let obj = dicom_object::open_file(path).unwrap();
    let t = |tag| {
        obj.element(tag)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
            .to_string()
    };
    (t(tags::SERIES_INSTANCE_UID), t(tags::SOP_INSTANCE_UID))
}

fn item<'a>(items: &'a [ReviewItem], series: &str) -> &'a ReviewItem {
    items.iter().find(|i| i.series_uid == series).unwrap()
}

/// The state and stale reason of one series now.
fn state_of(
    engine: &Engine,
    series: &str,
    options: &ProfileOptions,
) -> (ReviewState, Option<String>) {
    let items = engine.review_items(Some("all"), options).unwrap();
    let i = item(&items, series);
    (i.state, i.stale.clone())
}

fn text(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> Option<String> {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
}

/// Whether an exported file claims Clean Pixel Data: 113101 in the method
/// code sequence, and BurnedInAnnotation NO.
fn claims_clean_pixels(path: &Path) -> (bool, Option<String>) {
    let obj = dicom_object::open_file(path).unwrap();
    let codes: Vec<String> = obj
        .element(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .ok()
        .and_then(|e| e.items().map(|i| i.to_vec()))
        .unwrap_or_default()
        .iter()
        .filter_map(|i| {
            i.get(tags::CODE_VALUE)
                .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
        })
        .collect();
    (
        codes.iter().any(|c| c == "113101"),
        text(&obj, tags::BURNED_IN_ANNOTATION),
    )
}

fn dcm_files(dir: &Path) -> Vec<PathBuf> {
    all_files(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect()
}

#[test]
fn an_approval_no_longer_holds_when_options_masks_key_or_the_file_change() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, db, engine) = workspace(tmp.path(), &["CT_small.dcm", "MR_small_RLE.dcm"]);
    let ct = archive.join("CT_small.dcm");
    let (series, sop) = uids(&ct);
    let opts = ProfileOptions::default();

    let items = engine.review_items(Some("all"), &opts).unwrap();
    assert_eq!(items.len(), 2);
    assert!(items
        .iter()
        .all(|i| i.state == ReviewState::Unreviewed && i.last.is_none()));

    let e = engine
        .set_review(
            &series,
            None,
            ReviewState::Approved,
            "alice",
            "no text",
            &opts,
        )
        .unwrap();
    assert_eq!(
        (e.state, e.reviewer.as_str()),
        (ReviewState::Approved, "alice")
    );
    assert_eq!(
        state_of(&engine, &series, &opts),
        (ReviewState::Approved, None)
    );
    let (mr, _) = uids(&archive.join("MR_small_RLE.dcm"));
    assert_eq!(state_of(&engine, &mr, &opts).0, ReviewState::Unreviewed);

    // Other profile options: not what was approved.
    let other = ProfileOptions {
        retain_device_identity: true,
        ..opts
    };
    assert_eq!(
        state_of(&engine, &series, &other),
        (
            ReviewState::Unreviewed,
            Some("profile options changed".into())
        )
    );
    assert_eq!(state_of(&engine, &series, &opts).0, ReviewState::Approved);

    // A mask on the image; removing it brings the approved bytes back.
    let id = engine
        .add_mask(
            &sop,
            pacs_cohort::model::Rect {
                x: 0,
                y: 0,
                width: 10,
                height: 10,
            },
            "",
        )
        .unwrap();
    assert_eq!(
        state_of(&engine, &series, &opts),
        (ReviewState::Unreviewed, Some("masks changed".into()))
    );
    engine.remove_mask(id, false).unwrap();
    assert_eq!(state_of(&engine, &series, &opts).0, ReviewState::Approved);

    // Another workspace key (pseudonyms and UIDs change).
    let saved_key = tmp.path().join("saved.key");
    let other_key = tmp.path().join("other.key");
    let key = pacs_cohort::deid::keyfile::load_or_create(&db).unwrap();
    pacs_cohort::deid::keyfile::export_key(&key, &saved_key).unwrap();
    pacs_cohort::deid::keyfile::export_key(&pacs_cohort::deid::pseudonym::Key([3; 32]), &other_key)
        .unwrap();
    pacs_cohort::deid::keyfile::import_key(&db, &other_key, true).unwrap();
    assert_eq!(
        state_of(&engine, &series, &opts),
        (ReviewState::Unreviewed, Some("key changed".into()))
    );
    pacs_cohort::deid::keyfile::import_key(&db, &saved_key, true).unwrap();
    assert_eq!(state_of(&engine, &series, &opts).0, ReviewState::Approved);

    // The source file changed on disk (its modification time is enough:
    // the approval does not read files to be listed).
    let f = std::fs::File::options().write(true).open(&ct).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .unwrap();
    drop(f);
    assert_eq!(
        state_of(&engine, &series, &opts),
        (ReviewState::Unreviewed, Some("source file changed".into()))
    );
    // Approving again binds to the file as it is now.
    engine
        .set_review(&series, None, ReviewState::Approved, "bob", "", &opts)
        .unwrap();
    assert_eq!(
        state_of(&engine, &series, &opts),
        (ReviewState::Approved, None)
    );
    let counts = engine.review_counts("all", &opts).unwrap();
    assert_eq!(
        (counts.approved, counts.unreviewed, counts.reviewed_ever),
        (1, 1, 1)
    );
}

#[test]
fn an_image_that_cannot_be_rendered_is_not_approved() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, _db, engine) = workspace(tmp.path(), &["JPGExtended.dcm"]);
    let (series, sop) = uids(&archive.join("JPGExtended.dcm"));
    let opts = ProfileOptions::default();
    // A mask needs the pixels decoded; 12-bit JPEG is not decodable here.
    engine
        .add_mask(
            &sop,
            pacs_cohort::model::Rect {
                x: 0,
                y: 0,
                width: 8,
                height: 8,
            },
            "",
        )
        .unwrap();
    let e = engine
        .set_review(&series, None, ReviewState::Approved, "alice", "", &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot approve") && e.contains("cannot be decoded"),
        "{e}"
    );
    assert!(e.contains(&sop) && e.contains("--image"), "{e}");
    assert!(
        engine.review_history(None).unwrap().is_empty(),
        "nothing recorded"
    );
    // Excluding the image leaves nothing to approve; the message says so.
    engine
        .set_review(
            &series,
            Some(&sop),
            ReviewState::Excluded,
            "alice",
            "",
            &opts,
        )
        .unwrap();
    let e = engine
        .set_review(&series, None, ReviewState::Approved, "alice", "", &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("every image of this series is excluded"), "{e}");
    // Unknown UIDs are named with what to do.
    let e = engine
        .set_review("1.2.3.404", None, ReviewState::Excluded, "alice", "", &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`pacs-cohort review list` shows them"), "{e}");
    let e = engine
        .set_review(
            &series,
            Some("1.2.3.404"),
            ReviewState::Excluded,
            "alice",
            "",
            &opts,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("no indexed image"), "{e}");
    let e = engine
        .set_review(&series, None, ReviewState::Excluded, "  ", "", &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--reviewer"), "{e}");
}

#[test]
fn only_approved_content_claims_clean_pixels_and_approved_only_leaves_the_rest_out() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, db, engine) = workspace(
        tmp.path(),
        &["CT_small.dcm", "MR_small_RLE.dcm", "SC_rgb_jpeg_dcmtk.dcm"],
    );
    let (ct, _) = uids(&archive.join("CT_small.dcm"));
    let (mr, _) = uids(&archive.join("MR_small_RLE.dcm"));
    let (sc, _) = uids(&archive.join("SC_rgb_jpeg_dcmtk.dcm"));
    let opts = ProfileOptions::default();
    let export = |out: &Path, approved_only: Option<bool>, profile: ProfileOptions| {
        engine.export_cohort(
            "all",
            out,
            &ExportOptions {
                profile,
                approved_only,
                ..Default::default()
            },
            &CancelToken::new(),
            &mut |_| {},
        )
    };

    // Nothing reviewed: everything is exported, nothing claims clean pixels.
    let out = tmp.path().join("before");
    let r = export(&out, None, opts).unwrap();
    assert!(r.complete && !r.review.approved_only, "{r:?}");
    assert_eq!(r.written, 3);
    for f in dcm_files(&out) {
        let (claimed, bia) = claims_clean_pixels(&f);
        assert!(!claimed && bia.as_deref() != Some("NO"), "{}", f.display());
    }

    engine
        .set_review(&ct, None, ReviewState::Approved, "alice", "", &opts)
        .unwrap();
    engine
        .set_review(&mr, None, ReviewState::Excluded, "alice", "a face", &opts)
        .unwrap();

    // Every series but the excluded one: only the approved one claims.
    let out = tmp.path().join("all-series");
    let r = export(&out, Some(false), opts).unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!(r.written, 2);
    assert_eq!(r.review.clean_pixels_claimed, 1);
    assert_eq!(
        (
            r.review.counts.approved,
            r.review.counts.unreviewed,
            r.review.counts.excluded
        ),
        (1, 1, 1)
    );
    assert_eq!(r.review.left_out.len(), 1);
    assert_eq!(r.review.left_out[0].reason, "excluded by a reviewer");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let mut claimed_series = Vec::new();
    for row in manifest["files"].as_array().unwrap() {
        let f = out.join(row["file"].as_str().unwrap());
        let (claimed, bia) = claims_clean_pixels(&f);
        let obj = dicom_object::open_file(&f).unwrap();
        let modality = text(&obj, tags::MODALITY).unwrap();
        assert_eq!(claimed, modality == "CT", "{modality}");
        assert_eq!(bia.as_deref() == Some("NO"), modality == "CT", "{modality}");
        assert_eq!(row["review"].is_null(), modality != "CT", "{row}");
        if claimed {
            claimed_series.push(row["series_uid"].as_str().unwrap().to_string());
        }
    }
    // The manifest names the reviewer per de-identified series, never a
    // source UID.
    let reviewed = manifest["reviewed_series"].as_array().unwrap();
    assert_eq!(reviewed.len(), 1, "{manifest}");
    assert_eq!(reviewed[0]["reviewer"], "alice");
    assert!(reviewed[0]["approved_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        reviewed[0]["series_uid"].as_str().unwrap(),
        claimed_series[0]
    );
    let text_of_manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    for source_uid in [&ct, &mr, &sc] {
        assert!(!text_of_manifest.contains(source_uid.as_str()));
    }
    let csv = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .ends_with("reviewer,approved_at"));
    assert_eq!(csv.matches(",alice,").count(), 1, "{csv}");

    // Automatic once reviewed: approved images only, the rest counted.
    let out = tmp.path().join("auto");
    let r = export(&out, None, opts).unwrap();
    assert!(r.complete && r.review.approved_only, "{r:?}");
    assert_eq!(r.written, 1);
    let reasons: Vec<(&str, u64)> = r
        .review
        .left_out
        .iter()
        .map(|l| (l.reason.as_str(), l.series))
        .collect();
    assert_eq!(
        reasons,
        [("excluded by a reviewer", 1), ("not reviewed", 1)]
    );
    let files = dcm_files(&out);
    assert_eq!(files.len(), 1);
    assert_eq!(claims_clean_pixels(&files[0]), (true, Some("NO".into())));

    // Under other options the approval does not hold: nothing to export
    // under approved-only, and the error says what to do.
    let other = ProfileOptions {
        retain_device_identity: true,
        ..opts
    };
    let e = export(&tmp.path().join("other"), None, other)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no image of cohort 'all' is approved") && e.contains("--all-series"),
        "{e}"
    );
    // ...and without approved-only nothing claims clean pixels.
    let out = tmp.path().join("other-all");
    let r = export(&out, Some(false), other).unwrap();
    assert_eq!((r.written, r.review.clean_pixels_claimed), (2, 0));
    assert_eq!(r.review.counts.stale, 1);
    for f in dcm_files(&out) {
        assert!(!claims_clean_pixels(&f).0);
    }
    // The source archive is never modified.
    for name in ["CT_small.dcm", "MR_small_RLE.dcm", "SC_rgb_jpeg_dcmtk.dcm"] {
        assert_eq!(
            std::fs::read(archive.join(name)).unwrap(),
            std::fs::read(fixture(name)).unwrap()
        );
    }
    drop(db);
}

#[test]
fn images_of_a_mixed_series_follow_their_own_decision() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 2, 11, false);
    let db = index_with_cohort_of_all(tmp.path(), &archive);
    let engine = Engine::open(&db).unwrap();
    let opts = ProfileOptions::default();
    let items = engine.review_items(Some("all"), &opts).unwrap();
    let series = items
        .iter()
        .find(|i| i.instances >= 3)
        .expect("a series of 3 images")
        .series_uid
        .clone();
    let images = engine.series_instances(&series).unwrap();
    engine
        .set_review(&series, None, ReviewState::Approved, "alice", "", &opts)
        .unwrap();
    engine
        .set_review(
            &series,
            Some(&images[0].sop_uid),
            ReviewState::Excluded,
            "bob",
            "a scout with a name",
            &opts,
        )
        .unwrap();
    engine
        .set_review(
            &series,
            Some(&images[1].sop_uid),
            ReviewState::NeedsMasking,
            "bob",
            "",
            &opts,
        )
        .unwrap();
    let items = engine.review_items(Some("all"), &opts).unwrap();
    let it = item(&items, &series);
    assert_eq!(it.state, ReviewState::Approved, "{it:?}");
    let image_states: Vec<ReviewState> = it.images.iter().map(|i| i.state).collect();
    assert_eq!(image_states.len(), 2);
    assert!(image_states.contains(&ReviewState::Excluded));
    assert!(image_states.contains(&ReviewState::NeedsMasking));

    // Re-approving the series (say, under new options) does not bring the
    // excluded image back.
    engine
        .set_review(
            &series,
            None,
            ReviewState::Approved,
            "alice",
            "again",
            &opts,
        )
        .unwrap();
    let out = tmp.path().join("export");
    let r = engine
        .export_cohort(
            "all",
            &out,
            &ExportOptions::default(),
            &CancelToken::new(),
            &mut |_| {},
        )
        .unwrap();
    assert!(r.complete && r.review.approved_only, "{r:?}");
    assert_eq!(r.written as usize, images.len() - 2);
    assert_eq!(r.review.clean_pixels_claimed, r.written);
    let reasons: Vec<&str> = r
        .review
        .left_out
        .iter()
        .map(|l| l.reason.as_str())
        .collect();
    assert!(reasons.contains(&"excluded by a reviewer") && reasons.contains(&"needs masking"));
    for f in dcm_files(&out) {
        assert_eq!(claims_clean_pixels(&f), (true, Some("NO".into())));
    }
    // A series reset clears the image decisions made before it.
    engine
        .set_review(&series, None, ReviewState::Unreviewed, "alice", "", &opts)
        .unwrap();
    let items = engine.review_items(Some("all"), &opts).unwrap();
    let it = item(&items, &series);
    assert_eq!((it.state, it.images.len()), (ReviewState::Unreviewed, 0));
}

#[test]
fn the_history_is_append_only_and_exports_as_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, db, engine) = workspace(tmp.path(), &["CT_small.dcm"]);
    let (series, sop) = uids(&archive.join("CT_small.dcm"));
    let opts = ProfileOptions::default();
    for (sop, state, note) in [
        (None, ReviewState::NeedsMasking, "text at the top"),
        (None, ReviewState::Approved, "masked, fine, \"quoted\""),
        (Some(sop.as_str()), ReviewState::Excluded, ""),
        (None, ReviewState::Unreviewed, "start over"),
    ] {
        engine
            .set_review(&series, sop, state, "carol", note, &opts)
            .unwrap();
    }
    let history = engine.review_history(Some(&series)).unwrap();
    let states: Vec<ReviewState> = history.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [
            ReviewState::NeedsMasking,
            ReviewState::Approved,
            ReviewState::Excluded,
            ReviewState::Unreviewed
        ]
    );
    assert!(history.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(history[2].sop_uid.as_deref(), Some(sop.as_str()));

    // The database refuses to rewrite history.
    let conn = rusqlite::Connection::open(&db).unwrap();
    for sql in [
        "UPDATE review_events SET state = 'approved'",
        "DELETE FROM review_events",
        "DELETE FROM review_approved_content",
    ] {
        let e = conn.execute(sql, []).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    let approved_rows: i64 = conn
        .query_row("SELECT count(*) FROM review_approved_content", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(approved_rows, 1, "the approval kept its image's hash");
    drop(conn);

    // CSV through the real binary: a new owner-only file.
    let csv_path = tmp.path().join("history.csv");
    let o = run(
        &db,
        &["review", "history", "--csv", csv_path.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = csv::Reader::from_path(&csv_path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "id",
            "at",
            "reviewer",
            "series_uid",
            "sop_uid",
            "state",
            "note"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(&rows[1][6], "masked, fine, \"quoted\"");
    assert_eq!(&rows[3][5], "unreviewed");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&csv_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
    }
    let o = run(
        &db,
        &["review", "history", "--csv", csv_path.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "an existing file is never overwritten"
    );
}

#[test]
fn the_cli_lists_decides_and_refuses_row_level_output_in_aggregate_only_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, db, _engine) = workspace(tmp.path(), &["CT_small.dcm", "MR_small_RLE.dcm"]);
    let (ct, _) = uids(&archive.join("CT_small.dcm"));
    let (mr, mr_sop) = uids(&archive.join("MR_small_RLE.dcm"));

    let (code, v) = run_json(&db, &["review", "list", "--cohort", "all", "--json"]);
    assert_eq!(code, 0, "{v}");
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["state"] == "unreviewed"));

    let (code, e) = run_json(
        &db,
        &[
            "review",
            "approve",
            &ct,
            "--reviewer",
            "dora",
            "--note",
            "clean",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{e}");
    assert_eq!(
        (e["state"].as_str(), e["reviewer"].as_str()),
        (Some("approved"), Some("dora"))
    );
    let (_, v) = run_json(&db, &["review", "list", "--json"]);
    let ct_item = v
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["series_uid"] == ct.as_str())
        .unwrap()
        .clone();
    assert_eq!(ct_item["state"], "approved");
    assert_eq!(ct_item["last"]["note"], "clean");
    // Listed under other export options, the approval does not hold.
    let (_, v) = run_json(
        &db,
        &["review", "list", "--retain-device-identity", "--json"],
    );
    let stale = v
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["series_uid"] == ct.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (stale["state"].as_str(), stale["stale"].as_str()),
        (Some("unreviewed"), Some("profile options changed"))
    );
    // The reviewer defaults to the OS user.
    let (code, e) = run_json(
        &db,
        &["review", "needs-masking", &mr, "--image", &mr_sop, "--json"],
    );
    assert_eq!(code, 0, "{e}");
    assert_eq!(
        e["reviewer"],
        pacs_cohort::review::default_reviewer().as_str()
    );
    assert_eq!(e["sop_uid"], mr_sop.as_str());
    let o = run(&db, &["review", "history"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.contains("dora approved series") && out.contains("needs masking"),
        "{out}"
    );

    // Export through the CLI prints the review's counts.
    let export_out = tmp.path().join("export");
    let o = run(
        &db,
        &[
            "export",
            "--cohort",
            "all",
            "--out",
            export_out.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("review: 1 series approved · 1 unreviewed · 0 needs masking · 0 excluded; approved images only"),
        "{text} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains("not exported: 1 images of 1 series: needs masking"),
        "{text}"
    );
    let o = run(
        &db,
        &[
            "export",
            "--cohort",
            "all",
            "--approved-only",
            "--all-series",
            "--out",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "the two modes exclude each other");

    let o = run(&db, &["review", "approve", "1.2.3.404"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`pacs-cohort review list` shows them"));

    let o = run(&db, &["privacy", "--aggregate-only", "true"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for args in [
        vec!["review", "list"],
        vec!["review", "history"],
        vec!["review", "exclude", ct.as_str()],
    ] {
        let o = run(&db, &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("aggregate-only"),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn an_approved_only_export_resumes_with_its_approvals() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, _db, engine) = workspace(tmp.path(), &["CT_small.dcm", "MR_small_RLE.dcm"]);
    let (ct, _) = uids(&archive.join("CT_small.dcm"));
    let (mr, _) = uids(&archive.join("MR_small_RLE.dcm"));
    let opts = ProfileOptions::default();
    for s in [&ct, &mr] {
        engine
            .set_review(s, None, ReviewState::Approved, "erin", "", &opts)
            .unwrap();
    }
    let out = tmp.path().join("export");
    let cancel = CancelToken::new();
    let r = engine
        .export_cohort("all", &out, &ExportOptions::default(), &cancel, &mut |p| {
            if p.phase == pacs_cohort::export::ExportPhase::Scanning {
                cancel.cancel();
            }
        })
        .unwrap();
    assert!(r.cancelled && r.review.approved_only, "{r:?}");
    let resume = ExportOptions {
        resume: true,
        ..Default::default()
    };
    let r = engine
        .export_cohort("all", &out, &resume, &CancelToken::new(), &mut |_| {})
        .unwrap();
    assert!(r.complete, "{r:?}");
    assert_eq!((r.reused, r.written), (2, 2));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["reviewed_series"].as_array().unwrap().len(), 2);
    for f in dcm_files(&out) {
        assert_eq!(claims_clean_pixels(&f), (true, Some("NO".into())));
    }
    // A new approval (another reviewer) is not the run that was cancelled.
    let cancel = CancelToken::new();
    let out2 = tmp.path().join("export2");
    engine
        .export_cohort("all", &out2, &ExportOptions::default(), &cancel, &mut |p| {
            if p.phase == pacs_cohort::export::ExportPhase::Scanning {
                cancel.cancel();
            }
        })
        .unwrap();
    engine
        .set_review(&ct, None, ReviewState::Approved, "frank", "", &opts)
        .unwrap();
    let e = engine
        .export_cohort("all", &out2, &resume, &CancelToken::new(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("no unfinished run"), "{e}");
}

#[test]
fn the_approved_bytes_are_the_final_word_when_a_change_hides_from_the_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, _db, engine) = workspace(tmp.path(), &["CT_small.dcm"]);
    let ct = archive.join("CT_small.dcm");
    let (series, _) = uids(&ct);
    let opts = ProfileOptions::default();
    engine
        .set_review(&series, None, ReviewState::Approved, "gina", "", &opts)
        .unwrap();
    // A pixel changed in place, size and modification time restored: the
    // cheap check cannot see it, the export's hash of the bytes does.
    let modified = std::fs::metadata(&ct).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&ct).unwrap();
    // Inside the pixel data (the file ends with elements the profile removes).
    let at = bytes.len() - 1000;
    bytes[at] ^= 0x40;
    std::fs::write(&ct, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&ct)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    assert_eq!(
        state_of(&engine, &series, &opts),
        (ReviewState::Approved, None)
    );
    let export = |out: &Path, approved_only: Option<bool>| {
        engine
            .export_cohort(
                "all",
                out,
                &ExportOptions {
                    approved_only,
                    ..Default::default()
                },
                &CancelToken::new(),
                &mut |_| {},
            )
            .unwrap()
    };
    let out = tmp.path().join("approved-only");
    let r = export(&out, None);
    assert!(r.review.approved_only && r.written == 0, "{r:?}");
    assert_eq!(r.skipped.len(), 1, "{r:?}");
    assert!(
        r.skipped[0].1.contains("not what a reviewer approved"),
        "{r:?}"
    );
    let out = tmp.path().join("all-series");
    let r = export(&out, Some(false));
    assert_eq!((r.written, r.review.clean_pixels_claimed), (1, 0), "{r:?}");
    assert!(!claims_clean_pixels(&dcm_files(&out)[0]).0);
}
