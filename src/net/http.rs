//! A blocking DICOMweb client on ureq (no async runtime): one agent per
//! node, authentication headers, HTTP failures turned into advice.

use super::{NetError, Timeouts};
use crate::model::WebAuth;

/// A DICOMweb endpoint.
pub struct Web {
    agent: ureq::Agent,
    base: String,
    auth: Option<String>,
    timeouts: Timeouts,
}

impl Web {
    pub fn new(base_url: &str, auth: &WebAuth, timeouts: Timeouts) -> Web {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeouts.connect))
            .timeout_recv_response(Some(timeouts.read))
            .timeout_recv_body(Some(timeouts.read))
            .build();
        let auth = match auth {
            WebAuth::None => None,
            WebAuth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64(format!("{user}:{password}").as_bytes())
            )),
            WebAuth::Bearer { token } => Some(format!("Bearer {token}")),
        };
        Web {
            agent: ureq::Agent::new_with_config(config),
            base: base_url.trim_end_matches('/').to_string(),
            auth,
            timeouts,
        }
    }

    /// GET `{base}/{path}` accepting `accept`. `Ok(None)` is 204 No
    /// Content (QIDO: no matches). `what` names the request in messages
    /// (never a patient value).
    pub fn get(
        &self,
        path: &str,
        accept: &str,
        what: &str,
    ) -> Result<Option<ureq::http::Response<ureq::Body>>, NetError> {
        let url = format!("{}/{}", self.base, path.trim_start_matches('/'));
        let mut req = self.agent.get(&url).header("Accept", accept);
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let rsp = req.call().map_err(|e| self.map(e))?;
        let status = rsp.status().as_u16();
        match status {
            204 => Ok(None),
            200..=299 => Ok(Some(rsp)),
            _ => Err(NetError::Http {
                status,
                what: what.to_string(),
                advice: match status {
                    401 | 403 => {
                        ": check the node's credentials (`pacs-cohort pacs add --replace`)"
                    }
                    404 => ": check the node's base URL (it usually ends in /dicom-web)",
                    406 => ": the server cannot answer in the format asked for",
                    429 | 500..=599 => ": the server is busy or failing; try again later",
                    _ => "",
                },
            }),
        }
    }

    fn map(&self, e: ureq::Error) -> NetError {
        match e {
            ureq::Error::Timeout(_) => NetError::Timeout(self.timeouts.read.as_secs()),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                NetError::Timeout(self.timeouts.read.as_secs())
            }
            ureq::Error::Io(io) => NetError::Unreachable {
                addr: self.base.clone(),
                detail: io.to_string(),
            },
            ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => NetError::Unreachable {
                addr: self.base.clone(),
                detail: e.to_string(),
            },
            ureq::Error::BadUri(u) => NetError::Unreachable {
                addr: self.base.clone(),
                detail: format!("not a usable URL: {u}"),
            },
            other => NetError::Protocol(other.to_string()),
        }
    }
}

/// Standard base64 (RFC 4648) for the Basic authorization header.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes a query parameter value.
pub fn encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(
            super::base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(super::base64(b"ab"), "YWI=");
        assert_eq!(super::base64(b"abc"), "YWJj");
    }
}
