//! Writing DICOM files from plain descriptions (used by the synthetic
//! archive generator and by tests that build hostile or odd files).

use dicom_core::value::PixelFragmentSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::entries;
use std::io::Write;
use std::path::Path;

pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
pub const EXPLICIT_VR_BE: &str = "1.2.840.10008.1.2.2";
pub const DEFLATED_LE: &str = "1.2.840.10008.1.2.1.99";
pub const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
pub const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";

/// A text-valued element: (group, element), VR, value (multi-values joined by `\`).
#[derive(Debug, Clone)]
pub struct TextElement {
    pub tag: (u16, u16),
    pub vr: VR,
    pub value: String,
}

/// Monochrome pixels to store (frames of rows x columns samples).
#[derive(Debug, Clone)]
pub struct Pixels {
    pub rows: u16,
    pub columns: u16,
    /// 8 or 16.
    pub bits_allocated: u16,
    /// One sample per pixel, row-major, every frame concatenated.
    pub samples: Vec<u16>,
    pub frames: u16,
}

/// How the file is framed on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Preamble + DICM + file meta + data set (the normal case).
    Standard,
    /// The 128-byte preamble stripped (file starts with DICM).
    NoPreamble,
    /// A bare implicit VR little endian data set without file meta.
    RawImplicit,
}

/// Everything needed to write one file.
#[derive(Debug, Clone)]
pub struct ObjectSpec {
    pub elements: Vec<TextElement>,
    pub pixels: Option<Pixels>,
    /// Transfer syntax UID; the pixel encoding follows it (native, RLE, JPEG baseline).
    pub transfer_syntax: String,
    pub framing: Framing,
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot encode DICOM object: {0}")]
    Encode(String),
    #[error("cannot write file: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes `spec` to `path` atomically (a `.part` file renamed into place).
pub fn write_object(spec: &ObjectSpec, path: &Path) -> Result<(), WriteError> {
    let bytes = encode_object(spec)?;
    let part = path.with_extension(match path.extension() {
        Some(e) => format!("{}.part", e.to_string_lossy()),
        None => "part".to_string(),
    });
    {
        let mut f = std::fs::File::create(&part)?;
        f.write_all(&bytes)?;
    }
    std::fs::rename(&part, path)?;
    Ok(())
}

/// Encodes `spec` to the bytes of a file.
pub fn encode_object(spec: &ObjectSpec) -> Result<Vec<u8>, WriteError> {
    let mut obj = InMemDicomObject::new_empty();
    for e in &spec.elements {
        let tag = Tag(e.tag.0, e.tag.1);
        let value = match e.vr {
            VR::US => PrimitiveValue::from(e.value.parse::<u16>().unwrap_or(0)),
            _ => PrimitiveValue::from(e.value.as_str()),
        };
        obj.put(DataElement::new(tag, e.vr, value));
    }
    if let Some(px) = &spec.pixels {
        put_pixels(&mut obj, px, &spec.transfer_syntax)?;
    }
    let enc = |e: &dyn std::fmt::Display| WriteError::Encode(e.to_string());
    let mut out = Vec::new();
    match spec.framing {
        Framing::RawImplicit => {
            obj.write_dataset_with_ts(&mut out, &entries::IMPLICIT_VR_LITTLE_ENDIAN.erased())
                .map_err(|e| enc(&e))?;
        }
        Framing::Standard | Framing::NoPreamble => {
            let file = obj
                .with_meta(
                    FileMetaTableBuilder::new().transfer_syntax(spec.transfer_syntax.as_str()),
                )
                .map_err(|e| enc(&e))?;
            // write_all emits preamble + DICM + meta + data set.
            file.write_all(&mut out).map_err(|e| enc(&e))?;
            if spec.framing == Framing::NoPreamble {
                out.drain(..128);
            }
        }
    }
    Ok(out)
}

fn put_pixels(obj: &mut InMemDicomObject, px: &Pixels, ts: &str) -> Result<(), WriteError> {
    let bits = px.bits_allocated;
    let us = |obj: &mut InMemDicomObject, tag: Tag, v: u16| {
        obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
    };
    use dicom_dictionary_std::tags;
    us(obj, tags::SAMPLES_PER_PIXEL, 1);
    obj.put(DataElement::new(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from("MONOCHROME2"),
    ));
    us(obj, tags::ROWS, px.rows);
    us(obj, tags::COLUMNS, px.columns);
    us(obj, tags::BITS_ALLOCATED, bits);
    us(obj, tags::BITS_STORED, if bits == 16 { 12 } else { 8 });
    us(obj, tags::HIGH_BIT, if bits == 16 { 11 } else { 7 });
    us(obj, tags::PIXEL_REPRESENTATION, 0);
    if px.frames > 1 {
        obj.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(px.frames.to_string()),
        ));
    }
    let frame_len = px.rows as usize * px.columns as usize;
    match ts {
        RLE_LOSSLESS => {
            let frags: Vec<Vec<u8>> = px
                .samples
                .chunks(frame_len)
                .map(|f| rle_frame(f, bits))
                .collect();
            obj.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PixelFragmentSequence::new_fragments(frags),
            ));
        }
        JPEG_BASELINE => {
            if bits != 8 {
                return Err(WriteError::Encode(
                    "JPEG baseline needs 8-bit pixels".into(),
                ));
            }
            let mut frags = Vec::new();
            for f in px.samples.chunks(frame_len) {
                let data: Vec<u8> = f.iter().map(|s| *s as u8).collect();
                let mut jpeg = Vec::new();
                jpeg_encoder::Encoder::new(&mut jpeg, 90)
                    .encode(&data, px.columns, px.rows, jpeg_encoder::ColorType::Luma)
                    .map_err(|e| WriteError::Encode(e.to_string()))?;
                if jpeg.len() % 2 == 1 {
                    jpeg.push(0);
                }
                frags.push(jpeg);
            }
            obj.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PixelFragmentSequence::new_fragments(frags),
            ));
        }
        _ => {
            if bits == 8 {
                let mut data: Vec<u8> = px.samples.iter().map(|s| *s as u8).collect();
                if data.len() % 2 == 1 {
                    data.push(0);
                }
                obj.put(DataElement::new(
                    tags::PIXEL_DATA,
                    VR::OB,
                    PrimitiveValue::from(data),
                ));
            } else {
                obj.put(DataElement::new(
                    tags::PIXEL_DATA,
                    VR::OW,
                    PrimitiveValue::U16(px.samples.clone().into()),
                ));
            }
        }
    }
    Ok(())
}

