//! Reading one file's header, never its pixels, with bounded work.

use super::extract::{extract, RawSource};
use super::prescan::{self, DataSetEncoding, Framing, Layout, PrescanError, RawValue};
use crate::model::{FileStatus, HeaderRecord};
use dicom_core::header::Header;
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::text::SpecificCharacterSet;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{
    DefaultDicomObject, FileMetaTableBuilder, InMemDicomObject, OpenFileOptions, ReadError,
};
use dicom_transfer_syntax_registry::{entries, TransferSyntaxRegistry};
use std::io::{Read, Seek, SeekFrom};
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
    outcome(read_with(path, Parser::Raw))
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
///
/// Files that dicom-object cannot open as Part 10 files but that the
/// pre-scan (and so the index) accepts are read as a bare data set with
/// the transfer syntax the pre-scan detected, and get a new file meta
/// group: raw data sets without a meta group, and meta groups without a
/// (valid) group length.
pub fn read_whole(path: &Path) -> Result<DefaultDicomObject, String> {
    let layout = match read_with(path, Parser::Raw) {
        Ok((layout, ReadOutcome::Instance(_))) => layout,
        Ok((_, refused)) | Err(refused) => return Err(refusal(refused)),
    };
    let has_meta = matches!(layout.framing, Framing::Preamble | Framing::NoPreamble);
    if has_meta && layout.meta_group_length_valid {
        match OpenFileOptions::new().open_file(path) {
            Ok(obj) => return Ok(obj),
            // A meta group dicom-object rejects (an overlong AE title or
            // version name, ...): rebuild it like a missing one.
            Err(e @ ReadError::ParseMetaDataSet { .. }) => {
                return read_data_set(path, &layout)
                    .map_err(|again| format!("cannot read: {e}; as a bare data set: {again}"));
            }
            // Display only: Debug would render a captured backtrace (snafu).
            Err(e) => return Err(format!("cannot read: {e}")),
        }
    }
    read_data_set(path, &layout).map_err(|e| format!("cannot read: {e}"))
}

fn refusal(o: ReadOutcome) -> String {
    match o {
        ReadOutcome::Problem(st, reason) => format!("{st}: {reason}"),
        ReadOutcome::Instance(_) => "cannot read: unexpected header outcome".into(),
    }
}

/// Reads the data set of a pre-scanned file from its first byte with the
/// transfer syntax the pre-scan detected (the one the index records), and
/// gives it a new file meta group: transfer syntax, Media Storage SOP
/// Class/Instance UID from the data set's SOP Class/Instance UID.
fn read_data_set(path: &Path, layout: &Layout) -> Result<DefaultDicomObject, String> {
    // A meta group without any Transfer Syntax UID: the pre-scan walked
    // the data set as explicit VR little endian, the Part 10 default.
    let ts_uid = transfer_syntax_of(layout)
        .unwrap_or_else(|| entries::EXPLICIT_VR_LITTLE_ENDIAN.uid().to_string());
    let ts = TransferSyntaxRegistry
        .get(&ts_uid)
        .ok_or_else(|| format!("unknown transfer syntax {ts_uid}"))?;
    let mut file = std::fs::File::open(path).map_err(|e| io_reason("cannot open", &e))?;
    file.seek(SeekFrom::Start(layout.data_set_start as u64))
        .map_err(|e| io_reason("cannot seek", &e))?;
    let mut obj = InMemDicomObject::read_dataset_with_ts(file, ts).map_err(|e| {
        // Display only: Debug would render a captured backtrace (snafu).
        format!("DICOM parser: {e}")
    })?;
    // A raw data set may start with meta elements (a meta group written
    // without preamble and DICM): they belong in the new file meta, not
    // in the data set. Its Transfer Syntax UID names the pixel encoding
    // (JPEG, RLE, ...) when the data set was read as explicit VR LE.
    let declared = obj
        .get(tags::TRANSFER_SYNTAX_UID)
        .and_then(|e| e.to_str().ok())
        .map(|uid| uid.trim_end_matches(['\0', ' ']).to_string())
        .filter(|uid| {
            ts.uid() == entries::EXPLICIT_VR_LITTLE_ENDIAN.uid()
                && DataSetEncoding::from_transfer_syntax(uid) == DataSetEncoding::ExplicitLittle
                && TransferSyntaxRegistry.get(uid).is_some()
        });
    obj.retain(|e| e.tag().group() != 0x0002);
    let ts_uid = declared.as_deref().unwrap_or(ts.uid());
    let mut meta = FileMetaTableBuilder::new().transfer_syntax(ts_uid);
    if let Some(class) = layout.media_storage_class.as_deref() {
        // Used only when the data set has no SOP Class UID of its own.
        meta = meta.media_storage_sop_class_uid(class);
    }
    obj.with_meta(meta)
        .map_err(|e| format!("cannot build a file meta group: {e}"))
}

