//! Cohorts through the real CLI and library: counts checked against
//! independent SQL, attrition, suppression, hostile input, saved cohorts.

use crate::common::*;
use pacs_cohort::cohort::parse_spec;
use pacs_cohort::Engine;
use serde_json::Value;
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
