//! IP groups for the routing table's diversity limit.
//!
//! One operator with one block of addresses can create as many peer ids as it likes and try to
//! fill a victim's routing table with them (an eclipse attack). go-libp2p-kad-dht answers with
//! a diversity filter: at most a few table entries per IP group. We do the same, with groups
//! of IPv4 /16 and IPv6 /32 prefixes.
//!
//! Deliberate differences from go-libp2p-kbucket's `peerdiversity` package:
//!
//! - **No ASN lookup, no legacy class-A /8s.** go groups IPv6 addresses by their autonomous
//!   system (with a table it ships) and a handful of old IPv4 /8 allocations by /8. We use
//!   plain prefixes: no table to ship, and a simulator that draws random public addresses gets
//!   the same limits everywhere in the address space.
//! - **Local addresses are exempt.** Loopback, private (RFC 1918, IPv6 unique local
//!   `fc00::/7`), link-local and unspecified addresses belong to no group, and neither does a
//!   peer without IP addresses (`/dns*` names, `/memory`): local tests and LANs run many peers
//!   per address, and such addresses say nothing about who runs a peer on the Internet.
//!   go rejects a peer whose addresses it cannot group.
//!
//! A peer whose addresses fall into several groups counts in each of them: listing more
//! addresses can only make a peer harder to admit, never easier, so an attacker gains nothing
//! by adding a borrowed address from an under-used group to its own. (Counting only the first
//! public group would let it choose which group it is charged to.)
//!
//! The groups come from whatever addresses the caller passes in. Advertised addresses are
//! claims; go groups a peer by the remote addresses of its live connections instead, which a
//! peer cannot choose as freely. The core should therefore give the table the address it is
//! connected on whenever it has one.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hyphae_multiaddr::Multiaddr;
use hyphae_multiaddr::host::Host;

/// The network a public IP address belongs to, for the routing table's diversity limit:
/// its IPv4 /16 or IPv6 /32 prefix.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpGroup {
    /// The first two bytes of an IPv4 address (or of an IPv4-mapped IPv6 address).
    V4([u8; 2]),
    /// The first four bytes of an IPv6 address.
    V6([u8; 4]),
}

impl IpGroup {
    /// The group of `ip`, or `None` when the address is exempt from the limit: loopback,
    /// private (RFC 1918, unique local `fc00::/7`), link-local or unspecified.
    pub fn of(ip: IpAddr) -> Option<IpGroup> {
        match ip {
            IpAddr::V4(ip) => group_v4(ip),
            IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
                Some(mapped) => group_v4(mapped),
                None => group_v6(ip),
            },
        }
    }

    /// The group of an address: that of its first component when it is `/ip4` or `/ip6`.
    /// Other addresses (`/dns*`, `/memory`, ...) have none. A relayed address counts in the
    /// relay's group, as its first component is the relay's address.
    pub fn of_address(address: &Multiaddr) -> Option<IpGroup> {
        match address.iter().next().and_then(Host::from_protocol) {
            Some(Host::Ip(ip)) => IpGroup::of(ip),
            _ => None,
        }
    }
}

fn group_v4(ip: Ipv4Addr) -> Option<IpGroup> {
    if ip.is_unspecified() || ip.is_loopback() || ip.is_private() || ip.is_link_local() {
        return None;
    }
    let [a, b, _, _] = ip.octets();
    Some(IpGroup::V4([a, b]))
}

fn group_v6(ip: Ipv6Addr) -> Option<IpGroup> {
    if ip.is_unspecified() || ip.is_loopback() || ip.is_unique_local() || ip.is_unicast_link_local()
    {
        return None;
    }
    let [a, b, c, d, ..] = ip.octets();
    Some(IpGroup::V6([a, b, c, d]))
}

impl fmt::Display for IpGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            IpGroup::V4([a, b]) => write!(f, "{}/16", Ipv4Addr::new(a, b, 0, 0)),
            IpGroup::V6([a, b, c, d]) => {
                let mut octets = [0u8; 16];
                octets[..4].copy_from_slice(&[a, b, c, d]);
                write!(f, "{}/32", Ipv6Addr::from(octets))
            }
        }
    }
}

impl fmt::Debug for IpGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IpGroup({self})")
    }
}

