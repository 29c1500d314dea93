//! Pixel masks: rectangles in image coordinates that hide burned-in text.
//! The export overwrites the stored values under every rectangle in every
//! frame. Compressed sources are decoded first and written uncompressed
//! (explicit VR little endian, DECISIONS 24); an image that cannot be
//! decoded is not exported. Pure: no files, no store.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_pixeldata::PixelDecoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use serde::Serialize;

/// The transfer syntax of every masked file: explicit VR little endian.
pub const MASKED_TRANSFER_SYNTAX: &str =
    dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN.uid();

pub use crate::model::Rect;

/// What masking did to one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Masked {
    pub rectangles: usize,
    pub frames: u32,
    /// The source was compressed and is written uncompressed.
    pub decompressed: bool,
}

/// The layout of decoded pixel data.
struct Layout {
    rows: usize,
    columns: usize,
    frames: usize,
    samples: usize,
    planar: bool,
    bytes_per_sample: usize,
}

impl Layout {
    fn frame_len(&self) -> usize {
        self.rows * self.columns * self.samples * self.bytes_per_sample
    }
}

/// Masked, uncompressed pixel data and the attributes that describe it,
/// ready to replace those of the de-identified data set.
pub struct MaskedPixels {
    elements: Vec<DataElement<InMemDicomObject>>,
    pub masked: Masked,
}

impl MaskedPixels {
    /// Puts the masked pixels into `target` (the de-identified data set of
    /// the same source). The caller writes it with `MASKED_TRANSFER_SYNTAX`.
    pub fn put_into(self, target: &mut InMemDicomObject) {
        for e in self.elements {
            target.put(e);
        }
        // Attributes of encapsulated pixel data no longer apply.
        target.remove_element(tags::ENCAPSULATED_PIXEL_DATA_VALUE_TOTAL_LENGTH);
    }
}

/// Masks the pixels of `source` (a whole file, for its transfer syntax):
/// every rectangle, clipped to the image, in every frame.
pub fn apply(
    source: &FileDicomObject<InMemDicomObject>,
    rects: &[Rect],
) -> Result<MaskedPixels, String> {
    // Compressed pixels are the encapsulated ones; the registry knows which.
    let ts = source.meta().transfer_syntax().trim_end_matches('\0');
    let decompressed = TransferSyntaxRegistry
        .get(ts)
        .is_some_and(|t| t.is_encapsulated_pixel_data());
    // A malformed RLE header makes the codec allocate gigabytes or panic:
    // check it first, and turn any codec panic into a reason.
    if ts == dicom_transfer_syntax_registry::entries::RLE_LOSSLESS.uid() {
        crate::preview::check_rle_headers(source).map_err(|e| {
            format!("its pixel data needs a mask but cannot be decoded ({e}); not exported")
        })?;
    }
    let decoded =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| source.decode_pixel_data()))
            .map_err(|_| {
                "its pixel data needs a mask but the decoder failed on it; not exported".to_string()
            })?
            .map_err(|e| {
                format!("its pixel data needs a mask but cannot be decoded ({e}); not exported")
            })?;
    let photometric = decoded.photometric_interpretation().as_str().to_string();
    if photometric.ends_with("_422") || photometric.ends_with("_420") {
        return Err(format!(
            "its pixel data needs a mask but {photometric} subsampled pixels cannot be masked; not exported"
        ));
    }
    if !matches!(decoded.bits_allocated(), 8 | 16 | 32) {
        return Err(format!(
            "its pixel data needs a mask but {} bits allocated cannot be masked; not exported",
            decoded.bits_allocated()
        ));
    }
    let layout = Layout {
        rows: decoded.rows() as usize,
        columns: decoded.columns() as usize,
        frames: decoded.number_of_frames().max(1) as usize,
        samples: decoded.samples_per_pixel().max(1) as usize,
        planar: decoded.samples_per_pixel() > 1
            && matches!(
                decoded.planar_configuration(),
                dicom_pixeldata::PlanarConfiguration::PixelFirst
            ),
        bytes_per_sample: decoded.bits_allocated() as usize / 8,
    };
    let fill = fill_values(
        &photometric,
        decoded.bits_stored(),
        decoded.bits_allocated(),
        matches!(
            decoded.pixel_representation(),
            dicom_pixeldata::PixelRepresentation::Signed
        ),
        layout.samples,
    );
    let mut bytes = decoded.data().to_vec();
    if bytes.len() < layout.frame_len() * layout.frames {
        return Err(format!(
            "its pixel data needs a mask but holds {} bytes where {} frames of {}x{} need {}; not exported",
            bytes.len(),
            layout.frames,
            layout.rows,
            layout.columns,
            layout.frame_len() * layout.frames
        ));
    }
    fill_rects(&mut bytes, &layout, rects, &fill);
    let bits = decoded.bits_allocated();
    let planar = layout.planar;
    drop(decoded);
    let vr = if bits > 8 { VR::OW } else { VR::OB };
    let mut elements = vec![
        DataElement::new(tags::PIXEL_DATA, vr, PrimitiveValue::from(bytes)),
        DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from(photometric.as_str()),
        ),
    ];
    if layout.samples > 1 {
        elements.push(DataElement::new(
            tags::PLANAR_CONFIGURATION,
            VR::US,
            PrimitiveValue::from(u16::from(planar)),
        ));
    }
    Ok(MaskedPixels {
        elements,
        masked: Masked {
            rectangles: rects.len(),
            frames: layout.frames as u32,
            decompressed,
        },
    })
}

