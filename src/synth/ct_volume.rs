//! Synthetic chest CT volumes with a known emphysema index, for testing
//! and benchmarking `biomarker::emphysema` (issue #12): a body ellipse of
//! soft tissue (40 HU) in air (-1000 HU), two lungs of parenchyma
//! (-850 HU, Gaussian noise, kept above -950) that taper towards the apex
//! and base, a trachea of air in the upper slices, and emphysema blobs
//! (spheres whose lung voxels are -1000..-951 HU). The ground truth is
//! counted while the slices are made: which voxels are lung, which are
//! below -950, the exact lung histogram. Slices are made one at a time
//! (a 512 x 512 x 400 volume never sits in memory) and are deterministic
//! from the seed. Written as a DICOM CT series with real geometry
//! (Image Position/Orientation, Pixel Spacing, Slice Thickness, Rescale
//! Intercept -1024 / Slope 1, Body Part Examined CHEST).

use super::{Rng, SynthError};
use crate::dicom::write::{self, Framing, ObjectSpec, Pixels, TextElement};
use dicom_core::VR;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct CtVolumeSpec {
    /// Rows = columns.
    pub size: u16,
    pub slices: u32,
    pub pixel_spacing_mm: f64,
    pub slice_spacing_mm: f64,
    /// Lung voxels to make emphysematous (about; the truth is counted).
    pub emphysema_fraction: f64,
    /// Standard deviation of the parenchyma's noise (HU).
    pub noise_hu: f64,
    /// Lungs at all (false: a body without lungs).
    pub lungs: bool,
    pub trachea: bool,
    pub seed: u64,
}

impl Default for CtVolumeSpec {
    fn default() -> Self {
        CtVolumeSpec {
            size: 128,
            slices: 40,
            pixel_spacing_mm: 2.75,
            slice_spacing_mm: 5.0,
            emphysema_fraction: 0.08,
            noise_hu: 25.0,
            lungs: true,
            trachea: true,
            seed: 1,
        }
    }
}

/// Mean of lung parenchyma (HU).
pub const PARENCHYMA_HU: f64 = -850.0;
/// Parenchyma is kept at or above this (so that only blobs are < -950).
pub const PARENCHYMA_MIN_HU: i16 = -945;

/// What the volume holds, counted voxel by voxel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Truth {
    pub lung_voxels: u64,
    /// Lung voxels below -950 HU (all in blobs).
    pub laa_voxels: u64,
    pub trachea_voxels: u64,
    /// Air outside the body.
    pub outside_voxels: u64,
    /// Every lung voxel's HU.
    pub lung_hist: BTreeMap<i16, u64>,
}

impl Truth {
    pub fn laa950_percent(&self) -> f64 {
        100.0 * self.laa_voxels as f64 / self.lung_voxels as f64
    }
    /// The 15th percentile of lung HU, numpy's linear (type 7) rule.
    pub fn perc15(&self) -> f64 {
        let n = self.lung_voxels;
        let h = 0.15 * (n.saturating_sub(1)) as f64;
        let at = |rank: u64| {
            let mut seen = 0;
            for (v, k) in &self.lung_hist {
                seen += k;
                if seen > rank {
                    return f64::from(*v);
                }
            }
            f64::NAN
        };
        let (lo, hi) = (h.floor() as u64, h.ceil() as u64);
        at(lo) + (h - lo as f64) * (at(hi) - at(lo))
    }
    fn add(&mut self, other: &Truth) {
        self.lung_voxels += other.lung_voxels;
        self.laa_voxels += other.laa_voxels;
        self.trachea_voxels += other.trachea_voxels;
        self.outside_voxels += other.outside_voxels;
        for (v, k) in &other.lung_hist {
            *self.lung_hist.entry(*v).or_default() += k;
        }
    }
}

/// An emphysema blob: centre (mm, in the volume's frame) and radius.
#[derive(Debug, Clone, Copy)]
struct Blob {
    x: f64,
    y: f64,
    z: f64,
    r: f64,
}

/// A volume that makes its slices on demand.
#[derive(Debug, Clone)]
pub struct CtVolume {
    pub spec: CtVolumeSpec,
    blobs: Vec<Blob>,
}

