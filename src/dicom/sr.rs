//! Text of DICOM Structured Report documents (for report-derived findings).
//! Reads the whole object, so only after the bounded pre-scan accepted it.

use super::read::read_whole;
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use std::path::Path;

/// SOP Class UIDs of SR documents start with this.
pub const SR_CLASS_PREFIX: &str = "1.2.840.10008.5.1.4.1.1.88.";

/// The accession number and the text content (TextValue items, and the
/// meanings of coded values, in document order, one per line) of an SR file.
pub fn sr_text(path: &Path) -> Result<(Option<String>, String), String> {
    // The pre-scan bounds depth and lengths before dicom-object recurses.
    let obj = read_whole(path)?;
    let accession = text(&obj, tags::ACCESSION_NUMBER);
    let mut lines = Vec::new();
    collect(&obj, &mut lines, 0);
    Ok((accession, lines.join("\n")))
}

fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let t = s.trim_matches([' ', '\0']).to_string();
    (!t.is_empty()).then_some(t)
}

fn collect(obj: &InMemDicomObject, out: &mut Vec<String>, depth: usize) {
    if depth > 64 {
        return;
    }
    if let Some(t) = text(obj, tags::TEXT_VALUE) {
        out.push(t);
    }
    if let Some(items) = obj.get(tags::CONCEPT_CODE_SEQUENCE).and_then(|e| e.items()) {
        for item in items {
            if let Some(m) = text(item, tags::CODE_MEANING) {
                out.push(m);
            }
        }
    }
    if let Some(items) = obj.get(tags::CONTENT_SEQUENCE).and_then(|e| e.items()) {
        for item in items {
            collect(item, out, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_object::FileMetaTableBuilder;

    fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
        InMemDicomObject::from_element_iter(elements)
    }

    #[test]
    fn sr_text_walks_the_content_tree() {
        let text = |t: &str| DataElement::new(tags::TEXT_VALUE, VR::UT, PrimitiveValue::from(t));
        let code = item(vec![DataElement::new(
            tags::CODE_MEANING,
            VR::LO,
            PrimitiveValue::from("Emphysema"),
        )]);
        let nested = item(vec![
            text("Mild centrilobular emphysema."),
            DataElement::new(
                tags::CONCEPT_CODE_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![code]),
            ),
        ]);
        let top = item(vec![
            text("No pulmonary nodules."),
            DataElement::new(
                tags::CONTENT_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![nested]),
            ),
        ]);
        let mut obj = InMemDicomObject::new_empty();
        for (tag, vr, v) in [
            (tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.88.22"),
            (tags::SOP_INSTANCE_UID, VR::UI, "2.25.1"),
            (tags::STUDY_INSTANCE_UID, VR::UI, "2.25.2"),
            (tags::SERIES_INSTANCE_UID, VR::UI, "2.25.3"),
            (tags::ACCESSION_NUMBER, VR::SH, "ACC42"),
        ] {
            obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        }
        obj.put(DataElement::new(
            tags::CONTENT_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![top]),
        ));
        let file = obj
            .with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sr.dcm");
        file.write_to_file(&path).unwrap();
        let (acc, text) = sr_text(&path).unwrap();
        assert_eq!(acc.as_deref(), Some("ACC42"));
        assert_eq!(
            text,
            "No pulmonary nodules.\nMild centrilobular emphysema.\nEmphysema"
        );
        assert_eq!(
            crate::findings::classify(&text, &["emphysem".into()]),
            crate::findings::Mention::Positive
        );
    }
}
