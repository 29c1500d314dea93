//! Linked EHR data: datasets imported from CSV, keyed by patient or study.

use serde::{Deserialize, Serialize};

/// What a CSV row is linked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EhrKey {
    /// The PatientID of the index.
    PatientId,
    /// The accession number of a study.
    Accession,
}

impl EhrKey {
    pub fn as_str(self) -> &'static str {
        match self {
            EhrKey::PatientId => "patient_id",
            EhrKey::Accession => "accession",
        }
    }
}

/// How a column's values are stored and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EhrKind {
    /// Compared as numbers (ranges).
    Number,
    /// `YYYY-MM-DD` (ranges on text).
    Date,
    /// Compared as text (any-of lists: codes, categories).
    Text,
}

impl EhrKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EhrKind::Number => "number",
            EhrKind::Date => "date",
            EhrKind::Text => "text",
        }
    }
    pub fn parse(s: &str) -> Option<EhrKind> {
        match s {
            "number" => Some(EhrKind::Number),
            "date" => Some(EhrKind::Date),
            "text" => Some(EhrKind::Text),
            _ => None,
        }
    }
}

/// One column of an import and its type (inferred or chosen).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EhrColumn {
    pub name: String,
    pub kind: EhrKind,
}

/// How a clinical-data CSV is linked to the index.
#[derive(Debug, Clone, PartialEq)]
pub struct EhrLink {
    pub key: EhrKey,
    /// The CSV column holding the key (default: `patient_id` or
    /// `accession_number`).
    pub key_column: Option<String>,
    /// A CSV column holding the issuer of the patient ID (the site's ID
    /// namespace, as in Issuer of Patient ID): a row then links only to
    /// patients of that issuer, so two sites' identical IDs never mix.
    /// Rows with an empty issuer link to any issuer.
    pub issuer_column: Option<String>,
    /// Column types that replace the inferred ones.
    pub kinds: Vec<(String, EhrKind)>,
}

impl EhrLink {
    /// Linked by `key` through its default column, types inferred.
    pub fn by(key: EhrKey) -> EhrLink {
        EhrLink {
            key,
            key_column: None,
            issuer_column: None,
            kinds: Vec::new(),
        }
    }
}

/// What an import did (or, for a preview, would do).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EhrImport {
    pub dataset: String,
    pub key: EhrKey,
    pub key_column: String,
    /// The column holding the issuer of the patient ID, if any.
    #[serde(default)]
    pub issuer_column: Option<String>,
    pub columns: Vec<EhrColumn>,
    pub rows: u64,
    /// Distinct keys that match a patient (or a study) in the index.
    pub rows_linked: u64,
    /// Values that did not parse as their column's type (kept as text).
    pub values_not_parsed: u64,
}

/// A condition on a linked EHR column (`{"ehr": {...}}` in a cohort).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EhrCondition {
    pub dataset: String,
    pub column: String,
    /// Any of these values (text columns, case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<String>>,
    /// Inclusive bounds (number columns; dates as `YYYY-MM-DD` text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<serde_json::Value>,
}
