//! The analysis being set up, as the user edits it, and its translation
//! into the library's specification (and back, when a saved analysis is
//! opened). Every choice is a click; only dates, bands and CSV paths are
//! typed.

use eframe::egui;
use pacs_cohort::analysis::{
    AnalysisSpec, IntervalMethod, PrevalenceSpec, Source, StandardisedSpec, Stratum, TimeUnit,
    TrendSpec, Unit,
};
use pacs_cohort::stats::AgeBand;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Kind {
    #[default]
    Trend,
    Prevalence,
    Standardised,
}

/// Where counts come from, as chosen in a combo box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum From {
    #[default]
    Index,
    Cohort(String),
    /// A CSV of counts (the path typed or picked).
    Csv,
}

/// How a trend's counts become rates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Rate {
    #[default]
    Counts,
    /// Per `per` patients of this cohort with a study in the period.
    Cohort(String),
    /// Per `per` of a population CSV (period, split, population).
    PopulationCsv,
}

/// Which CSV path field a file dialog fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvField {
    Counts,
    Population,
    Standard,
}

/// The strata offered; the EHR column and the feature are placeholders
/// filled from the form's own fields (one of each per analysis).
fn strata_offered() -> [Stratum; 9] {
    [
        Stratum::Modality,
        Stratum::BodyPart,
        Stratum::Site,
        Stratum::Manufacturer,
        Stratum::Sex,
        Stratum::AgeGroup,
        Stratum::Year,
        Stratum::Ehr {
            dataset: String::new(),
            column: String::new(),
        },
        Stratum::Feature {
            name: String::new(),
            cuts: Vec::new(),
        },
    ]
}

pub fn stratum_title(s: &Stratum) -> &'static str {
    match s {
        Stratum::Modality => "modality",
        Stratum::BodyPart => "body part",
        Stratum::Site => "site (institution)",
        Stratum::Manufacturer => "manufacturer",
        Stratum::Sex => "sex",
        Stratum::AgeGroup => "age group",
        Stratum::Year => "year",
        Stratum::Ehr { .. } => "linked EHR column",
        Stratum::Feature { .. } => "image feature, in bands",
    }
}

/// The same kind of stratum (placeholders match their filled forms).
fn same_kind(a: &Stratum, b: &Stratum) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// The form's fields (persisted with the app's preferences).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Form {
    pub kind: Kind,
    pub from: From,
    pub counts_csv: String,
    pub unit: Unit,
    pub time: TimeUnit,
    pub split: Option<Stratum>,
    pub rate: Rate,
    pub population_csv: String,
    pub per: f64,
    pub first: String,
    pub last: String,
    pub outcome: Option<String>,
    pub strata: [Option<Stratum>; 3],
    pub interval: IntervalMethod,
    pub reference: String,
    /// "0-17, 18-39, 40-64, 65-79, 80+"
    pub bands: String,
    pub standard: String,
    pub standard_csv: String,
    pub per_standardised: f64,
    /// The EHR column a "linked EHR column" stratum reads.
    pub ehr_dataset: String,
    pub ehr_column: String,
    /// The feature an "image feature" stratum bands, and its cut points.
    pub feature: String,
    /// "5, 10, 20"
    pub feature_cuts: String,
}

impl Default for Form {
    fn default() -> Self {
        Form {
            kind: Kind::Trend,
            from: From::Index,
            counts_csv: String::new(),
            unit: Unit::Studies,
            time: TimeUnit::Year,
            split: None,
            rate: Rate::Counts,
            population_csv: String::new(),
            per: 1000.0,
            first: String::new(),
            last: String::new(),
            outcome: None,
            strata: [Some(Stratum::AgeGroup), None, None],
            interval: IntervalMethod::Wilson,
            reference: String::new(),
            bands: bands_text(&pacs_cohort::analysis::default_age_bands()),
            standard: "us2000-19".into(),
            standard_csv: String::new(),
            per_standardised: 100_000.0,
            ehr_dataset: String::new(),
            ehr_column: String::new(),
            feature: "laa950_percent".into(),
            feature_cuts: "5, 10, 20".into(),
        }
    }
}

