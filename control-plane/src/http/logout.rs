//! Sign-out: `POST /v1/logout` revokes the credential that made the request.
//!
//! Tokens are otherwise only retired by expiry; a person who signs out, or a script that is
//! done with its token, needs the server to forget it at once so a leaked copy is useless.
//! The console's sign-out calls the same use-case, which is what makes the two twins.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{presented_token, Authed, SESSION_COOKIE};
use super::error::{ApiError, ErrorBody};
use super::extract::optional_json;
use super::AppState;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// Also revoke every other session and token of the same person ("sign out
    /// everywhere"). Ignored for service-principal tokens, which are revoked one by one.
    #[serde(default)]
    pub everywhere: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutResponse {
    /// How many tokens were revoked (1, or more with `everywhere`).
    pub revoked: u64,
}

/// Sign out: revoke the bearer token or console session that authenticates this request.
/// The body is optional. Also clears the `coffer_session` cookie.
#[utoipa::path(post, path = "/v1/logout", tag = "auth",
    request_body(content = Option<LogoutRequest>, description = "Optional; `{}` when omitted."),
    responses((status = 200, body = LogoutResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout(
    State(state): State<Arc<AppState>>,
    // Runs the usual checks first: a cookie-authenticated sign-out needs the CSRF header, so
    // another site cannot sign a person out by posting here.
    _authed: Authed,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req = parse_body(&headers, &body)?;
    let token = presented_token(&headers).ok_or_else(ApiError::unauthenticated)?;
    // Revoked concurrently (a second sign-out): 401, the same answer as an unknown token.
    let revoked = state.cp.logout(token, req.everywhere).await?;
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}");
    let mut res = Json(LogoutResponse { revoked }).into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// An empty body means the defaults; anything else must be the JSON object.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<LogoutRequest, ApiError> {
    Ok(optional_json(headers, body)?.unwrap_or_default())
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
    fn presented_token_table() {
        let check = |pairs: &[(&'static str, &'static str)], expect: Option<&str>| {
            assert_eq!(presented_token(&headers(pairs)), expect, "{pairs:?}");
        };
        check(&[("authorization", "Bearer cpt_a")], Some("cpt_a"));
        check(&[("authorization", "bearer  cpt_a ")], Some("cpt_a"));
        check(
            &[("authorization", "Bearer cpt_a"), ("cookie", "coffer_session=cpt_b")],
            Some("cpt_a"),
        );
        check(&[("cookie", "x=1; coffer_session=cpt_b")], Some("cpt_b"));
        check(&[("authorization", "Basic cpt_a"), ("cookie", "coffer_session=cpt_b")], None);
        check(&[], None);
    }

    #[test]
    fn parse_body_table() {
        let json = [("content-type", "application/json")];
        let check = |pairs: &[(&'static str, &'static str)], body: &str, expect: Option<bool>| {
            let got = parse_body(&headers(pairs), body.as_bytes()).ok().map(|r| r.everywhere);
            assert_eq!(got, expect, "{pairs:?} {body:?}");
        };
        check(&[], "", Some(false));
        check(&[], " \n", Some(false));
        check(&json, "{}", Some(false));
        check(&json, r#"{"everywhere": true}"#, Some(true));
        check(&json, r#"{"everywhere": "yes"}"#, None);
        check(&json, r#"{"other": 1}"#, None);
        check(&[("content-type", "text/plain")], "{}", None);
    }
}
