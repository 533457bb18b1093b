//! A PostgreSQL URL with several hosts, as libpq and `pg_autoctl show uri` write it:
//! `postgres://user:password@h1:5432,h2:5433/db?target_session_attrs=read-write`. sqlx takes one
//! host, so the URL is cut into one connect-options per host, in order; `primary` picks the
//! writable one. payrec always needs a writable session, whatever `target_session_attrs` says.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

use crate::store::StoreError;

/// One host of the URL: how to connect to it, and its name for logs and metrics.
#[derive(Debug, Clone)]
pub struct Host {
    /// `host:port`, as the URL writes it.
    pub label: String,
    pub options: PgConnectOptions,
}

/// Query parameters sqlx does not take, which `hosts` reads or drops.
const MULTI_HOST_PARAMS: [&str; 1] = ["target_session_attrs"];

/// The hosts of `url`, in order (one for a URL with one host).
pub fn hosts(url: &str) -> Result<Vec<Host>, StoreError> {
    let invalid = |why: &str| StoreError::Unavailable(format!("invalid PostgreSQL URL: {why}"));
    let scheme_end = url.find("://").ok_or_else(|| invalid("no scheme"))? + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host_list) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    let tail = without_params(tail, &MULTI_HOST_PARAMS);
    if host_list.is_empty() {
        // No host in the authority (a socket named by `?host=`): the URL is its one host.
        let single = format!("{}{userinfo}{tail}", &url[..scheme_end]);
        let options = PgConnectOptions::from_str(&single)?;
        let label = format!("{}:{}", options.get_host(), options.get_port());
        return Ok(vec![Host { label, options }]);
    }
    let mut hosts = Vec::new();
    for host in host_list.split(',') {
        if host.is_empty() {
            return Err(invalid("an empty host in the host list"));
        }
        let single = format!("{}{userinfo}{host}{tail}", &url[..scheme_end]);
        let options = PgConnectOptions::from_str(&single)?;
        let label = format!("{}:{}", options.get_host(), options.get_port());
        hosts.push(Host { label, options });
    }
    Ok(hosts)
}

/// `tail` (`/db?a=1&b=2`) without the query parameters named in `drop`.
fn without_params(tail: &str, drop: &[&str]) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| !drop.contains(&pair.split('=').next().unwrap_or_default()))
        .collect();
    match kept.is_empty() {
        true => path.to_owned(),
        false => format!("{path}?{}", kept.join("&")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_host_url_is_one_connect_options_per_host_with_the_rest_shared() {
        let hosts = hosts(
            "postgres://app:s3cret@10.0.0.1:5432,10.0.0.2:5433/payrec?target_session_attrs=read-write&sslmode=disable",
        )
        .unwrap();
        let labels: Vec<&str> = hosts.iter().map(|h| h.label.as_str()).collect();
        assert_eq!(labels, ["10.0.0.1:5432", "10.0.0.2:5433"]);
        for host in &hosts {
            assert_eq!(host.options.get_username(), "app");
            assert_eq!(host.options.get_database(), Some("payrec"));
        }
        let one = super::hosts("postgres://postgres@127.0.0.1:5432/test").unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].label, "127.0.0.1:5432");
        assert!(super::hosts("postgres://a@h1,,h2/db").is_err());
    }

    #[test]
    fn only_the_multi_host_parameters_are_dropped() {
        assert_eq!(
            without_params("/db?target_session_attrs=any&options=-c%20x%3Dy", &MULTI_HOST_PARAMS),
            "/db?options=-c%20x%3Dy"
        );
        assert_eq!(
            without_params("/db?target_session_attrs=any", &MULTI_HOST_PARAMS),
            "/db"
        );
        assert_eq!(without_params("/db", &MULTI_HOST_PARAMS), "/db");
    }
}
