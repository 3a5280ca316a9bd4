//! Counted slots for requests in progress, per peer and in total.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hyphae_service::PeerId;

use crate::InflightLimit;

/// Bounds how many requests are in progress at once, to each peer and in total. A request
/// holds a [`Slot`] for as long as it runs; dropping it frees the slot.
#[derive(Debug, Clone)]
pub(crate) struct Slots {
    counts: Arc<Mutex<Counts>>,
    max_per_peer: usize,
    max_total: usize,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_peer: HashMap<PeerId, usize>,
}

/// One request's place in its [`Slots`]; freed on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    counts: Arc<Mutex<Counts>>,
    peer: PeerId,
}

fn lock(counts: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    // Two counters updated together under the lock: a panic elsewhere leaves them usable.
    counts.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Slots {
    /// At most `max_per_peer` slots per peer and `max_total` in all.
    pub(crate) fn new(max_per_peer: usize, max_total: usize) -> Slots {
        Slots {
            counts: Arc::default(),
            max_per_peer,
            max_total,
        }
    }

    /// A slot for a request with `peer`, or the limit that refuses it.
    pub(crate) fn try_acquire(&self, peer: PeerId) -> Result<Slot, InflightLimit> {
        let mut counts = lock(&self.counts);
        if counts.total >= self.max_total {
            return Err(InflightLimit::Total(self.max_total));
        }
        let of_peer = counts.per_peer.entry(peer).or_default();
        if *of_peer >= self.max_per_peer {
            if *of_peer == 0 {
                counts.per_peer.remove(&peer);
            }
            return Err(InflightLimit::PerPeer(self.max_per_peer));
        }
        *of_peer += 1;
        counts.total += 1;
        Ok(Slot {
            counts: Arc::clone(&self.counts),
            peer,
        })
    }

    /// Slots taken now, with `peer` and in total.
    #[cfg(test)]
    fn taken(&self, peer: &PeerId) -> (usize, usize) {
        let counts = lock(&self.counts);
        (
            counts.per_peer.get(peer).copied().unwrap_or(0),
            counts.total,
        )
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        counts.total -= 1;
        if let Some(of_peer) = counts.per_peer.get_mut(&self.peer) {
            *of_peer -= 1;
            if *of_peer == 0 {
                counts.per_peer.remove(&self.peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_beyond_the_per_peer_limit_and_frees_on_drop() {
        let slots = Slots::new(2, 10);
        let (a, b) = (PeerId::random(), PeerId::random());
        let first = slots.try_acquire(a).unwrap();
        let _second = slots.try_acquire(a).unwrap();
        assert_eq!(slots.try_acquire(a).unwrap_err(), InflightLimit::PerPeer(2));
        let _other = slots.try_acquire(b).unwrap();
        drop(first);
        assert_eq!(slots.taken(&a), (1, 2));
        let _third = slots.try_acquire(a).unwrap();
    }

    #[test]
    fn refuses_beyond_the_total_limit() {
        let slots = Slots::new(2, 3);
        let taken: Vec<_> = (0..3)
            .map(|_| slots.try_acquire(PeerId::random()).unwrap())
            .collect();
        assert_eq!(
            slots.try_acquire(PeerId::random()).unwrap_err(),
            InflightLimit::Total(3)
        );
        drop(taken);
        assert_eq!(slots.taken(&PeerId::random()), (0, 0));
    }

    #[test]
    fn a_zero_limit_refuses_everything_and_leaves_no_entry() {
        let slots = Slots::new(0, 3);
        let peer = PeerId::random();
        assert_eq!(
            slots.try_acquire(peer).unwrap_err(),
            InflightLimit::PerPeer(0)
        );
        assert!(lock(&slots.counts).per_peer.is_empty());
    }
}
