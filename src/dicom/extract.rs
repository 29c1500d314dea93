//! Turning a parsed header into a [`HeaderRecord`]: text decoding, date and
//! age normalisation, derived age at study.

use super::prescan::RawValue;
use crate::model::HeaderRecord;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_object::InMemDicomObject;
use std::borrow::Cow;

/// Character sets dicom-rs 0.10 decodes (first value of SpecificCharacterSet).
const SUPPORTED_CHARSETS: &[&str] = &[
    "ISO_IR 6",
    "ISO_IR 13",
    "ISO_IR 87",
    "ISO_IR 100",
    "ISO_IR 101",
    "ISO_IR 109",
    "ISO_IR 110",
    "ISO_IR 126",
    "ISO_IR 127",
    "ISO_IR 138",
    "ISO_IR 144",
    "ISO_IR 149",
    "ISO_IR 166",
    "ISO_IR 192",
    "GB18030",
    "GBK",
    "ISO 2022 IR 6",
    "ISO 2022 IR 13",
    "ISO 2022 IR 87",
    "ISO 2022 IR 100",
    "ISO 2022 IR 101",
    "ISO 2022 IR 109",
    "ISO 2022 IR 110",
    "ISO 2022 IR 126",
    "ISO 2022 IR 127",
    "ISO 2022 IR 138",
    "ISO 2022 IR 144",
    "ISO 2022 IR 149",
    "ISO 2022 IR 166",
    "ISO 2022 IR 58",
];

/// Where header values come from: a dicom-object data set, or the raw
/// bytes located by the pre-scan.
pub(crate) trait TextSource {
    /// The value of a root element as text (multi-values joined by `\\`),
    /// and whether decoding it lost information.
    fn text(&self, tag: Tag) -> Option<(Cow<'_, str>, bool)>;
}

impl TextSource for InMemDicomObject {
    fn text(&self, tag: Tag) -> Option<(Cow<'_, str>, bool)> {
        // `get`, not `element_opt`: the latter builds an error (with a
        // captured backtrace, snafu) for every absent element.
        let s = self.get(tag)?.to_str().ok()?;
        let lossy = has_octal_escape(&s);
        Some((s, lossy))
    }
}

/// Header values straight from the bytes the pre-scan walked: no second
/// parse. Text VRs that use the declared character set are decoded with it.
pub(crate) struct RawSource<'a> {
    pub bytes: &'a [u8],
    pub values: &'a [RawValue],
    pub big_endian: bool,
    pub charset: SpecificCharacterSet,
}

impl TextSource for RawSource<'_> {
    fn text(&self, tag: Tag) -> Option<(Cow<'_, str>, bool)> {
        let v = self.values.iter().find(|v| v.tag == tag)?;
        let b = self.bytes.get(v.start..v.start + v.len)?;
        match v.vr {
            Some(VR::US) => {
                let nums: Vec<String> = b
                    .chunks_exact(2)
                    .map(|c| {
                        let n = if self.big_endian {
                            u16::from_be_bytes([c[0], c[1]])
                        } else {
                            u16::from_le_bytes([c[0], c[1]])
                        };
                        n.to_string()
                    })
                    .collect();
                Some((Cow::Owned(nums.join("\\")), false))
            }
            Some(VR::PN | VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC) => {
                let (text, lossy) = match self.charset.decode(b) {
                    Ok(t) => (t, false),
                    Err(_) => (String::from_utf8_lossy(b).into_owned(), true),
                };
                Some((Cow::Owned(trim_components(&text)), lossy))
            }
            _ => {
                let text = String::from_utf8_lossy(b);
                let lossy = matches!(text, Cow::Owned(_));
                Some((Cow::Owned(trim_components(&text)), lossy))
            }
        }
    }
}

/// Trims the padding of each value of a multi-valued string, as dicom-rs does.
fn trim_components(s: &str) -> String {
    s.split('\\')
        .map(|c| c.trim_end_matches([' ', '\0']))
        .collect::<Vec<_>>()
        .join("\\")
}

struct Reader<'a, S: TextSource> {
    src: &'a S,
    lossy: bool,
}