/// The distinct groups of `addresses`, in the order they first appear.
pub(crate) fn groups_of(addresses: &[Multiaddr]) -> Vec<IpGroup> {
    let mut groups = Vec::new();
    for group in addresses.iter().filter_map(IpGroup::of_address) {
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    groups
}

/// How many table entries each group has. Bounded by the table: at most one count per group
/// of each entry, and each entry has at most `max_addresses_per_peer` groups.
#[derive(Debug, Default, Clone)]
pub(crate) struct GroupCounts {
    counts: HashMap<IpGroup, usize>,
}

impl GroupCounts {
    /// Entries that count in `group`.
    pub(crate) fn get(&self, group: &IpGroup) -> usize {
        self.counts.get(group).copied().unwrap_or(0)
    }

    /// Counts an entry with `groups`.
    pub(crate) fn add(&mut self, groups: &[IpGroup]) {
        for group in groups {
            *self.counts.entry(*group).or_insert(0) += 1;
        }
    }

    /// Forgets an entry with `groups`; a group that reaches zero is dropped, so the map never
    /// holds more groups than the table's entries have.
    pub(crate) fn remove(&mut self, groups: &[IpGroup]) {
        for group in groups {
            if let Some(count) = self.counts.get_mut(group) {
                *count -= 1;
                if *count == 0 {
                    self.counts.remove(group);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(text: &str) -> Option<IpGroup> {
        IpGroup::of(text.parse().unwrap())
    }

    #[test]
    fn ipv4_addresses_group_by_their_slash_16() {
        assert_eq!(group("203.0.113.7"), Some(IpGroup::V4([203, 0])));
        assert_eq!(group("203.0.113.7"), group("203.0.1.1"));
        assert_ne!(group("203.0.113.7"), group("203.1.113.7"));
        assert_eq!(group("::ffff:203.0.113.7"), group("203.0.113.7"));
    }

    #[test]
    fn ipv6_addresses_group_by_their_slash_32() {
        assert_eq!(
            group("2001:db8:1::1"),
            Some(IpGroup::V6([0x20, 0x01, 0x0d, 0xb8]))
        );
        assert_eq!(group("2001:db8:1::1"), group("2001:db8:ffff::2"));
        assert_ne!(group("2001:db8::1"), group("2001:db9::1"));
    }

    #[test]
    fn local_and_private_addresses_belong_to_no_group() {
        for text in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:192.168.1.1",
        ] {
            assert_eq!(group(text), None, "{text}");
        }
        assert!(group("172.32.0.1").is_some());
    }

    #[test]
    fn an_address_is_grouped_by_its_first_component() {
        let address = |text: &str| IpGroup::of_address(&text.parse().unwrap());
        assert_eq!(address("/ip4/198.51.100.1/tcp/4001"), group("198.51.100.1"));
        assert_eq!(
            address("/ip6/2001:db8::1/udp/1/quic-v1"),
            group("2001:db8::1")
        );
        assert_eq!(address("/dns4/example.com/tcp/443"), None);
        assert_eq!(address("/memory/7"), None);
        assert_eq!(address("/ip4/127.0.0.1/tcp/1"), None);
    }

    #[test]
    fn a_peer_counts_once_in_each_distinct_group() {
        let addresses: Vec<Multiaddr> = [
            "/ip4/198.51.100.1/tcp/1",
            "/ip4/198.51.7.7/udp/1/quic-v1",
            "/ip6/2001:db8::1/tcp/1",
            "/ip4/10.0.0.1/tcp/1",
        ]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
        assert_eq!(
            groups_of(&addresses),
            vec![
                IpGroup::V4([198, 51]),
                IpGroup::V6([0x20, 0x01, 0x0d, 0xb8])
            ]
        );
    }

    #[test]
    fn counts_drop_groups_that_reach_zero() {
        let a = IpGroup::V4([1, 2]);
        let b = IpGroup::V4([3, 4]);
        let mut counts = GroupCounts::default();
        counts.add(&[a, b]);
        counts.add(&[a]);
        assert_eq!((counts.get(&a), counts.get(&b)), (2, 1));
        counts.remove(&[a, b]);
        assert_eq!((counts.get(&a), counts.get(&b)), (1, 0));
        assert_eq!(counts.counts.len(), 1);
        assert_eq!(a.to_string(), "1.2.0.0/16");
        assert_eq!(
            IpGroup::V6([0x20, 0x01, 0x0d, 0xb8]).to_string(),
            "2001:db8::/32"
        );
    }
}
