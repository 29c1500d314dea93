//! Burned-in text risk (issue #11): how likely a series carries text such
//! as names, dates or IDs inside its pixels, with the reasons in plain
//! sentences, and a pixel detector of text-like regions that proposes
//! masks. Pure: no I/O, no egui, no SQL (the engine gathers the header
//! facts from the index and decodes the image).

mod detect;
mod rules;

pub use detect::{detect_text, explain_text, TextCandidate};
pub use rules::{assess, SeriesFacts, SCREEN_CAPTURE_SOP_CLASSES};

use crate::model::Rect;
use serde::{Deserialize, Serialize};

/// How likely a series has burned-in text. Ordered, so a review queue can
/// sort by it (`High` last in ascending order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    /// The word shown to people ("low", "medium", "high").
    pub fn as_str(&self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }
}

/// A series' risk and why, most serious reason first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesRisk {
    pub level: RiskLevel,
    /// Plain sentences a privacy officer understands; never empty.
    pub reasons: Vec<String>,
}

impl SeriesRisk {
    /// The same risk with what the pixel detector found in the series'
    /// middle image. Text-like regions make the risk high; finding none
    /// never lowers it (the detector misses some text, so silence is not
    /// proof).
    pub fn with_pixel_regions(mut self, regions: &[Rect]) -> SeriesRisk {
        if regions.is_empty() {
            self.reasons.push(
                "The text detector found no text-like regions in the middle image; it can miss small or faint text, so this does not lower the risk.".into(),
            );
            return self;
        }
        let r = regions[0];
        let first = format!(
            "The text detector found {} text-like region{} in the middle image (the first at x {}, y {}, {} x {} pixels): check them and mask what identifies the patient.",
            regions.len(),
            if regions.len() == 1 { "" } else { "s" },
            r.x,
            r.y,
            r.width,
            r.height
        );
        self.level = RiskLevel::High;
        self.reasons.insert(0, first);
        self
    }

    /// The same risk with the reason why the middle image could not be
    /// checked (the level stays as the header says).
    pub fn with_pixel_check_failed(mut self, why: &str) -> SeriesRisk {
        self.reasons.push(format!(
            "The middle image could not be checked for text ({why}); look at the pixels yourself."
        ));
        self
    }
}
