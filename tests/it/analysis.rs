//! Analyses through the real CLI: counts checked against independent SQL
//! on a generated archive, the SEER worked example from a counts CSV, and
//! release files that hold no small cell.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn save_cohort(db: &Path, dir: &Path, name: &str, json: &str) {
    let spec = dir.join(format!("{name}.cohort.json"));
    std::fs::write(&spec, json).unwrap();
    let out = run(db, &["cohort", "save", "--spec", spec.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn analyze(db: &Path, dir: &Path, name: &str, spec: &str, release: bool) -> (i32, Value) {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, spec).unwrap();
    let out_dir = dir.join(format!("{name}-out"));
    let mut args = vec![
        "analyze",
        "--spec",
        path.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--json",
    ];
    if release {
        args.push("--release");
    }
    run_json(db, &args)
}

#[test]
fn a_yearly_trend_by_modality_counts_what_independent_sql_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 60, 12, false);
    let db = index_with_cohort_of_all(tmp.path(), &archive);
    let (code, v) = analyze(
        &db,
        tmp.path(),
        "trend",
        r#"{"kind": "trend", "source": {"cohort": "all"}, "unit": "studies", "time": "year", "split": "modality"}"#,
        false,
    );
    assert_eq!(code, 0, "{v}");
    let mut got: BTreeMap<(String, String), u64> = BTreeMap::new();
    for line in v["result"]["lines"].as_array().unwrap() {
        for c in line["cells"].as_array().unwrap() {
            let x = c["x"].as_u64().unwrap();
            if x > 0 {
                got.insert(
                    (
                        line["label"].as_str().unwrap().into(),
                        c["period"].as_str().unwrap().into(),
                    ),
                    x,
                );
            }
        }
    }
    let conn = sqlite(&db);
    let mut stmt = conn
        .prepare(
            "SELECT coalesce(s.modality, 'unknown'), substr(st.study_date, 1, 4), count(DISTINCT st.id)
             FROM studies st JOIN series s ON s.study_ref = st.id
             WHERE st.study_date IS NOT NULL GROUP BY 1, 2",
        )
        .unwrap();
    let want: BTreeMap<(String, String), u64> = stmt
        .query_map([], |r| {
            Ok(((r.get(0)?, r.get(1)?), r.get::<_, i64>(2)? as u64))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    assert_eq!(v["cohorts"][0]["name"], "all");
    assert!(v["index_snapshot"].as_str().unwrap().contains("max ids"));
    assert_eq!(v["suppression"]["released"], false);
    let written = tmp.path().join("trend-out");
    for f in ["result.json", "result.csv", "spec.json"] {
        assert!(written.join(f).is_file(), "{f}");
    }
}

#[test]
fn prevalence_by_sex_matches_independent_sql_and_a_released_csv_holds_no_small_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 80, 31, false);
    let db = index_with_cohort_of_all(tmp.path(), &archive);
    save_cohort(
        &db,
        tmp.path(),
        "ct",
        r#"{"schema_version": 1, "name": "ct", "unit": "patient", "rules": [{"name": "CT", "criterion": {"modality": ["CT"]}}]}"#,
    );
    let spec = r#"{"kind": "prevalence", "denominator": {"cohort": "all"}, "outcome": "ct", "unit": "patients", "strata": ["sex"]}"#;
    let (code, v) = analyze(&db, tmp.path(), "prev", spec, false);
    assert_eq!(code, 0, "{v}");
    let conn = sqlite(&db);
    let mut stmt = conn
        .prepare(
            "SELECT coalesce(NULLIF(trim(p.sex), ''), 'unknown'), count(*),
                    sum(EXISTS (SELECT 1 FROM studies st JOIN series s ON s.study_ref = st.id
                                WHERE st.patient_ref = p.id AND upper(s.modality) = 'CT'))
             FROM patients p WHERE EXISTS (SELECT 1 FROM studies st WHERE st.patient_ref = p.id)
             GROUP BY 1 ORDER BY 1",
        )
        .unwrap();
    let want: Vec<(String, u64, u64)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let got: Vec<(String, u64, u64)> = v["result"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["labels"][0].as_str().unwrap().to_string(),
                c["n"].as_f64().unwrap() as u64,
                c["x"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);

    // Released: every cell of 1..=10 (events or non-events) lost its
    // numbers in the JSON and in the CSV.
    let (code, v) = analyze(&db, tmp.path(), "prev-release", spec, true);
    assert_eq!(code, 0, "{v}");
    for (c, (_, n, x)) in v["result"]["cells"].as_array().unwrap().iter().zip(&want) {
        let small = (1..=10).contains(x) || (1..=10).contains(&(n - x)) || (1..=10).contains(n);
        if small {
            assert!(c["x"].is_null() && c["estimate"].is_null(), "{c}");
        }
    }
    let csv = std::fs::read_to_string(tmp.path().join("prev-release-out/result.csv")).unwrap();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if let Ok(x) = f[3].parse::<u64>() {
            assert!(
                !(1..=10).contains(&x),
                "a small count in the released CSV: {line}"
            );
        }
    }
}

