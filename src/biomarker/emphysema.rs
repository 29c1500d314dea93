//! The CT emphysema index of a chest CT series: a lung mask by thresholding
//! and connected components, then %LAA-950 and Perc15 over it.
//!
//! Method (version [`METHOD_VERSION`]):
//! 1. Values are HU: stored value x Rescale Slope + Rescale Intercept (the
//!    Modality LUT, as `preview::decode_frame` returns them).
//! 2. Per axial slice (in parallel): "air-like" pixels are HU < -500
//!    ([`AIR_BELOW_HU`]). Their 2-D 4-connected components that touch the
//!    image border are air outside the body (and the padding outside the
//!    scan field) and are dropped. What is left are lung candidates; values
//!    below -1024 HU among them are counted as -1024 (they are air). Each
//!    slice keeps only its candidate runs and, per 2-D component, a sparse
//!    histogram of 1-HU bins: memory grows with the lung's runs, not with
//!    the volume.
//! 3. 2-D components of adjacent slices are joined where their runs overlap
//!    in the same row (6-connectivity in 3-D).
//! 4. 3-D components smaller than 10 % of the largest are dropped
//!    ([`KEEP_FRACTION`]): this removes a trachea that is not joined to the
//!    lungs, bowel gas and the oesophagus. Where the airways are joined to a
//!    lung, the 2-D pieces that look like an airway lumen are removed: at
//!    most [`AIRWAY_MAX_AREA_MM2`], mean below -950 HU (air, where lung
//!    parenchyma averages about -850) and centred within the middle 30 % of
//!    the body's width. Smaller bronchi inside the lung stay in the mask:
//!    this is a simple method, and it says so.
//! 5. %LAA-950 = 100 x (lung voxels with HU **strictly below** -950) / (lung
//!    voxels). Perc15 = the 15th percentile of lung HU with linear
//!    interpolation between order statistics at rank 0.15 x (N - 1) (numpy's
//!    default, Hyndman-Fan type 7). Both come from the 1-HU histogram: exact
//!    for integer HU (slope 1 and an integer intercept, the usual CT case);
//!    otherwise %LAA-950 is still exact (HU < -950 exactly when its floor is
//!    at most -951) and Perc15 is within 1 HU (bins are floors).
//! 6. Lung volume = lung voxels x row spacing x column spacing x slice
//!    spacing, the spacing from the slices' positions along their normal
//!    (not Slice Thickness, which overlapping reconstructions exceed).

use crate::cancel::CancelToken;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Changes whenever the method or its thresholds change: stored results of
/// another version are recomputed.
pub const METHOD_VERSION: &str = "emphysema-1";
/// Air-like: HU strictly below this.
pub const AIR_BELOW_HU: f32 = -500.0;
/// Lowest bin of the lung histogram (lower values count as this).
pub const LUNG_FLOOR_HU: i32 = -1024;
/// Low attenuation: HU strictly below this.
pub const LAA_BELOW_HU: f32 = -950.0;
/// The percentile reported as Perc15.
pub const PERCENTILE: f64 = 15.0;
/// 3-D components kept: at least this fraction of the largest one.
pub const KEEP_FRACTION: f64 = 0.10;
/// A 2-D airway lumen is at most this large.
pub const AIRWAY_MAX_AREA_MM2: f64 = 600.0;
/// ... and its mean is below this.
pub const AIRWAY_MEAN_BELOW_HU: f64 = -950.0;
/// ... and its centre within this fraction of the body width of the middle.
pub const AIRWAY_CENTRAL_FRACTION: f64 = 0.15;
/// Fewer slices than this are not a volume.
pub const MIN_SLICES: usize = 10;
/// Less lung than this (mL) is "no lung found".
pub const MIN_LUNG_ML: f64 = 50.0;
/// Refused above these sizes (a chest CT is 512 x 512 x a few hundred).
pub const MAX_SIDE: u32 = 2048;
pub const MAX_SLICES: usize = 5000;
pub const MAX_VOXELS: u64 = 1 << 31;

