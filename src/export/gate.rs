//! The residual-PHI gate: what to look for (every source value the profile
//! did not keep verbatim, recorded by the de-identifier's trace,
//! DECISIONS 21) and how (raw bytes of every file, inflated when deflated,
//! for long identities; every decoded value at every depth, binary ones as
//! text, for all), plus the checks that the required insertions are present.
//! A match the profile explains is not a finding: a vocabulary word inside a
//! cleaned descriptor, removed text inside an attribute kept on purpose, a
//! shifted date of another patient, a short number inside a numeric value.

use super::{ExportError, Finding, FindingKind, SourceFile};
use crate::deid::apply::{is_safe_descriptor, tag_text, Deidentifier, PatientContext, Trace};
use crate::deid::profile::{Decision, Options, Profile};
use crate::deid::scan::{Hit, Needle, NeedleKind, Scanner};
use crate::dicom::read_whole;
use dicom_core::header::Header;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use std::io::Read;
use std::path::Path;

/// Values and variants at least this long are also searched in the raw
/// bytes of every file (binary parts included); shorter ones (3-5
/// characters, like short given names) only in decoded values, where a
/// chance match in compressed or pixel bytes cannot raise a false alarm
/// (seen: "oBI" in deflated bytes).
const RAW_SCAN_MIN_LEN: usize = 6;

/// The compiled needles and what explains a match.
pub struct Scanners {
    /// Long identities and written-out dates, for raw bytes.
    long: Scanner,
    /// Everything, for decoded values.
    all: Scanner,

    profile: Profile,
    options: Options,
}

impl Scanners {
    /// Raw bytes get identities of 6 characters or more that are not made
    /// of vocabulary words alone (those are explained where Clean
    /// Descriptors keeps them, which only a decoded value can tell), and
    /// dates in written forms with separators (8 bare digits turn up in
    /// binary data and as other patients' shifted dates by chance).
    pub fn new(needles: &[Needle], profile: &Profile, options: &Options) -> Scanners {
        let raw = |n: &Needle, v: &[u8]| {
            v.len() >= RAW_SCAN_MIN_LEN
                && match n.kind {
                    NeedleKind::Identity => !is_safe_descriptor(&String::from_utf8_lossy(v)),
                    NeedleKind::Date => !v.iter().all(u8::is_ascii_digit),
                    NeedleKind::Text => false,
                }
        };
        Scanners {
            long: Scanner::build(needles, raw),
            all: Scanner::new(needles),
            profile: profile.clone(),
            options: *options,
        }
    }

    /// Whether the profile explains a match inside a decoded value.
    fn explained(&self, hit: &Hit, value: &TextValue) -> bool {
        let tag = (value.tag.0, value.tag.1);
        let decision = self.profile.decide_element(tag, value.vr, &self.options).0;
        let cleaned_descriptor = value.tag == tags::CODE_MEANING
            || (decision == Decision::Clean
                && self.options.clean_descriptors
                && matches!(
                    value.vr,
                    VR::LO | VR::SH | VR::ST | VR::LT | VR::UT | VR::UC
                ));
        let short = hit.variant.len() < RAW_SCAN_MIN_LEN;
        let numeric = matches!(value.vr, VR::IS | VR::DS | VR::UI);
        match hit.kind {
            // Other dates of the output were shifted (or kept with Full
            // Dates): a date element holding an original date of some
            // patient is a coincidence, unless it is the birth date in its
            // own element.
            NeedleKind::Date => {
                numeric
                    || (matches!(value.vr, VR::DA | VR::DT)
                        && !(hit.attribute == BIRTH_DATE && value.tag == tags::PATIENT_BIRTH_DATE))
            }
            _ if numeric && (short || !hit.variant.bytes().any(|b| b.is_ascii_digit())) => true,
            _ if cleaned_descriptor && is_safe_descriptor(&hit.variant) => true,
            NeedleKind::Text => {
                cleaned_descriptor || self.profile.keeps_verbatim(tag, value.vr, &self.options)
            }
            NeedleKind::Identity => false,
        }
    }
}

