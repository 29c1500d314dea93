//! Running analyses: counts from the index (SQL aggregation over a saved
//! cohort's studies, or all of them) or from the user's CSV, statistics
//! and suppression from `crate::analysis`, with the specification, the
//! cohort revisions and an index snapshot attached.

use super::job::{self, JobHandle};
use super::{CancelToken, Engine, EngineError};
use crate::analysis::{
    self, AnalysisError, AnalysisResult, AnalysisSpec, CohortUsed, CountRow, CountTable,
    ResultBody, SavedAnalysis, Source, Stratum, Suppression, Unit, SPEC_VERSION, SUPPRESSION_RULE,
};
use crate::cohort::{self, CompiledCohort};
use crate::model::Rule;
use crate::stats::{BandCount, Standard};
use crate::store::{self, analysis::StudySet};
use std::path::Path;
use std::sync::Arc;

impl Engine {
    /// Runs an analysis. `release`: suppressed cells lose their numbers
    /// (always so in an aggregate-only workspace).
    pub fn run_analysis(
        &self,
        spec: &AnalysisSpec,
        release: bool,
    ) -> Result<AnalysisResult, EngineError> {
        let privacy = self.privacy()?;
        run(
            Some(self),
            spec,
            release || privacy.aggregate_only,
            privacy.release_threshold,
            None,
        )
    }

