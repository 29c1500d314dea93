//! Reading one file's header, never its pixels, with bounded work.

use super::extract::{extract, RawSource};
use super::prescan::{self, DataSetEncoding, Framing, Layout, PrescanError, RawValue};
use crate::model::{FileStatus, HeaderRecord};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::text::SpecificCharacterSet;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::entries;
use std::io::Read;
use std::path::Path;

/// The first read of every file; most headers fit.
const FIRST_READ: usize = 16 * 1024;
/// Headers larger than this are refused (a memory bound per file).
pub const MAX_HEADER_BYTES: usize = 64 * 1024 * 1024;
/// Deflated data sets are inflated at most to this size.
const MAX_INFLATED_BYTES: u64 = 256 * 1024 * 1024;

/// What reading one file's header produced.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadOutcome {
    /// A DICOM instance with its indexed attributes.
    Instance(Box<HeaderRecord>),
    /// A problem file: its status and a one-line reason without PHI.
    Problem(FileStatus, String),
}

impl ReadOutcome {
    fn problem(st: FileStatus, reason: impl Into<String>) -> Self {
        ReadOutcome::Problem(st, reason.into())
    }
}

/// Reads the header of the file at `path`: pre-scans the first bytes,
/// reads more only while the header continues, then parses exactly the
/// header with dicom-object. Never panics on file content; never reads
/// Pixel Data values.
pub fn read_header(path: &Path) -> ReadOutcome {
    read_with(path, Parser::Raw)
}

/// Reads the header of a whole file held in memory (a generated object, a
/// network payload). Same checks and outcome as [`read_header`].
pub fn read_header_bytes(bytes: &[u8]) -> ReadOutcome {
    let layout = match prescan::prescan(bytes, bytes.len()) {
        Ok(l) => l,
        Err(PrescanError::NotDicom(r)) => return ReadOutcome::problem(FileStatus::NotDicom, r),
        Err(PrescanError::Truncated(r)) => return ReadOutcome::problem(FileStatus::Truncated, r),
        Err(PrescanError::NeedMore(_)) => {
            return ReadOutcome::problem(FileStatus::Truncated, "data ends early")
        }
        Err(PrescanError::Malformed(r)) => return ReadOutcome::problem(FileStatus::Unreadable, r),
    };
    if layout.encoding == DataSetEncoding::Deflated {
        return inflate_and_read(bytes, &layout, Parser::Raw);
    }
    if let Some(px) = layout.pixel_data {
        if px.declared_len.is_some_and(|d| d > px.available) {
            return ReadOutcome::problem(FileStatus::Truncated, "pixel data ends early");
        }
    }
    from_raw(
        bytes,
        &layout.values,
        layout.encoding == DataSetEncoding::ExplicitBig,
        transfer_syntax_of(&layout),
        layout.media_storage_class.as_deref(),
    )
}

/// Reads a whole object (pixels included), only after the bounded
/// pre-scan accepted the file: dicom-object alone is not safe on hostile
/// files. `Err` says why the file cannot be used.
pub fn read_whole(path: &Path) -> Result<dicom_object::DefaultDicomObject, String> {
    if let ReadOutcome::Problem(st, reason) = read_header(path) {
        return Err(format!("{st}: {reason}"));
    }
    OpenFileOptions::new()
        .open_file(path)
        .map_err(|e| format!("cannot read: {e}"))
}

/// Like [`read_header`], but the header is parsed by dicom-object instead
/// of being read from the pre-scanned bytes. Slower; kept as the reference
/// the fast path is tested against.
pub fn read_header_with_dicom_object(path: &Path) -> ReadOutcome {
    read_with(path, Parser::DicomObject)
}

/// Who turns the header bytes into a record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parser {
    /// The values the pre-scan located, decoded directly.
    Raw,
    /// A full dicom-object parse of the header.
    DicomObject,
}

