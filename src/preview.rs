//! Pixels for a person to look at (the viewer, thumbnails, the review):
//! one frame decoded with dicom-pixeldata's pure-Rust codecs (native,
//! deflate, RLE, JPEG baseline and lossless, JPEG 2000 through openjp2) to
//! values with the Modality LUT applied (HU for CT), colour as RGB (planes
//! de-interleaved, YBR converted, PALETTE COLOR through its tables), 1-bit
//! frames unpacked; then windowed to RGBA8 as PS3.3 C.11.2.1.2.1 says.
//! Re-windowing reuses the decoded values (a drag never re-reads the file).
//! Every refusal is a reason for a placeholder, never a panic (a codec
//! that panics is caught), and a frame larger than [`MAX_SAMPLES`] is
//! refused before anything is allocated.

use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use dicom_pixeldata::PixelDecoder;

/// The most samples (rows x columns x samples per pixel) one frame may have:
/// 64 Mi f32 values (256 MiB); a 30,000 x 30,000 image is refused.
pub const MAX_SAMPLES: u64 = 64 * 1024 * 1024;

/// A window (center, width) in the frame's values (HU for CT).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub center: f64,
    pub width: f64,
}

/// The usual CT presets.
pub const PRESETS: [(&str, Window); 5] = [
    (
        "lung",
        Window {
            center: -600.0,
            width: 1500.0,
        },
    ),
    (
        "mediastinum",
        Window {
            center: 50.0,
            width: 350.0,
        },
    ),
    (
        "bone",
        Window {
            center: 400.0,
            width: 1800.0,
        },
    ),
    (
        "brain",
        Window {
            center: 40.0,
            width: 80.0,
        },
    ),
    (
        "abdomen",
        Window {
            center: 40.0,
            width: 400.0,
        },
    ),
];

/// One decoded frame.
#[derive(Debug, Clone)]
pub struct Frame {
    pub rows: u32,
    pub columns: u32,
    /// 1 (grey) or 3 (RGB, from RGB or YBR).
    pub samples: u16,
    /// Grey: stored values through the Modality LUT; colour: 0-255 per sample.
    pub values: Vec<f32>,
    /// MONOCHROME1: low values display white.
    pub monochrome1: bool,
    /// The first window the header gives, if any ("from file").
    pub header_window: Option<Window>,
}

