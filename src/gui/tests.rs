//! Headless GUI tests (egui_kittest): the real app state and the real
//! library, driven by clicks and typing. The folder dialog is replaced by a
//! picker that answers with a prepared folder.

use super::app::PacsApp;
use super::picker::FolderPicker;
use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use pacs_cohort::synth::{generate, SynthOptions, SynthSummary};
use pacs_cohort::Engine;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct FakePicker(PathBuf, Option<PathBuf>);

impl FolderPicker for FakePicker {
    fn pick_folder(&self) -> Option<PathBuf> {
        Some(self.0.clone())
    }
    fn pick_csv(&self) -> Option<PathBuf> {
        self.1.clone()
    }
    fn pick_export_parent(&self) -> Option<PathBuf> {
        self.0.parent().map(Path::to_path_buf)
    }
    fn pick_analysis_folder(&self) -> Option<PathBuf> {
        self.0.parent().map(Path::to_path_buf)
    }
    fn pick_save_csv(&self, default_name: &str) -> Option<PathBuf> {
        self.0.parent().map(|p| p.join(default_name))
    }
}

fn archive(dir: &Path, patients: u32, faults: bool) -> SynthSummary {
    generate(
        dir,
        &SynthOptions {
            patients,
            seed: 77,
            with_faults: faults,
            max_slices: 4,
        },
    )
    .unwrap()
}

fn harness(db: &Path, archive: &Path) -> Harness<'static, PacsApp> {
    harness_with_csv(db, archive, None)
}

fn harness_with_csv(db: &Path, archive: &Path, csv: Option<PathBuf>) -> Harness<'static, PacsApp> {
    let engine = Engine::open(db).unwrap();
    let picker = Arc::new(FakePicker(archive.to_path_buf(), csv));
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| PacsApp::new(&cc.egui_ctx, None, engine, picker, None))
}

/// Steps frames until `done` holds (worker threads answer in real time).
fn wait_until(h: &mut Harness<'static, PacsApp>, what: &str, done: impl Fn(&PacsApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.step();
}

/// `<dir>/ws.db` with `archive` indexed (without the GUI), and its engine.
fn indexed(dir: &Path, archive: &Path) -> (PathBuf, Engine) {
    let db = dir.join("ws.db");
    let engine = Engine::open(&db).unwrap();
    engine
        .index(
            &[archive.to_path_buf()],
            &Default::default(),
            &Default::default(),
            &mut |_| {},
        )
        .unwrap();
    (db, engine)
}

/// An indexed archive of `patients` under `dir`, the app open on it, and
/// the builder's empty draft saved as "new cohort".
fn with_saved_new_cohort(dir: &Path, patients: u32) -> (PathBuf, Harness<'static, PacsApp>) {
    let archive_dir = dir.join("archive");
    archive(&archive_dir, patients, false);
    let db = dir.join("ws.db");
    let mut h = harness(&db, &archive_dir);
    open_and_index(&mut h);
    h.get_by_label("Cohort builder").click();
    h.run_steps(2);
    h.get_by_label("Save").click();
    wait_until(&mut h, "the saved cohort", |a| {
        a.saved_cohorts.iter().any(|c| c.name == "new cohort")
    });
    (db, h)
}

fn idle(app: &PacsApp) -> bool {
    app.index.is_none() && !app.queries_busy()
}

fn open_and_index(h: &mut Harness<'static, PacsApp>) {
    wait_until(h, "the workspace to load", |a| a.status.is_some());
    h.get_by_label("Open archive…").click();
    wait_until(h, "indexing to start", |a| a.index.is_some());
    wait_until(h, "indexing to finish", idle);
}

#[test]
fn open_index_sort_filter_and_select_a_study() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    let s = archive(&dir, 8, false);
    let mut h = harness(&tmp.path().join("ws.db"), &dir);
    open_and_index(&mut h);

    // Counts are shown in the status bar and match the generator.
    let levels = h.state().status.as_ref().unwrap().levels;
    assert_eq!(levels.instances, s.instances);
    h.get_by_label_contains(&format!("{} instances", s.instances));
    assert_eq!(h.state().studies.len() as u64, s.studies);
    assert_eq!(h.state().jobs.len(), 1);
    assert!(!h.state().jobs[0].running);

    // Sort by patient ID (ascending on first click).
    h.get_by_label("Patient ID").click();
    wait_until(&mut h, "sorted studies", |a| {
        !a.queries_busy()
            && a.studies
                .windows(2)
                .all(|w| w[0].patient_id <= w[1].patient_id)
    });
    assert_eq!(
        h.state().prefs.sort,
        pacs_cohort::model::StudySort::PatientId
    );
    h.get_by_label("Patient ID").click();
    wait_until(&mut h, "descending order", |a| {
        !a.queries_busy()
            && a.studies
                .windows(2)
                .all(|w| w[0].patient_id >= w[1].patient_id)
    });

    // Filter by one patient's ID.
    let pid = h.state().studies[0].patient_id.clone();
    let expected = h
        .state()
        .studies
        .iter()
        .filter(|r| r.patient_id == pid)
        .count();
    let search = h.get_by_label("Search");
    search.click();
    search.type_text(&pid);
    wait_until(&mut h, "filtered studies", |a| {
        !a.queries_busy() && a.studies.len() == expected
    });
    assert!(h.state().studies.iter().all(|r| r.patient_id == pid));

    // Select the first study: its series appear.
    let uid = h.state().studies[0].study_uid.clone();
    h.get_all_by_label(&pid).next().unwrap().click();
    wait_until(&mut h, "series of the selected study", |a| {
        a.selected_study.as_ref() == Some(&uid) && !a.series.is_empty()
    });
    h.get_by_label_contains(&format!("of {pid}"));
    let n_series = h.state().studies[0].series_count as usize;
    assert_eq!(h.state().series.len(), n_series);
}

#[test]
fn the_files_view_filters_by_status() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    archive(&dir, 3, true);
    let mut h = harness(&tmp.path().join("ws.db"), &dir);
    open_and_index(&mut h);
    h.get_by_label("Files and statuses").click();
    wait_until(&mut h, "the file list", |a| {
        a.prefs.tab == super::state::Tab::Files && !a.files.is_empty() && !a.queries_busy()
    });
    h.run_steps(2);
    let counts = h.state().status.as_ref().unwrap().status.clone();
    assert_eq!(
        counts.get(pacs_cohort::model::FileStatus::NotDicom),
        3,
        "{counts:?}"
    );
    h.get_by_label("not-dicom (3)").click();
    wait_until(&mut h, "not-dicom files", |a| {
        !a.queries_busy() && a.files.len() == 3
    });
    assert!(h
        .state()
        .files
        .iter()
        .all(|f| f.status == pacs_cohort::model::FileStatus::NotDicom));
    assert_eq!(
        h.get_all_by_label_contains("no DICM marker").count(),
        2,
        "README.txt and random.dcm"
    );
}

#[test]
fn cancelling_an_index_job_keeps_a_consistent_index() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    let s = archive(&dir, 900, false);
    let db = tmp.path().join("ws.db");
    let mut h = harness(&db, &dir);
    wait_until(&mut h, "the workspace to load", |a| a.status.is_some());
    h.get_by_label("Open archive…").click();
    // Once some files are committed: a cancel keeps what was committed and
    // drops what was read but not written.
    let committed = || {
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT count(*) FROM instances", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0)
    };
    wait_until(&mut h, "some files indexed", |a| {
        a.index.is_some() && committed() > 0
    });
    h.get_by_label("Cancel").click();
    wait_until(&mut h, "the job to stop", idle);
    let job = h.state().jobs.last().unwrap().outcome.clone();
    assert!(job.starts_with("cancelled"), "{job}");
    let levels = h.state().status.as_ref().unwrap().levels;
    assert!(
        levels.instances > 0 && levels.instances < s.instances,
        "{levels:?}"
    );
    // The index is consistent: re-indexing completes it.
    let engine = Engine::open(&db).unwrap();
    let again = engine
        .index(
            std::slice::from_ref(&dir),
            &Default::default(),
            &Default::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(again.levels.instances, s.instances);
}

#[test]
fn errors_are_shown_and_dismissable() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("not-there");
    let mut h = harness(&tmp.path().join("ws.db"), &missing);
    wait_until(&mut h, "the workspace to load", |a| a.status.is_some());
    h.get_by_label("Open archive…").click();
    wait_until(&mut h, "an error", |a| !a.errors.is_empty());
    h.get_by_label_contains("does not exist");
    h.get_by_label("Dismiss").click();
    wait_until(&mut h, "the error to go", |a| a.errors.is_empty());
    assert!(h.query_by_label_contains("does not exist").is_none());
}

