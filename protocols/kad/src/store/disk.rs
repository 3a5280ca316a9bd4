//! [`DiskStore`]: a [`RecordStore`] in a redb database file, so that a server keeps its
//! records and provider entries, and knows what to reprovide, across restarts.
//!
//! Three tables: `records` (record key → entry), `providers` ((key, provider id) → entry) and
//! `local_provided` (key → nothing). Each entry starts with a version byte
//! (see [`super::encoding`]) so that a later format can read, or at least recognise, an older
//! one; an entry that cannot be decoded (corrupt, or written by a newer version) is skipped
//! with a warning, counted in [`DiskStore::unreadable_entries`], and deleted by
//! [`RecordStore::expire`].

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use hyphae_identity::PeerId;
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};

use super::encoding::{
    DecodeError, decode_provider, decode_record, encode_provider, encode_record,
};
use super::{
    Limit, ProviderRecord, RecordStore, StoreError, StoreLimits, StoreUsage, StoredRecord,
    is_expired, provider_to_replace,
};

/// Record key → encoded [`StoredRecord`] (without its key).
const RECORDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("records");
/// (provided key, binary provider id) → encoded [`ProviderRecord`] (without key and id).
const PROVIDERS: TableDefinition<(&[u8], &[u8]), &[u8]> = TableDefinition::new("providers");
/// Keys this node provides.
const LOCAL_PROVIDED: TableDefinition<&[u8], ()> = TableDefinition::new("local_provided");

/// A [`RecordStore`] in a redb database file, with the same [`StoreLimits`] as
/// [`super::MemoryStore`].
///
/// Writes from peers (records, provider entries) are committed without waiting for the disk
/// (redb's `Durability::None`), which keeps each one to microseconds; they become durable at
/// the next [`RecordStore::expire`], at a change to the locally provided keys (both committed
/// durably), and when the store is dropped. A crash can thus lose what peers stored since the
/// last `expire`, which they put again when they republish; it never loses the keys this node
/// provides.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use hyphae_kad::{DiskStore, RecordStore, StoreLimits};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("kad.redb");
/// {
///     let mut store = DiskStore::open(&path, StoreLimits::default())?;
///     store.add_local_provided(b"a multihash".to_vec())?;
/// }
/// let store = DiskStore::open(&path, StoreLimits::default())?;
/// assert_eq!(store.local_provided(), vec![b"a multihash".to_vec()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DiskStore {
    db: Database,
    limits: StoreLimits,
    usage: StoreUsage,
    /// Entries met that could not be decoded, since the store was opened.
    unreadable: AtomicU64,
}

/// Logs a failed read, which is then answered as if the entry were absent.
fn read_failed(error: &dyn fmt::Display) {
    tracing::warn!(%error, "reading the kad store failed");
}

/// Wraps any of redb's error types.
fn database(error: impl Into<redb::Error>) -> StoreError {
    StoreError::Database(error.into())
}

impl DiskStore {
    /// Opens the database at `path`, creating it if there is none, and counts what it holds.
    ///
    /// Entries beyond `limits` (the limits were lowered since they were written) are kept;
    /// new writes are refused until usage falls below the limits again. Fails if the file is
    /// not a redb database or is already open.
    pub fn open(path: impl AsRef<Path>, limits: StoreLimits) -> Result<DiskStore, StoreError> {
        let db = Database::create(path).map_err(database)?;
        let mut store = DiskStore {
            db,
            limits,
            usage: StoreUsage::default(),
            unreadable: AtomicU64::new(0),
        };
        let transaction = store.begin_write(Durability::Immediate)?;
        store.usage = store.sweep(&transaction, None)?;
        transaction.commit().map_err(database)?;
        Ok(store)
    }

    /// The store's limits.
    pub fn limits(&self) -> &StoreLimits {
        &self.limits
    }

