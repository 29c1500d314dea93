//! Applying the profile to a data set, at every sequence depth: what the
//! export (and the preview, which must show exactly what is exported) runs
//! on each object. Pure: no files, no logging of values.

use super::dates::{cap_age, shift_da, shift_dt};
use super::profile::{Decision, Options, Profile};
use super::pseudonym::{self, Key};
use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use std::collections::HashSet;

/// What stays the same for every object of one patient.
#[derive(Debug, Clone)]
pub struct PatientContext {
    /// The pseudonymous patient ID (also used as the patient's name).
    pub pseudonym: String,
    /// Whole days added to every date and datetime.
    pub date_offset_days: i64,
}

impl PatientContext {
    /// The context of a source patient under `key`.
    pub fn new(key: &Key, issuer: &str, patient_id: &str) -> Self {
        PatientContext {
            pseudonym: pseudonym::patient_id(key, issuer, patient_id, "P"),
            date_offset_days: pseudonym::date_offset_days(key, issuer, patient_id),
        }
    }
}

/// Everything one de-identification run needs.
pub struct Deidentifier<'a> {
    pub profile: &'a Profile,
    pub options: Options,
    pub key: &'a Key,
}

const MAX_DEPTH: usize = 64;

impl Deidentifier<'_> {
    /// De-identifies `obj` (a data set without file meta) for `patient`.
    pub fn apply(&self, obj: InMemDicomObject, patient: &PatientContext) -> InMemDicomObject {
        let mut out = self.clean(obj, patient, 0);
        self.insert_markers(&mut out, patient);
        out
    }

    fn clean(
        &self,
        obj: InMemDicomObject,
        patient: &PatientContext,
        depth: usize,
    ) -> InMemDicomObject {
        let mut out = InMemDicomObject::new_empty();
        let safe_private = if self.options.retain_safe_private {
            self.safe_private_tags(&obj)
        } else {
            HashSet::new()
        };
        for elem in obj {
            let tag = elem.tag();
            let vr = elem.vr();
            if tag.0 == 0x0002 {
                continue; // the file meta is written anew
            }
            if is_overlay_group(tag) {
                // The whole overlay plane goes, not only its data: a plane
                // described without Overlay Data (Type 1) is invalid.
                continue;
            }
            let resolved = if is_private(tag) {
                // Private: removed unless on the vetted allow-list.
                if !safe_private.contains(&tag) {
                    continue;
                }
                Decision::Keep
            } else {
                self.profile.decide((tag.0, tag.1), &self.options)
            };
            let (header, value) = elem.into_parts();
            // Identity of the patient: keyed pseudonyms rather than empty
            // values, so exports stay linkable over time.
            let resolved = match tag {
                tags::PATIENT_ID | tags::PATIENT_NAME => Decision::Pseudonym,
                // A retained age is still capped at 90 (HIPAA Safe Harbor).
                tags::PATIENT_AGE if resolved == Decision::Keep => Decision::Clean,
                _ => resolved,
            };
            match (resolved, value) {
                (Decision::Remove, _) => {}
                (_, Value::Sequence(seq)) => {
                    if depth >= MAX_DEPTH {
                        continue;
                    }
                    if matches!(resolved, Decision::Empty | Decision::Dummy) {
                        out.put(DataElement::new(
                            tag,
                            VR::SQ,
                            DataSetSequence::<InMemDicomObject>::from(Vec::new()),
                        ));
                        continue;
                    }
                    let items: Vec<InMemDicomObject> = seq
                        .into_items()
                        .into_iter()
                        .map(|i| self.clean(i, patient, depth + 1))
                        .collect();
                    out.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
                }
                (Decision::Keep, value) => {
                    out.put(DataElement::new(tag, header.vr(), value));
                }
                (Decision::Empty, _) => {
                    out.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
                }
                (Decision::Dummy, _) => {
                    out.put(DataElement::new(tag, vr, dummy(vr)));
                }
                (Decision::Pseudonym, _) => {
                    out.put(DataElement::new(
                        tag,
                        vr,
                        PrimitiveValue::from(patient.pseudonym.as_str()),
                    ));
                }
                (Decision::Uid, Value::Primitive(p)) => {
                    let uids: Vec<String> = p
                        .to_str()
                        .split('\\')
                        .map(|u| pseudonym::uid(self.key, u.trim_end_matches(['\0', ' '])))
                        .collect();
                    out.put(DataElement::new(
                        tag,
                        VR::UI,
                        PrimitiveValue::from(uids.join("\\")),
                    ));
                }
                (Decision::Clean, Value::Primitive(p)) => {
                    if let Some(v) = self.cleaned(vr, &p, patient) {
                        out.put(DataElement::new(tag, vr, v));
                    }
                }
                // Anything else (pixel fragments under a U/C action): removed.
                _ => {}
            }
        }
        out
    }

    /// The private elements of one data set that the allow-list keeps, with
    /// the private creator elements they need (and no others).
    fn safe_private_tags(&self, obj: &InMemDicomObject) -> HashSet<Tag> {
        let mut keep = HashSet::new();
        for e in obj.iter() {
            let Tag(group, element) = e.tag();
            let block = (element >> 8) as u8;
            if group % 2 == 0 || block < 0x10 {
                continue; // standard, group length or a creator itself
            }
            let creator_tag = Tag(group, block as u16);
            let creator = obj.get(creator_tag).and_then(|c| {
                c.to_str()
                    .ok()
                    .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
            });
            if let Some(creator) = creator {
                if self
                    .profile
                    .is_safe_private(&creator, group, (element & 0xFF) as u8)
                {
                    keep.insert(e.tag());
                    keep.insert(creator_tag);
                }
            }
        }
        keep
    }

    /// The cleaned value of a `C` attribute, or `None` to remove it.
    fn cleaned(
        &self,
        vr: VR,
        p: &PrimitiveValue,
        patient: &PatientContext,
    ) -> Option<PrimitiveValue> {
        let text = p.to_str();
        match vr {
            VR::DA => shift_da(&text, patient.date_offset_days).map(PrimitiveValue::from),
            VR::DT => shift_dt(&text, patient.date_offset_days).map(PrimitiveValue::from),
            // Times move with their dates (whole-day shifts): kept.
            VR::TM => Some(p.clone()),
            VR::AS => cap_age(&text).map(PrimitiveValue::from),
            // Descriptions: with Clean Descriptors, only safe words stay.
            VR::LO | VR::SH | VR::ST | VR::LT | VR::UT | VR::UC | VR::CS
                if self.options.clean_descriptors =>
            {
                let cleaned = clean_descriptor(&text);
                Some(if cleaned.is_empty() {
                    PrimitiveValue::Empty
                } else {
                    PrimitiveValue::from(cleaned)
                })
            }
            _ => None,
        }
    }

    /// PatientIdentityRemoved, DeidentificationMethod and the CID 7050 codes
    /// of exactly what was applied.
    fn insert_markers(&self, out: &mut InMemDicomObject, _patient: &PatientContext) {
        out.put(DataElement::new(
            tags::PATIENT_IDENTITY_REMOVED,
            VR::CS,
            PrimitiveValue::from("YES"),
        ));
        let codes = self.options.method_codes();
        // Two values, each within LO's 64 characters even with every
        // option on: who did it, and the codes of what was applied.
        let method = [
            format!("pacs-cohort {}", env!("CARGO_PKG_VERSION")),
            codes.iter().map(|c| c.0).collect::<Vec<_>>().join(" "),
        ];
        out.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            PrimitiveValue::Strs(method.into_iter().collect()),
        ));
        let items: Vec<InMemDicomObject> = codes
            .iter()
            .map(|(value, meaning)| {
                InMemDicomObject::from_element_iter([
                    DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from(*value)),
                    DataElement::new(
                        tags::CODING_SCHEME_DESIGNATOR,
                        VR::SH,
                        PrimitiveValue::from("DCM"),
                    ),
                    DataElement::new(tags::CODE_MEANING, VR::LO, PrimitiveValue::from(*meaning)),
                ])
            })
            .collect();
        out.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(items),
        ));
        let modified = if self.options.retain_long_full_dates {
            "UNMODIFIED"
        } else if self.options.retain_long_modified_dates {
            "MODIFIED"
        } else {
            "REMOVED"
        };
        out.put(DataElement::new(
            tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
            VR::CS,
            PrimitiveValue::from(modified),
        ));
    }
}

