//! Talking to a PACS: DIMSE (our own message layer on dicom-ul's sync
//! associations) and DICOMweb (blocking HTTP with ureq). Protocol only: no
//! index, no workspace; `engine::pacs` drives these and writes the results.
//!
//! Nothing here logs: requests and answers carry PHI.

pub mod assoc;
pub mod cmove;
pub mod dimse;
pub mod find;
pub mod get;
pub mod http;
pub mod qido;
pub mod records;
pub mod scp;
pub mod wado;

use std::time::Duration;

/// Why a request to a PACS failed, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot reach the PACS at {addr} ({detail}); check the host and port, and that the PACS is running and lets this machine in")]
    Unreachable { addr: String, detail: String },
    #[error("the PACS at {addr} rejected the association ({reason}){advice}")]
    Rejected {
        addr: String,
        reason: String,
        advice: &'static str,
    },
    #[error("the PACS aborted the association{during}; this usually means it does not know our calling AE title '{calling_ae}' (ask its administrator to add it with this machine's address) or refused the request")]
    Aborted { calling_ae: String, during: String },
    #[error(
        "the PACS did not answer within {0} s; check the network, or raise the timeout (--timeout)"
    )]
    Timeout(u64),
    #[error("the PACS accepted the association but not {0}; it may not offer this service")]
    NotOffered(String),
    #[error("the PACS answered {service} with failure status 0x{status:04X} ({meaning})")]
    Failure {
        service: &'static str,
        status: u16,
        meaning: &'static str,
    },
    #[error("the PACS sent a malformed or unexpected answer ({0}); report this with the PACS's make and version")]
    Protocol(String),
    #[error("the DICOMweb server answered HTTP {status} for {what}{advice}")]
    Http {
        status: u16,
        what: String,
        advice: &'static str,
    },
    #[error("cannot write a retrieved file ({detail}); check the disk space and permissions of the workspace folder")]
    Io { detail: String },
    #[error("cannot listen for C-MOVE deliveries on port {port} ({detail}); another program may be using it: stop it, or pick another port (--scp-port) and change our entry on the PACS to match")]
    ScpPort { port: u16, detail: String },
    #[error("cancelled")]
    Cancelled,
}

impl NetError {
    /// Worth trying again later (a transient network condition).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            NetError::Unreachable { .. } | NetError::Timeout(_) | NetError::Aborted { .. }
        ) || matches!(self, NetError::Http { status, .. } if *status >= 500 || *status == 429)
    }
}

/// How long to wait on the network.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// Longest silence while waiting for an answer.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(60),
        }
    }
}

/// The meaning of a DIMSE status (PS3.7 Annex C and the Q/R service
/// classes of PS3.4), for messages.
pub fn status_meaning(status: u16) -> &'static str {
    match status {
        0x0000 => "success",
        0xFF00 | 0xFF01 => "pending",
        0xFE00 => "cancelled (the PACS stopped early, often at its result limit)",
        0xA700..=0xA702 => "out of resources",
        0xA801 => "move destination unknown: our AE title is not configured on the PACS",
        0xA900 => "identifier does not match the SOP class",
        0xB000 => "some sub-operations failed",
        0x0122 => "SOP class not supported",
        0x0124 => "not authorised",
        0xC000..=0xCFFF => "unable to process",
        0x0110 => "processing failure",
        _ => "failure",
    }
}
