//! Files and folders that hold PHI (the workspace database, exports in
//! progress, thumbnails, caches) are created owner-only whatever the umask
//! (DECISIONS 34): folders 0700, files 0600.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` and any missing parents; each folder created here is
/// owner-only (existing ones are left as they are).
pub fn create_dir_all(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(()); // one stat for the common case (every file of a series)
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // The mode above is filtered by the umask; make it exact for the leaf.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Creates a new owner-only file with `bytes` (fails if it exists).
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

/// Creates a new, empty owner-only file to write into (fails if it exists).
pub fn create_new(path: &Path) -> std::io::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

/// Writes `bytes` to `path` (replacing it), owner-only.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)
}

/// Opens `path` for writing (replacing it), owner-only, to be filled as a
/// stream (retrieved images).
pub fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

/// Creates `path` as an empty owner-only file if it does not exist, and
/// makes an existing one owner-only (SQLite gives the -wal and -shm files
/// the database file's mode).
pub fn touch(path: &Path) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn files_and_folders_are_owner_only_whatever_the_umask() {
        let old = unsafe { libc::umask(0o000) };
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir_all(&dir).unwrap();
        write(&dir.join("f"), b"x").unwrap();
        write_new(&dir.join("g"), b"x").unwrap();
        touch(&dir.join("h")).unwrap();
        unsafe { libc::umask(old) };
        for d in [tmp.path().join("a"), dir.clone()] {
            assert_eq!(
                std::fs::metadata(&d).unwrap().mode() & 0o777,
                0o700,
                "{d:?}"
            );
        }
        for f in ["f", "g", "h"] {
            let m = std::fs::metadata(dir.join(f)).unwrap().mode() & 0o777;
            assert_eq!(m, 0o600, "{f}");
        }
        assert!(write_new(&dir.join("g"), b"y").is_err(), "never replaces");
    }
}
