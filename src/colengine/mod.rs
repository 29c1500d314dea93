//! The in-memory column engine (issue 17): answers live counts and
//! attrition tables from columns held in memory, with exactly the meaning
//! of the SQL path (`cohort::compile`, the reference; a differential test
//! in src/colengine/tests.rs holds them equal).
//!
//! Per level (patients, studies, series, instances) a column per attribute
//! and a parent link; strings dictionary-encoded (a text criterion is
//! evaluated once per distinct value); each criterion becomes a bitmap at
//! its own level (true and unknown rows: SQL's NULL logic decides counts),
//! lifted up ("has a matching series") or down (a series inherits its
//! study's value) through the parent links; all/any/not are bitmap
//! operations; first/last and follow-up windows walk each patient's
//! studies in date order. Built from SQLite by `store::columns`; it owns no
//! connection to the workspace and never writes.

mod eval;
#[cfg(test)]
mod tests;
mod tri;

use crate::cohort::has_index_event;
use crate::model::{CohortSpec, CohortUnit, Criterion, LevelCounts};
use crate::store::columns::{self, Snapshot, TextMatcher, NONE};
use crate::store::StoreError;
use fixedbitset::FixedBitSet;
use std::path::Path;
use std::time::{Duration, Instant};
pub(crate) use tri::Tri;

/// The engine: a snapshot of the index plus what evaluation needs.
#[derive(Debug)]
pub struct ColumnEngine {
    s: Snapshot,
    text: TextMatcher,
    n_patients: usize,
    n_studies: usize,
    n_series: usize,
    study_series_count: Vec<u32>,
    study_instance_count: Vec<u32>,
    series_instance_count: Vec<u32>,
    /// Study date codes -> rank in text order (`NONE` stays `NONE`).
    date_rank: Vec<u32>,
    /// The distinct study dates in text order.
    sorted_dates: Vec<String>,
    /// Each patient's studies: dated ones by (date, row id), then undated
    /// ones by row id (`pat_off[p]..pat_off[p + 1]`; `pat_dated[p]` dated).
    pat_off: Vec<u32>,
    pat_studies: Vec<u32>,
    pat_dated: Vec<u32>,
    /// Studies of each accession code (`acc_off[a]..acc_off[a + 1]`).
    acc_off: Vec<u32>,
    acc_studies: Vec<u32>,
    contrast_series: FixedBitSet,
    contrast_study: FixedBitSet,
    built_in: Duration,
}

/// What the engine answers for a definition: the funnel and the levels.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelCounts {
    pub population: u64,
    /// Entries left after each rule and all before it.
    pub remaining: Vec<u64>,
    /// Entries each rule passes on its own.
    pub alone: Vec<u64>,
    pub levels: LevelCounts,
}

impl ColumnEngine {
    /// Reads the workspace and builds the engine (run it off the UI thread).
    pub fn build(db: &Path) -> Result<ColumnEngine, StoreError> {
        let start = Instant::now();
        let conn = crate::store::open_ro(db)?;
        let s = columns::load(&conn, db)?;
        drop(conn);
        let text = TextMatcher::new(&s.texts.values, db)?;
        let mut e = ColumnEngine::derive(s, text);
        e.built_in = start.elapsed();
        Ok(e)
    }

