//! What an export writes beside the images: the manifest (JSON and CSV),
//! the scan report, and, outside the export, the re-identification table.

use super::{ExportError, Finding};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One written file, as listed in the manifest. Holds only pseudonymous
/// identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRow {
    /// Path inside the export folder.
    pub file: String,
    pub patient: String,
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uid: String,
    pub sha256: String,
    /// Mask rectangles applied to its pixels (every frame).
    pub masked_rectangles: usize,
    /// The source was compressed and, masked, is written uncompressed.
    pub decompressed: bool,
}

/// What every row of an export shares.
#[derive(Debug, Clone, Serialize)]
pub struct ExportFacts {
    pub profile: &'static str,
    pub profile_options: String,
    pub rules_edition: &'static str,
    pub app_version: &'static str,
    pub recipe_version: u32,
    pub key_fingerprint: String,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    std::fs::write(path, bytes).map_err(|e| ExportError::Io(e.to_string(), path.into()))
}

/// Writes `manifest.json` and `manifest.csv` into `dir`.
pub fn write_manifests(
    dir: &Path,
    facts: &ExportFacts,
    rows: &[ManifestRow],
) -> Result<(), ExportError> {
    let json = serde_json::json!({
        "profile": facts.profile,
        "profile_options": facts.profile_options,
        "rules_edition": facts.rules_edition,
        "app_version": facts.app_version,
        "recipe_version": facts.recipe_version,
        "key_fingerprint": facts.key_fingerprint,
        "files": rows,
    });
    write(
        &dir.join("manifest.json"),
        serde_json::to_string_pretty(&json)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "file",
        "patient",
        "study_uid",
        "series_uid",
        "sop_instance_uid",
        "sha256",
        "masked_rectangles",
        "decompressed",
        "profile",
        "profile_options",
        "rules_edition",
        "app_version",
        "recipe_version",
        "key_fingerprint",
    ];
    let csv_err = |e: csv::Error| ExportError::Io(e.to_string(), dir.join("manifest.csv"));
    w.write_record(header).map_err(csv_err)?;
    for r in rows {
        w.write_record([
            r.file.as_str(),
            &r.patient,
            &r.study_uid,
            &r.series_uid,
            &r.sop_instance_uid,
            &r.sha256,
            &r.masked_rectangles.to_string(),
            if r.decompressed { "yes" } else { "no" },
            facts.profile,
            &facts.profile_options,
            facts.rules_edition,
            facts.app_version,
            &facts.recipe_version.to_string(),
            &facts.key_fingerprint,
        ])
        .map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ExportError::Io(e.to_string(), dir.join("manifest.csv")))?;
    write(&dir.join("manifest.csv"), &bytes)
}

/// Writes `scan-report.json`: what the gate checked and what it found.
pub fn write_scan_report(
    dir: &Path,
    files_scanned: usize,
    values_searched: usize,
    findings: &[Finding],
) -> Result<(), ExportError> {
    let report = serde_json::json!({
        "files_scanned": files_scanned,
        "identifying_values_searched": values_searched,
        "checks": [
            "every byte of every file (preamble, file meta, all elements, private and encapsulated bytes) for the source identifiers of at least 6 characters",
            "every decoded text value at every depth for every source identifier of at least 3 characters, with case, person-name, date-format and charset variants",
            "PatientIdentityRemoved = YES, DeidentificationMethod and its code sequence present",
            "no replaced original UID survives",
        ],
        "clean": findings.is_empty(),
        // Matched values are PHI: the report on disk says where, not what.
        "findings": findings.iter().map(Finding::redacted).collect::<Vec<_>>(),
    });
    write(
        &dir.join("scan-report.json"),
        serde_json::to_string_pretty(&report)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// Whether `inner` is `outer` or lies under it (both made absolute first).
pub fn is_inside(inner: &Path, outer: &Path) -> bool {
    let abs = std::path::absolute(inner).unwrap_or_else(|_| inner.to_path_buf());
    let out = std::path::absolute(outer).unwrap_or_else(|_| outer.to_path_buf());
    abs.starts_with(&out) || abs.to_string_lossy().starts_with(&*out.to_string_lossy())
}

/// Writes the re-identification table (issuer, original patient ID,
/// pseudonym) as a new owner-only file; never inside the export.
pub fn write_reid_table(
    path: &Path,
    rows: &mut Vec<(String, String, String)>,
) -> Result<(), ExportError> {
    rows.sort();
    rows.dedup();
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: String| ExportError::Io(e, path.to_path_buf());
    w.write_record(["issuer", "patient_id", "pseudonym"])
        .map_err(|e| err(e.to_string()))?;
    for (issuer, pid, pseudo) in rows.iter() {
        w.write_record([issuer, pid, pseudo])
            .map_err(|e| err(e.to_string()))?;
    }
    let body = w.into_inner().map_err(|e| err(e.to_string()))?;
    let mut text = b"# RE-IDENTIFICATION TABLE: original patient identity -> pseudonym. Keep with the honest broker only.\n".to_vec();
    text.extend_from_slice(&body);
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    use std::io::Write;
    o.open(path)
        .and_then(|mut f| f.write_all(&text))
        .map_err(|e| err(e.to_string()))
}
