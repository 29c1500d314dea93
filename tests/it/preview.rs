//! Pixels for the viewer (issue 11): each supported transfer syntax decodes
//! to known values (real fixtures, and images built here), what the stack
//! cannot decode gets a reason naming the transfer syntax, hostile images
//! are refused with a reason, and the de-identified preview is exactly the
//! exported file's pixels, masked and unmasked.

use crate::common::*;
use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, FileMetaTableBuilder, InMemDicomObject};
use pacs_cohort::engine::ProfileChoices;
use pacs_cohort::model::Rect;
use pacs_cohort::preview::{self, decode_frame, window_rgba, Frame, Window};
use pacs_cohort::Engine;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const RLE: &str = "1.2.840.10008.1.2.5";

/// A file of tests/fixtures/real, or of tests/fixtures/codecs (the codec
/// fixtures, kept apart: other tests index tests/fixtures/real whole).
fn fixture_path(name: &str) -> PathBuf {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    let real = root.join("real").join(name);
    if real.exists() {
        real
    } else {
        root.join("codecs").join(name)
    }
}

fn fixture(name: &str) -> DefaultDicomObject {
    dicom_object::open_file(fixture_path(name)).unwrap()
}

fn frame(name: &str) -> Frame {
    decode_frame(&fixture(name), 0).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn at(f: &Frame, row: usize, column: usize) -> &[f32] {
    let s = f.samples as usize;
    &f.values[(row * f.columns as usize + column) * s..][..s]
}

/// The stored values of an uncompressed little-endian 16-bit Pixel Data.
fn stored_le16(obj: &DefaultDicomObject, signed: bool) -> Vec<f32> {
    let raw = obj.get(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    raw.chunks_exact(2)
        .map(|b| {
            if signed {
                f32::from(i16::from_le_bytes([b[0], b[1]]))
            } else {
                f32::from(u16::from_le_bytes([b[0], b[1]]))
            }
        })
        .collect()
}

#[test]
fn native_transfer_syntaxes_decode_to_the_stored_values() {
    // Implicit VR little endian: MR_small is signed 16-bit without rescale.
    let implicit = fixture("MR_small_implicit.dcm");
    let values = frame("MR_small_implicit.dcm").values;
    assert_eq!(values.len(), 64 * 64);
    assert_eq!(values, stored_le16(&implicit, true));
    // The same instance big endian and RLE: the same values.
    assert_eq!(frame("MR_small_bigendian.dcm").values, values, "big endian");
    assert_eq!(frame("MR_small_RLE.dcm").values, values, "RLE");
    // Deflated explicit VR little endian, written here from the same data set.
    let tmp = tempfile::tempdir().unwrap();
    let deflated = tmp.path().join("deflated.dcm");
    let obj = implicit.into_inner();
    obj.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(DEFLATED)
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.4")
            .media_storage_sop_instance_uid("2.25.1"),
    )
    .unwrap()
    .write_to_file(&deflated)
    .unwrap();
    let read = dicom_object::open_file(&deflated).unwrap();
    assert_eq!(
        read.meta().transfer_syntax().trim_end_matches('\0'),
        DEFLATED
    );
    assert_eq!(decode_frame(&read, 0).unwrap().values, values, "deflate");
}

#[test]
fn compressed_transfer_syntaxes_decode_to_known_values() {
    let native = frame("MR_small_implicit.dcm").values;
    // JPEG 2000 lossless (openjp2): exactly the native copy's values.
    let j2k = frame("MR_small_jp2klossless.dcm");
    assert_eq!(j2k.values, native, "JPEG 2000 lossless");
    // JPEG lossless, process 14 SV1: the values pydicom 3.0.2 with
    // pylibjpeg-libjpeg decodes (an independent decoder), sum and points.
    let ll = frame("JPEG-LL.dcm");
    assert_eq!((ll.rows, ll.columns, ll.samples), (1024, 256, 1));
    let sum: f64 = ll.values.iter().map(|v| f64::from(*v)).sum();
    assert_eq!(sum, 3_596_452.0, "JPEG lossless");
    for ((r, c), want) in [
        ((420, 140), 227.0),
        ((230, 120), 105.0),
        ((512, 128), 13.0),
        ((600, 100), 23.0),
        ((1023, 255), 0.0),
    ] {
        assert_eq!(at(&ll, r, c), [want], "JPEG lossless ({r},{c})");
    }
    // JPEG baseline, YBR_FULL in the stream: RGB within the rounding two
    // conforming IDCTs may differ by (pydicom 3.0.2 + pylibjpeg-libjpeg).
    let jpeg = frame("SC_rgb_jpeg_dcmtk.dcm");
    assert_eq!((jpeg.rows, jpeg.columns, jpeg.samples), (100, 100, 3));
    for ((r, c), want) in [
        ((0, 0), [254.0, 0.0, 0.0]),
        ((10, 10), [255.0, 127.0, 132.0]),
        ((25, 50), [0.0, 255.0, 5.0]),
        ((50, 25), [125.0, 130.0, 255.0]),
        ((99, 99), [255.0, 255.0, 255.0]),
    ] {
        let got = at(&jpeg, r, c);
        for s in 0..3 {
            assert!(
                (got[s] - want[s]).abs() <= 3.0,
                "JPEG baseline ({r},{c}): {got:?} vs {want:?}"
            );
        }
    }
    let sum: f64 = jpeg.values.iter().map(|v| f64::from(*v)).sum();
    assert!((sum - 3_832_000.0).abs() / 3_832_000.0 < 0.005, "{sum}");
}

#[test]
fn jpeg_ls_and_12_bit_jpeg_get_a_placeholder_naming_the_transfer_syntax() {
    for (name, syntax) in [
        ("MR_small_jpeg_ls_lossless.dcm", "JPEG-LS Lossless"),
        ("JPEGLSNearLossless_16.dcm", "JPEG-LS"),
        ("JPGExtended.dcm", "JPEG Extended"),
    ] {
        let e = decode_frame(&fixture(name), 0).unwrap_err();
        assert!(e.contains("cannot decode"), "{name}: {e}");
        assert!(e.contains(syntax), "{name}: {e} names {syntax}");
    }
    // Pixel data cut short in the file: reading it says why (the viewer
    // shows that reason), or, if a reader tolerates it, decoding does.
    match pacs_cohort::dicom::read_whole(&fixture_path("MR_truncated.dcm")) {
        Err(e) => assert!(!e.is_empty()),
        Ok(obj) => {
            let e = decode_frame(&obj, 0).unwrap_err();
            assert!(e.contains("pixel data"), "truncated: {e}");
        }
    }
}

/// A native image built here: `pixels` are the Pixel Data bytes (or an
/// encapsulated value), the rest of the header as given.
struct Image {
    rows: u16,
    columns: u16,
    samples: u16,
    bits: u16,
    stored: u16,
    signed: bool,
    photometric: &'static str,
    frames: Option<&'static str>,
    planar: Option<u16>,
    extra: Vec<DataElement<InMemDicomObject>>,
}

impl Image {
    fn grey(rows: u16, columns: u16, bits: u16) -> Image {
        Image {
            rows,
            columns,
            samples: 1,
            bits,
            stored: bits,
            signed: false,
            photometric: "MONOCHROME2",
            frames: None,
            planar: None,
            extra: Vec::new(),
        }
    }

    fn build(self, ts: &str, pixels: Value<InMemDicomObject>) -> DefaultDicomObject {
        let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
        let mut o = InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7"),
            ),
            DataElement::new(
                tags::SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from("2.25.11"),
            ),
            us(tags::ROWS, self.rows),
            us(tags::COLUMNS, self.columns),
            us(tags::SAMPLES_PER_PIXEL, self.samples),
            us(tags::BITS_ALLOCATED, self.bits),
            us(tags::BITS_STORED, self.stored),
            us(tags::HIGH_BIT, self.stored.saturating_sub(1)),
            us(tags::PIXEL_REPRESENTATION, u16::from(self.signed)),
            DataElement::new(
                tags::PHOTOMETRIC_INTERPRETATION,
                VR::CS,
                PrimitiveValue::from(self.photometric),
            ),
        ]);
        if let Some(n) = self.frames {
            o.put(DataElement::new(
                tags::NUMBER_OF_FRAMES,
                VR::IS,
                PrimitiveValue::from(n),
            ));
        }
        if let Some(p) = self.planar {
            o.put(us(tags::PLANAR_CONFIGURATION, p));
        }
        for e in self.extra {
            o.put(e);
        }
        // Encapsulated pixel data is OB (PS3.5 A.4).
        let encapsulated = matches!(pixels, Value::PixelSequence(_));
        let vr = if self.bits > 8 && !encapsulated {
            VR::OW
        } else {
            VR::OB
        };
        o.put(DataElement::new(tags::PIXEL_DATA, vr, pixels));
        o.with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(ts)
                .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
                .media_storage_sop_instance_uid("2.25.11"),
        )
        .unwrap()
    }

    fn native(self, bytes: Vec<u8>) -> DefaultDicomObject {
        self.build(EXPLICIT_LE, Value::Primitive(PrimitiveValue::from(bytes)))
    }

    fn rle(self, fragments: Vec<Vec<u8>>) -> DefaultDicomObject {
        self.build(
            RLE,
            Value::PixelSequence(PixelFragmentSequence::new(Vec::<u32>::new(), fragments)),
        )
    }
}

