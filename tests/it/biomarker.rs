//! The emphysema index (issue #12) through the real CLI: generated chest
//! CT series indexed, computed, resumed, failures stored, and a cohort
//! selected by the feature criterion.

use crate::common::*;
use pacs_cohort::synth::ct_volume;

#[test]
fn emphysema_is_computed_resumed_and_selects_a_cohort() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let fractions = [0.02, 0.06, 0.14];
    let a = ct_volume::write_archive(&archive, &fractions, 64, 24, 7).unwrap();
    let db = index_with_cohort_of_all(dir.path(), &archive);
    let (code, report) = run_json(
        &db,
        &["biomarker", "emphysema", "--cohort", "all", "--json"],
    );
    // One chest CT with too few slices fails: attention, not failure.
    assert_eq!(code, 3, "{report}");
    assert_eq!(report["chest_ct_series"], 4, "the abdomen is not chest CT");
    assert_eq!(report["computed"], 3);
    assert_eq!(report["failed"][0]["kind"], "too_few_slices");
    assert_eq!(
        report["failed"][0]["series_uid"].as_str(),
        Some(a.too_few_slices_uid.as_str())
    );
    for (uid, r) in report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x[0].as_str().unwrap(), &x[1]))
    {
        let truth = &a.chest.iter().find(|c| c.series_uid == uid).unwrap().truth;
        let got = r["laa950_percent"].as_f64().unwrap();
        // Generated volumes have no partial volume: the mask is the truth.
        assert!(
            (got - truth.laa950_percent()).abs() < 1e-6,
            "{got} vs {}",
            truth.laa950_percent()
        );
        assert_eq!(r["perc15_hu"].as_f64().unwrap(), truth.perc15());
        assert_eq!(
            r["outside_air_voxels"].as_u64().unwrap(),
            truth.outside_voxels
        );
        assert_eq!(
            r["small_component_voxels"].as_u64().unwrap() + r["airway_voxels"].as_u64().unwrap(),
            truth.trachea_voxels
        );
    }
    // A re-run computes nothing again (neither results nor failures).
    let (_, again) = run_json(
        &db,
        &["biomarker", "emphysema", "--cohort", "all", "--json"],
    );
    assert_eq!(again["computed"], 0);
    // The failure is stored too: unchanged files are not tried again.
    assert_eq!(again["resumed"], 4);
    let (code, list) = run_json(&db, &["biomarker", "list", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(list.as_array().unwrap().len(), 4);
    // The feature as a criterion: series above the middle fraction's truth.
    let mid = a.chest[1].truth.laa950_percent();
    let above = a
        .chest
        .iter()
        .filter(|c| c.truth.laa950_percent() >= mid)
        .count() as u64;
    assert_eq!(above, 2);
    let spec = dir.path().join("emph.json");
    std::fs::write(
        &spec,
        format!(r#"{{"schema_version":1,"name":"emph","unit":"series","rules":[{{"name":"emphysema","criterion":{{"feature":{{"name":"laa950_percent","min":{mid}}}}}}}]}}"#),
    )
    .unwrap();
    let (code, counts) = count_json(&db, spec.to_str().unwrap());
    assert_eq!(code, 0, "{counts}");
    assert_eq!(counts["levels"]["series"]["count"], above, "{counts}");
    // A changed file invalidates its series' feature once indexed again.
    let victim = &a.chest[2].files[3];
    let bytes = std::fs::read(victim).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(victim, &bytes).unwrap();
    run(&db, &["index", archive.to_str().unwrap()]);
    let (_, counts) = count_json(&db, spec.to_str().unwrap());
    assert_eq!(counts["levels"]["series"]["count"], above - 1, "{counts}");
    let (_, third) = run_json(
        &db,
        &["biomarker", "emphysema", "--cohort", "all", "--json"],
    );
    assert_eq!(third["computed"], 1);
}
