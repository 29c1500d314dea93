//! `pacs-cohort biomarker`: the CT emphysema index of a cohort's chest CT
//! series (progress on stderr, Ctrl-C cancels, a re-run resumes), the
//! stored per-series results, and (hidden) a generator of chest CT volumes
//! for benchmarks.

use super::exit;
use super::output::{cancel_on_ctrl_c, print_json};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pacs_cohort::engine::EmphysemaReport;
use pacs_cohort::synth::ct_volume::{self, CtSeriesIds, CtVolume, CtVolumeSpec};
use pacs_cohort::synth::Rng;
use pacs_cohort::Engine;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
pub enum BiomarkerCmd {
    /// Compute the CT emphysema index (%LAA-950, Perc15, lung volume) of a
    /// saved cohort's chest CT series and store it per series (usable as
    /// `{"feature": {"name": "laa950_percent", "min": 10}}` in cohorts).
    Emphysema(EmphysemaArgs),
    /// List the stored per-series results (features, failures, staleness).
    List(ListArgs),
    /// Benchmark setup: write synthetic chest CT series (512 x 512 ...).
    #[command(hide = true)]
    SynthCt(SynthCtArgs),
}

#[derive(clap::Args, Debug)]
pub struct EmphysemaArgs {
    /// The saved cohort whose chest CT series are measured.
    #[arg(long)]
    cohort: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct SynthCtArgs {
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1)]
    series: u32,
    #[arg(long, default_value_t = 512)]
    size: u16,
    #[arg(long, default_value_t = 200)]
    slices: u32,
    #[arg(long, default_value_t = 0.08)]
    fraction: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(db: &Path, c: BiomarkerCmd) -> anyhow::Result<i32> {
    match c {
        BiomarkerCmd::Emphysema(a) => emphysema(db, a),
        BiomarkerCmd::List(a) => list(db, a),
        BiomarkerCmd::SynthCt(a) => synth_ct(a),
    }
}

fn emphysema(db: &Path, a: EmphysemaArgs) -> anyhow::Result<i32> {
    let engine = Engine::open_existing(db)?;
    let cancel = cancel_on_ctrl_c("series finished so far are stored; run again to continue");
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10))
    };
    bar.set_style(
        ProgressStyle::with_template("series {msg}  {bar:30} {pos}/{len} slices")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = engine.compute_emphysema(&a.cohort, &cancel, &mut |p| {
        bar.set_message(format!(
            "{}/{}",
            (p.series_done + 1).min(p.series_total),
            p.series_total
        ));
        bar.set_length(p.slices_total);
        bar.set_position(p.slices_done);
    });
    bar.finish_and_clear();
    let report = report?;
    if a.json {
        print_json(&report)?;
    } else {
        print_human(&report);
    }
    Ok(if report.cancelled {
        exit::CANCELLED
    } else if !report.failed.is_empty() {
        exit::ATTENTION
    } else {
        exit::OK
    })
}

fn print_human(r: &EmphysemaReport) {
    println!(
        "emphysema index of cohort '{}' ({}; low attenuation: {})",
        r.cohort, r.method_version, r.laa_rule
    );
    println!("chest CT: {}", r.selection_rule);
    println!(
        "chest CT series {} · computed {} · already computed (files unchanged) {} · failed {}",
        r.chest_ct_series,
        r.computed,
        r.resumed,
        r.failed.len()
    );
    for (uid, res) in &r.results {
        println!(
            "  {}  %LAA-950 {:.2}  Perc15 {:.1} HU  lung {:.0} mL",
            uid.as_deref().unwrap_or("(series)"),
            res.laa950_percent,
            res.perc15_hu,
            res.lung_volume_ml
        );
    }
    for f in &r.failed {
        println!(
            "  failed {} ({}): {}",
            f.series_uid.as_deref().unwrap_or("(series)"),
            f.kind,
            f.reason
        );
    }
    if r.seconds > 0.0 && r.pixel_bytes > 0 {
        println!(
            "{:.1} MB of stored pixel data in {:.2} s: {:.1} MB/s",
            r.pixel_bytes as f64 / 1e6,
            r.seconds,
            r.pixel_bytes as f64 / 1e6 / r.seconds
        );
    }
    if r.cancelled {
        println!("cancelled: the series finished so far are stored; run the same command again to continue");
    }
}

fn list(db: &Path, a: ListArgs) -> anyhow::Result<i32> {
    let records = Engine::open_existing(db)?.series_features()?;
    if a.json {
        print_json(&records)?;
        return Ok(exit::OK);
    }
    if records.is_empty() {
        println!("no biomarker results yet; run `pacs-cohort biomarker emphysema --cohort NAME`");
    }
    for r in &records {
        let values: Vec<String> = r
            .features
            .iter()
            .map(|(n, v)| format!("{n} {v:.2}"))
            .collect();
        let state = match (&r.status[..], r.stale) {
            (_, true) => "stale (files changed; run again)".to_string(),
            ("ok", _) => "ok".to_string(),
            _ => format!(
                "failed ({}): {}",
                r.failure_kind.as_deref().unwrap_or(""),
                r.reason.as_deref().unwrap_or("")
            ),
        };
        println!(
            "{}  {} {}  {}  {}  {}",
            r.series_uid,
            r.method,
            r.method_version,
            r.computed_at,
            state,
            values.join(" · ")
        );
    }
    Ok(exit::OK)
}

fn synth_ct(a: SynthCtArgs) -> anyhow::Result<i32> {
    let mut rng = Rng::new(a.seed);
    let mut bytes = 0;
    for n in 0..a.series {
        let volume = CtVolume::new(CtVolumeSpec {
            size: a.size,
            slices: a.slices,
            pixel_spacing_mm: 350.0 / f64::from(a.size),
            slice_spacing_mm: 1.25,
            emphysema_fraction: a.fraction,
            seed: a.seed + u64::from(n),
            ..CtVolumeSpec::default()
        });
        let ids = CtSeriesIds::random(&mut rng, n);
        let w = ct_volume::write_series(&a.out.join(format!("ct{n:03}")), &volume, &ids, &mut rng)?;
        bytes += w.pixel_bytes;
        println!(
            "{}: {} slices, true %LAA-950 {:.3}, Perc15 {:.1}",
            w.series_uid,
            w.files.len(),
            w.truth.laa950_percent(),
            w.truth.perc15()
        );
    }
    println!("{:.1} MB of pixel data", bytes as f64 / 1e6);
    Ok(exit::OK)
}
