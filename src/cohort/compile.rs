//! SQL generation. Column expressions are fixed strings chosen by matching
//! on the criterion; values are pushed as parameters (`?N`).

use crate::model::{CohortSpec, CohortUnit, Criterion, DateRange, NumRange, Rule};

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Num(f64),
}

/// Where a criterion is evaluated: on a study row (`st`, `p`) or on a series
/// row (`s`, `st`, `p`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    Study,
    Series,
}

/// At which level an attribute lives.
pub(super) enum Level {
    Patient,
    Study,
    Series,
    Instance,
}

struct Builder {
    params: Vec<Param>,
    /// Aliases handed out for other studies of the patient (follow-up,
    /// first/last), so nested ones never collide.
    aliases: usize,
}

impl Builder {
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("?{}", self.params.len())
    }

    fn expr(&mut self, c: &Criterion, scope: Scope) -> String {
        match c {
            Criterion::All(v) if v.is_empty() => "1".into(),
            Criterion::Any(v) if v.is_empty() => "0".into(),
            Criterion::All(v) => self.join(v, " AND ", scope),
            Criterion::Any(v) => self.join(v, " OR ", scope),
            Criterion::Not(c) => format!("NOT ({})", self.expr(c, scope)),
            Criterion::FirstOf(c) => self.extreme(c, "<"),
            Criterion::LastOf(c) => self.extreme(c, ">"),
            Criterion::FollowUp(f) => {
                let alias = self.alias();
                let inner = rebind_study(&self.expr(&f.criterion, Scope::Study), &alias);
                let mut window = Vec::new();
                let gap = format!("(julianday({alias}.study_date) - julianday(st.study_date))");
                if let Some(min) = f.min_days {
                    window.push(format!("{gap} >= {}", self.bind(Param::Num(min))));
                }
                if let Some(max) = f.max_days {
                    window.push(format!("{gap} <= {}", self.bind(Param::Num(max))));
                }
                format!(
                    "EXISTS (SELECT 1 FROM studies {alias} WHERE {alias}.patient_ref = st.patient_ref
                     AND {alias}.id <> st.id AND {alias}.study_date IS NOT NULL AND st.study_date IS NOT NULL
                     AND {} AND ({inner}))",
                    window.join(" AND ")
                )
            }
            Criterion::Contrast(false) => {
                format!("NOT ({})", self.expr(&Criterion::Contrast(true), scope))
            }
            // On a study row, use the study's precomputed facts when known
            // (no subquery per study); fall back to the subquery when not.
            Criterion::Modality(v) if scope == Scope::Study => {
                let exact = self.fallback(c, scope);
                let fast = self.in_set("st.facts_modalities", v);
                format!("(CASE WHEN st.facts_modalities IS NULL THEN {exact} ELSE {fast} END)")
            }
            Criterion::BodyPart(v) if scope == Scope::Study => {
                let exact = self.fallback(c, scope);
                let fast = self.in_set("st.facts_body_parts", v);
                format!("(CASE WHEN st.facts_body_parts IS NULL THEN {exact} ELSE {fast} END)")
            }
            Criterion::Contrast(true) if scope == Scope::Study => {
                let exact = self.fallback(c, scope);
                format!("(CASE WHEN st.facts_contrast IS NULL THEN {exact} ELSE st.facts_contrast = 1 END)")
            }
            other => {
                let (level, cond) = self.condition(other, scope);
                wrap(level, scope, cond)
            }
        }
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("ost{}", self.aliases)
    }

    /// This study matches `c` and no other study of the patient that
    /// matches is earlier (`<`) or later (`>`); ties broken by row id.
    fn extreme(&mut self, c: &Criterion, cmp: &str) -> String {
        let here = self.expr(c, Scope::Study);
        let alias = self.alias();
        let other = rebind_study(&self.expr(c, Scope::Study), &alias);
        format!(
            "(({here}) AND NOT EXISTS (SELECT 1 FROM studies {alias} WHERE {alias}.patient_ref = st.patient_ref
              AND {alias}.id <> st.id AND ({alias}.study_date {cmp} st.study_date
                OR (coalesce({alias}.study_date, '') = coalesce(st.study_date, '') AND {alias}.id {cmp} st.id))
              AND ({other})))"
        )
    }

    /// The subquery form of a series- or image-level criterion.
    fn fallback(&mut self, c: &Criterion, scope: Scope) -> String {
        let (level, cond) = self.condition(c, scope);
        wrap(level, scope, cond)
    }

    /// Whether a `,A,B,` set column holds any of the values.
    fn in_set(&mut self, col: &str, values: &[String]) -> String {
        let parts: Vec<String> = values
            .iter()
            .map(|v| {
                let p = self.bind(Param::Text(format!(",{},", v.trim().to_uppercase())));
                format!("instr({col}, {p}) > 0")
            })
            .collect();
        format!("({})", parts.join(" OR "))
    }

    fn join(&mut self, v: &[Criterion], sep: &str, scope: Scope) -> String {
        let parts: Vec<String> = v.iter().map(|c| self.expr(c, scope)).collect();
        format!("({})", parts.join(sep))
    }

    fn any_of(&mut self, col: &str, values: &[String]) -> String {
        let json = serde_json::to_string(
            &values
                .iter()
                .map(|v| v.trim().to_uppercase())
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|_| "[]".into());
        let p = self.bind(Param::Text(json));
        format!("upper({col}) IN (SELECT value FROM json_each({p}))")
    }

    fn range(&mut self, col: &str, r: &NumRange) -> String {
        let mut parts = Vec::new();
        if let Some(min) = r.min {
            parts.push(format!("{col} >= {}", self.bind(Param::Num(min))));
        }
        if let Some(max) = r.max {
            parts.push(format!("{col} <= {}", self.bind(Param::Num(max))));
        }
        format!("({})", parts.join(" AND "))
    }

    fn dates(&mut self, col: &str, r: &DateRange) -> String {
        let mut parts = Vec::new();
        if let Some(from) = &r.from {
            parts.push(format!("{col} >= {}", self.bind(Param::Text(from.clone()))));
        }
        if let Some(to) = &r.to {
            parts.push(format!("{col} <= {}", self.bind(Param::Text(to.clone()))));
        }
        format!("({})", parts.join(" AND "))
    }

    /// Every word must start a word of the text (case-insensitive; `%`,
    /// `_` and `\` in the query are literal).
    fn words(&mut self, col: &str, query: &str) -> String {
        // FTS5 over the distinct texts (`text_terms`), queried once per
        // statement: each word becomes a quoted prefix term, so FTS5 syntax
        // in user input is only ever text. Words without a letter or digit
        // cannot match a token and are dropped; if none is left, nothing
        // matches.
        let terms: Vec<String> = query
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
            .collect();
        if terms.is_empty() {
            return "0".into();
        }
        let p = self.bind(Param::Text(terms.join(" AND ")));
        // A missing text is unknown (NULL), as every other missing value:
        // bare `IN` would make it false when no text matches at all and
        // unknown otherwise, so the answer for one row would hang on the
        // others.
        format!(
            "(CASE WHEN {col} IS NOT NULL THEN {col} IN (SELECT text FROM text_terms WHERE text_terms MATCH {p}) END)"
        )
    }

    /// A linked value exists for the patient (or the study's accession
    /// number) and meets the condition.
    fn ehr(&mut self, e: &crate::model::EhrCondition) -> String {
        let dataset = self.bind(Param::Text(e.dataset.clone()));
        let column = self.bind(Param::Text(e.column.clone()));
        let mut conds = Vec::new();
        if let Some(values) = &e.any_of {
            conds.push(self.any_of("e.value_text", values));
        }
        for (bound, op) in [(&e.min, ">="), (&e.max, "<=")] {
            match bound {
                Some(serde_json::Value::Number(n)) => {
                    let p = self.bind(Param::Num(n.as_f64().unwrap_or(f64::NAN)));
                    conds.push(format!("e.value_num {op} {p}"));
                }
                Some(serde_json::Value::String(t)) => {
                    let p = self.bind(Param::Text(t.clone()));
                    conds.push(format!("e.value_text {op} {p}"));
                }
                _ => {}
            }
        }
        let cond = if conds.is_empty() {
            "1".to_string()
        } else {
            conds.join(" AND ")
        };
        format!(
            "EXISTS (SELECT 1 FROM ehr_values e JOIN ehr_datasets d ON d.id = e.dataset_ref
             WHERE d.name = {dataset} AND e.column_name = {column}
               AND e.key = CASE d.key_kind WHEN 'patient_id' THEN p.patient_id ELSE st.accession_number END
               AND (e.issuer IS NULL OR e.issuer = p.issuer)
               AND {cond})"
        )
    }

    fn finding(&mut self, f: &crate::model::FindingCondition) -> String {
        let name = self.bind(Param::Text(f.name.clone()));
        let positive = format!(
            "EXISTS (SELECT 1 FROM report_findings rf JOIN finding_rules fr ON fr.id = rf.finding_ref
             WHERE fr.name = {name} AND rf.accession = st.accession_number AND rf.mention = 'positive')"
        );
        if f.present {
            positive
        } else {
            format!("(EXISTS (SELECT 1 FROM reports r WHERE r.accession = st.accession_number) AND NOT {positive})")
        }
    }

    /// A stored series feature in range, computed from the series' files
    /// as indexed now (`biomarker::SOURCE_DIGEST_SQL`).
    fn feature(&mut self, f: &crate::model::FeatureCondition) -> String {
        let name = self.bind(Param::Text(f.name.trim().to_string()));
        let range = self.range("sf.value", &f.range);
        format!(
            "EXISTS (SELECT 1 FROM series_features sf WHERE sf.series_uid = s.series_uid
               AND sf.name = {name} AND {range}
               AND sf.source_digest = {})",
            crate::biomarker::SOURCE_DIGEST_SQL
        )
    }

    fn condition(&mut self, c: &Criterion, scope: Scope) -> (Level, String) {
        let instances_of_study = "(SELECT count(*) FROM instances ci JOIN series cs ON cs.id = ci.series_ref WHERE cs.study_ref = st.id)";
        match c {
            Criterion::Modality(v) => (Level::Series, self.any_of("s.modality", v)),
            Criterion::BodyPart(v) => (Level::Series, self.any_of("s.body_part", v)),
            Criterion::Institution(v) => (Level::Series, self.any_of("s.institution_name", v)),
            Criterion::Station(v) => (Level::Series, self.any_of("s.station_name", v)),
            Criterion::Manufacturer(v) => (Level::Series, self.any_of("s.manufacturer", v)),
            Criterion::Model(v) => (Level::Series, self.any_of("s.model_name", v)),
            Criterion::SeriesDescription(t) => (Level::Series, self.words("s.description", t)),
            Criterion::ProtocolName(t) => (Level::Series, self.words("s.protocol_name", t)),
            Criterion::Sex(v) => (Level::Patient, self.any_of("p.sex", v)),
            Criterion::StudyDate(r) => (Level::Study, self.dates("st.study_date", r)),
            Criterion::Age(r) => (Level::Study, self.range("st.age_at_study_years", r)),
            Criterion::StudyDescription(t) => (Level::Study, self.words("st.description", t)),
            Criterion::SeriesCount(r) => (
                Level::Study,
                self.range(
                    "(SELECT count(*) FROM series cs WHERE cs.study_ref = st.id)",
                    r,
                ),
            ),
            Criterion::InstanceCount(r) => match scope {
                Scope::Study => (Level::Study, self.range(instances_of_study, r)),
                Scope::Series => (
                    Level::Series,
                    self.range(
                        "(SELECT count(*) FROM instances ci WHERE ci.series_ref = s.id)",
                        r,
                    ),
                ),
            },
            Criterion::SopClass(v) => (Level::Instance, self.any_of("i.sop_class_uid", v)),
            Criterion::SliceThicknessMm(r) => {
                (Level::Instance, self.range("i.slice_thickness_mm", r))
            }
            Criterion::Contrast(_) => (
                Level::Instance,
                // Exactly the partial index's condition (migration 5), so the
                // planner can use it: NULL <> '' is not true either.
                "i.contrast_agent <> ''".into(),
            ),
            Criterion::Ehr(e) => (Level::Study, self.ehr(e)),
            Criterion::Finding(f) => (Level::Study, self.finding(f)),
            Criterion::Feature(f) => (Level::Series, self.feature(f)),
            // Handled by `expr` before reaching here.
            Criterion::All(_)
            | Criterion::Any(_)
            | Criterion::Not(_)
            | Criterion::FirstOf(_)
            | Criterion::LastOf(_)
            | Criterion::FollowUp(_) => (Level::Study, "1".into()),
        }
    }
}