#[test]
fn keyboard_shortcut_opens_the_picker_and_preferences_persist() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    archive(&dir, 2, false);
    let mut h = harness(&tmp.path().join("ws.db"), &dir);
    wait_until(&mut h, "the workspace to load", |a| a.status.is_some());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    wait_until(&mut h, "indexing via Ctrl+O", |a| {
        a.index.is_some() || a.status.as_ref().is_some_and(|s| !s.roots.is_empty())
    });
    wait_until(&mut h, "idle", idle);
    assert_eq!(h.state().prefs.recent.len(), 1, "the archive is remembered");
    let saved = ron_roundtrip(&h.state().prefs);
    assert_eq!(saved.recent, h.state().prefs.recent);
}

fn ron_roundtrip(p: &super::state::Prefs) -> super::state::Prefs {
    let json = serde_json::to_string(p).unwrap();
    serde_json::from_str(&json).unwrap()
}

#[test]
fn reindex_is_one_click_and_remove_asks_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    let s = archive(&dir, 3, false);
    let mut h = harness(&tmp.path().join("ws.db"), &dir);
    open_and_index(&mut h);
    std::fs::remove_dir_all(dir.join("faults")).ok();
    h.get_by_label("Re-index").click();
    wait_until(&mut h, "re-index to start", |a| {
        a.index.is_some() || a.jobs.len() > 1
    });
    wait_until(&mut h, "re-index to finish", idle);
    assert_eq!(h.state().jobs.len(), 2);
    assert!(
        h.state().jobs[1]
            .outcome
            .contains(&format!("{} files", s.files)),
        "{}",
        h.state().jobs[1].outcome
    );
    h.get_by_label("Remove").click();
    wait_until(&mut h, "the question", |a| a.confirm.is_some());
    h.run_steps(2);
    h.get_by_label("Remove archive").click();
    wait_until(&mut h, "the archive to go", |a| {
        idle(a) && a.status.as_ref().is_some_and(|s| s.roots.is_empty())
    });
    assert_eq!(h.state().status.as_ref().unwrap().levels.instances, 0);
    assert!(dir.exists(), "files on disk untouched");
    assert!(h.state().jobs.iter().any(|j| j.title.starts_with("Remove")));
}

#[test]
fn the_cohort_builder_counts_live_and_saves() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    archive(&dir, 30, false);
    let db = tmp.path().join("ws.db");
    let mut h = harness(&db, &dir);
    open_and_index(&mut h);
    h.get_by_label("Cohort builder").click();
    wait_until(
        &mut h,
        "the whole-index count",
        |a| matches!(&a.cohort_counts, Some(Ok(c)) if c.attrition.is_empty()),
    );
    h.get_by_label("Add rule").click();
    h.run_steps(2);
    h.get_by_label("Modality").click();
    wait_until(&mut h, "a count with one rule", |a| {
        !a.queries_busy() && matches!(&a.cohort_counts, Some(Ok(c)) if c.attrition.len() == 1)
    });
    let engine = Engine::open(&db).unwrap();
    let draft = h.state().prefs.cohort_draft.clone().unwrap();
    let expected = engine.cohort_count(&draft).unwrap();
    let Some(Ok(shown)) = &h.state().cohort_counts else {
        panic!("no counts")
    };
    assert_eq!(shown, &expected);
    assert!(expected.levels.studies > 0 && expected.levels.studies < expected.population);
    // Once the column engine is built the same count comes from memory,
    // and the label beside the count says so.
    wait_until(&mut h, "a count from memory", |a| {
        a.cohort_evaluator == Some(pacs_cohort::engine::Evaluator::Memory)
    });
    h.run_steps(2);
    h.get_by_label("memory");
    assert_eq!(
        h.state().cohort_counts.as_ref().unwrap().as_ref().unwrap(),
        &expected
    );
    // The JSON view follows the rules.
    assert!(h.state().cohort_json.contains("\"modality\""));
    h.get_by_label("Save").click();
    wait_until(&mut h, "the saved cohort", |a| {
        a.saved_cohorts.iter().any(|c| c.name == "new cohort")
    });
    assert_eq!(
        engine.cohort("new cohort", None).unwrap().spec.rules.len(),
        1
    );
}

#[test]
fn aggregate_only_mode_hides_rows_and_suppresses_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    archive(&dir, 10, false);
    let (db, engine) = indexed(tmp.path(), &dir);
    engine
        .set_privacy(pacs_cohort::Privacy {
            aggregate_only: true,
            release_threshold: 10,
        })
        .unwrap();
    let mut h = harness(&db, &dir);
    wait_until(&mut h, "the workspace to load", |a| {
        a.status.is_some() && idle(a)
    });
    assert!(
        h.state().studies.is_empty(),
        "no rows in aggregate-only mode"
    );
    h.get_by_label_contains("aggregate-only mode");
    h.get_by_label("Cohort builder").click();
    wait_until(&mut h, "counts", |a| {
        matches!(&a.cohort_counts, Some(Ok(_)))
    });
    h.run_steps(2);
    h.get_by_label_contains("Aggregate-only workspace: counts 1..10");
}

#[test]
fn clinical_data_is_imported_through_the_preview_dialog() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    archive(&dir, 6, false);
    let (db, engine) = indexed(tmp.path(), &dir);
    let ids: Vec<String> = engine
        .studies(&Default::default())
        .unwrap()
        .into_iter()
        .map(|s| s.patient_id)
        .collect();
    let mut csv = String::from("patient_id,packs_per_year\n");
    for id in &ids {
        csv.push_str(&format!("{id},12\n"));
    }
    let file = tmp.path().join("smoking.csv");
    std::fs::write(&file, csv).unwrap();
    let mut h = harness_with_csv(&db, &dir, Some(file));
    wait_until(&mut h, "the workspace to load", |a| a.status.is_some());
    h.get_by_label("Cohort builder").click();
    h.run_steps(2);
    h.get_by_label("Import clinical data…").click();
    wait_until(&mut h, "the preview dialog", |a| a.ehr_dialog.is_some());
    h.run_steps(2);
    h.get_by_label("packs_per_year");
    h.get_by_label("Issuer of the patient ID in column");
    assert_eq!(h.state().ehr_dialog.as_ref().unwrap().name, "smoking");
    assert_eq!(
        h.state().ehr_dialog.as_ref().unwrap().key_column,
        "patient_id"
    );
    h.get_by_label("Import").click();
    wait_until(&mut h, "the import", |a| a.ehr_dialog.is_none() && idle(a));
    assert!(h.state().jobs.iter().any(|j| j.title.contains("smoking")));
    let sets = engine.ehr_datasets().unwrap();
    assert_eq!(sets.len(), 1);
    let packs = sets[0]
        .2
        .iter()
        .find(|c| c.name == "packs_per_year")
        .unwrap();
    assert_eq!(packs.kind, pacs_cohort::model::EhrKind::Number);
}

#[test]
fn a_saved_cohort_exports_from_the_dialog_with_progress_and_the_gate_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, mut h) = with_saved_new_cohort(tmp.path(), 6);
    h.run_steps(2);
    h.get_by_label("Export…").click();
    wait_until(&mut h, "the export dialog and its mask count", |a| {
        a.export_dialog.as_ref().is_some_and(|d| d.masks.is_some())
    });
    h.run_steps(3);
    h.get_by_label_contains("No pixel masks are recorded");
    // Write next to the archive (the picker's answer), into a new folder.
    h.get_by_label("Choose…").click();
    wait_until(&mut h, "the chosen folder", |a| {
        a.export_dialog
            .as_ref()
            .is_some_and(|d| d.picking.is_none() && d.parent == tmp.path().display().to_string())
    });
    let out = tmp.path().join("new_cohort-deid");
    assert_eq!(h.state().export_dialog.as_ref().unwrap().out(), out);
    let table = tmp.path().join("broker.csv");
    let field = h.get_by_label("Re-identification table");
    field.click();
    field.type_text(table.to_str().unwrap());
    // The worker checks the folders (the UI thread touches no files).
    wait_until(&mut h, "the folder check", |a| {
        a.export_dialog
            .as_ref()
            .is_some_and(|d| d.problem().is_none())
    });
    h.get_by_label("Export").click();
    // A small export can start and end between two frames.
    wait_until(&mut h, "the export to start", |a| {
        a.export_running()
            || a.export_dialog
                .as_ref()
                .is_some_and(|d| d.outcome.is_some())
    });
    wait_until(&mut h, "the export to end", |a| {
        !a.export_running()
            && a.export_dialog
                .as_ref()
                .is_some_and(|d| d.outcome.is_some())
    });
    let d = h.state().export_dialog.as_ref().unwrap();
    let Some(super::export_job::ExportOutcome::Finished(r)) = &d.outcome else {
        panic!("{:?}", d.outcome)
    };
    assert!(r.complete && r.findings.is_empty(), "{r:?}");
    assert!(out.join("manifest.csv").exists());
    let text = std::fs::read_to_string(&table).unwrap();
    assert!(text.starts_with("# RE-IDENTIFICATION TABLE"), "{text}");
    h.get_by_label_contains("scan: no residual PHI");
    let job = h
        .state()
        .jobs
        .iter()
        .find(|j| j.title == "Export 'new cohort'")
        .unwrap();
    assert!(!job.running && job.outcome.contains("no residual PHI"));
    // The next export suggests a new folder: exports never overwrite.
    wait_until(&mut h, "a new folder name", |a| {
        a.export_dialog
            .as_ref()
            .is_some_and(|d| d.folder_name == "new_cohort-deid-2")
    });
}

