//! Images with and without burned-in text, for measuring and testing the
//! text detector (issue #11): names, dates and IDs rendered into the pixels
//! with a small built-in 5x7 bitmap font (scaled 1x-4x) at the corners, in
//! top and bottom bands or in the middle, over CT-like, ultrasound-like
//! (grey and colour) and radiograph-like backgrounds, some with hard
//! negatives (rulers, calipers, dotted lines, a lone "L" or "R" marker).
//! Deterministic from a seed. Grey images can be written as DICOM files.

use super::catalog::{FAMILY_NAMES, GIVEN_NAMES_F, GIVEN_NAMES_M, SITES};
use super::{Rng, SynthError};
use crate::dicom::write::{self, Framing, ObjectSpec, Pixels, TextElement};
use crate::model::Rect;
use crate::preview::Frame;
use dicom_core::VR;
use std::path::{Path, PathBuf};

/// Glyph rows, 5 pixels wide, `#` is ink.
const FONT: &[(char, [&str; 7])] = &[
    (
        'A',
        [
            ".###.", "#...#", "#...#", "#...#", "#####", "#...#", "#...#",
        ],
    ),
    (
        'B',
        [
            "####.", "#...#", "#...#", "####.", "#...#", "#...#", "####.",
        ],
    ),
    (
        'C',
        [
            ".###.", "#...#", "#....", "#....", "#....", "#...#", ".###.",
        ],
    ),
    (
        'D',
        [
            "###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###..",
        ],
    ),
    (
        'E',
        [
            "#####", "#....", "#....", "####.", "#....", "#....", "#####",
        ],
    ),
    (
        'F',
        [
            "#####", "#....", "#....", "####.", "#....", "#....", "#....",
        ],
    ),
    (
        'G',
        [
            ".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####",
        ],
    ),
    (
        'H',
        [
            "#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#",
        ],
    ),
    (
        'I',
        [
            ".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###.",
        ],
    ),
    (
        'J',
        [
            "..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##..",
        ],
    ),
    (
        'K',
        [
            "#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#",
        ],
    ),
    (
        'L',
        [
            "#....", "#....", "#....", "#....", "#....", "#....", "#####",
        ],
    ),
    (
        'M',
        [
            "#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#",
        ],
    ),
    (
        'N',
        [
            "#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#",
        ],
    ),
    (
        'O',
        [
            ".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###.",
        ],
    ),
    (
        'P',
        [
            "####.", "#...#", "#...#", "####.", "#....", "#....", "#....",
        ],
    ),
    (
        'Q',
        [
            ".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#",
        ],
    ),
    (
        'R',
        [
            "####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#",
        ],
    ),
    (
        'S',
        [
            ".####", "#....", "#....", ".###.", "....#", "....#", "####.",
        ],
    ),
    (
        'T',
        [
            "#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#..",
        ],
    ),
    (
        'U',
        [
            "#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###.",
        ],
    ),
    (
        'V',
        [
            "#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#..",
        ],
    ),
    (
        'W',
        [
            "#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#.",
        ],
    ),
    (
        'X',
        [
            "#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#",
        ],
    ),
    (
        'Y',
        [
            "#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#..",
        ],
    ),
    (
        'Z',
        [
            "#####", "....#", "...#.", "..#..", ".#...", "#....", "#####",
        ],
    ),
    (
        '0',
        [
            ".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###.",
        ],
    ),
    (
        '1',
        [
            "..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###.",
        ],
    ),
    (
        '2',
        [
            ".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####",
        ],
    ),
    (
        '3',
        [
            "#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###.",
        ],
    ),
    (
        '4',
        [
            "...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#.",
        ],
    ),
    (
        '5',
        [
            "#####", "#....", "####.", "....#", "....#", "#...#", ".###.",
        ],
    ),
    (
        '6',
        [
            "..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###.",
        ],
    ),
    (
        '7',
        [
            "#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#...",
        ],
    ),
    (
        '8',
        [
            ".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###.",
        ],
    ),
    (
        '9',
        [
            ".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##..",
        ],
    ),
    (
        '-',
        [
            ".....", ".....", ".....", "#####", ".....", ".....", ".....",
        ],
    ),
    (
        '/',
        [
            ".....", "....#", "...#.", "..#..", ".#...", "#....", ".....",
        ],
    ),
    (
        ':',
        [
            ".....", ".##..", ".##..", ".....", ".##..", ".##..", ".....",
        ],
    ),
    (
        '.',
        [
            ".....", ".....", ".....", ".....", ".....", ".##..", ".##..",
        ],
    ),
    (
        ',',
        [
            ".....", ".....", ".....", ".....", ".##..", "..#..", ".#...",
        ],
    ),
    (
        '^',
        [
            "..#..", ".#.#.", "#...#", ".....", ".....", ".....", ".....",
        ],
    ),
    (
        '(',
        [
            "...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#.",
        ],
    ),
    (
        ')',
        [
            ".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#...",
        ],
    ),
];

