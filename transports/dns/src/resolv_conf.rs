//! The nameservers listed in `/etc/resolv.conf` (resolv.conf(5)).
//!
//! Only `nameserver` lines are read; `search`, `options` (timeout, attempts, ndots, ...)
//! and the rest are ignored: callers look up fully qualified names and the resolver has its
//! own timeout.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// The port nameservers listen on (RFC 1035 §4.2).
pub(crate) const DNS_PORT: u16 = 53;

/// The nameservers of a resolv.conf file, in file order, on port 53.
///
/// IPv6 addresses may carry a numeric zone (`fe80::1%2`); a named zone (`fe80::1%eth0`)
/// would need an interface lookup, so such a line is skipped. Malformed lines are skipped.
pub(crate) fn parse(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if words.next()? != "nameserver" {
                return None;
            }
            parse_address(words.next()?)
        })
        .collect()
}

fn parse_address(text: &str) -> Option<SocketAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, DNS_PORT));
    }
    let (ip, zone) = text.split_once('%')?;
    let ip: Ipv6Addr = ip.parse().ok()?;
    let scope = zone.parse().ok()?;
    Some(SocketAddr::V6(SocketAddrV6::new(ip, DNS_PORT, 0, scope)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ipv4_and_ipv6_nameservers_in_order() {
        let text = "# generated\n\
                    search example.com\n\
                    nameserver 10.0.0.1\n\
                    ; comment\n\
                    nameserver   2001:db8::53  # trailing\n\
                    nameserver fe80::1%3\n\
                    nameserver fe80::2%eth0\n\
                    nameserver not-an-address\n\
                    nameserver\n\
                    #nameserver 10.9.9.9\n\
                    options edns0 timeout:1\n";
        let expected: Vec<SocketAddr> = vec![
            "10.0.0.1:53".parse().unwrap(),
            "[2001:db8::53]:53".parse().unwrap(),
            SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 53, 0, 3)),
        ];
        assert_eq!(parse(text), expected);
    }

    #[test]
    fn empty_file_has_no_nameservers() {
        assert!(parse("").is_empty());
        assert!(parse("search lan\n").is_empty());
    }
}