fn le16(values: &[i32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|v| (*v as u16).to_le_bytes())
        .collect()
}

fn ds(tag: Tag, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::DS, PrimitiveValue::from(v))
}

#[test]
fn signed_values_go_through_the_rescale_and_monochrome1_displays_inverted() {
    // 12 bits stored, signed, in 16: the sign is bit 11.
    let stored = [-2048, -1, 0, 2047];
    let mut image = Image::grey(2, 2, 16);
    image.stored = 12;
    image.signed = true;
    image.photometric = "MONOCHROME1";
    image.extra = vec![
        ds(tags::RESCALE_SLOPE, "2"),
        ds(tags::RESCALE_INTERCEPT, "-1024"),
        ds(tags::WINDOW_CENTER, "-1024"),
        ds(tags::WINDOW_WIDTH, "4000"),
    ];
    let obj = image.native(le16(&stored));
    let f = decode_frame(&obj, 0).unwrap();
    let want: Vec<f32> = stored.iter().map(|s| (*s * 2 - 1024) as f32).collect();
    assert_eq!(f.values, want, "stored x slope + intercept");
    assert!(f.monochrome1);
    let w = preview::initial_window(&f);
    assert_eq!(
        w,
        Window {
            center: -1024.0,
            width: 4000.0
        },
        "from the file"
    );
    let rgba = window_rgba(&f, w);
    // -5120 is below the window: black in MONOCHROME2, white here.
    assert_eq!(rgba[..4], [255, 255, 255, 255]);
    assert_eq!(rgba[12..16], [0, 0, 0, 255], "the highest value is black");
    // The same image as MONOCHROME2 displays the other way round.
    let mut plain = Image::grey(2, 2, 16);
    plain.stored = 12;
    plain.signed = true;
    let f2 = decode_frame(&plain.native(le16(&stored)), 0).unwrap();
    assert_eq!(f2.values, [-2048.0, -1.0, 0.0, 2047.0]);
    let w = Window {
        center: 0.0,
        width: 4096.0,
    };
    let (a, b) = (
        window_rgba(&f2, w),
        window_rgba(
            &Frame {
                monochrome1: true,
                ..f2.clone()
            },
            w,
        ),
    );
    for i in 0..4 {
        assert_eq!(a[i * 4], 255 - b[i * 4], "pixel {i} inverted");
    }
}

