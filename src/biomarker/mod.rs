//! Imaging biomarkers computed from pixels (issue #12): pure computations
//! over decoded values, no I/O. The engine reads the files, the store keeps
//! the results per series as features that cohorts can select on
//! (`{"feature": {"name": "laa950_percent", "min": 10}}`).

pub mod emphysema;

pub use emphysema::{
    analyze, plan, EmphysemaError, EmphysemaResult, Geometry, SliceHeader, METHOD_VERSION,
};
use serde::{Deserialize, Serialize};

/// The method name under which the emphysema features are stored.
pub const EMPHYSEMA: &str = "emphysema";

/// The features the emphysema method stores per series (name, unit).
pub const EMPHYSEMA_FEATURES: [(&str, &str); 4] = [
    ("laa950_percent", "% of lung voxels with HU < -950"),
    ("perc15_hu", "HU"),
    ("lung_volume_ml", "mL"),
    ("mean_lung_hu", "HU"),
];

/// Which series count as chest CT (the rule the computation states): CT
/// modality, and Body Part Examined CHEST, LUNG or THORAX, or a series,
/// protocol or study description with the word chest, lung(s), thorax or
/// thoracic (case-insensitive). `s` is the series row, `st` its study.
pub const CHEST_CT_SQL: &str = "upper(trim(s.modality)) = 'CT' AND (
    upper(trim(coalesce(s.body_part, ''))) IN ('CHEST', 'LUNG', 'THORAX')
    OR ' ' || upper(coalesce(s.description, '') || ' ' || coalesce(s.protocol_name, '') || ' ' || coalesce(st.description, '')) || ' '
       GLOB '*[^A-Z]CHEST[^A-Z]*'
    OR ' ' || upper(coalesce(s.description, '') || ' ' || coalesce(s.protocol_name, '') || ' ' || coalesce(st.description, '')) || ' '
       GLOB '*[^A-Z]LUNG[^A-Z]*'
    OR ' ' || upper(coalesce(s.description, '') || ' ' || coalesce(s.protocol_name, '') || ' ' || coalesce(st.description, '')) || ' '
       GLOB '*[^A-Z]LUNGS[^A-Z]*'
    OR ' ' || upper(coalesce(s.description, '') || ' ' || coalesce(s.protocol_name, '') || ' ' || coalesce(st.description, '')) || ' '
       GLOB '*[^A-Z]THORA[CX]*')";

/// The digest of a series' source files as the index knows them, computed
/// in SQL for the series row `s` (the same as [`source_digest`]): count,
/// total size, newest mtime and a sum of mtimes. A file that changes (and
/// is indexed again) changes it, so a stored feature stops matching.
pub const SOURCE_DIGEST_SQL: &str = "(SELECT count(*) || ':' || coalesce(sum(ff.size_bytes), 0) || ':' || coalesce(max(ff.mtime_ns), 0) || ':' || coalesce(sum(ff.mtime_ns % 2147483647), 0)
     FROM instances fi JOIN files ff ON ff.id = fi.file_ref WHERE fi.series_ref = s.id)";

/// [`SOURCE_DIGEST_SQL`] from (size, mtime_ns) of each file.
pub fn source_digest(files: &[(i64, i64)]) -> String {
    let size: i64 = files.iter().map(|f| f.0).sum();
    let newest = files.iter().map(|f| f.1).max().unwrap_or(0);
    let spread: i64 = files.iter().map(|f| f.1 % 2_147_483_647).sum();
    format!("{}:{size}:{newest}:{spread}", files.len())
}

/// One series' stored result of one method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureRecord {
    pub series_uid: String,
    pub method: String,
    pub method_version: String,
    /// "ok" or "failed".
    pub status: String,
    /// A stable failure code (`too_few_slices`, `undecodable`, ...).
    pub failure_kind: Option<String>,
    pub reason: Option<String>,
    pub computed_at: String,
    /// The series' files changed (or were removed) since: the record no
    /// longer holds and cohorts do not select on it.
    pub stale: bool,
    pub features: Vec<(String, f64)>,
}
