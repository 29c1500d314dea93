//! `pacs-cohort cohort ...`: count, save, list, show, export, import,
//! compare, delete. Same library calls as the GUI.

use super::exit;
use super::output::print_json;
use pacs_cohort::cohort::parse_spec;
use pacs_cohort::model::CohortSpec;
use pacs_cohort::privacy::ShownCounts;
use pacs_cohort::Engine;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
pub enum CohortCmd {
    /// Counts per level and the attrition table of a definition file.
    Count {
        #[arg(long, value_name = "FILE")]
        spec: PathBuf,
        #[arg(long)]
        json: bool,
        /// Output meant to leave the workstation: counts 1..threshold shown
        /// as "<threshold+1", with complementary suppression. Always on in
        /// an aggregate-only workspace.
        #[arg(long)]
        release: bool,
        /// Release threshold (default: the workspace's, 10 unless set).
        #[arg(long)]
        threshold: Option<u64>,
        /// Also write the attrition table as CSV (suppressed with --release).
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Do not count: read the level counts another engine returned for
        /// `cohort sql` (its count statement's row, as CSV or TSV, header
        /// optional), so that they are shown and suppressed as the app's.
        #[arg(long, value_name = "FILE", requires = "from_attrition")]
        from_counts: Option<PathBuf>,
        /// With --from-counts: the rows the attrition statement returned.
        #[arg(long, value_name = "FILE", requires = "from_counts")]
        from_attrition: Option<PathBuf>,
    },
    /// Prints the count and attrition SQL of a definition for the tables
    /// `export-index` writes (views patients, studies, series, instances),
    /// to run on DuckDB, Spark SQL or Trino.
    Sql {
        #[arg(
            long,
            value_name = "FILE",
            conflicts_with = "cohort",
            required_unless_present = "cohort"
        )]
        spec: Option<PathBuf>,
        /// A saved cohort instead of a file.
        #[arg(long, value_name = "NAME")]
        cohort: Option<String>,
        #[arg(long, value_enum, default_value = "ansi")]
        dialect: SqlDialect,
        /// Values written into the SQL (runs as pasted), or as `?` / `$N`
        /// placeholders (listed after each statement, and in --json).
        #[arg(long, value_enum, default_value = "inline")]
        params: SqlParams,
        /// Start with the views that read an export folder (--lake) in
        /// this engine, so the output runs as it is.
        #[arg(long, value_enum, requires = "lake")]
        views: Option<SqlViews>,
        /// The export-index folder the views read.
        #[arg(long, value_name = "DIR", requires = "views")]
        lake: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Saves a definition file as a new revision of its cohort.
    Save {
        #[arg(long, value_name = "FILE")]
        spec: PathBuf,
    },
    /// Lists saved cohorts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Prints a saved cohort's definition (JSON).
    Show {
        name: String,
        #[arg(long)]
        revision: Option<u32>,
    },
    /// Writes a saved cohort's definition to a file (or stdout).
    Export {
        name: String,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Saves a definition file (exported elsewhere) into this workspace.
    Import { file: PathBuf },
    /// Overlap of two saved cohorts.
    Compare {
        a: String,
        b: String,
        /// Suppress small cells for sharing (always on in an aggregate-only
        /// workspace): at a level with a count in 1..threshold, all three
        /// cells are hidden.
        #[arg(long)]
        release: bool,
        #[arg(long)]
        json: bool,
    },
    /// Deletes a saved cohort and its revisions.
    Delete { name: String },
    /// Renames a saved cohort.
    Rename { from: String, to: String },
    /// Saves a copy of a saved cohort under a new name.
    Duplicate { from: String, to: String },
    /// Writes the source-side manifest of a saved cohort as CSV: one row per
    /// series, with identifiers. CONTAINS PHI: keep it inside the hospital.
    Manifest {
        name: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SqlDialect {
    /// Portable SQL (checked on DuckDB and Spark SQL).
    Ansi,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SqlParams {
    Inline,
    Qmark,
    Dollar,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SqlViews {
    Duckdb,
    Spark,
}

fn read_spec(path: &Path) -> anyhow::Result<CohortSpec> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the cohort definition ({e}): {}",
            path.display()
        )
    })?;
    Ok(parse_spec(&text)?)
}