/// Glyph cell: 5 x 7 ink plus one column of spacing.
pub const GLYPH_W: u32 = 5;
pub const GLYPH_H: u32 = 7;
const ADVANCE: u32 = GLYPH_W + 1;

fn glyph(c: char) -> Option<&'static [&'static str; 7]> {
    // Accented capitals print as their base letter, as on many devices.
    let c = match c.to_ascii_uppercase() {
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'Ç' | 'Č' => 'C',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'Ñ' => 'N',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'O',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'Š' | 'ß' => 'S',
        'Ž' => 'Z',
        'Ł' => 'L',
        'Ř' => 'R',
        c => c,
    };
    FONT.iter().find(|(g, _)| *g == c).map(|(_, rows)| rows)
}

/// The size of `text` at `scale` (width, height) in pixels.
pub fn text_size(text: &str, scale: u32) -> (u32, u32) {
    let n = text.chars().count() as u32;
    ((n * ADVANCE).saturating_sub(1) * scale, GLYPH_H * scale)
}

/// Where text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
    /// Two pieces of text on one row across the top (name left, date right).
    TopBand,
    BottomBand,
    Middle,
}

pub const PLACEMENTS: [Placement; 7] = [
    Placement::TopLeft,
    Placement::TopRight,
    Placement::BottomLeft,
    Placement::BottomRight,
    Placement::TopBand,
    Placement::BottomBand,
    Placement::Middle,
];

impl Placement {
    pub fn as_str(&self) -> &'static str {
        match self {
            Placement::TopLeft => "top-left",
            Placement::TopRight => "top-right",
            Placement::BottomLeft => "bottom-left",
            Placement::BottomRight => "bottom-right",
            Placement::TopBand => "top band",
            Placement::BottomBand => "bottom band",
            Placement::Middle => "middle",
        }
    }
}

/// What the picture looks like under the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    /// 512 x 512 CT-like slice in HU: body disc with lungs, spine, vessels, table, noise.
    CtDisc,
    /// 640 x 480 8-bit ultrasound-like sector of speckle on black.
    UsFan,
    /// The same sector in RGB with coloured text.
    UsFanColour,
    /// 1024 x 1024 12-bit radiograph-like gradient with anatomy-ish blobs.
    CrGradient,
}

pub const SCENES: [Scene; 4] = [
    Scene::CtDisc,
    Scene::UsFan,
    Scene::UsFanColour,
    Scene::CrGradient,
];

impl Scene {
    pub fn as_str(&self) -> &'static str {
        match self {
            Scene::CtDisc => "CT disc",
            Scene::UsFan => "US fan",
            Scene::UsFanColour => "US fan RGB",
            Scene::CrGradient => "CR gradient",
        }
    }
    fn size(&self) -> (u32, u32) {
        match self {
            Scene::CtDisc => (512, 512),
            Scene::UsFan | Scene::UsFanColour => (640, 480),
            Scene::CrGradient => (1024, 1024),
        }
    }
}

/// One image to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageSpec {
    pub scene: Scene,
    /// Text position and scale (1-4), or none.
    pub text: Option<(Placement, u32)>,
    /// Add rulers, calipers, dotted lines and a side marker.
    pub decoys: bool,
    pub seed: u64,
}

/// The `i`th image of a measurement set: scenes, placements and scales
/// cycle so that every combination appears; decoys on every other image.
pub fn spec_for(i: u64, with_text: bool, seed: u64) -> ImageSpec {
    let scene = SCENES[(i % 4) as usize];
    let placement = PLACEMENTS[((i / 4) % 7) as usize];
    let scale = 1 + ((i / 28) % 4) as u32;
    ImageSpec {
        scene,
        text: with_text.then_some((placement, scale)),
        decoys: (i / 2).is_multiple_of(2),
        seed: seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(i * 2 + with_text as u64),
    }
}

