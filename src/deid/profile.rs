//! The Basic Application Level Confidentiality Profile as data (PS3.15
//! Table E.1-1, shipped under assets/deid with its provenance), with the
//! options that change an attribute's action.

use dicom_core::VR;
use serde::Deserialize;
use std::collections::HashMap;

const TABLE_JSON: &str = include_str!("../../assets/deid/ps3.15-table-e1-1-2024b.json");
const IOD_TYPES_CSV: &str = include_str!("../../assets/deid/iod-required-attributes.csv");
const SAFE_PRIVATE_TXT: &str = include_str!("../../assets/deid/safe-private-attributes.txt");
const DEFAULT_KEEP_CSV: &str = include_str!("../../assets/deid/default-keep.csv");
const CODE_MEANINGS_CSV: &str = include_str!("../../assets/deid/standard-code-meanings.csv");

/// What happens to one attribute, after options and compound codes are
/// resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Keep,
    Remove,
    /// Present with an empty value (Type 2), or an empty sequence.
    Empty,
    /// A dummy value of the right VR (Type 1).
    Dummy,
    /// Every UID replaced by its keyed pseudonym.
    Uid,
    /// Cleaned: dates shifted, ages capped, descriptors reduced to safe words.
    Clean,
    /// The patient's keyed pseudonym (patient ID and name): decided when a
    /// data set is de-identified, never by the table.
    Pseudonym,
    /// Code Meaning (0008,0104): the standard meaning of the item's code
    /// when the shipped dictionary has it, else cleaned like a descriptor
    /// (removed without Clean Descriptors).
    CodeMeaning,
}

/// Who decided what happens to an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    /// PS3.15 Table E.1-1 (with the options switched on).
    Table,
    /// The shipped keep-list (`assets/deid/default-keep.csv`).
    KeepList,
    /// Default deny: the table does not list it, so its VR decides
    /// (DECISIONS 30).
    DefaultByVr,
}

/// An action code of the table (compound codes kept as such; resolving them
/// needs the attribute's Type in the IOD, see DECISIONS 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Replace with a dummy value.
    D,
    /// Replace with an empty value (or a dummy).
    Z,
    /// Remove.
    X,
    /// Keep (sequences are still cleaned recursively).
    K,
    /// Clean: replace with values of similar meaning without identifiers.
    C,
    /// Replace with a consistent new UID.
    U,
    ZD,
    XZ,
    XD,
    XZD,
    XZU,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        Some(match s.trim() {
            "D" => Action::D,
            "Z" => Action::Z,
            "X" => Action::X,
            "K" => Action::K,
            "C" => Action::C,
            "U" => Action::U,
            "Z/D" => Action::ZD,
            "X/Z" => Action::XZ,
            "X/D" => Action::XD,
            "X/Z/D" => Action::XZD,
            "X/Z/U*" | "X/Z/U" => Action::XZU,
            _ => return None,
        })
    }
}

/// The options of Table E.1-1 a user can switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    pub retain_safe_private: bool,
    pub retain_uids: bool,
    pub retain_device_identity: bool,
    pub retain_institution_identity: bool,
    pub retain_patient_characteristics: bool,
    pub retain_long_full_dates: bool,
    pub retain_long_modified_dates: bool,
    pub clean_descriptors: bool,
    pub clean_structured_content: bool,
    pub clean_graphics: bool,
}

/// The options a user switches (the CLI flags and the export dialog), with
/// the defaults of an export: dates shifted, descriptors cleaned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choices {
    pub full_dates: bool,
    pub patient_characteristics: bool,
    pub device_identity: bool,
    pub institution_identity: bool,
    pub uids: bool,
    pub safe_private: bool,
    pub clean_descriptors: bool,
}

impl Default for Choices {
    fn default() -> Self {
        Choices {
            full_dates: false,
            patient_characteristics: false,
            device_identity: false,
            institution_identity: false,
            uids: false,
            safe_private: false,
            clean_descriptors: true,
        }
    }
}

