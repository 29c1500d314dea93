//! A detector of text-like regions in one decoded frame: pixels that stand
//! out from their local background (brighter or darker), connected into
//! components of character size, grouped into rows of at least three
//! aligned components of similar height and spacing. Rows near the image
//! borders (where devices put names, dates and IDs) need less evidence than
//! rows in the middle. Returns padded bounding rectangles in image
//! coordinates, ready to propose as masks.
//!
//! Memory is bounded by the frame (which `preview` already bounds): frames
//! larger than [`WORK_MAX_SIDE`] on a side are averaged down first, and the
//! number of components and pairings examined is capped.

use crate::model::Rect;
use crate::preview::Frame;

/// Frames are averaged down by a whole factor until both sides fit this
/// (text on large radiographs is large too; small text may be lost).
pub const WORK_MAX_SIDE: u32 = 1024;
/// Character height range, in working pixels.
const MIN_CHAR_H: u32 = 5;
const MAX_CHAR_H: u32 = 64;
/// Half the side of the local-background box (a 31 x 31 mean).
const BOX_RADIUS: usize = 15;
/// How far (0-255, after normalising the frame's values) a pixel must
/// stand out from its local background to be a candidate.
const CONTRAST: i32 = 56;
/// At most this many character-sized components per polarity, and
/// pairings examined: a frame of pure texture stops here.
const MAX_CHARS: usize = 20_000;
const MAX_PAIRINGS: usize = 4_000_000;
/// Most background roughness (see [`TextCandidate::roughness`]) a row may
/// sit on near the borders, and in the middle.
const ROUGH_SMOOTH: f64 = 6.0;
const ROUGH_BORDER: f64 = 9.0;
const ROUGH_MIDDLE: f64 = 8.0;
const ROUGH_TEXTURE: f64 = 24.0;

/// The frame as 8-bit grey, stretched between its 0.5th and 99.5th
/// percentiles widened (so any value range, signed or not, looks alike
/// and outliers do not squash it), colour as
/// the brightest channel (coloured text on a dark ground stays bright),
/// averaged down by `factor`.
struct Work {
    g: Vec<u8>,
    w: usize,
    h: usize,
    factor: u32,
}

fn percentile_range(values: &[f32], samples: usize) -> Option<(f32, f32)> {
    // A bounded, evenly spread sample (at most about 65,536 pixels).
    let pixels = values.len() / samples;
    let stride = (pixels / 65_536).max(1);
    let mut s: Vec<f32> = Vec::with_capacity(pixels / stride + 1);
    for p in (0..pixels).step_by(stride) {
        let i = p * samples;
        let v = if samples == 3 {
            values[i].max(values[i + 1]).max(values[i + 2])
        } else {
            values[i]
        };
        if v.is_finite() {
            s.push(v);
        }
    }
    if s.is_empty() {
        return None;
    }
    let (min, max) = s
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let n = s.len();
    let lo = *s.select_nth_unstable_by(n / 200, f32::total_cmp).1;
    let hi = *s.select_nth_unstable_by(n - 1 - n / 200, f32::total_cmp).1;
    // Mostly uniform frames (a black screen with a little white text):
    // the percentiles meet, the extremes do not.
    if hi - lo > 1e-6 {
        // Widened by up to the same span on each side: text is often the
        // brightest (or darkest) value, and clipping it to the level of a
        // bright background would erase it.
        let span = hi - lo;
        Some(((lo - span).max(min), (hi + span).min(max)))
    } else if max - min > 1e-6 {
        Some((min, max))
    } else {
        None
    }
}