    /// Runs an analysis on a worker thread; cancelling interrupts the
    /// running SQL statement at once.
    pub fn spawn_analysis(
        &self,
        spec: AnalysisSpec,
        release: bool,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> JobHandle<(), AnalysisResult> {
        let engine = self.clone();
        job::spawn("pacs-analysis-job", wake, move |cancel, _| {
            let privacy = engine.privacy()?;
            let result = run(
                Some(&engine),
                &spec,
                release || privacy.aggregate_only,
                privacy.release_threshold,
                Some(cancel),
            );
            if cancel.is_cancelled() {
                return Err(EngineError::Analysis(AnalysisError::Input(
                    "the analysis was cancelled".into(),
                )));
            }
            result
        })
    }

    /// Runs an analysis whose counts all come from CSV files, without a
    /// workspace (the default release threshold, 10).
    pub fn run_analysis_on_counts(
        spec: &AnalysisSpec,
        release: bool,
    ) -> Result<AnalysisResult, EngineError> {
        run(None, spec, release, crate::privacy::DEFAULT_THRESHOLD, None)
    }
}

/// Counts per period (and split) of `unit` in an index source.
fn trend_table(
    engine: &Engine,
    source: &Source,
    t: &analysis::TrendSpec,
    unit: Unit,
    cohorts: &mut Vec<CohortUsed>,
    cancel: Option<&CancelToken>,
) -> Result<(CountTable, u64), EngineError> {
    let compiled = engine.compiled(source, cohorts)?;
    let set = study_set(compiled.as_ref());
    let conn = store::analysis::Interruptible::open(&engine.db, cancel)?;
    let rows = store::analysis::trend_counts(
        &conn,
        &engine.db,
        &set,
        unit,
        t.time,
        t.split.as_ref(),
        &t.age_bands,
    )?;
    let undated = store::analysis::undated(&conn, &engine.db, &set)?;
    let mut columns = vec!["period".to_string()];
    columns.extend(t.split.as_ref().map(Stratum::name));
    let rows = rows
        .into_iter()
        .map(|(period, label, n)| CountRow {
            labels: if t.split.is_some() {
                vec![period, label]
            } else {
                vec![period]
            },
            events: n,
            denominator: None,
        })
        .collect();
    Ok((CountTable { columns, rows }, undated))
}

/// The workspace an index source needs.
fn workspace(engine: Option<&Engine>) -> Result<&Engine, EngineError> {
    engine.ok_or_else(|| {
        AnalysisError::Input(
            "this analysis reads the index (a cohort or the whole index) but there is no workspace; index an archive first, or give counts as a CSV (`counts_csv`)".into(),
        )
        .into()
    })
}

fn run(
    engine: Option<&Engine>,
    spec: &AnalysisSpec,
    release: bool,
    threshold: u64,
    cancel: Option<&CancelToken>,
) -> Result<AnalysisResult, EngineError> {
    let mut cohorts = Vec::new();
    let mut warnings = Vec::new();
    let result = match spec {
        AnalysisSpec::Trend(t) => {
            if let Some(s) = &t.split {
                s.check().map_err(AnalysisError::Input)?;
            }
            let (mut table, undated) = match &t.source {
                Source::CountsCsv(path) => (analysis::read_counts_csv(path)?, 0),
                source => trend_table(workspace(engine)?, source, t, t.unit, &mut cohorts, cancel)?,
            };
            if let Some(at) = table.column("period") {
                table.rows.retain(|r| {
                    let p = &r.labels[at];
                    t.from.as_deref().is_none_or(|f| p.as_str() >= f)
                        && t.to
                            .as_deref()
                            .is_none_or(|to| p.as_str() <= to || p.starts_with(to))
                });
            }
            let population = match (&t.population_csv, &t.denominator) {
                (Some(_), Some(_)) => {
                    return Err(AnalysisError::Input(
                        "give either `population_csv` or `denominator`, not both".into(),
                    )
                    .into())
                }
                (Some(csv), None) => Some(analysis::read_population_csv(csv)?),
                (None, Some(Source::CountsCsv(csv))) => Some(analysis::read_population_csv(csv)?),
                // Per period (and stratum): the denominator's patients
                // with a study in it.
                (None, Some(source)) => {
                    let (mut d, _) = trend_table(
                        workspace(engine)?,
                        source,
                        t,
                        Unit::Patients,
                        &mut cohorts,
                        cancel,
                    )?;
                    for r in &mut d.rows {
                        r.denominator = Some(r.events as f64);
                    }
                    Some(d)
                }
                (None, None) => None,
            };
            let mut r = analysis::trend(
                &table,
                population.as_ref(),
                t.per,
                t.time,
                t.level,
                threshold,
                release,
            )?;
            r.undated = undated;
            if undated > 0 {
                warnings.push(format!(
                    "{undated} studies have no usable study date and are not in the trend"
                ));
            }
            ResultBody::Trend(r)
        }
        AnalysisSpec::Prevalence(p) => {
            if p.strata.len() > 3 {
                return Err(
                    AnalysisError::Input("at most three strata can be crossed".into()).into(),
                );
            }
            for s in &p.strata {
                s.check().map_err(AnalysisError::Input)?;
            }
            let table = match &p.denominator {
                Source::CountsCsv(path) => analysis::read_counts_csv(path)?,
                source => {
                    let outcome = p.outcome.as_deref().ok_or_else(|| {
                            AnalysisError::Input(
                                "prevalence on the index needs an `outcome`: the name of a saved cohort (define it by findings, EHR values, modalities...)".into(),
                            )
                        })?;
                    let engine = workspace(engine)?;
                    let den = engine.compiled(source, &mut cohorts)?;
                    let out = engine
                        .compiled(&Source::Cohort(outcome.to_string()), &mut cohorts)?
                        .expect("a cohort source compiles to a cohort");
                    let conn = store::analysis::Interruptible::open(&engine.db, cancel)?;
                    let rows = store::analysis::prevalence_counts(
                        &conn,
                        &engine.db,
                        &study_set(den.as_ref()),
                        &StudySet::Cohort(&out),
                        p.unit,
                        &p.strata,
                        &p.age_bands,
                    )?;
                    CountTable {
                        columns: if p.strata.is_empty() {
                            vec!["all".into()]
                        } else {
                            p.strata.iter().map(Stratum::name).collect()
                        },
                        rows: rows
                            .into_iter()
                            .map(|(labels, n, x)| CountRow {
                                labels,
                                events: x,
                                denominator: Some(n as f64),
                            })
                            .collect(),
                    }
                }
            };
            let order: Option<Vec<String>> = match p.strata.as_slice() {
                [Stratum::AgeGroup] => Some(p.age_bands.iter().map(|b| b.to_string()).collect()),
                [Stratum::Feature { cuts, .. }] => Some(Stratum::feature_bands(cuts)),
                [Stratum::Year] => {
                    let mut years: Vec<String> =
                        table.rows.iter().map(|r| r.labels[0].clone()).collect();
                    years.retain(|y| y != "unknown");
                    years.sort();
                    Some(years)
                }
                _ => None,
            };
            ResultBody::Prevalence(analysis::prevalence(
                &table,
                p.interval,
                p.reference.as_deref(),
                order.as_deref(),
                p.level,
                threshold,
                release,
            )?)
        }
        AnalysisSpec::Standardised(s) => {
            let standard = load_standard(&s.standard)?;
            let counts = match &s.cases {
                Source::CountsCsv(path) => {
                    analysis::bands_from_table(&analysis::read_counts_csv(path)?)?
                }
                source => {
                    let population = s.population_csv.as_deref().ok_or_else(|| {
                            AnalysisError::Input("standardising a cohort needs `population_csv` (age_lo, age_hi, population: the population at risk by band)".into())
                        })?;
                    let population = analysis::read_population_csv(population)?;
                    let population = analysis::bands_from_table(&population)?;
                    let engine = workspace(engine)?;
                    let compiled = engine.compiled(source, &mut cohorts)?;
                    let bands: Vec<_> = standard.bands.iter().map(|b| b.0).collect();
                    let conn = store::analysis::Interruptible::open(&engine.db, cancel)?;
                    let (cases, unknown) = store::analysis::patients_by_age_band(
                        &conn,
                        &engine.db,
                        &study_set(compiled.as_ref()),
                        &bands,
                    )?;
                    if unknown > 0 {
                        warnings.push(format!("{unknown} patients have no known age at their first study and are not counted"));
                    }
                    if population.iter().map(|b| b.band).ne(bands.iter().copied()) {
                        return Err(AnalysisError::Input(format!(
                                "the population's age bands differ from the standard's ({}): use the same bands in cases, population and standard",
                                bands.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", ")
                            ))
                            .into());
                    }
                    population
                        .iter()
                        .zip(cases)
                        .map(|(p, events)| BandCount {
                            band: p.band,
                            events,
                            population: p.population,
                        })
                        .collect()
                }
            };
            ResultBody::Standardised(analysis::standardised(
                &counts, &standard, s.per, s.level, threshold, release,
            )?)
        }
    };
    Ok(AnalysisResult {
        spec_version: SPEC_VERSION,
        spec: spec.clone(),
        app_version: env!("CARGO_PKG_VERSION").into(),
        computed_at: crate::clock::now_utc(),
        index_snapshot: engine.and_then(|e| e.index_snapshot().ok()),
        cohorts,
        suppression: Suppression {
            threshold,
            released: release,
            rule: SUPPRESSION_RULE.into(),
        },
        result,
        warnings,
    })
}

