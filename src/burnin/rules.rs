//! The header rules of burned-in text risk: what the index knows about a
//! series (modality, Burned In Annotation, SOP classes, Image Type) turned
//! into a level and sentences. Absent Burned In Annotation is not NO: only
//! an explicit NO on every image lowers a header-based risk.

use super::{RiskLevel, SeriesRisk};

/// What the index knows about one series' images (counts over its
/// instances; the engine fills it with one query per series).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesFacts {
    /// Series Modality as indexed (may be empty).
    pub modality: String,
    pub instances: u64,
    /// Images whose Burned In Annotation is YES / NO (case and padding ignored).
    pub burned_in_yes: u64,
    pub burned_in_no: u64,
    /// Images whose Burned In Annotation has a value that is neither YES nor NO.
    pub burned_in_other: u64,
    /// Images whose Image Type has the value DERIVED or SECONDARY.
    pub derived_or_secondary: u64,
    /// Images whose SOP Class is a screen capture (Secondary Capture or
    /// one of the multi-frame Secondary Capture classes).
    pub screen_captures: u64,
}

/// Secondary Capture Image Storage and the multi-frame Secondary Capture
/// family (single bit, grayscale byte, grayscale word, true colour): what
/// screenshots, scanned documents and burned-in reports are stored as.
pub const SCREEN_CAPTURE_SOP_CLASSES: [(&str, &str); 5] = [
    ("1.2.840.10008.5.1.4.1.1.7", "Secondary Capture"),
    (
        "1.2.840.10008.5.1.4.1.1.7.1",
        "Multi-frame Single Bit Secondary Capture",
    ),
    (
        "1.2.840.10008.5.1.4.1.1.7.2",
        "Multi-frame Grayscale Byte Secondary Capture",
    ),
    (
        "1.2.840.10008.5.1.4.1.1.7.3",
        "Multi-frame Grayscale Word Secondary Capture",
    ),
    (
        "1.2.840.10008.5.1.4.1.1.7.4",
        "Multi-frame True Color Secondary Capture",
    ),
];

/// Modalities whose images usually carry text in the pixels.
const TEXT_MODALITIES: [(&str, &str); 4] = [
    ("US", "ultrasound"),
    ("SC", "secondary capture"),
    ("OT", "other"),
    ("XA", "X-ray angiography"),
];

/// Projection radiography: text is common but not the rule, so the pixels
/// decide (text-like regions make these high).
const RADIOGRAPHY: [(&str, &str); 3] = [
    ("DX", "digital radiography"),
    ("CR", "computed radiography"),
    ("MG", "mammography"),
];

fn of(n: u64, total: u64) -> String {
    if n == total && total == 1 {
        "the one image".to_string()
    } else if n == total {
        format!("all {total} images")
    } else {
        format!("{n} of {total} images")
    }
}