fn to_work(frame: &Frame) -> Option<Work> {
    let (cols, rows) = (frame.columns as usize, frame.rows as usize);
    let samples = frame.samples.max(1) as usize;
    if cols == 0 || rows == 0 || (samples != 1 && samples != 3) {
        return None;
    }
    if frame.values.len() != cols.checked_mul(rows)?.checked_mul(samples)? {
        return None;
    }
    let (lo, hi) = percentile_range(&frame.values, samples)?;
    let scale = 255.0 / (hi - lo);
    let factor = (cols.max(rows) as u32).div_ceil(WORK_MAX_SIDE).max(1) as usize;
    let (w, h) = (cols / factor, rows / factor);
    if w == 0 || h == 0 {
        return None;
    }
    let value = |x: usize, y: usize| -> f32 {
        let i = (y * cols + x) * samples;
        let v = if samples == 3 {
            frame.values[i]
                .max(frame.values[i + 1])
                .max(frame.values[i + 2])
        } else {
            frame.values[i]
        };
        if v.is_finite() {
            ((v - lo) * scale).clamp(0.0, 255.0)
        } else {
            0.0
        }
    };
    let mut g = vec![0u8; w * h];
    let area = (factor * factor) as f32;
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0.0f32;
            for dy in 0..factor {
                for dx in 0..factor {
                    sum += value(x * factor + dx, y * factor + dy);
                }
            }
            g[y * w + x] = (sum / area).round() as u8;
        }
    }
    Some(Work {
        g,
        w,
        h,
        factor: factor as u32,
    })
}

/// The mean of the (2r+1)^2 box around each pixel (clipped at the edges).
fn local_means(work: &Work) -> Vec<u8> {
    let (w, h) = (work.w, work.h);
    // Summed-area table; u32 holds 255 x 1024 x 1024.
    let mut sat = vec![0u32; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0u32;
        for x in 0..w {
            row += u32::from(work.g[y * w + x]);
            sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1] + row;
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let y0 = y.saturating_sub(BOX_RADIUS);
        let y1 = (y + BOX_RADIUS + 1).min(h);
        for x in 0..w {
            let x0 = x.saturating_sub(BOX_RADIUS);
            let x1 = (x + BOX_RADIUS + 1).min(w);
            let s = sat[y1 * (w + 1) + x1] + sat[y0 * (w + 1) + x0]
                - sat[y0 * (w + 1) + x1]
                - sat[y1 * (w + 1) + x0];
            out[y * w + x] = (s / ((y1 - y0) * (x1 - x0)) as u32) as u8;
        }
    }
    out
}

/// One connected component's box and statistics (working pixels).
#[derive(Debug, Clone, Copy)]
struct Comp {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    area: u32,
    sum: u64,
    sum_sq: u64,
}

impl Comp {
    fn w(&self) -> u32 {
        self.x1 - self.x0 + 1
    }
    fn h(&self) -> u32 {
        self.y1 - self.y0 + 1
    }
    fn cy2(&self) -> u32 {
        self.y0 + self.y1
    }
    /// Spread of the values inside (burned-in text is drawn flat).
    fn std(&self) -> f64 {
        let n = f64::from(self.area);
        let m = self.sum as f64 / n;
        (self.sum_sq as f64 / n - m * m).max(0.0).sqrt()
    }
    fn merge(&mut self, o: &Comp) {
        self.x0 = self.x0.min(o.x0);
        self.y0 = self.y0.min(o.y0);
        self.x1 = self.x1.max(o.x1);
        self.y1 = self.y1.max(o.y1);
        self.area += o.area;
        self.sum += o.sum;
        self.sum_sq += o.sum_sq;
    }
}

fn find(parent: &mut [u32], mut a: u32) -> u32 {
    while parent[a as usize] != a {
        let p = parent[parent[a as usize] as usize];
        parent[a as usize] = p;
        a = p;
    }
    a
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi as usize] = lo;
    }
}