impl Engine {
    /// A saved cohort compiled (None for the whole index), recording the
    /// revision used.
    fn compiled(
        &self,
        source: &Source,
        used: &mut Vec<CohortUsed>,
    ) -> Result<Option<CompiledCohort>, EngineError> {
        match source {
            Source::Index | Source::CountsCsv(_) => Ok(None),
            Source::Cohort(name) => {
                let saved = self.cohort(name, None)?;
                used.push(CohortUsed {
                    name: saved.name.clone(),
                    revision: saved.revision,
                });
                let rules: Vec<&Rule> = saved.spec.rules.iter().collect();
                Ok(Some(cohort::compile(&saved.spec, &rules)))
            }
        }
    }

    /// Saves a result (with its specification) in the workspace under
    /// `name`; returns its id.
    pub fn save_analysis(&self, name: &str, result: &AnalysisResult) -> Result<i64, EngineError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(input("give the analysis a name to save it under"));
        }
        let encode = |e: serde_json::Error| input(format!("cannot encode the analysis: {e}"));
        let spec = serde_json::to_string(&result.spec).map_err(encode)?;
        let json = serde_json::to_string(result).map_err(encode)?;
        let conn = store::open_rw(&self.db)?;
        Ok(store::analysis_runs::insert(
            &conn,
            &self.db,
            &store::analysis_runs::NewRun {
                name,
                kind: result.spec.kind(),
                spec: &spec,
                result: &json,
                released: result.suppression.released,
                app_version: &result.app_version,
                index_snapshot: result.index_snapshot.as_deref(),
                computed_at: &result.computed_at,
            },
        )?)
    }

    /// The saved analyses, newest first.
    pub fn saved_analyses(&self) -> Result<Vec<SavedAnalysis>, EngineError> {
        let conn = store::open_rw(&self.db)?;
        Ok(store::analysis_runs::list(&conn, &self.db)?)
    }

    /// A saved analysis's result, as it was computed.
    pub fn saved_analysis(&self, id: i64) -> Result<AnalysisResult, EngineError> {
        let conn = store::open_rw(&self.db)?;
        let json = store::analysis_runs::result_json(&conn, &self.db, id)?.ok_or_else(|| {
            input(format!(
                "no saved analysis {id}; `pacs-cohort analyses list` shows the saved ones"
            ))
        })?;
        serde_json::from_str(&json).map_err(|e| {
            input(format!(
                "saved analysis {id} cannot be read by this version of the app ({e}); its specification can still be re-run from `analyses list --json`"
            ))
        })
    }

    /// Deletes a saved analysis.
    pub fn delete_saved_analysis(&self, id: i64) -> Result<(), EngineError> {
        let conn = store::open_rw(&self.db)?;
        if store::analysis_runs::delete(&conn, &self.db, id)? {
            Ok(())
        } else {
            Err(input(format!("no saved analysis {id}")))
        }
    }

    /// Writes `result` for release into a new folder under `parent`
    /// (plots in `view` first, CSV, result and specification) and returns
    /// it. A result computed with small cells shown is computed again with
    /// them suppressed: nothing unsuppressed leaves through an export.
    pub fn export_analysis(
        &self,
        parent: &Path,
        result: &AnalysisResult,
        view: analysis::chart::ChartView,
    ) -> Result<std::path::PathBuf, EngineError> {
        let released;
        let result = if result.suppression.released {
            result
        } else {
            released = self.run_analysis(&result.spec, true)?;
            &released
        };
        let stamp: String = result
            .computed_at
            .chars()
            .filter(|c| c.is_ascii_digit())
            .collect();
        let base = format!("analysis-{}-{stamp}", result.spec.kind());
        let mut dir = parent.join(&base);
        let mut n = 1;
        while dir.exists() {
            n += 1;
            dir = parent.join(format!("{base}-{n}"));
        }
        analysis::output::write_all(&dir, result, Some(view)).map_err(|e| input(e.to_string()))?;
        Ok(dir)
    }

    /// Whether the index changed since `result` was computed (its counts
    /// would differ on a re-run).
    pub fn index_changed_since(&self, result: &AnalysisResult) -> Result<bool, EngineError> {
        Ok(match &result.index_snapshot {
            Some(s) => self.index_snapshot()? != *s,
            None => false,
        })
    }

    /// Identifies the state of the index (cheaply: no counting).
    fn index_snapshot(&self) -> Result<String, EngineError> {
        let conn = store::open_ro(&self.db)?;
        Ok(store::analysis::snapshot(&conn, &self.db)?)
    }
}

fn input(message: impl Into<String>) -> EngineError {
    EngineError::Analysis(AnalysisError::Input(message.into()))
}

fn study_set(c: Option<&CompiledCohort>) -> StudySet<'_> {
    c.map_or(StudySet::Index, StudySet::Cohort)
}

/// A shipped standard by id, or a CSV file.
fn load_standard(which: &str) -> Result<Standard, AnalysisError> {
    if Standard::built_in_ids().contains(&which) {
        return Ok(Standard::built_in(which)?);
    }
    let path = Path::new(which);
    let text = std::fs::read_to_string(path).map_err(|e| {
        AnalysisError::Input(format!(
            "'{which}' is neither a shipped standard ({}) nor a readable CSV: {e}",
            Standard::built_in_ids().join(", ")
        ))
    })?;
    Ok(Standard::parse(which, &text)?)
}
