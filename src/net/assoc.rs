//! Opening a DIMSE association to a node, with every way it can fail
//! turned into a [`NetError`] that says what to do.

use super::{NetError, Timeouts};
use dicom_ul::association::client::ClientAssociationOptions;
use dicom_ul::association::Error as UlError;
use dicom_ul::pdu::{AssociationRJServiceUserReason as UserReason, AssociationRJSource};
use std::net::TcpStream;

/// What a DIMSE peer needs to be reached.
#[derive(Debug, Clone)]
pub struct Peer {
    pub host: String,
    pub port: u16,
    pub called_ae: String,
    pub calling_ae: String,
    pub timeouts: Timeouts,
}

impl Peer {
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A presentation context to propose: abstract syntax, transfer syntaxes.
pub type Proposal = (String, Vec<String>);

/// The largest PDU we accept. Bigger PDUs mean fewer reads for images;
/// dicom-ul's reader allocates at most this much per PDU.
pub const MAX_PDU: u32 = 1 << 20;

/// A connected association: ours (we requested it) or the PACS's (it
/// connected to our Storage SCP for C-MOVE). The DIMSE layer reads and
/// writes both the same way.
pub enum Association {
    Client(dicom_ul::association::client::ClientAssociation<TcpStream>),
    Server(dicom_ul::association::server::ServerAssociation<TcpStream>),
}

impl Association {
    pub fn presentation_contexts(&self) -> &[dicom_ul::pdu::PresentationContextNegotiated] {
        match self {
            Association::Client(a) => a.presentation_contexts(),
            Association::Server(a) => a.presentation_contexts(),
        }
    }

    /// The largest PDU the other side accepts (0: unlimited).
    pub fn peer_max_pdu_length(&self) -> u32 {
        match self {
            Association::Client(a) => a.acceptor_max_pdu_length(),
            Association::Server(a) => a.requestor_max_pdu_length(),
        }
    }

    pub fn send(&mut self, pdu: &dicom_ul::pdu::Pdu) -> Result<(), UlError> {
        match self {
            Association::Client(a) => a.send(pdu),
            Association::Server(a) => a.send(pdu),
        }
    }

    pub fn receive(&mut self) -> Result<dicom_ul::pdu::Pdu, UlError> {
        match self {
            Association::Client(a) => a.receive(),
            Association::Server(a) => a.receive(),
        }
    }

    /// Releases ours; the PACS's is released by the PACS.
    pub fn release(self) -> Result<(), UlError> {
        match self {
            Association::Client(a) => a.release(),
            Association::Server(a) => a.abort(),
        }
    }

    pub fn abort(self) -> Result<(), UlError> {
        match self {
            Association::Client(a) => a.abort(),
            Association::Server(a) => a.abort(),
        }
    }
}

/// Opens an association proposing `contexts`; `scp_roles` are the SOP
/// classes for which we also take the SCP role (C-GET's C-STOREs).
pub fn open(
    peer: &Peer,
    contexts: &[Proposal],
    scp_roles: &[String],
) -> Result<Association, NetError> {
    let mut opts = ClientAssociationOptions::new()
        .calling_ae_title(peer.calling_ae.as_str())
        .called_ae_title(peer.called_ae.as_str())
        .max_pdu_length(MAX_PDU)
        .connection_timeout(peer.timeouts.connect)
        .read_timeout(peer.timeouts.read)
        .write_timeout(peer.timeouts.read);
    for (abs, ts) in contexts {
        opts = opts.with_presentation_context(
            abs.as_str(),
            ts.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    for class in scp_roles {
        opts = opts.with_role_selection(class.as_str(), true, true);
    }
    let mut assoc = opts
        .establish(peer.addr().as_str())
        .map_err(|e| map_error(peer, e, "while opening the association"))?;
    // A request is a command PDU then a data PDU: with Nagle's algorithm
    // the second waits for the peer's delayed ACK (~40 ms per query).
    let _ = assoc.inner_stream().set_nodelay(true);
    Ok(Association::Client(assoc))
}

/// Translates a dicom-ul error.
pub fn map_error(peer: &Peer, e: UlError, during: &str) -> NetError {
    let addr = peer.addr();
    match e {
        UlError::ToAddress { source, .. } | UlError::Connect { source, .. } => {
            if is_timeout(&source) {
                NetError::Timeout(peer.timeouts.connect.as_secs())
            } else {
                NetError::Unreachable {
                    addr,
                    detail: source.to_string(),
                }
            }
        }
        UlError::Rejected { association_rj, .. } => {
            let advice = match &association_rj.source {
                AssociationRJSource::ServiceUser(UserReason::CalledAETitleNotRecognized) => {
                    "; the node's AE title is wrong: check it with the PACS administrator and fix it with `pacs-cohort pacs add --replace`"
                }
                AssociationRJSource::ServiceUser(UserReason::CallingAETitleNotRecognized) => {
                    "; the PACS does not know our calling AE title: ask its administrator to add it"
                }
                _ => "; ask the PACS administrator why, or try again later if it is busy",
            };
            NetError::Rejected {
                addr,
                reason: association_rj.source.to_string(),
                advice,
            }
        }
        UlError::Timeout { .. } => NetError::Timeout(peer.timeouts.read.as_secs()),
        UlError::WireRead { source, .. } | UlError::WireSend { source, .. }
            if is_timeout(&source) =>
        {
            NetError::Timeout(peer.timeouts.read.as_secs())
        }
        UlError::Aborted { .. } | UlError::ConnectionClosed { .. } => NetError::Aborted {
            calling_ae: peer.calling_ae.clone(),
            during: format!(" {during}"),
        },
        UlError::ReceivePdu { source, .. } => {
            // A socket read timeout surfaces as an I/O error inside the
            // PDU reader.
            let text = format!("{source:?}");
            if text.contains("WouldBlock") || text.contains("TimedOut") {
                NetError::Timeout(peer.timeouts.read.as_secs())
            } else if text.contains("UnexpectedEof") || text.contains("ConnectionReset") {
                NetError::Aborted {
                    calling_ae: peer.calling_ae.clone(),
                    during: format!(" {during}"),
                }
            } else {
                NetError::Protocol(source.to_string())
            }
        }
        UlError::NoAcceptedPresentationContexts { .. } => {
            NetError::NotOffered("any of the services we proposed".into())
        }
        other => NetError::Protocol(other.to_string()),
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}