/// Bins of the lung histogram: -1024 ..= -501 HU.
const BINS: usize = (-501 - LUNG_FLOOR_HU + 1) as usize;
/// Bins 0..=LAA_LAST_BIN are HU < -950.
const LAA_LAST_BIN: usize = (-951 - LUNG_FLOOR_HU) as usize;

/// What one slice's header says (in the order the caller has them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SliceHeader {
    pub rows: u32,
    pub columns: u32,
    /// Number of Frames (multi-frame objects are refused).
    pub frames: u32,
    /// Pixel Spacing: row spacing, column spacing (mm).
    pub pixel_spacing: Option<[f64; 2]>,
    /// Image Position (Patient), mm.
    pub position: Option<[f64; 3]>,
    /// Image Orientation (Patient): row then column direction cosines.
    pub orientation: Option<[f64; 6]>,
    pub thickness: Option<f64>,
}

/// A series checked to be one volume: the slices in spatial order.
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry {
    /// Indices into the caller's headers, by position along the normal.
    pub order: Vec<usize>,
    pub rows: u32,
    pub columns: u32,
    pub pixel_spacing: [f64; 2],
    /// Median distance between consecutive slice positions (mm).
    pub slice_spacing: f64,
    pub thickness: Option<f64>,
}

impl Geometry {
    /// One voxel in mL.
    pub fn voxel_ml(&self) -> f64 {
        self.pixel_spacing[0] * self.pixel_spacing[1] * self.slice_spacing / 1000.0
    }
}

/// Why a series has no emphysema index; `kind` is a stable code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmphysemaError {
    #[error("too few slices for a volume: {found} (at least {MIN_SLICES} are needed)")]
    TooFewSlices { found: usize },
    #[error("the slices do not form one volume: {0}")]
    InconsistentGeometry(String),
    #[error("inconsistent slice spacing: {0}")]
    InconsistentSpacing(String),
    #[error("too large to analyse: {0}")]
    TooLarge(String),
    #[error("slice {slice} cannot be decoded: {reason}")]
    Undecodable { slice: usize, reason: String },
    #[error("no lung found (largest air-filled region inside the body: {largest_ml:.1} mL; at least {MIN_LUNG_ML} mL needed)")]
    NoLung { largest_ml: f64 },
    #[error("cancelled")]
    Cancelled,
}

impl EmphysemaError {
    /// A stable code for the failure (stored and shown in reports).
    pub fn kind(&self) -> &'static str {
        match self {
            EmphysemaError::TooFewSlices { .. } => "too_few_slices",
            EmphysemaError::InconsistentGeometry(_) => "inconsistent_geometry",
            EmphysemaError::InconsistentSpacing(_) => "inconsistent_spacing",
            EmphysemaError::TooLarge(_) => "too_large",
            EmphysemaError::Undecodable { .. } => "undecodable",
            EmphysemaError::NoLung { .. } => "no_lung",
            EmphysemaError::Cancelled => "cancelled",
        }
    }
}

/// The emphysema index of one series, with how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmphysemaResult {
    pub method_version: String,
    /// "HU < -950".
    pub laa_rule: String,
    /// How Perc15 is interpolated.
    pub percentile_rule: String,
    pub air_below_hu: f64,
    pub laa_below_hu: f64,
    pub slices: u64,
    pub rows: u32,
    pub columns: u32,
    pub pixel_spacing_mm: [f64; 2],
    pub slice_spacing_mm: f64,
    pub lung_voxels: u64,
    pub laa_voxels: u64,
    pub laa950_percent: f64,
    pub perc15_hu: f64,
    pub mean_lung_hu: f64,
    pub lung_volume_ml: f64,
    /// 3-D components kept as lung.
    pub lung_components: u64,
    /// Air outside the body (border-connected), voxels.
    pub outside_air_voxels: u64,
    /// Air inside the body in components under 10 % of the largest.
    pub small_component_voxels: u64,
    /// Airway lumen removed from kept components.
    pub airway_voxels: u64,
    /// Bytes of decoded values (4 per voxel) and stored pixel data read.
    pub decoded_bytes: u64,
}

