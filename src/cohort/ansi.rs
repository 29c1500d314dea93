//! The second emitter: a cohort definition as portable SQL over the tables
//! `export-index` writes (views named `patients`, `studies`, `series`,
//! `instances`), for DuckDB, Spark SQL, Trino and the like (issue 18).
//!
//! It mirrors [`super::compile`] criterion by criterion, so that a count on
//! the export equals the app's count on the workspace; the SQLite emitter
//! stays the reference. Only constructs the target engines share are used:
//! `EXISTS`, scalar subqueries, `CASE`, `coalesce`, `upper`, `translate`,
//! `||`, `chr`, `DATE '...'` and `INTERVAL 'n' DAY`. String literals never
//! hold a quote or a backslash (Spark reads `\` as an escape and `''` as two
//! literals): those characters are spliced in with `chr()`.

use super::compile::{Level, Scope};
use crate::model::{CohortSpec, CohortUnit, Criterion, DateRange, FollowUp, NumRange, Rule};

/// How the values of a definition reach the SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamStyle {
    /// Written into the SQL, so it runs as pasted.
    #[default]
    Inline,
    /// `?` placeholders, bound in order.
    Qmark,
    /// `$1`, `$2`, ... placeholders.
    Dollar,
}

/// A value bound to a placeholder (empty in the inline style).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum AnsiParam {
    Text(String),
    Num(f64),
}

/// One statement and what its placeholders are bound to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<AnsiParam>,
}

/// The count and attrition statements of a definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AnsiCohort {
    /// One row: `patients, studies, series, instances` of the content.
    pub count: Statement,
    /// One row per step: `step, rule, exclude, remaining, removed,
    /// removed_alone` (step 0 is the population before any rule).
    pub attrition: Statement,
}

/// Why a definition cannot be written for the exported tables.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnsiError {
    #[error("rule {rule}: {what} criteria are not in the exported tables (export-index writes the index only); count this cohort in the app")]
    NotExported { rule: String, what: &'static str },
    #[error("rule {rule}: {problem}")]
    Value { rule: String, problem: String },
}

/// Writes the count and attrition SQL of a (validated) definition.
pub fn emit(spec: &CohortSpec, style: ParamStyle) -> Result<AnsiCohort, AnsiError> {
    for (i, rule) in spec.rules.iter().enumerate() {
        let label = rule_label(rule, i);
        unsupported(&rule.criterion).map_or(Ok(()), |what| {
            Err(AnsiError::NotExported {
                rule: label.clone(),
                what,
            })
        })?;
    }
    let all: Vec<&Rule> = spec.rules.iter().collect();
    let count = {
        let mut b = Builder::new(style);
        let sql = count_sql(&mut b, spec, &all)?;
        b.finish(sql)
    };
    let attrition = {
        let mut b = Builder::new(style);
        let sql = attrition_sql(&mut b, spec)?;
        b.finish(sql)
    };
    Ok(AnsiCohort { count, attrition })
}

/// The kind of a criterion the export does not hold, if any.
fn unsupported(c: &Criterion) -> Option<&'static str> {
    match c {
        Criterion::All(v) | Criterion::Any(v) => v.iter().find_map(unsupported),
        Criterion::Not(c) | Criterion::FirstOf(c) | Criterion::LastOf(c) => unsupported(c),
        Criterion::FollowUp(f) => unsupported(&f.criterion),
        Criterion::Ehr(_) => Some("linked EHR"),
        Criterion::Finding(_) => Some("report finding"),
        Criterion::Feature(_) => Some("image feature"),
        _ => None,
    }
}

fn rule_label(rule: &Rule, i: usize) -> String {
    if rule.name.trim().is_empty() {
        format!("#{}", i + 1)
    } else {
        format!("'{}'", rule.name)
    }
}

struct Builder {
    style: ParamStyle,
    params: Vec<AnsiParam>,
    /// Aliases handed out for other studies of the patient.
    aliases: usize,
}

type Emit = Result<String, String>;

impl Builder {
    fn new(style: ParamStyle) -> Builder {
        Builder {
            style,
            params: Vec::new(),
            aliases: 0,
        }
    }

