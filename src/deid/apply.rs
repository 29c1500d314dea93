//! Applying the profile to a data set, at every sequence depth: what the
//! export (and the preview, which must show exactly what is exported) runs
//! on each object. Pure: no files, no logging of values.

use super::dates::{cap_age, shift_values};
use super::profile::{DecidedBy, Decision, Options, Profile};
use super::pseudonym::{self, Key};
use super::scan::{Needle, NeedleKind};
use crate::dicom::tag_text;
use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use std::collections::{BTreeSet, HashMap, HashSet};

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

/// What one de-identification did, for the gate and the manifest.
#[derive(Debug, Default)]
pub struct Trace {
    /// Every source value that was not written as it was (DECISIONS 21):
    /// what the gate looks for in the written files.
    pub needles: Vec<Needle>,
    /// Attributes decided by default deny rather than by the table, with
    /// what was done, for the manifest (what the table missed).
    pub defaulted: BTreeSet<((u16, u16), &'static str)>,
    /// Values a Retain option kept on purpose (upper case): the same value
    /// removed elsewhere (an issuer named like the retained institution) is
    /// exempt from the gate, as the option says.
    pub retained: BTreeSet<String>,
    /// Text values of keep-listed attributes, with (up to
    /// [`SHARED_BY`]) the patients whose files hold them: a value many
    /// patients share is a device constant ("NORM" in a Siemens Image
    /// Type, "Philips"), not one patient's identity.
    pub kept_text: HashMap<((u16, u16), String), BTreeSet<String>>,
    /// How many needles the last compaction left.
    compacted: usize,
}

/// How many patients must share a kept value for it to count as a device
/// constant rather than anyone's identity.
pub const SHARED_BY: usize = 5;

impl Trace {
    /// Adds another file's trace.
    pub fn extend(&mut self, other: Trace) {
        self.needles.extend(other.needles);
        self.defaulted.extend(other.defaulted);
        self.retained.extend(other.retained);
        for (k, patients) in other.kept_text {
            let set = self.kept_text.entry(k).or_default();
            for p in patients {
                if set.len() < SHARED_BY {
                    set.insert(p);
                }
            }
        }
    }

