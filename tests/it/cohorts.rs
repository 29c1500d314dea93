//! Cohorts through the real CLI and library: counts checked against
//! independent SQL, attrition, suppression, hostile input, saved cohorts.

use crate::common::*;
use pacs_cohort::cohort::{has_index_event, parse_spec};
use pacs_cohort::model::CohortSpec;
use pacs_cohort::Engine;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

fn indexed(tmp: &Path, patients: u32) -> std::path::PathBuf {
    let archive = tmp.join("archive");
    synth(&archive, patients, 51, false);
    let db = tmp.join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    db
}

fn write_spec(dir: &Path, name: &str, json: &str) -> String {
    let p = dir.join(format!("{name}.json"));
    std::fs::write(&p, json).unwrap();
    p.to_str().unwrap().to_string()
}

fn q(db: &Path, sql: &str) -> u64 {
    sqlite(db)
        .query_row(sql, [], |r| r.get::<_, i64>(0))
        .unwrap() as u64
}

const CT_CHEST: &str = r#"{"schema_version": 1, "name": "ct-chest", "unit": "study", "rules": [
  {"name": "CT", "criterion": {"modality": ["ct"]}},
  {"name": "age 40-80", "criterion": {"age": {"min": 40, "max": 80}}},
  {"name": "female", "criterion": {"sex": ["F"]}},
  {"name": "contrast", "exclude": true, "criterion": {"contrast": true}}
]}"#;

#[test]
fn counts_and_attrition_match_independent_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 120);
    let spec = write_spec(tmp.path(), "a", CT_CHEST);
    let (code, v) = count_json(&db, &spec);
    assert_eq!(code, 0, "{v}");
    let n = |x: &Value| x["count"].as_u64().unwrap();
    assert_eq!(n(&v["population"]), q(&db, "SELECT count(*) FROM studies"));
    let ct = "EXISTS (SELECT 1 FROM series s WHERE s.study_ref = st.id AND s.modality = 'CT')";
    let age = "st.age_at_study_years BETWEEN 40 AND 80";
    let female = "(SELECT sex FROM patients WHERE id = st.patient_ref) = 'F'";
    let contrast = "EXISTS (SELECT 1 FROM series s JOIN instances i ON i.series_ref = s.id WHERE s.study_ref = st.id AND i.contrast_agent IS NOT NULL)";
    let steps = v["attrition"].as_array().unwrap();
    let expected = [
        q(&db, &format!("SELECT count(*) FROM studies st WHERE {ct}")),
        q(&db, &format!("SELECT count(*) FROM studies st WHERE {ct} AND {age}")),
        q(&db, &format!("SELECT count(*) FROM studies st WHERE {ct} AND {age} AND {female}")),
        q(&db, &format!("SELECT count(*) FROM studies st WHERE {ct} AND {age} AND {female} AND NOT {contrast}")),
    ];
    for (step, want) in steps.iter().zip(expected) {
        assert_eq!(n(&step["remaining"]), want, "{step}");
    }
    assert!(
        expected[3] > 0 && expected[0] > expected[3],
        "the funnel narrows: {expected:?}"
    );
    assert_eq!(
        n(&steps[3]["removed_alone"]),
        q(
            &db,
            &format!("SELECT count(*) FROM studies st WHERE {contrast}")
        ),
        "an exclusion rule alone removes the studies it matches"
    );
    let final_where = format!("{ct} AND {age} AND {female} AND NOT {contrast}");
    assert_eq!(n(&v["levels"]["studies"]), expected[3]);
    assert_eq!(
        n(&v["levels"]["patients"]),
        q(
            &db,
            &format!("SELECT count(DISTINCT patient_ref) FROM studies st WHERE {final_where}")
        )
    );
    assert_eq!(
        n(&v["levels"]["instances"]),
        q(&db, &format!("SELECT count(*) FROM instances i JOIN series s ON s.id = i.series_ref JOIN studies st ON st.id = s.study_ref WHERE {final_where}"))
    );
}