impl CtVolume {
    pub fn new(spec: CtVolumeSpec) -> CtVolume {
        let mut rng = Rng::new(spec.seed);
        let mut v = CtVolume {
            spec,
            blobs: Vec::new(),
        };
        if v.spec.lungs && v.spec.emphysema_fraction > 0.0 {
            // Blobs of 6-14 mm radius at random lung points until their
            // volumes add up to the fraction of the lungs' (approximate)
            // volume; overlaps and edges make the counted truth differ a
            // little, which is why the truth is counted.
            let lung_ml = v.approximate_lung_mm3();
            let mut planted = 0.0;
            let mut tries = 0;
            while planted < v.spec.emphysema_fraction * lung_ml && tries < 100_000 {
                tries += 1;
                let fov = v.fov();
                let (x, y) = (unit(&mut rng) * fov, unit(&mut rng) * fov);
                let z = unit(&mut rng) * v.spec.slices as f64 * v.spec.slice_spacing_mm;
                if v.lung_at(x, y, z).is_none() {
                    continue;
                }
                let r = 6.0 + 8.0 * unit(&mut rng);
                v.blobs.push(Blob { x, y, z, r });
                planted += 4.0 / 3.0 * std::f64::consts::PI * r * r * r;
            }
        }
        v
    }

    fn fov(&self) -> f64 {
        self.spec.size as f64 * self.spec.pixel_spacing_mm
    }

    fn approximate_lung_mm3(&self) -> f64 {
        let mut total = 0.0;
        let step = self.spec.pixel_spacing_mm * 2.0;
        let fov = self.fov();
        for k in 0..self.spec.slices {
            let z = (k as f64 + 0.5) * self.spec.slice_spacing_mm;
            let mut y = 0.0;
            while y < fov {
                let mut x = 0.0;
                while x < fov {
                    if self.lung_at(x, y, z).is_some() {
                        total += step * step * self.spec.slice_spacing_mm;
                    }
                    x += step;
                }
                y += step;
            }
        }
        total
    }

    /// 0..1 from the top slice (apex, k = 0) to the bottom.
    fn depth(&self, z: f64) -> f64 {
        z / (self.spec.slices as f64 * self.spec.slice_spacing_mm)
    }

    /// Which lung (0 right, 1 left) holds the point, if any.
    fn lung_at(&self, x: f64, y: f64, z: f64) -> Option<usize> {
        if !self.spec.lungs {
            return None;
        }
        let t = self.depth(z);
        // The lungs span 8 %..92 % of the slices, widest two thirds down.
        if !(0.08..0.92).contains(&t) {
            return None;
        }
        let s = ((t - 0.08) / 0.84 * std::f64::consts::PI).sin().sqrt();
        let fov = self.fov();
        let (cx, cy) = (fov / 2.0, fov / 2.0 - 0.01 * fov);
        let (a, b) = (0.13 * fov * s, 0.19 * fov * s.max(0.3));
        for (i, side) in [-1.0, 1.0].iter().enumerate() {
            let lx = cx + side * 0.2 * fov;
            if ((x - lx) / a).powi(2) + ((y - cy) / b).powi(2) <= 1.0 {
                return Some(i);
            }
        }
        None
    }

    fn in_body(&self, x: f64, y: f64) -> bool {
        let fov = self.fov();
        let (cx, cy) = (fov / 2.0, fov / 2.0);
        ((x - cx) / (0.42 * fov)).powi(2) + ((y - cy) / (0.30 * fov)).powi(2) <= 1.0
    }

    fn in_trachea(&self, x: f64, y: f64, z: f64) -> bool {
        if !self.spec.trachea || self.depth(z) >= 0.4 {
            return false;
        }
        let fov = self.fov();
        let (cx, cy) = (fov / 2.0, fov / 2.0 - 0.08 * fov);
        (x - cx).powi(2) + (y - cy).powi(2) <= 9.0 * 9.0
    }

    fn in_blob(&self, x: f64, y: f64, z: f64) -> bool {
        self.blobs
            .iter()
            .any(|b| (x - b.x).powi(2) + (y - b.y).powi(2) + (z - b.z).powi(2) <= b.r * b.r)
    }

