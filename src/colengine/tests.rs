//! The differential test: random definitions over the whole schema, counted
//! by the SQL path (the reference) and by the column engine, on a generated
//! index with edge cases; every level count and attrition cell must agree.
//! A disagreement is reported with the smallest definition that shows it.

use super::ColumnEngine;
use crate::cohort::random::{random_spec, shrink, size};
use crate::model::{CohortSpec, CohortUnit, Criterion};
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

/// What a batch of drawn definitions exercised, so that a generator change
/// cannot quietly stop covering part of the schema.
#[derive(Default)]
struct Coverage {
    kinds: std::collections::BTreeMap<&'static str, usize>,
    deepest: usize,
    index_events: usize,
    exclusions: usize,
    /// Definitions selecting something, per unit (study, series, patient).
    nonzero: [usize; 3],
    drawn: [usize; 3],
}

impl Coverage {
    fn walk(&mut self, c: &Criterion, depth: usize) {
        self.deepest = self.deepest.max(depth);
        let kind = match c {
            Criterion::All(v) | Criterion::Any(v) => {
                for k in v {
                    self.walk(k, depth + 1);
                }
                if matches!(c, Criterion::All(_)) {
                    "all"
                } else {
                    "any"
                }
            }
            Criterion::Not(k) | Criterion::FirstOf(k) | Criterion::LastOf(k) => {
                self.walk(k, depth + 1);
                match c {
                    Criterion::Not(_) => "not",
                    Criterion::FirstOf(_) => "first_of",
                    _ => "last_of",
                }
            }
            Criterion::FollowUp(f) => {
                self.walk(&f.criterion, depth + 1);
                "follow_up"
            }
            Criterion::Modality(_) => "modality",
            Criterion::BodyPart(_) => "body_part",
            Criterion::Sex(_) => "sex",
            Criterion::Institution(_) => "institution",
            Criterion::Station(_) => "station",
            Criterion::Manufacturer(_) => "manufacturer",
            Criterion::Model(_) => "model",
            Criterion::SopClass(_) => "sop_class",
            Criterion::StudyDate(_) => "study_date",
            Criterion::Age(_) => "age",
            Criterion::SliceThicknessMm(_) => "slice_thickness_mm",
            Criterion::SeriesCount(_) => "series_count",
            Criterion::InstanceCount(_) => "instance_count",
            Criterion::StudyDescription(_) => "study_description",
            Criterion::SeriesDescription(_) => "series_description",
            Criterion::ProtocolName(_) => "protocol_name",
            Criterion::Contrast(_) => "contrast",
            Criterion::Ehr(_) => "ehr",
            Criterion::Finding(_) => "finding",
            Criterion::Feature(_) => "feature",
        };
        *self.kinds.entry(kind).or_default() += 1;
    }

    fn add(&mut self, spec: &CohortSpec, counts: &super::FunnelCounts) {
        let u = match spec.unit {
            CohortUnit::Study => 0,
            CohortUnit::Series => 1,
            CohortUnit::Patient => 2,
        };
        self.drawn[u] += 1;
        self.nonzero[u] += usize::from(counts.levels.studies > 0);
        self.index_events += usize::from(crate::cohort::has_index_event(spec));
        for r in &spec.rules {
            self.exclusions += usize::from(r.exclude);
            self.walk(&r.criterion, 1);
        }
    }

    /// Every criterion kind drawn, groups nested to depth 3, index events,
    /// exclusions, and every unit selecting something in many draws.
    fn check(&self, n: usize) {
        const KINDS: usize = 26;
        assert_eq!(self.kinds.len(), KINDS, "kinds drawn: {:?}", self.kinds);
        let rare = n / 200;
        for (k, seen) in &self.kinds {
            assert!(*seen >= rare, "{k} drawn only {seen} times in {n}");
        }
        assert!(
            self.deepest > crate::cohort::random::DEPTH,
            "deepest {}",
            self.deepest
        );
        assert!(
            self.index_events >= n / 50,
            "{} index events",
            self.index_events
        );
        assert!(self.exclusions >= n / 10, "{} exclusions", self.exclusions);
        for u in 0..3 {
            assert!(
                self.nonzero[u] * 4 > self.drawn[u],
                "unit {u}: {} of {} definitions select anything",
                self.nonzero[u],
                self.drawn[u]
            );
        }
    }
}

/// `PACS_COHORT_DIFF_N` (default 1000) definitions from seed
/// `PACS_COHORT_DIFF_SEED` (default 2026): the longer run the benchmark
/// notes use is the same test with larger values.
#[test]
fn column_engine_agrees_with_sql_on_random_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    let db = edge_case_index(tmp.path());
    let engine = Engine::open(&db).unwrap();
    let cols = ColumnEngine::build(&db).unwrap();
    let vocab = cols.vocabulary();
    assert!(!vocab.ehr.is_empty() && !vocab.findings.is_empty() && !vocab.features.is_empty());
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let n = env("PACS_COHORT_DIFF_N", 1000) as usize;
    let mut rng = Rng::new(env("PACS_COHORT_DIFF_SEED", 2026));
    let mut seen = Coverage::default();
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
        let counts = cols.count(&spec).expect("counted above");
        seen.add(&spec, &counts);
    }
    if n >= 500 {
        seen.check(n);
    }
}