impl Choices {
    pub fn options(&self) -> Options {
        Options {
            retain_long_modified_dates: !self.full_dates,
            retain_long_full_dates: self.full_dates,
            retain_patient_characteristics: self.patient_characteristics,
            retain_device_identity: self.device_identity,
            retain_institution_identity: self.institution_identity,
            retain_uids: self.uids,
            retain_safe_private: self.safe_private,
            clean_descriptors: self.clean_descriptors,
            ..Default::default()
        }
    }
}

/// The CID 7050 code claimed only for series whose pixels a reviewer
/// approved (DECISIONS 25).
pub const CLEAN_PIXEL_DATA: (&str, &str) = ("113101", "Clean Pixel Data Option");

impl Options {
    /// Every CID 7050 code (value, meaning) the export may insert, under
    /// any options.
    pub fn every_method_code() -> Vec<(&'static str, &'static str)> {
        let mut codes = Options {
            retain_safe_private: true,
            retain_uids: true,
            retain_device_identity: true,
            retain_institution_identity: true,
            retain_patient_characteristics: true,
            retain_long_full_dates: true,
            retain_long_modified_dates: true,
            clean_descriptors: true,
            ..Default::default()
        }
        .method_codes();
        codes.push(CLEAN_PIXEL_DATA);
        codes
    }

    /// The CID 7050 codes (value, meaning) of exactly what these options
    /// apply: inserted into every file and listed in the manifests.
    pub fn method_codes(&self) -> Vec<(&'static str, &'static str)> {
        let mut codes = vec![("113100", "Basic Application Confidentiality Profile")];
        let optional = [
            (
                self.retain_long_modified_dates,
                "113107",
                "Retain Longitudinal Temporal Information Modified Dates Option",
            ),
            (
                self.retain_long_full_dates,
                "113106",
                "Retain Longitudinal Temporal Information Full Dates Option",
            ),
            (
                self.retain_patient_characteristics,
                "113108",
                "Retain Patient Characteristics Option",
            ),
            (
                self.retain_device_identity,
                "113109",
                "Retain Device Identity Option",
            ),
            (
                self.retain_institution_identity,
                "113112",
                "Retain Institution Identity Option",
            ),
            (self.clean_descriptors, "113105", "Clean Descriptors Option"),
            (self.retain_uids, "113110", "Retain UIDs Option"),
            (
                self.retain_safe_private,
                "113111",
                "Retain Safe Private Option",
            ),
        ];
        codes.extend(
            optional
                .into_iter()
                .filter(|(on, _, _)| *on)
                .map(|(_, value, meaning)| (value, meaning)),
        );
        codes
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    tag: String,
    basic_profile: String,
    rtn_safe_priv_opt: Option<String>,
    #[serde(rename = "rtnUIDsOpt")]
    rtn_uids_opt: Option<String>,
    rtn_dev_id_opt: Option<String>,
    rtn_inst_id_opt: Option<String>,
    rtn_pat_chars_opt: Option<String>,
    rtn_long_full_dates_opt: Option<String>,
    rtn_long_modif_dates_opt: Option<String>,
    clean_desc_opt: Option<String>,
    clean_struct_cont_opt: Option<String>,
    clean_graph_opt: Option<String>,
}

/// One attribute's actions: the basic profile's, and per option.
#[derive(Debug, Clone)]
struct Entry {
    basic: Action,
    /// (option index, action) in the table's column order.
    options: Vec<(usize, Action)>,
}

/// A tag pattern: exact, or with hexadecimal wildcards (`50xx,xxxx`).
#[derive(Debug, Clone, Copy)]
struct Pattern {
    group: u16,
    group_mask: u16,
    element: u32,
    element_mask: u32,
}

/// The parsed table.
#[derive(Debug, Clone)]
pub struct Profile {
    exact: HashMap<(u16, u16), Entry>,
    patterns: Vec<(Pattern, Entry)>,
    /// Rows the parser could not read (kept for the tests to look at).
    pub skipped: usize,
    /// Type (1 or 2) in a common image IOD of the compound-coded attributes
    /// (DECISIONS 20); absent means optional: removed.
    iod_type: HashMap<(u16, u16), u8>,
    /// The Retain Safe Private allow-list: (creator, group, element low byte).
    safe_private: std::collections::HashSet<(String, u16, u8)>,
    /// Attributes the table does not list that are kept verbatim anyway.
    keep: std::collections::HashSet<(u16, u16)>,
    /// Standard code meanings: (scheme, value) -> meaning.
    meanings: HashMap<(String, String), String>,
}

/// Parses `(gggg,eeee)`.
fn parse_tag(s: &str) -> Option<(u16, u16)> {
    let inner = s.trim().trim_start_matches('(').trim_end_matches(')');
    let (g, e) = inner.split_once(',')?;
    Some((
        u16::from_str_radix(g.trim(), 16).ok()?,
        u16::from_str_radix(e.trim(), 16).ok()?,
    ))
}

/// The shipped Type list: `tag,type,name,where` rows after `#` comments and
/// a header line.
fn parse_iod_types(csv: &str) -> HashMap<(u16, u16), u8> {
    csv.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.splitn(3, ',');
            let g = cols.next()?;
            let e = cols.next()?;
            let rest = cols.next()?;
            let tag = parse_tag(&format!("{g},{e}"))?;
            let ty: u8 = rest.split(',').next()?.trim().parse().ok()?;
            Some((tag, ty))
        })
        .collect()
}

