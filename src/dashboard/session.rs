//! Signing in to the dashboard. The browser pastes an API key (secret or restricted) into a
//! form; the server keeps a session: a random id in an `HttpOnly`, `SameSite=Strict` cookie
//! (`__Host-` and `Secure` behind an https public URL), only its digest stored, expiring after
//! `SESSION_TTL_SECS`, ended by signing out or by revoking the key. The key itself is never put
//! in a URL, a page or a log. Forms carry a CSRF token: the session's, or before sign-in one
//! also set as a cookie.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::PageError;
use super::extract::{PageForm, cookie, token_matches};
use super::layout::bare;
use super::paths;
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

fn session_digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// How the dashboard's cookies are named and sent. Served at an https public URL
/// (`--public-url https://…`, the deployment's word, never a client's header): `__Host-` names,
/// which a browser takes only with `Secure`, for the whole host and from this host alone, so a
/// sibling subdomain cannot plant a session (login CSRF). Otherwise (plain http on a
/// workstation) the bare names, scoped to the dashboard.
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
            (paths::PREFIX, "")
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
        self.session.kind == crate::store::KeyKind::RestrictedRead
    }

    /// Whether a posted form's CSRF token is this session's.
    pub fn sent_the_form(&self, token: &str) -> bool {
        token_matches(&self.session.csrf, token)
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let to_sign_in = || Redirect::to(paths::SIGN_IN).into_response();
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
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

/// A form that changes nothing but the session: its CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub csrf: String,
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
}

/// A form refused because it did not come from a page of this dashboard.
pub fn forged(what_was_not_done: &str) -> Response {
    super::html(
        StatusCode::FORBIDDEN,
        bare(
            "Refused",
            html! { main { p.problem { "This form did not come from this dashboard; " (what_was_not_done) } } },
        ),
    )
}

fn sign_in_page(status: StatusCode, token: &str, problem: Option<&str>, cookies: Cookies) -> Response {
    let markup = bare(
        "Sign in",
        html! {
            main.sign-in {
                h1 { "payrec" }
                p { "Sign in with an API key: a secret key (sk_…) or a restricted key (rk_…). It decides the account and mode you see." }
                @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
                form method="post" action=(paths::SIGN_IN) {
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
pub async fn sign_in(
    State(app): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    PageForm(form): PageForm<SignInForm>,
) -> Result<Response, PageError> {
    let cookies = Cookies::of(&app);
    let fresh = random_base62(TOKEN_CHARS);
    let expected = cookies.get(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if !token_matches(expected, &form.csrf) {
        let problem = "This form expired or did not come from this page. Sign in again.";
        return Ok(sign_in_page(StatusCode::FORBIDDEN, &fresh, Some(problem), cookies));
    }
    if let Err(crate::wire::error::ApiError::RateLimited {
        retry_after_seconds, ..
    }) = app.rate_limiter.authentication_allowed(peer)
    {
        let problem =
            format!("Too many sign-ins with a wrong key came from your address. Try again in {retry_after_seconds} s.");
        let mut page = sign_in_page(StatusCode::TOO_MANY_REQUESTS, &fresh, Some(&problem), cookies);
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        return Ok(page);
    }
    let Some(owner) = crate::api::auth::owner_of_key(&app, form.key.trim()).await? else {
        app.rate_limiter.authentication_failed(peer);
        let problem = "That key is not a valid API key of this server.";
        return Ok(sign_in_page(StatusCode::UNAUTHORIZED, &fresh, Some(problem), cookies));
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
    app.store.create_session(&session).await?;
    let mut response = Redirect::to(paths::HOME).into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, cookies.set(SESSION_COOKIE, &id, SESSION_TTL_SECS));
    headers.append(header::SET_COOKIE, cookies.set(SIGN_IN_COOKIE, "", 0));
    Ok(response)
}

/// POST /dashboard/sign-out (with the session's CSRF token).
pub async fn sign_out(
    State(app): State<AppState>,
    user: SignedIn,
    PageForm(form): PageForm<TokenForm>,
) -> Result<Response, PageError> {
    if !user.sent_the_form(&form.csrf) {
        return Ok(forged("nothing was done."));
    }
    app.store.delete_session(&user.digest, unix_now()).await?;
    let mut response = Redirect::to(paths::SIGN_IN).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, Cookies::of(&app).set(SESSION_COOKIE, "", 0));
    Ok(response)
}