    /// Kept values that at least [`SHARED_BY`] patients' files hold.
    pub fn shared_kept_values(&self) -> HashSet<((u16, u16), String)> {
        self.kept_text
            .iter()
            .filter(|(_, p)| p.len() >= SHARED_BY)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Each value once: a value several patients share (an institution, a
    /// physician) belongs to no one patient (`patient` empty), so it is
    /// searched once and strictly everywhere.
    pub fn compact(&mut self) {
        self.needles.sort_by(|a, b| {
            (&a.attribute, &a.value, a.kind, &a.patient).cmp(&(
                &b.attribute,
                &b.value,
                b.kind,
                &b.patient,
            ))
        });
        self.needles.dedup_by(|later, first| {
            let same = later.attribute == first.attribute
                && later.value == first.value
                && later.kind == first.kind;
            if same && later.patient != first.patient {
                first.patient.clear();
            }
            same
        });
    }

    /// Compacts once the needles have doubled since the last time, so that
    /// merging many files' traces sorts a linear amount overall.
    pub fn compact_when_grown(&mut self) {
        if self.needles.len() > 2 * self.compacted + 4096 {
            self.compact();
            self.compacted = self.needles.len();
        }
    }

    /// The distinct needles, without the values a Retain option kept on
    /// purpose somewhere in the export.
    pub fn gate_needles(&mut self) -> Vec<Needle> {
        self.compact();
        self.needles
            .iter()
            .filter(|n| !self.retained.contains(&n.value.trim().to_uppercase()))
            .cloned()
            .collect()
    }

    /// Records an original value (each of a multi-valued one) that the
    /// output does not hold verbatim. Values the de-identifier writes itself
    /// (dummies, a pseudonym) are not looked for: their presence is ours.
    pub(crate) fn removed(&mut self, tag: Tag, vr: VR, text: &str, patient: &PatientContext) {
        let kind = match vr {
            VR::PN | VR::UI => NeedleKind::Identity,
            VR::DA | VR::DT => NeedleKind::Date,
            VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC | VR::UR | VR::AE
                if IDENTIFIERS.contains(&(tag.0, tag.1)) =>
            {
                NeedleKind::Identity
            }
            VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC | VR::UR | VR::AE => {
                NeedleKind::Text
            }
            _ => return,
        };
        // Each value, and each end of a date range, on its own.
        let parts = text.split('\\').flat_map(|p| match vr {
            VR::DA => p.split('-').collect::<Vec<_>>(),
            _ => vec![p],
        });
        for part in parts {
            let mut v = part.trim_matches([' ', '\0']);
            if vr == VR::DT {
                v = v.get(..8).unwrap_or(v);
            }
            // Registry UIDs (classes, transfer syntaxes) are kept elsewhere
            // on purpose; they identify no one.
            let registry = vr == VR::UI && v.starts_with("1.2.840.10008.");
            if v.is_empty()
                || registry
                || v.eq_ignore_ascii_case(DUMMY_TEXT)
                || v.eq_ignore_ascii_case(&patient.pseudonym)
            {
                continue;
            }
            // A person name written with spaces instead of `^` still has
            // components ("SMITH JOHN"): looked for one by one.
            let value = if vr == VR::PN && !v.contains(['^', '=']) {
                v.split_whitespace().collect::<Vec<_>>().join("^")
            } else {
                v.to_string()
            };
            self.needles.push(Needle {
                attribute: tag_text(tag),
                value,
                kind,
                patient: patient.pseudonym.clone(),
            });
        }
    }

    /// Records every value of a data set that goes away whole (a removed
    /// or emptied sequence's items), at every depth.
    fn removed_all(&mut self, obj: &InMemDicomObject, patient: &PatientContext, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for e in obj.iter() {
            if let Some(items) = e.items() {
                for i in items {
                    self.removed_all(i, patient, depth + 1);
                }
            } else if !is_private(e.tag()) {
                if let Ok(v) = e.to_str() {
                    self.removed(e.tag(), e.vr(), &v, patient);
                }
            }
        }
    }
}

/// Text attributes whose removed values are identities, looked for
/// everywhere (raw bytes included), besides every person name and UID:
/// the patient's and the visit's identifiers, addresses, phone numbers,
/// the institution and the device serial. Other removed text (station
/// names, comments, codes) is looked for in every decoded value the
/// profile did not write on purpose.
const IDENTIFIERS: &[(u16, u16)] = &[
    (0x0008, 0x0050), // Accession Number
    (0x0008, 0x0081), // Institution Address
    (0x0008, 0x0092), // Referring Physician's Address
    (0x0008, 0x0094), // Referring Physician's Telephone Numbers
    (0x0008, 0x1190), // Retrieve URL
    (0x0010, 0x0020), // Patient ID
    (0x0010, 0x0021), // Issuer of Patient ID
    (0x0010, 0x0033), // Patient's Birth Date in Alternative Calendar
    (0x0010, 0x0034), // Patient's Death Date in Alternative Calendar
    (0x0010, 0x1000), // Other Patient IDs
    (0x0010, 0x1002), // Other Patient IDs Sequence (items' IDs)
    (0x0010, 0x1040), // Patient's Address
    (0x0010, 0x1090), // Medical Record Locator
    (0x0010, 0x2154), // Patient's Telephone Numbers
    (0x0010, 0x2155), // Patient's Telecom Information
    (0x0018, 0x1000), // Device Serial Number
    (0x0020, 0x0010), // Study ID
    (0x0038, 0x0010), // Admission ID
    (0x0038, 0x0400), // Patient's Institution Residence
    (0x0040, 0x0009), // Scheduled Procedure Step ID
    (0x0040, 0x0031), // Local Namespace Entity ID
    (0x0040, 0x0032), // Universal Entity ID
    (0x0040, 0x0253), // Performed Procedure Step ID
    (0x0040, 0x1001), // Requested Procedure ID
    (0x0040, 0x1102), // Person's Address
    (0x0040, 0x1103), // Person's Telephone Numbers
    (0x0040, 0x1104), // Person's Telecom Information
    (0x0040, 0x2016), // Placer Order Number / Imaging Service Request
    (0x0040, 0x2017), // Filler Order Number / Imaging Service Request
    (0x0040, 0xA123), // Person Name (SR)
];

/// A short label of a decision, for the manifest.
fn decision_label(d: Decision) -> &'static str {
    match d {
        Decision::Keep => "kept",
        Decision::Remove => "removed",
        Decision::Empty => "emptied",
        Decision::Dummy => "dummy",
        Decision::Uid => "uid-remapped",
        Decision::Clean => "cleaned",
        Decision::Pseudonym => "pseudonym",
        Decision::CodeMeaning => "code-meaning",
    }
}

impl Deidentifier<'_> {
    /// De-identifies `obj` (a data set without file meta) for `patient`.
    pub fn apply(&self, obj: InMemDicomObject, patient: &PatientContext) -> InMemDicomObject {
        self.apply_traced(obj, patient, &mut Trace::default())
    }

