//! Small-cell suppression for counts that leave the workstation (or are
//! shown in aggregate-only mode): 1..=threshold is hidden, and in the
//! attrition funnel a cell that would let a hidden one be derived
//! (remaining = previous - removed; removed_alone = population - alone) is
//! hidden too. Pure functions.

use crate::model::{CohortComparison, CohortCounts};
use serde::Serialize;

/// Counts 1..=this are suppressed when released, unless the workspace
/// sets another threshold (`pacs-cohort privacy`).
pub const DEFAULT_THRESHOLD: u64 = 10;

/// A count as released: `None` when hidden.
pub type Cell = Option<u64>;

/// One funnel step as released.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleasedStep {
    pub rule: String,
    pub exclude: bool,
    pub remaining: Cell,
    pub removed: Cell,
    pub removed_alone: Cell,
}

/// Cohort counts as released.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleasedCounts {
    pub threshold: u64,
    pub population: Cell,
    pub patients: Cell,
    pub studies: Cell,
    pub series: Cell,
    pub instances: Cell,
    pub attrition: Vec<ReleasedStep>,
}

/// Applies primary and complementary suppression.
pub fn suppress(c: &CohortCounts, threshold: u64) -> ReleasedCounts {
    let small = |n: u64| n >= 1 && n <= threshold;
    let show = |n: u64, hide: bool| (!hide).then_some(n);
    let mut steps = Vec::new();
    let mut previous_hidden = small(c.population);
    for s in &c.attrition {
        // remaining = previous - removed: none of the three may be the only hidden one.
        let hide_removed = small(s.removed) || small(s.remaining) || previous_hidden;
        let hide_remaining = small(s.remaining) || hide_removed;
        let alone = c.population.saturating_sub(s.removed_alone);
        steps.push(ReleasedStep {
            rule: s.rule.clone(),
            exclude: s.exclude,
            remaining: show(s.remaining, hide_remaining),
            removed: show(s.removed, hide_removed),
            removed_alone: show(
                s.removed_alone,
                small(s.removed_alone) || small(alone) || small(c.population),
            ),
        });
        previous_hidden = hide_remaining;
    }
    let l = c.levels;
    ReleasedCounts {
        threshold,
        population: show(c.population, small(c.population)),
        patients: show(l.patients, small(l.patients)),
        studies: show(l.studies, small(l.studies)),
        series: show(l.series, small(l.series)),
        instances: show(l.instances, small(l.instances)),
        attrition: steps,
    }
}

/// A count as a person sees it, the one value every output uses (CLI JSON,
/// text and CSV, the app's tables): exact, marked when 1..=threshold (not
/// for release), or hidden by suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Exact { count: u64, below_threshold: bool },
    Hidden { threshold: u64 },
}

impl Shown {
    /// An exact count for the local user.
    pub fn exact(count: u64, threshold: u64) -> Shown {
        Shown::Exact {
            count,
            below_threshold: (1..=threshold).contains(&count),
        }
    }

    /// A released cell (`None`: hidden).
    pub fn released(cell: Cell, threshold: u64) -> Shown {
        match cell {
            Some(count) => Shown::Exact {
                count,
                below_threshold: false,
            },
            None => Shown::Hidden { threshold },
        }
    }

    /// The number, unless hidden.
    pub fn count(&self) -> Option<u64> {
        match self {
            Shown::Exact { count, .. } => Some(*count),
            Shown::Hidden { .. } => None,
        }
    }

    /// On screen and in the terminal: `12`, `7*` (below the threshold),
    /// `<11` (hidden).
    pub fn marked(&self) -> String {
        match self {
            Shown::Exact {
                count,
                below_threshold: true,
            } => format!("{count}*"),
            Shown::Exact { count, .. } => count.to_string(),
            Shown::Hidden { threshold } => hidden_label(*threshold),
        }
    }

    /// In files (CSV): the number, or `<11`; the file's header says
    /// whether it is fit for release.
    pub fn plain(&self) -> String {
        match self {
            Shown::Exact { count, .. } => count.to_string(),
            Shown::Hidden { threshold } => hidden_label(*threshold),
        }
    }