/// 8-connected components of the pixels where `candidate` holds, by runs
/// (memory: one entry per run, at most half the pixels).
fn components(work: &Work, candidate: &dyn Fn(usize) -> bool) -> Vec<Comp> {
    let (w, h) = (work.w, work.h);
    // Runs: (x0, x1) per row, rows delimited by `row_start`.
    let mut runs: Vec<(u32, u32)> = Vec::new();
    let mut row_start: Vec<usize> = Vec::with_capacity(h + 1);
    let mut parent: Vec<u32> = Vec::new();
    for y in 0..h {
        row_start.push(runs.len());
        let mut x = 0;
        while x < w {
            if candidate(y * w + x) {
                let x0 = x;
                while x < w && candidate(y * w + x) {
                    x += 1;
                }
                runs.push((x0 as u32, x as u32 - 1));
                parent.push(parent.len() as u32);
            } else {
                x += 1;
            }
        }
    }
    row_start.push(runs.len());
    for y in 1..h {
        let (prev, cur) = (
            row_start[y - 1]..row_start[y],
            row_start[y]..row_start[y + 1],
        );
        let mut p = prev.start;
        for c in cur {
            let (cx0, cx1) = runs[c];
            // Previous-row runs that touch [cx0 - 1, cx1 + 1].
            while p < prev.end && runs[p].1 + 1 < cx0 {
                p += 1;
            }
            let mut q = p;
            while q < prev.end && runs[q].0 <= cx1 + 1 {
                union(&mut parent, c as u32, q as u32);
                q += 1;
            }
        }
    }
    let mut slot: Vec<u32> = vec![u32::MAX; runs.len()];
    let mut comps: Vec<Comp> = Vec::new();
    for y in 0..h {
        for (r, &(x0, x1)) in runs
            .iter()
            .enumerate()
            .take(row_start[y + 1])
            .skip(row_start[y])
        {
            let root = find(&mut parent, r as u32) as usize;
            let (mut sum, mut sum_sq) = (0u64, 0u64);
            for x in x0..=x1 {
                let v = u64::from(work.g[y * w + x as usize]);
                sum += v;
                sum_sq += v * v;
            }
            let c = Comp {
                x0,
                y0: y as u32,
                x1,
                y1: y as u32,
                area: x1 - x0 + 1,
                sum,
                sum_sq,
            };
            if slot[root] == u32::MAX {
                slot[root] = comps.len() as u32;
                comps.push(c);
            } else {
                comps[slot[root] as usize].merge(&c);
            }
        }
    }
    comps
}

/// Character-sized: a few to 64 pixels high, not a long bar, neither a
/// speck nor a solid block (thin strokes like "l" or "1" may be solid).
fn char_like(c: &Comp) -> bool {
    let (w, h) = (c.w(), c.h());
    if !(MIN_CHAR_H..=MAX_CHAR_H).contains(&h) || w > 3 * h {
        return false;
    }
    let fill = f64::from(c.area) / f64::from(w * h);
    let thin = w <= (h / 4).max(2);
    fill >= 0.12 && (fill <= 0.85 || thin)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Rows of at least three components: similar height, centres aligned,
/// gaps under 1.6 heights.
fn lines(chars: &[Comp]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..chars.len()).collect();
    order.sort_by_key(|&i| (chars[i].x0, chars[i].y0));
    let mut parent: Vec<u32> = (0..chars.len() as u32).collect();
    let mut pairings = 0usize;
    'outer: for (k, &i) in order.iter().enumerate() {
        let a = &chars[i];
        let reach = a.x1 + 1 + (a.h() * 8).div_ceil(5);
        for &j in &order[k + 1..] {
            let b = &chars[j];
            if b.x0 > reach {
                break;
            }
            pairings += 1;
            if pairings > MAX_PAIRINGS {
                break 'outer;
            }
            let (ha, hb) = (a.h(), b.h());
            let (hmax, hmin) = (ha.max(hb), ha.min(hb));
            if hmax * 10 > hmin * 17 {
                continue;
            }
            // Centres within 0.35 of the taller height (in doubled units).
            if a.cy2().abs_diff(b.cy2()) * 20 > hmax * 14 {
                continue;
            }
            let gap = i64::from(b.x0) - i64::from(a.x1) - 1;
            if gap < -1 || gap * 5 > i64::from(hmax) * 8 {
                continue;
            }
            union(&mut parent, i as u32, j as u32);
        }
    }
    let mut groups: std::collections::HashMap<u32, Vec<usize>> = Default::default();
    for i in 0..chars.len() {
        let r = find(&mut parent, i as u32);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().filter(|m| m.len() >= 3).collect()
}