/// One line of text drawn into an image.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub text: String,
    /// The box of its ink cells (image coordinates).
    pub rect: Rect,
    pub scale: u32,
}

/// A generated image and where its text is.
#[derive(Debug, Clone)]
pub struct BurninImage {
    pub spec: ImageSpec,
    pub frame: Frame,
    pub lines: Vec<TextLine>,
}

/// Pixels being drawn: grey values or RGB triples.
struct Canvas {
    w: u32,
    h: u32,
    samples: usize,
    v: Vec<f32>,
}

impl Canvas {
    fn new(w: u32, h: u32, samples: usize, fill: f32) -> Canvas {
        Canvas {
            w,
            h,
            samples,
            v: vec![fill; w as usize * h as usize * samples],
        }
    }
    fn set(&mut self, x: i64, y: i64, c: [f32; 3]) {
        if x < 0 || y < 0 || x >= i64::from(self.w) || y >= i64::from(self.h) {
            return;
        }
        let i = (y as usize * self.w as usize + x as usize) * self.samples;
        if self.samples == 3 {
            self.v[i..i + 3].copy_from_slice(&c);
        } else {
            self.v[i] = c[0];
        }
    }
    fn fill_rect(&mut self, r: Rect, c: [f32; 3]) {
        for y in r.y..r.y + r.height {
            for x in r.x..r.x + r.width {
                self.set(i64::from(x), i64::from(y), c);
            }
        }
    }
    /// The mean (brightest channel) over the boxes.
    fn mean_in(&self, boxes: &[Rect]) -> f32 {
        let (mut sum, mut n) = (0.0f64, 0u64);
        for r in boxes {
            for y in r.y..(r.y + r.height).min(self.h) {
                for x in r.x..(r.x + r.width).min(self.w) {
                    let i = (y as usize * self.w as usize + x as usize) * self.samples;
                    let px = &self.v[i..i + self.samples];
                    sum += f64::from(px.iter().fold(f32::MIN, |a, b| a.max(*b)));
                    n += 1;
                }
            }
        }
        (sum / n.max(1) as f64) as f32
    }
    /// Draws `text` with its top-left at (x, y); returns the ink box.
    fn text(&mut self, text: &str, x: u32, y: u32, scale: u32, c: [f32; 3]) -> Rect {
        for (k, ch) in text.chars().enumerate() {
            let Some(rows) = glyph(ch) else { continue };
            let gx = x + k as u32 * ADVANCE * scale;
            for (ry, row) in rows.iter().enumerate() {
                for (rx, b) in row.bytes().enumerate() {
                    if b != b'#' {
                        continue;
                    }
                    for dy in 0..scale {
                        for dx in 0..scale {
                            self.set(
                                i64::from(gx + rx as u32 * scale + dx),
                                i64::from(y + ry as u32 * scale + dy),
                                c,
                            );
                        }
                    }
                }
            }
        }
        let (w, h) = text_size(text, scale);
        Rect {
            x,
            y,
            width: w,
            height: h,
        }
    }
}

