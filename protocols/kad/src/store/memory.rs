//! [`MemoryStore`]: a [`RecordStore`] in ordered maps, for clients, tests and the simulator.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use hyphae_identity::PeerId;

use super::{
    Limit, ProviderRecord, RecordStore, StoreError, StoreLimits, StoreUsage, StoredRecord,
    is_expired, provider_to_replace,
};

/// A [`RecordStore`] held in memory, bounded by [`StoreLimits`] and lost when the node stops.
///
/// Ordered maps give the deterministic iteration order the simulator relies on.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use hyphae_kad::{MemoryStore, RecordStore, StoredRecord};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let mut store = MemoryStore::default();
/// store.put(StoredRecord {
///     key: b"/example/key".to_vec(),
///     value: b"value".to_vec(),
///     publisher: None,
///     received: now,
///     expires: now + Duration::from_secs(60),
/// })?;
/// assert!(store.get(b"/example/key", now).is_some());
/// assert!(store.get(b"/example/key", now + Duration::from_secs(60)).is_none());
/// # Ok::<(), hyphae_kad::StoreError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    limits: StoreLimits,
    records: BTreeMap<Vec<u8>, StoredRecord>,
    /// Provider entries by key, then by the provider's binary peer id (byte order, the same
    /// order as on disk).
    providers: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, ProviderRecord>>,
    local_provided: BTreeSet<Vec<u8>>,
    /// Provider entries over all keys.
    provider_count: usize,
    /// Bytes counted against [`StoreLimits::max_total_bytes`].
    bytes: usize,
}

impl MemoryStore {
    /// An empty store with the given limits.
    pub fn new(limits: StoreLimits) -> MemoryStore {
        MemoryStore {
            limits,
            ..MemoryStore::default()
        }
    }

    /// The store's limits.
    pub fn limits(&self) -> &StoreLimits {
        &self.limits
    }
}

impl RecordStore for MemoryStore {
    fn get(&self, key: &[u8], now: SystemTime) -> Option<StoredRecord> {
        self.records
            .get(key)
            .filter(|record| !is_expired(record.expires, now))
            .cloned()
    }

    fn put(&mut self, record: StoredRecord) -> Result<(), StoreError> {
        self.limits.check_record(&record)?;
        let old_bytes = match self.records.get(&record.key) {
            Some(old) => old.stored_bytes(),
            None if self.records.len() >= self.limits.max_records => {
                return Err(StoreError::Full(Limit::Records));
            }
            None => 0,
        };
        let new_bytes = record.stored_bytes();
        self.limits.check_bytes(self.bytes, old_bytes, new_bytes)?;
        self.bytes = self.bytes - old_bytes + new_bytes;
        self.records.insert(record.key.clone(), record);
        Ok(())
    }

    fn remove(&mut self, key: &[u8]) -> Result<(), StoreError> {
        if let Some(old) = self.records.remove(key) {
            self.bytes -= old.stored_bytes();
        }
        Ok(())
    }

    fn records(&self) -> Box<dyn Iterator<Item = StoredRecord> + '_> {
        Box::new(self.records.values().cloned())
    }

    fn add_provider(&mut self, mut record: ProviderRecord) -> Result<(), StoreError> {
        self.limits.check_key(&record.key)?;
        self.limits.trim_addresses(&mut record);
        let provider = record.provider.to_bytes();
        let new_bytes = record.stored_bytes();
        let Some(entries) = self.providers.get_mut(&record.key) else {
            if self.providers.len() >= self.limits.max_provider_keys {
                return Err(StoreError::Full(Limit::ProviderKeys));
            }
            self.limits.check_bytes(self.bytes, 0, new_bytes)?;
            self.bytes += new_bytes;
            self.provider_count += 1;
            self.providers
                .insert(record.key.clone(), BTreeMap::from([(provider, record)]));
            return Ok(());
        };
        // The entry that makes room: the provider's own old entry, or, for a full key, the
        // one that expires soonest.
        let replaced = match entries.get(&provider) {
            Some(old) => Some(old),
            None if entries.len() >= self.limits.max_providers_per_key => {
                Some(provider_to_replace(entries.values(), &record)?)
            }
            None => None,
        };
        let replaced_key = replaced.map(|old| old.provider.to_bytes());
        let old_bytes = replaced.map_or(0, ProviderRecord::stored_bytes);
        self.limits.check_bytes(self.bytes, old_bytes, new_bytes)?;
        if let Some(replaced_key) = replaced_key {
            entries.remove(&replaced_key);
            self.provider_count -= 1;
        }
        self.bytes = self.bytes - old_bytes + new_bytes;
        self.provider_count += 1;
        entries.insert(provider, record);
        Ok(())
    }

    fn providers(&self, key: &[u8], now: SystemTime) -> Vec<ProviderRecord> {
        self.providers.get(key).map_or_else(Vec::new, |entries| {
            entries
                .values()
                .filter(|entry| !is_expired(entry.expires, now))
                .map(|entry| entry.as_seen_at(now))
                .collect()
        })
    }

    fn remove_provider(&mut self, key: &[u8], provider: &PeerId) -> Result<(), StoreError> {
        let Some(entries) = self.providers.get_mut(key) else {
            return Ok(());
        };
        if let Some(old) = entries.remove(provider.as_bytes()) {
            self.bytes -= old.stored_bytes();
            self.provider_count -= 1;
        }
        if entries.is_empty() {
            self.providers.remove(key);
        }
        Ok(())
    }

    fn expire(&mut self, now: SystemTime) -> Result<(), StoreError> {
        let mut freed = 0;
        self.records.retain(|_, record| {
            let keep = !is_expired(record.expires, now);
            if !keep {
                freed += record.stored_bytes();
            }
            keep
        });
        let mut removed = 0;
        for entries in self.providers.values_mut() {
            entries.retain(|_, entry| {
                if is_expired(entry.expires, now) {
                    freed += entry.stored_bytes();
                    removed += 1;
                    return false;
                }
                if is_expired(entry.addrs_expire, now) && !entry.addrs.is_empty() {
                    let before = entry.stored_bytes();
                    entry.addrs.clear();
                    freed += before - entry.stored_bytes();
                }
                true
            });
        }
        self.providers.retain(|_, entries| !entries.is_empty());
        self.bytes -= freed;
        self.provider_count -= removed;
        Ok(())
    }

    fn add_local_provided(&mut self, key: Vec<u8>) -> Result<(), StoreError> {
        self.limits.check_key(&key)?;
        if self.local_provided.contains(&key) {
            return Ok(());
        }
        if self.local_provided.len() >= self.limits.max_local_provided {
            return Err(StoreError::Full(Limit::LocalProvided));
        }
        self.limits.check_bytes(self.bytes, 0, key.len())?;
        self.bytes += key.len();
        self.local_provided.insert(key);
        Ok(())
    }

    fn remove_local_provided(&mut self, key: &[u8]) -> Result<(), StoreError> {
        if self.local_provided.remove(key) {
            self.bytes -= key.len();
        }
        Ok(())
    }

    fn local_provided(&self) -> Vec<Vec<u8>> {
        self.local_provided.iter().cloned().collect()
    }

    fn usage(&self) -> StoreUsage {
        StoreUsage {
            records: self.records.len(),
            provider_keys: self.providers.len(),
            providers: self.provider_count,
            local_provided: self.local_provided.len(),
            bytes: self.bytes,
        }
    }
}
