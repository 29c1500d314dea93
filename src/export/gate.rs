//! The residual-PHI gate: what to look for (the source instances'
//! identifying values, DECISIONS 21) and how (raw bytes of every file for
//! long values; every decoded text value at every depth for all values),
//! plus the checks that the required insertions are present.

use super::{ExportError, Finding, FindingKind, SourceFile};
use crate::deid::profile::Options;
use crate::deid::scan::{Hit, Needle, Scanner};
use crate::dicom::read_whole;
use dicom_core::header::Header;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use std::path::Path;

/// Identifying attributes besides every person name (DECISIONS 21), with
/// the Retain option that exempts each (what an enabled option keeps is
/// not a finding).
const IDENTIFYING: &[(Tag, Exempt)] = &[
    (tags::PATIENT_ID, Exempt::Never),
    // Other Patient IDs (retired in the dictionary, still in real files).
    (Tag(0x0010, 0x1000), Exempt::Never),
    (tags::PATIENT_BIRTH_DATE, Exempt::Never),
    (tags::ACCESSION_NUMBER, Exempt::Never),
    (tags::PATIENT_ADDRESS, Exempt::Never),
    (tags::PATIENT_TELEPHONE_NUMBERS, Exempt::Never),
    (tags::INSTITUTION_ADDRESS, Exempt::InstitutionIdentity),
    (tags::DEVICE_SERIAL_NUMBER, Exempt::DeviceIdentity),
    (tags::STUDY_INSTANCE_UID, Exempt::Uids),
    (tags::SERIES_INSTANCE_UID, Exempt::Uids),
    (tags::SOP_INSTANCE_UID, Exempt::Uids),
    (tags::FRAME_OF_REFERENCE_UID, Exempt::Uids),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exempt {
    Never,
    InstitutionIdentity,
    DeviceIdentity,
    Uids,
}

impl Exempt {
    fn applies(self, o: &Options) -> bool {
        match self {
            Exempt::Never => false,
            Exempt::InstitutionIdentity => o.retain_institution_identity,
            Exempt::DeviceIdentity => o.retain_device_identity,
            Exempt::Uids => o.retain_uids,
        }
    }
}

/// Collects the identifying values of a source object: every person name
/// at any depth, and the attributes above not exempted by `opts`.
pub fn needles(obj: &InMemDicomObject, opts: &Options, out: &mut Vec<Needle>) {
    collect_needles(obj, opts, out, 0)
}

fn collect_needles(obj: &InMemDicomObject, opts: &Options, out: &mut Vec<Needle>, depth: usize) {
    if depth > 32 {
        return;
    }
    for e in obj.iter() {
        let tag = e.tag();
        let wanted = e.vr() == VR::PN
            || IDENTIFYING
                .iter()
                .any(|(t, exempt)| *t == tag && !exempt.applies(opts));
        if wanted {
            if let Ok(v) = e.to_str() {
                for part in v.split('\\') {
                    let p = part.trim_matches([' ', '\0']);
                    if !p.is_empty() {
                        out.push(Needle {
                            attribute: tag_text(tag),
                            value: p.to_string(),
                        });
                    }
                }
            }
        }
        if let Some(items) = e.items() {
            for item in items {
                collect_needles(item, opts, out, depth + 1);
            }
        }
    }
}

/// Values and variants (a name's components, other date formats) at least
/// this long are also searched in the raw bytes of every file (binary parts
/// included); shorter ones (3-5 characters, like short given names) only in
/// decoded text values, where a chance match in compressed or pixel bytes
/// cannot raise a false alarm (seen: "oBI" in deflated bytes).
const RAW_SCAN_MIN_LEN: usize = 6;

/// The compiled needles: long ones for raw bytes, all for decoded text.
pub struct Scanners {
    long: Scanner,
    all: Scanner,
}

impl Scanners {
    /// Birth dates are left out of the raw-byte scan: 8 digits turn up in
    /// raw bytes by chance (shifted dates of other patients), and where a
    /// birth date can leak (a text value) the decoded scan finds it.
    pub fn new(needles: &[Needle]) -> Scanners {
        let not_dates: Vec<Needle> = needles
            .iter()
            .filter(|n| n.attribute != BIRTH_DATE)
            .cloned()
            .collect();
        Scanners {
            long: Scanner::with_min_len(&not_dates, RAW_SCAN_MIN_LEN),
            all: Scanner::new(needles),
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

/// Scans one file: its raw bytes for long needles, and, when it parses as
/// DICOM, every text value at every depth (after inflating, for deflated
/// files) for all needles.
pub fn scan_file(bytes: &[u8], scanners: &Scanners) -> Vec<Located> {
    scan_parsed(bytes, scanners).0
}

/// [`scan_file`], also handing back the parsed file (when it parses) so a
/// caller need not parse it again.
fn scan_parsed(bytes: &[u8], scanners: &Scanners) -> (Vec<Located>, Option<DefaultDicomObject>) {
    let mut found: Vec<Located> = scanners
        .long
        .scan(bytes)
        .into_iter()
        .map(|hit| Located {
            hit,
            path: String::new(),
        })
        .collect();
    let parsed = OpenFileOptions::new().from_reader(bytes).ok();
    match &parsed {
        Some(obj) => {
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
                // Offset 0: the hit is inside a decoded value, not at a byte position.
                for mut hit in scanners.all.scan(t.text.as_bytes()) {
                    if coincidental_date(&hit, &t) {
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
        None => found.extend(scanners.all.scan(bytes).into_iter().map(|hit| Located {
            hit,
            path: String::new(),
        })),
    }
    found.sort_by(|a, b| {
        (a.hit.offset, &a.path, &a.hit.attribute).cmp(&(b.hit.offset, &b.path, &b.hit.attribute))
    });
    found.dedup();
    (found, parsed)
}

/// The attribute of the one date-valued needle (DECISIONS 21).
const BIRTH_DATE: &str = "(0010,0030)";

/// A birth date found as the value of another date element is a
/// coincidence, not a leak: every other date of the output was shifted (or
/// kept on purpose with Full Dates), and with tens of thousands of files
/// some shifted study date equals some patient's birth date (seen in the
/// kill-and-resume test). A birth date anywhere else (its own element, a
/// description, a comment) is still a finding.
fn coincidental_date(hit: &Hit, value: &TextValue) -> bool {
    hit.attribute == BIRTH_DATE
        && matches!(value.vr, VR::DA | VR::DT)
        && value.tag != tags::PATIENT_BIRTH_DATE
}

fn tag_text(t: Tag) -> String {
    format!("({:04X},{:04X})", t.0, t.1)
}

/// A decoded text value of a written file and where it is.
struct TextValue {
    path: String,
    tag: Tag,
    vr: VR,
    text: String,
}

/// Every text value with its tag path.
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
        let textual = !matches!(
            e.vr(),
            VR::OB
                | VR::OW
                | VR::OF
                | VR::OD
                | VR::OL
                | VR::OV
                | VR::UN
                | VR::US
                | VR::SS
                | VR::UL
                | VR::SL
                | VR::FL
                | VR::FD
                | VR::AT
                | VR::SV
                | VR::UV
        );
        if textual {
            if let Ok(v) = e.to_str() {
                out.push(TextValue {
                    path,
                    tag: e.tag(),
                    vr: e.vr(),
                    text: v.into_owned(),
                });
            }
        }
    }
}

fn finding(file: &str, l: Located) -> Finding {
    Finding {
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

/// The identifying values of the given source files (what the gate looks
/// for), and the files that could not be read.
pub fn source_needles(
    files: &[SourceFile],
    opts: &Options,
) -> (Vec<Needle>, Vec<(String, String)>) {
    // Each value once (a cohort repeats them in every file).
    let mut all = std::collections::BTreeSet::new();
    let mut skipped = Vec::new();
    for f in files {
        match read_whole(&f.path) {
            Ok(o) => {
                let mut found = Vec::new();
                needles(&o, opts, &mut found);
                all.extend(found);
            }
            Err(reason) => skipped.push((f.path.display().to_string(), reason)),
        }
    }
    (all.into_iter().collect(), skipped)
}

/// Scans every file under `dir` for the needles (the gate, run alone).
pub fn scan_folder(dir: &Path, needles: &[Needle]) -> Result<Vec<Finding>, ExportError> {
    let scanners = Scanners::new(needles);
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

    #[test]
    fn short_name_components_are_searched_in_text_not_in_raw_bytes() {
        let needles = [Needle {
            attribute: "(0008,0090)".into(),
            value: "Nwosu^Obi".into(),
        }];
        let s = Scanners::new(&needles);
        // Deflated bytes that happen to spell a 3-letter component.
        assert!(s.long.scan(b"\x9b:oBI\xfd{").is_empty());
        assert_eq!(s.all.scan(b"Obi").len(), 1, "found in decoded text");
        assert!(
            !s.long.scan(b"\x00NWOSU OBI\x00").is_empty(),
            "long variants stay in raw"
        );
    }

    #[test]
    fn a_birth_date_is_a_finding_except_as_another_date_element() {
        let needles = [Needle {
            attribute: BIRTH_DATE.into(),
            value: "20061015".into(),
        }];
        let s = Scanners::new(&needles);
        assert!(
            s.long.scan(b"\x0020061015\x00").is_empty(),
            "not in raw bytes"
        );
        let value = |tag: Tag, vr: VR, text: &str| TextValue {
            path: tag_text(tag),
            tag,
            vr,
            text: text.into(),
        };
        let hits = |v: &TextValue| {
            s.all
                .scan(v.text.as_bytes())
                .into_iter()
                .filter(|h| !coincidental_date(h, v))
                .count()
        };
        assert_eq!(
            hits(&value(tags::STUDY_DATE, VR::DA, "20061015")),
            0,
            "a shifted study date"
        );
        assert_eq!(
            hits(&value(tags::PATIENT_BIRTH_DATE, VR::DA, "20061015")),
            1,
            "a kept birth date"
        );
        assert_eq!(
            hits(&value(tags::IMAGE_COMMENTS, VR::LT, "born 2006-10-15")),
            1,
            "in text"
        );
    }
}