/// Checks that the slices form one volume and orders them: same size,
/// spacing and orientation, one frame each, distinct positions at a
/// regular spacing (within 10 % of the median plus 0.01 mm).
pub fn plan(headers: &[SliceHeader]) -> Result<Geometry, EmphysemaError> {
    let n = headers.len();
    if n < MIN_SLICES {
        return Err(EmphysemaError::TooFewSlices { found: n });
    }
    if n > MAX_SLICES {
        return Err(EmphysemaError::TooLarge(format!(
            "{n} slices (at most {MAX_SLICES})"
        )));
    }
    let first = &headers[0];
    if let Some(h) = headers.iter().find(|h| h.frames > 1) {
        return Err(EmphysemaError::InconsistentGeometry(format!(
            "a multi-frame image of {} frames (enhanced CT is not analysed; one image per slice is)",
            h.frames
        )));
    }
    let (rows, columns) = (first.rows, first.columns);
    if rows == 0 || columns == 0 {
        return Err(EmphysemaError::InconsistentGeometry(
            "an image without rows or columns".into(),
        ));
    }
    if rows > MAX_SIDE || columns > MAX_SIDE {
        return Err(EmphysemaError::TooLarge(format!(
            "{columns} x {rows} pixels per slice (at most {MAX_SIDE} a side)"
        )));
    }
    if u64::from(rows) * u64::from(columns) * n as u64 > MAX_VOXELS {
        return Err(EmphysemaError::TooLarge(format!(
            "{columns} x {rows} x {n} voxels (at most {MAX_VOXELS})"
        )));
    }
    if headers
        .iter()
        .any(|h| h.rows != rows || h.columns != columns)
    {
        return Err(EmphysemaError::InconsistentGeometry(
            "slices of different sizes".into(),
        ));
    }
    let spacing = first.pixel_spacing.ok_or_else(|| {
        EmphysemaError::InconsistentGeometry("no Pixel Spacing: volumes cannot be measured".into())
    })?;
    if !(spacing[0] > 0.0 && spacing[1] > 0.0 && spacing[0] < 100.0 && spacing[1] < 100.0) {
        return Err(EmphysemaError::InconsistentGeometry(format!(
            "Pixel Spacing {} \\ {} mm is not plausible",
            spacing[0], spacing[1]
        )));
    }
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-3 * a.abs().max(b.abs()).max(1.0);
    if headers.iter().any(|h| {
        h.pixel_spacing
            .is_none_or(|s| !close(s[0], spacing[0]) || !close(s[1], spacing[1]))
    }) {
        return Err(EmphysemaError::InconsistentGeometry(
            "slices with different Pixel Spacing".into(),
        ));
    }
    let orientation = first.orientation.ok_or_else(|| {
        EmphysemaError::InconsistentGeometry("no Image Orientation (Patient)".into())
    })?;
    if headers.iter().any(|h| {
        h.orientation.is_none_or(|o| {
            o.iter()
                .zip(&orientation)
                .any(|(a, b)| (a - b).abs() > 1e-3)
        })
    }) {
        return Err(EmphysemaError::InconsistentGeometry(
            "slices with different orientations".into(),
        ));
    }
    let r = [orientation[0], orientation[1], orientation[2]];
    let c = [orientation[3], orientation[4], orientation[5]];
    let normal = [
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    ];
    let norm = (normal.iter().map(|v| v * v).sum::<f64>()).sqrt();
    if !(0.9..1.1).contains(&norm) {
        return Err(EmphysemaError::InconsistentGeometry(
            "Image Orientation (Patient) is not two unit vectors at right angles".into(),
        ));
    }
    let mut at: Vec<(f64, usize)> = Vec::with_capacity(n);
    for (i, h) in headers.iter().enumerate() {
        let p = h.position.ok_or_else(|| {
            EmphysemaError::InconsistentGeometry("a slice without Image Position (Patient)".into())
        })?;
        at.push((p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2], i));
    }
    at.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut gaps: Vec<f64> = at.windows(2).map(|w| w[1].0 - w[0].0).collect();
    if gaps.iter().any(|g| *g < 1e-3) {
        return Err(EmphysemaError::InconsistentSpacing(
            "two slices at the same position (a duplicate or a second series mixed in)".into(),
        ));
    }
    let ordered_gaps = gaps.clone();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    let tolerance = 0.1 * median + 0.01;
    if let Some((k, g)) = ordered_gaps
        .iter()
        .enumerate()
        .find(|(_, g)| (**g - median).abs() > tolerance)
    {
        return Err(EmphysemaError::InconsistentSpacing(format!(
            "a gap of {g:.2} mm after slice {} where the slices are {median:.2} mm apart (missing slices, or a gantry tilt / variable spacing)",
            k + 1
        )));
    }
    Ok(Geometry {
        order: at.into_iter().map(|(_, i)| i).collect(),
        rows,
        columns,
        pixel_spacing: spacing,
        slice_spacing: median,
        thickness: first.thickness,
    })
}

