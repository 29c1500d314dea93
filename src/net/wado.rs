//! WADO-RS retrieval: a series (or single instances) as
//! `multipart/related; type="application/dicom"`, split as it streams in,
//! each part written as received (`transfer-syntax=*`: the server's stored
//! bytes, no transcoding).

use super::get::file_name;
use super::http::{encode, Web};
use super::NetError;
use crate::cancel::CancelToken;
use dicom_dictionary_std::tags;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const ACCEPT: &str = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";

/// The instances of a series (SOP Instance UID, SOP Class UID) by QIDO-RS.
/// With a known server result limit, a list that reaches it is refused
/// (it may be cut short; a series cannot be split by date).
pub fn series_instances(
    web: &Web,
    study_uid: &str,
    series_uid: &str,
    limit: Option<u32>,
) -> Result<Vec<(String, String)>, NetError> {
    let mut out = Vec::new();
    let mut queries = 0;
    let path = format!(
        "studies/{}/series/{}/instances",
        encode(study_uid),
        encode(series_uid)
    );
    super::qido::page_path(
        web,
        &path,
        &["includefield=00080016".to_string()],
        "an instance query",
        match limit {
            Some(l) if l > 1 => (l as usize - 1).min(super::qido::PAGE),
            _ => super::qido::PAGE,
        },
        &CancelToken::new(),
        &mut queries,
        &mut |o| {
            if let (Some(sop), Some(class)) =
                (o.text(tags::SOP_INSTANCE_UID), o.text(tags::SOP_CLASS_UID))
            {
                out.push((sop, class));
            }
            Ok(())
        },
    )?;
    if limit.is_some_and(|l| l > 0 && out.len() as u64 >= u64::from(l)) {
        return Err(NetError::Protocol(format!(
            "the server listed {} images for a series, its result limit, so the list may be cut short; raise the server's limit",
            out.len()
        )));
    }
    Ok(out)
}

/// Retrieves a series (or only the given instances) into `dest`.
pub fn get_series(
    web: &Web,
    study_uid: &str,
    series_uid: &str,
    only: Option<&[String]>,
    dest: &Path,
    cancel: &CancelToken,
    on_file: &mut dyn FnMut(PathBuf),
) -> Result<(), NetError> {
    let base = format!(
        "studies/{}/series/{}",
        encode(study_uid),
        encode(series_uid)
    );
    let paths: Vec<String> = match only {
        None => vec![base],
        Some(sops) => sops
            .iter()
            .map(|s| format!("{base}/instances/{}", encode(s)))
            .collect(),
    };
    for p in paths {
        if cancel.is_cancelled() {
            return Ok(());
        }
        let Some(rsp) = web.get(&p, ACCEPT, "a WADO-RS retrieval")? else {
            continue;
        };
        let ctype = rsp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let boundary = boundary(&ctype).ok_or_else(|| {
            NetError::Protocol(format!(
                "WADO-RS answered with '{ctype}', not multipart/related with a boundary"
            ))
        })?;
        let reader = rsp.into_body().into_reader();
        split_parts(reader, &boundary, dest, cancel, on_file)?;
    }
    Ok(())
}

