//! The residual-PHI scan: look for a cohort's original identifying values,
//! and their usual variants, anywhere in the bytes of written files
//! (preamble, file meta, every element at every depth, private and
//! encapsulated bytes alike). Byte-level on purpose: it does not trust the
//! parser that wrote the files.

/// One original value to look for, and what kind of value it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Needle {
    /// Which attribute the value came from (for the report; e.g. "PatientName").
    pub attribute: String,
    pub value: String,
}

/// A hit: where, which attribute's value, in which variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub offset: usize,
    pub attribute: String,
    pub variant: String,
}

/// Values shorter than this are not searched (DECISIONS 21): they match by chance.
pub const MIN_LEN: usize = 3;

/// The byte strings a value may appear as: itself, upper and lower case,
/// person-name `^` as spaces (and "Family, Given"), dates in other common
/// formats, and Latin-1 as well as UTF-8 encodings.
pub fn variants(value: &str) -> Vec<Vec<u8>> {
    let v = value.trim_matches([' ', '\0']);
    let mut texts: Vec<String> = vec![v.to_string(), v.to_uppercase(), v.to_lowercase()];
    if v.contains('^') {
        let parts: Vec<&str> = v.split('^').filter(|p| !p.is_empty()).collect();
        texts.push(parts.join(" "));
        if parts.len() >= 2 {
            texts.push(format!("{} {}", parts[1], parts[0]));
            texts.push(format!("{}, {}", parts[0], parts[1]));
        }
        // Each name component on its own (family names leak alone).
        texts.extend(parts.iter().map(|p| p.to_string()));
    }
    if v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()) {
        let (y, m, d) = (&v[..4], &v[4..6], &v[6..]);
        texts.extend([
            format!("{y}-{m}-{d}"),
            format!("{y}.{m}.{d}"),
            format!("{y}/{m}/{d}"),
            format!("{d}/{m}/{y}"),
            format!("{m}/{d}/{y}"),
            format!("{d}.{m}.{y}"),
        ]);
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    for t in texts.iter().filter(|t| t.chars().count() >= MIN_LEN) {
        for case in [t.clone(), t.to_uppercase(), t.to_lowercase()] {
            out.push(case.as_bytes().to_vec());
            // Latin-1 (ISO_IR 100) encoding when it differs from UTF-8.
            if !case.is_ascii() && case.chars().all(|c| (c as u32) < 256) {
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
    /// Per pattern: (attribute, variant text).
    labels: Vec<(String, String)>,
}

impl Scanner {
    /// Compiles the needles (values and variants shorter than [`MIN_LEN`]
    /// are skipped).
    pub fn new(needles: &[Needle]) -> Scanner {
        Scanner::with_min_len(needles, MIN_LEN)
    }

    /// Compiles only the variants of at least `min_len` bytes (a name
    /// component of 3 letters is searched in decoded text, never in raw
    /// binary bytes, where it turns up by chance).
    pub fn with_min_len(needles: &[Needle], min_len: usize) -> Scanner {
        let min_len = min_len.max(MIN_LEN);
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut labels = Vec::new();
        for n in needles {
            if n.value.trim_matches([' ', '\0']).chars().count() < MIN_LEN {
                continue;
            }
            for var in variants(&n.value) {
                if var.len() < min_len {
                    continue;
                }
                labels.push((
                    n.attribute.clone(),
                    String::from_utf8_lossy(&var).into_owned(),
                ));
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

    /// Every whole-token occurrence in `bytes` (ASCII case-insensitive; not
    /// inside a longer run of letters or digits).
    pub fn scan(&self, bytes: &[u8]) -> Vec<Hit> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        let joined = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
        for m in ac.find_overlapping_iter(bytes) {
            // Only whole tokens: a value inside a longer run of letters or
            // digits (a name inside a base32 pseudonym, a date inside a 2.25
            // UID) is a coincidence, not a leak.
            let before = m.start().checked_sub(1).and_then(|i| bytes.get(i));
            if joined(before) || joined(bytes.get(m.end())) {
                continue;
            }
            let (attribute, variant) = &self.labels[m.pattern().as_usize()];
            hits.push(Hit {
                offset: m.start(),
                attribute: attribute.clone(),
                variant: variant.clone(),
            });
        }
        hits.sort_by(|a, b| (a.offset, &a.attribute).cmp(&(b.offset, &b.attribute)));
        hits.dedup_by(|a, b| a.offset == b.offset && a.attribute == b.attribute);
        hits
    }
}

/// Every occurrence of every needle's variants in `bytes`, ASCII
/// case-insensitively, standing as a whole token (not inside a longer run
/// of letters or digits). Compiles the needles each call: use [`Scanner`]
/// to scan many files.
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
            scan(b"PKI4MRN42XY", &needles).is_empty(),
            "inside a pseudonym"
        );
        // Short values are not searched; clean bytes give nothing.
        assert!(scan(b"nothing to see here", &needles).is_empty());
        assert!(scan(b"ab ab ab", &[n("X", "ab")]).is_empty());
    }
}
