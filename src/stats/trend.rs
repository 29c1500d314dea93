//! Trends: the annual percent change of counts or rates over time, and
//! the Cochran-Armitage test for a trend in proportions.

use super::proportion::alpha;
use super::{z_two_sided, StatsError};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// An annual percent change, APC = 100 (e^b - 1), with its interval.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Apc {
    pub apc: f64,
    pub low: f64,
    pub high: f64,
    /// The slope b of ln(y) on time, and its standard error.
    pub slope: f64,
    pub se: f64,
    pub p_value: f64,
    pub method: String,
}

fn apc_from(b: f64, half: f64) -> (f64, f64, f64) {
    let pct = |v: f64| 100.0 * (v.exp() - 1.0);
    (pct(b), pct(b - half), pct(b + half))
}

/// APC from the least-squares line of ln(yₜ) on t (SEER*Stat's and
/// Joinpoint's log-linear model; NCI SEER*Stat help, "Annual Percent
/// Change"): b ± t(n-2, 1-α/2) · se(b). Every yₜ must be above 0.
pub fn apc_log_linear(points: &[(f64, f64)], level: f64) -> Result<Apc, StatsError> {
    let alpha = alpha(level)?;
    if points.len() < 3 {
        return Err(StatsError::Empty("at least three time points for a trend"));
    }
    if let Some((t, _)) = points.iter().find(|(_, y)| y.is_nan() || *y <= 0.0) {
        return Err(StatsError::Invalid(format!(
            "the value at time {t} is 0 (or missing): a log-linear trend cannot use it; use the Poisson model, or a coarser time unit"
        )));
    }
    let n = points.len() as f64;
    let t_mean = points.iter().map(|p| p.0).sum::<f64>() / n;
    let y_mean = points.iter().map(|p| p.1.ln()).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - t_mean).powi(2)).sum();
    if sxx == 0.0 {
        return Err(StatsError::Invalid("every point has the same time".into()));
    }
    let sxy: f64 = points
        .iter()
        .map(|p| (p.0 - t_mean) * (p.1.ln() - y_mean))
        .sum();
    let b = sxy / sxx;
    let a = y_mean - b * t_mean;
    let rss: f64 = points
        .iter()
        .map(|p| (p.1.ln() - a - b * p.0).powi(2))
        .sum();
    let se = (rss / (n - 2.0) / sxx).sqrt();
    let t = StudentsT::new(0.0, 1.0, n - 2.0).map_err(|e| StatsError::Invalid(e.to_string()))?;
    let q = t.inverse_cdf(1.0 - alpha / 2.0);
    let p_value = if se == 0.0 {
        0.0
    } else {
        2.0 * t.sf((b / se).abs())
    };
    let (apc, low, high) = apc_from(b, q * se);
    Ok(Apc {
        apc,
        low,
        high,
        slope: b,
        se,
        p_value,
        method: "log-linear least squares, t interval".into(),
    })
}