/// A match in a file: where (byte offset in the file, or the tag path of
/// the decoded value it is in) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub hit: Hit,
    /// `(0040,0275)[0].(0032,1060)` for a match inside a decoded value;
    /// empty for a match in the raw bytes (then `hit.offset` says where).
    pub path: String,
}

/// Scans one file: its raw bytes (and inflated data set) for long
/// needles, and, when it parses as DICOM, every value at every depth for
/// all needles.
pub fn scan_file(bytes: &[u8], scanners: &Scanners) -> Vec<Located> {
    scan_parsed(bytes, scanners).0
}

const DEFLATE_TS: &str = "1.2.840.10008.1.2.1.99";

/// The inflated data set of a deflated Part-10 file (the meta group ends
/// where its group length says).
fn inflated_data_set(bytes: &[u8], obj: &DefaultDicomObject) -> Option<Vec<u8>> {
    if obj.meta().transfer_syntax().trim_end_matches('\0') != DEFLATE_TS {
        return None;
    }
    let group_length = u32::from_le_bytes(bytes.get(140..144)?.try_into().ok()?) as usize;
    let start = 144 + group_length;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(bytes.get(start..)?)
        .take(1 << 31)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// [`scan_file`], also handing back the parsed file (when it parses) so a
/// caller need not parse it again.
fn scan_parsed(bytes: &[u8], scanners: &Scanners) -> (Vec<Located>, Option<DefaultDicomObject>) {
    let raw = |b: &[u8], path: &str| -> Vec<Located> {
        scanners
            .long
            .scan(b)
            .into_iter()
            .filter(|hit| !inside_generated_token(b, hit.offset))
            .map(|hit| Located {
                hit,
                path: path.to_string(),
            })
            .collect()
    };
    let mut found = raw(bytes, "");
    let parsed = OpenFileOptions::new().from_reader(bytes).ok();
    // A file that is not DICOM (a manifest, a stray file) gets the raw
    // scan above only (short values are looked for in decoded values).
    if let Some(obj) = &parsed {
        if let Some(inflated) = inflated_data_set(bytes, obj) {
            found.extend(raw(&inflated, "(inflated data set)"));
        }
        let mut texts = Vec::new();
        collect_text(obj, "", &mut texts, 0);
        // Meta values too (written anew, but checked all the same).
        for e in obj.meta().to_element_iter() {
            if let Ok(v) = e.to_str() {
                texts.push(TextValue {
                    path: tag_text(e.tag()),
                    tag: e.tag(),
                    vr: e.vr(),
                    text: v.into_owned(),
                });
            }
        }
        for t in texts {
            if is_ours(&t) {
                continue;
            }
            // Offset 0: the hit is inside a decoded value, not at a byte position.
            for mut hit in scanners.all.scan(t.text.as_bytes()) {
                if scanners.explained(&hit, &t) {
                    continue;
                }
                hit.offset = 0;
                found.push(Located {
                    hit,
                    path: t.path.clone(),
                });
            }
        }
    }
    found.sort_by(|a, b| {
        (a.hit.offset, &a.path, &a.hit.attribute).cmp(&(b.hit.offset, &b.path, &b.hit.attribute))
    });
    found.dedup();
    (found, parsed)
}

/// Whether the byte at `offset` lies inside a token the export generated:
/// a keyed pseudonym (`P` + 12 base32 characters) or a hexadecimal digest
/// (32 characters or more). Letters and digits are separate tokens for the
/// scan (`MUELLER1965`), so a run of digits inside such a token would
/// otherwise match a short numeric ID by chance.
fn inside_generated_token(bytes: &[u8], offset: usize) -> bool {
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    let start = bytes[..offset]
        .iter()
        .rposition(|b| !alnum(b))
        .map_or(0, |i| i + 1);
    let end = bytes[offset..]
        .iter()
        .position(|b| !alnum(b))
        .map_or(bytes.len(), |i| offset + i);
    let run = &bytes[start..end];
    let pseudonym = run.len() == 13
        && run[0] == b'P'
        && run[1..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(b));
    let digest = run.len() >= 32 && run.iter().all(u8::is_ascii_hexdigit);
    pseudonym || digest
}

/// Values the de-identifier writes itself, whole: the method and its codes,
/// and the patient's keyed pseudonym (`P` + 12 base32 characters, in the
/// patient ID and name), which can hold a short original value by chance.
fn is_ours(t: &TextValue) -> bool {
    let pseudonym = |v: &str| {
        let v = v.trim_matches([' ', '\0']);
        v.len() == 13
            && v.starts_with('P')
            && v[1..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    };
    t.path.starts_with("(0012,0063)")
        || t.path.starts_with("(0012,0064)")
        || (matches!(t.tag, tags::PATIENT_ID | tags::PATIENT_NAME) && pseudonym(&t.text))
}

/// The attribute of the birth date needle.
const BIRTH_DATE: &str = "(0010,0030)";

/// A decoded value of a written file and where it is.
struct TextValue {
    path: String,
    tag: Tag,
    vr: VR,
    text: String,
}

/// Every value that can hold text, with its tag path: text VRs, and
/// byte values (OB, OW, UN, ...) read as text, except the pixel data.
fn collect_text(obj: &InMemDicomObject, prefix: &str, out: &mut Vec<TextValue>, depth: usize) {
    if depth > 32 {
        return;
    }
    for e in obj.iter() {
        let path = format!("{prefix}{}", tag_text(e.tag()));
        if let Some(items) = e.items() {
            for (i, item) in items.iter().enumerate() {
                collect_text(item, &format!("{path}[{i}]."), out, depth + 1);
            }
            continue;
        }
        let text = match e.vr() {
            VR::US | VR::SS | VR::UL | VR::SL | VR::FL | VR::FD | VR::AT | VR::SV | VR::UV => {
                continue
            }
            _ if e.tag() == tags::PIXEL_DATA => continue,
            VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN => match e.to_bytes() {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(_) => continue,
            },
            _ => match e.to_str() {
                Ok(v) => v.into_owned(),
                Err(_) => continue,
            },
        };
        out.push(TextValue {
            path,
            tag: e.tag(),
            vr: e.vr(),
            text,
        });
    }
}

fn finding(file: &str, l: Located) -> Finding {
    Finding {
        id: String::new(),
        file: file.to_string(),
        offset: l.hit.offset,
        path: l.path,
        attribute: l.hit.attribute,
        kind: FindingKind::ResidualValue,
        matched: l.hit.variant,
    }
}

/// The findings of one written file: residual values, and missing required
/// insertions (PatientIdentityRemoved = YES, DeidentificationMethod and its
/// code sequence).
pub fn check_written(file: &str, bytes: &[u8], scanners: &Scanners) -> Vec<Finding> {
    let (located, parsed) = scan_parsed(bytes, scanners);
    let mut findings: Vec<Finding> = located.into_iter().map(|l| finding(file, l)).collect();
    // The file as the scan parsed it; its header alone if the whole would
    // not parse.
    let header = parsed.or_else(|| {
        OpenFileOptions::new()
            .read_until(tags::PIXEL_DATA)
            .from_reader(bytes)
            .ok()
    });
    let text = |t: Tag| {
        header
            .as_ref()
            .and_then(|o| o.get(t))
            .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
    };
    let mut missing = |tag: Tag, what: &str| {
        findings.push(Finding {
            id: String::new(),
            file: file.to_string(),
            offset: 0,
            path: tag_text(tag),
            attribute: tag_text(tag),
            kind: FindingKind::MissingInsertion,
            matched: what.to_string(),
        })
    };
    if text(tags::PATIENT_IDENTITY_REMOVED).as_deref() != Some("YES") {
        missing(
            tags::PATIENT_IDENTITY_REMOVED,
            "PatientIdentityRemoved missing",
        );
    }
    if text(tags::DEIDENTIFICATION_METHOD).is_none_or(|s| s.is_empty()) {
        missing(
            tags::DEIDENTIFICATION_METHOD,
            "DeidentificationMethod missing",
        );
    }
    let codes = header
        .as_ref()
        .and_then(|o| o.get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE))
        .and_then(|e| e.items().map(|i| i.len()))
        .unwrap_or(0);
    if codes == 0 {
        missing(
            tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
            "DeidentificationMethodCodeSequence missing",
        );
    }
    findings
}

/// What the gate looks for in an export of `files` under `deid`: every
/// value the de-identification does not keep (found by running it), and
/// the files that could not be read.
pub fn source_needles(
    files: &[SourceFile],
    deid: &Deidentifier,
) -> (Vec<Needle>, Vec<(String, String)>) {
    let mut all = Trace::default();
    let mut skipped = Vec::new();
    for f in files {
        match read_whole(&f.path) {
            Ok(o) => {
                let patient = PatientContext::new(deid.key, &f.issuer, &f.patient_id);
                deid.apply_traced(o.into_inner(), &patient, &mut all);
                if all.needles.len() > 100_000 {
                    // Each value once (a cohort repeats them in every file).
                    all.needles.sort();
                    all.needles.dedup();
                }
            }
            Err(reason) => skipped.push((f.path.display().to_string(), reason)),
        }
    }
    (all.gate_needles(), skipped)
}

/// Scans every file under `dir` for the needles (the gate, run alone).
pub fn scan_folder(
    dir: &Path,
    needles: &[Needle],
    profile: &Profile,
    options: &Options,
) -> Result<Vec<Finding>, ExportError> {
    let scanners = Scanners::new(needles, profile, options);
    let mut findings = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|e| ExportError::Io(e.to_string(), d.clone()))?;
        for e in rd {
            let p = e
                .map_err(|e| ExportError::Io(e.to_string(), d.clone()))?
                .path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).map_err(|e| ExportError::Io(e.to_string(), p.clone()))?;
            let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
            findings.extend(
                scan_file(&bytes, &scanners)
                    .into_iter()
                    .map(|l| finding(&rel, l)),
            );
        }
    }
    findings.sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deid::pseudonym::Key;
    use dicom_core::{DataElement, PrimitiveValue};
    use dicom_object::FileMetaTableBuilder;

    fn elem(tag: Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
        DataElement::new(tag, vr, PrimitiveValue::from(v))
    }

    /// A written file (explicit VR LE, or deflated) holding `elements`.
    fn file(elements: Vec<DataElement<InMemDicomObject>>, ts: &str) -> Vec<u8> {
        let mut obj = InMemDicomObject::from_element_iter(elements);
        obj.put(elem(
            tags::SOP_CLASS_UID,
            VR::UI,
            "1.2.840.10008.5.1.4.1.1.7",
        ));
        obj.put(elem(tags::SOP_INSTANCE_UID, VR::UI, "2.25.1"));
        let f = obj
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(ts)
                    .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
                    .media_storage_sop_instance_uid("2.25.1"),
            )
            .unwrap();
        let mut out = Vec::new();
        f.write_all(&mut out).unwrap();
        out
    }

    fn needle(attribute: &str, value: &str, kind: NeedleKind) -> Needle {
        Needle {
            attribute: attribute.into(),
            value: value.into(),
            kind,
        }
    }

    fn findings(needles: &[Needle], bytes: &[u8]) -> Vec<Located> {
        let opts = crate::deid::profile::Choices::default().options();
        scan_file(bytes, &Scanners::new(needles, &Profile::standard(), &opts))
    }

    const EXPLICIT: &str = "1.2.840.10008.1.2.1";

    #[test]
    fn a_surname_that_is_a_vocabulary_word_is_explained_only_in_a_cleaned_descriptor() {
        let name = [needle("(0010,0010)", "Stone^John", NeedleKind::Identity)];
        let cleaned = file(
            vec![elem(
                tags::STUDY_DESCRIPTION,
                VR::LO,
                "CT ABDOMEN PELVIS STONE PROTOCOL",
            )],
            EXPLICIT,
        );
        assert!(findings(&name, &cleaned).is_empty());
        let kept = file(vec![elem(tags::MANUFACTURER, VR::LO, "Stone")], EXPLICIT);
        assert_eq!(
            findings(&name, &kept).len(),
            1,
            "in a kept attribute it is a leak"
        );
        let comment = file(
            vec![elem(tags::IMAGE_COMMENTS, VR::LT, "John Stone")],
            EXPLICIT,
        );
        assert!(!findings(&name, &comment).is_empty());
    }

    #[test]
    fn a_short_id_is_searched_in_text_never_in_numbers() {
        let id = [needle("(0010,0020)", "120", NeedleKind::Identity)];
        let kvp = file(vec![elem(tags::KVP, VR::DS, "120")], EXPLICIT);
        assert!(findings(&id, &kvp).is_empty());
        let text = file(vec![elem(tags::IMAGE_COMMENTS, VR::LT, "id 120")], EXPLICIT);
        assert_eq!(findings(&id, &text).len(), 1);
        let long = [needle("(0010,0020)", "8812345", NeedleKind::Identity)];
        let slice = file(
            vec![elem(tags::SLICE_THICKNESS, VR::DS, "8812345")],
            EXPLICIT,
        );
        assert!(
            !findings(&long, &slice).is_empty(),
            "a long one is searched everywhere"
        );
    }

    #[test]
    fn removed_text_is_explained_only_where_the_profile_keeps_it() {
        let station = [needle("(0008,1010)", "TOSHIBA", NeedleKind::Text)];
        let kept = file(vec![elem(tags::MANUFACTURER, VR::LO, "TOSHIBA")], EXPLICIT);
        assert!(findings(&station, &kept).is_empty());
        // A value in an attribute the profile removes was not removed: a
        // failure of the de-identifier, which the gate must report.
        let leaked = file(
            vec![elem(tags::RETRIEVE_URL, VR::UR, "http://x/TOSHIBA")],
            EXPLICIT,
        );
        assert_eq!(findings(&station, &leaked).len(), 1);
    }

    #[test]
    fn dates_in_date_elements_are_coincidences_elsewhere_findings() {
        let dates = [
            needle(BIRTH_DATE, "19650412", NeedleKind::Date),
            needle("(0008,0020)", "20190307", NeedleKind::Date),
        ];
        let shifted = file(
            vec![
                elem(tags::STUDY_DATE, VR::DA, "20190307"),
                elem(tags::SERIES_DATE, VR::DA, "19650412"),
            ],
            EXPLICIT,
        );
        assert!(findings(&dates, &shifted).is_empty());
        let birth = file(
            vec![elem(tags::PATIENT_BIRTH_DATE, VR::DA, "19650412")],
            EXPLICIT,
        );
        assert_eq!(findings(&dates, &birth).len(), 1);
        let text = file(
            vec![elem(
                tags::IMAGE_COMMENTS,
                VR::LT,
                "dob 12.4.1965, seen 2019-03-07",
            )],
            EXPLICIT,
        );
        let hits = findings(&dates, &text);
        assert!(
            hits.iter().any(|l| l.hit.attribute == BIRTH_DATE),
            "{hits:?}"
        );
        assert!(
            hits.iter().any(|l| l.hit.attribute == "(0008,0020)"),
            "{hits:?}"
        );
    }

    #[test]
    fn deflated_pixel_bytes_and_byte_values_are_searched() {
        let name = [needle("(0010,0010)", "Mueller^Renee", NeedleKind::Identity)];
        let pixels = |ts: &str| {
            let mut data = vec![0u8; 64];
            data.extend_from_slice(b"MUELLER RENEE");
            data.resize(128, 0);
            let px = DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(data));
            file(vec![px], ts)
        };
        let deflated = pixels(DEFLATE_TS);
        assert!(
            !deflated.windows(7).any(|w| w == b"MUELLER"),
            "the test needs the name compressed"
        );
        let hits = findings(&name, &deflated);
        assert!(
            hits.iter().any(|l| l.path == "(inflated data set)"),
            "{hits:?}"
        );
        assert!(!findings(&name, &pixels(EXPLICIT)).is_empty());
        let doc = DataElement::new(
            tags::ENCAPSULATED_DOCUMENT,
            VR::OB,
            PrimitiveValue::from(b"%PDF Renee Mueller".to_vec()),
        );
        let short = [needle("(0010,0010)", "Li^Obi", NeedleKind::Identity)];
        let doc_short = DataElement::new(
            tags::ENCAPSULATED_DOCUMENT,
            VR::OB,
            PrimitiveValue::from(b"%PDF Obi ".to_vec()),
        );
        assert!(!findings(&name, &file(vec![doc], EXPLICIT)).is_empty());
        assert!(
            !findings(&short, &file(vec![doc_short], EXPLICIT)).is_empty(),
            "a short name in a byte value, read as text"
        );
    }

    #[test]
    fn digits_inside_pseudonyms_and_digests_are_coincidences() {
        let id = [needle("(0010,0020)", "234567", NeedleKind::Identity)];
        let ours = file(
            vec![elem(tags::PATIENT_ID, VR::LO, "PABC234567XYZ")],
            EXPLICIT,
        );
        assert!(findings(&id, &ours).is_empty());
        assert!(inside_generated_token(
            b"x,ab234567cd00112233445566778899aabbccddeeff,",
            4
        ));
        assert!(!inside_generated_token(b"id AB234567,", 5));
    }

    #[test]
    fn the_needles_are_what_the_de_identification_did_not_keep() {
        let key = Key([9; 32]);
        let profile = Profile::standard();
        let deid = Deidentifier {
            profile: &profile,
            options: crate::deid::profile::Choices::default().options(),
            key: &key,
        };
        let source = InMemDicomObject::from_element_iter([
            elem(tags::PATIENT_NAME, VR::PN, "Doe^Jane"),
            elem(tags::STUDY_ID, VR::SH, "ST7781"),
            elem(tags::ADMISSION_ID, VR::LO, "ADM55120"),
            elem(tags::RETRIEVE_URL, VR::UR, "http://pacs/MRN8812345"),
            elem(tags::MODALITY, VR::CS, "CT"),
            elem(tags::MANUFACTURER, VR::LO, "ACME"),
            elem(tags::STUDY_DATE, VR::DA, "20190307"),
        ]);
        let mut trace = Trace::default();
        let patient = PatientContext::new(&key, "", "MRN8812345");
        deid.apply_traced(source, &patient, &mut trace);
        let values: Vec<(&str, NeedleKind)> = trace
            .needles
            .iter()
            .map(|n| (n.value.as_str(), n.kind))
            .collect();
        for want in [
            ("Doe^Jane", NeedleKind::Identity),
            ("ST7781", NeedleKind::Identity),
            ("ADM55120", NeedleKind::Identity),
            ("http://pacs/MRN8812345", NeedleKind::Identity),
            ("20190307", NeedleKind::Date),
        ] {
            assert!(values.contains(&want), "{want:?} in {values:?}");
        }
        assert!(
            !values.iter().any(|(v, _)| *v == "CT" || *v == "ACME"),
            "kept"
        );
    }
}