fn read_with(path: &Path, parser: Parser) -> ReadOutcome {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return ReadOutcome::problem(FileStatus::Unreadable, io_reason("cannot open", &e))
        }
    };
    let size = match file.metadata() {
        Ok(m) => m.len() as usize,
        Err(e) => {
            return ReadOutcome::problem(FileStatus::Unreadable, io_reason("cannot stat", &e))
        }
    };
    let mut buf = Vec::with_capacity(FIRST_READ.min(size));
    if let Err(e) = fill_to(&mut file, &mut buf, FIRST_READ.min(size)) {
        return ReadOutcome::problem(FileStatus::Unreadable, io_reason("cannot read", &e));
    }
    let mut rounds = 0;
    let layout = loop {
        rounds += 1;
        if rounds > 64 {
            return ReadOutcome::problem(FileStatus::Unreadable, "header could not be delimited");
        }
        match prescan::prescan(&buf, size) {
            Ok(layout) if layout.header_end <= buf.len() => break layout,
            Ok(layout) => {
                if let Err(o) = grow(&mut file, &mut buf, layout.header_end, size) {
                    return o;
                }
            }
            Err(PrescanError::NeedMore(n)) => {
                let want = n.max(buf.len().saturating_mul(2)).min(size);
                if let Err(o) = grow(&mut file, &mut buf, want, size) {
                    return o;
                }
            }
            Err(PrescanError::NotDicom(r)) => return ReadOutcome::problem(FileStatus::NotDicom, r),
            Err(PrescanError::Truncated(r)) => {
                return ReadOutcome::problem(FileStatus::Truncated, r)
            }
            Err(PrescanError::Malformed(r)) => {
                return ReadOutcome::problem(FileStatus::Unreadable, r)
            }
        }
    };
    if layout
        .transfer_syntax
        .as_deref()
        .map(DataSetEncoding::from_transfer_syntax)
        == Some(DataSetEncoding::Deflated)
    {
        return read_deflated(&mut file, buf, size, &layout, parser);
    }
    if let Some(px) = layout.pixel_data {
        if let Some(declared) = px.declared_len {
            if declared > px.available {
                return ReadOutcome::problem(
                    FileStatus::Truncated,
                    format!(
                        "pixel data declares {declared} bytes but the file ends after {}",
                        px.available
                    ),
                );
            }
        }
    }
    match parser {
        Parser::Raw => from_raw(
            &buf,
            &layout.values,
            layout.encoding == DataSetEncoding::ExplicitBig,
            transfer_syntax_of(&layout),
            layout.media_storage_class.as_deref(),
        ),
        Parser::DicomObject => parse(&buf, &layout),
    }
}

/// The transfer syntax to record: from the meta, or the one guessed for a
/// raw data set.
fn transfer_syntax_of(layout: &Layout) -> Option<String> {
    match layout.framing {
        Framing::RawDataSet { explicit_vr: true } => {
            Some(entries::EXPLICIT_VR_LITTLE_ENDIAN.uid().to_string())
        }
        Framing::RawDataSet { explicit_vr: false } => {
            Some(entries::IMPLICIT_VR_LITTLE_ENDIAN.uid().to_string())
        }
        _ => layout.transfer_syntax.clone(),
    }
}