pub fn run(db: &Path, cmd: CohortCmd) -> anyhow::Result<i32> {
    match cmd {
        CohortCmd::Count {
            spec,
            json,
            release,
            threshold,
            csv,
            from_counts,
            from_attrition,
        } => {
            let spec = read_spec(&spec)?;
            let engine = Engine::open(db)?;
            let privacy = engine.privacy()?;
            let threshold = threshold.unwrap_or(privacy.release_threshold);
            let release = release || privacy.aggregate_only;
            let counts = match (from_counts, from_attrition) {
                (Some(levels), Some(funnel)) => {
                    super::engine_counts::read(&spec, &levels, &funnel)?
                }
                _ => engine.cohort_count(&spec)?,
            };
            let shown = pacs_cohort::privacy::shown(&counts, threshold, release);
            if let Some(path) = csv {
                write_attrition_csv(&path, &spec, &shown, threshold)?;
            }
            if json {
                print_json(&shown.json())?;
            } else {
                print_counts(&spec, &shown);
            }
        }
        CohortCmd::Sql {
            spec,
            cohort,
            dialect: SqlDialect::Ansi,
            params,
            views,
            lake,
            json,
        } => {
            let spec = match (spec, cohort) {
                (Some(path), _) => read_spec(&path)?,
                (None, Some(name)) => Engine::open(db)?.cohort(&name, None)?.spec,
                (None, None) => anyhow::bail!("give --spec FILE or --cohort NAME"),
            };
            print_sql(&spec, params, views.zip(lake), json)?;
        }
        CohortCmd::Save { spec } => {
            let spec = read_spec(&spec)?;
            let rev = Engine::open(db)?.save_cohort(&spec)?;
            println!("saved '{}' as revision {rev}", spec.name);
        }
        CohortCmd::List { json } => {
            let list = Engine::open(db)?.cohorts()?;
            if json {
                print_json(&list)?;
            } else {
                for c in &list {
                    println!(
                        "{}\trevision {}\t{}\t{} rules\t{:?}",
                        c.name,
                        c.revision,
                        c.saved_at,
                        c.spec.rules.len(),
                        c.spec.unit
                    );
                }
            }
        }
        CohortCmd::Show { name, revision } => {
            let c = Engine::open(db)?.cohort(&name, revision)?;
            print_json(&c.spec)?;
        }
        CohortCmd::Export { name, out } => {
            let c = Engine::open(db)?.cohort(&name, None)?;
            let text = serde_json::to_string_pretty(&c.spec)?;
            match out {
                Some(path) => {
                    let part = path.with_extension("json.part");
                    std::fs::write(&part, text + "\n")?;
                    std::fs::rename(&part, &path)?;
                    println!(
                        "wrote '{}' revision {} to {}",
                        c.name,
                        c.revision,
                        path.display()
                    );
                }
                None => println!("{text}"),
            }
        }
        CohortCmd::Import { file } => {
            let spec = read_spec(&file)?;
            let rev = Engine::open(db)?.save_cohort(&spec)?;
            println!("imported '{}' as revision {rev}", spec.name);
        }
        CohortCmd::Compare {
            a,
            b,
            release,
            json,
        } => {
            let engine = Engine::open(db)?;
            let (ca, cb) = (engine.cohort(&a, None)?, engine.cohort(&b, None)?);
            let cmp = engine.compare_cohorts(&ca.spec, &cb.spec)?;
            let privacy = engine.privacy()?;
            let released = (release || privacy.aggregate_only).then(|| {
                pacs_cohort::privacy::suppress_comparison(&cmp, privacy.release_threshold)
            });
            if json {
                match &released {
                    Some(r) => print_json(r)?,
                    None => print_json(&cmp)?,
                }
            } else {
                let hidden = pacs_cohort::privacy::hidden_label(privacy.release_threshold);
                let show = |n: Option<u64>| n.map_or(hidden.clone(), |n| n.to_string());
                let rows = match &released {
                    Some(r) => r.table().map(|row| row.map(show)),
                    None => cmp.table().map(|row| row.map(|n| n.to_string())),
                };
                println!("            patients  studies");
                for (label, [p, st]) in
                    ["both".to_string(), format!("only {a}"), format!("only {b}")]
                        .iter()
                        .zip(rows)
                {
                    println!("{label:<11} {p:>8}  {st:>7}");
                }
                if released.is_some() {
                    println!(
                        "(released: a level with a count 1..{} is hidden as {hidden})",
                        privacy.release_threshold
                    );
                }
            }
        }
        CohortCmd::Manifest { name, out } => {
            let engine = Engine::open(db)?;
            let c = engine.cohort(&name, None)?;
            let rows = engine.cohort_manifest(&c.spec)?;
            let mut text = format!(
                "# CONTAINS PHI: source-side manifest of cohort '{}' revision {}; do not share outside the hospital\n",
                c.name, c.revision
            );
            for row in &rows {
                text.push_str(
                    &row.iter()
                        .map(|v| csv_field(v))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                text.push('\n');
            }
            let part = out.with_extension("csv.part");
            std::fs::write(&part, text)?;
            std::fs::rename(&part, &out)?;
            println!(
                "wrote {} series of '{}' to {} (contains PHI)",
                rows.len() - 1,
                c.name,
                out.display()
            );
        }
        CohortCmd::Rename { from, to } => {
            Engine::open(db)?.rename_cohort(&from, &to)?;
            println!("renamed '{from}' to '{to}'");
        }
        CohortCmd::Duplicate { from, to } => {
            Engine::open(db)?.duplicate_cohort(&from, &to)?;
            println!("copied '{from}' to '{to}'");
        }
        CohortCmd::Delete { name } => {
            Engine::open(db)?.delete_cohort(&name)?;
            println!("deleted '{name}'");
        }
    }
    Ok(exit::OK)
}

fn print_counts(spec: &CohortSpec, c: &ShownCounts) {
    println!("cohort '{}' (unit: {:?})", spec.name, spec.unit);
    let [patients, studies, series, instances] = c.levels.map(|s| s.marked());
    println!("  patients {patients} · studies {studies} · series {series} · instances {instances}");
    println!(
        "  {:<40} {:>10} {:>10} {:>14}",
        "rule", "remaining", "removed", "removed alone"
    );
    println!("  {:<40} {:>10}", "(population)", c.population.marked());
    for s in &c.attrition {
        let name = format!("{}{}", if s.exclude { "exclude: " } else { "" }, s.rule);
        println!(
            "  {:<40} {:>10} {:>10} {:>14}",
            name,
            s.remaining.marked(),
            s.removed.marked(),
            s.removed_alone.marked()
        );
    }
    if c.released.is_none() {
        println!("  (* below the release threshold: not for release; use --release for shareable output)");
    }
}

/// Quotes a CSV field when needed (RFC 4180). A leading `=`, `+`, `-` or
/// `@` is prefixed with `'` so spreadsheets do not run it as a formula.
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// The attrition table as CSV, with its specification in comment lines.
fn write_attrition_csv(
    path: &Path,
    spec: &CohortSpec,
    c: &ShownCounts,
    threshold: u64,
) -> anyhow::Result<()> {
    let release = c.released.is_some();
    let mut text = format!(
        "# cohort: {} (unit: {:?}); pacs-cohort {}\n# {}\n",
        spec.name,
        spec.unit,
        env!("CARGO_PKG_VERSION"),
        if release {
            format!(
                "released: counts 1..{threshold} shown as <{}, with complementary suppression",
                threshold + 1
            )
        } else {
            format!("NOT FOR RELEASE: exact counts (cells 1..{threshold} are below the release threshold)")
        }
    );
    text.push_str("step,rule,exclude,remaining,removed,removed_alone\n");
    text.push_str(&format!(
        "0,{},false,{},,\n",
        csv_field("all entries"),
        c.population.plain()
    ));
    for (i, s) in c.attrition.iter().enumerate() {
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            i + 1,
            csv_field(&s.rule),
            s.exclude,
            s.remaining.plain(),
            s.removed.plain(),
            s.removed_alone.plain()
        ));
    }
    let part = path.with_extension("csv.part");
    std::fs::write(&part, text)?;
    std::fs::rename(&part, path)?;
    Ok(())
}

