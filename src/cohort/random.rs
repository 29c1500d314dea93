//! Random cohort definitions over the whole schema (every criterion kind,
//! groups nested to depth 3, index events, follow-up windows, exclusions,
//! every unit), drawn from the values an index holds plus awkward ones
//! (other case, padding, unknown values). For the differential test of the
//! two evaluators and for the benchmark; `shrink` finds the smallest
//! definition that still shows a disagreement.

use crate::model::{
    CohortSpec, CohortUnit, Criterion, DateRange, EhrCondition, FeatureCondition, FindingCondition,
    FollowUp, NumRange, Rule, COHORT_SCHEMA_VERSION,
};
use crate::synth::Rng;

/// Values to draw from, per list criterion: modality, body part, sex,
/// institution, station, manufacturer, model, SOP class.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub lists: [Vec<String>; 8],
    /// Words of the description texts.
    pub words: Vec<String>,
    pub ehr: Vec<EhrColumnValues>,
    pub findings: Vec<String>,
    pub features: Vec<String>,
}

/// The values of one linked EHR column.
#[derive(Debug, Clone, Default)]
pub struct EhrColumnValues {
    pub dataset: String,
    pub column: String,
    pub texts: Vec<String>,
    pub numbers: Vec<f64>,
}

/// Deepest group nesting drawn.
pub const DEPTH: usize = 3;

/// A random valid definition.
pub fn random_spec(rng: &mut Rng, v: &Vocabulary) -> CohortSpec {
    let unit = [CohortUnit::Study, CohortUnit::Series, CohortUnit::Patient]
        [rng.weighted(&[4.0, 3.0, 4.0])];
    let n = rng.weighted(&[0.5, 3.0, 3.0, 2.0, 1.0, 0.5]);
    let rules = (0..n)
        .map(|i| Rule {
            name: format!("r{}", i + 1),
            exclude: rng.chance(0.25),
            criterion: criterion(rng, v, 0),
        })
        .collect();
    CohortSpec {
        schema_version: COHORT_SCHEMA_VERSION,
        name: "random".into(),
        description: String::new(),
        unit,
        rules,
    }
}

fn criterion(rng: &mut Rng, v: &Vocabulary, depth: usize) -> Criterion {
    if depth < DEPTH && rng.chance(if depth == 0 { 0.45 } else { 0.3 }) {
        let kids = |rng: &mut Rng| {
            let n = rng.range(1, 3) as usize;
            (0..n).map(|_| criterion(rng, v, depth + 1)).collect()
        };
        return match rng.weighted(&[3.0, 3.0, 2.0, 1.0, 1.0, 1.5]) {
            0 => Criterion::All(kids(rng)),
            1 => Criterion::Any(kids(rng)),
            2 => Criterion::Not(Box::new(criterion(rng, v, depth + 1))),
            3 => Criterion::FirstOf(Box::new(criterion(rng, v, depth + 1))),
            4 => Criterion::LastOf(Box::new(criterion(rng, v, depth + 1))),
            _ => {
                let r = range(rng, -900.0, 900.0, 30.0);
                Criterion::FollowUp(FollowUp {
                    min_days: r.min,
                    max_days: r.max,
                    criterion: Box::new(criterion(rng, v, depth + 1)),
                })
            }
        };
    }
    leaf(rng, v)
}

fn leaf(rng: &mut Rng, v: &Vocabulary) -> Criterion {
    match rng.range(0, 19) {
        0 => Criterion::Modality(values(rng, &v.lists[0])),
        1 => Criterion::BodyPart(values(rng, &v.lists[1])),
        2 => Criterion::Sex(values(rng, &v.lists[2])),
        3 => Criterion::Institution(values(rng, &v.lists[3])),
        4 => Criterion::Station(values(rng, &v.lists[4])),
        5 => Criterion::Manufacturer(values(rng, &v.lists[5])),
        6 => Criterion::Model(values(rng, &v.lists[6])),
        7 => Criterion::SopClass(values(rng, &v.lists[7])),
        8 => Criterion::StudyDate(date_range(rng)),
        9 => Criterion::Age(range(rng, 0.0, 100.0, 1.0)),
        10 => Criterion::SliceThicknessMm(range(rng, 0.0, 6.0, 0.25)),
        11 => Criterion::SeriesCount(range(rng, 0.0, 8.0, 1.0)),
        12 => Criterion::InstanceCount(range(rng, 0.0, 30.0, 1.0)),
        13 => Criterion::StudyDescription(words(rng, &v.words)),
        14 => Criterion::SeriesDescription(words(rng, &v.words)),
        15 => Criterion::ProtocolName(words(rng, &v.words)),
        16 => Criterion::Contrast(rng.chance(0.5)),
        17 => ehr(rng, v),
        18 => Criterion::Finding(FindingCondition {
            name: pick_or(rng, &v.findings, "no-such-finding"),
            present: rng.chance(0.6),
        }),
        _ => Criterion::Feature(FeatureCondition {
            name: pick_or(rng, &v.features, "no_such_feature"),
            range: range(rng, 0.0, 30.0, 0.5),
        }),
    }
}

