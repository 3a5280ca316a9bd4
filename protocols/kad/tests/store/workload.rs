//! Random workloads: whatever peers do, a store keeps every bound, never serves an expired
//! entry, and the disk store answers exactly as the memory store does.

use std::time::SystemTime;

use hyphae_kad::{MemoryStore, ProviderRecord, RecordStore, StoreLimits, StoreUsage, StoredRecord};
use proptest::prelude::*;

use super::{peer, provider, record, seconds, start};

/// One step of a random workload on a small store.
#[derive(Debug, Clone)]
enum Operation {
    Put {
        key: usize,
        value_len: usize,
        ttl: u64,
    },
    Remove {
        key: usize,
    },
    AddProvider {
        key: usize,
        peer: u8,
        addresses: u8,
        ttl: u64,
        addrs_ttl: u64,
    },
    RemoveProvider {
        key: usize,
        peer: u8,
    },
    AddLocal {
        key: usize,
    },
    RemoveLocal {
        key: usize,
    },
    Expire,
    Wait {
        seconds: u64,
    },
}

/// Keys of varied lengths, one over the small limits' 8 bytes.
const KEYS: [&[u8]; 7] = [
    b"a",
    b"bb",
    b"ccc",
    b"dddd",
    b"eeeeeeee",
    b"f",
    b"gggggggggg",
];

fn operation() -> impl Strategy<Value = Operation> {
    let key = 0..KEYS.len();
    let peer = prop_oneof![1u8..6, Just(101u8), Just(103u8)];
    prop_oneof![
        (key.clone(), 0usize..40, 0u64..100).prop_map(|(key, value_len, ttl)| Operation::Put {
            key,
            value_len,
            ttl
        }),
        key.clone().prop_map(|key| Operation::Remove { key }),
        (key.clone(), peer.clone(), 0u8..5, 0u64..100, 0u64..100).prop_map(
            |(key, peer, addresses, ttl, addrs_ttl)| Operation::AddProvider {
                key,
                peer,
                addresses,
                ttl,
                addrs_ttl,
            }
        ),
        (key.clone(), peer).prop_map(|(key, peer)| Operation::RemoveProvider { key, peer }),
        key.clone().prop_map(|key| Operation::AddLocal { key }),
        key.prop_map(|key| Operation::RemoveLocal { key }),
        Just(Operation::Expire),
        (1u64..40).prop_map(|seconds| Operation::Wait { seconds }),
    ]
}

fn small_limits() -> StoreLimits {
    StoreLimits {
        max_records: 3,
        max_key_bytes: 8,
        max_value_bytes: 30,
        max_provider_keys: 2,
        max_providers_per_key: 3,
        max_addresses_per_provider: 2,
        max_local_provided: 2,
        max_total_bytes: 300,
    }
}

/// Applies `operation` at `*now` and describes its outcome, so that two stores can be
/// compared step by step.
fn apply(store: &mut dyn RecordStore, operation: &Operation, now: &mut SystemTime) -> String {
    let result = match *operation {
        Operation::Put {
            key,
            value_len,
            ttl,
        } => store.put(StoredRecord {
            received: *now,
            ..record(KEYS[key], &vec![7; value_len], *now + seconds(ttl))
        }),
        Operation::Remove { key } => store.remove(KEYS[key]),
        Operation::AddProvider {
            key,
            peer: who,
            addresses,
            ttl,
            addrs_ttl,
        } => {
            let addrs: Vec<u8> = (0..addresses).map(|n| n % 3).collect();
            store.add_provider(ProviderRecord {
                addrs_expire: *now + seconds(addrs_ttl),
                ..provider(KEYS[key], peer(who), *now + seconds(ttl), &addrs)
            })
        }
        Operation::RemoveProvider { key, peer: who } => {
            store.remove_provider(KEYS[key], &peer(who))
        }
        Operation::AddLocal { key } => store.add_local_provided(KEYS[key].to_vec()),
        Operation::RemoveLocal { key } => store.remove_local_provided(KEYS[key]),
        Operation::Expire => store.expire(*now),
        Operation::Wait { seconds: waited } => {
            *now += seconds(waited);
            Ok(())
        }
    };
    format!("{result:?}")
}

/// Checks every bound against the store's contents, read back through the trait, and that
/// readers never see an expired entry or an expired address.
fn check_bounds(store: &dyn RecordStore, limits: &StoreLimits, now: SystemTime) {
    // Asked about the epoch, a store shows every entry it holds, addresses included.
    let everything = SystemTime::UNIX_EPOCH;
    let records: Vec<StoredRecord> = store.records().collect();
    let mut bytes: usize = records.iter().map(StoredRecord::stored_bytes).sum();
    let mut provider_keys = 0;
    let mut providers = 0;
    for key in KEYS {
        let entries = store.providers(key, everything);
        assert!(entries.len() <= limits.max_providers_per_key);
        for entry in &entries {
            assert!(entry.addrs.len() <= limits.max_addresses_per_provider);
            bytes += entry.stored_bytes();
        }
        provider_keys += usize::from(!entries.is_empty());
        providers += entries.len();

        if let Some(record) = store.get(key, now) {
            assert!(record.expires > now, "served an expired record");
            assert!(record.value.len() <= limits.max_value_bytes);
        }
        for entry in store.providers(key, now) {
            assert!(entry.expires > now, "served an expired provider");
            assert!(
                entry.addrs_expire > now || entry.addrs.is_empty(),
                "served expired addresses"
            );
        }
    }
    let local = store.local_provided();
    bytes += local.iter().map(Vec::len).sum::<usize>();
    let usage = StoreUsage {
        records: records.len(),
        provider_keys,
        providers,
        local_provided: local.len(),
        bytes,
    };
    assert_eq!(store.usage(), usage, "usage disagrees with the contents");
    assert!(usage.records <= limits.max_records);
    assert!(usage.provider_keys <= limits.max_provider_keys);
    assert!(usage.local_provided <= limits.max_local_provided);
    assert!(usage.bytes <= limits.max_total_bytes);
}

proptest! {
    #[test]
    fn any_workload_keeps_every_bound(operations in prop::collection::vec(operation(), 1..80)) {
        let limits = small_limits();
        let mut store = MemoryStore::new(limits.clone());
        let mut now = start();
        for operation in &operations {
            apply(&mut store, operation, &mut now);
            check_bounds(&store, &limits, now);
        }
    }
}

#[cfg(feature = "disk")]
mod disk {
    use hyphae_kad::DiskStore;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn the_disk_store_behaves_as_the_memory_store(
            operations in prop::collection::vec(operation(), 1..60),
        ) {
            let limits = small_limits();
            let dir = tempfile::tempdir().unwrap();
            let mut disk = DiskStore::open(dir.path().join("kad.redb"), limits.clone()).unwrap();
            let mut memory = MemoryStore::new(limits.clone());
            let mut now = start();
            for operation in &operations {
                let mut disk_now = now;
                let on_disk = apply(&mut disk, operation, &mut disk_now);
                let in_memory = apply(&mut memory, operation, &mut now);
                prop_assert_eq!(on_disk, in_memory, "after {:?}", operation);
                check_bounds(&disk, &limits, now);
                prop_assert_eq!(disk.usage(), memory.usage());
            }
            prop_assert_eq!(disk.records().collect::<Vec<_>>(), memory.records().collect::<Vec<_>>());
            for key in KEYS {
                prop_assert_eq!(disk.providers(key, now), memory.providers(key, now));
            }
        }
    }
}
