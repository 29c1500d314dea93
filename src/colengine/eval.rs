//! One criterion -> a three-valued bitmap at the study or series level,
//! following `cohort::compile` clause by clause: what SQL makes NULL is
//! unknown here, what it wraps in `EXISTS` is known (true or false).

use super::{down, up, ColumnEngine, Tri};
use crate::model::{Criterion, DateRange, NumRange};
use crate::store::columns::{Dict, NONE};
use fixedbitset::FixedBitSet;

/// The row a criterion is evaluated on (SQL's scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Study,
    Series,
}

/// Where an attribute lives.
enum Native {
    Patient(Tri),
    Study(Tri),
    /// Series level; lifted to a study by "has a true series".
    Series(Tri),
    /// Instances: only true ones matter (always under `EXISTS`).
    Instance(FixedBitSet),
}

pub(super) fn eval(e: &ColumnEngine, c: &Criterion, at: At) -> Result<Tri, String> {
    Ok(match c {
        Criterion::All(v) => {
            let mut acc = Tri::all(e.all(at));
            for c in v {
                acc = acc.and(&eval(e, c, at)?);
            }
            acc
        }
        Criterion::Any(v) => {
            let mut acc = Tri::none(e.all(at));
            for c in v {
                acc = acc.or(&eval(e, c, at)?);
            }
            acc
        }
        Criterion::Not(c) => eval(e, c, at)?.not(),
        Criterion::Contrast(false) => eval(e, &Criterion::Contrast(true), at)?.not(),
        Criterion::FirstOf(c) => lift(e, Native::Study(extreme(e, c, true)?), at),
        Criterion::LastOf(c) => lift(e, Native::Study(extreme(e, c, false)?), at),
        Criterion::FollowUp(f) => {
            let inner = eval(e, &f.criterion, At::Study)?.t;
            lift(
                e,
                Native::Study(Tri::known(follow_up(e, &inner, f.min_days, f.max_days))),
                at,
            )
        }
        other => {
            let native = leaf(e, other, at)?;
            lift(e, native, at)
        }
    })
}

/// Brings a criterion's value from its own level to `at`.
fn lift(e: &ColumnEngine, n: Native, at: At) -> Tri {
    let s = &e.s;
    match (n, at) {
        (Native::Patient(p), At::Study) => down_tri(&p, &s.study_patient),
        (Native::Patient(p), At::Series) => {
            down_tri(&down_tri(&p, &s.study_patient), &s.series_study)
        }
        (Native::Study(t), At::Study) => t,
        (Native::Study(t), At::Series) => down_tri(&t, &s.series_study),
        (Native::Series(t), At::Series) => t,
        (Native::Series(t), At::Study) => Tri::known(up(&t.t, &s.series_study, e.n_studies)),
        (Native::Instance(i), at) => {
            let series = up(&i, &s.instance_series, e.n_series);
            match at {
                At::Series => Tri::known(series),
                At::Study => Tri::known(up(&series, &s.series_study, e.n_studies)),
            }
        }
    }
}

fn down_tri(t: &Tri, parent: &[u32]) -> Tri {
    Tri {
        t: down(&t.t, parent),
        u: down(&t.u, parent),
    }
}

/// `upper(col) IN (values)`: SQLite's `upper` folds ASCII only; the user's
/// values are trimmed and upper-cased (`compile::any_of`).
fn list_table(dict: &Dict, values: &[String]) -> Vec<bool> {
    let wanted: std::collections::HashSet<String> =
        values.iter().map(|v| v.trim().to_uppercase()).collect();
    dict.values
        .iter()
        .map(|v| wanted.contains(&v.to_ascii_uppercase()))
        .collect()
}

/// Rows whose code is true in `table`; NULL codes unknown.
fn by_code(codes: &[u32], table: &[bool]) -> Tri {
    let mut t = FixedBitSet::with_capacity(codes.len());
    let mut u = FixedBitSet::with_capacity(codes.len());
    for (i, &c) in codes.iter().enumerate() {
        if c == NONE {
            u.insert(i);
        } else if table[c as usize] {
            t.insert(i);
        }
    }
    Tri { t, u }
}

fn in_range(x: f64, r: &NumRange) -> bool {
    r.min.is_none_or(|m| x >= m) && r.max.is_none_or(|m| x <= m)
}

/// A numeric column (NaN = NULL) in a range.
fn by_number(xs: &[f64], r: &NumRange) -> Tri {
    let mut t = FixedBitSet::with_capacity(xs.len());
    let mut u = FixedBitSet::with_capacity(xs.len());
    for (i, &x) in xs.iter().enumerate() {
        if x.is_nan() {
            u.insert(i);
        } else if in_range(x, r) {
            t.insert(i);
        }
    }
    Tri { t, u }
}

fn by_count(xs: &[u32], r: &NumRange) -> Tri {
    let mut t = FixedBitSet::with_capacity(xs.len());
    for (i, &x) in xs.iter().enumerate() {
        if in_range(f64::from(x), r) {
            t.insert(i);
        }
    }
    Tri::known(t)
}

