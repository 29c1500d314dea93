//! The residual-PHI gate: what to look for (every source value the profile
//! did not keep verbatim, recorded by the de-identifier's trace,
//! DECISIONS 21) and how (raw bytes of every file, inflated when deflated,
//! for long identities; every decoded value at every depth, binary ones as
//! text, for all), plus the checks that the required insertions are present.
//! A match the profile explains is not a finding: a vocabulary word inside a
//! cleaned descriptor, removed text inside an attribute kept on purpose, a
//! shifted date of another patient, a short number inside a numeric value.

use super::{ExportError, Finding, FindingKind, SourceFile};
use crate::deid::apply::{
    is_marker_token, is_safe_descriptor, Deidentifier, PatientContext, Trace,
};
use crate::deid::profile::{Options, Profile};
use crate::deid::scan::{Hit, Needle, NeedleKind, Scanner};
use crate::dicom::{read_whole, tag_text};
use dicom_core::header::Header;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use std::collections::{HashMap, HashSet};
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
    /// Kept text values many patients share (device constants).
    shared: HashSet<((u16, u16), String)>,
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
            shared: HashSet::new(),
        }
    }

    /// Kept values shared by many patients explain a match in them.
    pub fn with_shared(mut self, shared: HashSet<((u16, u16), String)>) -> Scanners {
        self.shared = shared;
        self
    }

    /// Whether the profile explains a match inside a decoded value of a
    /// file of patient `owner` (a pseudonym; empty when unknown).
    fn explained(&self, hit: &Hit, value: &TextValue, owner: &str) -> bool {
        let tag = (value.tag.0, value.tag.1);
        let numeric = matches!(value.vr, VR::IS | VR::DS | VR::UI);
        let dates_shifted = !self.options.retain_long_full_dates;
        if hit.kind == NeedleKind::Date {
            return if value.vr == VR::UI {
                // Kept UIDs (Retain UIDs) are the user's choice; replaced
                // ones are 2.25 decimals where digits touch digits.
                true
            } else if numeric {
                // An 8-digit date inside a number is no coincidence.
                hit.variant.len() < 8
            } else if matches!(value.vr, VR::DA | VR::DT) {
                // Every date element of the output was shifted: one holding
                // an original date is a coincidence (another patient's
                // shifted date), except the birth date in its own element.
                // With Full Dates nothing was shifted: no coincidence.
                dates_shifted
                    && !(hit.attribute == BIRTH_DATE && value.tag == tags::PATIENT_BIRTH_DATE)
            } else {
                false
            };
        }
        // Short values (numbers, 3-5 letter names) are IDs only in text:
        // inside a number or UID they are coincidences, and so is a longer
        // one that is only part of a number (MRN 703125 in a pixel spacing
        // of 0.703125); a whole value equal to it is not. Times are times.
        if value.vr == VR::TM {
            return true;
        }
        if numeric {
            let whole = value.text.split('\\').any(|v| {
                v.trim_matches([' ', '\0'])
                    .eq_ignore_ascii_case(&hit.variant)
            });
            if hit.variant.len() < RAW_SCAN_MIN_LEN || !whole {
                return true;
            }
        }
        // A value made only of safe vocabulary words (and numbers with a
        // unit), a cleaned description or a kept body part alike, holds no
        // name: a surname that is also such a word ("Stone", "Head") is
        // explained by the vocabulary, not leaked.
        if value.tag == tags::CODE_MEANING || is_safe_descriptor(&value.text) {
            return true;
        }
        let kept = self.profile.keeps_verbatim(tag, value.vr, &self.options);
        if !kept {
            return false;
        }
        // Inside an attribute kept on purpose: another patient's value is a
        // coincidence of the pooled search; a value many patients' files
        // share is a device constant ("NORM", "Philips"); a short number is
        // a version or a code ("DV26.0_R02_1831.b"); removed free text is
        // explained there (a station named like the manufacturer).
        let elsewhere = !owner.is_empty() && !hit.patient.is_empty() && hit.patient != owner;
        let shared = self
            .shared
            .contains(&(tag, value.text.trim().to_uppercase()));
        let short_number =
            hit.variant.len() < RAW_SCAN_MIN_LEN && hit.variant.bytes().all(|b| b.is_ascii_digit());
        hit.kind == NeedleKind::Text || elsewhere || shared || short_number
    }
}