/// A run of candidate pixels in one row: columns `start..end`.
#[derive(Debug, Clone, Copy)]
struct Run {
    row: u32,
    start: u32,
    end: u32,
    /// The slice-local 2-D component.
    comp: u32,
}

/// A 2-D component of lung candidates in one slice.
#[derive(Debug, Clone, Default)]
struct Comp2d {
    area: u64,
    sum_x: f64,
    sum_hu: f64,
    /// (bin, count), bins ascending.
    hist: Vec<(u16, u32)>,
}

#[derive(Debug, Default)]
struct SliceSummary {
    runs: Vec<Run>,
    comps: Vec<Comp2d>,
    outside: u64,
    /// Leftmost and rightmost column of the body (not outside air).
    body: Option<(u32, u32)>,
}

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n as u32).collect())
    }
    fn find(&mut self, mut a: u32) -> u32 {
        while self.0[a as usize] != a {
            let up = self.0[self.0[a as usize] as usize];
            self.0[a as usize] = up;
            a = up;
        }
        a
    }
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = (ra.min(rb), ra.max(rb));
            self.0[hi as usize] = lo;
        }
    }
}

/// Calls `f(i, j)` for each pair of overlapping runs between two rows'
/// runs (each sorted by start).
fn overlaps(a: &[(u32, u32)], b: &[(u32, u32)], mut f: impl FnMut(usize, usize)) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].0 < b[j].1 && b[j].0 < a[i].1 {
            f(i, j);
        }
        if a[i].1 <= b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
}

fn bin_of(v: f32) -> usize {
    ((v.floor() as i32).clamp(LUNG_FLOOR_HU, -501) - LUNG_FLOOR_HU) as usize
}

