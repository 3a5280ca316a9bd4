//! Inbound connections still in their handshakes, bounded in total and per remote IP.
//!
//! A peer that opens sockets and sends nothing would otherwise hold every handshake slot
//! until each times out, keeping honest peers out. So one IP address holds at most
//! `max_pending_inbound_per_ip` slots (further connections from it are refused), and when
//! all `max_pending_inbound` slots are taken a new connection evicts the oldest pending
//! one that has not yet agreed on a security protocol, or the oldest of all if every one
//! has: an honest peer proposes its security protocol in its first bytes and agrees within
//! a round trip, so a connection that has not is the likeliest to be idle or dripping bytes.
//! (Without that preference, attackers reconnecting faster than a handshake takes would
//! evict honest handshakes before they finish.) A peer that sends nothing at all is dropped
//! after `first_bytes_timeout`.
//!
//! No handshake is evicted within [`EVICTION_GRACE`] of its admission: when the one a
//! newcomer would evict is younger, the accept loop waits ([`PendingHandshakes::room`]) and
//! newcomers wait in the kernel's backlog, where their first bytes arrive meanwhile.
//! Without it, attackers reconnecting ten thousand times a second evicted a handshake
//! within 5–10 ms, before an honest peer on a busy machine had its first bytes read.
//!
//! Addresses on the allow list ([`Limits::allow`](crate::Limits::allow), loopback by
//! default) come here without their IP and so have no per-IP bound.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hyphae_service::Limit;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a handshake is safe from eviction once admitted: ample for an honest peer's
/// first bytes to arrive and be read, so that only handshakes stalled that long are
/// evicted; short beside `first_bytes_timeout`. Under a flood it bounds admissions at
/// `max_pending_inbound` per grace (1280 a second at the defaults).
pub(crate) const EVICTION_GRACE: Duration = Duration::from_millis(100);

/// The handshakes in progress.
#[derive(Debug)]
pub(crate) struct PendingHandshakes {
    max_total: usize,
    max_per_ip: usize,
    state: Mutex<State>,
    /// Notified when a slot frees.
    freed: Notify,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    /// Oldest first.
    pending: BTreeMap<u64, Slot>,
    per_ip: HashMap<IpAddr, usize>,
}

/// One pending handshake.
#[derive(Debug)]
struct Slot {
    ip: Option<IpAddr>,
    admitted: Instant,
    evicted: CancellationToken,
    /// Set once the peer agreed on a security protocol.
    negotiated: Arc<AtomicBool>,
}

impl State {
    /// The handshake to evict for a newcomer: the oldest that has not negotiated its
    /// security protocol, else the oldest.
    fn eviction_candidate(&self) -> Option<(u64, &Slot)> {
        let not_negotiated = self
            .pending
            .iter()
            .find(|(_, slot)| !slot.negotiated.load(Ordering::Relaxed));
        not_negotiated
            .or_else(|| self.pending.iter().next())
            .map(|(id, slot)| (*id, slot))
    }

    fn forget(&mut self, id: u64) -> Option<CancellationToken> {
        let Slot { ip, evicted, .. } = self.pending.remove(&id)?;
        if let Some(ip) = ip
            && let Some(count) = self.per_ip.get_mut(&ip)
        {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&ip);
            }
        }
        Some(evicted)
    }
}

/// Whether a new inbound connection may start its handshake.
pub(crate) enum Admission {
    /// It may; the ticket holds its slot until dropped.
    Admitted(Ticket),
    /// A limit refused it.
    Refused(Limit),
}

/// One handshake's slot.
#[derive(Debug)]
pub(crate) struct Ticket {
    pending: Arc<PendingHandshakes>,
    id: u64,
    evicted: CancellationToken,
    negotiated: Arc<AtomicBool>,
}

impl PendingHandshakes {
    pub(crate) fn new(max_total: usize, max_per_ip: usize) -> Arc<PendingHandshakes> {
        Arc::new(PendingHandshakes {
            max_total,
            max_per_ip,
            state: Mutex::default(),
            freed: Notify::new(),
        })
    }

    /// Waits until a newcomer can be admitted without evicting a handshake within its
    /// [`EVICTION_GRACE`]: a slot is free, or the handshake to evict has had its grace.
    pub(crate) async fn room(&self) {
        loop {
            let freed = self.freed.notified();
            let mut freed = std::pin::pin!(freed);
            // Registered before the table is read: a slot freed after it counts.
            freed.as_mut().enable();
            let evictable_at = {
                let state = self.lock();
                if state.pending.len() < self.max_total {
                    return;
                }
                match state.eviction_candidate() {
                    Some((_, slot)) => slot.admitted + EVICTION_GRACE,
                    None => return,
                }
            };
            if evictable_at <= Instant::now() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(evictable_at) => {}
                () = freed => {}
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a connection from `ip` (`None` for transports without one), evicting a
    /// pending handshake if all slots are taken (see the module's docs for which).
    pub(crate) fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Admission {
        if self.max_total == 0 {
            return Admission::Refused(Limit::PendingInbound(0));
        }
        let mut state = self.lock();
        if let Some(ip) = ip
            && state.per_ip.get(&ip).copied().unwrap_or(0) >= self.max_per_ip
        {
            return Admission::Refused(Limit::PendingInboundPerIp(self.max_per_ip));
        }
        if state.pending.len() >= self.max_total
            && let Some((victim, _)) = state.eviction_candidate()
            && let Some(evicted) = state.forget(victim)
        {
            evicted.cancel();
        }
        state.next_id += 1;
        let id = state.next_id;
        let evicted = CancellationToken::new();
        let negotiated = Arc::new(AtomicBool::new(false));
        let slot = Slot {
            ip,
            admitted: Instant::now(),
            evicted: evicted.clone(),
            negotiated: Arc::clone(&negotiated),
        };
        state.pending.insert(id, slot);
        if let Some(ip) = ip {
            *state.per_ip.entry(ip).or_default() += 1;
        }
        Admission::Admitted(Ticket {
            pending: Arc::clone(self),
            id,
            evicted,
            negotiated,
        })
    }

    /// Handshakes pending now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().pending.len()
    }
}

impl Ticket {
    /// The peer agreed on a security protocol: evict others before this handshake.
    pub(crate) fn negotiated(&self) {
        self.negotiated.store(true, Ordering::Relaxed);
    }

