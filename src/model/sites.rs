//! Site identity (DECISIONS 31): one patient key whose files disagree on
//! who the patient is. Contains PHI: never log it.

use serde::Serialize;

/// A patient key (issuer, PatientID) whose files give different names,
/// sexes or birth dates: probably two people merged under one ID (two
/// sites without an Issuer of Patient ID), or a data-entry error.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PatientConflict {
    /// The issuer of the key ('' for none).
    pub issuer: String,
    pub patient_id: String,
    /// Which of name, sex, birth date differ ("name", "sex", "birth date").
    pub differs_in: Vec<String>,
    /// Studies of this patient key.
    pub studies: u64,
    /// Each distinct set of demographics, with the files that carry it.
    pub variants: Vec<DemographicsVariant>,
}

/// One set of demographics seen under a patient key.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DemographicsVariant {
    pub patient_name: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    /// How many indexed instances carry it.
    pub file_count: u64,
    /// Their files (canonical copies), sorted.
    pub files: Vec<String>,
}