fn bands_text(bands: &[AgeBand]) -> String {
    bands
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// "0-17, 18-39, 80+" as bands.
fn parse_bands(text: &str) -> Result<Vec<AgeBand>, String> {
    let bad = |t: &str| {
        format!("age band '{t}' is not like 40-64 or 80+ (bands are separated by commas)")
    };
    let mut out = Vec::new();
    for t in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let band = if let Some(lo) = t.strip_suffix('+') {
            AgeBand {
                lo: lo.trim().parse().map_err(|_| bad(t))?,
                hi: None,
            }
        } else if let Ok(age) = t.parse() {
            // One year of age, as the bands print it ("65").
            AgeBand {
                lo: age,
                hi: Some(age),
            }
        } else {
            let (lo, hi) = t.split_once('-').ok_or_else(|| bad(t))?;
            AgeBand {
                lo: lo.trim().parse().map_err(|_| bad(t))?,
                hi: Some(hi.trim().parse().map_err(|_| bad(t))?),
            }
        };
        if band.hi.is_some_and(|hi| hi < band.lo) {
            return Err(format!("age band '{t}' ends before it starts"));
        }
        if let Some(prev) = out.last().map(|b: &AgeBand| b.hi) {
            match prev {
                Some(hi) if band.lo > hi => {}
                _ => {
                    return Err(format!(
                        "age band '{t}' overlaps or precedes the one before it"
                    ))
                }
            }
        }
        out.push(band);
    }
    if out.is_empty() {
        return Err("give at least one age band, e.g. 0-39, 40-64, 65+".into());
    }
    Ok(out)
}

