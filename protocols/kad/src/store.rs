//! Where a node keeps the records and provider entries that other peers put on it, and the
//! keys it provides itself.
//!
//! The [`RecordStore`] trait is synchronous: the sans-IO core calls it in the middle of
//! handling a message, so an implementation must answer quickly. [`MemoryStore`] keeps
//! everything in ordered maps; [`DiskStore`] (feature `disk`) keeps it in an embedded
//! database, which is fast for the small writes a DHT makes, so that a server still holds its
//! records, and knows what to reprovide, after a restart.
//!
//! Stores take wall-clock time ([`SystemTime`]) from the caller and never read a clock: entries
//! on disk must mean the same after a restart, which an [`std::time::Instant`] cannot, and the
//! simulator passes virtual times. An entry whose `expires` is at or before `now` is expired:
//! reads treat it as absent, and [`RecordStore::expire`] deletes it.
//!
//! Every store is bounded by [`StoreLimits`]: a peer can fill a store to its limits, never
//! beyond. What happens when a limit is reached is documented on each limit.

mod memory;
pub use memory::MemoryStore;

#[cfg(feature = "disk")]
mod disk;
#[cfg(feature = "disk")]
mod encoding;
#[cfg(feature = "disk")]
pub use disk::DiskStore;

use std::fmt;
use std::time::SystemTime;

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;

use crate::K;

/// A value record (`PUT_VALUE` / `GET_VALUE`) as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The record key (e.g. `/pk/…`, `/ipns/…`).
    pub key: Vec<u8>,
    /// The record value.
    pub value: Vec<u8>,
    /// The peer that put the record, when known; kept so that the node can tell its own
    /// records (which it republishes) from others' (which it only replicates).
    pub publisher: Option<PeerId>,
    /// When this node received the record (the wire's `timeReceived`).
    pub received: SystemTime,
    /// When the record stops being served and is deleted.
    pub expires: SystemTime,
}

impl StoredRecord {
    /// The bytes this record counts against [`StoreLimits::max_total_bytes`]: its key, its
    /// value and its publisher's id.
    pub fn stored_bytes(&self) -> usize {
        self.key.len() + self.value.len() + self.publisher.map_or(0, |peer| peer.as_bytes().len())
    }
}

/// One peer's announcement that it provides a key (`ADD_PROVIDER` / `GET_PROVIDERS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRecord {
    /// The provided key (a multihash).
    pub key: Vec<u8>,
    /// The providing peer.
    pub provider: PeerId,
    /// Where the provider said it can be reached.
    pub addrs: Vec<Multiaddr>,
    /// When the entry stops being served and is deleted.
    pub expires: SystemTime,
    /// When `addrs` stop being handed out with the entry (go-libp2p answers with the bare peer
    /// id after [`crate::PROVIDER_ADDR_TTL`], leaving the asker to find the addresses).
    pub addrs_expire: SystemTime,
}

impl ProviderRecord {
    /// The bytes this entry counts against [`StoreLimits::max_total_bytes`]: its key, the
    /// provider's id and every address.
    pub fn stored_bytes(&self) -> usize {
        self.key.len()
            + self.provider.as_bytes().len()
            + self
                .addrs
                .iter()
                .map(|addr| addr.as_bytes().len())
                .sum::<usize>()
    }

    /// The entry as served at `now`: without addresses once `addrs_expire` has passed.
    pub(crate) fn as_seen_at(&self, now: SystemTime) -> ProviderRecord {
        let mut seen = self.clone();
        if is_expired(seen.addrs_expire, now) {
            seen.addrs.clear();
        }
        seen
    }
}