#[test]
fn two_saved_cohorts_are_compared_in_the_builder() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, mut h) = with_saved_new_cohort(tmp.path(), 30);
    h.get_by_label("Duplicate").click();
    wait_until(&mut h, "the copy", |a| {
        a.saved_cohorts.iter().any(|c| c.name == "new cohort copy")
    });
    h.get_by_label("Add rule").click();
    h.run_steps(2);
    h.get_by_label("Modality").click();
    h.run_steps(2);
    h.get_by_label("Save").click();
    wait_until(&mut h, "the copy with its rule", |a| {
        a.saved_cohorts
            .iter()
            .any(|c| c.name == "new cohort copy" && c.spec.rules.len() == 1)
    });
    h.run_steps(2);
    h.get_by_label("Compare with");
    h.get_by_value("choose…").click();
    h.run_steps(2);
    h.get_by_label("new cohort").click();
    wait_until(
        &mut h,
        "the comparison",
        |a| matches!(&a.comparison, Some(c) if matches!(c.result, Some(Ok(_)))),
    );
    let engine = Engine::open(&db).unwrap();
    let (a, b) = (
        engine.cohort("new cohort copy", None).unwrap(),
        engine.cohort("new cohort", None).unwrap(),
    );
    let expected = engine.compare_cohorts(&a.spec, &b.spec).unwrap();
    let Some(Ok(shown)) = h
        .state()
        .comparison
        .as_ref()
        .and_then(|c| c.result.as_ref())
    else {
        unreachable!()
    };
    assert_eq!(shown, &expected);
    assert_eq!(expected.only_a_patients, 0, "the copy is a subset");
    assert!(expected.only_b_patients > 0 && expected.both_patients > 0);
    h.run_steps(2);
    h.get_by_label("Only in new cohort");
    let shown_number = expected.only_b_studies.to_string();
    assert!(h.query_all_by_label(&shown_number).count() >= 1);
}

#[test]
fn after_new_the_rename_button_cannot_rename_the_cohort_loaded_before() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, mut h) = with_saved_new_cohort(tmp.path(), 4);
    h.run_steps(2);
    h.get_by_label("New").click();
    h.run_steps(2);
    let name = h.get_by_label("Name");
    name.click();
    name.type_text(" 2");
    h.run_steps(3);
    assert!(
        h.query_by_label("Rename").is_none(),
        "a new draft offers no Rename of 'new cohort'"
    );
    let saved: Vec<String> = Engine::open(&db)
        .unwrap()
        .cohorts()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(saved, ["new cohort"]);
}

#[test]
fn deleting_a_cohort_and_removing_an_archive_ask_first() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, mut h) = with_saved_new_cohort(tmp.path(), 4);
    let engine = Engine::open(&db).unwrap();
    h.run_steps(2);
    h.get_by_label("Delete").click();
    h.run_steps(3);
    assert!(h.state().confirm.is_some(), "a question, not a deletion");
    h.get_by_label("Cancel").click();
    h.run_steps(3);
    assert!(h.state().confirm.is_none());
    assert_eq!(engine.cohorts().unwrap().len(), 1, "Cancel keeps it");
    h.get_by_label("Delete").click();
    h.run_steps(3);
    h.get_by_label_contains("Every saved revision");
    h.get_by_label("Delete cohort").click();
    wait_until(&mut h, "the deletion", |a| {
        a.confirm.is_none() && a.saved_cohorts.is_empty()
    });
    assert!(engine.cohorts().unwrap().is_empty());

    h.get_by_label("Remove").click();
    h.run_steps(3);
    assert!(h.state().confirm.is_some());
    h.get_by_label_contains("files on disk are not touched");
    h.get_by_label("Cancel").click();
    h.run_steps(3);
    assert!(
        !engine.status().unwrap().roots.is_empty(),
        "Cancel keeps the archive"
    );
}

#[test]
fn an_edited_draft_is_marked_and_not_discarded_without_asking_and_the_json_follows_the_opened_cohort(
) {
    let tmp = tempfile::tempdir().unwrap();
    let (_, mut h) = with_saved_new_cohort(tmp.path(), 4);
    h.run_steps(2);
    assert!(h.query_by_label_contains("modified").is_none());
    let edited = pacs_cohort::cohort::parse_spec(
        r#"{"schema_version":1,"name":"new cohort","rules":[{"name":"CT","criterion":{"modality":["CT"]}}]}"#,
    )
    .unwrap();
    h.state_mut().prefs.cohort_draft = Some(edited.clone());
    h.run_steps(3);
    h.get_by_label_contains("modified");
    // The JSON editor, edited by hand and not applied.
    h.state_mut().cohort_json = "{\"stale\": true}".into();
    h.run_steps(2);
    h.get_by_label_contains("Edited by hand and not applied");
    h.get_by_label("Open saved").click();
    h.run_steps(2);
    h.get_by_label("new cohort (rev 1)").click();
    h.run_steps(3);
    assert!(h.state().confirm.is_some(), "asked before discarding");
    h.get_by_label("Cancel").click();
    h.run_steps(3);
    assert_eq!(h.state().prefs.cohort_draft.as_ref(), Some(&edited), "kept");
    h.get_by_label("Open saved").click();
    h.run_steps(2);
    h.get_by_label("new cohort (rev 1)").click();
    h.run_steps(3);
    h.get_by_label("Discard and open").click();
    h.run_steps(4);
    let app = h.state();
    assert!(app.prefs.cohort_draft.as_ref().unwrap().rules.is_empty());
    assert!(
        !app.cohort_json.contains("stale"),
        "the JSON view shows the opened cohort: {}",
        app.cohort_json
    );
}

#[test]
fn the_study_search_matches_words_in_any_order_and_case_and_the_hint_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    archive(&dir, 20, false);
    let (db, engine) = indexed(tmp.path(), &dir);
    let uids = |rows: &[pacs_cohort::model::StudyRow]| {
        let mut u: Vec<String> = rows.iter().map(|r| r.study_uid.clone()).collect();
        u.sort();
        u
    };
    let phrase = uids(
        &engine
            .studies(&pacs_cohort::model::StudyQuery {
                text: "CT CHEST".into(),
                ..Default::default()
            })
            .unwrap(),
    );
    assert!(!phrase.is_empty(), "the archive has chest CTs");
    let mut h = harness(&db, &dir);
    wait_until(&mut h, "the studies", |a| idle(a) && !a.studies.is_empty());

    // The hint says how the search matches, and fits in the box.
    let hint = {
        use egui_kittest::kittest::NodeT;
        let search = h.get_by_label("Search");
        let hint = search.accesskit_node().placeholder().unwrap().to_string();
        let font = egui::TextStyle::Body.resolve(&h.ctx.global_style());
        let width = h.ctx.fonts_mut(|f| {
            f.layout_no_wrap(hint.clone(), font, egui::Color32::WHITE)
                .size()
                .x
        });
        assert!(search.rect().width() >= width, "{hint:?} is cut off");
        hint
    };
    assert!(
        hint.contains("words in any order") && hint.contains("any case"),
        "{hint}"
    );

    // Lower case, the other order: the studies of "CT CHEST".
    let search = h.get_by_label("Search");
    search.click();
    search.type_text("chest ct");
    wait_until(&mut h, "the search", |a| a.filter == "chest ct" && idle(a));
    assert_eq!(uids(&h.state().studies), phrase);
    h.get_by_label(&format!("{} studies", phrase.len()));
}