/// The keep-list: the tag of every `(gggg,eeee),name,reason` row.
fn parse_keep_list(csv: &str) -> std::collections::HashSet<(u16, u16)> {
    csv.lines()
        .filter(|l| l.starts_with('('))
        .filter_map(|l| parse_tag(l.get(..11)?))
        .collect()
}

/// The code dictionary: `scheme,value,meaning` rows.
fn parse_meanings(csv: &str) -> HashMap<(String, String), String> {
    csv.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("scheme,"))
        .filter_map(|l| {
            let mut cols = l.splitn(3, ',');
            let scheme = cols.next()?.trim().to_string();
            let value = cols.next()?.trim().to_string();
            let meaning = cols.next()?.trim().to_string();
            Some(((scheme, value), meaning))
        })
        .collect()
}

/// The allow-list: `CREATOR | gggg | ee` lines.
pub fn parse_safe_private(text: &str) -> std::collections::HashSet<(String, u16, u8)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split('|').map(str::trim);
            let creator = parts.next()?.to_string();
            let group = u16::from_str_radix(parts.next()?, 16).ok()?;
            let elem = u8::from_str_radix(parts.next()?, 16).ok()?;
            (group % 2 == 1 && !creator.is_empty()).then_some((creator, group, elem))
        })
        .collect()
}

fn parse_hex_pattern(s: &str) -> Option<(u32, u32)> {
    let mut value = 0u32;
    let mut mask = 0u32;
    for c in s.chars() {
        value <<= 4;
        mask <<= 4;
        match c.to_digit(16) {
            Some(d) => {
                value |= d;
                mask |= 0xF;
            }
            None if c == 'x' || c == 'X' => {}
            None => return None,
        }
    }
    Some((value, mask))
}

