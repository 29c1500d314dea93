//! One source as the export writes it: masked, de-identified and encoded,
//! in memory. The export writes these bytes; the preview decodes the same
//! object and the review hashes the same bytes (DESIGN 4: what the reviewer
//! sees is exactly what is exported). Pure: no files, no store.

use super::masks::MaskBook;
use crate::deid::apply::{Deidentifier, PatientContext, Trace};
use crate::deid::mask::{self, Masked, MASKED_TRANSFER_SYNTAX};
use crate::deid::profile::CLEAN_PIXEL_DATA;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, FileMetaTableBuilder, InMemDicomObject};
use sha2::{Digest, Sha256};

/// One de-identified instance, ready to be written.
pub struct Rendered {
    /// The de-identified object with its new file meta: what the preview
    /// decodes.
    pub file: DefaultDicomObject,
    /// The encoded file: what the export writes and the review hashes.
    pub bytes: Vec<u8>,
    /// What masking did, if the instance had rectangles.
    pub masked: Option<Masked>,
    /// Whether Clean Pixel Data was claimed (a reviewer approved exactly
    /// these bytes before the claim was added).
    pub clean_pixels_claimed: bool,
}

impl Rendered {
    /// The de-identified Study, Series and SOP Instance UIDs.
    pub fn uids(&self) -> (String, String, String) {
        let uid = |t: Tag| {
            self.file
                .get(t)
                .and_then(|e| e.to_str().ok())
                .map(|s| s.trim_end_matches('\0').trim().to_string())
                .unwrap_or_default()
        };
        (
            uid(tags::STUDY_INSTANCE_UID),
            uid(tags::SERIES_INSTANCE_UID),
            uid(tags::SOP_INSTANCE_UID),
        )
    }

    /// SHA-256 (hex) of the encoded file.
    pub fn sha256(&self) -> String {
        sha256_hex(&self.bytes)
    }
}

/// SHA-256 of bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::deid::pseudonym::hex(&Sha256::digest(bytes))
}

/// The SHA-256s of rendered files (before any claim) whose pixels and
/// header a reviewer approved.
#[derive(Debug, Clone, Default)]
pub struct ApprovedContent {
    pub sha256: std::collections::HashSet<String>,
}

impl ApprovedContent {
    /// A digest of the set, for the export's resume state.
    pub fn digest_text(&self) -> String {
        let mut v: Vec<&String> = self.sha256.iter().collect();
        v.sort();
        v.into_iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Masks, de-identifies and encodes one source. If a reviewer approved the
/// file exactly as rendered without any claim (its SHA-256 is in
/// `approved`), BurnedInAnnotation NO and Clean Pixel Data (113101) are
/// written too (DECISIONS 25). Err: why the source cannot be exported (a
/// mask that cannot be applied, an encoding failure).
pub fn render(
    deid: &Deidentifier,
    masks: &MaskBook,
    patient: &PatientContext,
    source: DefaultDicomObject,
    trace: &mut Trace,
    approved: &ApprovedContent,
) -> Result<Rendered, String> {
    let rects = masks.rects_for(&source);
    let masked = if rects.is_empty() {
        None
    } else {
        Some(mask::apply(&source, &rects)?)
    };
    let ts = match &masked {
        Some(_) => MASKED_TRANSFER_SYNTAX.to_string(),
        None => source
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_string(),
    };
    let mut clean = deid.apply_traced(source.into_inner(), patient, trace);
    let masked = masked.map(|m| {
        let summary = m.masked;
        m.put_into(&mut clean);
        summary
    });
    let file = encode(clean, &ts)?;
    let mut rendered = Rendered {
        bytes: write(&file)?,
        file,
        masked,
        clean_pixels_claimed: false,
    };
    if !approved.sha256.is_empty() && approved.sha256.contains(&rendered.sha256()) {
        let mut obj = rendered.file.into_inner();
        claim_clean_pixels(&mut obj);
        rendered.file = encode(obj, &ts)?;
        rendered.bytes = write(&rendered.file)?;
        rendered.clean_pixels_claimed = true;
    }
    Ok(rendered)
}

fn encode(obj: InMemDicomObject, ts: &str) -> Result<DefaultDicomObject, String> {
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(ts))
        .map_err(|e| format!("cannot build the file meta: {e}"))
}

fn write(file: &DefaultDicomObject) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    file.write_all(&mut bytes)
        .map_err(|e| format!("cannot encode: {e}"))?;
    Ok(bytes)
}

