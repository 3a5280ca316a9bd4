//! Reading WebSocket endpoints out of multiaddrs.
//!
//! Forms (`websockets/README.md` in libp2p/specs): the TCP part (for dialling, `/tcp/<port>`
//! may be left out: port 80 for `/ws`, 443 with TLS), then `/ws`, `/wss`, `/tls/ws` or (dial only) `/tls/sni/<name>/ws`, then (dial only) an
//! optional `/http-path/<path>` and `/p2p/<id>`.

use std::fmt::Write as _;
use std::net::IpAddr;

use hyphae_multiaddr::host::Host;
use hyphae_multiaddr::{Multiaddr, Protocol};

use crate::Error;

/// Where and how to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DialTarget {
    /// `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>`, for hyphae-tcp.
    pub(crate) tcp: Multiaddr,
    /// The `Host` header: `name:port`, IPv6 in brackets.
    pub(crate) host_header: String,
    /// The request target.
    pub(crate) path: String,
    /// The name to verify the server's certificate against; `None` for plain `/ws`.
    pub(crate) tls_name: Option<String>,
}

/// Where to listen and how the listening addresses end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenTarget {
    /// `/ip4|ip6/<ip>/tcp/<port>`.
    pub(crate) tcp: Multiaddr,
    /// `/ws`, `/wss` or `/tls/ws`, as given.
    pub(crate) suffix: Multiaddr,
    /// Whether connections start with TLS.
    pub(crate) is_tls: bool,
}

/// The WebSocket components after the TCP part.
struct Tail<'a> {
    tls: Option<Option<String>>,
    suffix: Multiaddr,
    rest: Vec<Protocol<'a>>,
}

fn split_tail<'a>(components: &[Protocol<'a>]) -> Option<Tail<'a>> {
    let (tls, used) = match components {
        [Protocol::Ws, ..] => (None, 1),
        [Protocol::Wss, ..] => (Some(None), 1),
        [Protocol::Tls, Protocol::Ws, ..] => (Some(None), 2),
        [Protocol::Tls, Protocol::Sni(name), Protocol::Ws, ..] => (Some(Some(name.to_string())), 3),
        _ => return None,
    };
    Some(Tail {
        tls,
        suffix: components[..used].iter().cloned().collect(),
        rest: components[used..].to_vec(),
    })
}

/// Splits a dialable WebSocket address.
pub(crate) fn dial_target(addr: &Multiaddr) -> Result<DialTarget, Error> {
    let unsupported = || Error::UnsupportedAddress {
        addr: addr.clone(),
        action: "dial",
    };
    let components: Vec<Protocol<'_>> = addr.iter().collect();
    let (host, port, tail) = match components.as_slice() {
        [host, Protocol::Tcp(port), tail @ ..] => (host, Some(*port), tail),
        // The websockets spec lets the port default as for HTTP: 80, or 443 with TLS.
        [host, tail @ ..] => (host, None, tail),
        [] => return Err(unsupported()),
    };
    // The `Host` header puts an IPv6 address in brackets (RFC 3986 authority); the name the
    // certificate is checked against (when no `/sni` is given) does not.
    let (host_name, default_tls_name) = match Host::from_protocol(host.clone()) {
        Some(Host::Ip(ip @ IpAddr::V6(_))) => (format!("[{ip}]"), ip.to_string()),
        Some(Host::Ip(ip)) => (ip.to_string(), ip.to_string()),
        Some(Host::Dns { name, .. }) => (name.to_string(), name.into_owned()),
        None => return Err(unsupported()),
    };
    let tail = split_tail(tail).ok_or_else(unsupported)?;
    let port = port.unwrap_or(if tail.tls.is_some() { 443 } else { 80 });
    let mut path = "/".to_owned();
    let mut rest = tail.rest.as_slice();
    if let [Protocol::HttpPath(segment), more @ ..] = rest {
        path = request_target(segment);
        rest = more;
    }
    if !matches!(rest, [] | [Protocol::P2p(_)]) {
        return Err(unsupported());
    }
    let tls_name = tail.tls.map(|sni| sni.unwrap_or(default_tls_name));
    Ok(DialTarget {
        tcp: Multiaddr::empty()
            .with(host.clone())
            .with(Protocol::Tcp(port)),
        host_header: format!("{host_name}:{port}"),
        path,
        tls_name,
    })
}