/// Step 2 for one slice of `rows x columns` HU values.
fn summarize(values: &[f32], rows: u32, columns: u32) -> SliceSummary {
    let cols = columns as usize;
    // Air-like runs per row, and where each row's runs start in `runs`.
    let mut runs: Vec<(u32, u32, u32)> = Vec::new();
    let mut row_start = Vec::with_capacity(rows as usize + 1);
    for y in 0..rows as usize {
        row_start.push(runs.len());
        let line = &values[y * cols..(y + 1) * cols];
        let mut x = 0;
        while x < cols {
            // NaN is not air (comparison false).
            if line[x] < AIR_BELOW_HU {
                let s = x;
                while x < cols && line[x] < AIR_BELOW_HU {
                    x += 1;
                }
                runs.push((y as u32, s as u32, x as u32));
            } else {
                x += 1;
            }
        }
    }
    row_start.push(runs.len());
    let mut uf = UnionFind::new(runs.len());
    for y in 1..rows as usize {
        let (p0, p1, c1) = (row_start[y - 1], row_start[y], row_start[y + 1]);
        let prev: Vec<(u32, u32)> = runs[p0..p1].iter().map(|r| (r.1, r.2)).collect();
        let cur: Vec<(u32, u32)> = runs[p1..c1].iter().map(|r| (r.1, r.2)).collect();
        overlaps(&prev, &cur, |i, j| {
            uf.union((p0 + i) as u32, (p1 + j) as u32)
        });
    }
    let mut border = vec![false; runs.len()];
    for (k, r) in runs.iter().enumerate() {
        if r.0 == 0 || r.0 + 1 == rows || r.1 == 0 || r.2 == columns {
            let root = uf.find(k as u32) as usize;
            border[root] = true;
        }
    }
    let mut out = SliceSummary::default();
    let (mut left, mut right) = (u32::MAX, 0u32);
    for y in 0..rows as usize {
        // The body spans from the end of an outside run at the left edge
        // to the start of one at the right edge.
        let mut lo = 0;
        let mut hi = columns;
        let mut full = false;
        for k in row_start[y]..row_start[y + 1] {
            let r = runs[k];
            if border[uf.find(k as u32) as usize] {
                if r.1 == 0 && r.2 == columns {
                    full = true;
                } else if r.1 == 0 {
                    lo = r.2;
                } else if r.2 == columns {
                    hi = r.1;
                }
            }
        }
        if !full && lo < hi {
            left = left.min(lo);
            right = right.max(hi - 1);
        }
    }
    if left <= right {
        out.body = Some((left, right));
    }
    // Candidate components, numbered in order of first run.
    let mut local: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    for (k, r) in runs.iter().enumerate() {
        let root = uf.find(k as u32);
        if border[root as usize] {
            out.outside += u64::from(r.2 - r.1);
            continue;
        }
        let next = local.len() as u32;
        let comp = *local.entry(root).or_insert(next);
        out.runs.push(Run {
            row: r.0,
            start: r.1,
            end: r.2,
            comp,
        });
    }
    out.comps = vec![Comp2d::default(); local.len()];
    let mut by_comp: Vec<Vec<usize>> = vec![Vec::new(); local.len()];
    for (k, r) in out.runs.iter().enumerate() {
        by_comp[r.comp as usize].push(k);
    }
    let mut scratch = vec![0u32; BINS];
    let mut touched: Vec<u16> = Vec::new();
    for (c, members) in by_comp.iter().enumerate() {
        let comp = &mut out.comps[c];
        for &k in members {
            let r = out.runs[k];
            let base = r.row as usize * cols;
            for x in r.start..r.end {
                let v = values[base + x as usize];
                let b = bin_of(v);
                if scratch[b] == 0 {
                    touched.push(b as u16);
                }
                scratch[b] += 1;
                comp.sum_hu += f64::from(v.max(LUNG_FLOOR_HU as f32));
            }
            let len = u64::from(r.end - r.start);
            comp.area += len;
            comp.sum_x += (f64::from(r.start) + f64::from(r.end - 1)) * len as f64 / 2.0;
        }
        touched.sort_unstable();
        comp.hist = touched
            .iter()
            .map(|b| (*b, std::mem::take(&mut scratch[*b as usize])))
            .collect();
        touched.clear();
    }
    out
}

/// Steps 2-6 over a volume whose slice `k` (in `geometry.order`, from 0)
/// `load(k)` returns as `rows x columns` HU values. Slices are loaded and
/// summarised in parallel (rayon), each dropped once summarised; `cancel`
/// is checked before each slice.
pub fn analyze(
    geometry: &Geometry,
    load: &(dyn Fn(usize) -> Result<Vec<f32>, String> + Sync),
    cancel: &CancelToken,
    on_slice: &(dyn Fn() + Sync),
) -> Result<EmphysemaResult, EmphysemaError> {
    let (rows, columns) = (geometry.rows, geometry.columns);
    let pixels = rows as usize * columns as usize;
    let n = geometry.order.len();
    let slices: Vec<SliceSummary> = (0..n)
        .into_par_iter()
        .map(|k| {
            if cancel.is_cancelled() {
                return Err(EmphysemaError::Cancelled);
            }
            let values = load(k).map_err(|reason| EmphysemaError::Undecodable {
                slice: k + 1,
                reason,
            })?;
            if values.len() != pixels {
                return Err(EmphysemaError::Undecodable {
                    slice: k + 1,
                    reason: format!(
                        "{} values where {columns} x {rows} are needed",
                        values.len()
                    ),
                });
            }
            let s = summarize(&values, rows, columns);
            on_slice();
            Ok(s)
        })
        .collect::<Result<_, _>>()?;
    combine(geometry, &slices)
}