fn unit(rng: &mut Rng) -> f32 {
    (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32
}

fn gauss(rng: &mut Rng) -> f32 {
    let u1 = unit(rng).max(1e-7);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// CT-like slice in HU: air, a body ellipse of soft tissue with two lungs,
/// vessels, a spine and a curved table, with noise.
fn ct_scene(rng: &mut Rng, c: &mut Canvas) {
    let (w, h) = (c.w as f32, c.h as f32);
    let (cx, cy) = (w / 2.0 + gauss(rng) * 8.0, h / 2.0 + gauss(rng) * 8.0);
    let (ax, ay) = (w * (0.34 + unit(rng) * 0.06), h * (0.26 + unit(rng) * 0.06));
    let vessels: Vec<(f32, f32, f32)> = (0..25)
        .map(|_| {
            (
                cx + (unit(rng) - 0.5) * ax * 1.4,
                cy + (unit(rng) - 0.5) * ay * 1.2,
                1.0 + unit(rng) * 2.5,
            )
        })
        .collect();
    for y in 0..c.h {
        for x in 0..c.w {
            let (fx, fy) = (x as f32, y as f32);
            let d = ((fx - cx) / ax).powi(2) + ((fy - cy) / ay).powi(2);
            let mut v = -1000.0 + gauss(rng) * 15.0;
            if d < 1.0 {
                v = 40.0 + gauss(rng) * 18.0;
                if d > 0.85 {
                    v = -100.0 + gauss(rng) * 18.0; // fat rim
                }
                for side in [-1.0f32, 1.0] {
                    let lx = cx + side * ax * 0.45;
                    let ld = ((fx - lx) / (ax * 0.32)).powi(2) + ((fy - cy) / (ay * 0.7)).powi(2);
                    if ld < 1.0 {
                        v = -820.0 + gauss(rng) * 25.0;
                    }
                }
                let sd = ((fx - cx).powi(2) + (fy - (cy + ay * 0.6)).powi(2)).sqrt();
                if sd < ay * 0.18 {
                    v = 700.0 + gauss(rng) * 40.0;
                }
                for &(vx, vy, r) in &vessels {
                    if (fx - vx).powi(2) + (fy - vy).powi(2) < r * r {
                        v = 180.0 + gauss(rng) * 20.0;
                    }
                }
            }
            // The table: a bright arc under the body.
            let ty = cy + ay + 14.0 + ((fx - cx) / w).powi(2) * 40.0;
            if (fy - ty).abs() < 2.0 && (fx - cx).abs() < w * 0.42 {
                v = 300.0 + gauss(rng) * 20.0;
            }
            c.set(i64::from(x), i64::from(y), [v; 3]);
        }
    }
}

/// Ultrasound-like sector: speckle (grains of a few pixels) in a fan from
/// the top centre, darker cysts, black outside.
fn us_scene(rng: &mut Rng, c: &mut Canvas) {
    let (w, h) = (c.w as usize, c.h as usize);
    // Speckle on a coarse grid, interpolated: grains of 2-4 pixels.
    let (gw, gh) = (w / 2 + 2, h / 3 + 2);
    let grid: Vec<f32> = (0..gw * gh).map(|_| -unit(rng).max(1e-6).ln()).collect();
    let apex = (w as f32 / 2.0, 20.0f32);
    let (r0, r1) = (40.0f32, h as f32 - 30.0);
    let half_angle = 0.62f32;
    let cysts: Vec<(f32, f32, f32)> = (0..3)
        .map(|_| {
            (
                apex.0 + (unit(rng) - 0.5) * 200.0,
                150.0 + unit(rng) * 200.0,
                12.0 + unit(rng) * 30.0,
            )
        })
        .collect();
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - apex.0, y as f32 - apex.1);
            let r = (dx * dx + dy * dy).sqrt();
            let a = dx.atan2(dy);
            let mut v = 0.0;
            if r > r0 && r < r1 && a.abs() < half_angle {
                let (gx, gy) = (x as f32 / 2.0, y as f32 / 3.0);
                let (ix, iy) = (gx as usize, gy as usize);
                let (fx, fy) = (gx - ix as f32, gy - iy as f32);
                let s = grid[iy * gw + ix] * (1.0 - fx) * (1.0 - fy)
                    + grid[iy * gw + ix + 1] * fx * (1.0 - fy)
                    + grid[(iy + 1) * gw + ix] * (1.0 - fx) * fy
                    + grid[(iy + 1) * gw + ix + 1] * fx * fy;
                let depth = 1.0 - 0.5 * (r - r0) / (r1 - r0);
                let mut tissue = 70.0 * depth;
                for &(cx, cy, cr) in &cysts {
                    if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < cr * cr {
                        tissue = 8.0;
                    }
                }
                v = (tissue * s).min(255.0);
            }
            c.set(x as i64, y as i64, [v; 3]);
        }
    }
}

/// Radiograph-like: a smooth gradient, collimated edges, soft blobs
/// (anatomy), noise; 12-bit.
fn cr_scene(rng: &mut Rng, c: &mut Canvas) {
    let (w, h) = (c.w as f32, c.h as f32);
    let blobs: Vec<(f32, f32, f32, f32)> = (0..9)
        .map(|_| {
            (
                w * (0.2 + unit(rng) * 0.6),
                h * (0.2 + unit(rng) * 0.6),
                30.0 + unit(rng) * 160.0,
                (unit(rng) - 0.3) * 1600.0,
            )
        })
        .collect();
    let tilt = unit(rng) * 800.0;
    for y in 0..c.h {
        for x in 0..c.w {
            let (fx, fy) = (x as f32, y as f32);
            let mut v = 900.0 + tilt * fx / w + 600.0 * fy / h;
            for &(bx, by, r, a) in &blobs {
                let d2 = ((fx - bx).powi(2) + (fy - by).powi(2)) / (r * r);
                if d2 < 9.0 {
                    v += a * (-d2).exp();
                }
            }
            v += gauss(rng) * 30.0;
            c.set(i64::from(x), i64::from(y), [v.clamp(0.0, 4095.0); 3]);
        }
    }
}