    fn finish(self, sql: String) -> Statement {
        Statement {
            sql,
            params: self.params,
        }
    }

    fn placeholder(&mut self, p: AnsiParam) -> String {
        self.params.push(p);
        match self.style {
            ParamStyle::Dollar => format!("${}", self.params.len()),
            _ => "?".into(),
        }
    }

    fn text(&mut self, t: &str) -> Emit {
        if t.contains('\0') {
            return Err("a value holds a NUL character".into());
        }
        Ok(match self.style {
            ParamStyle::Inline => literal(t),
            _ => self.placeholder(AnsiParam::Text(t.to_string())),
        })
    }

    fn num(&mut self, n: f64) -> Emit {
        if !n.is_finite() {
            return Err("a number is not finite".into());
        }
        Ok(match self.style {
            ParamStyle::Inline => number(n),
            _ => self.placeholder(AnsiParam::Num(n)),
        })
    }

    fn date(&mut self, d: &str) -> Emit {
        let valid = d.len() == 10
            && d.char_indices().all(|(i, c)| {
                if i == 4 || i == 7 {
                    c == '-'
                } else {
                    c.is_ascii_digit()
                }
            });
        if !valid {
            return Err(format!("'{d}' is not a date as YYYY-MM-DD"));
        }
        Ok(match self.style {
            ParamStyle::Inline => format!("DATE '{d}'"),
            _ => format!(
                "CAST({} AS DATE)",
                self.placeholder(AnsiParam::Text(d.to_string()))
            ),
        })
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("ost{}", self.aliases)
    }

    /// The criterion as a boolean expression on the row `st` (its study)
    /// and, at series scope, `s`; `p` is the patient.
    fn expr(&mut self, c: &Criterion, scope: Scope, st: &str) -> Emit {
        Ok(match c {
            Criterion::All(v) if v.is_empty() => "TRUE".into(),
            Criterion::Any(v) if v.is_empty() => "FALSE".into(),
            Criterion::All(v) => self.join(v, " AND ", scope, st)?,
            Criterion::Any(v) => self.join(v, " OR ", scope, st)?,
            Criterion::Not(c) => format!("NOT ({})", self.expr(c, scope, st)?),
            Criterion::FirstOf(c) => self.extreme(c, "<", st)?,
            Criterion::LastOf(c) => self.extreme(c, ">", st)?,
            Criterion::FollowUp(f) => self.follow_up(f, st)?,
            Criterion::Contrast(false) => {
                format!(
                    "NOT ({})",
                    self.expr(&Criterion::Contrast(true), scope, st)?
                )
            }
            other => {
                let (level, cond) = self.condition(other, scope, st)?;
                wrap(level, scope, st, cond)
            }
        })
    }