/// Steps 3-6: joins the slices' components and measures the lung.
fn combine(
    geometry: &Geometry,
    slices: &[SliceSummary],
) -> Result<EmphysemaResult, EmphysemaError> {
    let mut offset = Vec::with_capacity(slices.len() + 1);
    let mut total = 0usize;
    for s in slices {
        offset.push(total);
        total += s.comps.len();
    }
    offset.push(total);
    let mut uf = UnionFind::new(total);
    for z in 1..slices.len() {
        let (a, b) = (&slices[z - 1], &slices[z]);
        // Both are sorted by (row, start): merge row by row.
        let (mut i, mut j) = (0, 0);
        while i < a.runs.len() && j < b.runs.len() {
            let (ra, rb) = (a.runs[i].row, b.runs[j].row);
            if ra < rb {
                i += 1;
                continue;
            }
            if rb < ra {
                j += 1;
                continue;
            }
            let i_end = i + a.runs[i..].iter().take_while(|r| r.row == ra).count();
            let j_end = j + b.runs[j..].iter().take_while(|r| r.row == rb).count();
            let pa: Vec<(u32, u32)> = a.runs[i..i_end].iter().map(|r| (r.start, r.end)).collect();
            let pb: Vec<(u32, u32)> = b.runs[j..j_end].iter().map(|r| (r.start, r.end)).collect();
            overlaps(&pa, &pb, |x, y| {
                uf.union(
                    (offset[z - 1] + a.runs[i + x].comp as usize) as u32,
                    (offset[z] + b.runs[j + y].comp as usize) as u32,
                )
            });
            i = i_end;
            j = j_end;
        }
    }
    let mut volume = vec![0u64; total];
    for (z, s) in slices.iter().enumerate() {
        for (c, comp) in s.comps.iter().enumerate() {
            let root = uf.find((offset[z] + c) as u32) as usize;
            volume[root] += comp.area;
        }
    }
    let voxel_ml = geometry.voxel_ml();
    let largest = volume.iter().copied().max().unwrap_or(0);
    if (largest as f64) * voxel_ml < MIN_LUNG_ML {
        return Err(EmphysemaError::NoLung {
            largest_ml: largest as f64 * voxel_ml,
        });
    }
    let keep = |v: u64| v as f64 >= KEEP_FRACTION * largest as f64;
    let pixel_mm2 = geometry.pixel_spacing[0] * geometry.pixel_spacing[1];
    let mut hist = vec![0u64; BINS];
    let (mut lung, mut small, mut airway, mut outside) = (0u64, 0u64, 0u64, 0u64);
    let mut sum_hu = 0.0f64;
    let mut kept_roots = std::collections::BTreeSet::new();
    for (z, s) in slices.iter().enumerate() {
        outside += s.outside;
        for (c, comp) in s.comps.iter().enumerate() {
            let root = uf.find((offset[z] + c) as u32) as usize;
            if !keep(volume[root]) {
                small += comp.area;
                continue;
            }
            let mean = comp.sum_hu / comp.area as f64;
            let cx = comp.sum_x / comp.area as f64;
            let central = s.body.is_some_and(|(l, r)| {
                let (l, r) = (f64::from(l), f64::from(r));
                (cx - (l + r) / 2.0).abs() <= AIRWAY_CENTRAL_FRACTION * (r - l + 1.0)
            });
            if comp.area as f64 * pixel_mm2 <= AIRWAY_MAX_AREA_MM2
                && mean < AIRWAY_MEAN_BELOW_HU
                && central
            {
                airway += comp.area;
                continue;
            }
            kept_roots.insert(root);
            lung += comp.area;
            sum_hu += comp.sum_hu;
            for (b, k) in &comp.hist {
                hist[*b as usize] += u64::from(*k);
            }
        }
    }
    if (lung as f64) * voxel_ml < MIN_LUNG_ML {
        return Err(EmphysemaError::NoLung {
            largest_ml: lung as f64 * voxel_ml,
        });
    }
    let laa: u64 = hist[..=LAA_LAST_BIN].iter().sum();
    Ok(EmphysemaResult {
        method_version: METHOD_VERSION.into(),
        laa_rule: format!("HU < {LAA_BELOW_HU}"),
        percentile_rule: "15th percentile of lung HU, linear interpolation between order statistics at rank 0.15 x (N - 1) (numpy default, Hyndman-Fan type 7), from 1-HU bins (exact for integer HU)".into(),
        air_below_hu: f64::from(AIR_BELOW_HU),
        laa_below_hu: f64::from(LAA_BELOW_HU),
        slices: slices.len() as u64,
        rows: geometry.rows,
        columns: geometry.columns,
        pixel_spacing_mm: geometry.pixel_spacing,
        slice_spacing_mm: geometry.slice_spacing,
        lung_voxels: lung,
        laa_voxels: laa,
        laa950_percent: 100.0 * laa as f64 / lung as f64,
        perc15_hu: percentile(&hist, PERCENTILE),
        mean_lung_hu: sum_hu / lung as f64,
        lung_volume_ml: lung as f64 * voxel_ml,
        lung_components: kept_roots.len() as u64,
        outside_air_voxels: outside,
        small_component_voxels: small,
        airway_voxels: airway,
        decoded_bytes: slices.len() as u64
            * u64::from(geometry.rows)
            * u64::from(geometry.columns)
            * 4,
    })
}