    /// [`Deidentifier::apply`], recording what was not kept (for the gate)
    /// and what default deny decided (for the manifest) into `trace`.
    pub fn apply_traced(
        &self,
        obj: InMemDicomObject,
        patient: &PatientContext,
        trace: &mut Trace,
    ) -> InMemDicomObject {
        let mut out = self.clean(obj, patient, 0, trace);
        self.insert_markers(&mut out, patient);
        out
    }

    fn clean(
        &self,
        obj: InMemDicomObject,
        patient: &PatientContext,
        depth: usize,
        trace: &mut Trace,
    ) -> InMemDicomObject {
        let mut out = InMemDicomObject::new_empty();
        let safe_private = if self.options.retain_safe_private {
            self.safe_private_tags(&obj)
        } else {
            HashSet::new()
        };
        // The item's code, for a Code Meaning in it.
        let code_text = |t: Tag| {
            obj.get(t)
                .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
                .unwrap_or_default()
        };
        let standard_meaning = self
            .profile
            .standard_meaning(
                &code_text(tags::CODING_SCHEME_DESIGNATOR),
                &code_text(tags::CODE_VALUE),
            )
            .map(str::to_string);
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
            let (resolved, by) = if is_private(tag) {
                // Private: removed unless on the vetted allow-list.
                if !safe_private.contains(&tag) {
                    continue;
                }
                (Decision::Keep, DecidedBy::KeepList)
            } else {
                self.profile
                    .decide_element((tag.0, tag.1), vr, &self.options)
            };
            if by == DecidedBy::DefaultByVr && resolved != Decision::Keep {
                trace
                    .defaulted
                    .insert(((tag.0, tag.1), decision_label(resolved)));
            }
            let (header, value) = elem.into_parts();
            // Identity of the patient: keyed pseudonyms rather than empty
            // values, so exports stay linkable over time.
            let resolved = match tag {
                tags::PATIENT_ID | tags::PATIENT_NAME => Decision::Pseudonym,
                // A retained age is still capped at 90 (HIPAA Safe Harbor).
                tags::PATIENT_AGE if resolved == Decision::Keep => Decision::Clean,
                _ => resolved,
            };
            // Class and coding-scheme UIDs are kept only when they are
            // the standard's own (1.2.840.10008.*); any other value there
            // could carry an identifier and is remapped like every UID.
            let resolved = match (&value, resolved, by) {
                (Value::Primitive(p), Decision::Keep, DecidedBy::KeepList)
                    if vr == VR::UI
                        && !p
                            .to_str()
                            .split('\\')
                            .all(|u| u.trim_matches(['\0', ' ']).starts_with("1.2.840.10008.")) =>
                {
                    Decision::Uid
                }
                _ => resolved,
            };
            let original = match &value {
                Value::Primitive(p) if resolved != Decision::Keep => Some(p.to_str().into_owned()),
                _ => None,
            };
            match (resolved, value) {
                (Decision::Remove | Decision::Empty | Decision::Dummy, Value::Sequence(seq)) => {
                    for item in seq.items() {
                        trace.removed_all(item, patient, depth + 1);
                    }
                    if resolved != Decision::Remove && depth < MAX_DEPTH {
                        out.put(DataElement::new(
                            tag,
                            VR::SQ,
                            DataSetSequence::<InMemDicomObject>::from(Vec::new()),
                        ));
                    }
                }
                (_, Value::Sequence(seq)) => {
                    if depth >= MAX_DEPTH {
                        continue;
                    }
                    let items: Vec<InMemDicomObject> = seq
                        .into_items()
                        .into_iter()
                        .map(|i| self.clean(i, patient, depth + 1, trace))
                        .collect();
                    out.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
                }
                (Decision::Remove, _) => {
                    if let Some(o) = &original {
                        trace.removed(tag, vr, o, patient);
                    }
                }
                (Decision::Keep, value) => {
                    if let (Value::Primitive(p), DecidedBy::KeepList) = (&value, by) {
                        if matches!(
                            vr,
                            VR::LO | VR::SH | VR::CS | VR::LT | VR::ST | VR::UT | VR::UC
                        ) {
                            let key = ((tag.0, tag.1), p.to_str().trim().to_uppercase());
                            let set = trace.kept_text.entry(key).or_default();
                            if set.len() < SHARED_BY {
                                set.insert(patient.pseudonym.clone());
                            }
                        }
                    }
                    if let Value::Primitive(p) = &value {
                        if by == DecidedBy::Table
                            && self
                                .profile
                                .retained_by_option((tag.0, tag.1), &self.options)
                        {
                            trace.retained.extend(
                                p.to_str()
                                    .split('\\')
                                    .map(|v| v.trim_matches([' ', '\0']).to_uppercase())
                                    .filter(|v| !v.is_empty()),
                            );
                        }
                    }
                    // A person name is never kept on purpose: if a profile
                    // (or a Retain option) keeps one, the gate must see it.
                    if vr == VR::PN {
                        if let Value::Primitive(p) = &value {
                            trace.removed(tag, vr, &p.to_str(), patient);
                        }
                    }
                    out.put(DataElement::new(tag, header.vr(), value));
                }
                (Decision::Empty, _) => {
                    if let Some(o) = &original {
                        trace.removed(tag, vr, o, patient);
                    }
                    out.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
                }
                (Decision::Dummy, _) => {
                    if let Some(o) = &original {
                        trace.removed(tag, vr, o, patient);
                    }
                    out.put(DataElement::new(tag, vr, dummy(vr)));
                }
                (Decision::Pseudonym, _) => {
                    if let Some(o) = &original {
                        trace.removed(tag, VR::PN, o, patient);
                    }
                    out.put(DataElement::new(
                        tag,
                        vr,
                        PrimitiveValue::from(patient.pseudonym.as_str()),
                    ));
                }
                (Decision::Uid, Value::Primitive(p)) => {
                    if let Some(o) = &original {
                        trace.removed(tag, VR::UI, o, patient);
                    }
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
                    let cleaned = self.cleaned(vr, &p, patient);
                    self.trace_cleaned(tag, vr, &p, cleaned.as_ref(), patient, trace);
                    if let Some(v) = cleaned {
                        out.put(DataElement::new(tag, vr, v));
                    }
                }
                (Decision::CodeMeaning, Value::Primitive(p)) => {
                    let meaning = match &standard_meaning {
                        Some(m) => Some(PrimitiveValue::from(m.as_str())),
                        None if self.options.clean_descriptors => {
                            Some(PrimitiveValue::from(clean_descriptor(&p.to_str())))
                        }
                        None => None,
                    };
                    self.trace_cleaned(tag, vr, &p, meaning.as_ref(), patient, trace);
                    if let Some(m) = meaning {
                        out.put(DataElement::new(tag, vr, m));
                    }
                }
                // Anything else (pixel fragments under a U/C action): removed.
                _ => {}
            }
        }
        out
    }

