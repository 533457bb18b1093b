//! Signing in to the dashboard. The browser pastes an API key (secret or restricted) into a
//! form; the server keeps a session: a random id in an `HttpOnly`, `SameSite=Strict` cookie
//! (`Secure` behind https), only its digest stored, expiring after `SESSION_TTL_SECS`, ended by
//! signing out or by revoking the key. The key itself is never put in a URL, a page or a log.
//! Forms carry a CSRF token: the session's, or before sign-in one also set as a cookie.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use sha2::{Digest, Sha256};

use super::layout::bare;
use crate::api::auth::Peer;
use crate::base62::random_base62;
use crate::clock::unix_now;
use crate::state::AppState;
use crate::store::{NewSession, Session};

/// How long a session lasts from sign-in.
pub const SESSION_TTL_SECS: i64 = 12 * 60 * 60;
/// The cookies' names without `__Host-`.
const SESSION_COOKIE: &str = "payrec_session";
const SIGN_IN_COOKIE: &str = "payrec_sign_in";
/// Random base62 characters of a session id and of a CSRF token (~190 bits).
const TOKEN_CHARS: usize = 32;
pub const SIGN_IN_PATH: &str = "/dashboard/sign-in";

fn session_digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

/// How the dashboard's cookies are named and sent. Served at an https public URL
/// (`--public-url https://…`, the deployment's word, never a client's header): `__Host-` names,
/// which a browser takes only with `Secure`, for the whole host and from this host alone, so a
/// sibling subdomain cannot plant a session (login CSRF). Otherwise (plain http on a
/// workstation) the bare names, scoped to /dashboard.
#[derive(Debug, Clone, Copy)]
struct Cookies {
    https: bool,
}

impl Cookies {
    fn of(app: &AppState) -> Cookies {
        Cookies {
            https: app.config.serves_https(),
        }
    }

    fn name(self, bare: &'static str) -> String {
        if self.https {
            format!("__Host-{bare}")
        } else {
            bare.to_owned()
        }
    }

    fn set(self, bare: &'static str, value: &str, max_age: i64) -> HeaderValue {
        let (path, secure) = if self.https {
            ("/", "; Secure")
        } else {
            ("/dashboard", "")
        };
        HeaderValue::from_str(&format!(
            "{}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}",
            self.name(bare)
        ))
        .expect("cookie values are ASCII")
    }

    fn get<'a>(self, headers: &'a HeaderMap, bare: &'static str) -> Option<&'a str> {
        cookie(headers, &self.name(bare))
    }
}

/// The signed-in user of a dashboard request; without a live session, the request is sent to
/// sign in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    digest: [u8; 32],
}

impl SignedIn {
    pub fn restricted(&self) -> bool {
        crate::wire::auth::KeyKind::of_prefix(&self.session.prefix) == crate::wire::auth::KeyKind::RestrictedRead
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let to_sign_in = || Redirect::to(SIGN_IN_PATH).into_response();
        let Some(id) = Cookies::of(app).get(&parts.headers, SESSION_COOKIE) else {
            return Err(to_sign_in());
        };
        let digest = session_digest(id);
        match app.store.find_session(&digest, unix_now()).await {
            Ok(Some(session)) => {
                if let Some(context) = parts
                    .extensions
                    .get::<std::sync::Arc<crate::wire::request::RequestContext>>()
                {
                    let _ = context.account.set(session.tenant.account_id.clone());
                }
                Ok(SignedIn { session, digest })
            }
            Ok(None) => Err(to_sign_in()),
            Err(e) => Err(crate::wire::error::ApiError::from(e).into_response()),
        }
    }
}

