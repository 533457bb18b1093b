//! The dashboard's extractors: a page's query string and a posted form as typed values (axum's
//! `Query` and `Form`, whose refusals become a page, not axum's plain text), and its cookies
//! (the `cookie` crate's parser).

use axum::extract::{Form, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::error::PageError;

/// A page's query parameters as `T`.
#[derive(Debug)]
pub struct PageQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| PageQuery(value))
            .map_err(|e| PageError::BadRequest(e.body_text()))
    }
}

/// A posted form as `T`.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Form::<T>::from_request(request, state)
            .await
            .map(|Form(value)| PageForm(value))
            .map_err(|e| PageError::BadRequest(e.body_text()))
    }
}

/// The value of cookie `name` among the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .and_then(|c| c.value_raw())
}

/// Whether a form's token is the expected one, compared in constant time.
pub fn token_matches(expected: &str, sent: &str) -> bool {
    use subtle::ConstantTimeEq;
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(sent.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_every_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "a=1; payrec_session=abc".parse().unwrap());
        headers.append(header::COOKIE, "__Host-payrec_session=def".parse().unwrap());
        assert_eq!(cookie(&headers, "payrec_session"), Some("abc"));
        assert_eq!(cookie(&headers, "__Host-payrec_session"), Some("def"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn a_token_matches_only_itself_and_never_when_empty() {
        assert!(token_matches("abc", "abc"));
        assert!(!token_matches("abc", "abd"));
        assert!(!token_matches("abc", "ab"));
        assert!(!token_matches("", ""));
    }
}
