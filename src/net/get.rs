//! C-GET SCU for one series: the PACS sends the images back as C-STOREs on
//! the same association; each is streamed into a Part-10 file (file meta
//! written by us, the data set bytes exactly as received, so pixel data is
//! never re-encoded).

use super::assoc::{self, Peer, Proposal};
use super::dimse::{self, field, Command, Dimse};
use super::{find, records, NetError};
use crate::cancel::CancelToken;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Transfer syntaxes we accept images in: each gets its own presentation
/// context per SOP class, so the PACS can send what it stores as it is
/// (no transcoding, byte-identical pixel data).
pub(super) const IMAGE_TS: &[&str] = &[
    dimse::EXPLICIT_LE,
    dimse::IMPLICIT_LE,
    "1.2.840.10008.1.2.1.99", // deflated explicit VR LE
    "1.2.840.10008.1.2.5",    // RLE lossless
    "1.2.840.10008.1.2.4.50", // JPEG baseline
    "1.2.840.10008.1.2.4.51", // JPEG extended
    "1.2.840.10008.1.2.4.57", // JPEG lossless
    "1.2.840.10008.1.2.4.70", // JPEG lossless SV1
    "1.2.840.10008.1.2.4.80", // JPEG-LS lossless
    "1.2.840.10008.1.2.4.81", // JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.90", // JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91", // JPEG 2000
];

/// At most 128 presentation contexts per association (PS3.8), one taken
/// by the GET model.
const MAX_CONTEXTS: usize = 127;

/// What one series' C-GET did.
#[derive(Debug, Default)]
pub struct GetOutcome {
    pub received: u64,
    /// Sub-operations the PACS reported failed (or we refused to store).
    pub failed: u64,
    pub cancelled: bool,
}

/// The instances of a series (SOP Instance UID, SOP Class UID), by an
/// image-level C-FIND: to propose only the classes it holds (128 contexts
/// are too few for every class times every syntax), and to know what a
/// resume still lacks.
pub fn series_instances(
    peer: &Peer,
    study_uid: &str,
    series_uid: &str,
    cancel: &CancelToken,
) -> Result<Vec<(String, String)>, NetError> {
    let contexts = vec![(
        dimse::STUDY_ROOT_FIND.to_string(),
        vec![
            dimse::EXPLICIT_LE.to_string(),
            dimse::IMPLICIT_LE.to_string(),
        ],
    )];
    let mut d = Dimse::new(assoc::open(peer, &contexts, &[])?, peer.clone());
    let mut found = Vec::new();
    let id = records::image_identifier(study_uid, series_uid);
    let r = find::find(&mut d, &id, cancel, &mut |obj| {
        let sop = records::text_of(&obj, tags::SOP_INSTANCE_UID);
        let class = records::text_of(&obj, tags::SOP_CLASS_UID);
        if let (Some(sop), Some(class)) = (sop, class) {
            found.push((sop, class));
        }
        Ok(())
    });
    match r {
        Ok(end) if end.truncated => {
            d.release();
            Err(NetError::Protocol(
                "the PACS cut the list of a series' images short at its result limit; raise the limit".into(),
            ))
        }
        Ok(_) => {
            d.release();
            Ok(found)
        }
        Err(e) => {
            d.abort();
            Err(e)
        }
    }
}