#[test]
fn the_study_list_shows_the_first_studies_counted_while_indexing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    archive(&dir, 4, false);
    let db = tmp.path().join("ws.db");
    let mut h = harness(&db, &dir);
    wait_until(&mut h, "the empty workspace", |a| {
        a.status.is_some() && idle(a)
    });
    assert!(h.state().studies.is_empty());
    // Studies are written while the app's index job runs; a write lock
    // keeps that job running (it waits for the lock) as long as the test
    // needs, as a large archive would.
    let engine = Engine::open(&db).unwrap();
    engine
        .index(
            std::slice::from_ref(&dir),
            &Default::default(),
            &Default::default(),
            &mut |_| {},
        )
        .unwrap();
    let n = engine.status().unwrap().levels.studies;
    assert!(n > 0);
    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    h.get_by_label("Open archive…").click();
    wait_until(&mut h, "indexing to start", |a| a.index.is_some());
    wait_until(&mut h, "counts with the studies", |a| {
        a.status.as_ref().is_some_and(|s| s.levels.studies == n)
    });
    // Before the next live refresh of the list (5 s), the table lists them.
    wait_until(&mut h, "the queries", |a| !a.queries_busy());
    assert!(h.state().index.is_some(), "still indexing");
    assert_eq!(h.state().studies.len() as u64, n);
    h.get_by_label(&format!("{n} studies"));
    lock.execute_batch("ROLLBACK").unwrap();
    wait_until(&mut h, "indexing to finish", idle);
    assert!(
        h.state()
            .jobs
            .last()
            .is_some_and(|j| !j.outcome.contains("failed")),
        "{:?}",
        h.state().jobs.last().map(|j| &j.outcome)
    );
}

/// eframe's preferences storage, in memory (per user, shared by workspaces).
#[derive(Default)]
struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn the_sample_and_the_draft_belong_to_a_workspace_not_to_the_user() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = tmp.path().join("sample");
    let s = archive(&sample, 3, false);
    // The user's preferences, saved by a first workspace that was offered
    // the sample and left a draft.
    let mut storage = MemoryStorage::default();
    {
        let first = tmp.path().join("first.db");
        let engine = Engine::open(&first).unwrap();
        let picker = Arc::new(FakePicker(sample.clone(), None));
        let sample = sample.clone();
        let mut h = Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .build_eframe(move |cc| PacsApp::new(&cc.egui_ctx, None, engine, picker, Some(sample)));
        wait_until(&mut h, "the sample indexed", |a| {
            idle(a) && a.status.as_ref().is_some_and(|s| s.levels.instances > 0)
        });
        h.state_mut().prefs.cohort_draft = Some(
            pacs_cohort::cohort::parse_spec(
                r#"{"schema_version":1,"name":"first's draft","rules":[]}"#,
            )
            .unwrap(),
        );
        eframe::App::save(h.state_mut(), &mut storage);
    }
    // A second, empty workspace opened with --sample gets the sample too,
    // and not the first workspace's draft.
    let second = tmp.path().join("second.db");
    let engine = Engine::open(&second).unwrap();
    let picker = Arc::new(FakePicker(sample.clone(), None));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            PacsApp::new(&cc.egui_ctx, Some(&storage), engine, picker, Some(sample))
        });
    wait_until(&mut h, "the sample indexed in the second workspace", |a| {
        idle(a)
            && a.status
                .as_ref()
                .is_some_and(|st| st.levels.instances == s.instances)
    });
    assert_ne!(h.state_mut().draft().name, "first's draft");
}

/// A system without any dialog program: every dialog answers at once.
struct NoDialog;

impl FolderPicker for NoDialog {
    fn pick_folder(&self) -> Option<PathBuf> {
        None
    }
    fn pick_csv(&self) -> Option<PathBuf> {
        None
    }
    fn pick_export_parent(&self) -> Option<PathBuf> {
        None
    }
}

#[test]
fn without_a_dialog_program_the_app_says_so_and_a_typed_path_opens_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    let s = archive(&dir, 3, false);
    let engine = Engine::open(tmp.path().join("ws.db")).unwrap();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| PacsApp::new(&cc.egui_ctx, None, engine, Arc::new(NoDialog), None));
    wait_until(&mut h, "the workspace to load", |a| a.status.is_some());
    h.get_by_label("Open archive…").click();
    wait_until(&mut h, "the explanation", |a| {
        a.errors.iter().any(|e| e.contains("dialog did not open"))
    });
    let field = h.get_by_label("or path");
    field.click();
    field.type_text(dir.to_str().unwrap());
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "the typed archive indexed", |a| {
        idle(a)
            && a.status
                .as_ref()
                .is_some_and(|st| st.levels.instances == s.instances)
    });
}

/// Clicks "Add rule" and the menu entry `label`.
fn add_rule(h: &mut Harness<'static, PacsApp>, label: &str) {
    h.get_by_label("Add rule").click();
    h.run_steps(2);
    h.get_by_label(label).click();
    h.run_steps(2);
}

/// Waits until the shown counts are those of the draft as it is now, and
/// checks them against the library's own count of it.
fn counts_of_the_draft(
    h: &mut Harness<'static, PacsApp>,
    db: &Path,
) -> pacs_cohort::model::CohortCounts {
    wait_until(h, "the counts of the draft", |a| {
        !a.queries_busy()
            && matches!(&a.cohort_counts, Some(Ok(c))
                if c.attrition.len() == a.prefs.cohort_draft.as_ref().map_or(0, |d| d.rules.len()))
    });
    let draft = h.state().prefs.cohort_draft.clone().unwrap();
    let expected = Engine::open(db).unwrap().cohort_count(&draft).unwrap();
    let Some(Ok(shown)) = &h.state().cohort_counts else {
        panic!("no counts")
    };
    assert_eq!(shown, &expected);
    expected
}

/// A picker's entry: the value and its study count, marked like the table.
fn value_label(v: &pacs_cohort::model::ValueCount) -> String {
    if (1..=10).contains(&v.count) {
        format!("{} ({}*)", v.value, v.count)
    } else {
        format!("{} ({})", v.value, v.count)
    }
}

#[test]
fn a_modality_is_picked_from_the_values_in_the_index_and_invalid_dates_are_refused() {
    use egui::accesskit::Role;
    use pacs_cohort::model::{Criterion, DateRange, ValueField};
    let tmp = tempfile::tempdir().unwrap();
    let (db, mut h) = with_saved_new_cohort(tmp.path(), 30);
    let engine = Engine::open(&db).unwrap();
    add_rule(&mut h, "Modality");
    let with_ct = counts_of_the_draft(&mut h, &db);

    // The picker lists the index's modalities with their study counts.
    let values = engine.distinct_values(&ValueField::Modality).unwrap();
    let ct = values.iter().find(|v| v.value == "CT").unwrap();
    let mr = values.iter().find(|v| v.value == "MR").unwrap();
    h.get_by_role_and_label(Role::ComboBox, "Modality is one of")
        .click();
    wait_until(&mut h, "the modality values", |a| {
        a.value_lists.contains_key(&ValueField::Modality)
    });
    h.run_steps(3);
    for v in &values {
        h.get_by_label(&value_label(v));
    }
    // Tick MR, untick CT.
    h.get_by_label(&value_label(mr)).click();
    h.run_steps(2);
    h.get_by_label(&value_label(ct)).click();
    h.run_steps(2);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    let rule = &h.state().prefs.cohort_draft.as_ref().unwrap().rules[0];
    assert_eq!(rule.criterion, Criterion::Modality(vec!["MR".into()]));
    let with_mr = counts_of_the_draft(&mut h, &db);
    assert_ne!(with_mr, with_ct);
    // The count beside the value is the count of the cohort it picks.
    assert_eq!(with_mr.levels.studies, mr.count);
    assert_eq!(with_ct.levels.studies, ct.count);

    // A date that is not one is refused at once and not counted.
    add_rule(&mut h, "Study date");
    counts_of_the_draft(&mut h, &db);
    let dates = |a: &PacsApp| match &a.prefs.cohort_draft.as_ref().unwrap().rules[1].criterion {
        Criterion::StudyDate(d) => d.clone(),
        other => panic!("{other:?}"),
    };
    let from = h.get_by_role_and_label(Role::TextInput, "from");
    from.click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "from")
        .type_text("2020-13-45");
    h.run_steps(3);
    h.get_by_label_contains("'2020-13-45' is not a date");
    assert_eq!(
        dates(h.state()),
        DateRange {
            from: Some("2020-01-01".into()),
            to: Some("2024-12-31".into())
        }
    );
    counts_of_the_draft(&mut h, &db);
    // A valid date is taken; a start after the end is refused.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "from")
        .type_text("2021-06-30");
    h.run_steps(3);
    assert_eq!(dates(h.state()).from.as_deref(), Some("2021-06-30"));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "from")
        .type_text("2025-01-01");
    h.run_steps(3);
    h.get_by_label_contains("2025-01-01 is after 2024-12-31");
    assert_eq!(dates(h.state()).from.as_deref(), Some("2021-06-30"));
    counts_of_the_draft(&mut h, &db);
}

