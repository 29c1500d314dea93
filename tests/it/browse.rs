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

#[test]
fn study_search_matches_every_word_in_any_order_and_case() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 40, 34, false);
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
    let uids = |text: &str| {
        let mut u: Vec<String> = q(text).into_iter().map(|r| r.study_uid).collect();
        u.sort();
        u
    };
    // What the search looks at, as the user would read it.
    let fields = |r: &pacs_cohort::model::StudyRow| {
        [
            Some(r.patient_id.clone()),
            r.patient_name.clone(),
            r.accession_number.clone(),
            r.description.clone(),
            r.modalities.clone(),
            r.institution.clone(),
        ]
        .map(Option::unwrap_or_default)
        .join("\n")
        .to_lowercase()
    };
    let all = q("");

    // The words in the user's order and case find what the stored phrase
    // finds, and every study with both words somewhere.
    let phrase = uids("CT CHEST");
    assert!(!phrase.is_empty(), "the archive has chest CTs");
    assert_eq!(uids("chest ct"), phrase, "'chest ct' finds 'CT CHEST'");
    assert_eq!(uids("ct chest"), uids("chest ct"), "word order is free");
    assert_eq!(uids("  Chest\tcT "), phrase, "case and spacing are free");
    assert_eq!(uids("ct ct CHEST chest"), phrase, "repeated words");
    let mut both: Vec<String> = all
        .iter()
        .filter(|r| fields(r).contains("chest") && fields(r).contains("ct"))
        .map(|r| r.study_uid.clone())
        .collect();
    both.sort();
    assert_eq!(uids("chest ct"), both);
    let words = ["contrast", "without", "chest", "ct"];
    let mut expected: Vec<String> = all
        .iter()
        .filter(|r| words.iter().all(|w| fields(r).contains(w)))
        .map(|r| r.study_uid.clone())
        .collect();
    expected.sort();
    assert!(!expected.is_empty() && expected.len() < phrase.len());
    assert_eq!(uids("contrast without chest ct"), expected);

    // Words may match different fields: a patient ID and a description word.
    let study = q("CT CHEST").into_iter().next().unwrap();
    let mine = q(&format!("chest {}", study.patient_id.to_lowercase()));
    assert!(mine.iter().any(|r| r.study_uid == study.study_uid));
    assert!(mine
        .iter()
        .all(|r| r.patient_id.contains(&study.patient_id) && fields(r).contains("chest")));

    // Every word must match: one word found nowhere empties the result.
    assert!(q("chest ct no-such-word").is_empty());

    // `%` and `_` typed by the user are characters, not wildcards, also
    // inside a word and as a word of their own (DECISIONS 17).
    assert!(all.iter().any(|r| fields(r).contains("ct chest")));
    for literal in ["CT%CHEST", "C_ CHEST", "chest %", "_ ct", "%"] {
        assert!(q(literal).is_empty(), "{literal:?} matches literally");
    }

    // More words than SQLite's expression depth limit (1000) still run as
    // one query (here: nothing has all of them).
    let chars: Vec<char> = ('a'..='z').chain('0'..='9').collect();
    let many: Vec<String> = chars
        .iter()
        .flat_map(|a| chars.iter().map(move |b| format!("{a}{b}")))
        .collect();
    assert!(many.len() > 1000);
    assert!(q(&many.join(" ")).is_empty());
}