#[test]
fn multi_frame_images_decode_each_frame_native_and_rle() {
    let (rows, columns) = (4u16, 5u16);
    let n = rows as usize * columns as usize;
    let frame_values = |f: usize| -> Vec<u16> { (0..n).map(|i| (f * 1000 + i) as u16).collect() };
    let mut native = Image::grey(rows, columns, 16);
    native.frames = Some("3");
    let bytes: Vec<u8> = (0..3)
        .flat_map(|f| frame_values(f).into_iter().flat_map(u16::to_le_bytes))
        .collect();
    let native = native.native(bytes);
    let mut rle = Image::grey(rows, columns, 16);
    rle.frames = Some("3");
    let rle = rle.rle(
        (0..3)
            .map(|f| pacs_cohort::dicom::write::rle_frame(&frame_values(f), 16))
            .collect(),
    );
    for obj in [&native, &rle] {
        for f in 0..3 {
            let want: Vec<f32> = frame_values(f).into_iter().map(f32::from).collect();
            assert_eq!(
                decode_frame(obj, f as u32).unwrap().values,
                want,
                "frame {f}"
            );
        }
        let e = decode_frame(obj, 3).unwrap_err();
        assert!(e.contains("frame 4 of 3 does not exist"), "{e}");
    }
}

#[test]
fn colour_images_show_as_rgb_whatever_their_layout() {
    // 2 x 2: red, green, blue, grey.
    let rgb: [[u8; 3]; 4] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]];
    let want: Vec<f32> = rgb.iter().flatten().map(|v| f32::from(*v)).collect();
    let colour = |photometric, planar, bytes: Vec<u8>| {
        let mut i = Image::grey(2, 2, 8);
        i.samples = 3;
        i.photometric = photometric;
        i.planar = Some(planar);
        decode_frame(&i.native(bytes), 0)
    };
    let interleaved: Vec<u8> = rgb.iter().flatten().copied().collect();
    let f = colour("RGB", 0, interleaved).unwrap();
    assert_eq!((f.samples, &f.values), (3, &want));
    // Planar configuration 1: the red plane, then green, then blue.
    let planes: Vec<u8> = (0..3).flat_map(|s| rgb.iter().map(move |p| p[s])).collect();
    assert_eq!(colour("RGB", 1, planes).unwrap().values, want, "planar 1");
    // YBR_FULL (PS3.3 C.7.6.3.1.2) converts to RGB.
    let ybr: Vec<u8> = rgb
        .iter()
        .flat_map(|[r, g, b]| {
            let (r, g, b) = (f64::from(*r), f64::from(*g), f64::from(*b));
            let y = 0.299 * r + 0.587 * g + 0.114 * b;
            let cb = -0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0;
            let cr = 0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0;
            [y, cb, cr].map(|v| v.round().clamp(0.0, 255.0) as u8)
        })
        .collect();
    let f = colour("YBR_FULL", 0, ybr).unwrap();
    for (got, want) in f.values.iter().zip(&want) {
        assert!((got - want).abs() <= 2.0, "{:?} vs {want:?}", f.values);
    }
    let rgba = window_rgba(&f, preview::initial_window(&f));
    assert_eq!(rgba.len(), 16);
    assert_eq!(rgba[3], 255, "opaque");
}

