//! Append-only migrations, tracked by `PRAGMA user_version`. Never edit a
//! shipped migration: add a new one.

/// Computes the facts of studies whose facts are unknown (after index runs,
/// and once when migration 8 adds the columns).
pub(super) const REFRESH_STUDY_FACTS: &str = "UPDATE studies SET
   facts_modalities = ',' || coalesce((SELECT group_concat(m, ',') FROM
       (SELECT DISTINCT upper(trim(modality)) AS m FROM series WHERE study_ref = studies.id AND modality IS NOT NULL)), '') || ',',
   facts_body_parts = ',' || coalesce((SELECT group_concat(b, ',') FROM
       (SELECT DISTINCT upper(trim(body_part)) AS b FROM series WHERE study_ref = studies.id AND body_part IS NOT NULL)), '') || ',',
   facts_contrast = EXISTS (SELECT 1 FROM series s JOIN instances i ON i.series_ref = s.id
       WHERE s.study_ref = studies.id AND i.contrast_agent <> '')
 WHERE facts_modalities IS NULL OR facts_body_parts IS NULL OR facts_contrast IS NULL;";

/// The schema version that added study facts.
pub(super) const FACTS_VERSION: i64 = 8;

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the index (a rebuildable cache of the files) and the run log.
    r#"
CREATE TABLE roots (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,
    added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    root_ref INTEGER NOT NULL REFERENCES roots(id),
    rel_path BLOB NOT NULL,
    size_bytes INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    sop_uid TEXT,
    UNIQUE (root_ref, rel_path)
);
CREATE INDEX files_status ON files(status);
CREATE INDEX files_sop ON files(sop_uid) WHERE sop_uid IS NOT NULL;
CREATE TABLE patients (
    id INTEGER PRIMARY KEY,
    issuer TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    patient_name TEXT,
    sex TEXT,
    birth_date TEXT,
    UNIQUE (issuer, patient_id)
);
CREATE TABLE studies (
    id INTEGER PRIMARY KEY,
    patient_ref INTEGER NOT NULL REFERENCES patients(id),
    study_uid TEXT NOT NULL UNIQUE,
    study_date TEXT,
    study_time TEXT,
    accession_number TEXT,
    description TEXT,
    referring_physician TEXT,
    patient_age TEXT,
    age_at_study_years INTEGER
);
CREATE INDEX studies_patient ON studies(patient_ref);
CREATE INDEX studies_date ON studies(study_date);
CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    study_ref INTEGER NOT NULL REFERENCES studies(id),
    series_uid TEXT NOT NULL UNIQUE,
    modality TEXT,
    body_part TEXT,
    series_number INTEGER,
    description TEXT,
    protocol_name TEXT,
    institution_name TEXT,
    station_name TEXT,
    manufacturer TEXT,
    model_name TEXT
);
CREATE INDEX series_study ON series(study_ref);
CREATE INDEX series_modality ON series(modality);
CREATE TABLE instances (
    id INTEGER PRIMARY KEY,
    series_ref INTEGER NOT NULL REFERENCES series(id),
    sop_uid TEXT NOT NULL UNIQUE,
    file_ref INTEGER NOT NULL REFERENCES files(id),
    sop_class_uid TEXT,
    instance_number INTEGER,
    image_type TEXT,
    rows INTEGER,
    columns INTEGER,
    frames INTEGER,
    bits_allocated INTEGER,
    photometric TEXT,
    transfer_syntax_uid TEXT,
    slice_thickness_mm REAL,
    pixel_spacing_mm TEXT,
    kvp REAL,
    contrast_agent TEXT,
    burned_in_annotation TEXT,
    charset TEXT,
    text_lossy INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX instances_series ON instances(series_ref);
CREATE TABLE index_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    finished_at TEXT,
    outcome TEXT NOT NULL DEFAULT 'running',
    roots TEXT NOT NULL,
    files_seen INTEGER NOT NULL DEFAULT 0,
    new_files INTEGER NOT NULL DEFAULT 0,
    changed_files INTEGER NOT NULL DEFAULT 0,
    unchanged_files INTEGER NOT NULL DEFAULT 0,
    removed_files INTEGER NOT NULL DEFAULT 0,
    elapsed_seconds REAL
);
"#,
    // 2: saved cohorts (user data: refers to nothing in the index by row id).
    r#"
CREATE TABLE cohorts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE cohort_revisions (
    id INTEGER PRIMARY KEY,
    cohort_ref INTEGER NOT NULL REFERENCES cohorts(id),
    revision INTEGER NOT NULL,
    spec_json TEXT NOT NULL,
    saved_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    UNIQUE (cohort_ref, revision)
);
"#,
    // 3: linked EHR data (user data: keyed by PatientID or accession number).
    r#"
