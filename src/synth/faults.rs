//! Odd and broken files for `--with-faults`: what real archives contain and
//! what an indexer must survive. Each lands under `faults/` (duplicates
//! elsewhere) and is listed in the summary by kind.

use super::{Generator, Rng, SynthError};
use crate::dicom::write::{self, Framing, ObjectSpec, TextElement};
use dicom_core::VR;
use std::path::{Path, PathBuf};

/// Nesting depth of the hostile deep-sequence file (dicom-object 0.10 alone
/// overflows its stack on this).
pub const HOSTILE_DEPTH: usize = 10_000;

pub(super) fn write_faults(g: &mut Generator<'_>, rng: &mut Rng) -> Result<(), SynthError> {
    let Some((base, base_rel)) = g.first_spec.clone() else {
        return Ok(());
    };
    let add =
        |g: &mut Generator, kind: &str, rel: &str, bytes: Vec<u8>| -> Result<(), SynthError> {
            g.write_bytes(Path::new(rel), &bytes)?;
            g.summary.faults.push((kind.to_string(), rel.to_string()));
            Ok(())
        };
    let encode = |spec: &ObjectSpec| {
        write::encode_object(spec).map_err(|source| SynthError::Write {
            source,
            path: PathBuf::from("faults"),
        })
    };

    // The same image again under another name and encoding: a duplicate.
    let mut dup = base.clone();
    dup.transfer_syntax = write::IMPLICIT_VR_LE.into();
    add(g, "duplicate", "faults/copies/IM_COPY.dcm", encode(&dup)?)?;

    // Preamble stripped; and a bare data set without file meta.
    let fresh = |rng: &mut Rng, spec: &ObjectSpec| {
        let mut s = spec.clone();
        set(&mut s, (0x0008, 0x0018), rng.uid());
        s
    };
    let mut no_pre = fresh(rng, &base);
    no_pre.framing = Framing::NoPreamble;
    add(
        g,
        "no-preamble",
        "faults/no_preamble_IM0001",
        encode(&no_pre)?,
    )?;
    g.summary.instances += 1;
    let mut raw = fresh(rng, &base);
    raw.framing = Framing::RawImplicit;
    raw.transfer_syntax = write::IMPLICIT_VR_LE.into();
    add(g, "no-meta", "faults/acr_nema_style.raw", encode(&raw)?)?;
    g.summary.instances += 1;

    // A valid explicit VR big endian file (retired syntax, still found).
    let mut be = fresh(rng, &base);
    be.transfer_syntax = write::EXPLICIT_VR_BE.into();
    if let Ok(bytes) = write::encode_object(&be) {
        add(g, "big-endian", "faults/big_endian.dcm", bytes)?;
        g.summary.instances += 1;
    }

    // Cut inside the header, and inside the pixel data.
    let full = encode(&fresh(rng, &base))?;
    let cut = find(&full, b"MRN").map(|i| i + 2).unwrap_or(full.len() / 3);
    add(
        g,
        "truncated-header",
        "faults/truncated_header.dcm",
        full[..cut].to_vec(),
    )?;
    let full = encode(&fresh(rng, &base))?;
    add(
        g,
        "truncated-pixels",
        "faults/truncated_pixels.dcm",
        full[..full.len() - 100].to_vec(),
    )?;

    // Not DICOM at all.
    add(g, "zero-bytes", "faults/empty.dcm", Vec::new())?;
    let noise: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    add(g, "random-bytes", "faults/random.dcm", noise)?;
    add(
        g,
        "text",
        "faults/README.txt",
        b"Scanned request forms are kept elsewhere.\n".to_vec(),
    )?;

    // Required UID missing.
    let mut no_uid = fresh(rng, &base);
    no_uid.elements.retain(|e| e.tag != (0x0020, 0x000E));
    add(
        g,
        "missing-uid",
        "faults/missing_series_uid.dcm",
        encode(&no_uid)?,
    )?;

    // A DICOMDIR (media directory): recorded, not counted as an instance.
    let dicomdir = ObjectSpec {
        elements: vec![
            TextElement {
                tag: (0x0004, 0x1130),
                vr: VR::CS,
                value: "SYNTH".into(),
            },
            TextElement {
                tag: (0x0008, 0x0016),
                vr: VR::UI,
                value: "1.2.840.10008.1.3.10".into(),
            },
            TextElement {
                tag: (0x0008, 0x0018),
                vr: VR::UI,
                value: rng.uid(),
            },
        ],
        pixels: None,
        transfer_syntax: write::EXPLICIT_VR_LE.into(),
        framing: Framing::Standard,
    };
    add(g, "dicomdir", "faults/DICOMDIR", encode(&dicomdir)?)?;

    // Hostile: thousands of nested sequences; and a big-endian label over
    // little-endian data (lengths read byte-swapped become huge).
    add(
        g,
        "deep-nesting",
        "faults/deep_nesting.dcm",
        deep_nesting(&encode(&fresh(rng, &base))?),
    )?;
    let mut lie = encode(&fresh(rng, &base))?;
    if let Some(i) = find(&lie, b"1.2.840.10008.1.2.1\0") {
        lie[i + 18] = b'2';
    }
    add(g, "wrong-endian", "faults/wrong_endian.dcm", lie)?;
    let _ = base_rel;
    Ok(())
}

fn set(spec: &mut ObjectSpec, tag: (u16, u16), value: String) {
    if let Some(e) = spec.elements.iter_mut().find(|e| e.tag == tag) {
        e.value = value;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Replaces the pixel data of an explicit VR LE file with a root element of
/// `HOSTILE_DEPTH` nested undefined-length sequences.
pub fn deep_nesting(file: &[u8]) -> Vec<u8> {
    let px = find(file, &[0xE0, 0x7F, 0x10, 0x00]).unwrap_or(file.len());
    let mut out = file[..px].to_vec();
    for _ in 0..HOSTILE_DEPTH {
        out.extend_from_slice(&[
            0x40, 0x00, 0x30, 0xA7, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        out.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    for _ in 0..HOSTILE_DEPTH {
        out.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        out.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    }
    out
}