    /// Records what cleaning took out of a value: the words a cleaned
    /// descriptor lost, or the whole original of a date, age or removed value.
    fn trace_cleaned(
        &self,
        tag: Tag,
        vr: VR,
        original: &PrimitiveValue,
        cleaned: Option<&PrimitiveValue>,
        patient: &PatientContext,
        trace: &mut Trace,
    ) {
        let before = original.to_str();
        let after = cleaned.map(|c| c.to_str().into_owned()).unwrap_or_default();
        if before == after {
            return;
        }
        match vr {
            VR::LO | VR::SH | VR::ST | VR::LT | VR::UT | VR::UC => {
                let kept: HashSet<String> =
                    after.split_whitespace().map(|w| w.to_uppercase()).collect();
                // Each word that went, on its own (a name inside a
                // description), and the whole value.
                for word in before.split(|c: char| !(c.is_alphanumeric() || c == '.')) {
                    let w = word.trim_matches('.');
                    if !w.is_empty() && !kept.contains(&w.to_uppercase()) {
                        trace.removed(tag, vr, w, patient);
                    }
                }
            }
            _ => trace.removed(tag, vr, &before, patient),
        }
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
            VR::DA | VR::DT => shift_values(&text, vr == VR::DT, patient.date_offset_days)
                .map(PrimitiveValue::from),
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
            PrimitiveValue::from(IDENTITY_REMOVED),
        ));
        let codes = self.options.method_codes();
        // Two values, each within LO's 64 characters even with every
        // option on: who did it, and the codes of what was applied.
        let method = [
            format!("{METHOD_BY} {}", env!("CARGO_PKG_VERSION")),
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
                        PrimitiveValue::from(CODE_SCHEME),
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
        let [unmodified, modified, removed] = TEMPORAL_INFORMATION;
        let modified = if self.options.retain_long_full_dates {
            unmodified
        } else if self.options.retain_long_modified_dates {
            modified
        } else {
            removed
        };
        out.put(DataElement::new(
            tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
            VR::CS,
            PrimitiveValue::from(modified),
        ));
    }
}

