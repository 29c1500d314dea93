//! Series thumbnails: the middle image of a series, windowed as the
//! viewer would first show it and downscaled, cached on disk inside the
//! workspace. Thumbnails are PHI (faces, burned-in names), so the cache is
//! owner-only (DECISIONS 34). A cache entry records the source file's
//! path, size and modification time: a changed file is decoded again.
//! What cannot be decoded is cached too, as a placeholder with the
//! transfer syntax's name and the reason.

use crate::model::InstanceRef;
use crate::preview;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A small RGBA8 image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    /// `width * height * 4` bytes, row by row.
    pub rgba: Vec<u8>,
}

/// A thumbnail, or what to show instead and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThumbOutcome {
    Image(Thumbnail),
    Placeholder {
        /// The transfer syntax's name (its UID when unknown).
        transfer_syntax: String,
        reason: String,
    },
}

/// The largest thumbnail side asked for (a bound on what a cache file may
/// claim to hold).
pub const MAX_PX: u32 = 1024;

/// Bumped when the cached format or the rendering changes.
const FORMAT: &[u8; 8] = b"PCTHMB01";

/// The cache folder of a workspace: `thumbs/` next to its database.
pub fn cache_dir(db: &Path) -> PathBuf {
    db.parent().unwrap_or(Path::new(".")).join("thumbs")
}

/// The instance a series is represented by: the middle one in display
/// order, and its middle frame.
pub fn middle(instances: &[InstanceRef]) -> Option<(&InstanceRef, u32)> {
    let inst = instances.get(instances.len() / 2)?;
    Some((inst, inst.frames.max(1) / 2))
}

/// The transfer syntax's name for a person (one definition, in `preview`).
pub use crate::preview::transfer_syntax_name;

/// The thumbnail of the series whose instances are `instances` (display
/// order), from the cache under `dir` when the source file is unchanged,
/// else decoded now and cached. Err only when the cache cannot be written.
pub fn series_thumbnail(
    dir: &Path,
    series_uid: &str,
    instances: &[InstanceRef],
    max_px: u32,
) -> std::io::Result<ThumbOutcome> {
    let max_px = max_px.clamp(8, MAX_PX);
    let Some((inst, frame)) = middle(instances) else {
        return Ok(ThumbOutcome::Placeholder {
            transfer_syntax: String::new(),
            reason: "the series has no indexed images".into(),
        });
    };
    // The file as it is now (not as indexed): a change since the index
    // run invalidates the entry too.
    let source_key = match std::fs::metadata(&inst.path) {
        Ok(m) => {
            use std::os::unix::fs::MetadataExt;
            key(
                &inst.path,
                m.len(),
                m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                frame,
                max_px,
            )
        }
        Err(e) => {
            // Not cached: the file may come back (an unmounted share).
            return Ok(ThumbOutcome::Placeholder {
                transfer_syntax: transfer_syntax_name(&inst.transfer_syntax),
                reason: format!("cannot read the image file: {}", e.kind()),
            });
        }
    };
    let file = entry_path(dir, series_uid, max_px);
    if let Ok(bytes) = std::fs::read(&file) {
        if let Some(t) = decode_entry(&bytes, &source_key) {
            return Ok(t);
        }
    }
    let outcome = render(inst, frame, max_px);
    crate::private_fs::create_dir_all(dir)?;
    crate::private_fs::create_dir_all(file.parent().unwrap_or(dir))?;
    // Written whole under a temporary name, then renamed: a reader never
    // sees half an entry.
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    crate::private_fs::write(&tmp, &encode_entry(&outcome, &source_key))?;
    std::fs::rename(&tmp, &file)?;
    Ok(outcome)
}

/// Decodes, windows and downscales one frame of one instance.
pub fn render(inst: &InstanceRef, frame: u32, max_px: u32) -> ThumbOutcome {
    let placeholder = |reason: String| ThumbOutcome::Placeholder {
        transfer_syntax: transfer_syntax_name(&inst.transfer_syntax),
        reason,
    };
    let obj = match crate::dicom::read_whole(&inst.path) {
        Ok(o) => o,
        Err(e) => return placeholder(e),
    };
    match preview::decode_frame(&obj, frame) {
        Ok(f) => {
            let rgba = preview::window_rgba(&f, preview::initial_window(&f));
            ThumbOutcome::Image(downscale(&rgba, f.columns, f.rows, max_px))
        }
        Err(e) => placeholder(e),
    }
}