#[test]
fn groups_an_index_event_and_a_follow_up_window_are_built_by_clicking() {
    use egui::accesskit::Role;
    use pacs_cohort::model::{Criterion, FollowUp};
    let tmp = tempfile::tempdir().unwrap();
    let (db, mut h) = with_saved_new_cohort(tmp.path(), 30);
    let ct = || Criterion::Modality(vec!["CT".into()]);

    // Any of: CT, or (all of: female).
    add_rule(&mut h, "Group: any of");
    h.get_by_label("Add condition").click();
    h.run_steps(2);
    h.get_by_label("Modality").click();
    h.run_steps(2);
    h.get_by_label("Add condition").click();
    h.run_steps(2);
    h.get_by_label("Group: all of").click();
    h.run_steps(2);
    // The inner group's button comes first.
    h.get_all_by_label("Add condition").next().unwrap().click();
    h.run_steps(2);
    h.get_by_label("Sex").click();
    h.run_steps(2);
    counts_of_the_draft(&mut h, &db);

    // The index event and a follow-up CT 180 to 365 days later.
    add_rule(&mut h, "Index event: first matching study");
    add_rule(&mut h, "Follow-up window");
    let to = h.get_by_role_and_label(Role::TextInput, "to");
    to.click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "to")
        .type_text("365");
    h.run_steps(3);
    // The event is the last, not the first, matching study.
    h.get_by_role_and_label(Role::ComboBox, "Index event: the patient's")
        .click();
    h.run_steps(2);
    h.get_by_label("last").click();
    h.run_steps(2);

    let rules: Vec<(String, Criterion)> = h
        .state()
        .prefs
        .cohort_draft
        .as_ref()
        .unwrap()
        .rules
        .iter()
        .map(|r| (r.name.clone(), r.criterion.clone()))
        .collect();
    assert_eq!(
        rules,
        vec![
            (
                "any of".to_string(),
                Criterion::Any(vec![
                    ct(),
                    Criterion::All(vec![Criterion::Sex(vec!["F".into()])])
                ])
            ),
            ("index event".to_string(), Criterion::LastOf(Box::new(ct()))),
            (
                "follow-up".to_string(),
                Criterion::FollowUp(FollowUp {
                    min_days: Some(180.0),
                    max_days: Some(365.0),
                    criterion: Box::new(ct()),
                })
            ),
        ]
    );
    let counts = counts_of_the_draft(&mut h, &db);
    assert!(counts.population > 0 && counts.attrition.len() == 3);
    // The funnel is labelled: each rule with what remains and what it removed.
    for (i, step) in counts.attrition.iter().enumerate() {
        h.get_by_label(&format!("{}. {}", i + 1, step.rule));
    }
    let last = counts.attrition.last().unwrap();
    let mark = |n: u64| {
        if (1..=10).contains(&n) {
            format!("{n}*")
        } else {
            n.to_string()
        }
    };
    h.get_by_label(&format!(
        "{} remain, {} removed",
        mark(last.remaining),
        mark(last.removed)
    ));
    // The JSON view follows the rules built by clicking.
    let json = h.state().cohort_json.clone();
    let shown: pacs_cohort::model::CohortSpec = serde_json::from_str(&json).unwrap();
    assert_eq!(&shown, h.state().prefs.cohort_draft.as_ref().unwrap());
    assert!(
        json.contains("\"last_of\"") && json.contains("\"follow_up\"") && json.contains("\"any\"")
    );
}

#[test]
fn the_export_dialog_notices_a_folder_created_after_it_said_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, mut h) = with_saved_new_cohort(tmp.path(), 3);
    h.run_steps(2);
    h.get_by_label("Export…").click();
    wait_until(&mut h, "the export dialog", |a| a.export_dialog.is_some());
    let later = tmp.path().join("made-later");
    h.state_mut().export_dialog.as_mut().unwrap().parent = later.display().to_string();
    wait_until(&mut h, "the worker's verdict", |a| {
        a.export_dialog
            .as_ref()
            .and_then(|d| d.problem())
            .is_some_and(|p| p.contains("does not exist"))
    });
    h.get_by_label_contains("does not exist");
    std::fs::create_dir(&later).unwrap();
    // Nothing typed: the dialog asks again by itself.
    wait_until(&mut h, "the problem to clear", |a| {
        a.export_dialog
            .as_ref()
            .is_some_and(|d| d.problem().is_none())
    });
    assert!(h.query_by_label_contains("does not exist").is_none());
}

/// Puts one file's Patient ID into its Manufacturer (kept verbatim by the
/// profile): the export's gate must find it.
fn plant_id_in_manufacturer(dir: &Path) {
    use dicom_dictionary_std::tags;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(mut obj) = dicom_object::open_file(&p) else {
                continue;
            };
            let Some(id) = obj
                .element(tags::PATIENT_ID)
                .ok()
                .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
            else {
                continue;
            };
            obj.put(dicom_core::DataElement::new(
                tags::MANUFACTURER,
                dicom_core::VR::LO,
                dicom_core::PrimitiveValue::from(id),
            ));
            obj.write_to_file(&p).unwrap();
            return;
        }
    }
    panic!("no DICOM file to plant into");
}

#[test]
fn a_finding_is_waived_in_the_dialog_and_the_next_export_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    archive(&dir, 3, false);
    plant_id_in_manufacturer(&dir);
    let mut h = harness(&tmp.path().join("ws.db"), &dir);
    open_and_index(&mut h);
    h.get_by_label("Cohort builder").click();
    h.run_steps(2);
    h.get_by_label("Save").click();
    wait_until(&mut h, "the saved cohort", |a| !a.saved_cohorts.is_empty());
    h.get_by_label("Export…").click();
    wait_until(&mut h, "the export dialog", |a| a.export_dialog.is_some());
    h.state_mut().export_dialog.as_mut().unwrap().parent = tmp.path().display().to_string();
    let export = |h: &mut Harness<'static, PacsApp>| {
        wait_until(h, "the folder check", |a| {
            a.export_dialog
                .as_ref()
                .is_some_and(|d| d.problem().is_none())
        });
        // The previous run's outcome goes when the new one starts.
        h.state_mut().export_dialog.as_mut().unwrap().outcome = None;
        h.get_by_label("Export").click();
        wait_until(h, "the export's end", |a| {
            !a.export_running()
                && a.export_dialog
                    .as_ref()
                    .is_some_and(|d| d.outcome.is_some())
        });
        let d = h.state().export_dialog.as_ref().unwrap();
        match &d.outcome {
            Some(super::export_job::ExportOutcome::Finished(r)) => (**r).clone(),
            other => panic!("{other:?}"),
        }
    };
    let first = export(&mut h);
    assert!(!first.complete && !first.findings.is_empty(), "{first:?}");
    let field = h.get_by_label("Reason to waive");
    field.click();
    field.type_text("vendor string equal to an MRN by chance, checked by the privacy officer");
    h.run_steps(2);
    while let Some(button) = h.query_by_label("Waive") {
        button.click();
        h.run_steps(2);
    }
    assert_eq!(
        h.state().export_dialog.as_ref().unwrap().waivers.len(),
        first.findings.len()
    );
    let second = export(&mut h);
    assert!(second.complete, "{second:?}");
    assert_eq!(second.waived.len(), first.findings.len());
    h.get_by_label_contains("waived by a reviewer");
}

// ---------------------------------------------------------------------
// Images (#11): the viewer, masks drawn in it, the review queue.

use super::imaging::viewer::Mode;
use egui::{Event, PointerButton, Pos2};

fn pointer(h: &mut Harness<'static, PacsApp>, pos: Pos2, button: PointerButton, pressed: bool) {
    h.event(Event::PointerMoved(pos));
    h.event(Event::PointerButton {
        pos,
        button,
        pressed,
        modifiers: egui::Modifiers::NONE,
    });
    h.step();
}

/// Presses `button` at `from`, moves to `to` in a few steps, releases.
fn drag(h: &mut Harness<'static, PacsApp>, from: Pos2, to: Pos2, button: PointerButton) {
    h.event(Event::PointerMoved(from));
    h.step();
    pointer(h, from, button, true);
    for i in 1..=4 {
        h.event(Event::PointerMoved(from + (to - from) * (i as f32 / 4.0)));
        h.step();
    }
    pointer(h, to, button, false);
}