#[test]
fn palette_colour_is_shown_through_its_lookup_tables() {
    // 16-bit tables of 4 entries from index 10: index 10 -> dark red ...
    let lut = |values: [u16; 4]| -> PrimitiveValue { PrimitiveValue::U16(values.to_vec().into()) };
    let descriptor = |tag| {
        DataElement::new(
            tag,
            VR::US,
            PrimitiveValue::U16([4u16, 10, 16].to_vec().into()),
        )
    };
    let mut i = Image::grey(1, 4, 8);
    i.photometric = "PALETTE COLOR";
    i.extra = vec![
        descriptor(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR),
        descriptor(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR),
        descriptor(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR),
        DataElement::new(
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            VR::OW,
            lut([0x1000, 0xFFFF, 0, 0x8000]),
        ),
        DataElement::new(
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            VR::OW,
            lut([0, 0, 0xFFFF, 0x8000]),
        ),
        DataElement::new(
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            VR::OW,
            lut([0, 0, 0, 0x8000]),
        ),
    ];
    // Below the first mapped value takes the first entry, above the last.
    let f = decode_frame(&i.native(vec![3, 11, 12, 200]), 0).unwrap();
    assert_eq!(f.samples, 3);
    assert_eq!(
        f.values,
        [16.0, 0.0, 0.0, 255.0, 0.0, 0.0, 0.0, 255.0, 0.0, 128.0, 128.0, 128.0]
    );
}