    fn derive(s: Snapshot, text: TextMatcher) -> ColumnEngine {
        let n_patients = s.patient_sex.len();
        let n_studies = s.study_patient.len();
        let n_series = s.series_study.len();
        let mut series_instance_count = vec![0u32; n_series];
        for &se in &s.instance_series {
            series_instance_count[se as usize] += 1;
        }
        let mut study_series_count = vec![0u32; n_studies];
        let mut study_instance_count = vec![0u32; n_studies];
        for (se, &st) in s.series_study.iter().enumerate() {
            study_series_count[st as usize] += 1;
            study_instance_count[st as usize] += series_instance_count[se];
        }
        // Dates ranked in text order: a range is then a range of ranks.
        let mut order: Vec<u32> = (0..s.dates.values.len() as u32).collect();
        order.sort_by(|a, b| s.dates.values[*a as usize].cmp(&s.dates.values[*b as usize]));
        let mut rank_of = vec![0u32; order.len()];
        for (r, &c) in order.iter().enumerate() {
            rank_of[c as usize] = r as u32;
        }
        let sorted_dates: Vec<String> = order
            .iter()
            .map(|&c| s.dates.values[c as usize].clone())
            .collect();
        let date_rank: Vec<u32> = s
            .study_date
            .iter()
            .map(|&c| if c == NONE { NONE } else { rank_of[c as usize] })
            .collect();
        // Each patient's studies in the order first/last compare them.
        let mut by_patient: Vec<u32> = (0..n_studies as u32).collect();
        by_patient.sort_by_key(|&st| {
            let st = st as usize;
            (
                s.study_patient[st],
                date_rank[st] == NONE,
                date_rank[st],
                s.study_rowid[st],
            )
        });
        let mut pat_off = vec![0u32; n_patients + 1];
        let mut pat_dated = vec![0u32; n_patients];
        for &st in &by_patient {
            let p = s.study_patient[st as usize] as usize;
            pat_off[p + 1] += 1;
            if date_rank[st as usize] != NONE {
                pat_dated[p] += 1;
            }
        }
        for p in 0..n_patients {
            pat_off[p + 1] += pat_off[p];
        }
        let n_acc = s.accessions.values.len();
        let mut acc_off = vec![0u32; n_acc + 1];
        for &a in &s.study_accession {
            if a != NONE {
                acc_off[a as usize + 1] += 1;
            }
        }
        for a in 0..n_acc {
            acc_off[a + 1] += acc_off[a];
        }
        let mut fill = acc_off.clone();
        let mut acc_studies = vec![0u32; acc_off[n_acc] as usize];
        for (st, &a) in s.study_accession.iter().enumerate() {
            if a != NONE {
                acc_studies[fill[a as usize] as usize] = st as u32;
                fill[a as usize] += 1;
            }
        }
        let mut contrast_series = FixedBitSet::with_capacity(n_series);
        for &i in &s.contrast_instances {
            contrast_series.insert(s.instance_series[i as usize] as usize);
        }
        let contrast_study = up(&contrast_series, &s.series_study, n_studies);
        ColumnEngine {
            n_patients,
            n_studies,
            n_series,
            study_series_count,
            study_instance_count,
            series_instance_count,
            date_rank,
            sorted_dates,
            pat_off,
            pat_studies: by_patient,
            pat_dated,
            acc_off,
            acc_studies,
            contrast_series,
            contrast_study,
            built_in: Duration::ZERO,
            text,
            s,
        }
    }

    /// How long the build took.
    pub fn built_in(&self) -> Duration {
        self.built_in
    }

    /// Rows per level held.
    pub fn size(&self) -> LevelCounts {
        LevelCounts {
            patients: self.n_patients as u64,
            studies: self.n_studies as u64,
            series: self.n_series as u64,
            instances: self.s.instance_series.len() as u64,
        }
    }

    /// Approximate bytes held by the columns (for the benchmark).
    pub fn approx_bytes(&self) -> usize {
        let s = &self.s;
        let u32s = s.patient_sex.len()
            + s.study_patient.len() * 5
            + s.series_study.len() * (3 + columns::SERIES_ATTRS)
            + s.instance_series.len() * 2
            + s.contrast_instances.len()
            + self.study_series_count.len() * 2
            + self.series_instance_count.len()
            + self.date_rank.len()
            + self.pat_studies.len() * 2
            + self.acc_studies.len() * 2;
        let f64s = s.study_jd.len() + s.study_age.len() + s.instance_thickness_mm.len();
        let i64s = s.study_rowid.len();
        let dict_bytes: usize = std::iter::once(&s.texts)
            .chain(s.attr_dicts.iter())
            .chain([&s.sex, &s.dates, &s.accessions, &s.sop_classes])
            .flat_map(|d| d.values.iter())
            .map(|v| v.len() + 24)
            .sum();
        let ehr: usize = s
            .ehr
            .values()
            .flatten()
            .map(|r| 48 + r.studies.len() * 4 + r.text.as_ref().map_or(0, |t| t.len()))
            .sum();
        u32s * 4 + f64s * 8 + i64s * 8 + dict_bytes + ehr
    }

    /// Population, funnel and level counts of a (validated) definition,
    /// with the meaning of `Engine::cohort_count` on SQLite.
    pub fn count(&self, spec: &CohortSpec) -> Result<FunnelCounts, String> {
        Ok(self.evaluate(spec)?.0)
    }

