//! The differential test: random definitions over the whole schema, counted
//! by the SQL path (the reference) and by the column engine, on a generated
//! index with edge cases; every level count and attrition cell must agree.
//! A disagreement is reported with the smallest definition that shows it.

use super::ColumnEngine;
use crate::cohort::random::{random_spec, shrink, size};
use crate::model::CohortSpec;
use crate::synth::{Rng, SynthOptions};
use crate::Engine;
use std::path::Path;

/// A generated index plus what the generator never makes: unknown values,
/// a patient without studies, a second issuer with the same patient IDs,
/// shared accession numbers, multi-frame images, stale study facts, linked
/// EHR values (by patient with issuers, by accession), reports and findings,
/// series features (some computed from files that changed since).
fn edge_case_index(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("ws.db");
    crate::index::build_synthetic_index(
        &db,
        &SynthOptions {
            patients: 70,
            seed: 17,
            with_faults: false,
            max_slices: 3,
        },
    )
    .unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE series SET modality = NULL WHERE id % 11 = 0;
         UPDATE series SET body_part = NULL WHERE id % 7 = 0;
         UPDATE series SET manufacturer = NULL, station_name = NULL WHERE id % 13 = 0;
         UPDATE series SET modality = lower(modality) WHERE id % 17 = 0;
         UPDATE series SET description = NULL WHERE id % 5 = 0;
         UPDATE series SET protocol_name = NULL WHERE id % 6 = 0;
         -- patients without a modality at all
         UPDATE series SET modality = NULL WHERE study_ref IN
           (SELECT id FROM studies WHERE patient_ref % 9 = 0);
         UPDATE studies SET study_date = NULL WHERE id % 8 = 0;
         UPDATE studies SET age_at_study_years = NULL WHERE id % 6 = 0;
         UPDATE studies SET description = NULL WHERE id % 10 = 0;
         UPDATE studies SET accession_number = NULL WHERE id % 12 = 0;
         UPDATE studies SET accession_number = (SELECT accession_number FROM studies WHERE id = 2) WHERE id % 15 = 0;
         -- same day, same patient: ties broken by row id
         UPDATE studies SET study_date = (SELECT min(study_date) FROM studies s2 WHERE s2.patient_ref = studies.patient_ref)
           WHERE id % 14 = 0;
         UPDATE patients SET sex = NULL WHERE id % 10 = 0;
         UPDATE patients SET issuer = 'SITE-B' WHERE id % 4 = 0;
         UPDATE instances SET frames = 12 WHERE id % 9 = 0;
         UPDATE instances SET slice_thickness_mm = NULL WHERE id % 5 = 0;
         UPDATE instances SET contrast_agent = '' WHERE id % 3 = 0;
         INSERT INTO patients(issuer, patient_id, sex) VALUES ('', 'NOSTUDIES', 'F');
         -- the same patient ID at a second site
         INSERT INTO patients(issuer, patient_id, sex)
           SELECT 'SITE-C', patient_id, 'M' FROM patients WHERE id = 3;
         INSERT INTO studies(patient_ref, study_uid, study_date, accession_number, age_at_study_years)
           SELECT (SELECT max(id) FROM patients), '2.25.999', '2019-05-05', 'SHARED1', 60;
         INSERT INTO series(study_ref, series_uid, modality) SELECT max(id), '2.25.9991', 'CT' FROM studies;
         INSERT INTO files(root_ref, rel_path, size_bytes, mtime_ns, status, sop_uid)
           SELECT 1, X'7A', 1, 0, 'ok', '2.25.99911';
         INSERT INTO instances(series_ref, sop_uid, file_ref, slice_thickness_mm)
           SELECT (SELECT max(id) FROM series), '2.25.99911', (SELECT max(id) FROM files), 1.0;
         -- every fact recomputed below, as an index run would
         UPDATE studies SET facts_modalities = NULL, facts_body_parts = NULL, facts_contrast = NULL;",
    )
    .unwrap();
    // Facts recomputed for the others, as an index run would.
    conn.execute_batch(crate::store::schema_refresh_facts())
        .unwrap();
    conn.execute_batch("UPDATE studies SET facts_modalities = NULL WHERE id % 2 = 0;")
        .unwrap();
    let features = format!(
        "INSERT INTO series_features(series_uid, method, name, value, method_version, source_digest)
         SELECT s.series_uid, 'emphysema', 'laa950_percent', (s.id % 37) * 0.7, '1',
                CASE WHEN s.id % 5 = 0 THEN 'stale' ELSE {} END FROM series s WHERE s.id % 3 = 0",
        crate::biomarker::SOURCE_DIGEST_SQL
    );
    conn.execute_batch(&features).unwrap();
    let pids: Vec<(String, String)> = conn
        .prepare("SELECT patient_id, issuer FROM patients ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let accs: Vec<String> = conn
        .prepare("SELECT DISTINCT accession_number FROM studies WHERE accession_number IS NOT NULL ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(conn);
    let engine = Engine::open(&db).unwrap();
    let mut csv = String::from("patient_id,issuer,bmi,smoker,dx_date\n");
    for (i, (pid, issuer)) in pids.iter().enumerate() {
        if i % 5 == 4 {
            continue;
        }
        let issuer = if i % 3 == 0 { issuer.as_str() } else { "" };
        let bmi = if i % 7 == 0 {
            String::new()
        } else {
            format!("{}", 18 + (i * 7) % 20)
        };
        let smoker = ["yes", "No", "former", ""][i % 4];
        let dx = if i % 6 == 0 {
            String::new()
        } else {
            format!("20{:02}-0{}-1{}", 15 + i % 9, 1 + i % 9, i % 10)
        };
        csv.push_str(&format!("{pid},{issuer},{bmi},{smoker},{dx}\n"));
    }
    csv.push_str("UNKNOWN-PID,,30,yes,2020-01-01\n");
    std::fs::write(dir.join("ehr.csv"), csv).unwrap();
    let mut link = crate::model::EhrLink::by(crate::model::EhrKey::PatientId);
    link.issuer_column = Some("issuer".into());
    engine
        .import_ehr_csv(&dir.join("ehr.csv"), "clinic", &link, false)
        .unwrap();
    let mut csv = String::from("accession_number,stage\n");
    for (i, a) in accs.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        csv.push_str(&format!("{a},{}\n", ["I", "ii", "III", "IV"][i % 4]));
    }
    std::fs::write(dir.join("acc.csv"), csv).unwrap();
    engine
        .import_ehr_csv(
            &dir.join("acc.csv"),
            "staging",
            &crate::model::EhrLink::by(crate::model::EhrKey::Accession),
            false,
        )
        .unwrap();
    let mut csv = String::from("accession,text\n");
    for (i, a) in accs.iter().enumerate().filter(|(i, _)| i % 3 != 2) {
        let text = match i % 4 {
            0 => "Centrilobular emphysema in both upper lobes.",
            1 => "No emphysema. Lungs clear.",
            2 => "Small nodule in the right lung.",
            _ => "Mild emphysema; nodule stable.",
        };
        csv.push_str(&format!("{a},{text}\n"));
    }
    std::fs::write(dir.join("reports.csv"), csv).unwrap();
    engine
        .import_reports_csv(&dir.join("reports.csv"), "accession", "text")
        .unwrap();
    engine
        .define_finding("emphysema", &["emphysema".into()])
        .unwrap();
    engine.define_finding("nodule", &["nodule".into()]).unwrap();
    db
}