/// The identities and dates found in a free text the export writes itself
/// (a waiver's reason): every length, no explanation.
pub fn text_hits(text: &str, scanners: &Scanners) -> Vec<Hit> {
    scanners
        .all
        .scan(text.as_bytes())
        .into_iter()
        .filter(|h| h.kind != NeedleKind::Text)
        .collect()
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

impl Located {
    /// A match in bytes (the file's, or its inflated data set), not in a
    /// decoded value.
    fn is_raw(&self) -> bool {
        self.path.is_empty() || self.path == INFLATED
    }
}

/// Where a match in the inflated data set of a deflated file is.
const INFLATED: &str = "(inflated data set)";

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

/// Scans one file of patient `owner` (a pseudonym; empty when unknown):
/// its raw bytes (and inflated data set) for long needles, and, when it
/// parses as DICOM, every value at every depth for all needles. Hands back
/// the parsed file too, so a caller need not parse it again.
fn scan_parsed(
    bytes: &[u8],
    scanners: &Scanners,
    owner: &str,
) -> (Vec<Located>, Option<DefaultDicomObject>) {
    let raw = |b: &[u8], path: &str| -> Vec<Located> {
        scanners
            .long
            .scan(b)
            .into_iter()
            .filter(|hit| !inside_generated_token(b, hit.offset) && !is_marker_token(&hit.variant))
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
            found.extend(raw(&inflated, INFLATED));
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
        // How often each value turns up in decoded values, explained or
        // not: a raw match of the same text is one of those (the decoded
        // scan has judged it, with its place); only raw matches beyond that
        // count (pixel data, bytes no value holds) stay raw findings.
        let mut decoded: HashMap<(String, String), usize> = HashMap::new();
        for t in texts {
            if is_ours(&t) {
                continue;
            }
            // Offset 0: the hit is inside a decoded value, not at a byte position.
            for mut hit in scanners.all.scan(t.text.as_bytes()) {
                *decoded
                    .entry((hit.attribute.clone(), hit.variant.to_uppercase()))
                    .or_default() += 1;
                if scanners.explained(&hit, &t, owner) {
                    continue;
                }
                hit.offset = 0;
                found.push(Located {
                    hit,
                    path: t.path.clone(),
                });
            }
        }
        let mut raw_count: HashMap<(String, String), usize> = HashMap::new();
        for l in found.iter().filter(|l| l.is_raw()) {
            *raw_count
                .entry((l.hit.attribute.clone(), l.hit.variant.to_uppercase()))
                .or_default() += 1;
        }
        found.retain(|l| {
            let key = (l.hit.attribute.clone(), l.hit.variant.to_uppercase());
            !l.is_raw() || raw_count[&key] > decoded.get(&key).copied().unwrap_or(0)
        });
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
    t.path.starts_with("(0012,0062)")
        || t.path.starts_with("(0012,0063)")
        || t.path.starts_with("(0012,0064)")
        || t.path.starts_with("(0028,0303)")
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
pub fn check_written(file: &str, patient: &str, bytes: &[u8], scanners: &Scanners) -> Vec<Finding> {
    let (located, parsed) = scan_parsed(bytes, scanners, patient);
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
/// What the gate needs of the sources: the needles, the kept values many
/// patients share, and the files that could not be read.
pub struct SourceValues {
    pub needles: Vec<Needle>,
    pub shared: HashSet<((u16, u16), String)>,
    pub skipped: Vec<(String, String)>,
}

pub fn source_needles(files: &[SourceFile], deid: &Deidentifier) -> SourceValues {
    let mut all = Trace::default();
    let mut skipped = Vec::new();
    for f in files {
        match read_whole(&f.path) {
            Ok(o) => {
                let patient = PatientContext::new(deid.key, &f.issuer, &f.patient_id);
                deid.apply_traced(o.into_inner(), &patient, &mut all);
                // Each value once (a cohort repeats them in every file).
                all.compact_when_grown();
            }
            Err(reason) => skipped.push((f.path.display().to_string(), reason)),
        }
    }
    SourceValues {
        needles: all.gate_needles(),
        shared: all.shared_kept_values(),
        skipped,
    }
}

/// The patient (pseudonym) of each file of an export, from its
/// `manifest.csv` when there is one (so that the scan alone judges
/// matches like the export's gate did).
fn owners(dir: &Path) -> HashMap<String, String> {
    let Ok(mut r) = csv::Reader::from_path(dir.join("manifest.csv")) else {
        return HashMap::new();
    };
    let headers = r.headers().cloned().unwrap_or_default();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(file), Some(patient)) = (col("file"), col("patient")) else {
        return HashMap::new();
    };
    r.records()
        .flatten()
        .filter_map(|rec| Some((rec.get(file)?.to_string(), rec.get(patient)?.to_string())))
        .collect()
}

/// Scans every file under `dir` for the sources' values (the gate, run alone).
pub fn scan_folder(
    dir: &Path,
    sources: &SourceValues,
    profile: &Profile,
    options: &Options,
) -> Result<Vec<Finding>, ExportError> {
    let scanners =
        Scanners::new(&sources.needles, profile, options).with_shared(sources.shared.clone());
    let owners = owners(dir);
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
            let owner = owners.get(&rel).map(String::as_str).unwrap_or("");
            findings.extend(
                scan_parsed(&bytes, &scanners, owner)
                    .0
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
            patient: String::new(),
        }
    }

    fn scan_file(bytes: &[u8], scanners: &Scanners) -> Vec<Located> {
        scan_parsed(bytes, scanners, "").0
    }

    fn findings(needles: &[Needle], bytes: &[u8]) -> Vec<Located> {
        let opts = crate::deid::profile::Choices::default().options();
        scan_file(bytes, &Scanners::new(needles, &Profile::standard(), &opts))
    }

    const EXPLICIT: &str = "1.2.840.10008.1.2.1";

    #[test]
    fn a_surname_that_is_a_vocabulary_word_is_explained_by_the_vocabulary() {
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
        assert!(
            findings(&name, &kept).is_empty(),
            "a vocabulary word, wherever it is"
        );
        let john = file(vec![elem(tags::MANUFACTURER, VR::LO, "John")], EXPLICIT);
        assert_eq!(
            findings(&name, &john).len(),
            1,
            "a given name in a kept attribute leaks"
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

    #[test]
    fn red_team_false_alarms_are_explained() {
        let id = [needle("(0020,0010)", "750", NeedleKind::Identity)];
        let model = file(
            vec![elem(
                tags::MANUFACTURER_MODEL_NAME,
                VR::LO,
                "DISCOVERY MR750",
            )],
            EXPLICIT,
        );
        assert!(
            findings(&id, &model).is_empty(),
            "a short number inside a model name"
        );
        let kv = [needle("(0020,0010)", "120", NeedleKind::Identity)];
        let desc = file(
            vec![elem(tags::STUDY_DESCRIPTION, VR::LO, "CHEST 120KV 1.25MM")],
            EXPLICIT,
        );
        assert!(findings(&kv, &desc).is_empty(), "a number with its unit");
        let word = [needle("(0008,103E)", "yes", NeedleKind::Text)];
        let marker = file(
            vec![elem(tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES")],
            EXPLICIT,
        );
        assert!(findings(&word, &marker).is_empty(), "our own insertion");
        let mrn = [needle("(0010,0020)", "113100", NeedleKind::Identity)];
        let codes = file(
            vec![elem(tags::DEIDENTIFICATION_METHOD, VR::LO, "113100 113107")],
            EXPLICIT,
        );
        assert!(
            findings(&mrn, &codes).is_empty(),
            "a CID 7050 code we wrote"
        );
        let leaked = file(
            vec![elem(tags::IMAGE_COMMENTS, VR::LT, "mrn 113100")],
            EXPLICIT,
        );
        assert!(
            !findings(&mrn, &leaked).is_empty(),
            "elsewhere it is still a finding"
        );
    }

    #[test]
    fn another_patients_name_in_a_kept_attribute_is_a_coincidence_the_owners_is_not() {
        let opts = crate::deid::profile::Choices::default().options();
        let victor = Needle {
            patient: "PAAAAAAAAAAAA".into(),
            ..needle("(0010,0010)", "Victor^Hugo", NeedleKind::Identity)
        };
        let scanners = Scanners::new(&[victor], &Profile::standard(), &opts);
        let bytes = file(
            vec![elem(tags::MANUFACTURER_MODEL_NAME, VR::LO, "SIGNA Victor")],
            EXPLICIT,
        );
        let residual = |f: Vec<Finding>| -> Vec<Finding> {
            f.into_iter()
                .filter(|f| f.kind == FindingKind::ResidualValue)
                .collect()
        };
        let other = residual(check_written("f.dcm", "PBBBBBBBBBBBB", &bytes, &scanners));
        assert!(other.is_empty(), "{other:?}");
        let own = check_written("f.dcm", "PAAAAAAAAAAAA", &bytes, &scanners);
        assert!(
            own.iter().any(|f| f.kind == FindingKind::ResidualValue),
            "{own:?}"
        );
    }

    #[test]
    fn with_full_dates_a_birth_date_in_any_date_element_is_a_finding() {
        let birth = [needle(BIRTH_DATE, "19650412", NeedleKind::Date)];
        let full = crate::deid::profile::Choices {
            full_dates: true,
            ..Default::default()
        }
        .options();
        let bytes = file(
            vec![elem(Tag(0x0018, 0x1012), VR::DA, "19650412")],
            EXPLICIT,
        );
        let scanners = Scanners::new(&birth, &Profile::standard(), &full);
        assert!(!scan_file(&bytes, &scanners).is_empty());
        assert!(
            findings(&birth, &bytes).is_empty(),
            "shifted dates: a coincidence"
        );
        let number = file(
            vec![elem(tags::ACQUISITION_NUMBER, VR::IS, "19650412")],
            EXPLICIT,
        );
        assert!(
            !findings(&birth, &number).is_empty(),
            "8 digits inside a number"
        );
    }

    #[test]
    fn numbers_times_versions_and_shared_device_values_explain_matches() {
        let mrn = [needle("(0010,0020)", "703125", NeedleKind::Identity)];
        let spacing = file(
            vec![elem(tags::PIXEL_SPACING, VR::DS, "0.703125\\0.703125")],
            EXPLICIT,
        );
        assert!(findings(&mrn, &spacing).is_empty(), "part of a number");
        let whole = file(
            vec![elem(tags::SLICE_THICKNESS, VR::DS, "703125")],
            EXPLICIT,
        );
        assert!(!findings(&mrn, &whole).is_empty(), "the whole number");
        let time = file(
            vec![elem(tags::ACQUISITION_TIME, VR::TM, "703125")],
            EXPLICIT,
        );
        assert!(findings(&mrn, &time).is_empty(), "a time");
        let exam = [needle("(0020,0010)", "1831", NeedleKind::Identity)];
        let version = file(
            vec![elem(tags::SOFTWARE_VERSIONS, VR::LO, "DV26.0_R02_1831.b")],
            EXPLICIT,
        );
        assert!(findings(&exam, &version).is_empty(), "a version number");

        let opts = crate::deid::profile::Choices::default().options();
        let norm = [Needle {
            patient: "PAAAAAAAAAAAA".into(),
            ..needle("(0010,0010)", "Norm^Smith", NeedleKind::Identity)
        }];
        let image_type = file(
            vec![elem(
                tags::IMAGE_TYPE,
                VR::CS,
                "ORIGINAL\\PRIMARY\\M\\ND\\NORM",
            )],
            EXPLICIT,
        );
        let plain = Scanners::new(&norm, &Profile::standard(), &opts);
        let residual = |s: &Scanners| {
            check_written("f.dcm", "PAAAAAAAAAAAA", &image_type, s)
                .into_iter()
                .filter(|f| f.kind == FindingKind::ResidualValue)
                .count()
        };
        assert_eq!(residual(&plain), 1, "the owner's name in a kept value");
        let shared: HashSet<_> = [(
            (0x0008, 0x0008),
            "ORIGINAL\\PRIMARY\\M\\ND\\NORM".to_string(),
        )]
        .into();
        let with_shared = Scanners::new(&norm, &Profile::standard(), &opts).with_shared(shared);
        assert_eq!(
            residual(&with_shared),
            0,
            "a value many patients' files hold"
        );
    }

    #[test]
    fn two_patients_sharing_a_surname_do_not_hide_the_owners_match() {
        let opts = crate::deid::profile::Choices::default().options();
        let mary = Needle {
            patient: "PAAAAAAAAAAAA".into(),
            ..needle("(0010,0010)", "Smith^Mary", NeedleKind::Identity)
        };
        let john = Needle {
            patient: "PBBBBBBBBBBBB".into(),
            ..needle("(0010,0010)", "Smith^John", NeedleKind::Identity)
        };
        let bytes = file(
            vec![elem(tags::WINDOW_CENTER_WIDTH_EXPLANATION, VR::LO, "SMITH")],
            EXPLICIT,
        );
        for order in [[mary.clone(), john.clone()], [john, mary]] {
            let s = Scanners::new(&order, &Profile::standard(), &opts);
            let found = check_written("f.dcm", "PAAAAAAAAAAAA", &bytes, &s);
            assert!(
                found.iter().any(|f| f.kind == FindingKind::ResidualValue),
                "{found:?}"
            );
        }
    }
}