/// The `boundary` parameter of a multipart Content-Type (maybe quoted).
fn boundary(ctype: &str) -> Option<String> {
    if !ctype.to_ascii_lowercase().starts_with("multipart/related") {
        return None;
    }
    ctype.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Streams a multipart body into files, one per part, each renamed to its
/// SOP Instance UID once complete and readable.
fn split_parts(
    mut body: impl Read,
    boundary: &str,
    dest: &Path,
    cancel: &CancelToken,
    on_file: &mut dyn FnMut(PathBuf),
) -> Result<(), NetError> {
    let io = |e: std::io::Error| NetError::Io {
        detail: e.to_string(),
    };
    let read_err = |e: std::io::Error| NetError::Protocol(format!("reading WADO-RS: {e}"));
    let delim = format!("\r\n--{boundary}").into_bytes();
    // The body starts with `--boundary` (no CRLF before it): pretend one.
    let mut buf: Vec<u8> = b"\r\n".to_vec();
    let mut chunk = vec![0u8; 256 * 1024];
    let mut eof = false;
    let mut part: Option<(PathBuf, BufWriter<std::fs::File>)> = None;
    let mut seq = 0u64;
    // States: looking for a delimiter (writing to `part` if any).
    loop {
        if let Some(pos) = find(&buf, &delim) {
            if let Some((p, mut w)) = part.take() {
                w.write_all(&buf[..pos]).map_err(io)?;
                w.flush().map_err(io)?;
                drop(w);
                finish_part(&p, dest, on_file)?;
            }
            buf.drain(..pos + delim.len());
            // After a delimiter: `--` ends the body; else headers follow.
            while buf.len() < 4 && !eof {
                eof = fill(&mut body, &mut buf, &mut chunk).map_err(read_err)?;
            }
            if buf.starts_with(b"--") {
                return Ok(());
            }
            // Skip the part's headers (up to the blank line).
            let header_end = loop {
                if let Some(h) = find(&buf, b"\r\n\r\n") {
                    break h;
                }
                if eof || buf.len() > 64 * 1024 {
                    return Err(NetError::Protocol(
                        "a WADO-RS part without a header end".into(),
                    ));
                }
                eof = fill(&mut body, &mut buf, &mut chunk).map_err(read_err)?;
            };
            buf.drain(..header_end + 4);
            if cancel.is_cancelled() {
                return Ok(());
            }
            seq += 1;
            let p = dest.join(format!("incoming-{}-{seq}.part", std::process::id()));
            let f = crate::private_fs::create_file(&p).map_err(io)?;
            part = Some((p, BufWriter::with_capacity(256 * 1024, f)));
            continue;
        }
        if eof {
            if let Some((p, _)) = part.take() {
                let _ = std::fs::remove_file(p);
            }
            return Err(NetError::Protocol(
                "the WADO-RS answer ended in the middle of a part".into(),
            ));
        }
        // Keep only a delimiter's length of tail; the rest belongs to the
        // current part (or is preamble).
        let keep = delim.len().min(buf.len());
        let cut = buf.len() - keep;
        if let Some((_, w)) = part.as_mut() {
            w.write_all(&buf[..cut]).map_err(io)?;
        }
        buf.drain(..cut);
        eof = fill(&mut body, &mut buf, &mut chunk).map_err(read_err)?;
    }
}

fn fill(body: &mut impl Read, buf: &mut Vec<u8>, chunk: &mut [u8]) -> std::io::Result<bool> {
    let n = body.read(chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n == 0)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Names a complete part by its SOP Instance UID (read from its header).
fn finish_part(p: &Path, dest: &Path, on_file: &mut dyn FnMut(PathBuf)) -> Result<(), NetError> {
    match crate::dicom::read_header(p) {
        crate::dicom::ReadOutcome::Instance(rec) => {
            let target = dest.join(file_name(&rec.sop_instance_uid));
            std::fs::rename(p, &target).map_err(|e| NetError::Io {
                detail: e.to_string(),
            })?;
            on_file(target);
            Ok(())
        }
        crate::dicom::ReadOutcome::Problem(_, reason) => {
            let _ = std::fs::remove_file(p);
            Err(NetError::Protocol(format!(
                "a WADO-RS part is not a usable DICOM file ({reason})"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_is_read_quoted_or_not() {
        assert_eq!(
            boundary("multipart/related; type=\"application/dicom\"; boundary=\"ab c\"").as_deref(),
            Some("ab c")
        );
        assert_eq!(
            boundary("multipart/related;boundary=xyz").as_deref(),
            Some("xyz")
        );
        assert_eq!(boundary("application/json"), None);
    }

    #[test]
    fn parts_are_split_even_across_reads() {
        // A reader that hands out 3 bytes at a time.
        struct Slow(Vec<u8>, usize);
        impl Read for Slow {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = 3.min(self.0.len() - self.1).min(out.len());
                out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let tmp = tempfile::tempdir().unwrap();
        let body = b"--B\r\nContent-Type: application/dicom\r\n\r\nnot dicom\r\n--B--\r\n".to_vec();
        let r = split_parts(
            Slow(body, 0),
            "B",
            tmp.path(),
            &CancelToken::new(),
            &mut |_| {},
        );
        // The part is split out and then refused as not DICOM, and removed.
        assert!(matches!(r, Err(NetError::Protocol(m)) if m.contains("not a usable DICOM")));
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
