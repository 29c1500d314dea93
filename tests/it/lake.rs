//! The index as Parquet tables (issue #18) through the real CLI: read back
//! with the parquet reader and compared with SQLite value by value; the
//! private export holds none of the index's identifiers; several
//! workspaces share a folder and a re-export replaces only its own parts.

use crate::common::*;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every row of a table: (partition values from the path, column -> value).
type Rows = Vec<(BTreeMap<String, String>, BTreeMap<String, Field>)>;

fn read_table(dir: &Path, table: &str) -> Rows {
    let mut out = Vec::new();
    for f in all_files(&dir.join(table)) {
        if f.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        let partitions: BTreeMap<String, String> = f
            .strip_prefix(dir.join(table))
            .unwrap()
            .parent()
            .unwrap()
            .components()
            .filter_map(|c| {
                let s = c.as_os_str().to_string_lossy().into_owned();
                s.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        let reader = SerializedFileReader::new(std::fs::File::open(&f).unwrap()).unwrap();
        for row in reader.get_row_iter(None).unwrap() {
            let row = row.unwrap();
            let cols = row
                .get_column_iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect();
            out.push((partitions.clone(), cols));
        }
    }
    out
}

fn export(db: &Path, out: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["export-index", "--out", out.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    run_json(db, &args)
}

fn text(f: &Field) -> Option<String> {
    match f {
        Field::Str(s) => Some(s.clone()),
        Field::Null => None,
        other => Some(other.to_string()),
    }
}

fn days_to_iso(days: i32) -> String {
    // Civil date from days since 1970-01-01 (H. Hinnant), written here
    // apart from the library so the test does not check it with itself.
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn indexed(dir: &Path, patients: u32, seed: u64) -> PathBuf {
    let archive = dir.join(format!("archive-{seed}"));
    synth(&archive, patients, seed, true);
    let db = dir.join(format!("ws-{seed}.db"));
    let out = run(&db, &["index", archive.to_str().unwrap()]);
    assert!(out.status.code().is_some_and(|c| c == 0 || c == 3));
    db
}

#[test]
fn an_export_with_phi_reads_back_equal_to_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 25, 41);
    let out = tmp.path().join("lake");
    let (code, report) = export(&db, &out, &["--with-phi", "--site", "north"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["holds_phi"], true);
    let conn = sqlite(&db);
    let count = |t: &str| -> u64 {
        conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as u64
    };
    for t in ["patients", "studies", "series", "instances", "files"] {
        assert_eq!(report["rows"][t], count(t), "{t}");
        assert_eq!(read_table(&out, t).len() as u64, count(t), "{t} read back");
    }

    // Studies: every value, and the partition is the study date's year.
    let studies = read_table(&out, "studies");
    let mut by_uid = BTreeMap::new();
    for (parts, cols) in &studies {
        let uid = text(&cols["study_uid"]).unwrap();
        let year = match &cols["study_date"] {
            Field::Date(d) => days_to_iso(*d)[..4].parse::<i64>().unwrap(),
            Field::Null => 0,
            other => panic!("a DATE: {other:?}"),
        };
        assert_eq!(parts["study_year"], year.to_string(), "partition = column");
        by_uid.insert(uid, cols.clone());
    }
    let mut stmt = conn
        .prepare("SELECT study_uid, study_date, accession_number, description, age_at_study_years FROM studies")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (uid, date, accession, description, age) = row.unwrap();
        let c = &by_uid[&uid];
        let got_date = match &c["study_date"] {
            Field::Date(d) => Some(days_to_iso(*d)),
            _ => None,
        };
        assert_eq!(got_date, date.filter(|d| d.len() == 10), "{uid}");
        assert_eq!(text(&c["accession_number"]), accession);
        assert_eq!(text(&c["description"]), description);
        assert_eq!(
            match &c["age_at_study_years"] {
                Field::Int(a) => Some(i64::from(*a)),
                _ => None,
            },
            age
        );
    }

    // Series and instances: the modality partition is the series' modality;
    // ids are carried down every level and join without chains.
    let series = read_table(&out, "series");
    let mut series_modality = BTreeMap::new();
    for (parts, cols) in &series {
        let uid = text(&cols["series_uid"]).unwrap();
        let m: Option<String> = conn
            .query_row(
                "SELECT modality FROM series WHERE series_uid = ?1",
                [&uid],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(parts["modality"], m.unwrap_or_else(|| "unknown".into()));
        series_modality.insert(cols["series_id"].to_string(), parts.clone());
    }
    let study_ids: BTreeSet<String> = studies
        .iter()
        .map(|r| r.1["study_id"].to_string())
        .collect();
    for (parts, cols) in read_table(&out, "instances") {
        let sid = cols["series_id"].to_string();
        assert_eq!(
            series_modality[&sid], parts,
            "an instance sits in its series' partition"
        );
        assert!(study_ids.contains(&cols["study_id"].to_string()));
        assert!(text(&cols["file_path"]).is_some_and(|p| Path::new(&p).is_file()));
    }

    // _schema.json describes the files' columns.
    let schema: Value =
        serde_json::from_slice(&std::fs::read(out.join("_schema.json")).unwrap()).unwrap();
    for t in schema["tables"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let described: Vec<&str> = t["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        let rows = read_table(&out, name);
        let written: Vec<String> = rows[0].1.keys().cloned().collect();
        for w in &written {
            assert!(described.contains(&w.as_str()), "{name}.{w} is described");
        }
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("_manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["holds_phi"], true);
    assert_eq!(manifest["rows"]["instances"], count("instances"));
}

#[test]
fn a_private_export_holds_none_of_the_index_identifiers() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 20, 43);
    let out = tmp.path().join("lake");
    let (code, report) = export(&db, &out, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["holds_phi"], false);
    assert_eq!(report["dates"], "shifted");
    let conn = sqlite(&db);
    let mut secrets: BTreeSet<String> = BTreeSet::new();
    for sql in [
        "SELECT patient_id FROM patients",
        "SELECT patient_name FROM patients",
        "SELECT birth_date FROM patients",
        "SELECT study_uid FROM studies",
        "SELECT accession_number FROM studies",
        "SELECT series_uid FROM series",
        "SELECT sop_uid FROM instances",
        "SELECT CAST(rel_path AS TEXT) FROM files",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        for v in stmt
            .query_map([], |r| r.get::<_, Option<String>>(0))
            .unwrap()
        {
            if let Some(v) = v.unwrap().filter(|v| v.len() >= 6) {
                secrets.insert(v);
            }
        }
    }
    assert!(secrets.len() > 100);
    let mut files = 0;
    for f in all_files(&out) {
        let bytes = std::fs::read(&f).unwrap();
        files += 1;
        for s in &secrets {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{} holds an identifier of the index",
                f.display()
            );
        }
    }
    assert!(files > 5);
    // Compression can split a string in the bytes: check every decoded
    // value as well.
    for t in ["patients", "studies", "series", "instances", "files"] {
        for (_, cols) in read_table(&out, t) {
            for (name, v) in cols {
                let v = v.to_string();
                for s in &secrets {
                    assert!(
                        !v.contains(s.as_str()),
                        "{t}.{name} holds an identifier: {v}"
                    );
                }
            }
        }
    }
    // Names of the written columns: no direct identifier.
    let patients = read_table(&out, "patients");
    assert!(!patients[0].1.contains_key("patient_name"));
    assert!(!patients[0].1.contains_key("birth_date"));
    assert!(text(&patients[0].1["patient_key"])
        .unwrap()
        .starts_with('P'));
}

#[test]
fn workspaces_share_a_folder_and_a_re_export_replaces_only_its_own_parts() {
    let tmp = tempfile::tempdir().unwrap();
    let a = indexed(tmp.path(), 8, 51);
    let b = indexed(tmp.path(), 6, 52);
    let out = tmp.path().join("lake");
    let (code, ra) = export(&a, &out, &["--site", "north"]);
    assert_eq!(code, 0, "{ra}");
    let (code, rb) = export(&b, &out, &["--site", "south"]);
    assert_eq!(code, 0, "{rb}");
    let both =
        ra["rows"]["instances"].as_u64().unwrap() + rb["rows"]["instances"].as_u64().unwrap();
    assert_eq!(read_table(&out, "instances").len() as u64, both);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("_manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["workspaces"].as_array().unwrap().len(), 2);
    assert_eq!(manifest["rows"]["instances"], both);

    // Workspace a exports again: its parts are replaced, b's stay.
    let b_parts: Vec<PathBuf> = all_files(&out)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("-south.parquet"))
        .collect();
    let before: Vec<Vec<u8>> = b_parts.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let (code, again) = export(&a, &out, &["--site", "north"]);
    assert_eq!(code, 0);
    assert_eq!(again["rows"], ra["rows"]);
    assert_eq!(
        read_table(&out, "instances").len() as u64,
        both,
        "no part doubled"
    );
    for (p, bytes) in b_parts.iter().zip(before) {
        assert_eq!(
            std::fs::read(p).unwrap(),
            bytes,
            "{} untouched",
            p.display()
        );
    }
    // No half-written part is left visible or hidden.
    assert!(all_files(&out)
        .iter()
        .all(|p| !p.to_string_lossy().ends_with(".inprogress")));

    // Mixing PHI and private parts in one folder is refused.
    let out2 = run(
        &b,
        &[
            "export-index",
            "--out",
            out.to_str().unwrap(),
            "--with-phi",
            "--site",
            "x",
        ],
    );
    assert!(!out2.status.success());
    assert!(String::from_utf8_lossy(&out2.stderr).contains("PHI"));
    // A site name that cannot name a file is refused.
    let bad = run(
        &b,
        &[
            "export-index",
            "--out",
            out.to_str().unwrap(),
            "--site",
            "../x",
        ],
    );
    assert!(!bad.status.success());
}

#[test]
fn an_aggregate_only_workspace_refuses_a_row_level_export() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 3, 53);
    let set = run(&db, &["privacy", "--aggregate-only", "true"]);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let out = run(
        &db,
        &[
            "export-index",
            "--out",
            tmp.path().join("lake").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("aggregate-only"));
    assert!(!tmp.path().join("lake").exists());
}

#[test]
fn omop_tables_refer_to_each_other_and_take_concepts_from_the_map() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 12, 47);
    let map = tmp.path().join("concepts.csv");
    std::fs::write(
        &map,
        "kind,value,concept_id\nmodality,CT,4300757\nmodality,mr,4013636\nbody_part,CHEST,4285898\n",
    )
    .unwrap();
    let out = tmp.path().join("lake");
    let (code, report) = export(
        &db,
        &out,
        &["--omop", "--concept-map", map.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report}");
    let conn = sqlite(&db);
    let count =
        |sql: &str| -> u64 { conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64 };
    let images = read_table(&out, "omop/image_occurrence");
    let procedures = read_table(&out, "omop/procedure_occurrence");
    let persons = read_table(&out, "omop/person");
    assert_eq!(images.len() as u64, count("SELECT count(*) FROM series"));
    assert_eq!(
        procedures.len() as u64,
        count("SELECT count(*) FROM studies")
    );
    assert_eq!(persons.len() as u64, count("SELECT count(*) FROM patients"));
    let procedure_ids: BTreeSet<String> = procedures
        .iter()
        .map(|r| r.1["procedure_occurrence_id"].to_string())
        .collect();
    let person_ids: BTreeSet<String> = persons
        .iter()
        .map(|r| r.1["person_id"].to_string())
        .collect();
    let series_ids: BTreeSet<String> = read_table(&out, "series")
        .iter()
        .map(|r| r.1["series_id"].to_string())
        .collect();
    let mut by_concept: BTreeMap<String, u64> = BTreeMap::new();
    for (_, c) in &images {
        assert!(procedure_ids.contains(&c["procedure_occurrence_id"].to_string()));
        assert!(person_ids.contains(&c["person_id"].to_string()));
        assert!(series_ids.contains(&c["image_occurrence_id"].to_string()));
        assert!(!c.contains_key("local_path"), "no path without --with-phi");
        *by_concept
            .entry(c["modality_concept_id"].to_string())
            .or_default() += 1;
    }
    assert_eq!(
        by_concept.get("4300757").copied().unwrap_or(0),
        count("SELECT count(*) FROM series WHERE modality = 'CT'")
    );
    assert_eq!(
        by_concept.get("4013636").copied().unwrap_or(0),
        count("SELECT count(*) FROM series WHERE modality = 'MR'"),
        "values match whatever their case"
    );
    let unmapped =
        count("SELECT count(*) FROM series WHERE modality IS NULL OR modality NOT IN ('CT', 'MR')");
    assert_eq!(by_concept.get("0").copied().unwrap_or(0), unmapped);
    let male = persons
        .iter()
        .filter(|r| r.1["gender_concept_id"].to_string() == "8507")
        .count() as u64;
    assert_eq!(male, count("SELECT count(*) FROM patients WHERE sex = 'M'"));

    // A concept map that is not one is refused, naming the problem.
    std::fs::write(&map, "kind,value,concept_id\nscanner,CT,12\n").unwrap();
    let bad = run(
        &db,
        &[
            "export-index",
            "--out",
            out.to_str().unwrap(),
            "--omop",
            "--concept-map",
            map.to_str().unwrap(),
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not modality, body_part or procedure"));
}

/// A definition file in `dir`.
fn spec_file(dir: &Path, name: &str, json: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, json).unwrap();
    path
}

#[test]
fn cohort_sql_writes_views_and_statements_and_refuses_what_the_export_lacks() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    let hostile = r#"x'); DROP TABLE studies; --\"#;
    let spec = spec_file(
        tmp.path(),
        "c.json",
        &serde_json::json!({
            "schema_version": 1, "name": "c", "unit": "patient",
            "rules": [
                {"name": hostile, "criterion": {"first_of": {"modality": ["CT", hostile]}}},
                {"name": "follow-up", "criterion": {"follow_up": {"min_days": 180, "max_days": 730,
                    "criterion": {"study_description": "chest ct"}}}},
                {"name": "no contrast", "exclude": true, "criterion": {"contrast": true}}
            ]
        })
        .to_string(),
    );
    let spec = spec.to_str().unwrap();
    let out = run(
        &db,
        &[
            "cohort",
            "sql",
            "--spec",
            spec,
            "--views",
            "duckdb",
            "--lake",
            "my lake's",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = String::from_utf8(out.stdout).unwrap();
    assert!(sql.contains("CREATE OR REPLACE VIEW studies AS SELECT * FROM read_parquet(('my lake' || chr(39) || 's/studies/**/*.parquet'), hive_partitioning = true"), "{sql}");
    assert!(sql.contains("INTERVAL '180' DAY") && sql.contains("INTERVAL '730' DAY"));
    // The hostile text is in literals that hold no quote and no backslash.
    assert!(!sql.contains("x')") && !sql.contains('\\'), "{sql}");
    assert_eq!(
        sql.matches(";\n").count(),
        4 + 2,
        "four views and two statements"
    );

    // Placeholders: as many as parameters, values never in the text.
    let (code, v) = run_json(
        &db,
        &[
            "cohort", "sql", "--spec", spec, "--params", "qmark", "--json",
        ],
    );
    assert_eq!(code, 0);
    for st in ["count", "attrition"] {
        let text = v[st]["sql"].as_str().unwrap();
        // Outside string literals (the word separators' literal holds one);
        // no literal of ours holds a quote, so every second piece is SQL.
        let outside: String = text.split('\'').step_by(2).collect();
        assert_eq!(
            outside.matches('?').count(),
            v[st]["params"].as_array().unwrap().len()
        );
        // Rule names label the attrition rows as literals; values are
        // parameters.
        assert!(!outside.contains("DROP"), "{text}");
    }
    let (code, v) = run_json(
        &db,
        &[
            "cohort", "sql", "--spec", spec, "--params", "dollar", "--json",
        ],
    );
    assert_eq!(code, 0);
    let n = v["count"]["params"].as_array().unwrap().len();
    assert!(v["count"]["sql"]
        .as_str()
        .unwrap()
        .contains(&format!("${n}")));

    // EHR, findings and features are not exported: a clear refusal.
    let ehr = spec_file(
        tmp.path(),
        "e.json",
        r#"{"schema_version":1,"name":"e","rules":[{"name":"smoker","criterion":
            {"any":[{"ehr":{"dataset":"ehr","column":"smoking","any_of":["yes"]}}]}}]}"#,
    );
    let out = run(&db, &["cohort", "sql", "--spec", ehr.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule 'smoker': linked EHR criteria are not in the exported tables"),
        "{err}"
    );
}

#[test]
fn counts_another_engine_returned_are_read_back_and_suppressed_like_the_apps() {
    let tmp = tempfile::tempdir().unwrap();
    let db = indexed(tmp.path(), 12, 61);
    let spec = spec_file(
        tmp.path(),
        "c.json",
        r#"{"schema_version":1,"name":"c","unit":"study","rules":[
            {"name":"CT, or MR","criterion":{"modality":["CT","MR"]}},
            {"name":"adults","criterion":{"age":{"min":18}}}]}"#,
    );
    let spec = spec.to_str().unwrap();
    let (code, app) = count_json(&db, spec);
    assert_eq!(code, 0);
    let n = |v: &Value| v["count"].as_u64().unwrap();
    // The rows as DuckDB's COPY ... (HEADER) and spark-sql (tabs) write them.
    let levels = tmp.path().join("levels.csv");
    let l = &app["levels"];
    std::fs::write(
        &levels,
        format!(
            "patients,studies,series,instances\n{},{},{},{}\n",
            n(&l["patients"]),
            n(&l["studies"]),
            n(&l["series"]),
            n(&l["instances"])
        ),
    )
    .unwrap();
    let funnel = tmp.path().join("funnel.tsv");
    let mut rows = format!("0\tpopulation\tfalse\t{}\t0\t0\n", n(&app["population"]));
    for (k, s) in app["attrition"].as_array().unwrap().iter().enumerate() {
        rows.push_str(&format!(
            "{}\t{}\tfalse\t{}\t{}\t{}\n",
            k + 1,
            s["rule"].as_str().unwrap(),
            n(&s["remaining"]),
            n(&s["removed"]),
            n(&s["removed_alone"])
        ));
    }
    std::fs::write(&funnel, rows).unwrap();
    let from = |extra: &[&str]| {
        let mut args = vec![
            "cohort",
            "count",
            "--spec",
            spec,
            "--json",
            "--from-counts",
            levels.to_str().unwrap(),
            "--from-attrition",
            funnel.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run_json(&db, &args)
    };
    let (code, back) = from(&[]);
    assert_eq!(code, 0);
    assert_eq!(back, app, "read back equal to the app's own counts");
    let (_, released_app) = run_json(
        &db,
        &[
            "cohort",
            "count",
            "--spec",
            spec,
            "--json",
            "--release",
            "--threshold",
            "50",
        ],
    );
    let (_, released) = from(&["--release", "--threshold", "50"]);
    assert_eq!(
        released, released_app,
        "suppressed exactly as the app suppresses its own"
    );

    // A funnel from another definition is refused, saying why.
    std::fs::write(&funnel, "0\tpopulation\tfalse\t9\t0\t0\n").unwrap();
    let out = run(
        &db,
        &[
            "cohort",
            "count",
            "--spec",
            spec,
            "--from-counts",
            levels.to_str().unwrap(),
            "--from-attrition",
            funnel.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected 3 attrition rows"));
}

#[test]
fn parts_of_an_earlier_layout_are_never_mixed_with_new_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let a = indexed(tmp.path(), 4, 71);
    let b = indexed(tmp.path(), 4, 72);
    let out = tmp.path().join("lake");
    let (code, _) = export(&a, &out, &["--site", "north"]);
    assert_eq!(code, 0);
    // Workspace a's entry as an earlier version wrote it (no layout field).
    let path = out.join("_manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for (_, w) in manifest["workspaces_detail"]["workspaces"]
        .as_object_mut()
        .unwrap()
        .iter_mut()
    {
        w.as_object_mut().unwrap().remove("lake_version");
    }
    std::fs::write(&path, manifest.to_string()).unwrap();
    let out_b = run(
        &b,
        &[
            "export-index",
            "--out",
            out.to_str().unwrap(),
            "--site",
            "south",
        ],
    );
    assert_eq!(out_b.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out_b.stderr);
    assert!(
        err.contains("written by an earlier version (layout 1"),
        "{err}"
    );
    // Re-exporting a itself is allowed: it replaces its own parts.
    let (code, _) = export(&a, &out, &["--site", "north"]);
    assert_eq!(code, 0);
}
