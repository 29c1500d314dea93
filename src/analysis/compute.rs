//! Results from tables of counts: the statistics per cell, the tests
//! across cells, and suppression for release.

use super::suppress::{primary, suppress_group, SmallCell};
use super::{
    AnalysisError, Cell, CountTable, IntervalMethod, PrevalenceResult, Ratio, StandardisedResult,
    TimeUnit, TrendLine, TrendResult,
};
use crate::stats::{self, AgeBand, BandCount, Standard};
use std::collections::{BTreeMap, BTreeSet};

/// A period label as a time in years: "2015", "2015-Q2" (2015.25),
/// "2015-03" (2015 + 2/12).
pub(crate) fn period_time(period: &str, unit: TimeUnit) -> Option<f64> {
    let year: f64 = period.get(0..4)?.parse().ok()?;
    let rest = &period[4..];
    match unit {
        TimeUnit::Year if rest.is_empty() => Some(year),
        TimeUnit::Quarter => {
            let q: u32 = rest.strip_prefix("-Q")?.parse().ok()?;
            (1..=4).contains(&q).then(|| year + f64::from(q - 1) / 4.0)
        }
        TimeUnit::Month => {
            let m: u32 = rest.strip_prefix('-')?.parse().ok()?;
            (1..=12)
                .contains(&m)
                .then(|| year + f64::from(m - 1) / 12.0)
        }
        _ => None,
    }
}

/// Every period from `first` to `last` (inclusive).
fn periods_between(first: &str, last: &str, unit: TimeUnit) -> Vec<String> {
    let (Some(a), Some(b)) = (period_time(first, unit), period_time(last, unit)) else {
        return vec![first.to_string(), last.to_string()];
    };
    let steps = match unit {
        TimeUnit::Year => 1.0,
        TimeUnit::Quarter => 4.0,
        TimeUnit::Month => 12.0,
    };
    let n = ((b - a) * steps).round() as i64;
    (0..=n.max(0))
        .map(|i| {
            let k = (a * steps).round() as i64 + i;
            let (year, part) = (k.div_euclid(steps as i64), k.rem_euclid(steps as i64));
            match unit {
                TimeUnit::Year => format!("{year:04}"),
                TimeUnit::Quarter => format!("{year:04}-Q{}", part + 1),
                TimeUnit::Month => format!("{year:04}-{:02}", part + 1),
            }
        })
        .collect()
}

