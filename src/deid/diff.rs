//! The header diff for the review (issue 11): every element of a source
//! beside what the export writes for it, at every sequence depth, with the
//! action taken and the rule or option that decided it. The rule comes from
//! the de-identification's own decision ([`Profile::decide_element`] and the
//! same overrides `apply` makes), not from guessing at the values; the
//! values only name the action where the decision depends on them (a date
//! shifted or left, a descriptor cleaned or already clean). Pure: no files,
//! no logging of values.

use super::apply::is_private;
use super::profile::{Action, DecidedBy, Decision, Options, Profile};
use crate::dicom::tag_text;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{tags, StandardDataDictionary};
use dicom_object::mem::InMemElement;
use dicom_object::{DefaultDicomObject, FileMetaTable, InMemDicomObject};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

/// What the export did to one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffAction {
    Kept,
    Removed,
    Emptied,
    Replaced,
    UidRemapped,
    DateShifted,
    Cleaned,
    Inserted,
}

impl DiffAction {
    /// A short label for tables and CSV.
    pub fn as_str(&self) -> &'static str {
        match self {
            DiffAction::Kept => "kept",
            DiffAction::Removed => "removed",
            DiffAction::Emptied => "emptied",
            DiffAction::Replaced => "replaced",
            DiffAction::UidRemapped => "UID remapped",
            DiffAction::DateShifted => "date shifted",
            DiffAction::Cleaned => "cleaned",
            DiffAction::Inserted => "inserted",
        }
    }
}

/// One element of the diff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffRow {
    /// `(0040,0275)[1] > (0008,0100)`: items numbered from 1.
    pub path: String,
    /// The dictionary keyword (`CodeValue`), `PrivateCreator`, or
    /// `private (CREATOR)` for a private element.
    pub keyword: String,
    pub vr: String,
    /// The value as shown: binary values summarised ("OW, 524288 bytes"),
    /// long text cut with its length, a sequence as its item count.
    pub original: Option<String>,
    pub deidentified: Option<String>,
    pub action: DiffAction,
    /// The rule or option that decided it.
    pub rule: String,
    /// 0 for the top-level data set (and the file meta).
    pub depth: usize,
}

/// Text values longer than this many characters are cut.
pub const MAX_SHOWN_CHARS: usize = 80;

/// The diff of two data sets (without file meta; see [`file_diff`] for
/// whole files), in the data set's order, for an export under `options`.
pub fn header_diff(
    source: &InMemDicomObject,
    deidentified: &InMemDicomObject,
    options: &Options,
) -> Vec<DiffRow> {
    let differ = Differ {
        profile: standard_profile(),
        options,
    };
    let mut rows = Vec::new();
    differ.data_set(source, Some(deidentified), "", 0, &mut rows);
    rows
}

/// The diff of two files: the file meta's elements first, then the data
/// set's ([`header_diff`]).
pub fn file_diff(
    source: &DefaultDicomObject,
    deidentified: &DefaultDicomObject,
    options: &Options,
) -> Vec<DiffRow> {
    let mut rows = file_meta_diff(source.meta(), deidentified.meta());
    rows.extend(header_diff(source, deidentified, options));
    rows
}

/// The file meta group: written anew by the export (PS3.10 7.1), so every
/// row names that, and what follows from the data set where it does.
pub fn file_meta_diff(source: &FileMetaTable, deidentified: &FileMetaTable) -> Vec<DiffRow> {
    let collect =
        |m: &FileMetaTable| -> Vec<(Tag, VR, Value<dicom_core::header::EmptyObject, [u8; 0]>)> {
            m.to_element_iter()
                .map(|e| {
                    let (h, v) = e.into_parts();
                    (h.tag, h.vr(), v)
                })
                .collect()
        };
    let before = collect(source);
    let after = collect(deidentified);
    let tags: BTreeSet<Tag> = before.iter().chain(&after).map(|(t, _, _)| *t).collect();
    let find = |list: &[(Tag, VR, Value<_, _>)], t: Tag| {
        list.iter().find(|(tag, _, _)| *tag == t).map(|(_, vr, v)| {
            let shown = match v {
                Value::Primitive(p) => show_primitive(*vr, t, p),
                _ => String::new(),
            };
            (*vr, shown)
        })
    };
    tags.into_iter()
        .map(|t| {
            let a = find(&before, t);
            let b = find(&after, t);
            let vr = a
                .as_ref()
                .or(b.as_ref())
                .map(|(vr, _)| *vr)
                .unwrap_or(VR::UN);
            let original = a.map(|(_, s)| s);
            let deidentified = b.map(|(_, s)| s);
            let (action, rule) = meta_row(t, original.as_deref(), deidentified.as_deref());
            DiffRow {
                path: tag_text(t),
                keyword: keyword(t, None),
                vr: vr.to_string().to_owned(),
                original,
                deidentified,
                action,
                rule,
                depth: 0,
            }
        })
        .collect()
}

const META_RULE: &str = "file meta written anew by the export (PS3.10 7.1)";