fn print_sql(
    spec: &CohortSpec,
    params: SqlParams,
    views: Option<(SqlViews, String)>,
    json: bool,
) -> anyhow::Result<()> {
    use pacs_cohort::cohort::ansi;
    let style = match params {
        SqlParams::Inline => ansi::ParamStyle::Inline,
        SqlParams::Qmark => ansi::ParamStyle::Qmark,
        SqlParams::Dollar => ansi::ParamStyle::Dollar,
    };
    let sql = ansi::emit(spec, style)?;
    let views = views.map(|(engine, lake)| {
        let engine = match engine {
            SqlViews::Duckdb => ansi::ViewEngine::Duckdb,
            SqlViews::Spark => ansi::ViewEngine::Spark,
        };
        ansi::views(engine, &lake)
    });
    if json {
        return print_json(&serde_json::json!({
            "dialect": "ansi",
            "views": views,
            "count": sql.count,
            "attrition": sql.attrition,
        }));
    }
    // Comments name each statement; the name of the cohort is user text,
    // so it goes on a line of its own after `--`, with line breaks removed.
    let name: String = spec.name.chars().filter(|c| !c.is_control()).collect();
    println!(
        "-- cohort: {name} (unit: {:?}); pacs-cohort cohort sql --dialect ansi",
        spec.unit
    );
    if let Some(v) = views {
        println!("{v}");
    }
    for (label, st) in [
        ("count: patients, studies, series, instances", &sql.count),
        ("attrition: one row per step", &sql.attrition),
    ] {
        println!("-- {label}");
        println!("{};", st.sql);
        if !st.params.is_empty() {
            println!(
                "-- parameters, in order: {}",
                serde_json::to_string(&st.params)?
            );
        }
    }
    Ok(())
}