/// Retrieves one series into `dest` (created by the caller, owner-only):
/// the whole series, or with `only` just those SOP Instance UIDs (one
/// image-level C-GET each, on the same association: a resume fetches only
/// what is missing). `on_file` is told each file once it is complete.
#[allow(clippy::too_many_arguments)]
pub fn get_series(
    peer: &Peer,
    study_uid: &str,
    series_uid: &str,
    only: Option<&[String]>,
    sop_classes: &BTreeSet<String>,
    dest: &Path,
    cancel: &CancelToken,
    on_file: &mut dyn FnMut(PathBuf),
) -> Result<GetOutcome, NetError> {
    let mut contexts: Vec<Proposal> = vec![(
        dimse::STUDY_ROOT_GET.to_string(),
        vec![
            dimse::EXPLICIT_LE.to_string(),
            dimse::IMPLICIT_LE.to_string(),
        ],
    )];
    'classes: for class in sop_classes {
        for ts in IMAGE_TS {
            if contexts.len() > MAX_CONTEXTS {
                break 'classes;
            }
            contexts.push((class.clone(), vec![ts.to_string()]));
        }
    }
    let roles: Vec<String> = sop_classes.iter().cloned().collect();
    let mut d = Dimse::new(assoc::open(peer, &contexts, &roles)?, peer.clone());
    let mut selectors = Vec::new();
    match only {
        None => selectors.push(selector(study_uid, series_uid, None)),
        Some(sops) => selectors.extend(
            sops.iter()
                .map(|s| selector(study_uid, series_uid, Some(s))),
        ),
    }
    let mut out = GetOutcome::default();
    let mut result = Ok(());
    for sel in &selectors {
        if cancel.is_cancelled() {
            out.cancelled = true;
            break;
        }
        if let Err(e) = run_get(&mut d, sel, dest, cancel, on_file, &mut out) {
            result = Err(e);
            break;
        }
    }
    match result {
        Ok(()) => {
            d.release();
            Ok(out)
        }
        Err(e) => {
            d.abort();
            Err(e)
        }
    }
}

/// The identifier of a series- or image-level retrieval.
fn selector(study_uid: &str, series_uid: &str, sop: Option<&str>) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    let level = if sop.is_some() { "IMAGE" } else { "SERIES" };
    let mut put = |tag, vr, v: &str| obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    put(tags::QUERY_RETRIEVE_LEVEL, VR::CS, level);
    put(tags::STUDY_INSTANCE_UID, VR::UI, study_uid);
    put(tags::SERIES_INSTANCE_UID, VR::UI, series_uid);
    if let Some(s) = sop {
        put(tags::SOP_INSTANCE_UID, VR::UI, s);
    }
    obj
}

fn run_get(
    d: &mut Dimse,
    sel: &InMemDicomObject,
    dest: &Path,
    cancel: &CancelToken,
    on_file: &mut dyn FnMut(PathBuf),
    out: &mut GetOutcome,
) -> Result<(), NetError> {
    let (pc, _) = d
        .context_for(dimse::STUDY_ROOT_GET)
        .ok_or_else(|| NetError::NotOffered("Study Root C-GET".into()))?;
    let id = d.message_id();
    let data = d.encode(pc, sel)?;
    d.send(
        pc,
        dimse::request(dimse::STUDY_ROOT_GET, field::C_GET_RQ, id, None),
        Some(&data),
    )?;
    let mut cancel_sent = false;
    loop {
        let cmd = d.read_command()?;
        match cmd.field() {
            field::C_STORE_RQ => {
                let status = match store_one(d, &cmd, dest) {
                    Ok(path) => {
                        out.received += 1;
                        on_file(path);
                        0x0000
                    }
                    Err(StoreFail::Net(e)) => return Err(e),
                    Err(StoreFail::Refused) => {
                        out.failed += 1;
                        0xA700
                    }
                };
                d.send(cmd.pc_id, dimse::store_response(&cmd, status), None)?;
                if cancel.is_cancelled() && !cancel_sent {
                    d.send(pc, dimse::cancel(id), None)?;
                    cancel_sent = true;
                    out.cancelled = true;
                }
            }
            field::C_GET_RSP => {
                if cmd.has_data() {
                    d.read_data(cmd.pc_id, &mut std::io::sink())?;
                }
                let status = cmd
                    .status()
                    .ok_or_else(|| NetError::Protocol("C-GET-RSP without a status".into()))?;
                match status {
                    0xFF00 | 0xFF01 => {}
                    0x0000 => return Ok(()),
                    0xFE00 => {
                        out.cancelled = true;
                        return Ok(());
                    }
                    0xB000 => {
                        out.failed += count(&cmd, tags::NUMBER_OF_FAILED_SUBOPERATIONS).max(1);
                        return Ok(());
                    }
                    s => {
                        return Err(NetError::Failure {
                            service: "C-GET",
                            status: s,
                            meaning: super::status_meaning(s),
                        })
                    }
                }
            }
            _ => {
                return Err(NetError::Protocol(
                    "an unexpected message during C-GET".into(),
                ))
            }
        }
    }
}

