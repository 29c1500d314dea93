//! The per-file status: every file under a root ends with exactly one.

use serde::{Deserialize, Serialize};

/// What happened to one file under an indexed root. The set is open: new
/// statuses may be added, so consumers should treat unknown ones as "needs
/// attention". The string forms are stored in SQLite and printed by the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    /// Header parsed; this file is the canonical copy of its instance.
    Ok,
    /// Not a DICOM file (no DICM marker and no plausible raw data set).
    NotDicom,
    /// Could not be read or parsed (permissions, I/O errors, hostile or
    /// corrupt structure, unsupported encoding).
    Unreadable,
    /// The file ends before the data it declares (header or pixel data).
    Truncated,
    /// Parsed, but a required UID (patient ID is allowed to be empty;
    /// study, series, SOP instance UIDs are not) is missing.
    MissingUid,
    /// Another file holds the same SOP Instance UID and is the canonical copy.
    Duplicate,
    /// A DICOMDIR (media directory), not an instance.
    Dicomdir,
    /// A symbolic link to a folder; not followed, so loops cannot happen.
    SymlinkDir,
    /// Waiting to be re-read: its instance's canonical copy vanished and this
    /// duplicate will be promoted by the next run.
    Pending,
}

impl FileStatus {
    /// Every status, in display order.
    pub const ALL: [FileStatus; 9] = [
        FileStatus::Ok,
        FileStatus::NotDicom,
        FileStatus::Unreadable,
        FileStatus::Truncated,
        FileStatus::MissingUid,
        FileStatus::Duplicate,
        FileStatus::Dicomdir,
        FileStatus::SymlinkDir,
        FileStatus::Pending,
    ];

    /// The stable string form (stored in the database, printed by the CLI).
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Ok => "ok",
            FileStatus::NotDicom => "not-dicom",
            FileStatus::Unreadable => "unreadable",
            FileStatus::Truncated => "truncated",
            FileStatus::MissingUid => "missing-uid",
            FileStatus::Duplicate => "duplicate",
            FileStatus::Dicomdir => "dicomdir",
            FileStatus::SymlinkDir => "symlink-dir",
            FileStatus::Pending => "pending",
        }
    }

    /// Parses the string form; `None` for an unknown status.
    pub fn parse(s: &str) -> Option<FileStatus> {
        FileStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for FileStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip() {
        for st in FileStatus::ALL {
            assert_eq!(FileStatus::parse(st.as_str()), Some(st));
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
        }
        assert_eq!(FileStatus::parse("bogus"), None);
    }
}
