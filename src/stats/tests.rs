//! Reference values. Those marked DOMAIN come from ../shared/DOMAIN.md; the
//! rest were computed independently with SciPy 1.17.1 and statsmodels
//! 0.15.0 (statsmodels `proportion_confint` 'wilson'/'beta', SciPy `chi2`,
//! `chi2_contingency(correction=False)`, `linregress`, `gamma.ppf`,
//! statsmodels GLM Poisson with offset), or are R's documented examples
//! (`prop.trend.test`). Compared to 6 significant digits or better.

use super::*;

fn close(got: f64, want: f64) {
    let tolerance = 5e-7 * want.abs().max(1e-3);
    assert!(
        (got - want).abs() <= tolerance,
        "got {got:.10}, want {want:.10}"
    );
}

fn interval(i: Interval, low: f64, high: f64) {
    close(i.low, low);
    close(i.high, high);
}

#[test]
fn wilson_matches_the_references_including_the_edges() {
    interval(wilson(7, 50, 0.95).unwrap(), 0.069508334, 0.261861937); // DOMAIN
    interval(wilson(0, 20, 0.95).unwrap(), 0.0, 0.161125158); // DOMAIN
    interval(wilson(20, 20, 0.95).unwrap(), 0.838874842, 1.0);
    interval(wilson(1, 1000, 0.95).unwrap(), 0.000176546, 0.005642559);
    interval(wilson(999, 1000, 0.95).unwrap(), 0.994357441, 0.999823454);
    interval(wilson(3, 7, 0.95).unwrap(), 0.158219855, 0.749541635);
    assert!(wilson(3, 0, 0.95).is_err());
    assert!(wilson(8, 7, 0.95).is_err());
    assert!(wilson(3, 7, 1.0).is_err());
}

#[test]
fn clopper_pearson_matches_the_references_including_the_edges() {
    interval(
        clopper_pearson(7, 50, 0.95).unwrap(),
        0.058191700,
        0.267396002,
    ); // DOMAIN
    interval(clopper_pearson(0, 20, 0.95).unwrap(), 0.0, 0.168433471);
    interval(clopper_pearson(20, 20, 0.95).unwrap(), 0.831566529, 1.0);
    interval(
        clopper_pearson(1, 1000, 0.95).unwrap(),
        0.000025317,
        0.005558924,
    );
    interval(
        clopper_pearson(999, 1000, 0.95).unwrap(),
        0.994441076,
        0.999974683,
    );
    interval(
        clopper_pearson(3, 7, 0.95).unwrap(),
        0.098988278,
        0.815948432,
    );
}

#[test]
fn exact_poisson_intervals_match_the_references() {
    // DOMAIN: 10 events over 50,000 person-years, per 100,000.
    let r = poisson_exact(10, 50_000.0, 100_000.0, 0.95).unwrap();
    close(r.estimate, 20.0);
    interval(r, 9.590777392, 36.780712084);
    interval(poisson_exact(0, 1.0, 1.0, 0.95).unwrap(), 0.0, 3.688879454);
    interval(
        poisson_exact(1, 1.0, 1.0, 0.95).unwrap(),
        0.025317808,
        5.571643391,
    );
    interval(
        poisson_exact(250, 1.0, 1.0, 0.95).unwrap(),
        219.967995631,
        282.987705042,
    );
    assert!(poisson_exact(3, 0.0, 1.0, 0.95).is_err());
}

#[test]
fn chi_square_homogeneity_matches_scipy_and_warns_on_small_expected_counts() {
    let h = chi_square_homogeneity(&[(12, 100), (25, 100), (30, 100), (8, 50)]).unwrap();
    close(h.statistic, 11.276363636);
    close(h.p_value, 0.0103215968556);
    assert_eq!(h.df, 3);
    close(h.min_expected, 10.714285714);
    assert!(h.warning.is_none());
    let small = chi_square_homogeneity(&[(1, 10), (4, 12)]).unwrap();
    assert!(small.warning.unwrap().contains("under 5"));
    assert!(chi_square_homogeneity(&[(0, 10), (0, 12)]).is_err());
    assert!(chi_square_homogeneity(&[(3, 10)]).is_err());
}

