//! Authentication extractor: bearer tokens, or the console session cookie plus CSRF checks.
//!
//! Browsers attach cookies automatically, so a cookie alone must not authorise a state change:
//! unsafe methods additionally need the session's CSRF token in `x-csrf-token` and, when the
//! browser sends `Origin`, a same-origin one. Bearer tokens are never sent implicitly and
//! need neither.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use subtle::ConstantTimeEq as _;

use super::error::ApiError;
use super::AppState;
use crate::service::{hash_token, Caller};

pub const SESSION_COOKIE: &str = "coffer_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller of a request.
pub struct Authed(pub Caller);

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let token = bearer_token(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
            // A refused token maps to 401 like a missing one (`From<ServiceError>`).
            return Ok(Authed(state.cp.authenticate(token).await?.caller));
        }
        let token = session_cookie(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        let auth = state.cp.authenticate(token).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            check_csrf(parts, auth.csrf_hash.as_deref(), &state.allowed_origins)?;
        }
        Ok(Authed(auth.caller))
    }
}

/// The token of an `Authorization: Bearer` header (either case of the scheme); `None` when the
/// header is absent or not a bearer credential.
pub(super) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
}

/// The credential [`Authed`] accepts: an `Authorization` header, when present, wins over the
/// session cookie.
pub(super) fn presented_token(headers: &HeaderMap) -> Option<&str> {
    if headers.contains_key(header::AUTHORIZATION) {
        return bearer_token(headers);
    }
    session_cookie(headers)
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of cookie `name` in the request's `Cookie` headers (the console's cookies too).
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

fn check_csrf(
    parts: &Parts,
    expected_hash: Option<&[u8]>,
    allowed_origins: &[String],
) -> Result<(), ApiError> {
    let denied = || {
        ApiError::forbidden(
            "cookie-authenticated requests need a valid x-csrf-token header and same-origin Origin",
        )
    };
    let presented =
        parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).ok_or_else(denied)?;
    let expected = expected_hash.ok_or_else(denied)?;
    if !bool::from(hash_token(presented).ct_eq(expected)) {
        return Err(denied());
    }
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        if !allowed_origins.is_empty() {
            let origin = origin.to_str().map_err(|_| denied())?.trim_end_matches('/');
            if !allowed_origins.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
                return Err(denied());
            }
            return Ok(());
        }
        let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("https://").or_else(|| o.strip_prefix("http://")));
        match (origin_host, host) {
            (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => {}
            _ => return Err(denied()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = axum::http::Request::builder().method(Method::POST).uri("/v1/orgs");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn session_cookie_table() {
        let check = |cookie: &str, expect: Option<&str>| {
            assert_eq!(session_cookie(&parts(&[("cookie", cookie)]).headers), expect, "{cookie}");
        };
        check("coffer_session=cpt_abc", Some("cpt_abc"));
        check("a=1; coffer_session=cpt_abc; b=2", Some("cpt_abc"));
        check("xcoffer_session=cpt_abc", None);
        check("a=1", None);
        check("", None);
    }

    #[test]
    fn csrf_table() {
        let expected = hash_token("good-token");
        let check = |headers: &[(&str, &str)], ok: bool| {
            assert_eq!(
                check_csrf(&parts(headers), Some(&expected), &[]).is_ok(),
                ok,
                "{headers:?}"
            );
        };
        check(&[("x-csrf-token", "good-token")], true);
        check(
            &[
                ("x-csrf-token", "good-token"),
                ("host", "cp.example"),
                ("origin", "https://cp.example"),
            ],
            true,
        );
        check(
            &[
                ("x-csrf-token", "good-token"),
                ("host", "cp.example"),
                ("origin", "https://evil.example"),
            ],
            false,
        );
        check(&[("x-csrf-token", "good-token"), ("origin", "https://cp.example")], false);
        check(&[("x-csrf-token", "good-token"), ("host", "cp.example"), ("origin", "null")], false);
        check(&[("x-csrf-token", "bad-token")], false);
        check(&[], false);
        // A token without a session CSRF secret (e.g. a service token in a cookie) never passes.
        assert!(check_csrf(&parts(&[("x-csrf-token", "good-token")]), None, &[]).is_err());
    }

    #[test]
    fn configured_origins_table() {
        let expected = hash_token("t");
        let allowed = ["https://console.example".to_owned()];
        let check = |origin: Option<&str>, ok: bool| {
            let mut headers = vec![("x-csrf-token", "t"), ("host", "api.internal:8080")];
            headers.extend(origin.map(|o| ("origin", o)));
            let got = check_csrf(&parts(&headers), Some(&expected), &allowed).is_ok();
            assert_eq!(got, ok, "{origin:?}");
        };
        check(Some("https://console.example"), true);
        check(Some("https://CONSOLE.example/"), true);
        check(None, true);
        check(Some("http://console.example"), false);
        check(Some("https://api.internal:8080"), false);
        check(Some("https://evil.example"), false);
    }
}
