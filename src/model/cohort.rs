//! Cohort definitions: versioned JSON, documented in README.md.

use super::summary::LevelCounts;
use serde::{Deserialize, Serialize};

/// The current cohort JSON schema version.
pub const COHORT_SCHEMA_VERSION: u32 = 1;

/// What one row of a cohort is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CohortUnit {
    Patient,
    #[default]
    Study,
    Series,
}

/// A cohort definition: inclusion and exclusion rules applied in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortSpec {
    pub schema_version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub unit: CohortUnit,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// One named rule of the attrition funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    /// Exclusion rules remove the entries that match.
    #[serde(default)]
    pub exclude: bool,
    pub criterion: Criterion,
}

/// A numeric range; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct NumRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A date range (`YYYY-MM-DD`, inclusive); either end may be open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DateRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A criterion: groups (all / any / not) or one condition on one attribute.
/// Attribute names are a closed set: each maps to a fixed column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    All(Vec<Criterion>),
    Any(Vec<Criterion>),
    Not(Box<Criterion>),
    /// Series modality is one of (case-insensitive).
    Modality(Vec<String>),
    BodyPart(Vec<String>),
    /// Patient sex is one of (`F`, `M`, `O`).
    Sex(Vec<String>),
    Institution(Vec<String>),
    Station(Vec<String>),
    Manufacturer(Vec<String>),
    Model(Vec<String>),
    SopClass(Vec<String>),
    StudyDate(DateRange),
    /// Age at study, whole years.
    Age(NumRange),
    SliceThicknessMm(NumRange),
    /// Series in the study.
    SeriesCount(NumRange),
    /// Images in the study (study or patient unit) or in the series.
    InstanceCount(NumRange),
    /// Words (prefix match, all must occur) in the study description.
    StudyDescription(String),
    SeriesDescription(String),
    ProtocolName(String),
    /// A contrast agent is recorded (true) or not (false).
    Contrast(bool),
    /// A linked EHR value (see `pacs-cohort link import-csv`).
    Ehr(super::EhrCondition),
    /// A report-derived finding (see `pacs-cohort findings`).
    Finding(FindingCondition),
    /// A feature computed from a series' pixels (see `pacs-cohort
    /// biomarker`), within a range.
    Feature(FeatureCondition),
    /// This study matches and is the patient's earliest study that matches
    /// (the index event: "first chest CT").
    FirstOf(Box<Criterion>),
    /// This study matches and is the patient's latest study that matches.
    LastOf(Box<Criterion>),
    /// Another study of the same patient, dated within a window relative to
    /// this one, matches ("a follow-up CT 180-730 days later"; negative days
    /// look back).
    FollowUp(FollowUp),
}

/// A time window relative to the study being tested, and what another
/// study in it must match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_days: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_days: Option<f64>,
    pub criterion: Box<Criterion>,
}

/// `{"finding": {"name": "emphysema", "present": true}}`: the study's report
/// mentions the finding without negation (`present: false`: the study has
/// a report and it does not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingCondition {
    pub name: String,
    #[serde(default = "yes")]
    pub present: bool,
}

/// `{"feature": {"name": "laa950_percent", "min": 10}}`: a series whose
/// stored feature (e.g. the emphysema index) lies in the range, computed
/// from the files the index holds now (a feature computed before a file
/// changed does not match). At study or patient level: any of its series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureCondition {
    pub name: String,
    #[serde(flatten)]
    pub range: NumRange,
}

fn yes() -> bool {
    true
}

/// One step of the attrition funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttritionStep {
    pub rule: String,
    pub exclude: bool,
    /// Entries (in the cohort's unit) left after this rule and all before it.
    pub remaining: u64,
    /// Entries this rule removed from the previous step.
    pub removed: u64,
    /// Entries of the whole population this rule alone would remove.
    pub removed_alone: u64,
}

/// The answer to "how many?" for a cohort definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortCounts {
    pub unit: CohortUnit,
    /// Entries (in the unit) before any rule.
    pub population: u64,
    /// Counts per level of the cohort's content.
    pub levels: LevelCounts,
    pub attrition: Vec<AttritionStep>,
}

/// A saved cohort.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedCohort {
    pub name: String,
    pub revision: u32,
    pub saved_at: String,
    pub spec: CohortSpec,
}

/// Overlap of two cohorts (in study units: a series cohort counts the
/// studies its series belong to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CohortComparison {
    pub both_patients: u64,
    pub only_a_patients: u64,
    pub only_b_patients: u64,
    pub both_studies: u64,
    pub only_a_studies: u64,
    pub only_b_studies: u64,
}

impl CohortComparison {
    /// Rows both / only A / only B, columns patients / studies.
    pub fn table(&self) -> [[u64; 2]; 3] {
        [
            [self.both_patients, self.both_studies],
            [self.only_a_patients, self.only_a_studies],
            [self.only_b_patients, self.only_b_studies],
        ]
    }
}

/// A defined finding with how many reports mention it positively, only
/// negated, or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingSummary {
    pub name: String,
    pub keywords: Vec<String>,
    pub positive: u64,
    pub negated: u64,
    pub absent: u64,
}