impl Profile {
    /// The standard profile table shipped with the app.
    pub fn standard() -> Profile {
        let rows: Vec<Row> = serde_json::from_str(TABLE_JSON).unwrap_or_default();
        let mut exact = HashMap::new();
        let mut patterns = Vec::new();
        let mut skipped = 0;
        for r in rows {
            let Some(basic) = Action::parse(&r.basic_profile) else {
                skipped += 1;
                continue;
            };
            let cols = [
                &r.rtn_safe_priv_opt,
                &r.rtn_uids_opt,
                &r.rtn_dev_id_opt,
                &r.rtn_inst_id_opt,
                &r.rtn_pat_chars_opt,
                &r.rtn_long_full_dates_opt,
                &r.rtn_long_modif_dates_opt,
                &r.clean_desc_opt,
                &r.clean_struct_cont_opt,
                &r.clean_graph_opt,
            ];
            let options = cols
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.as_deref().and_then(Action::parse).map(|a| (i, a)))
                .collect();
            let entry = Entry { basic, options };
            let inner = r.tag.trim().trim_start_matches('(').trim_end_matches(')');
            let Some((g, e)) = inner.split_once(',') else {
                skipped += 1;
                continue;
            };
            match (parse_hex_pattern(g.trim()), parse_hex_pattern(e.trim())) {
                (Some((gv, gm)), Some((ev, em))) if g.trim().len() == 4 && e.trim().len() == 4 => {
                    if gm == 0xFFFF && em == 0xFFFF {
                        exact.insert((gv as u16, ev as u16), entry);
                    } else {
                        let pattern = Pattern {
                            group: gv as u16,
                            group_mask: gm as u16,
                            element: ev,
                            element_mask: em,
                        };
                        patterns.push((pattern, entry));
                    }
                }
                _ => skipped += 1,
            }
        }
        Profile {
            exact,
            patterns,
            skipped,
            iod_type: parse_iod_types(IOD_TYPES_CSV),
            safe_private: parse_safe_private(SAFE_PRIVATE_TXT),
            keep: parse_keep_list(DEFAULT_KEEP_CSV),
            meanings: parse_meanings(CODE_MEANINGS_CSV),
        }
    }

    /// The standard meaning of a code, when the shipped dictionary has it.
    pub fn standard_meaning(&self, scheme: &str, value: &str) -> Option<&str> {
        self.meanings
            .get(&(scheme.trim().to_string(), value.trim().to_string()))
            .map(String::as_str)
    }

    /// What to do with a standard element of VR `vr`, and who decided: the
    /// table where it lists the attribute, else the keep-list, else its VR
    /// (default deny, DECISIONS 30).
    pub fn decide_element(&self, tag: (u16, u16), vr: VR, opts: &Options) -> (Decision, DecidedBy) {
        if let Some(action) = self.action(tag, opts) {
            return (self.resolve(tag, action), DecidedBy::Table);
        }
        if self.keep.contains(&tag) {
            return (Decision::Keep, DecidedBy::KeepList);
        }
        (self.default_by_vr(tag, vr, opts), DecidedBy::DefaultByVr)
    }

    /// Whether a Retain option (not the basic profile) keeps this attribute:
    /// its value is then exempt from the gate (DECISIONS 21).
    pub fn retained_by_option(&self, tag: (u16, u16), opts: &Options) -> bool {
        self.action(tag, opts) == Some(Action::K)
            && self.action(tag, &Options::default()) != Some(Action::K)
    }

    /// Whether an attribute's value is written as it was (the table keeps
    /// it, or the keep-list does, or its VR is kept by default).
    pub fn keeps_verbatim(&self, tag: (u16, u16), vr: VR, opts: &Options) -> bool {
        self.decide_element(tag, vr, opts).0 == Decision::Keep
    }

    /// Default deny for an attribute the table does not list.
    fn default_by_vr(&self, tag: (u16, u16), vr: VR, opts: &Options) -> Decision {
        if tag == (0x0008, 0x0104) {
            return Decision::CodeMeaning;
        }
        let by_type = || match self.iod_type.get(&tag) {
            Some(1) => Decision::Dummy,
            Some(2) => Decision::Empty,
            _ => Decision::Remove,
        };
        match vr {
            VR::UI if opts.retain_uids => Decision::Keep,
            VR::UI => Decision::Uid,
            VR::DA | VR::DT if opts.retain_long_full_dates => Decision::Keep,
            VR::DA | VR::DT if opts.retain_long_modified_dates => Decision::Clean,
            VR::DA | VR::DT => by_type(),
            // Ages are capped at 90 like the Patient's Age.
            VR::AS => Decision::Clean,
            // Times move with whole-day shifts; numbers and binary numbers
            // are measurements (a number glued into one is the gate's job).
            VR::TM
            | VR::US
            | VR::SS
            | VR::UL
            | VR::SL
            | VR::FL
            | VR::FD
            | VR::DS
            | VR::IS
            | VR::AT
            | VR::OF
            | VR::OD
            | VR::OL
            | VR::OW
            | VR::SV
            | VR::UV
            | VR::SQ => Decision::Keep,
            // Text, names, codes, URLs, AE titles, unknown and byte
            // values: anything can hide there.
            _ => by_type(),
        }
    }

    /// Replaces the Retain Safe Private allow-list (the shipped one is empty).
    pub fn with_safe_private(mut self, list: std::collections::HashSet<(String, u16, u8)>) -> Self {
        self.safe_private = list;
        self
    }

    /// Whether a private attribute is on the allow-list.
    pub fn is_safe_private(&self, creator: &str, group: u16, element_low: u8) -> bool {
        self.safe_private
            .contains(&(creator.trim().to_string(), group, element_low))
    }

    /// What to do with a standard attribute under `opts`. Attributes the
    /// table does not name are kept (private ones are the caller's: see
    /// `is_safe_private`). Compound codes resolve by the attribute's Type in
    /// the common image IODs (DECISIONS 20).
    pub fn decide(&self, tag: (u16, u16), opts: &Options) -> Decision {
        self.action(tag, opts)
            .map_or(Decision::Keep, |a| self.resolve(tag, a))
    }

    /// The decision for a table action of `tag`.
    fn resolve(&self, tag: (u16, u16), action: Action) -> Decision {
        let ty = self.iod_type.get(&tag).copied();
        match action {
            Action::K => Decision::Keep,
            Action::X => Decision::Remove,
            Action::Z => Decision::Empty,
            Action::D => Decision::Dummy,
            Action::C => Decision::Clean,
            Action::U | Action::XZU => Decision::Uid,
            // Type 1 needs a value; Type 2 may be empty; optional goes.
            Action::ZD | Action::XZD if ty == Some(1) => Decision::Dummy,
            Action::ZD => Decision::Empty,
            Action::XZD | Action::XZ if ty.is_some() => Decision::Empty,
            Action::XD if ty.is_some() => Decision::Dummy,
            Action::XZ | Action::XD | Action::XZD => Decision::Remove,
        }
    }

    /// Replaces the action of one attribute (every option included). Used
    /// to prove the residual-PHI gate fails when the profile is broken.
    pub fn set_override(&mut self, tag: (u16, u16), action: Action) {
        self.exact.insert(
            tag,
            Entry {
                basic: action,
                options: Vec::new(),
            },
        );
    }

    /// How many attributes the table names.
    pub fn len(&self) -> usize {
        self.exact.len() + self.patterns.len()
    }

    /// Whether the table is empty (it never is for the shipped one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The action for an attribute under `opts`; `None` for an attribute the
    /// table does not name (the basic profile keeps those; private ones are
    /// handled by the caller: removed unless on the safe list).
    pub fn action(&self, tag: (u16, u16), opts: &Options) -> Option<Action> {
        let entry = self.exact.get(&tag).or_else(|| {
            self.patterns.iter().find_map(|(p, e)| {
                (tag.0 & p.group_mask == p.group && (tag.1 as u32) & p.element_mask == p.element)
                    .then_some(e)
            })
        })?;
        let on = [
            opts.retain_safe_private,
            opts.retain_uids,
            opts.retain_device_identity,
            opts.retain_institution_identity,
            opts.retain_patient_characteristics,
            opts.retain_long_full_dates,
            opts.retain_long_modified_dates,
            opts.clean_descriptors,
            opts.clean_structured_content,
            opts.clean_graphics,
        ];
        Some(
            entry
                .options
                .iter()
                .find(|(i, _)| on[*i])
                .map(|(_, a)| *a)
                .unwrap_or(entry.basic),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_loads_with_its_actions_and_options() {
        let p = Profile::standard();
        assert!(p.len() >= 600, "{} attributes", p.len());
        assert_eq!(p.skipped, 621 - p.len(), "rows the parser could not read");
        let none = Options::default();
        assert_eq!(
            p.action((0x0010, 0x0010), &none),
            Some(Action::Z),
            "Patient's Name"
        );
        assert_eq!(
            p.action((0x0008, 0x0050), &none),
            Some(Action::Z),
            "Accession Number"
        );
        assert_eq!(
            p.action((0x0008, 0x0018), &none),
            Some(Action::U),
            "SOP Instance UID"
        );
        assert_eq!(
            p.action((0x0008, 0x0022), &none),
            Some(Action::XZ),
            "Acquisition Date"
        );
        assert_eq!(
            p.action((0x6002, 0x3000), &none),
            Some(Action::X),
            "Overlay Data, repeating group"
        );
        assert_eq!(p.action((0x5010, 0x0005), &none), Some(Action::X), "curves");
        assert_eq!(
            p.action((0x0028, 0x0010), &none),
            None,
            "Rows is not in the table"
        );
        let dates = Options {
            retain_long_modified_dates: true,
            ..Default::default()
        };
        assert_eq!(
            p.action((0x0008, 0x0022), &dates),
            Some(Action::C),
            "modified dates clean (shift)"
        );
        let full = Options {
            retain_long_full_dates: true,
            ..Default::default()
        };
        assert_eq!(p.action((0x0008, 0x0022), &full), Some(Action::K));
        let uids = Options {
            retain_uids: true,
            ..Default::default()
        };
        assert_eq!(p.action((0x0008, 0x0018), &uids), Some(Action::K));
        let desc = Options {
            clean_descriptors: true,
            ..Default::default()
        };
        assert_eq!(
            p.action((0x0018, 0x4000), &desc),
            Some(Action::C),
            "Acquisition Comments"
        );
    }

    #[test]
    fn every_action_code_resolves_and_compound_codes_follow_the_iod_type() {
        let p = Profile::standard();
        let none = Options::default();
        let cases = [
            ((0x0010, 0x0030), Decision::Empty, "Z: Patient's Birth Date"),
            (
                (0x0008, 0x0080),
                Decision::Remove,
                "X/Z/D, optional: Institution Name",
            ),
            ((0x0008, 0x0081), Decision::Remove, "X: Institution Address"),
            ((0x0008, 0x0018), Decision::Uid, "U: SOP Instance UID"),
            (
                (0x0008, 0x1140),
                Decision::Uid,
                "X/Z/U*: Referenced Image Sequence",
            ),
            (
                (0x0008, 0x002A),
                Decision::Dummy,
                "X/Z/D, Type 1: Acquisition DateTime",
            ),
            (
                (0x0018, 0x1000),
                Decision::Dummy,
                "X/Z/D, Type 1: Device Serial Number",
            ),
            (
                (0x0008, 0x0022),
                Decision::Remove,
                "X/Z, optional: Acquisition Date",
            ),
            (
                (0x0040, 0x0555),
                Decision::Empty,
                "X/Z, Type 2: Acquisition Context Sequence",
            ),
            (
                (0x0018, 0x0010),
                Decision::Empty,
                "Z/D, Type 2: Contrast/Bolus Agent",
            ),
            (
                (0x0008, 0x0023),
                Decision::Dummy,
                "Z/D, Type 1: Content Date",
            ),
            (
                (0x0008, 0x0021),
                Decision::Remove,
                "X/D, optional: Series Date",
            ),
            ((0x0020, 0x4000), Decision::Remove, "X: Image Comments"),
            ((0x0028, 0x0010), Decision::Keep, "not in the table: Rows"),
        ];
        for (tag, want, what) in cases {
            assert_eq!(p.decide(tag, &none), want, "{what}");
        }
        let dev = Options {
            retain_device_identity: true,
            ..Default::default()
        };
        assert_eq!(
            p.decide((0x0018, 0x1000), &dev),
            Decision::Keep,
            "option wins"
        );
        let dates = Options {
            retain_long_modified_dates: true,
            ..Default::default()
        };
        assert_eq!(p.decide((0x0008, 0x0022), &dates), Decision::Clean);
        let desc = Options {
            clean_descriptors: true,
            ..Default::default()
        };
        assert_eq!(p.decide((0x0020, 0x4000), &desc), Decision::Clean);
    }

    #[test]
    fn the_type_list_and_the_safe_private_list_parse() {
        let types = parse_iod_types(IOD_TYPES_CSV);
        assert_eq!(types.get(&(0x0008, 0x002A)), Some(&1));
        assert_eq!(types.get(&(0x0040, 0x0555)), Some(&2));
        assert!(types.len() >= 8);
        assert!(
            parse_safe_private(SAFE_PRIVATE_TXT).is_empty(),
            "shipped empty (DECISIONS 20)"
        );
        let list = parse_safe_private("# c\nACME 1.0 | 0009 | 10\nbad line\nX | 0010 | 01\n");
        assert_eq!(list.len(), 1, "even groups and malformed lines ignored");
        assert!(list.contains(&("ACME 1.0".to_string(), 0x0009, 0x10)));
    }
}
