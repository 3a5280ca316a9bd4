//! The record and provider stores, as specified by their behaviour.
//!
//! Every behaviour is one function over any `RecordStore`, run once against
//! `MemoryStore` and, with feature `disk`, once against `DiskStore`
//! (`cargo test -p hyphae-kad --features disk`).

use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use hyphae_identity::PeerId;
use hyphae_kad::{
    Limit, ProviderRecord, RecordStore, StoreError, StoreLimits, StoreUsage, StoredRecord,
};
use hyphae_multiaddr::{Multiaddr, Protocol};

#[path = "store/workload.rs"]
mod workload;

/// Opens a fresh, empty store with the given limits.
type Open<'a> = &'a mut dyn FnMut(StoreLimits) -> Box<dyn RecordStore>;

/// Runs each behaviour against every store implementation.
macro_rules! for_each_store {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[test]
                fn $test() {
                    super::$test(&mut |limits| Box::new(hyphae_kad::MemoryStore::new(limits)));
                }
            )*
        }

        #[cfg(feature = "disk")]
        mod disk {
            $(
                #[test]
                fn $test() {
                    let dir = tempfile::tempdir().unwrap();
                    let mut opened = 0;
                    super::$test(&mut |limits| {
                        opened += 1;
                        let path = dir.path().join(format!("{opened}.redb"));
                        Box::new(hyphae_kad::DiskStore::open(path, limits).unwrap())
                    });
                }
            )*
        }
    };
}

for_each_store!(
    a_record_is_served_until_it_expires,
    putting_a_key_again_replaces_its_record,
    removing_a_record_forgets_it,
    records_are_listed_in_key_order,
    oversized_keys_and_values_are_refused,
    a_full_store_refuses_new_keys_but_updates_existing_ones,
    the_byte_limit_applies_to_updates_too,
    a_provider_announcing_again_refreshes_its_entry,
    providers_lose_their_addresses_before_they_expire,
    a_full_key_replaces_the_provider_that_expires_soonest,
    a_full_key_refuses_a_provider_that_expires_before_all_others,
    the_number_of_provided_keys_is_bounded,
    repeated_and_surplus_addresses_are_dropped,
    removing_the_last_provider_frees_its_key,
    expire_collects_expired_entries_and_frees_their_room,
    locally_provided_keys_are_bounded_and_listed_in_order,
);

