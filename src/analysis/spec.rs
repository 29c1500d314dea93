//! What an analysis is asked to compute, as saved and re-run (JSON).

use crate::stats::AgeBand;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The version of the specification format.
pub const SPEC_VERSION: u32 = 1;

/// One analysis, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AnalysisSpec {
    Trend(TrendSpec),
    Prevalence(PrevalenceSpec),
    Standardised(StandardisedSpec),
}

impl AnalysisSpec {
    /// The kind's name, as in the JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            AnalysisSpec::Trend(_) => "trend",
            AnalysisSpec::Prevalence(_) => "prevalence",
            AnalysisSpec::Standardised(_) => "standardised",
        }
    }
}

/// Where counts come from: the index (a saved cohort, or everything), or
/// a user's table of counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// Every indexed study.
    Index,
    /// The latest revision of a saved cohort.
    Cohort(String),
    /// A CSV of counts: one column per stratum (and `period` for trends),
    /// then `events` and `population` (or `denominator`).
    CountsCsv(PathBuf),
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    #[default]
    Studies,
    Patients,
    Series,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Month,
    Quarter,
    #[default]
    Year,
}

/// A variable that splits counts into strata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stratum {
    Modality,
    BodyPart,
    Site,
    Manufacturer,
    Sex,
    AgeGroup,
    Year,
    /// A linked EHR column's value (its text), by patient or accession as
    /// the dataset was linked.
    Ehr {
        dataset: String,
        column: String,
    },
    /// A per-series feature (e.g. `laa950_percent`) cut into bands at
    /// `cuts` (ascending): "< 5", "5 to < 10", ">= 10". A study takes the
    /// highest value among its series; none is "unknown".
    Feature {
        name: String,
        cuts: Vec<f64>,
    },
}

impl Stratum {
    /// The stratum's name in results and CSV columns.
    pub fn name(&self) -> String {
        match self {
            Stratum::Modality => "modality".into(),
            Stratum::BodyPart => "body_part".into(),
            Stratum::Site => "site".into(),
            Stratum::Manufacturer => "manufacturer".into(),
            Stratum::Sex => "sex".into(),
            Stratum::AgeGroup => "age_group".into(),
            Stratum::Year => "year".into(),
            Stratum::Ehr { column, .. } => column.clone(),
            Stratum::Feature { name, .. } => name.clone(),
        }
    }

    /// Why this stratum cannot be used, if so.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Stratum::Ehr { dataset, column } if dataset.trim().is_empty() || column.trim().is_empty() => {
                Err("an `ehr` stratum needs its `dataset` and `column`".into())
            }
            Stratum::Feature { name, .. } if name.trim().is_empty() => {
                Err("a `feature` stratum needs the feature's `name` (e.g. laa950_percent)".into())
            }
            Stratum::Feature { cuts, .. }
                if cuts.is_empty()
                    || cuts.iter().any(|c| !c.is_finite())
                    || cuts.windows(2).any(|w| w[0] >= w[1]) =>
            {
                Err("a `feature` stratum needs `cuts`: finite numbers in increasing order, e.g. [5, 10, 20]".into())
            }
            _ => Ok(()),
        }
    }

    /// The labels of a feature's bands, in order.
    pub fn feature_bands(cuts: &[f64]) -> Vec<String> {
        let n = |v: f64| super::chart::fmt_num(v);
        let mut out = Vec::with_capacity(cuts.len() + 1);
        if let Some(first) = cuts.first() {
            out.push(format!("< {}", n(*first)));
        }
        for w in cuts.windows(2) {
            out.push(format!("{} to < {}", n(w[0]), n(w[1])));
        }
        if let Some(last) = cuts.last() {
            out.push(format!(">= {}", n(*last)));
        }
        out
    }

    /// Strata with a natural order (a trend test across them makes sense).
    pub fn ordered(&self) -> bool {
        matches!(
            self,
            Stratum::AgeGroup | Stratum::Year | Stratum::Feature { .. }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    #[default]
    Wilson,
    ClopperPearson,
}

/// The age bands used by `age_group` (default: 0-17, 18-39, 40-64,
/// 65-79, 80+).
pub fn default_age_bands() -> Vec<AgeBand> {
    [
        (0, Some(17)),
        (18, Some(39)),
        (40, Some(64)),
        (65, Some(79)),
        (80, None),
    ]
    .into_iter()
    .map(|(lo, hi)| AgeBand { lo, hi })
    .collect()
}

fn default_level() -> f64 {
    0.95
}

fn default_per_thousand() -> f64 {
    1000.0
}

fn default_per_100k() -> f64 {
    100_000.0
}

/// Counts over time, optionally split, optionally as rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendSpec {
    pub source: Source,
    #[serde(default)]
    pub unit: Unit,
    #[serde(default)]
    pub time: TimeUnit,
    #[serde(default)]
    pub split: Option<Stratum>,
    #[serde(default = "default_age_bands")]
    pub age_bands: Vec<AgeBand>,
    /// Rates against a population table (CSV: `period`, the split's
    /// column if any, `population`), per `per`.
    #[serde(default)]
    pub population_csv: Option<PathBuf>,
    /// Rates against a denominator from the index: per period (and
    /// stratum), the patients of this source with a study in it; or a
    /// population CSV like `population_csv`.
    #[serde(default)]
    pub denominator: Option<Source>,
    #[serde(default = "default_per_thousand")]
    pub per: f64,
    /// First and last period included (e.g. "2015", "2023").
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default = "default_level")]
    pub level: f64,
}