fn period(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn csv_path(text: &str, what: &str) -> Result<std::path::PathBuf, String> {
    let t = text.trim();
    if t.is_empty() {
        Err(format!("choose the {what} CSV file (Browse…)"))
    } else {
        Ok(t.into())
    }
}

impl Form {
    /// A stratum with its placeholder filled from the form's fields.
    fn filled(&self, s: &Stratum) -> Result<Stratum, String> {
        Ok(match s {
            Stratum::Ehr { .. } => {
                let (dataset, column) = (self.ehr_dataset.trim(), self.ehr_column.trim());
                if dataset.is_empty() || column.is_empty() {
                    return Err("name the EHR dataset and column to stratify by".into());
                }
                Stratum::Ehr {
                    dataset: dataset.into(),
                    column: column.into(),
                }
            }
            Stratum::Feature { .. } => {
                let name = self.feature.trim();
                if name.is_empty() {
                    return Err(
                        "name the image feature to stratify by (e.g. laa950_percent)".into(),
                    );
                }
                let cuts = self
                    .feature_cuts
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| {
                        t.parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite())
                            .ok_or_else(|| format!("cut point '{t}' is not a number"))
                    })
                    .collect::<Result<Vec<f64>, String>>()?;
                if cuts.is_empty() || cuts.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(
                        "give the feature's cut points in increasing order, e.g. 5, 10, 20".into(),
                    );
                }
                Stratum::Feature {
                    name: name.into(),
                    cuts,
                }
            }
            other => other.clone(),
        })
    }

    /// Takes an EHR column or a feature's settings from a stratum of a
    /// saved specification.
    fn remember(&mut self, s: &Stratum) {
        match s {
            Stratum::Ehr { dataset, column } => {
                self.ehr_dataset = dataset.clone();
                self.ehr_column = column.clone();
            }
            Stratum::Feature { name, cuts } => {
                self.feature = name.clone();
                self.feature_cuts = cuts
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
            }
            _ => {}
        }
    }

    fn uses(&self, kind: &Stratum) -> bool {
        let in_strata = self.kind == Kind::Prevalence
            && self.strata.iter().flatten().any(|s| same_kind(s, kind));
        let in_split =
            self.kind == Kind::Trend && self.split.as_ref().is_some_and(|s| same_kind(s, kind));
        self.from != From::Csv && (in_strata || in_split)
    }

    fn source(&self) -> Result<Source, String> {
        Ok(match &self.from {
            From::Index => Source::Index,
            From::Cohort(c) => Source::Cohort(c.clone()),
            From::Csv => Source::CountsCsv(csv_path(&self.counts_csv, "counts")?),
        })
    }

    /// The specification this form describes, or what is missing.
    pub fn spec(&self) -> Result<AnalysisSpec, String> {
        let age_bands = parse_bands(&self.bands)?;
        Ok(match self.kind {
            Kind::Trend => {
                let (denominator, population_csv) = match &self.rate {
                    Rate::Counts => (None, None),
                    Rate::Cohort(c) => (Some(Source::Cohort(c.clone())), None),
                    Rate::PopulationCsv => {
                        (None, Some(csv_path(&self.population_csv, "population")?))
                    }
                };
                AnalysisSpec::Trend(TrendSpec {
                    source: self.source()?,
                    unit: self.unit,
                    time: self.time,
                    split: self.split.as_ref().map(|s| self.filled(s)).transpose()?,
                    age_bands,
                    population_csv,
                    denominator,
                    per: self.per,
                    from: period(&self.first),
                    to: period(&self.last),
                    level: 0.95,
                })
            }
            Kind::Prevalence => {
                let denominator = self.source()?;
                if !matches!(denominator, Source::CountsCsv(_)) && self.outcome.is_none() {
                    return Err(
                        "choose the outcome: the saved cohort whose members are the cases".into(),
                    );
                }
                let mut strata: Vec<Stratum> = Vec::new();
                for s in self.strata.iter().flatten() {
                    let s = self.filled(s)?;
                    if !strata.contains(&s) {
                        strata.push(s);
                    }
                }
                AnalysisSpec::Prevalence(PrevalenceSpec {
                    denominator,
                    outcome: self.outcome.clone(),
                    unit: self.unit,
                    strata,
                    age_bands,
                    interval: self.interval,
                    reference: period(&self.reference),
                    level: 0.95,
                })
            }
            Kind::Standardised => {
                let cases = self.source()?;
                if matches!(cases, Source::Index) {
                    return Err("standardised rates count a cohort's patients: choose a saved cohort or a counts CSV".into());
                }
                let standard = if self.standard == "csv" {
                    csv_path(&self.standard_csv, "standard population")?
                        .display()
                        .to_string()
                } else {
                    self.standard.clone()
                };
                AnalysisSpec::Standardised(StandardisedSpec {
                    population_csv: match &cases {
                        Source::CountsCsv(_) => None,
                        _ => Some(csv_path(&self.population_csv, "population")?),
                    },
                    cases,
                    standard,
                    per: self.per_standardised,
                    level: 0.95,
                })
            }
        })
    }

    /// The form showing a saved specification.
    pub fn from_spec(spec: &AnalysisSpec) -> Form {
        let mut f = Form::default();
        let source = |s: &Source, f: &mut Form| match s {
            Source::Index => f.from = From::Index,
            Source::Cohort(c) => f.from = From::Cohort(c.clone()),
            Source::CountsCsv(p) => {
                f.from = From::Csv;
                f.counts_csv = p.display().to_string();
            }
        };
        match spec {
            AnalysisSpec::Trend(t) => {
                f.kind = Kind::Trend;
                source(&t.source, &mut f);
                f.unit = t.unit;
                f.time = t.time;
                f.split = t.split.clone();
                if let Some(s) = &t.split {
                    f.remember(s);
                }
                f.bands = bands_text(&t.age_bands);
                f.rate = match (&t.denominator, &t.population_csv) {
                    (Some(Source::Cohort(c)), _) => Rate::Cohort(c.clone()),
                    (Some(Source::CountsCsv(p)), _) | (_, Some(p)) => {
                        f.population_csv = p.display().to_string();
                        Rate::PopulationCsv
                    }
                    _ => Rate::Counts,
                };
                f.per = t.per;
                f.first = t.from.clone().unwrap_or_default();
                f.last = t.to.clone().unwrap_or_default();
            }
            AnalysisSpec::Prevalence(p) => {
                f.kind = Kind::Prevalence;
                source(&p.denominator, &mut f);
                f.outcome = p.outcome.clone();
                f.unit = p.unit;
                f.strata = [
                    p.strata.first().cloned(),
                    p.strata.get(1).cloned(),
                    p.strata.get(2).cloned(),
                ];
                for s in &p.strata {
                    f.remember(s);
                }
                f.bands = bands_text(&p.age_bands);
                f.interval = p.interval;
                f.reference = p.reference.clone().unwrap_or_default();
            }
            AnalysisSpec::Standardised(s) => {
                f.kind = Kind::Standardised;
                source(&s.cases, &mut f);
                if let Some(p) = &s.population_csv {
                    f.population_csv = p.display().to_string();
                }
                if pacs_cohort::stats::Standard::built_in_ids().contains(&s.standard.as_str()) {
                    f.standard = s.standard.clone();
                } else {
                    f.standard = "csv".into();
                    f.standard_csv = s.standard.clone();
                }
                f.per_standardised = s.per;
            }
        }
        f
    }

    pub fn set_csv(&mut self, field: CsvField, path: String) {
        match field {
            CsvField::Counts => self.counts_csv = path,
            CsvField::Population => self.population_csv = path,
            CsvField::Standard => self.standard_csv = path,
        }
    }
}