/// The `p`th percentile of the values in a 1-HU histogram (bin 0 is
/// [`LUNG_FLOOR_HU`]), type 7: rank h = p/100 x (N - 1) from 0, linear
/// between the order statistics floor(h) and ceil(h).
fn percentile(hist: &[u64], p: f64) -> f64 {
    let n: u64 = hist.iter().sum();
    if n == 0 {
        return f64::NAN;
    }
    let h = p / 100.0 * (n - 1) as f64;
    let (lo, hi) = (h.floor() as u64, h.ceil() as u64);
    let value_at = |rank: u64| {
        let mut seen = 0u64;
        for (b, k) in hist.iter().enumerate() {
            seen += k;
            if seen > rank {
                return (b as i32 + LUNG_FLOOR_HU) as f64;
            }
        }
        -501.0
    };
    let (a, b) = (value_at(lo), value_at(hi));
    a + (h - lo as f64) * (b - a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(z: f64) -> SliceHeader {
        SliceHeader {
            rows: 64,
            columns: 64,
            frames: 1,
            pixel_spacing: Some([5.0, 5.0]),
            position: Some([0.0, 0.0, z]),
            orientation: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            thickness: Some(5.0),
        }
    }

    #[test]
    fn the_histogram_covers_exactly_the_air_like_range() {
        assert_eq!(BINS, 524);
        assert_eq!(bin_of(-1024.0), 0);
        assert_eq!(bin_of(-3000.0), 0);
        assert_eq!(bin_of(-501.0), 523);
        assert_eq!(bin_of(-500.5), 523);
        // HU < -950 exactly when the bin is at most LAA_LAST_BIN.
        assert!(bin_of(-950.5) <= LAA_LAST_BIN);
        assert!(bin_of(-950.0) > LAA_LAST_BIN);
        assert!(bin_of(-951.0) <= LAA_LAST_BIN);
    }

    #[test]
    fn percentile_is_numpy_linear() {
        // Values -1000, -990, ..., -910 (10 values): numpy.percentile(x, 15)
        // = -1000 + 0.15*9*10 = -986.5.
        let mut hist = vec![0u64; BINS];
        for k in 0..10 {
            hist[bin_of(-1000.0 + 10.0 * k as f32)] += 1;
        }
        assert!((percentile(&hist, 15.0) - -986.5).abs() < 1e-9);
        let mut one = vec![0u64; BINS];
        one[bin_of(-900.0)] = 1;
        assert_eq!(percentile(&one, 15.0), -900.0);
    }

    #[test]
    fn plan_orders_slices_and_refuses_gaps_duplicates_and_too_few() {
        let hs: Vec<SliceHeader> = (0..12).rev().map(|k| header(k as f64 * 5.0)).collect();
        let g = plan(&hs).unwrap();
        assert_eq!(g.order[0], 11);
        assert!((g.slice_spacing - 5.0).abs() < 1e-9);
        assert!(matches!(
            plan(&hs[..5]),
            Err(EmphysemaError::TooFewSlices { found: 5 })
        ));
        let mut gap = hs.clone();
        gap.remove(4);
        assert_eq!(plan(&gap).unwrap_err().kind(), "inconsistent_spacing");
        let mut dup = hs.clone();
        dup.push(header(10.0));
        assert_eq!(plan(&dup).unwrap_err().kind(), "inconsistent_spacing");
        let mut other = hs.clone();
        other[3].pixel_spacing = Some([0.7, 0.7]);
        assert_eq!(plan(&other).unwrap_err().kind(), "inconsistent_geometry");
        let mut huge = hs;
        for h in &mut huge {
            h.rows = 4096;
        }
        assert_eq!(plan(&huge).unwrap_err().kind(), "too_large");
    }

    /// A 64 x 64 x 12 volume: air outside a body square, two lung boxes of
    /// -850 HU with a known number of -980 voxels, a central 2 x 2 airway.
    #[test]
    fn lung_voxels_exclude_outside_air_and_a_separate_airway() {
        let hs: Vec<SliceHeader> = (0..12).map(|k| header(k as f64 * 5.0)).collect();
        let g = plan(&hs).unwrap();
        let slice = |_k: usize| -> Result<Vec<f32>, String> {
            let mut v = vec![-1000.0f32; 64 * 64];
            for y in 4..60 {
                for x in 4..60 {
                    v[y * 64 + x] = 40.0;
                }
            }
            for y in 15..50 {
                for x in 8..28 {
                    v[y * 64 + x] = if x < 12 { -980.0 } else { -850.0 };
                }
                for x in 36..56 {
                    v[y * 64 + x] = -850.0;
                }
            }
            for y in 10..12 {
                for x in 31..33 {
                    v[y * 64 + x] = -1000.0;
                }
            }
            Ok(v)
        };
        let r = analyze(&g, &slice, &CancelToken::new(), &|| {}).unwrap();
        assert_eq!(r.lung_voxels, 12 * 35 * 40);
        assert_eq!(r.laa_voxels, 12 * 35 * 4);
        assert!((r.laa950_percent - 10.0).abs() < 1e-9);
        assert_eq!(r.small_component_voxels, 12 * 4);
        assert_eq!(r.lung_components, 2);
        assert_eq!(r.outside_air_voxels, 12 * (64 * 64 - 56 * 56));
        // 10 % at -980, the rest at -850: rank 0.15*(N-1) is past the
        // first 10 %, so Perc15 is -850.
        assert_eq!(r.perc15_hu, -850.0);
        assert!((r.lung_volume_ml - (12 * 35 * 40) as f64 * 0.125).abs() < 1e-6);
    }

    #[test]
    fn a_body_without_lung_is_no_lung_and_cancel_stops() {
        let hs: Vec<SliceHeader> = (0..12).map(|k| header(k as f64 * 5.0)).collect();
        let g = plan(&hs).unwrap();
        let body = |_k: usize| -> Result<Vec<f32>, String> {
            let mut v = vec![-1000.0f32; 64 * 64];
            for y in 4..60 {
                for x in 4..60 {
                    v[y * 64 + x] = 40.0;
                }
            }
            Ok(v)
        };
        let e = analyze(&g, &body, &CancelToken::new(), &|| {}).unwrap_err();
        assert_eq!(e.kind(), "no_lung");
        let cancel = CancelToken::new();
        cancel.cancel();
        assert_eq!(
            analyze(&g, &body, &cancel, &|| {}).unwrap_err(),
            EmphysemaError::Cancelled
        );
        let broken = |_k: usize| -> Result<Vec<f32>, String> { Err("bad".into()) };
        assert_eq!(
            analyze(&g, &broken, &CancelToken::new(), &|| {})
                .unwrap_err()
                .kind(),
            "undecodable"
        );
    }
}
