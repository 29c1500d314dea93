//! Hidden benchmark: the burned-in text detector on generated images with
//! and without text (fixed seeds): sensitivity per image and per text
//! line, false positives per image, time per image (detector only); or
//! the header risks of every series of a workspace, timed.

use super::exit;
use pacs_cohort::burnin::{detect_text, explain_text, TextCandidate};
use pacs_cohort::model::Rect;
use pacs_cohort::model::StudyQuery;
use pacs_cohort::synth::burnin::{generate_image, spec_for, BurninImage, PLACEMENTS, SCENES};
use pacs_cohort::Engine;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct BenchBurninArgs {
    /// Images with text, and as many without.
    #[arg(long, default_value_t = 224)]
    images: u64,
    #[arg(long, default_value_t = 11)]
    seed: u64,
    /// List every missed line and every false region.
    #[arg(long)]
    failures: bool,
    /// Instead: time `Engine::series_risks` for every series of the
    /// workspace given by `--db` (e.g. one made by `synth-index`).
    #[arg(long)]
    risks: bool,
}

/// A line counts as found when the regions cover this share of its box
/// (a mask that leaves part of a name readable has failed).
const COVERED: f64 = 0.9;

fn touches(a: &Rect, b: &Rect) -> bool {
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}

#[derive(Default)]
struct Tally {
    images: u64,
    images_found: u64,
    lines: u64,
    lines_found: u64,
    negatives: u64,
    negatives_fired: u64,
    extra_regions: u64,
    ms: Vec<f64>,
}

impl Tally {
    fn pct(a: u64, b: u64) -> String {
        if b == 0 {
            "-".into()
        } else {
            format!("{:.1}% ({a}/{b})", 100.0 * a as f64 / b as f64)
        }
    }
    fn row(&self, name: &str) -> String {
        let mut ms = self.ms.clone();
        ms.sort_by(f64::total_cmp);
        let p = |q: f64| {
            if ms.is_empty() {
                0.0
            } else {
                ms[((ms.len() - 1) as f64 * q).round() as usize]
            }
        };
        format!(
            "| {name} | {} | {} | {} | {} | {:.1} | {:.1} |",
            Self::pct(self.images_found, self.images),
            Self::pct(self.lines_found, self.lines),
            Self::pct(self.negatives_fired, self.negatives),
            self.extra_regions,
            p(0.5),
            p(0.95)
        )
    }
}

