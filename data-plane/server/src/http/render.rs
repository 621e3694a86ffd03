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

pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut r = Response::new(Body::from(bytes));
            *r.status_mut() = status;
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
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