/// The form's widgets. `cohorts`: the saved cohorts' names. A file
/// dialog asked for is returned (it runs on a worker thread).
pub fn show(ui: &mut egui::Ui, f: &mut Form, cohorts: &[String]) -> Option<CsvField> {
    let mut pick = None;
    egui::Grid::new("analysis_form")
        .num_columns(2)
        .spacing([10.0, 6.0])
        .show(ui, |ui| {
            ui.label("Analysis");
            ui.horizontal(|ui| {
                ui.selectable_value(&mut f.kind, Kind::Trend, "Trend")
                    .on_hover_text("Counts or rates over time, with the annual percent change");
                ui.selectable_value(&mut f.kind, Kind::Prevalence, "Prevalence")
                    .on_hover_text("An outcome among a denominator, by strata, with 95% CIs");
                ui.selectable_value(&mut f.kind, Kind::Standardised, "Standardised rate")
                    .on_hover_text("A directly age-standardised rate (Fay-Feuer interval)");
            });
            ui.end_row();

            let source_label = match f.kind {
                Kind::Trend => "Counts from",
                Kind::Prevalence => "Denominator",
                Kind::Standardised => "Cases",
            };
            ui.label(source_label);
            source_combo(ui, "source", &mut f.from, cohorts, f.kind != Kind::Standardised);
            ui.end_row();
            if f.from == From::Csv {
                ui.label("Counts CSV");
                if path_field(ui, &mut f.counts_csv, "period or strata columns, events, population/denominator") {
                    pick = Some(CsvField::Counts);
                }
                ui.end_row();
            }

            if f.kind != Kind::Standardised && f.from != From::Csv {
                ui.label("Count");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut f.unit, Unit::Studies, "studies");
                    ui.selectable_value(&mut f.unit, Unit::Patients, "patients");
                    ui.selectable_value(&mut f.unit, Unit::Series, "series");
                });
                ui.end_row();
            }

            match f.kind {
                Kind::Trend => {
                    ui.label("Per");
                    ui.horizontal(|ui| {
                        ui.selectable_value(&mut f.time, TimeUnit::Month, "month");
                        ui.selectable_value(&mut f.time, TimeUnit::Quarter, "quarter");
                        ui.selectable_value(&mut f.time, TimeUnit::Year, "year");
                    });
                    ui.end_row();
                    if f.from != From::Csv {
                        ui.label("Split by");
                        stratum_combo(ui, "split", &mut f.split);
                        ui.end_row();
                    }
                    ui.label("Rate");
                    egui::ComboBox::from_id_salt("rate")
                        .width(220.0)
                        .selected_text(match &f.rate {
                            Rate::Counts => "none (counts)".to_string(),
                            Rate::Cohort(c) => format!("per patients of {c}"),
                            Rate::PopulationCsv => "per population (CSV)".to_string(),
                        })
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut f.rate, Rate::Counts, "none (counts)");
                            for c in cohorts {
                                ui.selectable_value(
                                    &mut f.rate,
                                    Rate::Cohort(c.clone()),
                                    format!("per patients of {c}"),
                                );
                            }
                            ui.selectable_value(
                                &mut f.rate,
                                Rate::PopulationCsv,
                                "per population (CSV)",
                            );
                        });
                    ui.end_row();
                    if f.rate != Rate::Counts {
                        ui.label("Rate per");
                        ui.add(egui::DragValue::new(&mut f.per).range(1.0..=1e7).speed(10.0));
                        ui.end_row();
                    }
                    if f.rate == Rate::PopulationCsv {
                        ui.label("Population CSV");
                        if path_field(ui, &mut f.population_csv, "period, the split's column, population") {
                            pick = Some(CsvField::Population);
                        }
                        ui.end_row();
                    }
                    ui.label("From / to");
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::TextEdit::singleline(&mut f.first)
                                .hint_text("first")
                                .desired_width(70.0),
                        );
                        ui.add(
                            egui::TextEdit::singleline(&mut f.last)
                                .hint_text("last")
                                .desired_width(70.0),
                        )
                        .on_hover_text("Periods like 2015, 2015-Q2 or 2015-03 (empty: all)");
                    });
                    ui.end_row();
                }
                Kind::Prevalence => {
                    if f.from != From::Csv {
                        ui.label("Outcome");
                        egui::ComboBox::from_id_salt("outcome")
                            .width(220.0)
                            .selected_text(f.outcome.clone().unwrap_or_else(|| "choose a cohort".into()))
                            .show_ui(ui, |ui| {
                                for c in cohorts {
                                    ui.selectable_value(&mut f.outcome, Some(c.clone()), c);
                                }
                            })
                            .response
                            .on_hover_text("Members of this saved cohort are the cases (define it by a finding, an EHR value, a biomarker threshold...)");
                        ui.end_row();
                        for i in 0..3 {
                            ui.label(if i == 0 { "Strata" } else { "crossed with" });
                            stratum_combo(ui, &format!("stratum{i}"), &mut f.strata[i]);
                            ui.end_row();
                        }
                    }
                    ui.label("Interval");
                    ui.horizontal(|ui| {
                        ui.selectable_value(&mut f.interval, IntervalMethod::Wilson, "Wilson");
                        ui.selectable_value(
                            &mut f.interval,
                            IntervalMethod::ClopperPearson,
                            "Clopper-Pearson",
                        );
                    });
                    ui.end_row();
                    ui.label("Reference");
                    ui.add(
                        egui::TextEdit::singleline(&mut f.reference)
                            .hint_text("largest stratum")
                            .desired_width(160.0),
                    )
                    .on_hover_text("The stratum prevalence ratios are computed against (labels joined by \" / \")");
                    ui.end_row();
                }
                Kind::Standardised => {
                    if f.from != From::Csv {
                        ui.label("Population CSV");
                        if path_field(ui, &mut f.population_csv, "age_lo, age_hi, population") {
                            pick = Some(CsvField::Population);
                        }
                        ui.end_row();
                    }
                    ui.label("Standard");
                    egui::ComboBox::from_id_salt("standard")
                        .width(220.0)
                        .selected_text(match f.standard.as_str() {
                            "csv" => "my own (CSV)",
                            s => s,
                        })
                        .show_ui(ui, |ui| {
                            for id in pacs_cohort::stats::Standard::built_in_ids() {
                                ui.selectable_value(&mut f.standard, id.to_string(), id);
                            }
                            ui.selectable_value(&mut f.standard, "csv".into(), "my own (CSV)");
                        });
                    ui.end_row();
                    if f.standard == "csv" {
                        ui.label("Standard CSV");
                        if path_field(ui, &mut f.standard_csv, "age_lo, age_hi, weight") {
                            pick = Some(CsvField::Standard);
                        }
                        ui.end_row();
                    }
                    ui.label("Rate per");
                    ui.add(
                        egui::DragValue::new(&mut f.per_standardised)
                            .range(1.0..=1e7)
                            .speed(100.0),
                    );
                    ui.end_row();
                }
            }
            if f.uses(&strata_offered()[7]) {
                ui.label("EHR column");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut f.ehr_dataset)
                            .hint_text("dataset")
                            .desired_width(100.0),
                    );
                    ui.add(
                        egui::TextEdit::singleline(&mut f.ehr_column)
                            .hint_text("column")
                            .desired_width(100.0),
                    );
                });
                ui.end_row();
            }
            if f.uses(&strata_offered()[8]) {
                ui.label("Feature");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut f.feature)
                            .hint_text("feature name")
                            .desired_width(110.0),
                    )
                    .on_hover_text("A per-series feature, e.g. laa950_percent (`pacs-cohort biomarker emphysema`)");
                    ui.add(
                        egui::TextEdit::singleline(&mut f.feature_cuts)
                            .hint_text("cut points")
                            .desired_width(90.0),
                    )
                    .on_hover_text("Band edges, increasing: 5, 10, 20 gives < 5, 5 to < 10, 10 to < 20, >= 20");
                });
                ui.end_row();
            }
            let bands_used = f.kind != Kind::Standardised
                && f.from != From::Csv
                && (f.split == Some(Stratum::AgeGroup)
                    || f.strata.contains(&Some(Stratum::AgeGroup)));
            if bands_used {
                ui.label("Age groups");
                ui.add(egui::TextEdit::singleline(&mut f.bands).desired_width(220.0))
                    .on_hover_text("Age at the study, in years: bands like 0-17, 18-39, 40-64, 65-79, 80+");
                ui.end_row();
            }
        });
    pick
}

