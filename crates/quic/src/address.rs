//! Reading QUIC endpoints out of multiaddrs and writing them back
//! (`/ip4|ip6|dns|dns4|dns6/<host>/udp/<port>/quic-v1[/p2p/<id>]`).

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use hyphae_identity::PeerId;
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

/// What a dial address names: host, UDP port and, when given, the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DialTarget<'a> {
    pub(crate) host: Host<'a>,
    pub(crate) port: u16,
    pub(crate) peer: Option<PeerId>,
}

/// Splits `/ip4|ip6|dns|dns4|dns6/<host>/udp/<port>/quic-v1[/p2p/<id>]`.
pub(crate) fn dial_target(addr: &Multiaddr) -> Result<DialTarget<'_>, Error> {
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
    let (Some(Protocol::Udp(port)), Some(Protocol::QuicV1)) =
        (components.next(), components.next())
    else {
        return Err(unsupported());
    };
    let peer = match (components.next(), components.next()) {
        (None, _) => None,
        (Some(Protocol::P2p(peer)), None) => Some(peer),
        _ => return Err(unsupported()),
    };
    Ok(DialTarget { host, port, peer })
}

/// Reads `/ip4|ip6/<ip>/udp/<port>/quic-v1` as a socket address to bind.
pub(crate) fn listen_target(addr: &Multiaddr) -> Result<SocketAddr, Error> {
    let unsupported = || Error::UnsupportedAddress {
        addr: addr.clone(),
        action: "listen on",
    };
    let mut components = addr.iter();
    let ip = match components.next() {
        Some(Protocol::Ip4(ip)) => IpAddr::V4(ip),
        Some(Protocol::Ip6(ip)) => IpAddr::V6(ip),
        _ => return Err(unsupported()),
    };
    match (components.next(), components.next(), components.next()) {
        (Some(Protocol::Udp(port)), Some(Protocol::QuicV1), None) => Ok(SocketAddr::new(ip, port)),
        _ => Err(unsupported()),
    }
}

/// The multiaddr of a QUIC socket address: `/ip4|ip6/<ip>/udp/<port>/quic-v1`.
pub fn socket_multiaddr(addr: SocketAddr) -> Multiaddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) => Protocol::Ip4(ip),
        IpAddr::V6(ip) => Protocol::Ip6(ip),
    };
    Multiaddr::empty()
        .with(ip)
        .with(Protocol::Udp(addr.port()))
        .with(Protocol::QuicV1)
}

/// An IPv4-mapped IPv6 address (as a dual-stack socket reports IPv4 peers) as plain IPv4.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Multiaddr {
        text.parse().unwrap()
    }

    #[test]
    fn reads_dial_targets() {
        let ip4 = addr("/ip4/127.0.0.1/udp/4001/quic-v1");
        let target = dial_target(&ip4).unwrap();
        assert_eq!(target.host, Host::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(target.port, 4001);
        assert_eq!(target.peer, None);

        let peer = PeerId::random();
        let with_peer = addr(&format!("/dns4/example.com/udp/443/quic-v1/p2p/{peer}"));
        let target = dial_target(&with_peer).unwrap();
        assert_eq!(
            target.host,
            Host::Dns {
                name: "example.com".into(),
                family: Family::V4
            }
        );
        assert_eq!(target.peer, Some(peer));
    }

    #[test]
    fn rejects_other_transports() {
        for text in [
            "/ip4/127.0.0.1/tcp/4001",
            "/ip4/127.0.0.1/udp/4001",
            "/ip4/127.0.0.1/udp/4001/quic",
            "/ip4/127.0.0.1/udp/4001/quic-v1/webtransport",
            "/ip4/127.0.0.1/udp/4001/quic-v1/p2p-circuit",
        ] {
            assert!(dial_target(&addr(text)).is_err(), "{text}");
            assert!(listen_target(&addr(text)).is_err(), "{text}");
        }
        assert!(listen_target(&addr("/dns/example.com/udp/1/quic-v1")).is_err());
    }

    #[test]
    fn round_trips_socket_addresses() {
        for text in ["/ip4/10.0.0.1/udp/9/quic-v1", "/ip6/::1/udp/4001/quic-v1"] {
            let socket = listen_target(&addr(text)).unwrap();
            assert_eq!(socket_multiaddr(socket), addr(text));
        }
    }
}