    /// In JSON: `{"count": 12}`, `{"count": 7, "below_release_threshold":
    /// true}`, `{"count": "<11"}`.
    pub fn json(&self) -> serde_json::Value {
        match self {
            Shown::Exact {
                count,
                below_threshold: true,
            } => serde_json::json!({"count": count, "below_release_threshold": true}),
            Shown::Exact { count, .. } => serde_json::json!({"count": count}),
            Shown::Hidden { threshold } => serde_json::json!({"count": hidden_label(*threshold)}),
        }
    }
}

/// One funnel step as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownStep {
    pub rule: String,
    pub exclude: bool,
    pub remaining: Shown,
    pub removed: Shown,
    pub removed_alone: Shown,
}

/// Cohort counts as shown: exact for the local user, or suppressed for
/// release (`released` holds the threshold then).
#[derive(Debug, Clone, PartialEq)]
pub struct ShownCounts {
    pub unit: crate::model::CohortUnit,
    pub released: Option<u64>,
    pub population: Shown,
    /// Patients, studies, series, instances.
    pub levels: [Shown; 4],
    pub attrition: Vec<ShownStep>,
}

/// The counts as the local user sees them (`release` false) or as they
/// may leave the workstation (`release` true: primary and complementary
/// suppression).
pub fn shown(c: &CohortCounts, threshold: u64, release: bool) -> ShownCounts {
    // Suppressed for release; otherwise every cell, exact and marked.
    let r = if release {
        suppress(c, threshold)
    } else {
        unsuppressed(c, threshold)
    };
    let s = |cell: Cell| match cell {
        Some(n) if !release => Shown::exact(n, threshold),
        cell => Shown::released(cell, threshold),
    };
    ShownCounts {
        unit: c.unit,
        released: release.then_some(threshold),
        population: s(r.population),
        levels: [r.patients, r.studies, r.series, r.instances].map(s),
        attrition: r
            .attrition
            .iter()
            .map(|st| ShownStep {
                rule: st.rule.clone(),
                exclude: st.exclude,
                remaining: s(st.remaining),
                removed: s(st.removed),
                removed_alone: s(st.removed_alone),
            })
            .collect(),
    }
}

/// Every cell as it is (for the local user's exact view).
fn unsuppressed(c: &CohortCounts, threshold: u64) -> ReleasedCounts {
    let l = c.levels;
    ReleasedCounts {
        threshold,
        population: Some(c.population),
        patients: Some(l.patients),
        studies: Some(l.studies),
        series: Some(l.series),
        instances: Some(l.instances),
        attrition: c
            .attrition
            .iter()
            .map(|s| ReleasedStep {
                rule: s.rule.clone(),
                exclude: s.exclude,
                remaining: Some(s.remaining),
                removed: Some(s.removed),
                removed_alone: Some(s.removed_alone),
            })
            .collect(),
    }
}

impl ShownCounts {
    /// The JSON of `cohort count --json` (documented in the README).
    pub fn json(&self) -> serde_json::Value {
        let [patients, studies, series, instances] = self.levels.map(|s| s.json());
        let mut v = serde_json::json!({
            "unit": self.unit,
            "population": self.population.json(),
            "levels": {"patients": patients, "studies": studies, "series": series, "instances": instances},
            "attrition": self.attrition.iter().map(|s| serde_json::json!({
                "rule": s.rule, "exclude": s.exclude, "remaining": s.remaining.json(),
                "removed": s.removed.json(), "removed_alone": s.removed_alone.json(),
            })).collect::<Vec<_>>(),
        });
        if let Some(threshold) = self.released {
            v["suppression"] =
                serde_json::json!({"threshold": threshold, "shown_as": hidden_label(threshold)});
        }
        v
    }
}

/// A comparison of two cohorts as released.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleasedComparison {
    pub threshold: u64,
    pub both_patients: Cell,
    pub only_a_patients: Cell,
    pub only_b_patients: Cell,
    pub both_studies: Cell,
    pub only_a_studies: Cell,
    pub only_b_studies: Cell,
}

impl ReleasedComparison {
    /// Rows both / only A / only B, columns patients / studies.
    pub fn table(&self) -> [[Cell; 2]; 3] {
        [
            [self.both_patients, self.both_studies],
            [self.only_a_patients, self.only_a_studies],
            [self.only_b_patients, self.only_b_studies],
        ]
    }
}