/// Names, IDs and dates as a device would print them.
fn phi_lines(rng: &mut Rng) -> Vec<String> {
    let family = rng.pick(FAMILY_NAMES).to_uppercase();
    let names = if rng.chance(0.5) {
        GIVEN_NAMES_F
    } else {
        GIVEN_NAMES_M
    };
    let given = rng.pick(names).to_uppercase();
    let site = rng.pick(SITES);
    vec![
        format!("{family}^{given}"),
        format!("ID: MRN{:07}", rng.range(1_000_000, 9_999_999)),
        format!(
            "{}-{:02}-{:02} {:02}:{:02}",
            rng.range(2015, 2024),
            rng.range(1, 12),
            rng.range(1, 28),
            rng.range(7, 19),
            rng.range(0, 59)
        ),
        format!("{}{:08}", site.code, rng.range(0, 99_999_999)),
        format!(
            "DOB {:02}/{:02}/{}",
            rng.range(1, 28),
            rng.range(1, 12),
            rng.range(1930, 2005)
        ),
    ]
}

/// Text colour for a scene: mostly the brightest value, sometimes grey,
/// coloured on RGB ultrasound.
fn ink(rng: &mut Rng, scene: Scene) -> [f32; 3] {
    match scene {
        Scene::CtDisc => [if rng.chance(0.7) { 3071.0 } else { 1200.0 }; 3],
        Scene::UsFan => [if rng.chance(0.7) { 255.0 } else { 170.0 }; 3],
        Scene::UsFanColour => *rng.pick(&[
            [255.0, 255.0, 255.0],
            [255.0, 230.0, 40.0],
            [60.0, 230.0, 90.0],
            [80.0, 210.0, 255.0],
        ]),
        Scene::CrGradient => [4095.0; 3],
    }
}

/// Hard negatives: a ruler of ticks, a dotted caliper line with "+" ends,
/// and a lone side marker.
fn decoys(rng: &mut Rng, c: &mut Canvas, bright: [f32; 3], avoid: &[Rect]) {
    let (w, h) = (c.w, c.h);
    // Ruler: ticks every 10-20 px along the right edge, every fifth longer.
    let step = 10 + rng.range(0, 10) as u32;
    let x = w - 14;
    let mut k = 0;
    let mut y = h / 5;
    while y < h * 4 / 5 {
        let len = if k % 5 == 0 { 10 } else { 5 };
        let tick = Rect {
            x: x + 10 - len,
            y,
            width: len,
            height: 1,
        };
        if !clashes(&tick, avoid) {
            c.fill_rect(tick, bright);
        }
        y += step;
        k += 1;
    }
    // Caliper: two "+" marks joined by dots of 2 x 2.
    let (x0, y0) = (
        w / 3 + rng.range(0, 40) as u32,
        h / 2 + rng.range(0, 60) as u32,
    );
    let len = 80 + rng.range(0, 80) as u32;
    let caliper = Rect {
        x: x0 - 4,
        y: y0 - 4,
        width: len + 9,
        height: 9,
    };
    if clashes(&caliper, avoid) {
        return side_marker(rng, c, bright, avoid);
    }
    for end in [x0, x0 + len] {
        c.fill_rect(
            Rect {
                x: end - 4,
                y: y0,
                width: 9,
                height: 1,
            },
            bright,
        );
        c.fill_rect(
            Rect {
                x: end,
                y: y0 - 4,
                width: 1,
                height: 9,
            },
            bright,
        );
    }
    let mut dx = 8;
    while dx + 6 < len {
        c.fill_rect(
            Rect {
                x: x0 + dx,
                y: y0,
                width: 2,
                height: 2,
            },
            bright,
        );
        dx += 6;
    }
    side_marker(rng, c, bright, avoid);
}

