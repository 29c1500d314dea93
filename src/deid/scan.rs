//! The residual-PHI scan: look for a cohort's original identifying values,
//! and their usual variants, anywhere in the bytes of written files
//! (preamble, file meta, every element at every depth, private and
//! encapsulated bytes alike). Byte-level on purpose: it does not trust the
//! parser that wrote the files.

/// One original value to look for, and what kind of value it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Needle {
    /// Which attribute the value came from (for the report; e.g. "(0010,0010)").
    pub attribute: String,
    pub value: String,
    pub kind: NeedleKind,
    /// The pseudonym of the patient whose value it is (empty: unknown).
    pub patient: String,
}

/// How a value is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NeedleKind {
    /// Names, IDs, UIDs and everything the profile table acts on: a
    /// finding wherever it turns up (raw bytes too, when long enough).
    Identity,
    /// A date (birth date, an unshifted study date): in its written forms;
    /// as the value of a date element it is a coincidence (shifted dates
    /// of other patients), elsewhere a finding.
    Date,
    /// Text that default deny or Clean Descriptors removed: a finding in
    /// any decoded value except those the profile writes on purpose
    /// (kept attributes, cleaned descriptors, standard code meanings).
    Text,
}

/// A hit: where, which attribute's value, in which variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub offset: usize,
    pub attribute: String,
    pub variant: String,
    pub kind: NeedleKind,
    /// Whose value it is (a pseudonym; empty: unknown).
    pub patient: String,
}

/// Values shorter than this are not searched (DECISIONS 21): they match by chance.
pub const MIN_LEN: usize = 3;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A date's common written forms (DECISIONS 21 and the default-deny issue).
fn date_forms(v: &str) -> Vec<String> {
    let (y, m, d) = (&v[..4], &v[4..6], &v[6..]);
    let (Ok(mi), Ok(di)) = (m.parse::<usize>(), d.parse::<usize>()) else {
        return Vec::new();
    };
    let mut out = vec![
        v.to_string(),
        format!("{y}-{m}-{d}"),
        format!("{y}.{m}.{d}"),
        format!("{y}/{m}/{d}"),
        format!("{d}/{m}/{y}"),
        format!("{m}/{d}/{y}"),
        format!("{d}.{m}.{y}"),
        format!("{d}-{m}-{y}"),
        format!("{di}.{mi}.{y}"),
        format!("{di}/{mi}/{y}"),
        format!("{mi}/{di}/{y}"),
    ];
    // Two-digit years (not the bare six digits YYMMDD: every HHMMSS time
    // and many numbers would match them).
    let yy = &y[2..];
    out.extend([
        format!("{m}/{d}/{yy}"),
        format!("{d}/{m}/{yy}"),
        format!("{d}.{m}.{yy}"),
        format!("{mi}/{di}/{yy}"),
        format!("{di}.{mi}.{yy}"),
    ]);
    if (1..=12).contains(&mi) {
        let long = MONTHS[mi - 1];
        let short = &long[..3];
        for month in [long, short] {
            out.extend([
                format!("{d}{month}{y}"),
                format!("{di}{month}{y}"),
                format!("{d}-{month}-{yy}"),
                format!("{di} {month} {y}"),
                format!("{d} {month} {y}"),
                format!("{month} {di}, {y}"),
                format!("{month} {di} {y}"),
                format!("{di}-{month}-{y}"),
                format!("{d}-{month}-{y}"),
            ]);
        }
    }
    out
}

/// ASCII transliterations of a text: accents dropped (NFD without the
/// combining marks), and the German/Nordic two-letter forms (ü -> ue,
/// ß -> ss, ø -> oe, æ -> ae, å -> aa).
fn transliterations(v: &str) -> Vec<String> {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    if v.is_ascii() {
        return Vec::new();
    }
    // Letters NFD does not decompose, spelled in ASCII; the German and
    // Nordic vowels have a two-letter spelling (ü -> ue) besides the one
    // NFD gives by dropping the accent (ü -> u).
    let spelled = |c: char, two_letter: bool| -> Option<&'static str> {
        Some(match c {
            'ä' | 'ö' | 'ü' | 'å' | 'Ä' | 'Ö' | 'Ü' | 'Å' if !two_letter => return None,
            'ä' => "ae",
            'ö' | 'ø' | 'œ' if two_letter => "oe",
            'ü' => "ue",
            'Ä' => "AE",
            'Ö' | 'Ø' | 'Œ' if two_letter => "OE",
            'Ü' => "UE",
            'å' => "aa",
            'Å' => "AA",
            'ø' => "o",
            'Ø' => "O",
            'œ' => "oe",
            'Œ' => "OE",
            'ß' => "ss",
            'æ' => "ae",
            'Æ' => "AE",
            'ł' => "l",
            'Ł' => "L",
            'đ' | 'ð' => "d",
            'Đ' | 'Ð' => "D",
            'þ' => "th",
            'Þ' => "TH",
            _ => return None,
        })
    };
    let strip = |s: &str| -> String { s.nfd().filter(|c| !is_combining_mark(*c)).collect() };
    let mut two = String::new();
    let mut one = String::new();
    for c in v.nfc() {
        for (out, two_letter) in [(&mut two, true), (&mut one, false)] {
            match spelled(c, two_letter) {
                Some(t) => out.push_str(t),
                None => out.push(c),
            }
        }
    }
    vec![strip(&two), strip(&one)]
}