fn number(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<f64> {
    let e = obj.get(tag)?;
    let text = e.to_str().ok()?;
    text.split('\\').next()?.trim().parse().ok()
}

fn text(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
        .unwrap_or_default()
}

/// The name of a transfer syntax for a person ("JPEG-LS Lossless Image
/// Compression"), or its UID when the registry does not know it.
pub fn transfer_syntax_name(uid: &str) -> String {
    use dicom_encoding::TransferSyntaxIndex;
    let uid = uid.trim_end_matches('\0').trim();
    dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(uid)
        .map(|t| t.name().to_string())
        .unwrap_or_else(|| {
            if uid.is_empty() {
                "unknown transfer syntax".into()
            } else {
                uid.to_string()
            }
        })
}

/// Decodes frame `index` (from 0), or says why it cannot be shown.
pub fn decode_frame(obj: &DefaultDicomObject, index: u32) -> Result<Frame, String> {
    let rows = number(obj, tags::ROWS).unwrap_or(0.0) as u64;
    let columns = number(obj, tags::COLUMNS).unwrap_or(0.0) as u64;
    let samples = number(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1.0) as u64;
    let frames = number(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1.0).max(1.0) as u32;
    let bits = number(obj, tags::BITS_ALLOCATED).unwrap_or(0.0) as u64;
    let photometric = text(obj, tags::PHOTOMETRIC_INTERPRETATION);
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err("the object has no pixel data".into());
    }
    if rows == 0 || columns == 0 {
        return Err(format!("the image is {columns} x {rows}: nothing to show"));
    }
    if rows * columns * samples.max(1) > MAX_SAMPLES {
        return Err(format!(
            "the image is {columns} x {rows} x {samples}: larger than the preview's limit of {MAX_SAMPLES} samples per frame"
        ));
    }
    if index >= frames {
        return Err(format!("frame {} of {frames} does not exist", index + 1));
    }
    if bits != 8 && bits != 16 && bits != 1 {
        return Err(format!("Bits Allocated {bits} is not shown (8 and 16 are)"));
    }
    if samples != 1 && samples != 3 {
        return Err(format!(
            "{samples} samples per pixel are not shown (1 and 3 are)"
        ));
    }
    let palette = if photometric == "PALETTE COLOR" {
        Some(Palette::from_header(obj)?)
    } else {
        None
    };
    if bits == 1 {
        return bitmap_frame(obj, &ts, rows, columns, samples, index, &photometric);
    }
    let cannot = |why: String| format!("cannot decode {} pixels: {why}", transfer_syntax_name(&ts));
    if ts == RLE_LOSSLESS {
        check_rle_headers(obj).map_err(cannot)?;
    }
    // A codec that panics on malformed data (seen in the RLE adapter) must
    // give a placeholder, not take the worker down.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        obj.decode_pixel_data_frame(index)
    }))
    .map_err(|_| cannot("the decoder failed on malformed data".into()))?
    .map_err(|e| cannot(e.to_string()))?;
    let values: Vec<f32> = if let Some(palette) = &palette {
        let indices = decoded
            .to_vec_frame::<u16>(0)
            .map_err(|e| format!("cannot convert the palette indices: {e}"))?;
        palette.apply(&indices)
    } else if samples == 3 {
        colour_values(&decoded, rows as usize * columns as usize)?
    } else {
        decoded
            .to_vec_frame::<f32>(0)
            .map_err(|e| format!("cannot convert the pixels: {e}"))?
    };
    let samples = if palette.is_some() { 3 } else { samples };
    let expected = (rows * columns * samples) as usize;
    if values.len() != expected {
        return Err(format!(
            "the {} pixel data holds {} values where {columns} x {rows} x {samples} need {expected}",
            transfer_syntax_name(&ts),
            values.len()
        ));
    }
    let header_window = match (
        number(obj, tags::WINDOW_CENTER),
        number(obj, tags::WINDOW_WIDTH),
    ) {
        (Some(center), Some(width)) if width >= 1.0 => Some(Window { center, width }),
        _ => None,
    };
    Ok(Frame {
        rows: rows as u32,
        columns: columns as u32,
        samples: samples as u16,
        values,
        monochrome1: photometric == "MONOCHROME1",
        header_window,
    })
}

const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// One frame of a 1-bit image (a binary segmentation, an overlay-like
/// mask): values 0 and 1. Frames are packed back to back without padding
/// (PS3.5 8.1.1), so frame `index` starts at bit `index x rows x columns`,
/// least significant bit first. Native little endian only.
fn bitmap_frame(
    obj: &DefaultDicomObject,
    ts: &str,
    rows: u64,
    columns: u64,
    samples: u64,
    index: u32,
    photometric: &str,
) -> Result<Frame, String> {
    use dicom_core::value::Value;
    if samples != 1 {
        return Err(format!(
            "1-bit images with {samples} samples per pixel are not shown"
        ));
    }
    if !matches!(
        ts,
        "1.2.840.10008.1.2" | "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2.1.99"
    ) {
        return Err(format!(
            "1-bit pixels in {} are not shown (native little endian ones are)",
            transfer_syntax_name(ts)
        ));
    }
    let bytes = match obj.get(tags::PIXEL_DATA).map(|e| e.value()) {
        Some(Value::Primitive(p)) => p.to_bytes(),
        _ => return Err("the 1-bit pixel data is not a plain value".into()),
    };
    let pixels = rows * columns;
    let first = u64::from(index) * pixels;
    if (first + pixels).div_ceil(8) > bytes.len() as u64 {
        return Err(format!(
            "the {} pixel data holds {} bytes, too few for frame {} of {columns} x {rows} bits",
            transfer_syntax_name(ts),
            bytes.len(),
            index + 1
        ));
    }
    let values = (first..first + pixels)
        .map(|bit| f32::from((bytes[(bit / 8) as usize] >> (bit % 8)) & 1))
        .collect();
    Ok(Frame {
        rows: rows as u32,
        columns: columns as u32,
        samples: 1,
        values,
        monochrome1: photometric == "MONOCHROME1",
        header_window: None,
    })
}