#[test]
fn units_and_groups_behave_as_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 80);
    let engine = Engine::open(&db).unwrap();
    let count = |json: &str| engine.cohort_count(&parse_spec(json).unwrap()).unwrap();
    let series = count(
        r#"{"schema_version":1,"name":"s","unit":"series","rules":[{"name":"MR","criterion":{"modality":["MR"]}}]}"#,
    );
    assert_eq!(
        series.levels.series,
        q(&db, "SELECT count(*) FROM series WHERE modality = 'MR'")
    );
    let patients = count(
        r#"{"schema_version":1,"name":"p","unit":"patient","rules":[{"name":"MR","criterion":{"modality":["MR"]}},{"name":"not MG","exclude":true,"criterion":{"modality":["MG"]}}]}"#,
    );
    assert_eq!(
        patients.levels.patients,
        q(&db, "SELECT count(*) FROM patients p WHERE EXISTS (SELECT 1 FROM studies st JOIN series s ON s.study_ref = st.id WHERE st.patient_ref = p.id AND s.modality = 'MR')
                AND NOT EXISTS (SELECT 1 FROM studies st JOIN series s ON s.study_ref = st.id WHERE st.patient_ref = p.id AND s.modality = 'MG')")
    );
    // The content of a patient cohort is its matching studies, not every study of the patient.
    assert_eq!(
        patients.levels.studies,
        q(&db, "SELECT count(*) FROM studies st WHERE EXISTS (SELECT 1 FROM series s WHERE s.study_ref = st.id AND s.modality = 'MR')
                AND NOT EXISTS (SELECT 1 FROM studies x JOIN series s ON s.study_ref = x.id WHERE x.patient_ref = st.patient_ref AND s.modality = 'MG')")
    );
    let any = count(
        r#"{"schema_version":1,"name":"a","rules":[{"name":"CT or MR","criterion":{"any":[{"modality":["CT"]},{"modality":["MR"]}]}}]}"#,
    );
    let list = count(
        r#"{"schema_version":1,"name":"l","rules":[{"name":"CT or MR","criterion":{"modality":["CT","MR"]}}]}"#,
    );
    assert_eq!(any.levels, list.levels);
    let not = count(
        r#"{"schema_version":1,"name":"n","rules":[{"name":"not CT","criterion":{"not":{"modality":["CT"]}}}]}"#,
    );
    let excl = count(
        r#"{"schema_version":1,"name":"e","rules":[{"name":"CT","exclude":true,"criterion":{"modality":["CT"]}}]}"#,
    );
    assert_eq!(not.levels, excl.levels);
    let words = count(
        r#"{"schema_version":1,"name":"w","rules":[{"name":"chest w/o","criterion":{"study_description":"chest witho"}}]}"#,
    );
    assert_eq!(
        words.levels.studies,
        q(
            &db,
            "SELECT count(*) FROM studies WHERE description LIKE '%CHEST WITHOUT%'"
        )
    );
    let dates = count(
        r#"{"schema_version":1,"name":"d","rules":[{"name":"2020","criterion":{"study_date":{"from":"2020-01-01","to":"2020-12-31"}}}]}"#,
    );
    assert_eq!(
        dates.levels.studies,
        q(
            &db,
            "SELECT count(*) FROM studies WHERE study_date LIKE '2020-%'"
        )
    );
}

#[test]
fn hostile_values_are_data_not_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 10);
    let long = "x".repeat(900);
    let spec = format!(
        r#"{{"schema_version":1,"name":"evil","rules":[
        {{"name":"q","criterion":{{"any":[{{"modality":["'; DROP TABLE studies; --","%","_","\""]}},{{"study_description":"100% '; DROP TABLE series; -- \\ _ {long}"}},{{"institution":["a\\u0001b"]}}]}}}}]}}"#
    );
    let path = write_spec(tmp.path(), "evil", &spec);
    let (code, v) = count_json(&db, &path);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["levels"]["studies"]["count"], 0);
    assert!(q(&db, "SELECT count(*) FROM studies") > 0, "tables intact");
    assert!(q(&db, "SELECT count(*) FROM series") > 0, "tables intact");
    // NUL and overlong values are refused with a message naming the rule.
    let nul = write_spec(
        tmp.path(),
        "nul",
        r#"{"schema_version":1,"name":"n","rules":[{"name":"nul","criterion":{"modality":["a\u0000b"]}}]}"#,
    );
    let out = run(&db, &["cohort", "count", "--spec", &nul]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rule 'nul'"));
}

