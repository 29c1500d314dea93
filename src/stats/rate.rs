//! Rates per population: exact Poisson intervals and direct
//! standardisation with the Fay-Feuer gamma interval.

use super::proportion::{alpha, Interval};
use super::standard::{AgeBand, Standard};
use super::StatsError;
use statrs::distribution::{ContinuousCDF, Gamma};

/// Gamma(shape, scale) quantile; statrs takes the rate (1 / scale).
fn gamma_quantile(p: f64, shape: f64, scale: f64) -> Result<f64, StatsError> {
    Gamma::new(shape, 1.0 / scale)
        .map(|g| g.inverse_cdf(p))
        .map_err(|e| StatsError::Invalid(format!("gamma({shape}, {scale}): {e}")))
}

/// The exact interval of a Poisson count x (Garwood 1936), by the gamma
/// quantiles [G(α/2; x, 1), G(1-α/2; x+1, 1)], as a rate per `per` of
/// `population` (person-time).
pub fn poisson_exact(
    x: u64,
    population: f64,
    per: f64,
    level: f64,
) -> Result<Interval, StatsError> {
    if population.is_nan() || population <= 0.0 {
        return Err(StatsError::Empty("a rate's population"));
    }
    let alpha = alpha(level)?;
    let xf = x as f64;
    let low = if x == 0 {
        0.0
    } else {
        gamma_quantile(alpha / 2.0, xf, 1.0)?
    };
    let high = gamma_quantile(1.0 - alpha / 2.0, xf + 1.0, 1.0)?;
    let scale = per / population;
    Ok(Interval {
        estimate: xf * scale,
        low: low * scale,
        high: high * scale,
    })
}

/// One age band's events and population.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BandCount {
    pub band: AgeBand,
    pub events: u64,
    pub population: f64,
}

/// A directly standardised rate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standardised {
    pub rate: Interval,
    /// The crude rate (all events over all population), per `per`.
    pub crude: f64,
    pub events: u64,
    pub population: f64,
    pub method: String,
}

/// Direct standardisation: Σ wᵢ xᵢ / nᵢ with the standard's weights
/// normalised to 1, and the Fay-Feuer gamma interval (Fay & Feuer 1997,
/// Stat Med 16:791): with y the rate, v = Σ wᵢ² xᵢ / nᵢ² and
/// w_M = maxᵢ wᵢ / nᵢ, low = G(α/2; y²/v, v/y) and
/// high = G(1-α/2; (y+w_M)²/(v+w_M²), (v+w_M²)/(y+w_M)) (shape, scale).
/// Refuses when the bands of the counts and of the standard differ.
pub fn direct_standardised(
    counts: &[BandCount],
    standard: &Standard,
    per: f64,
    level: f64,
) -> Result<Standardised, StatsError> {
    let alpha = alpha(level)?;
    let bands: Vec<AgeBand> = counts.iter().map(|c| c.band).collect();
    let standard_bands: Vec<AgeBand> = standard.bands.iter().map(|b| b.0).collect();
    if bands != standard_bands {
        return Err(StatsError::Invalid(format!(
            "the age bands of the counts ({}) differ from those of the standard '{}' ({}): use the same bands in cases, population and standard",
            AgeBand::list(&bands),
            standard.name,
            AgeBand::list(&standard_bands)
        )));
    }
    if let Some(c) = counts
        .iter()
        .find(|c| c.population.is_nan() || c.population <= 0.0)
    {
        return Err(StatsError::Invalid(format!(
            "age band {} has no population: a rate cannot be computed (merge bands or add the population)",
            c.band
        )));
    }
    let total_weight: f64 = standard.bands.iter().map(|b| b.1).sum();
    let mut rate = 0.0;
    let mut variance = 0.0;
    let mut w_max: f64 = 0.0;
    for (c, (_, weight)) in counts.iter().zip(&standard.bands) {
        let w = weight / total_weight;
        let x = c.events as f64;
        rate += w * x / c.population;
        variance += w * w * x / (c.population * c.population);
        w_max = w_max.max(w / c.population);
    }
    let low = if rate == 0.0 {
        0.0
    } else {
        gamma_quantile(alpha / 2.0, rate * rate / variance, variance / rate)?
    };
    let high = gamma_quantile(
        1.0 - alpha / 2.0,
        (rate + w_max).powi(2) / (variance + w_max * w_max),
        (variance + w_max * w_max) / (rate + w_max),
    )?;
    let events: u64 = counts.iter().map(|c| c.events).sum();
    let population: f64 = counts.iter().map(|c| c.population).sum();
    Ok(Standardised {
        rate: Interval {
            estimate: rate * per,
            low: low * per,
            high: high * per,
        },
        crude: events as f64 / population * per,
        events,
        population,
        method: "direct standardisation, Fay-Feuer gamma interval".into(),
    })
}
