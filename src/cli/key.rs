//! `pacs-cohort key`: share the workspace key (pseudonym linkage) with a team.

use super::exit;
use pacs_cohort::engine::keyfile;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
pub enum KeyCmd {
    /// Prints the key's fingerprint (recorded in export manifests).
    Fingerprint,
    /// Writes the key to a new file (owner-only). Keep it secret: with it,
    /// pseudonyms can be recomputed from identifiers.
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Installs a key file as this workspace's key.
    Import {
        file: PathBuf,
        /// Replace a different existing key (breaks linkage with earlier exports).
        #[arg(long)]
        replace: bool,
    },
}

pub fn run(db: &Path, cmd: KeyCmd) -> anyhow::Result<i32> {
    match cmd {
        KeyCmd::Fingerprint => {
            let key = keyfile::load_or_create(db)?;
            println!("{}", keyfile::fingerprint(&key));
        }
        KeyCmd::Export { out } => {
            let key = keyfile::load_or_create(db)?;
            keyfile::export_key(&key, &out)?;
            println!(
                "wrote the key ({}) to {} (owner-only; keep it secret)",
                keyfile::fingerprint(&key),
                out.display()
            );
        }
        KeyCmd::Import { file, replace } => {
            let key = keyfile::import_key(db, &file, replace)?;
            println!("workspace key is now {}", keyfile::fingerprint(&key));
        }
    }
    Ok(exit::OK)
}
