//! Report-derived findings: keyword rules with negation handling, applied
//! to radiology report text. Pure text logic; `store::findings` keeps the
//! reports, the rules and the results.
//!
//! A report is positive for a finding when some sentence mentions one of
//! its keywords (at a word start, case-insensitive) and that mention is not
//! negated: a negation cue ("no", "without", "no evidence of", "negative
//! for", ...) in the same sentence, before the keyword, and not more than
//! [`NEGATION_WINDOW`] words away, negates it (a NegEx-style rule). A
//! termination word ("but", "however", ...) between cue and keyword ends
//! the cue's scope.

/// Words between a negation cue and the keyword for the cue to apply.
pub const NEGATION_WINDOW: usize = 6;

/// Negation cues, as word sequences (lower case).
const CUES: &[&str] = &[
    "no",
    "not",
    "without",
    "negative for",
    "no evidence of",
    "no signs of",
    "free of",
    "absence of",
    "absent",
    "ruled out",
    "rules out",
    "resolved",
    "denies",
    "never",
    "nor",
];

/// Words that end a cue's scope.
const TERMINATIONS: &[&str] = &[
    "but", "however", "although", "though", "except", "yet", "which", "whereas",
];

/// The outcome for one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mention {
    /// Mentioned and not negated at least once.
    Positive,
    /// Only negated mentions.
    Negated,
    /// Not mentioned.
    Absent,
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Classifies `report` for a finding described by `keywords` (each one or
/// more words; a keyword matches words that start with it, so
/// "emphysem" matches "emphysema" and "emphysematous").
pub fn classify(report: &str, keywords: &[String]) -> Mention {
    let keys: Vec<Vec<String>> = keywords
        .iter()
        .map(|k| words(k))
        .filter(|k| !k.is_empty())
        .collect();
    let cues: Vec<Vec<String>> = CUES.iter().map(|c| words(c)).collect();
    let mut negated_seen = false;
    for sentence in report.split(['.', ';', '\n', '!', '?']) {
        let w = words(sentence);
        for start in 0..w.len() {
            let hit = keys.iter().any(|k| {
                k.len() + start <= w.len()
                    && k.iter().enumerate().all(|(j, kw)| {
                        let word = &w[start + j];
                        if j + 1 == k.len() {
                            word.starts_with(kw.as_str())
                        } else {
                            word == kw
                        }
                    })
            });
            if !hit {
                continue;
            }
            if negated(&w, start, &cues) {
                negated_seen = true;
            } else {
                return Mention::Positive;
            }
        }
    }
    if negated_seen {
        Mention::Negated
    } else {
        Mention::Absent
    }
}

/// Whether a cue ends within the window before `at` with no termination
/// word in between.
fn negated(w: &[String], at: usize, cues: &[Vec<String>]) -> bool {
    let from = at.saturating_sub(NEGATION_WINDOW + 3);
    for end in (from..at).rev() {
        if TERMINATIONS.contains(&w[end].as_str()) {
            return false;
        }
        for cue in cues {
            let n = cue.len();
            if end + 1 >= n && w[end + 1 - n..=end] == cue[..] && at - end - 1 <= NEGATION_WINDOW {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn negation_is_handled() {
        let e = k(&["emphysem"]);
        assert_eq!(
            classify("Centrilobular emphysema in both upper lobes.", &e),
            Mention::Positive
        );
        assert_eq!(classify("No evidence of emphysema.", &e), Mention::Negated);
        assert_eq!(
            classify("Lungs are clear without emphysematous change.", &e),
            Mention::Negated
        );
        assert_eq!(
            classify("Negative for emphysema. Mild emphysema at the apex.", &e),
            Mention::Positive
        );
        assert_eq!(
            classify("No nodules, but there is paraseptal emphysema.", &e),
            Mention::Positive
        );
        assert_eq!(classify("Heart size normal.", &e), Mention::Absent);
        assert_eq!(
            classify("No acute findings in the abdomen or pelvis or chest wall or elsewhere; emphysema noted", &e),
            Mention::Positive,
            "the sentence boundary ends the cue"
        );
        let n = k(&["pulmonary nodule", "lung nodule"]);
        assert_eq!(
            classify("A 6 mm pulmonary nodule in the right lower lobe.", &n),
            Mention::Positive
        );
        assert_eq!(classify("No pulmonary nodules.", &n), Mention::Negated);
    }
}
