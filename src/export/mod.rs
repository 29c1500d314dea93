//! De-identified export of a cohort (PS3.15 Annex E), gated by a residual-PHI
//! scan: files are written into `<out>.incomplete-<time>`, scanned byte by
//! byte for the cohort's original identifiers, and only a clean folder is
//! renamed to `<out>`. The source archive is only read.

use crate::deid::apply::{Deidentifier, PatientContext};
use crate::deid::profile::{Action, Options, Profile};
use crate::deid::pseudonym::{Key, RECIPE_VERSION};
use crate::deid::scan::{Needle, Scanner};
use crate::dicom::read_whole;
use dicom_core::header::Header;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject, OpenFileOptions};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One source instance of the cohort.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub issuer: String,
    pub patient_id: String,
}

/// Options of an export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub profile: Options,
    /// Attribute actions that replace the table's (tests use this to break
    /// the profile on purpose and prove the scan catches it).
    pub overrides: Vec<((u16, u16), Action)>,
    /// Where to write the re-identification table (original -> pseudonym)
    /// for an honest broker; must be outside the export folder.
    pub reid_table: Option<PathBuf>,
}

/// One written file, as listed in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestRow {
    pub file: String,
    pub patient: String,
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uid: String,
    pub sha256: String,
}

/// A residual-PHI finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub file: String,
    pub offset: usize,
    pub attribute: String,
    pub matched: String,
}

/// What an export did.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The finished folder, or the incomplete one when the scan failed.
    pub folder: String,
    pub complete: bool,
    pub written: u64,
    /// Source files that could not be exported, with the reason.
    pub skipped: Vec<(String, String)>,
    pub findings: Vec<Finding>,
    pub key_fingerprint: String,
    pub recipe_version: u32,
}

/// Why an export could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the export folder already exists; choose a new one (exports never overwrite): {0}")]
    Exists(PathBuf),
    #[error("cannot write the export ({0}): {1}")]
    Io(String, PathBuf),
    #[error("the re-identification table must be outside the export folder: {0}")]
    ReidInside(PathBuf),
}

/// Attributes whose source values the scan looks for (DECISIONS 21).
const IDENTIFYING: &[Tag] = &[
    tags::PATIENT_ID,
    tags::PATIENT_BIRTH_DATE,
    tags::ACCESSION_NUMBER,
    tags::PATIENT_ADDRESS,
    tags::PATIENT_TELEPHONE_NUMBERS,
    tags::INSTITUTION_ADDRESS,
    tags::DEVICE_SERIAL_NUMBER,
    tags::STUDY_INSTANCE_UID,
    tags::SERIES_INSTANCE_UID,
    tags::SOP_INSTANCE_UID,
    tags::FRAME_OF_REFERENCE_UID,
];

/// Collects the identifying values of a source object: every person name at
/// any depth, and the attributes above.
fn needles(obj: &InMemDicomObject, out: &mut Vec<Needle>, depth: usize) {
    if depth > 32 {
        return;
    }
    for e in obj.iter() {
        let tag = e.tag();
        if e.vr() == VR::PN || IDENTIFYING.contains(&tag) {
            if let Ok(v) = e.to_str() {
                for part in v.split('\\') {
                    let p = part.trim_matches([' ', '\0']);
                    if !p.is_empty() {
                        out.push(Needle {
                            attribute: format!("({:04X},{:04X})", tag.0, tag.1),
                            value: p.to_string(),
                        });
                    }
                }
            }
        }
        if let Some(items) = e.items() {
            for item in items {
                needles(item, out, depth + 1);
            }
        }
    }
}

/// Needles at least this long are also searched in the raw bytes of every
/// file (binary parts included); shorter ones (3-5 characters, like short
/// given names) only in decoded text values, where a chance match in
/// compressed or pixel bytes cannot raise a false alarm.
const RAW_SCAN_MIN_LEN: usize = 6;

/// The compiled needles: long ones for raw bytes, all for decoded text.
pub struct Scanners {
    long: Scanner,
    all: Scanner,
}

impl Scanners {
    pub fn new(needles: &[Needle]) -> Scanners {
        let long: Vec<Needle> = needles
            .iter()
            .filter(|n| n.value.chars().count() >= RAW_SCAN_MIN_LEN)
            .cloned()
            .collect();
        Scanners {
            long: Scanner::new(&long),
            all: Scanner::new(needles),
        }
    }
}

