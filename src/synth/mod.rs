//! The project's synthetic archive generator: realistic, deterministic from
//! a seed, never reads the clock. Used for sample_data, tests and
//! benchmarks. Builds plain [`ObjectSpec`]s; `dicom::write` encodes them.

pub mod burnin;
mod catalog;
pub mod ct_volume;
pub mod faults;
mod rng;

pub use rng::Rng;

use crate::dicom::write::{self, Framing, ObjectSpec, Pixels, TextElement};
use catalog::{
    Procedure, FAMILY_NAMES, GIVEN_NAMES_F, GIVEN_NAMES_M, PROCEDURES, REFERRERS, SITES,
};
use dicom_core::VR;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub patients: u32,
    pub seed: u64,
    /// Add odd and broken files (no preamble, truncated, not DICOM, duplicates, hostile).
    pub with_faults: bool,
    /// Instances per CT/MR series (other modalities have one per series).
    pub max_slices: u32,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            patients: 50,
            seed: 1,
            with_faults: false,
            max_slices: 4,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SynthSummary {
    pub files: u64,
    pub bytes: u64,
    pub patients: u64,
    pub studies: u64,
    pub series: u64,
    /// Valid, distinct instances (what an index should count).
    pub instances: u64,
    /// Fault files by kind (name -> relative path).
    pub faults: Vec<(String, String)>,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("cannot create the output folder; check the path and permissions: {0}")]
    CreateDir(PathBuf),
    #[error("{source}: {path}")]
    Write {
        source: write::WriteError,
        path: PathBuf,
    },
}

/// Study years span fixed years (the generator never reads the clock).
pub const FIRST_YEAR: u32 = 2015;
pub const LAST_YEAR: u32 = 2024;

/// Generates the same archive but hands each file's relative path and bytes
/// to `sink` instead of writing it (used to build large synthetic indexes
/// without a million files). Faults are not generated.
pub fn generate_into(
    opts: &SynthOptions,
    sink: &mut dyn FnMut(&Path, &[u8]),
) -> Result<SynthSummary, SynthError> {
    let mut rng = Rng::new(opts.seed);
    let mut g = Generator {
        out: PathBuf::new(),
        sink: Some(sink),
        summary: SynthSummary::default(),
        first_spec: None,
    };
    for p in 0..opts.patients {
        g.patient(&mut rng, p, opts)?;
    }
    Ok(g.summary)
}

/// Generates an archive under `out` (created if needed).
pub fn generate(out: &Path, opts: &SynthOptions) -> Result<SynthSummary, SynthError> {
    let mut rng = Rng::new(opts.seed);
    let mut g = Generator {
        out: out.to_path_buf(),
        sink: None,
        summary: SynthSummary::default(),
        first_spec: None,
    };
    std::fs::create_dir_all(out).map_err(|_| SynthError::CreateDir(out.into()))?;
    for p in 0..opts.patients {
        g.patient(&mut rng, p, opts)?;
    }
    if opts.with_faults {
        faults::write_faults(&mut g, &mut rng)?;
    }
    Ok(g.summary)
}

/// Receives generated files (relative path, bytes) instead of the disk.
pub type FileSink<'s> = &'s mut dyn FnMut(&Path, &[u8]);

pub(crate) struct Generator<'s> {
    out: PathBuf,
    /// When set, files go here instead of to disk.
    sink: Option<FileSink<'s>>,
    summary: SynthSummary,
    /// The first native-encoded instance, reused by fault generation.
    first_spec: Option<(ObjectSpec, PathBuf)>,
}

