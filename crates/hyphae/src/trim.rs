//! The connection manager's choices: which connections to close when the node holds too
//! many, so that a full node still takes new peers.
//!
//! Two occasions, both decided here without I/O:
//! - Past the high watermark, the node trims down to the low one ([`to_trim`]): connections
//!   older than the grace period, unprotected, the least valued first.
//! - At the hard limit, a newcomer gets in if a connection can make room ([`to_evict`]):
//!   first from the address group holding the most connections, when it holds more than
//!   one more than the newcomer's (so that no one address takes more than its share of a
//!   full node, even with fresh connections), and otherwise as in trimming.
//!
//! "Least valued" orders by the peer's tag value ([`PeerTags`](crate::PeerTags)), then
//! idle (no open stream) before busy, then the oldest first. Addresses group as go-libp2p's
//! connection limiter groups them: an IPv4 address alone, an IPv6 address by its /56.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use crate::ConnectionId;

/// A connection as the manager weighs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) id: ConnectionId,
    /// The remote IP address (none for in-process connections).
    pub(crate) ip: Option<IpAddr>,
    /// Time since it was established.
    pub(crate) age: Duration,
    /// Whether no stream is open on it.
    pub(crate) is_idle: bool,
    /// Its peer's tag value.
    pub(crate) value: i64,
    /// Whether its peer is protected.
    pub(crate) is_protected: bool,
}

impl Candidate {
    /// Sorts ascending from the connection to close first.
    fn worth(&self) -> (i64, bool, Reverse<Duration>) {
        (self.value, !self.is_idle, Reverse(self.age))
    }
}

/// The group an address counts in: IPv4 addresses alone, IPv6 ones by their /56.
pub(crate) fn address_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mask = !0u128 << (128 - 56);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// Up to `count` connections to close, the least valued first: only unprotected ones
/// older than `grace`.
pub(crate) fn to_trim(
    candidates: &[Candidate],
    count: usize,
    grace: Duration,
) -> Vec<ConnectionId> {
    let mut eligible: Vec<&Candidate> = candidates
        .iter()
        .filter(|candidate| !candidate.is_protected && candidate.age >= grace)
        .collect();
    eligible.sort_by_key(|candidate| candidate.worth());
    eligible
        .into_iter()
        .take(count)
        .map(|candidate| candidate.id)
        .collect()
}

/// The connection to close so that a newcomer from `newcomer` gets in, if any may go.
pub(crate) fn to_evict(
    candidates: &[Candidate],
    newcomer: Option<IpAddr>,
    grace: Duration,
) -> Option<ConnectionId> {
    let mut per_group: HashMap<IpAddr, usize> = HashMap::new();
    for ip in candidates.iter().filter_map(|candidate| candidate.ip) {
        *per_group.entry(address_group(ip)).or_default() += 1;
    }
    let newcomers = newcomer
        .and_then(|ip| per_group.get(&address_group(ip)).copied())
        .unwrap_or(0);
    let heaviest = candidates
        .iter()
        .filter(|candidate| !candidate.is_protected)
        .filter_map(|candidate| candidate.ip.map(address_group))
        .max_by_key(|group| (per_group[group], *group));
    if let Some(group) = heaviest.filter(|group| per_group[group] > newcomers + 1) {
        return candidates
            .iter()
            .filter(|candidate| !candidate.is_protected)
            .filter(|candidate| candidate.ip.map(address_group) == Some(group))
            .min_by_key(|candidate| candidate.worth())
            .map(|candidate| candidate.id);
    }
    to_trim(candidates, 1, grace).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(20);

    fn candidate(id: u64, ip: &str, age_s: u64) -> Candidate {
        Candidate {
            id: ConnectionId::new(id),
            ip: Some(ip.parse().unwrap()),
            age: Duration::from_secs(age_s),
            is_idle: true,
            value: 0,
            is_protected: false,
        }
    }

    fn ids(ids: &[u64]) -> Vec<ConnectionId> {
        ids.iter().copied().map(ConnectionId::new).collect()
    }

    #[test]
    fn trimming_closes_the_least_valued_then_idle_then_oldest_past_the_grace_period() {
        let mut valued = candidate(1, "10.0.0.1", 100);
        valued.value = 5;
        let mut busy = candidate(2, "10.0.0.2", 100);
        busy.is_idle = false;
        let old_idle = candidate(3, "10.0.0.3", 100);
        let young_idle = candidate(4, "10.0.0.4", 50);
        let new = candidate(5, "10.0.0.5", 1);
        let mut protected = candidate(6, "10.0.0.6", 1000);
        protected.is_protected = true;
        let all = [valued, busy, old_idle, young_idle, new, protected];
        assert_eq!(to_trim(&all, 10, GRACE), ids(&[3, 4, 2, 1]));
        assert_eq!(to_trim(&all, 2, GRACE), ids(&[3, 4]));
    }

    #[test]
    fn a_newcomer_displaces_a_connection_of_the_address_holding_more_than_its_share() {
        // Fresh connections (inside the grace period) from one address fill the node.
        let mut all: Vec<Candidate> = (0..8).map(|i| candidate(i, "10.0.0.1", 1)).collect();
        all.push(candidate(8, "10.0.0.2", 1));
        assert!(to_trim(&all, 1, GRACE).is_empty());
        let evicted = to_evict(&all, Some("10.0.0.3".parse().unwrap()), GRACE);
        assert!(evicted.is_some_and(|id| id.get() < 8), "{evicted:?}");
        // From the crowded address itself, a newcomer waits for the grace period.
        assert_eq!(
            to_evict(&all, Some("10.0.0.1".parse().unwrap()), GRACE),
            None
        );
    }

    #[test]
    fn shares_even_out_and_then_only_the_grace_period_decides() {
        let all = [
            candidate(1, "10.0.0.1", 1),
            candidate(2, "10.0.0.1", 1),
            candidate(3, "10.0.0.2", 1),
        ];
        // 2 against the newcomer's 1 (after it joins): fair enough.
        assert_eq!(
            to_evict(&all, Some("10.0.0.2".parse().unwrap()), GRACE),
            None
        );
        let mut aged = all.clone();
        aged[2].age = GRACE;
        assert_eq!(
            to_evict(&aged, Some("10.0.0.2".parse().unwrap()), GRACE),
            Some(ConnectionId::new(3))
        );
    }

    #[test]
    fn protected_peers_are_never_chosen() {
        let mut all: Vec<Candidate> = (0..4).map(|i| candidate(i, "10.0.0.1", 100)).collect();
        for candidate in &mut all {
            candidate.is_protected = true;
        }
        assert_eq!(
            to_evict(&all, Some("10.0.0.9".parse().unwrap()), GRACE),
            None
        );
        assert!(to_trim(&all, 4, GRACE).is_empty());
    }

    #[test]
    fn ipv6_addresses_count_by_their_56_bit_prefix() {
        let a = address_group("2001:db8:0:12::1".parse().unwrap());
        let b = address_group("2001:db8:0:ab::2".parse().unwrap());
        let c = address_group("2001:db8:0:100::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(address_group(v4), v4);
    }
}
