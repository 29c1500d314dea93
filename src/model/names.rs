//! Showing a DICOM person name to a person.

/// A DICOM person name (`Family^Given^Middle^Prefix^Suffix`, with optional
/// ideographic and phonetic groups after `=`) as "Family, Given Middle";
/// the alphabetic group only, empty components dropped.
pub fn display_person_name(pn: &str) -> String {
    let alphabetic = pn.split('=').next().unwrap_or("");
    let mut parts = alphabetic.split('^').map(str::trim);
    let family = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.take(2).filter(|p| !p.is_empty()).collect();
    if rest.is_empty() {
        family.to_string()
    } else {
        format!("{family}, {}", rest.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_names_read_family_comma_given() {
        assert_eq!(display_person_name("Doe^Jane^Q^Dr^III"), "Doe, Jane Q");
        assert_eq!(display_person_name("Doe"), "Doe");
        assert_eq!(display_person_name("Doe^^Q"), "Doe, Q");
        assert_eq!(
            display_person_name("Yamada^Taro=山田^太郎=やまだ^たろう"),
            "Yamada, Taro"
        );
        assert_eq!(display_person_name(""), "");
    }
}
