//! What happened to each recent message, so that peers forwarding it while we validate it,
//! or soon after, are credited or blamed once we decide (gossipsub-v1.1.md, "P₃ and P₃b:
//! Mesh Message Delivery" and "P₄: Invalid Messages").

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::MessageId;
use crate::time::saturating_add;

/// Most delivery records held at once, the oldest leaving first: as many as the seen cache
/// holds ids, since a record lives no longer than an id is seen.
pub(crate) const MAX_DELIVERY_RECORDS: usize = crate::params::MAX_SEEN_MESSAGES;

/// Where a message is in validation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DeliveryStatus {
    /// Being validated, or never validated here.
    Unknown,
    /// Valid, decided at this instant, which opens the near-first window.
    Valid(Instant),
    /// Rejected as invalid: whoever forwards it is penalised.
    Invalid,
    /// Ignored by the validator: no one is credited or penalised.
    Ignored,
}

/// One message's record.
#[derive(Debug, Clone)]
pub(crate) struct DeliveryRecord<P> {
    pub(crate) status: DeliveryStatus,
    /// When the record is forgotten.
    expires: Instant,
    /// Peers that forwarded the message, besides the first, while it was validated, or
    /// after; each is credited or blamed at most once. Only known peers are added.
    pub(crate) peers: HashSet<P>,
}

/// Records by message id, each kept for a fixed time after its first event.
#[derive(Debug, Clone)]
pub(crate) struct DeliveryRecords<P> {
    ttl: Duration,
    max_records: usize,
    records: HashMap<MessageId, DeliveryRecord<P>>,
    /// Ids in the order their records were made, with when each expires.
    expiries: VecDeque<(Instant, MessageId)>,
}

impl<P: Eq + Hash> DeliveryRecords<P> {
    pub(crate) fn new(ttl: Duration, max_records: usize) -> DeliveryRecords<P> {
        DeliveryRecords {
            ttl,
            max_records,
            records: HashMap::new(),
            expiries: VecDeque::new(),
        }
    }

    /// The record of `id`, made at `now` if there is none. When full, the oldest record
    /// leaves: a message that old is past every window.
    pub(crate) fn record(&mut self, id: &MessageId, now: Instant) -> &mut DeliveryRecord<P> {
        if !self.records.contains_key(id) {
            self.expire(now);
            while self.records.len() >= self.max_records.max(1) {
                let Some((expires, oldest)) = self.expiries.pop_front() else {
                    break;
                };
                self.remove_if_expires(&oldest, expires);
            }
        }
        match self.records.entry(id.clone()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let expires = saturating_add(now, self.ttl);
                self.expiries.push_back((expires, id.clone()));
                entry.insert(DeliveryRecord {
                    status: DeliveryStatus::Unknown,
                    expires,
                    peers: HashSet::new(),
                })
            }
        }
    }

    /// Forgets the records whose time is over at `now`.
    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some(&(expires, _)) = self.expiries.front() {
            if expires > now {
                break;
            }
            if let Some((expires, id)) = self.expiries.pop_front() {
                self.remove_if_expires(&id, expires);
            }
        }
    }

    /// Removes the record of `id` if it is the one expiring at `expires`: an id evicted
    /// early and recorded again has a second, later entry in `expiries`, and only that one
    /// may remove the new record.
    fn remove_if_expires(&mut self, id: &MessageId, expires: Instant) {
        if self
            .records
            .get(id)
            .is_some_and(|record| record.expires == expires)
        {
            self.records.remove(id);
        }
    }

    /// Removes `peer` from every record, when its stats are forgotten.
    pub(crate) fn forget_peer(&mut self, peer: &P) {
        for record in self.records.values_mut() {
            record.peers.remove(peer);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_expire_after_their_time() {
        let start = Instant::now();
        let mut records = DeliveryRecords::<u32>::new(Duration::from_secs(10), 100);
        records.record(&MessageId::new(vec![1]), start);
        records.record(&MessageId::new(vec![2]), start + Duration::from_secs(5));
        records.expire(start + Duration::from_secs(10));
        assert_eq!(records.len(), 1);
        records.expire(start + Duration::from_secs(15));
        assert_eq!(records.len(), 0);
    }

    #[test]
    fn holds_at_most_max_records_dropping_the_oldest() {
        let start = Instant::now();
        let mut records = DeliveryRecords::<u32>::new(Duration::from_secs(10), 3);
        for i in 0..10u8 {
            records.record(&MessageId::new(vec![i]), start).status = DeliveryStatus::Ignored;
        }
        assert_eq!(records.len(), 3);
        assert_eq!(
            records.record(&MessageId::new(vec![9]), start).status,
            DeliveryStatus::Ignored
        );
        assert_eq!(
            records.record(&MessageId::new(vec![0]), start).status,
            DeliveryStatus::Unknown
        );
    }

    #[test]
    fn a_record_evicted_and_made_again_lives_its_full_time() {
        let start = Instant::now();
        let mut records = DeliveryRecords::<u32>::new(Duration::from_secs(10), 1);
        records.record(&MessageId::new(vec![1]), start);
        records.record(&MessageId::new(vec![2]), start);
        let later = start + Duration::from_secs(5);
        records.record(&MessageId::new(vec![1]), later).status = DeliveryStatus::Ignored;
        records.expire(start + Duration::from_secs(10));
        assert_eq!(records.len(), 1);
        assert_eq!(
            records.record(&MessageId::new(vec![1]), later).status,
            DeliveryStatus::Ignored
        );
        records.expire(later + Duration::from_secs(10));
        assert_eq!(records.len(), 0);
    }
}