/// Whether `r` comes within 8 pixels of any of `avoid`.
fn clashes(r: &Rect, avoid: &[Rect]) -> bool {
    avoid.iter().any(|a| {
        a.x < r.x + r.width + 8
            && r.x < a.x + a.width + 8
            && a.y < r.y + r.height + 8
            && r.y < a.y + a.height + 8
    })
}

fn side_marker(rng: &mut Rng, c: &mut Canvas, bright: [f32; 3], avoid: &[Rect]) {
    let (w, h) = (c.w, c.h);
    // A side marker "L" or "R" (scaled 2-5) in a corner free of text.
    let scale = 2 + rng.range(0, 3) as u32;
    let (mw, mh) = text_size("L", scale);
    let corners = [
        (12, 12),
        (w - mw - 24, 12),
        (12, h - mh - 12),
        (w - mw - 24, h - mh - 12),
    ];
    let start = rng.range(0, 3) as usize;
    for k in 0..4 {
        let (mx, my) = corners[(start + k) % 4];
        let r = Rect {
            x: mx,
            y: my,
            width: mw,
            height: mh,
        };
        // Far enough from text not to join its row.
        let wide = Rect {
            x: r.x.saturating_sub(32),
            y: r.y.saturating_sub(32),
            width: r.width + 64,
            height: r.height + 64,
        };
        if !clashes(&wide, avoid) {
            c.text(
                if rng.chance(0.5) { "L" } else { "R" },
                mx,
                my,
                scale,
                bright,
            );
            break;
        }
    }
}

/// Draws the lines at `placement`, shrinking the scale until they fit.
fn place_text(
    rng: &mut Rng,
    c: &mut Canvas,
    placement: Placement,
    scale: u32,
    colour: [f32; 3],
    range: (f32, f32),
) -> Vec<TextLine> {
    let all = phi_lines(rng);
    let n = 1 + rng.range(0, 2) as usize;
    let margin = 3 + rng.range(0, 13) as u32;
    let mut texts: Vec<String> = all.into_iter().take(n.max(2)).collect();
    if !matches!(placement, Placement::TopBand | Placement::BottomBand) {
        texts.truncate(n);
    }
    let mut scale = scale;
    let widest = |s: u32, t: &[String]| t.iter().map(|l| text_size(l, s).0).max().unwrap_or(0);
    let band = matches!(placement, Placement::TopBand | Placement::BottomBand);
    while scale > 1 {
        let need = if band {
            texts.iter().map(|l| text_size(l, scale).0).sum::<u32>() + 30
        } else {
            widest(scale, &texts)
        };
        if need + 2 * margin <= c.w {
            break;
        }
        scale -= 1;
    }
    let line_h = GLYPH_H * scale;
    let pitch = line_h + 2 * scale + 1;
    let block_h = pitch * texts.len() as u32 - (pitch - line_h);
    let (w, h) = (c.w, c.h);
    let mut plan: Vec<(String, u32, u32)> = Vec::new();
    match placement {
        Placement::TopBand | Placement::BottomBand => {
            let y = if placement == Placement::TopBand {
                margin
            } else {
                h - margin - line_h
            };
            let (left, right) = (&texts[0], &texts[1]);
            plan.push((left.clone(), margin, y));
            let rw = text_size(right, scale).0;
            plan.push((right.clone(), w - margin - rw, y));
        }
        _ => {
            let jitter = rng.range(0, 20) as u32;
            for (k, t) in texts.iter().enumerate() {
                let tw = text_size(t, scale).0;
                let x = match placement {
                    Placement::TopLeft | Placement::BottomLeft => margin,
                    Placement::TopRight | Placement::BottomRight => w - margin - tw,
                    _ => (w - tw) / 2,
                };
                let top = match placement {
                    Placement::TopLeft | Placement::TopRight => margin,
                    Placement::BottomLeft | Placement::BottomRight => h - margin - block_h,
                    _ => (h - block_h) / 2 + jitter,
                };
                plan.push((t.clone(), x, top + k as u32 * pitch));
            }
        }
    }
    // Text the same brightness as what lies under it is not readable (and
    // not a leak): a device would not be seen printing it, so print it dark.
    let boxes: Vec<Rect> = plan
        .iter()
        .map(|(t, x, y)| {
            let (tw, th) = text_size(t, scale);
            Rect {
                x: *x,
                y: *y,
                width: tw,
                height: th,
            }
        })
        .collect();
    let level = colour[0].max(colour[1]).max(colour[2]);
    let colour = if (c.mean_in(&boxes) - level).abs() < 0.35 * (range.1 - range.0) {
        [range.0; 3]
    } else {
        colour
    };
    plan.into_iter()
        .map(|(t, x, y)| {
            let rect = c.text(&t, x, y, scale, colour);
            TextLine {
                text: t,
                rect,
                scale,
            }
        })
        .collect()
}