fn source_combo(ui: &mut egui::Ui, id: &str, from: &mut From, cohorts: &[String], index: bool) {
    let text = match from {
        From::Index => "all indexed studies".to_string(),
        From::Cohort(c) => format!("cohort: {c}"),
        From::Csv => "a table of counts (CSV)".to_string(),
    };
    egui::ComboBox::from_id_salt(id)
        .width(220.0)
        .selected_text(text)
        .show_ui(ui, |ui| {
            if index {
                ui.selectable_value(from, From::Index, "all indexed studies");
            }
            for c in cohorts {
                ui.selectable_value(from, From::Cohort(c.clone()), format!("cohort: {c}"));
            }
            ui.selectable_value(from, From::Csv, "a table of counts (CSV)");
        });
}

fn stratum_combo(ui: &mut egui::Ui, id: &str, value: &mut Option<Stratum>) {
    egui::ComboBox::from_id_salt(id)
        .width(220.0)
        .selected_text(value.as_ref().map_or("none", stratum_title))
        .show_ui(ui, |ui| {
            ui.selectable_value(value, None, "none");
            for s in strata_offered() {
                let chosen = value.as_ref().is_some_and(|v| same_kind(v, &s));
                if ui.selectable_label(chosen, stratum_title(&s)).clicked() && !chosen {
                    *value = Some(s);
                }
            }
        });
}