    /// Completes if a newer connection evicted this one; says which limit did.
    pub(crate) async fn evicted(&self) -> Limit {
        self.evicted.cancelled().await;
        Limit::PendingInbound(self.pending.max_total)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let freed = self.pending.lock().forget(self.id).is_some();
        if freed {
            self.pending.freed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(admission: Admission) -> Ticket {
        match admission {
            Admission::Admitted(ticket) => ticket,
            Admission::Refused(limit) => panic!("refused: {limit}"),
        }
    }

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2)));

    #[test]
    fn one_address_cannot_take_more_than_its_share() {
        let pending = PendingHandshakes::new(10, 2);
        let _first = admitted(pending.admit(A));
        let second = admitted(pending.admit(A));
        assert!(matches!(
            pending.admit(A),
            Admission::Refused(Limit::PendingInboundPerIp(2))
        ));
        // Another address still gets in, and a finished handshake frees its slot.
        let _other = admitted(pending.admit(B));
        drop(second);
        let _again = admitted(pending.admit(A));
        assert_eq!(pending.len(), 3);
    }

    #[tokio::test]
    async fn a_full_table_evicts_the_oldest_handshake() {
        let pending = PendingHandshakes::new(2, 10);
        let oldest = admitted(pending.admit(A));
        let middle = admitted(pending.admit(None));
        let newest = admitted(pending.admit(B));
        assert_eq!(pending.len(), 2);
        assert_eq!(oldest.evicted().await, Limit::PendingInbound(2));
        assert!(!middle.evicted.is_cancelled());
        assert!(!newest.evicted.is_cancelled());
        // The evicted one's slot is already free: dropping its ticket changes nothing.
        drop(oldest);
        assert_eq!(pending.len(), 2);
        assert!(!pending.lock().per_ip.contains_key(&A.unwrap()));
    }

    #[tokio::test]
    async fn handshakes_past_their_negotiation_are_evicted_last() {
        let pending = PendingHandshakes::new(3, 10);
        let progressing = admitted(pending.admit(A));
        progressing.negotiated();
        let silent = admitted(pending.admit(B));
        let _newer = admitted(pending.admit(None));
        let _newest = admitted(pending.admit(None));
        assert_eq!(silent.evicted().await, Limit::PendingInbound(3));
        assert!(!progressing.evicted.is_cancelled());
        // Once every handshake has negotiated, the oldest goes.
        let all: Vec<_> = pending.lock().pending.keys().copied().collect();
        for id in &all {
            pending.lock().pending[id]
                .negotiated
                .store(true, Ordering::Relaxed);
        }
        let _another = admitted(pending.admit(None));
        assert_eq!(progressing.evicted().await, Limit::PendingInbound(3));
    }

    /// Whether `room` completes without the clock moving.
    async fn made(room: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>) -> bool {
        tokio::time::timeout(Duration::ZERO, room.as_mut())
            .await
            .is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_table_makes_room_once_the_handshake_to_evict_has_had_its_grace() {
        let pending = PendingHandshakes::new(2, 10);
        let _oldest = admitted(pending.admit(A));
        tokio::time::advance(Duration::from_millis(30)).await;
        let _newer = admitted(pending.admit(B));
        let room = pending.room();
        let mut room = std::pin::pin!(room);
        assert!(!made(&mut room).await);
        tokio::time::advance(EVICTION_GRACE - Duration::from_millis(31)).await;
        assert!(!made(&mut room).await);
        // The oldest, the one a newcomer would evict, comes out of its grace.
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(made(&mut room).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_table_makes_room_at_once_when_a_handshake_ends() {
        let pending = PendingHandshakes::new(2, 10);
        let _first = admitted(pending.admit(A));
        let second = admitted(pending.admit(B));
        let room = pending.room();
        let mut room = std::pin::pin!(room);
        assert!(!made(&mut room).await);
        drop(second);
        assert!(made(&mut room).await);
    }

    #[test]
    fn allowed_and_addressless_peers_share_only_the_total_bound() {
        let pending = PendingHandshakes::new(10, 2);
        let tickets: Vec<_> = (0..10).map(|_| admitted(pending.admit(None))).collect();
        assert_eq!(pending.len(), 10);
        drop(tickets);
        assert_eq!(pending.len(), 0);
    }

    #[test]
    fn no_slots_refuses_everything() {
        let pending = PendingHandshakes::new(0, 10);
        assert!(matches!(
            pending.admit(None),
            Admission::Refused(Limit::PendingInbound(0))
        ));
    }
}
