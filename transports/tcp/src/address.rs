//! Reading TCP endpoints out of multiaddrs and writing them back.

use std::net::SocketAddr;

use hyphae_multiaddr::host::Host;
use hyphae_multiaddr::{Multiaddr, Protocol};

use crate::Error;

/// Splits `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/p2p/<id>]` into host and port.
pub(crate) fn dial_target(addr: &Multiaddr) -> Result<(Host<'_>, u16), Error> {
    let mut components = addr.iter();
    match (
        components.next().and_then(Host::from_protocol),
        components.next(),
        components.next(),
        components.next(),
    ) {
        (Some(host), Some(Protocol::Tcp(port)), None | Some(Protocol::P2p(_)), None) => {
            Ok((host, port))
        }
        _ => Err(Error::UnsupportedAddress {
            addr: addr.clone(),
            action: "dial",
        }),
    }
}

/// Reads `/ip4|ip6/<ip>/tcp/<port>` as a socket address to bind.
pub(crate) fn listen_target(addr: &Multiaddr) -> Result<SocketAddr, Error> {
    match dial_target(addr) {
        // Two components: no `/p2p/<id>`, which only a dialler can check.
        Ok((Host::Ip(ip), port)) if addr.len() == 2 => Ok(SocketAddr::new(ip, port)),
        _ => Err(Error::UnsupportedAddress {
            addr: addr.clone(),
            action: "listen on",
        }),
    }
}

/// The multiaddr of a TCP socket address: `/ip4/…/tcp/…` or `/ip6/…/tcp/…`.
pub fn socket_multiaddr(addr: SocketAddr) -> Multiaddr {
    Multiaddr::from(addr)
}

#[cfg(test)]
mod tests {
    use hyphae_multiaddr::host::Family;

    use super::*;

    #[test]
    fn splits_dial_addresses_into_host_and_port() {
        let example = Host::Dns {
            name: "example.com".into(),
            family: Family::V4,
        };
        for (text, host, port) in [
            (
                "/ip4/127.0.0.1/tcp/4001",
                Host::Ip([127, 0, 0, 1].into()),
                4001,
            ),
            (
                "/dns4/example.com/tcp/443/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
                example,
                443,
            ),
        ] {
            let addr: Multiaddr = text.parse().unwrap();
            assert_eq!(dial_target(&addr).unwrap(), (host, port), "{text}");
        }
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
            let addr: Multiaddr = text.parse().unwrap();
            let refused = dial_target(&addr);
            assert!(
                matches!(refused, Err(Error::UnsupportedAddress { .. })),
                "{text}"
            );
            assert!(listen_target(&addr).is_err(), "{text}");
        }
        for text in [
            "/dns/example.com/tcp/1",
            "/ip4/1.2.3.4/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
        ] {
            let addr: Multiaddr = text.parse().unwrap();
            assert!(dial_target(&addr).is_ok(), "{text}");
            assert!(listen_target(&addr).is_err(), "{text}");
        }
    }

    #[test]
    fn writes_socket_addresses_as_multiaddrs() {
        for text in ["/ip4/10.0.0.1/tcp/80", "/ip6/::1/tcp/9"] {
            let addr: Multiaddr = text.parse().unwrap();
            assert_eq!(socket_multiaddr(listen_target(&addr).unwrap()), addr);
        }
    }
}
