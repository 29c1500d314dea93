//! Report-derived findings: reports imported from CSV, keyword rules with
//! negation, findings as cohort criteria.

use crate::common::*;
use std::fmt::Write;

#[test]
fn findings_respect_negation_and_become_criteria() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    synth(&archive, 40, 71, false);
    let db = tmp.path().join("ws.db");
    run(&db, &["index", archive.to_str().unwrap()]);
    let accessions: Vec<String> = sqlite(&db)
        .prepare("SELECT accession_number FROM studies ORDER BY accession_number")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // Three kinds of report, in turn: positive, negated, silent.
    let mut csv = String::from("accession_number,report_text\n");
    let texts = [
        "\"Findings: centrilobular emphysema, upper lobe predominant. No nodules.\"",
        "\"Lungs: no evidence of emphysema. Small pulmonary nodule, but stable.\"",
        "\"Heart size normal. No acute abnormality.\"",
    ];
    for (i, acc) in accessions.iter().enumerate() {
        writeln!(csv, "{acc},{}", texts[i % 3]).unwrap();
    }
    let file = tmp.path().join("reports.csv");
    std::fs::write(&file, csv).unwrap();
    let out = run(&db, &["findings", "import-reports", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &db,
        &["findings", "define", "emphysema", "--keyword", "emphysem"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run(
        &db,
        &[
            "findings",
            "define",
            "nodule",
            "--keyword",
            "pulmonary nodule",
            "--keyword",
            "nodul",
        ],
    );
    let (_, list) = run_json(&db, &["findings", "list", "--json"]);
    let n = accessions.len() as u64;
    let third = |k: u64| (0..n).filter(|i| i % 3 == k).count() as u64;
    let emph = list
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "emphysema")
        .unwrap();
    assert_eq!(emph["positive"], third(0));
    assert_eq!(emph["negated"], third(1));
    assert_eq!(emph["absent"], third(2));
    let nod = list
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "nodule")
        .unwrap();
    assert_eq!(
        nod["positive"],
        third(1),
        "'Small pulmonary nodule, but stable' is positive"
    );
    assert_eq!(nod["negated"], third(0), "'No nodules' is negated");

    let spec = tmp.path().join("s.json");
    std::fs::write(&spec, r#"{"schema_version":1,"name":"emph","rules":[
        {"name":"emphysema","criterion":{"finding":{"name":"emphysema"}}},
        {"name":"no nodule","exclude":true,"criterion":{"finding":{"name":"nodule","present":true}}}]}"#).unwrap();
    let (code, v) = count_json(&db, spec.to_str().unwrap());
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["attrition"][0]["remaining"]["count"], third(0));
    assert_eq!(
        v["attrition"][1]["remaining"]["count"],
        third(0),
        "the emphysema reports deny nodules"
    );
    let absent = tmp.path().join("a.json");
    std::fs::write(&absent, r#"{"schema_version":1,"name":"no-emph","rules":[
        {"name":"reported without emphysema","criterion":{"finding":{"name":"emphysema","present":false}}}]}"#).unwrap();
    let (_, v) = count_json(&db, absent.to_str().unwrap());
    assert_eq!(v["levels"]["studies"]["count"], third(1) + third(2));
}

#[test]
fn sr_documents_without_an_accession_are_skipped_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    run(
        &db,
        &[
            "index",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real"),
        ],
    );
    let out = run(&db, &["findings", "import-sr"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("imported the text of 0 SR documents"),
        "{text}"
    );
    assert!(
        text.contains("skipped: no accession number") && text.contains("test-SR.dcm"),
        "{text}"
    );
}