impl Generator<'_> {
    fn write(&mut self, rel: &Path, spec: &ObjectSpec) -> Result<(), SynthError> {
        let bytes = write::encode_object(spec).map_err(|source| SynthError::Write {
            source,
            path: rel.into(),
        })?;
        self.write_bytes(rel, &bytes)
    }

    fn write_bytes(&mut self, rel: &Path, bytes: &[u8]) -> Result<(), SynthError> {
        self.summary.files += 1;
        self.summary.bytes += bytes.len() as u64;
        if let Some(sink) = &mut self.sink {
            sink(rel, bytes);
            return Ok(());
        }
        let path = self.out.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|_| SynthError::CreateDir(parent.into()))?;
        }
        std::fs::write(&path, bytes).map_err(|e| SynthError::Write {
            source: e.into(),
            path: path.clone(),
        })?;
        Ok(())
    }

    fn patient(
        &mut self,
        rng: &mut Rng,
        index: u32,
        opts: &SynthOptions,
    ) -> Result<(), SynthError> {
        let female = rng.chance(0.5);
        let family = *rng.pick(FAMILY_NAMES);
        let given = *rng.pick(if female { GIVEN_NAMES_F } else { GIVEN_NAMES_M });
        let utf8 = rng.chance(0.2);
        let name = format!("{family}^{given}");
        let patient_id = format!("MRN{:07}", 1_000_000 + index as u64 * 7 + rng.range(0, 6));
        let home_site = rng.range(0, SITES.len() as u64 - 1) as usize;
        // Age 18..95 at the first study; born so that holds over the decade.
        let first_age = rng.range(18, 85) as u32;
        let n_studies = 1 + rng.weighted(&[5.0, 3.0, 1.5, 0.8]) as u32;
        let year_weights: Vec<f64> = (0..=(LAST_YEAR - FIRST_YEAR))
            .map(|i| 1.0 + 0.12 * i as f64)
            .collect();
        let mut years: Vec<u32> = (0..n_studies)
            .map(|_| FIRST_YEAR + rng.weighted(&year_weights) as u32)
            .collect();
        years.sort();
        let birth_year = years[0] - first_age;
        let birth = format!(
            "{birth_year:04}{:02}{:02}",
            rng.range(1, 12),
            rng.range(1, 28)
        );
        self.summary.patients += 1;
        for (si, year) in years.iter().enumerate() {
            let site = if rng.chance(0.8) {
                &SITES[home_site]
            } else {
                rng.pick(SITES)
            };
            let weights: Vec<f64> = PROCEDURES.iter().map(|p| p.weight).collect();
            let proc = &PROCEDURES[rng.weighted(&weights)];
            let study = StudyCtx {
                patient_name: name.clone(),
                patient_id: patient_id.clone(),
                sex: if female { "F" } else { "M" },
                birth: birth.clone(),
                charset: if utf8 { "ISO_IR 192" } else { "ISO_IR 100" },
                date: format!("{year:04}{:02}{:02}", rng.range(1, 12), rng.range(1, 28)),
                time: format!(
                    "{:02}{:02}{:02}",
                    rng.range(7, 19),
                    rng.range(0, 59),
                    rng.range(0, 59)
                ),
                uid: rng.uid(),
                accession: format!("{}{:08}", site.code, rng.range(0, 99_999_999)),
                age: year - birth_year,
                site_index: SITES.iter().position(|s| s.code == site.code).unwrap_or(0),
                referrer: rng.pick(REFERRERS).to_string(),
                folder: PathBuf::from(format!("{year}"))
                    .join(format!("{:08x}", rng.next_u64() as u32)),
            };
            let _ = si;
            self.study(rng, &study, proc, opts)?;
        }
        Ok(())
    }

    fn study(
        &mut self,
        rng: &mut Rng,
        st: &StudyCtx,
        proc: &Procedure,
        opts: &SynthOptions,
    ) -> Result<(), SynthError> {
        self.summary.studies += 1;
        let site = &SITES[st.site_index];
        let scanners = catalog::scanners(proc.modality);
        let scanner = &scanners[(st.site_index + rng.range(0, 1) as usize) % scanners.len()];
        let station = site.stations[match proc.modality {
            "CT" => 0,
            "MR" => 1,
            "CR" | "DX" => 2,
            "US" => 3,
            _ => 4,
        }];
        for (k, series_desc) in proc.series.iter().enumerate() {
            self.summary.series += 1;
            let series_uid = rng.uid();
            let slices = match proc.modality {
                "CT" | "MR" => rng.range(1, opts.max_slices.max(1) as u64) as u32,
                _ => 1,
            };
            let ts = if proc.modality == "US" {
                write::JPEG_BASELINE
            } else {
                [
                    write::EXPLICIT_VR_LE,
                    write::IMPLICIT_VR_LE,
                    write::DEFLATED_LE,
                    write::RLE_LOSSLESS,
                ][rng.weighted(&[0.45, 0.25, 0.12, 0.18])]
            };
            let thickness = match proc.modality {
                "CT" => Some(*rng.pick(&["1.0", "1.25", "2.5", "3.0", "5.0"])),
                "MR" => Some(*rng.pick(&["3.0", "4.0", "5.0"])),
                _ => None,
            };
            for n in 0..slices {
                let mut e = Vec::new();
                let mut t = |g: u16, el: u16, vr: VR, v: &str| {
                    e.push(TextElement {
                        tag: (g, el),
                        vr,
                        value: v.to_string(),
                    })
                };
                t(0x0008, 0x0005, VR::CS, st.charset);
                t(
                    0x0008,
                    0x0008,
                    VR::CS,
                    if k == 0 {
                        "ORIGINAL\\PRIMARY\\AXIAL"
                    } else {
                        "DERIVED\\SECONDARY"
                    },
                );
                t(0x0008, 0x0016, VR::UI, sop_class(proc.modality));
                let sop_uid = rng.uid();
                t(0x0008, 0x0018, VR::UI, &sop_uid);
                t(0x0008, 0x0020, VR::DA, &st.date);
                t(0x0008, 0x0030, VR::TM, &st.time);
                t(0x0008, 0x0050, VR::SH, &st.accession);
                t(0x0008, 0x0060, VR::CS, proc.modality);
                t(0x0008, 0x0070, VR::LO, scanner.manufacturer);
                t(0x0008, 0x0080, VR::LO, site.name);
                t(0x0008, 0x0090, VR::PN, &st.referrer);
                t(0x0008, 0x1010, VR::SH, station);
                t(0x0008, 0x1030, VR::LO, proc.study_description);
                t(0x0008, 0x103E, VR::LO, series_desc);
                t(0x0008, 0x1090, VR::LO, scanner.model);
                t(0x0010, 0x0010, VR::PN, &st.patient_name);
                t(0x0010, 0x0020, VR::LO, &st.patient_id);
                t(0x0010, 0x0030, VR::DA, &st.birth);
                t(0x0010, 0x0040, VR::CS, st.sex);
                t(0x0010, 0x1010, VR::AS, &format!("{:03}Y", st.age));
                if proc.contrast {
                    t(0x0018, 0x0010, VR::LO, "IOHEXOL 350");
                }
                t(0x0018, 0x0015, VR::CS, proc.body_part);
                if let Some(th) = thickness {
                    t(0x0018, 0x0050, VR::DS, th);
                }
                if proc.modality == "CT" {
                    t(0x0018, 0x0060, VR::DS, "120");
                }
                t(
                    0x0018,
                    0x1030,
                    VR::LO,
                    &format!("{} {}", proc.body_part, proc.modality),
                );
                t(0x0020, 0x000D, VR::UI, &st.uid);
                t(0x0020, 0x000E, VR::UI, &series_uid);
                t(
                    0x0020,
                    0x0010,
                    VR::SH,
                    &format!("{}", rng.range(1000, 9999)),
                );
                t(0x0020, 0x0011, VR::IS, &format!("{}", k + 1));
                t(0x0020, 0x0013, VR::IS, &format!("{}", n + 1));
                t(0x0028, 0x0030, VR::DS, "0.7\\0.7");
                if proc.modality == "US" {
                    t(0x0028, 0x0301, VR::CS, "YES");
                }
                let eight_bit = proc.modality == "US";
                let size: u16 = match proc.modality {
                    "CT" | "MR" | "US" => 32,
                    _ => 48,
                };
                let pixels = synth_pixels(rng, size, eight_bit);
                let spec = ObjectSpec {
                    elements: e,
                    pixels: Some(pixels),
                    transfer_syntax: ts.to_string(),
                    framing: Framing::Standard,
                };
                let file_name = if rng.chance(0.5) {
                    format!("IM{:05}", n + 1)
                } else {
                    format!("{:08X}.dcm", rng.next_u64() as u32)
                };
                let rel = st.folder.join(format!("S{:02}", k + 1)).join(file_name);
                self.write(&rel, &spec)?;
                self.summary.instances += 1;
                if self.first_spec.is_none() && ts == write::EXPLICIT_VR_LE {
                    self.first_spec = Some((spec, rel));
                }
            }
        }
        Ok(())
    }
}