/// The header-based risk of one series. Combine it with the pixel
/// detector through [`SeriesRisk::with_pixel_regions`].
pub fn assess(f: &SeriesFacts) -> SeriesRisk {
    if f.instances == 0 {
        return SeriesRisk {
            level: RiskLevel::Medium,
            reasons: vec![
                "No indexed images in this series: nothing is known about its pixels.".into(),
            ],
        };
    }
    let n = f.instances;
    let all_no = f.burned_in_no == n;
    // Header facts other than an explicit YES; an explicit NO on every
    // image lowers them one step (the device's own statement), absent
    // does not.
    let step_down = |level: RiskLevel| match (all_no, level) {
        (true, RiskLevel::High) => RiskLevel::Medium,
        (true, _) => RiskLevel::Low,
        (false, l) => l,
    };
    let mut found: Vec<(RiskLevel, String)> = Vec::new();
    if f.burned_in_yes > 0 {
        found.push((
            RiskLevel::High,
            format!(
                "Burned In Annotation is YES on {}: the device states that text is burned into the pixels.",
                of(f.burned_in_yes, n)
            ),
        ));
    }
    let modality = f.modality.trim().to_ascii_uppercase();
    if f.screen_captures > 0 {
        found.push((
            step_down(RiskLevel::High),
            format!(
                "Screen capture (a Secondary Capture SOP class) on {}: screenshots and scanned documents often show names, dates and IDs.",
                of(f.screen_captures, n)
            ),
        ));
    }
    if let Some((m, name)) = TEXT_MODALITIES.iter().find(|(m, _)| *m == modality) {
        found.push((
            step_down(RiskLevel::High),
            format!(
                "Modality {m} ({name}): these images usually carry the patient's name, ID or the date in the pixels."
            ),
        ));
    }
    if let Some((m, name)) = RADIOGRAPHY.iter().find(|(m, _)| *m == modality) {
        found.push((
            step_down(RiskLevel::Medium),
            format!(
                "Modality {m} ({name}): radiographs often carry dates, initials or IDs beside the side markers; text-like regions in the pixels make it high."
            ),
        ));
    }
    if f.derived_or_secondary > 0 {
        found.push((
            step_down(RiskLevel::Medium),
            format!(
                "Image Type DERIVED or SECONDARY on {}: derived images (reformats, screenshots, annotated key images) often have text added.",
                of(f.derived_or_secondary, n)
            ),
        ));
    }
    let absent = n.saturating_sub(f.burned_in_yes + f.burned_in_no + f.burned_in_other);
    let mut notes = Vec::new();
    if absent > 0 {
        notes.push(format!(
            "Burned In Annotation absent on {}: the header does not say whether text is burned in (absent is not the same as NO).",
            of(absent, n)
        ));
    }
    if f.burned_in_other > 0 {
        notes.push(format!(
            "Burned In Annotation has a value other than YES or NO on {}: treated as unknown.",
            of(f.burned_in_other, n)
        ));
    }
    if all_no {
        notes.push(format!(
            "Burned In Annotation is NO on {}: the device states there is no burned-in text, which lowers the header-based risk one step.",
            of(n, n)
        ));
    } else if f.burned_in_no > 0 {
        notes.push(format!(
            "Burned In Annotation is NO on only {}: the others do not say so.",
            of(f.burned_in_no, n)
        ));
    }
    let level = found
        .iter()
        .map(|(l, _)| *l)
        .max()
        .unwrap_or(RiskLevel::Low);
    // Most serious first; the order of the rules above breaks ties.
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut reasons: Vec<String> = found.into_iter().map(|(_, r)| r).collect();
    if reasons.is_empty() {
        let m = if modality.is_empty() {
            "no modality".to_string()
        } else {
            format!("modality {modality}")
        };
        reasons.push(format!(
            "No header fact suggests burned-in text ({m}, original images, not a screen capture)."
        ));
    }
    reasons.extend(notes);
    SeriesRisk { level, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Rect;

    fn facts(modality: &str, n: u64) -> SeriesFacts {
        SeriesFacts {
            modality: modality.into(),
            instances: n,
            ..Default::default()
        }
    }

    fn has(r: &SeriesRisk, text: &str) -> bool {
        r.reasons.iter().any(|s| s.contains(text))
    }

    #[test]
    fn levels_sort_low_to_high() {
        let mut v = vec![RiskLevel::High, RiskLevel::Low, RiskLevel::Medium];
        v.sort();
        assert_eq!(v, [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High]);
    }

    #[test]
    fn an_original_ct_is_low_and_says_burned_in_annotation_absent() {
        let r = assess(&facts("CT", 40));
        assert_eq!(r.level, RiskLevel::Low);
        assert!(has(&r, "No header fact suggests"), "{r:?}");
        assert!(
            has(&r, "Burned In Annotation absent on all 40 images"),
            "{r:?}"
        );
    }

    #[test]
    fn absent_is_not_no() {
        // The same ultrasound series: absent keeps it high, an explicit NO
        // on every image lowers it one step, NO on some images does not.
        let absent = assess(&facts("US", 3));
        assert_eq!(absent.level, RiskLevel::High);
        assert!(has(&absent, "Burned In Annotation absent"));
        let no = assess(&SeriesFacts {
            burned_in_no: 3,
            ..facts("US", 3)
        });
        assert_eq!(no.level, RiskLevel::Medium);
        assert!(has(&no, "Burned In Annotation is NO on all 3 images"));
        assert!(!has(&no, "absent"));
        let some_no = assess(&SeriesFacts {
            burned_in_no: 2,
            ..facts("US", 3)
        });
        assert_eq!(some_no.level, RiskLevel::High);
        assert!(has(&some_no, "NO on only 2 of 3 images"));
        assert!(has(&some_no, "absent on 1 of 3 images"));
    }

    #[test]
    fn burned_in_yes_is_high_even_on_a_ct() {
        let r = assess(&SeriesFacts {
            burned_in_yes: 1,
            ..facts("CT", 10)
        });
        assert_eq!(r.level, RiskLevel::High);
        assert!(r.reasons[0].starts_with("Burned In Annotation is YES on 1 of 10 images"));
    }

    #[test]
    fn each_text_modality_is_high_and_named() {
        for (m, name) in [
            ("US", "ultrasound"),
            ("SC", "secondary capture"),
            ("OT", "other"),
            ("xa", "X-ray angiography"),
        ] {
            let r = assess(&facts(m, 1));
            assert_eq!(r.level, RiskLevel::High, "{m}");
            assert!(has(&r, &format!("({name})")), "{m}: {r:?}");
        }
    }

    #[test]
    fn screen_captures_are_high_unless_every_image_says_no() {
        let r = assess(&SeriesFacts {
            screen_captures: 2,
            ..facts("MR", 2)
        });
        assert_eq!(r.level, RiskLevel::High);
        assert!(has(&r, "Screen capture"));
        let r = assess(&SeriesFacts {
            screen_captures: 2,
            burned_in_no: 2,
            ..facts("MR", 2)
        });
        assert_eq!(r.level, RiskLevel::Medium);
    }

    #[test]
    fn radiographs_are_medium_and_text_regions_make_them_high() {
        for m in ["DX", "CR", "MG"] {
            let r = assess(&facts(m, 1));
            assert_eq!(r.level, RiskLevel::Medium, "{m}");
            assert!(has(&r, &format!("Modality {m}")));
            let quiet = r.clone().with_pixel_regions(&[]);
            assert_eq!(quiet.level, RiskLevel::Medium, "no regions never lowers");
            assert!(has(&quiet, "found no text-like regions"));
            let rect = Rect {
                x: 4,
                y: 5,
                width: 60,
                height: 12,
            };
            let loud = r.with_pixel_regions(&[rect]);
            assert_eq!(loud.level, RiskLevel::High);
            assert!(loud.reasons[0].contains("1 text-like region in the middle image"));
            assert!(loud.reasons[0].contains("x 4, y 5, 60 x 12 pixels"));
        }
    }

    #[test]
    fn derived_or_secondary_image_type_is_medium() {
        let r = assess(&SeriesFacts {
            derived_or_secondary: 1,
            ..facts("CT", 4)
        });
        assert_eq!(r.level, RiskLevel::Medium);
        assert!(has(&r, "Image Type DERIVED or SECONDARY on 1 of 4 images"));
    }

    #[test]
    fn odd_values_and_empty_series_are_explained() {
        let r = assess(&SeriesFacts {
            burned_in_other: 1,
            ..facts("", 1)
        });
        assert_eq!(r.level, RiskLevel::Low);
        assert!(has(&r, "no modality"));
        assert!(has(&r, "other than YES or NO on the one image"));
        assert!(!has(&r, "absent"));
        let empty = assess(&facts("CT", 0));
        assert_eq!(empty.level, RiskLevel::Medium);
        assert!(has(&empty, "No indexed images"));
    }

    #[test]
    fn the_most_serious_reason_comes_first() {
        let r = assess(&SeriesFacts {
            derived_or_secondary: 1,
            burned_in_yes: 1,
            ..facts("CR", 1)
        });
        assert_eq!(r.level, RiskLevel::High);
        assert!(r.reasons[0].starts_with("Burned In Annotation is YES"));
        assert!(r.reasons[1].starts_with("Modality CR"));
        let failed = r.with_pixel_check_failed("JPEG-LS is not decoded");
        assert!(failed
            .reasons
            .last()
            .unwrap()
            .contains("JPEG-LS is not decoded"));
        assert_eq!(failed.level, RiskLevel::High);
    }
}
