//! DIMSE messages on a dicom-ul association: command sets built by hand
//! (dicom-ul has none), PDVs reassembled into commands and data sets.
//!
//! Data sets are handed to a writer as they arrive, so a large image is
//! never held in memory whole.

use super::assoc::{map_error, Association, Peer};
use super::NetError;
use dicom_core::{dicom_value, DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use std::collections::VecDeque;
use std::io::Write;

pub const VERIFICATION: &str = "1.2.840.10008.1.1";
pub const STUDY_ROOT_FIND: &str = "1.2.840.10008.5.1.4.1.2.2.1";
pub const STUDY_ROOT_MOVE: &str = "1.2.840.10008.5.1.4.1.2.2.2";
pub const STUDY_ROOT_GET: &str = "1.2.840.10008.5.1.4.1.2.2.3";
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
pub const IMPLICIT_LE: &str = "1.2.840.10008.1.2";

/// Command Field values (PS3.7 E.1).
pub mod field {
    pub const C_STORE_RQ: u16 = 0x0001;
    pub const C_STORE_RSP: u16 = 0x8001;
    pub const C_GET_RQ: u16 = 0x0010;
    pub const C_GET_RSP: u16 = 0x8010;
    pub const C_FIND_RQ: u16 = 0x0020;
    pub const C_FIND_RSP: u16 = 0x8020;
    pub const C_MOVE_RQ: u16 = 0x0021;
    pub const C_MOVE_RSP: u16 = 0x8021;
    pub const C_ECHO_RQ: u16 = 0x0030;
    pub const C_ECHO_RSP: u16 = 0x8030;
    pub const C_CANCEL_RQ: u16 = 0x0FFF;
}

/// CommandDataSetType: no data set follows.
const NO_DATA_SET: u16 = 0x0101;
/// CommandDataSetType: a data set follows (any other value).
const DATA_SET: u16 = 0x0001;

/// One association with its reassembly state.
pub struct Dimse {
    assoc: Option<Association>,
    peer: Peer,
    pending: VecDeque<PDataValue>,
    next_id: u16,
    /// The other side released the association (a clean end).
    released: bool,
}

/// A received command set.
#[derive(Debug)]
pub struct Command {
    pub pc_id: u8,
    pub obj: InMemDicomObject,
}

impl Command {
    pub fn field(&self) -> u16 {
        self.u16(tags::COMMAND_FIELD).unwrap_or(0)
    }
    pub fn status(&self) -> Option<u16> {
        self.u16(tags::STATUS)
    }
    pub fn has_data(&self) -> bool {
        self.u16(tags::COMMAND_DATA_SET_TYPE)
            .is_some_and(|v| v != NO_DATA_SET)
    }
    pub fn u16(&self, tag: Tag) -> Option<u16> {
        self.obj.get(tag)?.to_int::<u16>().ok()
    }
    pub fn text(&self, tag: Tag) -> Option<String> {
        let s = self.obj.get(tag)?.to_str().ok()?;
        Some(s.trim_end_matches(['\0', ' ']).to_string())
    }
}

impl Dimse {
    pub fn new(assoc: Association, peer: Peer) -> Dimse {
        Dimse {
            assoc: Some(assoc),
            peer,
            pending: VecDeque::new(),
            next_id: 1,
            released: false,
        }
    }

    fn assoc(&mut self) -> Result<&mut Association, NetError> {
        self.assoc
            .as_mut()
            .ok_or_else(|| NetError::Protocol("the association is closed".into()))
    }

    /// Whether the other side released the association (after which
    /// reads fail): how an SCP tells a clean end from a broken one.
    pub fn was_released(&self) -> bool {
        self.released
    }

    /// A fresh Message ID.
    pub fn message_id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    /// The accepted presentation context for an abstract syntax.
    pub fn context_for(&mut self, abstract_syntax: &str) -> Option<(u8, String)> {
        let assoc = self.assoc.as_ref()?;
        assoc
            .presentation_contexts()
            .iter()
            .find(|pc| trim(&pc.abstract_syntax) == abstract_syntax)
            .map(|pc| (pc.id, trim(&pc.transfer_syntax).to_string()))
    }

    /// The transfer syntax negotiated for a presentation context.
    pub fn ts_of(&self, pc_id: u8) -> Option<String> {
        self.assoc
            .as_ref()?
            .presentation_contexts()
            .iter()
            .find(|pc| pc.id == pc_id)
            .map(|pc| trim(&pc.transfer_syntax).to_string())
    }

    /// The abstract syntax of a presentation context.
    pub fn abstract_of(&self, pc_id: u8) -> Option<String> {
        self.assoc
            .as_ref()?
            .presentation_contexts()
            .iter()
            .find(|pc| pc.id == pc_id)
            .map(|pc| trim(&pc.abstract_syntax).to_string())
    }

    /// Sends a command and, if given, its data set (already encoded in the
    /// context's transfer syntax), split to fit the peer's PDU size.
    pub fn send(
        &mut self,
        pc_id: u8,
        command: InMemDicomObject,
        data: Option<&[u8]>,
    ) -> Result<(), NetError> {
        let mut bytes = Vec::new();
        command
            .write_dataset_with_ts(&mut bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
            .map_err(|e| NetError::Protocol(format!("cannot encode a command: {e}")))?;
        self.send_pdvs(pc_id, PDataValueType::Command, &bytes)?;
        if let Some(data) = data {
            self.send_pdvs(pc_id, PDataValueType::Data, data)?;
        }
        Ok(())
    }

    fn send_pdvs(&mut self, pc_id: u8, kind: PDataValueType, bytes: &[u8]) -> Result<(), NetError> {
        let peer = self.peer.clone();
        let assoc = self.assoc()?;
        // PDU length = PDV item (4-byte length + id + control) + payload;
        // also stay at or below 16 KiB (dicom-ul #712: it sizes PDUs by the
        // peer's maximum only).
        let peer_max = match assoc.peer_max_pdu_length() {
            0 => 16384,
            n => n.min(16384),
        } as usize;
        let chunk = peer_max - 6;
        let mut parts = bytes.chunks(chunk).peekable();
        if bytes.is_empty() {
            return Err(NetError::Protocol("empty message".into()));
        }
        while let Some(part) = parts.next() {
            let pdu = Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: pc_id,
                    value_type: kind.clone(),
                    is_last: parts.peek().is_none(),
                    data: part.to_vec(),
                }],
            };
            assoc
                .send(&pdu)
                .map_err(|e| map_error(&peer, e, "while sending a request"))?;
        }
        Ok(())
    }

    fn next_pdv(&mut self) -> Result<PDataValue, NetError> {
        loop {
            if let Some(p) = self.pending.pop_front() {
                return Ok(p);
            }
            let peer = self.peer.clone();
            let pdu = self
                .assoc()?
                .receive()
                .map_err(|e| map_error(&peer, e, "while waiting for an answer"))?;
            match pdu {
                Pdu::PData { data } => self.pending.extend(data),
                Pdu::AbortRQ { .. } => {
                    self.assoc = None;
                    return Err(NetError::Aborted {
                        calling_ae: peer.calling_ae,
                        during: " in the middle of a request".into(),
                    });
                }
                Pdu::ReleaseRQ => {
                    let _ = self.assoc()?.send(&Pdu::ReleaseRP);
                    self.assoc = None;
                    self.released = true;
                    return Err(NetError::Protocol(
                        "the PACS closed the association in the middle of a request".into(),
                    ));
                }
                other => {
                    return Err(NetError::Protocol(format!(
                        "unexpected {} PDU",
                        pdu_name(&other)
                    )))
                }
            }
        }
    }

    /// Reads the next command set.
    pub fn read_command(&mut self) -> Result<Command, NetError> {
        let mut bytes = Vec::new();
        let pc_id = loop {
            let pdv = self.next_pdv()?;
            if pdv.value_type != PDataValueType::Command {
                return Err(NetError::Protocol(
                    "a data fragment arrived where a command was expected".into(),
                ));
            }
            bytes.extend_from_slice(&pdv.data);
            if bytes.len() > 1 << 20 {
                return Err(NetError::Protocol("a command larger than 1 MiB".into()));
            }
            if pdv.is_last {
                break pdv.presentation_context_id;
            }
        };
        let obj = InMemDicomObject::read_dataset_with_ts(
            bytes.as_slice(),
            &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
        )
        .map_err(|e| NetError::Protocol(format!("undecodable command: {e}")))?;
        Ok(Command { pc_id, obj })
    }

    /// Streams the data set that follows a command into `sink`; returns
    /// its size.
    pub fn read_data(&mut self, pc_id: u8, sink: &mut dyn Write) -> Result<u64, NetError> {
        let mut n = 0u64;
        loop {
            let pdv = self.next_pdv()?;
            if pdv.value_type != PDataValueType::Data || pdv.presentation_context_id != pc_id {
                return Err(NetError::Protocol(
                    "a data set fragment was missing or on the wrong context".into(),
                ));
            }
            sink.write_all(&pdv.data).map_err(|e| NetError::Io {
                detail: e.to_string(),
            })?;
            n += pdv.data.len() as u64;
            if pdv.is_last {
                return Ok(n);
            }
        }
    }

    /// Reads a data set into memory (identifiers: small).
    pub fn read_identifier(&mut self, pc_id: u8) -> Result<InMemDicomObject, NetError> {
        let mut bytes = Vec::new();
        self.read_data(pc_id, &mut bytes)?;
        let ts_uid = self.ts_of(pc_id).unwrap_or_else(|| IMPLICIT_LE.into());
        let ts = TransferSyntaxRegistry
            .get(&ts_uid)
            .ok_or_else(|| NetError::Protocol(format!("unknown transfer syntax {ts_uid}")))?;
        InMemDicomObject::read_dataset_with_ts(bytes.as_slice(), ts)
            .map_err(|e| NetError::Protocol(format!("undecodable identifier: {e}")))
    }

    /// Encodes an identifier for a context.
    pub fn encode(&self, pc_id: u8, obj: &InMemDicomObject) -> Result<Vec<u8>, NetError> {
        let ts_uid = self.ts_of(pc_id).unwrap_or_else(|| IMPLICIT_LE.into());
        let ts = TransferSyntaxRegistry
            .get(&ts_uid)
            .ok_or_else(|| NetError::Protocol(format!("unknown transfer syntax {ts_uid}")))?;
        let mut out = Vec::new();
        obj.write_dataset_with_ts(&mut out, ts)
            .map_err(|e| NetError::Protocol(format!("cannot encode a query: {e}")))?;
        Ok(out)
    }

    /// Releases the association (a polite close; errors are ignored: the
    /// work is done by then).
    pub fn release(mut self) {
        if let Some(a) = self.assoc.take() {
            let _ = a.release();
        }
    }

    /// Aborts the association (after a failure).
    pub fn abort(mut self) {
        if let Some(a) = self.assoc.take() {
            let _ = a.abort();
        }
    }

    /// C-ECHO: the node answers on this association.
    pub fn echo(&mut self) -> Result<(), NetError> {
        let (pc, _) = self
            .context_for(VERIFICATION)
            .ok_or_else(|| NetError::NotOffered("verification (C-ECHO)".into()))?;
        let id = self.message_id();
        self.send(pc, request(VERIFICATION, field::C_ECHO_RQ, id, None), None)?;
        let rsp = self.read_command()?;
        if rsp.field() != field::C_ECHO_RSP {
            return Err(NetError::Protocol(
                "the answer to C-ECHO was not a C-ECHO-RSP".into(),
            ));
        }
        match rsp.status() {
            Some(0) => Ok(()),
            Some(s) => Err(NetError::Failure {
                service: "C-ECHO",
                status: s,
                meaning: super::status_meaning(s),
            }),
            None => Err(NetError::Protocol("C-ECHO-RSP without a status".into())),
        }
    }
}

