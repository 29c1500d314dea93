//! Rows and queries of the patient / study / series browser.

use serde::{Deserialize, Serialize};

/// One study with its patient and aggregates. Contains PHI: never log it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StudyRow {
    pub study_uid: String,
    pub patient_id: String,
    pub patient_name: Option<String>,
    pub sex: Option<String>,
    pub age_at_study_years: Option<i64>,
    pub study_date: Option<String>,
    pub description: Option<String>,
    pub accession_number: Option<String>,
    /// Distinct modalities of the study's series, comma-separated.
    pub modalities: Option<String>,
    pub institution: Option<String>,
    pub series_count: u64,
    pub instance_count: u64,
    /// The patient key's issuer ('' for none).
    pub issuer: String,
    /// The patient's files disagree on name, sex or birth date
    /// (`pacs-cohort conflicts`).
    pub patient_conflict: bool,
    /// Series harvested from a PACS whose images are not all local yet.
    pub remote_series: u64,
}

/// One series of a study.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SeriesRow {
    pub series_uid: String,
    pub series_number: Option<i64>,
    pub modality: Option<String>,
    pub body_part: Option<String>,
    pub description: Option<String>,
    pub protocol_name: Option<String>,
    pub manufacturer: Option<String>,
    pub model_name: Option<String>,
    pub station_name: Option<String>,
    pub institution: Option<String>,
    pub instance_count: u64,
    pub slice_thickness_mm: Option<f64>,
}

/// Columns the study list can be sorted by (a whitelist: each maps to a
/// fixed SQL expression, never to user text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum StudySort {
    PatientId,
    PatientName,
    Sex,
    Age,
    #[default]
    StudyDate,
    Modalities,
    Description,
    Institution,
    Series,
    Instances,
}

/// What the study list shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudyQuery {
    /// Quick filter: case-insensitive substring of patient ID or name,
    /// accession number, description, modality or institution. Matched
    /// literally (`%` and `_` are ordinary characters).
    pub text: String,
    pub sort: StudySort,
    pub descending: bool,
    /// At most this many rows (None: all).
    pub limit: Option<u64>,
    /// Only studies of patients with conflicting demographics.
    #[serde(default)]
    pub conflicts_only: bool,
}

impl Default for StudyQuery {
    fn default() -> Self {
        StudyQuery {
            text: String::new(),
            sort: StudySort::StudyDate,
            descending: true,
            limit: None,
            conflicts_only: false,
        }
    }
}