/// The stored value of each sample that renders as black (or, for
/// MONOCHROME1, where the lowest value is white, the highest).
fn fill_values(
    photometric: &str,
    bits_stored: u16,
    bits_allocated: u16,
    signed: bool,
    samples: usize,
) -> Vec<u32> {
    let bits = bits_stored.clamp(1, 32) as u32;
    let width_mask = if bits_allocated >= 32 {
        u32::MAX
    } else {
        (1u32 << bits_allocated) - 1
    };
    let (min, max): (i64, i64) = if signed {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    } else {
        (0, (1i64 << bits) - 1)
    };
    let stored = |v: i64| (v as u32) & width_mask;
    match photometric {
        "MONOCHROME1" => vec![stored(max); samples],
        p if p.starts_with("YBR") => {
            let mut v = vec![stored(1i64 << (bits - 1)); samples];
            v[0] = 0;
            v
        }
        _ => vec![stored(min); samples],
    }
}

/// Overwrites every sample under each rectangle (clipped to the image) in
/// every frame.
fn fill_rects(bytes: &mut [u8], l: &Layout, rects: &[Rect], fill: &[u32]) {
    let frame_len = l.frame_len();
    let bps = l.bytes_per_sample;
    for f in 0..l.frames {
        let frame = &mut bytes[f * frame_len..(f + 1) * frame_len];
        for r in rects {
            let x0 = (r.x as usize).min(l.columns);
            let x1 = (r.x as usize + r.width as usize).min(l.columns);
            let y0 = (r.y as usize).min(l.rows);
            let y1 = (r.y as usize + r.height as usize).min(l.rows);
            for y in y0..y1 {
                for x in x0..x1 {
                    for (s, value) in fill.iter().enumerate().take(l.samples) {
                        let index = if l.planar {
                            (s * l.rows + y) * l.columns + x
                        } else {
                            (y * l.columns + x) * l.samples + s
                        };
                        let at = index * bps;
                        frame[at..at + bps].copy_from_slice(&value.to_le_bytes()[..bps]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rectangles_parse_and_fit() {
        let r = Rect::parse("10, 0,20,5").unwrap();
        assert_eq!(
            r,
            Rect {
                x: 10,
                y: 0,
                width: 20,
                height: 5
            }
        );
        assert!(r.fits(5, 30));
        assert!(!r.fits(4, 30));
        assert!(!r.fits(5, 29));
        for bad in ["1,2,3", "1,2,3,0", "a,b,c,d", "-1,0,2,2", ""] {
            assert!(Rect::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fill_is_black_in_each_photometric_interpretation() {
        assert_eq!(fill_values("MONOCHROME2", 12, 16, false, 1), [0]);
        assert_eq!(fill_values("MONOCHROME2", 12, 16, true, 1), [0xF800]);
        assert_eq!(fill_values("MONOCHROME1", 12, 16, false, 1), [0x0FFF]);
        assert_eq!(fill_values("MONOCHROME1", 16, 16, true, 1), [0x7FFF]);
        assert_eq!(fill_values("RGB", 8, 8, false, 3), [0, 0, 0]);
        assert_eq!(fill_values("YBR_FULL", 8, 8, false, 3), [0, 128, 128]);
    }

    #[test]
    fn every_frame_and_every_sample_under_a_rectangle_is_overwritten() {
        // 2 frames of 3x4 RGB, planar and interleaved, 16-bit samples.
        for planar in [false, true] {
            let l = Layout {
                rows: 3,
                columns: 4,
                frames: 2,
                samples: 3,
                planar,
                bytes_per_sample: 2,
            };
            let mut bytes = vec![0xAAu8; l.frame_len() * 2];
            let rect = Rect {
                x: 1,
                y: 1,
                width: 9,
                height: 1,
            }; // clipped at the right edge
            fill_rects(&mut bytes, &l, &[rect], &[1, 2, 3]);
            for f in 0..2 {
                for s in 0..3 {
                    for y in 0..3 {
                        for x in 0..4 {
                            let index = if planar {
                                (s * 3 + y) * 4 + x
                            } else {
                                (y * 4 + x) * 3 + s
                            };
                            let at = f * l.frame_len() + index * 2;
                            let v = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
                            let inside = y == 1 && x >= 1;
                            let want = if inside { s as u16 + 1 } else { 0xAAAA };
                            assert_eq!(v, want, "planar {planar} frame {f} sample {s} at {x},{y}");
                        }
                    }
                }
            }
        }
    }
}