/// A typed path with a Browse… button; whether Browse was clicked.
fn path_field(ui: &mut egui::Ui, path: &mut String, columns: &str) -> bool {
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(path)
                .hint_text("path to a .csv file")
                .desired_width(170.0),
        )
        .on_hover_text(format!("Columns: {columns}"));
        ui.button("Browse…").clicked()
    })
    .inner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_parse_and_refuse_overlaps() {
        let b = parse_bands("0-17, 18-39,40-64 , 65+").unwrap();
        assert_eq!(b.len(), 4);
        assert_eq!(b[3], AgeBand { lo: 65, hi: None });
        assert!(parse_bands("0-40, 30-50").is_err());
        assert!(parse_bands("65+, 70-80").is_err());
        assert!(parse_bands("forty").is_err());
        assert!(parse_bands("").is_err());
    }

    #[test]
    fn a_spec_survives_the_form() {
        let mut f = Form {
            kind: Kind::Prevalence,
            from: From::Cohort("adults".into()),
            outcome: Some("emphysema".into()),
            strata: [Some(Stratum::AgeGroup), Some(Stratum::Sex), None],
            ..Form::default()
        };
        let spec = f.spec().unwrap();
        assert_eq!(Form::from_spec(&spec).spec().unwrap(), spec);
        f.kind = Kind::Trend;
        f.rate = Rate::Cohort("adults".into());
        f.first = "2015".into();
        let spec = f.spec().unwrap();
        assert_eq!(Form::from_spec(&spec).spec().unwrap(), spec);
        f.outcome = None;
        f.kind = Kind::Prevalence;
        assert!(f.spec().unwrap_err().contains("outcome"));
    }
}