/// One RLE Lossless frame: a 64-byte header, then one PackBits segment per
/// byte plane (most significant first), each padded to even length.
pub fn rle_frame(samples: &[u16], bits: u16) -> Vec<u8> {
    let planes: Vec<Vec<u8>> = if bits == 16 {
        vec![
            samples.iter().map(|s| (s >> 8) as u8).collect(),
            samples.iter().map(|s| *s as u8).collect(),
        ]
    } else {
        vec![samples.iter().map(|s| *s as u8).collect()]
    };
    let mut header = vec![0u8; 64];
    header[0..4].copy_from_slice(&(planes.len() as u32).to_le_bytes());
    let mut body = Vec::new();
    for (i, plane) in planes.iter().enumerate() {
        let offset = 64 + body.len() as u32;
        header[4 + i * 4..8 + i * 4].copy_from_slice(&offset.to_le_bytes());
        let mut seg = packbits(plane);
        if seg.len() % 2 == 1 {
            seg.push(0x80); // no-op byte keeps the segment even
        }
        body.extend(seg);
    }
    header.extend(body);
    header
}

/// PackBits as used by DICOM RLE (PS3.5 Annex G).
pub fn packbits(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let mut run = 1;
        while i + run < data.len() && run < 128 && data[i + run] == data[i] {
            run += 1;
        }
        if run >= 2 {
            out.push((1i16 - run as i16) as i8 as u8);
            out.push(data[i]);
            i += run;
            continue;
        }
        let start = i;
        let mut len = 0;
        while i < data.len() && len < 128 {
            if i + 1 < data.len() && data[i + 1] == data[i] {
                break;
            }
            i += 1;
            len += 1;
        }
        if len == 0 {
            i += 1;
            len = 1;
        }
        out.push((len - 1) as u8);
        out.extend_from_slice(&data[start..start + len]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpack(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < data.len() {
            let n = data[i] as i8;
            i += 1;
            if n >= 0 {
                let len = n as usize + 1;
                out.extend_from_slice(&data[i..i + len]);
                i += len;
            } else if n != -128 {
                let len = (1 - n as isize) as usize;
                out.extend(std::iter::repeat_n(data[i], len));
                i += 1;
            }
        }
        out
    }

    #[test]
    fn packbits_round_trips() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![1],
            vec![1, 1],
            vec![1, 2, 3, 3, 3, 3, 4],
            (0..300).map(|i| (i / 7) as u8).collect(),
            vec![5; 1000],
            (0..=255).collect(),
        ];
        for c in cases {
            assert_eq!(unpack(&packbits(&c)), c);
        }
    }
}
