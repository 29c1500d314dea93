//! Standard populations for direct standardisation, shipped as data with
//! their provenance (assets/standards/*.csv), or imported by the user as
//! CSV (age_lo, age_hi, weight; an empty age_hi is an open band).

use super::StatsError;
use std::fmt;

/// An age band in whole years, inclusive; `hi: None` is open ("85+").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct AgeBand {
    pub lo: u16,
    pub hi: Option<u16>,
}

impl AgeBand {
    pub fn contains(&self, age: u16) -> bool {
        age >= self.lo && self.hi.is_none_or(|hi| age <= hi)
    }

    pub(super) fn list(bands: &[AgeBand]) -> String {
        bands
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.hi {
            None => write!(f, "{}+", self.lo),
            Some(hi) if hi == self.lo => write!(f, "{}", self.lo),
            Some(hi) => write!(f, "{}-{}", self.lo, hi),
        }
    }
}

/// A standard population: weights by age band (any scale; normalised
/// where used).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standard {
    pub name: String,
    pub provenance: String,
    pub bands: Vec<(AgeBand, f64)>,
}

/// The standards shipped with the app: (id, CSV text).
const BUILT_IN: [(&str, &str); 3] = [
    (
        "us2000-19",
        include_str!("../../assets/standards/us2000_19.csv"),
    ),
    (
        "us2000-11",
        include_str!("../../assets/standards/us2000_11.csv"),
    ),
    (
        "who2000-2025",
        include_str!("../../assets/standards/who2000_2025.csv"),
    ),
];

impl Standard {
    /// The ids of the shipped standards.
    pub fn built_in_ids() -> Vec<&'static str> {
        BUILT_IN.iter().map(|(id, _)| *id).collect()
    }

    /// A shipped standard by id.
    pub fn built_in(id: &str) -> Result<Standard, StatsError> {
        let (_, text) = BUILT_IN.iter().find(|(i, _)| *i == id).ok_or_else(|| {
            StatsError::Invalid(format!(
                "no standard population '{id}'; the shipped ones are {}",
                Standard::built_in_ids().join(", ")
            ))
        })?;
        Standard::parse(id, text)
    }

    /// Parses a standard from CSV: lines starting with '#' are comments
    /// (the first two are its title and source), then a header
    /// `age_lo,age_hi,weight` and one row per band, contiguous from the
    /// first band's lower age, the last one possibly open.
    pub fn parse(name: &str, text: &str) -> Result<Standard, StatsError> {
        let comments: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix('#'))
            .map(str::trim)
            .collect();
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(body.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| StatsError::Invalid(format!("standard '{name}': {e}")))?
            .clone();
        let want = ["age_lo", "age_hi", "weight"];
        if headers.iter().collect::<Vec<_>>() != want {
            return Err(StatsError::Invalid(format!(
                "standard '{name}': the header must be exactly age_lo,age_hi,weight (found {})",
                headers.iter().collect::<Vec<_>>().join(",")
            )));
        }
        let mut bands: Vec<(AgeBand, f64)> = Vec::new();
        for (i, row) in reader.records().enumerate() {
            let line = i + 2;
            let row = row
                .map_err(|e| StatsError::Invalid(format!("standard '{name}' line {line}: {e}")))?;
            let bad =
                |what: &str| StatsError::Invalid(format!("standard '{name}' line {line}: {what}"));
            let lo: u16 = row[0]
                .parse()
                .map_err(|_| bad("age_lo must be a whole number of years"))?;
            let hi: Option<u16> = if row[1].is_empty() {
                None
            } else {
                Some(row[1].parse().map_err(|_| {
                    bad("age_hi must be a whole number of years, or empty for an open band")
                })?)
            };
            let weight: f64 = row[2].parse().map_err(|_| bad("weight must be a number"))?;
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(bad("weight must be 0 or more"));
            }
            if hi.is_some_and(|hi| hi < lo) {
                return Err(bad("age_hi is below age_lo"));
            }
            if let Some((prev, _)) = bands.last() {
                match prev.hi {
                    None => return Err(bad("a band follows the open band")),
                    Some(h) if h + 1 != lo => {
                        return Err(bad(&format!(
                            "bands must be contiguous: the previous band ends at {h}, this one starts at {lo}"
                        )))
                    }
                    _ => {}
                }
            }
            bands.push((AgeBand { lo, hi }, weight));
        }
        if bands.is_empty() || bands.iter().map(|b| b.1).sum::<f64>() <= 0.0 {
            return Err(StatsError::Invalid(format!(
                "standard '{name}' has no bands with weight"
            )));
        }
        Ok(Standard {
            name: comments.first().map_or(name, |c| c).to_string(),
            provenance: comments
                .get(1)
                .copied()
                .unwrap_or("user-supplied")
                .to_string(),
            bands,
        })
    }
}