/// A trend from a table whose first column is the period and whose
/// second (if any) is the split; rates when a population table (period,
/// split column if any, population) is given.
pub fn trend(
    counts: &CountTable,
    population: Option<&CountTable>,
    per: f64,
    unit: TimeUnit,
    level: f64,
    threshold: u64,
    release: bool,
) -> Result<TrendResult, AnalysisError> {
    let period_at = counts.column("period").ok_or_else(|| {
        AnalysisError::Input(
            "a trend's counts need a `period` column (e.g. 2015, 2015-Q2 or 2015-03)".into(),
        )
    })?;
    let split_at = (0..counts.columns.len()).find(|i| *i != period_at);
    for r in &counts.rows {
        let p = &r.labels[period_at];
        if period_time(p, unit).is_none() {
            return Err(AnalysisError::Input(format!(
                "period '{p}' is not a {} (use YYYY, YYYY-Qn or YYYY-MM to match the time unit)",
                match unit {
                    TimeUnit::Year => "year",
                    TimeUnit::Quarter => "quarter",
                    TimeUnit::Month => "month",
                }
            )));
        }
    }
    let mut by_line: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for r in &counts.rows {
        let label = split_at.map_or("all".to_string(), |i| r.labels[i].clone());
        *by_line
            .entry(label)
            .or_default()
            .entry(r.labels[period_at].clone())
            .or_default() += r.events;
    }
    let all_periods: BTreeSet<&String> = by_line.values().flat_map(|m| m.keys()).collect();
    let periods = match (all_periods.first(), all_periods.last()) {
        (Some(a), Some(b)) => periods_between(a, b, unit),
        _ => Vec::new(),
    };
    let pop =
        population.map(|p| population_lookup(p, split_at.map(|i| counts.columns[i].as_str())));
    let pop = pop.transpose()?;
    let mut lines = Vec::new();
    for (label, counts_by_period) in by_line {
        let mut cells = Vec::new();
        let mut notes = Vec::new();
        let mut points = Vec::new();
        for period in &periods {
            let x = counts_by_period.get(period).copied().unwrap_or(0);
            let t = period_time(period, unit).expect("generated periods parse");
            let population = match &pop {
                None => None,
                Some(lookup) => match lookup
                    .get(&(period.clone(), label.clone()))
                    .or_else(|| lookup.get(&(period.clone(), String::new())))
                {
                    Some(n) => Some(*n),
                    None => {
                        notes.push(format!(
                            "no population for {period}{}: the period is left out of the rates",
                            if label == "all" {
                                String::new()
                            } else {
                                format!(" and {label}")
                            }
                        ));
                        continue;
                    }
                },
            };
            let interval = stats::poisson_exact(
                x,
                population.unwrap_or(1.0),
                population.map_or(1.0, |_| per),
                level,
            )?;
            let suppressed = primary(
                SmallCell {
                    events: x,
                    denominator: None,
                },
                threshold,
            );
            points.push((t, x, population));
            let mut cell = Cell {
                labels: vec![label.clone()],
                period: Some(period.clone()),
                x: Some(x),
                n: population,
                estimate: Some(interval.estimate),
                ci_low: Some(interval.low),
                ci_high: Some(interval.high),
                method: if population.is_some() {
                    "rate, exact Poisson interval".into()
                } else {
                    "count, exact Poisson interval".into()
                },
                suppressed,
            };
            if suppressed && release {
                cell.hide();
            }
            cells.push(cell);
        }
        let any_hidden = cells.iter().any(|c| c.suppressed);
        let (mut apc, mut apc_poisson) = (None, None);
        if release && any_hidden {
            notes.push("no annual percent change: a period is suppressed, and the fit with the others would reveal it".into());
        } else if points.len() >= 3 {
            let values: Vec<(f64, f64)> = points
                .iter()
                .map(|(t, x, n)| (*t, *x as f64 / n.unwrap_or(1.0)))
                .collect();
            match stats::apc_log_linear(&values, level) {
                Ok(a) => apc = Some(a),
                Err(e) => notes.push(format!("log-linear APC: {e}")),
            }
            let pois: Vec<(f64, u64, f64)> = points
                .iter()
                .map(|(t, x, n)| (*t, *x, n.unwrap_or(1.0)))
                .collect();
            match stats::apc_poisson(&pois, level) {
                Ok(mut a) => {
                    if population.is_none() {
                        a.method = "Poisson regression of counts, Wald interval".into();
                    }
                    apc_poisson = Some(a)
                }
                Err(e) => notes.push(format!("Poisson APC: {e}")),
            }
        } else {
            notes.push("fewer than three periods: no annual percent change".into());
        }
        lines.push(TrendLine {
            label,
            cells,
            apc,
            apc_poisson,
            notes,
        });
    }
    Ok(TrendResult {
        lines,
        per: population.map(|_| per),
        undated: 0,
    })
}

/// (period, split label or "") -> population.
fn population_lookup(
    table: &CountTable,
    split_column: Option<&str>,
) -> Result<BTreeMap<(String, String), f64>, AnalysisError> {
    let period_at = table.column("period").ok_or_else(|| {
        AnalysisError::Input("the population table needs a `period` column".into())
    })?;
    let split_at = split_column.and_then(|c| table.column(c));
    let mut out = BTreeMap::new();
    for r in &table.rows {
        let key = (
            r.labels[period_at].clone(),
            split_at.map_or(String::new(), |i| r.labels[i].clone()),
        );
        *out.entry(key).or_insert(0.0) += r.denominator.unwrap_or(0.0);
    }
    Ok(out)
}