#[test]
fn the_seer_worked_example_from_a_counts_csv() {
    let tmp = tempfile::tempdir().unwrap();
    // No workspace: counts from a CSV need none.
    let db = tmp.path().join("ws.db");
    let counts = [
        29, 87, 67, 71, 87, 177, 290, 657, 1072, 1691, 2428, 2931, 2881, 2817, 2817, 2744, 2634,
        1884, 1705,
    ];
    let population = [
        139879, 553189, 736212, 770999, 651390, 639159, 676354, 736557, 724826, 700200, 617437,
        516541, 361170, 259440, 206204, 172087, 142958, 99654, 92692,
    ];
    let bands = [
        (0, Some(0)),
        (1, Some(4)),
        (5, Some(9)),
        (10, Some(14)),
        (15, Some(19)),
        (20, Some(24)),
        (25, Some(29)),
        (30, Some(34)),
        (35, Some(39)),
        (40, Some(44)),
        (45, Some(49)),
        (50, Some(54)),
        (55, Some(59)),
        (60, Some(64)),
        (65, Some(69)),
        (70, Some(74)),
        (75, Some(79)),
        (80, Some(84)),
        (85, None),
    ];
    let mut csv = String::from("age_lo,age_hi,events,population\n");
    for ((lo, hi), (x, n)) in bands.iter().zip(counts.iter().zip(population)) {
        csv.push_str(&format!(
            "{lo},{},{x},{n}\n",
            hi.map(|h: u32| h.to_string()).unwrap_or_default()
        ));
    }
    let csv_path = tmp.path().join("seer.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let spec = format!(
        r#"{{"kind": "standardised", "cases": {{"counts_csv": "{}"}}, "standard": "us2000-19"}}"#,
        csv_path.display()
    );
    let (code, v) = analyze(&db, tmp.path(), "seer", &spec, true);
    assert_eq!(code, 0, "{v}");
    let rate = v["result"]["adjusted"]["estimate"].as_f64().unwrap();
    assert_eq!(format!("{rate:.1}"), "400.3");
    // Bands of different limits than the standard: refused.
    let spec = format!(
        r#"{{"kind": "standardised", "cases": {{"counts_csv": "{}"}}, "standard": "us2000-11"}}"#,
        csv_path.display()
    );
    let path = tmp.path().join("seer11.json");
    std::fs::write(&path, spec).unwrap();
    let out = run(
        &db,
        &[
            "analyze",
            "--spec",
            path.to_str().unwrap(),
            "--out",
            tmp.path().join("o").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("use the same bands"), "{err}");
    assert!(!db.exists(), "a CSV analysis creates no workspace");
}

#[test]
fn plots_are_written_and_a_released_plot_draws_no_suppressed_point() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    let csv = tmp.path().join("counts.csv");
    std::fs::write(
        &csv,
        "period,modality,events\n2018,CT,140\n2019,CT,7\n2020,CT,160\n2021,CT,171\n2018,MR,40\n2019,MR,44\n2020,MR,52\n2021,MR,61\n",
    )
    .unwrap();
    let spec = format!(
        r#"{{"kind": "trend", "source": {{"counts_csv": "{}"}}, "time": "year"}}"#,
        csv.display()
    );
    for release in [false, true] {
        let name = if release { "released" } else { "local" };
        let (code, v) = analyze(&db, tmp.path(), name, &spec, release);
        assert_eq!(code, 0, "{v}");
        let out = tmp.path().join(format!("{name}-out"));
        let svg = std::fs::read_to_string(out.join("plot.svg")).unwrap();
        assert!(svg.contains("Trend over time") && svg.contains("count (95% CI)"));
        // One marker per drawn point: 8 periods, 7 when 2019/CT (7) is
        // suppressed.
        let markers = svg.matches("<circle").count();
        assert_eq!(markers, if release { 7 } else { 8 }, "{name}");
        let png = std::fs::read(out.join("plot.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("plot.png"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "owner-only");
    }
}

#[test]
fn a_trend_per_patients_of_a_denominator_cohort_divides_by_its_patients_per_period() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 60, 17, false);
    let db = index_with_cohort_of_all(tmp.path(), &archive);
    save_cohort(
        &db,
        tmp.path(),
        "ct-studies",
        r#"{"schema_version": 1, "name": "ct-studies", "unit": "study", "rules": [{"name": "CT", "criterion": {"modality": ["CT"]}}]}"#,
    );
    let (code, v) = analyze(
        &db,
        tmp.path(),
        "rate",
        r#"{"kind": "trend", "source": {"cohort": "ct-studies"}, "denominator": {"cohort": "all"}, "per": 1000}"#,
        false,
    );
    assert_eq!(code, 0, "{v}");
    let conn = sqlite(&db);
    let patients = |year: &str| -> f64 {
        conn.query_row(
            "SELECT count(DISTINCT patient_ref) FROM studies WHERE substr(study_date, 1, 4) = ?1",
            [year],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as f64
    };
    let cells = v["result"]["lines"][0]["cells"].as_array().unwrap();
    assert!(!cells.is_empty());
    for c in cells {
        let year = c["period"].as_str().unwrap();
        let n = patients(year);
        assert_eq!(c["n"].as_f64().unwrap(), n, "{year}");
        let x = c["x"].as_u64().unwrap() as f64;
        let rate = c["estimate"].as_f64().unwrap();
        assert!((rate - x / n * 1000.0).abs() < 1e-9, "{year}: {rate}");
    }
}

#[test]
fn crossed_strata_draw_a_heatmap_and_a_pyramid_without_suppressed_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    let csv = tmp.path().join("counts.csv");
    // 40-64 / F holds 4 events: suppressed for release, with a complement.
    std::fs::write(
        &csv,
        "age_group,sex,events,denominator\n0-39,F,30,400\n0-39,M,25,380\n40-64,F,4,350\n40-64,M,41,360\n65+,F,52,300\n65+,M,60,310\n",
    )
    .unwrap();
    let spec = format!(
        r#"{{"kind": "prevalence", "denominator": {{"counts_csv": "{}"}}, "strata": ["age_group", "sex"]}}"#,
        csv.display()
    );
    let (code, v) = analyze(&db, tmp.path(), "crossed", &spec, true);
    assert_eq!(code, 0, "{v}");
    let hidden = v["result"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["suppressed"] == true)
        .count();
    assert!(hidden >= 2, "primary and complementary: {v}");
    let out = tmp.path().join("crossed-out");
    let heat = std::fs::read_to_string(out.join("plot-heatmap.svg")).unwrap();
    assert!(heat.contains("Prevalence by age_group x sex"), "{heat}");
    assert_eq!(heat.matches("\nsuppressed\n").count(), hidden);
    let pyramid = std::fs::read_to_string(out.join("plot-pyramid.svg")).unwrap();
    assert!(pyramid.contains("Denominator by age group and sex"));
    // One bar per released cell, none for a hidden one.
    let bars = pyramid.matches("<rect").count();
    let plain = std::fs::read_to_string(out.join("plot.svg")).unwrap();
    assert!(plain.contains("prevalence, % (95% CI)"));
    assert!(bars >= 6 - hidden, "{bars}");
    // The hidden cell's denominator (350) is not drawn as a tick label
    // of its own either: no text holds it.
    assert!(!pyramid.contains("\n350\n"));
}

