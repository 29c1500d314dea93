//! The statistics of the analyses: intervals for proportions and rates,
//! tests of homogeneity and trend, annual percent change, direct
//! standardisation. Pure functions of counts, one per method, with the
//! formula's source beside it; distributions come from statrs. No GUI, no
//! store: the analyses aggregate in SQLite and call these.

pub mod proportion;
pub mod rate;
pub mod standard;
pub mod trend;

pub use proportion::{
    chi_square_homogeneity, clopper_pearson, prevalence_ratio, wilson, Homogeneity, Interval,
};
pub use rate::{direct_standardised, poisson_exact, BandCount, Standardised};
pub use standard::{AgeBand, Standard};
pub use trend::{apc_log_linear, apc_poisson, cochran_armitage, Apc, TrendTest};

use statrs::distribution::{ContinuousCDF, Normal};

/// Why a statistic cannot be computed, in words a user can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("{0} is needed but there is none")]
    Empty(&'static str),
    #[error("{0}")]
    Invalid(String),
}

/// z with P(|Z| <= z) = level.
pub fn z_two_sided(level: f64) -> Result<f64, StatsError> {
    let alpha = proportion::alpha(level)?;
    Ok(Normal::new(0.0, 1.0)
        .expect("the standard normal is valid")
        .inverse_cdf(1.0 - alpha / 2.0))
}

#[cfg(test)]
mod tests;