    /// How many undecodable entries reads have met since the store was opened (each is
    /// logged and skipped; [`RecordStore::expire`] deletes them). Non-zero means the file was
    /// damaged or written by a newer, incompatible version.
    pub fn unreadable_entries(&self) -> u64 {
        self.unreadable.load(Ordering::Relaxed)
    }

    fn begin_write(&self, durability: Durability) -> Result<WriteTransaction, StoreError> {
        let mut transaction = self.db.begin_write().map_err(database)?;
        transaction.set_durability(durability).map_err(database)?;
        Ok(transaction)
    }

    /// Logs and counts an entry that could not be decoded.
    fn skip_unreadable(&self, table: &str, error: &DecodeError) {
        self.unreadable.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(table, %error, "skipping an unreadable entry in the kad store");
    }

    /// Decodes `result`, logging and counting a failure.
    fn readable<T>(&self, table: &str, result: Result<T, DecodeError>) -> Option<T> {
        result
            .inspect_err(|error| self.skip_unreadable(table, error))
            .ok()
    }

    /// The decodable provider entries of `key` in any table handle.
    fn entries_of(
        &self,
        table: &impl ReadableTable<(&'static [u8], &'static [u8]), &'static [u8]>,
        key: &[u8],
    ) -> Result<Vec<ProviderRecord>, StoreError> {
        let mut entries = Vec::new();
        for item in table.range((key, &[][..])..).map_err(database)? {
            let (stored_key, value) = item.map_err(database)?;
            let (entry_key, provider) = stored_key.value();
            if entry_key != key {
                break;
            }
            if let Some(entry) =
                self.readable("providers", decode_provider(key, provider, value.value()))
            {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Counts what the database holds. With `now`, also deletes what has expired at `now` and
    /// what cannot be decoded, and drops expired provider addresses (the work of
    /// [`RecordStore::expire`]).
    fn sweep(
        &self,
        transaction: &WriteTransaction,
        now: Option<SystemTime>,
    ) -> Result<StoreUsage, StoreError> {
        let mut usage = StoreUsage::default();
        let is_collecting = now.is_some();
        let expired = |expires| now.is_some_and(|now| is_expired(expires, now));

        let mut records = transaction.open_table(RECORDS).map_err(database)?;
        let mut doomed: Vec<Vec<u8>> = Vec::new();
        for item in records.iter().map_err(database)? {
            let (key, value) = item.map_err(database)?;
            match decode_record(key.value(), value.value()) {
                Ok(record) if expired(record.expires) => doomed.push(record.key),
                Ok(record) => {
                    usage.records += 1;
                    usage.bytes += record.stored_bytes();
                }
                Err(error) => {
                    self.skip_unreadable("records", &error);
                    if is_collecting {
                        doomed.push(key.value().to_vec());
                    }
                }
            }
        }
        for key in &doomed {
            records.remove(key.as_slice()).map_err(database)?;
        }

        let mut providers = transaction.open_table(PROVIDERS).map_err(database)?;
        let mut doomed: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut rewritten: Vec<ProviderRecord> = Vec::new();
        let mut last_key: Option<Vec<u8>> = None;
        for item in providers.iter().map_err(database)? {
            let (stored_key, value) = item.map_err(database)?;
            let (key, provider) = stored_key.value();
            let mut entry = match decode_provider(key, provider, value.value()) {
                Ok(entry) => entry,
                Err(error) => {
                    self.skip_unreadable("providers", &error);
                    if is_collecting {
                        doomed.push((key.to_vec(), provider.to_vec()));
                    }
                    continue;
                }
            };
            if expired(entry.expires) {
                doomed.push((key.to_vec(), provider.to_vec()));
                continue;
            }
            if expired(entry.addrs_expire) && !entry.addrs.is_empty() {
                entry.addrs.clear();
                rewritten.push(entry.clone());
            }
            usage.providers += 1;
            usage.bytes += entry.stored_bytes();
            if last_key.as_deref() != Some(key) {
                usage.provider_keys += 1;
                last_key = Some(key.to_vec());
            }
        }
        for (key, provider) in &doomed {
            providers
                .remove((key.as_slice(), provider.as_slice()))
                .map_err(database)?;
        }
        for entry in &rewritten {
            let value = encode_provider(entry);
            providers
                .insert(
                    (entry.key.as_slice(), entry.provider.as_bytes()),
                    value.as_slice(),
                )
                .map_err(database)?;
        }

        let local = transaction.open_table(LOCAL_PROVIDED).map_err(database)?;
        for item in local.iter().map_err(database)? {
            let (key, _) = item.map_err(database)?;
            usage.local_provided += 1;
            usage.bytes += key.value().len();
        }
        Ok(usage)
    }
}

impl RecordStore for DiskStore {
    fn get(&self, key: &[u8], now: SystemTime) -> Option<StoredRecord> {
        let read = || -> Result<Option<Vec<u8>>, redb::Error> {
            let transaction = self.db.begin_read()?;
            let table = transaction.open_table(RECORDS)?;
            Ok(table.get(key)?.map(|value| value.value().to_vec()))
        };
        let value = read().inspect_err(|error| read_failed(error)).ok()??;
        self.readable("records", decode_record(key, &value))
            .filter(|record| !is_expired(record.expires, now))
    }

    fn put(&mut self, record: StoredRecord) -> Result<(), StoreError> {
        self.limits.check_record(&record)?;
        let new_bytes = record.stored_bytes();
        let transaction = self.begin_write(Durability::None)?;
        let old_bytes = {
            let mut table = transaction.open_table(RECORDS).map_err(database)?;
            let old = match table.get(record.key.as_slice()).map_err(database)? {
                Some(value) => self.readable("records", decode_record(&record.key, value.value())),
                None => None,
            };
            let old_bytes = match old {
                Some(old) => Some(old.stored_bytes()),
                None if self.usage.records >= self.limits.max_records => {
                    return Err(StoreError::Full(Limit::Records));
                }
                None => None,
            };
            self.limits
                .check_bytes(self.usage.bytes, old_bytes.unwrap_or(0), new_bytes)?;
            table
                .insert(record.key.as_slice(), encode_record(&record).as_slice())
                .map_err(database)?;
            old_bytes
        };
        transaction.commit().map_err(database)?;
        match old_bytes {
            Some(old_bytes) => self.usage.bytes -= old_bytes,
            None => self.usage.records += 1,
        }
        self.usage.bytes += new_bytes;
        Ok(())
    }

    fn remove(&mut self, key: &[u8]) -> Result<(), StoreError> {
        let transaction = self.begin_write(Durability::None)?;
        let removed = {
            let mut table = transaction.open_table(RECORDS).map_err(database)?;
            let removed = table.remove(key).map_err(database)?;
            removed.and_then(|value| self.readable("records", decode_record(key, value.value())))
        };
        transaction.commit().map_err(database)?;
        if let Some(old) = removed {
            self.usage.records -= 1;
            self.usage.bytes -= old.stored_bytes();
        }
        Ok(())
    }

    fn records(&self) -> Box<dyn Iterator<Item = StoredRecord> + '_> {
        let read = || -> Result<Vec<StoredRecord>, redb::Error> {
            let transaction = self.db.begin_read()?;
            let table = transaction.open_table(RECORDS)?;
            let mut records = Vec::new();
            for item in table.iter()? {
                let (key, value) = item?;
                records.extend(self.readable("records", decode_record(key.value(), value.value())));
            }
            Ok(records)
        };
        let records = read()
            .inspect_err(|error| read_failed(error))
            .unwrap_or_default();
        Box::new(records.into_iter())
    }

    fn add_provider(&mut self, mut record: ProviderRecord) -> Result<(), StoreError> {
        self.limits.check_key(&record.key)?;
        self.limits.trim_addresses(&mut record);
        let new_bytes = record.stored_bytes();
        let transaction = self.begin_write(Durability::None)?;
        let (old_bytes, is_new_key, is_new_entry) = {
            let mut table = transaction.open_table(PROVIDERS).map_err(database)?;
            let entries = self.entries_of(&table, &record.key)?;
            let is_new_key = entries.is_empty();
            if is_new_key && self.usage.provider_keys >= self.limits.max_provider_keys {
                return Err(StoreError::Full(Limit::ProviderKeys));
            }
            // The entry that makes room: the provider's own old entry, or, for a full key,
            // the one that expires soonest.
            let own = entries
                .iter()
                .find(|entry| entry.provider == record.provider);
            let replaced = match own {
                Some(old) => Some(old),
                None if entries.len() >= self.limits.max_providers_per_key => {
                    Some(provider_to_replace(&entries, &record)?)
                }
                None => None,
            };
            let old_bytes = replaced.map_or(0, ProviderRecord::stored_bytes);
            self.limits
                .check_bytes(self.usage.bytes, old_bytes, new_bytes)?;
            if let Some(replaced) = replaced {
                table
                    .remove((record.key.as_slice(), replaced.provider.as_bytes()))
                    .map_err(database)?;
            }
            table
                .insert(
                    (record.key.as_slice(), record.provider.as_bytes()),
                    encode_provider(&record).as_slice(),
                )
                .map_err(database)?;
            (old_bytes, is_new_key, replaced.is_none())
        };
        transaction.commit().map_err(database)?;
        self.usage.bytes = self.usage.bytes - old_bytes + new_bytes;
        if is_new_entry {
            self.usage.providers += 1;
        }
        if is_new_key {
            self.usage.provider_keys += 1;
        }
        Ok(())
    }

    fn providers(&self, key: &[u8], now: SystemTime) -> Vec<ProviderRecord> {
        let read = || -> Result<Vec<ProviderRecord>, StoreError> {
            let transaction = self.db.begin_read().map_err(database)?;
            let table = transaction.open_table(PROVIDERS).map_err(database)?;
            self.entries_of(&table, key)
        };
        match read() {
            Ok(entries) => entries
                .iter()
                .filter(|entry| !is_expired(entry.expires, now))
                .map(|entry| entry.as_seen_at(now))
                .collect(),
            Err(error) => {
                read_failed(&error);
                Vec::new()
            }
        }
    }

    fn remove_provider(&mut self, key: &[u8], provider: &PeerId) -> Result<(), StoreError> {
        let transaction = self.begin_write(Durability::None)?;
        let (removed, is_key_gone) = {
            let mut table = transaction.open_table(PROVIDERS).map_err(database)?;
            let removed = table
                .remove((key, provider.as_bytes()))
                .map_err(database)?
                .and_then(|value| {
                    self.readable(
                        "providers",
                        decode_provider(key, provider.as_bytes(), value.value()),
                    )
                });
            let is_key_gone = removed.is_some() && self.entries_of(&table, key)?.is_empty();
            (removed, is_key_gone)
        };
        transaction.commit().map_err(database)?;
        if let Some(old) = removed {
            self.usage.providers -= 1;
            self.usage.bytes -= old.stored_bytes();
        }
        if is_key_gone {
            self.usage.provider_keys -= 1;
        }
        Ok(())
    }

    fn expire(&mut self, now: SystemTime) -> Result<(), StoreError> {
        let transaction = self.begin_write(Durability::Immediate)?;
        let usage = self.sweep(&transaction, Some(now))?;
        transaction.commit().map_err(database)?;
        self.usage = usage;
        Ok(())
    }

    fn add_local_provided(&mut self, key: Vec<u8>) -> Result<(), StoreError> {
        self.limits.check_key(&key)?;
        let transaction = self.begin_write(Durability::Immediate)?;
        {
            let mut table = transaction.open_table(LOCAL_PROVIDED).map_err(database)?;
            if table.get(key.as_slice()).map_err(database)?.is_some() {
                return Ok(());
            }
            if self.usage.local_provided >= self.limits.max_local_provided {
                return Err(StoreError::Full(Limit::LocalProvided));
            }
            self.limits.check_bytes(self.usage.bytes, 0, key.len())?;
            table.insert(key.as_slice(), ()).map_err(database)?;
        }
        transaction.commit().map_err(database)?;
        self.usage.local_provided += 1;
        self.usage.bytes += key.len();
        Ok(())
    }

    fn remove_local_provided(&mut self, key: &[u8]) -> Result<(), StoreError> {
        let transaction = self.begin_write(Durability::Immediate)?;
        let was_there = {
            let mut table = transaction.open_table(LOCAL_PROVIDED).map_err(database)?;
            table.remove(key).map_err(database)?.is_some()
        };
        transaction.commit().map_err(database)?;
        if was_there {
            self.usage.local_provided -= 1;
            self.usage.bytes -= key.len();
        }
        Ok(())
    }

    fn local_provided(&self) -> Vec<Vec<u8>> {
        let read = || -> Result<Vec<Vec<u8>>, redb::Error> {
            let transaction = self.db.begin_read()?;
            let table = transaction.open_table(LOCAL_PROVIDED)?;
            let mut keys = Vec::new();
            for item in table.iter()? {
                keys.push(item?.0.value().to_vec());
            }
            Ok(keys)
        };
        read()
            .inspect_err(|error| read_failed(error))
            .unwrap_or_default()
    }

    fn usage(&self) -> StoreUsage {
        self.usage
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::encoding::ENCODING_VERSION;

    fn start() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn record(key: &[u8]) -> StoredRecord {
        StoredRecord {
            key: key.to_vec(),
            value: b"value".to_vec(),
            publisher: None,
            received: start(),
            expires: start() + Duration::from_secs(60),
        }
    }

    /// Writes raw entries into the store's tables, as a damaged file or a newer version would
    /// have left them.
    fn write_raw(path: &Path, records: &[(&[u8], &[u8])], providers: &[(&[u8], &[u8], &[u8])]) {
        let db = Database::create(path).unwrap();
        let transaction = db.begin_write().unwrap();
        {
            let mut table = transaction.open_table(RECORDS).unwrap();
            for &(key, value) in records {
                table.insert(key, value).unwrap();
            }
            let mut table = transaction.open_table(PROVIDERS).unwrap();
            for &(key, provider, value) in providers {
                table.insert((key, provider), value).unwrap();
            }
        }
        transaction.commit().unwrap();
    }

    #[test]
    fn corrupt_entries_are_skipped_counted_and_collected_by_expire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kad.redb");
        DiskStore::open(&path, StoreLimits::default())
            .unwrap()
            .put(record(b"good"))
            .unwrap();
        write_raw(
            &path,
            &[
                (b"truncated", &[ENCODING_VERSION, 1, 2]),
                (b"from a newer version", &[ENCODING_VERSION + 1; 40]),
            ],
            &[(b"cid", b"not a peer id", &[ENCODING_VERSION])],
        );

        let mut store = DiskStore::open(&path, StoreLimits::default()).unwrap();
        assert_eq!(store.unreadable_entries(), 3);
        assert_eq!(store.usage().records, 1);
        assert_eq!(store.usage().providers, 0);
        assert_eq!(store.get(b"truncated", start()), None);
        assert_eq!(store.unreadable_entries(), 4);
        let keys: Vec<Vec<u8>> = store.records().map(|record| record.key).collect();
        assert_eq!(keys, [b"good".to_vec()]);
        assert!(store.providers(b"cid", start()).is_empty());

        // Overwriting a corrupt entry counts as a new record.
        store.put(record(b"truncated")).unwrap();
        assert_eq!(store.usage().records, 2);

        store.expire(start()).unwrap();
        drop(store);
        let store = DiskStore::open(&path, StoreLimits::default()).unwrap();
        assert_eq!(store.unreadable_entries(), 0);
        assert_eq!(store.usage().records, 2);
    }
}