#[test]
fn hostile_images_get_a_placeholder_reason() {
    let cases: Vec<(&str, DefaultDicomObject, u32, &str)> = vec![
        ("0 x 0", Image::grey(0, 0, 8).native(vec![]), 0, "0 x 0"),
        (
            "30,000 x 30,000 (never allocated: 3.4 GB of f32)",
            Image::grey(30_000, 30_000, 16).native(vec![0; 4]),
            0,
            "larger than the preview's limit",
        ),
        (
            "Bits Allocated 32",
            Image::grey(2, 2, 32).native(vec![0; 16]),
            0,
            "Bits Allocated 32",
        ),
        (
            "PALETTE COLOR without tables",
            Image {
                photometric: "PALETTE COLOR",
                ..Image::grey(2, 2, 8)
            }
            .native(vec![0; 4]),
            0,
            "PALETTE COLOR",
        ),
        (
            "short native pixel data",
            Image::grey(4, 4, 8).native(vec![0; 3]),
            0,
            "cannot",
        ),
        (
            "a corrupt RLE stream",
            Image::grey(4, 4, 8).rle(vec![vec![0xFF; 64]]),
            0,
            "cannot decode RLE Lossless",
        ),
        (
            "a truncated RLE stream",
            Image::grey(8, 8, 16).rle(vec![{
                let varied: Vec<u16> = (0..64u16).map(|i| i.wrapping_mul(997)).collect();
                let whole = pacs_cohort::dicom::write::rle_frame(&varied, 16);
                whole[..whole.len() / 2].to_vec()
            }]),
            0,
            "RLE Lossless",
        ),
        (
            "3 frames declared, 1 stored",
            Image {
                frames: Some("3"),
                ..Image::grey(4, 4, 8)
            }
            .native(vec![1; 16]),
            2,
            "cannot",
        ),
        (
            "3 frames declared, 1 RLE fragment",
            Image {
                frames: Some("3"),
                ..Image::grey(4, 4, 16)
            }
            .rle(vec![pacs_cohort::dicom::write::rle_frame(&[7; 16], 16)]),
            2,
            "RLE Lossless",
        ),
        (
            "4 samples per pixel",
            Image {
                samples: 4,
                photometric: "ARGB",
                ..Image::grey(2, 2, 8)
            }
            .native(vec![0; 16]),
            0,
            "4 samples per pixel",
        ),
    ];
    for (what, obj, index, want) in cases {
        let e = decode_frame(&obj, index).unwrap_err();
        assert!(e.contains(want), "{what}: {e:?} lacks {want:?}");
    }
    // A corrupt JPEG stream: the real file with its entropy-coded data
    // overwritten.
    let mut obj = fixture("SC_rgb_jpeg_dcmtk.dcm");
    let mut fragments = obj
        .get(tags::PIXEL_DATA)
        .unwrap()
        .value()
        .fragments()
        .unwrap()
        .to_vec();
    let n = fragments[0].len();
    fragments[0].truncate(n / 3);
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(Vec::<u32>::new(), fragments)),
    ));
    match decode_frame(&obj, 0) {
        Err(e) => assert!(e.contains("JPEG Baseline"), "{e}"),
        // A decoder may fill what a cut stream lacks: then the frame must
        // still be whole, never short.
        Ok(f) => assert_eq!(f.values.len(), 100 * 100 * 3),
    }
}

/// Maps each exported file's de-identified SOP Instance UID to its path.
fn exported_files(out: &Path) -> HashMap<String, PathBuf> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["sop_instance_uid"].as_str().unwrap().to_string(),
                out.join(r["file"].as_str().unwrap()),
            )
        })
        .collect()
}