#[test]
fn released_counts_hide_small_cells_and_what_reveals_them() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 40);
    let spec = write_spec(tmp.path(), "a", CT_CHEST);
    let (_, exact) = count_json(&db, &spec);
    let (_, rel) = run_json(
        &db,
        &["cohort", "count", "--spec", &spec, "--json", "--release"],
    );
    let shown = |x: &Value| x["count"].as_u64();
    let mut any_hidden = false;
    let mut previous = shown(&rel["population"]);
    for (e, r) in exact["attrition"]
        .as_array()
        .unwrap()
        .iter()
        .zip(rel["attrition"].as_array().unwrap())
    {
        for key in ["remaining", "removed", "removed_alone"] {
            let n = e[key]["count"].as_u64().unwrap();
            if (1..=10).contains(&n) {
                assert_eq!(r[key]["count"], "<11", "{key} {n} is hidden");
                any_hidden = true;
            }
            if let Some(shown) = shown(&r[key]) {
                assert!(!(1..=10).contains(&shown));
            }
        }
        // remaining = previous - removed: never exactly one of the three hidden.
        let hidden = [
            previous.is_none(),
            shown(&r["removed"]).is_none(),
            shown(&r["remaining"]).is_none(),
        ];
        assert_ne!(
            hidden.iter().filter(|h| **h).count(),
            1,
            "derivable cell in {r}"
        );
        previous = shown(&r["remaining"]);
    }
    assert!(any_hidden, "the test must exercise suppression: {exact}");
    for level in ["patients", "studies", "series", "instances"] {
        if let Some(n) = shown(&rel["levels"][level]) {
            assert!(!(1..=10).contains(&n));
        }
    }
}