/// An outcome among a denominator, by strata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrevalenceSpec {
    /// The denominator (the index, a cohort, or a counts CSV with
    /// `events` and `denominator`).
    pub denominator: Source,
    /// The outcome: membership of this saved cohort (which can be defined
    /// by findings, EHR values, modalities...). Not used with a CSV.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default = "patients")]
    pub unit: Unit,
    /// At most three strata (crossed).
    #[serde(default)]
    pub strata: Vec<Stratum>,
    #[serde(default = "default_age_bands")]
    pub age_bands: Vec<AgeBand>,
    #[serde(default)]
    pub interval: IntervalMethod,
    /// The stratum label prevalence ratios are computed against (default:
    /// the largest stratum).
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default = "default_level")]
    pub level: f64,
}

fn patients() -> Unit {
    Unit::Patients
}

/// A directly age-standardised rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardisedSpec {
    /// Cases: a cohort's patients by age band (age at their first study
    /// in the cohort), or a counts CSV (age_lo, age_hi, events,
    /// population).
    pub cases: Source,
    /// The population at risk by band (age_lo, age_hi, population); not
    /// needed when the cases CSV carries it.
    #[serde(default)]
    pub population_csv: Option<PathBuf>,
    /// A shipped standard's id (`us2000-19`, `us2000-11`,
    /// `who2000-2025`) or a CSV path (age_lo, age_hi, weight).
    pub standard: String,
    #[serde(default = "default_per_100k")]
    pub per: f64,
    #[serde(default = "default_level")]
    pub level: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_examples_parse() {
        let readme = include_str!("../../README.md");
        let section = &readme[readme.find("### Analyses").unwrap()..];
        let block = &section[section.find("```json").unwrap() + 7..];
        let block = &block[..block.find("```").unwrap()];
        let specs: Vec<AnalysisSpec> = block
            .split("\n\n")
            .map(|s| serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}")))
            .collect();
        assert_eq!(specs.len(), 3);
        assert!(matches!(&specs[0], AnalysisSpec::Trend(t) if t.split == Some(Stratum::Modality)));
        assert!(
            matches!(&specs[1], AnalysisSpec::Prevalence(p) if p.age_bands.len() == 3 && p.age_bands[2].hi.is_none())
        );
        let unknown = r#"{"kind": "trend", "source": "index", "colour": "red"}"#;
        assert!(serde_json::from_str::<AnalysisSpec>(unknown).is_err());
    }
}