/// Scans one file: its raw bytes for long needles, and, when it parses as
/// DICOM, every text value at every depth (after inflating, for deflated
/// files) for all needles.
pub fn scan_file(bytes: &[u8], scanners: &Scanners) -> Vec<crate::deid::scan::Hit> {
    let mut hits = scanners.long.scan(bytes);
    match OpenFileOptions::new().from_reader(bytes) {
        Ok(obj) => {
            let mut texts = Vec::new();
            collect_text(&obj, &mut texts, 0);
            // Meta values too (written anew, but checked all the same).
            for e in obj.meta().to_element_iter() {
                if let Ok(v) = e.to_str() {
                    texts.push(v.into_owned());
                }
            }
            for t in texts {
                // Offset 0: the hit is inside a decoded value, not at a byte position.
                for mut h in scanners.all.scan(t.as_bytes()) {
                    h.offset = 0;
                    hits.push(h);
                }
            }
        }
        Err(_) => hits.extend(scanners.all.scan(bytes)),
    }
    hits.sort_by(|a, b| (a.offset, &a.attribute).cmp(&(b.offset, &b.attribute)));
    hits.dedup_by(|a, b| {
        a.offset == b.offset && a.attribute == b.attribute && a.variant == b.variant
    });
    hits
}

fn collect_text(obj: &InMemDicomObject, out: &mut Vec<String>, depth: usize) {
    if depth > 32 {
        return;
    }
    for e in obj.iter() {
        if let Some(items) = e.items() {
            for item in items {
                collect_text(item, out, depth + 1);
            }
            continue;
        }
        let textual = !matches!(
            e.vr(),
            VR::OB
                | VR::OW
                | VR::OF
                | VR::OD
                | VR::OL
                | VR::OV
                | VR::UN
                | VR::US
                | VR::SS
                | VR::UL
                | VR::SL
                | VR::FL
                | VR::FD
                | VR::AT
                | VR::SV
                | VR::UV
        );
        if textual {
            if let Ok(v) = e.to_str() {
                out.push(v.into_owned());
            }
        }
    }
}

/// Sorts and drops repeated needles (the same value of the same attribute
/// is found in many files of a cohort).
fn unique(needles: &mut Vec<Needle>) {
    needles.sort_by(|a, b| (&a.attribute, &a.value).cmp(&(&b.attribute, &b.value)));
    needles.dedup();
}

/// Keeps only safe characters in a path component built from data.
fn safe_component(s: &str) -> String {
    let c: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    if c.is_empty() || c.starts_with('.') {
        format!("x{c}")
    } else {
        c
    }
}