/// Checks every RLE fragment's header (PS3.5 G.3.1: at most 15 segments,
/// offsets inside the fragment) before the codec reads it: its adapter
/// trusts the header, and a bad segment count can make it allocate
/// gigabytes or panic. Anything that decodes RLE from untrusted files
/// (the export's masking too) should call this first.
pub fn check_rle_headers(obj: &DefaultDicomObject) -> Result<(), String> {
    let Some(fragments) = obj.get(tags::PIXEL_DATA).and_then(|e| e.fragments()) else {
        return Err("the pixel data is not encapsulated".into());
    };
    for (i, f) in fragments.iter().enumerate() {
        let word = |at: usize| u32::from_le_bytes([f[at], f[at + 1], f[at + 2], f[at + 3]]);
        if f.len() < 64 {
            return Err(format!("fragment {} is shorter than an RLE header", i + 1));
        }
        let segments = word(0) as usize;
        if segments == 0 || segments > 15 {
            return Err(format!(
                "fragment {} declares {segments} RLE segments (1 to 15 are possible)",
                i + 1
            ));
        }
        for s in 0..segments {
            let offset = word(4 + 4 * s) as usize;
            if offset < 64 || offset >= f.len() {
                return Err(format!(
                    "fragment {} has an RLE segment outside its {} bytes",
                    i + 1,
                    f.len()
                ));
            }
        }
    }
    Ok(())
}

/// One colour frame as interleaved RGB, 0-255 per sample: planes
/// de-interleaved (planar configuration 1), YBR_FULL and YBR_FULL_422
/// converted to RGB (PS3.3 C.7.6.3.1.2), 16-bit samples scaled to 8 bits.
/// (The codecs already deliver RGB for JPEG and JPEG 2000.)
fn colour_values(
    decoded: &dicom_pixeldata::DecodedPixelData<'_>,
    pixels: usize,
) -> Result<Vec<f32>, String> {
    let data = decoded
        .frame_data(0)
        .map_err(|e| format!("cannot read the colour pixels: {e}"))?;
    let raw: Vec<f32> = match decoded.bits_allocated() {
        8 => data.iter().map(|v| f32::from(*v)).collect(),
        16 => {
            let max = ((1u32 << decoded.bits_stored().clamp(1, 16)) - 1) as f32;
            data.chunks_exact(2)
                .map(|b| (f32::from(u16::from_le_bytes([b[0], b[1]])) * 255.0 / max).min(255.0))
                .collect()
        }
        b => return Err(format!("colour with Bits Allocated {b} is not shown")),
    };
    let photometric = decoded.photometric_interpretation().as_str().to_string();
    if photometric == "YBR_FULL_422" {
        // Two pixels share Cb and Cr: Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2).
        if raw.len() != pixels * 2 {
            return Err(format!(
                "the YBR_FULL_422 pixel data holds {} samples where {} pixels need {}",
                raw.len(),
                pixels,
                pixels * 2
            ));
        }
        let mut out = Vec::with_capacity(pixels * 3);
        for q in raw.chunks_exact(4) {
            out.extend(ybr_to_rgb(q[0], q[2], q[3]));
            out.extend(ybr_to_rgb(q[1], q[2], q[3]));
        }
        return Ok(out);
    }
    if raw.len() != pixels * 3 {
        return Err(format!(
            "the colour pixel data holds {} samples where {pixels} pixels need {}",
            raw.len(),
            pixels * 3
        ));
    }
    let interleaved = match decoded.planar_configuration() {
        // Planar configuration 1: all reds, then all greens, then blues.
        dicom_pixeldata::PlanarConfiguration::PixelFirst => {
            let (r, rest) = raw.split_at(pixels);
            let (g, b) = rest.split_at(pixels);
            (0..pixels).flat_map(|i| [r[i], g[i], b[i]]).collect()
        }
        dicom_pixeldata::PlanarConfiguration::Standard => raw,
    };
    Ok(match photometric.as_str() {
        "YBR_FULL" => interleaved
            .chunks_exact(3)
            .flat_map(|p| ybr_to_rgb(p[0], p[1], p[2]))
            .collect(),
        "RGB" => interleaved,
        other => {
            return Err(format!(
                "colour in {other} is not shown (RGB and YBR_FULL are)"
            ))
        }
    })
}

/// YBR_FULL to RGB as PS3.3 C.7.6.3.1.2 defines it.
fn ybr_to_rgb(y: f32, cb: f32, cr: f32) -> [f32; 3] {
    let (cb, cr) = (cb - 128.0, cr - 128.0);
    [
        (y + 1.402 * cr).round().clamp(0.0, 255.0),
        (y - 0.344_136 * cb - 0.714_136 * cr)
            .round()
            .clamp(0.0, 255.0),
        (y + 1.772 * cb).round().clamp(0.0, 255.0),
    ]
}

