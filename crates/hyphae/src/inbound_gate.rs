//! Who may open inbound connections, and how many and how fast: per address caps on
//! concurrent inbound connections (in their handshakes or established) and a rate limit
//! on new ones, with an allow list of addresses exempt from both.
//!
//! Addresses count by group, as go-libp2p's connection limiter counts them: an IPv4
//! address alone, an IPv6 address by its /56 (one subscriber's allocation). The defaults
//! are go-libp2p's: 8 concurrent inbound connections per group, and a bucket of 16 new
//! connections refilled at one every 5 s. The default allow list holds the loopback
//! networks, so that local peers (tests, sidecars) are not capped; it is configuration,
//! not a rule: remove them to cap local peers too.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use ipnet::IpNet;

use crate::trim::address_group;
use crate::{Limit, Limits};

/// Most address groups with a rate bucket; past it, full buckets are forgotten (a full
/// bucket is the same as none), so that many addresses cannot grow the table.
const MAX_BUCKETS: usize = 16 * 1024;

/// New connections an address group may open: `burst` at once, then `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Tokens regained per second.
    pub per_second: f64,
    /// Most tokens held (new connections at once).
    pub burst: u32,
}

/// The caps of inbound connections by address.
#[derive(Debug)]
pub(crate) struct InboundGate {
    allow: Vec<IpNet>,
    max_per_group: usize,
    rate: Option<RateLimit>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Inbound connections per group now (pending and established).
    open: HashMap<IpAddr, usize>,
    buckets: HashMap<IpAddr, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// An inbound connection's place in its group's count, held for the connection's life.
#[derive(Debug)]
pub(crate) struct InboundSlot {
    gate: Arc<InboundGate>,
    group: IpAddr,
}

impl Drop for InboundSlot {
    fn drop(&mut self) {
        let mut state = self.gate.lock();
        if let Some(count) = state.open.get_mut(&self.group) {
            *count -= 1;
            if *count == 0 {
                state.open.remove(&self.group);
            }
        }
    }
}

impl InboundGate {
    pub(crate) fn new(limits: &Limits) -> Arc<InboundGate> {
        Arc::new(InboundGate {
            allow: limits.allow.clone(),
            max_per_group: limits.max_inbound_per_ip,
            rate: limits.inbound_rate_per_ip,
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `ip` is on the allow list.
    pub(crate) fn is_allowed(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|net| net.contains(&ip))
    }

    /// Admits a new inbound connection from `ip` at `now`: `Ok(None)` when no cap applies
    /// (no IP address, or an allowed one), `Ok(Some(slot))` to hold for the connection's
    /// life, or the limit that refuses it.
    pub(crate) fn admit(
        self: &Arc<Self>,
        ip: Option<IpAddr>,
        now: Instant,
    ) -> Result<Option<InboundSlot>, Limit> {
        let Some(ip) = ip.filter(|ip| !self.is_allowed(*ip)) else {
            return Ok(None);
        };
        let group = address_group(ip);
        let mut state = self.lock();
        let open = state.open.get(&group).copied().unwrap_or(0);
        if open >= self.max_per_group {
            return Err(Limit::InboundPerIp(self.max_per_group));
        }
        if let Some(rate) = self.rate {
            if state.buckets.len() >= MAX_BUCKETS && !state.buckets.contains_key(&group) {
                state.forget_full_buckets(rate, now);
            }
            let burst = f64::from(rate.burst);
            let bucket = state.buckets.entry(group).or_insert(Bucket {
                tokens: burst,
                updated: now,
            });
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(burst);
            bucket.updated = now;
            if bucket.tokens < 1.0 {
                return Err(Limit::InboundRatePerIp(rate.burst));
            }
            bucket.tokens -= 1.0;
        }
        *state.open.entry(group).or_default() += 1;
        Ok(Some(InboundSlot {
            gate: Arc::clone(self),
            group,
        }))
    }
}

impl State {
    /// Drops the buckets that have refilled; if every one is still draining, the oldest
    /// half goes (a forgotten bucket starts full again: the table stays bounded).
    fn forget_full_buckets(&mut self, rate: RateLimit, now: Instant) {
        let burst = f64::from(rate.burst);
        self.buckets.retain(|_, bucket| {
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            bucket.tokens + elapsed * rate.per_second < burst
        });
        if self.buckets.len() >= MAX_BUCKETS {
            let mut updated: Vec<Instant> = self.buckets.values().map(|b| b.updated).collect();
            updated.sort();
            let median = updated[updated.len() / 2];
            self.buckets.retain(|_, bucket| bucket.updated > median);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn gate(max: usize, rate: Option<RateLimit>, allow: &[&str]) -> Arc<InboundGate> {
        InboundGate::new(&Limits {
            max_inbound_per_ip: max,
            inbound_rate_per_ip: rate,
            allow: allow.iter().map(|net| net.parse().unwrap()).collect(),
            ..Limits::default()
        })
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn one_address_holds_at_most_its_cap_until_a_connection_ends() {
        let gate = gate(2, None, &[]);
        let now = Instant::now();
        let first = gate.admit(ip("203.0.113.1"), now).unwrap();
        let _second = gate.admit(ip("203.0.113.1"), now).unwrap();
        assert_eq!(
            gate.admit(ip("203.0.113.1"), now).unwrap_err(),
            Limit::InboundPerIp(2)
        );
        assert!(
            gate.admit(ip("203.0.113.2"), now).is_ok(),
            "another address"
        );
        drop(first);
        assert!(gate.admit(ip("203.0.113.1"), now).is_ok());
    }

    #[test]
    fn an_ipv6_56_counts_as_one_address() {
        let gate = gate(1, None, &[]);
        let now = Instant::now();
        let _held = gate.admit(ip("2001:db8:0:1::1"), now).unwrap();
        assert!(gate.admit(ip("2001:db8:0:2::1"), now).is_err());
        assert!(gate.admit(ip("2001:db8:0:100::1"), now).is_ok());
    }

    #[test]
    fn the_rate_allows_a_burst_then_refills() {
        let rate = RateLimit {
            per_second: 2.0,
            burst: 3,
        };
        let gate = gate(100, Some(rate), &[]);
        let start = Instant::now();
        for _ in 0..3 {
            gate.admit(ip("198.51.100.7"), start).unwrap();
        }
        let refused = gate.admit(ip("198.51.100.7"), start).unwrap_err();
        assert_eq!(refused, Limit::InboundRatePerIp(3));
        let later = start + Duration::from_millis(500);
        assert!(
            gate.admit(ip("198.51.100.7"), later).is_ok(),
            "one token back"
        );
        assert!(gate.admit(ip("198.51.100.7"), later).is_err());
    }

    #[test]
    fn allowed_networks_and_addressless_transports_are_not_capped() {
        let gate = gate(1, None, &["10.0.0.0/8"]);
        let now = Instant::now();
        for _ in 0..10 {
            assert!(gate.admit(ip("10.1.2.3"), now).unwrap().is_none());
            assert!(gate.admit(None, now).unwrap().is_none());
        }
        let defaults = InboundGate::new(&Limits::default());
        assert!(defaults.is_allowed("127.0.0.1".parse().unwrap()));
        assert!(defaults.is_allowed("::1".parse().unwrap()));
        assert!(!defaults.is_allowed("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn many_addresses_do_not_grow_the_rate_table_without_bound() {
        let rate = RateLimit {
            per_second: 0.0,
            burst: 2,
        };
        let gate = gate(usize::MAX, Some(rate), &[]);
        let now = Instant::now();
        for n in 0..(MAX_BUCKETS as u32 + 1000) {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            drop(gate.admit(Some(addr), now).unwrap());
        }
        assert!(gate.lock().buckets.len() <= MAX_BUCKETS);
        assert!(gate.lock().open.is_empty());
    }
}
