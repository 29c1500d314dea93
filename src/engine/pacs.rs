//! PACS nodes for the CLI and GUI: configure, verify (echo), harvest
//! metadata into the index, retrieve a cohort into the workspace cache.

use super::{job, Engine, EngineError};
use crate::cancel::CancelToken;
use crate::model::{
    HarvestProgress, HarvestQuery, HarvestReport, PacsNode, PacsProtocol, RetrieveProgress,
    RetrieveReport,
};
use crate::net::assoc::Peer;
use crate::net::http::Web;
use crate::net::{NetError, Timeouts};
use crate::store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod harvest;
mod retrieve;

pub use retrieve::RetrieveOptions;

/// The folder retrieved files land in: beside the workspace database,
/// owner-only (DECISIONS 34).
pub fn retrieve_cache_dir(db: &Path) -> PathBuf {
    db.parent().unwrap_or(Path::new(".")).join("retrieved")
}

impl Engine {
    /// Adds a node (or replaces one of that name with `replace`).
    pub fn pacs_add(&self, node: &PacsNode, replace: bool) -> Result<(), EngineError> {
        validate(node)?;
        let conn = store::open_rw(&self.db)?;
        if !store::pacs::add_node(&conn, &self.db, node, replace)? {
            return Err(EngineError::Pacs(format!(
                "a PACS node named '{}' exists already; pick another name or pass --replace",
                node.name
            )));
        }
        Ok(())
    }

    /// Every configured node.
    pub fn pacs_nodes(&self) -> Result<Vec<PacsNode>, EngineError> {
        let conn = store::open_rw(&self.db)?;
        Ok(store::pacs::nodes(&conn, &self.db)?)
    }

    /// One node by name.
    pub fn pacs_node(&self, name: &str) -> Result<PacsNode, EngineError> {
        let conn = store::open_rw(&self.db)?;
        store::pacs::node(&conn, &self.db, name)?.ok_or_else(|| not_found(name))
    }

    /// Removes a node's settings (what was harvested from it stays).
    pub fn pacs_remove(&self, name: &str) -> Result<(), EngineError> {
        let conn = store::open_rw(&self.db)?;
        if store::pacs::remove_node(&conn, &self.db, name)? {
            Ok(())
        } else {
            Err(not_found(name))
        }
    }

    /// Series known on a node, of which retrieved, and studies known on a
    /// node.
    pub fn pacs_counts(&self) -> Result<(u64, u64, u64), EngineError> {
        let conn = store::open_ro(&self.db)?;
        Ok(store::pacs::remote_counts(&conn, &self.db)?)
    }

    /// Verifies a node: C-ECHO, or a one-result QIDO request. Returns
    /// what was checked.
    pub fn pacs_echo(&self, name: &str, timeouts: Timeouts) -> Result<String, EngineError> {
        let node = self.pacs_node(name)?;
        match &node.protocol {
            PacsProtocol::Dimse { .. } => {
                let peer = peer(&node, timeouts).expect("a DIMSE node");
                let contexts = vec![(
                    crate::net::dimse::VERIFICATION.to_string(),
                    vec![crate::net::dimse::IMPLICIT_LE.to_string()],
                )];
                let assoc = crate::net::assoc::open(&peer, &contexts, &[])?;
                let mut d = crate::net::dimse::Dimse::new(assoc, peer.clone());
                let r = d.echo();
                match r {
                    Ok(()) => d.release(),
                    Err(e) => {
                        d.abort();
                        return Err(e.into());
                    }
                }
                Ok(format!(
                    "C-ECHO to {} at {} answered: success",
                    peer.called_ae,
                    peer.addr()
                ))
            }
            PacsProtocol::Web { base_url, auth, .. } => {
                let web = Web::new(base_url, auth, timeouts);
                web.get(
                    "studies?limit=1",
                    "application/dicom+json",
                    "a QIDO-RS test query",
                )?;
                Ok(format!("QIDO-RS at {base_url} answered"))
            }
        }
    }

    /// Harvests a node's study and series metadata into the index.
    pub fn pacs_harvest(
        &self,
        name: &str,
        q: &HarvestQuery,
        timeouts: Timeouts,
        cancel: &CancelToken,
        on_progress: &mut dyn FnMut(&HarvestProgress),
    ) -> Result<HarvestReport, EngineError> {
        let node = self.pacs_node(name)?;
        harvest::run(&self.db, &node, q, timeouts, cancel, on_progress)
    }