fn features(img: &BurninImage, area: &Rect) -> String {
    let near: Vec<TextCandidate> = explain_text(&img.frame)
        .into_iter()
        .filter(|c| touches(&c.rect, area))
        .collect();
    near.iter()
        .map(|c| {
            format!(
                "[n {} flat {:.0} rough {:.1} border {} ok {}]",
                c.components, c.flatness, c.roughness, c.near_border, c.accepted
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn timed(img: &BurninImage) -> (Vec<Rect>, f64) {
    let start = Instant::now();
    let regions = detect_text(&img.frame);
    (regions, start.elapsed().as_secs_f64() * 1e3)
}

/// Header risks for every indexed series, as the review queue asks for
/// them (one call), timed after one warm-up.
fn risks(db: &Path) -> anyhow::Result<i32> {
    let engine = Engine::open(db)?;
    let studies = engine.studies(&StudyQuery {
        limit: None,
        ..Default::default()
    })?;
    let mut uids = Vec::new();
    for s in &studies {
        uids.extend(
            engine
                .series(&s.study_uid)?
                .into_iter()
                .map(|r| r.series_uid),
        );
    }
    engine.series_risks(&uids)?;
    let mut runs = Vec::new();
    let mut levels = BTreeMap::new();
    for _ in 0..5 {
        let start = Instant::now();
        let r = engine.series_risks(&uids)?;
        runs.push(start.elapsed().as_secs_f64() * 1e3);
        levels = r.values().fold(BTreeMap::new(), |mut m, v| {
            *m.entry(v.level.as_str()).or_insert(0u64) += 1;
            m
        });
    }
    runs.sort_by(f64::total_cmp);
    println!(
        "series_risks for {} series: median {:.1} ms, max {:.1} ms (5 runs); levels {levels:?}",
        uids.len(),
        runs[2],
        runs[4]
    );
    Ok(exit::OK)
}

pub fn run(db: &Path, a: BenchBurninArgs) -> anyhow::Result<i32> {
    if a.risks {
        return risks(db);
    }
    let mut total = Tally::default();
    let mut by_scene: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_place: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_scale: BTreeMap<u32, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    for i in 0..a.images {
        for with_text in [true, false] {
            let img = generate_image(&spec_for(i, with_text, a.seed));
            let (regions, ms) = timed(&img);
            let scene = img.spec.scene.as_str();
            let mut tallies: Vec<&mut Tally> = vec![&mut total];
            tallies.push(by_scene.entry(scene).or_default());
            let mut found = 0;
            let extra = regions
                .iter()
                .filter(|r| !img.lines.iter().any(|l| touches(r, &l.rect)))
                .count() as u64;
            if with_text {
                let (placement, _) = img.spec.text.unwrap_or((PLACEMENTS[0], 1));
                let scale = img.lines.first().map(|l| l.scale).unwrap_or(1);
                for l in &img.lines {
                    let c = l.rect.covered_share(&regions);
                    if c >= COVERED {
                        found += 1;
                    } else if a.failures {
                        failures.push(format!(
                            "missed line: image {i} {scene} {} scale {} '{}' at {:?} covered {:.0}% {}",
                            placement.as_str(),
                            l.scale,
                            l.text,
                            l.rect,
                            c * 100.0,
                            features(&img, &l.rect)
                        ));
                    }
                }
                let any = regions
                    .iter()
                    .any(|r| img.lines.iter().any(|l| touches(r, &l.rect)));
                for t in tallies
                    .into_iter()
                    .chain([by_place.entry(placement.as_str()).or_default()])
                    .chain([by_scale.entry(scale).or_default()])
                {
                    t.images += 1;
                    t.images_found += u64::from(any);
                    t.lines += img.lines.len() as u64;
                    t.lines_found += found;
                    t.extra_regions += extra;
                    t.ms.push(ms);
                }
            } else {
                for t in tallies {
                    t.negatives += 1;
                    t.negatives_fired += u64::from(!regions.is_empty());
                    t.extra_regions += extra;
                    t.ms.push(ms);
                }
            }
            if a.failures && extra > 0 {
                for r in regions
                    .iter()
                    .filter(|r| !img.lines.iter().any(|l| touches(r, &l.rect)))
                {
                    failures.push(format!(
                        "false region: image {i} {scene} text {} decoys {} at {r:?} {}",
                        with_text,
                        img.spec.decoys,
                        features(&img, r)
                    ));
                }
            }
        }
    }
    println!(
        "{} images with text and {} without (seed {}); a line is found when regions cover >= {:.0}% of its box",
        a.images,
        a.images,
        a.seed,
        COVERED * 100.0
    );
    println!();
    println!("| set | images with text flagged | text lines covered | images without text flagged (FPR) | false regions | ms p50 | ms p95 |");
    println!("|---|---|---|---|---|---|---|");
    println!("{}", total.row("all"));
    for s in SCENES {
        if let Some(t) = by_scene.get(s.as_str()) {
            println!("{}", t.row(s.as_str()));
        }
    }
    for p in PLACEMENTS {
        if let Some(t) = by_place.get(p.as_str()) {
            println!("{}", t.row(&format!("text at {}", p.as_str())));
        }
    }
    for (s, t) in &by_scale {
        println!("{}", t.row(&format!("text scale {s}x")));
    }
    for f in failures {
        println!("{f}");
    }
    Ok(exit::OK)
}