/// Word criterion: the texts matching the FTS5 query, then the rows.
fn words(e: &ColumnEngine, codes: &[u32], query: &str) -> Result<Tri, String> {
    let Some(q) = crate::cohort::fts_query(query) else {
        // No searchable word: the SQL is the constant 0 (false, not NULL).
        return Ok(Tri::none(codes.len()));
    };
    // A missing text is unknown whether or not any text matches (the SQL
    // path's `CASE WHEN col IS NOT NULL ...`).
    let hits = e.text.matching(&q)?;
    let mut table = vec![false; e.s.texts.values.len()];
    for c in hits {
        if let Some(x) = table.get_mut(c as usize) {
            *x = true;
        }
    }
    Ok(by_code(codes, &table))
}

fn leaf(e: &ColumnEngine, c: &Criterion, at: At) -> Result<Native, String> {
    let s = &e.s;
    let attr = |k: usize, v: &[String]| {
        Native::Series(by_code(&s.series_attr[k], &list_table(&s.attr_dicts[k], v)))
    };
    Ok(match c {
        Criterion::Modality(v) => attr(0, v),
        Criterion::BodyPart(v) => attr(1, v),
        Criterion::Institution(v) => attr(2, v),
        Criterion::Station(v) => attr(3, v),
        Criterion::Manufacturer(v) => attr(4, v),
        Criterion::Model(v) => attr(5, v),
        Criterion::SeriesDescription(q) => Native::Series(words(e, &s.series_description, q)?),
        Criterion::ProtocolName(q) => Native::Series(words(e, &s.series_protocol, q)?),
        Criterion::Sex(v) => Native::Patient(by_code(&s.patient_sex, &list_table(&s.sex, v))),
        Criterion::StudyDate(r) => Native::Study(dates(e, r)),
        Criterion::Age(r) => Native::Study(by_number(&s.study_age, r)),
        Criterion::StudyDescription(q) => Native::Study(words(e, &s.study_description, q)?),
        Criterion::SeriesCount(r) => Native::Study(by_count(&e.study_series_count, r)),
        Criterion::InstanceCount(r) => match at {
            At::Study => Native::Study(by_count(&e.study_instance_count, r)),
            At::Series => Native::Series(by_count(&e.series_instance_count, r)),
        },
        Criterion::SopClass(v) => {
            let table = list_table(&s.sop_classes, v);
            let mut t = FixedBitSet::with_capacity(s.instance_sop_class.len());
            for (i, &c) in s.instance_sop_class.iter().enumerate() {
                if c != NONE && table[c as usize] {
                    t.insert(i);
                }
            }
            Native::Instance(t)
        }
        Criterion::SliceThicknessMm(r) => {
            let mut t = FixedBitSet::with_capacity(s.instance_thickness_mm.len());
            for (i, &x) in s.instance_thickness_mm.iter().enumerate() {
                if !x.is_nan() && in_range(x, r) {
                    t.insert(i);
                }
            }
            Native::Instance(t)
        }
        Criterion::Contrast(_) => match at {
            At::Study => Native::Study(Tri::known(e.contrast_study.clone())),
            At::Series => Native::Series(Tri::known(e.contrast_series.clone())),
        },
        Criterion::Ehr(c) => Native::Study(Tri::known(ehr(e, c))),
        Criterion::Finding(f) => Native::Study(Tri::known(finding(e, f))),
        Criterion::Feature(f) => {
            let mut t = FixedBitSet::with_capacity(e.n_series);
            for &(se, v) in s.features.get(f.name.trim()).into_iter().flatten() {
                if in_range(v, &f.range) {
                    t.insert(se as usize);
                }
            }
            Native::Series(Tri::known(t))
        }
        Criterion::All(_)
        | Criterion::Any(_)
        | Criterion::Not(_)
        | Criterion::FirstOf(_)
        | Criterion::LastOf(_)
        | Criterion::FollowUp(_) => unreachable!("groups are handled by eval"),
    })
}

/// `study_date >= from AND study_date <= to`, compared as text.
fn dates(e: &ColumnEngine, r: &DateRange) -> Tri {
    let lo = r.from.as_deref().map_or(0, |f| {
        e.sorted_dates.partition_point(|d| d.as_str() < f) as u32
    });
    let hi = r.to.as_deref().map_or(u32::MAX - 1, |t| {
        e.sorted_dates.partition_point(|d| d.as_str() <= t) as u32
    });
    let mut t = FixedBitSet::with_capacity(e.n_studies);
    let mut u = FixedBitSet::with_capacity(e.n_studies);
    for (i, &rank) in e.date_rank.iter().enumerate() {
        if rank == NONE {
            u.insert(i);
        } else if rank >= lo && (r.to.is_none() || rank < hi) {
            t.insert(i);
        }
    }
    Tri { t, u }
}

