//! The Basic Application Level Confidentiality Profile as data (PS3.15
//! Table E.1-1, shipped under assets/deid with its provenance), with the
//! options that change an attribute's action.

use serde::Deserialize;
use std::collections::HashMap;

const TABLE_JSON: &str = include_str!("../../assets/deid/ps3.15-table-e1-1-2024b.json");

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
}