/// The red, green and blue palette lookup tables of a PALETTE COLOR image
/// (PS3.3 C.7.6.3.1.5), each to 0-255.
struct Palette {
    first_mapped: i64,
    tables: [Vec<u8>; 3],
}

impl Palette {
    fn from_header(obj: &DefaultDicomObject) -> Result<Palette, String> {
        if obj
            .get(tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA)
            .is_some()
        {
            return Err("PALETTE COLOR with segmented lookup tables is not shown".into());
        }
        let mut first_mapped = 0;
        let mut tables: [Vec<u8>; 3] = Default::default();
        let channels = [
            (
                tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            ),
            (
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            ),
            (
                tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            ),
        ];
        for (i, (descriptor, data)) in channels.into_iter().enumerate() {
            let missing = || "PALETTE COLOR without its lookup tables cannot be shown".to_string();
            let d: Vec<i64> = obj
                .get(descriptor)
                .and_then(|e| e.to_multi_int::<i64>().ok())
                .ok_or_else(missing)?;
            let [entries, first, bits] = d[..] else {
                return Err("a PALETTE COLOR lookup table descriptor without 3 values".into());
            };
            // 0 entries means 65536 (PS3.3 C.7.6.3.1.5); the first mapped
            // value may have been written as signed.
            let entries = if entries == 0 {
                65536
            } else {
                entries as usize & 0xFFFF
            };
            first_mapped = first & 0xFFFF;
            let words: Vec<u16> = match obj.get(data).map(|e| e.value()) {
                Some(dicom_core::value::Value::Primitive(dicom_core::PrimitiveValue::U16(w))) => {
                    w.to_vec()
                }
                Some(dicom_core::value::Value::Primitive(p)) => p
                    .to_bytes()
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect(),
                _ => return Err(missing()),
            };
            tables[i] = match bits {
                16 if words.len() >= entries => words[..entries].iter().map(|w| (w >> 8) as u8).collect(),
                // 8-bit entries: one per 16-bit word, or two packed in each.
                8 if words.len() >= entries => words[..entries].iter().map(|w| (w & 0xFF) as u8).collect(),
                8 if words.len() * 2 >= entries => words
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .take(entries)
                    .collect(),
                _ => {
                    return Err(format!(
                        "a PALETTE COLOR lookup table of {entries} entries of {bits} bits holds {} words",
                        words.len()
                    ))
                }
            };
        }
        Ok(Palette {
            first_mapped,
            tables,
        })
    }

    /// Interleaved RGB of each index; indices outside the table take its
    /// first or last entry.
    fn apply(&self, indices: &[u16]) -> Vec<f32> {
        let mut out = Vec::with_capacity(indices.len() * 3);
        for &v in indices {
            let at = i64::from(v) - self.first_mapped;
            for t in &self.tables {
                let i = at.clamp(0, t.len() as i64 - 1) as usize;
                out.push(f32::from(t[i]));
            }
        }
        out
    }
}

/// The window to start with: the header's, else the values' full range.
pub fn initial_window(f: &Frame) -> Window {
    if let Some(w) = f.header_window {
        return w;
    }
    let (lo, hi) = f
        .values
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    if lo > hi {
        return Window {
            center: 0.0,
            width: 1.0,
        };
    }
    Window {
        center: (f64::from(lo) + f64::from(hi)) / 2.0,
        width: (f64::from(hi) - f64::from(lo)).max(1.0),
    }
}

/// One value through the linear VOI function of PS3.3 C.11.2.1.2.1 to 0-255.
pub fn window_value(x: f64, w: Window) -> u8 {
    let (c, width) = (w.center, w.width.max(1.0));
    if x <= c - 0.5 - (width - 1.0) / 2.0 {
        0
    } else if x > c - 0.5 + (width - 1.0) / 2.0 {
        255
    } else {
        (((x - (c - 0.5)) / (width - 1.0) + 0.5) * 255.0)
            .round()
            .clamp(0.0, 255.0) as u8
    }
}

