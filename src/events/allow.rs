//! Where a deployment lets webhooks go beyond the public internet (`--webhook-allow`, read by
//! `destination`): host names (`hooks.internal`, or `*.corp.example` for its subdomains) and
//! networks (`10.0.0.0/8`, `::1/128`). A host listed by name may resolve anywhere; otherwise
//! each address a name resolves to is checked where the worker connects.

use std::net::IpAddr;

use ipnet::IpNet;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Host(String),
    /// `*.example.com`: any subdomain of `example.com` (stored as `.example.com`).
    Subdomains(String),
    Net(IpNet),
}

/// The destinations webhooks may be delivered to; `None` of these means anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Entry>,
}

impl AllowList {
    /// Parses a comma-separated list.
    pub fn parse(text: &str) -> Result<AllowList, String> {
        let mut entries = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Ok(net) = item.parse::<IpNet>() {
                entries.push(Entry::Net(net));
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                entries.push(Entry::Net(IpNet::from(ip)));
            } else if let Some(domain) = item.strip_prefix("*.") {
                entries.push(Entry::Subdomains(format!(".{}", domain.to_ascii_lowercase())));
            } else if item.contains(['/', ':', ' ']) {
                return Err(format!(
                    "'{item}' is neither a host name nor a network such as 10.0.0.0/8"
                ));
            } else {
                entries.push(Entry::Host(item.to_ascii_lowercase()));
            }
        }
        if entries.is_empty() {
            return Err("the list names no host or network".into());
        }
        Ok(AllowList { entries })
    }

    /// Whether the host is allowed by name (an IP literal counts when a network holds it).
    pub fn allows_name(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.allows_ip(ip);
        }
        self.entries.iter().any(|e| match e {
            Entry::Host(name) => *name == host,
            Entry::Subdomains(suffix) => host.ends_with(suffix.as_str()),
            Entry::Net(_) => false,
        })
    }

    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, Entry::Net(net) if net.contains(&ip)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_subdomains_and_networks_are_allowed_and_nothing_else() {
        let list = AllowList::parse("hooks.example.com, *.corp.example, 10.0.0.0/8, ::1").expect("valid");
        assert!(list.allows_name("HOOKS.example.com"));
        assert!(list.allows_name("a.corp.example"));
        assert!(!list.allows_name("corp.example.evil"));
        assert!(list.allows_name("10.1.2.3"));
        assert!(list.allows_name("[::1]"));
        assert!(!list.allows_name("127.0.0.1"));
        assert!(!list.allows_name("other.example.com"));
    }

    #[test]
    fn a_list_without_networks_allows_only_its_names() {
        let list = AllowList::parse("hooks.example.com").expect("valid");
        assert!(!list.allows_name("other.example.com"));
        assert!(!list.allows_ip("10.0.0.1".parse().unwrap()));
        assert!(AllowList::parse(" , ").is_err());
        assert!(AllowList::parse("a b").is_err());
    }
}
