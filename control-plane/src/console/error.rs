//! The console's one error type. Every handler failure becomes either a redirect to sign-in or
//! a friendly page; service messages that are meant for users (validation, conflicts,
//! permission) are shown, anything internal is logged and replaced by a generic sentence.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::view;
use crate::service::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No valid session: send the browser to the sign-in page.
    #[error("signed out")]
    SignedOut,
    /// The form did not carry this session's CSRF token, or came from another origin.
    #[error("request could not be verified")]
    Csrf,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// The cluster's node is needed and did not answer; the message is safe to show.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<ServiceError> for ConsoleError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(m) => ConsoleError::Invalid(m),
            ServiceError::Unauthenticated => ConsoleError::SignedOut,
            ServiceError::PermissionDenied(m) => ConsoleError::Forbidden(m),
            ServiceError::NotFound(what) => ConsoleError::NotFound(what),
            ServiceError::Conflict(m) => ConsoleError::Conflict(m),
            ServiceError::Unavailable(m) => ConsoleError::Unavailable(m),
            // Store, internal and any later infrastructure errors: logged, never shown.
            other => ConsoleError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            ConsoleError::SignedOut => {
                return Redirect::to("/console/login").into_response();
            }
            ConsoleError::Csrf => (
                StatusCode::FORBIDDEN,
                "Request refused",
                "This form came from another site or an expired page. Reload the page and try again."
                    .to_owned(),
            ),
            ConsoleError::Forbidden(m) => {
                (StatusCode::FORBIDDEN, "Not allowed", format!("Your role does not allow this: {m}"))
            }
            ConsoleError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "Not found",
                format!("This {what} does not exist or you do not have access to it."),
            ),
            ConsoleError::Invalid(m) => (StatusCode::BAD_REQUEST, "Check your input", m.clone()),
            ConsoleError::Conflict(m) => (StatusCode::CONFLICT, "Conflict", m.clone()),
            ConsoleError::Unavailable(m) => {
                (StatusCode::SERVICE_UNAVAILABLE, "Cluster not reachable", m.clone())
            }
            ConsoleError::Internal(detail) => {
                tracing::error!(error = %detail, "console request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "We could not complete this request. Please try again in a moment.".to_owned(),
                )
            }
        };
        let body = html! {
            section.card.narrow role="alert" {
                h1 { (title) }
                p { (message) }
                p { a.button href="/console" { "Back to the console" } }
            }
        };
        let mut res = (status, view::bare_page(title, body)).into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
        res
    }
}