/// Draws `text` into a frame (grey: `colour[0]`; RGB: all three) with
/// its top-left at (x, y); returns the box of its ink cells. For tests
/// that build their own images.
pub fn draw_text(
    frame: &mut Frame,
    text: &str,
    x: u32,
    y: u32,
    scale: u32,
    colour: [f32; 3],
) -> Rect {
    let mut c = Canvas {
        w: frame.columns,
        h: frame.rows,
        samples: frame.samples.max(1) as usize,
        v: std::mem::take(&mut frame.values),
    };
    let r = c.text(text, x, y, scale, colour);
    frame.values = c.v;
    r
}

/// Generates one image.
pub fn generate_image(spec: &ImageSpec) -> BurninImage {
    let mut rng = Rng::new(spec.seed);
    let (w, h) = spec.scene.size();
    let samples = if spec.scene == Scene::UsFanColour {
        3
    } else {
        1
    };
    let mut c = Canvas::new(w, h, samples, 0.0);
    match spec.scene {
        Scene::CtDisc => ct_scene(&mut rng, &mut c),
        Scene::UsFan | Scene::UsFanColour => us_scene(&mut rng, &mut c),
        Scene::CrGradient => cr_scene(&mut rng, &mut c),
    }
    let lines = match spec.text {
        Some((placement, scale)) => {
            let colour = ink(&mut rng, spec.scene);
            let range = match spec.scene {
                Scene::CtDisc => (-1024.0, 3071.0),
                Scene::CrGradient => (0.0, 4095.0),
                _ => (0.0, 255.0),
            };
            place_text(
                &mut rng,
                &mut c,
                placement,
                scale.clamp(1, 4),
                colour,
                range,
            )
        }
        None => Vec::new(),
    };
    if spec.decoys {
        let bright = match spec.scene {
            Scene::CtDisc => [1500.0; 3],
            Scene::CrGradient => [4095.0; 3],
            _ => [230.0; 3],
        };
        let avoid: Vec<Rect> = lines.iter().map(|l| l.rect).collect();
        decoys(&mut rng, &mut c, bright, &avoid);
    }
    BurninImage {
        spec: *spec,
        frame: Frame {
            rows: h,
            columns: w,
            samples: samples as u16,
            values: c.v,
            monochrome1: false,
            header_window: None,
        },
        lines,
    }
}

/// Identity and device of a generated image written as DICOM.
#[derive(Debug, Clone)]
pub struct BurninFile {
    pub modality: &'static str,
    pub study_uid: String,
    pub series_uid: String,
    pub sop_uid: String,
    pub instance_number: u32,
    /// Burned In Annotation as written (None: absent).
    pub burned_in: Option<&'static str>,
}

