//! The indexed attributes of one DICOM instance, as read from its header.

/// Patient identity: (IssuerOfPatientID or empty, PatientID).
pub type PatientKey = (String, String);
/// A Study Instance UID.
pub type StudyKey = String;
/// A Series Instance UID.
pub type SeriesKey = String;

/// Every attribute the index keeps for one instance, already decoded to
/// text (per SpecificCharacterSet) and normalised (dates as `YYYY-MM-DD`).
/// Missing attributes are `None`. Contains PHI: never log it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeaderRecord {
    // patient
    pub patient_id: String,
    pub issuer_of_patient_id: String,
    pub patient_name: Option<String>,
    pub patient_sex: Option<String>,
    pub patient_birth_date: Option<String>,
    // study
    pub study_instance_uid: String,
    pub study_date: Option<String>,
    pub study_time: Option<String>,
    pub accession_number: Option<String>,
    pub study_description: Option<String>,
    pub referring_physician_name: Option<String>,
    pub patient_age: Option<String>,
    /// Derived: PatientAge if present, else birth date to study date, in whole years.
    pub age_at_study_years: Option<i64>,
    // series
    pub series_instance_uid: String,
    pub modality: Option<String>,
    pub body_part_examined: Option<String>,
    pub series_number: Option<i64>,
    pub series_description: Option<String>,
    pub protocol_name: Option<String>,
    pub institution_name: Option<String>,
    pub station_name: Option<String>,
    pub manufacturer: Option<String>,
    pub manufacturer_model_name: Option<String>,
    // instance
    pub sop_class_uid: Option<String>,
    pub sop_instance_uid: String,
    pub instance_number: Option<i64>,
    pub image_type: Option<String>,
    pub rows: Option<i64>,
    pub columns: Option<i64>,
    pub number_of_frames: Option<i64>,
    pub bits_allocated: Option<i64>,
    pub photometric_interpretation: Option<String>,
    pub transfer_syntax_uid: Option<String>,
    pub slice_thickness_mm: Option<f64>,
    pub pixel_spacing_mm: Option<String>,
    pub kvp: Option<f64>,
    pub contrast_bolus_agent: Option<String>,
    pub burned_in_annotation: Option<String>,
    pub specific_character_set: Option<String>,
    /// Some text could not be decoded faithfully (unsupported character set
    /// or undecodable bytes); the stored values are lossy.
    pub text_lossy: bool,
}

impl HeaderRecord {
    /// The patient key this instance belongs to.
    pub fn patient_key(&self) -> PatientKey {
        (self.issuer_of_patient_id.clone(), self.patient_id.clone())
    }
}
