//! Where webhooks may go: a tenant chooses the URL, so without a rule a tenant could make payrec
//! send requests into the network it runs in (its loopback, the cloud's metadata address, the
//! private networks behind it) and read the answers' status as a port scanner would.
//!
//! The rule: a delivery goes only to a public address. Live mode needs `https://`. Test mode
//! may also reach loopback (a receiver on the developer's machine, as `stripe listen` does)
//! unless the deployment denies it. `--webhook-allow` adds hosts and networks explicitly (an
//! internal receiver). The worker applies the rule to the addresses it connects to, after
//! resolving the name, so a name that resolves elsewhere later is refused then.

use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;

use super::allow::AllowList;

/// Networks that are not the public internet: loopback, link-local (the cloud metadata
/// address 169.254.169.254 among them), private (RFC 1918, IPv6 unique-local), shared
/// carrier-grade NAT, unspecified, multicast, broadcast, documentation and benchmarking ranges,
/// reserved space, and IPv6 forms that carry an IPv4 address (v4-mapped, NAT64, 6to4, Teredo)
/// or that were site-local.
const NOT_PUBLIC: [&str; 27] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "100::/64",
    "2001::/32",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

static NOT_PUBLIC_NETS: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    NOT_PUBLIC
        .iter()
        .map(|n| n.parse().expect("the table's networks parse"))
        .collect()
});

/// Whether `ip` is an address of the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    !NOT_PUBLIC_NETS.iter().any(|net| net.contains(&ip))
}

/// A loopback address, in either family (a v4-mapped one too).
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// The deployment's rule for webhook destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destinations {
    /// Hosts and networks allowed beyond the public internet (`--webhook-allow`).
    pub allow: Option<AllowList>,
    /// Test mode may deliver to loopback (`--webhook-deny-loopback` turns it off).
    pub test_mode_loopback: bool,
}

impl Default for Destinations {
    fn default() -> Self {
        Destinations {
            allow: None,
            test_mode_loopback: true,
        }
    }
}

impl Destinations {
    /// Whether a delivery of this mode may connect to `ip`.
    pub fn allows_ip(&self, livemode: bool, ip: IpAddr) -> bool {
        is_public(ip)
            || (!livemode && self.test_mode_loopback && is_loopback(ip))
            || self.allow.as_ref().is_some_and(|a| a.allows_ip(ip))
    }

    /// Whether the allow list names `host` itself (then any address it resolves to is allowed).
    pub fn allows_name(&self, host: &str) -> bool {
        self.allow.as_ref().is_some_and(|a| a.allows_name(host))
    }

    /// Why a URL cannot be an endpoint of this mode, as far as can be told before resolving
    /// it: a live endpoint's scheme, or an address written in the URL. (A name is judged by
    /// what it resolves to, at each delivery.)
    pub fn refuses_url(&self, livemode: bool, url: &url::Url) -> Option<String> {
        if livemode && url.scheme() != "https" {
            return Some("live mode webhook endpoints must use https://".into());
        }
        let ip = match url.host()? {
            url::Host::Ipv4(v4) => IpAddr::V4(v4),
            url::Host::Ipv6(v6) => IpAddr::V6(v6),
            url::Host::Domain(_) => return None,
        };
        (!self.allows_ip(livemode, ip)).then(|| {
            format!("this payrec server does not deliver webhooks to {ip}: only to public addresses (its operator may allow others with --webhook-allow)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn every_class_of_internal_address_is_refused_and_public_ones_are_not() {
        for internal in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "169.254.169.254",
            "fe80::1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "fd00::1",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:8.8.8.8",
            "0.0.0.0",
            "::",
            "100.64.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::1",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip(internal)), "{internal}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "93.184.216.34",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn test_mode_may_reach_loopback_unless_denied_and_the_allow_list_extends_both_modes() {
        let default = Destinations::default();
        assert!(default.allows_ip(false, ip("127.0.0.1")));
        assert!(default.allows_ip(false, ip("::ffff:127.0.0.1")));
        assert!(!default.allows_ip(true, ip("127.0.0.1")), "never in live mode");
        assert!(!default.allows_ip(false, ip("10.0.0.1")), "loopback only");
        let denied = Destinations {
            test_mode_loopback: false,
            ..Destinations::default()
        };
        assert!(!denied.allows_ip(false, ip("127.0.0.1")));
        let extended = Destinations {
            allow: Some(AllowList::parse("10.0.0.0/8,hooks.internal").unwrap()),
            ..Destinations::default()
        };
        assert!(extended.allows_ip(true, ip("10.9.9.9")));
        assert!(extended.allows_ip(true, ip("8.8.8.8")), "public stays allowed");
        assert!(extended.allows_name("hooks.internal"));
    }

    #[test]
    fn urls_are_judged_by_scheme_and_literal_address() {
        let rule = Destinations::default();
        let refuses = |live, text: &str| rule.refuses_url(live, &url::Url::parse(text).unwrap());
        assert!(
            refuses(true, "http://hooks.example.com/x").is_some(),
            "live needs https"
        );
        assert!(refuses(true, "https://hooks.example.com/x").is_none());
        assert!(refuses(false, "http://hooks.example.com/x").is_none());
        for internal in [
            "http://169.254.169.254/latest",
            "http://[::ffff:a00:1]/",
            "http://10.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            assert!(refuses(true, internal).is_some(), "{internal}");
        }
        assert!(refuses(false, "http://2130706433/").is_none(), "test mode: loopback");
        assert!(refuses(false, "http://0x7f.1/").is_none());
        assert!(refuses(false, "http://10.0.0.1/").is_some());
        assert!(
            refuses(true, "https://localhost:3000/").is_none(),
            "a name: judged at delivery"
        );
    }
}
