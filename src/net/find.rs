//! C-FIND SCU (Study Root): one query, matches handed over as they arrive.

use super::dimse::{self, field, Dimse};
use super::NetError;
use crate::cancel::CancelToken;
use dicom_object::InMemDicomObject;

/// How a C-FIND ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindEnd {
    pub matches: u64,
    /// The PACS said it stopped early (status 0xFE00 without our cancel,
    /// which Orthanc sends at its result limit): the result is incomplete.
    pub truncated: bool,
    pub cancelled: bool,
}

/// Runs one C-FIND on an open association; `on_match` gets each pending
/// identifier.
pub fn find(
    d: &mut Dimse,
    identifier: &InMemDicomObject,
    cancel: &CancelToken,
    on_match: &mut dyn FnMut(InMemDicomObject) -> Result<(), NetError>,
) -> Result<FindEnd, NetError> {
    let (pc, _) = d
        .context_for(dimse::STUDY_ROOT_FIND)
        .ok_or_else(|| NetError::NotOffered("Study Root C-FIND".into()))?;
    let id = d.message_id();
    let data = d.encode(pc, identifier)?;
    d.send(
        pc,
        dimse::request(dimse::STUDY_ROOT_FIND, field::C_FIND_RQ, id, None),
        Some(&data),
    )?;
    let mut end = FindEnd {
        matches: 0,
        truncated: false,
        cancelled: false,
    };
    loop {
        let rsp = d.read_command()?;
        if rsp.field() != field::C_FIND_RSP {
            return Err(NetError::Protocol(
                "the answer to C-FIND was not a C-FIND-RSP".into(),
            ));
        }
        let status = rsp
            .status()
            .ok_or_else(|| NetError::Protocol("C-FIND-RSP without a status".into()))?;
        match status {
            0xFF00 | 0xFF01 => {
                if !rsp.has_data() {
                    return Err(NetError::Protocol(
                        "a pending C-FIND-RSP without an identifier".into(),
                    ));
                }
                let obj = d.read_identifier(rsp.pc_id)?;
                end.matches += 1;
                if !end.cancelled {
                    on_match(obj)?;
                    if cancel.is_cancelled() {
                        // Stop the PACS; keep reading until its final answer
                        // so that the association stays usable.
                        d.send(pc, dimse::cancel(id), None)?;
                        end.cancelled = true;
                    }
                }
            }
            0x0000 => {
                skip_data(d, &rsp)?;
                return Ok(end);
            }
            0xFE00 => {
                skip_data(d, &rsp)?;
                end.truncated = !end.cancelled;
                return Ok(end);
            }
            s => {
                skip_data(d, &rsp)?;
                return Err(NetError::Failure {
                    service: "C-FIND",
                    status: s,
                    meaning: super::status_meaning(s),
                });
            }
        }
    }
}

fn skip_data(d: &mut Dimse, rsp: &dimse::Command) -> Result<(), NetError> {
    if rsp.has_data() {
        d.read_data(rsp.pc_id, &mut std::io::sink())?;
    }
    Ok(())
}