fn pdu_name(p: &Pdu) -> &'static str {
    match p {
        Pdu::AssociationRQ(_) => "A-ASSOCIATE-RQ",
        Pdu::AssociationAC(_) => "A-ASSOCIATE-AC",
        Pdu::AssociationRJ(_) => "A-ASSOCIATE-RJ",
        Pdu::ReleaseRP => "A-RELEASE-RP",
        _ => "unknown",
    }
}

fn trim(s: &str) -> &str {
    s.trim_end_matches(['\0', ' '])
}

/// A request command set: SOP class, field, message id, and whether a data
/// set follows. `extra` adds elements (priority, move destination).
pub fn request(
    sop_class: &str,
    field: u16,
    id: u16,
    extra: Option<Vec<DataElement<InMemDicomObject>>>,
) -> InMemDicomObject {
    let has_data = matches!(
        field,
        field::C_FIND_RQ | field::C_GET_RQ | field::C_MOVE_RQ | field::C_STORE_RQ
    );
    let mut elems = vec![
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(uid_pad(sop_class)),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [field])),
        DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [id])),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [if has_data { DATA_SET } else { NO_DATA_SET }]),
        ),
    ];
    if has_data {
        // Priority: medium.
        elems.push(DataElement::new(
            tags::PRIORITY,
            VR::US,
            dicom_value!(U16, [0]),
        ));
    }
    elems.extend(extra.unwrap_or_default());
    InMemDicomObject::command_from_element_iter(elems)
}