    /// The studies making up a definition's content and their patients
    /// (row ids), as `store::cohorts::content_keys` selects them: the
    /// members a comparison of two cohorts intersects.
    pub fn content(&self, spec: &CohortSpec) -> Result<(Vec<i64>, Vec<u32>), String> {
        let studies = self.evaluate(spec)?.1;
        let patients = up(&studies, &self.s.study_patient, self.n_patients);
        Ok((
            studies.ones().map(|st| self.s.study_rowid[st]).collect(),
            patients.ones().map(|p| p as u32).collect(),
        ))
    }

    /// The counts and the content's studies.
    fn evaluate(&self, spec: &CohortSpec) -> Result<(FunnelCounts, FixedBitSet), String> {
        match spec.unit {
            CohortUnit::Study => self.entry_funnel(spec, eval::At::Study),
            CohortUnit::Series => self.entry_funnel(spec, eval::At::Series),
            CohortUnit::Patient if has_index_event(spec) => self.index_event_funnel(spec),
            CohortUnit::Patient => self.patient_funnel(spec),
        }
    }

    /// Each rule's pass set at the entry level (an exclusion passes what
    /// its criterion does not make true: unknown is not removed).
    fn passes(&self, spec: &CohortSpec, at: eval::At) -> Result<Vec<FixedBitSet>, String> {
        spec.rules
            .iter()
            .map(|r| {
                let e = self.eval(&r.criterion, at)?;
                Ok(if r.exclude {
                    let mut t = e.t;
                    t.toggle_range(..);
                    t
                } else {
                    e.t
                })
            })
            .collect()
    }

    /// Sequential funnel over pass sets of entries; `key` maps an entry
    /// set to what is counted (identity, or the patients of studies).
    fn funnel(
        &self,
        n: usize,
        passes: &[FixedBitSet],
        key: &dyn Fn(&FixedBitSet) -> u64,
    ) -> (FixedBitSet, Vec<u64>, Vec<u64>) {
        let mut cum = FixedBitSet::with_capacity(n);
        cum.insert_range(..);
        let mut remaining = Vec::with_capacity(passes.len());
        let mut alone = Vec::with_capacity(passes.len());
        for p in passes {
            cum.intersect_with(p);
            remaining.push(key(&cum));
            alone.push(key(p));
        }
        (cum, remaining, alone)
    }

    fn entry_funnel(
        &self,
        spec: &CohortSpec,
        at: eval::At,
    ) -> Result<(FunnelCounts, FixedBitSet), String> {
        let passes = self.passes(spec, at)?;
        let n = match at {
            eval::At::Study => self.n_studies,
            eval::At::Series => self.n_series,
        };
        let (content, remaining, alone) = self.funnel(n, &passes, &|b| b.count_ones(..) as u64);
        let (levels, studies) = match at {
            eval::At::Study => (self.study_levels(&content, None), content),
            eval::At::Series => (
                self.series_levels(&content),
                up(&content, &self.s.series_study, self.n_studies),
            ),
        };
        let counts = FunnelCounts {
            population: n as u64,
            remaining,
            alone,
            levels,
        };
        Ok((counts, studies))
    }

    /// A patient cohort with an index event: every rule on the same study;
    /// a patient passes a step when one of their studies does.
    fn index_event_funnel(&self, spec: &CohortSpec) -> Result<(FunnelCounts, FixedBitSet), String> {
        let passes = self.passes(spec, eval::At::Study)?;
        let patients_of =
            |b: &FixedBitSet| up(b, &self.s.study_patient, self.n_patients).count_ones(..) as u64;
        let (content, remaining, alone) = self.funnel(self.n_studies, &passes, &patients_of);
        let counts = FunnelCounts {
            population: self.n_patients as u64,
            remaining,
            alone,
            levels: self.study_levels(&content, None),
        };
        Ok((counts, content))
    }

    /// A patient cohort without an index event: an inclusion rule needs
    /// one matching study, an exclusion rule none.
    fn patient_funnel(&self, spec: &CohortSpec) -> Result<(FunnelCounts, FixedBitSet), String> {
        let mut passes = Vec::with_capacity(spec.rules.len());
        let mut include = FixedBitSet::with_capacity(self.n_studies);
        include.insert_range(..);
        for r in &spec.rules {
            let e = self.eval(&r.criterion, eval::At::Study)?;
            let mut has = up(&e.t, &self.s.study_patient, self.n_patients);
            if r.exclude {
                has.toggle_range(..);
            } else {
                include.intersect_with(&e.t);
            }
            passes.push(has);
        }
        let (entries, remaining, alone) =
            self.funnel(self.n_patients, &passes, &|b| b.count_ones(..) as u64);
        // Content: the entries' studies that meet every inclusion rule.
        let in_entries = down(&entries, &self.s.study_patient);
        include.intersect_with(&in_entries);
        let counts = FunnelCounts {
            population: self.n_patients as u64,
            remaining,
            alone,
            levels: self.study_levels(&include, Some(entries.count_ones(..) as u64)),
        };
        Ok((counts, include))
    }