/// The texts a value may appear as: itself, its person-name groups (`=`)
/// and components (`^`) alone and joined by spaces in both orders, dates in
/// their written forms, Unicode NFC and NFD, and ASCII transliterations.
pub fn variant_texts(value: &str) -> Vec<String> {
    use unicode_normalization::UnicodeNormalization;
    let v = value.trim_matches([' ', '\0']);
    let mut texts: Vec<String> = vec![v.to_string()];
    if v.contains(['^', '=']) {
        // Each group (alphabetic, ideographic, phonetic) and each
        // component on its own: family names leak alone.
        for group in v.split('=') {
            let parts: Vec<&str> = group
                .split('^')
                .map(|p| p.trim())
                .filter(|p| !p.is_empty())
                .collect();
            if parts.is_empty() {
                continue;
            }
            texts.push(parts.join(" "));
            texts.push(parts.concat());
            if parts.len() >= 2 {
                texts.push(format!("{} {}", parts[1], parts[0]));
                texts.push(format!("{}, {}", parts[0], parts[1]));
                texts.push(format!("{}^{}", parts[0], parts[1]));
            }
            texts.extend(parts.iter().map(|p| p.to_string()));
            // A component of several words ("van der Berg", "Garcia-Lopez",
            // "O'Brien"): each word too, and the words run together.
            for p in &parts {
                let words: Vec<&str> = p
                    .split(|c: char| c.is_whitespace() || c == '-' || c == '\'')
                    .filter(|w| !w.is_empty())
                    .collect();
                if words.len() > 1 {
                    texts.extend(words.iter().map(|w| w.to_string()));
                    texts.push(words.concat());
                    texts.push(words.join(" "));
                }
            }
        }
    }
    if v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()) {
        texts.extend(date_forms(v));
    }
    let mut all = Vec::new();
    for t in texts {
        all.extend(transliterations(&t));
        all.push(t.nfc().collect::<String>());
        all.push(t.nfd().collect::<String>());
        all.push(t);
    }
    // Bytes, not characters: a two-character Japanese given name (6 bytes
    // in UTF-8) is as distinctive as a three-letter Latin one.
    let mut out: Vec<String> = all.into_iter().filter(|t| t.len() >= MIN_LEN).collect();
    out.sort();
    out.dedup();
    out
}

