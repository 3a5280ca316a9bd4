//! The host part of a transport address: an IP address, or a `/dns`, `/dns4` or `/dns6` name
//! to resolve to one.
//!
//! Spec: `addressing/README.md` in libp2p/specs (`/dns4` resolves to IPv4 only, `/dns6` to
//! IPv6 only, `/dns` to either). Transports (TCP, QUIC, WebSocket) read their first component
//! with [`Host::from_protocol`]; resolving a name is I/O and is left to them. `/dnsaddr` is
//! not a host: it names TXT records holding whole multiaddrs.
//!
//! ```
//! use hyphae_multiaddr::host::{Family, Host};
//! use hyphae_multiaddr::Multiaddr;
//!
//! let addr: Multiaddr = "/dns4/example.com/tcp/443".parse()?;
//! let host = addr.iter().next().and_then(Host::from_protocol);
//! assert_eq!(host, Some(Host::Dns { name: "example.com".into(), family: Family::V4 }));
//! # Ok::<(), hyphae_multiaddr::Error>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use crate::Protocol;

/// Which IP family a `/dns*` name may resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `/dns`: IPv4 or IPv6.
    Any,
    /// `/dns4`: IPv4 only.
    V4,
    /// `/dns6`: IPv6 only.
    V6,
}

impl Family {
    /// Whether `ip` is an address of this family.
    pub fn admits(self, ip: IpAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        }
    }

    /// `IP`, `IPv4` or `IPv6`, as error messages name the family.
    pub fn name(self) -> &'static str {
        match self {
            Family::Any => "IP",
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a transport address points: an IP address, or a name still to be resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// `/ip4/<ip>` or `/ip6/<ip>`.
    Ip(IpAddr),
    /// `/dns/<name>`, `/dns4/<name>` or `/dns6/<name>`.
    Dns {
        /// The name to resolve.
        name: Cow<'a, str>,
        /// The family the resolved addresses must have.
        family: Family,
    },
}

impl<'a> Host<'a> {
    /// The host a component names, or `None` when it names none (`/tcp`, `/dnsaddr`, ...).
    pub fn from_protocol(protocol: Protocol<'a>) -> Option<Host<'a>> {
        let (name, family) = match protocol {
            Protocol::Ip4(ip) => return Some(Host::Ip(IpAddr::V4(ip))),
            Protocol::Ip6(ip) => return Some(Host::Ip(IpAddr::V6(ip))),
            Protocol::Dns(name) => (name, Family::Any),
            Protocol::Dns4(name) => (name, Family::V4),
            Protocol::Dns6(name) => (name, Family::V6),
            _ => return None,
        };
        Some(Host::Dns { name, family })
    }

    /// This host, no longer borrowing from the multiaddr it was read from.
    pub fn into_owned(self) -> Host<'static> {
        match self {
            Host::Ip(ip) => Host::Ip(ip),
            Host::Dns { name, family } => Host::Dns {
                name: Cow::Owned(name.into_owned()),
                family,
            },
        }
    }
}

impl From<IpAddr> for Host<'_> {
    fn from(ip: IpAddr) -> Self {
        Host::Ip(ip)
    }
}

/// Whether `ip` is link-local (`169.254.0.0/16`, `fe80::/10`).
///
/// Such an address is only meaningful together with the interface it belongs to (an IPv6
/// zone), which a plain `/ip4` or `/ip6` component cannot carry; transports therefore do not
/// advertise these addresses.
pub fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.is_link_local(),
        IpAddr::V6(ip) => ip.is_unicast_link_local(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Multiaddr;

    fn first_host(text: &str) -> Option<Host<'static>> {
        let addr: Multiaddr = text.parse().unwrap();
        addr.iter()
            .next()
            .and_then(Host::from_protocol)
            .map(Host::into_owned)
    }

    fn dns(name: &str, family: Family) -> Option<Host<'static>> {
        Some(Host::Dns {
            name: name.to_owned().into(),
            family,
        })
    }

    #[test]
    fn reads_ip_components_as_addresses() {
        assert_eq!(
            first_host("/ip4/192.0.2.1/tcp/1"),
            Some(Host::Ip("192.0.2.1".parse().unwrap()))
        );
        assert_eq!(
            first_host("/ip6/2001:db8::1/udp/1/quic-v1"),
            Some(Host::Ip("2001:db8::1".parse().unwrap()))
        );
    }

    #[test]
    fn reads_each_dns_component_with_its_family() {
        assert_eq!(first_host("/dns/a.example"), dns("a.example", Family::Any));
        assert_eq!(first_host("/dns4/a.example"), dns("a.example", Family::V4));
        assert_eq!(first_host("/dns6/a.example"), dns("a.example", Family::V6));
    }

    #[test]
    fn other_components_name_no_host() {
        for text in ["/dnsaddr/a.example", "/tcp/1", "/ip6zone/eth0", "/memory/1"] {
            assert_eq!(first_host(text), None, "{text}");
        }
    }

    #[test]
    fn families_admit_only_their_addresses() {
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        assert!(Family::Any.admits(v4) && Family::Any.admits(v6));
        assert!(Family::V4.admits(v4) && !Family::V4.admits(v6));
        assert!(Family::V6.admits(v6) && !Family::V6.admits(v4));
        assert_eq!(Family::V6.to_string(), "IPv6");
    }

    #[test]
    fn recognises_link_local_addresses() {
        for text in ["169.254.1.1", "fe80::1", "febf::1"] {
            assert!(is_link_local(text.parse().unwrap()), "{text}");
        }
        for text in [
            "127.0.0.1",
            "10.0.0.1",
            "::1",
            "fec0::1",
            "2001:db8::1",
            "::",
        ] {
            assert!(!is_link_local(text.parse().unwrap()), "{text}");
        }
    }
}
