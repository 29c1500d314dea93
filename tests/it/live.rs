//! The app's live counts (issue 17): the in-memory column engine is built
//! in the background while SQLite answers, answers once ready with the
//! same counts, and after an index run, an import or another process's
//! change never answers from a stale snapshot. The CLI's `--evaluator`
//! compares the two evaluators through the real binary.

use crate::common::*;
use pacs_cohort::cohort::parse_spec;
use pacs_cohort::engine::{ColumnEngineState, Evaluator, EvaluatorChoice};
use pacs_cohort::model::CohortSpec;
use pacs_cohort::{CancelToken, Engine, IndexOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SPECS: [&str; 4] = [
    r#"{"schema_version": 1, "name": "ct", "unit": "study", "rules": [
      {"name": "CT", "criterion": {"modality": ["ct"]}},
      {"name": "age 40-80", "criterion": {"age": {"min": 40, "max": 80}}},
      {"name": "contrast", "exclude": true, "criterion": {"contrast": true}}]}"#,
    r#"{"schema_version": 1, "name": "fu", "unit": "patient", "rules": [
      {"name": "first CT", "criterion": {"first_of": {"modality": ["CT"]}}},
      {"name": "later", "criterion": {"follow_up": {"min_days": 1, "criterion": {"all": []}}}}]}"#,
    r#"{"schema_version": 1, "name": "se", "unit": "series", "rules": [
      {"name": "MR or CT", "criterion": {"modality": ["MR", "CT"]}},
      {"name": "not head", "criterion": {"not": {"body_part": ["HEAD", "BRAIN"]}}},
      {"name": "images", "criterion": {"instance_count": {"min": 2}}}]}"#,
    r#"{"schema_version": 1, "name": "bmi", "unit": "patient", "rules": [
      {"name": "bmi", "criterion": {"ehr": {"dataset": "clinic", "column": "bmi", "min": 25}}}]}"#,
];

fn specs() -> Vec<CohortSpec> {
    SPECS.iter().map(|s| parse_spec(s).unwrap()).collect()
}