#[test]
fn saved_cohorts_round_trip_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 15);
    let spec = write_spec(tmp.path(), "a", CT_CHEST);
    let b = write_spec(
        tmp.path(),
        "b",
        r#"{"schema_version":1,"name":"women","rules":[{"name":"F","criterion":{"sex":["F"]}}]}"#,
    );
    assert!(run(&db, &["cohort", "save", "--spec", &spec])
        .status
        .success());
    let again = run(&db, &["cohort", "save", "--spec", &spec]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("revision 2"));
    assert!(run(&db, &["cohort", "save", "--spec", &b]).status.success());
    let (_, list) = run_json(&db, &["cohort", "list", "--json"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ct-chest", "women"]);
    let exported = tmp.path().join("exported.json");
    assert!(run(
        &db,
        &[
            "cohort",
            "export",
            "ct-chest",
            "--out",
            exported.to_str().unwrap()
        ]
    )
    .status
    .success());
    let other_db = tmp.path().join("other.db");
    assert!(
        run(&other_db, &["cohort", "import", exported.to_str().unwrap()])
            .status
            .success()
    );
    let (_, shown) = run_json(&other_db, &["cohort", "show", "ct-chest"]);
    assert_eq!(
        shown,
        serde_json::to_value(parse_spec(CT_CHEST).unwrap()).unwrap()
    );
    let (_, cmp) = run_json(&db, &["cohort", "compare", "ct-chest", "women", "--json"]);
    let (_, a) = count_json(&db, &spec);
    let a_studies = a["levels"]["studies"]["count"].as_u64().unwrap();
    assert_eq!(
        cmp["both_studies"].as_u64().unwrap() + cmp["only_a_studies"].as_u64().unwrap(),
        a_studies
    );
    assert_eq!(
        cmp["only_a_studies"], 0,
        "every study of the CT cohort is a woman's"
    );
    // Released: a level with a small cell is hidden whole.
    let (code, released) = run_json(
        &db,
        &[
            "cohort",
            "compare",
            "ct-chest",
            "women",
            "--release",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    for level in ["patients", "studies"] {
        let keys = ["both", "only_a", "only_b"].map(|k| format!("{k}_{level}"));
        let raw: Vec<u64> = keys.iter().map(|k| cmp[k].as_u64().unwrap()).collect();
        let small = raw.iter().any(|n| (1..=10).contains(n));
        for (k, n) in keys.iter().zip(&raw) {
            if small {
                assert!(released[k].is_null(), "{k} hidden: {released}");
            } else {
                assert_eq!(released[k].as_u64(), Some(*n), "{k}");
            }
        }
    }
    assert!(run(&db, &["cohort", "delete", "women"]).status.success());
    let missing = run(&db, &["cohort", "show", "women"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no saved cohort named 'women'"));
}

#[test]
fn the_manifest_lists_every_series_and_is_labelled_phi() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 20);
    let spec = write_spec(tmp.path(), "a", CT_CHEST);
    run(&db, &["cohort", "save", "--spec", &spec]);
    let out = tmp.path().join("m.csv");
    let o = run(
        &db,
        &[
            "cohort",
            "manifest",
            "ct-chest",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("# CONTAINS PHI"));
    assert!(lines
        .next()
        .unwrap()
        .starts_with("patient_id,patient_name,"));
    let (_, v) = count_json(&db, &spec);
    assert_eq!(
        lines.count() as u64,
        v["levels"]["series"]["count"].as_u64().unwrap()
    );
}

#[test]
fn index_events_and_follow_up_windows() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 150);
    let engine = Engine::open(&db).unwrap();
    let spec = parse_spec(
        r#"{"schema_version":1,"name":"ct follow-up","rules":[
        {"name":"first CT","criterion":{"first_of":{"modality":["CT"]}}},
        {"name":"any study 30-1500 days later","criterion":{"follow_up":{"min_days":30,"max_days":1500,"criterion":{"all":[]}}}},
        {"name":"a later MR or CT within 4 years","criterion":{"follow_up":{"min_days":1,"max_days":1461,"criterion":{"modality":["MR","CT"]}}}}]}"#,
    )
    .unwrap();
    let counts = engine.cohort_count(&spec).unwrap();
    // Independent computation in Rust from plain rows.
    let c = sqlite(&db);
    let rows: Vec<(i64, i64, f64, bool, bool)> = c
        .prepare(
            "SELECT st.patient_ref, st.id, julianday(st.study_date),
                    EXISTS (SELECT 1 FROM series s WHERE s.study_ref = st.id AND s.modality = 'CT'),
                    EXISTS (SELECT 1 FROM series s WHERE s.study_ref = st.id AND s.modality IN ('CT', 'MR'))
             FROM studies st WHERE st.study_date IS NOT NULL",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut first_ct: std::collections::HashMap<i64, (f64, i64)> = Default::default();
    for (p, id, d, ct, _) in &rows {
        if *ct {
            let e = first_ct.entry(*p).or_insert((*d, *id));
            if (*d, *id) < *e {
                *e = (*d, *id);
            }
        }
    }
    let later = |p: i64, from: f64, id: i64, lo: f64, hi: f64, need_ct_mr: bool| {
        rows.iter().any(|(q, sid, d, _, ctmr)| {
            *q == p && *sid != id && d - from >= lo && d - from <= hi && (!need_ct_mr || *ctmr)
        })
    };
    let step1 = first_ct.len() as u64;
    let step2 = first_ct
        .iter()
        .filter(|(p, (d, id))| later(**p, *d, *id, 30.0, 1500.0, false))
        .count() as u64;
    let step3 = first_ct
        .iter()
        .filter(|(p, (d, id))| {
            later(**p, *d, *id, 30.0, 1500.0, false) && later(**p, *d, *id, 1.0, 1461.0, true)
        })
        .count() as u64;
    let got: Vec<u64> = counts.attrition.iter().map(|s| s.remaining).collect();
    assert_eq!(got, vec![step1, step2, step3]);
    assert!(
        step1 > step2 && step2 > 0,
        "the windows narrow the cohort: {got:?}"
    );
    assert_eq!(counts.levels.studies, step3, "one index study per patient");
    assert_eq!(counts.levels.patients, step3);
}

#[test]
fn rename_duplicate_and_released_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 40);
    let spec = write_spec(tmp.path(), "a", CT_CHEST);
    run(&db, &["cohort", "save", "--spec", &spec]);
    assert!(run(&db, &["cohort", "duplicate", "ct-chest", "copy"])
        .status
        .success());
    assert!(run(&db, &["cohort", "rename", "ct-chest", "renamed"])
        .status
        .success());
    let taken = run(&db, &["cohort", "rename", "copy", "renamed"]);
    assert_eq!(taken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already exists"));
    let (_, shown) = run_json(&db, &["cohort", "show", "renamed"]);
    assert_eq!(
        shown["name"], "renamed",
        "the stored definition follows the new name"
    );
    let (_, list) = run_json(&db, &["cohort", "list", "--json"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["copy", "renamed"]);

    let csv = tmp.path().join("attrition.csv");
    let out = run(
        &db,
        &[
            "cohort",
            "count",
            "--spec",
            &spec,
            "--release",
            "--csv",
            csv.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("released: counts 1..10 shown as <11"));
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        for cell in line.split(',').skip(3) {
            if let Ok(n) = cell.parse::<u64>() {
                assert!(!(1..=10).contains(&n), "released cell {n} in {line}");
            }
        }
    }
}

#[test]
fn aggregate_only_workspaces_release_only_suppressed_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 40);
    let spec = write_spec(tmp.path(), "a", CT_CHEST);
    run(&db, &["cohort", "save", "--spec", &spec]);
    let (_, p) = run_json(
        &db,
        &[
            "privacy",
            "--aggregate-only",
            "true",
            "--threshold",
            "5",
            "--json",
        ],
    );
    assert_eq!(p["aggregate_only"], true);
    let (code, v) = count_json(&db, &spec);
    assert_eq!(code, 0);
    assert_eq!(
        v["suppression"]["shown_as"], "<6",
        "suppressed without --release: {v}"
    );
    for step in v["attrition"].as_array().unwrap() {
        for key in ["remaining", "removed", "removed_alone"] {
            if let Some(n) = step[key]["count"].as_u64() {
                assert!(!(1..=5).contains(&n));
            }
        }
    }
    for args in [
        vec!["cohort", "manifest", "ct-chest", "--out", "/dev/null"],
        vec!["files"],
    ] {
        let out = run(&db, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("aggregate-only mode"));
    }
    run(&db, &["privacy", "--aggregate-only", "false"]);
    assert!(run(&db, &["files"]).status.success());
}

