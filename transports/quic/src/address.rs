//! Reading QUIC endpoints out of multiaddrs and writing them back
//! (`/ip4|ip6|dns|dns4|dns6/<host>/udp/<port>/quic-v1[/p2p/<id>]`).

use std::net::SocketAddr;

use hyphae_identity::PeerId;
use hyphae_multiaddr::host::Host;
use hyphae_multiaddr::{Multiaddr, Protocol};

use crate::Error;

/// What a dial address names: host, UDP port and, when given, the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DialTarget<'a> {
    pub(crate) host: Host<'a>,
    pub(crate) port: u16,
    pub(crate) peer: Option<PeerId>,
}

/// Splits `/ip4|ip6|dns|dns4|dns6/<host>/udp/<port>/quic-v1[/p2p/<id>]`.
pub(crate) fn dial_target(addr: &Multiaddr) -> Result<DialTarget<'_>, Error> {
    let mut components = addr.iter();
    let host = components.next().and_then(Host::from_protocol);
    let (Some(host), Some(Protocol::Udp(port)), Some(Protocol::QuicV1)) =
        (host, components.next(), components.next())
    else {
        return Err(unsupported(addr, "dial"));
    };
    let peer = match (components.next(), components.next()) {
        (None, _) => None,
        (Some(Protocol::P2p(peer)), None) => Some(peer),
        _ => return Err(unsupported(addr, "dial")),
    };
    Ok(DialTarget { host, port, peer })
}

/// Reads `/ip4|ip6/<ip>/udp/<port>/quic-v1` as a socket address to bind.
pub(crate) fn listen_target(addr: &Multiaddr) -> Result<SocketAddr, Error> {
    match dial_target(addr) {
        Ok(DialTarget {
            host: Host::Ip(ip),
            port,
            peer: None,
        }) => Ok(SocketAddr::new(ip, port)),
        _ => Err(unsupported(addr, "listen on")),
    }
}

fn unsupported(addr: &Multiaddr, action: &'static str) -> Error {
    Error::UnsupportedAddress {
        addr: addr.clone(),
        action,
    }
}

/// The multiaddr of a QUIC socket address: `/ip4|ip6/<ip>/udp/<port>/quic-v1`.
pub fn socket_multiaddr(addr: SocketAddr) -> Multiaddr {
    Multiaddr::from(addr.ip())
        .with(Protocol::Udp(addr.port()))
        .with(Protocol::QuicV1)
}

/// An IPv4-mapped IPv6 address (as a dual-stack socket reports IPv4 peers) as plain IPv4.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

#[cfg(test)]
mod tests {
    use hyphae_multiaddr::host::Family;

    use super::*;

    #[test]
    fn reads_dial_targets() {
        let ip4: Multiaddr = "/ip4/127.0.0.1/udp/4001/quic-v1".parse().unwrap();
        let target = dial_target(&ip4).unwrap();
        assert_eq!(target.host, Host::Ip([127, 0, 0, 1].into()));
        assert_eq!(target.port, 4001);
        assert_eq!(target.peer, None);

        let peer = PeerId::random();
        let with_peer: Multiaddr = format!("/dns4/example.com/udp/443/quic-v1/p2p/{peer}")
            .parse()
            .unwrap();
        let target = dial_target(&with_peer).unwrap();
        let example = Host::Dns {
            name: "example.com".into(),
            family: Family::V4,
        };
        assert_eq!((target.host, target.peer), (example, Some(peer)));
        // A listener has no peer id to check and binds IP addresses only.
        assert!(listen_target(&with_peer).is_err());
        let dns: Multiaddr = "/dns/example.com/udp/1/quic-v1".parse().unwrap();
        assert!(dial_target(&dns).is_ok() && listen_target(&dns).is_err());
    }

    #[test]
    fn rejects_other_transports() {
        for text in [
            "/ip4/127.0.0.1/tcp/4001",
            "/ip4/127.0.0.1/udp/4001",
            "/ip4/127.0.0.1/udp/4001/quic",
            "/ip4/127.0.0.1/udp/4001/quic-v1/webtransport",
            "/ip4/127.0.0.1/udp/4001/quic-v1/p2p-circuit",
            "/dns/example.com/udp/1/quic-v1/ws",
        ] {
            let addr: Multiaddr = text.parse().unwrap();
            assert!(dial_target(&addr).is_err(), "{text}");
            assert!(listen_target(&addr).is_err(), "{text}");
        }
    }

    #[test]
    fn round_trips_socket_addresses() {
        for text in ["/ip4/10.0.0.1/udp/9/quic-v1", "/ip6/::1/udp/4001/quic-v1"] {
            let addr: Multiaddr = text.parse().unwrap();
            assert_eq!(socket_multiaddr(listen_target(&addr).unwrap()), addr);
        }
    }
}
