//! One source file of an export: read (bounded pre-scan first), mask,
//! de-identify and write it without ever clobbering another file, or take
//! over the copy an unfinished run verifiably wrote.

use super::journal::Previous;
use super::manifest::ManifestRow;
use super::{ExportError, ExportRequest, ReviewStamp, SourceFile};
use crate::deid::apply::{Deidentifier, PatientContext, Trace};
use crate::dicom::read_whole;
use dicom_core::VR;
use dicom_dictionary_std::tags;
use std::path::{Path, PathBuf};

/// Keeps only safe characters in a path component built from data: no
/// separators, no leading dot (so never `..`).
pub(super) fn safe_component(s: &str) -> String {
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

/// Where a file goes inside the export: patient/study/series/instance.dcm,
/// every part sanitised.
fn relative_path(patient: &str, study: &str, series: &str, sop: &str) -> PathBuf {
    PathBuf::from(safe_component(patient))
        .join(safe_component(study))
        .join(safe_component(series))
        .join(format!("{}.dcm", safe_component(sop)))
}

pub(super) use super::render::sha256_hex;

/// Writes `bytes` to `path` through a `.part` file (named by `tag`, so
/// parallel writers never share one) moved into place without replacing
/// an existing file: a crash never leaves a half file under the final
/// name, and two sources with the same SOP Instance UID never overwrite
/// each other. `Ok(false)`: the final name was already taken.
fn write_atomically(path: &Path, bytes: &[u8], tag: &str) -> Result<bool, ExportError> {
    if let Some(parent) = path.parent() {
        crate::private_fs::create_dir_all(parent)
            .map_err(|e| ExportError::Io(e.to_string(), parent.into()))?;
    }
    let part = path.with_extension(format!("{tag}.part"));
    crate::private_fs::write(&part, bytes)
        .map_err(|e| ExportError::Io(e.to_string(), part.clone()))?;
    let linked = std::fs::hard_link(&part, path);
    let _ = std::fs::remove_file(&part);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(ExportError::Io(e.to_string(), path.into())),
    }
}

/// Why one source file was not exported, or why the export must stop.
enum FileError {
    Skip(String),
    Fatal(ExportError),
}

/// What happened to one source file.
pub(super) enum Outcome {
    Written(ManifestRow),
    Reused(ManifestRow),
    Skipped(String),
}

/// One source file, handled on a worker thread.
pub(super) struct Processed {
    /// What the de-identification did not keep (the gate's needles) and
    /// what default deny decided.
    pub trace: Trace,
    pub outcome: Result<Outcome, ExportError>,
}

/// Reads one source (the bounded pre-scan first: dicom-object then reads a
/// vetted file), collects its identifying values for the gate, and either
/// takes over the file an unfinished run verifiably wrote or writes it.
pub(super) fn process(
    deid: &Deidentifier,
    reference: Option<&Deidentifier>,
    req: &ExportRequest,
    f: &SourceFile,
    label: &str,
    previous: Option<&Previous>,
    dir: &Path,
) -> Processed {
    let mut trace = Trace::default();
    let source = match read_whole(&f.path) {
        Ok(o) => o,
        Err(reason) => {
            return Processed {
                trace,
                outcome: Ok(Outcome::Skipped(reason)),
            }
        }
    };
    let patient = PatientContext::new(req.key, &f.issuer, &f.patient_id);
    meta_needles(source.meta(), &patient, &mut trace);
    if let Some(reference) = reference {
        // The gate's needles from the standard profile (the export's own
        // profile was changed): the same walk, its output discarded.
        reference.apply_traced(source.clone().into_inner(), &patient, &mut trace);
        let outcome = written(export_one(
            deid,
            req,
            &patient,
            source,
            (dir, label),
            f.approval.as_ref(),
            &mut Trace::default(),
        ));
        return Processed { trace, outcome };
    }
    if let Some(row) = previous.and_then(|p| take_over(&p.dir, dir, p.done.get(label)?)) {
        // Every source's values go to the gate, reused files' too.
        deid.apply_traced(source.into_inner(), &patient, &mut trace);
        return Processed {
            trace,
            outcome: Ok(Outcome::Reused(row)),
        };
    }
    let outcome = written(export_one(
        deid,
        req,
        &patient,
        source,
        (dir, label),
        f.approval.as_ref(),
        &mut trace,
    ));
    Processed { trace, outcome }
}

/// What writing one source came to.
fn written(r: Result<ManifestRow, FileError>) -> Result<Outcome, ExportError> {
    match r {
        Ok(row) => Ok(Outcome::Written(row)),
        Err(FileError::Skip(reason)) => Ok(Outcome::Skipped(reason)),
        Err(FileError::Fatal(e)) => Err(e),
    }
}

