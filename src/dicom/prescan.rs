//! A cheap, bounded structural pre-scan of a file's header bytes, run before
//! dicom-object sees them.
//!
//! Why: dicom-object 0.10 trusts declared lengths and recurses once per
//! nested sequence. A small hostile file can overflow the stack (deep
//! nesting) or make it allocate gigabytes (lengths read with the wrong
//! endianness). This walker checks every declared length against the bytes
//! that exist and caps sequence depth, using only the buffer it is given. It
//! also finds where the header ends (the root Pixel Data element), so the
//! parser is handed exactly the header and never the pixels.

use dicom_core::dictionary::{DataDictionary, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

/// Deepest sequence nesting accepted. Real files stay below ten.
pub const MAX_SEQUENCE_DEPTH: usize = 32;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
const SEQ_END: Tag = Tag(0xFFFE, 0xE0DD);
const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);

/// How the file starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// 128-byte preamble, `DICM`, file meta group.
    Preamble,
    /// `DICM` at offset 0 (preamble stripped), file meta group.
    NoPreamble,
    /// A raw data set without file meta group (old ACR-NEMA style exports).
    RawDataSet { explicit_vr: bool },
}

/// The data set encoding that follows the file meta group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSetEncoding {
    ImplicitLittle,
    ExplicitLittle,
    ExplicitBig,
    /// Deflated explicit VR little endian: the data set must be inflated first.
    Deflated,
}

impl DataSetEncoding {
    /// The encoding a transfer syntax UID implies (encapsulated syntaxes use
    /// explicit VR little endian for the data set).
    pub fn from_transfer_syntax(uid: &str) -> DataSetEncoding {
        match uid {
            "1.2.840.10008.1.2" => DataSetEncoding::ImplicitLittle,
            "1.2.840.10008.1.2.2" => DataSetEncoding::ExplicitBig,
            "1.2.840.10008.1.2.1.99" => DataSetEncoding::Deflated,
            _ => DataSetEncoding::ExplicitLittle,
        }
    }
}

/// What the pre-scan learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub framing: Framing,
    /// Transfer Syntax UID from the file meta group, if any.
    pub transfer_syntax: Option<String>,
    /// Offset where the data set starts (after the file meta group).
    pub data_set_start: usize,
    /// Offset where the header ends: the root Pixel Data element (or any
    /// later root element), or the end of the file.
    pub header_end: usize,
    /// Root pixel data: declared value length if defined.
    pub pixel_data: Option<PixelDataInfo>,
    /// Where the values of the indexed root elements are (see [`WANTED`]).
    pub values: Vec<RawValue>,
    /// The data set encoding (for binary values' byte order).
    pub encoding: DataSetEncoding,
    /// Media Storage SOP Class UID from the file meta group, if any.
    pub media_storage_class: Option<String>,
    /// Whether the file meta group starts with its group length
    /// (0002,0000) and that length matches the group's actual size.
    /// dicom-object reads the meta only then; `false` for a raw data set.
    pub meta_group_length_valid: bool,
}

/// A root element's value located in the scanned bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawValue {
    pub tag: Tag,
    /// Explicit VR, or the dictionary's VR for implicit VR data.
    pub vr: Option<VR>,
    pub start: usize,
    pub len: usize,
}

/// Root elements whose values the walk records, sorted. The header
/// extraction reads exactly these (plus DirectoryRecordSequence, to spot a
/// DICOMDIR).
pub const WANTED: &[Tag] = &[
    Tag(0x0004, 0x1220),
    Tag(0x0008, 0x0005),
    Tag(0x0008, 0x0008),
    Tag(0x0008, 0x0016),
    Tag(0x0008, 0x0018),
    Tag(0x0008, 0x0020),
    Tag(0x0008, 0x0030),
    Tag(0x0008, 0x0050),
    Tag(0x0008, 0x0060),
    Tag(0x0008, 0x0070),
    Tag(0x0008, 0x0080),
    Tag(0x0008, 0x0090),
    Tag(0x0008, 0x1010),
    Tag(0x0008, 0x1030),
    Tag(0x0008, 0x103E),
    Tag(0x0008, 0x1090),
    Tag(0x0010, 0x0010),
    Tag(0x0010, 0x0020),
    Tag(0x0010, 0x0021),
    Tag(0x0010, 0x0030),
    Tag(0x0010, 0x0040),
    Tag(0x0010, 0x1010),
    Tag(0x0018, 0x0010),
    Tag(0x0018, 0x0015),
    Tag(0x0018, 0x0050),
    Tag(0x0018, 0x0060),
    Tag(0x0018, 0x1030),
    Tag(0x0020, 0x000D),
    Tag(0x0020, 0x000E),
    Tag(0x0020, 0x0011),
    Tag(0x0020, 0x0013),
    Tag(0x0028, 0x0004),
    Tag(0x0028, 0x0008),
    Tag(0x0028, 0x0010),
    Tag(0x0028, 0x0011),
    Tag(0x0028, 0x0030),
    Tag(0x0028, 0x0100),
    Tag(0x0028, 0x0301),
];