/// What the markers hold, besides the CID 7050 codes.
const IDENTITY_REMOVED: &str = "YES";
const METHOD_BY: &str = "pacs-cohort";
const CODE_SCHEME: &str = "DCM";
const TEMPORAL_INFORMATION: [&str; 3] = ["UNMODIFIED", "MODIFIED", "REMOVED"];

/// Whether `text` is a word or code the markers can hold under any options
/// (a CID 7050 code value or a word of its meaning, YES, MODIFIED, the
/// method and its version), ASCII case ignored.
pub fn is_marker_token(text: &str) -> bool {
    use std::sync::OnceLock;
    static TOKENS: OnceLock<HashSet<String>> = OnceLock::new();
    let tokens = TOKENS.get_or_init(|| {
        let codes = Options::every_method_code();
        let words = codes
            .iter()
            .flat_map(|(value, meaning)| std::iter::once(*value).chain(meaning.split(' ')));
        let fixed = [
            IDENTITY_REMOVED,
            METHOD_BY,
            CODE_SCHEME,
            env!("CARGO_PKG_VERSION"),
        ];
        words
            .chain(fixed)
            .chain(TEMPORAL_INFORMATION)
            .map(str::to_uppercase)
            .collect()
    });
    tokens.contains(&text.to_uppercase())
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

/// The dummy of text VRs.
const DUMMY_TEXT: &str = "ANONYMIZED";

/// Whether every word of `text` is one Clean Descriptors keeps (a match of
/// such a text inside a cleaned descriptor is explained, not a leak).
pub fn is_safe_descriptor(text: &str) -> bool {
    let words = text
        .split(|c: char| !(c.is_alphanumeric() || c == '.'))
        .filter(|w| !w.trim_matches('.').is_empty())
        .count();
    words > 0 && clean_descriptor(text).split_whitespace().count() == words
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
        _ => PrimitiveValue::from(DUMMY_TEXT),
    }
}

