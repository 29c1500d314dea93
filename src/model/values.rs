//! The values present in the index for a list criterion, for the cohort
//! builder's pickers.

/// An attribute a list criterion picks values of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValueField {
    Modality,
    BodyPart,
    Sex,
    Institution,
    Station,
    Manufacturer,
    Model,
    SopClass,
    /// The text values of one column of a linked EHR dataset.
    Ehr {
        dataset: String,
        column: String,
    },
}

/// One value as it is spelled in the index (values differing only in case
/// or surrounding spaces are one value: list criteria match that way) and
/// how many studies have it; for an EHR column, how many linked keys
/// (patients or accession numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

impl ValueField {
    /// How the field is named to a user.
    pub fn label(&self) -> &'static str {
        match self {
            ValueField::Modality => "Modality",
            ValueField::BodyPart => "Body part",
            ValueField::Sex => "Sex",
            ValueField::Institution => "Site",
            ValueField::Station => "Station",
            ValueField::Manufacturer => "Manufacturer",
            ValueField::Model => "Scanner model",
            ValueField::SopClass => "SOP class UID",
            ValueField::Ehr { .. } => "Clinical value",
        }
    }
}

impl super::Criterion {
    /// The one table of list-valued criteria: the field a list criterion
    /// picks values of, and its values (None for any other criterion).
    pub fn list_mut(&mut self) -> Option<(ValueField, &mut Vec<String>)> {
        use super::Criterion as C;
        Some(match self {
            C::Modality(v) => (ValueField::Modality, v),
            C::BodyPart(v) => (ValueField::BodyPart, v),
            C::Sex(v) => (ValueField::Sex, v),
            C::Institution(v) => (ValueField::Institution, v),
            C::Station(v) => (ValueField::Station, v),
            C::Manufacturer(v) => (ValueField::Manufacturer, v),
            C::Model(v) => (ValueField::Model, v),
            C::SopClass(v) => (ValueField::SopClass, v),
            _ => return None,
        })
    }
}

impl super::CohortSpec {
    /// The definition as it is counted: list values trimmed, empty ones
    /// dropped, at every depth (a value typed with a trailing space, or a
    /// pick not yet filled in, must not change the count).
    pub fn normalized(&self) -> super::CohortSpec {
        use super::Criterion as C;
        fn clean(c: &mut C) {
            let trim = |v: &mut Vec<String>| {
                v.iter_mut().for_each(|s| *s = s.trim().to_string());
                v.retain(|s| !s.is_empty());
            };
            if let Some((_, v)) = c.list_mut() {
                trim(v);
                return;
            }
            match c {
                C::All(v) | C::Any(v) => v.iter_mut().for_each(clean),
                C::Not(c) | C::FirstOf(c) | C::LastOf(c) => clean(c),
                C::FollowUp(f) => clean(&mut f.criterion),
                C::Ehr(e) => {
                    if let Some(v) = &mut e.any_of {
                        trim(v);
                    }
                }
                _ => {}
            }
        }
        let mut s = self.clone();
        s.rules.iter_mut().for_each(|r| clean(&mut r.criterion));
        s
    }
}

#[cfg(test)]
mod tests {
    use crate::cohort::parse_spec;

    #[test]
    fn a_normalized_definition_has_trimmed_non_empty_lists_at_every_depth() {
        let spec = parse_spec(
            r#"{"schema_version":1,"name":"x","rules":[
              {"name":"a","criterion":{"any":[{"modality":[" CT ",""]},{"not":{"body_part":["CHEST "]}}]}},
              {"name":"b","criterion":{"follow_up":{"min_days":1,"max_days":2,"criterion":{"manufacturer":["  GE"]}}}}]}"#,
        )
        .unwrap();
        let text = serde_json::to_string(&spec.normalized()).unwrap();
        assert!(text.contains(r#"["CT"]"#), "{text}");
        assert!(text.contains(r#"["CHEST"]"#), "{text}");
        assert!(text.contains(r#"["GE"]"#), "{text}");
    }
}