fn count(cmd: &Command, tag: Tag) -> u64 {
    cmd.u16(tag).map(u64::from).unwrap_or(0)
}

pub(super) enum StoreFail {
    /// The association is unusable.
    Net(NetError),
    /// This image could not be kept; the PACS is told and we go on.
    Refused,
}

/// Writes one incoming C-STORE to `<dest>/<name>.dcm` through a `.part`
/// file renamed when complete (a crash never leaves a half file under the
/// final name, so resume can trust every `.dcm`).
pub(super) fn store_one(d: &mut Dimse, cmd: &Command, dest: &Path) -> Result<PathBuf, StoreFail> {
    let class = cmd.text(tags::AFFECTED_SOP_CLASS_UID).unwrap_or_default();
    let inst = cmd
        .text(tags::AFFECTED_SOP_INSTANCE_UID)
        .unwrap_or_default();
    let ts = d.ts_of(cmd.pc_id).unwrap_or_default();
    if !cmd.has_data() || class.is_empty() || inst.is_empty() || ts.is_empty() {
        if cmd.has_data() {
            d.read_data(cmd.pc_id, &mut std::io::sink())
                .map_err(StoreFail::Net)?;
        }
        return Err(StoreFail::Refused);
    }
    let final_path = dest.join(file_name(&inst));
    let part = final_path.with_extension("dcm.part");
    let file = match crate::private_fs::create_file(&part) {
        Ok(f) => f,
        Err(_) => {
            d.read_data(cmd.pc_id, &mut std::io::sink())
                .map_err(StoreFail::Net)?;
            return Err(StoreFail::Refused);
        }
    };
    let mut w = BufWriter::with_capacity(256 * 1024, file);
    let header_ok = write_preamble_and_meta(&mut w, &class, &inst, &ts).is_ok();
    let mut sink: Box<dyn Write> = if header_ok {
        Box::new(&mut w)
    } else {
        Box::new(std::io::sink())
    };
    let read = d.read_data(cmd.pc_id, &mut sink);
    drop(sink);
    match read {
        Ok(_) if header_ok => {}
        Ok(_) => {
            let _ = std::fs::remove_file(&part);
            return Err(StoreFail::Refused);
        }
        Err(NetError::Io { .. }) => {
            let _ = std::fs::remove_file(&part);
            return Err(StoreFail::Refused);
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(StoreFail::Net(e));
        }
    }
    let done = w
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_data())
        .and_then(|_| std::fs::rename(&part, &final_path));
    if done.is_err() {
        let _ = std::fs::remove_file(&part);
        return Err(StoreFail::Refused);
    }
    Ok(final_path)
}

fn write_preamble_and_meta(
    w: &mut dyn Write,
    class: &str,
    inst: &str,
    ts: &str,
) -> std::io::Result<()> {
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(class)
        .media_storage_sop_instance_uid(inst)
        .transfer_syntax(ts)
        .build()
        .map_err(std::io::Error::other)?;
    w.write_all(&[0u8; 128])?;
    w.write_all(b"DICM")?;
    meta.write(&mut *w).map_err(std::io::Error::other)
}

/// A safe file name for a SOP Instance UID: the UID itself when it is a
/// well-formed UID, else a digest (a hostile PACS must not be able to
/// write outside the cache with a UID like `../x`).
pub fn file_name(uid: &str) -> String {
    let well_formed = !uid.is_empty()
        && uid.len() <= 64
        && uid.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !uid.starts_with('.');
    if well_formed {
        format!("{uid}.dcm")
    } else {
        use sha2::Digest;
        let h = sha2::Sha256::digest(uid.as_bytes());
        let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("x{hex}.dcm")
    }
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn hostile_uids_cannot_escape_the_cache() {
        assert_eq!(file_name("1.2.3"), "1.2.3.dcm");
        for bad in ["../../etc/passwd", "1.2/3", "", ".."] {
            let n = file_name(bad);
            assert!(n.starts_with('x') && !n.contains('/'), "{bad} -> {n}");
        }
    }
}