/// Suppresses a comparison: at each level (patients, studies), when any of
/// both / only A / only B is small, all three are hidden, since each is
/// the size of a cohort (shown elsewhere) minus another.
pub fn suppress_comparison(c: &CohortComparison, threshold: u64) -> ReleasedComparison {
    let small = |n: u64| n >= 1 && n <= threshold;
    let level = |cells: [u64; 3]| {
        let hide = cells.iter().any(|n| small(*n));
        cells.map(|n| (!hide).then_some(n))
    };
    let [both_patients, only_a_patients, only_b_patients] =
        level([c.both_patients, c.only_a_patients, c.only_b_patients]);
    let [both_studies, only_a_studies, only_b_studies] =
        level([c.both_studies, c.only_a_studies, c.only_b_studies]);
    ReleasedComparison {
        threshold,
        both_patients,
        only_a_patients,
        only_b_patients,
        both_studies,
        only_a_studies,
        only_b_studies,
    }
}

/// How a hidden cell is written: `<threshold+1`.
pub fn hidden_label(threshold: u64) -> String {
    format!("<{}", threshold + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AttritionStep, CohortUnit, LevelCounts};

    #[test]
    fn no_hidden_cell_can_be_derived_from_its_neighbours() {
        let c = CohortCounts {
            unit: CohortUnit::Study,
            population: 100,
            levels: LevelCounts {
                patients: 5,
                studies: 6,
                series: 40,
                instances: 400,
            },
            attrition: vec![
                AttritionStep {
                    rule: "a".into(),
                    exclude: false,
                    remaining: 30,
                    removed: 70,
                    removed_alone: 70,
                },
                AttritionStep {
                    rule: "b".into(),
                    exclude: false,
                    remaining: 25,
                    removed: 5,
                    removed_alone: 95,
                },
                AttritionStep {
                    rule: "c".into(),
                    exclude: false,
                    remaining: 6,
                    removed: 19,
                    removed_alone: 40,
                },
            ],
        };
        let r = suppress(&c, 10);
        assert_eq!(r.patients, None);
        assert_eq!(r.series, Some(40));
        assert_eq!(r.attrition[1].removed, None, "5 is small");
        assert_eq!(r.attrition[1].remaining, None, "else 30 - 25 reveals it");
        assert_eq!(
            r.attrition[2].removed, None,
            "else 25 = 6 + 19 is derivable"
        );
        assert_eq!(
            r.attrition[1].removed_alone, None,
            "100 - 95 = 5 would be revealed"
        );
        assert_eq!(hidden_label(10), "<11");
    }

    #[test]
    fn a_small_comparison_cell_hides_its_whole_level() {
        let c = CohortComparison {
            both_patients: 40,
            only_a_patients: 3,
            only_b_patients: 0,
            both_studies: 80,
            only_a_studies: 12,
            only_b_studies: 0,
        };
        let r = suppress_comparison(&c, 10);
        assert_eq!(
            [r.both_patients, r.only_a_patients, r.only_b_patients],
            [None, None, None],
            "3 is small; 40 would reveal it from |A| = 43"
        );
        assert_eq!(
            [r.both_studies, r.only_a_studies, r.only_b_studies],
            [Some(80), Some(12), Some(0)],
            "0 is not small"
        );
    }

    #[test]
    fn a_shown_count_reads_the_same_in_every_output() {
        let small = Shown::exact(7, 10);
        assert_eq!((small.marked(), small.plain()), ("7*".into(), "7".into()));
        assert_eq!(
            small.json(),
            serde_json::json!({"count": 7, "below_release_threshold": true})
        );
        let big = Shown::exact(12, 10);
        assert_eq!(
            (big.marked(), big.json()),
            ("12".into(), serde_json::json!({"count": 12}))
        );
        let hidden = Shown::released(None, 10);
        assert_eq!(
            (hidden.marked(), hidden.plain()),
            ("<11".into(), "<11".into())
        );
        assert_eq!(hidden.json(), serde_json::json!({"count": "<11"}));
        assert_eq!(hidden.count(), None);
        assert_eq!(
            Shown::exact(0, 10).marked(),
            "0",
            "zero is not a small cell"
        );
    }
}
