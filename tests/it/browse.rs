//! The browser's queries: filters match literally, hostile text is data,
//! sorting goes through the whitelist.

use crate::common::*;
use pacs_cohort::model::{StudyQuery, StudySort};
use pacs_cohort::Engine;

#[test]
fn study_filters_are_literal_and_hostile_text_is_harmless() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let s = synth(&archive, 12, 31, false);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let engine = Engine::open(&db).unwrap();
    let q = |text: &str| {
        engine
            .studies(&StudyQuery {
                text: text.into(),
                ..Default::default()
            })
            .unwrap()
    };
    assert_eq!(q("").len() as u64, s.studies);
    for hostile in [
        "%",
        "_",
        "'; DROP TABLE studies; --",
        "\"",
        "\\",
        "a\0b",
        &"x".repeat(100_000),
    ] {
        assert!(
            q(hostile).is_empty(),
            "{hostile:?} matches nothing literally"
        );
    }
    assert_eq!(q("").len() as u64, s.studies, "tables intact");
    let ct = q("ct");
    assert!(!ct.is_empty());
    assert!(ct.iter().all(|r| {
        let hay = format!("{:?}", r).to_lowercase();
        hay.contains("ct")
    }));
    let pid = q("")[0].patient_id.clone();
    assert!(q(&pid).iter().all(|r| r.patient_id == pid));
}

#[test]
fn studies_sort_by_every_column_and_series_follow() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let s = synth(&archive, 10, 32, false);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let engine = Engine::open(&db).unwrap();
    for sort in [
        StudySort::PatientId,
        StudySort::PatientName,
        StudySort::Sex,
        StudySort::Age,
        StudySort::StudyDate,
        StudySort::Modalities,
        StudySort::Description,
        StudySort::Institution,
        StudySort::Series,
        StudySort::Instances,
    ] {
        for descending in [false, true] {
            let rows = engine
                .studies(&StudyQuery {
                    sort,
                    descending,
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(rows.len() as u64, s.studies, "{sort:?}");
        }
    }
    let by_age = engine
        .studies(&StudyQuery {
            sort: StudySort::Age,
            descending: false,
            ..Default::default()
        })
        .unwrap();
    assert!(by_age
        .windows(2)
        .all(|w| w[0].age_at_study_years <= w[1].age_at_study_years));
    let total: u64 = by_age.iter().map(|r| r.instance_count).sum();
    assert_eq!(total, s.instances);
    let study = &by_age[0];
    let series = engine.series(&study.study_uid).unwrap();
    assert_eq!(series.len() as u64, study.series_count);
    assert_eq!(
        series.iter().map(|r| r.instance_count).sum::<u64>(),
        study.instance_count
    );
}

#[test]
fn removing_an_archive_drops_its_index_but_not_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let s = synth(&archive, 3, 33, false);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let engine = Engine::open(&db).unwrap();
    let root = std::fs::canonicalize(&archive).unwrap();
    assert_eq!(engine.remove_root(&root).unwrap(), s.files);
    let st = engine.status().unwrap();
    assert!(st.roots.is_empty());
    assert_eq!(st.levels.instances, 0);
    assert_consistent(&db);
    let left = walk_count(&archive);
    assert_eq!(left, s.files, "files on disk untouched");
}

fn walk_count(dir: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        n += if p.is_dir() { walk_count(&p) } else { 1 };
    }
    n
}