/// An indexed archive, the app on it, and the viewer open (by a
/// double-click on the first study's series with the most images).
fn viewer_on_a_series(dir: &Path) -> (Engine, Harness<'static, PacsApp>, String) {
    let archive_dir = dir.join("archive");
    archive(&archive_dir, 3, false);
    let (db, engine) = indexed(dir, &archive_dir);
    let mut h = harness(&db, &archive_dir);
    wait_until(&mut h, "the studies", |a| !a.studies.is_empty() && idle(a));
    // A CT or MR study (several images per series).
    let study = h
        .state()
        .studies
        .iter()
        .find(|s| s.instance_count > s.series_count)
        .expect("a study with a multi-image series")
        .clone();
    h.get_all_by_label(&study.patient_id)
        .next()
        .unwrap()
        .click();
    wait_until(&mut h, "the series", |a| {
        a.selected_study.as_ref() == Some(&study.study_uid) && !a.series.is_empty() && idle(a)
    });
    let series = h
        .state()
        .series
        .iter()
        .max_by_key(|s| s.instance_count)
        .unwrap()
        .clone();
    let label = series.description.clone().expect("a series description");
    let at = h.get_by_label(&label).rect().center();
    // A click selects the row, Enter opens it (a double-click too: seen
    // under Xvfb; kittest's synthetic double-click did not register).
    pointer(&mut h, at, PointerButton::Primary, true);
    pointer(&mut h, at, PointerButton::Primary, false);
    assert_eq!(
        h.state().imaging.selected_series.as_ref(),
        Some(&series.series_uid)
    );
    h.key_press(egui::Key::Enter);
    h.step();
    assert!(h.state().imaging.viewer.is_some(), "Enter opens the viewer");
    wait_until(&mut h, "the decoded image", |a| {
        a.imaging
            .viewer
            .as_ref()
            .is_some_and(|v| matches!(v.decoded(), Some(Ok(_))) && v.image_rect.is_some())
    });
    (engine, h, series.series_uid)
}

#[test]
fn the_viewer_opens_a_series_and_a_right_drag_changes_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let (_engine, mut h, uid) = viewer_on_a_series(tmp.path());
    let v = h.state().imaging.viewer.as_ref().unwrap();
    assert_eq!(v.series_uid, uid);
    let before = v.window.expect("a first window");
    let rect = v.image_rect.unwrap();
    // Right-drag: right widens the window, down raises the center.
    drag(
        &mut h,
        rect.center(),
        rect.center() + egui::vec2(80.0, 40.0),
        PointerButton::Secondary,
    );
    let after = h.state().imaging.viewer.as_ref().unwrap().window.unwrap();
    assert!(after.width > before.width, "{before:?} -> {after:?}");
    assert!(after.center > before.center, "{before:?} -> {after:?}");
    assert_eq!(h.state().imaging.viewer.as_ref().unwrap().preset, "custom");
    // The next image keeps the window; the arrow key steps.
    let index = h.state().imaging.viewer.as_ref().unwrap().index;
    h.key_press(egui::Key::ArrowUp);
    h.step();
    let v = h.state().imaging.viewer.as_ref().unwrap();
    assert_eq!(v.index, index - 1, "the series opens on its middle image");
    assert_eq!(v.window, Some(after));
    // A preset sets the window.
    h.get_by_label_contains("W/L:").click();
    h.run_steps(2);
    h.get_by_label("lung").click();
    h.run_steps(2);
    let v = h.state().imaging.viewer.as_ref().unwrap();
    assert_eq!(v.window, Some(pacs_cohort::preview::PRESETS[0].1));
}

#[test]
fn a_mask_drawn_in_the_viewer_is_recorded_for_every_image_and_burned_into_the_export_view() {
    let tmp = tempfile::tempdir().unwrap();
    let (engine, mut h, uid) = viewer_on_a_series(tmp.path());
    h.key_press(egui::Key::M);
    h.step();
    assert_eq!(h.state().imaging.viewer.as_ref().unwrap().mode, Mode::Mask);
    let rect = h
        .state()
        .imaging
        .viewer
        .as_ref()
        .unwrap()
        .image_rect
        .unwrap();
    // From a quarter in to the middle of the image.
    let from = rect.min + rect.size() * 0.25;
    drag(&mut h, from, rect.center(), PointerButton::Primary);
    let v = h.state().imaging.viewer.as_ref().unwrap();
    assert_eq!(v.drafts.len(), 1, "one rectangle drawn");
    let (frame, _) = v.decoded().unwrap().as_ref().unwrap().clone();
    let drawn = v.draft_rects(frame.columns, frame.rows)[0];
    let (c, r) = (frame.columns, frame.rows);
    // Whole pixels from a quarter to the middle (rounded).
    assert!(
        drawn.x.abs_diff(c / 4) <= 1 && drawn.y.abs_diff(r / 4) <= 1,
        "{drawn:?}"
    );
    assert!(
        drawn.width.abs_diff(c / 4) <= 1 && drawn.height.abs_diff(r / 4) <= 1,
        "{drawn:?}"
    );
    h.get_by_label("Apply to every image of the series").click();
    wait_until(&mut h, "the masks to be recorded", |a| {
        !a.imaging.busy()
            && a.imaging
                .viewer
                .as_ref()
                .is_some_and(|v| v.drafts.is_empty() && !v.masks.0.is_empty())
    });
    let images = engine.series_instances(&uid).unwrap();
    let (masks, templates) = engine.masks().unwrap();
    assert!(templates.is_empty());
    assert_eq!(masks.len(), images.len(), "one rectangle per image");
    for i in &images {
        let m = masks
            .iter()
            .find(|m| m.sop_instance_uid == i.sop_uid)
            .expect("each image masked");
        assert_eq!(m.rect, drawn);
    }
    // The de-identified view (D) shows the rectangle burned in: one fill
    // value where the original has the image's own values.
    let original = frame;
    h.key_press(egui::Key::D);
    wait_until(&mut h, "the de-identified image", |a| {
        a.imaging
            .viewer
            .as_ref()
            .is_some_and(|v| v.deid && matches!(v.decoded(), Some(Ok(_))))
    });
    let v = h.state().imaging.viewer.as_ref().unwrap();
    let (deid, _) = v.decoded().unwrap().as_ref().unwrap().clone();
    let inside = |f: &pacs_cohort::preview::Frame| -> Vec<f32> {
        (drawn.y..drawn.y + drawn.height)
            .flat_map(|y| (drawn.x..drawn.x + drawn.width).map(move |x| (x, y)))
            .map(|(x, y)| f.values[(y * f.columns + x) as usize])
            .collect()
    };
    let masked = inside(&deid);
    assert!(masked.iter().all(|v| *v == masked[0]), "filled");
    let was = inside(&original);
    assert!(
        was.iter().any(|v| *v != was[0]),
        "the source had detail there"
    );
    let outside = (0, 0);
    let (ox, oy) = outside;
    assert_eq!(
        deid.values[(oy * deid.columns + ox) as usize],
        original.values[(oy * original.columns + ox) as usize],
        "outside the mask the pixels are the source's"
    );
    // The recorded mask is listed; removing it goes through the engine.
    h.get_all_by_label("remove").next().unwrap().click();
    wait_until(&mut h, "the mask removed", |a| {
        !a.imaging.busy()
            && a.imaging
                .viewer
                .as_ref()
                .is_some_and(|v| v.masks.0.len() == images.len() - 1)
    });
    assert_eq!(engine.masks().unwrap().0.len(), images.len() - 1);
}