/// Grows accepted rows by the aligned components just beyond their ends
/// (a short word such as "ID" before a gap belongs to the row).
fn extend(line: &mut Vec<usize>, chars: &[Comp], taken: &mut [bool]) {
    loop {
        let hmed = median(line.iter().map(|&i| f64::from(chars[i].h())).collect());
        let (x0, x1) = line.iter().fold((u32::MAX, 0), |(a, b), &i| {
            (a.min(chars[i].x0), b.max(chars[i].x1))
        });
        let cy2 = median(line.iter().map(|&i| f64::from(chars[i].cy2())).collect());
        let reach = 3.0 * hmed;
        let mut grew = false;
        for (j, c) in chars.iter().enumerate() {
            if taken[j] {
                continue;
            }
            let r = f64::from(c.h()) / hmed;
            let aligned = (f64::from(c.cy2()) - cy2).abs() <= 0.7 * hmed;
            let near = (f64::from(x0) - f64::from(c.x1) <= reach && c.x1 < x0)
                || (f64::from(c.x0) - f64::from(x1) <= reach && c.x0 > x1);
            if (0.6..=1.6).contains(&r) && aligned && near {
                taken[j] = true;
                line.push(j);
                grew = true;
            }
        }
        if !grew {
            return;
        }
    }
}

/// A row of components the detector considered, with what it measured
/// (working pixels are image pixels divided by `factor`).
#[derive(Debug, Clone, PartialEq)]
pub struct TextCandidate {
    /// The row's box in image coordinates, not padded.
    pub rect: Rect,
    pub components: usize,
    /// Median spread of values inside its components (0-255 scale):
    /// burned-in text is drawn in one grey.
    pub flatness: f64,
    /// Mean difference between neighbouring background pixels around
    /// the row (0-255 scale): speckle and texture are rough, the bands
    /// and corners where devices print are smooth.
    pub roughness: f64,
    pub near_border: bool,
    /// Whether the row was judged to be text.
    pub accepted: bool,
}

/// Rough background means texture: the mean absolute difference between
/// neighbouring pixels that are not candidates, in the box grown by `pad`.
fn roughness(
    work: &Work,
    is_candidate: &dyn Fn(usize) -> bool,
    b: (u32, u32, u32, u32),
    pad: u32,
) -> f64 {
    let (w, h) = (work.w as u32, work.h as u32);
    let (x0, y0) = (b.0.saturating_sub(pad), b.1.saturating_sub(pad));
    let (x1, y1) = ((b.2 + pad).min(w - 1), (b.3 + pad).min(h - 1));
    let (mut sum, mut n) = (0u64, 0u64);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let i = (y * w + x) as usize;
            if is_candidate(i) {
                continue;
            }
            if x < x1 && !is_candidate(i + 1) {
                sum += u64::from(work.g[i].abs_diff(work.g[i + 1]));
                n += 1;
            }
            if y < y1 && !is_candidate(i + w as usize) {
                sum += u64::from(work.g[i].abs_diff(work.g[i + w as usize]));
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        sum as f64 / n as f64
    }
}

