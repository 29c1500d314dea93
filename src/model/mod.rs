//! Plain domain types shared by every layer: file statuses, header records,
//! index summaries. No I/O here.

mod browse;
mod cohort;
mod ehr;
mod header;
mod images;
mod masks;
mod names;
mod pacs;
mod review;
mod sites;
mod status;
mod summary;
mod values;

pub use browse::{SeriesRow, StudyQuery, StudyRow, StudySort};
pub use cohort::{
    AttritionStep, CohortComparison, CohortCounts, CohortSpec, CohortUnit, Criterion, DateRange,
    FeatureCondition, FindingCondition, FindingSummary, FollowUp, NumRange, Rule, SavedCohort,
    COHORT_SCHEMA_VERSION,
};
pub use ehr::{EhrColumn, EhrCondition, EhrImport, EhrKey, EhrKind, EhrLink};
pub use header::{HeaderRecord, PatientKey, SeriesKey, StudyKey};
pub use images::InstanceRef;
pub use masks::{DeviceKey, InstanceMask, MaskTemplate, Rect};
pub use names::display_person_name;
pub use pacs::{
    HarvestProgress, HarvestQuery, HarvestReport, PacsNode, PacsProtocol, RetrieveFailure,
    RetrieveMethod, RetrieveProgress, RetrieveReport, WebAuth,
};
pub use review::{ImageReview, ReviewCounts, ReviewEvent, ReviewItem, ReviewState};
pub use sites::{DemographicsVariant, PatientConflict};
pub use status::FileStatus;
pub use summary::{
    FileRow, IndexProgress, IndexSummary, LevelCounts, RootInfo, RunInfo, StatusCounts,
    WorkspaceStatus,
};
pub use values::{ValueCount, ValueField};