    /// Starts a harvest on a worker thread.
    pub fn spawn_harvest(
        &self,
        name: String,
        q: HarvestQuery,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> job::JobHandle<HarvestProgress, HarvestReport> {
        let engine = self.clone();
        job::spawn("pacs-harvest-job", wake, move |cancel, emit| {
            engine.pacs_harvest(&name, &q, Timeouts::default(), cancel, &mut |p| {
                emit(p.clone())
            })
        })
    }

    /// Retrieves the remote series of a saved cohort.
    pub fn pacs_retrieve(
        &self,
        cohort: &str,
        opts: &RetrieveOptions,
        cancel: &CancelToken,
        on_progress: &mut dyn FnMut(&RetrieveProgress),
    ) -> Result<RetrieveReport, EngineError> {
        let saved = self.cohort(cohort, None)?;
        let rules: Vec<&crate::model::Rule> = saved.spec.rules.iter().collect();
        let compiled = crate::cohort::compile(&saved.spec, &rules);
        let series = {
            let conn = store::open_ro(&self.db)?;
            store::pacs::cohort_remote_series(&conn, &self.db, &compiled)?
        };
        let nodes = self.pacs_nodes()?;
        retrieve::run(&self.db, &nodes, series, opts, cancel, on_progress)
    }

    /// Starts a retrieval on a worker thread.
    pub fn spawn_retrieve(
        &self,
        cohort: String,
        opts: RetrieveOptions,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> job::JobHandle<RetrieveProgress, RetrieveReport> {
        let engine = self.clone();
        job::spawn("pacs-retrieve-job", wake, move |cancel, emit| {
            engine.pacs_retrieve(&cohort, &opts, cancel, &mut |p| emit(p.clone()))
        })
    }
}

fn not_found(name: &str) -> EngineError {
    EngineError::Pacs(format!(
        "no PACS node named '{name}'; `pacs-cohort pacs list` shows the configured ones"
    ))
}

/// The DIMSE peer of a node (None for a DICOMweb node).
pub(crate) fn peer(node: &PacsNode, timeouts: Timeouts) -> Option<Peer> {
    match &node.protocol {
        PacsProtocol::Dimse {
            ae_title,
            host,
            port,
            calling_ae,
            ..
        } => Some(Peer {
            host: host.clone(),
            port: *port,
            called_ae: ae_title.clone(),
            calling_ae: calling_ae.clone(),
            timeouts,
        }),
        PacsProtocol::Web { .. } => None,
    }
}

/// Checks a node's settings before they are stored.
fn validate(node: &PacsNode) -> Result<(), EngineError> {
    let bad = |m: String| Err(EngineError::Pacs(m));
    if node.name.trim().is_empty() {
        return bad("a PACS node needs a name".into());
    }
    match &node.protocol {
        PacsProtocol::Dimse {
            ae_title,
            host,
            port,
            calling_ae,
            ..
        } => {
            for (what, ae) in [("AE title", ae_title), ("calling AE title", calling_ae)] {
                // PS3.5: AE is 1-16 characters of the default repertoire,
                // without backslash or control characters, not all spaces.
                if ae.trim().is_empty()
                    || ae.len() > 16
                    || ae
                        .chars()
                        .any(|c| c == '\\' || c.is_control() || !c.is_ascii())
                {
                    return bad(format!(
                        "the {what} '{ae}' is not valid: use 1 to 16 plain characters without backslash"
                    ));
                }
            }
            if host.trim().is_empty() {
                return bad("a DIMSE node needs a host (--host)".into());
            }
            if *port == 0 {
                return bad("a DIMSE node needs a port (--port)".into());
            }
        }
        PacsProtocol::Web { base_url, .. } => {
            if base_url.starts_with("https://") {
                return bad("this build speaks plain HTTP only (no TLS library is built in); reach the server through an https-terminating proxy on this machine, or ask for TLS support".into());
            }
            if !base_url.starts_with("http://") {
                return bad(format!(
                    "'{base_url}' is not an http:// URL; give the DICOMweb root, e.g. http://pacs:8042/dicom-web"
                ));
            }
        }
    }
    Ok(())
}

impl From<NetError> for EngineError {
    fn from(e: NetError) -> EngineError {
        EngineError::Net(e)
    }
}