/// Builds the record from the values the pre-scan located.
fn from_raw(
    bytes: &[u8],
    values: &[RawValue],
    big_endian: bool,
    ts: Option<String>,
    media_class: Option<&str>,
) -> ReadOutcome {
    if media_class == Some(uids::MEDIA_STORAGE_DIRECTORY_STORAGE)
        || values
            .iter()
            .any(|v| v.tag == tags::DIRECTORY_RECORD_SEQUENCE)
    {
        return dicomdir();
    }
    let charset = values
        .iter()
        .find(|v| v.tag == tags::SPECIFIC_CHARACTER_SET)
        .and_then(|v| bytes.get(v.start..v.start + v.len))
        .map(|b| {
            String::from_utf8_lossy(b)
                .split('\\')
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .and_then(|term| {
            if term.is_empty() {
                None
            } else {
                SpecificCharacterSet::from_code(&term)
            }
        })
        .unwrap_or_default();
    let src = RawSource {
        bytes,
        values,
        big_endian,
        charset,
    };
    finish_record(extract(&src, ts))
}

fn dicomdir() -> ReadOutcome {
    ReadOutcome::problem(
        FileStatus::Dicomdir,
        "media directory (DICOMDIR); its folder is walked instead",
    )
}

fn finish_record(r: Result<crate::model::HeaderRecord, &'static str>) -> ReadOutcome {
    match r {
        Ok(rec) => ReadOutcome::Instance(Box::new(rec)),
        Err(missing) => ReadOutcome::problem(
            FileStatus::MissingUid,
            format!("required attribute {missing} is missing or empty"),
        ),
    }
}

fn read_deflated(
    file: &mut std::fs::File,
    mut buf: Vec<u8>,
    size: usize,
    layout: &Layout,
    parser: Parser,
) -> ReadOutcome {
    if size > MAX_HEADER_BYTES * 4 {
        return ReadOutcome::problem(
            FileStatus::Unreadable,
            format!("deflated file of {size} bytes is larger than the supported 256 MiB"),
        );
    }
    if let Err(o) = grow(file, &mut buf, size, size) {
        return o;
    }
    inflate_and_read(&buf, layout, parser)
}

/// Inflates a deflated data set (bounded) and reads its header.
fn inflate_and_read(buf: &[u8], layout: &Layout, parser: Parser) -> ReadOutcome {
    let mut inflated = Vec::new();
    let decoder = flate2::read::DeflateDecoder::new(&buf[layout.data_set_start..]);
    if let Err(e) = decoder
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut inflated)
    {
        return ReadOutcome::problem(
            FileStatus::Unreadable,
            format!("deflated data set cannot be inflated: {e}"),
        );
    }
    if inflated.len() as u64 > MAX_INFLATED_BYTES {
        return ReadOutcome::problem(
            FileStatus::Unreadable,
            "deflated data set inflates beyond 256 MiB",
        );
    }
    let (header_end, values) = match prescan::prescan_data_set(&inflated) {
        Ok(found) => found,
        Err(PrescanError::Truncated(r)) => return ReadOutcome::problem(FileStatus::Truncated, r),
        Err(PrescanError::NotDicom(r)) | Err(PrescanError::Malformed(r)) => {
            return ReadOutcome::problem(FileStatus::Unreadable, r)
        }
        Err(PrescanError::NeedMore(_)) => {
            return ReadOutcome::problem(FileStatus::Truncated, "deflated data set ends early")
        }
    };
    // Parse the inflated data set directly instead of letting dicom-object
    // inflate the file a second time.
    if parser == Parser::Raw {
        return from_raw(
            &inflated,
            &values,
            false,
            layout.transfer_syntax.clone(),
            layout.media_storage_class.as_deref(),
        );
    }
    let ts = entries::EXPLICIT_VR_LITTLE_ENDIAN.erased();
    match InMemDicomObject::read_dataset_with_ts(&inflated[..header_end], &ts) {
        Ok(obj) => finish(obj, layout.transfer_syntax.clone(), None),
        Err(e) => parse_failure(&e.to_string()),
    }
}

/// Hands the header bytes of `buf` to dicom-object.
fn parse(buf: &[u8], layout: &Layout) -> ReadOutcome {
    let header = &buf[..layout.header_end];
    let (obj, ts, media_class) = match layout.framing {
        Framing::Preamble | Framing::NoPreamble => {
            // Include the Pixel Data element header: `read_until` then stops
            // on the tag rather than at end of input, which would cost an
            // error value with a captured backtrace per file (snafu).
            let with_tag = &buf[..buf.len().min(layout.header_end + 12)];
            match OpenFileOptions::new()
                .read_until(tags::PIXEL_DATA)
                .from_reader(with_tag)
            {
                Ok(f) => {
                    let ts = f
                        .meta()
                        .transfer_syntax()
                        .trim_end_matches('\0')
                        .to_string();
                    let class = f
                        .meta()
                        .media_storage_sop_class_uid()
                        .trim_end_matches('\0')
                        .to_string();
                    (f.into_inner(), Some(ts), Some(class))
                }
                Err(e) => return parse_failure(&e.to_string()),
            }
        }
        Framing::RawDataSet { explicit_vr } => {
            let ts = if explicit_vr {
                entries::EXPLICIT_VR_LITTLE_ENDIAN.erased()
            } else {
                entries::IMPLICIT_VR_LITTLE_ENDIAN.erased()
            };
            match InMemDicomObject::read_dataset_with_ts(header, &ts) {
                Ok(obj) => (obj, Some(ts.uid().to_string()), None),
                Err(e) => return parse_failure(&e.to_string()),
            }
        }
    };
    finish(obj, ts, media_class)
}

/// Classifies a parsed header: DICOMDIR, instance, or missing UID.
fn finish(obj: InMemDicomObject, ts: Option<String>, media_class: Option<String>) -> ReadOutcome {
    if media_class.as_deref() == Some(uids::MEDIA_STORAGE_DIRECTORY_STORAGE)
        || obj.get(tags::DIRECTORY_RECORD_SEQUENCE).is_some()
    {
        return dicomdir();
    }
    finish_record(extract(&obj, ts))
}

fn parse_failure(msg: &str) -> ReadOutcome {
    // Display only: Debug would render a captured backtrace (snafu).
    let first_line = msg.lines().next().unwrap_or("parse error");
    let status = if msg.contains("NotDicom") || msg.contains("not DICOM") {
        FileStatus::NotDicom
    } else {
        FileStatus::Unreadable
    };
    ReadOutcome::problem(status, format!("DICOM parser: {first_line}"))
}

fn grow(
    file: &mut std::fs::File,
    buf: &mut Vec<u8>,
    want: usize,
    size: usize,
) -> Result<(), ReadOutcome> {
    if want > MAX_HEADER_BYTES {
        return Err(ReadOutcome::problem(
            FileStatus::Unreadable,
            "header larger than 64 MiB before pixel data; refused to bound memory",
        ));
    }
    if want <= buf.len() {
        return Ok(());
    }
    let before = buf.len();
    fill_to(file, buf, want.min(size))
        .map_err(|e| ReadOutcome::problem(FileStatus::Unreadable, io_reason("cannot read", &e)))?;
    if buf.len() == before {
        return Err(ReadOutcome::problem(
            FileStatus::Truncated,
            "file shrank while being read",
        ));
    }
    Ok(())
}

/// Reads until `buf` holds `want` bytes (or the file ends).
fn fill_to(file: &mut std::fs::File, buf: &mut Vec<u8>, want: usize) -> std::io::Result<()> {
    let need = want.saturating_sub(buf.len());
    if need == 0 {
        return Ok(());
    }
    file.take(need as u64).read_to_end(buf)?;
    Ok(())
}

fn io_reason(what: &str, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => format!("{what}: permission denied"),
        std::io::ErrorKind::NotFound => format!("{what}: file vanished or broken link"),
        _ => format!("{what}: {e}"),
    }
}