/// Stratified prevalence from a table of (strata..., events, denominator).
/// `ordered`: the single stratum has a natural order, in `order` (a trend
/// test is added).
#[allow(clippy::too_many_arguments)]
pub fn prevalence(
    table: &CountTable,
    method: IntervalMethod,
    reference: Option<&str>,
    order: Option<&[String]>,
    level: f64,
    threshold: u64,
    release: bool,
) -> Result<PrevalenceResult, AnalysisError> {
    let mut rows: Vec<(Vec<String>, u64, u64)> = Vec::new();
    for r in &table.rows {
        let n = r.denominator.ok_or_else(|| {
            AnalysisError::Input(
                "prevalence needs a `denominator` (or `population`) per stratum".into(),
            )
        })?;
        if n.fract() != 0.0 {
            return Err(AnalysisError::Input(format!(
                "denominator {n} is not a whole number"
            )));
        }
        let n = n as u64;
        if r.events > n {
            return Err(AnalysisError::Input(format!(
                "stratum {}: {} events out of {n}; events cannot exceed the denominator",
                r.labels.join(" / "),
                r.events
            )));
        }
        rows.push((r.labels.clone(), r.events, n));
    }
    if let Some(order) = order {
        rows.sort_by_key(|(l, _, _)| {
            order
                .iter()
                .position(|o| Some(o) == l.first())
                .unwrap_or(usize::MAX)
        });
    }
    let interval = |x: u64, n: u64| match method {
        IntervalMethod::Wilson => stats::wilson(x, n, level),
        IntervalMethod::ClopperPearson => stats::clopper_pearson(x, n, level),
    };
    let method_name = match method {
        IntervalMethod::Wilson => "proportion, Wilson score interval",
        IntervalMethod::ClopperPearson => "proportion, Clopper-Pearson exact interval",
    };
    let small: Vec<SmallCell> = rows
        .iter()
        .map(|(_, x, n)| SmallCell {
            events: *x,
            denominator: Some(*n),
        })
        .collect();
    let (hidden, total_hidden) = suppress_group(&small, threshold);
    let mut cells = Vec::new();
    for ((labels, x, n), h) in rows.iter().zip(&hidden) {
        let i = if *n > 0 {
            Some(interval(*x, *n)?)
        } else {
            None
        };
        let mut cell = Cell {
            labels: labels.clone(),
            period: None,
            x: Some(*x),
            n: Some(*n as f64),
            estimate: i.map(|i| i.estimate),
            ci_low: i.map(|i| i.low),
            ci_high: i.map(|i| i.high),
            method: method_name.into(),
            suppressed: *h,
        };
        if *h && release {
            cell.hide();
        }
        cells.push(cell);
    }
    let (tx, tn): (u64, u64) = rows.iter().fold((0, 0), |(a, b), r| (a + r.1, b + r.2));
    let total_interval = if tn > 0 {
        Some(interval(tx, tn)?)
    } else {
        None
    };
    let total_small = total_hidden
        || primary(
            SmallCell {
                events: tx,
                denominator: Some(tn),
            },
            threshold,
        );
    let mut total = Cell {
        labels: vec!["all".into()],
        period: None,
        x: Some(tx),
        n: Some(tn as f64),
        estimate: total_interval.map(|i| i.estimate),
        ci_low: total_interval.map(|i| i.low),
        ci_high: total_interval.map(|i| i.high),
        method: method_name.into(),
        suppressed: total_small,
    };
    if total_small && release {
        total.hide();
    }
    let mut notes = Vec::new();
    let withheld = release && hidden.iter().any(|h| *h);
    let homogeneity = if rows.len() < 2 {
        None
    } else if withheld {
        notes.push(
            "no chi-square test: a stratum is suppressed, and the statistic would reveal it".into(),
        );
        None
    } else {
        match stats::chi_square_homogeneity(&rows.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>()) {
            Ok(h) => Some(h),
            Err(e) => {
                notes.push(format!("no chi-square test: {e}"));
                None
            }
        }
    };
    let trend = match order {
        Some(order) if rows.len() >= 2 && !withheld => {
            let groups: Vec<(u64, u64, f64)> = rows
                .iter()
                .filter_map(|(l, x, n)| {
                    let at = order.iter().position(|o| Some(o) == l.first())?;
                    Some((*x, *n, (at + 1) as f64))
                })
                .collect();
            match stats::cochran_armitage(&groups) {
                Ok(t) => Some(t),
                Err(e) => {
                    notes.push(format!("no trend test: {e}"));
                    None
                }
            }
        }
        _ => None,
    };
    let reference_row = match reference {
        Some(want) => Some(
            rows.iter()
                .position(|(l, _, _)| {
                    l.join(" / ") == want || l.first().map(String::as_str) == Some(want)
                })
                .ok_or_else(|| {
                    AnalysisError::Input(format!(
                        "reference stratum '{want}' is not among the strata ({})",
                        rows.iter()
                            .map(|r| r.0.join(" / "))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
        ),
        None => rows
            .iter()
            .enumerate()
            .max_by_key(|(_, r)| r.2)
            .map(|(i, _)| i),
    };
    let mut ratios = Vec::new();
    if let Some(ref_at) = reference_row.filter(|_| rows.len() >= 2) {
        let (_, x0, n0) = &rows[ref_at];
        for (i, (labels, x, n)) in rows.iter().enumerate() {
            if i == ref_at {
                continue;
            }
            let hide = release && (hidden[i] || hidden[ref_at]);
            let pr = if hide || *n == 0 || *n0 == 0 {
                None
            } else {
                stats::prevalence_ratio((*x, *n), (*x0, *n0), level)?
            };
            ratios.push(Ratio {
                labels: labels.clone(),
                estimate: pr.map(|p| p.estimate),
                ci_low: pr.map(|p| p.low),
                ci_high: pr.map(|p| p.high),
            });
        }
    }
    Ok(PrevalenceResult {
        strata: table.columns.clone(),
        cells,
        total,
        homogeneity,
        trend,
        reference: reference_row.map(|i| rows[i].0.clone()),
        ratios,
        notes,
    })
}

/// A directly standardised rate from counts and populations by age band.
pub fn standardised(
    counts: &[BandCount],
    standard: &Standard,
    per: f64,
    level: f64,
    threshold: u64,
    release: bool,
) -> Result<StandardisedResult, AnalysisError> {
    let s = stats::direct_standardised(counts, standard, per, level)?;
    let mut notes = Vec::new();
    let mut bands = Vec::new();
    for c in counts {
        let i = stats::poisson_exact(c.events, c.population, per, level)?;
        bands.push(Cell {
            labels: vec![c.band.to_string()],
            period: None,
            x: Some(c.events),
            n: Some(c.population),
            estimate: Some(i.estimate),
            ci_low: Some(i.low),
            ci_high: Some(i.high),
            method: "age-specific rate, exact Poisson interval".into(),
            suppressed: primary(
                SmallCell {
                    events: c.events,
                    denominator: None,
                },
                threshold,
            ),
        });
    }
    // The adjusted rate and the released bands together give a hidden
    // band away: when one is hidden, every band is.
    if bands.iter().any(|b| b.suppressed) {
        for b in &mut bands {
            b.suppressed = true;
            if release {
                b.hide();
            }
        }
        notes.push("age-specific counts are suppressed: a band holds 1 to the threshold, and with the adjusted rate the others would reveal it".into());
    }
    let total_small = primary(
        SmallCell {
            events: s.events,
            denominator: None,
        },
        threshold,
    );
    let crude = stats::poisson_exact(s.events, s.population, per, level)?;
    let mut adjusted = Cell {
        labels: vec!["age-adjusted".into()],
        period: None,
        x: Some(s.events),
        n: Some(s.population),
        estimate: Some(s.rate.estimate),
        ci_low: Some(s.rate.low),
        ci_high: Some(s.rate.high),
        method: s.method,
        suppressed: total_small,
    };
    let mut crude = Cell {
        labels: vec!["crude".into()],
        period: None,
        x: Some(s.events),
        n: Some(s.population),
        estimate: Some(crude.estimate),
        ci_low: Some(crude.low),
        ci_high: Some(crude.high),
        method: "crude rate, exact Poisson interval".into(),
        suppressed: total_small,
    };
    if total_small && release {
        adjusted.hide();
        crude.hide();
    }
    Ok(StandardisedResult {
        standard: standard.name.clone(),
        standard_provenance: standard.provenance.clone(),
        bands,
        adjusted,
        crude,
        notes,
    })
}

/// Band counts from a counts CSV with `age_lo`, `age_hi`, `events` and
/// `population` columns.
pub(crate) fn bands_from_table(table: &CountTable) -> Result<Vec<BandCount>, AnalysisError> {
    let lo_at = table.column("age_lo");
    let hi_at = table.column("age_hi");
    let (Some(lo_at), Some(hi_at)) = (lo_at, hi_at) else {
        return Err(AnalysisError::Input(
            "standardisation counts need `age_lo`, `age_hi` (empty for an open band), `events` and `population` columns".into(),
        ));
    };
    table
        .rows
        .iter()
        .map(|r| {
            let lo = r.labels[lo_at].parse().map_err(|_| {
                AnalysisError::Input(format!(
                    "age_lo '{}' is not a whole number",
                    r.labels[lo_at]
                ))
            })?;
            let hi = if r.labels[hi_at].is_empty() {
                None
            } else {
                Some(r.labels[hi_at].parse().map_err(|_| {
                    AnalysisError::Input(format!(
                        "age_hi '{}' is not a whole number",
                        r.labels[hi_at]
                    ))
                })?)
            };
            Ok(BandCount {
                band: AgeBand { lo, hi },
                events: r.events,
                population: r.denominator.ok_or_else(|| {
                    AnalysisError::Input("standardisation counts need a `population` column".into())
                })?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::CountRow;
    use super::*;

    fn table(columns: &[&str], rows: &[(&[&str], u64, Option<f64>)]) -> CountTable {
        CountTable {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|(l, x, n)| CountRow {
                    labels: l.iter().map(|s| s.to_string()).collect(),
                    events: *x,
                    denominator: *n,
                })
                .collect(),
        }
    }

    #[test]
    fn periods_parse_and_gaps_are_filled() {
        assert_eq!(period_time("2015", TimeUnit::Year), Some(2015.0));
        assert_eq!(period_time("2015-Q3", TimeUnit::Quarter), Some(2015.5));
        assert_eq!(period_time("2015-04", TimeUnit::Month), Some(2015.25));
        assert_eq!(period_time("2015-Q5", TimeUnit::Quarter), None);
        assert_eq!(period_time("2015-13", TimeUnit::Month), None);
        assert_eq!(
            periods_between("2019-Q3", "2020-Q2", TimeUnit::Quarter),
            ["2019-Q3", "2019-Q4", "2020-Q1", "2020-Q2"]
        );
        assert_eq!(
            periods_between("2019-11", "2020-02", TimeUnit::Month),
            ["2019-11", "2019-12", "2020-01", "2020-02"]
        );
    }

    #[test]
    fn a_trend_fills_missing_periods_with_zero_and_gives_rates_per_population() {
        let counts = table(
            &["period", "modality"],
            &[
                (&["2018", "CT"], 120, None),
                (&["2020", "CT"], 150, None),
                (&["2018", "MR"], 40, None),
                (&["2019", "MR"], 44, None),
                (&["2020", "MR"], 52, None),
            ],
        );
        let population = table(
            &["period"],
            &[
                (&["2018"], 0, Some(10_000.0)),
                (&["2019"], 0, Some(10_500.0)),
                (&["2020"], 0, Some(11_000.0)),
            ],
        );
        let t = trend(
            &counts,
            Some(&population),
            1000.0,
            TimeUnit::Year,
            0.95,
            10,
            false,
        )
        .unwrap();
        let ct = &t.lines[0];
        assert_eq!(ct.label, "CT");
        let xs: Vec<u64> = ct.cells.iter().map(|c| c.x.unwrap()).collect();
        assert_eq!(xs, [120, 0, 150], "2019 has no CT study: 0, visible");
        let r = stats::poisson_exact(120, 10_000.0, 1000.0, 0.95).unwrap();
        assert_eq!(ct.cells[0].estimate, Some(r.estimate));
        assert_eq!(ct.cells[0].ci_low, Some(r.low));
        assert!(ct.apc.is_none(), "a zero period cannot be logged");
        assert!(ct.apc_poisson.is_some());
        let mr = &t.lines[1];
        assert!(mr.apc.is_some() && mr.apc_poisson.is_some());
        assert_eq!(t.per, Some(1000.0));
    }

    #[test]
    fn a_released_trend_hides_small_counts_and_the_apc_that_would_reveal_them() {
        let counts = table(
            &["period"],
            &[
                (&["2018"], 40, None),
                (&["2019"], 7, None),
                (&["2020"], 52, None),
            ],
        );
        let t = trend(&counts, None, 1000.0, TimeUnit::Year, 0.95, 10, true).unwrap();
        let cells = &t.lines[0].cells;
        assert!(cells[1].suppressed);
        assert_eq!(
            (
                cells[1].x,
                cells[1].estimate,
                cells[1].ci_low,
                cells[1].ci_high
            ),
            (None, None, None, None)
        );
        assert_eq!(cells[0].x, Some(40));
        assert!(t.lines[0].apc.is_none() && t.lines[0].apc_poisson.is_none());
        // Not released: the numbers are there, flagged.
        let t = trend(&counts, None, 1000.0, TimeUnit::Year, 0.95, 10, false).unwrap();
        assert_eq!(t.lines[0].cells[1].x, Some(7));
        assert!(t.lines[0].cells[1].suppressed);
    }

    #[test]
    fn prevalence_by_stratum_matches_the_statistics() {
        let t = table(
            &["sex"],
            &[(&["F"], 30, Some(100.0)), (&["M"], 12, Some(100.0))],
        );
        let p = prevalence(&t, IntervalMethod::Wilson, Some("M"), None, 0.95, 10, false).unwrap();
        let w = stats::wilson(30, 100, 0.95).unwrap();
        assert_eq!(p.cells[0].ci_low, Some(w.low));
        assert_eq!(p.total.x, Some(42));
        let h = stats::chi_square_homogeneity(&[(30, 100), (12, 100)]).unwrap();
        assert_eq!(p.homogeneity.unwrap().statistic, h.statistic);
        assert_eq!(p.reference, Some(vec!["M".to_string()]));
        assert_eq!(p.ratios.len(), 1);
        assert!((p.ratios[0].estimate.unwrap() - 2.5).abs() < 1e-12);
        assert!(prevalence(&t, IntervalMethod::Wilson, Some("X"), None, 0.95, 10, false).is_err());
    }

    #[test]
    fn a_released_prevalence_never_lets_a_hidden_cell_be_derived() {
        // One small stratum: a second one is hidden with it, and every
        // statistic that would reveal them is withheld.
        let t = table(
            &["age_group"],
            &[
                (&["18-39"], 4, Some(60.0)),
                (&["40-64"], 25, Some(90.0)),
                (&["65-79"], 33, Some(80.0)),
            ],
        );
        let order: Vec<String> = ["18-39", "40-64", "65-79"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = prevalence(
            &t,
            IntervalMethod::Wilson,
            None,
            Some(&order),
            0.95,
            10,
            true,
        )
        .unwrap();
        let hidden: Vec<&Cell> = p.cells.iter().filter(|c| c.suppressed).collect();
        assert_eq!(hidden.len(), 2, "{:?}", p.cells);
        assert!(hidden
            .iter()
            .all(|c| c.x.is_none() && c.n.is_none() && c.estimate.is_none()));
        // The attacker's sums: total minus released leaves two unknowns.
        let released_x: u64 = p.cells.iter().filter_map(|c| c.x).sum();
        let rest = p.total.x.unwrap() - released_x;
        assert!(rest > 2, "two hidden cells of 1 each would be given away");
        assert!(p.homogeneity.is_none() && p.trend.is_none());
        assert!(p.ratios.iter().all(|r| r.estimate.is_none() || {
            let l = &r.labels;
            !hidden.iter().any(|h| &h.labels == l)
        }));
        // Unreleased, with an ordered stratum: the trend test is there.
        let p = prevalence(
            &t,
            IntervalMethod::Wilson,
            None,
            Some(&order),
            0.95,
            10,
            false,
        )
        .unwrap();
        assert!(p.trend.is_some() && p.homogeneity.is_some());
    }

    #[test]
    fn standardised_bands_are_all_hidden_when_one_is_small() {
        let standard =
            Standard::parse("t", "age_lo,age_hi,weight\n0,39,0.4\n40,64,0.4\n65,,0.2\n").unwrap();
        let bands: Vec<BandCount> = standard
            .bands
            .iter()
            .zip([(3, 5000.0), (40, 4000.0), (80, 2000.0)])
            .map(|((b, _), (x, n))| BandCount {
                band: *b,
                events: x,
                population: n,
            })
            .collect();
        let s = standardised(&bands, &standard, 100_000.0, 0.95, 10, true).unwrap();
        assert!(s.bands.iter().all(|b| b.suppressed && b.x.is_none()));
        assert!(
            s.adjusted.estimate.is_some(),
            "the total (123) is not small"
        );
        assert_eq!(s.adjusted.x, Some(123));
    }
}