/// First (`first`) or last study of its patient that matches: this study
/// matches and no other matching study of the patient comes before
/// (after) it. As in SQL, a dated study is compared with dated ones by
/// (date, row id); an undated one only with undated ones, by row id.
fn extreme(e: &ColumnEngine, c: &Criterion, first: bool) -> Result<Tri, String> {
    let here = eval(e, c, At::Study)?;
    let mut blocked = FixedBitSet::with_capacity(e.n_studies);
    for p in 0..e.n_patients {
        let (a, b) = (e.pat_off[p] as usize, e.pat_off[p + 1] as usize);
        let mid = a + e.pat_dated[p] as usize;
        for group in [&e.pat_studies[a..mid], &e.pat_studies[mid..b]] {
            let mut seen = false;
            let mut visit = |st: u32| {
                if seen {
                    blocked.insert(st as usize);
                }
                if here.t.contains(st as usize) {
                    seen = true;
                }
            };
            if first {
                group.iter().copied().for_each(&mut visit);
            } else {
                group.iter().rev().copied().for_each(&mut visit);
            }
        }
    }
    let mut t = here.t;
    t.difference_with(&blocked);
    let mut u = here.u;
    u.difference_with(&blocked);
    Ok(Tri { t, u })
}

/// Studies with another dated study of the same patient in `inner`,
/// `julianday(other) - julianday(this)` within [min, max].
fn follow_up(
    e: &ColumnEngine,
    inner: &FixedBitSet,
    min: Option<f64>,
    max: Option<f64>,
) -> FixedBitSet {
    let s = &e.s;
    let mut out = FixedBitSet::with_capacity(e.n_studies);
    let mut others: Vec<(u32, f64)> = Vec::new();
    for p in 0..e.n_patients {
        let (a, b) = (e.pat_off[p] as usize, e.pat_off[p + 1] as usize);
        let studies = &e.pat_studies[a..b];
        others.clear();
        others.extend(
            studies
                .iter()
                .filter(|&&o| inner.contains(o as usize) && !s.study_jd[o as usize].is_nan())
                .map(|&o| (o, s.study_jd[o as usize])),
        );
        if others.is_empty() {
            continue;
        }
        for &st in studies {
            let jd = s.study_jd[st as usize];
            if jd.is_nan() {
                continue;
            }
            let hit = others.iter().any(|&(o, ojd)| {
                let gap = ojd - jd;
                o != st && min.is_none_or(|m| gap >= m) && max.is_none_or(|m| gap <= m)
            });
            if hit {
                out.insert(st as usize);
            }
        }
    }
    out
}

fn ehr(e: &ColumnEngine, c: &crate::model::EhrCondition) -> FixedBitSet {
    let mut out = FixedBitSet::with_capacity(e.n_studies);
    let Some(rows) = e.s.ehr.get(&(c.dataset.clone(), c.column.clone())) else {
        return out;
    };
    let wanted: Option<std::collections::HashSet<String>> = c
        .any_of
        .as_ref()
        .map(|v| v.iter().map(|x| x.trim().to_uppercase()).collect());
    let bound =
        |b: &Option<serde_json::Value>, row: &crate::store::columns::EhrRow, ge: bool| match b {
            Some(serde_json::Value::Number(n)) => {
                let n = n.as_f64().unwrap_or(f64::NAN);
                row.num.is_some_and(|x| if ge { x >= n } else { x <= n })
            }
            Some(serde_json::Value::String(t)) => {
                row.text.as_deref().is_some_and(
                    |x| {
                        if ge {
                            x >= t.as_str()
                        } else {
                            x <= t.as_str()
                        }
                    },
                )
            }
            _ => true,
        };
    for row in rows {
        let listed = wanted.as_ref().is_none_or(|w| {
            row.text
                .as_deref()
                .is_some_and(|t| w.contains(&t.to_ascii_uppercase()))
        });
        if listed && bound(&c.min, row, true) && bound(&c.max, row, false) {
            for &st in &row.studies {
                out.insert(st as usize);
            }
        }
    }
    out
}

fn finding(e: &ColumnEngine, f: &crate::model::FindingCondition) -> FixedBitSet {
    let studies_of = |accs: &[u32], out: &mut FixedBitSet| {
        for &a in accs {
            let (x, y) = (
                e.acc_off[a as usize] as usize,
                e.acc_off[a as usize + 1] as usize,
            );
            for &st in &e.acc_studies[x..y] {
                out.insert(st as usize);
            }
        }
    };
    let mut positive = FixedBitSet::with_capacity(e.n_studies);
    if let Some(accs) = e.s.findings_positive.get(&f.name) {
        studies_of(accs, &mut positive);
    }
    if f.present {
        return positive;
    }
    let mut reported = FixedBitSet::with_capacity(e.n_studies);
    studies_of(&e.s.reported, &mut reported);
    reported.difference_with(&positive);
    reported
}