CREATE TABLE ehr_datasets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_kind TEXT NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE ehr_columns (
    dataset_ref INTEGER NOT NULL REFERENCES ehr_datasets(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (dataset_ref, name)
);
CREATE TABLE ehr_values (
    dataset_ref INTEGER NOT NULL REFERENCES ehr_datasets(id),
    column_name TEXT NOT NULL,
    key TEXT NOT NULL,
    value_text TEXT,
    value_num REAL
);
CREATE INDEX ehr_values_lookup ON ehr_values(dataset_ref, column_name, key);
"#,
    // 4: radiology reports and report-derived findings (user data).
    r#"
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    accession TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE INDEX reports_accession ON reports(accession);
CREATE TABLE finding_rules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    keywords TEXT NOT NULL,
    defined_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE report_findings (
    finding_ref INTEGER NOT NULL REFERENCES finding_rules(id),
    report_ref INTEGER NOT NULL REFERENCES reports(id),
    accession TEXT NOT NULL,
    mention TEXT NOT NULL,
    PRIMARY KEY (finding_ref, report_ref)
);
CREATE INDEX report_findings_lookup ON report_findings(finding_ref, accession, mention);
"#,
    // 5: cohort counts: finding the few images with a contrast agent
    // without reading every image of every study.
    r#"
CREATE INDEX instances_contrast ON instances(series_ref) WHERE contrast_agent <> '';
"#,
    // 6: workspace settings (user data), e.g. aggregate-only mode.
    r#"
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    // 7: full-text search over the distinct description texts (FTS5,
    // word-prefix queries); rebuilt after each index run.
    r#"
CREATE VIRTUAL TABLE text_terms USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO text_terms(text)
  SELECT description FROM studies WHERE description IS NOT NULL
  UNION SELECT description FROM series WHERE description IS NOT NULL
  UNION SELECT protocol_name FROM series WHERE protocol_name IS NOT NULL;
"#,
    // 8: per-study facts that cohort counts test without subqueries
    // (",CT,MR," style sets, contrast flag). NULL means "not computed":
    // counts then fall back to the subquery, so they are never wrong.
    r#"
ALTER TABLE studies ADD COLUMN facts_modalities TEXT;
ALTER TABLE studies ADD COLUMN facts_body_parts TEXT;
ALTER TABLE studies ADD COLUMN facts_contrast INTEGER;
"#,
    // 9: pixel masks (user data): rectangles per source instance, and
    // templates that apply to every image of a device and size.
    r#"
CREATE TABLE pixel_masks (
    id INTEGER PRIMARY KEY,
    sop_instance_uid TEXT NOT NULL,
    x INTEGER NOT NULL CHECK (x >= 0),
    y INTEGER NOT NULL CHECK (y >= 0),
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE INDEX pixel_masks_sop ON pixel_masks(sop_instance_uid);
CREATE TABLE mask_templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    model TEXT NOT NULL,
    rows INTEGER NOT NULL CHECK (rows > 0),
    columns INTEGER NOT NULL CHECK (columns > 0),
    x INTEGER NOT NULL CHECK (x >= 0),
    y INTEGER NOT NULL CHECK (y >= 0),
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE INDEX mask_templates_device ON mask_templates(manufacturer, model, rows, columns);
"#,
    // 10: linked clinical data keyed by issuer + patient ID (NULL: any
    // issuer, as before).
    r#"
ALTER TABLE ehr_values ADD COLUMN issuer TEXT;
"#,
    // 11: the audit trail of residual-PHI findings a reviewer waived
    // (append-only; no matched value, only where it was).
    r#"
CREATE TABLE IF NOT EXISTS export_waivers (
    id INTEGER PRIMARY KEY,
    finding_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    cohort TEXT NOT NULL,
    export_folder TEXT NOT NULL,
    file TEXT NOT NULL,
    location TEXT NOT NULL,
    attribute TEXT NOT NULL,
    export_complete INTEGER NOT NULL,
    waived_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
"#,
    // 12: the visual PHI review (user data, append-only: a reset is a new
    // event; triggers refuse updates and deletes). An approval keeps, per
    // image, the SHA-256 of the rendered file before any claim and what it
    // was rendered from (`review::ImageInputs`), so that an approval no
    // longer holds when those change (DECISIONS 25).
    r#"
CREATE TABLE review_events (
    id INTEGER PRIMARY KEY,
    series_uid TEXT NOT NULL,
    sop_uid TEXT,
    state TEXT NOT NULL CHECK (state IN ('unreviewed', 'approved', 'needs_masking', 'excluded')),
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    note TEXT NOT NULL DEFAULT '',
    inputs_digest TEXT,
    content_digest TEXT
);
CREATE INDEX review_events_series ON review_events(series_uid, id);
CREATE TABLE review_approved_content (
    event_id INTEGER NOT NULL REFERENCES review_events(id),
    sop_uid TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    inputs TEXT NOT NULL,
    PRIMARY KEY (event_id, sop_uid)
);
CREATE TRIGGER review_events_no_update BEFORE UPDATE ON review_events
BEGIN SELECT RAISE(ABORT, 'the review history is append-only'); END;
CREATE TRIGGER review_events_no_delete BEFORE DELETE ON review_events
BEGIN SELECT RAISE(ABORT, 'the review history is append-only'); END;
CREATE TRIGGER review_content_no_update BEFORE UPDATE ON review_approved_content
BEGIN SELECT RAISE(ABORT, 'the review history is append-only'); END;
CREATE TRIGGER review_content_no_delete BEFORE DELETE ON review_approved_content
BEGIN SELECT RAISE(ABORT, 'the review history is append-only'); END;
"#,
    // 13: features computed from pixels per series (user data keyed by
    // Series Instance UID, like the review): the values, and per method the
    // last outcome (ok, or failed with a reason) with the digest of the
    // source files it was computed from (`biomarker::SOURCE_DIGEST_SQL`).
    r#"
CREATE TABLE series_features (
    series_uid TEXT NOT NULL,
    method TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    method_version TEXT NOT NULL,
    source_digest TEXT NOT NULL,
    computed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    PRIMARY KEY (series_uid, name)
);
CREATE INDEX series_features_name ON series_features(name, value);
CREATE TABLE feature_runs (
    series_uid TEXT NOT NULL,
    method TEXT NOT NULL,
    method_version TEXT NOT NULL,
    source_digest TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    failure_kind TEXT,
    reason TEXT,
    details TEXT,
    computed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    PRIMARY KEY (series_uid, method)
);
"#,
    // 14: analyses saved in the workspace (user data): the result with its
    // full specification, so it can be shown again and re-run; the index
    // snapshot tells whether the index changed since.
    r#"
CREATE TABLE analysis_runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    result TEXT NOT NULL,
    released INTEGER NOT NULL,
    app_version TEXT NOT NULL,
    index_snapshot TEXT,
    computed_at TEXT NOT NULL,
    saved_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
"#,
    // 15: site identity (DECISIONS 31): an archive root may carry the issuer
    // its patient IDs belong to; each instance points at the demographics
    // (name, sex, birth date; '' when absent) its file gave for its patient
    // key, so one key with two different demographics is a recorded
    // conflict (`patient_conflicts`). Instances indexed before this
    // migration have no demographics of their own: their files are marked
    // for re-reading (mtime -1), so the next run records them and re-keys
    // patients by the roots' issuers.
    r#"
ALTER TABLE roots ADD COLUMN issuer TEXT;
CREATE TABLE IF NOT EXISTS patient_variants (
    id INTEGER PRIMARY KEY,
    patient_ref INTEGER NOT NULL REFERENCES patients(id),
    patient_name TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    UNIQUE (patient_ref, patient_name, sex, birth_date)
);
ALTER TABLE instances ADD COLUMN variant_ref INTEGER REFERENCES patient_variants(id);
CREATE INDEX IF NOT EXISTS instances_variant ON instances(variant_ref);
CREATE VIEW IF NOT EXISTS patient_conflicts AS
  SELECT patient_ref FROM patient_variants GROUP BY patient_ref
  HAVING count(DISTINCT nullif(upper(trim(patient_name, ' ^')), '')) > 1
      OR count(DISTINCT nullif(upper(sex), '')) > 1
      OR count(DISTINCT nullif(birth_date, '')) > 1;
UPDATE files SET mtime_ns = -1 WHERE status = 'ok';
"#,
    // 16: PACS nodes (user data: how to reach each; secrets stay in this
    // owner-only file), series a harvest found on a node (a rebuildable
    // cache like the index: a series with no local instance is "remote"),
    // and the harvest log.
    r#"
CREATE TABLE IF NOT EXISTS pacs_nodes (
    name TEXT PRIMARY KEY,
    config_json TEXT NOT NULL,
    added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE IF NOT EXISTS remote_series (
    series_uid TEXT PRIMARY KEY,
    study_uid TEXT NOT NULL,
    node TEXT NOT NULL,
    harvested_at TEXT NOT NULL,
    remote_instances INTEGER
);
CREATE INDEX IF NOT EXISTS remote_series_study ON remote_series(study_uid);
CREATE INDEX IF NOT EXISTS remote_series_node ON remote_series(node);
CREATE TABLE IF NOT EXISTS harvest_runs (
    id INTEGER PRIMARY KEY,
    node TEXT NOT NULL,
    query_json TEXT NOT NULL,
    started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    finished_at TEXT,
    outcome TEXT NOT NULL DEFAULT 'running',
    studies INTEGER NOT NULL DEFAULT 0,
    series INTEGER NOT NULL DEFAULT 0,
    queries INTEGER NOT NULL DEFAULT 0,
    splits INTEGER NOT NULL DEFAULT 0
);
"#,
];