/// Whether an element belongs to an overlay plane (groups 6000-601E, even).
fn is_overlay_group(tag: Tag) -> bool {
    (0x6000..=0x601E).contains(&tag.0) && tag.0.is_multiple_of(2)
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
        let shifted = crate::deid::dates::shift_da("20240301", patient.date_offset_days).unwrap();
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

    #[test]
    fn default_deny_handles_what_the_table_does_not_list_by_vr() {
        let key = Key([10; 32]);
        let profile = Profile::standard();
        let d = Deidentifier {
            profile: &profile,
            options: crate::deid::profile::Choices::default().options(),
            key: &key,
        };
        let patient = PatientContext::new(&key, "", "MRN8812345");
        let issuer = || {
            DataSetSequence::from(vec![obj(vec![
                DataElement::new(
                    tags::LOCAL_NAMESPACE_ENTITY_ID,
                    VR::UT,
                    PrimitiveValue::from("Northfield General"),
                ),
                DataElement::new(
                    tags::UNIVERSAL_ENTITY_ID,
                    VR::UT,
                    PrimitiveValue::from("northfield.example.org"),
                ),
                DataElement::new(
                    tags::UNIVERSAL_ENTITY_ID_TYPE,
                    VR::CS,
                    PrimitiveValue::from("DNS"),
                ),
            ])])
        };
        let code = |value: &str, scheme: &str, meaning: &str| {
            obj(vec![
                DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from(value)),
                DataElement::new(
                    tags::CODING_SCHEME_DESIGNATOR,
                    VR::SH,
                    PrimitiveValue::from(scheme),
                ),
                DataElement::new(tags::CODE_MEANING, VR::LO, PrimitiveValue::from(meaning)),
            ])
        };
        let source = obj(vec![
            DataElement::new(tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE, VR::SQ, issuer()),
            DataElement::new(
                tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE,
                VR::SQ,
                issuer(),
            ),
            DataElement::new(
                tags::ANATOMIC_REGION_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![code("51185008", "SCT", "Chest of Renee Mueller")]),
            ),
            DataElement::new(
                tags::PROCEDURE_CODE_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![code("X1", "99LOCAL", "CT chest Mueller")]),
            ),
            DataElement::new(
                tags::RETRIEVE_URL,
                VR::UR,
                PrimitiveValue::from("https://pacs/studies?mrn=MRN8812345"),
            ),
            DataElement::new(
                Tag(0x0010, 0x0033),
                VR::LO,
                PrimitiveValue::from("1385/01/23"),
            ),
            DataElement::new(
                Tag(0x0020, 0x0242),
                VR::UI,
                PrimitiveValue::from("1.2.826.0.1.8812345.19650412.1"),
            ),
            DataElement::new(
                Tag(0x0018, 0x9361),
                VR::CS,
                PrimitiveValue::from("MRN8812345"),
            ),
            DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("CT")),
            DataElement::new(tags::MANUFACTURER, VR::LO, PrimitiveValue::from("ACME")),
            DataElement::new(tags::KVP, VR::DS, PrimitiveValue::from("120")),
        ]);
        let mut trace = Trace::default();
        let out = d.apply_traced(source, &patient, &mut trace);
        for seq in [
            tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE,
            tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE,
        ] {
            let item = &out.get(seq).unwrap().items().unwrap()[0];
            assert!(
                item.get(tags::LOCAL_NAMESPACE_ENTITY_ID).is_none(),
                "{seq:?}"
            );
            assert!(item.get(tags::UNIVERSAL_ENTITY_ID).is_none(), "{seq:?}");
            assert_eq!(
                text(item, tags::UNIVERSAL_ENTITY_ID_TYPE).as_deref(),
                Some("DNS")
            );
        }
        let meaning = |seq: Tag| {
            text(
                &out.get(seq).unwrap().items().unwrap()[0],
                tags::CODE_MEANING,
            )
        };
        assert_eq!(
            meaning(tags::ANATOMIC_REGION_SEQUENCE).as_deref(),
            Some("Chest"),
            "standard"
        );
        assert_eq!(
            meaning(tags::PROCEDURE_CODE_SEQUENCE).as_deref(),
            Some("CT CHEST"),
            "cleaned"
        );
        assert!(out.get(tags::RETRIEVE_URL).is_none());
        assert!(
            out.get(Tag(0x0010, 0x0033)).is_none(),
            "alternative calendar"
        );
        let uid = text(&out, Tag(0x0020, 0x0242)).unwrap();
        assert_eq!(uid, pseudonym::uid(&key, "1.2.826.0.1.8812345.19650412.1"));
        assert!(
            out.get(Tag(0x0018, 0x9361)).is_none(),
            "a CS off the keep-list"
        );
        assert_eq!(text(&out, tags::MODALITY).as_deref(), Some("CT"));
        assert_eq!(text(&out, tags::MANUFACTURER).as_deref(), Some("ACME"));
        assert_eq!(text(&out, tags::KVP).as_deref(), Some("120"));
        let class = |uid: &str| {
            let o = d.apply(
                obj(vec![DataElement::new(
                    tags::SOP_CLASS_UID,
                    VR::UI,
                    PrimitiveValue::from(uid),
                )]),
                &patient,
            );
            text(&o, tags::SOP_CLASS_UID).unwrap()
        };
        assert_eq!(
            class("1.2.840.10008.5.1.4.1.1.2"),
            "1.2.840.10008.5.1.4.1.1.2"
        );
        assert!(
            class("1.2.826.0.1.8812345.1").starts_with("2.25."),
            "a class UID outside the standard's root could carry anything"
        );
        let defaulted: Vec<(u16, u16)> = trace.defaulted.iter().map(|(t, _)| *t).collect();
        for t in [
            (0x0008, 0x1190),
            (0x0010, 0x0033),
            (0x0020, 0x0242),
            (0x0040, 0x0031),
        ] {
            assert!(defaulted.contains(&t), "{t:04X?} listed for the manifest");
        }
        let needles: Vec<&str> = trace.needles.iter().map(|n| n.value.as_str()).collect();
        for v in [
            "Northfield General",
            "Mueller",
            "Renee",
            "1385/01/23",
            "1.2.826.0.1.8812345.19650412.1",
        ] {
            assert!(needles.contains(&v), "{v} looked for: {needles:?}");
        }
    }
}