fn pixel_bytes(obj: &DefaultDicomObject) -> Vec<u8> {
    obj.get(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap()
        .into_owned()
}

/// Compares the preview of every indexed instance with the exported file:
/// the same encoded bytes, the same decoded frames, and for uncompressed
/// files the same Pixel Data bytes. Returns the previews' first frames by
/// source file name.
fn assert_preview_is_export(db: &Path, out: &Path) -> HashMap<String, Frame> {
    let engine = Engine::open(db).unwrap();
    let options = ProfileChoices::default().options();
    let masks = engine.mask_book().unwrap();
    let exported = exported_files(out);
    let series: Vec<String> = sqlite(db)
        .prepare("SELECT series_uid FROM series")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut frames = HashMap::new();
    for uid in series {
        for instance in engine.series_instances(&uid).unwrap() {
            let name = instance
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            let preview = engine
                .render_deidentified(&instance, &options, &masks)
                .unwrap();
            let (_, _, sop) = preview.rendered.uids();
            let path = exported
                .get(&sop)
                .unwrap_or_else(|| panic!("{name}: exported as {sop}"));
            let written = std::fs::read(path).unwrap();
            assert!(
                written == preview.rendered.bytes,
                "{name}: the export wrote the bytes the preview rendered"
            );
            let file = dicom_object::open_file(path).unwrap();
            let ts = file
                .meta()
                .transfer_syntax()
                .trim_end_matches('\0')
                .to_string();
            if ts == EXPLICIT_LE || ts == "1.2.840.10008.1.2" {
                assert_eq!(
                    pixel_bytes(&preview.rendered.file),
                    pixel_bytes(&file),
                    "{name}: Pixel Data bytes"
                );
            }
            for i in 0..instance.frames {
                let a = decode_frame(&preview.rendered.file, i).unwrap();
                let b = decode_frame(&file, i).unwrap();
                assert_eq!(a.values, b.values, "{name} frame {i}");
                assert_eq!(
                    (a.rows, a.columns, a.samples),
                    (b.rows, b.columns, b.samples)
                );
                if i == 0 {
                    frames.insert(name.clone(), a);
                }
            }
        }
    }
    frames
}

#[test]
fn the_preview_pixels_are_the_exported_pixels_masked_and_unmasked() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    let names = [
        "CT_small.dcm",          // native
        "MR_small_RLE.dcm",      // RLE
        "SC_rgb_jpeg_dcmtk.dcm", // JPEG baseline
        "JPEG-LL.dcm",           // JPEG lossless
    ];
    for name in names {
        std::fs::copy(fixture_path(name), archive.join(name)).unwrap();
    }
    let db = index_with_cohort_of_all(tmp.path(), &archive);
    let out = tmp.path().join("plain");
    let (code, v) = export_json(&db, "all", &out);
    assert_eq!(code, 0, "{v}");
    let plain = assert_preview_is_export(&db, &out);
    assert_eq!(plain.len(), names.len());
    for name in names {
        assert_eq!(
            plain[name].values,
            frame(name).values,
            "{name}: unmasked, the source's pixels"
        );
    }

    // A mask on every image: the preview is still the export, and the
    // rectangle is black in both.
    let engine = Engine::open(&db).unwrap();
    let sops: Vec<(String, String)> = sqlite(&db)
        .prepare(
            "SELECT CAST(f.rel_path AS TEXT), i.sop_uid FROM instances i JOIN files f ON f.id = i.file_ref",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let rect = Rect {
        x: 2,
        y: 3,
        width: 10,
        height: 6,
    };
    for (_, sop) in &sops {
        engine.add_mask(sop, rect, "test").unwrap();
    }
    let out = tmp.path().join("masked");
    let (code, v) = export_json(&db, "all", &out);
    assert_eq!(code, 0, "{v}");
    let masked = assert_preview_is_export(&db, &out);
    for name in names {
        let (before, after) = (&plain[name], &masked[name]);
        let s = after.samples as usize;
        let low = before.values.iter().fold(f32::MAX, |m, v| m.min(*v));
        let mut changed = 0;
        for y in 0..after.rows as usize {
            for x in 0..after.columns as usize {
                let inside = (2..12).contains(&x) && (3..9).contains(&y);
                let i = (y * after.columns as usize + x) * s;
                let (a, b) = (&before.values[i..i + s], &after.values[i..i + s]);
                if inside {
                    for v in b {
                        assert!(*v <= low.max(0.0), "{name} ({x},{y}): {b:?} not black");
                    }
                    changed += usize::from(a != b);
                } else {
                    assert_eq!(a, b, "{name} ({x},{y}) outside the mask");
                }
            }
        }
        assert!(changed > 0, "{name}: the mask changed pixels");
    }
}