/// APC from a Poisson regression of counts xₜ with ln(populationₜ) as the
/// offset, log E[xₜ] = ln(popₜ) + a + b t, fitted by Newton-Raphson
/// (iteratively reweighted least squares; McCullagh & Nelder, GLM 2nd ed.,
/// 2.5), with the Wald interval b ± z · se(b).
pub fn apc_poisson(points: &[(f64, u64, f64)], level: f64) -> Result<Apc, StatsError> {
    let z = z_two_sided(level)?;
    if points.len() < 2 {
        return Err(StatsError::Empty("at least two time points for a trend"));
    }
    if let Some((t, _, _)) = points.iter().find(|p| p.2.is_nan() || p.2 <= 0.0) {
        return Err(StatsError::Invalid(format!(
            "the population at time {t} is 0 (or missing): a rate needs a population"
        )));
    }
    let events: f64 = points.iter().map(|p| p.1 as f64).sum();
    if events == 0.0 {
        return Err(StatsError::Invalid(
            "no events at any time: there is no trend to fit".into(),
        ));
    }
    // Centre time so the two parameters are nearly orthogonal.
    let t_mean = points.iter().map(|p| p.0).sum::<f64>() / points.len() as f64;
    let population: f64 = points.iter().map(|p| p.2).sum();
    let (mut a, mut b) = ((events / population).ln(), 0.0f64);
    let mut info = [[0.0f64; 2]; 2];
    for _ in 0..100 {
        let mut score = [0.0f64; 2];
        info = [[0.0; 2]; 2];
        for &(t, x, pop) in points {
            let t = t - t_mean;
            let mu = pop * (a + b * t).exp();
            let r = x as f64 - mu;
            score[0] += r;
            score[1] += r * t;
            info[0][0] += mu;
            info[0][1] += mu * t;
            info[1][1] += mu * t * t;
        }
        info[1][0] = info[0][1];
        let det = info[0][0] * info[1][1] - info[0][1] * info[1][0];
        if det.abs() < 1e-300 {
            return Err(StatsError::Invalid(
                "the Poisson model cannot be fitted (every point has the same time?)".into(),
            ));
        }
        let da = (info[1][1] * score[0] - info[0][1] * score[1]) / det;
        let db = (info[0][0] * score[1] - info[1][0] * score[0]) / det;
        a += da;
        b += db;
        if da.abs() < 1e-12 && db.abs() < 1e-12 {
            break;
        }
    }
    let det = info[0][0] * info[1][1] - info[0][1] * info[1][0];
    let se = (info[0][0] / det).sqrt();
    let p_value = 2.0 * standard_normal().sf((b / se).abs());
    let (apc, low, high) = apc_from(b, z * se);
    Ok(Apc {
        apc,
        low,
        high,
        slope: b,
        se,
        p_value,
        method: "Poisson regression with log population offset, Wald interval".into(),
    })
}

fn standard_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("the standard normal is valid")
}

/// The Cochran-Armitage test for a linear trend in proportions across
/// ordered groups (Armitage 1955; Agresti, CDA 3rd ed., 5.3.5):
/// z = Σ tᵢ(xᵢ - nᵢp̄) / √(p̄(1-p̄) Σ nᵢ(tᵢ - t̄)²), t̄ weighted by nᵢ.
/// z² equals R's `prop.trend.test` statistic.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrendTest {
    pub z: f64,
    pub chi_square: f64,
    pub p_value: f64,
}

pub fn cochran_armitage(groups: &[(u64, u64, f64)]) -> Result<TrendTest, StatsError> {
    let groups: Vec<&(u64, u64, f64)> = groups.iter().filter(|g| g.1 > 0).collect();
    if groups.len() < 2 {
        return Err(StatsError::Empty(
            "at least two ordered groups with a denominator",
        ));
    }
    if let Some(g) = groups.iter().find(|g| g.0 > g.1) {
        return Err(StatsError::Invalid(format!(
            "{} events out of {}: events cannot exceed the denominator",
            g.0, g.1
        )));
    }
    let n: f64 = groups.iter().map(|g| g.1 as f64).sum();
    let x: f64 = groups.iter().map(|g| g.0 as f64).sum();
    let p = x / n;
    let t_mean = groups.iter().map(|g| g.1 as f64 * g.2).sum::<f64>() / n;
    let numerator: f64 = groups
        .iter()
        .map(|g| g.2 * (g.0 as f64 - g.1 as f64 * p))
        .sum();
    let spread: f64 = groups
        .iter()
        .map(|g| g.1 as f64 * (g.2 - t_mean).powi(2))
        .sum();
    let variance = p * (1.0 - p) * spread;
    if variance == 0.0 {
        return Err(StatsError::Invalid(
            "no variation to test (every group has the same score, or the proportion is 0 or 1 everywhere)".into(),
        ));
    }
    let z = numerator / variance.sqrt();
    Ok(TrendTest {
        z,
        chi_square: z * z,
        p_value: 2.0 * standard_normal().sf(z.abs()),
    })
}