fn meta_row(t: Tag, before: Option<&str>, after: Option<&str>) -> (DiffAction, String) {
    let action = match (before, after) {
        (None, _) => DiffAction::Inserted,
        (Some(_), None) => DiffAction::Removed,
        (Some(a), Some(b)) if a == b => DiffAction::Kept,
        (Some(_), Some(_)) if t == tags::MEDIA_STORAGE_SOP_INSTANCE_UID => DiffAction::UidRemapped,
        _ => DiffAction::Replaced,
    };
    let rule = match t {
        tags::MEDIA_STORAGE_SOP_INSTANCE_UID => {
            format!("{META_RULE}: follows the SOP Instance UID")
        }
        tags::MEDIA_STORAGE_SOP_CLASS_UID => format!("{META_RULE}: follows the SOP Class UID"),
        tags::TRANSFER_SYNTAX_UID if action == DiffAction::Replaced => {
            "pixel masks: a masked image is written uncompressed, explicit VR little endian (DECISIONS 24)"
                .to_string()
        }
        tags::SOURCE_APPLICATION_ENTITY_TITLE
        | tags::SENDING_APPLICATION_ENTITY_TITLE
        | tags::RECEIVING_APPLICATION_ENTITY_TITLE => {
            format!("{META_RULE}: AE titles are not carried (they can name a site or a device)")
        }
        tags::IMPLEMENTATION_CLASS_UID | tags::IMPLEMENTATION_VERSION_NAME => {
            format!("{META_RULE}: this application's implementation")
        }
        _ => META_RULE.to_string(),
    };
    (action, rule)
}

fn standard_profile() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(Profile::standard)
}

/// The keep-list's reason for each attribute.
fn keep_reasons() -> &'static HashMap<(u16, u16), String> {
    static REASONS: OnceLock<HashMap<(u16, u16), String>> = OnceLock::new();
    REASONS.get_or_init(|| {
        include_str!("../../assets/deid/default-keep.csv")
            .lines()
            .filter(|l| l.starts_with('('))
            .filter_map(|l| {
                let tag = l.get(1..10)?;
                let (g, e) = tag.split_once(',')?;
                let tag = (
                    u16::from_str_radix(g, 16).ok()?,
                    u16::from_str_radix(e, 16).ok()?,
                );
                // tag,name,reason: the reason may itself hold commas.
                let reason = l.splitn(3, ',').nth(2).unwrap_or("").trim();
                let reason = reason.split_once(',').map_or(reason, |(_, r)| r).trim();
                Some((tag, reason.to_string()))
            })
            .collect()
    })
}

/// The names of the Table E.1-1 option columns, in the table's order
/// (the order `Profile::action` tries them).
const OPTION_NAMES: [&str; 10] = [
    "Retain Safe Private Option",
    "Retain UIDs Option",
    "Retain Device Identity Option",
    "Retain Institution Identity Option",
    "Retain Patient Characteristics Option",
    "Retain Longitudinal Temporal Information Full Dates Option",
    "Retain Longitudinal Temporal Information Modified Dates Option",
    "Clean Descriptors Option",
    "Clean Structured Content Option",
    "Clean Graphics Option",
];

/// `opts` with only the option of column `i` switched on, if it is on.
fn only_option(opts: &Options, i: usize) -> Option<Options> {
    let mut one = Options::default();
    let (on, slot) = match i {
        0 => (opts.retain_safe_private, &mut one.retain_safe_private),
        1 => (opts.retain_uids, &mut one.retain_uids),
        2 => (opts.retain_device_identity, &mut one.retain_device_identity),
        3 => (
            opts.retain_institution_identity,
            &mut one.retain_institution_identity,
        ),
        4 => (
            opts.retain_patient_characteristics,
            &mut one.retain_patient_characteristics,
        ),
        5 => (opts.retain_long_full_dates, &mut one.retain_long_full_dates),
        6 => (
            opts.retain_long_modified_dates,
            &mut one.retain_long_modified_dates,
        ),
        7 => (opts.clean_descriptors, &mut one.clean_descriptors),
        8 => (
            opts.clean_structured_content,
            &mut one.clean_structured_content,
        ),
        _ => (opts.clean_graphics, &mut one.clean_graphics),
    };
    *slot = true;
    on.then_some(one)
}

fn action_code(a: Action) -> &'static str {
    match a {
        Action::D => "D",
        Action::Z => "Z",
        Action::X => "X",
        Action::K => "K",
        Action::C => "C",
        Action::U => "U",
        Action::ZD => "Z/D",
        Action::XZ => "X/Z",
        Action::XD => "X/D",
        Action::XZD => "X/Z/D",
        Action::XZU => "X/Z/U*",
    }
}

fn decision_word(d: Decision) -> &'static str {
    match d {
        Decision::Keep => "keep",
        Decision::Remove => "remove",
        Decision::Empty => "empty",
        Decision::Dummy => "dummy value",
        Decision::Uid => "remap UIDs",
        Decision::Clean => "clean",
        Decision::Pseudonym => "pseudonym",
        Decision::CodeMeaning => "code meaning",
    }
}

/// The de-identification markers the export writes at the top level.
const MARKERS: [Tag; 4] = [
    tags::PATIENT_IDENTITY_REMOVED,
    tags::DEIDENTIFICATION_METHOD,
    tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
    tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
];
const MARKER_RULE: &str =
    "de-identification markers written by the export (PS3.15 E.1.1: Patient Identity Removed, De-identification Method and its codes)";
const CLAIM_RULE: &str = "Clean Pixel Data: a reviewer approved these pixels (DECISIONS 25)";
const MASK_RULE: &str =
    "pixel masks: the export blacks out the masked rectangles and writes the pixels uncompressed (DECISIONS 24)";

