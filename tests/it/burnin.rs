//! Burned-in text risk through the index (issue #11): a generated archive
//! with an ultrasound series whose pixels carry a name, an ID and a date
//! (Burned In Annotation YES, JPEG baseline) and a clean CT series
//! (Burned In Annotation absent), indexed by the real binary.

use crate::common::*;
use pacs_cohort::burnin::RiskLevel;
use pacs_cohort::model::Rect;
use pacs_cohort::synth::burnin::write_archive;
use pacs_cohort::Engine;

#[test]
fn risks_and_text_regions_of_an_indexed_ultrasound_and_ct() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let a = write_archive(&archive, 5).unwrap();
    let db = tmp.path().join("ws.db");
    let out = run(&db, &["index", archive.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let engine = Engine::open(&db).unwrap();

    let uids = vec![
        a.us_series_uid.clone(),
        a.ct_series_uid.clone(),
        "1.2.3.not.indexed".to_string(),
    ];
    let risks = engine.series_risks(&uids).unwrap();
    assert_eq!(risks.len(), 2, "a series that is not indexed is left out");
    let us = &risks[&a.us_series_uid];
    assert_eq!(us.level, RiskLevel::High);
    assert!(
        us.reasons[0].starts_with("Burned In Annotation is YES on all 3 images"),
        "{us:?}"
    );
    assert!(us.reasons.iter().any(|r| r.starts_with("Modality US")));
    let ct = &risks[&a.ct_series_uid];
    assert_eq!(ct.level, RiskLevel::Low, "{ct:?}");
    assert!(ct
        .reasons
        .iter()
        .any(|r| r.starts_with("Burned In Annotation absent on all 3 images")));

    // The middle ultrasound image (of three, with rulers and a caliper)
    // decoded from its JPEG file: every text line is covered.
    let regions = engine.pixel_text_regions(&a.us_series_uid).unwrap();
    let middle = &a.us_images[1];
    assert!(!middle.lines.is_empty());
    for l in &middle.lines {
        assert!(
            l.rect.covered_share(&regions) >= 0.9,
            "'{}' at {:?} not covered by {regions:?}",
            l.text,
            l.rect
        );
    }
    assert!(regions.iter().all(|r| r.fits(480, 640)));
    assert_eq!(engine.pixel_text_regions(&a.ct_series_uid).unwrap(), vec![]);

    // Combined: the detector's finding comes first; on the CT it is noted
    // and the level stays low.
    let checked = engine.series_risk_checked(&a.us_series_uid).unwrap();
    assert_eq!(checked.level, RiskLevel::High);
    assert!(
        checked.reasons[0].contains("text-like region"),
        "{checked:?}"
    );
    let checked = engine.series_risk_checked(&a.ct_series_uid).unwrap();
    assert_eq!(checked.level, RiskLevel::Low);
    assert!(checked
        .reasons
        .iter()
        .any(|r| r.contains("found no text-like regions")));

    // The detector's rectangles are accepted as masks for the image.
    let sop = engine.series_instances(&a.us_series_uid).unwrap()[1]
        .sop_uid
        .clone();
    let masks: Vec<(String, Rect, String)> = regions
        .iter()
        .map(|r| (sop.clone(), *r, "proposed by the text detector".to_string()))
        .collect();
    assert_eq!(engine.add_masks(&masks).unwrap().len(), regions.len());

    let err = engine.pixel_text_regions("1.2.3.not.indexed").unwrap_err();
    assert!(err.to_string().contains("no indexed images"), "{err}");
}
