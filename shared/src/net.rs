//! Who the client is when requests come through proxies: `X-Forwarded-For`
//! is believed only from peers in `TRUSTED_PROXIES`, so a client cannot
//! choose the address its rate limits are counted against.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// The header proxies append the address they received a request from to.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// Networks whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, a
/// comma-separated list of CIDRs or single addresses).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "TRUSTED_PROXIES: {part:?} is not an address or a CIDR like 10.0.0.0/8"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

impl TrustedProxies {
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client's address: the peer's, unless the peer is a trusted
    /// proxy, in which case the `X-Forwarded-For` hops are walked from the
    /// nearest; the first one not trusted is the client. A malformed hop
    /// ends the walk at the last address known good.
    pub fn client_address(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let mut client = canonical(peer);
        if !self.contains(client) {
            return client;
        }
        let Some(header) = forwarded_for else {
            return client;
        };
        for hop in header.rsplit(',').map(str::trim) {
            let Ok(address) = hop.parse::<IpAddr>() else {
                return client;
            };
            client = canonical(address);
            if !self.contains(client) {
                return client;
            }
        }
        client
    }
}

/// A third party's URL as a setting names it (purge targets, webhooks,
/// Cloudinary's API): `https`, or `http` to this machine only, where a
/// local fake or test double listens and nothing crosses a network in
/// clear. Anything else is refused with the setting's name, at start-up.
///
/// # Errors
/// A message naming `setting` when `raw` is not such a URL.
pub fn outbound_url(setting: &str, raw: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw.trim())
        .map_err(|_| format!("{setting}: {raw:?} is not an absolute URL"))?;
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if is_this_machine(&url) => Ok(url),
        "http" => Err(format!(
            "{setting}: {raw:?} must use https (plain http only to localhost or 127.0.0.1, \
             where credentials cross no network)"
        )),
        other => Err(format!(
            "{setting}: the scheme {other}:// is not allowed; use https://"
        )),
    }
}

fn is_this_machine(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// IPv4 addresses written as IPv6 (`::ffff:1.2.3.4`) count as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let trusted: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().expect("valid");
        // Anyone else: the header is ignored.
        assert_eq!(
            trusted.client_address(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        // Through a trusted proxy: the nearest untrusted hop.
        assert_eq!(
            trusted.client_address(ip("10.1.2.3"), Some("6.6.6.6, 198.51.100.7, 10.0.0.5")),
            ip("198.51.100.7")
        );
        assert_eq!(
            trusted.client_address(ip("::ffff:127.0.0.1"), Some("198.51.100.7")),
            ip("198.51.100.7")
        );
        // A forged, malformed hop cannot hide the real one.
        assert_eq!(
            trusted.client_address(ip("10.1.2.3"), Some("198.51.100.7, nonsense")),
            ip("10.1.2.3")
        );
        assert_eq!(trusted.client_address(ip("10.1.2.3"), None), ip("10.1.2.3"));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert_eq!("".parse::<TrustedProxies>(), Ok(TrustedProxies::default()));
    }

    #[test]
    fn outbound_urls_are_https_or_this_machine() {
        assert!(outbound_url("X", "https://api.fastly.com").is_ok());
        assert!(outbound_url("X", "http://127.0.0.1:9000/hook").is_ok());
        assert!(outbound_url("X", "http://localhost:9000").is_ok());
        assert!(outbound_url("X", "http://[::1]:9000").is_ok());
        for refused in [
            "http://hooks.example/purge",
            "http://10.0.0.5/purge",
            "ftp://hooks.example/purge",
            "file:///etc/passwd",
            "gopher://127.0.0.1:70",
            "not a url",
        ] {
            let err = outbound_url("MEDIA_PURGE", refused).expect_err(refused);
            assert!(err.starts_with("MEDIA_PURGE"), "{err}");
        }
    }
}