/// Judges one row: a pattern of identical marks (ruler ticks, dotted
/// lines), mixed sizes, texture and rows in the middle (which need more
/// evidence) are not text.
fn judge(
    members: &[usize],
    chars: &[Comp],
    work: &Work,
    is_candidate: &dyn Fn(usize) -> bool,
) -> TextCandidate {
    let cs: Vec<&Comp> = members.iter().map(|&i| &chars[i]).collect();
    let n = cs.len();
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for c in &cs {
        x0 = x0.min(c.x0);
        y0 = y0.min(c.y0);
        x1 = x1.max(c.x1);
        y1 = y1.max(c.y1);
    }
    let (wmin, wmax) = cs
        .iter()
        .fold((u32::MAX, 0), |(a, b), c| (a.min(c.w()), b.max(c.w())));
    let (amin, amax) = cs
        .iter()
        .fold((u32::MAX, 0), |(a, b), c| (a.min(c.area), b.max(c.area)));
    let pattern = wmax - wmin <= 1 && (amax - amin) * 10 <= amax;
    let hmed = median(cs.iter().map(|c| f64::from(c.h())).collect());
    let off = cs
        .iter()
        .filter(|c| !(0.7..=1.4).contains(&(f64::from(c.h()) / hmed)))
        .count();
    let mixed = off * 3 > n;
    let flatness = median(cs.iter().map(|c| c.std()).collect());
    let pad = ((hmed / 2.0) as u32).max(2);
    let rough = roughness(work, is_candidate, (x0, y0, x1, y1), pad);
    let (w, h) = (work.w as f64, work.h as f64);
    let (cx, cy) = (f64::from(x0 + x1) / 2.0 / w, f64::from(y0 + y1) / 2.0 / h);
    let near_border = !(0.2..=0.8).contains(&cx) || !(0.2..=0.8).contains(&cy);
    // Three marks on a smooth ground are enough near the borders; rough
    // ground (speckle) and the middle of the image need more and flatter
    // marks.
    let accepted = !pattern
        && !mixed
        && if near_border {
            flatness <= 40.0
                && (rough <= ROUGH_SMOOTH
                    || (n >= 4 && rough <= ROUGH_BORDER)
                    || (n >= 6 && flatness <= 15.0 && rough <= ROUGH_TEXTURE))
        } else {
            (n >= 4 && flatness <= 24.0 && rough <= ROUGH_MIDDLE)
                || (n >= 9 && flatness <= 12.0 && rough <= ROUGH_TEXTURE)
        };
    let f = work.factor;
    TextCandidate {
        rect: Rect {
            x: x0 * f,
            y: y0 * f,
            width: (x1 - x0 + 1) * f,
            height: (y1 - y0 + 1) * f,
        },
        components: n,
        flatness,
        roughness: rough,
        near_border,
        accepted,
    }
}

fn overlaps(a: &Rect, b: &Rect) -> bool {
    a.x <= b.x + b.width && b.x <= a.x + a.width && a.y <= b.y + b.height && b.y <= a.y + a.height
}

fn merge_rects(mut rects: Vec<Rect>) -> Vec<Rect> {
    loop {
        let mut merged = false;
        'scan: for i in 0..rects.len() {
            for j in i + 1..rects.len() {
                if overlaps(&rects[i], &rects[j]) {
                    let (a, b) = (rects[i], rects[j]);
                    let x = a.x.min(b.x);
                    let y = a.y.min(b.y);
                    rects[i] = Rect {
                        x,
                        y,
                        width: (a.x + a.width).max(b.x + b.width) - x,
                        height: (a.y + a.height).max(b.y + b.height) - y,
                    };
                    rects.swap_remove(j);
                    merged = true;
                    break 'scan;
                }
            }
        }
        if !merged {
            break;
        }
    }
    rects.sort_by_key(|r| (r.y, r.x));
    rects
}

/// Every row of components the detector considered, accepted or not,
/// with its measurements (for tuning and for explaining a proposal).
pub fn explain_text(frame: &Frame) -> Vec<TextCandidate> {
    let Some(work) = to_work(frame) else {
        return Vec::new();
    };
    let mean = local_means(&work);
    let g = &work.g;
    let bright = |i: usize| i32::from(g[i]) - i32::from(mean[i]) >= CONTRAST;
    let dark = |i: usize| i32::from(mean[i]) - i32::from(g[i]) >= CONTRAST;
    let either = |i: usize| (i32::from(g[i]) - i32::from(mean[i])).abs() >= CONTRAST;
    let mut out = Vec::new();
    for candidate in [&bright as &dyn Fn(usize) -> bool, &dark] {
        let mut chars: Vec<Comp> = components(&work, candidate)
            .into_iter()
            .filter(char_like)
            .collect();
        chars.truncate(MAX_CHARS);
        let rows = lines(&chars);
        let mut taken = vec![false; chars.len()];
        for row in &rows {
            for &i in row {
                taken[i] = true;
            }
        }
        for mut row in rows {
            let first = judge(&row, &chars, &work, &either);
            if first.accepted {
                extend(&mut row, &chars, &mut taken);
                out.push(judge(&row, &chars, &work, &either));
            } else {
                out.push(first);
            }
        }
    }
    out
}