#[test]
fn the_review_queue_approves_and_excludes_by_keyboard_and_records_the_history() {
    use pacs_cohort::model::ReviewState;
    let tmp = tempfile::tempdir().unwrap();
    let archive_dir = tmp.path().join("archive");
    archive(&archive_dir, 2, false);
    let (db, engine) = indexed(tmp.path(), &archive_dir);
    let mut h = harness(&db, &archive_dir);
    wait_until(&mut h, "the workspace", |a| a.status.is_some() && idle(a));
    h.get_by_label("Review").click();
    wait_until(&mut h, "the queue", |a| {
        a.imaging.review.loaded && !a.imaging.review.items.is_empty() && idle(a)
    });
    let first = h.state().imaging.review.items[0].series_uid.clone();
    assert!(h
        .state()
        .imaging
        .review
        .items
        .iter()
        .all(|i| i.state == ReviewState::Unreviewed));
    // A note, then X excludes the selected series (a click on the queue
    // takes the focus from the note field, so the keys go to the queue).
    h.state_mut().prefs.reviewer = "dr test".into();
    h.get_by_label("Note").click();
    h.step();
    h.get_by_label("Note").type_text("a scout");
    h.step();
    let row = h.state().imaging.review.items[0].description.clone();
    h.get_all_by_label(&row).next().unwrap().click();
    h.run_steps(2);
    assert_eq!(h.state().imaging.review.note, "a scout");
    h.key_press(egui::Key::X);
    h.step();
    assert!(h.state().imaging.review.working.is_some(), "X decides");
    wait_until(&mut h, "the exclusion", |a| {
        !a.imaging.review.busy() && a.imaging.review.working.is_none()
    });
    let history = engine.review_history(Some(&first)).unwrap();
    assert_eq!(history.len(), 1, "{:?}", h.state().imaging.review.message);
    assert_eq!(history[0].state, ReviewState::Excluded);
    assert_eq!(history[0].reviewer, "dr test");
    assert_eq!(history[0].note, "a scout");
    // The queue lists it as excluded (after the unreviewed ones); J moves
    // to the next series and A approves it (rendered on the worker).
    wait_until(&mut h, "the queue again", |a| {
        !a.imaging.review.busy()
            && a.imaging
                .review
                .items
                .iter()
                .any(|i| i.series_uid == first && i.state == ReviewState::Excluded)
    });
    let selected = h.state().imaging.review.selected;
    let second = h.state().imaging.review.items[selected].series_uid.clone();
    assert_ne!(second, first, "the selection moved on to the next series");
    h.key_press(egui::Key::J);
    h.key_press(egui::Key::K);
    h.step();
    assert_eq!(h.state().imaging.review.selected, selected);
    h.key_press(egui::Key::A);
    h.step();
    assert!(h.state().imaging.review.working.is_some(), "A decides");
    wait_until(&mut h, "the approval", |a| {
        !a.imaging.review.busy() && a.imaging.review.working.is_none()
    });
    assert!(
        matches!(h.state().imaging.review.message, Some(Ok(_))),
        "{:?}",
        h.state().imaging.review.message
    );
    let options = h.state().prefs.profile.options();
    let items = engine.review_items(None, &options).unwrap();
    let state = |uid: &str| items.iter().find(|i| i.series_uid == uid).unwrap().state;
    assert_eq!(state(&second), ReviewState::Approved);
    assert_eq!(state(&first), ReviewState::Excluded);
    let all = engine.review_history(None).unwrap();
    assert_eq!(all.len(), 2);
    // The history view lists both decisions.
    h.get_by_label("History…").click();
    wait_until(&mut h, "the history", |a| {
        a.imaging.review.history.len() == 2
    });
    h.get_by_label_contains("2 decisions");
    // Exported as CSV (the file dialog answers with a path), owner-only.
    h.get_by_label("Export history as CSV…").click();
    wait_until(&mut h, "the CSV", |a| {
        !a.imaging.review.busy()
            && matches!(&a.imaging.review.message, Some(Ok(m)) if m.contains("history written"))
    });
    let csv = tmp.path().join("review-history.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("excluded") && text.contains("approved") && text.contains("a scout"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&csv).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn an_image_the_stack_cannot_decode_shows_its_reason_in_the_viewer_and_as_a_thumbnail() {
    let tmp = tempfile::tempdir().unwrap();
    // One JPEG-LS image (the stack has no JPEG-LS decoder).
    let archive_dir = tmp.path().join("archive");
    std::fs::create_dir_all(&archive_dir).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/real/MR_small_jpeg_ls_lossless.dcm"),
        archive_dir.join("jls.dcm"),
    )
    .unwrap();
    let (db, engine) = indexed(tmp.path(), &archive_dir);
    let mut h = harness(&db, &archive_dir);
    wait_until(&mut h, "the studies", |a| !a.studies.is_empty() && idle(a));
    let study = h.state().studies[0].clone();
    let series = engine.series(&study.study_uid).unwrap().remove(0);
    h.state_mut().push(super::commands::Command::SelectStudy(
        study.study_uid.clone(),
    ));
    wait_until(&mut h, "its series and thumbnails", |a| {
        !a.series.is_empty() && idle(a)
    });
    h.get_by_label_contains("JPEG-LS");
    h.state_mut().push(super::commands::Command::Imaging(
        super::imaging::Cmd::OpenSeries(series.series_uid.clone(), "jls".into()),
    ));
    wait_until(&mut h, "the placeholder", |a| {
        a.imaging
            .viewer
            .as_ref()
            .is_some_and(|v| matches!(v.decoded(), Some(Err(_))))
    });
    h.get_by_label_contains("cannot be shown");
}

#[test]
fn a_drawn_rectangle_is_moved_resized_and_saved_as_a_device_template() {
    let tmp = tempfile::tempdir().unwrap();
    let (engine, mut h, _uid) = viewer_on_a_series(tmp.path());
    h.get_by_label("Draw masks").click();
    h.step();
    let rect = h
        .state()
        .imaging
        .viewer
        .as_ref()
        .unwrap()
        .image_rect
        .unwrap();
    let at = |fx: f32, fy: f32| rect.min + egui::vec2(rect.width() * fx, rect.height() * fy);
    drag(&mut h, at(0.1, 0.1), at(0.3, 0.3), PointerButton::Primary);
    let first = h.state().imaging.viewer.as_ref().unwrap().drafts[0];
    // Dragging its inside moves it (same size).
    drag(&mut h, at(0.2, 0.2), at(0.4, 0.5), PointerButton::Primary);
    let moved = h.state().imaging.viewer.as_ref().unwrap().drafts[0];
    assert_eq!(h.state().imaging.viewer.as_ref().unwrap().drafts.len(), 1);
    assert!(
        moved.min.x > first.min.x && moved.min.y > first.min.y,
        "{first:?} -> {moved:?}"
    );
    assert!(
        (moved.width() - first.width()).abs() <= 1.0,
        "{first:?} -> {moved:?}"
    );
    // Dragging its bottom-right corner handle resizes it.
    let v = h.state().imaging.viewer.as_ref().unwrap();
    let rect = v.image_rect.unwrap();
    let scale = rect.width() / v.decoded().unwrap().as_ref().unwrap().0.columns as f32;
    let corner = rect.min + moved.max.to_vec2() * scale;
    drag(
        &mut h,
        corner,
        corner + egui::vec2(30.0, 20.0),
        PointerButton::Primary,
    );
    let resized = h.state().imaging.viewer.as_ref().unwrap().drafts[0];
    assert_eq!(resized.min, moved.min, "the opposite corner stays");
    assert!(
        resized.width() > moved.width() && resized.height() > moved.height(),
        "{moved:?} -> {resized:?}"
    );
    // Saved as a template for the image's manufacturer, model and size.
    h.get_by_label("Template").click();
    h.get_by_label("Template").type_text("corner label");
    h.step();
    h.get_by_label("Save as template").click();
    wait_until(&mut h, "the template", |a| {
        !a.imaging.busy()
            && a.imaging
                .viewer
                .as_ref()
                .is_some_and(|v| !v.masks.1.is_empty() && v.drafts.is_empty())
    });
    let v = h.state().imaging.viewer.as_ref().unwrap();
    let (frame, facts) = v.decoded().unwrap().as_ref().unwrap().clone();
    let (_, templates) = engine.masks().unwrap();
    assert_eq!(templates.len(), 1);
    let t = &templates[0];
    assert_eq!(t.name, "corner label");
    assert_eq!(t.device, facts.device);
    assert_eq!(
        (t.device.columns, t.device.rows),
        (frame.columns, frame.rows)
    );
    let r = egui::Rect::from_min_max(resized.min.round(), resized.max.round());
    assert_eq!(
        (t.rect.x, t.rect.y, t.rect.width, t.rect.height),
        (
            r.min.x as u32,
            r.min.y as u32,
            r.width() as u32,
            r.height() as u32
        )
    );
    // Listed with the image's recorded masks, as a template.
    h.get_by_label(&format!(
        "template 'corner label' {},{} {}x{}",
        t.rect.x, t.rect.y, t.rect.width, t.rect.height
    ));
}

/// Waits for the Analyses area's result to come from `spec`.
fn shown_spec_is(
    h: &mut Harness<'static, PacsApp>,
    what: &str,
    done: impl Fn(&pacs_cohort::analysis::AnalysisSpec) -> bool,
) {
    wait_until(h, what, |a| {
        a.analyses.running.is_none()
            && a.analyses
                .shown
                .as_ref()
                .is_some_and(|s| done(&s.result.spec))
    });
}