fn wait_ready(engine: &Engine) {
    let start = Instant::now();
    loop {
        match engine.column_engine_state() {
            ColumnEngineState::Ready { .. } => return,
            ColumnEngineState::Failed(why) => panic!("column engine failed: {why}"),
            _ if start.elapsed() > Duration::from_secs(60) => panic!("column engine not ready"),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn index(engine: &Engine, archive: &Path) {
    engine
        .index(
            &[archive.to_path_buf()],
            &IndexOptions::default(),
            &CancelToken::new(),
            &mut |_| {},
        )
        .unwrap();
}

fn import_bmi(engine: &Engine, dir: &Path) {
    let conn = sqlite(engine.db_path());
    let pids: Vec<String> = conn
        .prepare("SELECT patient_id FROM patients ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut csv = String::from("patient_id,bmi\n");
    for (i, p) in pids.iter().enumerate() {
        csv.push_str(&format!("{p},{}\n", 20 + i % 12));
    }
    let path = dir.join("clinic.csv");
    std::fs::write(&path, csv).unwrap();
    engine
        .import_ehr_csv(
            &path,
            "clinic",
            &pacs_cohort::model::EhrLink::by(pacs_cohort::model::EhrKey::PatientId),
            false,
        )
        .unwrap();
}

/// Every definition counted by `choice`: who answered, and the counts
/// equal SQLite's at that moment.
fn counted_by(engine: &Engine, choice: EvaluatorChoice) -> Vec<Evaluator> {
    specs()
        .iter()
        .map(|s| {
            let (counts, by) = engine.cohort_count_by(s, choice).unwrap();
            assert_eq!(
                counts,
                engine.cohort_count(s).unwrap(),
                "{} by {by:?}",
                s.name
            );
            by
        })
        .collect()
}

#[test]
fn live_counts_come_from_memory_once_built_and_follow_every_change() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    synth(&a, 12, 3, false);
    synth(&b, 10, 4, false);
    synth(&c, 8, 5, false);
    let db = tmp.path().join("ws.db");
    let engine = Engine::open(&db).unwrap();
    index(&engine, &a);
    // Not started: SQLite answers.
    assert_eq!(engine.column_engine_state(), ColumnEngineState::Off);
    assert!(counted_by(&engine, EvaluatorChoice::Auto)
        .iter()
        .all(|e| *e == Evaluator::Sqlite));
    let woken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let w = woken.clone();
    engine.start_column_engine(Arc::new(move || {
        w.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    // While it builds, counts still answer (whoever is ready).
    counted_by(&engine, EvaluatorChoice::Auto);
    wait_ready(&engine);
    assert!(woken.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert!(counted_by(&engine, EvaluatorChoice::Auto)
        .iter()
        .all(|e| *e == Evaluator::Memory));
    let studies = |e: &Engine| e.cohort_count(&specs()[0]).unwrap().population;
    let before = studies(&engine);

    // An index run by this engine: the snapshot is dropped at once, so
    // the next count is the new truth from SQLite, then from memory.
    index(&engine, &b);
    assert!(studies(&engine) > before);
    let first = engine
        .cohort_count_by(&specs()[0], EvaluatorChoice::Auto)
        .unwrap();
    assert_eq!(first.0.population, studies(&engine));
    wait_ready(&engine);
    assert!(counted_by(&engine, EvaluatorChoice::Auto)
        .iter()
        .all(|e| *e == Evaluator::Memory));

    // An EHR import: the EHR definition changes from nothing to something.
    let bmi = &specs()[3];
    assert_eq!(engine.cohort_count(bmi).unwrap().levels.patients, 0);
    import_bmi(&engine, tmp.path());
    wait_ready(&engine);
    let (counts, by) = engine.cohort_count_by(bmi, EvaluatorChoice::Auto).unwrap();
    assert_eq!(by, Evaluator::Memory);
    assert!(counts.levels.patients > 0);
    assert_eq!(counts, engine.cohort_count(bmi).unwrap());

    // Another process indexes more: noticed at the next count, which
    // SQLite answers; then memory again, with the new truth.
    let out = run(&db, &["index", c.to_str().unwrap()]);
    // 3: finished, with patient IDs the generated archives share (conflicts).
    assert!(matches!(out.status.code(), Some(0 | 3)), "{out:?}");
    let (counts, by) = engine
        .cohort_count_by(&specs()[0], EvaluatorChoice::Auto)
        .unwrap();
    assert_eq!(by, Evaluator::Sqlite);
    assert_eq!(counts.population, studies(&engine));
    wait_ready(&engine);
    assert!(counted_by(&engine, EvaluatorChoice::Auto)
        .iter()
        .all(|e| *e == Evaluator::Memory));

    // A commit the engine does not read (a saved cohort) keeps it.
    engine.save_cohort(&specs()[0]).unwrap();
    assert_eq!(
        engine
            .cohort_count_by(&specs()[0], EvaluatorChoice::Auto)
            .unwrap()
            .1,
        Evaluator::Memory
    );
}

#[test]
fn cli_evaluators_agree_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    synth(&archive, 15, 9, false);
    let db = tmp.path().join("ws.db");
    let engine = Engine::open(&db).unwrap();
    index(&engine, &archive);
    import_bmi(&engine, tmp.path());
    for (i, text) in SPECS.iter().enumerate() {
        let spec = tmp.path().join(format!("s{i}.json"));
        std::fs::write(&spec, text).unwrap();
        let spec = spec.to_str().unwrap();
        let by = |evaluator: &str| {
            let (code, mut v) = run_json(
                &db,
                &[
                    "cohort",
                    "count",
                    "--spec",
                    spec,
                    "--json",
                    "--evaluator",
                    evaluator,
                ],
            );
            assert_eq!(code, 0, "{v}");
            let answered = v.as_object_mut().unwrap().remove("evaluator").unwrap();
            assert_eq!(answered, evaluator, "{v}");
            v
        };
        let (memory, sqlite) = (by("memory"), by("sqlite"));
        assert_eq!(memory, sqlite, "definition {i}");
        // The default is SQLite (one call: no engine to build).
        let (_, v) = count_json(&db, spec);
        assert_eq!(v["evaluator"], "sqlite");
    }
}
