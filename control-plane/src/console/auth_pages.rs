//! Sign up, sign in, sign out, and the landing redirects.
//!
//! Sign-in calls the same `ControlPlane::login` as `POST /v1/login` and stores the issued token
//! and CSRF token in HttpOnly cookies; the pages never see the bearer token.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::ConsoleError;
use super::form;
use super::session::{
    cleared_cookies, cookie, same_origin, session_cookies, Session, SESSION_COOKIE,
};
use super::view::{self, max_page};
use crate::http::AppState;
use crate::service::ServiceError;

pub async fn root() -> Redirect {
    Redirect::to("/console")
}

/// The first org's clusters, or an explanation when the person belongs to no org.
pub async fn home(
    State(state): State<Arc<AppState>>,
    session: Session,
) -> Result<Response, ConsoleError> {
    let orgs = state.cp.list_orgs(session.caller, max_page(), None).await?.items;
    if let Some(first) = orgs.first() {
        return Ok(Redirect::to(&format!("/console/orgs/{}/clusters", first.id)).into_response());
    }
    let body = html! {
        section.card.narrow {
            h1 { "No organizations yet" }
            p.muted { "You are not a member of any organization. Ask an admin to invite your email address." }
            (view::signout_form(&session, "button"))
        }
    };
    Ok(view::bare_page("No organizations", body).into_response())
}

#[derive(Deserialize)]
pub struct SignupForm {
    email: String,
    password: SecretString,
    org_name: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: SecretString,
}

pub async fn signup_page() -> Response {
    signup_view("", "", None, StatusCode::OK)
}

pub async fn login_page() -> Response {
    login_view("", None, StatusCode::OK)
}

fn auth_card(title: &str, lead: &str, form: Markup, footer: Markup) -> Markup {
    html! {
        section.card.narrow.auth {
            h1 { (title) }
            p.muted { (lead) }
            (form)
            p.switch { (footer) }
        }
    }
}

fn signup_view(email: &str, org: &str, error: Option<&str>, status: StatusCode) -> Response {
    let fields = ["email", "password", "org_name"];
    let field = error.and_then(|e| form::field_of(e, &fields));
    let err_for = |f: &str| if field == Some(f) { error } else { None };
    let form = html! {
        form.stack method="post" action="/console/signup" novalidate {
            @if field.is_none() { (view::form_error(error)) }
            label for="email" { "Work email" }
            input #email type="email" name="email" value=(email) autocomplete="email" required autofocus
                aria-invalid=[err_for("email").map(|_| "true")];
            (view::form_error(err_for("email")))
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="new-password" required minlength="12"
                aria-describedby="password-help" aria-invalid=[err_for("password").map(|_| "true")];
            small #password-help .muted { "At least 12 characters. A passphrase works well." }
            (view::form_error(err_for("password")))
            label for="org_name" { "Organization name" }
            input #org_name type="text" name="org_name" value=(org) required
                aria-invalid=[err_for("org_name").map(|_| "true")];
            (view::form_error(err_for("org_name")))
            button.button.primary type="submit" { "Create account" }
        }
    };
    let footer = html! { "Already have an account? " a href="/console/login" { "Sign in" } };
    let body = auth_card(
        "Create your Coffer account",
        "Managed secrets clusters, ready in minutes.",
        form,
        footer,
    );
    (status, view::bare_page("Sign up", body)).into_response()
}

fn login_view(email: &str, error: Option<&str>, status: StatusCode) -> Response {
    let form = html! {
        form.stack method="post" action="/console/login" {
            (view::form_error(error))
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            button.button.primary type="submit" { "Sign in" }
        }
    };
    let footer = html! { "New to Coffer? " a href="/console/signup" { "Create an account" } };
    let body = auth_card("Sign in to Coffer", "Welcome back.", form, footer);
    (status, view::bare_page("Sign in", body)).into_response()
}

pub async fn signup(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    if !same_origin(&headers, &state.allowed_origins) {
        return Err(ConsoleError::Csrf);
    }
    let f: SignupForm = form::parse(&body)?;
    let password = SecretString::from(f.password.expose_secret().to_owned());
    match state.cp.signup(&f.email, f.password, &f.org_name).await {
        Ok(_) => {}
        Err(ServiceError::Invalid(m) | ServiceError::Conflict(m)) => {
            return Ok(signup_view(&f.email, &f.org_name, Some(&m), StatusCode::BAD_REQUEST));
        }
        Err(e) => return Err(e.into()),
    }
    sign_in(&state, &f.email, password).await
}

pub async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    if !same_origin(&headers, &state.allowed_origins) {
        return Err(ConsoleError::Csrf);
    }
    let f: LoginForm = form::parse(&body)?;
    match sign_in(&state, &f.email, f.password).await {
        Err(ConsoleError::SignedOut | ConsoleError::Invalid(_)) => Ok(login_view(
            &f.email,
            Some("That email and password do not match an account."),
            StatusCode::UNAUTHORIZED,
        )),
        other => other,
    }
}

async fn sign_in(
    state: &AppState,
    email: &str,
    password: SecretString,
) -> Result<Response, ConsoleError> {
    let out = state.cp.login(email, password).await?;
    let cookies = session_cookies(
        out.token.access_token.expose_secret(),
        out.csrf_token.expose_secret(),
        out.token.expires_in,
        state.secure_cookies,
    )?;
    let mut res = Redirect::to("/console").into_response();
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// The sign-out form: the header offers two submit buttons, and only the pressed one is sent,
/// so `everywhere=true` arrives only from "Sign out everywhere".
#[derive(Deserialize)]
pub struct LogoutForm {
    // Defaulted so a post without the token is refused as a forgery (403), not as a malformed
    // form: that is what it is.
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    everywhere: bool,
}

/// Ends the session: revoked server-side through the same use-case as `POST /v1/logout`
/// (so a copied cookie stops working too), then forgotten by this browser. With
/// `everywhere`, every other session and token of the person is revoked as well, as
/// `{"everywhere": true}` does in the API.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let f: LogoutForm = form::parse(&body)?;
    session.verify(&headers, &state, &f.csrf)?;
    let token = cookie(&headers, SESSION_COOKIE).ok_or(ConsoleError::SignedOut)?;
    match state.cp.logout(token, f.everywhere).await {
        // Already revoked by a concurrent sign-out: the outcome wanted here.
        Ok(_) | Err(ServiceError::Unauthenticated) => {}
        Err(e) => return Err(e.into()),
    }
    let mut res = Redirect::to("/console/login").into_response();
    for c in cleared_cookies(state.secure_cookies) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}