/// A grey generated image as a DICOM object (CT in stored values with a
/// rescale intercept of -1024; ultrasound 8-bit JPEG baseline, others
/// native). Colour images cannot be written yet: None.
pub fn object_spec(img: &BurninImage, file: &BurninFile) -> Option<ObjectSpec> {
    if img.frame.samples != 1 {
        return None;
    }
    let (offset, max, bits) = match img.spec.scene {
        Scene::CtDisc => (1024.0, 4095.0, 16),
        Scene::CrGradient => (0.0, 4095.0, 16),
        _ => (0.0, 255.0, 8),
    };
    let samples: Vec<u16> = img
        .frame
        .values
        .iter()
        .map(|v| (v + offset).round().clamp(0.0, max) as u16)
        .collect();
    let mut e = Vec::new();
    let mut t = |g: u16, el: u16, vr: VR, v: &str| {
        e.push(TextElement {
            tag: (g, el),
            vr,
            value: v.to_string(),
        })
    };
    let sop_class = match file.modality {
        "CT" => "1.2.840.10008.5.1.4.1.1.2",
        "US" => "1.2.840.10008.5.1.4.1.1.6.1",
        "CR" => "1.2.840.10008.5.1.4.1.1.1",
        _ => "1.2.840.10008.5.1.4.1.1.7",
    };
    t(0x0008, 0x0008, VR::CS, "ORIGINAL\\PRIMARY");
    t(0x0008, 0x0016, VR::UI, sop_class);
    t(0x0008, 0x0018, VR::UI, &file.sop_uid);
    t(0x0008, 0x0020, VR::DA, "20200101");
    t(0x0008, 0x0060, VR::CS, file.modality);
    t(0x0008, 0x0070, VR::LO, "Synthetic Imaging");
    t(0x0008, 0x1090, VR::LO, "Burnin Demo");
    t(0x0010, 0x0010, VR::PN, "Burnin^Demo");
    t(0x0010, 0x0020, VR::LO, "BURNIN-1");
    t(0x0020, 0x000D, VR::UI, &file.study_uid);
    t(0x0020, 0x000E, VR::UI, &file.series_uid);
    t(0x0020, 0x0013, VR::IS, &file.instance_number.to_string());
    if let Some(b) = file.burned_in {
        t(0x0028, 0x0301, VR::CS, b);
    }
    if img.spec.scene == Scene::CtDisc {
        t(0x0028, 0x1052, VR::DS, "-1024");
        t(0x0028, 0x1053, VR::DS, "1");
    }
    let ts = if bits == 8 {
        write::JPEG_BASELINE
    } else {
        write::EXPLICIT_VR_LE
    };
    Some(ObjectSpec {
        elements: e,
        pixels: Some(Pixels {
            rows: img.frame.rows as u16,
            columns: img.frame.columns as u16,
            bits_allocated: bits,
            samples,
            frames: 1,
        }),
        transfer_syntax: ts.to_string(),
        framing: Framing::Standard,
    })
}

/// A small archive for tests and the app: an ultrasound series of three
/// images with burned-in text (Burned In Annotation YES) and a CT series
/// of three clean slices (Burned In Annotation absent), one patient.
#[derive(Debug, Clone)]
pub struct BurninArchive {
    pub us_series_uid: String,
    pub ct_series_uid: String,
    /// The ultrasound images as generated (same order as the files).
    pub us_images: Vec<BurninImage>,
    pub files: Vec<PathBuf>,
}

/// Writes [`BurninArchive`] under `out` (created if needed).
pub fn write_archive(out: &Path, seed: u64) -> Result<BurninArchive, SynthError> {
    std::fs::create_dir_all(out).map_err(|_| SynthError::CreateDir(out.into()))?;
    let mut rng = Rng::new(seed);
    let study_uid = rng.uid();
    let us_series_uid = rng.uid();
    let ct_series_uid = rng.uid();
    let mut files = Vec::new();
    let mut us_images = Vec::new();
    let mut write_one = |img: &BurninImage, file: BurninFile, name: String| {
        let spec = object_spec(img, &file).ok_or_else(|| SynthError::Write {
            source: write::WriteError::Encode("only grey images are written".into()),
            path: name.clone().into(),
        })?;
        let path = out.join(&name);
        write::write_object(&spec, &path).map_err(|source| SynthError::Write {
            source,
            path: path.clone(),
        })?;
        files.push(path);
        Ok::<(), SynthError>(())
    };
    for n in 0..3u32 {
        let img = generate_image(&ImageSpec {
            scene: Scene::UsFan,
            text: Some((Placement::TopLeft, 2)),
            decoys: n == 1,
            seed: seed + u64::from(n),
        });
        let file = BurninFile {
            modality: "US",
            study_uid: study_uid.clone(),
            series_uid: us_series_uid.clone(),
            sop_uid: rng.uid(),
            instance_number: n + 1,
            burned_in: Some("YES"),
        };
        write_one(&img, file, format!("us{}.dcm", n + 1))?;
        us_images.push(img);
    }
    for n in 0..3u32 {
        let img = generate_image(&ImageSpec {
            scene: Scene::CtDisc,
            text: None,
            decoys: false,
            seed: seed + 10 + u64::from(n),
        });
        let file = BurninFile {
            modality: "CT",
            study_uid: study_uid.clone(),
            series_uid: ct_series_uid.clone(),
            sop_uid: rng.uid(),
            instance_number: n + 1,
            burned_in: None,
        };
        write_one(&img, file, format!("ct{}.dcm", n + 1))?;
    }
    Ok(BurninArchive {
        us_series_uid,
        ct_series_uid,
        us_images,
        files,
    })
}