/// Area-averaged downscale so that the longer side is at most `max_px`
/// (never upscaled).
pub fn downscale(rgba: &[u8], width: u32, height: u32, max_px: u32) -> Thumbnail {
    let scale = (max_px as f64 / width.max(height).max(1) as f64).min(1.0);
    let w = ((width as f64 * scale).round() as u32).max(1);
    let h = ((height as f64 * scale).round() as u32).max(1);
    let mut out = Vec::with_capacity(w as usize * h as usize * 4);
    for ty in 0..h {
        let y0 = (ty as u64 * height as u64 / h as u64) as u32;
        let y1 = (((ty + 1) as u64 * height as u64 / h as u64) as u32).max(y0 + 1);
        for tx in 0..w {
            let x0 = (tx as u64 * width as u64 / w as u64) as u32;
            let x1 = (((tx + 1) as u64 * width as u64 / w as u64) as u32).max(x0 + 1);
            let mut sum = [0u64; 4];
            for y in y0..y1.min(height) {
                let row = y as usize * width as usize;
                for x in x0..x1.min(width) {
                    let p = (row + x as usize) * 4;
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += u64::from(rgba[p + c]);
                    }
                }
            }
            let n = u64::from((y1.min(height) - y0) * (x1.min(width) - x0)).max(1);
            out.extend(sum.map(|s| (s / n) as u8));
        }
    }
    Thumbnail {
        width: w,
        height: h,
        rgba: out,
    }
}

/// What identifies the rendered source: the file (path, size, mtime), the
/// frame and the size asked for.
fn key(path: &Path, size: u64, mtime_ns: i64, frame: u32, max_px: u32) -> [u8; 32] {
    use std::os::unix::ffi::OsStrExt;
    let mut h = Sha256::new();
    h.update(FORMAT);
    h.update((path.as_os_str().len() as u64).to_le_bytes());
    h.update(path.as_os_str().as_bytes());
    h.update(size.to_le_bytes());
    h.update(mtime_ns.to_le_bytes());
    h.update(frame.to_le_bytes());
    h.update(max_px.to_le_bytes());
    h.finalize().into()
}

/// The cache file of a series at a size: named by a digest (no UID in a
/// file name), under a two-character fan-out folder.
fn entry_path(dir: &Path, series_uid: &str, max_px: u32) -> PathBuf {
    let mut h = Sha256::new();
    h.update(series_uid.trim().as_bytes());
    h.update(max_px.to_le_bytes());
    let hex = crate::deid::pseudonym::hex(&h.finalize()[..16]);
    dir.join(&hex[..2]).join(format!("{hex}.thumb"))
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u32).to_le_bytes());
    out.extend(s.as_bytes());
}

/// FORMAT, the source key, then 1 + width + height + RGBA, or 2 + two
/// length-prefixed strings.
fn encode_entry(t: &ThumbOutcome, source_key: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(FORMAT);
    out.extend(source_key);
    match t {
        ThumbOutcome::Image(t) => {
            out.push(1);
            out.extend(t.width.to_le_bytes());
            out.extend(t.height.to_le_bytes());
            out.extend(&t.rgba);
        }
        ThumbOutcome::Placeholder {
            transfer_syntax,
            reason,
        } => {
            out.push(2);
            put_str(&mut out, transfer_syntax);
            put_str(&mut out, reason);
        }
    }
    out
}