#[test]
fn counts_are_the_same_with_and_without_study_facts() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 60);
    let engine = Engine::open(&db).unwrap();
    let spec = parse_spec(CT_CHEST).unwrap();
    let with_facts = engine.cohort_count(&spec).unwrap();
    let known: i64 = sqlite(&db)
        .query_row("SELECT count(*) FROM studies WHERE facts_modalities IS NOT NULL AND facts_contrast IS NOT NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        known as u64, with_facts.population,
        "an index run computes every study's facts"
    );
    // Unknown facts (e.g. a run killed before it finished): the subqueries decide.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("UPDATE studies SET facts_modalities = NULL, facts_body_parts = NULL, facts_contrast = NULL")
        .unwrap();
    assert_eq!(engine.cohort_count(&spec).unwrap(), with_facts);
}

/// The README's index-event example, in a given unit.
fn first_chest_ct_with_follow_up(unit: &str) -> String {
    format!(
        r#"{{"schema_version":1,"name":"first chest CT, follow-up CT","unit":"{unit}","rules":[
        {{"name":"first chest CT","criterion":{{"first_of":{{"all":[{{"modality":["CT"]}},{{"body_part":["CHEST"]}}]}}}}}},
        {{"name":"follow-up CT 6-24 months","criterion":{{"follow_up":{{"min_days":180,"max_days":730,"criterion":{{"modality":["CT"]}}}}}}}}]}}"#
    )
}

/// Study UIDs and patient ids of a cohort's content, from its manifest.
fn content_of(engine: &Engine, spec: &CohortSpec) -> (BTreeSet<String>, BTreeSet<String>) {
    let rows = engine.cohort_manifest(spec).unwrap();
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let (study, patient) = (col("study_uid"), col("patient_id"));
    let studies = rows[1..].iter().map(|r| r[study].clone()).collect();
    let patients = rows[1..].iter().map(|r| r[patient].clone()).collect();
    (studies, patients)
}

/// Per study, from plain rows: (patient, id, uid, day, chest CT, has CT).
type StudyRow = (i64, i64, String, f64, bool, bool);

