//! What a harvest asks for and what it keeps: the query keys at study,
//! series and image level, and the answers turned into the index's
//! `HeaderRecord` (patient, study and series fields), whichever protocol
//! brought them (DIMSE identifiers or QIDO-RS JSON).

use crate::dicom::extract::{age_string_years, normalise_date, normalise_time, years_between};
use crate::model::{HarvestQuery, HeaderRecord};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// The study-level return keys (tag, VR).
pub const STUDY_KEYS: &[(Tag, VR)] = &[
    (tags::SPECIFIC_CHARACTER_SET, VR::CS),
    (tags::STUDY_INSTANCE_UID, VR::UI),
    (tags::STUDY_DATE, VR::DA),
    (tags::STUDY_TIME, VR::TM),
    (tags::ACCESSION_NUMBER, VR::SH),
    (tags::STUDY_DESCRIPTION, VR::LO),
    (tags::REFERRING_PHYSICIAN_NAME, VR::PN),
    (tags::PATIENT_ID, VR::LO),
    (tags::ISSUER_OF_PATIENT_ID, VR::LO),
    (tags::PATIENT_NAME, VR::PN),
    (tags::PATIENT_SEX, VR::CS),
    (tags::PATIENT_BIRTH_DATE, VR::DA),
    (tags::PATIENT_AGE, VR::AS),
    (tags::MODALITIES_IN_STUDY, VR::CS),
    (tags::NUMBER_OF_STUDY_RELATED_SERIES, VR::IS),
];

/// The series-level return keys.
pub const SERIES_KEYS: &[(Tag, VR)] = &[
    (tags::SPECIFIC_CHARACTER_SET, VR::CS),
    (tags::SERIES_INSTANCE_UID, VR::UI),
    (tags::MODALITY, VR::CS),
    (tags::BODY_PART_EXAMINED, VR::CS),
    (tags::SERIES_NUMBER, VR::IS),
    (tags::SERIES_DESCRIPTION, VR::LO),
    (tags::PROTOCOL_NAME, VR::LO),
    (tags::INSTITUTION_NAME, VR::LO),
    (tags::STATION_NAME, VR::SH),
    (tags::MANUFACTURER, VR::LO),
    (tags::MANUFACTURER_MODEL_NAME, VR::LO),
    (tags::NUMBER_OF_SERIES_RELATED_INSTANCES, VR::IS),
];

/// A study-level C-FIND identifier for a date range (inclusive, either
/// end open) and modality filter.
pub fn study_identifier(
    q: &HarvestQuery,
    from: Option<&str>,
    to: Option<&str>,
) -> InMemDicomObject {
    let mut obj = keys(STUDY_KEYS);
    put(&mut obj, tags::QUERY_RETRIEVE_LEVEL, VR::CS, "STUDY");
    let range = dicom_range(from, to);
    if !range.is_empty() {
        put(&mut obj, tags::STUDY_DATE, VR::DA, &range);
    }
    if !q.modalities.is_empty() {
        put(
            &mut obj,
            tags::MODALITIES_IN_STUDY,
            VR::CS,
            &q.modalities.join("\\"),
        );
    }
    obj
}

/// A series-level identifier for one study.
pub fn series_identifier(study_uid: &str) -> InMemDicomObject {
    let mut obj = keys(SERIES_KEYS);
    put(&mut obj, tags::QUERY_RETRIEVE_LEVEL, VR::CS, "SERIES");
    put(&mut obj, tags::STUDY_INSTANCE_UID, VR::UI, study_uid);
    obj
}

/// An image-level identifier listing the SOP classes of one series.
pub fn image_identifier(study_uid: &str, series_uid: &str) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    put(&mut obj, tags::QUERY_RETRIEVE_LEVEL, VR::CS, "IMAGE");
    put(&mut obj, tags::STUDY_INSTANCE_UID, VR::UI, study_uid);
    put(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, series_uid);
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, "");
    put(&mut obj, tags::SOP_CLASS_UID, VR::UI, "");
    obj
}

/// `YYYY-MM-DD` bounds to a DICOM date range (`20240101-20241231`,
/// `20240101-`, `-20241231`, or empty).
pub fn dicom_range(from: Option<&str>, to: Option<&str>) -> String {
    let d = |s: Option<&str>| s.map(|s| s.replace('-', "")).unwrap_or_default();
    match (from, to) {
        (None, None) => String::new(),
        (Some(f), Some(t)) if f == t => d(Some(f)),
        _ => format!("{}-{}", d(from), d(to)),
    }
}

