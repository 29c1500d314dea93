//! Analyses of the index or of a user's counts: trends over time,
//! stratified prevalence, directly standardised rates. Counts come from
//! SQLite aggregation (the engine) or a CSV (`table`); the statistics from
//! `crate::stats`; small cells are suppressed for release (`suppress`).
//! Every result carries its full specification so it can be re-run.

pub mod chart;
mod compute;
pub mod output;
pub mod plot;
pub mod spec;
pub mod suppress;
pub mod table;

pub use crate::store::analysis_runs::SavedAnalysisRow as SavedAnalysis;
pub(crate) use compute::bands_from_table;
pub use compute::{prevalence, standardised, trend};
pub use spec::{
    default_age_bands, AnalysisSpec, IntervalMethod, PrevalenceSpec, Source, StandardisedSpec,
    Stratum, TimeUnit, TrendSpec, Unit, SPEC_VERSION,
};
pub use table::{read_counts_csv, read_population_csv, CountRow, CountTable};

use crate::stats::{Apc, Homogeneity, StatsError, TrendTest};
use serde::{Deserialize, Serialize};

/// Why an analysis cannot run, in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Stats(#[from] StatsError),
}

/// One cell of a result: a period or a stratum (or both), its count and
/// denominator, the estimate and its interval. In a released result the
/// numbers of a suppressed cell are absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub labels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub x: Option<u64>,
    /// The denominator (proportions) or population (rates).
    pub n: Option<f64>,
    pub estimate: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub method: String,
    /// The cell is 1..=threshold (or hidden to protect one that is).
    pub suppressed: bool,
}

impl Cell {
    /// Blanks the numbers (a suppressed cell in a released result).
    fn hide(&mut self) {
        self.x = None;
        self.n = None;
        self.estimate = None;
        self.ci_low = None;
        self.ci_high = None;
    }
}

/// One line of a trend: a split's stratum (or "all") over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendLine {
    pub label: String,
    pub cells: Vec<Cell>,
    /// Annual percent change, log-linear fit.
    pub apc: Option<Apc>,
    /// Annual percent change, Poisson model (population as offset when
    /// rates are asked for).
    pub apc_poisson: Option<Apc>,
    /// Why an APC is missing.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendResult {
    pub lines: Vec<TrendLine>,
    /// Rates per this many of the population (None: counts).
    pub per: Option<f64>,
    /// Studies left out because they have no usable date.
    pub undated: u64,
}

/// A prevalence ratio against the reference stratum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub labels: Vec<String>,
    pub estimate: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrevalenceResult {
    pub strata: Vec<String>,
    pub cells: Vec<Cell>,
    pub total: Cell,
    pub homogeneity: Option<Homogeneity>,
    /// Cochran-Armitage across an ordered stratum (age group, year).
    pub trend: Option<TrendTest>,
    pub reference: Option<Vec<String>>,
    pub ratios: Vec<Ratio>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardisedResult {
    pub standard: String,
    pub standard_provenance: String,
    pub bands: Vec<Cell>,
    pub adjusted: Cell,
    pub crude: Cell,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResultBody {
    Trend(TrendResult),
    Prevalence(PrevalenceResult),
    Standardised(StandardisedResult),
}

/// The saved cohort (and revision) an analysis used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortUsed {
    pub name: String,
    pub revision: u32,
}

/// How small cells were treated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    /// Counts 1..=threshold are suppressed for release.
    pub threshold: u64,
    /// The numbers of suppressed cells are absent (for release), or
    /// present and flagged (on this workstation only).
    pub released: bool,
    pub rule: String,
}

pub const SUPPRESSION_RULE: &str = "counts 1..=threshold (and the complement of a proportion's events) hidden with every estimate derived from them; complementary suppression where a total is released; statistics from hidden cells not released";

/// An analysis with everything needed to re-run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisResult {
    pub spec_version: u32,
    pub spec: AnalysisSpec,
    pub app_version: String,
    pub computed_at: String,
    /// Identifies the state of the index the counts came from.
    pub index_snapshot: Option<String>,
    pub cohorts: Vec<CohortUsed>,
    pub suppression: Suppression,
    pub result: ResultBody,
    pub warnings: Vec<String>,
}
