//! Cohort definitions -> validated criteria -> parameterised SQL.
//!
//! Every attribute maps to a fixed column expression (the whitelist is the
//! `Criterion` enum itself); every value the user typed travels as a bound
//! parameter. This module builds SQL text and parameters only; `store`
//! executes them.

pub mod ansi;
mod compile;

pub use compile::{compile, compile_rule_flags, has_index_event, CompiledCohort, Param};

use crate::model::{CohortSpec, Criterion, DateRange, NumRange, COHORT_SCHEMA_VERSION};

/// Deepest group nesting accepted.
pub const MAX_DEPTH: usize = 16;
/// Longest text value accepted.
pub const MAX_TEXT: usize = 1024;
/// Most values in one list.
pub const MAX_VALUES: usize = 1000;

/// Why a cohort definition is not valid; says which rule and what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CohortError {
    #[error("cohort definition written for schema version {0}; this build reads version {COHORT_SCHEMA_VERSION}: upgrade pacs-cohort")]
    SchemaVersion(u32),
    #[error("the cohort needs a name")]
    NoName,
    #[error("rule {rule}: {problem}")]
    Rule { rule: String, problem: String },
    #[error("not a valid cohort definition (JSON): {0}")]
    Json(String),
}

/// Parses and validates a cohort definition from JSON.
pub fn parse_spec(json: &str) -> Result<CohortSpec, CohortError> {
    let spec: CohortSpec =
        serde_json::from_str(json).map_err(|e| CohortError::Json(e.to_string()))?;
    validate(&spec)?;
    Ok(spec)
}

/// Checks a definition before it is compiled or saved.
pub fn validate(spec: &CohortSpec) -> Result<(), CohortError> {
    if spec.schema_version != COHORT_SCHEMA_VERSION {
        return Err(CohortError::SchemaVersion(spec.schema_version));
    }
    if spec.name.trim().is_empty() {
        return Err(CohortError::NoName);
    }
    for (i, rule) in spec.rules.iter().enumerate() {
        let label = if rule.name.trim().is_empty() {
            format!("#{}", i + 1)
        } else {
            format!("'{}'", rule.name)
        };
        check(&rule.criterion, 0).map_err(|problem| CohortError::Rule {
            rule: label,
            problem,
        })?;
    }
    Ok(())
}

fn check(c: &Criterion, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("groups nested deeper than {MAX_DEPTH}"));
    }
    match c {
        Criterion::All(v) | Criterion::Any(v) => v.iter().try_for_each(|c| check(c, depth + 1)),
        Criterion::Not(c) | Criterion::FirstOf(c) | Criterion::LastOf(c) => check(c, depth + 1),
        Criterion::FollowUp(f) => {
            range_ok(&NumRange {
                min: f.min_days,
                max: f.max_days,
            })?;
            check(&f.criterion, depth + 1)
        }
        Criterion::Modality(v)
        | Criterion::BodyPart(v)
        | Criterion::Sex(v)
        | Criterion::Institution(v)
        | Criterion::Station(v)
        | Criterion::Manufacturer(v)
        | Criterion::Model(v)
        | Criterion::SopClass(v) => {
            if v.is_empty() {
                return Err("give at least one value".into());
            }
            if v.len() > MAX_VALUES {
                return Err(format!("at most {MAX_VALUES} values"));
            }
            v.iter().try_for_each(|t| text_ok(t))
        }
        Criterion::StudyDate(r) => dates_ok(r),
        Criterion::Age(r)
        | Criterion::SliceThicknessMm(r)
        | Criterion::SeriesCount(r)
        | Criterion::InstanceCount(r) => range_ok(r),
        Criterion::StudyDescription(t)
        | Criterion::SeriesDescription(t)
        | Criterion::ProtocolName(t) => {
            text_ok(t)?;
            if t.split_whitespace().next().is_none() {
                return Err("give at least one word to search for".into());
            }
            Ok(())
        }
        Criterion::Contrast(_) => Ok(()),
        Criterion::Finding(f) => {
            if f.name.trim().is_empty() {
                return Err("name the finding".into());
            }
            text_ok(&f.name)
        }
        Criterion::Feature(f) => {
            if f.name.trim().is_empty() {
                return Err("name the feature (e.g. laa950_percent)".into());
            }
            text_ok(&f.name)?;
            range_ok(&f.range)
        }
        Criterion::Ehr(e) => {
            if e.dataset.trim().is_empty() || e.column.trim().is_empty() {
                return Err("name the EHR dataset and column".into());
            }
            text_ok(&e.dataset)?;
            text_ok(&e.column)?;
            if let Some(v) = &e.any_of {
                if v.len() > MAX_VALUES {
                    return Err(format!("at most {MAX_VALUES} values"));
                }
                v.iter().try_for_each(|t| text_ok(t))?;
            }
            for b in [&e.min, &e.max].into_iter().flatten() {
                match b {
                    serde_json::Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => {}
                    serde_json::Value::String(t) => text_ok(t)?,
                    _ => return Err("EHR bounds are numbers, or dates as YYYY-MM-DD text".into()),
                }
            }
            Ok(())
        }
    }
}

