//! The visual PHI review of a series (and of single images of a mixed
//! series): its state, who decided it and when. Plain data, no I/O.

use serde::{Deserialize, Serialize};

/// Where a series (or one image) stands in the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Nobody looked, or a reset, or an approval that no longer holds.
    Unreviewed,
    /// A reviewer saw these de-identified pixels and header and found no PHI.
    Approved,
    /// Burned-in text to cover first; never exported as approved.
    NeedsMasking,
    /// Never exported.
    Excluded,
}

impl ReviewState {
    pub const ALL: [ReviewState; 4] = [
        ReviewState::Unreviewed,
        ReviewState::Approved,
        ReviewState::NeedsMasking,
        ReviewState::Excluded,
    ];

    /// `unreviewed`, `approved`, `needs_masking`, `excluded` (stored and in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Unreviewed => "unreviewed",
            ReviewState::Approved => "approved",
            ReviewState::NeedsMasking => "needs_masking",
            ReviewState::Excluded => "excluded",
        }
    }

    /// The state named by `as_str` (None for anything else).
    pub fn parse(s: &str) -> Option<ReviewState> {
        ReviewState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for ReviewState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One appended decision (the audit trail: nothing is ever overwritten;
/// a reset is an event too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewEvent {
    pub id: i64,
    /// The source Series Instance UID.
    pub series_uid: String,
    /// Set for a decision about one image of the series (overrides the
    /// series' state for that image).
    pub sop_uid: Option<String>,
    pub state: ReviewState,
    pub reviewer: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    pub note: String,
}

/// One series in the review queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub series_uid: String,
    pub study_uid: String,
    pub modality: String,
    pub description: String,
    pub instances: u64,
    /// The series' state now: an approval that no longer holds shows as
    /// unreviewed, with the reason in `stale`.
    pub state: ReviewState,
    /// Why an approval no longer holds ("profile options changed", "masks
    /// changed", "key changed", "source file changed", ...).
    pub stale: Option<String>,
    /// The newest series-level event.
    pub last: Option<ReviewEvent>,
    /// Images whose own decision overrides the series' state (a mixed
    /// series), each with its state now.
    pub images: Vec<ImageReview>,
}

/// An image of a mixed series with its own decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageReview {
    pub sop_uid: String,
    pub state: ReviewState,
    pub stale: Option<String>,
    pub last: ReviewEvent,
}

/// How many series of a cohort stand where (stale approvals count as
/// unreviewed and also in `stale`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewCounts {
    pub approved: u64,
    pub unreviewed: u64,
    pub needs_masking: u64,
    pub excluded: u64,
    /// Approvals that no longer hold (included in `unreviewed`).
    pub stale: u64,
    /// Series with at least one review event: the export defaults to
    /// approved series only once this is above 0.
    pub reviewed_ever: u64,
}

impl ReviewCounts {
    /// Counts one series.
    pub fn add(&mut self, item: &ReviewItem) {
        match item.state {
            ReviewState::Approved => self.approved += 1,
            ReviewState::Unreviewed => self.unreviewed += 1,
            ReviewState::NeedsMasking => self.needs_masking += 1,
            ReviewState::Excluded => self.excluded += 1,
        }
        self.stale += u64::from(item.stale.is_some());
        self.reviewed_ever += u64::from(item.last.is_some() || !item.images.is_empty());
    }
}
