//! PACS nodes as the user configures them, and what harvests and retrievals
//! report. Plain data; no I/O.

use serde::{Deserialize, Serialize};

/// A configured PACS (user data, kept in the workspace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacsNode {
    /// The user's name for it (unique in the workspace).
    pub name: String,
    pub protocol: PacsProtocol,
}

/// How to talk to a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PacsProtocol {
    /// DIMSE over TCP (C-ECHO, C-FIND, C-GET).
    Dimse {
        /// The PACS's AE title (the called AE).
        ae_title: String,
        host: String,
        port: u16,
        /// Our AE title (the calling AE), as configured on the PACS.
        calling_ae: String,
        /// Port of our own Storage SCP (for C-MOVE), if used.
        #[serde(default)]
        scp_port: Option<u16>,
        /// The PACS's C-FIND result limit, if known: a response with this
        /// many matches is treated as truncated and the query split.
        #[serde(default)]
        max_results: Option<u32>,
    },
    /// DICOMweb (QIDO-RS, WADO-RS) under a base URL.
    Web {
        base_url: String,
        #[serde(default)]
        auth: WebAuth,
        /// The server's query result limit, if known: a study query that
        /// returns this many is split (Orthanc, for one, cannot page past
        /// its limit).
        #[serde(default)]
        max_results: Option<u32>,
    },
}

/// HTTP authentication for a DICOMweb node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WebAuth {
    #[default]
    None,
    Basic {
        user: String,
        password: String,
    },
    Bearer {
        token: String,
    },
}

impl PacsNode {
    /// The node's known query result limit.
    pub fn max_results(&self) -> Option<u32> {
        match &self.protocol {
            PacsProtocol::Dimse { max_results, .. } | PacsProtocol::Web { max_results, .. } => {
                *max_results
            }
        }
    }

    /// One line for lists, without secrets.
    pub fn describe(&self) -> String {
        match &self.protocol {
            PacsProtocol::Dimse {
                ae_title,
                host,
                port,
                calling_ae,
                scp_port,
                ..
            } => {
                let scp = scp_port.map(|p| format!(", storage SCP port {p}"));
                format!(
                    "DIMSE {ae_title}@{host}:{port} (calling AE {calling_ae}{})",
                    scp.unwrap_or_default()
                )
            }
            PacsProtocol::Web { base_url, auth, .. } => {
                let a = match auth {
                    WebAuth::None => "",
                    WebAuth::Basic { .. } => ", basic auth",
                    WebAuth::Bearer { .. } => ", bearer token",
                };
                format!("DICOMweb {base_url}{a}")
            }
        }
    }
}

/// How a DIMSE node's images are fetched (a DICOMweb node always uses
/// WADO-RS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetrieveMethod {
    /// C-GET: the images come back on our own association (no routing on
    /// the PACS needed).
    #[default]
    Get,
    /// C-MOVE to our Storage SCP (the node's `scp_port`), which the PACS
    /// must know by our calling AE title.
    Move,
}

/// A harvest's filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarvestQuery {
    /// Inclusive study date bounds, `YYYY-MM-DD`.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Only studies with one of these modalities (empty: all).
    pub modalities: Vec<String>,
}

/// Progress of a harvest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HarvestProgress {
    pub studies: u64,
    pub series: u64,
    /// Queries sent (date splits included).
    pub queries: u64,
}

/// What a harvest did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HarvestReport {
    pub node: String,
    pub studies: u64,
    pub series: u64,
    pub queries: u64,
    /// Date ranges split because a response hit the PACS's result limit.
    pub splits: u64,
    pub cancelled: bool,
}

/// Progress of a retrieval.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetrieveProgress {
    pub series_total: u64,
    pub series_done: u64,
    pub instances: u64,
}

/// What a retrieval did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetrieveReport {
    /// Series of the cohort that are known on a node.
    pub series_total: u64,
    /// Series already complete locally (skipped).
    pub series_skipped: u64,
    pub series_retrieved: u64,
    pub instances: u64,
    /// Series that failed after retries, with the reason (no PHI: UIDs only).
    pub failures: Vec<RetrieveFailure>,
    pub cancelled: bool,
}

/// One series that could not be retrieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetrieveFailure {
    pub series_uid: String,
    pub node: String,
    pub reason: String,
}