/// Splits an address to listen on.
pub(crate) fn listen_target(addr: &Multiaddr) -> Result<ListenTarget, Error> {
    let unsupported = || Error::UnsupportedAddress {
        addr: addr.clone(),
        action: "listen on",
    };
    let components: Vec<Protocol<'_>> = addr.iter().collect();
    let [
        host @ (Protocol::Ip4(_) | Protocol::Ip6(_)),
        Protocol::Tcp(port),
        tail @ ..,
    ] = components.as_slice()
    else {
        return Err(unsupported());
    };
    let tail = split_tail(tail).ok_or_else(unsupported)?;
    if !tail.rest.is_empty() || matches!(tail.tls, Some(Some(_))) {
        return Err(unsupported());
    }
    Ok(ListenTarget {
        tcp: Multiaddr::empty()
            .with(host.clone())
            .with(Protocol::Tcp(*port)),
        suffix: tail.suffix,
        is_tls: tail.tls.is_some(),
    })
}

/// `/` followed by the path, percent-encoding what may not appear in a request target.
fn request_target(path: &str) -> String {
    let mut target = String::from("/");
    for byte in path.trim_start_matches('/').bytes() {
        let is_plain = byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte);
        if is_plain {
            target.push(char::from(byte));
        } else {
            let _ = write!(target, "%{byte:02X}");
        }
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Multiaddr {
        text.parse().unwrap()
    }

    #[test]
    fn reads_dial_targets() {
        let plain = dial_target(&addr("/ip4/127.0.0.1/tcp/80/ws")).unwrap();
        assert_eq!(
            plain,
            DialTarget {
                tcp: addr("/ip4/127.0.0.1/tcp/80"),
                host_header: "127.0.0.1:80".into(),
                path: "/".into(),
                tls_name: None,
            }
        );
        let secure = dial_target(&addr(
            "/dns4/example.com/tcp/443/wss/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
        ))
        .unwrap();
        assert_eq!(secure.tcp, addr("/dns4/example.com/tcp/443"));
        assert_eq!(secure.host_header, "example.com:443");
        assert_eq!(secure.tls_name.as_deref(), Some("example.com"));
        let sni = dial_target(&addr("/ip6/::1/tcp/443/tls/sni/a.example/ws")).unwrap();
        assert_eq!(sni.host_header, "[::1]:443");
        assert_eq!(sni.tls_name.as_deref(), Some("a.example"));
        let ip = dial_target(&addr("/ip6/::1/tcp/443/tls/ws")).unwrap();
        assert_eq!(ip.tls_name.as_deref(), Some("::1"));
        let path = dial_target(&addr("/ip4/1.2.3.4/tcp/80/ws/http-path/a%2Fb%20c")).unwrap();
        assert_eq!(path.path, "/a/b%20c");
        let default_ports = dial_target(&addr("/dns/example.com/wss/http-path/path%2Fto")).unwrap();
        assert_eq!(default_ports.tcp, addr("/dns/example.com/tcp/443"));
        assert_eq!(default_ports.path, "/path/to");
        let plain = dial_target(&addr("/ip4/192.0.2.0/ws")).unwrap();
        assert_eq!(plain.tcp, addr("/ip4/192.0.2.0/tcp/80"));
        let tls = dial_target(&addr("/ip4/192.0.2.0/tls/ws")).unwrap();
        assert_eq!(tls.tcp, addr("/ip4/192.0.2.0/tcp/443"));
    }

    #[test]
    fn refuses_other_addresses() {
        for text in [
            "/ip4/1.2.3.4/tcp/1",
            "/ip4/1.2.3.4/udp/1/quic-v1",
            "/ip4/1.2.3.4/tcp/1/ws/p2p-circuit",
            "/ip4/1.2.3.4/tcp/1/tls",
            "/ws",
            "/ip4/1.2.3.4/udp/1/ws",
            "/tcp/1/ws",
        ] {
            assert!(dial_target(&addr(text)).is_err(), "{text}");
        }
        for text in [
            "/dns4/example.com/tcp/1/ws",
            "/ip4/1.2.3.4/tcp/1/tls/sni/a.example/ws",
            "/ip4/1.2.3.4/tcp/1/ws/http-path/x",
        ] {
            assert!(listen_target(&addr(text)).is_err(), "{text}");
        }
    }

    #[test]
    fn keeps_the_listen_suffix_as_given() {
        for (text, suffix, is_tls) in [
            ("/ip4/0.0.0.0/tcp/0/ws", "/ws", false),
            ("/ip4/0.0.0.0/tcp/0/wss", "/wss", true),
            ("/ip6/::/tcp/0/tls/ws", "/tls/ws", true),
        ] {
            let target = listen_target(&addr(text)).unwrap();
            assert_eq!(target.suffix, addr(suffix));
            assert_eq!(target.is_tls, is_tls);
        }
    }
}
