//! The client a request comes from, for the per-address limits. Without a trusted proxy it is
//! the TCP peer; behind one (`--trusted-proxy`), the proxy's connections are not limited per
//! address and the client is the last address of `X-Forwarded-For` that is not a trusted
//! proxy (the rightmost one a trusted hop appended; anything left of it the client could forge).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Networks whose connections are proxies that append the client to `X-Forwarded-For`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A comma-separated list of addresses and networks.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let nets = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("'{item}' is not an address or a network such as 10.0.0.0/8"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if nets.is_empty() {
            return Err("the list names no address".into());
        }
        Ok(TrustedProxies(nets))
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that `peer` sent with `headers`.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer.ip()) {
            return peer.ip();
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        forwarded
            .iter()
            .rev()
            .map_while(|hop| hop.parse::<IpAddr>().ok())
            .find(|ip| !self.trusts(*ip))
            .unwrap_or(peer.ip())
    }
}

/// The request's client address, set by the server for every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_rightmost_untrusted_forwarded_address() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "1.2.3.4, 5.6.7.8".parse().unwrap());
        headers.append("x-forwarded-for", "10.1.1.1".parse().unwrap());
        let proxy: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(proxies.client(proxy, &headers), "5.6.7.8".parse::<IpAddr>().unwrap());
        let direct: SocketAddr = "9.9.9.9:5000".parse().unwrap();
        assert_eq!(
            proxies.client(direct, &headers),
            direct.ip(),
            "an untrusted peer is the client"
        );
        assert_eq!(proxies.client(proxy, &HeaderMap::new()), proxy.ip());
        assert_eq!(TrustedProxies::default().client(proxy, &headers), proxy.ip());
        assert!(TrustedProxies::parse("nonsense").is_err());
    }
}
