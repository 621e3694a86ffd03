//! Request helpers for console handlers: URL-encoded form bodies, checked posts ([`Posted`])
//! and path ids, all rejected through [`ConsoleError`] so a malformed request gets the same
//! friendly page as any other.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::error::ConsoleError;
use super::session::Session;
use crate::http::AppState;

/// Path parameters; an id that does not parse cannot name anything, so it is a 404.
pub struct Ids<T>(pub T);

impl<S, T> FromRequestParts<S> for Ids<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Ids(p.0))
            .map_err(|_| ConsoleError::NotFound("page"))
    }
}

/// Decodes an `application/x-www-form-urlencoded` body.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ConsoleError> {
    serde_urlencoded::from_bytes(body).map_err(|_| {
        ConsoleError::Invalid("the form was incomplete; reload the page and try again".into())
    })
}

/// Which form field a service validation message is about, judged by the field name it
/// starts with (the domain layer words its messages that way), so the error can be shown
/// next to that field instead of at the top of the form.
pub fn field_of<'a>(message: &str, fields: &[&'a str]) -> Option<&'a str> {
    let first = message.split([' ', ':']).next().unwrap_or("");
    fields
        .iter()
        .copied()
        .find(|f| first.eq_ignore_ascii_case(f) || message.starts_with(&format!("{f} ")))
}

/// The body of a form whose only field is the CSRF token (delete and remove buttons).
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// A state-changing console post, checked: the person is signed in, the body parses as `F`,
/// and its `csrf` field is this session's token, posted from this console's own origin.
/// Handlers that take one cannot forget a step; the order (session, form, CSRF) is the one
/// every handler used, so refusals stay as they were: signed out, then a malformed form (400),
/// then a forgery (403).
pub struct Posted<F> {
    pub session: Session,
    pub form: F,
}

impl<F> FromRequest<Arc<AppState>> for Posted<F>
where
    F: DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = parts.headers.clone();
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form: F = parse(&body).map_err(IntoResponse::into_response)?;
        // The forms themselves do not declare the token; it is read once, here.
        let token: CsrfForm = parse(&body).map_err(IntoResponse::into_response)?;
        session.verify(&headers, state, &token.csrf).map_err(IntoResponse::into_response)?;
        Ok(Posted { session, form })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_of_table() {
        let fields = ["name", "tier", "size", "region", "version"];
        let check =
            |msg: &str, expect: Option<&str>| assert_eq!(field_of(msg, &fields), expect, "{msg}");
        check("tier must be one of: dev, essentials, standard", Some("tier"));
        check("size large is not available for tier dev; valid sizes: small", Some("size"));
        check("version 9.9.9 is not a known release", Some("version"));
        check("nothing to update", None);
        check("", None);
    }
}