/// Both evaluators' answers, or a description of how they differ.
fn compare(engine: &Engine, cols: &ColumnEngine, spec: &CohortSpec) -> Result<(), String> {
    let sql = engine.cohort_count(spec).map_err(|e| e.to_string())?;
    let mem = cols.count(spec)?;
    let sql_remaining: Vec<u64> = sql.attrition.iter().map(|a| a.remaining).collect();
    let sql_alone: Vec<u64> = sql
        .attrition
        .iter()
        .map(|a| sql.population - a.removed_alone)
        .collect();
    if sql.population != mem.population
        || sql_remaining != mem.remaining
        || sql_alone != mem.alone
        || sql.levels != mem.levels
    {
        return Err(format!(
            "SQL: population {} remaining {:?} alone {:?} levels {:?}\ncolumns: population {} remaining {:?} alone {:?} levels {:?}",
            sql.population, sql_remaining, sql_alone, sql.levels,
            mem.population, mem.remaining, mem.alone, mem.levels
        ));
    }
    Ok(())
}

#[test]
fn column_engine_agrees_with_sql_on_random_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    let db = edge_case_index(tmp.path());
    let engine = Engine::open(&db).unwrap();
    let cols = ColumnEngine::build(&db).unwrap();
    let vocab = cols.vocabulary();
    assert!(!vocab.ehr.is_empty() && !vocab.findings.is_empty() && !vocab.features.is_empty());
    let n: usize = std::env::var("PACS_COHORT_DIFF_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut rng = Rng::new(2026);
    let mut nonzero = 0;
    for i in 0..n {
        let spec = random_spec(&mut rng, &vocab);
        if let Err(why) = compare(&engine, &cols, &spec) {
            let small = shrink(&spec, &mut |s| compare(&engine, &cols, s).is_err());
            let why_small = compare(&engine, &cols, &small).err().unwrap_or(why);
            panic!(
                "definition #{i} counts differ; smallest definition found (size {}):\n{}\n{why_small}",
                size(&small),
                serde_json::to_string_pretty(&small).unwrap_or_default()
            );
        }
        nonzero += usize::from(
            cols.count(&spec)
                .map(|c| c.levels.studies > 0)
                .unwrap_or(false),
        );
    }
    // The draws are not degenerate: many select something.
    assert!(
        nonzero > n / 4,
        "only {nonzero} of {n} definitions select anything"
    );
}
