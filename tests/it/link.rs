//! Linked EHR data: CSV import through the CLI, criteria on linked columns.

use crate::common::*;
use std::fmt::Write;

#[test]
fn an_ehr_csv_links_by_patient_id_and_becomes_a_criterion() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 30, 61, false);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let c = sqlite(&db);
    let ids: Vec<String> = c
        .prepare("SELECT patient_id FROM patients ORDER BY patient_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // Every third patient is a current smoker; FEV1 is a number; one row
    // has a bad number and one key is unknown to the index.
    let mut csv = String::from("\u{feff}patient_id,smoking,fev1_l,diagnosed\n");
    for (i, id) in ids.iter().enumerate() {
        let smoking = if i % 3 == 0 { "current" } else { "never" };
        writeln!(
            csv,
            "{id},{smoking},{:.1},2019-0{}-15",
            1.5 + (i % 5) as f64 * 0.5,
            1 + i % 9
        )
        .unwrap();
    }
    csv.push_str("NOT-IN-INDEX,current,n/a,2020-01-01\n");
    csv.push_str("\"quoted, id\",\"never\",2.0,2020-01-01\n");
    let file = tmp.path().join("ehr.csv");
    std::fs::write(&file, csv).unwrap();

    let (code, preview) = run_json(
        &db,
        &[
            "link",
            "import-csv",
            file.to_str().unwrap(),
            "--name",
            "clinic",
            "--preview",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{preview}");
    let kinds: Vec<(String, String)> = preview["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(kinds[0], ("smoking".into(), "text".into()));
    assert_eq!(
        kinds[1],
        ("fev1_l".into(), "text".into()),
        "'n/a' makes the column text"
    );
    assert_eq!(kinds[2], ("diagnosed".into(), "date".into()));
    assert_eq!(
        sqlite(&db)
            .query_row("SELECT count(*) FROM ehr_values", [], |r| r
                .get::<_, i64>(0))
            .unwrap(),
        0,
        "preview writes nothing"
    );

    let (code, r) = run_json(
        &db,
        &[
            "link",
            "import-csv",
            file.to_str().unwrap(),
            "--name",
            "clinic",
            "--type",
            "fev1_l=number",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["rows"], ids.len() + 2);
    assert_eq!(r["rows_linked"], ids.len());
    assert_eq!(r["values_not_parsed"], 1);

    let spec = tmp.path().join("smokers.json");
    std::fs::write(&spec, r#"{"schema_version":1,"name":"smokers","unit":"patient","rules":[
        {"name":"current smoker","criterion":{"ehr":{"dataset":"clinic","column":"smoking","any_of":["CURRENT"]}}},
        {"name":"FEV1 >= 2","criterion":{"ehr":{"dataset":"clinic","column":"fev1_l","min":2.0}}}]}"#).unwrap();
    let (code, v) = run_json(
        &db,
        &[
            "cohort",
            "count",
            "--spec",
            spec.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v}");
    let smokers = ids.len().div_ceil(3) as u64;
    let steps = v["attrition"].as_array().unwrap();
    assert_eq!(steps[0]["remaining"]["count"], smokers);
    let expected = (0..ids.len())
        .filter(|i| i % 3 == 0 && 1.5 + (i % 5) as f64 * 0.5 >= 2.0)
        .count() as u64;
    assert_eq!(steps[1]["remaining"]["count"], expected);

    // Re-importing replaces the dataset; a wrong key column is a clear error.
    let out = run(
        &db,
        &[
            "link",
            "import-csv",
            file.to_str().unwrap(),
            "--name",
            "clinic",
            "--key-column",
            "mrn",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no column named 'mrn'") && err.contains("patient_id"),
        "{err}"
    );
    let (_, list) = run_json(&db, &["link", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
}