    /// Slice `k` (0 = top) as integer HU, row-major, with its truth.
    pub fn slice(&self, k: u32) -> (Vec<i16>, Truth) {
        let n = self.spec.size as usize;
        let ps = self.spec.pixel_spacing_mm;
        let z = (k as f64 + 0.5) * self.spec.slice_spacing_mm;
        let mut rng = Rng::new(self.spec.seed ^ (u64::from(k) + 1).wrapping_mul(0x9E37_79B9));
        // Only the blobs that reach this slice.
        let here: Vec<Blob> = self
            .blobs
            .iter()
            .filter(|b| (b.z - z).abs() <= b.r)
            .copied()
            .collect();
        let near = CtVolume {
            spec: self.spec.clone(),
            blobs: here,
        };
        let mut truth = Truth::default();
        let mut out = Vec::with_capacity(n * n);
        for row in 0..n {
            let y = (row as f64 + 0.5) * ps;
            for col in 0..n {
                let x = (col as f64 + 0.5) * ps;
                let v: i16 = if !self.in_body(x, y) {
                    truth.outside_voxels += 1;
                    (-1000.0 + 8.0 * gauss(&mut rng))
                        .round()
                        .clamp(-1024.0, -960.0) as i16
                } else if self.in_trachea(x, y, z) {
                    truth.trachea_voxels += 1;
                    (-1000.0 + 8.0 * gauss(&mut rng))
                        .round()
                        .clamp(-1024.0, -960.0) as i16
                } else if self.lung_at(x, y, z).is_some() {
                    let v = if near.in_blob(x, y, z) {
                        truth.laa_voxels += 1;
                        -1000 + (rng.next_u64() % 50) as i16
                    } else {
                        (PARENCHYMA_HU + self.spec.noise_hu * gauss(&mut rng))
                            .round()
                            .clamp(f64::from(PARENCHYMA_MIN_HU), -600.0)
                            as i16
                    };
                    truth.lung_voxels += 1;
                    *truth.lung_hist.entry(v).or_default() += 1;
                    v
                } else {
                    (40.0 + 15.0 * gauss(&mut rng)).round() as i16
                };
                out.push(v);
            }
        }
        (out, truth)
    }
}

fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal draw (Box-Muller).
fn gauss(rng: &mut Rng) -> f64 {
    let u1 = unit(rng).max(1e-300);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Who and what a written series is.
#[derive(Debug, Clone)]
pub struct CtSeriesIds {
    pub patient_id: String,
    pub patient_name: String,
    pub sex: &'static str,
    pub birth_date: String,
    pub study_date: String,
    pub study_uid: String,
    pub series_uid: String,
    pub accession: String,
    pub body_part: String,
    pub series_description: String,
    pub transfer_syntax: &'static str,
}

impl CtSeriesIds {
    /// Identities drawn from `rng` (a chest CT, explicit VR little endian).
    pub fn random(rng: &mut Rng, n: u32) -> CtSeriesIds {
        CtSeriesIds {
            patient_id: format!("EMPH{:05}", n),
            patient_name: format!("Volume^Synthetic{n}"),
            sex: if n.is_multiple_of(2) { "F" } else { "M" },
            birth_date: format!("{}0101", 1940 + n % 40),
            study_date: format!("20{:02}0{}15", 18 + n % 6, 1 + n % 9),
            study_uid: rng.uid(),
            series_uid: rng.uid(),
            accession: format!("EM{:08}", n),
            body_part: "CHEST".into(),
            series_description: "CT CHEST LUNG 5mm".into(),
            transfer_syntax: write::EXPLICIT_VR_LE,
        }
    }
}

/// A written series.
#[derive(Debug, Clone)]
pub struct CtSeriesWritten {
    pub series_uid: String,
    pub files: Vec<PathBuf>,
    /// Bytes of stored pixel data (2 per voxel).
    pub pixel_bytes: u64,
    pub truth: Truth,
}

/// Writes `volume` as one CT image per slice under `dir` (created).
pub fn write_series(
    dir: &Path,
    volume: &CtVolume,
    ids: &CtSeriesIds,
    rng: &mut Rng,
) -> Result<CtSeriesWritten, SynthError> {
    std::fs::create_dir_all(dir).map_err(|_| SynthError::CreateDir(dir.into()))?;
    let spec = &volume.spec;
    let mut truth = Truth::default();
    let mut files = Vec::new();
    let fov = f64::from(spec.size) * spec.pixel_spacing_mm;
    for k in 0..spec.slices {
        let (hu, t) = volume.slice(k);
        truth.add(&t);
        let mut e = Vec::new();
        let mut t = |g: u16, el: u16, vr: VR, v: &str| {
            e.push(TextElement {
                tag: (g, el),
                vr,
                value: v.to_string(),
            })
        };
        // Head first, supine: slice 0 at the top (largest z).
        let z = -(k as f64) * spec.slice_spacing_mm;
        t(0x0008, 0x0005, VR::CS, "ISO_IR 100");
        t(0x0008, 0x0008, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL");
        t(0x0008, 0x0016, VR::UI, "1.2.840.10008.5.1.4.1.1.2");
        t(0x0008, 0x0018, VR::UI, &rng.uid());
        t(0x0008, 0x0020, VR::DA, &ids.study_date);
        t(0x0008, 0x0030, VR::TM, "101500");
        t(0x0008, 0x0050, VR::SH, &ids.accession);
        t(0x0008, 0x0060, VR::CS, "CT");
        t(0x0008, 0x0070, VR::LO, "Synthetic Imaging");
        t(0x0008, 0x0080, VR::LO, "Synthetic Chest Clinic");
        t(0x0008, 0x1030, VR::LO, &format!("CT {}", ids.body_part));
        t(0x0008, 0x103E, VR::LO, &ids.series_description);
        t(0x0008, 0x1090, VR::LO, "Volume Phantom");
        t(0x0010, 0x0010, VR::PN, &ids.patient_name);
        t(0x0010, 0x0020, VR::LO, &ids.patient_id);
        t(0x0010, 0x0030, VR::DA, &ids.birth_date);
        t(0x0010, 0x0040, VR::CS, ids.sex);
        t(0x0018, 0x0015, VR::CS, &ids.body_part);
        t(
            0x0018,
            0x0050,
            VR::DS,
            &format!("{}", spec.slice_spacing_mm),
        );
        t(0x0018, 0x0060, VR::DS, "120");
        t(0x0018, 0x5100, VR::CS, "HFS");
        t(0x0020, 0x000D, VR::UI, &ids.study_uid);
        t(0x0020, 0x000E, VR::UI, &ids.series_uid);
        t(0x0020, 0x0011, VR::IS, "2");
        t(0x0020, 0x0013, VR::IS, &format!("{}", k + 1));
        t(
            0x0020,
            0x0032,
            VR::DS,
            &format!("{:.2}\\{:.2}\\{:.2}", -fov / 2.0, -fov / 2.0, z),
        );
        t(0x0020, 0x0037, VR::DS, "1\\0\\0\\0\\1\\0");
        t(0x0020, 0x1041, VR::DS, &format!("{z:.2}"));
        t(
            0x0028,
            0x0030,
            VR::DS,
            &format!("{}\\{}", spec.pixel_spacing_mm, spec.pixel_spacing_mm),
        );
        t(0x0028, 0x1050, VR::DS, "-600");
        t(0x0028, 0x1051, VR::DS, "1500");
        t(0x0028, 0x1052, VR::DS, "-1024");
        t(0x0028, 0x1053, VR::DS, "1");
        t(0x0028, 0x1054, VR::LO, "HU");
        let object = ObjectSpec {
            elements: e,
            pixels: Some(Pixels {
                rows: spec.size,
                columns: spec.size,
                bits_allocated: 16,
                // Stored = HU + 1024 (12 bits stored: -1024..3071 HU).
                samples: hu
                    .iter()
                    .map(|v| (i32::from(*v) + 1024).clamp(0, 4095) as u16)
                    .collect(),
                frames: 1,
            }),
            transfer_syntax: ids.transfer_syntax.to_string(),
            framing: Framing::Standard,
        };
        let path = dir.join(format!("CT{:04}.dcm", k + 1));
        write::write_object(&object, &path).map_err(|source| SynthError::Write {
            source,
            path: path.clone(),
        })?;
        files.push(path);
    }
    Ok(CtSeriesWritten {
        series_uid: ids.series_uid.clone(),
        files,
        pixel_bytes: u64::from(spec.size) * u64::from(spec.size) * 2 * u64::from(spec.slices),
        truth,
    })
}

/// A small archive for tests: `fractions.len()` chest CT series of one
/// patient each with those emphysema fractions (`size` x `size` x
/// `slices`), plus a chest CT of 5 slices (too few) and an abdominal CT
/// (not a chest CT).
#[derive(Debug, Clone)]
pub struct CtArchive {
    pub chest: Vec<CtSeriesWritten>,
    pub too_few_slices_uid: String,
    pub abdomen_uid: String,
}

pub fn write_archive(
    out: &Path,
    fractions: &[f64],
    size: u16,
    slices: u32,
    seed: u64,
) -> Result<CtArchive, SynthError> {
    let mut rng = Rng::new(seed);
    let mut chest = Vec::new();
    let ps = 350.0 / f64::from(size);
    for (n, f) in fractions.iter().enumerate() {
        let volume = CtVolume::new(CtVolumeSpec {
            size,
            slices,
            pixel_spacing_mm: ps,
            slice_spacing_mm: 200.0 / f64::from(slices),
            emphysema_fraction: *f,
            seed: seed + n as u64,
            ..CtVolumeSpec::default()
        });
        let ids = CtSeriesIds::random(&mut rng, n as u32);
        chest.push(write_series(
            &out.join(format!("chest{n:02}")),
            &volume,
            &ids,
            &mut rng,
        )?);
    }
    let small = CtVolume::new(CtVolumeSpec {
        size,
        slices: 5,
        pixel_spacing_mm: ps,
        ..CtVolumeSpec::default()
    });
    let ids = CtSeriesIds::random(&mut rng, 90);
    let too_few = write_series(&out.join("short"), &small, &ids, &mut rng)?;
    let abdomen = CtVolume::new(CtVolumeSpec {
        size,
        slices: 12,
        pixel_spacing_mm: ps,
        lungs: false,
        trachea: false,
        ..CtVolumeSpec::default()
    });
    let mut ids = CtSeriesIds::random(&mut rng, 91);
    ids.body_part = "ABDOMEN".into();
    ids.series_description = "CT ABDOMEN 5mm".into();
    let abdomen = write_series(&out.join("abdomen"), &abdomen, &ids, &mut rng)?;
    Ok(CtArchive {
        chest,
        too_few_slices_uid: too_few.series_uid,
        abdomen_uid: abdomen.series_uid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_truth_counts_lungs_blobs_trachea_and_outside_air() {
        let v = CtVolume::new(CtVolumeSpec {
            size: 64,
            slices: 20,
            pixel_spacing_mm: 5.5,
            slice_spacing_mm: 10.0,
            ..CtVolumeSpec::default()
        });
        let mut truth = Truth::default();
        for k in 0..20 {
            let (hu, t) = v.slice(k);
            assert_eq!(hu.len(), 64 * 64);
            truth.add(&t);
        }
        assert!(truth.lung_voxels > 5000, "{truth:?}");
        assert!(truth.trachea_voxels > 0 && truth.outside_voxels > 0);
        let f = truth.laa950_percent();
        assert!(f > 3.0 && f < 15.0, "{f}");
        let below: u64 = truth.lung_hist.range(..-950).map(|(_, k)| k).sum();
        assert_eq!(below, truth.laa_voxels);
        // Deterministic.
        assert_eq!(v.slice(7).0, v.slice(7).0);
    }

    #[test]
    fn the_emphysema_index_of_a_generated_volume_is_its_truth() {
        use crate::biomarker::emphysema::{analyze, Geometry};
        use statrs::distribution::{ContinuousCDF, Normal};
        let spec = CtVolumeSpec {
            size: 96,
            slices: 30,
            pixel_spacing_mm: 350.0 / 96.0,
            slice_spacing_mm: 200.0 / 30.0,
            emphysema_fraction: 0.06,
            ..CtVolumeSpec::default()
        };
        let v = CtVolume::new(spec.clone());
        let mut truth = Truth::default();
        for k in 0..spec.slices {
            truth.add(&v.slice(k).1);
        }
        let g = Geometry {
            order: (0..spec.slices as usize).collect(),
            rows: 96,
            columns: 96,
            pixel_spacing: [spec.pixel_spacing_mm; 2],
            slice_spacing: spec.slice_spacing_mm,
            thickness: None,
        };
        let load = |k: usize| -> Result<Vec<f32>, String> {
            Ok(v.slice(k as u32).0.iter().map(|x| f32::from(*x)).collect())
        };
        let r = analyze(&g, &load, &crate::cancel::CancelToken::new(), &|| {}).unwrap();
        // No partial volume in a generated volume: the mask is exact.
        assert_eq!(r.lung_voxels, truth.lung_voxels);
        assert_eq!(r.laa_voxels, truth.laa_voxels);
        assert!((r.laa950_percent - truth.laa950_percent()).abs() < 1e-9);
        assert_eq!(r.perc15_hu, truth.perc15());
        assert_eq!(r.outside_air_voxels, truth.outside_voxels);
        assert_eq!(
            r.small_component_voxels + r.airway_voxels,
            truth.trachea_voxels
        );
        assert_eq!(r.lung_components, 2);
        // Perc15 against the distribution: 15 % of the lung lies below it;
        // the blobs are f of it, the rest N(-850, noise).
        let f = truth.laa950_percent() / 100.0;
        let p = (0.15 - f) / (1.0 - f);
        let expected = Normal::new(PARENCHYMA_HU, spec.noise_hu)
            .unwrap()
            .inverse_cdf(p);
        assert!(
            (r.perc15_hu - expected).abs() < 2.0,
            "{} vs {expected}",
            r.perc15_hu
        );
    }
}