impl<S: TextSource> Reader<'_, S> {
    fn text(&mut self, tag: Tag) -> Option<String> {
        let (s, lossy) = self.src.text(tag)?;
        let t = s.trim_matches(|c: char| c == ' ' || c == '\0').to_string();
        if lossy || t.contains('\u{FFFD}') {
            self.lossy = true;
        }
        (!t.is_empty()).then_some(t)
    }

    /// The first value of a numeric string (IS/DS) or binary number.
    fn number(&mut self, tag: Tag) -> Option<f64> {
        let s = self.text(tag)?;
        let v = s.split('\\').next()?.trim().parse::<f64>().ok()?;
        v.is_finite().then_some(v)
    }

    fn int(&mut self, tag: Tag) -> Option<i64> {
        self.number(tag).map(|f| f as i64)
    }

    fn float(&mut self, tag: Tag) -> Option<f64> {
        self.number(tag)
    }
}

/// dicom-rs turns undecodable bytes into `\ooo` octal escapes.
fn has_octal_escape(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(4)
        .any(|w| w[0] == b'\\' && w[1..].iter().all(|c| (b'0'..=b'7').contains(c)))
}

/// Extracts the indexed attributes. Fails with the keyword of a missing
/// required UID (StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID).
pub(crate) fn extract<S: TextSource>(
    src: &S,
    transfer_syntax: Option<String>,
) -> Result<HeaderRecord, &'static str> {
    let mut r = Reader { src, lossy: false };
    let charset = r.text(tags::SPECIFIC_CHARACTER_SET);
    if let Some(cs) = &charset {
        let values: Vec<&str> = cs.split('\\').map(str::trim).collect();
        let first_ok = values
            .first()
            .is_some_and(|v| v.is_empty() || SUPPORTED_CHARSETS.contains(v));
        // Code extensions (several values) are not switched by dicom-rs 0.10.
        if !first_ok || values.iter().skip(1).any(|v| !v.is_empty()) {
            r.lossy = true;
        }
    }
    let study_instance_uid = r.text(tags::STUDY_INSTANCE_UID).ok_or("StudyInstanceUID")?;
    let series_instance_uid = r
        .text(tags::SERIES_INSTANCE_UID)
        .ok_or("SeriesInstanceUID")?;
    let sop_instance_uid = r.text(tags::SOP_INSTANCE_UID).ok_or("SOPInstanceUID")?;
    let study_date = r.text(tags::STUDY_DATE).and_then(|d| normalise_date(&d));
    let birth_date = r
        .text(tags::PATIENT_BIRTH_DATE)
        .and_then(|d| normalise_date(&d));
    let patient_age = r.text(tags::PATIENT_AGE);
    let age_at_study_years = patient_age
        .as_deref()
        .and_then(age_string_years)
        .or_else(|| years_between(birth_date.as_deref()?, study_date.as_deref()?));
    let mut rec = HeaderRecord {
        patient_id: r.text(tags::PATIENT_ID).unwrap_or_default(),
        issuer_of_patient_id: r.text(tags::ISSUER_OF_PATIENT_ID).unwrap_or_default(),
        patient_name: r.text(tags::PATIENT_NAME),
        patient_sex: r.text(tags::PATIENT_SEX).map(|s| s.to_ascii_uppercase()),
        patient_birth_date: birth_date,
        study_instance_uid,
        study_date,
        study_time: r.text(tags::STUDY_TIME).and_then(|t| normalise_time(&t)),
        accession_number: r.text(tags::ACCESSION_NUMBER),
        study_description: r.text(tags::STUDY_DESCRIPTION),
        referring_physician_name: r.text(tags::REFERRING_PHYSICIAN_NAME),
        patient_age,
        age_at_study_years,
        series_instance_uid,
        modality: r.text(tags::MODALITY),
        body_part_examined: r
            .text(tags::BODY_PART_EXAMINED)
            .map(|s| s.to_ascii_uppercase()),
        series_number: r.int(tags::SERIES_NUMBER),
        series_description: r.text(tags::SERIES_DESCRIPTION),
        protocol_name: r.text(tags::PROTOCOL_NAME),
        institution_name: r.text(tags::INSTITUTION_NAME),
        station_name: r.text(tags::STATION_NAME),
        manufacturer: r.text(tags::MANUFACTURER),
        manufacturer_model_name: r.text(tags::MANUFACTURER_MODEL_NAME),
        sop_class_uid: r.text(tags::SOP_CLASS_UID),
        sop_instance_uid,
        instance_number: r.int(tags::INSTANCE_NUMBER),
        image_type: r.text(tags::IMAGE_TYPE),
        rows: r.int(tags::ROWS),
        columns: r.int(tags::COLUMNS),
        number_of_frames: r.int(tags::NUMBER_OF_FRAMES),
        bits_allocated: r.int(tags::BITS_ALLOCATED),
        photometric_interpretation: r.text(tags::PHOTOMETRIC_INTERPRETATION),
        transfer_syntax_uid: transfer_syntax.map(|t| t.trim_end_matches(['\0', ' ']).to_string()),
        slice_thickness_mm: r.float(tags::SLICE_THICKNESS),
        pixel_spacing_mm: r.text(tags::PIXEL_SPACING),
        kvp: r.float(tags::KVP),
        contrast_bolus_agent: r.text(tags::CONTRAST_BOLUS_AGENT),
        burned_in_annotation: r.text(tags::BURNED_IN_ANNOTATION),
        specific_character_set: charset,
        text_lossy: false,
    };
    rec.text_lossy = r.lossy;
    Ok(rec)
}

