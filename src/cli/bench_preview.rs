//! Hidden benchmark (issue 11): in-process time of what the viewer does
//! per image: decode one frame and window it to RGBA (`decode_frame` and
//! `window_rgba`), and re-window the cached values (a W/L drag). It also
//! writes the generated 512 x 512 16-bit CT image it times, native and RLE,
//! for a peer to time on the same pixels (benches/preview_bench.py).

use super::exit;
use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, FileMetaTableBuilder, InMemDicomObject};
use pacs_cohort::preview::{self, PRESETS};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct BenchPreviewArgs {
    /// Files to time (default: the generated CT image, native and RLE).
    files: Vec<PathBuf>,
    /// Timed runs per file and measure.
    #[arg(long, default_value_t = 200)]
    runs: usize,
    /// Write the generated CT image (ct_native.dcm, ct_rle.dcm) into DIR
    /// and stop.
    #[arg(long, value_name = "DIR")]
    write_images: Option<PathBuf>,
}

const SIDE: u16 = 512;

/// A 512 x 512 CT slice: air, a body ellipse of soft tissue with noise, two
/// lungs and a spine; stored values HU + 1024 in 12 bits, rescale -1024.
fn ct_values() -> Vec<u16> {
    let n = SIDE as i64;
    let mut seed: u64 = 0x5eed;
    let mut noise = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) % 41) as i64 - 20
    };
    let inside = |x: i64, y: i64, cx: i64, cy: i64, rx: i64, ry: i64| {
        let (dx, dy) = (x - cx, y - cy);
        dx * dx * ry * ry + dy * dy * rx * rx <= rx * rx * ry * ry
    };
    let mut out = Vec::with_capacity((n * n) as usize);
    for y in 0..n {
        for x in 0..n {
            let hu = if !inside(x, y, 256, 256, 230, 180) {
                -1000
            } else if inside(x, y, 170, 230, 60, 100) || inside(x, y, 342, 230, 60, 100) {
                -820 + noise()
            } else if inside(x, y, 256, 380, 28, 28) {
                700 + noise() * 5
            } else {
                40 + noise()
            };
            out.push((hu + 1024).clamp(0, 4095) as u16);
        }
    }
    out
}

fn ct_object(transfer_syntax: &str, pixels: Value<InMemDicomObject>) -> DefaultDicomObject {
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let text = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let obj = InMemDicomObject::from_element_iter([
        text(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
        text(tags::SOP_INSTANCE_UID, VR::UI, "2.25.5120512"),
        text(tags::MODALITY, VR::CS, "CT"),
        us(tags::SAMPLES_PER_PIXEL, 1),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        us(tags::ROWS, SIDE),
        us(tags::COLUMNS, SIDE),
        us(tags::BITS_ALLOCATED, 16),
        us(tags::BITS_STORED, 12),
        us(tags::HIGH_BIT, 11),
        us(tags::PIXEL_REPRESENTATION, 0),
        text(tags::WINDOW_CENTER, VR::DS, "40"),
        text(tags::WINDOW_WIDTH, VR::DS, "400"),
        text(tags::RESCALE_INTERCEPT, VR::DS, "-1024"),
        text(tags::RESCALE_SLOPE, VR::DS, "1"),
        // Encapsulated pixel data is OB (PS3.5 A.4), native 16-bit OW.
        DataElement::new(
            tags::PIXEL_DATA,
            if matches!(pixels, Value::PixelSequence(_)) {
                VR::OB
            } else {
                VR::OW
            },
            pixels,
        ),
    ]);
    obj.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(transfer_syntax)
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
            .media_storage_sop_instance_uid("2.25.5120512"),
    )
    .expect("a complete file meta")
}

/// The generated image, native (explicit VR little endian) and RLE.
fn generated() -> Vec<(String, DefaultDicomObject)> {
    let values = ct_values();
    let native = ct_object(
        "1.2.840.10008.1.2.1",
        Value::Primitive(PrimitiveValue::U16(values.clone().into())),
    );
    let rle = ct_object(
        "1.2.840.10008.1.2.5",
        Value::PixelSequence(PixelFragmentSequence::new(
            Vec::<u32>::new(),
            vec![pacs_cohort::dicom::write::rle_frame(&values, 16)],
        )),
    );
    vec![
        ("ct_native.dcm".to_string(), native),
        ("ct_rle.dcm".to_string(), rle),
    ]
}

fn percentiles(mut v: Vec<f64>) -> serde_json::Value {
    v.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    serde_json::json!({"runs": v.len(), "p50_ms": p(0.5), "p95_ms": p(0.95), "max_ms": p(1.0)})
}

pub fn run(a: BenchPreviewArgs) -> anyhow::Result<i32> {
    if let Some(dir) = &a.write_images {
        std::fs::create_dir_all(dir)?;
        for (name, obj) in generated() {
            obj.write_to_file(dir.join(&name))?;
            println!("{}", dir.join(name).display());
        }
        return Ok(exit::OK);
    }
    let objects: Vec<(String, DefaultDicomObject)> = if a.files.is_empty() {
        generated()
    } else {
        a.files
            .iter()
            .map(|p| Ok((p.display().to_string(), dicom_object::open_file(p)?)))
            .collect::<anyhow::Result<_>>()?
    };
    let runs = a.runs.max(1);
    let mut results = Vec::new();
    for (name, obj) in &objects {
        let ts = obj
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_string();
        // Warm-up: page in the code and the allocator.
        let frame = match preview::decode_frame(obj, 0) {
            Ok(f) => f,
            Err(reason) => {
                results.push(
                    serde_json::json!({"file": name, "transfer_syntax": ts, "refused": reason}),
                );
                continue;
            }
        };
        let mut decode_window = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            let f = preview::decode_frame(obj, 0).map_err(anyhow::Error::msg)?;
            let rgba = preview::window_rgba(&f, preview::initial_window(&f));
            std::hint::black_box(&rgba);
            decode_window.push(start.elapsed().as_secs_f64() * 1e3);
        }
        let mut rewindow = Vec::with_capacity(runs);
        for i in 0..runs {
            let w = PRESETS[i % PRESETS.len()].1;
            let start = Instant::now();
            let rgba = preview::window_rgba(&frame, w);
            std::hint::black_box(&rgba);
            rewindow.push(start.elapsed().as_secs_f64() * 1e3);
        }
        results.push(serde_json::json!({
            "file": name,
            "transfer_syntax": ts,
            "transfer_syntax_name": preview::transfer_syntax_name(&ts),
            "rows": frame.rows,
            "columns": frame.columns,
            "decode_window": percentiles(decode_window),
            "rewindow": percentiles(rewindow),
        }));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "threads": rayon::current_num_threads(),
            "results": results,
        }))?
    );
    Ok(exit::OK)
}
