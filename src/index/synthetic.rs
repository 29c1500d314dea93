//! A large synthetic index written straight into SQLite (DECISIONS 12):
//! the generator's objects go through the real header reader and the real
//! writer, without a million files on disk. For benchmarks.

use super::IndexError;
use crate::dicom::read_header_bytes;
use crate::model::LevelCounts;
use crate::store::{self, path_bytes, WriteItem, Writer};
use crate::synth::{generate_into, SynthOptions};
use std::path::{Path, PathBuf};

/// Builds the index of the archive `opts` describes under a virtual root
/// `/synthetic/seed-<seed>`. Returns the counts per level of the whole index.
pub fn build_synthetic_index(db: &Path, opts: &SynthOptions) -> Result<LevelCounts, IndexError> {
    let mut writer = Writer::open(db)?;
    let root = PathBuf::from(format!("/synthetic/seed-{}", opts.seed));
    let root_id = writer.ensure_root(&root)?;
    let mut batch: Vec<WriteItem> = Vec::with_capacity(4096);
    let mut failure: Option<IndexError> = None;
    let result = generate_into(opts, &mut |rel, bytes| {
        if failure.is_some() {
            return;
        }
        batch.push(WriteItem {
            root_id,
            rel_path: path_bytes(rel),
            size_bytes: bytes.len() as u64,
            mtime_ns: 0,
            known: false,
            outcome: read_header_bytes(bytes),
        });
        if batch.len() >= 4096 {
            if let Err(e) = writer.apply(&batch) {
                failure = Some(e.into());
            }
            batch.clear();
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    result.map_err(|e| IndexError::Threads(e.to_string()))?;
    writer.apply(&batch)?;
    writer.refresh_derived()?;
    Ok(store::level_counts(writer.conn(), writer.path())?)
}
