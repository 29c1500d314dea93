//! QIDO-RS: studies and their series as DICOM JSON, paged with
//! limit/offset until an empty page (a server that caps pages silently
//! can then never truncate a harvest).

use super::http::{encode, Web};
use super::NetError;
use crate::cancel::CancelToken;
use crate::model::HarvestQuery;
use dicom_core::Tag;
use serde_json::Value;

/// Results asked for per request.
pub const PAGE: usize = 200;

const STUDY_FIELDS: &[&str] = &[
    "00081030", "00100030", "00101010", "00100021", "00080090", "00080005",
];
const SERIES_FIELDS: &[&str] = &[
    "0008103E", "00180015", "00181030", "00080080", "00081010", "00080070", "00081090", "00201209",
    "00080005",
];

/// One DICOM JSON object.
pub struct JsonObject(serde_json::Map<String, Value>);

impl JsonObject {
    /// The value of `tag` as DICOM text: multiple values joined by `\`,
    /// person names by their alphabetic group; `None` when absent or empty.
    pub fn text(&self, tag: Tag) -> Option<String> {
        let key = format!("{:04X}{:04X}", tag.group(), tag.element());
        let values = self.0.get(&key)?.get("Value")?.as_array()?;
        let parts: Vec<String> = values
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Object(o) => o
                    .get("Alphabetic")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                _ => String::new(),
            })
            .collect();
        let s = parts.join("\\");
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    }
}

/// Pages through `/studies` for one date range; `on_study` gets each.
pub fn studies(
    web: &Web,
    q: &HarvestQuery,
    page: usize,
    cancel: &CancelToken,
    queries: &mut u64,
    on_study: &mut dyn FnMut(JsonObject) -> Result<(), NetError>,
) -> Result<bool, NetError> {
    let mut params = vec![format!("includefield={}", STUDY_FIELDS.join(","))];
    let range = super::records::dicom_range(q.from.as_deref(), q.to.as_deref());
    if !range.is_empty() {
        params.push(format!("StudyDate={}", encode(&range)));
    }
    if !q.modalities.is_empty() {
        params.push(format!(
            "ModalitiesInStudy={}",
            encode(&q.modalities.join(","))
        ));
    }
    page_path(
        web,
        "studies",
        &params,
        "the study query",
        page,
        cancel,
        queries,
        on_study,
    )
}

/// Every series of one study.
pub fn series(
    web: &Web,
    study_uid: &str,
    page: usize,
    cancel: &CancelToken,
    queries: &mut u64,
    on_series: &mut dyn FnMut(JsonObject) -> Result<(), NetError>,
) -> Result<bool, NetError> {
    let params = vec![format!("includefield={}", SERIES_FIELDS.join(","))];
    let path = format!("studies/{}/series", encode(study_uid));
    page_path(
        web,
        &path,
        &params,
        "a series query",
        page,
        cancel,
        queries,
        on_series,
    )
}

/// Pages through one QIDO-RS path; returns whether it ran to the end
/// (false: cancelled).
#[allow(clippy::too_many_arguments)]
pub fn page_path(
    web: &Web,
    path: &str,
    params: &[String],
    what: &str,
    page: usize,
    cancel: &CancelToken,
    queries: &mut u64,
    each: &mut dyn FnMut(JsonObject) -> Result<(), NetError>,
) -> Result<bool, NetError> {
    let mut offset = 0usize;
    loop {
        if cancel.is_cancelled() {
            return Ok(false);
        }
        let mut p = params.to_vec();
        p.push(format!("limit={}", page.max(1)));
        p.push(format!("offset={offset}"));
        let url = format!("{path}?{}", p.join("&"));
        *queries += 1;
        let Some(rsp) = web.get(&url, "application/dicom+json", what)? else {
            return Ok(true);
        };
        let items: Vec<serde_json::Map<String, Value>> = {
            let mut body = rsp.into_body();
            let bytes = body
                .with_config()
                .limit(256 * 1024 * 1024)
                .read_to_vec()
                .map_err(|e| NetError::Protocol(format!("reading {what}: {e}")))?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                Vec::new()
            } else {
                serde_json::from_slice(&bytes).map_err(|e| {
                    NetError::Protocol(format!("{what} did not return DICOM JSON: {e}"))
                })?
            }
        };
        if items.is_empty() {
            return Ok(true);
        }
        offset += items.len();
        for o in items {
            each(JsonObject(o))?;
        }
    }
}