#[test]
fn the_analyses_area_runs_a_trend_and_a_prevalence_redraws_saves_and_exports() {
    use pacs_cohort::analysis::chart::ChartView;
    use pacs_cohort::analysis::{AnalysisSpec, ResultBody, TimeUnit};
    let tmp = tempfile::tempdir().unwrap();
    let (db, mut h) = with_saved_new_cohort(tmp.path(), 24);
    let engine = Engine::open(&db).unwrap();
    h.get_by_label("Analyses").click();
    // The default form (a yearly trend of all studies) runs by itself.
    shown_spec_is(
        &mut h,
        "the yearly trend",
        |s| matches!(s, AnalysisSpec::Trend(t) if t.time == TimeUnit::Year),
    );
    h.get_by_label("Trend over time");
    let shown = h.state().analyses.shown.as_ref().unwrap();
    // The same numbers as the library computes for the same spec.
    let direct = engine.run_analysis(&shown.result.spec, false).unwrap();
    assert_eq!(shown.result.result, direct.result);
    let ResultBody::Trend(t) = &shown.result.result else {
        panic!("a trend")
    };
    let studies: u64 = t.lines[0].cells.iter().filter_map(|c| c.x).sum();
    assert_eq!(studies + t.undated, engine.status().unwrap().levels.studies);

    // Changing the time unit redraws: a quarterly trend, no Run needed.
    h.get_by_label("quarter").click();
    shown_spec_is(
        &mut h,
        "the quarterly trend",
        |s| matches!(s, AnalysisSpec::Trend(t) if t.time == TimeUnit::Quarter),
    );
    let ResultBody::Trend(t) = &h.state().analyses.shown.as_ref().unwrap().result.result else {
        panic!("a trend")
    };
    assert!(t.lines[0]
        .cells
        .iter()
        .all(|c| c.period.as_deref().is_some_and(|p| p.contains("-Q"))));

    // A prevalence of the cohort among all studies, by age group x sex.
    h.get_by_label("Prevalence").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("choose the outcome").is_some());
    // The outcome combo (the biomarker block below has one too).
    h.get_all_by_value("choose a cohort")
        .next()
        .unwrap()
        .click();
    h.run_steps(2);
    h.get_all_by_label("new cohort").last().unwrap().click();
    h.run_steps(2);
    // Crossed with sex: the first "none" is the second stratum's combo.
    h.get_all_by_value("none").next().unwrap().click();
    h.run_steps(2);
    h.get_by_label("sex").click();
    h.run_steps(2);
    shown_spec_is(
        &mut h,
        "the prevalence",
        |s| matches!(s, AnalysisSpec::Prevalence(p) if p.strata.len() == 2),
    );
    let r = h.state().analyses.shown.as_ref().unwrap().result.clone();
    let ResultBody::Prevalence(p) = &r.result else {
        panic!("a prevalence")
    };
    // Every study is in the cohort of all studies: 100% in every stratum.
    assert!(p.cells.iter().all(|c| c.estimate == Some(1.0)), "{p:?}");
    h.get_by_label("Prevalence by age_group x sex");
    h.get_by_label("Heatmap").click();
    h.run_steps(2);
    assert_eq!(h.state().analyses.view, ChartView::Heatmap);
    h.get_by_label("Age-sex pyramid").click();
    h.run_steps(2);
    h.get_by_label("Denominator by age group and sex");

    // Save it under a name; it is listed.
    h.get_by_label("Save").click();
    wait_until(&mut h, "the saved analysis", |a| {
        a.analyses.saved.len() == 1
    });
    assert_eq!(h.state().analyses.saved[0].kind, "prevalence");
    assert_eq!(engine.saved_analyses().unwrap().len(), 1);

    // Export: the released result, plots and specification in a new folder.
    h.get_by_label("Export…").click();
    wait_until(&mut h, "the export", |a| {
        !a.analyses.busy() && matches!(&a.analyses.message, Some(Ok(m)) if m.starts_with("written"))
    });
    let folder = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("analysis-prevalence-")
        })
        .expect("the export folder");
    for f in [
        "result.json",
        "result.csv",
        "spec.json",
        "plot.png",
        "plot.svg",
        "plot-heatmap.svg",
        "plot-bars.png",
    ] {
        assert!(folder.join(f).exists(), "{f}");
    }
    // The plot written first is the view on screen.
    let plot = std::fs::read_to_string(folder.join("plot.svg")).unwrap();
    assert!(plot.contains("Denominator by age group and sex"));
    let released: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("result.json")).unwrap()).unwrap();
    assert_eq!(released["suppression"]["released"], true);
    for c in released["result"]["cells"].as_array().unwrap() {
        if let Some(x) = c["x"].as_u64() {
            assert!(x == 0 || x > 10, "no small count leaves: {c}");
        }
    }

    // Re-run from the saved list: a second saved result, same numbers.
    h.get_by_label("Re-run").click();
    wait_until(&mut h, "the re-run", |a| a.analyses.saved.len() == 2);
    let rerun = engine
        .saved_analysis(engine.saved_analyses().unwrap()[0].id)
        .unwrap();
    assert_eq!(rerun.result, r.result);
}

#[test]
fn the_emphysema_index_runs_from_the_analyses_area_with_progress_and_resume() {
    use pacs_cohort::synth::ct_volume;
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let fractions = [0.03, 0.11];
    let written = ct_volume::write_archive(&archive, &fractions, 48, 20, 3).unwrap();
    let (db, engine) = indexed(tmp.path(), &archive);
    engine
        .save_cohort(
            &serde_json::from_str(r#"{"schema_version":1,"name":"all","rules":[]}"#).unwrap(),
        )
        .unwrap();
    let mut h = harness(&db, &archive);
    wait_until(&mut h, "the workspace to load", |a| {
        a.status.is_some() && !a.saved_cohorts.is_empty()
    });
    h.get_by_label("Analyses").click();
    h.run_steps(2);
    h.get_all_by_value("choose a cohort")
        .last()
        .unwrap()
        .click();
    h.run_steps(2);
    h.get_all_by_label("all").last().unwrap().click();
    h.run_steps(2);
    h.get_by_label("Compute emphysema index").click();
    wait_until(&mut h, "the emphysema job", |a| {
        a.analyses.biomarker.running.is_none() && a.analyses.biomarker.outcome.is_some()
    });
    let report = match h.state().analyses.biomarker.outcome.clone().unwrap() {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(report.computed as usize, fractions.len());
    h.get_by_label_contains("computed, 0 kept from before");
    let stored = engine.series_features().unwrap();
    for c in &written.chest {
        let f = stored
            .iter()
            .find(|f| f.series_uid == c.series_uid)
            .expect("stored per series");
        let laa = f
            .features
            .iter()
            .find(|(n, _)| n == "laa950_percent")
            .unwrap()
            .1;
        assert!((laa - c.truth.laa950_percent()).abs() < 1e-6);
    }
    // Again: nothing is computed twice.
    h.get_by_label("Compute emphysema index").click();
    wait_until(&mut h, "the second run", |a| {
        a.analyses.biomarker.running.is_none()
            && a.analyses
                .biomarker
                .outcome
                .as_ref()
                .is_some_and(|r| r.as_ref().is_ok_and(|r| r.computed == 0))
    });
    assert!(
        h.state()
            .analyses
            .biomarker
            .outcome
            .as_ref()
            .unwrap()
            .as_ref()
            .unwrap()
            .resumed
            >= fractions.len() as u64
    );
}

#[test]
fn the_pacs_tab_lists_verifies_harvests_and_removes_nodes() {
    use pacs_cohort::model::{PacsNode, PacsProtocol};
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("ws.db");
    // A port nobody listens on: echo and harvest fail with what to do.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Engine::open(&db)
        .unwrap()
        .pacs_add(
            &PacsNode {
                name: "hospital".into(),
                protocol: PacsProtocol::Dimse {
                    ae_title: "PACS".into(),
                    host: "127.0.0.1".into(),
                    port,
                    calling_ae: "US".into(),
                    scp_port: None,
                    max_results: None,
                },
            },
            false,
        )
        .unwrap();
    let mut h = harness(&db, tmp.path());
    h.get_by_label("PACS").click();
    wait_until(&mut h, "the nodes", |a| a.pacs.nodes.len() == 1);
    h.get_by_label_contains("DIMSE PACS@127.0.0.1");

    h.get_by_label("Echo").click();
    wait_until(&mut h, "the echo", |a| {
        matches!(a.pacs.echo_of("hospital"), Some(Some(Err(_))))
    });
    h.get_by_label("Echo: failed (below)");
    h.get_by_label_contains("cannot reach the PACS");

    // A harvest is a job with its outcome in the jobs list.
    h.get_by_label("Harvest").click();
    wait_until(&mut h, "the harvest", |a| {
        a.pacs.harvest.is_none() && a.pacs.harvest_outcome.is_some()
    });
    let job = h
        .state()
        .jobs
        .iter()
        .find(|j| j.title == "Harvest 'hospital'")
        .cloned()
        .expect("a harvest job");
    assert!(!job.running);
    assert!(
        job.outcome.contains("cannot reach the PACS"),
        "{}",
        job.outcome
    );

    // Remove asks first.
    h.get_by_label("Remove").click();
    wait_until(&mut h, "the question", |a| a.confirm.is_some());
    h.run_steps(2);
    h.get_by_label("Remove node").click();
    wait_until(&mut h, "the removal", |a| a.pacs.nodes.is_empty());
    h.get_by_label_contains("No PACS node yet");
}