/// Lifts a condition to the scope: "has at least one matching series /
/// image" when it lives below the row being filtered.
fn wrap(level: Level, scope: Scope, cond: String) -> String {
    // Correlated `EXISTS`, not `IN (SELECT ...)`: with the cheap row-level
    // tests first, the subquery runs only for rows that passed them
    // (measured: the IN form was 1.8x slower on 100k studies).
    match (level, scope) {
        (Level::Patient | Level::Study, _) => cond,
        (Level::Series, Scope::Series) => cond,
        (Level::Series, Scope::Study) => {
            format!("EXISTS (SELECT 1 FROM series s WHERE s.study_ref = st.id AND {cond})")
        }
        (Level::Instance, Scope::Series) => {
            format!("EXISTS (SELECT 1 FROM instances i WHERE i.series_ref = s.id AND {cond})")
        }
        (Level::Instance, Scope::Study) => format!(
            "EXISTS (SELECT 1 FROM series s JOIN instances i ON i.series_ref = s.id WHERE s.study_ref = st.id AND {cond})"
        ),
    }
}

/// Rewrites references to the study alias `st` as `alias`, so that a
/// criterion can be evaluated on another study of the same patient. Only
/// `st.` at the start of an identifier is rewritten (`cs.study_ref` is not).
fn rebind_study(expr: &str, alias: &str) -> String {
    let mut out = String::with_capacity(expr.len() + 16);
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if boundary && expr[i..].starts_with("st.") {
            out.push_str(alias);
            out.push('.');
            i += 3;
        } else {
            let ch = expr[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The SQL that selects a cohort's entries, for some prefix or subset of
/// its rules.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledCohort {
    /// `SELECT <unit id> ...` of the matching entries.
    pub entries_sql: String,
    /// `SELECT id, patient_ref` of the studies that make up the content
    /// (`None` for a series cohort: its content is the series themselves).
    pub content_studies_sql: Option<String>,
    pub params: Vec<Param>,
    pub unit: CohortUnit,
    /// A patient cohort evaluated relative to its index studies (DECISIONS
    /// 32): its patients are exactly the patients of its content.
    pub index_event: bool,
}

/// Whether a criterion picks at most one study per patient: `first_of` /
/// `last_of`, alone or inside an `all` group.
fn picks_index_study(c: &Criterion) -> bool {
    match c {
        Criterion::FirstOf(_) | Criterion::LastOf(_) => true,
        Criterion::All(v) => v.iter().any(picks_index_study),
        _ => false,
    }
}

/// Whether a patient cohort is evaluated relative to an index study
/// (DECISIONS 32, ATLAS's entry event): some inclusion rule is an index
/// event (`first_of` / `last_of`, alone or inside an `all` group). Then
/// every rule is evaluated on that same study (follow-up windows relative to
/// it, exclusions on it) and a patient qualifies when their index study
/// passes them all: the patient cohort is the study cohort counted by
/// patient, with the index studies as content. Without one, each rule of a
/// patient cohort matches any study of the patient.
pub fn has_index_event(spec: &CohortSpec) -> bool {
    spec.unit == CohortUnit::Patient
        && spec
            .rules
            .iter()
            .any(|r| !r.exclude && picks_index_study(&r.criterion))
}

/// Compiles the cohort restricted to `rules` (all of them for the cohort
/// itself; a prefix or a single rule to check one step of the attrition).
/// Whether a patient cohort is evaluated relative to an index study is
/// decided by the whole cohort (`spec.rules`), so that a prefix counts what
/// the funnel counts.
pub fn compile(spec: &CohortSpec, rules: &[&Rule]) -> CompiledCohort {
    let mut b = Builder {
        params: Vec::new(),
        aliases: 0,
    };
    let conds = |b: &mut Builder, scope: Scope| -> String {
        let mut parts: Vec<String> = rules
            .iter()
            .map(|r| {
                let e = b.expr(&r.criterion, scope);
                if r.exclude {
                    // An unknown value (NULL) does not match, so it is not
                    // removed: as in the funnel and the patient unit.
                    format!("NOT coalesce(({e}), 0)")
                } else {
                    format!("({e})")
                }
            })
            .collect();
        // Cheap row-level tests first: SQLite evaluates AND terms in order,
        // so the subqueries run only for rows that passed them. (Parameter
        // numbers are fixed when bound, so reordering the text is safe.)
        parts.sort_by_key(|p| p.contains("SELECT"));
        if parts.is_empty() {
            "1".into()
        } else {
            parts.join(" AND ")
        }
    };
    match spec.unit {
        CohortUnit::Study => {
            let w = conds(&mut b, Scope::Study);
            // NOT INDEXED: a plain scan beats the date index for the broad
            // ranges cohorts use (measured 10x on 100k studies).
            let sql = format!(
                "SELECT st.id, st.patient_ref FROM studies st NOT INDEXED JOIN patients p ON p.id = st.patient_ref WHERE {w}"
            );
            CompiledCohort {
                entries_sql: sql.clone(),
                content_studies_sql: Some(sql),
                params: b.params,
                unit: spec.unit,
                index_event: false,
            }
        }
        CohortUnit::Series => {
            let w = conds(&mut b, Scope::Series);
            let sql = format!(
                "SELECT s.id, s.study_ref, st.patient_ref FROM series s JOIN studies st ON st.id = s.study_ref
                 JOIN patients p ON p.id = st.patient_ref WHERE {w}"
            );
            CompiledCohort {
                entries_sql: sql,
                content_studies_sql: None,
                params: b.params,
                unit: spec.unit,
                index_event: false,
            }
        }
        CohortUnit::Patient if has_index_event(spec) => {
            // Every rule on the same study, as in a study cohort: the
            // studies that pass are the index studies (at most one per
            // patient once the index event is among the rules), and the
            // patients are theirs.
            let w = conds(&mut b, Scope::Study);
            let content = format!(
                "SELECT st.id, st.patient_ref FROM studies st NOT INDEXED JOIN patients p ON p.id = st.patient_ref WHERE {w}"
            );
            CompiledCohort {
                entries_sql: format!("SELECT DISTINCT patient_ref AS id FROM ({content})"),
                content_studies_sql: Some(content),
                params: b.params,
                unit: spec.unit,
                index_event: true,
            }
        }
        CohortUnit::Patient => {
            // No index event: a patient qualifies when each inclusion rule
            // matches one of their studies and no exclusion rule matches any.
            // Each rule's expression is built once, so that its parameters
            // are bound once and shared by both statements.
            let exprs: Vec<String> = rules
                .iter()
                .map(|r| b.expr(&r.criterion, Scope::Study))
                .collect();
            let mut parts = Vec::new();
            for (r, e) in rules.iter().zip(&exprs) {
                let exists = format!(
                    "EXISTS (SELECT 1 FROM studies st WHERE st.patient_ref = p.id AND {e})"
                );
                parts.push(if r.exclude {
                    format!("NOT {exists}")
                } else {
                    exists
                });
            }
            let w = if parts.is_empty() {
                "1".into()
            } else {
                parts.join(" AND ")
            };
            let patients = format!("SELECT p.id FROM patients p WHERE {w}");
            // Content: the qualifying patients' studies that meet every
            // inclusion rule (not every image of the patient).
            let include: Vec<String> = rules
                .iter()
                .zip(&exprs)
                .filter(|(r, _)| !r.exclude)
                .map(|(_, e)| format!("({e})"))
                .collect();
            let inc = if include.is_empty() {
                "1".into()
            } else {
                include.join(" AND ")
            };
            let content = format!(
                "SELECT st.id, st.patient_ref FROM studies st JOIN patients p ON p.id = st.patient_ref
                 WHERE st.patient_ref IN ({patients}) AND {inc}"
            );
            CompiledCohort {
                entries_sql: patients,
                content_studies_sql: Some(content),
                params: b.params,
                unit: spec.unit,
                index_event: false,
            }
        }
    }
}

/// One statement that evaluates every rule once per candidate row, for the
/// attrition funnel (one scan instead of one query per step). Each row is
/// `key, candidate, r1, r2, ...`: `key` the entry the row belongs to (rows
/// of one entry are adjacent), `candidate` 0 when the row can pass nothing
/// (a patient without studies), and each `rN` 1 when the rule's criterion
/// matches (exclusion is applied by the caller; NULL does not match). An
/// entry passes a set of rules when one of its rows passes them all.
///
/// One row per entry, except in a patient cohort with an index event
/// ([`has_index_event`]): there a row per study of the patient, since every
/// rule is evaluated on the same (index) study, as in [`compile`].
pub fn compile_rule_flags(spec: &CohortSpec) -> (String, Vec<Param>) {
    let mut b = Builder {
        params: Vec::new(),
        aliases: 0,
    };
    let index_event = has_index_event(spec);
    let cols: Vec<String> = match spec.unit {
        CohortUnit::Patient if !index_event => spec
            .rules
            .iter()
            .map(|r| {
                let e = b.expr(&r.criterion, Scope::Study);
                format!("EXISTS (SELECT 1 FROM studies st WHERE st.patient_ref = p.id AND {e})")
            })
            .collect(),
        CohortUnit::Patient | CohortUnit::Study => spec
            .rules
            .iter()
            .map(|r| format!("({})", b.expr(&r.criterion, Scope::Study)))
            .collect(),
        CohortUnit::Series => spec
            .rules
            .iter()
            .map(|r| format!("({})", b.expr(&r.criterion, Scope::Series)))
            .collect(),
    };
    let head = match spec.unit {
        CohortUnit::Patient if index_event => "p.id, st.id IS NOT NULL",
        CohortUnit::Patient => "p.id, 1",
        CohortUnit::Study => "st.id, 1",
        CohortUnit::Series => "s.id, 1",
    };
    let from = match spec.unit {
        // Patients first (in id order, so each patient's rows are adjacent),
        // each with every study; a patient without studies is one row that
        // passes nothing but still counts in the population.
        CohortUnit::Patient if index_event => {
            "patients p LEFT JOIN studies st ON st.patient_ref = p.id ORDER BY p.id"
        }
        CohortUnit::Patient => "patients p",
        CohortUnit::Study => "studies st NOT INDEXED JOIN patients p ON p.id = st.patient_ref",
        CohortUnit::Series => "series s JOIN studies st ON st.id = s.study_ref JOIN patients p ON p.id = st.patient_ref",
    };
    let select = std::iter::once(head.to_string())
        .chain(cols)
        .collect::<Vec<_>>()
        .join(", ");
    (format!("SELECT {select} FROM {from}"), b.params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_event_is_an_inclusion_first_or_last_of_in_a_patient_cohort() {
        let ct = || Criterion::Modality(vec!["CT".into()]);
        let spec = |unit, exclude, criterion| CohortSpec {
            schema_version: 1,
            name: "x".into(),
            description: String::new(),
            unit,
            rules: vec![Rule {
                name: "r".into(),
                exclude,
                criterion,
            }],
        };
        let first = || Criterion::FirstOf(Box::new(ct()));
        assert!(has_index_event(&spec(CohortUnit::Patient, false, first())));
        assert!(has_index_event(&spec(
            CohortUnit::Patient,
            false,
            Criterion::All(vec![ct(), Criterion::LastOf(Box::new(ct()))])
        )));
        assert!(!has_index_event(&spec(CohortUnit::Study, false, first())));
        assert!(!has_index_event(&spec(CohortUnit::Patient, true, first())));
        assert!(!has_index_event(&spec(
            CohortUnit::Patient,
            false,
            Criterion::Any(vec![ct(), first()])
        )));
        // With one, the patient cohort is the study cohort counted by
        // patient, and its funnel has a row per study of each patient.
        let s = spec(CohortUnit::Patient, false, first());
        let rules: Vec<&Rule> = s.rules.iter().collect();
        let c = compile(&s, &rules);
        assert!(c.index_event);
        assert!(c.entries_sql.starts_with("SELECT DISTINCT patient_ref"));
        let (flags, _) = compile_rule_flags(&s);
        assert!(flags.contains("LEFT JOIN studies st ON st.patient_ref = p.id ORDER BY p.id"));
    }

    #[test]
    fn user_text_only_reaches_parameters() {
        let hostile = "'; DROP TABLE studies; --";
        let spec = CohortSpec {
            schema_version: 1,
            name: "x".into(),
            description: String::new(),
            unit: CohortUnit::Study,
            rules: vec![Rule {
                name: hostile.into(),
                exclude: false,
                criterion: Criterion::All(vec![
                    Criterion::Modality(vec![hostile.into()]),
                    Criterion::StudyDescription(format!("{hostile} 100%")),
                    Criterion::Feature(crate::model::FeatureCondition {
                        name: hostile.into(),
                        range: NumRange {
                            min: Some(12345.5),
                            max: None,
                        },
                    }),
                ]),
            }],
        };
        let rules: Vec<&Rule> = spec.rules.iter().collect();
        let c = compile(&spec, &rules);
        assert!(!c.entries_sql.contains("DROP"));
        assert!(!c.entries_sql.contains("100"));
        assert!(!c.entries_sql.contains("12345"));
        assert!(c.params.contains(&Param::Num(12345.5)));
        assert!(c
            .params
            .iter()
            .any(|p| matches!(p, Param::Text(t) if t.contains("DROP"))));
        assert!(c
            .params
            .iter()
            .any(|p| matches!(p, Param::Text(t) if t.contains("\"100%\"*"))));
    }
}