/// The frame as RGBA8 under window `w` (grey; MONOCHROME1 inverted), or its
/// colours as they are. Rows are windowed in parallel; when every value is
/// an integer in a range of at most [`LUT_MAX_RANGE`] (stored values through
/// an integer rescale: nearly every CT and MR), each distinct value is
/// windowed once into a table by [`window_value`] itself, so the result is
/// the same as windowing every pixel.
pub fn window_rgba(f: &Frame, w: Window) -> Vec<u8> {
    use rayon::prelude::*;
    let pixels = f.rows as usize * f.columns as usize;
    let mut out = vec![255u8; pixels * 4];
    // Rows per parallel task: enough work to outweigh scheduling.
    let chunk = (f.columns as usize).max(1) * 16;
    if f.samples == 3 {
        out.par_chunks_mut(chunk * 4)
            .zip(f.values.par_chunks(chunk * 3))
            .for_each(|(o, v)| {
                for (px, c) in o.chunks_exact_mut(4).zip(v.chunks_exact(3)) {
                    px[..3].copy_from_slice(&[c[0] as u8, c[1] as u8, c[2] as u8]);
                }
            });
        return out;
    }
    let invert = |g: u8| if f.monochrome1 { 255 - g } else { g };
    match integral_range(&f.values) {
        Some((low, high)) => {
            // Whole RGBA pixels in the table: one 4-byte copy per pixel.
            let lut: Vec<[u8; 4]> = (low..=high)
                .map(|v| {
                    let g = invert(window_value(v as f64, w));
                    [g, g, g, 255]
                })
                .collect();
            out.par_chunks_mut(chunk * 4)
                .zip(f.values.par_chunks(chunk))
                .for_each(|(o, v)| {
                    for (px, x) in o.chunks_exact_mut(4).zip(v) {
                        px.copy_from_slice(&lut[(*x as i64 - low) as usize]);
                    }
                });
        }
        None => {
            out.par_chunks_mut(chunk * 4)
                .zip(f.values.par_chunks(chunk))
                .for_each(|(o, v)| {
                    for (px, x) in o.chunks_exact_mut(4).zip(v) {
                        let g = invert(window_value(f64::from(*x), w));
                        px[..3].copy_from_slice(&[g, g, g]);
                    }
                });
        }
    }
    out
}

/// The widest value range windowed through a table (1 Mi entries).
pub const LUT_MAX_RANGE: i64 = 1 << 20;

