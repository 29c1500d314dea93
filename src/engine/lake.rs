//! Exporting the index as Parquet tables (`crate::lake`).

use super::{CancelToken, Engine, EngineError};
use crate::lake::{self, LakeOptions, LakeReport};
use crate::store;
use sha2::{Digest, Sha256};
use std::path::Path;

impl Engine {
    /// Writes the index into `out` as Parquet tables (row-level: refused
    /// in an aggregate-only workspace).
    pub fn export_index(
        &self,
        out: &Path,
        opts: &LakeOptions,
        cancel: &CancelToken,
    ) -> Result<LakeReport, EngineError> {
        self.ensure_row_level_allowed()?;
        lake::check_site(&opts.site)?;
        let key = crate::deid::keyfile::load_or_create(&self.db)?;
        let conn = store::open_ro(&self.db)?;
        Ok(lake::export(
            &conn,
            &key,
            &self.workspace_fingerprint(&key),
            out,
            opts,
            cancel,
        )?)
    }

    /// Names this workspace's part files: 16 hex digits of SHA-256 over the
    /// key's fingerprint and the database's absolute path (two workspaces
    /// that share a key for linkage still differ).
    fn workspace_fingerprint(&self, key: &crate::deid::pseudonym::Key) -> String {
        let path = std::fs::canonicalize(&self.db).unwrap_or_else(|_| self.db.clone());
        let mut h = Sha256::new();
        h.update(crate::deid::keyfile::fingerprint(key).as_bytes());
        h.update(b"\0");
        h.update(path.as_os_str().as_encoded_bytes());
        crate::deid::pseudonym::hex(&h.finalize()[..8])
    }
}