fn study_rows(db: &Path) -> Vec<StudyRow> {
    let has = |cond: &str| {
        format!("EXISTS (SELECT 1 FROM series s WHERE s.study_ref = st.id AND {cond})")
    };
    let sql = format!(
        "SELECT st.patient_ref, st.id, st.study_uid, julianday(st.study_date), {} AND {}, {}
         FROM studies st WHERE st.study_date IS NOT NULL",
        has("upper(s.modality) = 'CT'"),
        has("upper(s.body_part) = 'CHEST'"),
        has("upper(s.modality) = 'CT'")
    );
    sqlite(db)
        .prepare(&sql)
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Whether another study of the patient, `lo..=hi` days after `from`, has a CT.
fn has_ct_follow_up(rows: &[StudyRow], index: &StudyRow, lo: f64, hi: f64) -> bool {
    rows.iter()
        .any(|r| r.0 == index.0 && r.1 != index.1 && r.5 && (lo..=hi).contains(&(r.3 - index.3)))
}

#[test]
fn an_index_event_anchors_the_other_rules_of_a_patient_cohort() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 150);
    let engine = Engine::open(&db).unwrap();
    let by_patient = parse_spec(&first_chest_ct_with_follow_up("patient")).unwrap();
    let by_study = parse_spec(&first_chest_ct_with_follow_up("study")).unwrap();
    assert!(has_index_event(&by_patient));
    assert!(!has_index_event(&by_study));
    let p = engine.cohort_count(&by_patient).unwrap();
    let s = engine.cohort_count(&by_study).unwrap();

    // Independently: each patient's first chest CT (by date, then row id),
    // kept when it has a CT 180-730 days later.
    let rows = study_rows(&db);
    let mut first: HashMap<i64, &StudyRow> = HashMap::new();
    for r in rows.iter().filter(|r| r.4) {
        let e = first.entry(r.0).or_insert(r);
        if (r.3, r.1) < (e.3, e.1) {
            *e = r;
        }
    }
    let index_studies: BTreeSet<String> = first
        .values()
        .filter(|r| has_ct_follow_up(&rows, r, 180.0, 730.0))
        .map(|r| r.2.clone())
        .collect();
    let n = index_studies.len() as u64;
    // Each rule matched on its own (the earlier semantics) would admit more:
    // a chest CT, and some study with a CT follow-up, not necessarily that one.
    let loose = first
        .keys()
        .filter(|p| {
            rows.iter()
                .any(|r| r.0 == **p && has_ct_follow_up(&rows, r, 180.0, 730.0))
        })
        .count() as u64;
    assert!(
        n > 0 && loose > n,
        "the example must discriminate: {n} vs {loose}"
    );

    // The same patients in both units, one index study each.
    assert_eq!(p.levels.patients, n);
    assert_eq!(s.levels.patients, n);
    assert_eq!(p.levels.studies, n);
    assert_eq!(p.levels, s.levels);
    // The patient cohort's content is exactly the index studies.
    let (p_studies, p_patients) = content_of(&engine, &by_patient);
    let (s_studies, s_patients) = content_of(&engine, &by_study);
    assert_eq!(p_studies, index_studies);
    assert_eq!(s_studies, index_studies);
    assert_eq!(p_patients, s_patients);
    assert_eq!(p_patients.len() as u64, n);
    // The funnel counts patients with the same semantics.
    let remaining: Vec<u64> = p.attrition.iter().map(|a| a.remaining).collect();
    assert_eq!(remaining, vec![first.len() as u64, n]);
    assert_eq!(
        p.population,
        q(&db, "SELECT count(*) FROM patients"),
        "the population is every patient"
    );
    // A cohort JSON through the CLI agrees.
    let path = write_spec(tmp.path(), "p", &first_chest_ct_with_follow_up("patient"));
    let (code, v) = count_json(&db, &path);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["levels"]["patients"]["count"].as_u64(), Some(n));
    assert_eq!(v["levels"]["studies"]["count"].as_u64(), Some(n));
}

#[test]
fn attrition_with_an_index_event_counts_what_the_cohort_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 150);
    let engine = Engine::open(&db).unwrap();
    let chest_ct = r#"{"all":[{"modality":["CT"]},{"body_part":["CHEST"]}]}"#;
    let follow_up =
        r#"{"follow_up":{"min_days":180,"max_days":730,"criterion":{"modality":["CT"]}}}"#;
    // The index event first (as ATLAS's entry event), and after a rule.
    let orders = [
        format!(
            r#"[{{"name":"first chest CT","criterion":{{"first_of":{chest_ct}}}}},
                {{"name":"age 40-90","criterion":{{"age":{{"min":40,"max":90}}}}}},
                {{"name":"follow-up","criterion":{follow_up}}},
                {{"name":"no contrast","exclude":true,"criterion":{{"contrast":true}}}}]"#
        ),
        format!(
            r#"[{{"name":"age 40-90","criterion":{{"age":{{"min":40,"max":90}}}}}},
                {{"name":"no contrast","exclude":true,"criterion":{{"contrast":true}}}},
                {{"name":"last chest CT","criterion":{{"last_of":{chest_ct}}}}},
                {{"name":"looked back on","criterion":{{"follow_up":{{"min_days":-730,"max_days":-1,"criterion":{{"modality":["CT"]}}}}}}}}]"#
        ),
    ];
    for rules in orders {
        let spec = |unit: &str, rules: &str| {
            parse_spec(&format!(
                r#"{{"schema_version":1,"name":"x","unit":"{unit}","rules":{rules}}}"#
            ))
            .unwrap()
        };
        let p = spec("patient", &rules);
        let counts = engine.cohort_count(&p).unwrap();
        let remaining: Vec<u64> = counts.attrition.iter().map(|a| a.remaining).collect();
        assert_eq!(
            *remaining.last().unwrap(),
            counts.levels.patients,
            "last remaining == final count: {remaining:?}"
        );
        assert!(
            remaining.windows(2).all(|w| w[0] >= w[1]) && counts.population >= remaining[0],
            "the funnel only narrows: {remaining:?}"
        );
        let mut previous = counts.population;
        for a in &counts.attrition {
            assert_eq!(a.removed, previous - a.remaining, "{a:?}");
            previous = a.remaining;
        }
        assert!(counts.levels.patients > 0, "{remaining:?}");
        // The final count is the study cohort's patients, one index study each.
        let s = engine.cohort_count(&spec("study", &rules)).unwrap();
        assert_eq!(counts.levels, s.levels);
        // Every step that has the index event among its rules is a patient
        // cohort of its own: the funnel counts what that cohort counts.
        for (i, step) in counts.attrition.iter().enumerate() {
            let cut = prefix(&p, i + 1);
            if has_index_event(&cut) {
                assert_eq!(
                    engine.cohort_levels(&cut).unwrap().patients,
                    step.remaining,
                    "step {i} ({})",
                    step.rule
                );
            }
        }
    }
}