fn pick_or(rng: &mut Rng, from: &[String], other: &str) -> String {
    if from.is_empty() || rng.chance(0.1) {
        other.to_string()
    } else {
        rng.pick(from).clone()
    }
}

/// One value as a user might type it: as indexed, in lower case, padded,
/// or one the index does not hold.
fn value(rng: &mut Rng, from: &[String]) -> String {
    let base = pick_or(rng, from, "NOPE");
    match rng.weighted(&[6.0, 2.0, 1.0, 0.3]) {
        0 => base,
        1 => base.to_lowercase(),
        2 => format!(" {base} "),
        _ => ["CT,MR", "Ct", "ct ", " "][rng.range(0, 3) as usize].to_string(),
    }
}

fn values(rng: &mut Rng, from: &[String]) -> Vec<String> {
    let n = 1 + rng.weighted(&[5.0, 2.0, 1.0]);
    (0..n).map(|_| value(rng, from)).collect()
}

fn words(rng: &mut Rng, from: &[String]) -> String {
    let n = 1 + rng.weighted(&[4.0, 2.0]);
    let mut out = Vec::new();
    for _ in 0..n {
        let w = pick_or(rng, from, "zzz");
        let w = match rng.weighted(&[4.0, 2.0, 2.0, 0.3]) {
            0 => w,
            1 => w.to_lowercase(),
            // A prefix: words match as prefixes.
            2 => w.chars().take(rng.range(1, 3) as usize).collect(),
            _ => "%\"".to_string(),
        };
        out.push(w);
    }
    out.join(" ")
}

/// A range with one or both ends on a grid of `step`.
fn range(rng: &mut Rng, lo: f64, hi: f64, step: f64) -> NumRange {
    let steps = ((hi - lo) / step) as u64;
    let mut a = lo + rng.range(0, steps) as f64 * step;
    let mut b = lo + rng.range(0, steps) as f64 * step;
    if a > b {
        std::mem::swap(&mut a, &mut b);
    }
    match rng.range(0, 2) {
        0 => NumRange {
            min: Some(a),
            max: None,
        },
        1 => NumRange {
            min: None,
            max: Some(b),
        },
        _ => NumRange {
            min: Some(a),
            max: Some(b),
        },
    }
}

fn date(rng: &mut Rng) -> String {
    format!(
        "{}-{:02}-{:02}",
        rng.range(2013, 2025),
        rng.range(1, 12),
        rng.range(1, 28)
    )
}

fn date_range(rng: &mut Rng) -> DateRange {
    let (mut a, mut b) = (date(rng), date(rng));
    if a > b {
        std::mem::swap(&mut a, &mut b);
    }
    match rng.range(0, 2) {
        0 => DateRange {
            from: Some(a),
            to: None,
        },
        1 => DateRange {
            from: None,
            to: Some(b),
        },
        _ => DateRange {
            from: Some(a),
            to: Some(b),
        },
    }
}

fn ehr(rng: &mut Rng, v: &Vocabulary) -> Criterion {
    if v.ehr.is_empty() || rng.chance(0.05) {
        return Criterion::Ehr(EhrCondition {
            dataset: "no-such-dataset".into(),
            column: "x".into(),
            any_of: None,
            min: Some(serde_json::json!(1)),
            max: None,
        });
    }
    let col = rng.pick(&v.ehr).clone();
    let mut c = EhrCondition {
        dataset: col.dataset,
        column: col.column,
        any_of: None,
        min: None,
        max: None,
    };
    let numeric = !col.numbers.is_empty() && (col.texts.is_empty() || rng.chance(0.5));
    if numeric {
        let mut a = *rng.pick(&col.numbers);
        let mut b = *rng.pick(&col.numbers);
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        match rng.range(0, 2) {
            0 => c.min = Some(serde_json::json!(a)),
            1 => c.max = Some(serde_json::json!(b)),
            _ => {
                c.min = Some(serde_json::json!(a));
                c.max = Some(serde_json::json!(b));
            }
        }
    } else if !col.texts.is_empty() && rng.chance(0.7) {
        c.any_of = Some(values(rng, &col.texts));
    } else {
        // Text bounds (dates as YYYY-MM-DD text), or no condition at all:
        // "has a value".
        match rng.range(0, 2) {
            0 => c.min = Some(serde_json::json!(date(rng))),
            1 => c.max = Some(serde_json::json!(date(rng))),
            _ => {}
        }
    }
    Criterion::Ehr(c)
}

/// Size of a definition (what shrinking reduces).
pub fn size(spec: &CohortSpec) -> usize {
    spec.rules
        .iter()
        .map(|r| 1 + usize::from(r.exclude) + crit_size(&r.criterion))
        .sum()
}