/// Where the root Pixel element sits and how long it claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelDataInfo {
    pub offset: usize,
    /// `None` for undefined length (encapsulated).
    pub declared_len: Option<u64>,
    /// Bytes present after the element header.
    pub available: u64,
}

/// Why the pre-scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrescanError {
    /// The buffer holds only part of the file; call again with at least
    /// this many bytes.
    NeedMore(usize),
    /// Neither a DICOM file nor a plausible raw data set.
    NotDicom(String),
    /// The file ends inside an element whose declared length is plausible.
    Truncated(String),
    /// Structurally broken or hostile (too deep, impossible lengths).
    Malformed(String),
}

/// Pre-scans `buf`, the first bytes of a file of `file_size` bytes. For a
/// deflated data set, call [`prescan_data_set`] on the inflated bytes.
pub fn prescan(buf: &[u8], file_size: usize) -> Result<Layout, PrescanError> {
    let (framing, start) = detect_framing(buf, file_size)?;
    let mut w = Walker::new(buf, file_size, DataSetEncoding::ExplicitLittle);
    w.pos = start;
    let mut transfer_syntax = None;
    let mut media_storage_class = None;
    let mut meta_group_length_valid = false;
    let encoding = match framing {
        Framing::RawDataSet { explicit_vr } => {
            if explicit_vr {
                DataSetEncoding::ExplicitLittle
            } else {
                DataSetEncoding::ImplicitLittle
            }
        }
        Framing::Preamble | Framing::NoPreamble => {
            // The file meta group is always explicit VR little endian.
            let meta_start = w.pos;
            // (declared group length, where the elements it counts start)
            let mut group_length: Option<(u32, usize)> = None;
            loop {
                if w.pos == file_size {
                    break;
                }
                w.need(2)?;
                let group = u16::from_le_bytes([buf[w.pos], buf[w.pos + 1]]);
                if group != 0x0002 {
                    break;
                }
                let (tag, vr, len) = w.element_header()?;
                if len == UNDEFINED {
                    return Err(PrescanError::Malformed(format!(
                        "file meta element {} has undefined length",
                        tag_text(tag)
                    )));
                }
                let value = w.take(len as usize, tag, vr)?;
                let uid = || {
                    value.map(|v| {
                        String::from_utf8_lossy(v)
                            .trim_end_matches(['\0', ' '])
                            .to_string()
                    })
                };
                if tag == Tag(0x0002, 0x0010) {
                    transfer_syntax = uid();
                } else if tag == Tag(0x0002, 0x0002) {
                    media_storage_class = uid();
                } else if tag == Tag(0x0002, 0x0000) && w.pos == meta_start + 12 {
                    group_length = value
                        .filter(|v| v.len() == 4)
                        .map(|v| (u32::from_le_bytes([v[0], v[1], v[2], v[3]]), w.pos));
                }
            }
            meta_group_length_valid = group_length
                .is_some_and(|(declared, counted_from)| declared as usize == w.pos - counted_from);
            transfer_syntax
                .as_deref()
                .map(DataSetEncoding::from_transfer_syntax)
                .unwrap_or(DataSetEncoding::ExplicitLittle)
        }
    };
    let data_set_start = w.pos;
    if encoding == DataSetEncoding::Deflated {
        // The rest is compressed; the caller inflates and scans it separately.
        return Ok(Layout {
            framing,
            transfer_syntax,
            data_set_start,
            header_end: file_size,
            pixel_data: None,
            values: Vec::new(),
            encoding,
            media_storage_class,
            meta_group_length_valid,
        });
    }
    w.encoding = encoding;
    let (header_end, pixel_data) = w.root()?;
    Ok(Layout {
        framing,
        transfer_syntax,
        data_set_start,
        header_end,
        pixel_data,
        values: w.values,
        encoding,
        media_storage_class,
        meta_group_length_valid,
    })
}