/// The pixel description a mask rewrites.
fn is_pixel_description(t: Tag) -> bool {
    matches!(
        t,
        tags::PIXEL_DATA
            | tags::PHOTOMETRIC_INTERPRETATION
            | tags::PLANAR_CONFIGURATION
            | tags::ENCAPSULATED_PIXEL_DATA_VALUE_TOTAL_LENGTH
    )
}

fn is_overlay_group(t: Tag) -> bool {
    (0x6000..=0x601E).contains(&t.0) && t.0.is_multiple_of(2)
}

fn is_binary(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN
    )
}

fn show_primitive(vr: VR, tag: Tag, p: &dicom_core::PrimitiveValue) -> String {
    if is_binary(vr) || tag == tags::PIXEL_DATA {
        return format!("{vr}, {} bytes", p.calculate_byte_len());
    }
    let text = p.to_str();
    let text = text.trim_end_matches([' ', '\0']);
    let count = text.chars().count();
    if count > MAX_SHOWN_CHARS {
        let cut: String = text.chars().take(MAX_SHOWN_CHARS).collect();
        format!("{cut}… ({count} characters)")
    } else {
        text.to_string()
    }
}

fn show(e: &InMemElement) -> String {
    match e.value() {
        Value::Primitive(p) => show_primitive(e.vr(), e.tag(), p),
        Value::Sequence(s) => items_text(s.items().len()),
        Value::PixelSequence(s) => {
            let bytes: usize = s.fragments().iter().map(Vec::len).sum();
            format!(
                "{}, encapsulated: {} fragment{}, {bytes} bytes",
                e.vr(),
                s.fragments().len(),
                if s.fragments().len() == 1 { "" } else { "s" }
            )
        }
    }
}

fn items_text(n: usize) -> String {
    format!("SQ, {n} item{}", if n == 1 { "" } else { "s" })
}

/// Whether two elements hold the same value (text compared without
/// padding, binary byte for byte).
fn same_value(a: &InMemElement, b: &InMemElement) -> bool {
    match (a.value(), b.value()) {
        (Value::Primitive(x), Value::Primitive(y)) => {
            if is_binary(a.vr()) || is_binary(b.vr()) {
                x.to_bytes() == y.to_bytes()
            } else {
                x.to_str().trim_end_matches([' ', '\0']) == y.to_str().trim_end_matches([' ', '\0'])
            }
        }
        (Value::PixelSequence(x), Value::PixelSequence(y)) => x.fragments() == y.fragments(),
        (Value::Sequence(x), Value::Sequence(y)) => x.items() == y.items(),
        _ => false,
    }
}

fn is_empty_value(e: &InMemElement) -> bool {
    match e.value() {
        Value::Primitive(p) => p.to_str().trim_matches([' ', '\0']).is_empty(),
        Value::Sequence(s) => s.items().is_empty(),
        Value::PixelSequence(s) => s.fragments().is_empty(),
    }
}

/// The dictionary keyword of a tag (private elements named by creator).
fn keyword(t: Tag, obj: Option<&InMemDicomObject>) -> String {
    if is_private(t) {
        if (0x0010..=0x00FF).contains(&t.1) {
            return "PrivateCreator".into();
        }
        let creator = obj
            .and_then(|o| o.get(Tag(t.0, t.1 >> 8)))
            .and_then(|c| {
                c.to_str()
                    .ok()
                    .map(|s| s.trim_matches([' ', '\0']).to_string())
            })
            .unwrap_or_default();
        return format!("private ({creator})");
    }
    StandardDataDictionary
        .by_tag(t)
        .map(|e| e.alias().to_string())
        .unwrap_or_default()
}

struct Differ<'a> {
    profile: &'a Profile,
    options: &'a Options,
}