fn crit_size(c: &Criterion) -> usize {
    match c {
        Criterion::All(v) | Criterion::Any(v) => 1 + v.iter().map(crit_size).sum::<usize>(),
        Criterion::Not(c) | Criterion::FirstOf(c) | Criterion::LastOf(c) => 1 + crit_size(c),
        Criterion::FollowUp(f) => {
            1 + usize::from(f.min_days.is_some() && f.max_days.is_some()) + crit_size(&f.criterion)
        }
        Criterion::Modality(v)
        | Criterion::BodyPart(v)
        | Criterion::Sex(v)
        | Criterion::Institution(v)
        | Criterion::Station(v)
        | Criterion::Manufacturer(v)
        | Criterion::Model(v)
        | Criterion::SopClass(v) => v.len(),
        Criterion::Age(r) | Criterion::SliceThicknessMm(r) => {
            1 + usize::from(r.min.is_some() && r.max.is_some())
        }
        _ => 1,
    }
}

/// Smaller variants of a criterion, each still valid.
fn simpler(c: &Criterion) -> Vec<Criterion> {
    let mut out = Vec::new();
    match c {
        Criterion::All(v) | Criterion::Any(v) => {
            let make = |v: Vec<Criterion>| match c {
                Criterion::All(_) => Criterion::All(v),
                _ => Criterion::Any(v),
            };
            out.extend(v.iter().cloned());
            if v.len() > 1 {
                for i in 0..v.len() {
                    let mut w = v.clone();
                    w.remove(i);
                    out.push(make(w));
                }
            }
            for i in 0..v.len() {
                for s in simpler(&v[i]) {
                    let mut w = v.clone();
                    w[i] = s;
                    out.push(make(w));
                }
            }
        }
        Criterion::Not(x) | Criterion::FirstOf(x) | Criterion::LastOf(x) => {
            out.push((**x).clone());
            for s in simpler(x) {
                out.push(match c {
                    Criterion::Not(_) => Criterion::Not(Box::new(s)),
                    Criterion::FirstOf(_) => Criterion::FirstOf(Box::new(s)),
                    _ => Criterion::LastOf(Box::new(s)),
                });
            }
        }
        Criterion::FollowUp(f) => {
            out.push((*f.criterion).clone());
            if f.min_days.is_some() && f.max_days.is_some() {
                let mut a = f.clone();
                a.min_days = None;
                out.push(Criterion::FollowUp(a));
                let mut b = f.clone();
                b.max_days = None;
                out.push(Criterion::FollowUp(b));
            }
            for s in simpler(&f.criterion) {
                let mut g = f.clone();
                g.criterion = Box::new(s);
                out.push(Criterion::FollowUp(g));
            }
        }
        Criterion::Modality(v)
        | Criterion::BodyPart(v)
        | Criterion::Sex(v)
        | Criterion::Institution(v)
        | Criterion::Station(v)
        | Criterion::Manufacturer(v)
        | Criterion::Model(v)
        | Criterion::SopClass(v)
            if v.len() > 1 =>
        {
            for i in 0..v.len() {
                let mut c2 = c.clone();
                if let Some((_, list)) = c2.list_mut() {
                    list.remove(i);
                }
                out.push(c2);
            }
        }
        _ => {}
    }
    out
}

/// The smallest definition found (greedy: remove rules, simplify criteria,
/// turn exclusions into inclusions) for which `fails` still holds.
pub fn shrink(spec: &CohortSpec, fails: &mut dyn FnMut(&CohortSpec) -> bool) -> CohortSpec {
    let mut best = spec.clone();
    'outer: loop {
        let mut candidates = Vec::new();
        for i in 0..best.rules.len() {
            let mut s = best.clone();
            s.rules.remove(i);
            candidates.push(s);
        }
        for i in 0..best.rules.len() {
            if best.rules[i].exclude {
                let mut s = best.clone();
                s.rules[i].exclude = false;
                candidates.push(s);
            }
            for c in simpler(&best.rules[i].criterion) {
                let mut s = best.clone();
                s.rules[i].criterion = c;
                candidates.push(s);
            }
        }
        for c in candidates {
            if size(&c) < size(&best) && super::validate(&c).is_ok() && fails(&c) {
                best = c;
                continue 'outer;
            }
        }
        return best;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_definitions_are_valid_and_shrinking_keeps_the_failure() {
        let v = Vocabulary {
            lists: std::array::from_fn(|i| vec![format!("V{i}"), format!("W{i}")]),
            words: vec!["CHEST".into(), "HEAD".into()],
            ..Vocabulary::default()
        };
        let mut rng = Rng::new(7);
        for _ in 0..500 {
            let s = random_spec(&mut rng, &v);
            crate::cohort::validate(&s).unwrap_or_else(|e| panic!("{e}: {s:?}"));
        }
        // "Fails" when some rule mentions a modality: the smallest such
        // definition is one rule with one modality value.
        let has_modality = |s: &CohortSpec| {
            serde_json::to_string(s)
                .unwrap_or_default()
                .contains("modality")
        };
        let mut rng = Rng::new(3);
        let s = (0..1000)
            .map(|_| random_spec(&mut rng, &v))
            .find(|s| has_modality(s) && size(s) > 6)
            .expect("one such definition");
        let small = shrink(&s, &mut |s| has_modality(s));
        assert_eq!(small.rules.len(), 1, "{small:?}");
        assert!(matches!(&small.rules[0].criterion, Criterion::Modality(v) if v.len() == 1));
    }
}
