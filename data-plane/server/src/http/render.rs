//! Renders core responses in Vault's envelope: `request_id`, `lease_id`, `renewable`,
//! `lease_duration`, `data`, `wrap_info`, `warnings`, `auth`, `mount_type`; 204 when there is
//! nothing to say; bare JSON with a custom status for the raw sys endpoints.

use crate::core::request::{AuthInfo, Response as CoreResponse, WrapInfo};
use axum::body::Body;
use axum::response::Response;
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The envelope's `data`: built values, or JSON a handler serialised already.
#[derive(Serialize)]
#[serde(untagged)]
enum Data<'a> {
    Map(&'a Map<String, Value>),
    Raw(&'a RawValue),
}

#[derive(Serialize)]
struct Envelope<'a> {
    request_id: String,
    lease_id: &'a str,
    renewable: bool,
    lease_duration: u64,
    data: Option<Data<'a>>,
    wrap_info: Option<&'a WrapInfo>,
    warnings: Option<&'a [String]>,
    auth: Option<&'a AuthInfo>,
    mount_type: &'a str,
    #[serde(flatten)]
    top: Option<&'a Map<String, Value>>,
}

fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The envelope around pre-serialised `data` (the KV read path), written as byte runs instead
/// of through serde's generic struct walk; byte-for-byte what `Envelope` produces (tested).
fn raw_envelope(resp: &CoreResponse, data: &RawValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(192 + data.get().len());
    out.extend_from_slice(b"{\"request_id\":\"");
    out.extend_from_slice(crate::util::ids::request_id().as_bytes());
    out.extend_from_slice(b"\",\"lease_id\":");
    json_str(&mut out, &resp.lease_id);
    out.extend_from_slice(if resp.renewable {
        b",\"renewable\":true,\"lease_duration\":"
    } else {
        b",\"renewable\":false,\"lease_duration\":"
    });
    out.extend_from_slice(resp.lease_duration.to_string().as_bytes());
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(data.get().as_bytes());
    out.extend_from_slice(b",\"wrap_info\":null,\"warnings\":null,\"auth\":null,\"mount_type\":");
    json_str(&mut out, &resp.mount_type);
    out.push(b'}');
    out
}

fn json_str(out: &mut Vec<u8>, s: &str) {
    // Writing a str into a Vec cannot fail; escaping follows serde_json exactly.
    let _ = serde_json::to_writer(&mut *out, s);
}

pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => json_bytes(status, bytes),
        Err(e) => {
            tracing::error!(error = %e, "failed to serialise response");
            let mut r = Response::new(Body::from(r#"{"errors":["internal error"]}"#));
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}

fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

pub fn render(resp: CoreResponse, head: bool) -> Response {
    let status = match &resp.raw {
        Some(raw) => StatusCode::from_u16(raw.status).unwrap_or(StatusCode::OK),
        None if resp.is_empty() => return empty(StatusCode::NO_CONTENT),
        None => StatusCode::OK,
    };
    if head {
        return empty(status);
    }
    if let Some(raw) = resp.raw.as_ref() {
        if let Some((ct, bytes)) = &raw.bytes {
            let mut r = Response::new(Body::from(bytes.clone()));
            *r.status_mut() = status;
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            return r;
        }
        match &raw.body {
            Some(body) => return json_response(status, body),
            None if resp.data.is_none() => return empty(status),
            None => {}
        }
    }
    if let (Some(raw), None, None, None, true) =
        (&resp.data_json, &resp.data, &resp.auth, &resp.wrap_info, resp.warnings.is_empty())
    {
        return json_bytes(status, raw_envelope(&resp, raw));
    }
    let env = Envelope {
        request_id: crate::util::ids::request_id(),
        lease_id: &resp.lease_id,
        renewable: resp.renewable,
        lease_duration: resp.lease_duration,
        data: match (&resp.data, &resp.data_json) {
            (Some(m), _) => Some(Data::Map(m)),
            (None, Some(raw)) => Some(Data::Raw(raw)),
            (None, None) => None,
        },
        wrap_info: resp.wrap_info.as_ref(),
        warnings: (!resp.warnings.is_empty()).then_some(resp.warnings.as_slice()),
        auth: resp.auth.as_ref(),
        mount_type: &resp.mount_type,
        top: if resp.flatten { resp.data.as_ref() } else { None },
    };
    json_response(status, &env)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-run envelope must equal serde's rendering of the same response.
    #[test]
    fn raw_envelope_matches_the_serde_envelope() {
        let data =
            RawValue::from_string(r#"{"data":{"k":"v\"x"},"metadata":null}"#.into()).unwrap();
        for (lease, renewable, ttl, mount) in
            [("", false, 0, "kv"), ("kv/a/\"b\u{e9}", true, 2_764_800, ""), ("x", false, 1, "k\\v")]
        {
            let resp = CoreResponse {
                lease_id: lease.into(),
                renewable,
                lease_duration: ttl,
                mount_type: mount.into(),
                ..CoreResponse::data_json(data.clone())
            };
            let fast: serde_json::Value =
                serde_json::from_slice(&raw_envelope(&resp, &data)).unwrap();
            let env = Envelope {
                request_id: fast["request_id"].as_str().unwrap().to_owned(),
                lease_id: &resp.lease_id,
                renewable,
                lease_duration: ttl,
                data: Some(Data::Raw(&data)),
                wrap_info: None,
                warnings: None,
                auth: None,
                mount_type: &resp.mount_type,
                top: None,
            };
            let slow = serde_json::to_vec(&env).unwrap();
            assert_eq!(raw_envelope_with_id(&resp, &data, &env.request_id), slow);
        }
    }

    fn raw_envelope_with_id(resp: &CoreResponse, data: &RawValue, id: &str) -> Vec<u8> {
        let out = raw_envelope(resp, data);
        // Swap the random id for the one the serde side used (both are 36 ASCII bytes).
        let mut s = String::from_utf8(out).unwrap();
        let start = s.find(':').unwrap() + 2;
        s.replace_range(start..start + 36, id);
        s.into_bytes()
    }
}