/// Like [`read_header`], but the header is parsed by dicom-object instead
/// of being read from the pre-scanned bytes. Slower; kept as the reference
/// the fast path is tested against.
pub fn read_header_with_dicom_object(path: &Path) -> ReadOutcome {
    outcome(read_with(path, Parser::DicomObject))
}

fn outcome(r: Result<(Layout, ReadOutcome), ReadOutcome>) -> ReadOutcome {
    match r {
        Ok((_, o)) | Err(o) => o,
    }
}

/// Who turns the header bytes into a record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parser {
    /// The values the pre-scan located, decoded directly.
    Raw,
    /// A full dicom-object parse of the header.
    DicomObject,
}

/// Pre-scans and reads the header of the file at `path`. `Err` when the
/// file was refused before its layout was known; otherwise the layout and
/// what the header gave.
fn read_with(path: &Path, parser: Parser) -> Result<(Layout, ReadOutcome), ReadOutcome> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return Err(ReadOutcome::problem(
                FileStatus::Unreadable,
                io_reason("cannot open", &e),
            ))
        }
    };
    let size = match file.metadata() {
        Ok(m) => m.len() as usize,
        Err(e) => {
            return Err(ReadOutcome::problem(
                FileStatus::Unreadable,
                io_reason("cannot stat", &e),
            ))
        }
    };
    let mut buf = Vec::with_capacity(FIRST_READ.min(size));
    if let Err(e) = fill_to(&mut file, &mut buf, FIRST_READ.min(size)) {
        return Err(ReadOutcome::problem(
            FileStatus::Unreadable,
            io_reason("cannot read", &e),
        ));
    }
    let mut rounds = 0;
    let layout = loop {
        rounds += 1;
        if rounds > 64 {
            return Err(ReadOutcome::problem(
                FileStatus::Unreadable,
                "header could not be delimited",
            ));
        }
        match prescan::prescan(&buf, size) {
            Ok(layout) if layout.header_end <= buf.len() => break layout,
            Ok(layout) => {
                grow(&mut file, &mut buf, layout.header_end, size)?;
            }
            Err(PrescanError::NeedMore(n)) => {
                let want = n.max(buf.len().saturating_mul(2)).min(size);
                grow(&mut file, &mut buf, want, size)?;
            }
            Err(PrescanError::NotDicom(r)) => {
                return Err(ReadOutcome::problem(FileStatus::NotDicom, r))
            }
            Err(PrescanError::Truncated(r)) => {
                return Err(ReadOutcome::problem(FileStatus::Truncated, r))
            }
            Err(PrescanError::Malformed(r)) => {
                return Err(ReadOutcome::problem(FileStatus::Unreadable, r))
            }
        }
    };
    if layout
        .transfer_syntax
        .as_deref()
        .map(DataSetEncoding::from_transfer_syntax)
        == Some(DataSetEncoding::Deflated)
    {
        let o = read_deflated(&mut file, buf, size, &layout, parser);
        return Ok((layout, o));
    }
    if let Some(px) = layout.pixel_data {
        if let Some(declared) = px.declared_len {
            if declared > px.available {
                let o = ReadOutcome::problem(
                    FileStatus::Truncated,
                    format!(
                        "pixel data declares {declared} bytes but the file ends after {}",
                        px.available
                    ),
                );
                return Ok((layout, o));
            }
        }
    }
    let o = match parser {
        Parser::Raw => from_raw(
            &buf,
            &layout.values,
            layout.encoding == DataSetEncoding::ExplicitBig,
            transfer_syntax_of(&layout),
            layout.media_storage_class.as_deref(),
        ),
        Parser::DicomObject => parse(&buf, &layout),
    };
    Ok((layout, o))
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
    let has_meta = matches!(layout.framing, Framing::Preamble | Framing::NoPreamble);
    let (obj, ts, media_class) = if has_meta && layout.meta_group_length_valid {
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
    } else {
        // No meta group, or one dicom-object cannot read (no group
        // length): the data set alone, with the pre-scan's transfer syntax.
        let ts = transfer_syntax_of(layout);
        let uid = ts
            .as_deref()
            .unwrap_or(entries::EXPLICIT_VR_LITTLE_ENDIAN.uid());
        let Some(syntax) = TransferSyntaxRegistry.get(uid) else {
            return ReadOutcome::problem(
                FileStatus::Unreadable,
                format!("DICOM parser: unknown transfer syntax {uid}"),
            );
        };
        let header = &buf[layout.data_set_start..layout.header_end];
        match InMemDicomObject::read_dataset_with_ts(header, syntax) {
            Ok(obj) => (obj, ts, layout.media_storage_class.clone()),
            Err(e) => return parse_failure(&e.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, Tag, VR};

    const SOP_INSTANCE: &str = "2.25.123456789";
    const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";

    /// 4x4 16-bit samples, stored little endian.
    fn samples() -> Vec<u16> {
        (0..16u16).map(|i| i * 257 + 3).collect()
    }

    fn sample_le_bytes() -> Vec<u8> {
        samples().iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    fn data_set() -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        for (tag, vr, v) in [
            (tags::SOP_CLASS_UID, VR::UI, CT_IMAGE_STORAGE),
            (tags::SOP_INSTANCE_UID, VR::UI, SOP_INSTANCE),
            (tags::STUDY_DATE, VR::DA, "20240102"),
            (tags::MODALITY, VR::CS, "CT"),
            (tags::PATIENT_NAME, VR::PN, "DOE^JANE"),
            (tags::PATIENT_ID, VR::LO, "MRN0042"),
            (tags::STUDY_INSTANCE_UID, VR::UI, "2.25.1"),
            (tags::SERIES_INSTANCE_UID, VR::UI, "2.25.2"),
            (tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        ] {
            obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        }
        for (tag, v) in [
            (tags::SAMPLES_PER_PIXEL, 1u16),
            (tags::ROWS, 4),
            (tags::COLUMNS, 4),
            (tags::BITS_ALLOCATED, 16),
            (tags::BITS_STORED, 12),
            (tags::HIGH_BIT, 11),
            (tags::PIXEL_REPRESENTATION, 0),
        ] {
            obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
        }
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(samples().into()),
        ));
        obj
    }

    fn raw_data_set(ts: &dicom_encoding::TransferSyntax) -> Vec<u8> {
        let mut out = Vec::new();
        data_set().write_dataset_with_ts(&mut out, ts).unwrap();
        out
    }

    fn part10(ts: &str) -> Vec<u8> {
        let file = data_set()
            .with_meta(FileMetaTableBuilder::new().transfer_syntax(ts))
            .unwrap();
        let mut out = Vec::new();
        file.write_all(&mut out).unwrap();
        assert_eq!(&out[128..132], b"DICM");
        // (0002,0000) UL, length 4: always the first meta element written.
        assert_eq!(&out[132..138], &[0x02, 0x00, 0x00, 0x00, b'U', b'L']);
        out
    }

    /// A Part 10 file whose meta group has no (0002,0000).
    fn part10_without_group_length(ts: &str) -> Vec<u8> {
        let mut out = part10(ts);
        out.drain(132..144);
        out
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn text(obj: &InMemDicomObject, tag: Tag) -> String {
        obj.element(tag)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches(['\0', ' '])
            .to_string()
    }

    /// The object read is the sample, with a usable file meta, and can be
    /// written out again and read back.
    fn assert_sample(obj: &DefaultDicomObject, ts: &str) {
        assert_eq!(text(obj, tags::SOP_INSTANCE_UID), SOP_INSTANCE);
        assert_eq!(text(obj, tags::PATIENT_NAME), "DOE^JANE");
        assert_eq!(
            obj.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap(),
            sample_le_bytes()
        );
        assert!(
            obj.iter().all(|e| e.tag().group() != 0x0002),
            "no meta elements in the data set"
        );
        let meta = obj.meta();
        assert_eq!(meta.transfer_syntax().trim_end_matches('\0'), ts);
        assert_eq!(
            meta.media_storage_sop_instance_uid().trim_end_matches('\0'),
            SOP_INSTANCE
        );
        assert_eq!(
            meta.media_storage_sop_class_uid().trim_end_matches('\0'),
            CT_IMAGE_STORAGE
        );
        let mut out = Vec::new();
        obj.write_all(&mut out).unwrap();
        let back = OpenFileOptions::new()
            .from_reader(std::io::Cursor::new(out))
            .unwrap();
        assert_eq!(text(&back, tags::PATIENT_NAME), "DOE^JANE");
        assert_eq!(
            back.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap(),
            sample_le_bytes()
        );
        assert_eq!(back.meta().transfer_syntax().trim_end_matches('\0'), ts);
    }

    #[test]
    fn raw_implicit_data_set_without_meta_is_read_with_a_new_meta() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = raw_data_set(&entries::IMPLICIT_VR_LITTLE_ENDIAN.erased());
        let path = write(&dir, "raw_implicit", &bytes);
        assert!(matches!(read_header(&path), ReadOutcome::Instance(_)));
        assert!(OpenFileOptions::new().open_file(&path).is_err());
        let obj = read_whole(&path).unwrap();
        assert_sample(&obj, uids::IMPLICIT_VR_LITTLE_ENDIAN);
    }

    #[test]
    fn raw_explicit_data_set_without_meta_is_read_with_a_new_meta() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = raw_data_set(&entries::EXPLICIT_VR_LITTLE_ENDIAN.erased());
        let path = write(&dir, "raw_explicit", &bytes);
        assert!(matches!(read_header(&path), ReadOutcome::Instance(_)));
        let obj = read_whole(&path).unwrap();
        assert_sample(&obj, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    }

    #[test]
    fn meta_group_without_group_length_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        for ts in [
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
            entries::EXPLICIT_VR_BIG_ENDIAN.uid(),
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        ] {
            let path = write(&dir, ts, &part10_without_group_length(ts));
            assert!(
                matches!(read_header(&path), ReadOutcome::Instance(_)),
                "{ts}"
            );
            assert!(OpenFileOptions::new().open_file(&path).is_err(), "{ts}");
            let obj = read_whole(&path).unwrap_or_else(|e| panic!("{ts}: {e}"));
            assert_sample(&obj, ts);
        }
    }

    #[test]
    fn wrong_group_length_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = part10(uids::EXPLICIT_VR_LITTLE_ENDIAN);
        let declared = u32::from_le_bytes(bytes[140..144].try_into().unwrap());
        bytes[140..144].copy_from_slice(&(declared + 8).to_le_bytes());
        let path = write(&dir, "long_group_length.dcm", &bytes);
        let obj = read_whole(&path).unwrap();
        assert_sample(&obj, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    }

    #[test]
    fn standard_file_keeps_its_meta() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "standard.dcm",
            &part10(uids::EXPLICIT_VR_LITTLE_ENDIAN),
        );
        let obj = read_whole(&path).unwrap();
        assert_sample(&obj, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    }

    #[test]
    fn raw_data_set_starting_with_meta_elements_moves_them_to_the_meta() {
        // A meta group written without preamble and DICM, then an explicit
        // VR LE data set: read as one raw data set.
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = part10(uids::EXPLICIT_VR_LITTLE_ENDIAN);
        bytes.drain(..132);
        let path = write(&dir, "meta_no_dicm", &bytes);
        let obj = read_whole(&path).unwrap();
        assert_sample(&obj, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    }

    #[test]
    fn hostile_raw_data_set_is_still_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = raw_data_set(&entries::IMPLICIT_VR_LITTLE_ENDIAN.erased());
        // The first element's length claims far more than the file holds.
        bytes[4..8].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
        let path = write(&dir, "hostile_raw", &bytes);
        let err = read_whole(&path).unwrap_err();
        assert!(err.contains("more than the whole file"), "{err}");
    }

    #[test]
    fn meta_dicom_object_rejects_is_rebuilt() {
        // A valid group length, but an Implementation Version Name longer
        // than the 16 bytes dicom-object accepts.
        let dir = tempfile::tempdir().unwrap();
        let file = data_set()
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                    .implementation_class_uid("2.25.99")
                    .implementation_version_name("A_VERY_LONG_VERSION_NAME"),
            )
            .unwrap();
        let mut bytes = Vec::new();
        file.write_all(&mut bytes).unwrap();
        let path = write(&dir, "long_version_name.dcm", &bytes);
        assert!(OpenFileOptions::new().open_file(&path).is_err());
        let obj = read_whole(&path).unwrap();
        assert_sample(&obj, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    }

    #[test]
    fn encapsulated_syntax_of_a_meta_without_dicm_is_kept() {
        use dicom_core::value::PixelFragmentSequence;
        let dir = tempfile::tempdir().unwrap();
        let mut obj = data_set();
        let fragment: Vec<u8> = (0..64u8).collect();
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PixelFragmentSequence::new_fragments(vec![fragment.clone()]),
        ));
        let file = obj
            .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::RLE_LOSSLESS))
            .unwrap();
        let mut bytes = Vec::new();
        file.write_all(&mut bytes).unwrap();
        bytes.drain(..132);
        let path = write(&dir, "rle_meta_no_dicm", &bytes);
        let obj = read_whole(&path).unwrap();
        assert_eq!(
            obj.meta().transfer_syntax().trim_end_matches('\0'),
            uids::RLE_LOSSLESS
        );
        assert!(obj.iter().all(|e| e.tag().group() != 0x0002));
        let px = obj.element(tags::PIXEL_DATA).unwrap();
        assert_eq!(px.fragments().unwrap(), &[fragment.clone()][..]);
        let mut out = Vec::new();
        obj.write_all(&mut out).unwrap();
        let back = OpenFileOptions::new()
            .from_reader(std::io::Cursor::new(out))
            .unwrap();
        let px = back.element(tags::PIXEL_DATA).unwrap();
        assert_eq!(px.fragments().unwrap(), &[fragment][..]);
    }

    #[test]
    fn header_parsers_agree_on_files_without_a_usable_meta() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = vec![
            (
                "raw_implicit".to_string(),
                raw_data_set(&entries::IMPLICIT_VR_LITTLE_ENDIAN.erased()),
            ),
            (
                "raw_explicit".to_string(),
                raw_data_set(&entries::EXPLICIT_VR_LITTLE_ENDIAN.erased()),
            ),
        ];
        for ts in [
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
            entries::EXPLICIT_VR_BIG_ENDIAN.uid(),
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
        ] {
            files.push((ts.to_string(), part10_without_group_length(ts)));
        }
        for (name, bytes) in files {
            let path = write(&dir, &name, &bytes);
            let fast = read_header(&path);
            assert!(matches!(fast, ReadOutcome::Instance(_)), "{name}: {fast:?}");
            assert_eq!(fast, read_header_with_dicom_object(&path), "{name}");
        }
    }

    #[test]
    fn prescan_tells_whether_the_group_length_can_be_trusted() {
        let valid = |bytes: &[u8]| {
            prescan::prescan(bytes, bytes.len())
                .unwrap()
                .meta_group_length_valid
        };
        let ts = uids::EXPLICIT_VR_LITTLE_ENDIAN;
        assert!(valid(&part10(ts)));
        assert!(!valid(&part10_without_group_length(ts)));
        let mut wrong = part10(ts);
        wrong[140] ^= 0x02;
        assert!(!valid(&wrong));
        assert!(!valid(&raw_data_set(
            &entries::EXPLICIT_VR_LITTLE_ENDIAN.erased()
        )));
    }
}