/// The bounds of a store. Each bound says what a peer could otherwise make the node spend.
///
/// The defaults are those of rust-libp2p's `MemoryStore` where it has one, so that a node
/// holds as much of the DHT as its peers expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLimits {
    /// Most value records kept. A `put` of a new key when full fails with
    /// [`StoreError::Full`]`(`[`Limit::Records`]`)`; existing keys can still be updated.
    /// Default 1024.
    pub max_records: usize,
    /// Longest key accepted, for records, provider entries and locally provided keys; longer
    /// ones fail with [`StoreError::KeyTooLarge`]. Real keys (multihashes, `/ipns/<id>`) are
    /// under 100 bytes. Default 1 KiB.
    pub max_key_bytes: usize,
    /// Longest record value accepted; longer ones fail with [`StoreError::ValueTooLarge`].
    /// Default 65 KiB (rust-libp2p's bound; IPNS records are a few hundred bytes).
    pub max_value_bytes: usize,
    /// Most distinct keys with provider entries. An `add_provider` for a new key when full
    /// fails with [`StoreError::Full`]`(`[`Limit::ProviderKeys`]`)`. Default 1024.
    pub max_provider_keys: usize,
    /// Most providers kept for one key. When a key has this many, a new provider replaces
    /// the entry that expires soonest (the first in peer-id byte order among equals) if the
    /// new one expires later, so fresh announcements displace stale ones; otherwise it fails
    /// with [`StoreError::Full`]`(`[`Limit::ProvidersPerKey`]`)`. Default [`K`] = 20: a
    /// `GET_PROVIDERS` answer carries at most that many.
    pub max_providers_per_key: usize,
    /// Most addresses kept per provider entry; further ones (and repeats) are dropped, not
    /// an error. Default 16.
    pub max_addresses_per_provider: usize,
    /// Most keys this node provides itself (reprovided every
    /// [`crate::REPROVIDE_INTERVAL`]). Filled by the local application, not by peers; past it
    /// `add_local_provided` fails with [`StoreError::Full`]`(`[`Limit::LocalProvided`]`)`.
    /// Default 1024.
    pub max_local_provided: usize,
    /// Most bytes of keys, values, peer ids and addresses held in all (see
    /// [`StoredRecord::stored_bytes`], [`ProviderRecord::stored_bytes`]; a locally provided
    /// key counts its length). A write that would pass it fails with
    /// [`StoreError::Full`]`(`[`Limit::TotalBytes`]`)`, updates included. Default 64 MiB.
    pub max_total_bytes: usize,
}

impl Default for StoreLimits {
    fn default() -> StoreLimits {
        StoreLimits {
            max_records: 1024,
            max_key_bytes: 1024,
            max_value_bytes: 65 * 1024,
            max_provider_keys: 1024,
            max_providers_per_key: K,
            max_addresses_per_provider: 16,
            max_local_provided: 1024,
            max_total_bytes: 64 * 1024 * 1024,
        }
    }
}

impl StoreLimits {
    /// Fails if `key` is longer than [`StoreLimits::max_key_bytes`].
    pub(crate) fn check_key(&self, key: &[u8]) -> Result<(), StoreError> {
        if key.len() > self.max_key_bytes {
            return Err(StoreError::KeyTooLarge {
                len: key.len(),
                max: self.max_key_bytes,
            });
        }
        Ok(())
    }

    /// Fails if the record's key or value is too long.
    pub(crate) fn check_record(&self, record: &StoredRecord) -> Result<(), StoreError> {
        self.check_key(&record.key)?;
        if record.value.len() > self.max_value_bytes {
            return Err(StoreError::ValueTooLarge {
                len: record.value.len(),
                max: self.max_value_bytes,
            });
        }
        Ok(())
    }

    /// Drops repeated addresses and those past [`StoreLimits::max_addresses_per_provider`],
    /// keeping the first ones in the order the provider gave them.
    pub(crate) fn trim_addresses(&self, record: &mut ProviderRecord) {
        let mut kept: Vec<Multiaddr> =
            Vec::with_capacity(record.addrs.len().min(self.max_addresses_per_provider));
        for addr in record.addrs.drain(..) {
            if kept.len() == self.max_addresses_per_provider {
                break;
            }
            if !kept.contains(&addr) {
                kept.push(addr);
            }
        }
        record.addrs = kept;
    }

    /// Fails if replacing `old_bytes` with `new_bytes` would take a store holding `used`
    /// bytes past [`StoreLimits::max_total_bytes`].
    pub(crate) fn check_bytes(
        &self,
        used: usize,
        old_bytes: usize,
        new_bytes: usize,
    ) -> Result<(), StoreError> {
        if used.saturating_sub(old_bytes) + new_bytes > self.max_total_bytes {
            return Err(StoreError::Full(Limit::TotalBytes));
        }
        Ok(())
    }
}

/// Which provider of a full key a new provider `new` replaces: the entry that expires soonest
/// (the first of `existing`, in the order given, among equals), if `new` expires later.
pub(crate) fn provider_to_replace<'a>(
    existing: impl IntoIterator<Item = &'a ProviderRecord>,
    new: &ProviderRecord,
) -> Result<&'a ProviderRecord, StoreError> {
    let mut soonest: Option<&ProviderRecord> = None;
    for entry in existing {
        if soonest.is_none_or(|current| entry.expires < current.expires) {
            soonest = Some(entry);
        }
    }
    match soonest {
        Some(entry) if entry.expires < new.expires => Ok(entry),
        _ => Err(StoreError::Full(Limit::ProvidersPerKey)),
    }
}

/// Whether an entry that `expires` then is expired at `now`.
pub(crate) fn is_expired(expires: SystemTime, now: SystemTime) -> bool {
    expires <= now
}

