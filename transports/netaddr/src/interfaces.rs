//! The addresses a socket bound to an unspecified IP (`0.0.0.0`, `::`) can be reached at.

use std::net::SocketAddr;

use hyphae_multiaddr::host::is_link_local;

/// The addresses peers can reach a socket bound to `local` at: `local` itself, or, for an
/// unspecified IP (`0.0.0.0`, `::`), the address of every network interface of that family
/// with the same port, sorted and without repeats.
///
/// Link-local addresses are left out: they cannot be dialled without a zone
/// ([`is_link_local`]). When the interfaces cannot be listed, the result is empty.
pub fn expand_unspecified(local: SocketAddr) -> Vec<SocketAddr> {
    if !local.ip().is_unspecified() {
        return vec![local];
    }
    let mut addrs: Vec<SocketAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|interface| interface.ip())
        .filter(|ip| ip.is_ipv4() == local.is_ipv4() && !is_link_local(*ip))
        .map(|ip| SocketAddr::new(ip, local.port()))
        .collect();
    addrs.sort();
    addrs.dedup();
    addrs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_specified_address() {
        for text in ["127.0.0.1:80", "[2001:db8::1]:443"] {
            let addr: SocketAddr = text.parse().unwrap();
            assert_eq!(expand_unspecified(addr), [addr]);
        }
    }

    #[test]
    fn expands_the_unspecified_address_to_interfaces_of_its_family() {
        let expanded = expand_unspecified("0.0.0.0:4001".parse().unwrap());
        assert!(
            expanded.contains(&"127.0.0.1:4001".parse().unwrap()),
            "{expanded:?}"
        );
        // Sorted, without repeats.
        assert!(
            expanded.windows(2).all(|pair| pair[0] < pair[1]),
            "{expanded:?}"
        );
        for addr in &expanded {
            assert!(addr.is_ipv4() && addr.port() == 4001, "{addr}");
            assert!(
                !addr.ip().is_unspecified() && !is_link_local(addr.ip()),
                "{addr}"
            );
        }
        let expanded = expand_unspecified("[::]:9".parse().unwrap());
        assert!(
            expanded
                .iter()
                .all(|addr| addr.is_ipv6() && addr.port() == 9)
        );
    }
}