/// A fixed start time (Nov 2023), far from the epoch so that times before it are valid too.
fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn seconds(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A deterministic peer id: a SHA2-256 multihash of `n` repeated, or for odd `n` above 100 an
/// identity multihash, so that ids of both lengths are mixed.
fn peer(n: u8) -> PeerId {
    let bytes: Vec<u8> = if n > 100 && n % 2 == 1 {
        [&[0x00, 36][..], &[n; 36][..]].concat()
    } else {
        [&[0x12, 32][..], &[n; 32][..]].concat()
    };
    PeerId::from_bytes(&bytes).unwrap()
}

fn addr(n: u8) -> Multiaddr {
    Multiaddr::from(Ipv4Addr::new(10, 0, 0, n)).with(Protocol::Tcp(4001))
}

fn record(key: &[u8], value: &[u8], expires: SystemTime) -> StoredRecord {
    StoredRecord {
        key: key.to_vec(),
        value: value.to_vec(),
        publisher: Some(peer(1)),
        received: start(),
        expires,
    }
}

fn provider(key: &[u8], who: PeerId, expires: SystemTime, addrs: &[u8]) -> ProviderRecord {
    ProviderRecord {
        key: key.to_vec(),
        provider: who,
        addrs: addrs.iter().map(|&n| addr(n)).collect(),
        expires,
        addrs_expire: expires,
    }
}

fn providers_of(store: &dyn RecordStore, key: &[u8], now: SystemTime) -> Vec<PeerId> {
    store
        .providers(key, now)
        .into_iter()
        .map(|entry| entry.provider)
        .collect()
}

fn a_record_is_served_until_it_expires(open: Open<'_>) {
    let mut store = open(StoreLimits::default());
    let stored = record(b"/pk/a", b"value", start() + seconds(60));
    store.put(stored.clone()).unwrap();
    assert_eq!(store.get(b"/pk/a", start()), Some(stored.clone()));
    assert_eq!(store.get(b"/pk/a", start() + seconds(59)), Some(stored));
    assert_eq!(store.get(b"/pk/a", start() + seconds(60)), None);
    assert_eq!(store.get(b"/pk/other", start()), None);
}

fn putting_a_key_again_replaces_its_record(open: Open<'_>) {
    let mut store = open(StoreLimits::default());
    store
        .put(record(b"k", b"old value", start() + seconds(60)))
        .unwrap();
    let newer = StoredRecord {
        publisher: None,
        ..record(b"k", b"new", start() + seconds(120))
    };
    store.put(newer.clone()).unwrap();
    assert_eq!(store.get(b"k", start() + seconds(90)), Some(newer));
    assert_eq!(store.usage().records, 1);
    assert_eq!(store.usage().bytes, b"k".len() + b"new".len());
}

fn removing_a_record_forgets_it(open: Open<'_>) {
    let mut store = open(StoreLimits::default());
    store
        .put(record(b"k", b"v", start() + seconds(60)))
        .unwrap();
    store.remove(b"k").unwrap();
    store.remove(b"never stored").unwrap();
    assert_eq!(store.get(b"k", start()), None);
    assert_eq!(store.usage(), StoreUsage::default());
}

fn records_are_listed_in_key_order(open: Open<'_>) {
    let mut store = open(StoreLimits::default());
    for key in [&b"b"[..], b"a\xff", b"a", b"c"] {
        store.put(record(key, b"v", start() + seconds(60))).unwrap();
    }
    let keys: Vec<Vec<u8>> = store.records().map(|record| record.key).collect();
    assert_eq!(keys, [&b"a"[..], b"a\xff", b"b", b"c"]);
}

fn oversized_keys_and_values_are_refused(open: Open<'_>) {
    let limits = StoreLimits {
        max_key_bytes: 4,
        max_value_bytes: 8,
        ..StoreLimits::default()
    };
    let mut store = open(limits);
    let expires = start() + seconds(60);
    assert!(matches!(
        store.put(record(b"12345", b"v", expires)),
        Err(StoreError::KeyTooLarge { len: 5, max: 4 })
    ));
    assert!(matches!(
        store.put(record(b"k", b"123456789", expires)),
        Err(StoreError::ValueTooLarge { len: 9, max: 8 })
    ));
    assert!(matches!(
        store.add_provider(provider(b"12345", peer(1), expires, &[])),
        Err(StoreError::KeyTooLarge { .. })
    ));
    assert!(matches!(
        store.add_local_provided(b"12345".to_vec()),
        Err(StoreError::KeyTooLarge { .. })
    ));
    store.put(record(b"1234", b"12345678", expires)).unwrap();
    assert_eq!(store.usage().records, 1);
}

fn a_full_store_refuses_new_keys_but_updates_existing_ones(open: Open<'_>) {
    let mut store = open(StoreLimits {
        max_records: 2,
        ..StoreLimits::default()
    });
    let expires = start() + seconds(60);
    store.put(record(b"a", b"1", expires)).unwrap();
    store.put(record(b"b", b"1", expires)).unwrap();
    assert!(matches!(
        store.put(record(b"c", b"1", expires)),
        Err(StoreError::Full(Limit::Records))
    ));
    store.put(record(b"a", b"2", expires)).unwrap();
    assert_eq!(store.get(b"a", start()).unwrap().value, b"2");
    assert_eq!(store.get(b"c", start()), None);
}

fn the_byte_limit_applies_to_updates_too(open: Open<'_>) {
    // Each record counts its key, its value and its publisher's 34-byte id.
    let mut store = open(StoreLimits {
        max_total_bytes: 2 * (1 + 10 + 34),
        ..StoreLimits::default()
    });
    let expires = start() + seconds(60);
    store.put(record(b"a", &[0; 10], expires)).unwrap();
    store.put(record(b"b", &[0; 10], expires)).unwrap();
    assert!(matches!(
        store.put(record(b"a", &[0; 11], expires)),
        Err(StoreError::Full(Limit::TotalBytes))
    ));
    store.put(record(b"a", &[1; 9], expires)).unwrap();
    assert_eq!(store.usage().bytes, 2 * (1 + 34) + 10 + 9);
}

fn a_provider_announcing_again_refreshes_its_entry(open: Open<'_>) {
    let mut store = open(StoreLimits::default());
    store
        .add_provider(provider(b"cid", peer(1), start() + seconds(60), &[1, 2]))
        .unwrap();
    let refreshed = provider(b"cid", peer(1), start() + seconds(600), &[3]);
    store.add_provider(refreshed.clone()).unwrap();
    assert_eq!(
        store.providers(b"cid", start() + seconds(300)),
        vec![refreshed]
    );
    assert_eq!(store.usage().providers, 1);
    assert_eq!(store.usage().provider_keys, 1);
}

fn providers_lose_their_addresses_before_they_expire(open: Open<'_>) {
    let mut store = open(StoreLimits::default());
    let entry = ProviderRecord {
        addrs_expire: start() + seconds(24),
        ..provider(b"cid", peer(1), start() + seconds(48), &[1])
    };
    store.add_provider(entry.clone()).unwrap();
    assert_eq!(
        store.providers(b"cid", start() + seconds(23)),
        vec![entry.clone()]
    );
    let bare = store.providers(b"cid", start() + seconds(24));
    assert_eq!(bare.len(), 1);
    assert_eq!(bare[0].provider, peer(1));
    assert!(bare[0].addrs.is_empty());
    assert!(store.providers(b"cid", start() + seconds(48)).is_empty());
}

fn a_full_key_replaces_the_provider_that_expires_soonest(open: Open<'_>) {
    let mut store = open(StoreLimits {
        max_providers_per_key: 3,
        ..StoreLimits::default()
    });
    store
        .add_provider(provider(b"cid", peer(1), start() + seconds(30), &[1]))
        .unwrap();
    store
        .add_provider(provider(b"cid", peer(2), start() + seconds(10), &[2]))
        .unwrap();
    store
        .add_provider(provider(b"cid", peer(3), start() + seconds(20), &[3]))
        .unwrap();
    store
        .add_provider(provider(b"cid", peer(4), start() + seconds(40), &[4]))
        .unwrap();
    assert_eq!(
        providers_of(&*store, b"cid", start()),
        [peer(1), peer(3), peer(4)]
    );
    // The same provider again is a refresh, never a replacement of another.
    store
        .add_provider(provider(b"cid", peer(3), start() + seconds(50), &[]))
        .unwrap();
    assert_eq!(
        providers_of(&*store, b"cid", start()),
        [peer(1), peer(3), peer(4)]
    );
    assert_eq!(store.usage().providers, 3);
}

fn a_full_key_refuses_a_provider_that_expires_before_all_others(open: Open<'_>) {
    let mut store = open(StoreLimits {
        max_providers_per_key: 2,
        ..StoreLimits::default()
    });
    store
        .add_provider(provider(b"cid", peer(1), start() + seconds(30), &[]))
        .unwrap();
    store
        .add_provider(provider(b"cid", peer(2), start() + seconds(30), &[]))
        .unwrap();
    assert!(matches!(
        store.add_provider(provider(b"cid", peer(3), start() + seconds(30), &[])),
        Err(StoreError::Full(Limit::ProvidersPerKey))
    ));
    assert_eq!(providers_of(&*store, b"cid", start()), [peer(1), peer(2)]);
}

fn the_number_of_provided_keys_is_bounded(open: Open<'_>) {
    let mut store = open(StoreLimits {
        max_provider_keys: 2,
        ..StoreLimits::default()
    });
    let expires = start() + seconds(60);
    store
        .add_provider(provider(b"a", peer(1), expires, &[]))
        .unwrap();
    store
        .add_provider(provider(b"b", peer(1), expires, &[]))
        .unwrap();
    assert!(matches!(
        store.add_provider(provider(b"c", peer(1), expires, &[])),
        Err(StoreError::Full(Limit::ProviderKeys))
    ));
    store
        .add_provider(provider(b"a", peer(2), expires, &[]))
        .unwrap();
    assert_eq!(store.usage().provider_keys, 2);
    assert_eq!(store.usage().providers, 3);
}

fn repeated_and_surplus_addresses_are_dropped(open: Open<'_>) {
    let mut store = open(StoreLimits {
        max_addresses_per_provider: 3,
        ..StoreLimits::default()
    });
    store
        .add_provider(provider(
            b"cid",
            peer(1),
            start() + seconds(60),
            &[1, 1, 2, 1, 3, 4, 5],
        ))
        .unwrap();
    let entries = store.providers(b"cid", start());
    assert_eq!(entries[0].addrs, [addr(1), addr(2), addr(3)]);
    assert_eq!(store.usage().bytes, entries[0].stored_bytes());
}

fn removing_the_last_provider_frees_its_key(open: Open<'_>) {
    let mut store = open(StoreLimits {
        max_provider_keys: 1,
        ..StoreLimits::default()
    });
    let expires = start() + seconds(60);
    store
        .add_provider(provider(b"a", peer(1), expires, &[1]))
        .unwrap();
    store
        .add_provider(provider(b"a", peer(2), expires, &[]))
        .unwrap();
    store.remove_provider(b"a", &peer(1)).unwrap();
    store.remove_provider(b"a", &peer(9)).unwrap();
    assert_eq!(providers_of(&*store, b"a", start()), [peer(2)]);
    assert_eq!(store.usage().provider_keys, 1);
    store.remove_provider(b"a", &peer(2)).unwrap();
    assert_eq!(store.usage(), StoreUsage::default());
    store
        .add_provider(provider(b"b", peer(1), expires, &[]))
        .unwrap();
}

fn expire_collects_expired_entries_and_frees_their_room(open: Open<'_>) {
    let mut store = open(StoreLimits {
        max_records: 1,
        max_provider_keys: 1,
        ..StoreLimits::default()
    });
    store
        .put(record(b"old", b"v", start() + seconds(10)))
        .unwrap();
    store
        .add_provider(provider(b"old", peer(1), start() + seconds(10), &[]))
        .unwrap();
    let lasting = ProviderRecord {
        addrs_expire: start() + seconds(10),
        ..provider(b"old", peer(2), start() + seconds(100), &[1, 2])
    };
    store.add_provider(lasting.clone()).unwrap();
    store.add_local_provided(b"mine".to_vec()).unwrap();
    // Expired but not yet collected: absent to readers, still taking room.
    assert_eq!(store.get(b"old", start() + seconds(10)), None);
    assert!(
        store
            .put(record(b"new", b"v", start() + seconds(100)))
            .is_err()
    );

    store.expire(start() + seconds(10)).unwrap();
    assert_eq!(store.records().count(), 0);
    let bare = ProviderRecord {
        addrs: Vec::new(),
        ..lasting
    };
    // Collected addresses are gone even for a reader asking about an earlier time.
    assert_eq!(store.providers(b"old", start()), vec![bare.clone()]);
    assert_eq!(store.local_provided(), [b"mine".to_vec()]);
    assert_eq!(
        store.usage(),
        StoreUsage {
            records: 0,
            provider_keys: 1,
            providers: 1,
            local_provided: 1,
            bytes: bare.stored_bytes() + b"mine".len(),
        }
    );
    store
        .put(record(b"new", b"v", start() + seconds(100)))
        .unwrap();
}

fn locally_provided_keys_are_bounded_and_listed_in_order(open: Open<'_>) {
    let mut store = open(StoreLimits {
        max_local_provided: 2,
        ..StoreLimits::default()
    });
    store.add_local_provided(b"b".to_vec()).unwrap();
    store.add_local_provided(b"a".to_vec()).unwrap();
    store.add_local_provided(b"a".to_vec()).unwrap();
    assert!(matches!(
        store.add_local_provided(b"c".to_vec()),
        Err(StoreError::Full(Limit::LocalProvided))
    ));
    assert_eq!(store.local_provided(), [b"a".to_vec(), b"b".to_vec()]);
    store.remove_local_provided(b"a").unwrap();
    store.add_local_provided(b"c".to_vec()).unwrap();
    assert_eq!(store.local_provided(), [b"b".to_vec(), b"c".to_vec()]);
    assert_eq!(store.usage().bytes, 2);
}

#[cfg(feature = "disk")]
mod disk_only {
    use super::*;
    use hyphae_kad::DiskStore;

    #[test]
    fn entries_survive_reopening_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kad.redb");
        let expires = start() + seconds(3600);
        let stored = record(b"/ipns/k", b"signed record", expires);
        let announced = provider(b"cid", peer(101), expires, &[1, 2]);
        let usage = {
            let mut store = DiskStore::open(&path, StoreLimits::default()).unwrap();
            store.put(stored.clone()).unwrap();
            store.put(record(b"gone", b"v", expires)).unwrap();
            store.remove(b"gone").unwrap();
            store.add_provider(announced.clone()).unwrap();
            store.add_local_provided(b"mine".to_vec()).unwrap();
            store.usage()
        };
        let store = DiskStore::open(&path, StoreLimits::default()).unwrap();
        assert_eq!(store.usage(), usage);
        assert_eq!(store.get(b"/ipns/k", start()), Some(stored));
        assert_eq!(store.get(b"gone", start()), None);
        assert_eq!(store.providers(b"cid", start()), vec![announced]);
        assert_eq!(store.local_provided(), [b"mine".to_vec()]);
        assert_eq!(store.unreadable_entries(), 0);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kad.redb");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        assert!(matches!(
            DiskStore::open(&path, StoreLimits::default()),
            Err(StoreError::Database(_))
        ));
    }

    #[test]
    fn a_database_already_open_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kad.redb");
        let _open = DiskStore::open(&path, StoreLimits::default()).unwrap();
        assert!(matches!(
            DiskStore::open(&path, StoreLimits::default()),
            Err(StoreError::Database(_))
        ));
    }
}