/// How much of its [`StoreLimits`] a store uses, for metrics and for checking the bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreUsage {
    /// Value records held (expired ones not yet collected included).
    pub records: usize,
    /// Distinct keys with at least one provider entry.
    pub provider_keys: usize,
    /// Provider entries over all keys.
    pub providers: usize,
    /// Keys this node provides itself.
    pub local_provided: usize,
    /// Bytes counted against [`StoreLimits::max_total_bytes`].
    pub bytes: usize,
}

/// The limit that a refused write would have passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`StoreLimits::max_records`].
    Records,
    /// [`StoreLimits::max_provider_keys`].
    ProviderKeys,
    /// [`StoreLimits::max_providers_per_key`].
    ProvidersPerKey,
    /// [`StoreLimits::max_local_provided`].
    LocalProvided,
    /// [`StoreLimits::max_total_bytes`].
    TotalBytes,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Records => "too many records",
            Limit::ProviderKeys => "too many provided keys",
            Limit::ProvidersPerKey => "too many providers for this key",
            Limit::LocalProvided => "too many locally provided keys",
            Limit::TotalBytes => "too many bytes in all",
        })
    }
}

/// Why a store refused a write.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write would pass one of the store's [`StoreLimits`].
    #[error("store full: {0}")]
    Full(Limit),
    /// The key is longer than [`StoreLimits::max_key_bytes`].
    #[error("key of {len} bytes is longer than the limit of {max}")]
    KeyTooLarge {
        /// The key's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value is longer than [`StoreLimits::max_value_bytes`].
    #[error("value of {len} bytes is longer than the limit of {max}")]
    ValueTooLarge {
        /// The value's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The database of a [`DiskStore`] failed (I/O, a corrupt file, a database already open).
    #[cfg(feature = "disk")]
    #[error("record database: {0}")]
    Database(#[from] redb::Error),
}

/// Storage for value records, provider entries and the keys this node provides.
///
/// Called synchronously by the sans-IO core, so every method must return quickly: an
/// implementation on disk should use an embedded database (fast for small writes), not a
/// network service. Reads never fail: an implementation that meets an error while reading
/// logs it and answers as if the entry were absent. Writes fail with [`StoreError`] when a
/// limit is reached or the storage fails.
///
/// Iteration is in key byte order (providers of one key in peer-id byte order), the same for
/// every implementation, so that a simulated run replays identically.
pub trait RecordStore: Send + 'static {
    /// The record under `key`, unless there is none or it has expired at `now`.
    fn get(&self, key: &[u8], now: SystemTime) -> Option<StoredRecord>;

    /// Stores `record`, replacing any record under the same key.
    fn put(&mut self, record: StoredRecord) -> Result<(), StoreError>;

    /// Deletes the record under `key`, if any.
    fn remove(&mut self, key: &[u8]) -> Result<(), StoreError>;

    /// Every record held, expired ones not yet collected included (call
    /// [`RecordStore::expire`] first), for republishing and replication.
    fn records(&self) -> Box<dyn Iterator<Item = StoredRecord> + '_>;

    /// Stores a provider entry. The same provider for the same key again replaces its entry:
    /// its expiry and addresses are refreshed. Addresses are trimmed to
    /// [`StoreLimits::max_addresses_per_provider`]; a full key replaces its soonest-expiring
    /// provider (see [`StoreLimits::max_providers_per_key`]).
    fn add_provider(&mut self, record: ProviderRecord) -> Result<(), StoreError>;

    /// The providers of `key` not expired at `now`, without addresses for those whose
    /// `addrs_expire` has passed.
    fn providers(&self, key: &[u8], now: SystemTime) -> Vec<ProviderRecord>;

    /// Deletes `provider`'s entry for `key`, if any.
    fn remove_provider(&mut self, key: &[u8], provider: &PeerId) -> Result<(), StoreError>;

    /// Deletes every record and provider entry expired at `now`, and the addresses of
    /// provider entries whose `addrs_expire` has passed, freeing their room. Call it
    /// periodically: stores do not collect on their own, and a store full of expired entries
    /// refuses new ones until then.
    fn expire(&mut self, now: SystemTime) -> Result<(), StoreError>;

    /// Remembers that this node provides `key`, so that it reprovides it, after a restart too
    /// for a store on disk. Adding a key already there does nothing.
    fn add_local_provided(&mut self, key: Vec<u8>) -> Result<(), StoreError>;

    /// Forgets that this node provides `key`.
    fn remove_local_provided(&mut self, key: &[u8]) -> Result<(), StoreError>;

    /// The keys this node provides, in byte order.
    fn local_provided(&self) -> Vec<Vec<u8>>;

    /// How much of its limits the store uses.
    fn usage(&self) -> StoreUsage;
}