const VOCABULARY: &str = include_str!("../../assets/deid/safe-descriptor-vocabulary.txt");

/// Keeps only words of the safe vocabulary (and numbers with a unit, like
/// `1.25MM`); everything else, names and plain numbers included, goes.
pub fn clean_descriptor(text: &str) -> String {
    use std::sync::OnceLock;
    static WORDS: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    let words = WORDS.get_or_init(|| {
        VOCABULARY
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    });
    let with_unit = |w: &str| {
        ["MM", "CM", "KV", "MAS", "ML"].iter().any(|u| {
            w.strip_suffix(u)
                .is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok())
        })
    };
    text.split(|c: char| !(c.is_alphanumeric() || c == '.'))
        .map(|w| w.trim_matches('.').to_uppercase())
        .filter(|w| !w.is_empty() && (words.contains(w.as_str()) || with_unit(w)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A dummy value of the right VR.
fn dummy(vr: VR) -> PrimitiveValue {
    match vr {
        VR::DA => PrimitiveValue::from("19000101"),
        VR::TM => PrimitiveValue::from("000000"),
        VR::DT => PrimitiveValue::from("19000101000000"),
        VR::IS | VR::DS => PrimitiveValue::from("0"),
        VR::AS => PrimitiveValue::from("000Y"),
        VR::UI => PrimitiveValue::from("2.25.0"),
        VR::US | VR::SS | VR::UL | VR::SL | VR::FL | VR::FD | VR::OB | VR::OW | VR::UN => {
            PrimitiveValue::Empty
        }
        _ => PrimitiveValue::from("ANONYMIZED"),
    }
}

/// Whether an element belongs to an overlay plane (groups 6000-601E, even).
fn is_overlay_group(tag: Tag) -> bool {
    (0x6000..=0x601E).contains(&tag.0) && tag.0 % 2 == 0
}

/// Whether an element is private (odd group).
pub fn is_private(tag: Tag) -> bool {
    tag.0 % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
        InMemDicomObject::from_element_iter(elements)
    }

    /// The CID 7050 code values inserted into an object.
    fn method_codes(o: &InMemDicomObject) -> Vec<String> {
        o.get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
            .and_then(|e| e.items())
            .unwrap()
            .iter()
            .filter_map(|i| text(i, tags::CODE_VALUE))
            .collect()
    }

    fn text(o: &InMemDicomObject, tag: Tag) -> Option<String> {
        o.get(tag)
            .map(|e| e.to_str().map(|s| s.to_string()).unwrap_or_default())
    }

    #[test]
    fn identifiers_go_uids_remap_dates_shift_and_sequences_are_cleaned() {
        let key = Key([3; 32]);
        let profile = Profile::standard();
        let d = Deidentifier {
            profile: &profile,
            options: Options {
                retain_long_modified_dates: true,
                ..Default::default()
            },
            key: &key,
        };
        let patient = PatientContext::new(&key, "", "MRN42");
        let nested = obj(vec![
            DataElement::new(
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from("1.2.3.4.5"),
            ),
            DataElement::new(
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.2"),
            ),
            DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from("Doe^Jane")),
        ]);
        let source = obj(vec![
            DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from("Doe^Jane")),
            DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::from("MRN42")),
            DataElement::new(
                tags::PATIENT_BIRTH_DATE,
                VR::DA,
                PrimitiveValue::from("19600115"),
            ),
            DataElement::new(tags::PATIENT_AGE, VR::AS, PrimitiveValue::from("095Y")),
            DataElement::new(tags::STUDY_DATE, VR::DA, PrimitiveValue::from("20240301")),
            DataElement::new(tags::STUDY_TIME, VR::TM, PrimitiveValue::from("235959")),
            DataElement::new(tags::ACCESSION_NUMBER, VR::SH, PrimitiveValue::from("ACC1")),
            DataElement::new(
                tags::INSTITUTION_NAME,
                VR::LO,
                PrimitiveValue::from("Northfield General"),
            ),
            DataElement::new(
                tags::SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from("1.2.3.4.5"),
            ),
            DataElement::new(
                tags::SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.2"),
            ),
            DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("CT")),
            DataElement::new(
                Tag(0x0009, 0x0010),
                VR::LO,
                PrimitiveValue::from("ACME private creator"),
            ),
            DataElement::new(
                Tag(0x6000, 0x3000),
                VR::OW,
                PrimitiveValue::from(vec![0u8; 4]),
            ),
            DataElement::new(Tag(0x6002, 0x0010), VR::US, PrimitiveValue::from(512u16)),
            DataElement::new(
                tags::ICON_IMAGE_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![obj(vec![DataElement::new(
                    tags::ROWS,
                    VR::US,
                    PrimitiveValue::from(64u16),
                )])]),
            ),
            DataElement::new(
                tags::REFERENCED_IMAGE_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![nested]),
            ),
        ]);
        let out = d.apply(source, &patient);
        assert_eq!(
            text(&out, tags::PATIENT_ID).as_deref(),
            Some(patient.pseudonym.as_str())
        );
        assert_eq!(
            text(&out, tags::PATIENT_NAME).as_deref(),
            Some(patient.pseudonym.as_str())
        );
        let birth = text(&out, tags::PATIENT_BIRTH_DATE);
        assert_ne!(
            birth.as_deref(),
            Some("19600115"),
            "birth date not kept as is: {birth:?}"
        );
        assert_eq!(
            text(&out, tags::ACCESSION_NUMBER).as_deref(),
            Some(""),
            "Z: emptied"
        );
        assert_eq!(out.get(tags::INSTITUTION_NAME), None, "X");
        let shifted = shift_da("20240301", patient.date_offset_days).unwrap();
        assert_eq!(
            text(&out, tags::STUDY_DATE).as_deref(),
            Some(shifted.as_str())
        );
        assert_eq!(
            text(&out, tags::STUDY_TIME).as_deref(),
            Some("235959"),
            "times move with whole days"
        );
        let new_uid = pseudonym::uid(&key, "1.2.3.4.5");
        assert_eq!(
            text(&out, tags::SOP_INSTANCE_UID).as_deref(),
            Some(new_uid.as_str())
        );
        assert_eq!(
            text(&out, tags::SOP_CLASS_UID).as_deref(),
            Some("1.2.840.10008.5.1.4.1.1.2"),
            "class UIDs kept"
        );
        assert_eq!(text(&out, tags::MODALITY).as_deref(), Some("CT"));
        assert!(out.get(Tag(0x0009, 0x0010)).is_none(), "private removed");
        assert!(out.get(Tag(0x6000, 0x3000)).is_none(), "overlay removed");
        assert!(
            out.get(Tag(0x6002, 0x0010)).is_none(),
            "the whole overlay plane"
        );
        assert!(
            out.get(tags::ICON_IMAGE_SEQUENCE).is_none(),
            "icon image removed"
        );
        let items = out
            .get(tags::REFERENCED_IMAGE_SEQUENCE)
            .and_then(|e| e.items())
            .unwrap();
        assert_eq!(
            text(&items[0], tags::REFERENCED_SOP_INSTANCE_UID).as_deref(),
            Some(new_uid.as_str()),
            "references follow"
        );
        assert_eq!(
            text(&items[0], tags::PATIENT_NAME).as_deref(),
            Some(patient.pseudonym.as_str()),
            "nested PHI too"
        );
        assert_eq!(
            text(&out, tags::PATIENT_IDENTITY_REMOVED).as_deref(),
            Some("YES")
        );
        let codes = method_codes(&out);
        assert_eq!(codes, ["113100", "113107"], "exactly the options applied");
    }

    #[test]
    fn descriptors_keep_only_safe_words() {
        assert_eq!(clean_descriptor("CT chest - Quartermaine 55F"), "CT CHEST");
        assert_eq!(
            clean_descriptor("AXIAL 1.25MM LUNG (Dr. Smith)"),
            "AXIAL 1.25MM LUNG"
        );
        assert_eq!(clean_descriptor("MRN 1234567 brain"), "BRAIN");
        assert_eq!(clean_descriptor("T1 AX POST"), "T1 AX POST");
        assert_eq!(clean_descriptor("Hortensia"), "");
    }

    #[test]
    fn retained_ages_are_capped() {
        let key = Key([4; 32]);
        let profile = Profile::standard();
        let d = Deidentifier {
            profile: &profile,
            options: Options {
                retain_patient_characteristics: true,
                ..Default::default()
            },
            key: &key,
        };
        let patient = PatientContext::new(&key, "", "X");
        let out = d.apply(
            obj(vec![
                DataElement::new(tags::PATIENT_AGE, VR::AS, PrimitiveValue::from("095Y")),
                DataElement::new(tags::PATIENT_SEX, VR::CS, PrimitiveValue::from("F")),
            ]),
            &patient,
        );
        assert_eq!(text(&out, tags::PATIENT_AGE).as_deref(), Some("090Y"));
        assert_eq!(text(&out, tags::PATIENT_SEX).as_deref(), Some("F"));
        let codes = method_codes(&out);
        assert_eq!(codes, ["113100", "113108"]);
        assert_eq!(
            text(&out, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(),
            Some("REMOVED")
        );
        for (options, want) in [
            (
                Options {
                    retain_long_full_dates: true,
                    ..Default::default()
                },
                "UNMODIFIED",
            ),
            (
                Options {
                    retain_long_modified_dates: true,
                    ..Default::default()
                },
                "MODIFIED",
            ),
        ] {
            let d = Deidentifier {
                profile: &profile,
                options,
                key: &key,
            };
            let out = d.apply(obj(vec![]), &patient);
            assert_eq!(
                text(&out, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(),
                Some(want)
            );
        }
    }

    #[test]
    fn retain_safe_private_keeps_only_allow_listed_elements_and_their_creator() {
        let key = Key([5; 32]);
        let list = crate::deid::profile::parse_safe_private("ACME 1.0 | 0009 | 10\n");
        let profile = Profile::standard().with_safe_private(list);
        let patient = PatientContext::new(&key, "", "X");
        let source = || {
            obj(vec![
                DataElement::new(
                    Tag(0x0009, 0x0010),
                    VR::LO,
                    PrimitiveValue::from("ACME 1.0"),
                ),
                DataElement::new(Tag(0x0009, 0x0011), VR::LO, PrimitiveValue::from("OTHER")),
                DataElement::new(Tag(0x0009, 0x1010), VR::DS, PrimitiveValue::from("1.5")),
                DataElement::new(
                    Tag(0x0009, 0x1011),
                    VR::LO,
                    PrimitiveValue::from("Doe^Jane"),
                ),
                // The same low byte under another creator's block: not safe.
                DataElement::new(
                    Tag(0x0009, 0x1110),
                    VR::LO,
                    PrimitiveValue::from("Doe^Jane"),
                ),
            ])
        };
        let kept = |options: Options| {
            let d = Deidentifier {
                profile: &profile,
                options,
                key: &key,
            };
            let out = d.apply(source(), &patient);
            let tags: Vec<Tag> = out
                .iter()
                .map(|e| e.tag())
                .filter(|t| is_private(*t))
                .collect();
            (tags, method_codes(&out))
        };
        let (tags, codes) = kept(Options {
            retain_safe_private: true,
            ..Default::default()
        });
        assert_eq!(tags, [Tag(0x0009, 0x0010), Tag(0x0009, 0x1010)]);
        assert_eq!(codes, ["113100", "113111"]);
        let (tags, codes) = kept(Options::default());
        assert!(tags.is_empty(), "option off: every private element goes");
        assert_eq!(codes, ["113100"]);
        // The shipped list is empty: the option alone keeps nothing.
        let shipped = Profile::standard();
        let d = Deidentifier {
            profile: &shipped,
            options: Options {
                retain_safe_private: true,
                ..Default::default()
            },
            key: &key,
        };
        let out = d.apply(source(), &patient);
        assert!(out.iter().all(|e| !is_private(e.tag())));
    }

    #[test]
    fn compound_codes_give_type_1_a_dummy_type_2_an_empty_value_and_remove_the_rest() {
        let key = Key([6; 32]);
        let profile = Profile::standard();
        let d = Deidentifier {
            profile: &profile,
            options: Options::default(),
            key: &key,
        };
        let patient = PatientContext::new(&key, "", "X");
        let out = d.apply(
            obj(vec![
                DataElement::new(
                    tags::DEVICE_SERIAL_NUMBER,
                    VR::LO,
                    PrimitiveValue::from("SN-99812"),
                ),
                DataElement::new(
                    tags::ACQUISITION_DATE_TIME,
                    VR::DT,
                    PrimitiveValue::from("20240301101010"),
                ),
                DataElement::new(
                    tags::CONTRAST_BOLUS_AGENT,
                    VR::LO,
                    PrimitiveValue::from("Omnipaque"),
                ),
                DataElement::new(
                    tags::STATION_NAME,
                    VR::SH,
                    PrimitiveValue::from("CT-NORTH-2"),
                ),
                DataElement::new(
                    tags::ACQUISITION_DATE,
                    VR::DA,
                    PrimitiveValue::from("20240301"),
                ),
            ]),
            &patient,
        );
        assert_eq!(
            text(&out, tags::DEVICE_SERIAL_NUMBER).as_deref(),
            Some("ANONYMIZED")
        );
        assert_eq!(
            text(&out, tags::ACQUISITION_DATE_TIME).as_deref(),
            Some("19000101000000")
        );
        assert_eq!(text(&out, tags::CONTRAST_BOLUS_AGENT).as_deref(), Some(""));
        assert_eq!(out.get(tags::STATION_NAME), None);
        assert_eq!(out.get(tags::ACQUISITION_DATE), None);
    }

    #[test]
    fn uids_stay_consistent_across_a_study_and_names_in_any_charset_go() {
        let key = Key([7; 32]);
        let profile = Profile::standard();
        let d = Deidentifier {
            profile: &profile,
            options: Options::default(),
            key: &key,
        };
        let patient = PatientContext::new(&key, "", "MRN9");
        let instance = |sop: &str, referenced: &str| {
            obj(vec![
                DataElement::new(
                    tags::SPECIFIC_CHARACTER_SET,
                    VR::CS,
                    PrimitiveValue::from("ISO_IR 100"),
                ),
                DataElement::new(
                    tags::PATIENT_NAME,
                    VR::PN,
                    PrimitiveValue::from("Østergaard^Clara"),
                ),
                DataElement::new(
                    tags::STUDY_INSTANCE_UID,
                    VR::UI,
                    PrimitiveValue::from("1.2.3.1"),
                ),
                DataElement::new(
                    tags::SERIES_INSTANCE_UID,
                    VR::UI,
                    PrimitiveValue::from("1.2.3.1.1"),
                ),
                DataElement::new(
                    tags::FRAME_OF_REFERENCE_UID,
                    VR::UI,
                    PrimitiveValue::from("1.2.3.9"),
                ),
                DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(sop)),
                DataElement::new(
                    tags::SOURCE_IMAGE_SEQUENCE,
                    VR::SQ,
                    DataSetSequence::from(vec![obj(vec![DataElement::new(
                        tags::REFERENCED_SOP_INSTANCE_UID,
                        VR::UI,
                        PrimitiveValue::from(referenced),
                    )])]),
                ),
            ])
        };
        let a = d.apply(instance("1.2.3.1.1.1", "1.2.3.1.1.2"), &patient);
        let b = d.apply(instance("1.2.3.1.1.2", "1.2.3.1.1.1"), &patient);
        for t in [
            tags::STUDY_INSTANCE_UID,
            tags::SERIES_INSTANCE_UID,
            tags::FRAME_OF_REFERENCE_UID,
        ] {
            assert_eq!(
                text(&a, t),
                text(&b, t),
                "{t:?} the same in the whole study"
            );
            assert!(text(&a, t).unwrap().starts_with("2.25."));
        }
        assert_ne!(
            text(&a, tags::SOP_INSTANCE_UID),
            text(&b, tags::SOP_INSTANCE_UID)
        );
        let referenced = |o: &InMemDicomObject| {
            text(
                &o.get(tags::SOURCE_IMAGE_SEQUENCE).unwrap().items().unwrap()[0],
                tags::REFERENCED_SOP_INSTANCE_UID,
            )
        };
        assert_eq!(
            referenced(&a),
            text(&b, tags::SOP_INSTANCE_UID),
            "X/Z/U*: the reference follows"
        );
        assert_eq!(referenced(&b), text(&a, tags::SOP_INSTANCE_UID));
        assert_eq!(
            text(&a, tags::PATIENT_NAME).as_deref(),
            Some(patient.pseudonym.as_str())
        );
        assert_eq!(
            text(&a, tags::SPECIFIC_CHARACTER_SET).as_deref(),
            Some("ISO_IR 100")
        );
    }

    #[test]
    fn the_method_stays_a_valid_lo_with_every_option_on() {
        let key = Key([8; 32]);
        let profile = Profile::standard();
        let d = Deidentifier {
            profile: &profile,
            options: Options {
                retain_safe_private: true,
                retain_uids: true,
                retain_device_identity: true,
                retain_institution_identity: true,
                retain_patient_characteristics: true,
                retain_long_full_dates: true,
                clean_descriptors: true,
                ..Default::default()
            },
            key: &key,
        };
        let out = d.apply(obj(vec![]), &PatientContext::new(&key, "", "X"));
        let method = out.get(tags::DEIDENTIFICATION_METHOD).unwrap();
        let values: Vec<String> = method.value().to_multi_str().unwrap().to_vec();
        assert_eq!(values.len(), 2);
        assert!(values.iter().all(|v| v.len() <= 64), "{values:?}");
        assert_eq!(method_codes(&out).len(), 8);
    }
}