impl Differ<'_> {
    /// The rows of one data set and, recursively, of its items.
    fn data_set(
        &self,
        src: &InMemDicomObject,
        out: Option<&InMemDicomObject>,
        prefix: &str,
        depth: usize,
        rows: &mut Vec<DiffRow>,
    ) {
        let mut tags: BTreeSet<Tag> = src.iter().map(|e| e.tag()).collect();
        if let Some(o) = out {
            tags.extend(o.iter().map(|e| e.tag()));
        }
        let safe = self.safe_private(src);
        for t in tags {
            let s = src.get(t);
            let o = out.and_then(|o| o.get(t));
            match s {
                Some(s) => self.element(src, s, o, &safe, prefix, depth, rows),
                None => {
                    if let Some(o) = o {
                        inserted(o, out, prefix, depth, rows, depth == 0);
                    }
                }
            }
        }
    }

    /// The private tags Retain Safe Private keeps in this data set (the
    /// same selection as `apply`): allow-listed elements and their creators.
    fn safe_private(&self, obj: &InMemDicomObject) -> HashSet<Tag> {
        let mut keep = HashSet::new();
        if !self.options.retain_safe_private {
            return keep;
        }
        for e in obj.iter() {
            let Tag(group, element) = e.tag();
            let block = (element >> 8) as u8;
            if group.is_multiple_of(2) || block < 0x10 {
                continue;
            }
            let creator_tag = Tag(group, block as u16);
            let creator = obj.get(creator_tag).and_then(|c| {
                c.to_str()
                    .ok()
                    .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
            });
            if creator.is_some_and(|c| {
                self.profile
                    .is_safe_private(&c, group, (element & 0xFF) as u8)
            }) {
                keep.insert(e.tag());
                keep.insert(creator_tag);
            }
        }
        keep
    }

    /// What `apply` decides for one source element, and why, in words.
    fn verdict(&self, s: &InMemElement, safe: &HashSet<Tag>, depth: usize) -> (Decision, String) {
        let t = s.tag();
        let vr = s.vr();
        if t.0 == 0x0002 {
            return (
                Decision::Remove,
                "a file meta element inside the data set: the file meta is written anew".into(),
            );
        }
        if is_overlay_group(t) {
            return (
                Decision::Remove,
                "PS3.15 Table E.1-1: X (overlay plane removed whole, 60xx)".into(),
            );
        }
        if is_private(t) {
            return if safe.contains(&t) {
                (
                    Decision::Keep,
                    "Retain Safe Private Option: on the safe-private list".into(),
                )
            } else if self.options.retain_safe_private {
                (
                    Decision::Remove,
                    "private attribute not on the safe-private list (Retain Safe Private Option)"
                        .into(),
                )
            } else {
                (
                    Decision::Remove,
                    "private attribute: PS3.15 Table E.1-1 removes private attributes (Retain Safe Private Option off)".into(),
                )
            };
        }
        if depth == 0 && MARKERS.contains(&t) {
            return (Decision::Keep, MARKER_RULE.into());
        }
        let key = (t.0, t.1);
        let (decision, by) = self.profile.decide_element(key, vr, self.options);
        let mut rule = match by {
            DecidedBy::Table => self.table_rule(key, decision),
            DecidedBy::KeepList => format!(
                "keep list: {}",
                keep_reasons().get(&key).map_or("", String::as_str)
            ),
            DecidedBy::DefaultByVr => format!(
                "default deny by VR ({vr}): {} (not in PS3.15 Table E.1-1)",
                decision_word(decision)
            ),
        };
        let decision = match t {
            tags::PATIENT_ID | tags::PATIENT_NAME => {
                rule = format!("keyed pseudonym of the patient (instead of {rule})");
                Decision::Pseudonym
            }
            tags::PATIENT_AGE if decision == Decision::Keep => {
                rule = format!("{rule}; ages capped at 90 (HIPAA Safe Harbor)");
                Decision::Clean
            }
            _ => decision,
        };
        let decision = match s.value() {
            Value::Primitive(p)
                if decision == Decision::Keep
                    && by == DecidedBy::KeepList
                    && vr == VR::UI
                    && !p
                        .to_str()
                        .split('\\')
                        .all(|u| u.trim_matches(['\0', ' ']).starts_with("1.2.840.10008.")) =>
            {
                rule = format!("{rule}; but not a registry UID (1.2.840.10008.*): remapped");
                Decision::Uid
            }
            _ => decision,
        };
        if decision == Decision::Clean {
            match vr {
                VR::DA | VR::DT => rule.push_str("; shifted by the patient's keyed offset"),
                VR::TM => rule.push_str("; times are kept (dates move by whole days)"),
                _ => {}
            }
        }
        if decision == Decision::CodeMeaning {
            rule = format!(
                "{rule}; Code Meaning: the standard meaning of the item's code, else {}",
                if self.options.clean_descriptors {
                    "cleaned (Clean Descriptors Option)"
                } else {
                    "removed"
                }
            );
        }
        (decision, rule)
    }

    /// "PS3.15 Table E.1-1: X/Z/D (resolved to dummy value by the IOD
    /// Type)", or the option that changed the basic profile's action.
    fn table_rule(&self, tag: (u16, u16), decision: Decision) -> String {
        let basic = self.profile.action(tag, &Options::default());
        let chosen = self.profile.action(tag, self.options);
        let Some(code) = chosen else {
            return "PS3.15 Table E.1-1".into();
        };
        let who = if chosen != basic {
            (0..OPTION_NAMES.len())
                .find(|i| {
                    only_option(self.options, *i)
                        .is_some_and(|one| self.profile.action(tag, &one) == chosen)
                })
                .map(|i| format!("{} (PS3.15 Table E.1-1)", OPTION_NAMES[i]))
                .unwrap_or_else(|| "PS3.15 Table E.1-1 with the options".into())
        } else {
            "PS3.15 Table E.1-1".into()
        };
        let compound = matches!(code, Action::ZD | Action::XZ | Action::XD | Action::XZD);
        if compound {
            format!(
                "{who}: {} (resolved to {} by the attribute's Type in the IOD)",
                action_code(code),
                decision_word(decision)
            )
        } else {
            format!("{who}: {}", action_code(code))
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn element(
        &self,
        src: &InMemDicomObject,
        s: &InMemElement,
        o: Option<&InMemElement>,
        safe: &HashSet<Tag>,
        prefix: &str,
        depth: usize,
        rows: &mut Vec<DiffRow>,
    ) {
        let t = s.tag();
        let (decision, mut rule) = self.verdict(s, safe, depth);
        let path = format!("{prefix}{}", tag_text(t));
        let mut row = DiffRow {
            path: path.clone(),
            keyword: keyword(t, Some(src)),
            vr: s.vr().to_string().to_owned(),
            original: Some(show(s)),
            deidentified: o.map(show),
            action: DiffAction::Kept,
            rule: String::new(),
            depth,
        };
        if let (Value::Sequence(seq), Some(Value::Sequence(out_seq))) =
            (s.value(), o.map(|o| o.value()))
        {
            let (n, m) = (seq.items().len(), out_seq.items().len());
            let emptied =
                matches!(decision, Decision::Empty | Decision::Dummy) || (m == 0 && n > 0);
            row.action = if emptied {
                DiffAction::Emptied
            } else {
                DiffAction::Kept
            };
            if emptied {
                row.rule = rule;
                rows.push(row);
                return;
            }
            if decision == Decision::Uid {
                rule = format!("{rule}: items kept, their UIDs remapped");
            } else if decision == Decision::Clean {
                rule = format!("{rule}: items cleaned element by element");
            }
            row.rule = rule;
            rows.push(row);
            for i in 0..n.max(m) {
                let item_prefix = format!("{path}[{}] > ", i + 1);
                match (seq.items().get(i), out_seq.items().get(i)) {
                    (Some(a), b) => self.data_set(a, b, &item_prefix, depth + 1, rows),
                    (None, Some(b)) => {
                        for e in b.iter() {
                            inserted(e, Some(b), &item_prefix, depth + 1, rows, false);
                        }
                    }
                    (None, None) => {}
                }
            }
            return;
        }
        row.action = match o {
            None => DiffAction::Removed,
            Some(o) if same_value(s, o) => match decision {
                Decision::Empty if is_empty_value(o) => DiffAction::Emptied,
                _ => DiffAction::Kept,
            },
            Some(o)
                if is_empty_value(o)
                    && !is_empty_value(s)
                    && !matches!(decision, Decision::Clean | Decision::CodeMeaning) =>
            {
                DiffAction::Emptied
            }
            Some(o) => match decision {
                Decision::Uid => DiffAction::UidRemapped,
                Decision::Clean if matches!(s.vr(), VR::DA | VR::DT) => DiffAction::DateShifted,
                Decision::Clean => DiffAction::Cleaned,
                Decision::CodeMeaning => {
                    let standard = self.standard_meaning(src);
                    if standard.is_some_and(|m| o.to_str().is_ok_and(|v| v.trim() == m)) {
                        rule = format!("{rule} (the standard meaning)");
                        DiffAction::Replaced
                    } else {
                        DiffAction::Cleaned
                    }
                }
                Decision::Empty => DiffAction::Emptied,
                Decision::Keep | Decision::Dummy | Decision::Pseudonym | Decision::Remove => {
                    DiffAction::Replaced
                }
            },
        };
        // What changes besides the profile: masks rewrite the pixels and
        // their description, an approval claims clean pixels.
        let changed = !matches!(row.action, DiffAction::Kept);
        if depth == 0 && changed && decision == Decision::Keep {
            if is_pixel_description(t) {
                rule = MASK_RULE.into();
            } else if t == tags::BURNED_IN_ANNOTATION {
                rule = CLAIM_RULE.into();
            }
        }
        if let (Value::Sequence(seq), DiffAction::Removed) = (s.value(), row.action) {
            // One row for a removed sequence (its item count says what went).
            row.original = Some(items_text(seq.items().len()));
        }
        row.rule = rule;
        rows.push(row);
    }

    fn standard_meaning<'p>(&'p self, item: &InMemDicomObject) -> Option<&'p str> {
        let text = |t: Tag| {
            item.get(t)
                .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
                .unwrap_or_default()
        };
        self.profile.standard_meaning(
            &text(tags::CODING_SCHEME_DESIGNATOR),
            &text(tags::CODE_VALUE),
        )
    }
}

