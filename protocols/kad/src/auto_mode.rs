//! Automatic mode: a node serves the DHT once it has a confirmed public address, and is a
//! client until then (rust-libp2p does the same; go-libp2p follows AutoNAT). Peers that could
//! not reach a node behind a NAT would waste their lookups on it.
//!
//! "Confirmed" is what the node knows today: a public listen address, or a public address
//! that several peers observed (identify's `observedAddr`). AutoNAT will add a real
//! reachability test later.

use std::collections::VecDeque;
use std::net::IpAddr;

use hyphae_identity::PeerId;
use hyphae_multiaddr::{Multiaddr, Protocol};

use crate::Mode;

/// Distinct peers that must report the same public address before it counts as confirmed.
pub(crate) const CONFIRMATIONS: usize = 2;
/// Observed addresses remembered; peers reporting ever new ones push out the oldest.
const MAX_OBSERVED: usize = 32;

/// What automatic mode knows: public addresses peers observed for us, and who observed them.
#[derive(Debug, Default)]
pub(crate) struct AutoMode {
    observed: VecDeque<(Multiaddr, Vec<PeerId>)>,
}

impl AutoMode {
    /// A peer told us it sees us at `addr`; private and loopback addresses are ignored.
    pub(crate) fn observe(&mut self, addr: &Multiaddr, peer: PeerId) {
        if !is_public(addr) {
            return;
        }
        if let Some((_, peers)) = self.observed.iter_mut().find(|(known, _)| known == addr) {
            if !peers.contains(&peer) && peers.len() < CONFIRMATIONS {
                peers.push(peer);
            }
            return;
        }
        if self.observed.len() == MAX_OBSERVED {
            self.observed.pop_front();
        }
        self.observed.push_back((addr.clone(), vec![peer]));
    }

    /// The mode for a node listening on `listen_addrs`.
    pub(crate) fn mode(&self, listen_addrs: &[Multiaddr]) -> Mode {
        let listens_publicly = listen_addrs.iter().any(is_public);
        let is_confirmed = self
            .observed
            .iter()
            .any(|(_, peers)| peers.len() >= CONFIRMATIONS);
        if listens_publicly || is_confirmed {
            Mode::Server
        } else {
            Mode::Client
        }
    }
}

/// Whether `addr` starts with a globally routable IP address.
pub(crate) fn is_public(addr: &Multiaddr) -> bool {
    let Some(ip) = addr.iter().find_map(|protocol| match protocol {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    }) else {
        return false;
    };
    match ip {
        IpAddr::V4(ip) => {
            let [first, second, ..] = ip.octets();
            let is_shared = first == 100 && (second & 0xc0) == 64; // 100.64.0.0/10, CGNAT
            let is_benchmarking = first == 198 && (second & 0xfe) == 18; // 198.18.0.0/15
            !(ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_documentation()
                || ip.is_broadcast()
                || ip.is_multicast()
                || is_shared
                || is_benchmarking)
        }
        IpAddr::V6(ip) => {
            let is_documentation = ip.segments()[0] == 0x2001 && ip.segments()[1] == 0x0db8;
            !(ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_unicast_link_local()
                || ip.is_unique_local()
                || ip.is_multicast()
                || is_documentation)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Multiaddr {
        text.parse().unwrap()
    }

    #[test]
    fn private_and_loopback_listeners_are_clients_and_public_ones_servers() {
        let auto = AutoMode::default();
        assert_eq!(auto.mode(&[addr("/ip4/127.0.0.1/tcp/1")]), Mode::Client);
        assert_eq!(auto.mode(&[addr("/ip4/192.168.1.5/tcp/1")]), Mode::Client);
        assert_eq!(auto.mode(&[addr("/ip4/100.64.3.1/tcp/1")]), Mode::Client);
        assert_eq!(auto.mode(&[addr("/ip6/fd00::1/tcp/1")]), Mode::Client);
        assert_eq!(auto.mode(&[addr("/ip4/0.0.0.0/tcp/1")]), Mode::Client);
        assert_eq!(auto.mode(&[]), Mode::Client);
        assert_eq!(auto.mode(&[addr("/ip4/8.8.8.8/tcp/1")]), Mode::Server);
        assert_eq!(
            auto.mode(&[addr("/ip6/2a00:1450::1/udp/1/quic-v1")]),
            Mode::Server
        );
    }

    #[test]
    fn a_public_address_counts_once_two_peers_observed_it() {
        let mut auto = AutoMode::default();
        let behind_nat = [addr("/ip4/10.0.0.2/tcp/4001")];
        let public = addr("/ip4/203.0.114.7/tcp/4001");
        let (a, b) = (PeerId::random(), PeerId::random());
        auto.observe(&public, a);
        assert_eq!(auto.mode(&behind_nat), Mode::Client);
        // The same peer again confirms nothing.
        auto.observe(&public, a);
        assert_eq!(auto.mode(&behind_nat), Mode::Client);
        auto.observe(&public, b);
        assert_eq!(auto.mode(&behind_nat), Mode::Server);
    }

    #[test]
    fn observed_private_addresses_never_count_and_memory_stays_bounded() {
        let mut auto = AutoMode::default();
        for _ in 0..3 {
            auto.observe(&addr("/ip4/192.168.0.9/tcp/1"), PeerId::random());
        }
        assert_eq!(auto.mode(&[]), Mode::Client);
        for port in 0..1000u16 {
            let observed =
                Multiaddr::from(IpAddr::from([203, 0, 114, 7])).with(Protocol::Tcp(port));
            auto.observe(&observed, PeerId::random());
        }
        assert_eq!(auto.observed.len(), MAX_OBSERVED);
        assert_eq!(auto.mode(&[]), Mode::Client);
    }
}
