//! C-MOVE SCU for one series: asks the PACS to send the images to a
//! destination AE (ours: [`super::scp::StorageScp`], which the PACS must
//! know by AE title, host and port). The images arrive on other
//! associations; this one only carries the request and the PACS's
//! progress answers.

use super::assoc::{self, Peer};
use super::dimse::{self, field, Dimse};
use super::NetError;
use crate::cancel::CancelToken;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// What one series' C-MOVE did, as the PACS reports it.
#[derive(Debug, Default)]
pub struct MoveOutcome {
    pub completed: u64,
    pub failed: u64,
    pub cancelled: bool,
}

/// Moves a series (or with `only`, just those images, one image-level
/// C-MOVE each on the same association) to `dest_ae`.
pub fn move_series(
    peer: &Peer,
    study_uid: &str,
    series_uid: &str,
    only: Option<&[String]>,
    dest_ae: &str,
    cancel: &CancelToken,
) -> Result<MoveOutcome, NetError> {
    let contexts = vec![(
        dimse::STUDY_ROOT_MOVE.to_string(),
        vec![
            dimse::EXPLICIT_LE.to_string(),
            dimse::IMPLICIT_LE.to_string(),
        ],
    )];
    let mut d = Dimse::new(assoc::open(peer, &contexts, &[])?, peer.clone());
    let selectors: Vec<InMemDicomObject> = match only {
        None => vec![selector(study_uid, series_uid, None)],
        Some(sops) => sops
            .iter()
            .map(|s| selector(study_uid, series_uid, Some(s)))
            .collect(),
    };
    let mut out = MoveOutcome::default();
    let mut result = Ok(());
    for sel in &selectors {
        if cancel.is_cancelled() {
            out.cancelled = true;
            break;
        }
        if let Err(e) = run_move(&mut d, sel, dest_ae, cancel, &mut out) {
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

fn run_move(
    d: &mut Dimse,
    sel: &InMemDicomObject,
    dest_ae: &str,
    cancel: &CancelToken,
    out: &mut MoveOutcome,
) -> Result<(), NetError> {
    let (pc, _) = d
        .context_for(dimse::STUDY_ROOT_MOVE)
        .ok_or_else(|| NetError::NotOffered("Study Root C-MOVE".into()))?;
    let id = d.message_id();
    let data = d.encode(pc, sel)?;
    let dest = DataElement::new(
        tags::MOVE_DESTINATION,
        VR::AE,
        PrimitiveValue::from(dest_ae),
    );
    d.send(
        pc,
        dimse::request(
            dimse::STUDY_ROOT_MOVE,
            field::C_MOVE_RQ,
            id,
            Some(vec![dest]),
        ),
        Some(&data),
    )?;
    let mut cancel_sent = false;
    loop {
        let cmd = d.read_command()?;
        if cmd.field() != field::C_MOVE_RSP {
            return Err(NetError::Protocol(
                "an unexpected message during C-MOVE".into(),
            ));
        }
        if cmd.has_data() {
            d.read_data(cmd.pc_id, &mut std::io::sink())?;
        }
        let n = |tag| cmd.u16(tag).map(u64::from).unwrap_or(0);
        let status = cmd
            .status()
            .ok_or_else(|| NetError::Protocol("C-MOVE-RSP without a status".into()))?;
        match status {
            0xFF00 | 0xFF01 => {
                if cancel.is_cancelled() && !cancel_sent {
                    d.send(pc, dimse::cancel(id), None)?;
                    cancel_sent = true;
                    out.cancelled = true;
                }
            }
            0x0000 => {
                out.completed += n(tags::NUMBER_OF_COMPLETED_SUBOPERATIONS);
                return Ok(());
            }
            0xFE00 => {
                out.completed += n(tags::NUMBER_OF_COMPLETED_SUBOPERATIONS);
                out.cancelled = true;
                return Ok(());
            }
            0xB000 => {
                out.completed += n(tags::NUMBER_OF_COMPLETED_SUBOPERATIONS);
                out.failed += n(tags::NUMBER_OF_FAILED_SUBOPERATIONS).max(1);
                return Ok(());
            }
            s => {
                return Err(NetError::Failure {
                    service: "C-MOVE",
                    status: s,
                    meaning: super::status_meaning(s),
                })
            }
        }
    }
}