/// `YYYYMMDD` (or the ACR-NEMA `YYYY.MM.DD`) to `YYYY-MM-DD`, if valid.
pub(crate) fn normalise_date(da: &str) -> Option<String> {
    let digits: String = da.chars().filter(|c| *c != '.').collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m, d) = (&digits[0..4], &digits[4..6], &digits[6..8]);
    let (mi, di): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&mi) || !(1..=31).contains(&di) {
        return None;
    }
    Some(format!("{y}-{m}-{d}"))
}

/// `HHMMSS[.frac]` (or `HH:MM:SS`) to `HH:MM:SS`, missing parts as zero.
pub(crate) fn normalise_time(tm: &str) -> Option<String> {
    let main = tm.split('.').next()?;
    let digits: String = main.chars().filter(|c| *c != ':').collect();
    if digits.len() < 2 || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = format!("{digits:0<6}");
    let (h, m, s) = (&padded[0..2], &padded[2..4], &padded[4..6]);
    if h > "23" || m > "59" || s > "60" {
        return None;
    }
    Some(format!("{h}:{m}:{s}"))
}

/// An Age String (`nnnD/W/M/Y`) in whole years.
pub(crate) fn age_string_years(age: &str) -> Option<i64> {
    let age = age.trim();
    if age.len() < 2 {
        return None;
    }
    let (num, unit) = age.split_at(age.len() - 1);
    let n: i64 = num.trim().parse().ok()?;
    let years = match unit {
        "Y" | "y" => n,
        "M" | "m" => n / 12,
        "W" | "w" => n / 52,
        "D" | "d" => n / 365,
        _ => return None,
    };
    (0..=150).contains(&years).then_some(years)
}

/// Whole years from `birth` to `on` (both `YYYY-MM-DD`).
pub(crate) fn years_between(birth: &str, on: &str) -> Option<i64> {
    let p = |s: &str| -> Option<(i64, i64, i64)> {
        Some((
            s[0..4].parse().ok()?,
            s[5..7].parse().ok()?,
            s[8..10].parse().ok()?,
        ))
    };
    let (by, bm, bd) = p(birth)?;
    let (y, m, d) = p(on)?;
    let mut years = y - by;
    if (m, d) < (bm, bd) {
        years -= 1;
    }
    (0..=150).contains(&years).then_some(years)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_normalise() {
        assert_eq!(normalise_date("20240229").as_deref(), Some("2024-02-29"));
        assert_eq!(normalise_date("2024.02.29").as_deref(), Some("2024-02-29"));
        assert_eq!(normalise_date("20241301"), None);
        assert_eq!(normalise_date("2024"), None);
        assert_eq!(normalise_time("101502.123").as_deref(), Some("10:15:02"));
        assert_eq!(normalise_time("1015").as_deref(), Some("10:15:00"));
        assert_eq!(normalise_time("10:15:02").as_deref(), Some("10:15:02"));
        assert_eq!(normalise_time("99"), None);
    }

    #[test]
    fn ages() {
        assert_eq!(age_string_years("045Y"), Some(45));
        assert_eq!(age_string_years("018M"), Some(1));
        assert_eq!(age_string_years("003W"), Some(0));
        assert_eq!(age_string_years("abc"), None);
        assert_eq!(years_between("1980-06-15", "2020-06-14"), Some(39));
        assert_eq!(years_between("1980-06-15", "2020-06-15"), Some(40));
        assert_eq!(years_between("2030-01-01", "2020-01-01"), None);
    }

    #[test]
    fn octal_escapes_are_detected() {
        assert!(has_octal_escape("ab\\351c"));
        assert!(!has_octal_escape("a\\b"));
    }
}