/// Pre-scans a complete, already inflated data set (explicit VR little
/// endian). Returns where the header ends and the recorded root values.
pub fn prescan_data_set(data: &[u8]) -> Result<(usize, Vec<RawValue>), PrescanError> {
    let mut w = Walker::new(data, data.len(), DataSetEncoding::ExplicitLittle);
    let (end, _) = w.root()?;
    Ok((end, w.values))
}

fn detect_framing(buf: &[u8], file_size: usize) -> Result<(Framing, usize), PrescanError> {
    if file_size == 0 {
        return Err(PrescanError::NotDicom("empty file (0 bytes)".into()));
    }
    if file_size >= 132 {
        if buf.len() < 132 {
            return Err(PrescanError::NeedMore(132));
        }
        if &buf[128..132] == b"DICM" {
            return Ok((Framing::Preamble, 132));
        }
    }
    if buf.len() >= 4 && &buf[0..4] == b"DICM" {
        return Ok((Framing::NoPreamble, 4));
    }
    // A raw data set starts with a low, even group (0008 usually) and a
    // small element number; anything else is not DICOM.
    if file_size < 8 || buf.len() < 8 {
        return Err(PrescanError::NotDicom(format!(
            "too short to be DICOM ({file_size} bytes) and no DICM marker"
        )));
    }
    let group = u16::from_le_bytes([buf[0], buf[1]]);
    let element = u16::from_le_bytes([buf[2], buf[3]]);
    let plausible = matches!(group, 0x0002 | 0x0008) && element < 0x1000;
    if !plausible {
        return Err(PrescanError::NotDicom(
            "no DICM marker at byte 128 or 0, and the first bytes are not a DICOM data set".into(),
        ));
    }
    let explicit_vr = VR::from_binary([buf[4], buf[5]]).is_some()
        && buf[4].is_ascii_uppercase()
        && buf[5].is_ascii_uppercase();
    Ok((Framing::RawDataSet { explicit_vr }, 0))
}

/// `(gggg,eeee)`: how reasons, findings and manifests name a tag.
pub fn tag_text(t: Tag) -> String {
    format!("({:04X},{:04X})", t.0, t.1)
}

struct Walker<'a> {
    buf: &'a [u8],
    file_size: usize,
    encoding: DataSetEncoding,
    pos: usize,
    values: Vec<RawValue>,
}

impl<'a> Walker<'a> {
    fn new(buf: &'a [u8], file_size: usize, encoding: DataSetEncoding) -> Self {
        Walker {
            buf,
            file_size,
            encoding,
            pos: 0,
            values: Vec::new(),
        }
    }

    /// Ensures `n` bytes from `pos` are in the buffer.
    fn need(&self, n: usize) -> Result<(), PrescanError> {
        let end = self.pos + n;
        if end <= self.buf.len() {
            Ok(())
        } else if end <= self.file_size {
            Err(PrescanError::NeedMore(end))
        } else {
            Err(PrescanError::Truncated(format!(
                "file ends at byte {} inside an element header",
                self.file_size
            )))
        }
    }