/// (lowest, highest) when every value is an integer and the range fits
/// [`LUT_MAX_RANGE`].
fn integral_range(values: &[f32]) -> Option<(i64, i64)> {
    use rayon::prelude::*;
    // Eight independent lanes and branch-free selects, so that the loop
    // vectorises; a cast round trip rather than `fract()` (a libm call per
    // value). NaN fails the round trip (NaN as i32 is 0), infinities and
    // huge values saturate and fail it or the range check below.
    let scan = |chunk: &[f32]| {
        let mut low = [f32::INFINITY; 8];
        let mut high = [f32::NEG_INFINITY; 8];
        let mut integral = [true; 8];
        let lanes = chunk.chunks_exact(8);
        let rest = lanes.remainder();
        for c in lanes {
            for i in 0..8 {
                let v = c[i];
                integral[i] &= (v as i32) as f32 == v;
                low[i] = if v < low[i] { v } else { low[i] };
                high[i] = if v > high[i] { v } else { high[i] };
            }
        }
        for &v in rest {
            integral[0] &= (v as i32) as f32 == v;
            low[0] = low[0].min(v);
            high[0] = high[0].max(v);
        }
        (
            integral.iter().all(|b| *b),
            low.iter().fold(f32::INFINITY, |a, b| a.min(*b)),
            high.iter().fold(f32::NEG_INFINITY, |a, b| a.max(*b)),
        )
    };
    let (integral, low, high) = values.par_chunks(64 * 1024).map(scan).reduce(
        || (true, f32::INFINITY, f32::NEG_INFINITY),
        |a, b| (a.0 && b.0, a.1.min(b.1), a.2.max(b.2)),
    );
    if !integral || low > high || f64::from(high) - f64::from(low) >= LUT_MAX_RANGE as f64 {
        return None;
    }
    Some((low as i64, high as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    use std::path::Path;

    fn fixture(name: &str) -> DefaultDicomObject {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/real")
            .join(name);
        dicom_object::open_file(p).unwrap()
    }

    #[test]
    fn the_linear_window_follows_the_standard_at_its_edges() {
        let w = Window {
            center: 40.0,
            width: 400.0,
        };
        // Edges: c - 0.5 - (w-1)/2 = -160 and c - 0.5 + (w-1)/2 = 239.
        assert_eq!(window_value(-160.0, w), 0);
        assert_eq!(window_value(-159.0, w), 1);
        assert_eq!(window_value(239.0, w), 255);
        assert_eq!(window_value(240.0, w), 255);
        assert_eq!(window_value(39.5, w), 128);
        let f = Frame {
            rows: 1,
            columns: 2,
            samples: 1,
            values: vec![-1000.0, 1000.0],
            monochrome1: true,
            header_window: None,
        };
        assert_eq!(
            window_rgba(&f, w),
            [255, 255, 255, 255, 0, 0, 0, 255],
            "inverted"
        );
        assert_eq!(
            initial_window(&f),
            Window {
                center: 0.0,
                width: 2000.0
            }
        );
    }

    #[test]
    fn the_table_and_the_per_pixel_window_agree() {
        // 50 rows of 28: several parallel chunks.
        let integral: Vec<f32> = (0..1400).map(|i| (i * 3 - 1100) as f32).collect();
        let fractional: Vec<f32> = integral.iter().map(|v| v + 0.25).collect();
        let windows = PRESETS.iter().map(|p| p.1).chain([
            Window {
                center: 0.5,
                width: 1.0,
            },
            Window {
                center: 10.0,
                width: 2.0,
            },
        ]);
        for w in windows {
            for monochrome1 in [false, true] {
                for values in [&integral, &fractional] {
                    let f = Frame {
                        rows: 50,
                        columns: 28,
                        samples: 1,
                        values: values.clone(),
                        monochrome1,
                        header_window: None,
                    };
                    let got = window_rgba(&f, w);
                    assert_eq!(got.len(), 1400 * 4);
                    for (i, v) in values.iter().enumerate() {
                        let g = window_value(f64::from(*v), w);
                        let g = if monochrome1 { 255 - g } else { g };
                        assert_eq!(got[i * 4..i * 4 + 4], [g, g, g, 255], "{v} under {w:?}");
                    }
                }
            }
        }
        assert_eq!(integral_range(&integral), Some((-1100, 3097)));
        assert_eq!(integral_range(&fractional), None);
        assert_eq!(integral_range(&[0.0, f32::NAN]), None);
        assert_eq!(integral_range(&[0.0, 2e6]), None, "too wide for a table");
    }

    #[test]
    fn one_bit_frames_are_unpacked_from_their_bit_offset() {
        // 3 frames of 2 x 3 = 6 bits each, packed without padding:
        // frame 0 = 101100, frame 1 = 011111, frame 2 = 000001.
        let bits = "101100011111000001";
        let mut packed = vec![0u8; 4];
        for (i, b) in bits.chars().enumerate() {
            if b == '1' {
                packed[i / 8] |= 1 << (i % 8);
            }
        }
        let mut obj = image(2, 3, 1, "MONOCHROME2", packed);
        obj.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("3"),
        ));
        for (frame, want) in ["101100", "011111", "000001"].iter().enumerate() {
            let f = decode_frame(&obj, frame as u32).unwrap();
            let got: String = f
                .values
                .iter()
                .map(|v| if *v == 1.0 { '1' } else { '0' })
                .collect();
            assert_eq!(&got, want, "frame {frame}");
        }
        obj.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("6"),
        ));
        let e = decode_frame(&obj, 5).unwrap_err();
        assert!(e.contains("too few for frame 6"), "{e}");
    }

    #[test]
    fn ct_values_are_stored_values_through_the_rescale() {
        let obj = fixture("CT_small.dcm");
        let f = decode_frame(&obj, 0).unwrap();
        assert_eq!((f.rows, f.columns, f.samples), (128, 128, 1));
        let slope = number(&obj, tags::RESCALE_SLOPE).unwrap_or(1.0);
        let intercept = number(&obj, tags::RESCALE_INTERCEPT).unwrap_or(0.0);
        let raw = obj.get(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
        let signed = number(&obj, tags::PIXEL_REPRESENTATION) == Some(1.0);
        for i in [0usize, 1, 500, 128 * 128 - 1] {
            let b = [raw[2 * i], raw[2 * i + 1]];
            let stored = if signed {
                f64::from(i16::from_le_bytes(b))
            } else {
                f64::from(u16::from_le_bytes(b))
            };
            assert_eq!(
                f64::from(f.values[i]),
                stored * slope + intercept,
                "pixel {i}"
            );
        }
    }

    #[test]
    fn rle_decodes_to_the_same_values_as_the_native_copy() {
        let native = decode_frame(&fixture("MR_small_implicit.dcm"), 0).unwrap();
        let rle = decode_frame(&fixture("MR_small_RLE.dcm"), 0).unwrap();
        assert_eq!(native.values, rle.values);
        let big = decode_frame(&fixture("MR_small_bigendian.dcm"), 0).unwrap();
        assert_eq!(native.values, big.values, "big endian too");
        let colour = decode_frame(&fixture("SC_rgb_jpeg_dcmtk.dcm"), 0).unwrap();
        assert_eq!(colour.samples, 3);
        assert_eq!(
            window_rgba(&colour, initial_window(&colour)).len(),
            colour.values.len() / 3 * 4
        );
    }

    #[test]
    fn what_the_stack_cannot_decode_gets_a_reason() {
        for name in ["MR_small_jpeg_ls_lossless.dcm", "JPGExtended.dcm"] {
            let e = decode_frame(&fixture(name), 0).unwrap_err();
            assert!(e.contains("cannot decode"), "{name}: {e}");
        }
        assert!(decode_frame(&fixture("CT_small.dcm"), 1)
            .unwrap_err()
            .contains("does not exist"));
    }

    fn image(
        rows: u16,
        columns: u16,
        bits: u16,
        photometric: &str,
        pixels: Vec<u8>,
    ) -> DefaultDicomObject {
        let mut o = InMemDicomObject::new_empty();
        let put = |o: &mut InMemDicomObject, tag, vr, v: PrimitiveValue| {
            o.put(DataElement::new(tag, vr, v))
        };
        put(
            &mut o,
            tags::SOP_CLASS_UID,
            VR::UI,
            "1.2.840.10008.5.1.4.1.1.7".into(),
        );
        put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, "2.25.9".into());
        put(&mut o, tags::ROWS, VR::US, PrimitiveValue::from(rows));
        put(&mut o, tags::COLUMNS, VR::US, PrimitiveValue::from(columns));
        put(
            &mut o,
            tags::SAMPLES_PER_PIXEL,
            VR::US,
            PrimitiveValue::from(1u16),
        );
        put(
            &mut o,
            tags::BITS_ALLOCATED,
            VR::US,
            PrimitiveValue::from(bits),
        );
        put(
            &mut o,
            tags::BITS_STORED,
            VR::US,
            PrimitiveValue::from(bits),
        );
        put(
            &mut o,
            tags::HIGH_BIT,
            VR::US,
            PrimitiveValue::from(bits - 1),
        );
        put(
            &mut o,
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(0u16),
        );
        put(
            &mut o,
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            photometric.into(),
        );
        put(
            &mut o,
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(pixels),
        );
        o.with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
                .media_storage_sop_instance_uid("2.25.9"),
        )
        .unwrap()
    }

    #[test]
    fn hostile_images_are_refused_with_a_reason_and_without_allocating() {
        let cases = [
            (image(0, 0, 8, "MONOCHROME2", vec![]), "0 x 0"),
            (
                image(30_000, 30_000, 16, "MONOCHROME2", vec![0; 4]),
                "limit",
            ),
            (
                image(2, 2, 32, "MONOCHROME2", vec![0; 16]),
                "Bits Allocated 32",
            ),
            (image(2, 2, 8, "PALETTE COLOR", vec![0; 4]), "PALETTE COLOR"),
            (image(4, 4, 8, "MONOCHROME2", vec![0; 3]), "cannot"),
        ];
        for (obj, want) in cases {
            let e = decode_frame(&obj, 0).unwrap_err();
            assert!(e.contains(want), "{want}: {e}");
        }
        let ok = decode_frame(&image(2, 2, 8, "MONOCHROME1", vec![0, 85, 170, 255]), 0).unwrap();
        let rgba = window_rgba(
            &ok,
            Window {
                center: 127.5,
                width: 256.0,
            },
        );
        assert_eq!([rgba[0], rgba[12]], [255, 0], "MONOCHROME1: 0 is white");
    }
}