/// Says that a person reviewed the pixels: BurnedInAnnotation NO, and
/// 113101 added to the method codes the de-identification inserted.
fn claim_clean_pixels(obj: &mut InMemDicomObject) {
    obj.put(DataElement::new(
        tags::BURNED_IN_ANNOTATION,
        VR::CS,
        PrimitiveValue::from("NO"),
    ));
    if let Some(e) = obj.get(tags::DEIDENTIFICATION_METHOD) {
        let mut values: Vec<String> = e.to_multi_str().map(|v| v.to_vec()).unwrap_or_default();
        if let Some(codes) = values.last_mut() {
            codes.push(' ');
            codes.push_str(CLEAN_PIXEL_DATA.0);
        }
        obj.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            PrimitiveValue::Strs(values.into_iter().collect()),
        ));
    }
    let item = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::CODE_VALUE,
            VR::SH,
            PrimitiveValue::from(CLEAN_PIXEL_DATA.0),
        ),
        DataElement::new(
            tags::CODING_SCHEME_DESIGNATOR,
            VR::SH,
            PrimitiveValue::from("DCM"),
        ),
        DataElement::new(
            tags::CODE_MEANING,
            VR::LO,
            PrimitiveValue::from(CLEAN_PIXEL_DATA.1),
        ),
    ]);
    let mut items: Vec<InMemDicomObject> = obj
        .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .and_then(|e| e.items())
        .map(|i| i.to_vec())
        .unwrap_or_default();
    items.push(item);
    obj.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(items),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deid::profile::{Options, Profile};
    use crate::deid::pseudonym::Key;
    use crate::model::Rect;

    fn fixture() -> DefaultDicomObject {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/real/CT_small.dcm"
        );
        dicom_object::open_file(path).unwrap()
    }

    fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
        obj.get(tag)
            .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
    }

    fn codes(obj: &InMemDicomObject) -> Vec<String> {
        obj.get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
            .and_then(|e| e.items())
            .unwrap()
            .iter()
            .filter_map(|i| text(i, tags::CODE_VALUE))
            .collect()
    }

    fn rendered(masks: &MaskBook, approved: &ApprovedContent) -> Rendered {
        let key = Key([7; 32]);
        let profile = Profile::standard();
        let deid = Deidentifier {
            profile: &profile,
            options: Options::default(),
            key: &key,
        };
        let patient = PatientContext::new(&key, "", "PID-1");
        render(
            &deid,
            masks,
            &patient,
            fixture(),
            &mut Trace::default(),
            approved,
        )
        .unwrap()
    }

    #[test]
    fn the_same_source_renders_to_the_same_bytes() {
        // Approval is bound to the SHA-256 of these bytes: rendering must
        // be deterministic (no clock, no random UID).
        let a = rendered(&MaskBook::default(), &ApprovedContent::default());
        let b = rendered(&MaskBook::default(), &ApprovedContent::default());
        assert_eq!(a.sha256(), b.sha256());
        assert!(!a.clean_pixels_claimed);
    }

    #[test]
    fn clean_pixels_are_claimed_only_for_the_approved_bytes() {
        let plain = rendered(&MaskBook::default(), &ApprovedContent::default());
        assert!(!codes(&plain.file).contains(&"113101".to_string()));
        assert_ne!(
            text(&plain.file, tags::BURNED_IN_ANNOTATION).as_deref(),
            Some("NO")
        );

        let approved = ApprovedContent {
            sha256: [plain.sha256()].into_iter().collect(),
        };
        let claimed = rendered(&MaskBook::default(), &approved);
        assert!(claimed.clean_pixels_claimed);
        assert_eq!(
            text(&claimed.file, tags::BURNED_IN_ANNOTATION).as_deref(),
            Some("NO")
        );
        let c = codes(&claimed.file);
        assert_eq!(c.first().map(String::as_str), Some("113100"));
        assert_eq!(c.last().map(String::as_str), Some("113101"));
        let method = claimed
            .file
            .get(tags::DEIDENTIFICATION_METHOD)
            .unwrap()
            .to_multi_str()
            .unwrap()
            .to_vec();
        assert!(method.last().unwrap().ends_with(" 113101"), "{method:?}");

        // A mask changes the bytes: the approval no longer matches.
        let masks = MaskBook::new(
            &[crate::model::InstanceMask {
                id: 1,
                sop_instance_uid: text(&fixture(), tags::SOP_INSTANCE_UID).unwrap(),
                rect: Rect {
                    x: 0,
                    y: 0,
                    width: 8,
                    height: 8,
                },
                note: String::new(),
            }],
            &[],
        );
        let masked = rendered(&masks, &approved);
        assert!(masked.masked.is_some());
        assert!(!masked.clean_pixels_claimed);
        assert_ne!(masked.sha256(), plain.sha256());
    }
}