fn keys(list: &[(Tag, VR)]) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    for (tag, vr) in list {
        if *tag != tags::SPECIFIC_CHARACTER_SET {
            obj.put(DataElement::new(*tag, *vr, PrimitiveValue::Empty));
        }
    }
    obj
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

/// Text of an element, trimmed; `None` when absent or empty.
pub fn text_of(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let v = obj.get(tag)?.to_str().ok()?;
    let v = v.trim_matches(['\0', ' ']).to_string();
    (!v.is_empty()).then_some(v)
}

/// A study match, or `None` without a Study Instance UID.
pub fn study_record(get: &dyn Fn(Tag) -> Option<String>) -> Option<HeaderRecord> {
    let study_instance_uid = get(tags::STUDY_INSTANCE_UID)?;
    let study_date = get(tags::STUDY_DATE).and_then(|d| normalise_date(&d));
    let birth = get(tags::PATIENT_BIRTH_DATE).and_then(|d| normalise_date(&d));
    let patient_age = get(tags::PATIENT_AGE);
    let age_at_study_years = patient_age
        .as_deref()
        .and_then(age_string_years)
        .or_else(|| years_between(birth.as_deref()?, study_date.as_deref()?));
    Some(HeaderRecord {
        patient_id: get(tags::PATIENT_ID).unwrap_or_default(),
        issuer_of_patient_id: get(tags::ISSUER_OF_PATIENT_ID).unwrap_or_default(),
        patient_name: get(tags::PATIENT_NAME),
        patient_sex: get(tags::PATIENT_SEX).map(|s| s.to_ascii_uppercase()),
        patient_birth_date: birth,
        study_instance_uid,
        study_date,
        study_time: get(tags::STUDY_TIME).and_then(|t| normalise_time(&t)),
        accession_number: get(tags::ACCESSION_NUMBER),
        study_description: get(tags::STUDY_DESCRIPTION),
        referring_physician_name: get(tags::REFERRING_PHYSICIAN_NAME),
        patient_age,
        age_at_study_years,
        specific_character_set: get(tags::SPECIFIC_CHARACTER_SET),
        ..Default::default()
    })
}

/// A series match added to its study's record, with the number of
/// instances the PACS reports; `None` without a Series Instance UID.
pub fn series_record(
    study: &HeaderRecord,
    get: &dyn Fn(Tag) -> Option<String>,
) -> Option<(HeaderRecord, Option<i64>)> {
    let mut rec = study.clone();
    rec.series_instance_uid = get(tags::SERIES_INSTANCE_UID)?;
    rec.modality = get(tags::MODALITY);
    rec.body_part_examined = get(tags::BODY_PART_EXAMINED).map(|s| s.to_ascii_uppercase());
    rec.series_number = get(tags::SERIES_NUMBER).and_then(|s| s.trim().parse().ok());
    rec.series_description = get(tags::SERIES_DESCRIPTION);
    rec.protocol_name = get(tags::PROTOCOL_NAME);
    rec.institution_name = get(tags::INSTITUTION_NAME);
    rec.station_name = get(tags::STATION_NAME);
    rec.manufacturer = get(tags::MANUFACTURER);
    rec.manufacturer_model_name = get(tags::MANUFACTURER_MODEL_NAME);
    let count = get(tags::NUMBER_OF_SERIES_RELATED_INSTANCES).and_then(|s| s.trim().parse().ok());
    Some((rec, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_ranges_in_dicom_form() {
        assert_eq!(dicom_range(None, None), "");
        assert_eq!(dicom_range(Some("2020-01-01"), None), "20200101-");
        assert_eq!(dicom_range(None, Some("2020-12-31")), "-20201231");
        assert_eq!(
            dicom_range(Some("2020-01-01"), Some("2020-01-01")),
            "20200101"
        );
        assert_eq!(
            dicom_range(Some("2020-01-01"), Some("2020-12-31")),
            "20200101-20201231"
        );
    }

    #[test]
    fn study_answer_becomes_a_record() {
        let get = |t: Tag| match t {
            tags::STUDY_INSTANCE_UID => Some("1.2.3".to_string()),
            tags::STUDY_DATE => Some("20200102".to_string()),
            tags::PATIENT_BIRTH_DATE => Some("19800103".to_string()),
            tags::PATIENT_SEX => Some("f".to_string()),
            _ => None,
        };
        let r = study_record(&get).unwrap();
        assert_eq!(r.study_date.as_deref(), Some("2020-01-02"));
        assert_eq!(r.age_at_study_years, Some(39));
        assert_eq!(r.patient_sex.as_deref(), Some("F"));
        assert!(study_record(&|_| None).is_none());
    }
}