/// The cached outcome, if `bytes` is a whole entry for `source_key`.
fn decode_entry(bytes: &[u8], source_key: &[u8; 32]) -> Option<ThumbOutcome> {
    let rest = bytes.strip_prefix(FORMAT)?.strip_prefix(source_key)?;
    let (&kind, rest) = rest.split_first()?;
    let u32_at = |b: &[u8], i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
    };
    match kind {
        1 => {
            let (w, h) = (u32_at(rest, 0)?, u32_at(rest, 4)?);
            if w == 0 || h == 0 || w > MAX_PX || h > MAX_PX {
                return None;
            }
            let rgba = rest.get(8..)?;
            (rgba.len() == w as usize * h as usize * 4).then(|| {
                ThumbOutcome::Image(Thumbnail {
                    width: w,
                    height: h,
                    rgba: rgba.to_vec(),
                })
            })
        }
        2 => {
            let n = u32_at(rest, 0)? as usize;
            let ts = std::str::from_utf8(rest.get(4..4 + n)?).ok()?;
            let rest = &rest[4 + n..];
            let m = u32_at(rest, 0)? as usize;
            let reason = std::str::from_utf8(rest.get(4..4 + m)?).ok()?;
            (rest.len() == 4 + m).then(|| ThumbOutcome::Placeholder {
                transfer_syntax: ts.to_string(),
                reason: reason.to_string(),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn fixture_instance(dir: &Path, name: &str) -> InstanceRef {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/real")
            .join(name);
        let path = dir.join(name);
        std::fs::copy(&src, &path).unwrap();
        let obj = crate::dicom::read_whole(&path).unwrap();
        InstanceRef {
            path,
            issuer: String::new(),
            patient_id: "P".into(),
            sop_uid: "2.25.1".into(),
            instance_number: Some(1),
            frames: 1,
            transfer_syntax: obj.meta().transfer_syntax().to_string(),
            size: 0,
            mtime_ns: 0,
        }
    }

    #[test]
    fn a_thumbnail_is_cached_owner_only_and_redone_when_the_file_changes() {
        let old = unsafe { libc::umask(0o022) };
        let tmp = tempfile::tempdir().unwrap();
        let inst = fixture_instance(tmp.path(), "CT_small.dcm");
        let cache = tmp.path().join("thumbs");
        let first = series_thumbnail(&cache, "1.2.3", std::slice::from_ref(&inst), 64).unwrap();
        unsafe { libc::umask(old) };
        let ThumbOutcome::Image(t) = &first else {
            panic!("{first:?}")
        };
        assert_eq!((t.width, t.height, t.rgba.len()), (64, 64, 64 * 64 * 4));
        let file = entry_path(&cache, "1.2.3", 64);
        assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&cache).unwrap().mode() & 0o777, 0o700);
        assert_eq!(
            std::fs::metadata(file.parent().unwrap()).unwrap().mode() & 0o777,
            0o700
        );
        // A cached entry is read back, not rendered again: plant a marker
        // pixel in the entry and see it come back.
        let mut bytes = std::fs::read(&file).unwrap();
        let pixel0 = FORMAT.len() + 32 + 1 + 8;
        bytes[pixel0] ^= 0xff;
        std::fs::write(&file, &bytes).unwrap();
        let again = series_thumbnail(&cache, "1.2.3", std::slice::from_ref(&inst), 64).unwrap();
        let ThumbOutcome::Image(t2) = &again else {
            panic!()
        };
        assert_eq!(t2.rgba[0], t.rgba[0] ^ 0xff, "served from the cache");
        // The file changes (another image under the same path): rendered
        // again from the new content.
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real/MR_small_implicit.dcm"),
            &inst.path,
        )
        .unwrap();
        let changed = series_thumbnail(&cache, "1.2.3", std::slice::from_ref(&inst), 64).unwrap();
        let ThumbOutcome::Image(t3) = &changed else {
            panic!("{changed:?}")
        };
        let mr = render(&inst, 0, 64);
        assert_eq!(&changed, &mr);
        assert_ne!(t3.rgba, t2.rgba);
    }

    #[test]
    fn an_undecodable_series_caches_a_placeholder_with_the_transfer_syntax_and_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let inst = fixture_instance(tmp.path(), "MR_small_jpeg_ls_lossless.dcm");
        let cache = tmp.path().join("thumbs");
        let t = series_thumbnail(&cache, "9.9", std::slice::from_ref(&inst), 96).unwrap();
        let ThumbOutcome::Placeholder {
            transfer_syntax,
            reason,
        } = &t
        else {
            panic!("{t:?}")
        };
        assert!(transfer_syntax.contains("JPEG-LS"), "{transfer_syntax}");
        assert!(reason.contains("cannot decode"), "{reason}");
        let bytes = std::fs::read(entry_path(&cache, "9.9", 96)).unwrap();
        assert_eq!(bytes[FORMAT.len() + 32], 2, "the placeholder is cached");
        assert_eq!(
            series_thumbnail(&cache, "9.9", std::slice::from_ref(&inst), 96).unwrap(),
            t
        );
        // No instances: a placeholder, nothing cached.
        assert!(matches!(
            series_thumbnail(&cache, "none", &[], 96).unwrap(),
            ThumbOutcome::Placeholder { .. }
        ));
    }

    #[test]
    fn downscaling_averages_areas_and_never_upscales() {
        let rgba: Vec<u8> = [0u8, 0, 0, 255, 200, 200, 200, 255].repeat(2);
        let t = downscale(&rgba, 2, 2, 1);
        assert_eq!((t.width, t.height), (1, 1));
        assert_eq!(t.rgba, vec![100, 100, 100, 255]);
        let same = downscale(&rgba, 2, 2, 64);
        assert_eq!((same.width, same.height), (2, 2));
        assert_eq!(same.rgba, rgba);
        let wide = downscale(&vec![9; 400 * 100 * 4], 400, 100, 100);
        assert_eq!((wide.width, wide.height), (100, 25));
    }

    #[test]
    fn truncated_or_foreign_cache_entries_are_not_trusted() {
        let key = [7u8; 32];
        let t = ThumbOutcome::Image(Thumbnail {
            width: 2,
            height: 1,
            rgba: vec![1; 8],
        });
        let bytes = encode_entry(&t, &key);
        assert_eq!(decode_entry(&bytes, &key), Some(t));
        assert_eq!(decode_entry(&bytes[..bytes.len() - 1], &key), None);
        assert_eq!(decode_entry(&bytes, &[8u8; 32]), None);
    }
}