/// Rows for an element only the de-identified data set has (and its items).
fn inserted(
    e: &InMemElement,
    obj: Option<&InMemDicomObject>,
    prefix: &str,
    depth: usize,
    rows: &mut Vec<DiffRow>,
    top: bool,
) {
    let t = e.tag();
    let rule = if top && MARKERS.contains(&t) {
        MARKER_RULE
    } else if top && t == tags::BURNED_IN_ANNOTATION {
        CLAIM_RULE
    } else if top && is_pixel_description(t) {
        MASK_RULE
    } else if depth > 0 {
        "inserted by the export with its item"
    } else {
        "inserted by the export"
    };
    let path = format!("{prefix}{}", tag_text(t));
    rows.push(DiffRow {
        path: path.clone(),
        keyword: keyword(t, obj),
        vr: e.vr().to_string().to_owned(),
        original: None,
        deidentified: Some(show(e)),
        action: DiffAction::Inserted,
        rule: rule.into(),
        depth,
    });
    if let Some(items) = e.items() {
        for (i, item) in items.iter().enumerate() {
            let item_prefix = format!("{path}[{}] > ", i + 1);
            for child in item.iter() {
                inserted(child, Some(item), &item_prefix, depth + 1, rows, false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deid::apply::{Deidentifier, PatientContext, Trace};
    use crate::deid::profile::Choices;
    use crate::deid::pseudonym::Key;
    use crate::export::{render, ApprovedContent, MaskBook};
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue};

    fn el(tag: Tag, vr: VR, v: impl Into<PrimitiveValue>) -> InMemElement {
        DataElement::new(tag, vr, v.into())
    }

    fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> InMemElement {
        DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
    }

    fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
        InMemDicomObject::from_element_iter([
            el(tags::CODE_VALUE, VR::SH, value),
            el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
            el(tags::CODE_MEANING, VR::LO, meaning),
        ])
    }

    /// Paths of every element of `obj` whose parent sequence the diff
    /// should open (not removed or emptied as a whole).
    fn every_path(obj: &InMemDicomObject, prefix: &str, rows: &[DiffRow], out: &mut Vec<String>) {
        for e in obj.iter() {
            let path = format!("{prefix}{}", tag_text(e.tag()));
            out.push(path.clone());
            if let Some(items) = e.items() {
                let row = rows.iter().find(|r| r.path == path);
                if row.is_some_and(|r| r.action == DiffAction::Kept) {
                    for (i, item) in items.iter().enumerate() {
                        every_path(item, &format!("{path}[{}] > ", i + 1), rows, out);
                    }
                }
            }
        }
    }

    fn assert_complete(source: &InMemDicomObject, rows: &[DiffRow]) {
        let mut paths = Vec::new();
        every_path(source, "", rows, &mut paths);
        for p in &paths {
            let row = rows.iter().find(|r| &r.path == p);
            let row = row.unwrap_or_else(|| panic!("no row for {p}"));
            assert!(row.original.is_some(), "{p}: the source's value is shown");
            assert!(!row.rule.is_empty(), "{p}: a rule");
        }
        let unique: HashSet<&str> = rows.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(unique.len(), rows.len(), "one row per path");
    }

    fn row<'r>(rows: &'r [DiffRow], path: &str) -> &'r DiffRow {
        rows.iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("no row {path}"))
    }

    fn built() -> InMemDicomObject {
        let private_item = InMemDicomObject::from_element_iter([
            el(Tag(0x0029, 0x0010), VR::LO, "ACME 1.0"),
            el(Tag(0x0029, 0x1001), VR::LO, "Doe^Jane"),
        ]);
        InMemDicomObject::from_element_iter([
            el(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
            el(tags::SOP_INSTANCE_UID, VR::UI, "1.2.826.0.1.99.1.2.3"),
            el(tags::STUDY_DATE, VR::DA, "20240301"),
            el(tags::STUDY_TIME, VR::TM, "101010"),
            el(tags::MODALITY, VR::CS, "CT"),
            el(tags::MANUFACTURER, VR::LO, "ACME"),
            el(tags::INSTITUTION_NAME, VR::LO, "Northfield General"),
            el(tags::STATION_NAME, VR::SH, "CT-NORTH-2"),
            el(tags::STUDY_DESCRIPTION, VR::LO, "CT CHEST Mueller"),
            el(tags::PATIENT_NAME, VR::PN, "Mueller^Renee"),
            el(tags::PATIENT_ID, VR::LO, "MRN8812345"),
            el(tags::PATIENT_BIRTH_DATE, VR::DA, "19450412"),
            el(tags::PATIENT_AGE, VR::AS, "095Y"),
            el(Tag(0x0010, 0x0033), VR::LO, "1385/01/23"),
            el(tags::DEVICE_SERIAL_NUMBER, VR::LO, "SN-99812"),
            el(tags::IMAGE_COMMENTS, VR::LT, "x".repeat(300)),
            seq(
                tags::REQUEST_ATTRIBUTES_SEQUENCE,
                vec![
                    InMemDicomObject::from_element_iter([el(
                        tags::REQUESTED_PROCEDURE_ID,
                        VR::SH,
                        "RP-1",
                    )]),
                    InMemDicomObject::from_element_iter([el(
                        tags::REQUESTED_PROCEDURE_ID,
                        VR::SH,
                        "RP-2",
                    )]),
                ],
            ),
            seq(
                tags::ANATOMIC_REGION_SEQUENCE,
                vec![code("51185008", "SCT", "Chest of Renee Mueller")],
            ),
            seq(
                tags::PROCEDURE_CODE_SEQUENCE,
                vec![code("X1", "99LOCAL", "CT chest Mueller")],
            ),
            seq(
                tags::REFERENCED_IMAGE_SEQUENCE,
                vec![InMemDicomObject::from_element_iter([
                    el(
                        tags::REFERENCED_SOP_CLASS_UID,
                        VR::UI,
                        "1.2.840.10008.5.1.4.1.1.2",
                    ),
                    el(
                        tags::REFERENCED_SOP_INSTANCE_UID,
                        VR::UI,
                        "1.2.826.0.1.99.7",
                    ),
                ])],
            ),
            seq(tags::OTHER_PATIENT_I_DS_SEQUENCE, vec![private_item]),
            el(Tag(0x0029, 0x0010), VR::LO, "ACME 1.0"),
            el(Tag(0x0029, 0x1001), VR::LO, "Doe^Jane"),
            el(tags::ROWS, VR::US, PrimitiveValue::from(2u16)),
            el(tags::PIXEL_DATA, VR::OW, PrimitiveValue::from(vec![0u8; 8])),
        ])
    }

    #[test]
    fn every_action_appears_with_the_rule_that_decided_it() {
        let key = Key([3; 32]);
        let profile = Profile::standard();
        let options = Options {
            retain_device_identity: true,
            retain_patient_characteristics: true,
            ..Choices::default().options()
        };
        let deid = Deidentifier {
            profile: &profile,
            options,
            key: &key,
        };
        let patient = PatientContext::new(&key, "", "MRN8812345");
        let source = built();
        let out = deid.apply(source.clone(), &patient);
        let rows = header_diff(&source, &out, &options);
        assert_complete(&source, &rows);

        let check = |path: &str, action: DiffAction, rule: &str| {
            let r = row(&rows, path);
            assert_eq!(r.action, action, "{path}: {r:?}");
            assert!(r.rule.contains(rule), "{path}: {:?} lacks {rule:?}", r.rule);
        };
        check("(0008,0016)", DiffAction::Kept, "keep list: a registry UID");
        check(
            "(0008,0018)",
            DiffAction::UidRemapped,
            "PS3.15 Table E.1-1: U",
        );
        check(
            "(0008,0020)",
            DiffAction::DateShifted,
            "Retain Longitudinal Temporal Information Modified Dates Option",
        );
        check("(0008,0060)", DiffAction::Kept, "keep list");
        check(
            "(0008,0080)",
            DiffAction::Removed,
            "X/Z/D (resolved to remove",
        );
        check(
            "(0008,1030)",
            DiffAction::Cleaned,
            "Clean Descriptors Option",
        );
        assert_eq!(
            row(&rows, "(0008,1030)").deidentified.as_deref(),
            Some("CT CHEST")
        );
        check("(0010,0010)", DiffAction::Replaced, "keyed pseudonym");
        check("(0010,0020)", DiffAction::Replaced, "keyed pseudonym");
        check("(0010,0030)", DiffAction::Emptied, "PS3.15 Table E.1-1: Z");
        check(
            "(0010,1010)",
            DiffAction::Cleaned,
            "Retain Patient Characteristics Option (PS3.15 Table E.1-1): K; ages capped at 90",
        );
        assert_eq!(
            row(&rows, "(0010,1010)").deidentified.as_deref(),
            Some("090Y")
        );
        check(
            "(0010,0033)",
            DiffAction::Removed,
            "default deny by VR (LO)",
        );
        check(
            "(0018,1000)",
            DiffAction::Kept,
            "Retain Device Identity Option",
        );
        let comments = row(&rows, "(0020,4000)");
        assert!(
            comments
                .original
                .as_deref()
                .unwrap()
                .ends_with("(300 characters)"),
            "{comments:?}"
        );
        // A removed sequence is one row with its item count.
        check("(0010,1002)", DiffAction::Removed, "PS3.15 Table E.1-1: X");
        assert_eq!(
            row(&rows, "(0010,1002)").original.as_deref(),
            Some("SQ, 1 item")
        );
        assert!(!rows.iter().any(|r| r.path.starts_with("(0010,1002)[")));
        // A cleaned sequence is opened: items matched by index.
        check(
            "(0040,0275)",
            DiffAction::Kept,
            "Clean Descriptors Option (PS3.15 Table E.1-1): C: items cleaned",
        );
        let second = row(&rows, "(0040,0275)[2] > (0040,1001)");
        assert_eq!(second.original.as_deref(), Some("RP-2"));
        assert_ne!(second.action, DiffAction::Kept, "{second:?}");
        assert_eq!(second.depth, 1);
        // Nested: items matched by index, at depth 1.
        check(
            "(0008,2218)[1] > (0008,0104)",
            DiffAction::Replaced,
            "the standard meaning",
        );
        assert_eq!(row(&rows, "(0008,2218)[1] > (0008,0104)").depth, 1);
        check(
            "(0008,2218)[1] > (0008,0100)",
            DiffAction::Kept,
            "keep list",
        );
        check(
            "(0008,1032)[1] > (0008,0104)",
            DiffAction::Cleaned,
            "Code Meaning",
        );
        check("(0008,1140)", DiffAction::Kept, "X/Z/U*");
        check(
            "(0008,1140)[1] > (0008,1155)",
            DiffAction::UidRemapped,
            "PS3.15 Table E.1-1",
        );
        check("(0029,0010)", DiffAction::Removed, "private attribute");
        check("(0029,1001)", DiffAction::Removed, "private attribute");
        assert_eq!(row(&rows, "(0029,1001)").keyword, "private (ACME 1.0)");
        check(
            "(0012,0062)",
            DiffAction::Inserted,
            "de-identification markers",
        );
        check(
            "(0012,0064)[1] > (0008,0100)",
            DiffAction::Inserted,
            "inserted",
        );
        let pixels = row(&rows, "(7FE0,0010)");
        assert_eq!(pixels.original.as_deref(), Some("OW, 8 bytes"));
        assert_eq!(pixels.action, DiffAction::Kept);
        assert_eq!(pixels.keyword, "PixelData");
        // The data set's order.
        let order: Vec<&str> = rows
            .iter()
            .filter(|r| r.depth == 0)
            .map(|r| r.path.as_str())
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        for a in [
            DiffAction::Kept,
            DiffAction::Removed,
            DiffAction::Emptied,
            DiffAction::Replaced,
            DiffAction::UidRemapped,
            DiffAction::DateShifted,
            DiffAction::Cleaned,
            DiffAction::Inserted,
        ] {
            assert!(rows.iter().any(|r| r.action == a), "{a:?} appears");
        }
    }

    #[test]
    fn without_the_options_the_basic_profile_decides() {
        let key = Key([4; 32]);
        let profile = Profile::standard();
        let options = Options::default();
        let deid = Deidentifier {
            profile: &profile,
            options,
            key: &key,
        };
        let source = built();
        let out = deid.apply(source.clone(), &PatientContext::new(&key, "", "X"));
        let rows = header_diff(&source, &out, &options);
        assert_complete(&source, &rows);
        let serial = row(&rows, "(0018,1000)");
        assert_eq!(serial.action, DiffAction::Replaced, "a Type 1 dummy");
        assert!(
            serial.rule.contains("X/Z/D (resolved to dummy value"),
            "{serial:?}"
        );
        let date = row(&rows, "(0008,0020)");
        assert_eq!(date.action, DiffAction::Emptied, "{date:?}");
        assert!(date.rule.starts_with("PS3.15 Table E.1-1: Z"), "{date:?}");
    }

    fn fixture(name: &str) -> DefaultDicomObject {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real/");
        dicom_object::open_file(format!("{p}{name}")).unwrap()
    }

    #[test]
    fn real_files_diff_with_their_file_meta_and_every_element() {
        let key = Key([9; 32]);
        let profile = Profile::standard();
        let options = Choices::default().options();
        let deid = Deidentifier {
            profile: &profile,
            options,
            key: &key,
        };
        for name in [
            "CT_small.dcm",
            "MR_small_RLE.dcm",
            "SC_rgb_jpeg_dcmtk.dcm",
            "test-SR.dcm",
            "chrX1.dcm",
        ] {
            let source = fixture(name);
            let patient = PatientContext::new(&key, "", "P");
            let rendered = render(
                &deid,
                &MaskBook::default(),
                &patient,
                source.clone(),
                &mut Trace::default(),
                &ApprovedContent::default(),
            )
            .unwrap();
            let rows = file_diff(&source, &rendered.file, &options);
            let meta: Vec<&DiffRow> = rows
                .iter()
                .filter(|r| r.path.starts_with("(0002,"))
                .collect();
            assert!(!meta.is_empty(), "{name}: file meta rows");
            let media = row(&rows, "(0002,0003)");
            assert_eq!(media.action, DiffAction::UidRemapped, "{name}");
            assert_eq!(row(&rows, "(0002,0010)").action, DiffAction::Kept, "{name}");
            let data_set: Vec<DiffRow> = rows
                .into_iter()
                .filter(|r| !r.path.starts_with("(0002,"))
                .collect();
            assert_complete(&source, &data_set);
            assert_eq!(
                row(&data_set, "(0010,0010)").action,
                DiffAction::Replaced,
                "{name}"
            );
            assert_eq!(
                row(&data_set, "(0008,0018)").action,
                DiffAction::UidRemapped,
                "{name}"
            );
            assert_eq!(
                row(&data_set, "(0012,0062)").action,
                DiffAction::Inserted,
                "{name}"
            );
            if let Some(p) = data_set.iter().find(|r| r.path == "(7FE0,0010)") {
                let shown = p.original.as_deref().unwrap();
                assert!(shown.contains("bytes"), "{name}: {shown}");
                assert_eq!(p.action, DiffAction::Kept, "{name}");
            }
            // What the export wrote is explained too: every element of the
            // output has a row (kept, changed or inserted).
            let mut out_paths = Vec::new();
            every_path(&rendered.file, "", &data_set, &mut out_paths);
            for p in out_paths {
                assert!(
                    data_set.iter().any(|r| r.path == p),
                    "{name}: {p} of the output"
                );
            }
        }
    }

    #[test]
    fn masked_pixels_name_the_mask_and_the_transfer_syntax() {
        let key = Key([9; 32]);
        let profile = Profile::standard();
        let options = Choices::default().options();
        let deid = Deidentifier {
            profile: &profile,
            options,
            key: &key,
        };
        for name in ["MR_small_RLE.dcm", "SC_rgb_jpeg_dcmtk.dcm"] {
            let source = fixture(name);
            let sop = source
                .get(tags::SOP_INSTANCE_UID)
                .unwrap()
                .to_str()
                .unwrap()
                .trim_end_matches('\0')
                .to_string();
            let masks = MaskBook::new(
                &[crate::model::InstanceMask {
                    id: 1,
                    sop_instance_uid: sop,
                    rect: crate::model::Rect {
                        x: 0,
                        y: 0,
                        width: 16,
                        height: 16,
                    },
                    note: String::new(),
                }],
                &[],
            );
            let rendered = render(
                &deid,
                &masks,
                &PatientContext::new(&key, "", "P"),
                source.clone(),
                &mut Trace::default(),
                &ApprovedContent::default(),
            )
            .unwrap();
            let rows = file_diff(&source, &rendered.file, &options);
            let pixels = row(&rows, "(7FE0,0010)");
            assert_eq!(pixels.action, DiffAction::Replaced, "{name}: {pixels:?}");
            assert!(pixels.rule.starts_with("pixel masks"), "{pixels:?}");
            assert!(pixels.original.as_deref().unwrap().contains("encapsulated"));
            assert!(!pixels
                .deidentified
                .as_deref()
                .unwrap()
                .contains("encapsulated"));
            if name.starts_with("SC_rgb") {
                // The JPEG's YBR_FULL is written as the decoded RGB.
                let pi = row(&rows, "(0028,0004)");
                assert_eq!(pi.action, DiffAction::Replaced, "{pi:?}");
                assert!(pi.rule.starts_with("pixel masks"), "{pi:?}");
            }
            let ts = row(&rows, "(0002,0010)");
            assert_eq!(ts.action, DiffAction::Replaced);
            assert!(ts.rule.contains("explicit VR little endian"), "{ts:?}");
        }
    }
}