struct StudyCtx {
    patient_name: String,
    patient_id: String,
    sex: &'static str,
    birth: String,
    charset: &'static str,
    date: String,
    time: String,
    uid: String,
    accession: String,
    age: u32,
    site_index: usize,
    referrer: String,
    folder: PathBuf,
}

fn sop_class(modality: &str) -> &'static str {
    match modality {
        "CT" => "1.2.840.10008.5.1.4.1.1.2",
        "MR" => "1.2.840.10008.5.1.4.1.1.4",
        "CR" => "1.2.840.10008.5.1.4.1.1.1",
        "DX" => "1.2.840.10008.5.1.4.1.1.1.1",
        "US" => "1.2.840.10008.5.1.4.1.1.6.1",
        _ => "1.2.840.10008.5.1.4.1.1.1.2",
    }
}

/// A smooth disc on a background with a little noise: small, compressible,
/// recognisable in a preview.
fn synth_pixels(rng: &mut Rng, size: u16, eight_bit: bool) -> Pixels {
    let n = size as usize;
    let mut samples = Vec::with_capacity(n * n);
    let c = n as f64 / 2.0;
    for y in 0..n {
        for x in 0..n {
            let d = ((x as f64 - c).powi(2) + (y as f64 - c).powi(2)).sqrt() / c;
            let base = if d < 0.8 { 1.0 - d * 0.5 } else { 0.05 };
            let noise = (rng.next_u64() % 16) as f64 / 16.0 * 0.05;
            let v = (base + noise).clamp(0.0, 1.0);
            samples.push(if eight_bit {
                (v * 255.0) as u16
            } else {
                (v * 4095.0) as u16
            });
        }
    }
    Pixels {
        rows: size,
        columns: size,
        bits_allocated: if eight_bit { 8 } else { 16 },
        samples,
        frames: 1,
    }
}