    fn u16(&self, at: usize) -> u16 {
        let b = [self.buf[at], self.buf[at + 1]];
        if self.encoding == DataSetEncoding::ExplicitBig {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    fn u32(&self, at: usize) -> u32 {
        let b = [
            self.buf[at],
            self.buf[at + 1],
            self.buf[at + 2],
            self.buf[at + 3],
        ];
        if self.encoding == DataSetEncoding::ExplicitBig {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    fn read_tag(&mut self) -> Result<Tag, PrescanError> {
        self.need(4)?;
        let t = Tag(self.u16(self.pos), self.u16(self.pos + 2));
        self.pos += 4;
        Ok(t)
    }

    /// Reads a tag plus its VR and length. Item and delimiter tags have no
    /// VR in any encoding.
    fn element_header(&mut self) -> Result<(Tag, Option<VR>, u32), PrescanError> {
        let tag = self.read_tag()?;
        if tag.0 == 0xFFFE {
            self.need(4)?;
            let len = self.u32(self.pos);
            self.pos += 4;
            return Ok((tag, None, len));
        }
        if self.encoding == DataSetEncoding::ImplicitLittle {
            self.need(4)?;
            let len = self.u32(self.pos);
            self.pos += 4;
            let vr = match StandardDataDictionary.by_tag(tag).map(|e| e.vr) {
                Some(VirtualVr::Exact(vr)) => Some(vr),
                _ => None,
            };
            return Ok((tag, vr, len));
        }
        self.need(4)?;
        let vr_bytes = [self.buf[self.pos], self.buf[self.pos + 1]];
        let vr = VR::from_binary(vr_bytes).ok_or_else(|| {
            PrescanError::Malformed(format!(
                "invalid value representation {:?} for element {} at byte {}",
                String::from_utf8_lossy(&vr_bytes),
                tag_text(tag),
                self.pos
            ))
        })?;
        let long = matches!(
            vr,
            VR::OB
                | VR::OD
                | VR::OF
                | VR::OL
                | VR::OV
                | VR::OW
                | VR::SQ
                | VR::SV
                | VR::UC
                | VR::UN
                | VR::UR
                | VR::UT
                | VR::UV
        );
        let len = if long {
            self.need(8)?;
            let l = self.u32(self.pos + 4);
            self.pos += 8;
            l
        } else {
            let l = self.u16(self.pos + 2) as u32;
            self.pos += 4;
            l
        };
        Ok((tag, Some(vr), len))
    }

    /// Skips (or returns, when in the buffer) a defined-length value, after
    /// checking it exists within the file.
    fn take(
        &mut self,
        len: usize,
        tag: Tag,
        _vr: Option<VR>,
    ) -> Result<Option<&'a [u8]>, PrescanError> {
        let end = self.pos.saturating_add(len);
        if end > self.file_size {
            return Err(self.overrun(tag, len));
        }
        let out = if end <= self.buf.len() {
            Some(&self.buf[self.pos..end])
        } else {
            None
        };
        self.pos = end;
        Ok(out)
    }

    fn overrun(&self, tag: Tag, len: usize) -> PrescanError {
        let remaining = self.file_size.saturating_sub(self.pos);
        if len > self.file_size {
            PrescanError::Malformed(format!(
                "element {} declares {} bytes, more than the whole file ({} bytes): wrong transfer syntax or corrupt data",
                tag_text(tag),
                len,
                self.file_size
            ))
        } else {
            PrescanError::Truncated(format!(
                "element {} declares {} bytes but the file ends after {} more",
                tag_text(tag),
                len,
                remaining
            ))
        }
    }

    /// Walks the root data set up to Pixel Data.
    fn root(&mut self) -> Result<(usize, Option<PixelDataInfo>), PrescanError> {
        let mut previous: Option<Tag> = None;
        loop {
            if self.pos >= self.file_size {
                return Ok((self.file_size, None));
            }
            let start = self.pos;
            self.need(4)?;
            let peek = Tag(self.u16(start), self.u16(start + 2));
            if peek >= PIXEL_DATA {
                let mut info = None;
                if peek == PIXEL_DATA {
                    let (_, _, len) = self.element_header()?;
                    let available = (self.file_size - self.pos) as u64;
                    info = Some(PixelDataInfo {
                        offset: start,
                        declared_len: (len != UNDEFINED).then_some(len as u64),
                        available,
                    });
                }
                return Ok((start, info));
            }
            // Root elements ascend by tag. Data read with the wrong byte
            // order breaks this quickly, before it can mislead the parser.
            if previous.is_some_and(|p| peek <= p) {
                return Err(PrescanError::Malformed(format!(
                    "elements out of order at {} (after {}): wrong transfer syntax or corrupt data",
                    tag_text(peek),
                    tag_text(previous.unwrap_or(peek))
                )));
            }
            // A data set starts with a low group (0008 nearly always); a
            // first group like 0800 means bytes read in the wrong order.
            if previous.is_none() && peek.0 >= 0x0100 {
                return Err(PrescanError::Malformed(format!(
                    "first element {} is implausible: the data is not in the byte order its transfer syntax declares",
                    tag_text(peek)
                )));
            }
            previous = Some(peek);
            self.element(0)?;
        }
    }

    /// One element of a data set at sequence depth `depth`. Returns the tag.
    fn element(&mut self, depth: usize) -> Result<Tag, PrescanError> {
        let (tag, vr, len) = self.element_header()?;
        if tag == ITEM || tag == SEQ_END {
            return Err(PrescanError::Malformed(format!(
                "unexpected item tag {} inside a data set at byte {}",
                tag_text(tag),
                self.pos
            )));
        }
        if tag == ITEM_END {
            return Ok(tag);
        }
        if depth == 0 && WANTED.binary_search(&tag).is_ok() {
            let (start, n) = (self.pos, if len == UNDEFINED { 0 } else { len as usize });
            if start + n <= self.buf.len() {
                self.values.push(RawValue {
                    tag,
                    vr,
                    start,
                    len: n,
                });
            }
        }
        if len == UNDEFINED {
            match vr {
                Some(VR::OB) | Some(VR::OW) => self.fragments(tag)?,
                // Undefined-length UN holds implicit VR little endian items
                // (CP-246); an unknown VR in implicit VR is treated the same
                // way by the parser.
                Some(VR::SQ) | Some(VR::UN) | None => {
                    let saved = self.encoding;
                    if vr == Some(VR::UN) {
                        self.encoding = DataSetEncoding::ImplicitLittle;
                    }
                    let r = self.sequence(None, depth + 1);
                    self.encoding = saved;
                    r?;
                }
                Some(other) => {
                    return Err(PrescanError::Malformed(format!(
                        "element {} of VR {} has undefined length",
                        tag_text(tag),
                        other.to_string()
                    )))
                }
            }
            return Ok(tag);
        }
        let len = len as usize;
        if vr == Some(VR::SQ) {
            let end = self.pos.saturating_add(len);
            if end > self.file_size {
                return Err(self.overrun(tag, len));
            }
            self.sequence(Some(end), depth + 1)?;
            if self.pos != end {
                return Err(PrescanError::Malformed(format!(
                    "sequence {} length does not match its items",
                    tag_text(tag)
                )));
            }
        } else {
            self.take(len, tag, vr)?;
        }
        Ok(tag)
    }

    fn sequence(&mut self, end: Option<usize>, depth: usize) -> Result<(), PrescanError> {
        if depth > MAX_SEQUENCE_DEPTH {
            return Err(PrescanError::Malformed(format!(
                "sequences nested deeper than {MAX_SEQUENCE_DEPTH} levels"
            )));
        }
        loop {
            if let Some(end) = end {
                if self.pos >= end {
                    return Ok(());
                }
            }
            let (tag, _, len) = self.element_header()?;
            match tag {
                SEQ_END => return Ok(()),
                ITEM if len == UNDEFINED => self.item(None, depth)?,
                ITEM => {
                    let item_end = self.pos.saturating_add(len as usize);
                    if item_end > self.file_size || end.is_some_and(|e| item_end > e) {
                        return Err(self.overrun(tag, len as usize));
                    }
                    self.item(Some(item_end), depth)?;
                    if self.pos != item_end {
                        return Err(PrescanError::Malformed(
                            "item length does not match its content".into(),
                        ));
                    }
                }
                other => {
                    return Err(PrescanError::Malformed(format!(
                        "expected an item in a sequence, found {}",
                        tag_text(other)
                    )))
                }
            }
        }
    }

    fn item(&mut self, end: Option<usize>, depth: usize) -> Result<(), PrescanError> {
        loop {
            if let Some(end) = end {
                if self.pos >= end {
                    return Ok(());
                }
            } else if self.pos >= self.file_size {
                return Err(PrescanError::Truncated(
                    "file ends inside an undefined-length item".into(),
                ));
            }
            if self.element(depth)? == ITEM_END {
                return Ok(());
            }
        }
    }

    /// Skips encapsulated fragments (nested pixel data, e.g. icon images).
    fn fragments(&mut self, owner: Tag) -> Result<(), PrescanError> {
        loop {
            let (tag, _, len) = self.element_header()?;
            match tag {
                SEQ_END => return Ok(()),
                ITEM if len != UNDEFINED => {
                    self.take(len as usize, tag, None)?;
                }
                _ => {
                    return Err(PrescanError::Malformed(format!(
                        "bad fragment in encapsulated element {}",
                        tag_text(owner)
                    )))
                }
            }
        }
    }
}