/// C-CANCEL-RQ for a request.
pub fn cancel(id: u16) -> InMemDicomObject {
    InMemDicomObject::command_from_element_iter([
        DataElement::new(
            tags::COMMAND_FIELD,
            VR::US,
            dicom_value!(U16, [field::C_CANCEL_RQ]),
        ),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            dicom_value!(U16, [id]),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [NO_DATA_SET]),
        ),
    ])
}

/// C-STORE-RSP for a received C-STORE-RQ.
pub fn store_response(rq: &Command, status: u16) -> InMemDicomObject {
    response(rq, field::C_STORE_RSP, status)
}

/// The response (`field`) to a received request, without a data set.
pub fn response(rq: &Command, field: u16, status: u16) -> InMemDicomObject {
    let id = rq.u16(tags::MESSAGE_ID).unwrap_or(0);
    let class = rq.text(tags::AFFECTED_SOP_CLASS_UID).unwrap_or_default();
    let inst = rq.text(tags::AFFECTED_SOP_INSTANCE_UID).unwrap_or_default();
    let mut elems = vec![
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(uid_pad(&class)),
        ),
        DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [field])),
        DataElement::new(
            tags::MESSAGE_ID_BEING_RESPONDED_TO,
            VR::US,
            dicom_value!(U16, [id]),
        ),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            dicom_value!(U16, [NO_DATA_SET]),
        ),
        DataElement::new(tags::STATUS, VR::US, dicom_value!(U16, [status])),
    ];
    if !inst.is_empty() {
        elems.push(DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(uid_pad(&inst)),
        ));
    }
    InMemDicomObject::command_from_element_iter(elems)
}

/// UIDs are padded to even length with a NUL.
pub fn uid_pad(uid: &str) -> String {
    if uid.len() % 2 == 1 {
        format!("{uid}\0")
    } else {
        uid.to_string()
    }
}