/// The byte strings a value may appear as: [`variant_texts`] in upper,
/// lower and given case, UTF-8 and (where it differs) Latin-1.
pub fn variants(value: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for t in variant_texts(value) {
        if t.is_ascii() {
            // The scanner ignores ASCII case: one pattern for all cases.
            out.push(t.to_ascii_lowercase().into_bytes());
            continue;
        }
        for case in [t.clone(), t.to_uppercase(), t.to_lowercase()] {
            out.push(case.as_bytes().to_vec());
            // Latin-1 (ISO_IR 100) encoding when it differs from UTF-8.
            if case.chars().all(|c| (c as u32) < 256) {
                out.push(case.chars().map(|c| c as u8).collect());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A compiled set of needles: every variant of every value in one
/// automaton, so a file is read once however many values are searched.
pub struct Scanner {
    automaton: Option<aho_corasick::AhoCorasick>,
    labels: Vec<Label>,
}

/// What one pattern of the automaton stands for.
struct Label {
    attribute: String,
    variant: String,
    kind: NeedleKind,
    patient: String,
    /// Whether the pattern starts / ends with a character of a script
    /// written without spaces (CJK, kana): no token boundary needed there.
    open_start: bool,
    open_end: bool,
}

/// Which characters belong together in a token.
#[derive(PartialEq, Eq)]
enum Class {
    Letter,
    Digit,
    Other,
}

fn class(b: Option<&u8>) -> Class {
    match b {
        Some(b) if b.is_ascii_digit() => Class::Digit,
        Some(b) if b.is_ascii_alphabetic() || *b >= 0x80 => Class::Letter,
        _ => Class::Other,
    }
}

fn unspaced_script(c: Option<char>) -> bool {
    c.is_some_and(|c| (c as u32) >= 0x2E80)
}

impl Scanner {
    /// Compiles the needles (values and variants shorter than [`MIN_LEN`]
    /// are skipped).
    pub fn new(needles: &[Needle]) -> Scanner {
        Scanner::build(needles, |_, _| true)
    }

    /// Compiles the variants `keep(needle, variant)` accepts.
    pub fn build(needles: &[Needle], keep: impl Fn(&Needle, &[u8]) -> bool) -> Scanner {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut labels = Vec::new();
        for n in needles {
            if n.value.trim_matches([' ', '\0']).len() < MIN_LEN {
                continue;
            }
            for var in variants(&n.value) {
                if var.len() < MIN_LEN || !keep(n, &var) {
                    continue;
                }
                let text = String::from_utf8_lossy(&var).into_owned();
                labels.push(Label {
                    attribute: n.attribute.clone(),
                    open_start: unspaced_script(text.chars().next()),
                    open_end: unspaced_script(text.chars().last()),
                    variant: text,
                    kind: n.kind,
                    patient: n.patient.clone(),
                });
                patterns.push(var);
            }
        }
        let automaton = (!patterns.is_empty())
            .then(|| {
                aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(aho_corasick::MatchKind::Standard)
                    .build(&patterns)
                    .ok()
            })
            .flatten();
        Scanner { automaton, labels }
    }

    /// Every whole-token occurrence in `bytes` (ASCII case-insensitive).
    /// Letters and digits are separate tokens: `MUELLER1965` holds the
    /// name and the year, while a name inside a longer word, or digits
    /// inside a longer number (a date inside a `2.25.` UID), are not hits.
    pub fn scan(&self, bytes: &[u8]) -> Vec<Hit> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        for m in ac.find_overlapping_iter(bytes) {
            let label = &self.labels[m.pattern().as_usize()];
            let first = bytes.get(m.start());
            let last = m.end().checked_sub(1).and_then(|i| bytes.get(i));
            let before = m.start().checked_sub(1).and_then(|i| bytes.get(i));
            // A short number glued to letters ("MR750", "120KV") is part of
            // a model name or a measurement, not an ID of 3-5 digits.
            let short_number =
                label.variant.len() < 6 && label.variant.bytes().all(|b| b.is_ascii_digit());
            let glued = |outside: Option<&u8>, edge: Option<&u8>| {
                let c = class(edge);
                c != Class::Other
                    && (class(outside) == c || (short_number && class(outside) != Class::Other))
            };
            if (!label.open_start && glued(before, first))
                || (!label.open_end && glued(bytes.get(m.end()), last))
            {
                continue;
            }
            hits.push(Hit {
                offset: m.start(),
                attribute: label.attribute.clone(),
                variant: label.variant.clone(),
                kind: label.kind,
                patient: label.patient.clone(),
            });
        }
        hits.sort_by(|a, b| (a.offset, &a.attribute).cmp(&(b.offset, &b.attribute)));
        // One hit per place, value and patient: when two patients share a
        // surname, the owner's hit must not hide behind the other's.
        hits.dedup_by(|a, b| {
            a.offset == b.offset && a.attribute == b.attribute && a.patient == b.patient
        });
        hits
    }
}

/// Every occurrence of every needle's variants in `bytes`, ASCII
/// case-insensitively, standing as a whole token. Compiles the needles
/// each call: use [`Scanner`] to scan many files.
pub fn scan(bytes: &[u8], needles: &[Needle]) -> Vec<Hit> {
    Scanner::new(needles).scan(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(attribute: &str, value: &str) -> Needle {
        Needle {
            attribute: attribute.into(),
            value: value.into(),
            kind: NeedleKind::Identity,
            patient: String::new(),
        }
    }

    #[test]
    fn variants_an_exact_match_would_miss_are_found() {
        let needles = [
            n("PatientName", "Müller^Renée"),
            n("PatientBirthDate", "19600115"),
            n("PatientID", "MRN42"),
        ];
        let mut file = b"DICM....".to_vec();
        file.extend_from_slice(b"report: renee muller?");
        file.extend_from_slice(b" seen 15/01/1960 ");
        file.extend_from_slice(b"id mrn42 ");
        file.extend("MÜLLER".chars().map(|c| c as u8)); // Latin-1, upper case
        file.extend_from_slice(b" born 1960-01-15");
        let hits = scan(&file, &needles);
        let found = |attr: &str, var: &str| {
            hits.iter()
                .any(|h| h.attribute == attr && h.variant.eq_ignore_ascii_case(var))
        };
        assert!(found("PatientBirthDate", "15/01/1960"));
        assert!(found("PatientBirthDate", "1960-01-15"));
        assert!(found("PatientID", "MRN42"), "case-insensitive");
        assert!(
            hits.iter().any(|h| h.attribute == "PatientName"),
            "Latin-1 upper-case family name: {hits:?}"
        );
        // Inside a longer token it is a coincidence, not a leak.
        assert!(
            scan(b"2.25.1234519600115987", &needles).is_empty(),
            "date digits inside a UID"
        );
        assert!(
            scan(b"PKIXMRN42XY", &needles).is_empty(),
            "inside a longer word"
        );
        // Short values are not searched; clean bytes give nothing.
        assert!(scan(b"nothing to see here", &needles).is_empty());
        assert!(scan(b"ab ab ab", &[n("X", "ab")]).is_empty());
    }
}

#[cfg(test)]
mod variant_tests {
    use super::*;

    fn has(v: &[String], want: &str) -> bool {
        v.iter().any(|t| t == want)
    }

    #[test]
    fn person_name_groups_components_and_transliterations_are_variants() {
        let v = variant_texts("Müller^Renée=ミュラー^レネ=みゅらー^れね");
        for want in [
            "Müller",
            "Mueller",
            "Muller",
            "Renée",
            "Renee",
            "Müller Renée",
            "Renée Müller",
            "ミュラー",
            "レネ",
            "みゅらー",
            "ミュラーレネ",
        ] {
            assert!(has(&v, want), "{want} in {v:?}");
        }
        use unicode_normalization::UnicodeNormalization;
        let nfd: String = "Müller".nfd().collect();
        assert!(has(&v, &nfd), "decomposed form");
        let v = variant_texts("Großmann^Jörg");
        assert!(
            has(&v, "Grossmann") && has(&v, "Joerg") && has(&v, "Jorg"),
            "{v:?}"
        );
    }

    #[test]
    fn dates_have_their_written_forms() {
        let v = variant_texts("19650412");
        for want in [
            "19650412",
            "1965-04-12",
            "12.04.1965",
            "12.4.1965",
            "12/04/1965",
            "04/12/1965",
            "4/12/1965",
            "12 Apr 1965",
            "12 April 1965",
            "Apr 12, 1965",
            "April 12, 1965",
            "12-Apr-1965",
        ] {
            assert!(has(&v, want), "{want} in {v:?}");
        }
    }

    #[test]
    fn letters_and_digits_are_separate_tokens_but_words_stay_whole() {
        let needles = [
            Needle {
                attribute: "(0010,0010)".into(),
                value: "Müller^Renée".into(),
                kind: NeedleKind::Identity,
                patient: String::new(),
            },
            Needle {
                attribute: "(0010,0030)".into(),
                value: "19650412".into(),
                kind: NeedleKind::Date,
                patient: String::new(),
            },
        ];
        let s = Scanner::new(&needles);
        let found = |b: &[u8]| !s.scan(b).is_empty();
        assert!(found(b"ref MUELLER1965 x"), "glued to digits");
        assert!(found(b"ref 1965MULLER x"));
        assert!(found(b"born 12 Apr 1965."));
        assert!(!found(b"xmuellerx"), "inside a longer word");
        assert!(!found(b"2.25.91965041233"), "inside a longer number");
        assert!(found("nfd Mu\u{0308}ller".as_bytes()), "decomposed");
        let ideographic = Scanner::new(&[Needle {
            attribute: "(0010,0010)".into(),
            value: "Mueller^Renee=ミュラー^レネ".into(),
            kind: NeedleKind::Identity,
            patient: String::new(),
        }]);
        assert!(
            !ideographic
                .scan("seen by ミュラー先生".as_bytes())
                .is_empty(),
            "no spaces between words in Japanese"
        );
    }

    #[test]
    fn hyphens_apostrophes_eth_and_short_year_dates_have_variants() {
        let v = variant_texts("Garcia-Lopez^Maria");
        assert!(
            has(&v, "Garcia") && has(&v, "Lopez") && has(&v, "GarciaLopez"),
            "{v:?}"
        );
        let v = variant_texts("O'Brien^Siobhan");
        assert!(has(&v, "OBrien") && has(&v, "Brien"), "{v:?}");
        let v = variant_texts("Guðmundsdóttir^Sigríður");
        assert!(has(&v, "Gudmundsdottir"), "{v:?}");
        let v = variant_texts("19650412");
        for want in ["12Apr1965", "04/12/65", "12.04.65"] {
            assert!(has(&v, want), "{want} in {v:?}");
        }
    }
}