/// The fields of a posted form.
pub fn form_fields(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Whether a posted form's token is the expected one (compared in constant time).
pub fn csrf_ok(expected: &str, sent: Option<&str>) -> bool {
    let Some(sent) = sent else { return false };
    expected.len() == sent.len()
        && expected
            .bytes()
            .zip(sent.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn sign_in_page(status: StatusCode, token: &str, problem: Option<&str>, cookies: Cookies) -> Response {
    let markup = bare(
        "Sign in",
        html! {
            main.sign-in {
                h1 { "payrec" }
                p { "Sign in with an API key: a secret key (sk_…) or a restricted key (rk_…). It decides the account and mode you see." }
                @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
                form method="post" action=(SIGN_IN_PATH) {
                    input type="hidden" name="csrf" value=(token);
                    label for="key" { "API key" }
                    input #key type="password" name="key" autocomplete="off" required;
                    button type="submit" { "Sign in" }
                }
            }
        },
    );
    let mut response = super::html(status, markup);
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookies.set(SIGN_IN_COOKIE, token, 3600));
    response
}

/// GET /dashboard/sign-in
pub async fn sign_in_form(State(app): State<AppState>) -> Response {
    sign_in_page(StatusCode::OK, &random_base62(TOKEN_CHARS), None, Cookies::of(&app))
}

/// POST /dashboard/sign-in
pub async fn sign_in(State(app): State<AppState>, Peer(peer): Peer, headers: HeaderMap, body: Bytes) -> Response {
    let fields = form_fields(&body);
    let cookies = Cookies::of(&app);
    let fresh = random_base62(TOKEN_CHARS);
    let expected = cookies.get(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !csrf_ok(expected, field(&fields, "csrf")) {
        return sign_in_page(
            StatusCode::FORBIDDEN,
            &fresh,
            Some("This form expired or did not come from this page. Sign in again."),
            cookies,
        );
    }
    let key = field(&fields, "key").unwrap_or_default().trim();
    if let Err(e) = app.rate_limiter.authentication_allowed(peer) {
        let wait = match e {
            crate::wire::error::ApiError::RateLimited {
                retry_after_seconds, ..
            } => retry_after_seconds,
            _ => 1,
        };
        let problem = format!("Too many sign-ins with a wrong key came from your address. Try again in {wait} s.");
        let mut page = sign_in_page(StatusCode::TOO_MANY_REQUESTS, &fresh, Some(&problem), cookies);
        page.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return page;
    }
    let owner = match crate::api::auth::owner_of_key(&app, key).await {
        Ok(Some(owner)) => owner,
        Ok(None) => {
            app.rate_limiter.authentication_failed(peer);
            return sign_in_page(
                StatusCode::UNAUTHORIZED,
                &fresh,
                Some("That key is not a valid API key of this server."),
                cookies,
            );
        }
        Err(e) => return crate::wire::error::ApiError::from(e).into_response(),
    };
    let id = random_base62(TOKEN_CHARS);
    let now = unix_now();
    let session = NewSession {
        digest: session_digest(&id),
        key_id: owner.key_id,
        tenant: owner.tenant,
        csrf: random_base62(TOKEN_CHARS),
        created: now,
        expires: now + SESSION_TTL_SECS,
    };
    if let Err(e) = app.store.create_session(&session).await {
        return crate::wire::error::ApiError::from(e).into_response();
    }
    let mut response = Redirect::to("/dashboard/").into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, cookies.set(SESSION_COOKIE, &id, SESSION_TTL_SECS));
    headers.append(header::SET_COOKIE, cookies.set(SIGN_IN_COOKIE, "", 0));
    response
}

/// POST /dashboard/sign-out (with the session's CSRF token).
pub async fn sign_out(State(app): State<AppState>, user: SignedIn, body: Bytes) -> Response {
    let fields = form_fields(&body);
    if !csrf_ok(&user.session.csrf, field(&fields, "csrf")) {
        return super::html(
            StatusCode::FORBIDDEN,
            bare(
                "Refused",
                html! { main { p.problem { "This form did not come from this dashboard; nothing was done." } } },
            ),
        );
    }
    if let Err(e) = app.store.delete_session(&user.digest, unix_now()).await {
        return crate::wire::error::ApiError::from(e).into_response();
    }
    let mut response = Redirect::to(SIGN_IN_PATH).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, Cookies::of(&app).set(SESSION_COOKIE, "", 0));
    response
}
