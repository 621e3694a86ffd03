//! Console sessions: the API's `coffer_session` cookie plus a companion CSRF cookie, and the
//! checks every state-changing form must pass.
//!
//! The server stores only a hash of the session's CSRF token, yet pages must embed the token in
//! their forms; so sign-in also sets an HttpOnly `coffer_csrf` cookie holding it. A page
//! renders it into hidden fields, and a post must echo it back: another site can make the
//! browser send cookies but can neither read them nor the page, so it cannot forge the field.
//! The Origin header is checked as a second, independent line of defence.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use subtle::ConstantTimeEq as _;

use super::error::ConsoleError;
pub(crate) use crate::http::cookie;
use crate::http::AppState;
use crate::service::{hash_token, Caller, ServiceError};

pub const SESSION_COOKIE: &str = "coffer_session";
pub const CSRF_COOKIE: &str = "coffer_csrf";

/// A signed-in person. Service-principal tokens are API-only and never make a session.
pub struct Session {
    pub caller: Caller,
    csrf: String,
    csrf_hash: Vec<u8>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("caller", &self.caller).finish_non_exhaustive()
    }
}

impl Session {
    /// The token to embed in this page's forms.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Refuses a post whose CSRF field is not this session's token or whose origin is foreign.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        state: &AppState,
        presented: &str,
    ) -> Result<(), ConsoleError> {
        let ok = bool::from(hash_token(presented).ct_eq(self.csrf_hash.as_slice()));
        if !ok || !same_origin(headers, &state.allowed_origins) {
            return Err(ConsoleError::Csrf);
        }
        Ok(())
    }
}

impl FromRequestParts<Arc<AppState>> for Session {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(ConsoleError::SignedOut)?;
        let auth = state.cp.authenticate(token).await.map_err(|e| match e {
            ServiceError::Unauthenticated => ConsoleError::SignedOut,
            other => other.into(),
        })?;
        if !matches!(auth.caller, Caller::User { .. }) {
            return Err(ConsoleError::SignedOut);
        }
        let csrf_hash = auth.csrf_hash.ok_or(ConsoleError::SignedOut)?;
        let csrf = cookie(&parts.headers, CSRF_COOKIE).ok_or(ConsoleError::SignedOut)?;
        if !bool::from(hash_token(csrf).ct_eq(csrf_hash.as_slice())) {
            return Err(ConsoleError::SignedOut);
        }
        Ok(Session { caller: auth.caller, csrf: csrf.to_owned(), csrf_hash })
    }
}

/// True when the request's Origin (if the browser sent one) is this console's own origin:
/// one of the configured origins, or else the Host the request was addressed to.
pub fn same_origin(headers: &HeaderMap, allowed_origins: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        // Browsers send Origin on every cross-site POST; a missing one is a same-origin form or
        // a non-browser client, and the CSRF token still has to match.
        return true;
    };
    let Ok(origin) = origin.to_str() else { return false };
    let origin = origin.trim_end_matches('/');
    if !allowed_origins.is_empty() {
        return allowed_origins.iter().any(|o| o.eq_ignore_ascii_case(origin));
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// `Set-Cookie` values that open a session (HttpOnly, SameSite=Strict, Secure behind TLS).
pub fn session_cookies(
    token: &str,
    csrf: &str,
    max_age: u64,
    secure: bool,
) -> Result<[HeaderValue; 2], ConsoleError> {
    let secure = if secure { "; Secure" } else { "" };
    let make = |name: &str, value: &str| {
        HeaderValue::from_str(&format!(
            "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
        ))
        .map_err(|_| ConsoleError::Internal("session cookie is not a valid header".into()))
    };
    Ok([make(SESSION_COOKIE, token)?, make(CSRF_COOKIE, csrf)?])
}

/// `Set-Cookie` values that end the session in this browser.
pub fn cleared_cookies(secure: bool) -> [HeaderValue; 2] {
    let clear = |name: &'static str| {
        let v = if secure {
            format!("{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure")
        } else {
            format!("{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
        };
        HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("coffer_session=; Max-Age=0"))
    };
    [clear(SESSION_COOKIE), clear(CSRF_COOKIE)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_table() {
        let check = |pairs: &[(&'static str, &'static str)], allowed: &[String], expect: bool| {
            assert_eq!(same_origin(&headers(pairs), allowed), expect, "{pairs:?} {allowed:?}");
        };
        let none: &[String] = &[];
        check(&[("host", "127.0.0.1:8080")], none, true);
        check(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")], none, true);
        check(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:9999")], none, false);
        check(&[("host", "127.0.0.1:8080"), ("origin", "null")], none, false);
        check(&[("origin", "http://127.0.0.1:8080")], none, false);
        let allowed = ["https://console.example".to_owned()];
        check(&[("host", "api:1"), ("origin", "https://console.example")], &allowed, true);
        check(&[("host", "api:1"), ("origin", "https://api:1")], &allowed, false);
    }

    #[test]
    fn cookie_table() {
        let check = |raw: &'static str, name: &str, expect: Option<&str>| {
            assert_eq!(cookie(&headers(&[("cookie", raw)]), name), expect, "{raw}");
        };
        check("coffer_session=a; coffer_csrf=b", "coffer_csrf", Some("b"));
        check("coffer_session=a", "coffer_csrf", None);
        check("xcoffer_csrf=b", "coffer_csrf", None);
    }
}