    fn join(&mut self, v: &[Criterion], sep: &str, scope: Scope, st: &str) -> Emit {
        let parts = v
            .iter()
            .map(|c| self.expr(c, scope, st))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(sep)))
    }

    /// This study matches `c` and no other matching study of the patient
    /// is earlier (`<`) or later (`>`); same-day ties broken by the order
    /// the studies were indexed (`index_seq`), as the app breaks them by
    /// row id.
    fn extreme(&mut self, c: &Criterion, cmp: &str, st: &str) -> Emit {
        let here = self.expr(c, Scope::Study, st)?;
        let o = self.alias();
        let other = self.expr(c, Scope::Study, &o)?;
        Ok(format!(
            "(({here}) AND NOT EXISTS (SELECT 1 FROM studies {o} WHERE {o}.patient_id = {st}.patient_id
              AND {o}.study_id <> {st}.study_id AND ({o}.study_date {cmp} {st}.study_date
                OR ((({o}.study_date IS NULL AND {st}.study_date IS NULL) OR {o}.study_date = {st}.study_date)
                    AND {o}.index_seq {cmp} {st}.index_seq))
              AND ({other})))"
        ))
    }

    /// Another study of the patient, both dated, `min_days..=max_days`
    /// after this one, matches. Dates are whole days, so a fractional bound
    /// rounds inwards; a bound beyond any two dates' distance is decided
    /// without date arithmetic (it would overflow some engines' dates).
    fn follow_up(&mut self, f: &FollowUp, st: &str) -> Emit {
        const BEYOND: f64 = 3_700_000.0; // more days than 0001-01-01..9999-12-31
        let o = self.alias();
        let inner = self.expr(&f.criterion, Scope::Study, &o)?;
        let mut window = Vec::new();
        // A count of days is written as a literal in every style: an
        // interval literal needs one, and a number is no user text.
        let shifted = |days: f64| -> String {
            let n = format!("INTERVAL '{}' DAY", number(days.abs()));
            if days < 0.0 {
                format!("{st}.study_date - {n}")
            } else {
                format!("{st}.study_date + {n}")
            }
        };
        if let Some(min) = f.min_days {
            let min = min.ceil();
            if min > BEYOND {
                window.push("FALSE".to_string());
            } else if min >= -BEYOND {
                window.push(format!("{o}.study_date >= {}", shifted(min)));
            }
        }
        if let Some(max) = f.max_days {
            let max = max.floor();
            if max < -BEYOND {
                window.push("FALSE".to_string());
            } else if max <= BEYOND {
                window.push(format!("{o}.study_date <= {}", shifted(max)));
            }
        }
        if window.is_empty() {
            window.push("TRUE".into());
        }
        Ok(format!(
            "EXISTS (SELECT 1 FROM studies {o} WHERE {o}.patient_id = {st}.patient_id
             AND {o}.study_id <> {st}.study_id AND {o}.study_date IS NOT NULL AND {st}.study_date IS NOT NULL
             AND {} AND ({inner}))",
            window.join(" AND ")
        ))
    }

    /// `upper(col)` is one of the values (trimmed, upper-cased).
    fn any_of(&mut self, col: &str, values: &[String]) -> Emit {
        let list = values
            .iter()
            .map(|v| self.text(&v.trim().to_uppercase()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("upper({col}) IN ({})", list.join(", ")))
    }

    fn range(&mut self, col: &str, r: &NumRange) -> Emit {
        let mut parts = Vec::new();
        if let Some(min) = r.min {
            parts.push(format!("{col} >= {}", self.num(min)?));
        }
        if let Some(max) = r.max {
            parts.push(format!("{col} <= {}", self.num(max)?));
        }
        Ok(if parts.is_empty() {
            "TRUE".into()
        } else {
            format!("({})", parts.join(" AND "))
        })
    }

    fn dates(&mut self, col: &str, r: &DateRange) -> Emit {
        let mut parts = Vec::new();
        if let Some(from) = &r.from {
            parts.push(format!("{col} >= {}", self.date(from)?));
        }
        if let Some(to) = &r.to {
            parts.push(format!("{col} <= {}", self.date(to)?));
        }
        Ok(if parts.is_empty() {
            "TRUE".into()
        } else {
            format!("({})", parts.join(" AND "))
        })
    }

    /// Every word of the query starts a word of the text, as the app's
    /// full-text index matches (case-insensitive; ASCII punctuation
    /// separates words): a query word with punctuation inside
    /// ("T1-weighted") is a phrase, its parts consecutive in the text.
    fn words(&mut self, col: &str, query: &str) -> Emit {
        let phrases: Vec<String> = query
            .split_whitespace()
            .map(|w| {
                w.split(|c: char| !c.is_alphanumeric())
                    .filter(|t| !t.is_empty())
                    .map(str::to_uppercase)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|p| !p.is_empty())
            .collect();
        if phrases.is_empty() {
            return Ok("FALSE".into());
        }
        let text = format!("(' ' || {} || ' ')", words_of(&format!("upper({col})")));
        let parts = phrases
            .iter()
            .map(|p| Ok(format!("{text} LIKE {}", self.text(&format!("% {p}%"))?)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(format!("({})", parts.join(" AND ")))
    }

    fn condition(
        &mut self,
        c: &Criterion,
        scope: Scope,
        st: &str,
    ) -> Result<(Level, String), String> {
        Ok(match c {
            // The partition `modality=unknown` holds series without one.
            Criterion::Modality(v) => (
                Level::Series,
                self.any_of("nullif(s.modality, 'unknown')", v)?,
            ),
            Criterion::BodyPart(v) => (Level::Series, self.any_of("s.body_part", v)?),
            Criterion::Institution(v) => (Level::Series, self.any_of("s.institution_name", v)?),
            Criterion::Station(v) => (Level::Series, self.any_of("s.station_name", v)?),
            Criterion::Manufacturer(v) => (Level::Series, self.any_of("s.manufacturer", v)?),
            Criterion::Model(v) => (Level::Series, self.any_of("s.model_name", v)?),
            Criterion::SeriesDescription(t) => (Level::Series, self.words("s.description", t)?),
            Criterion::ProtocolName(t) => (Level::Series, self.words("s.protocol_name", t)?),
            // On another study of the patient (a follow-up or first/last
            // inside one), through that study, so that no subquery refers
            // more than one level out (Spark's limit); NULL stays NULL.
            Criterion::Sex(v) if st != "st" => (
                Level::Patient,
                self.any_of(
                    &format!("(SELECT max(px.sex) FROM patients px WHERE px.patient_id = {st}.patient_id)"),
                    v,
                )?,
            ),
            Criterion::Sex(v) => (Level::Patient, self.any_of("p.sex", v)?),
            Criterion::StudyDate(r) => (Level::Study, self.dates(&format!("{st}.study_date"), r)?),
            Criterion::Age(r) => (
                Level::Study,
                self.range(&format!("{st}.age_at_study_years"), r)?,
            ),
            Criterion::StudyDescription(t) => {
                (Level::Study, self.words(&format!("{st}.description"), t)?)
            }
            Criterion::SeriesCount(r) => (
                Level::Study,
                self.range(
                    &format!("(SELECT count(*) FROM series cs WHERE cs.study_id = {st}.study_id)"),
                    r,
                )?,
            ),
            Criterion::InstanceCount(r) => match scope {
                Scope::Study => (
                    Level::Study,
                    self.range(
                        &format!(
                            "(SELECT count(*) FROM instances ci WHERE ci.study_id = {st}.study_id)"
                        ),
                        r,
                    )?,
                ),
                Scope::Series => (
                    Level::Series,
                    self.range(
                        "(SELECT count(*) FROM instances ci WHERE ci.series_id = s.series_id)",
                        r,
                    )?,
                ),
            },
            Criterion::SopClass(v) => (Level::Instance, self.any_of("i.sop_class_uid", v)?),
            Criterion::SliceThicknessMm(r) => {
                (Level::Instance, self.range("i.slice_thickness_mm", r)?)
            }
            Criterion::Contrast(_) => (Level::Instance, "i.has_contrast".into()),
            // Refused by `unsupported`; groups handled by `expr`.
            Criterion::Ehr(_)
            | Criterion::Finding(_)
            | Criterion::Feature(_)
            | Criterion::All(_)
            | Criterion::Any(_)
            | Criterion::Not(_)
            | Criterion::FirstOf(_)
            | Criterion::LastOf(_)
            | Criterion::FollowUp(_) => (Level::Study, "FALSE".into()),
        })
    }
}

/// Lifts a condition to the row being filtered: "has at least one matching
/// series / image" when it lives below it.
fn wrap(level: Level, scope: Scope, st: &str, cond: String) -> String {
    match (level, scope) {
        (Level::Patient | Level::Study, _) | (Level::Series, Scope::Series) => cond,
        (Level::Series, Scope::Study) => {
            format!("EXISTS (SELECT 1 FROM series s WHERE s.study_id = {st}.study_id AND {cond})")
        }
        (Level::Instance, Scope::Series) => {
            format!("EXISTS (SELECT 1 FROM instances i WHERE i.series_id = s.series_id AND {cond})")
        }
        (Level::Instance, Scope::Study) => {
            format!(
                "EXISTS (SELECT 1 FROM instances i WHERE i.study_id = {st}.study_id AND {cond})"
            )
        }
    }
}

/// The text's words separated by single spaces: the separators of the
/// app's full-text tokenizer that descriptions hold in practice (ASCII
/// punctuation; `'` and `\` from `chr()`) become spaces, and runs of
/// spaces are halved five times (runs of up to 32 become one), so that
/// `LIKE '% A B%'` finds the phrase "A B" at a word start.
fn words_of(expr: &str) -> String {
    const PUNCT: &str = "!\"#$%&()*+,-./:;<=>?@[]^_`{|}~\t";
    let spaces = " ".repeat(PUNCT.chars().count() + 2);
    let mut out = format!("translate({expr}, '{PUNCT}' || chr(39) || chr(92), '{spaces}')");
    for _ in 0..5 {
        out = format!("replace({out}, '  ', ' ')");
    }
    out
}

/// A string literal every target reads the same way: `'` and `\` are
/// spliced in with `chr()`, never escaped.
pub fn literal(t: &str) -> String {
    let mut pieces = Vec::new();
    let mut run = String::new();
    for ch in t.chars() {
        match ch {
            '\'' | '\\' => {
                if !run.is_empty() {
                    pieces.push(format!("'{}'", std::mem::take(&mut run)));
                }
                pieces.push(format!("chr({})", ch as u32));
            }
            c => run.push(c),
        }
    }
    if !run.is_empty() || pieces.is_empty() {
        pieces.push(format!("'{run}'"));
    }
    if pieces.len() == 1 {
        pieces.remove(0)
    } else {
        format!("({})", pieces.join(" || "))
    }
}

/// A number as an exact SQL literal (no exponent).
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Per rule, its expression on the row the unit counts.
fn rule_exprs(
    b: &mut Builder,
    spec: &CohortSpec,
    rules: &[&Rule],
) -> Result<Vec<String>, AnsiError> {
    let scope = if spec.unit == CohortUnit::Series {
        Scope::Series
    } else {
        Scope::Study
    };
    rules
        .iter()
        .map(|r| {
            b.expr(&r.criterion, scope, "st")
                .map_err(|problem| AnsiError::Value {
                    rule: rule_label(
                        r,
                        spec.rules
                            .iter()
                            .position(|x| std::ptr::eq(x, *r))
                            .unwrap_or(0),
                    ),
                    problem,
                })
        })
        .collect()
}

/// The entries' and content's SQL, as [`super::compile`] builds them.
fn count_sql(b: &mut Builder, spec: &CohortSpec, rules: &[&Rule]) -> Result<String, AnsiError> {
    let index_event = super::has_index_event(spec);
    let exprs = rule_exprs(b, spec, rules)?;
    let filter = |exprs: &[String], only_include: bool| -> String {
        let parts: Vec<String> = rules
            .iter()
            .zip(exprs)
            .filter(|(r, _)| !(only_include && r.exclude))
            .map(|(r, e)| {
                if r.exclude {
                    format!("NOT coalesce(({e}), FALSE)")
                } else {
                    format!("coalesce(({e}), FALSE)")
                }
            })
            .collect();
        if parts.is_empty() {
            "TRUE".into()
        } else {
            parts.join("\n  AND ")
        }
    };
    let levels = |content: &str, patients: &str| {
        format!(
            "WITH content AS (\n{content}\n)\nSELECT {patients} AS patients,\n  (SELECT count(*) FROM content) AS studies,\n  (SELECT count(*) FROM series s WHERE s.study_id IN (SELECT study_id FROM content)) AS series,\n  (SELECT count(*) FROM instances i WHERE i.study_id IN (SELECT study_id FROM content)) AS instances"
        )
    };
    let distinct_patients = "(SELECT count(DISTINCT patient_id) FROM content)";
    Ok(match spec.unit {
        CohortUnit::Study => levels(
            &format!(
                "SELECT st.study_id, st.patient_id FROM studies st JOIN patients p ON p.patient_id = st.patient_id\nWHERE {}",
                filter(&exprs, false)
            ),
            distinct_patients,
        ),
        CohortUnit::Patient if index_event => levels(
            &format!(
                "SELECT st.study_id, st.patient_id FROM studies st JOIN patients p ON p.patient_id = st.patient_id\nWHERE {}",
                filter(&exprs, false)
            ),
            distinct_patients,
        ),
        CohortUnit::Patient => {
            // Each inclusion rule matches one of the patient's studies and
            // no exclusion rule matches any; the content is their studies
            // that meet every inclusion rule.
            let per_patient: Vec<String> = rules
                .iter()
                .zip(&exprs)
                .map(|(r, e)| {
                    let exists = format!(
                        "EXISTS (SELECT 1 FROM studies st WHERE st.patient_id = p.patient_id AND coalesce(({e}), FALSE))"
                    );
                    if r.exclude {
                        format!("NOT {exists}")
                    } else {
                        exists
                    }
                })
                .collect();
            let entries = if per_patient.is_empty() {
                "SELECT p.patient_id FROM patients p".to_string()
            } else {
                format!(
                    "SELECT p.patient_id FROM patients p\nWHERE {}",
                    per_patient.join("\n  AND ")
                )
            };
            let content = format!(
                "SELECT st.study_id, st.patient_id FROM studies st JOIN patients p ON p.patient_id = st.patient_id\nWHERE st.patient_id IN (SELECT patient_id FROM entries)\n  AND {}",
                filter(&exprs, true)
            );
            let body = levels(&content, "(SELECT count(*) FROM entries)");
            // `entries` goes first in the same WITH.
            body.replacen(
                "WITH content AS (",
                &format!("WITH entries AS (\n{entries}\n),\ncontent AS ("),
                1,
            )
        }
        CohortUnit::Series => format!(
            "WITH content AS (\nSELECT s.series_id, s.study_id, s.patient_id FROM series s JOIN studies st ON st.study_id = s.study_id\n  JOIN patients p ON p.patient_id = st.patient_id\nWHERE {}\n)\nSELECT count(DISTINCT patient_id) AS patients, count(DISTINCT study_id) AS studies, count(*) AS series,\n  (SELECT count(*) FROM instances i WHERE i.series_id IN (SELECT series_id FROM content)) AS instances\nFROM content",
            filter(&exprs, false)
        ),
    })
}

/// The funnel, counted as [`super::compile_rule_flags`] and the store's
/// funnel count it: the candidate rows of each entry, whether each rule
/// matches each row, an entry passing a set of rules when one of its rows
/// passes them all. Each rule's matches are a set computed in a `WHERE`
/// (joined back to the rows), since some engines (Spark) take `EXISTS`
/// only in filters.
fn attrition_sql(b: &mut Builder, spec: &CohortSpec) -> Result<String, AnsiError> {
    let index_event = super::has_index_event(spec);
    let rules: Vec<&Rule> = spec.rules.iter().collect();
    let exprs = rule_exprs(b, spec, &rules)?;
    // The rows (`row_id`, `entry`, `candidate`), and a rule's matching rows.
    let (rows, matches) = match spec.unit {
        CohortUnit::Patient if index_event => (
            "SELECT st.study_id AS row_id, p.patient_id AS entry, st.study_id IS NOT NULL AS candidate\nFROM patients p LEFT JOIN studies st ON st.patient_id = p.patient_id",
            "SELECT st.study_id AS row_id FROM studies st JOIN patients p ON p.patient_id = st.patient_id",
        ),
        CohortUnit::Patient => (
            "SELECT p.patient_id AS row_id, p.patient_id AS entry, TRUE AS candidate FROM patients p",
            "SELECT DISTINCT st.patient_id AS row_id FROM studies st JOIN patients p ON p.patient_id = st.patient_id",
        ),
        CohortUnit::Study => (
            "SELECT st.study_id AS row_id, st.study_id AS entry, TRUE AS candidate FROM studies st",
            "SELECT st.study_id AS row_id FROM studies st JOIN patients p ON p.patient_id = st.patient_id",
        ),
        CohortUnit::Series => (
            "SELECT s.series_id AS row_id, s.series_id AS entry, TRUE AS candidate FROM series s",
            "SELECT s.series_id AS row_id FROM series s JOIN studies st ON st.study_id = s.study_id\n  JOIN patients p ON p.patient_id = st.patient_id",
        ),
    };
    let n = rules.len();
    let mut ctes = vec![format!("candidate_rows AS (\n{rows}\n)")];
    for (i, e) in exprs.iter().enumerate() {
        ctes.push(format!(
            "m{} AS (\n{matches}\nWHERE coalesce(({e}), FALSE)\n)",
            i + 1
        ));
    }
    let mut flag_cols = vec!["c.entry".to_string(), "c.candidate".to_string()];
    let mut joins = String::new();
    for i in 1..=n {
        flag_cols.push(format!("m{i}.row_id IS NOT NULL AS r{i}"));
        joins.push_str(&format!("\n  LEFT JOIN m{i} ON m{i}.row_id = c.row_id"));
    }
    ctes.push(format!(
        "flags AS (\nSELECT {}\nFROM candidate_rows c{joins}\n)",
        flag_cols.join(", ")
    ));
    let pass = |i: usize| {
        if rules[i].exclude {
            format!("NOT r{}", i + 1)
        } else {
            format!("r{}", i + 1)
        }
    };
    // Per entry: whether one of its rows passes rule i alone (a_i), and
    // rules 1..=i (c_i).
    let mut per_entry = vec!["entry".to_string()];
    for i in 0..n {
        per_entry.push(format!(
            "max(CASE WHEN candidate AND {} THEN 1 ELSE 0 END) AS a{}",
            pass(i),
            i + 1
        ));
        let upto: Vec<String> = (0..=i).map(pass).collect();
        per_entry.push(format!(
            "max(CASE WHEN candidate AND {} THEN 1 ELSE 0 END) AS c{}",
            upto.join(" AND "),
            i + 1
        ));
    }
    ctes.push(format!(
        "entries AS (\nSELECT {}\nFROM flags GROUP BY entry\n)",
        per_entry.join(",\n  ")
    ));
    let mut totals = vec!["count(*) AS population".to_string()];
    for i in 1..=n {
        totals.push(format!("coalesce(sum(a{i}), 0) AS a{i}"));
        totals.push(format!("coalesce(sum(c{i}), 0) AS c{i}"));
    }
    ctes.push(format!(
        "totals AS (\nSELECT {} FROM entries\n)",
        totals.join(", ")
    ));
    let mut steps = vec![format!(
        "SELECT 0 AS step, {} AS rule_name, FALSE AS is_exclusion, population AS remaining, 0 AS removed, 0 AS removed_alone FROM totals",
        literal("population")
    )];
    for (i, rule) in rules.iter().enumerate() {
        let k = i + 1;
        let previous = if k == 1 {
            "population".to_string()
        } else {
            format!("c{}", k - 1)
        };
        steps.push(format!(
            "SELECT {k}, {}, {}, c{k}, {previous} - c{k}, population - a{k} FROM totals",
            literal(&rule.name),
            if rule.exclude { "TRUE" } else { "FALSE" }
        ));
    }
    Ok(format!(
        "WITH {}\n{}\nORDER BY step",
        ctes.join(",\n"),
        steps.join("\nUNION ALL\n")
    ))
}

/// `CREATE VIEW` statements that expose an export folder's tables under the
/// names the emitted SQL uses, for one engine.
pub fn views(engine: ViewEngine, lake: &str) -> String {
    let dir = lake.trim_end_matches('/');
    ["patients", "studies", "series", "instances"]
        .iter()
        .map(|t| match engine {
            ViewEngine::Duckdb => format!(
                "CREATE OR REPLACE VIEW {t} AS SELECT * FROM read_parquet({}, hive_partitioning = true, union_by_name = true);",
                literal(&format!("{dir}/{t}/**/*.parquet"))
            ),
            ViewEngine::Spark => format!(
                "CREATE OR REPLACE TEMPORARY VIEW {t} USING parquet OPTIONS (path {}, mergeSchema 'true');",
                literal(&format!("{dir}/{t}"))
            ),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The engines [`views`] writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewEngine {
    Duckdb,
    Spark,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(unit: CohortUnit, rules: Vec<Rule>) -> CohortSpec {
        CohortSpec {
            schema_version: 1,
            name: "x".into(),
            description: String::new(),
            unit,
            rules,
        }
    }

    fn rule(name: &str, criterion: Criterion) -> Rule {
        Rule {
            name: name.into(),
            exclude: false,
            criterion,
        }
    }

    #[test]
    fn literals_never_hold_a_quote_or_a_backslash() {
        assert_eq!(literal("CT"), "'CT'");
        assert_eq!(literal(""), "''");
        assert_eq!(literal("O'Brien"), "('O' || chr(39) || 'Brien')");
        assert_eq!(literal("a\\'"), "('a' || chr(92) || chr(39))");
        assert_eq!(number(180.0), "180");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(1e20), "100000000000000000000");
    }

    #[test]
    fn hostile_text_stays_inside_literals_or_parameters() {
        let hostile = "x'); DROP TABLE studies; --\\";
        let s = spec(
            CohortUnit::Study,
            vec![rule(
                hostile,
                Criterion::All(vec![
                    Criterion::Modality(vec![hostile.into()]),
                    Criterion::StudyDescription(hostile.into()),
                ]),
            )],
        );
        let inline = emit(&s, ParamStyle::Inline).unwrap();
        for sql in [&inline.count.sql, &inline.attrition.sql] {
            // Every quote in the text opens or closes a literal of ours:
            // no literal holds a quote, so the text's quote is never SQL.
            assert!(!sql.contains("x')"), "{sql}");
            assert!(!sql.contains('\\'), "{sql}");
        }
        assert!(inline.count.params.is_empty());
        let qmark = emit(&s, ParamStyle::Qmark).unwrap();
        assert!(!qmark.count.sql.contains("DROP"));
        assert_eq!(
            qmark.count.sql.matches('?').count(),
            qmark.count.params.len()
        );
        let dollar = emit(&s, ParamStyle::Dollar).unwrap();
        let n = dollar.count.params.len();
        assert!(dollar.count.sql.contains(&format!("${n}")));
        assert!(!dollar.count.sql.contains(&format!("${}", n + 1)));
    }

    #[test]
    fn criteria_outside_the_export_are_refused_by_name() {
        let s = spec(
            CohortUnit::Study,
            vec![rule(
                "smokers",
                Criterion::Not(Box::new(Criterion::Finding(
                    crate::model::FindingCondition {
                        name: "emphysema".into(),
                        present: true,
                    },
                ))),
            )],
        );
        let e = emit(&s, ParamStyle::Inline).unwrap_err();
        assert!(e
            .to_string()
            .contains("rule 'smokers': report finding criteria are not in the exported tables"));
    }

    #[test]
    fn a_bad_date_or_number_says_which_rule() {
        let s = spec(
            CohortUnit::Study,
            vec![rule(
                "when",
                Criterion::StudyDate(DateRange {
                    from: Some("2020-1-1".into()),
                    to: None,
                }),
            )],
        );
        let e = emit(&s, ParamStyle::Inline).unwrap_err();
        assert!(e.to_string().contains("rule 'when'"), "{e}");
        assert!(e.to_string().contains("YYYY-MM-DD"), "{e}");
    }

    #[test]
    fn follow_up_bounds_round_inwards_and_far_bounds_need_no_arithmetic() {
        let s = spec(
            CohortUnit::Study,
            vec![rule(
                "fu",
                Criterion::FollowUp(FollowUp {
                    min_days: Some(179.5),
                    max_days: Some(-1e12),
                    criterion: Box::new(Criterion::Modality(vec!["CT".into()])),
                }),
            )],
        );
        let sql = emit(&s, ParamStyle::Inline).unwrap().count.sql;
        assert!(sql.contains("INTERVAL '180' DAY"), "{sql}");
        assert!(!sql.contains("1000000000000"), "{sql}");
    }
}