/// Exports `files` into `out` (which must not exist).
pub fn export(
    files: &[SourceFile],
    out: &Path,
    key: &Key,
    opts: &ExportOptions,
    started_at: &str,
) -> Result<ExportReport, ExportError> {
    if out.exists() {
        return Err(ExportError::Exists(out.into()));
    }
    if let Some(t) = &opts.reid_table {
        let abs = std::path::absolute(t).unwrap_or_else(|_| t.clone());
        let out_abs = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
        if abs.starts_with(&out_abs)
            || abs
                .to_string_lossy()
                .starts_with(&*out_abs.to_string_lossy())
        {
            return Err(ExportError::ReidInside(t.clone()));
        }
    }
    let mut reid: Vec<(String, String, String)> = Vec::new();
    let tmp = PathBuf::from(format!(
        "{}.incomplete-{}",
        out.display(),
        safe_component(started_at)
    ));
    std::fs::create_dir_all(&tmp).map_err(|e| ExportError::Io(e.to_string(), tmp.clone()))?;
    let mut profile = Profile::standard();
    for (tag, action) in &opts.overrides {
        profile.set_override(*tag, *action);
    }
    let d = Deidentifier {
        profile: &profile,
        options: opts.profile,
        key,
    };
    let mut all_needles = Vec::new();
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for f in files {
        // The bounded pre-scan first: dicom-object then reads a vetted file.
        let source = match read_whole(&f.path) {
            Ok(o) => o,
            Err(reason) => {
                skipped.push((f.path.display().to_string(), reason));
                continue;
            }
        };
        let ts = source
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_string();
        let data = source.into_inner();
        needles(&data, &mut all_needles, 0);
        let patient = PatientContext::new(key, &f.issuer, &f.patient_id);
        if opts.reid_table.is_some() {
            reid.push((
                f.issuer.clone(),
                f.patient_id.clone(),
                patient.pseudonym.clone(),
            ));
        }
        let clean = d.apply(data, &patient);
        let uid = |t: Tag| {
            clean
                .get(t)
                .and_then(|e| {
                    e.to_str()
                        .ok()
                        .map(|s| s.trim_end_matches('\0').to_string())
                })
                .unwrap_or_default()
        };
        let (study, series, sop) = (
            uid(tags::STUDY_INSTANCE_UID),
            uid(tags::SERIES_INSTANCE_UID),
            uid(tags::SOP_INSTANCE_UID),
        );
        let rel = PathBuf::from(safe_component(&patient.pseudonym))
            .join(safe_component(&study))
            .join(safe_component(&series))
            .join(format!("{}.dcm", safe_component(&sop)));
        let path = tmp.join(&rel);
        let file = match clean.with_meta(FileMetaTableBuilder::new().transfer_syntax(ts.as_str())) {
            Ok(f) => f,
            Err(e) => {
                skipped.push((
                    f.path.display().to_string(),
                    format!("cannot build the file meta: {e}"),
                ));
                continue;
            }
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| ExportError::Io(e.to_string(), parent.into()))?;
        }
        let mut bytes = Vec::new();
        if let Err(e) = file.write_all(&mut bytes) {
            skipped.push((f.path.display().to_string(), format!("cannot encode: {e}")));
            continue;
        }
        std::fs::write(&path, &bytes).map_err(|e| ExportError::Io(e.to_string(), path.clone()))?;
        rows.push(ManifestRow {
            file: rel.display().to_string(),
            patient: patient.pseudonym.clone(),
            study_uid: study,
            series_uid: series,
            sop_instance_uid: sop,
            sha256: Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        });
    }
    // The gate: every written byte against every original value.
    unique(&mut all_needles);
    let scanners = Scanners::new(&all_needles);
    let mut findings = Vec::new();
    for r in &rows {
        let bytes = std::fs::read(tmp.join(&r.file))
            .map_err(|e| ExportError::Io(e.to_string(), tmp.join(&r.file)))?;
        for h in scan_file(&bytes, &scanners) {
            findings.push(Finding {
                file: r.file.clone(),
                offset: h.offset,
                attribute: h.attribute,
                matched: h.variant,
            });
        }
        let marked = OpenFileOptions::new()
            .read_until(tags::PIXEL_DATA)
            .from_reader(&bytes[..])
            .ok()
            .and_then(|o| {
                o.get(tags::PATIENT_IDENTITY_REMOVED)
                    .and_then(|e| e.to_str().ok().map(|s| s.trim() == "YES"))
            })
            .unwrap_or(false);
        if !marked {
            findings.push(Finding {
                file: r.file.clone(),
                offset: 0,
                attribute: "(0012,0062)".into(),
                matched: "PatientIdentityRemoved missing".into(),
            });
        }
    }
    let fingerprint = crate::deid::keyfile::fingerprint(key);
    let manifest = serde_json::json!({
        "recipe_version": RECIPE_VERSION,
        "app_version": env!("CARGO_PKG_VERSION"),
        "key_fingerprint": fingerprint,
        "profile_options": format!("{:?}", opts.profile),
        "rules_edition": "DICOM PS3.15 2024b Table E.1-1",
        "files": rows,
    });
    let manifest_path = tmp.join("manifest.json");
    std::fs::write(
        &manifest_path,
        serde_json::to_string_pretty(&manifest).unwrap_or_default(),
    )
    .map_err(|e| ExportError::Io(e.to_string(), manifest_path.clone()))?;
    if let Some(t) = &opts.reid_table {
        reid.sort();
        reid.dedup();
        let mut text = String::from("# RE-IDENTIFICATION TABLE: original patient identity -> pseudonym. Keep with the honest broker only.\nissuer,patient_id,pseudonym\n");
        for (issuer, pid, pseudo) in &reid {
            let q = |v: &str| {
                if v.contains([',', '"', '\n']) {
                    format!("\"{}\"", v.replace('"', "\"\""))
                } else {
                    v.to_string()
                }
            };
            text.push_str(&format!("{},{},{}\n", q(issuer), q(pid), q(pseudo)));
        }
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        use std::io::Write;
        o.open(t)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| ExportError::Io(e.to_string(), t.clone()))?;
    }
    let complete = findings.is_empty();
    let folder = if complete {
        std::fs::rename(&tmp, out).map_err(|e| ExportError::Io(e.to_string(), out.into()))?;
        out.to_path_buf()
    } else {
        tmp
    };
    Ok(ExportReport {
        folder: folder.display().to_string(),
        complete,
        written: rows.len() as u64,
        skipped,
        findings,
        key_fingerprint: fingerprint,
        recipe_version: RECIPE_VERSION,
    })
}

/// The identifying values of the given source files (what the gate looks for).
pub fn source_needles(files: &[SourceFile]) -> (Vec<Needle>, Vec<(String, String)>) {
    let mut all = Vec::new();
    let mut skipped = Vec::new();
    for f in files {
        match read_whole(&f.path) {
            Ok(o) => needles(&o, &mut all, 0),
            Err(reason) => skipped.push((f.path.display().to_string(), reason)),
        }
    }
    unique(&mut all);
    (all, skipped)
}

/// Scans every file under `dir` for the needles (the gate, run alone).
pub fn scan_folder(dir: &Path, needles: &[Needle]) -> Result<Vec<Finding>, ExportError> {
    let scanners = Scanners::new(needles);
    let mut findings = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|e| ExportError::Io(e.to_string(), d.clone()))?;
        for e in rd {
            let p = e
                .map_err(|e| ExportError::Io(e.to_string(), d.clone()))?
                .path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).map_err(|e| ExportError::Io(e.to_string(), p.clone()))?;
            let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
            for h in scan_file(&bytes, &scanners) {
                findings.push(Finding {
                    file: rel.clone(),
                    offset: h.offset,
                    attribute: h.attribute,
                    matched: h.variant,
                });
            }
        }
    }
    findings.sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
    Ok(findings)
}
