//! IP networks in CIDR notation, for the IP colocation whitelist (P₆).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IP network such as `10.0.0.0/8` or `fd00::/8`: peers whose addresses fall in a
/// whitelisted network are exempt from the IP colocation penalty (go-libp2p-pubsub's
/// `IPColocationFactorWhitelist`), for nodes run by one operator behind one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNetwork {
    address: IpAddr,
    prefix_len: u8,
}

/// Why a text is not an [`IpNetwork`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP network in CIDR notation (such as 10.0.0.0/8)")]
pub struct InvalidIpNetwork(String);

impl IpNetwork {
    /// The network of `address` with its first `prefix_len` bits, or `None` if `prefix_len`
    /// is longer than the address (32 bits for IPv4, 128 for IPv6).
    pub fn new(address: IpAddr, prefix_len: u8) -> Option<IpNetwork> {
        (prefix_len <= max_prefix_len(address)).then_some(IpNetwork {
            address,
            prefix_len,
        })
    }

    /// Whether `ip` is in this network. An IPv4 address is never in an IPv6 network, nor
    /// the reverse, except that IPv4-mapped IPv6 addresses count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(
                u128::from(net.to_bits()) << 96,
                u128::from(ip.to_bits()) << 96,
                self.prefix_len,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(net.to_bits(), ip.to_bits(), self.prefix_len)
            }
            _ => false,
        }
    }
}

fn max_prefix_len(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Whether the first `prefix_len` bits of two left-aligned addresses agree.
fn same_prefix(a: u128, b: u128, prefix_len: u8) -> bool {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(prefix_len))
        .unwrap_or(0);
    a & mask == b & mask
}

impl FromStr for IpNetwork {
    type Err = InvalidIpNetwork;

    /// `address/prefix_len`, or a bare address for a network of one.
    fn from_str(text: &str) -> Result<IpNetwork, InvalidIpNetwork> {
        let invalid = || InvalidIpNetwork(text.to_owned());
        let (address, prefix_len) = match text.split_once('/') {
            Some((address, len)) => {
                let address: IpAddr = address.parse().map_err(|_| invalid())?;
                (address, len.parse().map_err(|_| invalid())?)
            }
            None => {
                let address: IpAddr = text.parse().map_err(|_| invalid())?;
                (address, max_prefix_len(address))
            }
        };
        IpNetwork::new(address, prefix_len).ok_or_else(invalid)
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// As text in CIDR notation, the way operators write it.
#[cfg(feature = "serde")]
impl serde::Serialize for IpNetwork {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for IpNetwork {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<IpNetwork, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_addresses_sharing_the_prefix() {
        let net: IpNetwork = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(!net.contains("fd00::1".parse().unwrap()));
        let v6: IpNetwork = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
    }

    #[test]
    fn zero_prefix_contains_every_address_of_its_family() {
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.7".parse().unwrap()));
        assert!(!all.contains("::1".parse().unwrap()));
    }

    #[test]
    fn bare_address_is_a_network_of_one() {
        let one: IpNetwork = "192.0.2.1".parse().unwrap();
        assert_eq!(one.to_string(), "192.0.2.1/32");
        assert!(one.contains("192.0.2.1".parse().unwrap()));
        assert!(!one.contains("192.0.2.2".parse().unwrap()));
    }

    #[test]
    fn refuses_prefixes_longer_than_the_address() {
        assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
        assert!("::/129".parse::<IpNetwork>().is_err());
        assert!("10.0.0.0/x".parse::<IpNetwork>().is_err());
    }
}