/// The source's file meta is written anew: its AE titles are looked for
/// like every removed value.
fn meta_needles(meta: &dicom_object::FileMetaTable, patient: &PatientContext, trace: &mut Trace) {
    let titles = [
        (
            tags::SOURCE_APPLICATION_ENTITY_TITLE,
            &meta.source_application_entity_title,
        ),
        (
            tags::SENDING_APPLICATION_ENTITY_TITLE,
            &meta.sending_application_entity_title,
        ),
        (
            tags::RECEIVING_APPLICATION_ENTITY_TITLE,
            &meta.receiving_application_entity_title,
        ),
    ];
    for (tag, value) in titles {
        if let Some(v) = value {
            trace.removed(tag, VR::AE, v, patient);
        }
    }
}

/// Takes over a file an unfinished run wrote, if it is still there with
/// the SHA-256 it was written with (hard link, or copy across devices).
fn take_over(old_dir: &Path, new_dir: &Path, row: &ManifestRow) -> Option<ManifestRow> {
    let old = old_dir.join(&row.file);
    let bytes = std::fs::read(&old).ok()?;
    if sha256_hex(&bytes) != row.sha256 {
        return None;
    }
    let new = new_dir.join(&row.file);
    crate::private_fs::create_dir_all(new.parent()?).ok()?;
    if std::fs::hard_link(&old, &new).is_err() {
        write_atomically(&new, &bytes, "takeover").ok()?;
    }
    Some(row.clone())
}

/// De-identifies, masks and writes one source into `dir` (its journal
/// label names the `.part` file); returns its manifest row.
fn export_one(
    deid: &Deidentifier,
    req: &ExportRequest,
    patient: &PatientContext,
    source: dicom_object::DefaultDicomObject,
    (dir, label): (&Path, &str),
    approval: Option<&ReviewStamp>,
    trace: &mut Trace,
) -> Result<ManifestRow, FileError> {
    let rendered = super::render::render(deid, req.masks, patient, source, trace, req.approved)
        .map_err(|reason| {
            FileError::Skip(if reason.contains("not exported") {
                reason
            } else {
                format!("{reason}; not exported")
            })
        })?;
    if req.options.approved_only == Some(true) && !rendered.clean_pixels_claimed {
        // The approval was checked against its inputs; the bytes are the
        // final word (DECISIONS 25): approved-only means exactly the
        // approved content.
        return Err(FileError::Skip(
            "its de-identified content is not what a reviewer approved (review the series again); not exported"
                .to_string(),
        ));
    }
    let (study, series, sop) = rendered.uids();
    let rel = relative_path(&patient.pseudonym, &study, &series, &sop);
    let bytes = &rendered.bytes;
    let masked = rendered.masked;
    let path = dir.join(&rel);
    if !write_atomically(&path, bytes, label).map_err(FileError::Fatal)? {
        return Err(FileError::Skip(format!(
            "another cohort file has the same SOP Instance UID ({}); exported once",
            rel.display()
        )));
    }
    Ok(ManifestRow {
        file: rel.display().to_string(),
        patient: patient.pseudonym.clone(),
        study_uid: study,
        series_uid: series,
        sop_instance_uid: sop,
        sha256: sha256_hex(bytes),
        masked_rectangles: masked.map_or(0, |m| m.rectangles),
        decompressed: masked.is_some_and(|m| m.decompressed),
        review: approval.filter(|_| rendered.clean_pixels_claimed).cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_built_from_data_cannot_leave_the_export_folder() {
        for hostile in [
            "../../x",
            "..",
            ".",
            "",
            "/etc/passwd",
            "a/../../b",
            "C:\\x",
            "..\\..\\x",
        ] {
            let rel = relative_path(hostile, hostile, hostile, hostile);
            assert!(rel.is_relative(), "{hostile}: {}", rel.display());
            for c in rel.components() {
                assert!(
                    matches!(c, std::path::Component::Normal(_)),
                    "{hostile}: {}",
                    rel.display()
                );
                let s = c.as_os_str().to_string_lossy();
                assert!(!s.starts_with('.') && !s.contains(['/', '\\']), "{s}");
            }
            assert_eq!(rel.components().count(), 4);
        }
        assert_eq!(
            relative_path("PABC", "2.25.1", "2.25.2", "2.25.3"),
            PathBuf::from("PABC/2.25.1/2.25.2/2.25.3.dcm")
        );
    }
}