    fn study_levels(&self, studies: &FixedBitSet, patients: Option<u64>) -> LevelCounts {
        let mut series = 0u64;
        let mut instances = 0u64;
        for st in studies.ones() {
            series += u64::from(self.study_series_count[st]);
            instances += u64::from(self.study_instance_count[st]);
        }
        LevelCounts {
            patients: patients.unwrap_or_else(|| {
                up(studies, &self.s.study_patient, self.n_patients).count_ones(..) as u64
            }),
            studies: studies.count_ones(..) as u64,
            series,
            instances,
        }
    }

    fn series_levels(&self, series: &FixedBitSet) -> LevelCounts {
        let studies = up(series, &self.s.series_study, self.n_studies);
        let instances = series
            .ones()
            .map(|se| u64::from(self.series_instance_count[se]))
            .sum();
        LevelCounts {
            patients: up(&studies, &self.s.study_patient, self.n_patients).count_ones(..) as u64,
            studies: studies.count_ones(..) as u64,
            series: series.count_ones(..) as u64,
            instances,
        }
    }

    /// The values the index holds, for drawing random definitions (tests
    /// and benchmarks).
    pub fn vocabulary(&self) -> crate::cohort::random::Vocabulary {
        let s = &self.s;
        let mut ehr: Vec<crate::cohort::random::EhrColumnValues> = s
            .ehr
            .iter()
            .map(|((d, c), rows)| crate::cohort::random::EhrColumnValues {
                dataset: d.clone(),
                column: c.clone(),
                texts: distinct(rows.iter().filter_map(|r| r.text.clone())),
                numbers: {
                    let mut v: Vec<f64> = rows.iter().filter_map(|r| r.num).collect();
                    v.sort_by(f64::total_cmp);
                    v.dedup();
                    v
                },
            })
            .collect();
        ehr.sort_by(|a, b| (&a.dataset, &a.column).cmp(&(&b.dataset, &b.column)));
        let words = distinct(
            s.texts
                .values
                .iter()
                .flat_map(|t| t.split_whitespace().map(str::to_string)),
        );
        crate::cohort::random::Vocabulary {
            lists: [
                distinct(s.attr_dicts[0].values.iter().cloned()),
                distinct(s.attr_dicts[1].values.iter().cloned()),
                distinct(s.sex.values.iter().cloned()),
                distinct(s.attr_dicts[2].values.iter().cloned()),
                distinct(s.attr_dicts[3].values.iter().cloned()),
                distinct(s.attr_dicts[4].values.iter().cloned()),
                distinct(s.attr_dicts[5].values.iter().cloned()),
                distinct(s.sop_classes.values.iter().cloned()),
            ],
            words,
            ehr,
            findings: distinct(s.findings_positive.keys().cloned()),
            features: distinct(s.features.keys().cloned()),
        }
    }

    fn all(&self, at: eval::At) -> usize {
        match at {
            eval::At::Study => self.n_studies,
            eval::At::Series => self.n_series,
        }
    }

    /// The criterion's value at the level `at`.
    fn eval(&self, c: &Criterion, at: eval::At) -> Result<Tri, String> {
        eval::eval(self, c, at)
    }
}

fn distinct(it: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = it.collect();
    v.sort();
    v.dedup();
    v
}

/// "Has at least one true child": children's true set lifted to parents.
pub(crate) fn up(child: &FixedBitSet, parent: &[u32], n_parents: usize) -> FixedBitSet {
    let mut out = FixedBitSet::with_capacity(n_parents);
    for c in child.ones() {
        out.insert(parent[c] as usize);
    }
    out
}

/// Each child takes its parent's membership.
pub(crate) fn down(parents: &FixedBitSet, parent: &[u32]) -> FixedBitSet {
    let mut out = FixedBitSet::with_capacity(parent.len());
    for (c, &p) in parent.iter().enumerate() {
        if parents.contains(p as usize) {
            out.insert(c);
        }
    }
    out
}