#[test]
fn prevalence_ratio_uses_the_wald_interval_on_the_log_scale() {
    let pr = prevalence_ratio((30, 100), (12, 100), 0.95)
        .unwrap()
        .unwrap();
    close(pr.estimate, 2.5);
    let se = (1.0f64 / 30.0 - 1.0 / 100.0 + 1.0 / 12.0 - 1.0 / 100.0).sqrt();
    close(pr.low, (2.5f64.ln() - 1.959963985 * se).exp());
    close(pr.high, (2.5f64.ln() + 1.959963985 * se).exp());
    assert!(prevalence_ratio((0, 100), (12, 100), 0.95)
        .unwrap()
        .is_none());
}

#[test]
fn cochran_armitage_matches_rs_prop_trend_test_example() {
    // R: prop.trend.test(c(83, 90, 129, 70), c(86, 93, 136, 82))
    // X-squared = 8.2249, df = 1, p-value = 0.004132
    let t =
        cochran_armitage(&[(83, 86, 1.0), (90, 93, 2.0), (129, 136, 3.0), (70, 82, 4.0)]).unwrap();
    close(t.z, -2.867912531);
    close(t.chi_square, 8.224922285);
    close(t.p_value, 0.00413189747764);
    assert!(cochran_armitage(&[(1, 10, 1.0), (2, 10, 1.0)]).is_err());
}

const YEARS: [f64; 10] = [
    2010.0, 2011.0, 2012.0, 2013.0, 2014.0, 2015.0, 2016.0, 2017.0, 2018.0, 2019.0,
];
const COUNTS: [u64; 10] = [120, 131, 128, 140, 152, 149, 160, 171, 169, 185];
const POPULATION: [f64; 10] = [
    50000.0, 50500.0, 51000.0, 51800.0, 52000.0, 52600.0, 53000.0, 53900.0, 54100.0, 55000.0,
];

#[test]
fn log_linear_apc_matches_a_least_squares_fit() {
    let points: Vec<(f64, f64)> = YEARS
        .iter()
        .zip(COUNTS)
        .map(|(t, x)| (*t, x as f64))
        .collect();
    let a = apc_log_linear(&points, 0.95).unwrap();
    close(a.apc, 4.655108649);
    close(a.low, 3.888268107);
    close(a.high, 5.427609545);
    close(a.se, 0.00318919104096);
    close(a.p_value, 5.67902413403e-07);
    let mut with_zero = points.clone();
    with_zero[3].1 = 0.0;
    assert!(apc_log_linear(&with_zero, 0.95)
        .unwrap_err()
        .to_string()
        .contains("Poisson"));
}

#[test]
fn poisson_apc_matches_a_glm_with_population_offset() {
    let points: Vec<(f64, u64, f64)> = (0..10)
        .map(|i| (YEARS[i], COUNTS[i], POPULATION[i]))
        .collect();
    let a = apc_poisson(&points, 0.95).unwrap();
    close(a.apc, 3.570243412);
    // statsmodels fitted with tol=1e-14 (its default 1e-8 stops early
    // enough to move the 7th digit).
    close(a.low, 1.755502312);
    close(a.high, 5.417349201);
    close(a.se, 0.00901912653106);
    close(a.p_value, 0.000100451694672);
}