#[test]
fn analyses_are_saved_listed_shown_rerun_and_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 20, 5, false);
    let db = index_with_cohort_of_all(tmp.path(), &archive);
    let (code, first) = analyze(
        &db,
        tmp.path(),
        "yearly",
        r#"{"kind": "trend", "source": {"cohort": "all"}, "split": "modality"}"#,
        false,
    );
    assert_eq!(code, 0, "{first}");
    let (code, list) = run_json(&db, &["analyses", "list", "--json"]);
    assert_eq!(code, 0);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "yearly");
    assert_eq!(list[0]["kind"], "trend");
    let id = list[0]["id"].as_i64().unwrap().to_string();
    let shown = tmp.path().join("shown");
    let (code, again) = run_json(
        &db,
        &[
            "analyses",
            "show",
            &id,
            "--out",
            shown.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(again, first, "the saved result is the computed one");
    assert!(shown.join("plot.png").exists() && shown.join("spec.json").exists());
    let rerun = tmp.path().join("rerun");
    let (code, fresh) = run_json(
        &db,
        &[
            "analyses",
            "rerun",
            &id,
            "--out",
            rerun.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(fresh["spec"], first["spec"]);
    assert_eq!(fresh["result"], first["result"], "same index, same counts");
    let (_, list) = run_json(&db, &["analyses", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let out = run(&db, &["analyses", "delete", &id]);
    assert!(out.status.success());
    let (_, list) = run_json(&db, &["analyses", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let out = run(&db, &["analyses", "show", &id, "--out", "/nonexistent"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no saved analysis"));
}

#[test]
fn a_linked_ehr_column_and_an_image_feature_work_as_strata() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 40, 29, false);
    let db = index_with_cohort_of_all(tmp.path(), &archive);
    let conn = sqlite(&db);
    // Smoking status for two patients in three; none for the rest.
    let ids: Vec<String> = conn
        .prepare("SELECT patient_id FROM patients ORDER BY patient_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut csv = String::from("patient_id,smoking\n");
    let status = |i: usize| {
        if i.is_multiple_of(2) {
            "CURRENT"
        } else {
            "NEVER"
        }
    };
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 3 != 2) {
        csv.push_str(&format!("{id},{}\n", status(i)));
    }
    let file = tmp.path().join("clinic.csv");
    std::fs::write(&file, csv).unwrap();
    let out = run(
        &db,
        &[
            "link",
            "import-csv",
            file.to_str().unwrap(),
            "--name",
            "clinic",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A feature for some series (the biomarker's own table).
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
        "INSERT INTO series_features (series_uid, method, name, value, method_version, source_digest)
         SELECT series_uid, 'emphysema', 'laa950_percent', (id * 7) % 31, '1', 'x'
         FROM series WHERE id % 2 = 0",
    )
    .unwrap();
    let (code, v) = analyze(
        &db,
        tmp.path(),
        "strata",
        r#"{"kind": "prevalence", "denominator": "index", "outcome": "all", "unit": "patients",
            "strata": [{"ehr": {"dataset": "clinic", "column": "smoking"}}]}"#,
        false,
    );
    assert_eq!(code, 0, "{v}");
    let by: BTreeMap<String, u64> = v["result"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["labels"][0].as_str().unwrap().to_string(),
                c["n"].as_f64().unwrap() as u64,
            )
        })
        .collect();
    let expect = |s: &str| {
        ids.iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 2 && status(*i) == s)
            .count() as u64
    };
    assert_eq!(by["CURRENT"], expect("CURRENT"));
    assert_eq!(by["NEVER"], expect("NEVER"));
    assert_eq!(
        by["unknown"],
        ids.iter().enumerate().filter(|(i, _)| i % 3 == 2).count() as u64
    );
    assert_eq!(v["result"]["strata"][0], "smoking");

    // The feature: a study takes its series' highest value, in bands.
    let (code, v) = analyze(
        &db,
        tmp.path(),
        "feature",
        r#"{"kind": "prevalence", "denominator": "index", "outcome": "all", "unit": "studies",
            "strata": [{"feature": {"name": "laa950_percent", "cuts": [10, 20]}}]}"#,
        false,
    );
    assert_eq!(code, 0, "{v}");
    let count =
        |sql: &str| -> u64 { conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64 };
    let top = "(SELECT max(f.value) FROM series_features f JOIN series s ON s.series_uid = f.series_uid WHERE s.study_ref = st.id)";
    let cells = v["result"]["cells"].as_array().unwrap();
    let n = |label: &str| {
        cells
            .iter()
            .find(|c| c["labels"][0] == label)
            .map(|c| c["n"].as_f64().unwrap() as u64)
            .unwrap_or(0)
    };
    assert_eq!(
        n("< 10"),
        count(&format!("SELECT count(*) FROM studies st WHERE {top} < 10"))
    );
    assert_eq!(
        n("10 to < 20"),
        count(&format!(
            "SELECT count(*) FROM studies st WHERE {top} >= 10 AND {top} < 20"
        ))
    );
    assert_eq!(
        n(">= 20"),
        count(&format!(
            "SELECT count(*) FROM studies st WHERE {top} >= 20"
        ))
    );
    assert_eq!(
        n("unknown"),
        count(&format!(
            "SELECT count(*) FROM studies st WHERE {top} IS NULL"
        ))
    );
    // An ordered stratum: the trend test runs across the bands.
    save_cohort(
        &db,
        tmp.path(),
        "ct",
        r#"{"schema_version": 1, "name": "ct", "unit": "study", "rules": [{"name": "CT", "criterion": {"modality": ["CT"]}}]}"#,
    );
    let (code, v) = analyze(
        &db,
        tmp.path(),
        "feature-ct",
        r#"{"kind": "prevalence", "denominator": "index", "outcome": "ct", "unit": "studies",
            "strata": [{"feature": {"name": "laa950_percent", "cuts": [10, 20]}}]}"#,
        false,
    );
    assert_eq!(code, 0, "{v}");
    assert!(v["result"]["trend"]["z"].is_number(), "{v}");

    // Bad cut points are refused with a message that says what to give.
    let bad = tmp.path().join("badcuts.json");
    std::fs::write(
        &bad,
        r#"{"kind": "prevalence", "denominator": "index", "outcome": "all",
            "strata": [{"feature": {"name": "laa950_percent", "cuts": [20, 10]}}]}"#,
    )
    .unwrap();
    let out_dir = tmp.path().join("badcuts-out");
    let out = run(
        &db,
        &[
            "analyze",
            "--spec",
            bad.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("increasing order"));
}
