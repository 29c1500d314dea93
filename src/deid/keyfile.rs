//! The workspace key: 32 random bytes in `<database>.key`, created on first
//! use with owner-only permissions, never written into an export.

use super::pseudonym::Key;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Why the key cannot be read or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot create the workspace key ({0}); check that the folder is writable: {1}")]
    Create(String, PathBuf),
    #[error("cannot read the workspace key ({0}): {1}")]
    Read(String, PathBuf),
    #[error("the workspace key file is not 32 bytes (damaged or not a key): {0}")]
    Malformed(PathBuf),
    #[error("the workspace key file can be read by other users; run `chmod 600` on it: {0}")]
    TooOpen(PathBuf),
    #[error("this workspace already has a different key; replacing it breaks linkage with earlier exports (use --replace if that is intended): {0}")]
    Different(PathBuf),
}

/// The key file of a workspace database.
pub fn key_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".key");
    PathBuf::from(s)
}

/// Loads the key, creating it (owner-only) if it does not exist yet.
pub fn load_or_create(db: &Path) -> Result<Key, KeyError> {
    let path = key_path(db);
    if path.exists() {
        return load(&path);
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| KeyError::Create(e.to_string(), path.clone()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&path)
        .map_err(|e| KeyError::Create(e.to_string(), path.clone()))?;
    f.write_all(&bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| KeyError::Create(e.to_string(), path.clone()))?;
    Ok(Key(bytes))
}

fn load(path: &Path) -> Result<Key, KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| KeyError::Read(e.to_string(), path.into()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen(path.into()));
        }
    }
    let bytes = std::fs::read(path).map_err(|e| KeyError::Read(e.to_string(), path.into()))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| KeyError::Malformed(path.into()))?;
    Ok(Key(arr))
}

/// Writes the key to `dest` (owner-only; never overwrites), so a team can
/// share pseudonym linkage across machines.
pub fn export_key(key: &Key, dest: &Path) -> Result<(), KeyError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(dest)
        .map_err(|e| KeyError::Create(e.to_string(), dest.into()))?;
    f.write_all(&key.0)
        .and_then(|_| f.sync_all())
        .map_err(|e| KeyError::Create(e.to_string(), dest.into()))
}

/// Installs a key file as the workspace key. Refuses to replace a
/// different existing key unless `replace` (that breaks linkage with every
/// earlier export).
pub fn import_key(db: &Path, source: &Path, replace: bool) -> Result<Key, KeyError> {
    let key = load(source)?;
    let path = key_path(db);
    if path.exists() {
        let current = load(&path)?;
        if current.0 == key.0 {
            return Ok(key);
        }
        if !replace {
            return Err(KeyError::Different(path));
        }
        std::fs::remove_file(&path).map_err(|e| KeyError::Create(e.to_string(), path.clone()))?;
    }
    export_key(&key, &path)?;
    Ok(key)
}

/// A fingerprint that identifies the key without revealing it (recorded in
/// manifests): the first 16 hex digits of SHA-256 of the key.
pub fn fingerprint(key: &Key) -> String {
    let d = Sha256::digest(key.0);
    super::pseudonym::hex(&d[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_owner_only_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ws.db");
        let k1 = load_or_create(&db).unwrap();
        let k2 = load_or_create(&db).unwrap();
        assert_eq!(k1.0, k2.0);
        assert_ne!(k1.0, [0u8; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path(&db))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(key_path(&db), std::fs::Permissions::from_mode(0o644))
                .unwrap();
            assert!(matches!(load_or_create(&db), Err(KeyError::TooOpen(_))));
        }
        assert_eq!(fingerprint(&k1).len(), 16);
        // Export, import elsewhere: same key, same pseudonyms.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(key_path(&db), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        let shared = dir.path().join("team.key");
        export_key(&k1, &shared).unwrap();
        assert!(export_key(&k1, &shared).is_err(), "never overwrites");
        let other = dir.path().join("other.db");
        assert_eq!(import_key(&other, &shared, false).unwrap().0, k1.0);
        assert_eq!(load_or_create(&other).unwrap().0, k1.0);
        let third = dir.path().join("third.db");
        load_or_create(&third).unwrap();
        assert!(matches!(
            import_key(&third, &shared, false),
            Err(KeyError::Different(_))
        ));
        assert_eq!(import_key(&third, &shared, true).unwrap().0, k1.0);
        assert!(
            !format!("{k1:?}").contains(&k1.0[0].to_string()) || format!("{k1:?}") == "Key(..)"
        );
    }
}