/// A definition cut down to its first `n` rules.
fn prefix(spec: &CohortSpec, n: usize) -> CohortSpec {
    let mut s = spec.clone();
    s.rules.truncate(n);
    s
}

#[test]
fn patient_cohorts_without_an_index_event_match_each_rule_on_any_study() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 150);
    let engine = Engine::open(&db).unwrap();
    // The example without first_of: no index event, each rule on its own.
    let spec = parse_spec(
        r#"{"schema_version":1,"name":"loose","unit":"patient","rules":[
        {"name":"chest CT","criterion":{"all":[{"modality":["CT"]},{"body_part":["CHEST"]}]}},
        {"name":"follow-up CT","criterion":{"follow_up":{"min_days":180,"max_days":730,"criterion":{"modality":["CT"]}}}}]}"#,
    )
    .unwrap();
    assert!(!has_index_event(&spec));
    let rows = study_rows(&db);
    let with_chest_ct: BTreeSet<i64> = rows.iter().filter(|r| r.4).map(|r| r.0).collect();
    let matches_both = |r: &StudyRow| r.4 && has_ct_follow_up(&rows, r, 180.0, 730.0);
    let patients = with_chest_ct
        .iter()
        .filter(|p| {
            rows.iter()
                .any(|r| r.0 == **p && has_ct_follow_up(&rows, r, 180.0, 730.0))
        })
        .count() as u64;
    let studies = rows.iter().filter(|r| matches_both(r)).count() as u64;
    let counts = engine.cohort_count(&spec).unwrap();
    assert_eq!(counts.levels.patients, patients);
    assert_eq!(
        counts.levels.studies, studies,
        "content: studies meeting every rule"
    );
    assert!(
        patients > studies,
        "each rule on its own admits more patients"
    );
    let remaining: Vec<u64> = counts.attrition.iter().map(|a| a.remaining).collect();
    assert_eq!(remaining, vec![with_chest_ct.len() as u64, patients]);
}

#[test]
fn an_exclusion_does_not_remove_unknown_values() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 20);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("UPDATE studies SET age_at_study_years = NULL WHERE id % 3 = 0")
        .unwrap();
    let engine = Engine::open(&db).unwrap();
    let spec = parse_spec(
        r#"{"schema_version":1,"name":"under 40","rules":[{"name":"40+","exclude":true,"criterion":{"age":{"min":40}}}]}"#,
    )
    .unwrap();
    let counts = engine.cohort_count(&spec).unwrap();
    let want = q(
        &db,
        "SELECT count(*) FROM studies WHERE age_at_study_years IS NULL OR age_at_study_years < 40",
    );
    assert!(
        q(
            &db,
            "SELECT count(*) FROM studies WHERE age_at_study_years IS NULL"
        ) > 0
    );
    assert_eq!(counts.levels.studies, want);
    assert_eq!(counts.attrition[0].remaining, want);
}

