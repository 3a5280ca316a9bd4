//! Reading TCP endpoints out of multiaddrs and writing them back.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use hyphae_multiaddr::{Multiaddr, Protocol};

use crate::Error;

/// Which address family a `/dns*` component asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Any,
    V4,
    V6,
}

impl Family {
    pub(crate) fn admits(self, ip: &IpAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Family::Any => "IP",
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// The host part of a dialable address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host<'a> {
    Ip(IpAddr),
    Dns { name: Cow<'a, str>, family: Family },
}

/// Splits `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/p2p/<id>]` into host and port.
pub(crate) fn dial_target(addr: &Multiaddr) -> Result<(Host<'_>, u16), Error> {
    let unsupported = || Error::UnsupportedAddress {
        addr: addr.clone(),
        action: "dial",
    };
    let mut components = addr.iter();
    let host = match components.next() {
        Some(Protocol::Ip4(ip)) => Host::Ip(IpAddr::V4(ip)),
        Some(Protocol::Ip6(ip)) => Host::Ip(IpAddr::V6(ip)),
        Some(Protocol::Dns(name)) => Host::Dns {
            name,
            family: Family::Any,
        },
        Some(Protocol::Dns4(name)) => Host::Dns {
            name,
            family: Family::V4,
        },
        Some(Protocol::Dns6(name)) => Host::Dns {
            name,
            family: Family::V6,
        },
        _ => return Err(unsupported()),
    };
    let Some(Protocol::Tcp(port)) = components.next() else {
        return Err(unsupported());
    };
    match (components.next(), components.next()) {
        (None, _) | (Some(Protocol::P2p(_)), None) => Ok((host, port)),
        _ => Err(unsupported()),
    }
}

/// Reads `/ip4|ip6/<ip>/tcp/<port>` as a socket address to bind.
pub(crate) fn listen_target(addr: &Multiaddr) -> Result<SocketAddr, Error> {
    let mut components = addr.iter();
    let ip = match components.next() {
        Some(Protocol::Ip4(ip)) => IpAddr::V4(ip),
        Some(Protocol::Ip6(ip)) => IpAddr::V6(ip),
        _ => None.ok_or_else(|| listen_unsupported(addr))?,
    };
    match (components.next(), components.next()) {
        (Some(Protocol::Tcp(port)), None) => Ok(SocketAddr::new(ip, port)),
        _ => Err(listen_unsupported(addr)),
    }
}

fn listen_unsupported(addr: &Multiaddr) -> Error {
    Error::UnsupportedAddress {
        addr: addr.clone(),
        action: "listen on",
    }
}

/// The multiaddr of a TCP socket address: `/ip4/…/tcp/…` or `/ip6/…/tcp/…`.
pub fn socket_multiaddr(addr: SocketAddr) -> Multiaddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) => Protocol::Ip4(ip),
        IpAddr::V6(ip) => Protocol::Ip6(ip),
    };
    Multiaddr::empty().with(ip).with(Protocol::Tcp(addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Multiaddr {
        text.parse().unwrap()
    }

    #[test]
    fn reads_dial_targets() {
        let ip4 = addr("/ip4/127.0.0.1/tcp/4001");
        assert_eq!(
            dial_target(&ip4).unwrap(),
            (Host::Ip("127.0.0.1".parse().unwrap()), 4001)
        );
        let dns = addr(
            "/dns4/example.com/tcp/443/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
        );
        assert_eq!(
            dial_target(&dns).unwrap(),
            (
                Host::Dns {
                    name: "example.com".into(),
                    family: Family::V4
                },
                443
            )
        );
    }

    #[test]
    fn refuses_addresses_of_other_transports() {
        for text in [
            "/ip4/1.2.3.4/udp/1/quic-v1",
            "/ip4/1.2.3.4/tcp/1/ws",
            "/tcp/1",
            "/ip4/1.2.3.4",
            "/ip4/1.2.3.4/tcp/1/p2p-circuit",
        ] {
            assert!(
                matches!(
                    dial_target(&addr(text)),
                    Err(Error::UnsupportedAddress { .. })
                ),
                "{text}"
            );
        }
        assert!(listen_target(&addr("/dns/example.com/tcp/1")).is_err());
    }

    #[test]
    fn writes_socket_addresses_as_multiaddrs() {
        let v6: SocketAddr = "[::1]:9".parse().unwrap();
        assert_eq!(socket_multiaddr(v6).to_string(), "/ip6/::1/tcp/9");
        let v4: SocketAddr = "10.0.0.1:80".parse().unwrap();
        assert_eq!(socket_multiaddr(v4), addr("/ip4/10.0.0.1/tcp/80"));
    }
}