fn seer_example() -> Vec<BandCount> {
    // SEER*Stat tutorial "Calculating Age-adjusted Rates": malignant
    // tumours, black females, SEER 9, 2000-2004.
    let counts = [
        29, 87, 67, 71, 87, 177, 290, 657, 1072, 1691, 2428, 2931, 2881, 2817, 2817, 2744, 2634,
        1884, 1705,
    ];
    let population = [
        139879, 553189, 736212, 770999, 651390, 639159, 676354, 736557, 724826, 700200, 617437,
        516541, 361170, 259440, 206204, 172087, 142958, 99654, 92692,
    ];
    let standard = Standard::built_in("us2000-19").unwrap();
    standard
        .bands
        .iter()
        .zip(counts.iter().zip(population))
        .map(|((band, _), (x, n))| BandCount {
            band: *band,
            events: *x,
            population: n as f64,
        })
        .collect()
}

#[test]
fn the_seer_worked_example_gives_400_3_with_the_fay_feuer_interval() {
    let standard = Standard::built_in("us2000-19").unwrap();
    let s = direct_standardised(&seer_example(), &standard, 100_000.0, 0.95).unwrap();
    assert_eq!(format!("{:.1}", s.rate.estimate), "400.3"); // DOMAIN
    close(s.rate.estimate, 400.304009621);
    close(s.rate.low, 395.457441046);
    close(s.rate.high, 405.198714325);
}

#[test]
fn fay_feuer_handles_a_band_without_events() {
    let standard = Standard::parse(
        "test",
        "age_lo,age_hi,weight\n0,39,0.3\n40,64,0.5\n65,,0.2\n",
    )
    .unwrap();
    let counts: Vec<BandCount> = standard
        .bands
        .iter()
        .zip([(0, 1000.0), (3, 2000.0), (10, 1500.0)])
        .map(|((band, _), (events, population))| BandCount {
            band: *band,
            events,
            population,
        })
        .collect();
    let s = direct_standardised(&counts, &standard, 100_000.0, 0.95).unwrap();
    close(s.rate.estimate, 208.333333333);
    close(s.rate.low, 107.239208501);
    close(s.rate.high, 387.651701456);
}

#[test]
fn standardisation_refuses_bands_that_differ() {
    let standard = Standard::built_in("us2000-11").unwrap();
    let err = direct_standardised(&seer_example(), &standard, 100_000.0, 0.95).unwrap_err();
    assert!(err.to_string().contains("differ"), "{err}");
}

#[test]
fn shipped_standards_are_complete_and_user_standards_are_checked() {
    for id in Standard::built_in_ids() {
        let s = Standard::built_in(id).unwrap();
        assert_eq!(s.bands[0].0.lo, 0, "{id}");
        assert_eq!(s.bands.last().unwrap().0.hi, None, "{id} ends open");
        assert!(
            s.provenance.contains("Source") || s.provenance.len() > 20,
            "{id}"
        );
    }
    let us19 = Standard::built_in("us2000-19").unwrap();
    let us11 = Standard::built_in("us2000-11").unwrap();
    let total = |s: &Standard| s.bands.iter().map(|b| b.1).sum::<f64>();
    assert_eq!(total(&us19), 274_633_642.0);
    assert_eq!(total(&us11), total(&us19));
    assert_eq!(Standard::built_in("who2000-2025").unwrap().bands.len(), 21);
    for bad in [
        "age_lo,age_hi,weight\n0,4,1\n6,9,1\n", // gap
        "age_lo,age_hi,weight\n0,,1\n5,9,1\n",  // after open
        "age_lo,age_hi,weight\n0,4,-1\n",       // negative
        "age_lo,age_hi,weight\n5,4,1\n",        // reversed
        "lo,hi,w\n0,4,1\n",                     // header
        "age_lo,age_hi,weight\n",               // empty
    ] {
        assert!(Standard::parse("bad", bad).is_err(), "{bad}");
    }
    assert!(Standard::built_in("nope")
        .unwrap_err()
        .to_string()
        .contains("us2000-19"));
}

#[test]
fn z_is_accurate() {
    close(z_two_sided(0.95).unwrap(), 1.959963984540054);
    close(z_two_sided(0.99).unwrap(), 2.5758293035489004);
}