/// The builder's pickers list the values present in the index: one entry
/// per value as list criteria match it (case and surrounding spaces
/// ignored), counted in studies exactly as a one-rule cohort counts them.
#[test]
fn distinct_values_are_the_values_list_criteria_match_with_their_study_counts() {
    use pacs_cohort::model::{CohortUnit, Criterion, Rule, ValueField};
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 40);
    // One series' modality spelled in lower case with a trailing space: the
    // same value as "CT" for a criterion, so the same entry in the list.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE series SET modality = 'ct ' WHERE id = (SELECT min(id) FROM series WHERE modality = 'CT')",
            [],
        )
        .unwrap();
    let engine = Engine::open(&db).unwrap();
    let one_rule = |c: Criterion| CohortSpec {
        schema_version: 1,
        name: "v".into(),
        description: String::new(),
        unit: CohortUnit::Study,
        rules: vec![Rule {
            name: "r".into(),
            exclude: false,
            criterion: c,
        }],
    };
    type Make = fn(Vec<String>) -> Criterion;
    let fields: [(ValueField, Make, &str); 7] = [
        (ValueField::Modality, Criterion::Modality, "modality"),
        (ValueField::BodyPart, Criterion::BodyPart, "body_part"),
        (
            ValueField::Institution,
            Criterion::Institution,
            "institution_name",
        ),
        (
            ValueField::Manufacturer,
            Criterion::Manufacturer,
            "manufacturer",
        ),
        (ValueField::Model, Criterion::Model, "model_name"),
        (ValueField::Station, Criterion::Station, "station_name"),
        (ValueField::Sex, Criterion::Sex, ""),
    ];
    for (field, make, column) in fields {
        let values = engine.distinct_values(&field).unwrap();
        assert!(!values.is_empty(), "{field:?}: no values");
        // Most frequent first; no two entries a criterion would not tell apart.
        assert!(values.windows(2).all(|w| w[0].count >= w[1].count));
        let keys: BTreeSet<String> = values
            .iter()
            .map(|v| v.value.trim().to_uppercase())
            .collect();
        assert_eq!(keys.len(), values.len(), "{field:?}: {values:?}");
        for v in &values {
            let counted = engine
                .cohort_count(&one_rule(make(vec![v.value.clone()])))
                .unwrap();
            assert_eq!(counted.levels.studies, v.count, "{field:?} {}", v.value);
        }
        if !column.is_empty() {
            let distinct = q(
                &db,
                &format!("SELECT count(DISTINCT upper(trim({column}))) FROM series WHERE trim({column}) <> ''"),
            );
            assert_eq!(values.len() as u64, distinct, "{field:?}");
        }
    }
    let ct = engine.distinct_values(&ValueField::Modality).unwrap();
    assert_eq!(
        ct.iter()
            .filter(|v| v.value.eq_ignore_ascii_case("ct"))
            .count(),
        1
    );
    let sop = engine.distinct_values(&ValueField::SopClass).unwrap();
    assert!(!sop.is_empty() && sop.iter().all(|v| v.value.starts_with("1.2.840.")));
    // An EHR dataset that does not exist has no values (not an error).
    let none = engine
        .distinct_values(&ValueField::Ehr {
            dataset: "nope".into(),
            column: "x".into(),
        })
        .unwrap();
    assert!(none.is_empty());
}

/// A missing description is unknown for a word criterion, whether or not
/// the word matches any text in the index: `not` of it does not take the
/// study in, and an exclusion of it does not remove it. (Bare `IN` over
/// the full-text hits made a missing text false exactly when no text
/// matched, so one row's answer hung on the others.)
#[test]
fn a_missing_description_is_unknown_for_words_with_and_without_hits() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 20);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("UPDATE studies SET description = NULL WHERE id % 3 = 0")
        .unwrap();
    let engine = Engine::open(&db).unwrap();
    let missing = q(
        &db,
        "SELECT count(*) FROM studies WHERE description IS NULL",
    );
    let all = q(&db, "SELECT count(*) FROM studies");
    assert!(missing > 0);
    let word = sqlite(&db)
        .query_row(
            "SELECT description FROM studies WHERE description GLOB '[A-Za-z]*' LIMIT 1",
            [],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    let word = word
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap()
        .to_string();
    let hits = engine
        .cohort_count(
            &parse_spec(&format!(
                r#"{{"schema_version":1,"name":"w","rules":[{{"name":"w","criterion":{{"study_description":"{word}"}}}}]}}"#
            ))
            .unwrap(),
        )
        .unwrap()
        .levels
        .studies;
    assert!(hits > 0);
    for (query, matching) in [("zzqxnohit", 0), (word.as_str(), hits)] {
        let not = parse_spec(&format!(
            r#"{{"schema_version":1,"name":"n","rules":[{{"name":"n","criterion":{{"not":{{"study_description":"{query}"}}}}}}]}}"#
        ))
        .unwrap();
        assert_eq!(
            engine.cohort_count(&not).unwrap().levels.studies,
            all - missing - matching,
            "not '{query}'"
        );
        let excluded = parse_spec(&format!(
            r#"{{"schema_version":1,"name":"x","rules":[{{"name":"x","exclude":true,"criterion":{{"study_description":"{query}"}}}}]}}"#
        ))
        .unwrap();
        assert_eq!(
            engine.cohort_count(&excluded).unwrap().levels.studies,
            all - matching,
            "exclude '{query}'"
        );
    }
}
