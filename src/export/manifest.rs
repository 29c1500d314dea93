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
    /// Who approved the image's pixels and header in the visual review,
    /// and when: set exactly when the file claims Clean Pixel Data.
    #[serde(default)]
    pub review: Option<super::ReviewStamp>,
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
    /// Attributes default deny handled (the table does not list them).
    pub default_handled: Vec<(String, String)>,
    /// Findings a reviewer waived.
    pub waived: Vec<WaiverRecord>,
}

/// A waived finding as the manifest records it (no matched value).
#[derive(Debug, Clone, Serialize)]
/// Only the id, the file and the reason leave the workstation: which
/// source attribute matched where would let a recipient read the value
/// off the file (the full record stays in the workspace's audit trail).
pub struct WaiverRecord {
    pub id: String,
    pub file: String,
    pub reason: String,
}

impl WaiverRecord {
    pub fn of(w: &super::WaivedFinding) -> WaiverRecord {
        WaiverRecord {
            id: w.finding.id.clone(),
            file: w.finding.file.clone(),
            reason: w.reason.clone(),
        }
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    crate::private_fs::write(path, bytes).map_err(|e| ExportError::Io(e.to_string(), path.into()))
}

/// The data dictionary's keyword of `(gggg,eeee)`, or empty.
fn attribute_name(tag: &str) -> String {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
    let parse = || {
        let (g, e) = tag.trim_matches(['(', ')']).split_once(',')?;
        Some(dicom_core::Tag(
            u16::from_str_radix(g, 16).ok()?,
            u16::from_str_radix(e, 16).ok()?,
        ))
    };
    parse()
        .and_then(|t| dicom_dictionary_std::StandardDataDictionary.by_tag(t))
        .map(|e| e.alias().to_string())
        .unwrap_or_default()
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
        "default_handled": facts.default_handled.iter().map(|(tag, action)| {
            serde_json::json!({"tag": tag, "name": attribute_name(tag), "action": action})
        }).collect::<Vec<_>>(),
        "waived_findings": facts.waived,
        "reviewed_series": reviewed_series(rows),
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
        "reviewer",
        "approved_at",
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
            r.review.as_ref().map_or("", |a| a.reviewer.as_str()),
            r.review.as_ref().map_or("", |a| a.approved_at.as_str()),
        ])
        .map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ExportError::Io(e.to_string(), dir.join("manifest.csv")))?;
    write(&dir.join("manifest.csv"), &bytes)
}

/// Per exported series (its de-identified UID only), who approved its
/// images and when (one entry per reviewer and time: a mixed series may
/// have several), with how many of its files claim clean pixels.
fn reviewed_series(rows: &[ManifestRow]) -> Vec<serde_json::Value> {
    let mut by: std::collections::BTreeMap<(&str, &str, &str), u64> = Default::default();
    for r in rows {
        if let Some(a) = &r.review {
            *by.entry((&r.series_uid, &a.reviewer, &a.approved_at))
                .or_default() += 1;
        }
    }
    by.into_iter()
        .map(|((series, reviewer, at), files)| {
            serde_json::json!({
                "series_uid": series, "reviewer": reviewer, "approved_at": at,
                "files_clean_pixels_claimed": files,
            })
        })
        .collect()
}

/// Writes `scan-report.json`: what the gate checked and what it found.
pub fn write_scan_report(
    dir: &Path,
    files_scanned: usize,
    values_searched: usize,
    findings: &[Finding],
    waived: &[super::WaivedFinding],
) -> Result<(), ExportError> {
    let report = serde_json::json!({
        "files_scanned": files_scanned,
        "identifying_values_searched": values_searched,
        "checks": [
            "the values searched: every source value the profile did not keep verbatim (removed, emptied, replaced, remapped, shifted or cleaned, by the table or by default deny, at every depth, file meta included)",
            "every byte of every file (preamble, file meta, all elements, private and encapsulated bytes; deflated data sets inflated) for identities and written-out dates of at least 6 characters",
            "every decoded value at every depth (byte values read as text) for every value of at least 3 characters, with case, person-name group and component, Unicode NFC/NFD, transliteration, letter/digit token and date-format variants",
            "PatientIdentityRemoved = YES, DeidentificationMethod and its code sequence present",
            "no replaced original UID survives",
        ],
        "clean": findings.is_empty(),
        // Matched values are PHI: the report on disk says where, not what.
        "findings": findings.iter().map(Finding::redacted).collect::<Vec<_>>(),
        "waived": waived.iter().map(WaiverRecord::of).collect::<Vec<_>>(),
    });
    write(
        &dir.join("scan-report.json"),
        serde_json::to_string_pretty(&report)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// Whether `inner` is `outer` or lies under it, compared by path
/// components (so `/x/exp-reid.csv` is beside `/x/exp`, not inside), after
/// making both absolute and resolving what exists of them (symlinks, `..`).
pub fn is_inside(inner: &Path, outer: &Path) -> bool {
    resolved(inner).starts_with(resolved(outer))
}

/// `p` absolute, with its longest existing ancestor canonicalised and the
/// rest appended (`..` in the rest resolved lexically).
fn resolved(p: &Path) -> std::path::PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    let base = loop {
        if let Ok(c) = existing.canonicalize() {
            break c;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => break existing.to_path_buf(),
        }
    };
    let mut out = base;
    for name in rest.into_iter().rev() {
        if name == ".." {
            out.pop();
        } else if name != "." {
            out.push(name);
        }
    }
    out
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