/// Text-like regions of `frame` as rectangles in image coordinates
/// (padded, merged where they overlap, inside the image), top to bottom.
/// Empty for frames that are blank, inconsistent or without text.
pub fn detect_text(frame: &Frame) -> Vec<Rect> {
    let rects = explain_text(frame)
        .into_iter()
        .filter(|c| c.accepted)
        .map(|c| {
            let r = c.rect;
            let pad = (r.height / 4).max(2);
            let (x0, y0) = (r.x.saturating_sub(pad), r.y.saturating_sub(pad));
            let x1 = (r.x + r.width + pad).min(frame.columns);
            let y1 = (r.y + r.height + pad).min(frame.rows);
            Rect {
                x: x0,
                y: y0,
                width: x1 - x0,
                height: y1 - y0,
            }
        })
        .collect();
    merge_rects(rects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::burnin::{
        draw_text, generate_image, ImageSpec, Placement, Scene, PLACEMENTS,
    };

    fn spec(scene: Scene, text: Option<(Placement, u32)>, decoys: bool, seed: u64) -> ImageSpec {
        ImageSpec {
            scene,
            text,
            decoys,
            seed,
        }
    }

    fn assert_found(spec: &ImageSpec) {
        let img = generate_image(spec);
        assert!(!img.lines.is_empty());
        let regions = detect_text(&img.frame);
        for r in &regions {
            assert!(
                r.fits(img.frame.rows, img.frame.columns),
                "{r:?} outside the image"
            );
        }
        for l in &img.lines {
            let c = l.rect.covered_share(&regions);
            assert!(
                c >= 0.9,
                "{spec:?}: '{}' at {:?} covered {:.0}% by {regions:?}",
                l.text,
                l.rect,
                c * 100.0
            );
        }
    }

    #[test]
    fn finds_text_at_every_position_and_size_on_a_ct_slice() {
        for (k, placement) in PLACEMENTS.into_iter().enumerate() {
            for scale in 1..=4 {
                assert_found(&spec(
                    Scene::CtDisc,
                    Some((placement, scale)),
                    scale.is_multiple_of(2),
                    100 + k as u64 * 10 + u64::from(scale),
                ));
            }
        }
    }

    #[test]
    fn finds_text_in_the_corners_and_bands_of_ultrasound_grey_and_colour() {
        for (k, placement) in PLACEMENTS[..6].iter().enumerate() {
            for scene in [Scene::UsFan, Scene::UsFanColour] {
                let scale = 1 + (k as u32 % 4);
                assert_found(&spec(
                    scene,
                    Some((*placement, scale)),
                    true,
                    300 + k as u64,
                ));
            }
        }
    }

    #[test]
    fn finds_text_on_a_radiograph_in_a_corner_and_the_middle() {
        assert_found(&spec(
            Scene::CrGradient,
            Some((Placement::BottomRight, 2)),
            true,
            41,
        ));
        assert_found(&spec(
            Scene::CrGradient,
            Some((Placement::Middle, 4)),
            false,
            42,
        ));
    }

    #[test]
    fn quiet_on_a_plain_ct_disc_a_gradient_rulers_calipers_and_a_lone_marker() {
        for seed in 0..3 {
            let plain = generate_image(&spec(Scene::CtDisc, None, false, seed));
            assert_eq!(detect_text(&plain.frame), vec![], "plain CT disc {seed}");
            let decoys = generate_image(&spec(Scene::CtDisc, None, true, seed));
            assert_eq!(detect_text(&decoys.frame), vec![], "CT with decoys {seed}");
            let us = generate_image(&spec(Scene::UsFan, None, true, seed));
            assert_eq!(detect_text(&us.frame), vec![], "US with decoys {seed}");
        }
        let (w, h) = (512u32, 512u32);
        let gradient = Frame {
            rows: h,
            columns: w,
            samples: 1,
            values: (0..w * h)
                .map(|i| ((i % w) * 8 + (i / w) * 3) as f32)
                .collect(),
            monochrome1: false,
            header_window: None,
        };
        assert_eq!(detect_text(&gradient), vec![], "gradient");
        for scale in 1..=5 {
            let mut marker = generate_image(&spec(Scene::CtDisc, None, false, 7)).frame;
            draw_text(&mut marker, "L", 20, 20, scale, [3071.0; 3]);
            assert_eq!(detect_text(&marker), vec![], "a lone L at scale {scale}");
        }
    }

    #[test]
    fn any_value_range_and_either_polarity() {
        let img = generate_image(&spec(
            Scene::CtDisc,
            Some((Placement::TopLeft, 2)),
            false,
            5,
        ));
        let base = detect_text(&img.frame);
        assert!(!base.is_empty());
        // Stored values with a large offset and gain, and inverted values
        // (MONOCHROME1 or dark text on a light ground) find the same text.
        let mut shifted = img.frame.clone();
        for v in &mut shifted.values {
            *v = *v * 7.5 + 30_000.0;
        }
        assert_eq!(detect_text(&shifted), base);
        let mut inverted = img.frame.clone();
        inverted.monochrome1 = true;
        for v in &mut inverted.values {
            *v = -*v;
        }
        let found = detect_text(&inverted);
        for l in &img.lines {
            assert!(l.rect.covered_share(&found) >= 0.9, "inverted: {found:?}");
        }
    }

    #[test]
    fn blank_or_inconsistent_frames_give_nothing() {
        let frame = |rows, columns, samples, values: Vec<f32>| Frame {
            rows,
            columns,
            samples,
            values,
            monochrome1: false,
            header_window: None,
        };
        assert!(detect_text(&frame(0, 0, 1, vec![])).is_empty());
        assert!(detect_text(&frame(64, 64, 1, vec![7.0; 64 * 64])).is_empty());
        assert!(detect_text(&frame(64, 64, 1, vec![1.0; 10])).is_empty());
        assert!(detect_text(&frame(8, 8, 2, vec![1.0; 128])).is_empty());
        let mut nan = vec![0.0; 64 * 64];
        nan[5] = f32::NAN;
        nan[6] = f32::INFINITY;
        assert!(detect_text(&frame(64, 64, 1, nan)).is_empty());
    }

    #[test]
    fn large_frames_are_worked_on_smaller_and_mapped_back() {
        // 2048 x 2048: averaged down by 2; the text (scale 4 = 28 px high)
        // is found and the rectangle is in full-size coordinates.
        let (w, h) = (2048u32, 2048u32);
        let mut f = Frame {
            rows: h,
            columns: w,
            samples: 1,
            values: (0..w * h).map(|i| 800.0 + ((i / w) as f32) * 0.3).collect(),
            monochrome1: false,
            header_window: None,
        };
        let line = draw_text(&mut f, "DOE^JANE 1984", 1500, 1900, 4, [4095.0; 3]);
        let found = detect_text(&f);
        assert!(line.covered_share(&found) >= 0.9, "{found:?} for {line:?}");
        assert!(found.iter().all(|r| r.fits(h, w)));
    }

    #[test]
    fn real_ct_and_mr_fixtures_have_no_text_like_regions() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real");
        for name in [
            "CT_small.dcm",
            "MR_small_implicit.dcm",
            "MR_small_RLE.dcm",
            "MR_small_bigendian.dcm",
        ] {
            let obj = dicom_object::open_file(dir.join(name)).unwrap();
            let frame = crate::preview::decode_frame(&obj, 0).unwrap();
            assert_eq!(detect_text(&frame), vec![], "{name}");
        }
    }
}
