//! Proportions: intervals for x/n, homogeneity across strata, ratios
//! against a reference stratum. One function per method; the formula's
//! source is named beside it.

use super::{z_two_sided, StatsError};
use statrs::distribution::{Beta, ChiSquared, ContinuousCDF};

/// A proportion's estimate and two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

fn check(x: u64, n: u64) -> Result<(), StatsError> {
    if n == 0 {
        return Err(StatsError::Empty("a proportion's denominator"));
    }
    if x > n {
        return Err(StatsError::Invalid(format!(
            "{x} events out of {n}: events cannot exceed the denominator"
        )));
    }
    Ok(())
}

/// Wilson score interval (Wilson 1927; Newcombe 1998, method 3):
/// (p + z²/2n ± z √(p(1-p)/n + z²/4n²)) / (1 + z²/n).
pub fn wilson(x: u64, n: u64, level: f64) -> Result<Interval, StatsError> {
    check(x, n)?;
    let z = z_two_sided(level)?;
    let (xf, nf) = (x as f64, n as f64);
    let p = xf / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z / denom * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    Ok(Interval {
        estimate: p,
        // The bounds are exact at the edges: 0 events, or all.
        low: if x == 0 {
            0.0
        } else {
            (center - half).max(0.0)
        },
        high: if x == n {
            1.0
        } else {
            (center + half).min(1.0)
        },
    })
}

/// Clopper-Pearson exact interval (Clopper & Pearson 1934) through the
/// beta quantiles: [B(α/2; x, n-x+1), B(1-α/2; x+1, n-x)].
pub fn clopper_pearson(x: u64, n: u64, level: f64) -> Result<Interval, StatsError> {
    check(x, n)?;
    let alpha = alpha(level)?;
    let (xf, nf) = (x as f64, n as f64);
    let low = if x == 0 {
        0.0
    } else {
        beta(xf, nf - xf + 1.0)?.inverse_cdf(alpha / 2.0)
    };
    let high = if x == n {
        1.0
    } else {
        beta(xf + 1.0, nf - xf)?.inverse_cdf(1.0 - alpha / 2.0)
    };
    Ok(Interval {
        estimate: xf / nf,
        low,
        high,
    })
}

fn beta(a: f64, b: f64) -> Result<Beta, StatsError> {
    Beta::new(a, b).map_err(|e| StatsError::Invalid(format!("beta({a}, {b}): {e}")))
}

pub(super) fn alpha(level: f64) -> Result<f64, StatsError> {
    if !(level > 0.0 && level < 1.0) {
        return Err(StatsError::Invalid(format!(
            "confidence level {level} must be between 0 and 1 (e.g. 0.95)"
        )));
    }
    Ok(1.0 - level)
}

/// Pearson's chi-square test of homogeneity of proportions across k
/// strata (a k x 2 table of events and non-events).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Homogeneity {
    pub statistic: f64,
    pub df: u32,
    pub p_value: f64,
    /// The smallest expected cell count; under 5 the chi-square
    /// approximation is doubtful.
    pub min_expected: f64,
    pub warning: Option<String>,
}

/// Σ (O - E)² / E over the k x 2 table, E = row total x column total / N,
/// with k - 1 degrees of freedom (e.g. Agresti, Categorical Data Analysis,
/// 3rd ed., 3.2). Strata with a 0 denominator are left out.
pub fn chi_square_homogeneity(strata: &[(u64, u64)]) -> Result<Homogeneity, StatsError> {
    for &(x, n) in strata {
        if x > n {
            return Err(StatsError::Invalid(format!(
                "{x} events out of {n}: events cannot exceed the denominator"
            )));
        }
    }
    let rows: Vec<(f64, f64)> = strata
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|&(x, n)| (x as f64, n as f64))
        .collect();
    if rows.len() < 2 {
        return Err(StatsError::Empty("at least two strata with a denominator"));
    }
    let total: f64 = rows.iter().map(|r| r.1).sum();
    let events: f64 = rows.iter().map(|r| r.0).sum();
    if events == 0.0 || events == total {
        return Err(StatsError::Invalid(
            "every stratum has the same proportion (none or all): there is nothing to test".into(),
        ));
    }
    let mut statistic = 0.0;
    let mut min_expected = f64::INFINITY;
    for &(x, n) in &rows {
        for (observed, column) in [(x, events), (n - x, total - events)] {
            let expected = n * column / total;
            min_expected = min_expected.min(expected);
            statistic += (observed - expected).powi(2) / expected;
        }
    }
    let df = (rows.len() - 1) as u32;
    let p_value = ChiSquared::new(f64::from(df))
        .map_err(|e| StatsError::Invalid(e.to_string()))?
        .sf(statistic);
    let warning = (min_expected < 5.0).then(|| {
        format!("an expected count is {min_expected:.2} (under 5): the chi-square approximation may be poor; merge strata or use an exact test")
    });
    Ok(Homogeneity {
        statistic,
        df,
        p_value,
        min_expected,
        warning,
    })
}

/// A prevalence ratio against a reference stratum, with the Wald interval
/// on the log scale: exp(ln PR ± z √(1/x₁ - 1/n₁ + 1/x₀ - 1/n₀))
/// (Rothman, Modern Epidemiology, 3rd ed., ch. 14). None when either
/// stratum has no events (the ratio or its log is undefined).
pub fn prevalence_ratio(
    (x1, n1): (u64, u64),
    (x0, n0): (u64, u64),
    level: f64,
) -> Result<Option<Interval>, StatsError> {
    check(x1, n1)?;
    check(x0, n0)?;
    if x1 == 0 || x0 == 0 {
        return Ok(None);
    }
    let z = z_two_sided(level)?;
    let (x1, n1, x0, n0) = (x1 as f64, n1 as f64, x0 as f64, n0 as f64);
    let ratio = (x1 / n1) / (x0 / n0);
    let se = (1.0 / x1 - 1.0 / n1 + 1.0 / x0 - 1.0 / n0).max(0.0).sqrt();
    Ok(Some(Interval {
        estimate: ratio,
        low: (ratio.ln() - z * se).exp(),
        high: (ratio.ln() + z * se).exp(),
    }))
}