fn text_ok(t: &str) -> Result<(), String> {
    if t.len() > MAX_TEXT {
        return Err(format!("a value is longer than {MAX_TEXT} bytes"));
    }
    if t.contains('\0') {
        return Err("a value contains a NUL character".into());
    }
    Ok(())
}

fn range_ok(r: &NumRange) -> Result<(), String> {
    match (r.min, r.max) {
        (None, None) => Err("give a minimum, a maximum or both".into()),
        (Some(a), Some(b)) if a > b => Err(format!("minimum {a} is above maximum {b}")),
        (a, b) if a.is_some_and(|x| !x.is_finite()) || b.is_some_and(|x| !x.is_finite()) => {
            Err("bounds must be finite numbers".into())
        }
        _ => Ok(()),
    }
}

/// A calendar date written YYYY-MM-DD ("2020-02-29" yes, "2021-02-29" and
/// "2020-13-45" no).
pub fn valid_date(d: &str) -> bool {
    let b = d.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return false;
    }
    let num = |r: std::ops::Range<usize>| d[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

fn dates_ok(r: &DateRange) -> Result<(), String> {
    for d in [&r.from, &r.to].into_iter().flatten() {
        if !valid_date(d) {
            return Err(format!("date '{d}' is not a calendar date YYYY-MM-DD"));
        }
    }
    match (&r.from, &r.to) {
        (None, None) => Err("give a start date, an end date or both".into()),
        (Some(a), Some(b)) if a > b => Err(format!("start {a} is after end {b}")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CohortUnit, Rule};

    #[test]
    fn dates_are_calendar_dates() {
        for ok in ["2020-02-29", "2000-02-29", "1999-12-31", "2024-01-01"] {
            assert!(valid_date(ok), "{ok}");
        }
        for bad in [
            "2020-13-45",
            "2021-02-29",
            "1900-02-29",
            "2020-04-31",
            "2020-00-10",
            "2020-1-01",
            "20200101",
            "0000-01-01",
        ] {
            assert!(!valid_date(bad), "{bad}");
        }
    }

    fn spec(c: Criterion) -> CohortSpec {
        CohortSpec {
            schema_version: 1,
            name: "t".into(),
            description: String::new(),
            unit: CohortUnit::Study,
            rules: vec![Rule {
                name: "r".into(),
                exclude: false,
                criterion: c,
            }],
        }
    }

    #[test]
    fn validation_names_the_rule_and_the_problem() {
        let e = validate(&spec(Criterion::Modality(vec![]))).unwrap_err();
        assert_eq!(e.to_string(), "rule 'r': give at least one value");
        assert!(validate(&spec(Criterion::Age(NumRange {
            min: Some(80.0),
            max: Some(40.0)
        })))
        .is_err());
        assert!(validate(&spec(Criterion::StudyDate(DateRange {
            from: Some("2020-1-1".into()),
            to: None
        })))
        .is_err());
        assert!(validate(&spec(Criterion::StudyDescription("  ".into()))).is_err());
        let mut deep = Criterion::Contrast(true);
        for _ in 0..20 {
            deep = Criterion::Not(Box::new(deep));
        }
        assert!(validate(&spec(deep)).is_err());
        let mut s = spec(Criterion::Contrast(true));
        s.schema_version = 2;
        assert!(matches!(validate(&s), Err(CohortError::SchemaVersion(2))));
    }

    #[test]
    fn json_round_trips() {
        let json = r#"{"schema_version":1,"name":"CT chest 40-80","unit":"study","rules":[
            {"name":"CT","criterion":{"modality":["CT"]}},
            {"name":"age","criterion":{"age":{"min":40,"max":80}}},
            {"name":"no contrast","exclude":true,"criterion":{"any":[{"contrast":true},{"study_description":"contrast"}]}}]}"#;
        let s = parse_spec(json).unwrap();
        assert_eq!(s.rules.len(), 3);
        let again = parse_spec(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(s, again);
    }
}
